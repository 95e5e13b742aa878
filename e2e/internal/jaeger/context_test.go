//go:build unix

package jaeger

import (
	"context"
	"errors"
	"os/exec"
	"syscall"
	"testing"
)

// A process that dies of the SIGTERM its context's end sent it ended by its
// context; one that exits with a failure, or dies while its context is
// live, did not.
func TestEndedByContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	term := exec.Command("sleep", "10")
	if err := term.Start(); err != nil {
		t.Skip(err)
	}
	_ = term.Process.Signal(syscall.SIGTERM)
	termErr := term.Wait()
	if err := endedByContext(ctx, termErr); !errors.Is(err, context.Canceled) {
		t.Errorf("SIGTERM after the context ended: %v, want context.Canceled", err)
	}
	if err := endedByContext(context.Background(), termErr); errors.Is(err, context.Canceled) || err != termErr {
		t.Errorf("SIGTERM with the context live: %v, want %v", err, termErr)
	}
	failed := exec.Command("sh", "-c", "exit 3").Run()
	if err := endedByContext(ctx, failed); err != failed {
		t.Errorf("exit 3 after the context ended: %v, want %v", err, failed)
	}
}
