package proxmox

import (
	"context"
	"sync"
)

// clusterNames caches, per client, the name the cluster reports: it never
// changes while a process runs, so /cluster/status is read for it once.
var clusterNames sync.Map // *Client -> string

// ClusterName returns the name Proxmox reports for the cluster in
// /cluster/status (for a stand-alone node: that node's name). The first
// successful answer is cached for the life of the client; a failed read is
// not cached and gives "". The read is recorded like any other call.
func (c *Client) ClusterName(ctx context.Context) string {
	if v, ok := clusterNames.Load(c); ok {
		return v.(string)
	}
	st, err := c.ClusterStatus(ctx)
	if err != nil {
		return ""
	}
	name := st.Name
	if !st.Clustered {
		for _, m := range st.Members {
			if m.Local || name == "" {
				name = m.Name
			}
		}
	}
	if name != "" {
		clusterNames.Store(c, name)
	}
	return name
}

// noteClusterName caches a name seen in a /cluster/status answer.
func (c *Client) noteClusterName(name string) {
	if name != "" {
		clusterNames.LoadOrStore(c, name)
	}
}
