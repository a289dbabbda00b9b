// Package viewtest renders pvemcp's MCP Apps views (resources/views) in
// headless Chromium, the way a host does: a minimal host page speaks the
// extension's postMessage JSON-RPC to each view in a sandboxed iframe of
// another origin, under the spec's default Content Security Policy, and
// hands it a real result of the demo cluster fetched through MCP. The tests
// check the handshake, the figures drawn, that no request leaves the view
// and that nothing is logged as an error; they save a screenshot of each
// view in light and dark (make dashboards). The browser is chromium from
// PATH, or the binary named by $CHROMIUM. It holds no code of its own.
package viewtest
