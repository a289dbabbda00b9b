// Package redistest starts a real redis-server for tests: on a loopback
// address, with its files in a temporary folder, stopped when the test
// ends. Without the binary the test is skipped, except under CI=true,
// where it fails (CI installs Debian's redis-server).
package redistest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running redis-server.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
	opts Options
	tls  *tls.Config // client side, when the server speaks TLS
}

// Options add to the default configuration.
type Options struct {
	// TLS serves TLS only, with a certificate of a fresh CA (CAFile).
	TLS bool
	// Config lines appended to redis.conf (ACL users, ...).
	Config []string
}

// Binary returns the path of redis-server, skipping (or, under CI, failing)
// the test when it is absent.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is required in CI (Debian package redis-server): %v", err)
		}
		t.Skip("redis-server not installed (apt-get install redis-server); skipping the Redis plan store tests")
	}
	return bin
}

// Start runs redis-server on 127.0.0.1 and a free port, with an
// append-only file so a restart keeps its data.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with more configuration.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), dir: t.TempDir(), opts: o}
	if o.TLS {
		var err error
		if s.tls, err = writeTLS(s.dir); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("starting redis-server: %v", err)
	return nil
}

// URL is the server's redis:// (rediss:// with TLS) URL.
func (s *Server) URL() string {
	if s.tls != nil {
		return fmt.Sprintf("rediss://127.0.0.1:%d/0", s.port)
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port)
}

// CAFile is the PEM file of the CA of the server's TLS certificate.
func (s *Server) CAFile() string { return filepath.Join(s.dir, "ca.pem") }

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start() error {
	lines := []string{"port " + strconv.Itoa(s.port)}
	if s.tls != nil {
		lines = []string{"port 0", "tls-port " + strconv.Itoa(s.port),
			"tls-cert-file " + filepath.Join(s.dir, "server.pem"), "tls-key-file " + filepath.Join(s.dir, "server.key"),
			"tls-ca-cert-file " + s.CAFile(), "tls-auth-clients no"}
	}
	conf := strings.Join(append(append(lines,
		"bind 127.0.0.1",
		"dir "+s.dir,
		"daemonize no",
		"save \"\"",
		"appendonly yes",
		"appendfsync always",
		"protected-mode yes",
		"logfile "+filepath.Join(s.dir, "redis.log"),
	), s.opts.Config...), "\n") + "\n"
	path := filepath.Join(s.dir, "redis.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return err
	}
	s.cmd = exec.Command(s.bin, path)
	dieWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			s.cmd = nil
			return fmt.Errorf("redis-server exited: %v; log: %s", err, s.log())
		default:
		}
		if s.ping() {
			go func(c *exec.Cmd) { <-exited }(s.cmd)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = s.cmd.Process.Kill()
	<-exited
	s.cmd = nil
	return fmt.Errorf("redis-server did not answer in 10s; log: %s", s.log())
}

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	return string(b)
}

// ping sends PING; a server that wants a password answers -NOAUTH, which
// still says it is up.
func (s *Server) ping() bool {
	var c net.Conn
	var err error
	d := &net.Dialer{Timeout: time.Second}
	if s.tls != nil {
		c, err = tls.DialWithDialer(d, "tcp", s.Addr(), s.tls)
	} else {
		c, err = d.Dial("tcp", s.Addr())
	}
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && (strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH"))
}

// Stop kills the server (its append-only file stays for Restart).
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	for range 200 {
		if !s.ping() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.cmd = nil
}

// Restart starts the server again on the same port with the same data.
func (s *Server) Restart() {
	s.t.Helper()
	var err error
	for range 50 {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("restarting redis-server: %v", err)
}
