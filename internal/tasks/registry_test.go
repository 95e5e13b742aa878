package tasks

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/goid"
)

func testSpan(b byte) trace.Span {
	return trace.SpanFromContext(trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: [16]byte{b}, SpanID: [8]byte{b}})))
}

func TestCurrentSpan(t *testing.T) {
	if !goid.Fast {
		t.Skip("tasks do not register their goroutine on this platform")
	}
	sp := testSpan(1)
	if CurrentSpan() != nil {
		t.Fatal("a span before binding")
	}
	r := &Record{ID: 1, Span: sp, SC: sp.SpanContext()}
	r.Bind()
	if s := CurrentSpan(); s == nil || !s.SpanContext().Equal(sp.SpanContext()) || Current() != r {
		t.Error("bound span not found")
	}
	done := make(chan trace.Span)
	go func() { done <- CurrentSpan() }()
	if other := <-done; other != nil {
		t.Error("another goroutine sees the span")
	}
	if got := ByGoid(goid.ID()); got != r {
		t.Errorf("ByGoid = %v, want the bound record", got)
	}
	if ids := IDsByGoid(); ids[goid.ID()] != 1 {
		t.Errorf("IDsByGoid = %v", ids)
	}
	r.Unbind()
	if CurrentSpan() != nil || len(Append(nil)) != 0 {
		t.Error("span still bound")
	}
}

// BenchmarkBindGoroutine is what every task pays so that a slow plain Lock
// can find its span.
func BenchmarkBindGoroutine(b *testing.B) {
	sp := testSpan(1)
	r := &Record{Span: sp, SC: sp.SpanContext()}
	b.ReportAllocs()
	for b.Loop() {
		r.Bind()
		r.Unbind()
	}
}

// A record bound over another is the goroutine's task until it unbinds,
// then the other is again; both are listed and counted meanwhile.
func TestBindOver(t *testing.T) {
	if !goid.Fast {
		t.Skip("tasks do not register their goroutine on this platform")
	}
	outer := &Record{ID: 1, Name: "outer"}
	inner := &Record{ID: 2, Name: "inner"}
	outer.Bind()
	inner.BindOver()
	if Current() != inner || ByGoid(goid.ID()) != inner {
		t.Error("the inner record is not the goroutine's task")
	}
	if n := len(Append(nil)); n != 2 {
		t.Errorf("%d tasks listed, want 2", n)
	}
	if c := CountByName(); c["outer"] != 1 || c["inner"] != 1 {
		t.Errorf("counts %v", c)
	}
	inner.Unbind()
	if Current() != outer {
		t.Error("the outer record is not the goroutine's task again")
	}
	outer.Unbind()
	if Current() != nil || len(Append(nil)) != 0 {
		t.Error("still bound")
	}
}
