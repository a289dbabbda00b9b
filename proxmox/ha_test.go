package proxmox

import (
	"fmt"
	"testing"
)

// The HA rule and group fields as Proxmox writes them; the capacity planner
// takes its node priorities and resources from these parsers.
func TestParseHAFields(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"pve1:2,pve2:1,pve3", "map[pve1:2 pve2:1 pve3:0]"},
		{"pve1:2, pve2:1,pve3", "map[pve1:2 pve2:1 pve3:0]"},
		{"pve1;pve2:5", "map[pve1:0 pve2:5]"},
		{"", "map[]"},
	} {
		if got := fmt.Sprint(ParseHANodes(c.in)); got != c.want {
			t.Errorf("ParseHANodes(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"vm:100,ct:200,", "[vm:100 ct:200]"},
		{" vm:100 , vm:101", "[vm:100 vm:101]"},
		{"", "[]"},
	} {
		if got := fmt.Sprint(SplitList(c.in)); got != c.want {
			t.Errorf("SplitList(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}
