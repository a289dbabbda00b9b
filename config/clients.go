package config

import (
	"sync"

	"github.com/pvemcp/pvemcp/proxmox"
)

// Clients holds one proxmox.Client per configured cluster, built on first
// use, so a tool call can be routed by its optional cluster argument.
type Clients struct {
	cfg *Config
	mu  sync.Mutex
	m   map[string]*proxmox.Client
}

// NewClients prepares clients for cfg's clusters (their tokens resolved).
func NewClients(cfg *Config) *Clients {
	return &Clients{cfg: cfg, m: map[string]*proxmox.Client{}}
}

// Get returns the named cluster's client; "" is the default cluster.
func (cs *Clients) Get(name string) (*proxmox.Client, error) {
	cl, err := cs.cfg.ClusterByName(name)
	if err != nil {
		return nil, err
	}
	if cl.resolveErr != nil {
		return nil, cl.resolveErr
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c := cs.m[cl.Name]; c != nil {
		return c, nil
	}
	c, err := proxmox.New(cl.Options())
	if err != nil {
		return nil, err
	}
	cs.m[cl.Name] = c
	return c, nil
}

// Names lists the configured clusters, in configuration order.
func (cs *Clients) Names() []string { return cs.cfg.Names() }

// Default is the default cluster's name ("" when none).
func (cs *Clients) Default() string {
	if cs.cfg.Cluster == nil {
		return ""
	}
	return cs.cfg.Cluster.Name
}

// CloseIdleConnections releases every client's pooled connections.
func (cs *Clients) CloseIdleConnections() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, c := range cs.m {
		c.CloseIdleConnections()
	}
}
