package sdk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/tracekit"
)

// errs collects what a Kit reports to its error handler.
type errs struct {
	mu   sync.Mutex
	list []error
}

func (e *errs) handle(err error) {
	e.mu.Lock()
	e.list = append(e.list, err)
	e.mu.Unlock()
}

func (e *errs) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return errors.Join(e.list...).Error()
}

func (e *errs) mention(s string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Contains(errors.Join(e.list...).Error(), s)
}

// as finds the first error handled that errors.As matches target.
func (e *errs) as(target any) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, err := range e.list {
		if errors.As(err, target) {
			return true
		}
	}
	return false
}

func startKit(t *testing.T, opts ...Option) *Kit {
	t.Helper()
	kit, err := Start(context.Background(), append([]Option{WithoutGlobals()}, opts...)...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = kit.Shutdown(context.Background()) })
	return kit
}

// runTask starts a root span of the kit and one task under it.
func runTask(t *testing.T, kit *Kit, name string) {
	t.Helper()
	ctx, root := testTracer(kit).Start(context.Background(), "root")
	if err := tracekit.Go(ctx, name, func(context.Context) error { return nil }).Wait(); err != nil {
		t.Fatal(err)
	}
	root.End()
}

func resourceValue(s sdktrace.ReadOnlySpan, key attribute.Key) string {
	v, _ := s.Resource().Set().Value(key)
	return v.Emit()
}

func TestStartExportsThroughSpanExporter(t *testing.T) {
	exp := &kittest.Keeper{}
	kit := startKit(t, WithServiceName("checkout"), WithSpanExporter(exp))
	runTask(t, kit, "fetch-prices")
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	got := exp.Spans()
	if len(got) != 2 {
		t.Fatalf("exported %d spans, want root and task", len(got))
	}
	if svc := resourceValue(got[0], otelsemconv.ServiceNameKey); svc != "checkout" {
		t.Errorf("service.name = %q, want checkout", svc)
	}
	if st := kit.Stats(); st.Exported != 2 || st.Dropped+st.Failed+st.Pending != 0 {
		t.Errorf("Stats = %+v, want 2 exported", st)
	}
}

func TestResourceFromEnvAndOptions(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test,team=core")
	for _, tc := range []struct {
		name    string
		opts    []Option
		service string
		team    string
	}{
		{"env", nil, "from-env", "core"},
		{"options win", []Option{WithServiceName("from-option"), WithResourceAttributes(attribute.String("team", "edge"))}, "from-option", "edge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp := &kittest.Keeper{}
			kit := startKit(t, append(tc.opts, WithSpanExporter(exp))...)
			runTask(t, kit, "x")
			_ = kit.Shutdown(context.Background())
			s := exp.Spans()[0]
			if got := resourceValue(s, otelsemconv.ServiceNameKey); got != tc.service {
				t.Errorf("service.name = %q, want %q", got, tc.service)
			}
			if got := resourceValue(s, "team"); got != tc.team {
				t.Errorf("team = %q, want %q", got, tc.team)
			}
			if got := resourceValue(s, "deployment.environment.name"); got != "test" {
				t.Errorf("deployment.environment.name = %q, want test", got)
			}
		})
	}
}

func TestDefaultServiceName(t *testing.T) {
	exp := &kittest.Keeper{}
	kit := startKit(t, WithSpanExporter(exp))
	runTask(t, kit, "x")
	_ = kit.Shutdown(context.Background())
	want := "unknown_service:" + filepath.Base(os.Args[0])
	if got := resourceValue(exp.Spans()[0], otelsemconv.ServiceNameKey); got != want {
		t.Errorf("service.name = %q, want %q", got, want)
	}
}

func TestFileExporterFromEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spans.jsonl")
	t.Setenv("OTEL_TRACES_EXPORTER", "file")
	t.Setenv("TRACEKIT_FILE_PATH", path)
	kit := startKit(t)
	runTask(t, kit, "to-file")
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var req struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []struct{ Name string }
				}
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			t.Fatalf("line is not JSON: %v\n%s", err, sc.Bytes())
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
				}
			}
		}
	}
	if strings.Join(names, ",") != "to-file,root" {
		t.Errorf("spans in file = %v, want [to-file root]", names)
	}
}

func TestFileExporterOptionBeatsEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	t.Setenv("TRACEKIT_FILE_PATH", filepath.Join(dir, "env.jsonl"))
	kit := startKit(t, WithTracesExporter(ExporterFile), WithFilePath(filepath.Join(dir, "opt.jsonl")))
	runTask(t, kit, "x")
	_ = kit.Shutdown(context.Background())
	if _, err := os.Stat(filepath.Join(dir, "opt.jsonl")); err != nil {
		t.Errorf("option path not written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "env.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("env path written although the option named another")
	}
}

func TestFilePathAloneSelectsTheFile(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	path := filepath.Join(t.TempDir(), "spans.jsonl")
	kit := startKit(t, WithFilePath(path))
	runTask(t, kit, "x")
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v (spans went somewhere other than the file?)", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Errorf("file %s not written: %v", path, err)
	}
}

