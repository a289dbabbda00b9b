package proxmox

import "context"

// ClusterStatus is GET /cluster/status, split into the cluster entry and the
// member nodes.
type ClusterStatus struct {
	Name      string // "" for a stand-alone node
	Clustered bool
	Quorate   bool
	Nodes     int // member count corosync reports
	Version   int // corosync config version
	Members   []ClusterMember
}

// ClusterMember is one node entry of /cluster/status.
type ClusterMember struct {
	Name   string
	NodeID int
	IP     string
	Local  bool
	Online bool
	Level  string // subscription level, "" when none
}

type clusterStatusEntry struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Name    string `json:"name"`
	Nodes   Int    `json:"nodes"`
	Version Int    `json:"version"`
	Quorate Bool   `json:"quorate"`
	NodeID  Int    `json:"nodeid"`
	IP      string `json:"ip"`
	Local   Bool   `json:"local"`
	Online  Bool   `json:"online"`
	Level   string `json:"level"`
}

// ClusterStatus reads quorum and membership (needs Sys.Audit on /).
func (c *Client) ClusterStatus(ctx context.Context) (*ClusterStatus, error) {
	var raw []clusterStatusEntry
	if err := c.get(ctx, "/cluster/status", nil, &raw); err != nil {
		return nil, err
	}
	st := &ClusterStatus{}
	for _, e := range raw {
		switch e.Type {
		case "cluster":
			st.Clustered = true
			st.Name = e.Name
			st.Quorate = bool(e.Quorate)
			st.Nodes = int(e.Nodes)
			st.Version = int(e.Version)
		case "node":
			st.Members = append(st.Members, ClusterMember{Name: e.Name, NodeID: int(e.NodeID), IP: e.IP,
				Local: bool(e.Local), Online: bool(e.Online), Level: e.Level})
		}
	}
	if !st.Clustered {
		// A stand-alone node is trivially quorate.
		st.Quorate = true
		st.Nodes = len(st.Members)
	}
	RecorderFrom(ctx).setClusterName(st.Name)
	c.noteClusterName(st.Name)
	return st, nil
}
