// Command record runs the five-spans workload (package fivespans) and writes
// what it left in testdata: five.trace, the execution trace started with
// runtime/trace.Start; five.jsonl, the span file the OpenTelemetry SDK
// exported; five.cpu.pb.gz, the CPU profile with span labels; and
// five-flight.trace, a flight recorder's snapshot of the same kind of run;
// and one.trace, a small trace of one span for fuzzing.
//
//	go run ./internal/exectrace/internal/record -dir internal/exectrace/testdata
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/trace"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/internal/exectrace/fivespans"
	"github.com/tracekit-go/tracekit/internal/xtrace"
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
	rec, err := fivespans.Record(context.Background(), "fivespans", fivespans.NewPart)
	if err != nil {
		return err
	}
	// A flight recorder keeps the last stretch of the trace; its snapshot
	// is what tail capture writes.
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: 2 * time.Second, MaxBytes: 1 << 20})
	if err := fr.Start(); err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider()
	if _, err := fivespans.Run(context.Background(), tp.Tracer("fivespans"), fivespans.NewPart); err != nil {
		return err
	}
	var flight bytes.Buffer
	_, err = fr.WriteTo(&flight)
	fr.Stop()
	if err != nil {
		return err
	}
	one, err := recordOne()
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"five.trace": rec.Exec, "five.jsonl": rec.Spans,
		"five.cpu.pb.gz": rec.CPU, "five-flight.trace": flight.Bytes(), "one.trace": one} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// recordOne returns a small execution trace, a seed for fuzzing: one marked
// span that waits on a channel until another goroutine sends, and a wait
// span marked once.
func recordOne() ([]byte, error) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		return nil, err
	}
	ctx := context.Background()
	tid, span, wait := [16]byte{15: 1}, [8]byte{7: 1}, [8]byte{7: 2}
	ch := make(chan int)
	go func() { ch <- 1 }()
	xtrace.Begin(ctx, tid, span, [8]byte{}, "goroutine", "one")
	start := time.Now()
	<-ch
	xtrace.Done(ctx, tid, wait, span, "chan.recv", "chan.recv ch", time.Since(start))
	xtrace.End(ctx, span)
	trace.Stop()
	return buf.Bytes(), nil
}
