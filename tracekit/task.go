package tracekit

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/internal/testname"
	"github.com/tracekit-go/tracekit/internal/xtrace"
)

// PanicError is what [Task.Wait] and [Group.Wait] return when a task's
// function panicked. The panic was recovered in the task's goroutine and
// recorded on its span as an exception event.
type PanicError struct {
	Task  string // the task's name
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack, as debug.Stack prints it
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("tracekit: task %q panicked: %v", e.Task, e.Value)
}

// Unwrap returns the panic value when it is an error, so that errors.Is and
// errors.As see through to it.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// taskIDs numbers tasks in start order, process-wide.
var taskIDs atomic.Uint64

// Task is a goroutine started by [Go] or [Group.Go], with its own span. Its
// methods are safe for concurrent use.
type Task struct {
	// rec is what the registry lists. It is the first field: a goroutine
	// dump prints (*Task).run's receiver, which is then the record's
	// address, and that ties the goroutine to the registry.
	rec tasks.Record
	end taskEnd
	err error // written once before the task is marked done

	returned bool        // fn returned normally; only the task's goroutine uses it
	tctx     taskContext // the context fn receives carries the task
}

// taskEnd says when a task is done: Wait blocks on wg, and the channel
// Done returns is made only when it is asked for, so that a task that is
// only waited for costs no channel.
type taskEnd struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	ch   chan struct{} // made by Done
	done atomic.Bool
}

// finish marks the task done: Err and Done see it, Wait returns.
func (e *taskEnd) finish() {
	e.mu.Lock()
	e.done.Store(true)
	if e.ch != nil {
		close(e.ch)
	}
	e.mu.Unlock()
	e.wg.Done()
}

// taskContext is the context a task's function receives: it carries the
// task, so that tasks started from it know their parent. It lives inside the
// Task so that carrying it costs no allocation.
type taskContext struct {
	context.Context
	t *Task
}

type taskContextKey struct{}

func (c *taskContext) Value(key any) any {
	if key == (taskContextKey{}) {
		return c.t
	}
	return c.Context.Value(key)
}

// taskFrom returns the task whose function received ctx (or a context made
// from it), or nil.
func taskFrom(ctx context.Context) *Task {
	t, _ := ctx.Value(taskContextKey{}).(*Task)
	return t
}

// ErrGoexit is what [Task.Wait] returns when the task's function called
// runtime.Goexit (t.FailNow and t.SkipNow in a test do) instead of returning.
var ErrGoexit = errors.New("tracekit: task function called runtime.Goexit")

// ID returns the task's process-unique number, in start order.
func (t *Task) ID() uint64 { return t.rec.ID }

// Name returns the name the task was started with.
func (t *Task) Name() string { return t.rec.Name }

// SpanContext returns the context of the task's span; it is invalid when the
// task is not traced.
func (t *Task) SpanContext() trace.SpanContext { return t.rec.SC }

// Done returns a channel closed when the task's function has returned (or
// panicked) and its span has ended.
func (t *Task) Done() <-chan struct{} {
	t.end.mu.Lock()
	defer t.end.mu.Unlock()
	if t.end.ch == nil {
		t.end.ch = make(chan struct{})
		if t.end.done.Load() {
			close(t.end.ch)
		}
	}
	return t.end.ch
}

// Wait blocks until the task is done and returns the error its function
// returned, or a [*PanicError] if it panicked.
func (t *Task) Wait() error {
	t.end.wg.Wait()
	return t.err
}

// Err returns what [Task.Wait] would, without blocking: nil while the task is
// still running.
func (t *Task) Err() error {
	if t.end.done.Load() {
		return t.err
	}
	return nil
}

// ScopeName is the instrumentation scope of every span and instrument
// tracekit creates.
const ScopeName = semconv.ScopeName

// Go runs fn in a new goroutine under its own span named name, a child of
// the span in ctx, with opts added to the span's start options. The span
// records where Go was called (code.*), takes an error status from fn's
// error, records a panic (recovered: [Task.Wait] returns a [*PanicError])
// and, if ctx is done when fn returns, context.Cause(ctx). fn receives a
// context holding the new span.
//
//go:noinline
func Go(ctx context.Context, name string, fn func(context.Context) error, opts ...trace.SpanStartOption) *Task {
	site := callSite(goid.CallerPC(), semconv.KindGoroutine)
	return start(ctx, name, site, site.Opts, fn, opts, nil)
}

// callSite returns the site, of the given kind, of the call whose return
// address is pc: goid.CallerPC() read in the exported function the user
// called, which is marked go:noinline so that the address is the user's.
// Where CallerPC reads nothing, the stack is walked instead.
func callSite(pc uintptr, kind string) *tasks.Site {
	if pc != 0 {
		return tasks.SiteAt(pc, kind)
	}
	return tasks.SiteOf(2, kind)
}

