// Package toolkit is the framework pvemcp's tools are written against,
// independent of the MCP SDK: package tools holds the tools, package
// mcpserver serves them over MCP.
//
// A tool is a plain Go function plus metadata (Meta: name, title,
// description, toolset, the four hints, the Proxmox privileges it needs):
//
//	func(ctx context.Context, args A) (R, error)
//
// New builds a Tool from it and Register adds it to the catalog (tools call
// both from init). A is a struct whose fields are the arguments: the input
// schema is reflected from it (schema.go), and calls are decoded strictly
// (args.go: unknown keys, wrong types, values out of range or not matching
// a pattern are refused with a message naming the argument) before the
// function runs, so nothing invalid reaches Proxmox. R is a struct with the
// tool's data: the output schema is reflected from it and extended with the
// common envelope (envelope.go: cluster, fetched_at, alerts, errors,
// unavailable, sources), which Server.Call fills from what the tool adds
// (AddAlert, AddErr, AddUnavailable) and from the Proxmox calls package
// proxmox records. The result is one JSON object, sent by the MCP layer as
// structuredContent and, identical, as one text content; a returned error
// becomes an isError result with its plain message.
//
// Server (server.go) serves a selection of tools (Select) with one Env: the
// Proxmox client or clients, thresholds, clock, logger, call limit
// (limit.go) and the approval gate of the write tools (gate.go). Call runs
// one tool: with several clusters it first routes the optional "cluster"
// argument (Client(ctx) then returns that cluster's client), then decodes,
// limits, runs and composes. Toolsets (tool.go, toolsets.go) group the
// tools; a server may serve some at first and turn the others on at run
// time, per session or per stateless request.
//
// What a tool needs of the MCP client behind a call (whether the request
// is stateless, asking the user through the client, progress, telling the
// session its tool list changed) is the Peer interface (peer.go), which
// package mcpserver installs per call; without it (pvemcp call, tests) a
// call sees a client that cannot be asked. InstructionsFor is the server's
// instructions text; Markdown the README's tool list.
//
// A write tool returns a plan and never acts: replan.go lets a plan made
// in another process be made again at confirmation (package guard holds the
// gate itself).
package toolkit
