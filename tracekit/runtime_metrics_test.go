package tracekit

import (
	"context"
	"math"
	"runtime/debug"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestRuntimeMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	if err := registerRuntimeMetrics(mp.Meter(ScopeName)); err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	for range 5 {
		go func() { <-block }()
	}
	defer close(block)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = m.Data
		}
	}
	value := func(name string, attrs ...attribute.KeyValue) int64 {
		t.Helper()
		sum, ok := got[name].(metricdata.Sum[int64])
		if !ok {
			t.Fatalf("%s: %T, want an int64 sum", name, got[name])
		}
		want := attribute.NewSet(attrs...)
		for _, dp := range sum.DataPoints {
			if dp.Attributes.Equals(&want) {
				return dp.Value
			}
		}
		t.Fatalf("%s has no point with %v", name, attrs)
		return 0
	}
	if n := value("go.goroutine.count"); n < 6 {
		t.Errorf("go.goroutine.count = %d, want at least the 5 blocked goroutines and this one", n)
	}
	if n := value("tracekit.goroutine.state.count", keyGoroutineState.String("waiting")); n < 5 {
		t.Errorf("waiting goroutines = %d, want at least 5", n)
	}
	if n := value("tracekit.goroutine.state.count", keyGoroutineState.String("running")); n < 1 {
		t.Errorf("running goroutines = %d, want at least this one", n)
	}
	for _, name := range []string{"go.memory.used", "go.memory.allocated", "go.memory.allocations", "go.memory.gc.goal", "go.processor.limit", "tracekit.goroutine.created"} {
		if v := value(name); v <= 0 {
			t.Errorf("%s = %d, want > 0", name, v)
		}
	}
	if v := value("go.config.gogc"); v != 100 && v != -1 {
		t.Logf("go.config.gogc = %d (GOGC set in the environment)", v)
	}
	_, hasLimit := got["go.memory.limit"]
	if limited := debug.SetMemoryLimit(-1) != math.MaxInt64; hasLimit != limited {
		t.Errorf("go.memory.limit reported: %t, memory limit set: %t", hasLimit, limited)
	}
	if _, ok := got["tracekit.sync.mutex.wait"].(metricdata.Sum[float64]); !ok {
		t.Errorf("tracekit.sync.mutex.wait missing: %T", got["tracekit.sync.mutex.wait"])
	}
}
