// Package tools holds pvemcp's MCP tools: one file per tool, named after
// it, and the helpers tools share (the write planner, node lists, caps on
// text from the cluster). A tool is a plain Go function plus metadata,
// written against package toolkit (the framework: metadata, schemas from Go
// types, strict argument decoding, the result envelope, the call server)
// and served over MCP by package mcpserver; tools know no MCP SDK
// (TestMCPSDKBehindOneDoor).
//
// A write tool returns a plan and never acts (confirm_plan.go and package
// guard). confirm_plan asks the user through the client and sends progress
// through toolkit.Peer, which mcpserver installs per call.
//
// # Adding a tool (recipe)
//
// One file per capability, named after it (tools/zfs_health.go holds zfs_health):
//
//	func init() {
//		toolkit.Register(toolkit.New(toolkit.Meta{
//			Name:        "zfs_health",           // snake_case, part of the contract
//			Title:       "ZFS pool health",
//			Description: "ZFS pools on all nodes: ... (first sentence goes to the README)",
//			Toolset:     toolkit.ToolsetStorage,
//			Hints:       &toolkit.ReadHints,    // write tools: all four set explicitly
//			// Proxmox privileges (toolkit.NeedsNothing: none); check_permissions reports them
//			Needs: []toolkit.Need{{Priv: "Sys.Audit", Path: "/"}},
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
//		c, err := toolkit.Client(ctx)                // the cluster client travels in ctx
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
//				toolkit.AddErr(ctx, r.Node, r.Err)   // partial beats wrong
//				continue
//			}
//			...
//		}
//		toolkit.AddAlert(ctx, alerts...)             // from analyze
//		return out, nil
//	}
//
// Argument tags (toolkit/schema.go, args.go): json (name; omitempty = optional), description, enum:"a,b",
// minimum/maximum, maxLength, maxItems, pattern, default, required:"true",
// pve:"node" (node-name pattern) and pve:"vmid" (100..999999999). A struct
// may also implement Validate() error for checks across fields.
//
// Result conventions (DESIGN §1, §4): units in field names (mem_used_gib,
// cpu_pct, uptime_s), rounded with toolkit's GiB, GiB2, Pct,
// FracPct, Round (Compact for dense tables); omitempty on optional fields
// (no null noise); lists paginated with exact totals; never a figure the API
// did not give: use toolkit.AddUnavailable(ctx, what, why) instead. Per-node
// failures go to toolkit.AddErr, threshold crossings to toolkit.AddAlert
// (logic in package analyze). Result fields must not be named
// like envelope fields. Every Proxmox call is recorded automatically into
// "sources" by package proxmox.
//
// Toolset is one of the toolkit.Toolset* constants (toolkit/tool.go; each
// has a one-line description in its catalog). toolkit.DefaultToolsets, one
// list, says which are served from the start; the others are turned on at
// run time with enable_toolset (tools/toolsets.go), so a new tool in a default toolset costs
// every conversation its name, title, description and input schema: the
// default catalog's model-facing part must stay under 16 KB (schemas test).
//
// Write tools set toolkit.Hints{ReadOnly: false, ...} explicitly; they return a plan
// and never act (see plan_builder.go, confirm_plan.go and package guard).
// --read-only drops them, derived from the read-only hint.
//
// After adding or changing a tool run `make snapshots` (schemas/tools/*.json
// and the README tool list) and review the diff. Test against the in-process
// simulator in tools/NAME_test.go (see testenv_test.go: newTestEnv, call,
// validateOutput; toolargs_test.go: declareArgs for a tool that needs
// arguments; TestEveryToolHasItsFile checks the tool has each of these).
package tools
