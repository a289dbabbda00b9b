package guard

import (
	"fmt"
	"slices"
	"strings"
)

// ApprovalMode is the `approval` policy of confirm_plan.
type ApprovalMode string

const (
	// ApprovalElicit asks the human through the client when it supports
	// elicitation and falls back to the nonce alone otherwise (the default).
	ApprovalElicit ApprovalMode = "elicit"
	// ApprovalNonce never asks through the client: the plan's nonce is the
	// confirmation.
	ApprovalNonce ApprovalMode = "nonce"
	// ApprovalRequireHuman accepts only the person's answer to the client's
	// elicitation prompt: a client without elicitation gets plans it cannot
	// confirm. The only mode in which an agent that can read the nonce (for
	// example one with a shell on the same machine) cannot approve alone.
	ApprovalRequireHuman ApprovalMode = "require_human"
)

// How a plan must be approved; recorded in the plan when it is made.
const (
	// ByElicitation: only the person's answer to the client's prompt.
	ByElicitation = "elicitation"
	// ByNonce: the nonce alone confirms.
	ByNonce = "nonce"
)

// ParseApprovalMode accepts "", "elicit", "nonce" and "require_human".
func ParseApprovalMode(s string) (ApprovalMode, error) {
	switch ApprovalMode(strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "_")) {
	case "", ApprovalElicit:
		return ApprovalElicit, nil
	case ApprovalNonce:
		return ApprovalNonce, nil
	case ApprovalRequireHuman:
		return ApprovalRequireHuman, nil
	}
	return "", fmt.Errorf("approval must be elicit, nonce or require_human, not %q", s)
}

// Requires is how a plan made under this mode must be approved, given
// whether the planning client can ask its user (form elicitation).
func (m ApprovalMode) Requires(clientCanElicit bool) string {
	switch {
	case m == ApprovalRequireHuman:
		return ByElicitation
	case m == ApprovalNonce:
		return ByNonce
	case clientCanElicit:
		return ByElicitation
	}
	return ByNonce
}

// Protection lists guests no plan may touch.
type Protection struct {
	VMIDs []int    `yaml:"vmids" json:"vmids,omitempty"`
	Tags  []string `yaml:"tags" json:"tags,omitempty"`
	// ProxmoxFlag also protects guests whose config has Proxmox's own
	// protection flag (protection: 1).
	ProxmoxFlag bool `yaml:"proxmox_flag" json:"proxmox_flag,omitempty"`
}

// CheckFlag refuses a guest whose config value of "protection" is set,
// when ProxmoxFlag asks for it.
func (p Protection) CheckFlag(vmid int, protection string) error {
	if p.ProxmoxFlag && (protection == "1" || strings.EqualFold(protection, "true")) {
		return fmt.Errorf("guest %d has Proxmox's protection flag set (protection: 1) and the configuration protects such guests; pvemcp will not plan changes to it", vmid)
	}
	return nil
}

// Check refuses a guest listed by VMID or carrying a protected tag. tags is
// Proxmox's tag string ("a;b", also accepting , and spaces).
func (p Protection) Check(vmid int, tags string) error {
	if slices.Contains(p.VMIDs, vmid) {
		return fmt.Errorf("guest %d is protected by configuration (protected VMIDs); pvemcp will not plan changes to it", vmid)
	}
	for _, t := range strings.FieldsFunc(tags, func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		for _, pt := range p.Tags {
			if strings.EqualFold(t, pt) {
				return fmt.Errorf("guest %d is protected by configuration (tag %q); pvemcp will not plan changes to it", vmid, t)
			}
		}
	}
	return nil
}
