package proxmox

import (
	"context"
	"net/url"
	"regexp"
)

// StorageIDPattern is Proxmox's storage identifier syntax (pve-storage-id).
const StorageIDPattern = `^[a-zA-Z][a-zA-Z0-9\-_.]*$`

var storageRE = regexp.MustCompile(StorageIDPattern)

// ValidStorage reports whether id is a syntactically valid storage id.
func ValidStorage(id string) bool { return len(id) <= 64 && storageRE.MatchString(id) }

func checkStorage(id string) error {
	if !ValidStorage(id) {
		return invalidf("invalid storage name %q", id)
	}
	return nil
}

// NodeStorage is one entry of GET /nodes/{node}/storage: a storage as seen
// from that node. Sizes are bytes; an inactive storage reports 0.
type NodeStorage struct {
	Storage      string `json:"storage"`
	Type         string `json:"type"`
	Content      string `json:"content"`
	Shared       Bool   `json:"shared"`
	Enabled      Bool   `json:"enabled"`
	Active       Bool   `json:"active"`
	Total        Int    `json:"total"`
	Used         Int    `json:"used"`
	Avail        Int    `json:"avail"`
	UsedFraction *Num   `json:"used_fraction"` // only when total > 0
}

// Storages reads the storages one node sees, with their usage. Proxmox
// filters the list by the token's Datastore.Audit privileges.
func (c *Client) Storages(ctx context.Context, node string) ([]NodeStorage, error) {
	return nodeRead[[]NodeStorage](ctx, c, node, "storage")
}

// Volume is one entry of a storage's content list.
type Volume struct {
	VolID   string `json:"volid"`
	Content string `json:"content"` // iso, vztmpl, images, rootdir, backup, import
	Format  string `json:"format"`
	Size    Int    `json:"size"`
	VMID    Int    `json:"vmid"`
	CTime   Int    `json:"ctime"` // creation time (epoch); for a backup archive, when the backup was written
}

// StorageVolumes reads GET /nodes/{node}/storage/{storage}/content,
// optionally filtered by content type (e.g. "iso", "vztmpl").
func (c *Client) StorageVolumes(ctx context.Context, node, storage, content string) ([]Volume, error) {
	if err := checkNode(node); err != nil {
		return nil, err
	}
	if err := checkStorage(storage); err != nil {
		return nil, err
	}
	var q url.Values
	if content != "" {
		q = url.Values{"content": {content}}
	}
	var out []Volume
	if err := c.get(ctx, apiPath("nodes", node, "storage", storage, "content"), q, &out); err != nil {
		return nil, err
	}
	return out, nil
}
