package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// Tests across the inventory tools and the call layer they go through (each
// tool's own are in <tool>_test.go).

func TestInventoryToolsOnDemo(t *testing.T) {
	e := newTestEnv(t, "operator")
	cases := []struct{ tool, args string }{
		{"cluster_overview", `{}`},
		{"cluster_overview", `{"node":"pve-node03"}`},
		{"list_guests", `{}`},
		{"list_guests", `{"node":"pve-node01","status":"running","type":"qemu"}`},
		{"list_guests", `{"sort":"mem","desc":true,"limit":3}`},
		{"get_guest", `{"vmid":100}`},
		{"get_guest", `{"vmid":200,"node":"pve-node01","type":"lxc"}`},
		{"get_guest", `{"vmid":203}`},
	}
	for _, tc := range cases {
		t.Run(tc.tool+tc.args, func(t *testing.T) {
			e.sim.ResetRequests()
			res, m := e.call(t, tc.tool, tc.args)
			if res.IsError {
				t.Fatalf("tool error: %s", res.Text)
			}
			assertSourcesServed(t, e, m)
			validateOutput(t, e.srv.Tool(tc.tool), res.Structured)
			if m["cluster"] != "tli-prod-cluster" {
				t.Errorf("cluster = %v", m["cluster"])
			}
			if _, ok := m["fetched_at"].(string); !ok {
				t.Error("fetched_at missing")
			}
			if src, _ := m["sources"].([]any); len(src) == 0 {
				t.Error("no sources")
			}
			for _, k := range []string{"alerts", "errors", "unavailable"} {
				if v, ok := m[k]; ok && len(v.([]any)) == 0 {
					t.Errorf("empty %s not omitted", k)
				}
			}
		})
	}
}

func TestBadArgumentsNeverReachProxmox(t *testing.T) {
	e := newTestEnv(t, "operator")
	cases := []struct{ tool, args, want string }{
		{"get_guest", `{"vmid":"100"}`, `argument "vmid": must be an integer`},
		{"get_guest", `{"vmid":-1}`, `argument "vmid": must be between 100 and 999999999`},
		{"get_guest", `{"vmid":1000000000000}`, `argument "vmid": must be between 100 and 999999999`},
		{"get_guest", `{"vmid":1e12}`, `argument "vmid"`},
		{"get_guest", `{"vmid":100.5}`, `argument "vmid": must be an integer`},
		{"get_guest", `{}`, `argument "vmid": is required`},
		{"get_guest", `{"vmid":100,"node":"../../access"}`, `argument "node": "../../access" is not a valid node name`},
		{"get_guest", `{"vmid":100,"node":"pve-node01/../../access"}`, `argument "node"`},
		{"get_guest", `{"vmid":100,"type":"docker"}`, `argument "type": must be one of qemu, lxc`},
		{"get_guest", `{"vmid":100,"extra":1}`, `argument "extra": unknown argument`},
		{"list_guests", `{"limit":0}`, `argument "limit": must be between 1 and 1000`},
		{"list_guests", `{"node":"%2e%2e"}`, `argument "node"`},
		{"list_guests", `{"status":true}`, `argument "status": must be a string`},
		{"list_guests", `{"cursor":"bogus"}`, `argument "cursor"`},
		{"list_guests", `[1,2]`, `arguments must be a JSON object`},
		{"list_guests", `{"limit":5`, `not valid JSON`},
		{"cluster_overview", `{"node":"a b"}`, `argument "node"`},
	}
	for _, tc := range cases {
		t.Run(tc.tool+tc.args, func(t *testing.T) {
			e.sim.ResetRequests()
			res, _ := e.call(t, tc.tool, tc.args)
			if !res.IsError {
				t.Fatalf("accepted: %s", res.Text)
			}
			if !strings.Contains(res.Text, tc.want) {
				t.Errorf("message %q lacks %q", res.Text, tc.want)
			}
			if n := len(e.sim.Requests()); n != 0 {
				t.Errorf("%d requests reached Proxmox", n)
			}
		})
	}
}

func TestSecretsNeverInResultsOrLogs(t *testing.T) {
	for _, who := range []string{"operator", "auditor"} {
		e := newTestEnv(t, who)
		_, secret, err := proxmox.ParseToken(e.sim.Token(who))
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, c := range []struct{ tool, args string }{
			{"cluster_overview", `{}`}, {"list_guests", `{}`}, {"get_guest", `{"vmid":100}`},
			{"get_guest", `{"vmid":999}`}, {"get_guest", `{"vmid":"x"}`},
		} {
			res, _ := e.call(t, c.tool, c.args)
			texts = append(texts, res.Text, string(res.Structured))
		}
		texts = append(texts, e.logs.String())
		for _, s := range texts {
			if strings.Contains(s, secret) {
				t.Fatalf("%s token secret leaked: %.200s", who, s)
			}
		}
	}
}

