package tasks

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"

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

// Label runs first in a task's goroutine: when the task's span is sampled
// and comes from a provider with a labeler, it returns what the labeler
// makes of ctx; otherwise ctx as it is.
func Label(ctx context.Context, span trace.Span, name string) context.Context {
	if labelerCount.Load() == 0 || !span.SpanContext().IsSampled() {
		return ctx
	}
	tp := span.TracerProvider()
	if tp == nil || !reflect.TypeOf(tp).Comparable() {
		return ctx
	}
	f, ok := labelers.Load(tp)
	if !ok {
		return ctx
	}
	return f.(Labeler)(ctx, span, name)
}
