package toolkit

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox"
)

// TestAddErrKinds: an entry's message is the error's; its kind comes from
// a proxmox error (wrapped or not, which also names the node when the
// caller does not) or from NodeUnreachable, and is empty otherwise.
func TestAddErrKinds(t *testing.T) {
	n := &Notes{}
	ctx := withNotes(context.Background(), n)
	pe := &proxmox.Error{Kind: proxmox.KindTimeout, Node: "pve-node02"}
	AddErr(ctx, "pve-node01", NodeUnreachable("%s is %s", "pve-node01", "offline"))
	AddErr(ctx, "", fmt.Errorf("reading x: %w", pe))
	AddErr(ctx, "pve-node03", pe)
	AddErr(ctx, "", errors.New("the outcome could not be written"))
	AddErr(context.Background(), "pve-node09", errors.New("no notes: dropped, no panic"))
	want := []ErrorEntry{
		{Node: "pve-node01", Kind: "node_unreachable", Message: "pve-node01 is offline"},
		{Node: "pve-node02", Kind: "timeout", Message: "reading x: " + pe.Error()},
		{Node: "pve-node03", Kind: "timeout", Message: pe.Error()},
		{Message: "the outcome could not be written"},
	}
	if !reflect.DeepEqual(n.errors, want) {
		t.Fatalf("entries\n%+v\nwant\n%+v", n.errors, want)
	}
}
