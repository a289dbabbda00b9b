package proxmox

import (
	"context"
	"net/url"
	"strconv"
	"strings"
)

// NextVMID reads GET /cluster/nextid: the VMID Proxmox would assign next.
func (c *Client) NextVMID(ctx context.Context) (int, error) {
	var id Int
	if err := c.get(ctx, "/cluster/nextid", nil, &id); err != nil {
		return 0, err
	}
	return int(id), nil
}

// VMIDFree asks GET /cluster/nextid?vmid=N whether N is unused. Proxmox
// answers 400 "VM N already exists" for a taken id, reported as (false, nil).
func (c *Client) VMIDFree(ctx context.Context, vmid int) (bool, error) {
	if !ValidVMID(vmid) {
		return false, invalidf("invalid VMID %d (must be %d..%d)", vmid, MinVMID, MaxVMID)
	}
	var id Int
	err := c.get(ctx, "/cluster/nextid", url.Values{"vmid": {strconv.Itoa(vmid)}}, &id)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Kind == KindBadRequest && strings.Contains(e.Params["vmid"], "already exists") {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
