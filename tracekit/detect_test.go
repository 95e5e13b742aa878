package tracekit

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// testDetector makes a detector the way Start would, with the test's own
// report sink, logger and (if reader is not nil) meter. Inside a synctest
// bubble, call it in the bubble and close it before the bubble ends.
func testDetector(cfg detect.Config, reader sdkmetric.Reader) (*detect.Detector, *kittest.Reports) {
	r := &kittest.Reports{}
	cfg.OnReport = r.Add
	cfg.Logger = r.Logger()
	if reader != nil {
		cfg.Meter = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter(semconv.ScopeName)
	}
	return detect.New(cfg), r
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
		if got := kittest.EventAttr(events[c.event], attribute.Key(c.key)); got != c.want {
			t.Errorf("event %d %s = %q, want %q", c.event, c.key, got, c.want)
		}
	}
	logged := r.Logged()
	for _, want := range []string{"used=900 live_heap=700 limit=1000 limit_source=/gc/gomemlimit:bytes",
		`spawn_site="main.serve (main.go:12)" tasks=40`} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %q:\n%s", want, logged)
		}
	}
}
