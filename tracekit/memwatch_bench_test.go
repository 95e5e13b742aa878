package tracekit

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/internal/batch"
)

// BenchmarkMemorySample is one tick of the memory watch beside
// runtime.ReadMemStats, the usual way to read memory (it stops the world).
func BenchmarkMemorySample(b *testing.B) {
	b.Run("ReadMemStats", func(b *testing.B) {
		var m runtime.MemStats
		b.ReportAllocs()
		for b.Loop() {
			runtime.ReadMemStats(&m)
		}
	})
	b.Run("sample", func(b *testing.B) {
		sample := runtimeSampler()
		b.ReportAllocs()
		for b.Loop() {
			_ = sample()
		}
	})
	watch := func(b *testing.B, setup func(*memWatch)) {
		det, _ := testDetector(detectorConfig{}, nil)
		defer det.close()
		w := &memWatch{cfg: testMemConfig, sample: runtimeSampler(), det: det}
		setup(w)
		b.ReportAllocs()
		for b.Loop() {
			w.check(w.sample())
		}
		if w.overLimit {
			b.Fatal("the limit was reached: the benchmark measured a report")
		}
	}
	b.Run("check/GOMEMLIMIT", func(b *testing.B) {
		watch(b, func(w *memWatch) {
			sample := w.sample
			w.sample = func() memSample {
				s := sample()
				s.goLimit = 1 << 40
				return s
			}
		})
	})
	b.Run("check/cgroup", func(b *testing.B) {
		// The usual container: the process's cgroup has no limit of its
		// own ("max"), its parent has one.
		dir := b.TempDir()
		for f, v := range map[string]string{"sys/fs/cgroup/pod/c1/memory.max": "max\n", "sys/fs/cgroup/pod/memory.max": "1099511627776\n"} {
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		watch(b, func(w *memWatch) {
			w.cgroupFS = os.DirFS(dir)
			w.cgroupFiles = []string{"sys/fs/cgroup/pod/c1/memory.max", "sys/fs/cgroup/pod/memory.max", "sys/fs/cgroup/memory.max"}
		})
	})
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
		opts := []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(batch.New(discard{}, "discard", batch.Config{}))}
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
