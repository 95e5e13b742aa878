package tracekit

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

//go:noinline
func spanned(ctx context.Context) (err error) {
	_, span := Span(ctx)
	defer span.End(&err)
	return nil
}

//go:noinline
func handNamed(ctx context.Context, tracer trace.Tracer, opts ...trace.SpanStartOption) {
	_, span := tracer.Start(ctx, "tracekit.spanned", opts...)
	span.End()
}

var errBench = errors.New("bench")

//go:noinline
func handNamedErr(ctx context.Context, tracer trace.Tracer, opts ...trace.SpanStartOption) {
	_, span := tracer.Start(ctx, "tracekit.spannedErr", opts...)
	span.RecordError(errBench)
	span.SetStatus(codes.Error, errBench.Error())
	span.End()
}

//go:noinline
func spannedErr(ctx context.Context) (err error) {
	_, span := Span(ctx)
	defer span.End(&err)
	return errBench
}

// BenchmarkSpan compares tracekit.Span (+ End) with its baselines in the same
// run: a hand-named tracer.Start without attributes, and one with the same
// four attributes Span records (kind and call site, made once as Span caches
// them). Compare the sub-benchmarks with benchstat; the README quotes the
// ratios.
func BenchmarkSpan(b *testing.B) {
	b.Run("baseline=tracer.Start", func(b *testing.B) {
		ctx, tracer := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			handNamed(ctx, tracer)
		}
	})
	b.Run("baseline=tracer.Start+same-attrs", func(b *testing.B) {
		ctx, tracer := benchProvider(b)
		attrs := trace.WithAttributes(tasks.SiteOf(0, semconv.KindFunction).Attrs...)
		b.ReportAllocs()
		for b.Loop() {
			handNamed(ctx, tracer, attrs)
		}
	})
	b.Run("tracekit.Span", func(b *testing.B) {
		ctx, _ := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = spanned(ctx)
		}
	})
	// The error path by hand: the same span, RecordError and SetStatus.
	b.Run("baseline=tracer.Start+same-attrs+error", func(b *testing.B) {
		ctx, tracer := benchProvider(b)
		attrs := trace.WithAttributes(tasks.SiteOf(0, semconv.KindFunction).Attrs...)
		b.ReportAllocs()
		for b.Loop() {
			handNamedErr(ctx, tracer, attrs)
		}
	})
	b.Run("tracekit.Span+error", func(b *testing.B) {
		ctx, _ := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = spannedErr(ctx)
		}
	})
}
