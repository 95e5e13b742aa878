package tracekit

import (
	"context"
	"runtime/debug"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

// KindFunction marks the span of a function call started by [Span]; it
// covers the call from [Span] to [FuncSpan.End].
const KindFunction Kind = semconv.KindFunction

// FuncSpan is the span of one function call, returned by [Span]. It embeds
// the OpenTelemetry span, so SetAttributes, AddEvent, SpanContext and the
// rest are at hand; its End takes a pointer to the function's error instead
// of end options. It is a small value meant to be copied: a FuncSpan and its
// copies stand for the same span. Its methods are safe for concurrent use as
// far as the embedded span's are.
type FuncSpan struct {
	trace.Span
}

// Span starts a span for the function that calls it and returns a context
// holding the span. The span is named after the calling function as
// pkg.(*Type).Method (pkg.Func for a plain function, with .funcN for a
// closure), and records where Span was called (code.function.name with the
// full import path, code.file.path, code.line.number) and
// tracekit.kind=function. The name is found once per call site and cached,
// so a call costs the OpenTelemetry span plus a cache lookup.
//
// The span is a child of the span in ctx and uses that span's tracer
// provider; with no span in ctx it uses the global provider. End it with
// [FuncSpan.End], deferred right after the call:
//
//	func (s *Store) Load(ctx context.Context, id string) (err error) {
//		ctx, span := tracekit.Span(ctx)
//		defer span.End(&err)
//		...
//	}
//
// [WithSpanName] replaces the name, [WithSpanAttributes] and [WithSpanKind]
// add to what the span records. Span is safe for concurrent use.
func Span(ctx context.Context, opts ...SpanOption) (context.Context, FuncSpan) {
	site := tasks.SiteOf(1, semconv.KindFunction)
	tracer := tracerFor(ctx)
	var span trace.Span
	if len(opts) == 0 {
		ctx, span = tracer.Start(ctx, funcSpanName(site), site.Opt)
	} else {
		ctx, span = startWithOptions(ctx, tracer, site, opts)
	}
	return ctx, FuncSpan{Span: span}
}

// startWithOptions is the slower path of Span, kept apart so that a call
// without options does not move a spanConfig to the heap.
func startWithOptions(ctx context.Context, tracer trace.Tracer, site *tasks.Site, opts []SpanOption) (context.Context, trace.Span) {
	var c spanConfig
	for _, o := range opts {
		o.applySpan(&c)
	}
	name := c.name
	if name == "" {
		name = funcSpanName(site)
	}
	startOpts := []trace.SpanStartOption{site.Opt}
	if len(c.attrs) > 0 {
		startOpts = append(startOpts, trace.WithAttributes(c.attrs...))
	}
	if c.kind != trace.SpanKindUnspecified {
		startOpts = append(startOpts, trace.WithSpanKind(c.kind))
	}
	return tracer.Start(ctx, name, startOpts...)
}

// funcSpanName is code.function.name of site without its import path:
// github.com/acme/store.(*Store).Load becomes store.(*Store).Load. Slicing
// the cached string allocates nothing.
func funcSpanName(site *tasks.Site) string {
	if site == nil {
		return "unknown"
	}
	for _, kv := range site.Attrs {
		if kv.Key == otelsemconv.CodeFunctionNameKey {
			fn := kv.Value.AsString()
			return fn[strings.LastIndexByte(fn, '/')+1:]
		}
	}
	return "unknown"
}

// End ends the span. Call it deferred, directly (defer span.End(&err), not
// inside another deferred function), with a pointer to the function's named
// error result, or nil when the function returns no error:
//
//   - when *errp is not nil, the span gets an exception event for it
//     (exception.type, exception.message) and status Error with the error
//     message;
//   - when a panic passes through, End recovers it, records an exception
//     event with the panic value and the stack, tracekit.panic=true and
//     status Error "panic: <value>", ends the span and panics again with the
//     same value, so the program behaves as if End were not there. The
//     crash report then says "[recovered, repanicked]" and still shows where
//     the panic started.
//
// End on a zero FuncSpan only re-panics a passing panic.
func (s FuncSpan) End(errp *error) {
	if v := recover(); v != nil {
		if s.Span != nil {
			if s.Span.IsRecording() {
				recordPanic(s.Span, &PanicError{Value: v, Stack: debug.Stack()})
			}
			s.Span.End()
		}
		panic(v)
	}
	if s.Span == nil {
		return
	}
	if errp != nil && *errp != nil && s.Span.IsRecording() {
		recordError(s.Span, *errp)
	}
	s.Span.End()
}

// recordError gives span an exception event and the error status for err.
//
//go:noinline
func recordError(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// SpanOption configures one call of [Span].
type SpanOption interface{ applySpan(*spanConfig) }

type spanConfig struct {
	name  string
	attrs []attribute.KeyValue
	kind  trace.SpanKind
}

type spanOptionFunc func(*spanConfig)

func (f spanOptionFunc) applySpan(c *spanConfig) { f(c) }

// WithSpanName gives the span this name instead of naming it after the calling function.
// code.function.name still says which function started it.
func WithSpanName(name string) SpanOption {
	return spanOptionFunc(func(c *spanConfig) { c.name = name })
}

// WithSpanAttributes adds attributes to the span when it starts.
func WithSpanAttributes(attrs ...attribute.KeyValue) SpanOption {
	return spanOptionFunc(func(c *spanConfig) { c.attrs = append(c.attrs, attrs...) })
}

// WithSpanKind sets the OpenTelemetry span kind (server, client, producer,
// consumer). Default: internal.
func WithSpanKind(kind trace.SpanKind) SpanOption {
	return spanOptionFunc(func(c *spanConfig) { c.kind = kind })
}
