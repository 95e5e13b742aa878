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

// diedOfSIGTERM reports whether waitErr says the process was killed by
// SIGTERM. Jaeger installs its graceful SIGTERM handler only after it reports
// healthy, so a Stop right after Start can find the default action still in
// place: the process then dies of the signal instead of exiting 0, which is
// still the stop that was asked for.
func diedOfSIGTERM(waitErr error) bool {
	var ee *exec.ExitError
	if !errors.As(waitErr, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM
}
