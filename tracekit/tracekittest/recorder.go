package tracekittest

import (
	"context"
	"slices"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Recorder keeps the spans of one test in memory. Spans started under a
// span of its provider, including the spans of tracekit.Go and Group
// started with such a context, are recorded without touching the global
// tracer provider, so tests using separate recorders can run in parallel.
// It is safe for concurrent use.
type Recorder struct {
	rec *tracetest.SpanRecorder
	tp  *sdktrace.TracerProvider
}

// NewRecorder returns a Recorder whose provider is shut down when the test
// ends.
func NewRecorder(t TestingT) *Recorder {
	t.Helper()
	r := &Recorder{rec: tracetest.NewSpanRecorder()}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.rec))
	t.Cleanup(func() { _ = r.tp.Shutdown(context.Background()) })
	return r
}

// TracerProvider returns the recorder's provider.
func (r *Recorder) TracerProvider() *sdktrace.TracerProvider { return r.tp }

// Start starts a span of the recorder's provider: the root to run the code
// under test beneath.
func (r *Recorder) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return r.tp.Tracer("tracekittest").Start(ctx, name, opts...)
}

// Ended returns the spans that have ended, in the order they ended.
func (r *Recorder) Ended() []sdktrace.ReadOnlySpan { return r.rec.Ended() }

// Named returns the ended spans called name.
func (r *Recorder) Named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// Children returns the ended spans whose parent is parent.
func (r *Recorder) Children(parent trace.SpanContext) []sdktrace.ReadOnlySpan {
	return slices.DeleteFunc(r.rec.Ended(), func(s sdktrace.ReadOnlySpan) bool {
		return s.Parent().SpanID() != parent.SpanID() || s.Parent().TraceID() != parent.TraceID()
	})
}
