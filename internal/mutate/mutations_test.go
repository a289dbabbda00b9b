package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMutationsApply: every listed mutation still applies to the code as
// it is (its text occurs exactly once in its file) and names packages that
// exist, so `make mutate` does not report it stale. When code a mutation
// changes moves on, update its entry in mutations.yaml.
func TestMutationsApply(t *testing.T) {
	ms, err := loadMutations(mutationsYAML)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..")
	for _, m := range ms {
		if _, why := read(root, m); why != "" {
			t.Errorf("%s: stale: %s", m.Name, why)
		}
		for _, p := range m.Pkgs {
			if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err != nil || !fi.IsDir() {
				t.Errorf("%s: package %s does not exist", m.Name, p)
			}
		}
	}
}

func TestLoadMutationsRefusesBadEntries(t *testing.T) {
	const ok = "- {name: a, file: f.go, old: x, new: y, pkgs: [./p/]}\n"
	if _, err := loadMutations([]byte(ok)); err != nil {
		t.Fatalf("a valid entry: %v", err)
	}
	for yaml, want := range map[string]string{
		"- {name: a, file: f.go, old: x, new: y, pkgs: [./p/], pkg: x}\n": "field pkg not found",
		"- {file: f.go, old: x, new: y, pkgs: [./p/]}\n":                  "entry 1 has no name",
		"- {name: a, file: f.go, new: y, pkgs: [./p/]}\n":                 `"a" needs file, old and pkgs`,
		"- {name: a, file: f.go, old: x, new: y}\n":                       `"a" needs file, old and pkgs`,
		"- {name: a, file: f.go, old: x, new: x, pkgs: [./p/]}\n":         `"a" changes nothing`,
		ok + ok: `"a" is listed twice`,
		"[]\n":  "no mutation listed",
	} {
		if _, err := loadMutations([]byte(yaml)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", yaml, err, want)
		}
	}
}

func TestStaleWhenTheTextIsNotThereOnce(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.go"), []byte("a := 1\na := 1\nb := 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for old, want := range map[string]string{"b := 2": "", "a := 1": "occurs 2 times", "c := 3": "occurs 0 times"} {
		_, why := read(dir, Mutation{Name: "m", File: "f.go", Old: old})
		if want == "" && why != "" || !strings.Contains(why, want) {
			t.Errorf("%q: stale reason %q, want %q", old, why, want)
		}
	}
	if _, why := read(dir, Mutation{Name: "m", File: "gone.go", Old: "x"}); why == "" {
		t.Error("a missing file is not stale")
	}
}
