package sdk

import (
	"context"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// testTracer is what the tests start their own spans with.
func testTracer(k *Kit) trace.Tracer { return k.TracerProvider().Tracer("test") }

// keeper is a span exporter that keeps what it got after Shutdown (the
// tracetest in-memory exporter forgets on Shutdown).
type keeper struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (k *keeper) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	k.mu.Lock()
	k.spans = append(k.spans, spans...)
	k.mu.Unlock()
	return nil
}

func (k *keeper) Shutdown(context.Context) error { return nil }

func (k *keeper) got() []sdktrace.ReadOnlySpan {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]sdktrace.ReadOnlySpan(nil), k.spans...)
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func attr(s sdktrace.ReadOnlySpan, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func eventAttr(e sdktrace.Event, key attribute.Key) string {
	for _, kv := range e.Attributes {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// histCount returns the number of recordings of a histogram with the given
// attribute value.
func histCount(t *testing.T, reader *sdkmetric.ManualReader, metric string, key, value string) uint64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != metric {
				continue
			}
			h, ok := m.Data.(metricdata.Histogram[float64])
			if !ok {
				t.Fatalf("%s is %T", metric, m.Data)
			}
			for _, dp := range h.DataPoints {
				if v, ok := dp.Attributes.Value(attribute.Key(key)); ok && v.Emit() == value {
					n += dp.Count
				}
			}
		}
	}
	return n
}
