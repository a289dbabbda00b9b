package pvesim

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"strings"
	"time"
	_ "time/tzdata" // node time zones, whatever the host has installed
)

func init() { routeSetups = append(routeSetups, (*Sim).registerNodeSystem) }

// Node system endpoints: services, apt, subscription, certificates, time,
// DNS (pve-manager PVE::API2::Services, APT, Subscription, Certificates,
// Nodes).
func (s *Sim) registerNodeSystem() {
	audit := permPath("/nodes/{node}", "Sys.Audit")
	s.route("GET", "/nodes/{node}/services", audit, []param{pNode()}, s.getServices)
	s.route("GET", "/nodes/{node}/apt/update", permPath("/nodes/{node}", "Sys.Modify"), []param{pNode()}, s.getAptUpdate)
	s.route("GET", "/nodes/{node}/apt/versions", audit, []param{pNode()}, s.getAptVersions)
	s.route("GET", "/nodes/{node}/subscription", permNone(), []param{pNode()}, s.getSubscription)
	s.route("GET", "/nodes/{node}/certificates/info", permNone(), []param{pNode()}, s.getCertInfo)
	s.route("GET", "/nodes/{node}/time", audit, []param{pNode()}, s.getTime)
	s.route("GET", "/nodes/{node}/dns", audit, []param{pNode()}, s.getDNS)
}

// serviceDescs are the units PVE::API2::Services lists, with their unit
// descriptions.
var serviceDescs = map[string]string{
	"chrony":            "chrony, an NTP client/server",
	"corosync":          "Corosync Cluster Engine",
	"cron":              "Regular background program processing daemon",
	"ksmtuned":          "Kernel Samepage Merging (KSM) Tuning Daemon",
	"postfix":           "Postfix Mail Transport Agent (instance -)",
	"proxmox-firewall":  "Proxmox nftables firewall",
	"pve-cluster":       "The Proxmox VE cluster filesystem",
	"pve-firewall":      "Proxmox VE firewall",
	"pve-ha-crm":        "PVE Cluster HA Resource Manager Daemon",
	"pve-ha-lrm":        "PVE Local HA Resource Manager Daemon",
	"pvedaemon":         "PVE API Daemon",
	"pvefw-logger":      "Proxmox VE firewall logger",
	"pveproxy":          "PVE API Proxy Server",
	"pvescheduler":      "Proxmox VE scheduler",
	"pvestatd":          "PVE Status Daemon",
	"spiceproxy":        "PVE SPICE Proxy Server",
	"sshd":              "OpenBSD Secure Shell server",
	"syslog":            "System Logging Service",
	"systemd-journald":  "Journal Service",
	"systemd-timesyncd": "Network Time Synchronization",
}

// defaultServiceState: chrony replaces systemd-timesyncd and PVE 8+ ships
// no rsyslog; the nftables firewall is off unless enabled.
var defaultServiceState = map[string]string{"systemd-timesyncd": "not-found", "syslog": "not-found", "proxmox-firewall": "dead"}

func (s *Sim) serviceState(node, svc string) string {
	if nd := s.st.diag.nodes[node]; nd != nil {
		if v, ok := nd.services[svc]; ok {
			return v
		}
	}
	if v, ok := defaultServiceState[svc]; ok {
		return v
	}
	return "running"
}

func (s *Sim) getServices(c *reqCtx) (any, error) {
	out := []map[string]any{}
	for _, svc := range sortedKeys(serviceDescs) {
		e := map[string]any{"service": svc, "name": svc, "desc": serviceDescs[svc]}
		switch s.serviceState(c.Node, svc) {
		case "running":
			e["state"], e["active-state"], e["unit-state"] = "running", "active", "enabled"
		case "dead":
			e["state"], e["active-state"], e["unit-state"] = "dead", "inactive", "enabled"
		case "failed":
			e["state"], e["active-state"], e["unit-state"] = "failed", "failed", "enabled"
		case "disabled":
			e["state"], e["active-state"], e["unit-state"] = "dead", "inactive", "disabled"
		default: // not installed
			e["state"], e["active-state"], e["unit-state"] = "dead", "inactive", "not-found"
			e["desc"] = svc + ".service"
		}
		out = append(out, e)
	}
	return out, nil
}

