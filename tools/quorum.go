package tools

import (
	"context"
	"fmt"

	"github.com/pvemcp/pvemcp/proxmox"
)

// quorumAlert raises the critical "cluster is not quorate" alert when
// /cluster/status says so, and returns the online and total member counts.
func quorumAlert(ctx context.Context, st *proxmox.ClusterStatus) (online, total int) {
	total = len(st.Members)
	for _, m := range st.Members {
		if m.Online {
			online++
		}
	}
	if !st.Quorate {
		AddAlert(ctx, Alert{Severity: SeverityCritical, Subject: "cluster", Metric: "quorum",
			Message: fmt.Sprintf("cluster is not quorate (%d of %d nodes online, per /cluster/status): Proxmox refuses every change until it is", online, total)})
	}
	return online, total
}
