//go:build !tracekit_nosync

package tracekit

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// benchDetector is a detector as Start makes it, with a real meter.
func benchDetector(b *testing.B, order bool) *detect.Detector {
	d, _ := benchDetectorReader(b, order)
	return d
}

// benchDetectorReader is benchDetector with the reader of its meter.
func benchDetectorReader(b *testing.B, order bool) (*detect.Detector, *sdkmetric.ManualReader) {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	d := detect.New(detect.Config{Slow: detect.DefaultSlow, Hang: detect.DefaultHang, LongHold: detect.DefaultLongHold,
		Order: order, Meter: mp.Meter(semconv.ScopeName), OnReport: func(inspect.Report) {}})
	b.Cleanup(func() { d.Close(); _ = mp.Shutdown(context.Background()) })
	return d, r
}

// reportWaits reports the share of the b.N acquisitions that had to wait,
// from the tracekit.lock.acquisitions metric r reads: how many fell into
// the slow path, which is what moves a contended benchmark between runs.
func reportWaits(b *testing.B, r *sdkmetric.ManualReader) {
	waits := kittest.SumCounter(b, r, "tracekit.lock.acquisitions", attribute.Bool("contended", true))
	b.ReportMetric(float64(waits)/float64(b.N), "waits/op")
}

// BenchmarkMutex: uncontended Lock+Unlock beside sync.Mutex in the same
// run. Compare with benchstat; the README quotes the ratios.
func BenchmarkMutex(b *testing.B) {
	b.Run("baseline=sync.Mutex", func(b *testing.B) {
		var m sync.Mutex
		b.ReportAllocs()
		for b.Loop() {
			m.Lock()
			m.Unlock() //nolint:staticcheck // an empty critical section is the point
		}
	})
	b.Run("floor=sync.Mutex+holder", func(b *testing.B) {
		// What naming the holder costs at the least: sync.Mutex, the
		// goroutine ID read (an assembly call Go cannot inline) and the
		// holder stored and cleared.
		var m struct {
			sync.Mutex
			holder uint64
		}
		b.ReportAllocs()
		for b.Loop() {
			m.Lock()
			m.holder = goid.Current()
			m.holder = 0
			m.Unlock()
		}
	})
	b.Run("tracekit=no-kit", func(b *testing.B) {
		var m Mutex
		b.ReportAllocs()
		for b.Loop() {
			m.Lock()
			m.Unlock()
		}
	})
	b.Run("tracekit=kit", func(b *testing.B) {
		m := pinned(benchDetector(b, false), "bench")
		b.ReportAllocs()
		for b.Loop() {
			m.Lock()
			m.Unlock()
		}
	})
	b.Run("tracekit=kit+deadlock", func(b *testing.B) {
		m := pinned(benchDetector(b, true), "bench")
		b.ReportAllocs()
		for b.Loop() {
			m.Lock()
			m.Unlock()
		}
	})
	b.Run("tracekit=kit+deadlock-nested", func(b *testing.B) {
		d := benchDetector(b, true)
		m1, m2 := pinned(d, "outer"), pinned(d, "inner")
		b.ReportAllocs()
		for b.Loop() {
			m1.Lock()
			m2.Lock()
			m2.Unlock()
			m1.Unlock()
		}
	})
	b.Run("baseline=sync.Mutex-nested", func(b *testing.B) {
		var m1, m2 sync.Mutex
		b.ReportAllocs()
		for b.Loop() {
			m1.Lock()
			m2.Lock()
			m2.Unlock() //nolint:staticcheck
			m1.Unlock()
		}
	})
}

// BenchmarkRWMutex: uncontended RLock+RUnlock beside sync.RWMutex.
func BenchmarkRWMutex(b *testing.B) {
	b.Run("baseline=sync.RWMutex", func(b *testing.B) {
		var m sync.RWMutex
		b.ReportAllocs()
		for b.Loop() {
			m.RLock()
			m.RUnlock() //nolint:staticcheck
		}
	})
	b.Run("tracekit=no-kit", func(b *testing.B) {
		m := &RWMutex{}
		b.ReportAllocs()
		for b.Loop() {
			m.RLock()
			m.RUnlock()
		}
	})
	b.Run("tracekit=kit", func(b *testing.B) {
		m := &RWMutex{}
		m.l.Det = benchDetector(b, false)
		b.ReportAllocs()
		for b.Loop() {
			m.RLock()
			m.RUnlock()
		}
	})
}

// BenchmarkRWMutexReaders: readers on every P at once, with and without a
// Kit.
func BenchmarkRWMutexReaders(b *testing.B) {
	b.Run("baseline=sync.RWMutex", func(b *testing.B) {
		var m sync.RWMutex
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.RLock()
				m.RUnlock() //nolint:staticcheck
			}
		})
	})
	b.Run("tracekit=no-kit", func(b *testing.B) {
		m := &RWMutex{}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.RLock()
				m.RUnlock()
			}
		})
	})
	b.Run("tracekit=kit", func(b *testing.B) {
		m := &RWMutex{}
		m.l.Det = benchDetector(b, false)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.RLock()
				m.RUnlock()
			}
		})
	})
}

// BenchmarkMutexContended: 64 goroutines on one lock with a short
// critical section, beside sync.Mutex; run it with -cpu 1,2.
func BenchmarkMutexContended(b *testing.B) {
	work := func(n *int) {
		for i := range 20 {
			*n += i
		}
	}
	run := func(b *testing.B, m sync.Locker) {
		n := 0
		b.ReportAllocs()
		b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.Lock()
				work(&n)
				m.Unlock()
			}
		})
	}
	b.Run("baseline=sync.Mutex", func(b *testing.B) { run(b, &sync.Mutex{}) })
	b.Run("tracekit=no-kit", func(b *testing.B) { run(b, namedMutex("bench")) })
	for _, order := range []bool{false, true} {
		name := "tracekit=kit"
		if order {
			name += "+deadlock"
		}
		b.Run(name, func(b *testing.B) {
			d, r := benchDetectorReader(b, order)
			run(b, pinned(d, "bench"))
			reportWaits(b, r)
		})
	}
}

// BenchmarkSendRecv: a send and a receive on a buffered channel that never
// blocks, beside the raw operations.
func BenchmarkSendRecv(b *testing.B) {
	ctx := context.Background()
	b.Run("baseline=chan", func(b *testing.B) {
		ch := make(chan int, 1)
		b.ReportAllocs()
		for b.Loop() {
			ch <- 1
			<-ch
		}
	})
	b.Run("tracekit=Send+Recv", func(b *testing.B) {
		ch := make(chan int, 1)
		d := benchDetector(b, false)
		b.ReportAllocs()
		for b.Loop() {
			_ = send(ctx, d, "", ch, 1)
			_, _ = recv(ctx, d, "", ch)
		}
	})
	b.Run("tracekit=Chan", func(b *testing.B) {
		ch := NewChan[int]("bench", 1)
		b.ReportAllocs()
		for b.Loop() {
			_ = ch.Send(ctx, 1)
			_, _ = ch.Recv(ctx)
		}
	})
}
