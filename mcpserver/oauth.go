package mcpserver

import (
	"net/http"

	"github.com/mark3labs/mcp-go/server"
)

// ProtectedResourceWellKnown is the well-known path of OAuth 2.0 Protected
// Resource Metadata (RFC 9728).
const ProtectedResourceWellKnown = server.WellKnownProtectedResourcePath

// ProtectedResource describes this server as an OAuth 2.0 protected
// resource (RFC 9728): clients learn from it where to get access tokens.
type ProtectedResource struct {
	// Resource is the server's URL as clients reach it; tokens name it as
	// their audience.
	Resource               string
	AuthorizationServers   []string
	ScopesSupported        []string
	BearerMethodsSupported []string
	ResourceName           string
}

// ProtectedResourceHandler serves m as the resource's metadata document.
func ProtectedResourceHandler(m ProtectedResource) http.Handler {
	return server.NewProtectedResourceMetadataHandler(server.ProtectedResourceMetadataConfig{
		Resource:               m.Resource,
		AuthorizationServers:   m.AuthorizationServers,
		ScopesSupported:        m.ScopesSupported,
		BearerMethodsSupported: m.BearerMethodsSupported,
		ResourceName:           m.ResourceName,
	})
}

// ProtectedResourceMetadataPath is the path of resource's metadata: the
// well-known path followed by the resource URL's path (RFC 9728 §3.1).
func ProtectedResourceMetadataPath(resource string) string {
	return server.ProtectedResourceMetadataPath(resource)
}
