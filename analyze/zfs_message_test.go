package analyze

import (
	"strings"
	"testing"
)

// TestZFSAlertSaysStateOnce: "rpool is DEGRADED: pool is DEGRADED" said the
// state twice; the message names it once, then what it means.
func TestZFSAlertSaysStateOnce(t *testing.T) {
	for state, want := range map[string]string{
		"DEGRADED": "n1/rpool is DEGRADED: it runs without full redundancy",
		"FAULTED":  "n1/rpool is FAULTED",
	} {
		v := EvaluatePool(ZFSPool{Node: "n1", Name: "rpool", Health: state}, 0, ZFSOptions{})
		a := v.Alert()
		if a == nil || !strings.HasPrefix(a.Message, want) || strings.Count(a.Message, state) != 1 {
			t.Errorf("%s: %+v", state, a)
		}
	}
}
