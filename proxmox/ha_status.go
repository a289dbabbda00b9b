package proxmox

import (
	"context"
	"strconv"
)

// HAStatusEntry is one entry of GET /cluster/ha/status/current: the quorum,
// master, fencing, lrm:<node> and service:<sid> entries.
type HAStatusEntry struct {
	ID           string `json:"id"`
	Type         string `json:"type"` // quorum, master, fencing, lrm, service
	Node         string `json:"node"`
	Status       string `json:"status"`
	Quorate      Bool   `json:"quorate"`
	Timestamp    Int    `json:"timestamp"`
	SID          string `json:"sid"`
	State        string `json:"state"`
	CRMState     string `json:"crm_state"`
	RequestState string `json:"request_state"`
	MaxRestart   *Int   `json:"max_restart"`
	MaxRelocate  *Int   `json:"max_relocate"`
	Failback     *Bool  `json:"failback"`
	ArmedState   string `json:"armed-state"`
	Comment      string `json:"comment"`
}

// HAStatus reads the HA manager's current status (needs Sys.Audit on /).
func (c *Client) HAStatus(ctx context.Context) ([]HAStatusEntry, error) {
	var out []HAStatusEntry
	if err := c.get(ctx, "/cluster/ha/status/current", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// HASID is the HA resource id of a guest: "vm:100" or "ct:200".
func HASID(t GuestType, vmid int) string {
	if t == TypeLXC {
		return "ct:" + strconv.Itoa(vmid)
	}
	return "vm:" + strconv.Itoa(vmid)
}
