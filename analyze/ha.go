package analyze

import "fmt"

// Cluster membership, quorum and HA verdicts, with the wording of their
// alerts. Inputs are what /cluster/status and /cluster/ha/status/current
// report; the callers parse them.

// EvaluateQuorum returns the critical alert of a cluster without quorum
// (none when it is quorate); online and total count the members that
// /cluster/status lists.
func EvaluateQuorum(quorate bool, online, total int) []Alert {
	if quorate {
		return nil
	}
	return []Alert{{Severity: SeverityCritical, Subject: "cluster", Metric: "quorum",
		Message: fmt.Sprintf("cluster is not quorate (%d of %d nodes online): Proxmox refuses every change until it is", online, total),
		Basis:   "quorate flag of /cluster/status"}}
}

// EvaluateMember returns the critical alert of a cluster member that is not
// online (none when it is).
func EvaluateMember(node string, online bool) []Alert {
	if online {
		return nil
	}
	return []Alert{{Severity: SeverityCritical, Subject: node, Metric: "status", Value: 0, Threshold: 1,
		Message: node + " is not online in the cluster membership", Basis: "online flag of /cluster/status"}}
}

// EvaluateHAManager warns when the HA manager's master is not active (state is
// the first word in the parentheses of its status: "active", "idle", "old
// timestamp - dead?", ...); none when it is.
func EvaluateHAManager(master, state string) []Alert {
	if state == "active" {
		return nil
	}
	return []Alert{{Severity: SeverityWarning, Subject: "ha-manager", Metric: "crm_state",
		Message: "HA manager master on " + master + " is " + state, Basis: "master entry of /cluster/ha/status/current"}}
}

// EvaluateHAResource returns the critical alert of an HA resource in a state
// that needs attention (error, fence, recovery); none otherwise.
func EvaluateHAResource(sid, state, node string) []Alert {
	switch state {
	case "error", "fence", "recovery":
		return []Alert{{Severity: SeverityCritical, Subject: sid, Metric: "ha_state",
			Message: fmt.Sprintf("HA resource %s is in state %s on %s", sid, state, node), Basis: "service entry of /cluster/ha/status/current"}}
	}
	return nil
}
