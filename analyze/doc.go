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
package analyze
