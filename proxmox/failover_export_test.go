package proxmox

import (
	"context"
	"net/http"
	"net/url"
)

// PostForTest sends a POST through the unexported request path, so the
// failover tests can check that a write is never repeated.
func PostForTest(ctx context.Context, c *Client, path string) error {
	return c.do(ctx, http.MethodPost, path, url.Values{"x": {"1"}}, nil)
}
