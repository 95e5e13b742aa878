package tracekit

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/xtrace"
)

// Spans mark themselves in a Go execution trace while one records (package
// internal/xtrace): a task on its own goroutine, once, as its function
// starts (a reader ends it with the goroutine, which ends right after the
// span: one marker instead of two, each a trace.Log with a stack); a
// function span where Span and End are called. Only recording spans are
// marked: a span that is not recorded has no ID of its own to join, or none
// that reaches a span file. Callers check xtrace.Enabled first, so that
// nothing here runs, and no field is gathered, while no trace records.

// markBegin marks the start of span, a child of parent, on the calling
// goroutine.
func markBegin(ctx context.Context, span trace.Span, parent trace.SpanID, kind, name string) {
	if !span.IsRecording() {
		return
	}
	sc := span.SpanContext()
	xtrace.Begin(ctx, sc.TraceID(), sc.SpanID(), parent, kind, name)
}

// markTask marks the start of a task's span on its goroutine, which the
// span lasts as long as.
func markTask(ctx context.Context, span trace.Span, name string) {
	if !span.IsRecording() {
		return
	}
	sc := span.SpanContext()
	xtrace.BeginGoroutine(ctx, sc.TraceID(), sc.SpanID(), parentOf(span), semconv.KindGoroutine, name)
}

// markEnd marks the end of span, which must still be recording.
func markEnd(ctx context.Context, span trace.Span) {
	if span.IsRecording() {
		xtrace.End(ctx, span.SpanContext().SpanID())
	}
}

// parentOf returns the ID of span's parent when the span can say (the
// OpenTelemetry SDK's spans can), else the zero ID.
func parentOf(span trace.Span) trace.SpanID {
	if p, ok := span.(interface{ Parent() trace.SpanContext }); ok {
		return p.Parent().SpanID()
	}
	return trace.SpanID{}
}

// ending runs right before a function span ends: as [Task.ending], with
// the span's own start time.
func ending(span trace.Span) {
	if xtrace.Enabled() {
		markEnd(context.Background(), span)
	}
	if d := detect.Active(); d != nil && d.SlowSpan() > 0 {
		d.SpanEnding(span, detect.Elapsed(span))
	}
}

// growStack grows the calling goroutine's stack at once to what a task
// needs while an execution trace records. A task's goroutine starts with a
// small stack, and its marker, and later its span's end, capture stacks for
// the trace deep in the runtime: the stack would grow there, twice, each
// time copying every frame below. Grown first, while only the task's own
// frame is below, it is copied once and cheaply (BenchmarkGoExecTrace:
// without it the marker made tracekit.Go under a trace a quarter slower).
//
//go:noinline
func growStack() {
	var pad [6 << 10]byte
	keepStack(&pad)
}

//go:noinline
func keepStack(*[6 << 10]byte) {}
