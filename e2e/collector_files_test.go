package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/spans"
)

// TestFlamegenReadsCollectorFiles sends spans over OTLP to a real Collector
// whose file exporter writes them as OTLP JSON lines and in its proto format
// (each request preceded by a 4-byte length), and reads both files, found
// by content: the same spans, and the wall time of a trace whose async
// child outlived its parent is max end − min start.
func TestFlamegenReadsCollectorFiles(t *testing.T) {
	bin := collectorBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	port := freePort(t)
	config := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(config, []byte(`receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:`+port+`
exporters:
  file/json:
    path: `+filepath.Join(dir, "spans.jsonl")+`
  file/proto:
    path: `+filepath.Join(dir, "spans.pb")+`
    format: proto
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file/json, file/proto]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stop := startCollector(t, ctx, bin, config, port)

	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint("127.0.0.1:"+port), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "shop"))))
	tr := tp.Tracer("e2e")
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) trace.SpanStartEventOption {
		return trace.WithTimestamp(t0.Add(time.Duration(ms) * time.Millisecond))
	}
	end := func(ms int) trace.SpanEndOption {
		return trace.WithTimestamp(t0.Add(time.Duration(ms) * time.Millisecond))
	}
	// checkout [0, 10ms); its child notify [2, 25ms) outlives it; its
	// child price [1, 3ms) does not.
	rctx, root := tr.Start(ctx, "checkout", at(0))
	_, notify := tr.Start(rctx, "notify", at(2))
	_, price := tr.Start(rctx, "price", at(1))
	price.End(end(3))
	root.End(end(10))
	notify.End(end(25))
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	stop() // the file exporter writes out what it holds

	for _, name := range []string{"spans.jsonl", "spans.pb"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if name == "spans.pb" && (len(b) < 5 || b[0] != 0 || b[4] != 0x0a) {
				t.Errorf("the proto file does not start with a 4-byte length and a request: % x", b[:min(len(b), 8)])
			}
			if !spans.Sniff(b) {
				t.Fatalf("%s not recognised as trace data: % x", name, b[:min(len(b), 16)])
			}
			set, err := spans.Read(strings.NewReader(string(b)), name)
			if err != nil {
				t.Fatal(err)
			}
			if set.NumTraces() != 1 || set.Len() != 3 {
				t.Fatalf("%d traces, %d spans; want 1 and 3", set.NumTraces(), set.Len())
			}
			got := set.Trace(0)
			if got.Wall() != int64(25*time.Millisecond) || got.Async != 1 || got.Warnings.Any() {
				t.Errorf("wall %v, %d async, warnings %v; want 25ms and 1", time.Duration(got.Wall()), got.Async, got.Warnings)
			}
			agg := spans.NewAggregator()
			if err := agg.Add(got); err != nil || agg.Tree().Total() != int64(25*time.Millisecond) {
				t.Errorf("root %v, %v; want the wall time", time.Duration(agg.Tree().Total()), err)
			}
		})
	}
}
