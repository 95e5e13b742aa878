package tracekit

import (
	"context"
	"runtime/pprof"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// The pprof labels that tie CPU samples to spans. They are the names
// Grafana's span profiles read, so that "profiles for this span" finds the
// samples a span's code took.
const (
	// LabelSpanID is the hex span ID of the innermost sampled span active on
	// the goroutine.
	LabelSpanID = "span_id"
	// LabelSpanName is that span's name.
	LabelSpanName = "span_name"
	// LabelTraceID is the hex trace ID of that span.
	LabelTraceID = "trace_id"
)

// KeyProfileID marks a span whose goroutine carried its labels: its value
// is the span's own ID, the [LabelSpanID] its CPU samples carry. Grafana
// shows a "profiles for this span" link on spans that have it.
const KeyProfileID = attribute.Key("pyroscope.profile.id")

// labelers maps the SDK providers of running Kits with profiling to their
// labelling wrappers, so that a task goroutine, whose span comes from the
// SDK provider, finds the wrapper. labelerCount lets every other task skip
// the lookup with one atomic load.
var (
	labelers     sync.Map // *sdktrace.TracerProvider → *labelingProvider
	labelerCount atomic.Int32
)

func registerLabeler(sdk *sdktrace.TracerProvider, lp *labelingProvider) {
	labelers.Store(sdk, lp)
	labelerCount.Add(1)
}

func unregisterLabeler(sdk *sdktrace.TracerProvider) {
	if _, ok := labelers.LoadAndDelete(sdk); ok {
		labelerCount.Add(-1)
	}
}

// labelingProvider wraps a tracer provider so that while a sampled span is
// active on a goroutine, the goroutine's pprof labels name it. Spans started
// through it set the labels at Start and put back the labels of the context
// they were started from at End; they get [KeyProfileID].
//
// The labels belong to the goroutine that started the span: End should be
// called on that goroutine (defer span.End() does). tracekit's task and
// group spans are started on one goroutine and run on another, so they are
// left alone here and labelled where they run (see taskLabels).
type labelingProvider struct {
	embedded.TracerProvider
	tp  trace.TracerProvider
	own *labelingTracer // tracekit's scope, asked for on every task start
}

func newLabelingProvider(tp trace.TracerProvider) *labelingProvider {
	p := &labelingProvider{tp: tp}
	p.own = &labelingTracer{tracer: tp.Tracer(ScopeName), p: p, own: true}
	return p
}

func (p *labelingProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	if name == ScopeName && len(opts) == 0 {
		return p.own
	}
	return &labelingTracer{tracer: p.tp.Tracer(name, opts...), p: p, own: name == ScopeName}
}

type labelingTracer struct {
	embedded.Tracer
	tracer trace.Tracer
	p      *labelingProvider
	own    bool // tracekit's scope: task and group spans are left alone
}

func (t *labelingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	sctx, span := t.tracer.Start(ctx, name, opts...)
	sc := span.SpanContext()
	if !sc.IsSampled() || (t.own && runsElsewhere(span)) {
		return sctx, span
	}
	lctx := withSpanLabels(sctx, sc, name)
	pprof.SetGoroutineLabels(lctx)
	span.SetAttributes(KeyProfileID.String(sc.SpanID().String()))
	ls := &labeledSpan{Span: span, p: t.p, restore: ctx}
	return trace.ContextWithSpan(lctx, ls), ls
}

// runsElsewhere reports whether a span of tracekit's scope is one that is
// started on one goroutine and covers another's work: a task or a group.
func runsElsewhere(span trace.Span) bool {
	ro, ok := span.(sdktrace.ReadOnlySpan)
	if !ok {
		return false
	}
	for _, kv := range ro.Attributes() {
		if kv.Key == KeyKind {
			k := Kind(kv.Value.AsString())
			return k == KindGoroutine || k == KindGroup
		}
	}
	return false
}

func withSpanLabels(ctx context.Context, sc trace.SpanContext, name string) context.Context {
	return pprof.WithLabels(ctx, pprof.Labels(
		LabelSpanID, sc.SpanID().String(),
		LabelSpanName, name,
		LabelTraceID, sc.TraceID().String(),
	))
}

// labeledSpan puts its goroutine's labels back when it ends, and hands out
// the labelling provider so that spans started below it are labelled too.
type labeledSpan struct {
	trace.Span
	p       *labelingProvider
	restore context.Context // the context the span was started from
}

func (s *labeledSpan) End(opts ...trace.SpanEndOption) {
	s.Span.End(opts...)
	pprof.SetGoroutineLabels(s.restore)
}

func (s *labeledSpan) TracerProvider() trace.TracerProvider { return s.p }

// taskLabels runs first in a task's goroutine. When the task's span is
// sampled and comes from a Kit with profiling, it labels the goroutine with
// the span and returns a context that carries the labels and hands out the
// labelling provider; otherwise it returns ctx as it is. The goroutine ends
// with the task, so nothing is restored.
func taskLabels(ctx context.Context, span trace.Span, name string) context.Context {
	if labelerCount.Load() == 0 {
		return ctx
	}
	sc := span.SpanContext()
	if !sc.IsSampled() {
		return ctx
	}
	sdk, ok := span.TracerProvider().(*sdktrace.TracerProvider)
	if !ok {
		return ctx
	}
	v, ok := labelers.Load(sdk)
	if !ok {
		return ctx
	}
	lctx := withSpanLabels(ctx, sc, name)
	pprof.SetGoroutineLabels(lctx)
	span.SetAttributes(KeyProfileID.String(sc.SpanID().String()))
	return trace.ContextWithSpan(lctx, &labeledSpan{Span: span, p: v.(*labelingProvider), restore: lctx})
}
