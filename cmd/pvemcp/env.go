package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/config"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// runtime is a prepared tool environment plus what must be released at exit.
type runtime struct {
	env     *toolkit.Env
	cfg     *config.Config
	clients *config.Clients // every configured cluster (nil in demo mode)
	cleanup func()
}

// newRuntime builds the tool environment. With demo, the embedded simulator
// starts on first use (so initialize and tools/list answer at once);
// otherwise the environment configures the cluster, and needCluster makes a
// missing configuration an error that says exactly what to set.
func newRuntime(opts config.Options, demo, needCluster bool, log zerolog.Logger) (*runtime, error) {
	// The demo needs no secret: do not touch the keyring for it.
	load := config.LoadAll
	if demo {
		load = config.Read
	}
	cfg, err := load(opts)
	if err != nil {
		return nil, err
	}
	env := &toolkit.Env{
		Thresholds: toolkit.Thresholds{RAMPct: cfg.Thresholds.RAMPct, StoragePct: cfg.Thresholds.StoragePct, CPUPct: cfg.Thresholds.CPUPct},
		Log:        log,
	}
	rt := &runtime{env: env, cfg: cfg, cleanup: func() {}}
	switch {
	case demo:
		d := &demoCluster{log: log}
		env.Connect = d.client
		rt.cleanup = d.close
	case cfg.Cluster != nil:
		clients := config.NewClients(cfg)
		c, err := clients.Get("")
		if err != nil {
			return nil, fmt.Errorf("proxmox configuration: %w", err)
		}
		if c.InsecureTLS() {
			log.Warn().Str("cluster", cfg.Cluster.Name).Msg(proxmox.InsecureWarning)
		}
		env.Client = c
		rt.clients = clients
		if names := clients.Names(); len(names) > 1 {
			// Several clusters: every tool takes an optional "cluster"
			// argument (default first).
			env.ClusterNames = defaultFirst(names, clients.Default())
			env.Cluster = clients.Get
		}
		rt.cleanup = clients.CloseIdleConnections
	case needCluster:
		return nil, config.ErrNotConfigured
	default:
		env.ClientErr = config.ErrNotConfigured
	}
	return rt, nil
}

// demoCluster starts the embedded simulator (demo scenario, loopback, the
// operator token, fingerprint pin) once, on first use.
type demoCluster struct {
	log    zerolog.Logger
	once   sync.Once
	sim    *pvesim.Sim
	c      *proxmox.Client
	err    error
	cancel context.CancelFunc
}

func (d *demoCluster) client(context.Context) (*proxmox.Client, error) {
	d.once.Do(func() {
		start := time.Now()
		// The simulator lives as long as the process, not the first request.
		ctx, cancel := context.WithCancel(context.Background())
		d.cancel = cancel
		sim, err := pvesim.Start(ctx, pvesim.Options{Scenario: "demo", Listen: "127.0.0.1:0", Logger: d.log})
		if err != nil {
			d.err = fmt.Errorf("starting the demo simulator: %w", err)
			return
		}
		d.sim = sim
		d.c, d.err = proxmox.New(proxmox.Options{
			Name:        sim.ClusterName(),
			Endpoints:   []string{sim.URL()},
			Token:       sim.Token("operator"),
			Fingerprint: sim.Fingerprint(),
			// The CA as well: another node's certificate (failover) is accepted.
			CAPEM: sim.CACertPEM(),
		})
		d.log.Info().Str("url", sim.URL()).Dur("startup", time.Since(start)).Msg("demo simulator started (scenario demo)")
	})
	return d.c, d.err
}

func (d *demoCluster) close() {
	// Waits for a start in progress, and prevents one afterwards.
	d.once.Do(func() { d.err = errors.New("the demo simulator was shut down") })
	if d.cancel != nil {
		d.cancel()
	}
	if d.sim != nil {
		_ = d.sim.Close()
	}
}

func defaultFirst(names []string, def string) []string {
	out := []string{def}
	for _, n := range names {
		if n != def {
			out = append(out, n)
		}
	}
	return out
}
