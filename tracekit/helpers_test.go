package tracekit

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// recorder gives a test its own tracer provider and a root span to start
// tasks under, so no test touches the global provider.
type recorder struct {
	t   *testing.T
	rec *tracetest.SpanRecorder
	tp  *sdktrace.TracerProvider
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &recorder{t: t, rec: rec, tp: tp}
}

// root starts a root span; end it to have it recorded.
func (r *recorder) root(ctx context.Context) (context.Context, trace.Span) {
	return r.tp.Tracer("test").Start(ctx, "root")
}

func (r *recorder) span(name string) sdktrace.ReadOnlySpan {
	r.t.Helper()
	var found sdktrace.ReadOnlySpan
	for _, s := range r.rec.Ended() {
		if s.Name() == name {
			if found != nil {
				r.t.Fatalf("two ended spans named %q", name)
			}
			found = s
		}
	}
	if found == nil {
		r.t.Fatalf("no ended span named %q; have %v", name, names(r.rec.Ended()))
	}
	return found
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func attr(s sdktrace.ReadOnlySpan, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func eventAttr(e sdktrace.Event, key attribute.Key) string {
	for _, kv := range e.Attributes {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}
