package pvesim

import (
	"context"
	"strings"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

func gpClient(t *testing.T, s *Sim, token string) *proxmox.Client {
	tok := s.Token(token)
	i := strings.LastIndexByte(tok, '=')
	return proxmox.NewClient(s.URL()+"/api2/json", proxmox.WithAPIToken(tok[:i], tok[i+1:]), proxmox.WithHTTPClient(insecureClient()))
}

// TestGoProxmoxDecodes: go-proxmox (v0.8.2) decodes every read endpoint it
// covers from the simulator, except where NOTES §3 says it decodes real
// Proxmox wrongly: there the failure is asserted, so the simulator stays
// faithful instead of matching the client.
func TestGoProxmoxDecodes(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, Options{})
	c := gpClient(t, s, "admin")
	ok := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	v, err := c.Version(ctx)
	ok("Version", err)
	if v != nil && v.Release != "9.1" {
		t.Errorf("version %+v", v)
	}
	cl, err := c.Cluster(ctx)
	ok("Cluster/Status", err)
	if cl != nil && (cl.Name != "tli-prod-cluster" || cl.Quorate != 1 || len(cl.Nodes) != 3) {
		t.Errorf("cluster %+v", cl)
	}
	for _, f := range []string{"", "vm", "node", "storage"} {
		rs, err := cl.Resources(ctx, f)
		ok("Resources "+f, err)
		if len(rs) == 0 {
			t.Errorf("no resources for %q", f)
		}
	}
	id, err := cl.NextID(ctx)
	ok("NextID", err)
	if id != 106 {
		t.Errorf("NextID %d", id)
	}
	nb, err := cl.GuestsNotInBackup(ctx)
	ok("GuestsNotInBackup", err)
	if len(nb) != 1 {
		t.Errorf("not backed up %v", nb)
	}
	if _, err := cl.Backups(ctx); err == nil {
		t.Error("Backups decoded, but go-proxmox's PruneBackups string cannot hold PVE's object (NOTES §3)")
	}
	has, err := cl.HAStatus(ctx)
	ok("HAStatus", err)
	if len(has) < 5 {
		t.Errorf("HA status %d entries", len(has))
	}
	hr, err := cl.HAResources(ctx, "")
	ok("HAResources", err)
	if len(hr) != 4 {
		t.Errorf("HA resources %d", len(hr))
	}
	_, err = cl.HAResource(ctx, "vm:100")
	ok("HAResource", err)
	rules, err := cl.HARules(ctx, "", "")
	ok("HARules", err)
	if len(rules) != 2 {
		t.Errorf("HA rules %d", len(rules))
	}
	_, err = cl.HARule(ctx, "ha-group-ha-group1")
	ok("HARule", err)
	if _, err := cl.HAGroups(ctx); err == nil || !strings.Contains(err.Error(), "ha groups have been migrated to rules") {
		t.Errorf("PVE 9 HAGroups: %v", err)
	}
	_, err = cl.Tasks(ctx)
	ok("Cluster.Tasks", err)
	perms, err := c.Permissions(ctx, &proxmox.PermissionsOptions{Path: "/"})
	ok("Permissions", err)
	if len(perms) == 0 {
		t.Error("no permissions")
	}

	ns, err := c.Nodes(ctx)
	ok("Nodes", err)
	if len(ns) != 3 {
		t.Fatalf("nodes %d", len(ns))
	}
	node, err := c.Node(ctx, "pve-node01")
	ok("Node", err)
	if node == nil {
		t.Fatal("no node")
	}
	_, err = node.RRDData(ctx, proxmox.TimeframeHour, proxmox.AVERAGE)
	ok("Node.RRDData", err)
	vms, err := node.VirtualMachines(ctx)
	ok("VirtualMachines", err)
	if len(vms) != 4 {
		t.Errorf("node01 VMs %d", len(vms))
	}
	vm, err := node.VirtualMachine(ctx, 100)
	ok("VirtualMachine", err)
	if vm != nil {
		if vm.VirtualMachineConfig == nil || vm.VirtualMachineConfig.Cores == nil || *vm.VirtualMachineConfig.Cores != 4 {
			t.Errorf("vm config %+v", vm.VirtualMachineConfig)
		}
		_, err = vm.RRDData(ctx, proxmox.TimeframeDay)
		ok("VM.RRDData", err)
		snaps, err := vm.Snapshots(ctx)
		ok("VM.Snapshots", err)
		if len(snaps) != 2 {
			t.Errorf("snapshots %d", len(snaps))
		}
		ifs, err := vm.AgentGetNetworkIFaces(ctx)
		ok("AgentGetNetworkIFaces", err)
		if len(ifs) != 1 { // go-proxmox drops "lo"
			t.Errorf("agent interfaces %d", len(ifs))
		}
	}
	if _, err := node.VirtualMachine(ctx, 999); err == nil || !strings.Contains(err.Error(), "Configuration file 'nodes/pve-node01/qemu-server/999.conf' does not exist") {
		t.Errorf("missing VM error: %v", err)
	}
	cts, err := node.Containers(ctx)
	ok("Containers", err)
	if len(cts) != 2 {
		t.Errorf("node01 CTs %d", len(cts))
	}
	ct, err := node.Container(ctx, 200)
	ok("Container", err)
	if ct != nil {
		_, err = ct.RRDData(ctx, proxmox.TimeframeHour)
		ok("CT.RRDData", err)
		_, err = ct.Snapshots(ctx)
		ok("CT.Snapshots", err)
	}
	sts, err := node.Storages(ctx)
	ok("Storages", err)
	if len(sts) != 4 {
		t.Errorf("storages %d", len(sts))
	}
	st, err := node.Storage(ctx, "local")
	ok("Storage", err)
	if st != nil {
		content, err := st.GetContent(ctx)
		ok("Storage.GetContent", err)
		if len(content) < 4 {
			t.Errorf("local content %d", len(content))
		}
		_, err = st.RRDData(ctx, proxmox.TimeframeWeek, proxmox.AVERAGE)
		ok("Storage.RRDData", err)
	}
	if _, err := node.Disks(ctx, false, false, ""); err == nil {
		t.Error("Disks decoded, but go-proxmox's Wearout string/RPM int cannot hold PVE's mixed types (NOTES §3)")
	}
	smart, err := node.DiskSMART(ctx, "/dev/sda", false)
	ok("DiskSMART", err)
	if smart != nil && smart.Health != "PASSED" {
		t.Errorf("smart %+v", smart)
	}
	pools, err := node.ZFSPools(ctx)
	ok("ZFSPools", err)
	if len(pools) != 2 {
		t.Errorf("zfs pools %d", len(pools))
	}
	n3, _ := c.Node(ctx, "pve-node03")
	pool, err := n3.ZFSPool(ctx, "rpool")
	ok("ZFSPool", err)
	if pool != nil && pool.State != "DEGRADED" {
		t.Errorf("rpool %+v", pool)
	}
	tasks, err := node.Tasks(ctx, nil)
	ok("Node.Tasks", err)
	if len(tasks) == 0 {
		t.Error("no tasks")
	}

	// PVE 8: HA groups
	s8 := startSim(t, Options{PVEVersion: 8})
	c8 := gpClient(t, s8, "admin")
	cl8, err := c8.Cluster(ctx)
	ok("pve8 Cluster", err)
	groups, err := cl8.HAGroups(ctx)
	ok("pve8 HAGroups", err)
	if len(groups) != 2 {
		t.Errorf("pve8 groups %d", len(groups))
	}
}
