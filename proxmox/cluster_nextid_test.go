package proxmox

import (
	"context"
	"net/http"
	"testing"
)

func TestNextVMIDAndVMIDFree(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api2/json/cluster/nextid" {
			http.Error(w, "not found", http.StatusNotImplemented)
			return
		}
		switch r.URL.Query().Get("vmid") {
		case "106":
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"data":null,"message":"Parameter verification failed.\n","errors":{"vmid":"VM 106 already exists"}}`))
		case "108":
			http.Error(w, "cluster not ready - no quorum?", http.StatusInternalServerError)
		default:
			jsonReply(`{"data":"106"}`)(w, r)
		}
	})
	c := f.client(t)
	ctx := context.Background()
	if id, err := c.NextVMID(ctx); err != nil || id != 106 {
		t.Fatalf("NextVMID %d %v", id, err)
	}
	if free, err := c.VMIDFree(ctx, 106); err != nil || free {
		t.Fatalf("VMIDFree(106) %v %v, want taken", free, err)
	}
	if free, err := c.VMIDFree(ctx, 107); err != nil || !free {
		t.Fatalf("VMIDFree(107) %v %v, want free", free, err)
	}
	// Any other failure is an error, not an answer about the id.
	if free, err := c.VMIDFree(ctx, 108); err == nil || free {
		t.Fatalf("VMIDFree(108) %v %v, want the server error", free, err)
	}
	n := f.count()
	if _, err := c.VMIDFree(ctx, 99); KindOf(err) != KindInvalid || f.count() != n {
		t.Fatalf("VMIDFree(99): %v, %d requests sent", err, f.count()-n)
	}
}
