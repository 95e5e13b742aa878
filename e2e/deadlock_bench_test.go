package e2e

import (
	"context"
	"sync"
	"testing"

	deadlock "github.com/sasha-s/go-deadlock"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// startDeadlockKit runs a Kit with lock-order detection on, exporting
// nothing, for the length of a benchmark.
func startDeadlockKit(b *testing.B) {
	kit, err := sdk.Start(context.Background(),
		sdk.WithTracesExporter(sdk.ExporterNone),
		sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithDeadlockDetection())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = kit.Shutdown(context.Background()) })
}

// BenchmarkDeadlockDetection compares an uncontended Lock+Unlock, alone and
// nested two deep, of sync.Mutex, github.com/sasha-s/go-deadlock (default
// options: lock-order and 30s timeout detection) and tracekit.Mutex with
// lock-order detection on (and its default 30s hang timeout), in one run.
// Compare with benchstat.
func BenchmarkDeadlockDetection(b *testing.B) {
	b.Run("baseline=sync.Mutex", func(b *testing.B) {
		var m sync.Mutex
		b.ReportAllocs()
		for b.Loop() {
			m.Lock()
			m.Unlock() //nolint:staticcheck // an empty critical section is the point
		}
	})
	b.Run("go-deadlock", func(b *testing.B) {
		var m deadlock.Mutex
		b.ReportAllocs()
		for b.Loop() {
			m.Lock()
			m.Unlock()
		}
	})
	b.Run("tracekit", func(b *testing.B) {
		startDeadlockKit(b)
		var m tracekit.Mutex
		b.ReportAllocs()
		for b.Loop() {
			m.Lock()
			m.Unlock()
		}
	})
	b.Run("nested/baseline=sync.Mutex", func(b *testing.B) {
		var m1, m2 sync.Mutex
		b.ReportAllocs()
		for b.Loop() {
			m1.Lock()
			m2.Lock()
			m2.Unlock() //nolint:staticcheck
			m1.Unlock()
		}
	})
	b.Run("nested/go-deadlock", func(b *testing.B) {
		var m1, m2 deadlock.Mutex
		b.ReportAllocs()
		for b.Loop() {
			m1.Lock()
			m2.Lock()
			m2.Unlock()
			m1.Unlock()
		}
	})
	b.Run("nested/tracekit", func(b *testing.B) {
		startDeadlockKit(b)
		var m1, m2 tracekit.Mutex
		b.ReportAllocs()
		for b.Loop() {
			m1.Lock()
			m2.Lock()
			m2.Unlock()
			m1.Unlock()
		}
	})
}
