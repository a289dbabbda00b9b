package proxmox

import "net/http"

// InsecureWarning is the warning every result carries when the cluster's
// certificate is not verified (Options.Insecure).
const InsecureWarning = "TLS certificate verification is disabled for this cluster (insecure: true): " +
	"anyone on the network path could read the API token and fake answers; pin the certificate with a fingerprint or set a CA file"

// InsecureTLS reports whether the client skips certificate verification
// (Insecure set and no fingerprint pin, which verifies on its own).
func (c *Client) InsecureTLS() bool {
	tr, ok := c.http.Transport.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil {
		return false
	}
	return tr.TLSClientConfig.InsecureSkipVerify && tr.TLSClientConfig.VerifyConnection == nil
}

// TLSWarning returns InsecureWarning for an insecure client, else "".
func (c *Client) TLSWarning() string {
	if c.InsecureTLS() {
		return InsecureWarning
	}
	return ""
}
