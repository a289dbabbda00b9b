// Package mcpserver is pvemcp's one door to the MCP SDK (mcp-go): the only
// package that imports it (TestMCPSDKBehindOneDoor holds it). Switching
// SDKs touches this package and nothing else.
//
// New turns a toolkit.Server into an MCP server: each tool with its
// reflected schemas and all four hints (Tool), each tools/call through
// toolkit's Server.Call with a toolkit.Peer for the client behind the
// request (elicitation as a multi round-trip result, which mcp-go turns into
// a server-initiated elicitation/create for clients before 2026-07-28;
// progress and tools/list_changed notifications), a tool filter for the
// toolsets each session enabled, and the resources, resource templates,
// prompts and MCP Apps views of package resources whose tools are served
// (apps.go offers the views only to clients that advertise the extension).
//
// The transports are here too, behind plain Go and net/http types, so
// cmd/pvemcp keeps its authentication, limits and Origin checks without
// knowing the SDK: ServeStdio, HTTPHandler (streamable HTTP, both protocol
// eras) and the OAuth protected-resource metadata handler (oauth.go).
package mcpserver
