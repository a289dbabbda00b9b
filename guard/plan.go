package guard

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
)

// Call is one Proxmox API request a plan will make, exactly as it will be
// sent: method, path below /api2/json, and form parameters.
type Call struct {
	Method string            `json:"method"`
	Path   string            `json:"path"`
	Params map[string]string `json:"params,omitempty"`
	// Lists holds array parameters, sent as repeated keys (agent/exec's
	// command argv). Part of the hash like Params.
	Lists map[string][]string `json:"lists,omitempty"`
}

// Precondition is one fact checked while planning, with the value seen.
type Precondition struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	OK    bool   `json:"ok"`
}

// Plan is a proposed change. Calls run in order; the plan stops at the
// first call or task that fails.
type Plan struct {
	ID            string         `json:"plan_id"`
	Tool          string         `json:"tool"`
	Summary       string         `json:"summary"`
	Calls         []Call         `json:"calls"`
	Preconditions []Precondition `json:"preconditions,omitempty"`
	Warnings      []string       `json:"warnings,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
	ExpiresAt     time.Time      `json:"expires_at"`
	Caller        string         `json:"caller"`
	// Principal is who is accountable for the plan (the authenticated
	// principal; "" when there is none, then Caller counts); the
	// pending-plan cap counts per principal.
	Principal string `json:"principal,omitempty"`
	// Cluster is the configured name of the cluster the plan was made
	// against ("" with a single unnamed cluster); the calls go there and
	// nowhere else. It is part of the hash.
	Cluster string `json:"cluster,omitempty"`
	// Approval is how the plan must be approved (ByElicitation or
	// ByNonce), fixed when it is made: a confirmation by any other way is
	// refused, whatever the confirming request can do. "" means ByNonce.
	Approval string `json:"approval,omitempty"`
	Hash     string `json:"plan_hash"`
	// Args are the arguments of the tool call that made the plan; another
	// process rebuilds the plan's preconditions from them (see
	// WithReplan). Never shown: they may hold secrets.
	Args json.RawMessage `json:"-"`
}

// canonicalHash is the SHA-256 of what the human approves: the tool, the
// cluster, the caller and the exact calls. encoding/json sorts map keys, so
// equal plans hash equally.
func canonicalHash(p Plan) string {
	b, err := json.Marshal(struct {
		Tool     string `json:"tool"`
		Cluster  string `json:"cluster"`
		Caller   string `json:"caller"`
		Approval string `json:"approval,omitempty"`
		Calls    []Call `json:"calls"`
	}{p.Tool, p.Cluster, p.Caller, p.Approval, p.Calls})
	if err != nil {
		// Only strings inside: Marshal cannot fail.
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func cloneCalls(calls []Call) []Call {
	out := make([]Call, len(calls))
	for i, c := range calls {
		out[i] = Call{Method: c.Method, Path: c.Path, Params: maps.Clone(c.Params)}
		if c.Lists != nil {
			out[i].Lists = make(map[string][]string, len(c.Lists))
			for k, v := range c.Lists {
				out[i].Lists[k] = slices.Clone(v)
			}
		}
	}
	return out
}

func (c Call) equal(o Call) bool {
	return c.Method == o.Method && c.Path == o.Path && maps.Equal(c.Params, o.Params) &&
		maps.EqualFunc(c.Lists, o.Lists, slices.Equal[[]string])
}

// String renders a call for messages, with secrets redacted.
func (c Call) String() string {
	return c.Method + " " + c.Path
}

// redactedMark replaces the value of a secret parameter wherever a call is
// shown or logged.
const redactedMark = "[redacted]"

// IsSecretParam reports whether a Proxmox parameter carries a secret or
// credential (container root password, cloud-init password and keys,
// tokens); such values are never shown or logged.
func IsSecretParam(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "sshkeys", "ssh-public-keys":
		return true
	}
	for _, s := range []string{"password", "secret", "token", "private-key", "privatekey"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// RedactCalls returns a copy of calls with secret parameter values replaced.
func RedactCalls(calls []Call) []Call {
	out := cloneCalls(calls)
	for _, c := range out {
		for k := range c.Params {
			if IsSecretParam(k) {
				c.Params[k] = redactedMark
			}
		}
	}
	return out
}
