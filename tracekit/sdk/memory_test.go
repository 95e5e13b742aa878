package sdk

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/batch"
	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

const mib = 1 << 20

// The memory watch reports on the active local root span that started
// first: a child span is no root, and an ended root is forgotten.
func TestRootSpansOldest(t *testing.T) {
	roots := newRootSpans()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(roots))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("test")
	if roots.oldest() != nil {
		t.Fatal("a root before any span")
	}
	t0 := time.Now()
	_, old := tracer.Start(context.Background(), "old", trace.WithTimestamp(t0))
	nctx, newer := tracer.Start(context.Background(), "new", trace.WithTimestamp(t0.Add(time.Millisecond)))
	_, child := tracer.Start(nctx, "child", trace.WithTimestamp(t0.Add(-time.Second)))
	if got := roots.oldest(); got == nil || got.SpanContext().SpanID() != old.SpanContext().SpanID() {
		t.Fatalf("oldest = %v, want the oldest root", got)
	}
	old.End()
	if got := roots.oldest(); got == nil || got.SpanContext().SpanID() != newer.SpanContext().SpanID() {
		t.Fatalf("after the oldest ended: %v, want the newer root", got)
	}
	child.End()
	newer.End()
	if n := len(roots.spans); n != 0 || roots.oldest() != nil {
		t.Errorf("%d root spans still tracked after all ended", n)
	}
	if (*rootSpans)(nil).oldest() != nil {
		t.Error("a nil tracker has a root")
	}
}

func TestRootSpansBounded(t *testing.T) {
	roots := newRootSpans()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(roots))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("test")
	first := ""
	t0 := time.Now()
	for i := range maxRootSpans + 10 {
		_, s := tracer.Start(context.Background(), "r", trace.WithTimestamp(t0.Add(time.Duration(i)*time.Millisecond)))
		if i == 0 {
			first = s.SpanContext().SpanID().String()
		}
		defer s.End()
	}
	if n := len(roots.spans); n != maxRootSpans {
		t.Errorf("%d tracked, want the bound %d", n, maxRootSpans)
	}
	if got := roots.oldest().SpanContext().SpanID().String(); got != first {
		t.Errorf("oldest = %s, want the first started %s", got, first)
	}
}

func TestKitMemoryWatchLifecycle(t *testing.T) {
	tests := []struct {
		name string
		env  string
		opts []Option
		on   bool
	}{
		{name: "default", on: true},
		{name: "without globals", opts: []Option{WithoutGlobals()}},
		{name: "env off", env: "off"},
		{name: "option off", opts: []Option{WithoutMemoryWatch()}},
		{name: "option wins over env", env: "0", opts: []Option{WithMemoryWatch()}, on: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("TRACEKIT_MEMORY_WATCH", tt.env)
			}
			opts := append([]Option{WithTracesExporter(ExporterNone), WithMetricsExporter(ExporterNone)}, tt.opts...)
			kit, err := Start(context.Background(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if on := kit.mem.Running(); on != tt.on {
				t.Errorf("memory watch running = %v, want %v", on, tt.on)
			}
			// Shutdown stops the watch's goroutine (goleak checks at the
			// end of the package's tests), also when called twice.
			for range 2 {
				if err := kit.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if kit.mem.Running() {
				t.Error("the memory watch still runs after Shutdown")
			}
		})
	}
}

// The real runtime: with GOMEMLIMIT set just above what the process uses,
// holding more memory makes the watch of a running Kit report it, on the
// root span that is running.
func TestMemoryWatchRealLimit(t *testing.T) {
	got := make(chan inspect.Report, 1)
	exp := &kittest.Keeper{}
	kit, err := Start(context.Background(), WithSpanExporter(exp), WithMetricsExporter(ExporterNone),
		WithMemoryInterval(5*time.Millisecond), WithMemoryGrowthSamples(1<<20), // the limit check alone
		WithReportHandler(func(r inspect.Report) {
			if r.Kind == inspect.KindMemory {
				select {
				case got <- r:
				default:
				}
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = kit.Shutdown(context.Background()) }()
	_, root := testTracer(kit).Start(context.Background(), "batch-job")

	debug.FreeOSMemory() // what earlier tests freed no longer counts
	var reader detect.MemoryReader
	used := reader.Read().Used
	limit := int64(float64(used+32*mib) / DefaultMemoryFraction)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))

	var held [][]byte
	timeout := time.After(testwait.Scale(time.Minute))
	var r inspect.Report
wait:
	for {
		select {
		case r = <-got:
			break wait
		case <-timeout:
			t.Fatalf("no report with %d MiB more held, limit %d MiB", len(held), limit/mib)
		default:
		}
		if len(held) < 256 {
			b := make([]byte, mib)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			held = append(held, b)
		}
		time.Sleep(time.Millisecond)
	}
	runtime.KeepAlive(held)
	u := r.Memory
	if u.Cause != inspect.MemoryNearLimit || u.LimitKind != inspect.MemoryLimitGo || u.Limit != uint64(limit) ||
		float64(u.Used) < DefaultMemoryFraction*float64(limit) {
		t.Errorf("memory = %+v, limit %d", *u, limit)
	}
	if r.SpanContext.SpanID() != root.SpanContext().SpanID() {
		t.Errorf("report on span %v, want the root %v", r.SpanContext.SpanID(), root.SpanContext().SpanID())
	}
	t.Logf("%s (after holding %d MiB more)", r.Message, len(held))
	root.End()
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var events int
	for _, s := range exp.Spans() {
		for _, e := range s.Events() {
			if s.Name() == "batch-job" && e.Name == semconv.ReportEvent && kittest.EventAttr(e, semconv.ReportKind) == "memory" {
				events++
			}
		}
	}
	if events != 1 {
		t.Errorf("%d memory events on the exported root span, want 1", events)
	}
}

// BenchmarkRootSpans is what tracking the active local root spans adds to
// starting and ending a span, beside the same provider without it, and the
// tracker's own OnStart and OnEnd for a root span and a child span.
func BenchmarkRootSpans(b *testing.B) {
	tp := sdktrace.NewTracerProvider()
	ctx, root := tp.Tracer("bench").Start(context.Background(), "root")
	_, child := tp.Tracer("bench").Start(ctx, "child")
	for name, s := range map[string]sdktrace.ReadWriteSpan{"processor/root": root.(sdktrace.ReadWriteSpan), "processor/child": child.(sdktrace.ReadWriteSpan)} {
		b.Run(name, func(b *testing.B) {
			r := newRootSpans()
			b.ReportAllocs()
			for b.Loop() {
				r.OnStart(ctx, s)
				r.OnEnd(s)
			}
		})
	}
	child.End()
	root.End()

	for _, tracked := range []bool{false, true} {
		name := "sdk"
		opts := []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(batch.New(discard{}, batch.Config{}))}
		if tracked {
			name = "tracked"
			opts = append(opts, sdktrace.WithSpanProcessor(newRootSpans()))
		}
		tp := sdktrace.NewTracerProvider(opts...)
		tracer := tp.Tracer("bench")
		b.Run(name+"/root", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, s := tracer.Start(context.Background(), "root")
				s.End()
			}
		})
		b.Run(name+"/child", func(b *testing.B) {
			ctx, root := tracer.Start(context.Background(), "root")
			defer root.End()
			b.ReportAllocs()
			for b.Loop() {
				_, s := tracer.Start(ctx, "child")
				s.End()
			}
		})
		b.Run(name+"/root-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, s := tracer.Start(context.Background(), "root")
					s.End()
				}
			})
		})
		_ = tp.Shutdown(context.Background())
	}
}