// start launches a task. site is the spawn site, siteOpts its option
// followed by any its launcher (a Group) adds, opts the caller's; onDone,
// if not nil, runs in the task's goroutine with its result once Done is
// closed.
func start(ctx context.Context, name string, site *tasks.Site, siteOpts []trace.SpanStartOption, fn func(context.Context) error, opts []trace.SpanStartOption, onDone func(error)) *Task {
	t := &Task{rec: tasks.Record{ID: taskIDs.Add(1), Name: name, Site: site, Start: time.Now()}}
	t.end.wg.Add(1)
	site.CountStart() // tracekit.task.started
	if p := taskFrom(ctx); p != nil {
		t.rec.Parent, t.rec.Origin = p.rec.ID, p.rec.Origin
	} else if goid.FastID() {
		// Where the goroutine ID costs a stack trace, tasks keep no lineage
		// (leak checks then follow live creators only).
		t.rec.Origin = goid.ID()
		if testname.Enabled() { // in tests under VerifyTestMain: which test began the chain
			testname.Note(t.rec.Origin, 2)
		}
	}

	// The site's and the group's options are made once per call site and
	// per group; only the caller's own are added here.
	ctx, span := startWith(ctx, detect.Tracer(ctx), name, siteOpts, opts)
	t.rec.SC = span.SpanContext()
	t.rec.Span = span
	t.tctx = taskContext{Context: ctx, t: t}

	go t.run(&t.tctx, span, fn, onDone)
	return t
}

// run is the task's goroutine. The common path ends the span from run
// itself: span.End's call chain is what makes a fresh goroutine's small
// stack grow, and the copy costs more the more frames lie below it. The
// panic path is in the deferred recoverPanic.
func (t *Task) run(ctx context.Context, span trace.Span, fn func(context.Context) error, onDone func(error)) {
	ctx = tasks.Label(ctx, span, &t.rec) // pprof labels for the span (profiling) and the task (console)
	t.rec.Bind()                         // listed until release; a slow Lock here attaches to span
	if xtrace.Enabled() {
		growStack()
		markTask(ctx, span, t.rec.Name)
	}
	defer t.recoverPanic(ctx, span, onDone)
	t.err = fn(ctx)
	t.returned = true
	if (t.err != nil || ctx.Err() != nil) && span.IsRecording() {
		recordOutcome(ctx, span, t.err, nil)
	}
	t.ending(ctx, span)
	span.End()
	t.release(onDone)
}

// ending runs right before the task's span ends: past the slow-span
// threshold, it has the flight recorder snapshot the execution trace (see
// sdk.FlightSlowSpan). The span's end needs no marker, as its goroutine
// ends right after, but for a snapshot, which may be taken before that. It
// returns before span.End, which run calls itself.
func (t *Task) ending(ctx context.Context, span trace.Span) {
	if d := detect.Active(); d != nil && d.SlowSpan() > 0 && d.Slow(span, time.Since(t.rec.Start)) {
		if xtrace.Enabled() {
			xtrace.End(ctx, span.SpanContext().SpanID())
		}
		d.SnapshotSpan(span)
	}
}

// release takes the task out of the registry, so that a Snapshot after
// Wait returns no longer lists it, lets Wait return and tells the group, if
// any.
func (t *Task) release(onDone func(error)) {
	t.rec.Unbind()
	t.rec.End(taskResult(t.err)) // for the console's page of an ended task and the leak lineage
	t.end.finish()
	if onDone != nil {
		onDone(t.err)
	}
}

// recoverPanic runs deferred in the task's goroutine. If fn panicked, it
// records the panic, ends the span and releases Wait with a [*PanicError].
// If fn called runtime.Goexit (as t.FailNow does in a test), it ends the
// span and releases Wait with [ErrGoexit].
func (t *Task) recoverPanic(ctx context.Context, span trace.Span, onDone func(error)) {
	v := recover()
	if v == nil {
		if !t.returned {
			t.err = ErrGoexit
			if span.IsRecording() {
				recordOutcome(ctx, span, ErrGoexit, nil)
			}
			t.ending(ctx, span)
			span.End()
			t.release(onDone)
		}
		return
	}
	pe := &PanicError{Task: t.rec.Name, Value: v, Stack: debug.Stack()}
	t.err = pe
	if span.IsRecording() {
		recordOutcome(ctx, span, nil, pe)
	}
	t.ending(ctx, span)
	span.End()
	t.release(onDone)
}

// recordOutcome puts a panic, an error or a cancellation on the span.
//
//go:noinline
func recordOutcome(ctx context.Context, span trace.Span, err error, pe *PanicError) {
	switch {
	case pe != nil:
		recordPanic(span, pe)
	case err != nil:
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	if ctx.Err() != nil {
		attrs := []attribute.KeyValue{attribute.Bool(semconv.Canceled, true)}
		if cause := context.Cause(ctx); cause != nil {
			attrs = append(attrs, attribute.String(semconv.CancelCause, cause.Error()))
		}
		span.SetAttributes(attrs...)
	}
}

func recordPanic(span trace.Span, pe *PanicError) {
	msg := fmt.Sprint(pe.Value)
	span.AddEvent(string(otelsemconv.ExceptionEventName), trace.WithAttributes(
		otelsemconv.ExceptionType(panicType(pe.Value)),
		otelsemconv.ExceptionMessage(msg),
		otelsemconv.ExceptionStacktrace(string(pe.Stack)),
	))
	span.SetAttributes(attribute.Bool(semconv.Panic, true))
	span.SetStatus(codes.Error, "panic: "+msg)
}

func panicType(v any) string {
	if err, ok := v.(error); ok {
		var re interface{ RuntimeError() }
		if errors.As(err, &re) {
			return "runtime.Error"
		}
	}
	return fmt.Sprintf("%T", v)
}

// taskResult says how a task ended: "ok", "error", "panic" or "goexit",
// with the error's text or the panic's value.
func taskResult(err error) (result, text string) {
	if err == nil {
		return "ok", "" // what nearly every task pays: no allocation
	}
	var pe *PanicError
	switch {
	case errors.As(err, &pe):
		return "panic", fmt.Sprint(pe.Value)
	case errors.Is(err, ErrGoexit):
		return "goexit", err.Error()
	}
	return "error", err.Error()
}
