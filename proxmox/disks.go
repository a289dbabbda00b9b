package proxmox

import (
	"context"
	"strconv"
)

// Wearout is disks/list "wearout": remaining life in percent (100 = new), or
// absent when Proxmox says "N/A" (HDDs, unknown). go-proxmox types it as a
// number and fails on "N/A", hence this type.
type Wearout struct {
	Pct   float64
	Known bool
}

// UnmarshalJSON accepts 97, "97", "N/A", "" and null.
func (w *Wearout) UnmarshalJSON(b []byte) error {
	*w = Wearout{}
	b = looseScalar(b)
	if f, err := strconv.ParseFloat(string(b), 64); err == nil {
		*w = Wearout{Pct: f, Known: true}
	}
	return nil
}

// Text is the value as the API showed it ("N/A" when unknown), for analyze.
func (w Wearout) Text() string {
	if !w.Known {
		return "N/A"
	}
	return strconv.FormatFloat(w.Pct, 'f', -1, 64)
}

// DiskInfo is one entry of GET /nodes/{node}/disks/list. RPM is a number for
// SSDs and a string for HDDs on the wire, hence Int.
type DiskInfo struct {
	DevPath string  `json:"devpath"`
	Type    string  `json:"type"` // ssd, hdd, nvme, usb, unknown, partition
	Size    Int     `json:"size"`
	Model   string  `json:"model"`
	Vendor  string  `json:"vendor"`
	Serial  string  `json:"serial"`
	WWN     string  `json:"wwn"`
	Health  string  `json:"health"` // PASSED, OK, FAILED, UNKNOWN, SMART Disabled
	Wearout Wearout `json:"wearout"`
	RPM     Int     `json:"rpm"`
	Used    string  `json:"used"`
	ByID    string  `json:"by_id_link"`
	Parent  string  `json:"parent"`
}

// Disks reads a node's physical disks with SMART health and wearout (needs
// Sys.Audit). Proxmox runs smartctl for it, so the call can take a while.
func (c *Client) Disks(ctx context.Context, node string) ([]DiskInfo, error) {
	return nodeRead[[]DiskInfo](ctx, c, node, "disks", "list")
}
