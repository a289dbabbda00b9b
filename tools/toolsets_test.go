package tools

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/resources"
	"github.com/pvemcp/pvemcp/toolkit"
)

func TestResolveToolsets(t *testing.T) {
	got, err := toolkit.ResolveToolsets(nil)
	if err != nil || !slices.Equal(got, toolkit.DefaultToolsets) {
		t.Errorf("default: %v %v", got, err)
	}
	got, err = toolkit.ResolveToolsets([]string{"diagnostics", "default"})
	if err != nil || !slices.Contains(got, toolkit.ToolsetDiagnostics) || len(got) != len(toolkit.DefaultToolsets)+1 {
		t.Errorf("default,diagnostics: %v %v", got, err)
	}
	if got, _ = toolkit.ResolveToolsets([]string{"all"}); len(got) != len(toolkit.ToolsetCatalog()) {
		t.Errorf("all: %v", got)
	}
	if _, err = toolkit.ResolveToolsets([]string{"inventory", "nope"}); err == nil || !strings.Contains(err.Error(), `unknown toolset "nope"`) || !strings.Contains(err.Error(), "diagnostics") {
		t.Errorf("unknown: %v", err)
	}
	for _, tl := range toolkit.All() {
		if toolkit.ToolsetDescription(tl.Toolset) == "" {
			t.Errorf("%s: toolset %q is not in the toolset catalog", tl.Name, tl.Toolset)
		}
	}
}

// confirm_plan comes with any write tool, whatever its toolset.
func TestVisibleConfirmPlan(t *testing.T) {
	ts := toolkit.Select(false, nil)
	if v := toolkit.Visible(ts, []string{toolkit.ToolsetInventory}); slices.ContainsFunc(v, func(x *toolkit.Tool) bool { return x.Name == toolkit.ConfirmPlanName }) {
		t.Error("confirm_plan served without a write tool")
	}
	fake := &toolkit.Tool{Meta: toolkit.Meta{Name: "fake_write", Toolset: toolkit.ToolsetSnapshots, Hints: &toolkit.Hints{}}}
	v := toolkit.Visible(append(ts, fake), []string{toolkit.ToolsetSnapshots})
	if !slices.ContainsFunc(v, func(x *toolkit.Tool) bool { return x.Name == toolkit.ConfirmPlanName }) {
		t.Error("a snapshots write tool is served without confirm_plan")
	}
}

// The start toolsets trim the prompts, resources and instructions: nothing
// offered names a tool the server does not list.
func TestStartToolsetsTrimPromptsResourcesInstructions(t *testing.T) {
	ask := func(srv *toolkit.Server) (instructions string, prompts, res []string) {
		c := newStdioConn(t, mcpserver.New(srv, "test"))
		var init struct {
			Instructions string `json:"instructions"`
		}
		if err := json.Unmarshal(c.call(1, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}}), &init); err != nil {
			t.Fatal(err)
		}
		c.notify("notifications/initialized")
		var pl struct {
			Prompts []struct {
				Name string `json:"name"`
			} `json:"prompts"`
		}
		// A server without prompts declares no prompts capability, and
		// mcp-go refuses prompts/list: that is "no prompts".
		if res, errRaw := c.try(2, "prompts/list", map[string]any{}); errRaw == nil {
			_ = json.Unmarshal(res, &pl)
		} else if !strings.Contains(string(errRaw), "prompts not supported") {
			t.Fatalf("prompts/list: %s", errRaw)
		}
		for _, p := range pl.Prompts {
			prompts = append(prompts, p.Name)
		}
		var rl struct {
			Resources []struct {
				URI string `json:"uri"`
			} `json:"resources"`
		}
		if res, errRaw := c.try(3, "resources/list", map[string]any{}); errRaw == nil {
			_ = json.Unmarshal(res, &rl)
		} else if !strings.Contains(string(errRaw), "resources not supported") {
			t.Fatalf("resources/list: %s", errRaw)
		}
		for _, r := range rl.Resources {
			res = append(res, r.URI)
		}
		return init.Instructions, prompts, res
	}
	fullI, fullP, fullR := ask(dynamicServer(t, toolkit.DefaultToolsets...))
	for _, want := range []string{"cluster_overview", "confirm_plan", "enable_toolset"} {
		if !strings.Contains(fullI, want) {
			t.Errorf("default instructions lack %s:\n%s", want, fullI)
		}
	}
	if len(fullP) < 4 || len(fullR) == 0 {
		t.Fatalf("default server: prompts %v, resources %v", fullP, fullR)
	}
	// Metrics alone: no prompt needs only get_metrics, no inventory
	// resources, no word of the inventory or write tools.
	i, p, r := ask(dynamicServer(t, toolkit.ToolsetMetrics))
	for _, gone := range []string{"cluster_overview", "list_guests", "get_guest", "confirm_plan"} {
		if strings.Contains(i, gone) {
			t.Errorf("metrics-only instructions mention %s:\n%s", gone, i)
		}
	}
	if len(p) != 0 {
		t.Errorf("metrics-only server offers prompts %v", p)
	}
	if len(r) >= len(fullR) {
		t.Errorf("metrics-only server offers resources %v (default %v)", r, fullR)
	}
	// Capacity alone: only the capacity prompt.
	if _, p, _ := ask(dynamicServer(t, toolkit.ToolsetCapacity)); !slices.Equal(p, []string{"capacity_review"}) {
		t.Errorf("capacity-only prompts = %v", p)
	}
}

// A prompt names the tools it asks for, so that it is offered only with
// them.
func TestPromptsNameTheirTools(t *testing.T) {
	for _, p := range resources.Prompts() {
		text, err := p.Render(map[string]string{"vmid": "100", "node": "pve-node01"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tl := range toolkit.All() {
			if strings.Contains(text, tl.Name) != slices.Contains(p.Tools, tl.Name) {
				t.Errorf("prompt %s: text mentions %s: %v, Tools lists it: %v", p.Name, tl.Name, strings.Contains(text, tl.Name), slices.Contains(p.Tools, tl.Name))
			}
		}
	}
}
