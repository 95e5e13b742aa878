// Command record runs the five-spans workload (package fivespans) and writes
// what it left in testdata: five.trace, the execution trace started with
// runtime/trace.Start; five.jsonl, the span file the OpenTelemetry SDK
// exported; five.cpu.pb.gz, the CPU profile with span labels; and
// five-flight.trace, a flight recorder's snapshot of the same kind of run.
//
//	go run ./internal/exectrace/internal/record -dir internal/exectrace/testdata
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"github.com/tracekit-go/tracekit/exporters/file"
	"github.com/tracekit-go/tracekit/internal/exectrace/fivespans"
)

func main() {
	dir := flag.String("dir", "testdata", "where to write the files")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "record:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	var spansBuf, execBuf, cpuBuf bytes.Buffer
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(file.NewWriter(&spansBuf)),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("fivespans"))))
	if err := pprof.StartCPUProfile(&cpuBuf); err != nil {
		return err
	}
	if err := trace.Start(&execBuf); err != nil {
		return err
	}
	_, err := fivespans.Run(context.Background(), tp.Tracer("fivespans"), newPart)
	trace.Stop()
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		return err
	}

	// A flight recorder keeps the last stretch of the trace; its snapshot
	// is what tail capture writes.
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: 2 * time.Second, MaxBytes: 1 << 20})
	if err := fr.Start(); err != nil {
		return err
	}
	if _, err := fivespans.Run(context.Background(), tp.Tracer("fivespans"), newPart); err != nil {
		return err
	}
	var flight bytes.Buffer
	_, err = fr.WriteTo(&flight)
	fr.Stop()
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"five.trace": execBuf.Bytes(), "five.jsonl": spansBuf.Bytes(),
		"five.cpu.pb.gz": cpuBuf.Bytes(), "five-flight.trace": flight.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// newPart begins a new part (generation) of the recording execution trace
// inside the workload's waits, as happens every second or so in a long
// trace: another consumer of the trace joins and leaves (a flight recorder
// beside runtime/trace.Start, runtime/trace.Start beside a flight
// recorder).
func newPart() {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if fr.Start() == nil {
		fr.Stop()
		return
	}
	if trace.Start(io.Discard) == nil {
		trace.Stop()
	}
}
