//go:build unix

package jaeger

import (
	"os/exec"
	"syscall"
	"testing"
)

func TestDiedOfSIGTERM(t *testing.T) {
	killed := exec.Command("sleep", "60")
	if err := killed.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	if err := killed.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := killed.Wait(); !diedOfSIGTERM(err) {
		t.Errorf("sleep killed by SIGTERM: diedOfSIGTERM(%v) = false, want true", err)
	}

	for _, args := range [][]string{{"sh", "-c", "exit 1"}, {"sh", "-c", "kill -INT $$"}} {
		err := exec.Command(args[0], args[1:]...).Run()
		if err == nil {
			t.Fatalf("%q: no error", args)
		}
		if diedOfSIGTERM(err) {
			t.Errorf("%q: diedOfSIGTERM(%v) = true, want false", args, err)
		}
	}
	if diedOfSIGTERM(nil) {
		t.Error("diedOfSIGTERM(nil) = true")
	}
}
