package redistest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the server die with the test process, even when the
// test binary is killed before its cleanups run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
