package analyze

import (
	"fmt"
	"math/rand"
	"testing"
)

// nearFullCluster is a random cluster whose local storages sit between 75 %
// and 89.9 % full and whose guests mostly have large local disks, with one
// node hot on RAM so the planner wants to move guests off it: the storage
// threshold (90 %) is what stands in the way of many of those moves.
func nearFullCluster(r *rand.Rand, nNodes, nGuests int) CapacityInput {
	var in CapacityInput
	for i := 0; i < nNodes; i++ {
		total := 1000.0
		in.Nodes = append(in.Nodes, CapNode{Name: fmt.Sprintf("n%d", i), Online: true, CPUCores: 16, CPUThreads: 64,
			CPUFraction: 0.05, MemTotalBytes: gb(256), MemUsedBytes: gb(8),
			Storages: []CapStorage{
				{Storage: "local-zfs", Active: true, TotalBytes: gb(total), UsedBytes: gb(total * (0.75 + 0.149*r.Float64()))},
				{Storage: "ceph", Active: true, Shared: true, TotalBytes: gb(10000), UsedBytes: gb(1000)},
			}})
	}
	hot := r.Intn(nNodes)
	for i := 0; i < nGuests; i++ {
		n := r.Intn(nNodes)
		if r.Intn(2) == 0 {
			n = hot
		}
		alloc := float64(4 + r.Intn(28))
		g := CapGuest{VMID: 100 + i, Name: fmt.Sprintf("g%d", i), Type: []string{"qemu", "lxc"}[r.Intn(2)], Node: in.Nodes[n].Name,
			Running: true, VCPUs: float64(1 + r.Intn(4)), MemMaxBytes: gb(alloc), MemUsedBytes: gb(alloc * (0.5 + 0.5*r.Float64())),
			CPUFraction: 0.1 * r.Float64()}
		if r.Intn(5) != 0 {
			g.Disks = []CapDisk{{Storage: "local-zfs", SizeBytes: gb(float64(20 + r.Intn(130)))}}
		} else {
			g.Disks = []CapDisk{{Storage: "ceph", SizeBytes: gb(32), Shared: true}}
		}
		nd := &in.Nodes[n]
		nd.MemUsedBytes += uint64(guestFootprint(g))
		nd.CPUFraction += g.CPUFraction * g.VCPUs / float64(nd.CPUThreads)
		in.Guests = append(in.Guests, g)
	}
	return in
}

// storageCrossings counts the moves of a report that leave a target's
// local storage above pct, replaying them in order.
func storageCrossings(in CapacityInput, rep CapacityReport, pct float64) int {
	used := map[string]float64{}
	total := map[string]float64{}
	for _, n := range in.Nodes {
		for _, s := range n.Storages {
			if !s.Shared {
				used[n.Name+"/"+s.Storage] = float64(s.UsedBytes)
				total[n.Name+"/"+s.Storage] = float64(s.TotalBytes)
			}
		}
	}
	disks := map[int][]CapDisk{}
	for _, g := range in.Guests {
		disks[g.VMID] = g.Disks
	}
	crossings := 0
	for _, mv := range rep.Moves {
		for _, g := range mv.Guests {
			for _, d := range disks[g.VMID] {
				if d.Shared {
					continue
				}
				used[mv.From+"/"+d.Storage] -= float64(d.SizeBytes)
				k := mv.To + "/" + d.Storage
				used[k] += float64(d.SizeBytes)
				if 100*used[k]/total[k] > pct+1e-6 {
					crossings++
				}
			}
		}
	}
	return crossings
}

// TestCapacityStorageLimitNearFullClusters: on clusters whose storages are
// close to the 90 % threshold, no proposed move takes any target over any
// threshold (the reference model replays every move), and the storage limit
// really is what binds: without it (threshold 100 %), the planner proposes
// moves that cross 90 % in many of the same clusters.
func TestCapacityStorageLimitNearFullClusters(t *testing.T) {
	r := rand.New(rand.NewSource(90))
	binds, plannedMoves := 0, 0
	const clusters = 60
	for iter := 0; iter < clusters; iter++ {
		in := nearFullCluster(r, 3+r.Intn(4), 10+r.Intn(30))
		opt := CapacityOptions{MaxMoves: 1 + r.Intn(6), AllowLocalDiskMoves: true}
		if r.Intn(3) == 0 {
			opt.exactLimit = 1 // the greedy search as well
		}
		rep := PlanCapacity(in, opt)
		verifyPlan(t, in, opt, rep)
		if n := storageCrossings(in, rep, DefaultStoragePct); n != 0 {
			t.Fatalf("iter %d: %d move(s) take a storage over %d%%: %+v", iter, n, DefaultStoragePct, rep.Moves)
		}
		plannedMoves += len(rep.Moves)
		loose := opt
		loose.Thresholds.StoragePct = 100
		if storageCrossings(in, PlanCapacity(in, loose), DefaultStoragePct) > 0 {
			binds++
		}
	}
	t.Logf("%d clusters: %d moves proposed; the storage limit changed the plan in %d", clusters, plannedMoves, binds)
	if binds < clusters/4 {
		t.Fatalf("the storage limit binds in only %d of %d clusters: the test would not notice it missing", binds, clusters)
	}
	if plannedMoves == 0 {
		t.Fatal("no move proposed in any cluster: the plans test nothing")
	}
}
