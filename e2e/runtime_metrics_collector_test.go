package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/exporters/otlp"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// TestRuntimeMetricsThroughCollector sends a Kit's metrics over OTLP to a
// real Collector and reads them back from its debug exporter: the runtime
// histograms arrive as explicit-bucket histograms, and the task metrics
// with their name and spawn-site attributes.
func TestRuntimeMetricsThroughCollector(t *testing.T) {
	bin := collectorBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Scale(3*time.Minute))
	t.Cleanup(cancel)

	port := freePort(t)
	config := filepath.Join(t.TempDir(), "collector.yaml")
	if err := os.WriteFile(config, []byte(`receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:`+port+`
exporters:
  debug:
    verbosity: detailed
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [debug]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := startCollector(t, ctx, bin, config, port)

	k, err := sdk.Start(ctx, sdk.WithoutGlobals(), sdk.WithServiceName("runtime-metrics"),
		sdk.WithTracesExporter(sdk.ExporterNone), sdk.WithMetricsExporter(sdk.ExporterOTLP),
		sdk.WithOTLP(otlp.WithEndpoint("127.0.0.1:"+port)))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var tasks []*tracekit.Task
	for range 3 {
		tasks = append(tasks, tracekit.Go(ctx, "blocked-worker", func(context.Context) error { <-release; return nil }))
	}
	for len(inspect.Tasks()) < 3 {
		time.Sleep(time.Millisecond)
	}
	runtime.GC()
	err = k.ForceFlush(ctx)
	close(release)
	for _, task := range tasks {
		_ = task.Wait()
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// The debug exporter prints each metric's descriptor, then its points.
	// metricFrom finds name's first printing at or after offset from.
	metricFrom := func(from int, name string) string {
		for {
			s := out.String()[from:]
			if i := strings.Index(s, "-> Name: "+name+"\n"); i >= 0 {
				s = s[i:]
				if j := strings.Index(s[1:], "-> Name: "); j >= 0 {
					s = s[:j+1]
				}
				return s
			}
			select {
			case <-ctx.Done():
				t.Fatalf("the collector printed no metric %s", name)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	metric := func(name string) string { return metricFrom(0, name) }
	for _, name := range []string{"go.schedule.duration", "tracekit.gc.pause.duration"} {
		m := metric(name)
		// 25 bounds (1, 2, 5 × 10ⁿ from 100 ns to 10 s), 26 buckets.
		for _, want := range []string{"-> DataType: Histogram", "-> AggregationTemporality: Cumulative", "ExplicitBounds #24:", "Buckets #25, Count:"} {
			if !strings.Contains(m, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, m)
			}
		}
		if strings.Contains(m, "ExplicitBounds #25:") {
			t.Errorf("%s has more than 25 bounds:\n%s", name, m)
		}
		if c := regexp.MustCompile(`(?m)^\s*Count: (\d+)$`).FindStringSubmatch(m); c == nil || c[1] == "0" {
			t.Errorf("%s counted nothing:\n%s", name, m)
		}
	}
	if m := metric("tracekit.task.count"); !strings.Contains(m, "tracekit.task.name: Str(blocked-worker)") || !strings.Contains(m, "Value: 3") {
		t.Errorf("tracekit.task.count lacks the 3 blocked-worker tasks:\n%s", m)
	}
	if m := metric("tracekit.task.started"); !strings.Contains(m, "code.function.name: Str(github.com/tracekit-go/tracekit/e2e.TestRuntimeMetricsThroughCollector)") {
		t.Errorf("tracekit.task.started lacks this test's spawn site:\n%s", m)
	}

	// With the delta temporality preference the OTLP exporter asks for, the
	// histograms are deltas too.
	mark := len(out.String())
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
	k, err = sdk.Start(ctx, sdk.WithoutGlobals(), sdk.WithServiceName("runtime-metrics-delta"),
		sdk.WithTracesExporter(sdk.ExporterNone), sdk.WithMetricsExporter(sdk.ExporterOTLP),
		sdk.WithOTLP(otlp.WithEndpoint("127.0.0.1:"+port)))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	if err := k.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// The first Kit's last export may be printed after mark: start at the
	// second Kit's resource.
	from := mark
	for {
		if i := strings.Index(out.String()[mark:], "Str(runtime-metrics-delta)"); i >= 0 {
			from = mark + i
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the collector printed nothing from the second Kit")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if m := metricFrom(from, "tracekit.gc.pause.duration"); !strings.Contains(m, "-> AggregationTemporality: Delta") {
		t.Errorf("with the delta preference tracekit.gc.pause.duration is not a delta:\n%s", m)
	}
}
