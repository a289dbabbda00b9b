// Package tools defines pvemcp's MCP tools, independent of the MCP SDK.
//
// A tool is a plain Go function plus metadata:
//
//	func(ctx context.Context, args A) (R, error)
//
// A is a struct whose fields are the arguments: the input schema is reflected
// from it, and calls are decoded strictly (unknown keys, wrong types, values
// out of range or not matching a pattern are refused with a message naming
// the argument) before the function runs, so nothing invalid reaches
// Proxmox. R is a struct with the tool's data: the output schema is
// reflected from it and extended with the common envelope (cluster,
// fetched_at, alerts, errors, unavailable, sources), which the layer fills.
// The result is sent as structuredContent and, identical, as one text
// content (compact JSON). A returned error becomes an isError result with
// its plain message.
//
// mcpadapter.go and mcpapps.go adapt tools to mcp-go; confirm_plan.go also uses it
// to ask the user (elicitation) and to send progress notifications.
//
// With several clusters configured (Env.ClusterNames), every tool takes an
// optional "cluster" argument that the layer removes and routes: Client(ctx)
// then returns that cluster's client. Tools need no code for it.
//
// # Adding a tool (recipe)
//
// One file per capability, named after it (tools/zfs_health.go holds zfs_health):
//
//	func init() {
//		Register(New(Meta{
//			Name:        "zfs_health",           // snake_case, part of the contract
//			Title:       "ZFS pool health",
//			Description: "ZFS pools on all nodes: ... (first sentence goes to the README)",
//			Toolset:     ToolsetStorage,
//			Hints:       &ReadHints,            // write tools: all four set explicitly
//			Needs:       []Need{{"Sys.Audit", "/"}}, // or NeedsNothing; check_permissions reports them
//		}, zfsHealth))
//	}
//
//	type ZFSArgs struct {
//		Node string `json:"node,omitempty" pve:"node" description:"only this node"`
//	}
//
//	type ZFSResult struct {
//		Pools []PoolInfo `json:"pools"`
//	}
//
//	func zfsHealth(ctx context.Context, args ZFSArgs) (ZFSResult, error) {
//		c, err := Client(ctx)                        // the cluster client travels in ctx
//		if err != nil {
//			return ZFSResult{}, err
//		}
//		nodes := ...                                 // e.g. from c.Resources(ctx, "node")
//		res := proxmox.ForEachNode(ctx, c, nodes, func(ctx context.Context, n string) ([]proxmox.ZFSPool, error) {
//			return c.ZFSPools(ctx, n)
//		})
//		out := ZFSResult{Pools: []PoolInfo{}}
//		for _, r := range res {
//			if r.Err != nil {
//				AddErr(ctx, r.Node, r.Err)           // partial beats wrong
//				continue
//			}
//			...
//		}
//		AddAlert(ctx, alerts...)                     // from analyze
//		return out, nil
//	}
//
// Argument tags: json (name; omitempty = optional), description, enum:"a,b",
// minimum/maximum, maxLength, maxItems, pattern, default, required:"true",
// pve:"node" (node-name pattern) and pve:"vmid" (100..999999999). A struct
// may also implement Validate() error for checks across fields.
//
// Result conventions (DESIGN §1, §4): units in field names (mem_used_gib,
// cpu_pct, uptime_s), rounded with GiB, GiB2, Pct, FracPct, Round
// (Compact for dense tables);
// omitempty on optional fields (no null noise); lists paginated with exact
// totals; never a figure the API did not give: use AddUnavailable(ctx, what,
// why) instead. Per-node failures go to AddErr, threshold crossings
// to AddAlert (logic in package analyze). Result fields must not be named
// like envelope fields. Every Proxmox call is recorded automatically into
// "sources" by package proxmox.
//
// Toolset is one of the Toolset* constants (tool.go; each has a one-line
// description in toolsetCatalog). DefaultToolsets, one list, says which are
// served from the start; the others are turned on at run time with
// enable_toolset (toolsets.go), so a new tool in a default toolset costs
// every conversation its name, title, description and input schema: the
// default catalog's model-facing part must stay under 16 KB (schemas test).
//
// Write tools set Hints{ReadOnly: false, ...} explicitly; they return a plan
// and never act (see plan_builder.go, confirm_plan.go and package guard).
// --read-only drops them, derived from the read-only hint.
//
// After adding or changing a tool run `make snapshots` (schemas/tools/*.json
// and the README tool list) and review the diff. Test against the in-process
// simulator in tools/NAME_test.go (see testenv_test.go: newTestEnv, call,
// validateOutput; toolargs_test.go: declareArgs for a tool that needs
// arguments; TestEveryToolHasItsFile checks the tool has each of these).
package tools
