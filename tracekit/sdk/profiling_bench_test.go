package sdk

import (
	"context"
	"crypto/sha256"
	"io"
	"runtime/pprof"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/batch"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/tracekit"
)

// handlerInput is what the benchmark handler hashes: about 10 µs of CPU.
var handlerInput = make([]byte, 16<<10)

// cpuHandler is a CPU-bound request handler with its span.
func cpuHandler(ctx context.Context, tracer trace.Tracer) [32]byte {
	_, span := tracer.Start(ctx, "handler")
	sum := sha256.Sum256(handlerInput)
	span.End()
	return sum
}

// profilingBench gives a benchmark a provider that drops what it exports,
// wrapped with span labels when labels is true.
func profilingBench(b *testing.B, labels bool) (context.Context, trace.TracerProvider, *sdktrace.TracerProvider) {
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(batch.New(discard{}, batch.Config{})))
	b.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
	var tp trace.TracerProvider = sdk
	if labels {
		lp := newLabelingProvider(sdk, false)
		registerLabeler(sdk, lp)
		b.Cleanup(func() { unregisterLabeler(sdk) })
		tp = lp
	}
	return context.Background(), tp, sdk
}

// cpuProfile runs the process's CPU profiler, as the profilers do, for the
// rest of the benchmark.
func cpuProfile(b *testing.B) {
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pprof.StopCPUProfile)
}

// BenchmarkProfilingHandler measures what profiling adds to a CPU-bound
// handler: the span labels, the CPU profiler, and both, each beside the
// plain handler in the same run. Compare with benchstat; the README quotes
// the ratios.
func BenchmarkProfilingHandler(b *testing.B) {
	for _, bc := range []struct {
		name     string
		labels   bool
		profiler bool
	}{
		{"baseline=span", false, false},
		{"labels", true, false},
		{"baseline=span+cpu-profiler", false, true},
		{"labels+cpu-profiler", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx, tp, _ := profilingBench(b, bc.labels)
			tracer := tp.Tracer("bench")
			if bc.profiler {
				cpuProfile(b)
			}
			b.ReportAllocs()
			for b.Loop() {
				cpuHandler(ctx, tracer)
			}
		})
	}
}

// BenchmarkSpanLabels is the per-span cost of the labels on an empty span,
// and on a task started with Go.
func BenchmarkSpanLabels(b *testing.B) {
	for _, labels := range []bool{false, true} {
		name := "baseline=span"
		if labels {
			name = "labels"
		}
		b.Run(name, func(b *testing.B) {
			ctx, tp, _ := profilingBench(b, labels)
			tracer := tp.Tracer("bench")
			b.ReportAllocs()
			for b.Loop() {
				_, span := tracer.Start(ctx, "s")
				span.End()
			}
		})
	}
	for _, labels := range []bool{false, true} {
		name := "baseline=Go"
		if labels {
			name = "Go+labels"
		}
		b.Run(name, func(b *testing.B) {
			ctx, tp, _ := profilingBench(b, labels)
			ctx, root := tp.Tracer("bench").Start(ctx, "root")
			defer root.End()
			b.ReportAllocs()
			for b.Loop() {
				_ = tracekit.Go(ctx, "work", func(context.Context) error { return nil }).Wait()
			}
		})
	}
}

// BenchmarkTaskLabelsFloor is the floor of a labelled task: tracekit.Go
// with no labelling provider, whose function labels its own goroutine by
// hand through runtime/pprof with the same three labels (what a program
// without tracekit's provider would write). Compare with
// BenchmarkSpanLabels/Go+labels: the difference is what tracekit adds to
// pprof's own cost.
func BenchmarkTaskLabelsFloor(b *testing.B) {
	ctx, tp, _ := profilingBench(b, true)
	ctx, root := tp.Tracer("bench").Start(ctx, "root")
	defer root.End()
	_, plain, _ := profilingBench(b, false)
	ctx = trace.ContextWithSpan(ctx, plainParent{root, plain})
	b.ReportAllocs()
	for b.Loop() {
		_ = tracekit.Go(ctx, "work", func(ctx context.Context) error {
			spanID, traceID := idStrings(trace.SpanContextFromContext(ctx))
			ctx = pprof.WithLabels(ctx, pprof.Labels(
				semconv.LabelSpanID, spanID, semconv.LabelSpanName, "work", semconv.LabelTraceID, traceID))
			pprof.SetGoroutineLabels(ctx)
			return nil
		}).Wait()
	}
}

// plainParent is a labelled root whose tracer provider is a plain SDK
// one, so tasks started below it are not labelled by tracekit.
type plainParent struct {
	trace.Span
	tp trace.TracerProvider
}

func (p plainParent) TracerProvider() trace.TracerProvider { return p.tp }

// discard is a span exporter that drops what it gets.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }
