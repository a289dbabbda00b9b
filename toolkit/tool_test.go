package toolkit

import (
	"reflect"
	"strings"
	"testing"
)

// TestToolWithoutNeedsIsRefused: a tool that forgets its privileges does not
// register.
func TestToolWithoutNeedsIsRefused(t *testing.T) {
	_, err := build(Meta{Name: "no_needs", Title: "x", Description: "x", Toolset: ToolsetInventory, Hints: &ReadHints},
		reflect.TypeFor[NoArgs](), reflect.TypeFor[struct{}](), nil)
	if err == nil || !strings.Contains(err.Error(), "needs missing") {
		t.Fatalf("build without Needs: %v", err)
	}
}
