// Command mutate checks that the test suite notices when important logic is
// wrong. It copies the repository to a temporary directory, applies each
// mutation of mutations.yaml there (one at a time, the working tree is never
// touched), runs the tests of the packages that should notice, and reports
// every mutation the tests let through.
//
// It is not part of CI's critical path; run it before a release:
//
//	go run ./internal/mutate                 # every mutation
//	go run ./internal/mutate -only planner   # those whose name matches
//	go run ./internal/mutate -list           # list them
//
// A mutation is killed when a test fails, survives when every test passes,
// and is stale when its text no longer occurs exactly once in its file (the
// code moved on: update the entry). The exit status is 1 when any mutation
// survived or is stale, 2 on a usage or setup error.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Mutation is one small, meaningful change to the code that some test must
// notice.
type Mutation struct {
	Name string   `yaml:"name"` // what the change breaks, short
	File string   `yaml:"file"` // path from the repository root
	Old  string   `yaml:"old"`  // text that must occur exactly once in File
	New  string   `yaml:"new"`  // its replacement
	Pkgs []string `yaml:"pkgs"` // packages whose tests must notice ("./tools/")
}

type outcome struct {
	m       Mutation
	verdict string // killed, survived, stale, error
	detail  string // failing tests, or why
	took    time.Duration
}

func main() {
	only := flag.String("only", "", "run only mutations whose name matches this regular expression")
	list := flag.Bool("list", false, "list the mutations and exit")
	keep := flag.Bool("keep", false, "keep the temporary copy of the repository")
	timeout := flag.Duration("timeout", 10*time.Minute, "test timeout per mutation")
	flag.Parse()

	var re *regexp.Regexp
	if *only != "" {
		var err error
		if re, err = regexp.Compile(*only); err != nil {
			fatal("-only: %v", err)
		}
	}
	mutations, err := loadMutations(mutationsYAML)
	if err != nil {
		fatal("mutations.yaml: %v", err)
	}
	var todo []Mutation
	for _, m := range mutations {
		if re == nil || re.MatchString(m.Name) {
			todo = append(todo, m)
		}
	}
	if *list {
		for i, m := range mutations {
			fmt.Printf("%2d  %-60s %s  (%s)\n", i+1, m.Name, m.File, strings.Join(m.Pkgs, " "))
		}
		return
	}
	if len(todo) == 0 {
		fatal("no mutation matches %q", *only)
	}

	root, err := repoRoot()
	if err != nil {
		fatal("%v", err)
	}
	tmp, err := os.MkdirTemp("", "pvemcp-mutate-")
	if err != nil {
		fatal("%v", err)
	}
	// fatal and os.Exit skip deferred calls: the copy is removed by hand.
	cleanup := func() {
		if !*keep {
			os.RemoveAll(tmp)
		}
	}
	if err := copyRepo(root, tmp); err != nil {
		cleanup()
		fatal("copying the repository: %v", err)
	}
	fmt.Printf("mutation check: %d mutation(s) on a copy in %s\n", len(todo), tmp)

	// The unmutated tests must pass, or every mutation would look killed.
	pkgs := map[string]bool{}
	for _, m := range todo {
		for _, p := range m.Pkgs {
			pkgs[p] = true
		}
	}
	all := make([]string, 0, len(pkgs))
	for p := range pkgs {
		all = append(all, p)
	}
	sort.Strings(all)
	start := time.Now()
	if out, err := goTest(tmp, all, *timeout); err != nil {
		os.Stdout.Write(tail(out, 40))
		cleanup()
		fatal("the tests fail without any mutation (%v): fix them first", err)
	}
	fmt.Printf("baseline: tests of %s pass (%s)\n\n", strings.Join(all, " "), time.Since(start).Round(time.Second))

	var results []outcome
	for i, m := range todo {
		r := apply(tmp, m, *timeout)
		results = append(results, r)
		fmt.Printf("%2d/%d %-9s %-60s %s (%s)\n", i+1, len(todo), r.verdict, m.Name, r.detail, r.took.Round(100*time.Millisecond))
	}

	counts := map[string]int{}
	for _, r := range results {
		counts[r.verdict]++
	}
	fmt.Printf("\n%d killed, %d survived, %d stale, %d error\n", counts["killed"], counts["survived"], counts["stale"], counts["error"])
	bad := false
	for _, r := range results {
		if r.verdict != "killed" {
			bad = true
			fmt.Printf("  %s: %s — %s (%s)\n", strings.ToUpper(r.verdict), r.m.Name, r.m.File, r.detail)
		}
	}
	cleanup()
	if bad {
		os.Exit(1)
	}
}

// apply mutates one file of the copy, runs the tests, and restores it.
func apply(dir string, m Mutation, timeout time.Duration) outcome {
	start := time.Now()
	o := outcome{m: m}
	path := filepath.Join(dir, filepath.FromSlash(m.File))
	orig, why := read(dir, m)
	if why != "" {
		o.verdict, o.detail = "stale", why
		return o
	}
	mutated := bytes.Replace(orig, []byte(m.Old), []byte(m.New), 1)
	if err := os.WriteFile(path, mutated, 0o644); err != nil {
		o.verdict, o.detail = "error", err.Error()
		return o
	}
	defer os.WriteFile(path, orig, 0o644)
	out, err := goTest(dir, m.Pkgs, timeout)
	o.took = time.Since(start)
	switch {
	case err == nil:
		o.verdict, o.detail = "survived", "every test passed"
	case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
		o.verdict, o.detail = "error", "the mutated code does not compile: "+firstLine(out)
	default:
		o.verdict = "killed"
		if names := failedTests(out); len(names) > 0 {
			o.detail = "by " + strings.Join(names, ", ")
		} else {
			o.detail = "test binary failed: " + firstLine(out)
		}
	}
	return o
}

// read returns the file m changes, in the tree at dir, or why m is stale:
// the file is gone, or the text to change no longer occurs exactly once.
func read(dir string, m Mutation) ([]byte, string) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(m.File)))
	if err != nil {
		return nil, err.Error()
	}
	if n := bytes.Count(b, []byte(m.Old)); n != 1 {
		return nil, fmt.Sprintf("the text to change occurs %d times in %s", n, m.File)
	}
	return b, ""
}

func goTest(dir string, pkgs []string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
	defer cancel()
	args := append([]string{"test", "-count=1", "-timeout", timeout.String()}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.Bytes(), err
}

var reFail = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

// failedTests lists the failing top-level tests, in order.
func failedTests(out []byte) []string {
	seen := map[string]bool{}
	var names []string
	for _, m := range reFail.FindAllSubmatch(out, -1) {
		name, _, _ := strings.Cut(string(m[1]), "/")
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names
}

func firstLine(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

func tail(b []byte, n int) []byte {
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return append(bytes.Join(lines, []byte("\n")), '\n')
}

func repoRoot() (string, error) {
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", errors.New("run it inside the pvemcp git repository")
	}
	return strings.TrimSpace(string(out)), nil
}

// copyRepo copies the files git knows of (tracked, and new ones not
// ignored): the working tree as it is, without caches and build output.
func copyRepo(root, dst string) error {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return err
	}
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" {
			continue
		}
		src := filepath.Join(root, rel)
		info, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			continue
		}
		if err := copyFile(src, filepath.Join(dst, rel), info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "mutate: "+format+"\n", args...)
	os.Exit(2)
}