func TestConsoleAndNoneExporters(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	var buf bytes.Buffer
	kit := startKit(t, WithConsoleWriter(&buf), WithMetricsExporter(ExporterNone))
	runTask(t, kit, "printed")
	_ = kit.Shutdown(context.Background())
	if !strings.Contains(buf.String(), `"Name": "printed"`) {
		t.Errorf("console output lacks the span:\n%s", buf.String())
	}

	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	kit = startKit(t)
	runTask(t, kit, "nowhere")
	_ = kit.Shutdown(context.Background())
	if st := kit.Stats(); st != (ExportStats{}) {
		t.Errorf("none exporter: Stats = %+v, want zero", st)
	}
}

func TestBadEnvIsReportedAndIgnored(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "bogus,none")
	t.Setenv("OTEL_TRACES_SAMPLER", "sometimes")
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "-3")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	var e errs
	exp := &kittest.Keeper{}
	kit := startKit(t, WithErrorHandler(e.handle), WithSpanExporter(exp), WithMetricsExporter(ExporterOTLP))
	for _, want := range []string{`OTEL_TRACES_SAMPLER="sometimes"`, `OTEL_BSP_MAX_QUEUE_SIZE="-3"`, `OTEL_EXPORTER_OTLP_PROTOCOL="http/json"`} {
		if !e.mention(want) {
			t.Errorf("error handler was not told about %s; got: %s", want, e.String())
		}
	}
	// The default sampler applies: the task is sampled.
	runTask(t, kit, "sampled")
	_ = kit.Shutdown(context.Background())
	if len(exp.Spans()) != 2 {
		t.Errorf("got %d spans, want the default sampler to keep both", len(exp.Spans()))
	}
}

func TestUnknownExporterInEnvIsSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spans.jsonl")
	t.Setenv("OTEL_TRACES_EXPORTER", "bogus,file")
	t.Setenv("TRACEKIT_FILE_PATH", path)
	var e errs
	kit := startKit(t, WithErrorHandler(e.handle))
	if !e.mention(`OTEL_TRACES_EXPORTER="bogus"`) {
		t.Errorf("unknown exporter not reported; got %v", e.String())
	}
	runTask(t, kit, "x")
	_ = kit.Shutdown(context.Background())
	if st := kit.Stats(); st.Exported != 2 {
		t.Errorf("Stats = %+v, want the file exporter to have taken 2 spans", st)
	}
}

func TestSamplerFromEnvAndOption(t *testing.T) {
	for _, tc := range []struct {
		sampler, arg string
		opts         []Option
		want         int
	}{
		{"always_off", "", nil, 0},
		{"traceidratio", "0", nil, 0},
		{"parentbased_traceidratio", "1", nil, 2},
		{"always_off", "", []Option{WithSampler(sdktrace.AlwaysSample())}, 2},
	} {
		t.Run(tc.sampler+tc.arg, func(t *testing.T) {
			t.Setenv("OTEL_TRACES_SAMPLER", tc.sampler)
			t.Setenv("OTEL_TRACES_SAMPLER_ARG", tc.arg)
			exp := &kittest.Keeper{}
			kit := startKit(t, append(tc.opts, WithSpanExporter(exp))...)
			runTask(t, kit, "x")
			_ = kit.Shutdown(context.Background())
			if got := len(exp.Spans()); got != tc.want {
				t.Errorf("exported %d spans, want %d", got, tc.want)
			}
		})
	}
}

func TestSDKDisabled(t *testing.T) {
	t.Setenv("OTEL_SDK_DISABLED", "true")
	kit := startKit(t)
	ctx, root := testTracer(kit).Start(context.Background(), "root")
	if root.IsRecording() {
		t.Error("span records with OTEL_SDK_DISABLED=true")
	}
	root.End()
	if err := tracekit.Go(ctx, "x", func(context.Context) error { return nil }).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownExporterOptionIsAnError(t *testing.T) {
	_, err := Start(context.Background(), WithoutGlobals(), WithTracesExporter("zipkin"))
	if err == nil || !strings.Contains(err.Error(), `"zipkin"`) {
		t.Fatalf("Start = %v, want an error naming the exporter", err)
	}
}

// TestStartInstallsGlobals is the one test that sets the OpenTelemetry
// globals; it puts them back.
func TestStartInstallsGlobals(t *testing.T) {
	prevTP, prevMP, prevProp := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
		otel.SetTextMapPropagator(prevProp)
	})
	exp := &kittest.Keeper{}
	kit, err := Start(context.Background(), WithSpanExporter(exp), WithMetricsExporter(ExporterNone))
	if err != nil {
		t.Fatal(err)
	}
	defer kit.Shutdown(context.Background())
	if otel.GetTracerProvider() != kit.TracerProvider() {
		t.Error("global tracer provider is not the kit's")
	}
	// A task with no span in its context uses the global provider.
	task := tracekit.Go(context.Background(), "global", func(context.Context) error { return nil })
	_ = task.Wait()
	if !task.SpanContext().IsValid() {
		t.Error("task under the global provider has no span")
	}
	carrier := propagation.MapCarrier{}
	ctx, span := testTracer(kit).Start(context.Background(), "p")
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	span.End()
	if !strings.HasPrefix(carrier["traceparent"], "00-"+span.SpanContext().TraceID().String()) {
		t.Errorf("traceparent = %q, want the W3C header for the span", carrier["traceparent"])
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