// pvePackages are the packages of `pveversion -v` (apt/versions), with the
// installed version per PVE release.
func (s *Sim) pvePackages(n *Node) [][2]string {
	rel, _ := s.kernel(n)
	if s.ver == 8 {
		return [][2]string{{"proxmox-ve", "8.4.0"}, {"pve-manager", "8.4.1"}, {"proxmox-kernel-helper", "8.1.1"}, {"proxmox-kernel-" + strings.TrimSuffix(rel, "-pve") + "-pve-signed", strings.TrimSuffix(rel, "-pve")},
			{"ceph-fuse", "17.2.8-pve2"}, {"corosync", "3.1.9-pve1"}, {"libpve-cluster-perl", "8.1.0"}, {"libpve-storage-perl", "8.3.6"}, {"lxc-pve", "6.0.0-1"},
			{"proxmox-backup-client", "3.4.1-1"}, {"pve-cluster", "8.1.0"}, {"pve-container", "5.2.6"}, {"pve-firewall", "5.1.1"}, {"pve-ha-manager", "4.0.7"},
			{"pve-qemu-kvm", "9.2.0-5"}, {"qemu-server", "8.3.12"}, {"zfsutils-linux", "2.2.7-pve2"}}
	}
	return [][2]string{{"proxmox-ve", "9.1.0"}, {"pve-manager", "9.1.6"}, {"proxmox-kernel-helper", "9.0.4"}, {"proxmox-kernel-" + strings.TrimSuffix(rel, "-pve") + "-pve-signed", strings.TrimSuffix(rel, "-pve")},
		{"ceph-fuse", "19.2.3-pve2"}, {"corosync", "3.1.9-pve2"}, {"libpve-cluster-perl", "9.0.7"}, {"libpve-storage-perl", "9.1.0"}, {"lxc-pve", "6.0.5-3"},
		{"proxmox-backup-client", "4.1.0-1"}, {"pve-cluster", "9.0.7"}, {"pve-container", "6.0.18"}, {"pve-firewall", "6.0.4"}, {"pve-ha-manager", "5.0.8"},
		{"pve-qemu-kvm", "10.1.2-4"}, {"qemu-server", "9.1.1"}, {"zfsutils-linux", "2.3.4-pve1"}}
}

func pkgInfo(name, old, version, origin, section, priority, title string) map[string]any {
	if origin == "" {
		origin = "Proxmox"
	}
	if section == "" {
		section = "admin"
	}
	if priority == "" {
		priority = "optional"
	}
	if title == "" {
		title = name
	}
	e := map[string]any{"Package": name, "Title": title, "Description": title, "Origin": origin, "Section": section, "Priority": priority,
		"Arch": "amd64", "Version": version}
	if old != "" {
		e["OldVersion"] = old
	}
	return e
}

// getAptUpdate is the package list of the last `apt update` (pveupdate):
// [] when it never ran or nothing is pending.
func (s *Sim) getAptUpdate(c *reqCtx) (any, error) {
	out := []map[string]any{}
	for _, u := range s.st.diag.nodes[c.Node].updates {
		out = append(out, pkgInfo(u.Package, u.Old, u.New, u.Origin, u.Section, u.Priority, u.Title))
	}
	return out, nil
}

func (s *Sim) getAptVersions(c *reqCtx) (any, error) {
	n := s.st.node(c.Node)
	pending := map[string]scUpdate{}
	for _, u := range s.st.diag.nodes[c.Node].updates {
		pending[u.Package] = u
	}
	rel, _ := s.kernel(n)
	out := []map[string]any{}
	for _, p := range s.pvePackages(n) {
		old, cand := p[1], p[1]
		if u, ok := pending[p[0]]; ok {
			if u.Old != "" {
				old = u.Old
			}
			cand = u.New
		}
		e := pkgInfo(p[0], old, cand, "Proxmox", "", "", "")
		e["CurrentState"] = "Installed"
		switch p[0] {
		case "proxmox-ve":
			e["RunningKernel"] = rel
		case "pve-manager":
			v, _, _ := s.versionInfo()
			e["ManagerVersion"] = v
		}
		out = append(out, e)
	}
	return out, nil
}

const shopURL = "https://www.proxmox.com/en/proxmox-virtual-environment/pricing"

