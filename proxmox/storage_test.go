package proxmox

import (
	"context"
	"testing"
)

func TestStorageVolumes(t *testing.T) {
	c := canned(t, map[string]string{
		"/nodes/pve1/storage/local/content": `{"data":[{"volid":"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst","content":"vztmpl","format":"tzst","size":126556561}]}`,
	})
	ctx := context.Background()
	vols, err := c.StorageVolumes(ctx, "pve1", "local", "vztmpl")
	if err != nil || len(vols) != 1 || vols[0].Content != "vztmpl" || vols[0].Size != 126556561 {
		t.Fatalf("volumes %+v %v", vols, err)
	}
	for _, bad := range []string{"", "local/../x", "local?content=iso", "9local"} {
		if _, err := c.StorageVolumes(ctx, "pve1", bad, ""); KindOf(err) != KindInvalid {
			t.Errorf("storage %q: %v, want invalid", bad, err)
		}
	}
}
