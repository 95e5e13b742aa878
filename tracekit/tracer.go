package tracekit

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/semconv"
)

// ScopeName is the instrumentation scope of every span and instrument
// tracekit creates.
const ScopeName = semconv.ScopeName

type cachedTracer struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
}

var lastTracer atomic.Pointer[cachedTracer]

// tracerFor returns the tracer for spans that start under ctx. When ctx holds a
// valid span, its provider is used, so a Kit that was started without
// installing globals still traces everything below its spans; otherwise the
// global provider is used.
func tracerFor(ctx context.Context) trace.Tracer {
	var tp trace.TracerProvider
	if span := trace.SpanFromContext(ctx); span.SpanContext().IsValid() {
		tp = span.TracerProvider()
	} else {
		tp = otel.GetTracerProvider()
	}
	sdk, ok := tp.(*sdktrace.TracerProvider)
	if !ok {
		return tp.Tracer(ScopeName)
	}
	if c := lastTracer.Load(); c != nil && c.tp == sdk {
		return c.tracer
	}
	c := &cachedTracer{tp: sdk, tracer: sdk.Tracer(ScopeName)}
	lastTracer.Store(c)
	return c.tracer
}
