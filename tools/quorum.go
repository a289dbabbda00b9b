package tools

import (
	"context"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

// quorumAlert raises analyze's quorum alert when /cluster/status says the
// cluster is not quorate, and returns the online and total member counts.
func quorumAlert(ctx context.Context, st *proxmox.ClusterStatus) (online, total int) {
	total = len(st.Members)
	for _, m := range st.Members {
		if m.Online {
			online++
		}
	}
	toolkit.AddAlert(ctx, analyze.EvaluateQuorum(st.Quorate, online, total)...)
	return online, total
}
