package tracekit

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// reports collects what a test detector reports.
type reports struct {
	mu   sync.Mutex
	list []inspect.Report
	log  bytes.Buffer // the slog records
}

func (r *reports) add(rep inspect.Report) {
	r.mu.Lock()
	r.list = append(r.list, rep)
	r.mu.Unlock()
}

func (r *reports) all() []inspect.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]inspect.Report(nil), r.list...)
}

func (r *reports) kinds() []inspect.Kind {
	var out []inspect.Kind
	for _, rep := range r.all() {
		out = append(out, rep.Kind)
	}
	return out
}

func (r *reports) logged() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

type reportLogWriter struct{ r *reports }

func (w reportLogWriter) Write(p []byte) (int, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	return w.r.log.Write(p)
}

// testDetector makes a detector the way Start would, with the test's own
// report sink, logger and (if reader is not nil) meter. Inside a synctest
// bubble, call it in the bubble and close it before the bubble ends.
func testDetector(cfg detect.Config, reader sdkmetric.Reader) (*detect.Detector, *reports) {
	r := &reports{}
	cfg.OnReport = r.add
	cfg.Logger = slog.New(slog.NewTextHandler(reportLogWriter{r}, nil))
	if reader != nil {
		cfg.Meter = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter(semconv.ScopeName)
	}
	return detect.New(cfg), r
}

// histCount returns the number of recordings of a histogram with the given
// name attribute value.
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

func sumCounter(t *testing.T, reader *sdkmetric.ManualReader, metric string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == metric {
				for _, dp := range s.DataPoints {
					n += dp.Value
				}
			}
		}
	}
	return n
}

// A report's numbers and tasks reach its span event and its log record as
// attributes of their own, not only inside the message.
func TestReportAttributes(t *testing.T) {
	rec := newRecorder(t)
	d, r := testDetector(detect.Config{}, nil)
	defer d.Close()
	ctx, span := rec.root(context.Background())
	d.Emit(ctx, inspect.Report{Kind: inspect.KindMemory, Message: "memory in use is high",
		Memory: &inspect.MemoryUsage{Used: 900, Limit: 1000, LimitSource: "/gc/gomemlimit:bytes", LiveHeap: 700}})
	d.Emit(ctx, inspect.Report{Kind: inspect.KindSpawnGrowth, Message: "site keeps growing",
		SpawnSite: "main.serve (main.go:12)", Count: 40, Tasks: []inspect.Task{{ID: 7}, {ID: 9}}})
	d.Emit(ctx, inspect.Report{Kind: inspect.KindMemory, Message: "growing, no limit", Memory: &inspect.MemoryUsage{Used: 5, LiveHeap: 4}})
	span.End()

	var events []sdktrace.Event
	for _, e := range rec.span("root").Events() {
		if e.Name == "tracekit.report" {
			events = append(events, e)
		}
	}
	if len(events) != 3 {
		t.Fatalf("%d report events, want 3", len(events))
	}
	for _, c := range []struct {
		event int
		key   string
		want  string
	}{
		{0, semconv.MemoryUsed, "900"}, {0, semconv.MemoryLimit, "1000"}, {0, semconv.MemoryLimitSource, "/gc/gomemlimit:bytes"},
		{0, semconv.MemoryLiveHeap, "700"}, {0, semconv.SpawnSite, ""}, {0, semconv.LockName, ""},
		{1, semconv.SpawnSite, "main.serve (main.go:12)"}, {1, semconv.TaskCount, "40"}, {1, semconv.ReportTasks, "[7,9]"},
		{1, semconv.MemoryUsed, ""},
		{2, semconv.MemoryUsed, "5"}, {2, semconv.MemoryLimit, ""}, {2, semconv.MemoryLimitSource, ""},
	} {
		if got := eventAttr(events[c.event], attribute.Key(c.key)); got != c.want {
			t.Errorf("event %d %s = %q, want %q", c.event, c.key, got, c.want)
		}
	}
	logged := r.logged()
	for _, want := range []string{"used=900 live_heap=700 limit=1000 limit_source=/gc/gomemlimit:bytes",
		`spawn_site="main.serve (main.go:12)" tasks=40`} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %q:\n%s", want, logged)
		}
	}
}
