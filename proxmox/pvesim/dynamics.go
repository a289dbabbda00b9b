package pvesim

import (
	"hash/fnv"
	"math"
	"time"
)

// Usage is a deterministic function of (seed, object id, time): a base from
// the scenario, a daily cycle, a linear trend where configured and a small
// hash noise. Current values and RRD history come from the same functions,
// so history and "now" agree and configured trends are exact.

func hash64(seed int64, key string, n int64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	x := h.Sum64() ^ uint64(seed)*0x9E3779B97F4A7C15 ^ uint64(n)*0xBF58476D1CE4E5B9
	// splitmix64 finaliser
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}

// unit maps a hash to [0,1).
func unit(h uint64) float64 { return float64(h>>11) / float64(1<<53) }

// noise is a deterministic value in [-1,1) for a key and time bucket.
func noise(seed int64, key string, bucket int64) float64 {
	return 2*unit(hash64(seed, key, bucket)) - 1
}

// daily is a cycle in [-1,1] peaking mid-afternoon, lowest at night.
func daily(t time.Time, phase float64) float64 {
	h := float64(t.Unix()%86400) / 3600
	return math.Sin(2*math.Pi*(h-8)/24 + phase)
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

type guestUsage struct {
	CPU                                float64 // fraction of its vCPUs
	Mem                                int64   // guest view
	MemHost                            int64   // host view (qemu: cgroup)
	Disk                               int64   // containers: used root fs bytes
	NetIn, NetOut, DiskRead, DiskWrite float64 // bytes/s
}

// guestUsageAt is a guest's usage at t, zero when it was not running.
func (s *Sim) guestUsageAt(g *Guest, t time.Time) guestUsage {
	if !s.runningAt(g, t) {
		return guestUsage{}
	}
	key := "guest/" + itoa(g.VMID)
	p := g.Prof
	phase := unit(hash64(s.seed, key, -1)) * 0.8
	cyc := daily(t, phase)
	minute := t.Unix() / 60
	var u guestUsage
	u.CPU = clamp(p.CPU*(1+0.15*cyc+0.1*noise(s.seed, key+"/cpu", minute)), 0.0005, 1)
	u.Mem, u.MemHost = guestMem(s.seed, g, key, cyc, minute, g.MemBytes())
	if g.Type == "lxc" {
		u.Disk = int64(clamp(p.Disk, 0.01, 0.98) * float64(g.BootDiskSize()))
	}
	f := 1 + 0.5*cyc
	u.NetIn = p.NetIn * f * (1 + 0.3*noise(s.seed, key+"/ni", minute))
	u.NetOut = p.NetOut * f * (1 + 0.3*noise(s.seed, key+"/no", minute))
	u.DiskRead = p.DiskRead * f * (1 + 0.4*noise(s.seed, key+"/dr", minute))
	u.DiskWrite = p.DiskWrite * f * (1 + 0.4*noise(s.seed, key+"/dw", minute))
	return u
}

// guestMem is a running guest's memory at a time given by its daily cycle
// and minute: the guest's view and the host's.
func guestMem(seed int64, g *Guest, key string, cyc float64, minute, maxmem int64) (mem, memHost int64) {
	memFrac := clamp(g.Prof.Mem*(1+0.02*cyc+0.01*noise(seed, key+"/mem", minute/5)), 0.01, 1)
	mem = int64(memFrac * float64(maxmem))
	memHost = mem
	if g.Type == "qemu" {
		// QEMU's own overhead on the host side.
		memHost = mem + 96<<20
		if memHost > maxmem+256<<20 {
			memHost = maxmem + 256<<20
		}
	}
	return mem, memHost
}

// guestMemAt is guestUsageAt's Mem and MemHost alone.
func (s *Sim) guestMemAt(g *Guest, t time.Time, maxmem int64) (mem, memHost int64) {
	if !s.runningAt(g, t) {
		return 0, 0
	}
	key := "guest/" + itoa(g.VMID)
	return guestMem(s.seed, g, key, daily(t, unit(hash64(s.seed, key, -1))*0.8), t.Unix()/60, maxmem)
}

func (s *Sim) runningAt(g *Guest, t time.Time) bool {
	_, ok := s.runStart(g, t)
	return ok
}

// runStart is the start of the run the guest was in at t: the current run
// (while its node is online) or one of its past runs.
func (s *Sim) runStart(g *Guest, t time.Time) (time.Time, bool) {
	if g.IsRunning() && !t.Before(g.StartedAt) && !s.nodeOffline(g.Node) {
		return g.StartedAt, true
	}
	for i := len(g.PastRuns) - 1; i >= 0; i-- {
		r := g.PastRuns[i]
		if !t.Before(r.From) && t.Before(r.To) {
			return r.From, true
		}
	}
	return time.Time{}, false
}

// guestCounters are the cumulative counters since the guest started.
func (s *Sim) guestCounters(g *Guest, t time.Time) (netin, netout, dread, dwrite int64) {
	start, ok := s.runStart(g, t)
	if !ok {
		return
	}
	up := t.Sub(start).Seconds()
	p := g.Prof
	return int64(p.NetIn * up), int64(p.NetOut * up), int64(p.DiskRead * up), int64(p.DiskWrite * up)
}

type nodeUsage struct {
	CPU, IOWait   float64
	Load          float64
	MemUsed       int64
	NetIn, NetOut float64
	GuestCPU      float64 // vCPU-seconds/s of guests, for pressure
}

// nodeUsageAt derives a node's usage from its host baseline plus its
// running guests at t, so node figures always add up.
func (s *Sim) nodeUsageAt(n *Node, t time.Time, guests []*Guest) nodeUsage {
	key := "node/" + n.Name
	minute := t.Unix() / 60
	var u nodeUsage
	u.MemUsed = n.HostMem + n.ARC
	cpus := 0.0
	for _, g := range guests {
		gu := s.guestUsageAt(g, t)
		if gu.MemHost == 0 {
			continue
		}
		u.MemUsed += gu.MemHost
		cpus += gu.CPU * float64(g.Cores())
		u.NetIn += gu.NetIn
		u.NetOut += gu.NetOut
	}
	u.MemUsed += int64(float64(64<<20) * noise(s.seed, key+"/mem", minute/5))
	if u.MemUsed > n.MemTotal {
		u.MemUsed = n.MemTotal - 64<<20
	}
	u.GuestCPU = cpus
	u.CPU = clamp(n.CPUBase*(1+0.2*noise(s.seed, key+"/cpu", minute))+cpus/float64(max(n.CPUs, 1)), 0.001, 1)
	u.IOWait = clamp(0.002+0.002*noise(s.seed, key+"/io", minute), 0, 1)
	u.Load = u.CPU * float64(n.CPUs) * (1 + 0.1*noise(s.seed, key+"/load", minute))
	u.NetIn += 2000
	u.NetOut += 1500
	return u
}

// instUsedAt is a storage's used bytes at t: its base with the configured
// linear growth plus the volumes that existed at t.
func (s *Sim) instUsedAt(si *StorageInst, t time.Time) int64 {
	days := t.Sub(s.st.T0).Hours() / 24
	base := float64(si.BaseUsed) + si.GrowPerDay*days
	if base < 0 {
		base = 0
	}
	used := int64(base) + s.snapshotSpace(si, t)
	for _, v := range si.Volumes {
		if v.Ctime <= t.Unix() {
			used += v.Used
		}
	}
	if used < 0 {
		used = 0
	}
	if si.Total > 0 && used > si.Total {
		used = si.Total
	}
	return used
}

// instTotal is the storage's total; a zfspool storage's total follows its
// pool (used + pool free), like zfs list shows it.
func (s *Sim) instTotal(si *StorageInst, t time.Time) int64 {
	node := si.Node
	if node == "" {
		node = si.Cfg.PoolNode
	}
	if si.Cfg.Pool != "" && node != "" {
		if n := s.st.node(node); n != nil {
			if zp := zpoolOf(n, si.Cfg.Pool); zp != nil {
				free := zp.Size - s.zpoolAlloc(n, zp, t)
				if free < 0 {
					free = 0
				}
				return s.instUsedAt(si, t) + free
			}
		}
	}
	return si.Total
}

func zpoolOf(n *Node, dataset string) *ZPool {
	name := dataset
	if i := indexByte(name, '/'); i >= 0 {
		name = name[:i]
	}
	for _, zp := range n.ZPools {
		if zp.Name == name {
			return zp
		}
	}
	return nil
}

// zpoolAlloc is the pool's allocation: every storage on it plus the rest.
func (s *Sim) zpoolAlloc(n *Node, zp *ZPool, t time.Time) int64 {
	alloc := zp.ExtraAlloc
	for _, c := range s.st.Storages {
		if c.Type != "zfspool" && c.Type != "dir" {
			continue
		}
		var si *StorageInst
		switch {
		case c.Shared && c.PoolNode == n.Name:
			si = s.st.insts["/"+c.ID]
		case !c.Shared && c.availableOn(n.Name):
			si = s.st.storageOn(n.Name, c.ID)
		}
		if si != nil && zpoolOf(n, c.Pool) == zp {
			alloc += s.instUsedAt(si, t)
		}
	}
	if alloc > zp.Size {
		alloc = zp.Size
	}
	return alloc
}

func indexByte(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return -1
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// storageDown reports whether a storage instance cannot be activated on a
// node: marked inactive, or backed by a ZFS pool that is FAULTED or
// UNAVAIL (its I/O is suspended, so pvestatd reports it inactive and gives
// no usage), as Proxmox shows it.
func (s *Sim) storageDown(si *StorageInst, node string) bool {
	if si.Inactive {
		return true
	}
	if si.Cfg.Pool == "" {
		return false
	}
	host := si.Node
	if host == "" {
		host = si.Cfg.PoolNode
	}
	if host == "" {
		host = node
	}
	n := s.st.node(host)
	if n == nil {
		return false
	}
	zp := zpoolOf(n, si.Cfg.Pool)
	return zp != nil && (zp.Health == "FAULTED" || zp.Health == "UNAVAIL")
}
