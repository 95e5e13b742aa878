package tracekit

import (
	"context"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/batch"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

// discard is an exporter that drops everything, so benchmarks measure the
// recording side only.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

func benchProvider(b *testing.B) (context.Context, trace.Tracer) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(batch.New(discard{}, batch.Config{})))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracer := tp.Tracer("bench")
	ctx, root := tracer.Start(context.Background(), "root")
	b.Cleanup(func() { root.End() })
	return ctx, tracer
}

func nothing(context.Context) error { return nil }

// goWithSpan is what tracekit.Go is measured against: a go statement
// around a raw SDK span, waited for.
func goWithSpan(ctx context.Context, tracer trace.Tracer, opts ...trace.SpanStartOption) {
	done := make(chan struct{})
	cctx, span := tracer.Start(ctx, "work", opts...)
	go func() {
		_ = nothing(cctx)
		span.End()
		close(done)
	}()
	<-done
}

// BenchmarkGo compares tracekit.Go with its baseline, a plain go statement
// around a raw SDK span, in the same run. Compare the sub-benchmarks with
// benchstat; the README quotes the ratio.
func BenchmarkGo(b *testing.B) {
	b.Run("baseline=go+span", func(b *testing.B) {
		ctx, tracer := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			goWithSpan(ctx, tracer)
		}
	})
	// What Go records, written by hand: the same span with the same
	// attributes (kind and spawn site, computed once, as Go caches them).
	b.Run("baseline=go+span+same-attrs", func(b *testing.B) {
		ctx, tracer := benchProvider(b)
		attrs := trace.WithAttributes(tasks.SiteOf(0, semconv.KindGoroutine).Attrs...)
		b.ReportAllocs()
		for b.Loop() {
			goWithSpan(ctx, tracer, attrs)
		}
	})
	b.Run("tracekit.Go", func(b *testing.B) {
		ctx, _ := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = Go(ctx, "work", nothing).Wait()
		}
	})
	b.Run("baseline=plain-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			done := make(chan struct{})
			go func() {
				_ = nothing(context.Background())
				close(done)
			}()
			<-done
		}
	})
}

// BenchmarkGroup runs groups of 8 tasks against a sync.WaitGroup with a
// raw span per goroutine.
func BenchmarkGroup(b *testing.B) {
	const ntasks = 8
	b.Run("baseline=waitgroup+spans", func(b *testing.B) {
		ctx, tracer := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			gctx, gspan := tracer.Start(ctx, "group")
			done := make(chan struct{}, ntasks)
			for range ntasks {
				cctx, span := tracer.Start(gctx, "work")
				go func() {
					_ = nothing(cctx)
					span.End()
					done <- struct{}{}
				}()
			}
			for range ntasks {
				<-done
			}
			gspan.End()
		}
	})
	// What Group records and does, written by hand: the same spans and
	// attributes, a cancel-cause context and first-error capture.
	b.Run("baseline=errgroup-style+same-attrs", func(b *testing.B) {
		ctx, tracer := benchProvider(b)
		groupAttrs := trace.WithAttributes(tasks.SiteOf(0, semconv.KindGroup).Attrs...)
		taskAttrs := trace.WithAttributes(tasks.SiteOf(0, semconv.KindGoroutine).Attrs...)
		member := trace.WithAttributes(keyGroup.String("group"))
		b.ReportAllocs()
		for b.Loop() {
			gctx, gspan := tracer.Start(ctx, "group", groupAttrs)
			gctx, cancel := context.WithCancelCause(gctx)
			var (
				wg    sync.WaitGroup
				once  sync.Once
				first error
			)
			for range ntasks {
				wg.Add(1)
				cctx, span := tracer.Start(gctx, "work", taskAttrs, member)
				go func() {
					defer wg.Done()
					if err := nothing(cctx); err != nil {
						once.Do(func() { first = err; cancel(err) })
					}
					span.End()
				}()
			}
			wg.Wait()
			cancel(nil)
			_ = first
			gspan.End()
		}
	})
	b.Run("tracekit.Group", func(b *testing.B) {
		ctx, _ := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			g := NewGroup(ctx, "group")
			for range ntasks {
				g.Go("work", nothing)
			}
			_ = g.Wait()
		}
	})
}

// BenchmarkSpawnCount is what counting starts per spawn site adds to each
// task start: one atomic add on the cached site, alone, and from every core
// on one site (the cache line moves between cores), beside a whole
// tracekit.Go and the cached site lookup every start already does. The
// before/after comparison of BenchmarkGo cannot resolve a difference this
// small; these ratios can.
func BenchmarkSpawnCount(b *testing.B) {
	b.Run("baseline=tracekit.Go", func(b *testing.B) {
		ctx, _ := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = Go(ctx, "work", nothing).Wait()
		}
	})
	b.Run("baseline=site-lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = tasks.SiteOf(0, semconv.KindGoroutine)
		}
	})
	site := tasks.SiteOf(0, semconv.KindGoroutine)
	b.Run("count", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			site.CountStart()
		}
	})
	b.Run("count/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				site.CountStart()
			}
		})
	})
}

// BenchmarkDo measures what binding the calling goroutine to a task costs
// per call, beside its baselines in the same run: a raw SDK span around
// the call (what Do adds to it is the registry binding and the ended-task
// record), the same span with Do's attributes, tracekit.SpanNamed, and
// tracekit.Go, which binds a new goroutine. Bind starts no span: it is
// measured inside a span started outside the loop, as a request's is.
// Compare the sub-benchmarks with benchstat; the README quotes the ratios.
func BenchmarkDo(b *testing.B) {
	b.Run("baseline=span", func(b *testing.B) {
		ctx, tracer := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			cctx, span := tracer.Start(ctx, "work")
			_ = nothing(cctx)
			span.End()
		}
	})
	b.Run("baseline=span+same-attrs", func(b *testing.B) {
		ctx, tracer := benchProvider(b)
		attrs := trace.WithAttributes(tasks.SiteOf(0, semconv.KindTask).Attrs...)
		b.ReportAllocs()
		for b.Loop() {
			cctx, span := tracer.Start(ctx, "work", attrs)
			_ = nothing(cctx)
			span.End()
		}
	})
	b.Run("tracekit.SpanNamed", func(b *testing.B) {
		ctx, _ := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			cctx, span := SpanNamed(ctx, "work")
			_ = nothing(cctx)
			span.End(nil)
		}
	})
	b.Run("tracekit.Do", func(b *testing.B) {
		ctx, _ := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = Do(ctx, "work", nothing)
		}
	})
	b.Run("tracekit.Bind", func(b *testing.B) {
		ctx, _ := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = Bind(ctx, "work", nothing)
		}
	})
	b.Run("tracekit.Go", func(b *testing.B) {
		ctx, _ := benchProvider(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = Go(ctx, "work", nothing).Wait()
		}
	})
}
