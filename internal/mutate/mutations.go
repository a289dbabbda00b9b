package main

// mutations are the changes the tests must catch. The first entries are the
// ones an audit found surviving (partial results when one node fails, the
// planner's storage limit, vzdump attribution, tests that passed without
// their feature, open boundaries); add one whenever a bug slips through
// that a test should have caught. Old must stay an exact, unique excerpt of
// File: when the code changes, the check reports the entry stale.
var mutations = []Mutation{
	// Partial results: a failed node's error must be named.
	{
		Name: "storage_status drops a failed node's error",
		File: "tools/storage_status.go",
		Old:  "\t\t\tAddErr(ctx, r.Node, r.Err)\n\t\t\tcontinue\n\t\t}\n\t\tfor _, s := range r.Value {",
		New:  "\t\t\tcontinue\n\t\t}\n\t\tfor _, s := range r.Value {",
		Pkgs: []string{"./tools/"},
	},
	{
		Name: "zfs_health drops a failed node's error",
		File: "tools/zfs_health.go",
		Old:  "\t\t\tAddErr(ctx, r.Node, r.Err)\n\t\t\tcontinue\n\t\t}\n\t\tnz := r.Value",
		New:  "\t\t\tcontinue\n\t\t}\n\t\tnz := r.Value",
		Pkgs: []string{"./tools/"},
	},
	{
		Name: "list_tasks drops a failed node's error",
		File: "tools/tasks.go",
		Old:  "\t\t\tAddErr(ctx, r.Node, r.Err)\n\t\t\tcontinue\n\t\t}\n\t\tout.Total += r.Value.total",
		New:  "\t\t\tcontinue\n\t\t}\n\t\tout.Total += r.Value.total",
		Pkgs: []string{"./tools/"},
	},
	{
		Name: "capacity_report drops a failed node status error",
		File: "tools/capacity_report.go",
		Old:  "\t\t\t\tAddErr(ctx, r.Node, r.Err)\n\t\t\t\tAddUnavailable(ctx, \"physical cores of \"",
		New:  "\t\t\t\tAddUnavailable(ctx, \"physical cores of \"",
		Pkgs: []string{"./tools/"},
	},
	{
		Name: "fan-out reports a canceled node as empty",
		File: "proxmox/fanout.go",
		Old:  "\t\t\t\tout[i].Err = &Error{Kind: KindCanceled, Node: n, msg: \"request canceled before node \" + n + \" was asked\"}\n",
		New:  "",
		Pkgs: []string{"./proxmox/", "./tools/"},
	},
	// The planner.
	{
		Name: "planner ignores the storage threshold",
		File: "analyze/capacity_planner.go",
		Old:  "pct > p.th.StoragePct+1e-9 {\n\t\t\treturn fmt.Sprintf(\"%s storage %s would reach",
		New:  "false && pct > p.th.StoragePct+1e-9 {\n\t\t\treturn fmt.Sprintf(\"%s storage %s would reach",
		Pkgs: []string{"./analyze/", "./tools/"},
	},
	// vzdump logs.
	{
		Name: "vzdump files a guest's ERROR lines as job errors",
		File: "analyze/vzdump.go",
		Old:  "case strings.HasPrefix(text, \"ERROR:\"):\n\t\t\tif g != nil {",
		New:  "case strings.HasPrefix(text, \"ERROR:\"):\n\t\t\tif false && g != nil {",
		Pkgs: []string{"./analyze/", "./tools/"},
	},
	// Tests that passed without their feature.
	{
		Name: "simulator Close leaves tasks running",
		File: "proxmox/pvesim/sim.go",
		Old:  "\t\tif s.tasks != nil {\n\t\t\ts.tasks.close()\n\t\t}\n",
		New:  "",
		Pkgs: []string{"./proxmox/pvesim/"},
	},
	{
		Name: "the last allowed wrong nonce confirms the plan",
		File: "guard/store.go",
		Old:  "s.done[planID] = tombstone{what: \"discarded after repeated wrong nonces\", at: now}\n\t\t}",
		New:  "s.done[planID] = tombstone{what: \"discarded after repeated wrong nonces\", at: now}\n\t\t\treturn e, nil\n\t\t}",
		Pkgs: []string{"./guard/", "./tools/"},
	},
	{
		Name: "fan-out runs serially",
		File: "proxmox/fanout.go",
		Old:  "\t\tlimit = DefaultFanOutLimit\n\t}\n",
		New:  "\t\tlimit = DefaultFanOutLimit\n\t}\n\tlimit = 1\n",
		Pkgs: []string{"./proxmox/"},
	},
	// Boundaries.
	{
		Name: "scrub exactly at the age limit warns",
		File: "analyze/zfs.go",
		Old:  "if v.ScrubAgeDays > opt.ScrubMaxAgeDays {",
		New:  "if v.ScrubAgeDays >= opt.ScrubMaxAgeDays {",
		Pkgs: []string{"./analyze/", "./tools/"},
	},
	{
		Name: "fill forecast counts from the last raw sample",
		File: "analyze/forecast.go",
		Old:  "now := fit.Intercept + fit.Slope*xs[len(xs)-1]",
		New:  "now := f.UsedBytes",
		Pkgs: []string{"./analyze/", "./tools/"},
	},
	{
		Name: "privilege-separated token ignores its own propagate flag",
		File: "proxmox/pvesim/auth.go",
		Old:  "for p, prop := range tokPrivs {\n\t\tif up, ok := userPrivs[p]; ok {\n\t\t\tout[p] = prop && up",
		New:  "for p := range tokPrivs {\n\t\tif up, ok := userPrivs[p]; ok {\n\t\t\tout[p] = up",
		Pkgs: []string{"./proxmox/pvesim/", "./proxmox/"},
	},
	// Later entries.
	{
		Name: "backup_status drops a failed node's task list error",
		File: "tools/backup_status.go",
		Old:  "\t\t\tAddErr(ctx, l.Node, l.Err)\n\t\t\tcontinue\n",
		New:  "\t\t\tcontinue\n",
		Pkgs: []string{"./tools/"},
	},
	{
		Name: "storage_status drops a failed storage history's error",
		File: "tools/storage_status.go",
		Old:  "\t\t\tAddErr(ctx, list[i].Node, r.Err)\n",
		New:  "",
		Pkgs: []string{"./tools/"},
	},
	{
		Name: "fill forecast dates the threshold from the window start",
		File: "analyze/forecast.go",
		Old:  "f.ThresholdEpoch = f.WindowEndEpoch",
		New:  "f.ThresholdEpoch = f.WindowStartEpoch",
		Pkgs: []string{"./analyze/", "./tools/"},
	},
	{
		Name: "simulator forgets a guest's history when it stops or restarts",
		File: "proxmox/pvesim/model.go",
		Old:  "if !g.IsRunning() || g.StartedAt.IsZero() || !at.After(g.StartedAt) {",
		New:  "if true || !g.IsRunning() || g.StartedAt.IsZero() || !at.After(g.StartedAt) {",
		Pkgs: []string{"./proxmox/pvesim/"},
	},
	{
		Name: "simulator RRD averages are whole numbers",
		File: "proxmox/pvesim/rrd.go",
		Old:  "if cf != \"MAX\" {\n\t\t\tmem, memHost = s.guestMemAvg",
		New:  "if false {\n\t\t\tmem, memHost = s.guestMemAvg",
		Pkgs: []string{"./proxmox/pvesim/"},
	},
	{
		Name: "simulator LXC current snapshot lacks running",
		File: "proxmox/pvesim/reads_guests.go",
		Old:  "\"digest\": g.Digest(), \"running\": b2i(g.IsRunning())}",
		New:  "\"digest\": g.Digest()}",
		Pkgs: []string{"./proxmox/pvesim/"},
	},
	{
		Name: "simulator NVMe SMART text ignores the disk",
		File: "proxmox/pvesim/smart_nvme.go",
		Old:  "key := \"smart/\" + d.Serial + \"/\" + d.DevPath",
		New:  "key := \"smart\"",
		Pkgs: []string{"./proxmox/pvesim/"},
	},
}
