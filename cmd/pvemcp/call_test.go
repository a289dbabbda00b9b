package main

import (
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/config"
)

// TestCallReadOnlyListAndQuiet: call honours read-only as serve does (flag,
// environment), lists the tools when given none, logs only warnings by
// default (its stdout is the result), and --version works.
func TestCallReadOnlyListAndQuiet(t *testing.T) {
	clearEnv(t)
	args := []string{"call", "--demo", "guest_power", `{"vmid":203,"action":"start"}`}
	code, out, errs := runCLI(t, "", args...)
	if code != 0 || !strings.Contains(out, "plan_id") {
		t.Fatalf("write plan without read-only: exit %d %s %s", code, out, errs)
	}
	if errs != "" {
		t.Errorf("call logged at info by default: %s", errs)
	}
	code, out, errs = runCLI(t, "", append([]string{"call", "--read-only"}, args[1:]...)...)
	if code != 1 || out != "" || !strings.Contains(errs, "guest_power changes the cluster, and pvemcp is read-only here (--read-only)") {
		t.Errorf("--read-only: exit %d %q %q", code, out, errs)
	}
	t.Setenv(config.EnvReadOnly, "true")
	code, out, errs = runCLI(t, "", args...)
	if code != 1 || out != "" || !strings.Contains(errs, "read-only here (read_only in the configuration or PVEMCP_READ_ONLY)") {
		t.Errorf("%s: exit %d %q %q", config.EnvReadOnly, code, out, errs)
	}
	// Reads still work read-only.
	if code, _, errs = runCLI(t, "", "call", "--demo", "cluster_overview"); code != 0 {
		t.Errorf("read under read-only: %d %s", code, errs)
	}
	t.Setenv(config.EnvReadOnly, "")

	// With --log-level info, the simulator's start is logged again.
	if _, _, errs = runCLI(t, "", "--log-level", "info", "call", "--demo", "cluster_overview"); !strings.Contains(errs, "listening") {
		t.Errorf("--log-level info not honoured: %q", errs)
	}

	code, out, _ = runCLI(t, "", "call")
	if code != 0 || !strings.Contains(out, "Usage: pvemcp call TOOL") || !strings.Contains(out, "list_guests") || !strings.Contains(out, "confirm_plan") {
		t.Errorf("call without a tool: %d %s", code, out)
	}
	code, out, _ = runCLI(t, "", "call", "--read-only")
	if code != 0 || strings.Contains(out, "guest_power") || !strings.Contains(out, "list_guests") {
		t.Errorf("call --read-only without a tool: %d %s", code, out)
	}

	// A bare secret and a missing secret are told apart.
	t.Setenv(config.EnvEndpoint, "https://127.0.0.1:1")
	t.Setenv(config.EnvInsecure, "true")
	for tok, want := range map[string]string{
		"8f1c2d3e-0a1b-4c5d-9e8f-a0b1c2d3e4f5": "holds only a secret, without the token id",
		"pvemcp@pve!mcp=":                      "has no secret after the '='",
	} {
		t.Setenv(config.EnvToken, tok)
		if code, _, errs := runCLI(t, "", "call", "cluster_overview"); code != 1 || !strings.Contains(errs, want) {
			t.Errorf("token %q: %d %s", tok, code, errs)
		}
	}
	clearEnv(t)

	code, out, _ = runCLI(t, "", "--version")
	if code != 0 || !strings.HasPrefix(out, "pvemcp ") {
		t.Errorf("--version: %d %q", code, out)
	}
}
