package main

import (
	"bufio"
	"io"
	"testing"

	"github.com/pvemcp/pvemcp/config"
)

// BenchmarkStdioFirstAnswer measures start-up to the first answer of the
// stdio server in-process (flag parsing, configuration, tool registry, MCP
// server, initialize). DESIGN §10 targets under 50 ms for the whole process;
// `make bench` measures that with a real client.
func BenchmarkStdioFirstAnswer(b *testing.B) {
	b.Setenv(config.EnvEndpoint, "https://127.0.0.1:1")
	b.Setenv(config.EnvToken, "pvemcp@pve!bench=00000000-0000-0000-0000-000000000000")
	b.Setenv(config.EnvInsecure, "true")
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}` + "\n"
	for i := 0; i < b.N; i++ {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		done := make(chan int, 1)
		go func() { done <- run([]string{"--log-level", "error", "serve"}, inR, outW, io.Discard) }()
		if _, err := inW.Write([]byte(initialize)); err != nil {
			b.Fatal(err)
		}
		line, err := bufio.NewReader(outR).ReadString('\n')
		if err != nil || len(line) == 0 {
			b.Fatal(err)
		}
		inW.Close()
		go func() { _, _ = io.Copy(io.Discard, outR) }()
		if code := <-done; code != 0 {
			b.Fatalf("exit %d", code)
		}
		outW.Close()
	}
}
