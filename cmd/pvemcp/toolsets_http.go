package main

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/pvemcp/pvemcp/toolkit"
)

// toolsetsHeader names the toolsets an HTTP request starts from instead of
// the server's (--toolsets): default, all, or names, comma-separated. It is
// how a client chooses its tool list in the stateless protocol era, where
// the list may depend on the request but not on earlier requests.
const toolsetsHeader = "X-MCP-Toolsets"

// headerToolsets parses X-MCP-Toolsets (nil when absent); an unknown name
// is an error naming it.
func headerToolsets(r *http.Request) ([]string, error) {
	v := strings.TrimSpace(r.Header.Get(toolsetsHeader))
	if v == "" {
		return nil, nil
	}
	ts, err := toolkit.ResolveToolsets(strings.Split(v, ","))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", toolsetsHeader, err)
	}
	return ts, nil
}
