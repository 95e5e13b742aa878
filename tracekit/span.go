package tracekit

import (
	"context"
	"runtime/debug"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/internal/xtrace"
)

// FuncSpan is the span of one function call, returned by [Span]. It embeds
// the OpenTelemetry span, so SetAttributes, AddEvent, SpanContext and the
// rest are at hand; its End takes a pointer to the function's error instead
// of end options. It is a small value meant to be copied: a FuncSpan and its
// copies stand for the same span. Its methods are safe for concurrent use as
// far as the embedded span's are.
type FuncSpan struct {
	trace.Span
}

// Span starts a span named after the function that calls it, as
// pkg.(*Type).Method, a child of the span in ctx (with that span's tracer
// provider, else the global one), and returns a context holding it. The
// span records where Span was called (code.*) and opts. End it with
// [FuncSpan.End], deferred right after the call:
//
//	ctx, span := tracekit.Span(ctx)
//	defer span.End(&err)
//
//go:noinline
func Span(ctx context.Context, opts ...trace.SpanStartOption) (context.Context, FuncSpan) {
	site := callSite(goid.CallerPC(), semconv.KindFunction)
	return startSpan(ctx, funcSpanName(site), site, opts)
}

// SpanNamed is [Span] with the span named name; code.function.name still
// says which function started it.
//
//go:noinline
func SpanNamed(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, FuncSpan) {
	return startSpan(ctx, name, callSite(goid.CallerPC(), semconv.KindFunction), opts)
}

// startWith starts a span with siteOpts, made once per site and handed to
// the tracer as they are (a variadic call would allocate its slice), then
// the caller's opts.
func startWith(ctx context.Context, tracer trace.Tracer, name string, siteOpts, opts []trace.SpanStartOption) (context.Context, trace.Span) {
	if len(opts) > 0 {
		siteOpts = append(slices.Clip(siteOpts), opts...)
	}
	return tracer.Start(ctx, name, siteOpts...)
}

func startSpan(ctx context.Context, name string, site *tasks.Site, opts []trace.SpanStartOption) (context.Context, FuncSpan) {
	pctx := ctx
	ctx, span := startWith(ctx, detect.Tracer(ctx), name, site.Opts, opts)
	if xtrace.Enabled() {
		markBegin(ctx, span, trace.SpanContextFromContext(pctx).SpanID(), semconv.KindFunction, name)
	}
	return ctx, FuncSpan{Span: span}
}

// funcSpanName is code.function.name of site without its import path:
// github.com/acme/store.(*Store).Load becomes store.(*Store).Load. Slicing
// the cached string allocates nothing.
func funcSpanName(site *tasks.Site) string {
	fn := site.Function()
	if fn == "" {
		return "unknown"
	}
	return fn[strings.LastIndexByte(fn, '/')+1:]
}

// End ends the span. Call it deferred, directly, with a pointer to the
// function's named error result, or nil: a non-nil error is recorded with
// status Error; a panic passing through is recorded (an exception event
// with the stack, tracekit.panic, status Error) and raised again with the
// same value. End on a zero FuncSpan only re-panics a passing panic.
func (s FuncSpan) End(errp *error) {
	if v := recover(); v != nil {
		if s.Span != nil {
			if s.Span.IsRecording() {
				recordPanic(s.Span, &PanicError{Value: v, Stack: debug.Stack()})
			}
			ending(s.Span)
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
	ending(s.Span)
	s.Span.End()
}

// recordError gives span an exception event and the error status for err.
//
//go:noinline
func recordError(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}
