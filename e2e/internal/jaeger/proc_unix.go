//go:build unix

package jaeger

import (
	"errors"
	"os/exec"
	"syscall"
)

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// setProcessGroup makes the process the leader of a new process group, so
// that signals reach anything it starts and a terminal's Ctrl-C, sent to the
// test's group, does not kill it before Stop runs. Where the system allows,
// it also asks for SIGTERM when the test process dies, so that a test binary
// killed before its cleanups ran leaves no Jaeger behind.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = sysProcAttr()
}

// signalGroup sends sig to the process group led by cmd's process. A group
// that is already gone is not an error.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	err := syscall.Kill(-cmd.Process.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
