package tracelog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/semconv"
)

// A report made in another goroutine about a span carries that span's IDs
// and, at ERROR, becomes an event on it.
func TestLogger(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	_, root := tp.Tracer("test").Start(context.Background(), "root")
	var buf bytes.Buffer
	base := slog.New(slog.NewJSONHandler(&buf, nil))
	l := Logger(base)
	if Logger(l) != l {
		t.Error("Logger of a trace logger made a new one")
	}
	if _, ok := Logger(nil).Handler().(*logHandler); !ok {
		t.Error("Logger(nil) is not over slog.Default")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.ErrorContext(trace.ContextWithSpan(context.Background(), root), "watchdog: stuck", "lock", "accounts")
	}()
	<-done
	root.End()
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if line[semconv.LogSpanID] != root.SpanContext().SpanID().String() || line[semconv.LogTraceID] != root.SpanContext().TraceID().String() {
		t.Errorf("log %v, want the root span's IDs", line)
	}
	ended := rec.Ended()
	if len(ended) != 1 || len(ended[0].Events()) != 1 {
		t.Fatalf("spans %v", ended)
	}
	ev := ended[0].Events()[0]
	if ev.Name != "watchdog: stuck" || len(ev.Attributes) < 2 || !slices.ContainsFunc(ev.Attributes, func(kv attribute.KeyValue) bool {
		return kv.Key == "lock" && kv.Value.AsString() == "accounts"
	}) {
		t.Errorf("event %+v", ev)
	}
}
