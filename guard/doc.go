// Package guard is pvemcp's approval gate: nothing changes in a Proxmox
// cluster unless a human confirmed a plan that showed the exact API calls.
//
// A write tool builds a [Plan] (the calls, a summary, the preconditions it
// checked, warnings) and hands it to [Store.Propose] together with a
// [Recheck] that repeats the preconditions. The store answers with a
// single-use 128-bit nonce bound to the plan's canonical hash (tool,
// cluster, caller, calls) and to the caller. [Store.Confirm] consumes the
// nonce, runs the recheck against live data and only then mints an
// [Approval]. A plan belongs to the cluster it was made against
// ([Plan.Cluster]): a confirmation naming another cluster is refused, and
// the Approval carries the cluster so package proxmox sends the calls
// through that cluster's client only.
//
// Every mutating method of package proxmox takes an Approval and calls
// [Approval.Authorize] with the exact call it is about to send; an
// Approval can only be minted here (its fields are unexported and a zero
// value authorizes nothing), and it authorizes only the calls of its plan,
// in order, each once. So no code path reaches a mutating Proxmox call
// without a confirmed plan, and a test in package proxmox proves that no
// non-GET request is built anywhere else.
//
// Pending plans live in a [PlanBackend]: in this process's memory
// ([NewMemoryBackend], the default), in a locked private file
// ([OpenFileBackend], for the CLI, whose every call is a new process), or in
// Redis ([OpenRedisBackend], shared by replicas behind a load balancer).
// A backend keeps data only, never the nonce (a hash of it) and never code:
// records change by compare-and-swap, so one confirmation takes a plan even
// when several processes race, and a plan confirmed by another process
// than the one that made it has its preconditions rebuilt there by a
// [Replan] (package tools plans again from the same arguments and requires
// the same calls). A backend that cannot be reached refuses every plan.
//
// Import direction: guard imports nothing from pvemcp, so proxmox (which
// needs the Approval type) and tools (which build plans) can both import
// it without a cycle.
package guard
