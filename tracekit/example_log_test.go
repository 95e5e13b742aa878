package tracekit_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/tracekit"
)

// withoutTime keeps the example's output the same from run to run.
func withoutTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func ExampleLogHandler() {
	logger := slog.New(tracekit.LogHandler(
		slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: withoutTime})))

	// A context holding a span, as an incoming request with a traceparent
	// header gives one.
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)

	logger.InfoContext(ctx, "loaded", "id", "u1")
	logger.WithGroup("req").InfoContext(ctx, "served", "status", 200)
	logger.Info("no span, no IDs")
	// Output:
	// {"level":"INFO","msg":"loaded","id":"u1","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}
	// {"level":"INFO","msg":"served","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","req":{"status":200}}
	// {"level":"INFO","msg":"no span, no IDs"}
}

// An ERROR record logged under a recording span is also an event on it, so
// the trace shows what went wrong where it went wrong.
func ExampleLogHandler_spanEvents() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("example").Start(context.Background(), "checkout")

	logger := slog.New(tracekit.LogHandler(slog.DiscardHandler))
	logger.InfoContext(ctx, "cart loaded", "items", 3)
	logger.ErrorContext(ctx, "payment declined", "card", "visa", "code", 51)
	span.End()

	for _, e := range rec.Ended()[0].Events() {
		fmt.Print(e.Name, ":")
		for _, kv := range e.Attributes {
			switch kv.Key {
			case "tracekit.log.level", "card", "code":
				fmt.Printf(" %s=%s", kv.Key, kv.Value.Emit())
			}
		}
		fmt.Println()
	}
	// Output:
	// payment declined: tracekit.log.level=ERROR card=visa code=51
}
