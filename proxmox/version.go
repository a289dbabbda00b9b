package proxmox

import "context"

// Version is GET /version.
type Version struct {
	Version string `json:"version"` // e.g. "9.0.3"
	Release string `json:"release"` // e.g. "9.0"
	RepoID  string `json:"repoid"`
}

// Version reads the Proxmox VE version of the answering node.
func (c *Client) Version(ctx context.Context) (*Version, error) {
	var v Version
	if err := c.get(ctx, "/version", nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