func (s *Sim) getSubscription(c *reqCtx) (any, error) {
	n := s.st.node(c.Node)
	status := s.st.diag.nodes[c.Node].subscription
	if status == "" {
		status = "notfound"
		if n.Level != "" {
			status = "active"
		}
	}
	canSee := c.Can("/nodes/"+c.Node, "Sys.Audit")
	serverID := strings.ToUpper(sha1hex("serverid:" + n.Name)[:32])
	if status == "notfound" {
		e := map[string]any{"status": "notfound", "message": "There is no subscription key", "url": shopURL}
		if canSee {
			e["serverid"], e["sockets"] = serverID, n.Sockets
		}
		return e, nil
	}
	level := n.Level
	if level == "" {
		level = "c"
	}
	names := map[string]string{"c": "Community", "b": "Basic", "s": "Standard", "p": "Premium"}
	t0 := s.st.T0
	e := map[string]any{"status": status, "level": level, "productname": fmt.Sprintf("Proxmox VE %s Subscription %d CPU/year", names[level], n.Sockets),
		"regdate": t0.AddDate(0, -10, 0).Format("2006-01-02 15:04:05"), "nextduedate": t0.AddDate(0, 2, 0).Format("2006-01-02"),
		"checktime": t0.Add(-20 * time.Hour).Unix(), "sockets": n.Sockets, "url": shopURL}
	switch status {
	case "expired":
		e["nextduedate"] = t0.AddDate(0, 0, -12).Format("2006-01-02")
		e["message"] = "subscription has expired"
	case "invalid":
		e["message"] = "Invalid Server ID"
	}
	if canSee {
		e["serverid"] = serverID
		e["key"] = fmt.Sprintf("pve%d%s-%s", n.Sockets, level, sha1hex("key:" + n.Name)[:10])
	}
	return e, nil
}

// oneline is OpenSSL's X509_NAME_oneline form, as PVE::Certificate prints it.
func oneline(n pkix.Name) string {
	var b strings.Builder
	if n.CommonName != "" {
		b.WriteString("/CN=" + n.CommonName)
	}
	for _, ou := range n.OrganizationalUnit {
		b.WriteString("/OU=" + ou)
	}
	for _, o := range n.Organization {
		b.WriteString("/O=" + o)
	}
	return b.String()
}

func certInfo(filename string, c *x509.Certificate) map[string]any {
	san := []string{}
	for _, ip := range c.IPAddresses {
		if ip.To4() == nil {
			// OpenSSL prints IPv6 SANs in full form
			h := make([]string, 8)
			for i := 0; i < 8; i++ {
				h[i] = fmt.Sprintf("%04x", int(ip[2*i])<<8|int(ip[2*i+1]))
			}
			san = append(san, strings.Join(h, ":"))
			continue
		}
		san = append(san, ip.String())
	}
	san = append(san, c.DNSNames...)
	bits := 0
	if k, ok := c.PublicKey.(interface{ Size() int }); ok {
		bits = k.Size() * 8
	}
	return map[string]any{"filename": filename, "fingerprint": fingerprint(c.Raw), "subject": oneline(c.Subject), "issuer": oneline(c.Issuer),
		"notbefore": c.NotBefore.Unix(), "notafter": c.NotAfter.Unix(), "san": san, "public-key-type": "rsaEncryption", "public-key-bits": bits,
		"pem": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))}
}

// getCertInfo reads the node's certificate files: the cluster CA and the
// node certificate pveproxy serves (both the simulator's real ones).
func (s *Sim) getCertInfo(c *reqCtx) (any, error) {
	n := s.st.node(c.Node)
	leaf, err := s.certs.leaf(n.Name, n.IP, false)
	if err != nil {
		return nil, err500("%v", err)
	}
	return []map[string]any{certInfo("pve-root-ca.pem", s.certs.ca), certInfo("pve-ssl.pem", leaf.Leaf)}, nil
}

func (s *Sim) getTime(c *reqCtx) (any, error) {
	tz := s.st.diag.nodes[c.Node].timezone
	now := s.now()
	off := 0
	if loc, err := time.LoadLocation(tz); err == nil {
		_, off = now.In(loc).Zone()
	}
	return map[string]any{"time": now.Unix(), "localtime": now.Unix() + int64(off), "timezone": tz}, nil
}

func (s *Sim) getDNS(c *reqCtx) (any, error) {
	d := s.st.diag.nodes[c.Node].dns
	e := map[string]any{}
	if d.Search != "" {
		e["search"] = d.Search
	}
	for i, ip := range d.Servers {
		if i < 3 && net.ParseIP(ip) != nil {
			e[fmt.Sprintf("dns%d", i+1)] = ip
		}
	}
	return e, nil
}
