package tools

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// TestCallLimitQueuesThenSaysBusy: beyond the limit a call waits for a slot
// (bounded), then fails with a clear busy error; nothing runs twice.
func TestCallLimitQueuesThenSaysBusy(t *testing.T) {
	t.Parallel()
	sim := simtest.Demo(t)
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{sim.URL()}, Token: sim.Token("auditor"), CAPEM: sim.CACertPEM()})
	if err != nil {
		t.Fatal(err)
	}
	sim.SetFault("*", pvesim.Fault{Latency: 400 * time.Millisecond})
	srv := toolkit.NewServer(&toolkit.Env{Client: c, Limit: toolkit.NewCallLimit(2, 100*time.Millisecond)}, toolkit.All())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var busy, ok int
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := srv.Call(context.Background(), "list_guests", []byte(`{}`))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case !res.IsError:
				ok++
			case strings.Contains(res.Text, "server busy") && strings.Contains(res.Text, "retry"):
				busy++
			default:
				t.Errorf("unexpected: %s", res.Text)
			}
		}()
	}
	wg.Wait()
	if ok != 2 || busy != 3 {
		t.Fatalf("%d answered, %d busy; want 2 and 3", ok, busy)
	}
	// With a wait longer than a call, the queued calls are served.
	srv = toolkit.NewServer(&toolkit.Env{Client: c, Limit: toolkit.NewCallLimit(1, 5*time.Second)}, toolkit.All())
	var errs int
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res, err := srv.Call(context.Background(), "list_guests", []byte(`{}`)); err != nil || res.IsError {
				mu.Lock()
				errs++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if errs != 0 {
		t.Fatalf("%d queued calls failed", errs)
	}
}
