package exectrace_test

import (
	"bytes"
	"context"
	"runtime/pprof"
	"runtime/trace"
	"testing"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"github.com/tracekit-go/tracekit/exporters/file"
	"github.com/tracekit-go/tracekit/internal/exectrace/fivespans"
)

// recording is what one run of the five-spans workload left: its execution
// trace, its span file (written by the OpenTelemetry SDK), its CPU profile
// and what the workload says it did.
type recording struct {
	exec, spans, cpu []byte
	did              fivespans.Did
}

// record runs the five-spans workload under an execution trace started with
// runtime/trace.Start and a CPU profile, its spans exported by the SDK to a
// span file.
func record(t testing.TB) recording {
	t.Helper()
	if trace.IsEnabled() {
		t.Skip("an execution trace is already recording (go test -trace)")
	}
	var sb bytes.Buffer
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(file.NewWriter(&sb)),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("fivespans"))))
	var eb, cb bytes.Buffer
	if err := pprof.StartCPUProfile(&cb); err != nil {
		t.Skipf("a CPU profile is already recording: %v", err)
	}
	if err := trace.Start(&eb); err != nil {
		pprof.StopCPUProfile()
		t.Fatal(err)
	}
	did, err := fivespans.Run(context.Background(), tp.Tracer("fivespans"), newPart)
	trace.Stop()
	pprof.StopCPUProfile()
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := recording{exec: eb.Bytes(), spans: sb.Bytes(), cpu: cb.Bytes(), did: did}
	return r
}

// newPart begins a new part (generation) of the recording execution trace
// twice: a flight recorder starting, then stopping, is a consumer joining
// and leaving.
func newPart() {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if fr.Start() == nil {
		fr.Stop()
	}
}
