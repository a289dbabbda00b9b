package tools

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/resources"
)

func TestResolveToolsets(t *testing.T) {
	got, err := ResolveToolsets(nil)
	if err != nil || !slices.Equal(got, DefaultToolsets) {
		t.Errorf("default: %v %v", got, err)
	}
	got, err = ResolveToolsets([]string{"diagnostics", "default"})
	if err != nil || !slices.Contains(got, ToolsetDiagnostics) || len(got) != len(DefaultToolsets)+1 {
		t.Errorf("default,diagnostics: %v %v", got, err)
	}
	if got, _ = ResolveToolsets([]string{"all"}); len(got) != len(ToolsetCatalog()) {
		t.Errorf("all: %v", got)
	}
	if _, err = ResolveToolsets([]string{"inventory", "nope"}); err == nil || !strings.Contains(err.Error(), `unknown toolset "nope"`) || !strings.Contains(err.Error(), "diagnostics") {
		t.Errorf("unknown: %v", err)
	}
	for _, tl := range All() {
		if ToolsetDescription(tl.Toolset) == "" {
			t.Errorf("%s: toolset %q is not in the toolset catalog", tl.Name, tl.Toolset)
		}
	}
}

// confirm_plan comes with any write tool, whatever its toolset.
func TestVisibleConfirmPlan(t *testing.T) {
	ts := Select(false, nil)
	if v := Visible(ts, []string{ToolsetInventory}); slices.ContainsFunc(v, func(x *Tool) bool { return x.Name == confirmPlanName }) {
		t.Error("confirm_plan served without a write tool")
	}
	fake := &Tool{Meta: Meta{Name: "fake_write", Toolset: ToolsetSnapshots, Hints: &Hints{}}}
	v := Visible(append(ts, fake), []string{ToolsetSnapshots})
	if !slices.ContainsFunc(v, func(x *Tool) bool { return x.Name == confirmPlanName }) {
		t.Error("a snapshots write tool is served without confirm_plan")
	}
}

// The start toolsets trim the prompts, resources and instructions: nothing
// offered names a tool the server does not list.
func TestStartToolsetsTrimPromptsResourcesInstructions(t *testing.T) {
	ask := func(srv *Server) (instructions string, prompts, res []string) {
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
	fullI, fullP, fullR := ask(dynamicServer(t, DefaultToolsets...))
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
	i, p, r := ask(dynamicServer(t, ToolsetMetrics))
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
	if _, p, _ := ask(dynamicServer(t, ToolsetCapacity)); !slices.Equal(p, []string{"capacity_review"}) {
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
		for _, tl := range All() {
			if strings.Contains(text, tl.Name) != slices.Contains(p.Tools, tl.Name) {
				t.Errorf("prompt %s: text mentions %s: %v, Tools lists it: %v", p.Name, tl.Name, strings.Contains(text, tl.Name), slices.Contains(p.Tools, tl.Name))
			}
		}
	}
}
