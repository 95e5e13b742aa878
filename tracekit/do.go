package tracekit

import (
	"context"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/internal/testname"
	"github.com/tracekit-go/tracekit/internal/xtrace"
)

// Do runs fn on the calling goroutine as a task named name, under its own
// span, a child of the span in ctx, and returns fn's error. It is [Go] for
// work on a goroutine tracekit did not start (an HTTP or RPC handler, a
// library's callback): while fn runs, the goroutine is listed as the task,
// its lock and channel waits are children of the task's span, and reports
// found on it carry the task's trace. The span records what Go's does
// (where Do was called, fn's error, a panic, a cancellation); a panic is
// recovered and returned as a [*PanicError]. Calls nest: an inner Do's task
// is the goroutine's until it returns, a child of the outer one.
//
//go:noinline
func Do(ctx context.Context, name string, fn func(context.Context) error, opts ...trace.SpanStartOption) error {
	t := newBound(ctx, name, callSite(goid.CallerPC(), semconv.KindTask))
	pctx := ctx
	tracer := detect.Tracer(ctx)
	ctx, span := startWith(ctx, tracer, name, t.rec.Site.Opts, opts)
	if xtrace.Enabled() {
		markBegin(ctx, span, trace.SpanContextFromContext(pctx).SpanID(), semconv.KindTask, name)
	}
	t.call(ctx, span, fn, true)
	return t.err
}

// Bind is [Do] without a span of its own: the task's span is the one in
// ctx, which stays its caller's to end. Use it where a span already stands
// for the work, such as the server span otelhttp or otelgrpc start for a
// request. Bind records a panic of fn on that span, recovers it and returns
// a [*PanicError]; fn's error it only returns. With no valid span in ctx
// the task is listed but not traced.
//
//go:noinline
func Bind(ctx context.Context, name string, fn func(context.Context) error) error {
	t := newBound(ctx, name, callSite(goid.CallerPC(), semconv.KindTask))
	t.call(ctx, trace.SpanFromContext(ctx), fn, false)
	return t.err
}

// newBound makes the task of a Do or Bind call. Its parent is the task in
// ctx, else the task the calling goroutine runs, if any.
func newBound(ctx context.Context, name string, site *tasks.Site) *Task {
	t := &Task{rec: tasks.Record{ID: taskIDs.Add(1), Name: name, Site: site, Start: time.Now()}}
	site.CountStart() // tracekit.task.started
	p := &t.rec
	if pt := taskFrom(ctx); pt != nil {
		p = &pt.rec
	} else if cur := tasks.Current(); cur != nil {
		p = cur
	}
	switch {
	case p != &t.rec:
		t.rec.Parent, t.rec.Origin = p.ID, p.Origin
	case goid.FastID():
		// The chain begins on this goroutine, which the task runs on: the
		// leak checks go on from it to its creator.
		t.rec.Origin = goid.ID()
		if testname.Enabled() {
			testname.Note(t.rec.Origin, 2)
		}
	}
	return t
}

// call runs fn as the bound task t on the calling goroutine: the goroutine
// is t's until call returns, panics through or exits. owned says span is
// t's own, which call ends. In a goroutine dump, call's frame, t its
// receiver, ties the goroutine to the task (tasks.CallFunc).
//
//go:noinline
func (t *Task) call(ctx context.Context, span trace.Span, fn func(context.Context) error, owned bool) {
	t.rec.SC = span.SpanContext()
	t.rec.Span = span
	t.rec.BindOver()
	defer t.endCall(span, owned)
	if lctx, restore := tasks.LabelCall(ctx, &t.rec); restore != nil {
		ctx = lctx
		defer restore()
	}
	t.tctx = taskContext{Context: ctx, t: t}
	t.err = fn(&t.tctx)
	t.returned = true
}

// endCall runs deferred in call. It records fn's outcome on an owned span
// and ends it, unbinds the task and records it ended; a panic it recovers
// into t.err, and a runtime.Goexit it lets go on.
func (t *Task) endCall(span trace.Span, owned bool) {
	var pe *PanicError
	if !t.returned {
		if v := recover(); v != nil {
			pe = &PanicError{Task: t.rec.Name, Value: v, Stack: debug.Stack()}
			t.err = pe
		} else {
			t.err = ErrGoexit
		}
	}
	ctx := &t.tctx
	switch {
	case owned && span.IsRecording() && (t.err != nil || ctx.Err() != nil):
		err := t.err
		if pe != nil {
			err = nil
		}
		recordOutcome(ctx, span, err, pe)
	case !owned && pe != nil && span.IsRecording():
		recordPanic(span, pe)
	}
	if owned {
		ending(span)
		span.End()
	}
	t.rec.Unbind()
	t.rec.EndCall(taskResult(t.err))
}
