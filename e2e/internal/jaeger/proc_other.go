//go:build !unix

package jaeger

import (
	"errors"
	"os"
	"os/exec"
)

var (
	sigTerm = os.Interrupt
	sigKill = os.Kill
)

func setProcessGroup(*exec.Cmd) {}

func signalGroup(cmd *exec.Cmd, sig os.Signal) error {
	err := cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// diedOfSIGTERM is false where there are no signals to die of.
func diedOfSIGTERM(error) bool { return false }
