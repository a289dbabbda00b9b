package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadmeCommandsRun runs every shell block of the README (and of
// examples/scenarios/README.md) that can run offline, as written, with the
// built binary as bin/pvemcp: a newcomer's first commands must work. Blocks
// that need a real cluster, a real MCP client or make (pveum, claude,
// example.com endpoints, make) are left out. Fixed ports become ephemeral
// ones (tests never take a fixed port); a command still serving after a few
// seconds counts as started, provided it failed nothing and, for the
// simulator, printed its environment.
func TestReadmeCommandsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := pvemcpBinary(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, doc := range []string{"README.md", filepath.Join("examples", "scenarios", "README.md")} {
		b, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		for i, block := range shellBlocks(string(b)) {
			if !offlineBlock(block) {
				continue
			}
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(bin, filepath.Join(dir, "bin", "pvemcp")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(root, "examples"), filepath.Join(dir, "examples")); err != nil {
				t.Fatal(err)
			}
			var scripts []string
			if strings.ContainsAny(block, "&;") {
				scripts = []string{block}
			} else {
				scripts = strings.Split(strings.TrimSpace(block), "\n")
			}
			for _, s := range scripts {
				s = ephemeral(s)
				ran++
				runReadmeScript(t, dir, bin, doc, i, s)
			}
		}
	}
	if ran < 6 {
		t.Fatalf("only %d README commands run", ran)
	}
	t.Logf("%d README commands run", ran)
}

var shellFence = regexp.MustCompile("(?s)```sh\n(.*?)```")

func shellBlocks(md string) []string {
	var out []string
	for _, m := range shellFence.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

// offlineBlock: every command of the block is pvemcp (bin/pvemcp or
// pvemcp) or shell plumbing.
func offlineBlock(block string) bool {
	n := 0
	for _, line := range strings.Split(block, "\n") {
		line = stripComment(line)
		for _, cmd := range strings.FieldsFunc(line, func(r rune) bool { return r == ';' || r == '&' }) {
			f := strings.Fields(cmd)
			if len(f) == 0 {
				continue
			}
			switch f[0] {
			case "bin/pvemcp", "pvemcp":
				n++
			case "set", ".", "sleep", "until", "do", "done":
			default:
				return false
			}
		}
	}
	return n > 0
}

func stripComment(line string) string {
	if i := strings.Index(line, "  #"); i >= 0 {
		line = line[:i]
	}
	if strings.HasPrefix(strings.TrimSpace(line), "#") {
		return ""
	}
	return line
}

var (
	fixedPort = regexp.MustCompile(`127\.0\.0\.1:[1-9][0-9]*`)
)

// ephemeral replaces fixed loopback ports by :0, and gives a simulator
// without --listen one.
// simSubcommand is a control-plane command (`pvemcp sim journal`), which
// talks to a running simulator and takes no --listen.
var simSubcommand = regexp.MustCompile(`pvemcp sim [a-z]`)

func ephemeral(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		l = stripComment(l)
		l = fixedPort.ReplaceAllString(l, "127.0.0.1:0")
		if strings.Contains(l, "pvemcp sim") && !strings.Contains(l, "--listen") && !simSubcommand.MatchString(l) {
			l = strings.Replace(l, "pvemcp sim", "pvemcp sim --listen 127.0.0.1:0", 1)
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

func runReadmeScript(t *testing.T, dir, bin, doc string, block int, script string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = []string{"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"PVEMCP_AUDIT_LOG=" + filepath.Join(home, "audit.jsonl")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Files, not pipes: a job the block leaves in the background must not
	// keep Wait from returning when the block itself is done.
	outF, err := os.Create(filepath.Join(home, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.Create(filepath.Join(home, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	stdout := fileText{outF.Name()}
	stderr := fileText{errF.Name()}
	cmd.Stdin = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	defer func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }() // background jobs of the block too
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	serving := strings.Contains(script, " sim") && !strings.Contains(script, "&") || strings.Contains(script, "--http")
	limit := 60 * time.Second
	if serving {
		limit = 4 * time.Second
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s block %d: %q failed: %v\nstdout: %s\nstderr: %s", doc, block, script, err, clip(stdout.String()), clip(stderr.String()))
		}
	case <-time.After(limit):
		if !serving {
			t.Errorf("%s block %d: %q did not finish in %v\nstderr: %s", doc, block, script, limit, clip(stderr.String()))
			return
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		<-done
		if strings.Contains(script, " sim") && !envPrinted(stdout.String()) {
			t.Errorf("%s block %d: %q printed no PROXMOX_VE_* lines\nstderr: %s", doc, block, script, clip(stderr.String()))
		}
		if strings.Contains(stderr.String(), `"level":"error"`) || strings.Contains(stderr.String(), "pvemcp: ") {
			t.Errorf("%s block %d: %q logged an error: %s", doc, block, script, clip(stderr.String()))
		}
	}
}

type fileText struct{ path string }

func (f fileText) String() string {
	b, _ := os.ReadFile(f.path)
	return string(b)
}

func envPrinted(out string) bool {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "PROXMOX_VE_") {
			n++
		}
	}
	return n == 3
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}