func TestRejectedTokenIsPlainError(t *testing.T) {
	e := newTestEnv(t, "operator")
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{e.sim.URL()}, Token: "pvemcp@pve!operator=wrong-secret", Fingerprint: e.sim.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	srv := toolkit.NewServer(&toolkit.Env{Client: c}, toolkit.Select(true, nil))
	res, err := srv.Call(context.Background(), "list_guests", nil)
	if err != nil || !res.IsError {
		t.Fatalf("got %+v %v", res, err)
	}
	if !strings.Contains(res.Text, "Proxmox rejected the API token (pvemcp@pve!operator)") || strings.Contains(res.Text, "wrong-secret") {
		t.Errorf("message %q", res.Text)
	}
}

// Simulator faults end in plain messages that name what failed.
func TestFaultsGivePlainErrors(t *testing.T) {
	e := newTestEnv(t, "operator")
	defer e.sim.ClearFaults()
	cases := []struct {
		fault pvesim.Fault
		want  string
	}{
		{pvesim.Fault{HTMLPage: true}, "not a Proxmox API answer (HTML from a proxy?)"},
		{pvesim.Fault{MalformedJSON: true}, "not a Proxmox API answer (malformed JSON)"},
		{pvesim.Fault{RevokedToken: "pvemcp@pve!operator"}, "Proxmox rejected the API token (pvemcp@pve!operator)"},
		{pvesim.Fault{ErrorRate: 1}, "Proxmox answered 500"},
	}
	for _, tc := range cases {
		e.sim.ClearFaults()
		e.sim.SetFault("pve-node01", tc.fault)
		for _, call := range []struct{ tool, args string }{{"list_guests", `{}`}, {"cluster_overview", `{}`}, {"get_guest", `{"vmid":102}`}} {
			res, _ := e.call(t, call.tool, call.args)
			if !res.IsError || !strings.Contains(res.Text, tc.want) || !strings.Contains(res.Text, "(GET /cluster/") {
				t.Errorf("%+v %s: %q lacks %q", tc.fault, call.tool, res.Text, tc.want)
			}
		}
	}
}

func TestInsecureClusterWarnsInEveryResult(t *testing.T) {
	e := newTestEnv(t, "auditor")
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{e.sim.URL()}, Token: e.sim.Token("auditor"), Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := toolkit.NewServer(&toolkit.Env{Client: c}, toolkit.Select(true, []string{toolkit.ToolsetInventory}))
	res, err := srv.Call(context.Background(), "list_guests", nil)
	if err != nil || res.IsError || !strings.Contains(res.Text, `"metric":"tls"`) {
		t.Fatalf("no TLS warning: %v %.300s", err, res.Text)
	}
}

func TestSeveralClustersRouteByArgument(t *testing.T) {
	e := newTestEnv(t, "auditor")
	clients := map[string]*proxmox.Client{}
	for _, n := range []string{"prod", "lab"} {
		c, err := proxmox.New(proxmox.Options{Name: n, Endpoints: []string{e.sim.URL()}, Token: e.sim.Token("auditor"), Fingerprint: e.sim.Fingerprint()})
		if err != nil {
			t.Fatal(err)
		}
		clients[n] = c
	}
	env := &toolkit.Env{Client: clients["prod"], ClusterNames: []string{"prod", "lab"},
		Cluster: func(n string) (*proxmox.Client, error) { return clients[n], nil }}
	srv := toolkit.NewServer(env, toolkit.Select(true, []string{toolkit.ToolsetInventory}))
	tool := srv.Tool("list_guests")
	if in := string(srv.InputSchema(tool)); !strings.Contains(in, `"cluster":{"type":"string","description":"cluster to ask (default prod)","enum":["prod","lab"]}`) {
		t.Errorf("input schema: %s", in)
	}
	if strings.Contains(string(tool.InputSchema), "cluster") {
		t.Error("the snapshot schema changed")
	}
	for args, want := range map[string]string{`{"cluster":"lab","type":"lxc"}`: `"cluster":"lab"`, `{"type":"lxc"}`: `"cluster":"prod"`} {
		res, err := srv.Call(context.Background(), "list_guests", json.RawMessage(args))
		if err != nil || res.IsError || !strings.HasPrefix(res.Text, "{"+want) {
			t.Errorf("%s: %v %.100s", args, err, res.Text)
		}
	}
	e.sim.ResetRequests()
	for _, args := range []string{`{"cluster":"nope"}`, `{"cluster":1}`} {
		res, _ := srv.Call(context.Background(), "list_guests", json.RawMessage(args))
		if !res.IsError || !strings.Contains(res.Text, `argument "cluster"`) {
			t.Errorf("%s: %s", args, res.Text)
		}
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d requests for invalid cluster arguments", n)
	}
}
