package analyze

import (
	"fmt"
	"strconv"
	"strings"
)

// FWRule is a firewall rule as the evaluation needs it (groups already
// expanded by the caller into Group rules).
type FWRule struct {
	Level   string // "guest", "group <name>"
	Pos     int
	Type    string // in, out, group
	Action  string
	Macro   string
	Proto   string
	Source  string
	DPort   string
	Enabled bool
	Comment string
	Group   []FWRule // the rules of a security group (Type "group")
}

// fwMacros are the standard macros' inbound TCP/UDP ports (pve-firewall
// PVE::Firewall $pve_fw_macros), for the common ones.
var fwMacros = map[string][]struct {
	proto string
	ports string
}{
	"SSH":        {{"tcp", "22"}},
	"HTTP":       {{"tcp", "80"}},
	"HTTPS":      {{"tcp", "443"}},
	"Web":        {{"tcp", "80"}, {"tcp", "443"}},
	"RDP":        {{"tcp", "3389"}},
	"DNS":        {{"tcp", "53"}, {"udp", "53"}},
	"SMTP":       {{"tcp", "25"}},
	"MySQL":      {{"tcp", "3306"}},
	"PostgreSQL": {{"tcp", "5432"}},
	"SMB":        {{"tcp", "445"}, {"tcp", "139"}, {"udp", "137:138"}},
	"NTP":        {{"udp", "123"}},
	"Ping":       {{"icmp", ""}},
	"Telnet":     {{"tcp", "23"}},
	"VNC":        {{"tcp", "5900:5999"}},
}

// portIn reports whether port is in a dport list ("22", "80,443", "5900:5999").
func portIn(port int, list string) bool {
	if list == "" {
		return true
	}
	for _, part := range strings.Split(list, ",") {
		a, b, isRange := strings.Cut(strings.TrimSpace(part), ":")
		lo, err1 := strconv.Atoi(a)
		hi := lo
		var err2 error
		if isRange {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil {
			continue // a service name: not resolved here
		}
		if port >= lo && port <= hi {
			return true
		}
	}
	return false
}

// matches reports whether an inbound rule covers proto/port, ignoring the
// source (that is what the verdict lists).
func (r FWRule) matches(proto string, port int) bool {
	if r.Macro != "" {
		for _, m := range fwMacros[r.Macro] {
			if m.proto == proto && portIn(port, m.ports) {
				return true
			}
		}
		return false
	}
	if r.Proto != "" && r.Proto != proto {
		return false
	}
	if r.Proto == "" && r.DPort != "" {
		return false // Proxmox requires a protocol for ports; not a port rule
	}
	return portIn(port, r.DPort)
}

// PortVerdict answers "is proto/port open to this guest from outside?".
type PortVerdict struct {
	Verdict string   `json:"verdict" description:"open (from anywhere), restricted (only from the sources listed), closed, or unfiltered (the firewall does not apply)"`
	From    []string `json:"allowed_from,omitempty" description:"sources accepted before the decision (IP sets +name, aliases, CIDRs)"`
	Rules   []string `json:"deciding_rules,omitempty" description:"the rules that decided, in evaluation order"`
	Reason  string   `json:"reason"`
}

// EvalInbound walks a guest's inbound rules in order as pve-firewall does:
// the first rule matching a packet decides; unmatched traffic meets the
// guest's policy_in. clusterOn, guestOn and nicOn are whether the
// datacenter firewall, the guest's firewall and the NIC's firewall flag are
// on: if any is off, nothing is filtered.
func EvalInbound(rules []FWRule, policyIn string, clusterOn, guestOn, nicOn bool, proto string, port int) PortVerdict {
	switch {
	case !clusterOn:
		return PortVerdict{Verdict: "unfiltered", Reason: "the datacenter firewall is disabled (cluster options enable 0): no guest rule is applied"}
	case !guestOn:
		return PortVerdict{Verdict: "unfiltered", Reason: "the guest's firewall is disabled (its firewall options enable 0)"}
	case !nicOn:
		return PortVerdict{Verdict: "unfiltered", Reason: "no network interface of the guest has firewall=1"}
	}
	if policyIn == "" {
		policyIn = "DROP"
	}
	v := PortVerdict{}
	var walk func(rs []FWRule) bool
	walk = func(rs []FWRule) bool {
		for _, r := range rs {
			if !r.Enabled {
				continue
			}
			if r.Type == "group" {
				if walk(r.Group) {
					return true
				}
				continue
			}
			if r.Type != "in" || !r.matches(proto, port) {
				continue
			}
			desc := fmt.Sprintf("%s rule %d: %s", r.Level, r.Pos, r.Action)
			if r.Source != "" {
				desc += " from " + r.Source
			}
			if r.Comment != "" {
				desc += " (" + r.Comment + ")"
			}
			v.Rules = append(v.Rules, desc)
			if r.Source != "" {
				if r.Action == "ACCEPT" {
					v.From = append(v.From, r.Source)
				}
				continue
			}
			if r.Action == "ACCEPT" {
				v.Verdict, v.Reason = "open", fmt.Sprintf("%s/%d is accepted from anywhere by %s", proto, port, desc)
			} else {
				v.Verdict, v.Reason = "closed", fmt.Sprintf("%s/%d is dropped for all other sources by %s", proto, port, desc)
			}
			return true
		}
		return false
	}
	if !walk(rules) {
		if policyIn == "ACCEPT" {
			v.Verdict, v.Reason = "open", fmt.Sprintf("no rule matches %s/%d and the guest's policy_in is ACCEPT", proto, port)
		} else {
			v.Verdict, v.Reason = "closed", fmt.Sprintf("no rule accepts %s/%d for all sources; the guest's policy_in is %s", proto, port, policyIn)
		}
	}
	if v.Verdict == "closed" && len(v.From) > 0 {
		v.Verdict = "restricted"
		v.Reason = fmt.Sprintf("%s/%d is accepted only from %s; %s", proto, port, strings.Join(v.From, ", "), v.Reason)
	}
	return v
}

// EvaluateFirewall says when the datacenter firewall is off: then no host
// or guest rule applies, whatever the rules say.
func EvaluateFirewall(clusterEnabled bool) []Alert {
	if clusterEnabled {
		return nil
	}
	return []Alert{{Severity: SeverityInfo, Subject: "firewall", Metric: "enabled", Message: "the datacenter firewall is disabled: no host or guest rule is applied",
		Basis: "enable in /cluster/firewall/options"}}
}
