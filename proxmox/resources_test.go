package proxmox

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// slowResources is what encoding/json makes of a /cluster/resources body:
// the reference decodeResources must agree with.
func slowResources(body []byte) ([]Resource, error) {
	var env struct {
		Data []Resource `json:"data"`
	}
	err := json.Unmarshal(body, &env)
	return env.Data, err
}

// checkSameAsSlow fails when decodeResources accepts a body and decodes it
// other than encoding/json does.
func checkSameAsSlow(t *testing.T, body []byte) bool {
	t.Helper()
	fast, ok := decodeResources(body)
	if !ok {
		return false
	}
	slow, err := slowResources(body)
	if err != nil {
		t.Fatalf("fast decoder accepted what encoding/json rejects (%v): %s", err, body)
	}
	if len(fast) == 0 && len(slow) == 0 {
		return true
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fast decoder differs from encoding/json for %s:\nfast %+v\nslow %+v", body, fast, slow)
	}
	return true
}

func TestDecodeResourcesAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		body string
		fast bool // the fast decoder takes it (else encoding/json does)
	}{
		{`{"data":[]}`, true},
		{` { "data" : [ { "id" : "qemu/100" , "vmid" : 100 } ] , "total" : 1 } `, true},
		{`{"total":{"a":[1,2,{"b":null}]},"data":[{"id":"qemu/100","x":[{"y":"\"z"}],"vmid":100}]}`, true},
		{`{"data":[{"id":"qemu/100","type":"qemu","vmid":100,"node":"pve1","name":"web","status":"running","template":0,"maxcpu":4,"cpu":0.5,"maxmem":8589934592,"mem":4294967296,"tags":"a;b","cgroup-mode":2}]}`, true},
		// Proxmox's other value forms go through the types' own decoding.
		{`{"data":[{"vmid":"100","cpu":"0.25","maxcpu":"4","mem":"1073741824","template":"0","shared":true,"disk":null,"uptime":""}]}`, true},
		{`{"data":[{"vmid":100.0,"mem":1.5e9,"cpu":1e-2,"template":2,"shared":0,"maxdisk":-0}]}`, true},
		{`{"data":[{"vmid":99999999999999999999,"mem":-12}]}`, true},
		{`{"data":[{"name":"caf\u00e9 \"x\"\\\/\n","tags":"ünï;cödé","node":null}]}`, true},
		{`{"data":[{"name":"é"},{"name":"\ud83d\ude00"}]}`, true},
		{`{"data":[{"name":"a","name":"b"}]}`, true},
		{"{\"data\":[{\"name\":\"\t\"}]}", false},   // control character: invalid JSON
		{"{\"data\":[{\"name\":\"\xff\"}]}", false}, // invalid UTF-8: encoding/json substitutes
		{`{"data":[{"Name":"x"}]}`, false},          // case-insensitive key match
		{`{"data":[{"VMID":1}]}`, false},            // idem
		{`{"Data":[{"vmid":1}]}`, false},            // idem
		{`{"data":[null]}`, false},                  // null entry
		{`{"data":null}`, false},                    // no list
		{`{"data":[{"name":5}]}`, false},            // wrong type
		{`{"data":[{"vmid":{}}]}`, false},           // wrong type
		{`{"data":[{"vmid":01}]}`, false},           // invalid number
		{`{"data":[{"vmid":1.}]}`, false},           // invalid number
		{`{"data":[{"vmid":1}],}`, false},           // trailing comma
		{`{"data":[{"vmid":1}]} x`, false},          // trailing garbage
		{`{"data":[{"vmid":1}]`, false},             // truncated (malformed fault)
		{`{"data":[{"vmid":1},]}`, false},           // trailing comma
		{`{"data":[{"vmid":tru}]}`, false},          // bad literal
		{`{"data":[],"data":[]}`, false},            // duplicate data
		{`{"da\u0074a":[{"vmid":1}]}`, false},       // escaped key
		{`<html>`, false},
	} {
		if got := checkSameAsSlow(t, []byte(tc.body)); got != tc.fast {
			t.Errorf("%s: fast path taken %v, want %v", tc.body, got, tc.fast)
		}
	}
}

// The simulator's real answers (PVE 9 and 8, all types) decode as with
// encoding/json, through the fast path.
func TestDecodeResourcesSimulatorAnswers(t *testing.T) {
	for _, opts := range []pvesim.Options{
		{PVEVersion: 9},
		{PVEVersion: 8},
		{Generate: "nodes=4,guests=200"},
	} {
		opts.Listen = "127.0.0.1:0"
		sim, err := pvesim.Start(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sim.Close() })
		c, err := New(Options{Endpoints: []string{sim.URL()}, Token: sim.Token("operator"), Fingerprint: sim.Fingerprint()})
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range []string{"", ResourceVM, ResourceNode, ResourceStorage, ResourceSDN} {
			q := url.Values{}
			if typ != "" {
				q.Set("type", typ)
			}
			_, a, err := c.read(context.Background(), "/cluster/resources", q)
			if err != nil {
				t.Fatal(err)
			}
			if !checkSameAsSlow(t, a.body) {
				t.Errorf("%+v type %q: the fast decoder refused the simulator's answer", opts, typ)
			}
		}
	}
}

// Seeds run as a test; `go test -fuzz FuzzDecodeResources ./proxmox/`
// explores further.
func FuzzDecodeResources(f *testing.F) {
	for _, s := range []string{
		`{"data":[{"id":"qemu/100","type":"qemu","vmid":100,"cpu":0.5,"tags":"a;b","template":0}]}`,
		`{"data":[{"vmid":"100","cpu":"0.25","shared":true,"disk":null}],"total":1}`,
		`{"data":[{"name":"caf\u00e9","x":{"y":[1,"2",null]}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkSameAsSlow(t, body) })
}
