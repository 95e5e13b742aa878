package exectrace_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tracekit-go/tracekit/internal/exectrace/fivespans"
)

// record runs the five-spans workload under an execution trace started with
// runtime/trace.Start and a CPU profile, with new parts of the trace begun
// inside its waits.
func record(t testing.TB) fivespans.Recording {
	t.Helper()
	rec, err := fivespans.Record(context.Background(), "fivespans", fivespans.NewPart)
	if errors.Is(err, fivespans.ErrRecording) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
