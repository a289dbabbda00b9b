// Package simtest starts what pvemcp's tests run against: the Proxmox VE
// simulator, a proxmox client of it, and initialized MCP clients of a
// server. Every helper fails the test on error and stops what it started
// when the test ends.
//
// It imports pvesim and proxmox, so the in-package tests of those two
// (package pvesim, package proxmox) cannot use it: they start the
// simulator themselves.
package simtest

import (
	"context"
	"sync"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// Start starts a simulator with opts (the zero value serves the embedded
// demo scenario on a free loopback port) and closes it when the test ends.
func Start(t testing.TB, opts pvesim.Options) *pvesim.Sim {
	t.Helper()
	sim, err := pvesim.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// Every test gets a demo simulator of its own, shared by everything the
// test builds on it and closed when it ends, so no test sees what another
// did to the cluster (faults, writes, HA recovery) and tests pass in any
// order. Starting one is cheap: the TLS keys are made once per process.
var (
	demoMu  sync.Mutex
	demoFor = map[testing.TB]*pvesim.Sim{}
)

// Demo returns the test's demo simulator: the first call in a test starts
// it, later calls in the same test return the same one. A test that needs
// two independent simulators, or other options, uses Start.
func Demo(t testing.TB) *pvesim.Sim {
	t.Helper()
	demoMu.Lock()
	defer demoMu.Unlock()
	if s := demoFor[t]; s != nil {
		return s
	}
	s, err := pvesim.Start(context.Background(), pvesim.Options{})
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	demoFor[t] = s
	t.Cleanup(func() {
		demoMu.Lock()
		delete(demoFor, t)
		demoMu.Unlock()
		_ = s.Close()
	})
	return s
}

// Proxmox returns a client of sim's cluster, by its name, as the named
// token of the scenario ("auditor", "operator", or a full token id), its
// certificate pinned by fingerprint.
func Proxmox(t testing.TB, sim *pvesim.Sim, token string) *proxmox.Client {
	t.Helper()
	tok := sim.Token(token)
	if tok == "" {
		t.Fatalf("no token %q in the simulator's scenario", token)
	}
	c, err := proxmox.New(proxmox.Options{Name: sim.ClusterName(), Endpoints: []string{sim.URL()}, Token: tok, Fingerprint: sim.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
