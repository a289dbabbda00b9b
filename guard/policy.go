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
)

// ParseApprovalMode accepts "", "elicit" and "nonce".
func ParseApprovalMode(s string) (ApprovalMode, error) {
	switch ApprovalMode(strings.ToLower(strings.TrimSpace(s))) {
	case "", ApprovalElicit:
		return ApprovalElicit, nil
	case ApprovalNonce:
		return ApprovalNonce, nil
	}
	return "", fmt.Errorf("approval must be elicit or nonce, not %q", s)
}

// Protection lists guests no plan may touch.
type Protection struct {
	VMIDs []int    `yaml:"vmids" json:"vmids,omitempty"`
	Tags  []string `yaml:"tags" json:"tags,omitempty"`
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
