package tracekit

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/goid"
)

func TestGoroutineSpan(t *testing.T) {
	if !goid.Fast {
		t.Skip("tasks do not register their goroutine on this platform")
	}
	rec := newRecorder(t)
	_, sp := rec.root(context.Background())
	defer sp.End()
	if goroutineSpan() != nil {
		t.Fatal("a span before binding")
	}
	g := bindGoroutine(&Task{span: sp, sc: sp.SpanContext()})
	if goroutineSpan() != sp {
		t.Error("bound span not found")
	}
	done := make(chan trace.Span)
	go func() { done <- goroutineSpan() }()
	if other := <-done; other != nil {
		t.Error("another goroutine sees the span")
	}
	unbindGoroutine(g)
	if goroutineSpan() != nil {
		t.Error("span still bound")
	}
}

// BenchmarkBindGoroutine is what every task pays so that a slow plain Lock
// can find its span.
func BenchmarkBindGoroutine(b *testing.B) {
	sp := trace.SpanFromContext(trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: [16]byte{1}, SpanID: [8]byte{1}})))
	t := &Task{span: sp, sc: sp.SpanContext()}
	b.ReportAllocs()
	for b.Loop() {
		unbindGoroutine(bindGoroutine(t))
	}
}
