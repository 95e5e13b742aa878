package tracekit

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// reports collects what a test detector reports.
type reports struct {
	mu   sync.Mutex
	list []Report
	log  bytes.Buffer // the slog records
}

func (r *reports) add(rep Report) {
	r.mu.Lock()
	r.list = append(r.list, rep)
	r.mu.Unlock()
}

func (r *reports) all() []Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Report(nil), r.list...)
}

func (r *reports) kinds() []ReportKind {
	var out []ReportKind
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
func testDetector(cfg detectorConfig, reader sdkmetric.Reader) (*detector, *reports) {
	r := &reports{}
	cfg.onReport = r.add
	cfg.logger = slog.New(slog.NewTextHandler(reportLogWriter{r}, nil))
	if reader != nil {
		cfg.meter = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter(ScopeName)
	}
	return newDetector(cfg), r
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

func TestReportString(t *testing.T) {
	r := Report{Kind: ReportLongHold, Message: `"db" was held for 2s`, Stacks: []Stack{{Label: "released here", PC: callers(0)}}, TraceFile: "x.trace"}
	s := r.String()
	for _, want := range []string{"tracekit long-hold: \"db\" was held for 2s", "execution trace: x.trace", "released here:", "TestReportString", "detect_test.go:"} {
		if !strings.Contains(s, want) {
			t.Errorf("Report.String() lacks %q:\n%s", want, s)
		}
	}
	for k, want := range map[ReportKind]string{ReportLockOrder: "lock-order", ReportRecursiveLock: "recursive-lock", ReportLockTimeout: "lock-timeout", ReportLongHold: "long-hold", 0: "ReportKind(0)"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(k), k.String(), want)
		}
	}
}

// The detector's configuration: defaults < TRACEKIT_* < options; a bad
// value is reported and ignored.
func TestDetectorConfig(t *testing.T) {
	t.Setenv("TRACEKIT_SLOW", "5ms")
	t.Setenv("TRACEKIT_HANG_TIMEOUT", "soon")
	t.Setenv("TRACEKIT_DEADLOCK", "1")
	t.Setenv("TRACEKIT_LONG_HOLD", "2s")
	var errs []error
	cfg := &config{onError: func(err error) { errs = append(errs, err) }}
	for _, o := range []Option{WithLongHold(0), WithReportHandler(func(Report) {}), WithFlightRecorder("dir")} {
		o.apply(cfg)
	}
	dc := detectorFromConfig(cfg, nil)
	if dc.slow != 5*time.Millisecond || dc.hang != DefaultHangTimeout || dc.longHold != 0 || !dc.order || dc.onReport == nil || dc.flightDir != "dir" {
		t.Errorf("config = %+v", dc)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "TRACEKIT_HANG_TIMEOUT") {
		t.Errorf("errors = %v, want one about TRACEKIT_HANG_TIMEOUT", errs)
	}
	WithDeadlockDetection(false).apply(cfg)
	if detectorFromConfig(cfg, nil).order {
		t.Error("WithDeadlockDetection(false) did not override TRACEKIT_DEADLOCK=1")
	}
}

// A Kit installs its detector for the zero-value locks and removes it on
// Shutdown; one started WithoutGlobals does not.
func TestStartInstallsDetector(t *testing.T) {
	kit, err := Start(context.Background(), WithTracesExporter(ExporterNone), WithMetricsExporter(ExporterNone), WithoutGlobals())
	if err != nil {
		t.Fatal(err)
	}
	if kit.det != nil {
		t.Error("a Kit started WithoutGlobals made or installed a detector")
	}
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	kit, err = Start(context.Background(), WithTracesExporter(ExporterNone), WithMetricsExporter(ExporterNone))
	if err != nil {
		t.Fatal(err)
	}
	if kit.det == nil || activeDetector.Load() != kit.det {
		t.Error("Start did not install its detector")
	}
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := activeDetector.Load(); d != nil && d == kit.det {
		t.Error("Shutdown left its detector installed")
	}
}

// A report's numbers and tasks reach its span event and its log record as
// attributes of their own, not only inside the message.
func TestReportAttributes(t *testing.T) {
	rec := newRecorder(t)
	d, r := testDetector(detectorConfig{}, nil)
	defer d.close()
	ctx, span := rec.root(context.Background())
	d.emit(ctx, Report{Kind: ReportMemory, Message: "memory in use is high",
		Memory: &MemoryUsage{Used: 900, Limit: 1000, LimitSource: "/gc/gomemlimit:bytes", LiveHeap: 700}})
	d.emit(ctx, Report{Kind: ReportSpawnGrowth, Message: "site keeps growing",
		SpawnSite: "main.serve (main.go:12)", Count: 40, Tasks: []TaskInfo{{ID: 7}, {ID: 9}}})
	d.emit(ctx, Report{Kind: ReportMemory, Message: "growing, no limit", Memory: &MemoryUsage{Used: 5, LiveHeap: 4}})
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
		key   attribute.Key
		want  string
	}{
		{0, KeyMemoryUsed, "900"}, {0, KeyMemoryLimit, "1000"}, {0, KeyMemoryLimitSource, "/gc/gomemlimit:bytes"},
		{0, KeyMemoryLiveHeap, "700"}, {0, KeySpawnSite, ""}, {0, KeyLockName, ""},
		{1, KeySpawnSite, "main.serve (main.go:12)"}, {1, KeyTaskCount, "40"}, {1, KeyReportTasks, "[7,9]"},
		{1, KeyMemoryUsed, ""},
		{2, KeyMemoryUsed, "5"}, {2, KeyMemoryLimit, ""}, {2, KeyMemoryLimitSource, ""},
	} {
		if got := eventAttr(events[c.event], c.key); got != c.want {
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
