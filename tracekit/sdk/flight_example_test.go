package sdk_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// keep is a span exporter that keeps what it is given.
type keep struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (k *keep) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.spans = append(k.spans, spans...)
	return nil
}

func (k *keep) Shutdown(context.Context) error { return nil }

// A span of tracekit's that ends slower than the slow-span threshold asks
// the flight recorder for a snapshot of the execution trace's last seconds
// and names the file in tracekit.flight.file; faster spans ask for none.
// flamegen reads the file beside the span file.
func ExampleWithFlightRecorder() {
	dir, err := os.MkdirTemp("", "flight")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	spans := &keep{}
	kit, err := sdk.Start(context.Background(),
		sdk.WithSpanExporter(spans),
		sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithFlightRecorder(dir, sdk.FlightSlowSpan(50*time.Millisecond), sdk.FlightMaxFiles(4)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, d := range []time.Duration{0, 100 * time.Millisecond} {
		_, span := tracekit.SpanNamed(ctx, fmt.Sprintf("checkout in %v", d))
		time.Sleep(d)
		span.End(nil)
	}
	shutdownCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = kit.Shutdown(shutdownCtx) // exports the spans and writes the snapshots asked for

	for _, s := range spans.spans {
		file := ""
		for _, kv := range s.Attributes() {
			if kv.Key == "tracekit.flight.file" {
				file = kv.Value.AsString()
			}
		}
		fi, err := os.Stat(file)
		fmt.Printf("%s: snapshot written: %v\n", s.Name(), err == nil && fi.Size() > 0)
	}
	// Output:
	// checkout in 0s: snapshot written: false
	// checkout in 100ms: snapshot written: true
}
