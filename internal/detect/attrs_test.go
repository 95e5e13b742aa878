package detect

import (
	"context"
	"reflect"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// Under a remote parent, extracted from a request, spans start from the
// global provider: the parent's own provider is a no-op.
func TestTracerUnderRemoteParent(t *testing.T) {
	remote := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: [16]byte{1}, SpanID: [8]byte{1}, TraceFlags: trace.FlagsSampled, Remote: true}))
	noop := trace.SpanFromContext(remote).TracerProvider().Tracer("x")
	got, global := Tracer(remote), Tracer(context.Background())
	if got != global || reflect.TypeOf(got) == reflect.TypeOf(noop) {
		t.Errorf("under a remote parent: tracer %T, want the global provider's %T", got, global)
	}
}
