package proxmox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// SnapshotTree reads .../snapshot whole: the snapshots, oldest first as
// Proxmox returns them, and the "current" entry (where the guest is now:
// its parent, and whether it runs).
func (c *Client) SnapshotTree(ctx context.Context, node string, t GuestType, vmid int) ([]Snapshot, Snapshot, error) {
	if err := checkGuest(node, t, vmid); err != nil {
		return nil, Snapshot{}, err
	}
	var raw []Snapshot
	if err := c.get(ctx, guestPath(node, t, vmid, "snapshot"), nil, &raw); err != nil {
		return nil, Snapshot{}, err
	}
	var cur Snapshot
	out := make([]Snapshot, 0, len(raw))
	for _, s := range raw {
		if s.Name == "current" {
			cur = s
			continue
		}
		out = append(out, s)
	}
	return out, cur, nil
}

// SnapshotConfig reads .../snapshot/{snapname}/config: the guest config as
// the snapshot holds it, values as text (secrets redacted).
func (c *Client) SnapshotConfig(ctx context.Context, node string, t GuestType, vmid int, snap string) (*GuestConfig, error) {
	if err := checkGuest(node, t, vmid); err != nil {
		return nil, err
	}
	if snap == "" || len(snap) > 40 {
		return nil, invalidf("invalid snapshot name %q", snap)
	}
	var raw map[string]any
	if err := c.get(ctx, guestPath(node, t, vmid, "snapshot", snap, "config"), nil, &raw); err != nil {
		return nil, err
	}
	return redactConfig(raw), nil
}

// StoredVolume is one entry of GET /nodes/{node}/storage/{storage}/content
// with the fields backups and guest disks carry.
type StoredVolume struct {
	VolID     string `json:"volid"`
	Content   string `json:"content"`
	Format    string `json:"format"`
	Size      Int    `json:"size"`
	Used      Int    `json:"used"`
	VMID      Int    `json:"vmid"`
	CTime     Int    `json:"ctime"`
	Notes     string `json:"notes"`
	Protected Bool   `json:"protected"`
	Subtype   string `json:"subtype"` // backups: qemu or lxc
	Encrypted string `json:"encrypted"`
	// Verification is set for Proxmox Backup Server snapshots.
	Verification *struct {
		State string `json:"state"` // ok, failed
		UPID  string `json:"upid"`
	} `json:"verification"`
}

// StoredVolumes lists a storage's volumes as node sees them, optionally of
// one content type and one guest (vmid 0: all).
func (c *Client) StoredVolumes(ctx context.Context, node, storage, content string, vmid int) ([]StoredVolume, error) {
	if err := checkNode(node); err != nil {
		return nil, err
	}
	if err := checkStorage(storage); err != nil {
		return nil, err
	}
	q := url.Values{}
	if content != "" {
		q.Set("content", content)
	}
	if vmid != 0 {
		if !ValidVMID(vmid) {
			return nil, invalidf("invalid VMID %d", vmid)
		}
		q.Set("vmid", strconv.Itoa(vmid))
	}
	var out []StoredVolume
	if err := c.get(ctx, apiPath("nodes", node, "storage", storage, "content"), q, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// BackupConfig reads the guest config stored in a backup archive (GET
// /nodes/{node}/vzdump/extractconfig), as the .conf text.
func (c *Client) BackupConfig(ctx context.Context, node, volid string) (string, error) {
	if err := checkNode(node); err != nil {
		return "", err
	}
	if volid == "" || len(volid) > 512 {
		return "", invalidf("invalid volume %q", volid)
	}
	var out string
	err := c.get(ctx, apiPath("nodes", node, "vzdump", "extractconfig"), url.Values{"volume": {volid}}, &out)
	return out, err
}

// StorageRetention is a storage's prune-backups setting as text
// ("keep-last=7"), "" when it has none. It reads GET /storage (filtered by
// Datastore.Audit) rather than /storage/{storage}, which wants
// Datastore.Allocate.
func (c *Client) StorageRetention(ctx context.Context, storage string) (string, error) {
	if err := checkStorage(storage); err != nil {
		return "", err
	}
	var out []struct {
		Storage string          `json:"storage"`
		Prune   json.RawMessage `json:"prune-backups"`
	}
	if err := c.get(ctx, "/storage", nil, &out); err != nil {
		return "", err
	}
	for _, s := range out {
		if s.Storage != storage || len(s.Prune) == 0 {
			continue
		}
		var text string
		if json.Unmarshal(s.Prune, &text) == nil {
			return text, nil
		}
		// Some versions send the property string as an object.
		var obj map[string]any
		if err := json.Unmarshal(s.Prune, &obj); err != nil {
			return "", invalidf("storage %s: unreadable prune-backups %s", storage, s.Prune)
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%v", k, obj[k])
		}
		return strings.Join(parts, ","), nil
	}
	return "", nil
}
