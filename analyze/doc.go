// Package analyze holds pvemcp's domain logic: thresholds and the wording of
// every alert, time series statistics and downsampling, fill forecasts, ZFS
// and SMART verdicts, vzdump task log parsing, backup job outcomes and
// staleness, quorum, HA, Ceph, task and node-health verdicts, and capacity
// planning with rebalancing suggestions.
//
// Everything here is a pure function over plain structs: no I/O, no clock, no
// dependency on other pvemcp packages. Tools fetch Proxmox data, map it onto
// these inputs (field names carry their units: Bytes, Pct for 0..100,
// Fraction for 0..1, Epoch for Unix seconds) and return the outputs; a
// verdict that raises alerts returns them ([]Alert, empty when all is well)
// for the tool to add to its result. The current time is always an
// argument, so results are reproducible.
//
// Where to look:
//   - thresholds.go: Thresholds, Alert, EvaluateNode/Storage/Guest, the
//     same rule for RRD samples (NodeSampleAlerts, StorageSampleAlerts),
//     SortAlerts.
//   - series.go: Summarize (min/avg/max/p95/last), DownsampleRows and
//     DownsampleRowsMax (aligned bucket means or maxima).
//   - forecast.go: FillForecast, FillForecastRows (least-squares days to a
//     threshold, or no forecast with a reason), EvaluateStorageForecast.
//   - zfs.go: ParseScan, ParseErrors, WalkVdevs, EvaluatePool (severity,
//     reasons, host guidance), EvaluateDisk and DiskVerdict.Alert (a
//     disk's one alert, for list_disks and zfs_health alike),
//     MatchDiskToVdev.
//   - vzdump.go: ParseVzdumpLog (every line accounted for; unknown lines
//     kept), VzdumpLog.Alerts.
//   - backup.go: BackupStatus (runs matched to jobs, outcomes like "6/7",
//     per-guest last success, staleness by each guest's job schedules,
//     uncovered guests), MatchRunToJob, StaleLimitHours, EvaluateArchiveAge.
//   - ha.go: quorum, membership, HA manager and HA resource verdicts.
//   - ceph.go, firewall.go, tasks.go, diag.go: Ceph health and pools, the
//     firewall's inbound evaluation, failed tasks, log levels, certificates,
//     services, updates, subscription, DNS and replication jobs.
//   - capacity.go (model, inputs), capacity_planner.go (state, the check of
//     one move), capacity_search.go (evacuation, exact and greedy search),
//     capacity_report.go (PlanCapacity and its result types: per-node
//     figures, over/under-provisioned guests, validated moves).
package analyze
