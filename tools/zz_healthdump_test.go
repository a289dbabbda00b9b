package tools

import (
	"os"
	"testing"
)

func TestZZHealthDump(t *testing.T) {
	e := newHealthEnv(t)
	for _, a := range []string{os.Getenv("T1"), os.Getenv("T2"), os.Getenv("T3")} {
		if a == "" {
			continue
		}
		var tool, args string
		for i := range a {
			if a[i] == ' ' {
				tool, args = a[:i], a[i+1:]
				break
			}
		}
		res, _ := e.call(t, tool, args)
		os.WriteFile("/tmp/out_"+tool+"_"+string(rune(0x30+len(a)%10))+".json", []byte(res.Text), 0o644)
	}
}
