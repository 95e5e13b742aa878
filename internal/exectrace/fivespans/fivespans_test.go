package fivespans_test

import (
	"context"
	"runtime/trace"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/internal/exectrace/fivespans"
)

// TestRun runs the workload under the execution trace of go test -trace;
// package exectrace's tests run it so and read the trace.
func TestRun(t *testing.T) {
	if !trace.IsEnabled() {
		t.Skip("for go test -trace: no execution trace is recording")
	}
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	if _, err := fivespans.Run(context.Background(), tp.Tracer("five"), nil); err != nil {
		t.Fatal(err)
	}
}
