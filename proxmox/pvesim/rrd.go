package pvesim

import (
	"math"
	"time"
)

// rrdFrame is the step and point count of one RRD timeframe (NOTES §2.9).
func (s *Sim) rrdFrame(tf string) (step int64, points int) {
	if s.ver >= 9 {
		switch tf {
		case "hour":
			return 60, 60
		case "day":
			return 60, 1440
		case "week":
			return 1800, 336
		case "month":
			return 1800, 1440
		case "year":
			return 21600, 1440
		case "decade":
			return 604800, 570
		}
	}
	switch tf {
	case "hour":
		return 60, 60
	case "day":
		return 1800, 70
	case "week":
		return 10800, 70
	case "month":
		return 43200, 70
	case "year", "decade":
		return 604800, 70
	}
	return 60, 60
}

// rrdTimes lists the bucket times, aligned to the step, oldest first; the
// current (incomplete) bucket is left out as PVE drops it.
func (s *Sim) rrdTimes(tf string) ([]time.Time, int64) {
	step, n := s.rrdFrame(tf)
	end := s.now().Unix() / step * step
	out := make([]time.Time, n)
	for i := 0; i < n; i++ {
		out[i] = time.Unix(end-int64(n-i)*step, 0)
	}
	return out, step
}

// sampleMax evaluates f over a bucket: the average is f at the bucket's
// middle; MAX takes the largest of a few samples.
func sampleMax(t time.Time, step int64, cf string, f func(time.Time) float64) float64 {
	mid := t.Add(time.Duration(step/2) * time.Second)
	if cf != "MAX" {
		return f(mid)
	}
	m := math.Inf(-1)
	for i := int64(0); i < 4; i++ {
		m = math.Max(m, f(t.Add(time.Duration(step*i/4)*time.Second)))
	}
	return m
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func (s *Sim) nodeRRD(n *Node, tf, cf string) []map[string]any {
	times, step := s.rrdTimes(tf)
	guests := s.st.guestsOn(n.Name)
	out := make([]map[string]any, 0, len(times))
	for _, t := range times {
		e := map[string]any{"time": t.Unix()}
		if s.nodeOffline(n.Name) && t.Unix() > s.now().Unix()-2*step {
			out = append(out, e)
			continue
		}
		var u nodeUsage
		get := func(tt time.Time) float64 { u = s.nodeUsageAt(n, tt, guests); return u.CPU }
		cpu := sampleMax(t, step, cf, get)
		e["cpu"] = cpu
		e["maxcpu"] = n.CPUs
		e["iowait"] = u.IOWait
		e["loadavg"] = round3(u.Load)
		e["memtotal"] = n.MemTotal
		e["memused"] = u.MemUsed
		e["swaptotal"] = n.SwapTotal
		e["swapused"] = n.SwapUsed
		e["roottotal"] = n.RootTotal
		e["rootused"] = n.RootUsed
		e["netin"] = u.NetIn
		e["netout"] = u.NetOut
		if s.ver >= 9 {
			e["memavailable"] = n.MemTotal - u.MemUsed + n.ARC
			e["arcsize"] = n.ARC
			e["pressurecpusome"] = round3(math.Max(0, (u.CPU-0.5)*20))
			e["pressureiosome"] = round3(u.IOWait * 10)
			e["pressureiofull"] = round3(u.IOWait * 8)
			mp := math.Max(0, (float64(u.MemUsed)/float64(n.MemTotal)-0.85)*10)
			e["pressurememorysome"] = round3(mp)
			e["pressurememoryfull"] = round3(mp * 0.8)
		}
		out = append(out, e)
	}
	return out
}

func (s *Sim) guestRRD(g *Guest, tf, cf string) []map[string]any {
	times, step := s.rrdTimes(tf)
	out := make([]map[string]any, 0, len(times))
	maxdisk := g.BootDiskSize()
	for _, t := range times {
		if t.Before(g.Created) {
			out = append(out, map[string]any{"time": t.Unix()})
			continue
		}
		e := map[string]any{"time": t.Unix(), "maxcpu": g.Cores(), "maxmem": g.MemBytes(), "maxdisk": maxdisk, "disk": 0}
		mid := t.Add(time.Duration(step/2) * time.Second)
		if s.runningAt(g, mid) {
			var u guestUsage
			cpu := sampleMax(t, step, cf, func(tt time.Time) float64 { u = s.guestUsageAt(g, tt); return u.CPU })
			e["cpu"] = cpu
			e["mem"] = u.Mem
			e["disk"] = u.Disk
			e["netin"] = u.NetIn
			e["netout"] = u.NetOut
			e["diskread"] = u.DiskRead
			e["diskwrite"] = u.DiskWrite
			if s.ver >= 9 {
				e["memhost"] = u.MemHost
				e["pressurecpusome"] = round3(math.Max(0, (u.CPU-0.6)*10))
				e["pressurecpufull"] = round3(math.Max(0, (u.CPU-0.7)*8))
				e["pressureiosome"] = 0.0
				e["pressureiofull"] = 0.0
				mp := math.Max(0, (float64(u.Mem)/float64(g.MemBytes())-0.9)*20)
				e["pressurememorysome"] = round3(mp)
				e["pressurememoryfull"] = round3(mp * 0.5)
			}
		}
		out = append(out, e)
	}
	return out
}

func (s *Sim) storageRRD(si *StorageInst, tf, cf string) []map[string]any {
	times, step := s.rrdTimes(tf)
	out := make([]map[string]any, 0, len(times))
	for _, t := range times {
		mid := t.Add(time.Duration(step/2) * time.Second)
		if mid.Unix() < s.now().Unix()-int64(10*365*86400) {
			out = append(out, map[string]any{"time": t.Unix()})
			continue
		}
		used := sampleMax(t, step, cf, func(tt time.Time) float64 { return float64(s.instUsedAt(si, tt)) })
		out = append(out, map[string]any{"time": t.Unix(), "total": float64(s.instTotal(si, mid)), "used": used})
	}
	return out
}
