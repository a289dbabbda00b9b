// Package analyze holds pvemcp's domain logic: thresholds and alerts, time
// series statistics and downsampling, fill forecasts, ZFS and SMART verdicts,
// vzdump task log parsing, backup job outcomes, and capacity planning with
// rebalancing suggestions.
//
// Everything here is a pure function over plain structs: no I/O, no clock, no
// dependency on other pvemcp packages. Tools fetch Proxmox data, map it onto
// these inputs (field names carry their units: Bytes, Pct for 0..100,
// Fraction for 0..1, Epoch for Unix seconds) and return the outputs. The
// current time is always an argument, so results are reproducible.
//
// Where to look:
//   - thresholds.go: Thresholds, Alert, EvaluateNode/Storage/Guest, SortAlerts.
//   - series.go: Summarize (min/avg/max/p95/last), Downsample and
//     DownsampleRows (aligned bucket means; DownsampleRowsMax for cf=MAX).
//   - forecast.go: FillForecast, FillForecastRows (least-squares days to a
//     threshold, or no forecast with a reason).
//   - zfs.go: ParseScan, ParseErrors, WalkVdevs, EvaluatePool (severity,
//     reasons, host guidance), EvaluateDisk, MatchDiskToVdev.
//   - vzdump.go: ParseVzdumpLog (every line accounted for; unknown lines kept).
//   - backup.go: BackupStatus (runs matched to jobs, outcomes like "6/7",
//     per-guest last success, stale and uncovered guests), MatchRunToJob.
//   - capacity.go: PlanCapacity (per-node figures, over/under-provisioned
//     guests, validated rebalancing moves, evacuation), HA rule helpers.
package analyze
