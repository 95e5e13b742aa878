package exectrace_test

import (
	"bytes"
	"context"
	"runtime/trace"
	"testing"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"github.com/tracekit-go/tracekit/exporters/file"
	"github.com/tracekit-go/tracekit/internal/exectrace/internal/fivespans"
)

// record runs the five-spans workload under an execution trace started with
// runtime/trace.Start, its spans exported by the real SDK to a span file,
// and returns both files' bytes.
func record(t testing.TB) (exec, spanFile []byte) {
	t.Helper()
	if trace.IsEnabled() {
		t.Skip("an execution trace is already recording (go test -trace)")
	}
	var sb bytes.Buffer
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(file.NewWriter(&sb)),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("fivespans"))))
	var eb bytes.Buffer
	if err := trace.Start(&eb); err != nil {
		t.Fatal(err)
	}
	err := fivespans.Run(context.Background(), tp.Tracer("fivespans"))
	trace.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	return eb.Bytes(), sb.Bytes()
}
