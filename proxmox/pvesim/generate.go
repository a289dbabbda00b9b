package pvesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

func haveGroup(l []scHAGroup, name string) bool {
	for _, g := range l {
		if g.Name == name {
			return true
		}
	}
	return false
}

// generateScenario builds a synthetic cluster from "nodes=64,guests=10000[,seed=N]":
// nodes with local-zfs and local, a shared NFS storage, guests spread
// round-robin (one in five a container, one in ten stopped), a pool per
// 1,000 guests, one in twenty HA-managed, one backup job covering every
// guest, and the demo's tokens; ceph=1 adds a Ceph cluster (generateCeph).
func generateScenario(spec string) (*scenario, error) {
	nodes, guests, seed, ceph := 3, 20, int64(1), false
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("pvesim: generate: bad item %q (want key=value)", kv)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("pvesim: generate: bad number in %q", kv)
		}
		switch k {
		case "nodes":
			nodes = int(n)
		case "guests":
			guests = int(n)
		case "seed":
			seed = n
		case "ceph":
			ceph = n != 0
		default:
			return nil, fmt.Errorf("pvesim: generate: unknown key %q (nodes, guests, seed, ceph)", k)
		}
	}
	if nodes < 1 || nodes > 1000 || guests > 200000 {
		return nil, fmt.Errorf("pvesim: generate: nodes must be 1..1000 and guests at most 200000")
	}
	sc := &scenario{file: "generated", Seed: seed}
	sc.Cluster = scCluster{Name: fmt.Sprintf("sim-cluster-%d", nodes), ConfigVersion: nodes + 1}
	for i := 0; i < nodes; i++ {
		sc.Nodes = append(sc.Nodes, scNode{
			Name: fmt.Sprintf("pve%02d", i+1), ID: i + 1, IP: fmt.Sprintf("10.20.%d.%d", (i+1)/250, (i+1)%250+1),
			CPU:    scCPU{Model: "AMD EPYC 7543P 32-Core Processor", Sockets: 1, Cores: 32, Threads: 2, MHz: "2800.000"},
			Memory: size(512 << 30), HostMem: size(6 << 30), ARC: size(16 << 30), Swap: size(8 << 30),
			RootFS: scUsage{Size: size(100 << 30), Used: size(10 << 30)}, Uptime: duration(60 * 24 * time.Hour),
			Disks: []scDisk{
				{Dev: "/dev/nvme0n1", Type: "nvme", Size: size(7681501126656), Model: "SAMSUNG MZQL27T6HBLA-00A07", Serial: fmt.Sprintf("S6CKNG0W%06d", i*2), Wearout: wearout{true, 95}, Used: "ZFS"},
				{Dev: "/dev/nvme1n1", Type: "nvme", Size: size(7681501126656), Model: "SAMSUNG MZQL27T6HBLA-00A07", Serial: fmt.Sprintf("S6CKNG0W%06d", i*2+1), Wearout: wearout{true, 94}, Used: "ZFS"},
			},
			ZFS: []scZPool{{Name: "rpool", Size: size(7 << 40), ExtraAlloc: size(12 << 30), Frag: 5 + i%20, Health: "ONLINE",
				Vdevs: []scVdev{{Name: "mirror-0", Children: []scVdev{{Name: "/dev/nvme0n1p3"}, {Name: "/dev/nvme1n1p3"}}}}}},
		})
	}
	sc.Storages = []scStorage{
		{ID: "local", Type: "dir", Path: "/var/lib/vz", Content: []string{"iso", "vztmpl", "backup"}, Size: size(100 << 30), Used: size(10 << 30)},
		{ID: "local-zfs", Type: "zfspool", Pool: "rpool/data", Content: []string{"images", "rootdir"}},
		{ID: "nfs-backup", Type: "nfs", Server: "10.20.255.10", Export: "/export/backup", Path: "/mnt/pve/nfs-backup", Content: []string{"backup"}, Size: size(200 << 40), Used: size(80 << 40)},
	}
	sc.Guests = make([]scGuest, 0, guests)
	for i := 0; i < guests; i++ {
		vmid := 100 + i
		g := scGuest{VMID: vmid, Node: sc.Nodes[i%nodes].Name, Uptime: duration(time.Duration(1+i%40) * 24 * time.Hour)}
		h := unit(hash64(seed, "gen", int64(vmid)))
		g.Cores = []int{1, 2, 2, 4, 4, 8}[i%6]
		g.Memory = size(int64([]int{1, 2, 4, 4, 8, 16}[(i/6)%6]) << 30)
		g.Usage = scGuestUsage{CPU: 0.05 + 0.4*h, Mem: 0.3 + 0.5*h, Disk: 0.2 + 0.5*h}
		if i%5 == 4 {
			g.Type, g.Name = "lxc", fmt.Sprintf("ct-%05d", vmid)
			g.Disks = map[string]string{"rootfs": fmt.Sprintf("local-zfs:%d", 8+i%4*8)}
			g.Net = []string{"name=eth0,bridge=vmbr0,ip=dhcp"}
		} else {
			g.Type, g.Name = "qemu", fmt.Sprintf("vm-%05d", vmid)
			g.Disks = map[string]string{"scsi0": fmt.Sprintf("local-zfs:%d", 32+i%8*16)}
			g.Net = []string{"virtio,bridge=vmbr0"}
		}
		if i%10 == 9 {
			g.Status = "stopped"
		}
		if i%1000 == 0 {
			sc.Pools = append(sc.Pools, scPool{ID: fmt.Sprintf("pool%02d", i/1000+1)})
		}
		g.Pool = fmt.Sprintf("pool%02d", i/1000+1)
		if i%20 == 0 && g.Status == "" {
			// one HA group per node, preferring it, with the next node as fallback
			ni := i % nodes
			grp := "ha-" + sc.Nodes[ni].Name
			if len(sc.HA.Groups) < nodes && !haveGroup(sc.HA.Groups, grp) {
				sc.HA.Groups = append(sc.HA.Groups, scHAGroup{Name: grp, Nodes: fmt.Sprintf("%s:2,%s:1", sc.Nodes[ni].Name, sc.Nodes[(ni+1)%nodes].Name)})
			}
			typ := "vm"
			if g.Type == "lxc" {
				typ = "ct"
			}
			sc.HA.Resources = append(sc.HA.Resources, scHAResource{SID: fmt.Sprintf("%s:%d", typ, vmid), Group: grp, State: "started"})
			if nodes > 1 {
				// Its local ZFS disks are replicated to the fallback node, so HA can recover it there.
				sc.Replication = append(sc.Replication, scReplication{Guest: vmid, Target: sc.Nodes[(ni+1)%nodes].Name, LastSyncAgo: duration(time.Duration(1+vmid%14) * time.Minute), Duration: 2.5})
			}
		}
		sc.Guests = append(sc.Guests, g)
	}
	if nodes > 0 {
		sc.HA.Master = sc.Nodes[0].Name
	}
	sc.Backup = scBackup{Jobs: []scBackupJob{{ID: "backup-all", Schedule: "02:00", Storage: "nfs-backup", Mode: "snapshot", All: true, Compress: "zstd"}}}
	demo, err := parseScenario("demo.yaml", demoYAML)
	if err != nil {
		return nil, err
	}
	sc.Access = demo.Access
	if ceph {
		sc.Ceph = generateCeph(sc.Nodes, seed)
	}
	return sc, nil
}
