package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pvemcp/pvemcp/toolkit"
)

// The arguments that the tests calling every registered tool use:
// TestEveryToolResultMatchesItsOutputSchema (demo), TestNoInventedFigures
// (broken), and, published by `make snapshots` into schemas/tool-args.json,
// the end-to-end suite (e2e/tool-args.mjs) and the secret-leak test of
// cmd/pvemcp. Each tool declares its own in its own test file:
//
//	func init() {
//		declareArgs("get_guest", testArgs{
//			demo:   fixed{`{"vmid":100}`, `{"vmid":203}`},
//			broken: fixed{`{"vmid":102}`},
//		})
//	}
//
// A tool that declares nothing is called with {}; when {} is refused as
// invalid arguments, those tests fail naming the tool and this file.

// argSets gives a tool's argument sets (JSON objects).
type argSets interface {
	sets(t *testing.T, call callFunc) []string
}

// callFunc runs another tool on the same server and returns its structured
// result; a tool error fails the test.
type callFunc func(tool, args string) map[string]any

// fixed argument sets.
type fixed []string

func (f fixed) sets(*testing.T, callFunc) []string { return f }

// computed argument sets, made from what other tools answer (a task's UPID,
// a backup's volid, a plan to confirm).
type computed func(t *testing.T, call callFunc) []string

func (d computed) sets(t *testing.T, call callFunc) []string { return d(t, call) }

// testArgs are one tool's argument sets.
type testArgs struct {
	// demo: sets that succeed on the demo cluster (write tools only plan);
	// every result is checked against the tool's output schema. The first
	// fixed set is published for the end-to-end suite.
	demo argSets
	// broken: sets for TestNoInventedFigures' clusters (pve-node02 offline
	// in both; pve-node03 too, or its rpool FAULTED: VM 102 runs on
	// pve-node02, VM 104 on pve-node03). Default: demo.
	broken argSets
	// last: called after every other tool, for its calls change the
	// cluster (confirm_plan runs plans).
	last bool
	file string // the test file that declared them
}

var declaredArgs = map[string]testArgs{}

// declareArgs records a tool's argument sets; call it from an init function
// of the tool's own test file (TestEveryToolHasItsFile checks where).
func declareArgs(tool string, a testArgs) {
	if _, dup := declaredArgs[tool]; dup {
		panic("arguments of " + tool + " declared twice")
	}
	_, file, _, _ := runtime.Caller(1)
	a.file = filepath.Base(file)
	declaredArgs[tool] = a
}

// demoArgs are the tool's demo sets ({} when it declares none).
func demoArgs(tool string) argSets {
	if a, ok := declaredArgs[tool]; ok && a.demo != nil {
		return a.demo
	}
	return fixed{`{}`}
}

// brokenArgs are the tool's sets for clusters in trouble.
func brokenArgs(tool string) argSets {
	if a, ok := declaredArgs[tool]; ok && a.broken != nil {
		return a.broken
	}
	return demoArgs(tool)
}

// inCallOrder is ts with the tools whose calls change the cluster last.
func inCallOrder(ts []*toolkit.Tool) []*toolkit.Tool {
	var first, last []*toolkit.Tool
	for _, tl := range ts {
		if declaredArgs[tl.Name].last {
			last = append(last, tl)
		} else {
			first = append(first, tl)
		}
	}
	return append(first, last...)
}

// needsArgs is the failure message for a tool that refused {}.
func needsArgs(tool, refusal string) string {
	return fmt.Sprintf("%s needs arguments: declare them in %s_test.go with declareArgs (see toolargs_test.go): %s", tool, tool, refusal)
}

// planArgs are confirm_plan's arguments for a plan.
func planArgs(plan map[string]any) string {
	return fmt.Sprintf(`{"plan_id":%q,"nonce":%q}`, plan["plan_id"], plan["nonce"])
}

// aBackup is the newest (or oldest) backup of a guest, from list_backups.
func aBackup(t *testing.T, call callFunc, vmid int, newest bool) string {
	t.Helper()
	m := call("list_backups", fmt.Sprintf(`{"vmid":%d}`, vmid))
	l, _ := m["backups"].([]any)
	if len(l) == 0 {
		t.Fatalf("list_backups: no backup of %d", vmid)
	}
	b := l[0]
	if !newest {
		b = l[len(l)-1]
	}
	return fmt.Sprint(b.(map[string]any)["volid"])
}

const publishedArgsPath = "../schemas/tool-args.json"

// publishedArgs maps every tool to the arguments other suites call it with
// on the demo cluster: its first fixed demo set, or {}. Tools whose demo
// sets depend on other answers are left out (e2e/tool-args.mjs computes
// theirs).
func publishedArgs() map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for _, tl := range toolkit.All() {
		var args string
		switch d := demoArgs(tl.Name).(type) {
		case fixed:
			args = d[0]
		default:
			continue
		}
		out[tl.Name] = json.RawMessage(args)
	}
	return out
}

// TestPublishedToolArgs keeps schemas/tool-args.json what the tools
// declare (make snapshots rewrites it).
func TestPublishedToolArgs(t *testing.T) {
	b, err := json.MarshalIndent(publishedArgs(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if os.Getenv("UPDATE_SNAPSHOTS") == "1" {
		if err := os.WriteFile(publishedArgsPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(publishedArgsPath)
	if err != nil || !bytes.Equal(old, b) {
		t.Errorf("%s is not the arguments the tools declare (%v); run make snapshots", publishedArgsPath, err)
	}
}
