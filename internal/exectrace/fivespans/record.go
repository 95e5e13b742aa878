package fivespans

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime/pprof"
	"runtime/trace"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"github.com/tracekit-go/tracekit/exporters/file"
)

// ErrRecording is returned by [Record] when an execution trace or a CPU
// profile is already recording in the process (go test -trace).
var ErrRecording = errors.New("fivespans: an execution trace or a CPU profile is already recording")

// Recording is what one recorded run of the workload left.
type Recording struct {
	Exec  []byte // the execution trace, started with runtime/trace.Start
	Spans []byte // the span file the OpenTelemetry SDK exported (OTLP JSON lines)
	CPU   []byte // the CPU profile, samples labelled with their span
	Did   Did
}

// Record runs the workload under an execution trace and a CPU profile, its
// spans, of service service, exported by the SDK's file exporter. during is
// as for [Run].
func Record(ctx context.Context, service string, during func()) (Recording, error) {
	if trace.IsEnabled() {
		return Recording{}, ErrRecording
	}
	var sb, eb, cb bytes.Buffer
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(file.NewWriter(&sb)),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))))
	if err := pprof.StartCPUProfile(&cb); err != nil {
		return Recording{}, errors.Join(ErrRecording, err)
	}
	if err := trace.Start(&eb); err != nil {
		pprof.StopCPUProfile()
		return Recording{}, errors.Join(ErrRecording, err)
	}
	did, err := Run(ctx, tp.Tracer(service), during)
	trace.Stop()
	pprof.StopCPUProfile()
	if err := errors.Join(err, tp.Shutdown(ctx)); err != nil {
		return Recording{}, err
	}
	return Recording{Exec: eb.Bytes(), Spans: sb.Bytes(), CPU: cb.Bytes(), Did: did}, nil
}

// NewPart begins a new part (generation) of the recording execution trace,
// as happens every second or so in a long trace: another consumer of the
// trace joins and leaves (a flight recorder beside runtime/trace.Start,
// runtime/trace.Start beside a flight recorder). Given to [Run] as during,
// it puts part boundaries inside the waits.
func NewPart() {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if fr.Start() == nil {
		fr.Stop()
		return
	}
	if trace.Start(io.Discard) == nil {
		trace.Stop()
	}
}
