// Package proxmox is the only package of pvemcp that talks to Proxmox VE.
//
// A Client (New(Options)) holds one pooled HTTP/1.1 client per cluster, token
// authentication, TLS verification (CA, SHA-256 fingerprint pins — one per
// node for failover —, or an explicit insecure switch), a per-call timeout
// that also honours the caller's context, and failover across node
// endpoints when one cannot be dialled. It caches no cluster state:
// concurrent identical GETs share one in-flight request and the answer is
// dropped once handed out. FanOut/ForEachNode run per-node calls with a
// bound (Options.FanOutLimit, default 32).
//
// Every call is recorded (method, path below /api2/json with query, status,
// ms) into the Recorder carried by the context (WithRecorder), which the
// tool layer turns into a result's "sources". Failures are *Error values
// whose message names what failed in plain language; use KindOf (and
// IsUnauthorized, IsForbidden, IsNodeUnreachable), and the Error fields
// (Privilege and PrivPath of a 403, Params of a 400) instead of parsing
// messages.
//
// The approval gate is built into the API surface: this package exports read
// (GET) methods only. The generic request method c.do, which can send
// POST/PUT/DELETE, stays unexported; mutating methods live in write*.go files
// and require a guard.Approval value.
//
// # Adding an API area (recipe)
//
// One file per area, named after it (storage.go, zfs.go, disks.go, ha.go,
// backup.go, tasks.go, rrd.go):
//
//  1. Declare the answer type with json tags as Proxmox spells the fields.
//     Use Int, Num and Bool for anything Proxmox may send as a number, a
//     numeric string or 0/1 (NOTES §1.4); use string for property strings.
//     Where a field mixes types (disks/list wearout: 97 or "N/A"), give it a
//     type with its own UnmarshalJSON instead of failing the whole answer.
//  2. Write the method on *Client. Validate every caller-supplied path value
//     first (checkNode, checkGuest, ValidVMID): nothing invalid may reach the
//     network. Build the path with apiPath / guestPath (they escape segments),
//     then call c.get(ctx, path, query, &out). A per-node read without
//     parameters is one line: nodeRead (or nodeReadRef for a pointer) checks
//     the node, builds the path and decodes. For the top-level "total" use
//     c.getEnvelope. Never log or put the token into errors.
//  3. For per-node reads across the cluster, the tool calls
//     ForEachNode(ctx, c, nodes, fn): results come back per node, in order,
//     with per-node errors.
//  4. Test it against the in-process simulator (proxmox/pvesim) and check the
//     recorded calls with RecorderFrom(ctx).Calls().
//
// Example:
//
//	// ZFSPool is one entry of GET /nodes/{node}/disks/zfs.
//	type ZFSPool struct {
//		Name   string `json:"name"`
//		Health string `json:"health"`
//		Size   Int    `json:"size"`
//		Alloc  Int    `json:"alloc"`
//		Frag   Num    `json:"frag"`
//	}
//
//	func (c *Client) ZFSPools(ctx context.Context, node string) ([]ZFSPool, error) {
//		return nodeRead[[]ZFSPool](ctx, c, node, "disks", "zfs")
//	}
package proxmox
