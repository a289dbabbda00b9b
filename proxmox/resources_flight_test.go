package proxmox

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"testing"
)

// TestConcurrentResourcesShareOneDecoding: concurrent identical
// /cluster/resources reads share one request and one decoded list; each
// caller records the call and gets its own copy of the list.
func TestConcurrentResourcesShareOneDecoding(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		jsonReply(`{"data":[{"id":"qemu/100","type":"qemu","node":"pve1","vmid":100,"name":"a"},{"id":"qemu/101","type":"qemu","node":"pve1","vmid":101,"name":"b"}]}`)(w, r)
	})
	c := f.client(t)
	const n = 8
	recs := make([]*Recorder, n)
	lists := make([][]Resource, n)
	var wg sync.WaitGroup
	for i := range n {
		recs[i] = NewRecorder()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, err := c.Resources(WithRecorder(context.Background(), recs[i]), ResourceVM)
			if err != nil {
				t.Error(err)
			}
			lists[i] = rs
		}()
	}
	for c.resFlights.waiting("/cluster/resources?type=vm") < n-1 {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if got := f.count(); got != 1 {
		t.Fatalf("server saw %d requests, want 1", got)
	}
	for i, r := range recs {
		if calls := r.Calls(); len(calls) != 1 || calls[0].Path != "/cluster/resources?type=vm" || len(lists[i]) != 2 {
			t.Fatalf("caller %d: %+v, %d resources", i, calls, len(lists[i]))
		}
	}
	lists[0][0].Name = "changed"
	for i := 1; i < n; i++ {
		if lists[i][0].Name != "a" {
			t.Fatalf("caller %d sees caller 0's change", i)
		}
	}
	// Nothing is cached.
	if _, err := c.Resources(context.Background(), ResourceVM); err != nil || f.count() != 2 {
		t.Fatalf("after return: %v, %d requests", err, f.count())
	}
}
