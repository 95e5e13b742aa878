package tasks

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Labeler labels the goroutine of a task whose span came from a tracer
// provider with profiling on, and returns the context the task's function
// then receives.
type Labeler func(ctx context.Context, span trace.Span, name string) context.Context

// labelers maps the tracer providers of running setups with profiling to
// their labelers, so that a task goroutine, whose span comes from such a
// provider, finds its labeler. labelerCount lets every other task skip the
// lookup with one atomic load.
var (
	labelers     sync.Map // trace.TracerProvider → Labeler
	labelerCount atomic.Int32
)

// SetLabeler makes f label the goroutines of tasks whose spans come from
// tp, until RemoveLabeler(tp). tp must be comparable.
func SetLabeler(tp trace.TracerProvider, f Labeler) {
	if !reflect.TypeOf(tp).Comparable() {
		return
	}
	if _, loaded := labelers.Swap(tp, f); !loaded {
		labelerCount.Add(1)
	}
}

// RemoveLabeler undoes SetLabeler.
func RemoveLabeler(tp trace.TracerProvider) {
	if !reflect.TypeOf(tp).Comparable() {
		return
	}
	if _, ok := labelers.LoadAndDelete(tp); ok {
		labelerCount.Add(-1)
	}
}

// GoroutineLabeler labels a task's goroutine with the task's ID, so that
// the goroutine can be told apart in a goroutine profile, and returns the
// context the task's function then receives.
type GoroutineLabeler func(ctx context.Context, id uint64) context.Context

// goroutineLabeling is the one GoroutineLabeler and the function that
// puts a goroutine's labels back to a context's, nil until set: every task
// pays one atomic load for it. labelingSince is when it was set.
var (
	goroutineLabeling atomic.Pointer[labeling]
	labelingSince     atomic.Int64 // Unix nanoseconds
)

type labeling struct {
	label   GoroutineLabeler
	restore func(ctx context.Context)
}

// SetGoroutineLabeler makes every task started from now on label its
// goroutine with f, for good; restore sets the calling goroutine's labels
// to those ctx carries, for a task bound to a goroutine it did not start
// when its call returns. Only the first call has an effect.
func SetGoroutineLabeler(f GoroutineLabeler, restore func(ctx context.Context)) {
	labelingSince.CompareAndSwap(0, time.Now().UnixNano())
	goroutineLabeling.CompareAndSwap(nil, &labeling{label: f, restore: restore})
}

// LabelCall labels the calling goroutine for r, a task bound to it for the
// length of a call (tracekit.Do, Bind), with a GoroutineLabeler set. It
// returns the context the call's function receives and a function the call
// runs when it returns, which puts the goroutine's labels back to those of
// ctx; without a labeler, ctx and nil.
func LabelCall(ctx context.Context, r *Record) (context.Context, func()) {
	l := goroutineLabeling.Load()
	if l == nil {
		return ctx, nil
	}
	return l.label(ctx, r.ID), func() { l.restore(ctx) }
}

// LabeledSince returns when SetGoroutineLabeler was first called: tasks
// started after it label their goroutines. Zero when it has not been.
func LabeledSince() time.Time {
	if ns := labelingSince.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Label runs first in a task's goroutine: when the task's span is sampled
// and comes from a provider with a labeler, it returns what the labeler
// makes of ctx, then, with a GoroutineLabeler set, what that makes of it;
// otherwise ctx as it is.
func Label(ctx context.Context, span trace.Span, r *Record) context.Context {
	if labelerCount.Load() != 0 && span.SpanContext().IsSampled() {
		if tp := span.TracerProvider(); tp != nil && reflect.TypeOf(tp).Comparable() {
			if f, ok := labelers.Load(tp); ok {
				ctx = f.(Labeler)(ctx, span, r.Name)
			}
		}
	}
	if l := goroutineLabeling.Load(); l != nil {
		ctx = l.label(ctx, r.ID)
	}
	return ctx
}
