// Package pvesim is a stateful, wire-faithful simulator of the Proxmox VE
// REST API (PVE 9, with a PVE 8 switch), served over HTTPS like pveproxy.
//
// It exists so pvemcp can be tried, tested and benchmarked without a
// cluster. What it reproduces is documented in the shared NOTES.md: the
// {"data":...} envelope with top-level "total", error reason phrases on the
// status line (written on a hijacked connection), 0/1 booleans and
// string-typed numbers, empty 401 bodies, 501 for unknown methods, UPID
// tasks with logs, API-token authentication with ACLs, roles, pools and
// privilege separation, and per-node listeners that answer for the whole
// cluster and proxy /nodes/{other}/... (595 when the other is down).
//
// Use:
//
//	sim, err := pvesim.Start(ctx, pvesim.Options{})          // the embedded "demo"
//	client := ... sim.URL() + "/api2/json", token sim.Token("operator"), pin sim.Fingerprint()
//	sim.SetFault("pve-node02", pvesim.Fault{Latency: 200 * time.Millisecond})
//	defer sim.Close()
//
// The cluster comes from a YAML scenario (examples/scenarios/README.md), the
// embedded demo, or a generator (Options.Generate). Usage figures are a
// deterministic function of seed, object and time, so RRD history and
// current values agree. A guest's past runs are kept, so its RRD history
// outlives stops, reboots, migrations and node outages as Proxmox's RRD
// files do; AVERAGE rows consolidate several samples, so byte gauges such
// as mem are fractional, as on real Proxmox.
//
// Behaviour that follows Proxmox's state machines: config changes to a
// running guest that cannot be hot-plugged stay pending until a restart
// (pending.go); taking a node offline (Fault.Offline) makes HA fence it and
// recover its HA services onto another allowed node, with failback when the
// node returns (ha_recovery.go). Both run at the task speed (instant at 0).
// Snapshots keep the config they were taken with, roll back to it (ZFS only
// to the newest) and hold space as the guest writes (snapshots.go); vzdump
// runs leave archives that restores read back (vzdump.go, restore.go).
//
// For test harnesses (control.go, control_http.go): Journal lists every
// change request and task, State shows the cluster in the scenario's
// terms, SaveSnapshot and Reset rewind it, SetFaultState sets (or arms)
// faults, AdvanceClock moves the simulated time. StartControl serves the
// same over a separate, secret-protected HTTPS listener that the API never
// exposes; package harness applies and checks scene files with either.
//
// Internals, for the files of this package: every route is registered with
// Sim.route (router.go) from a function appended to routeSetups in an
// init(); handlers run under Sim.mu (read lock for GET, write lock
// otherwise) and return *apiError values (errors.go) for Proxmox errors;
// the model is in model.go, tasks in tasks.go.
package pvesim
