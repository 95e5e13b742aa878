package sdk

import (
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/exporters/profiles"
	"github.com/tracekit-go/tracekit/exporters/pyroscope"
	"github.com/tracekit-go/tracekit/exporters/pyroscope/pyroscopetest"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/tracekit"
)

// spinWork is about 200 ms of CPU: a fixed amount of work rather than of
// wall time, so that a loaded machine makes the test slower, not the
// profile thinner (the profiler samples CPU time).
const spinWork = 200_000_000

// spin does a chain of dependent multiplications; the named wrappers below
// tell the samples of each part of a test apart by their stacks.
func spin(n int) uint64 {
	var x uint64 = 1
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

//go:noinline
func burnHandler(n int) uint64 { return spin(n) }

//go:noinline
func burnChild(n int) uint64 { return spin(n) }

//go:noinline
func burnWorker(n int) uint64 { return spin(n) }

//go:noinline
func burnOutside(n int) uint64 { return spin(n) }

// labelsIn sums the CPU samples whose stack passes through fn by their
// span_id, span_name and trace_id labels ("" when a label is missing).
func labelsIn(p *profile.Profile, fn string) map[[3]string]int64 {
	out := map[[3]string]int64{}
	for _, s := range p.Sample {
		in := false
		for _, loc := range s.Location {
			for _, l := range loc.Line {
				if l.Function != nil && strings.HasSuffix(l.Function.Name, "."+fn) {
					in = true
				}
			}
		}
		if !in {
			continue
		}
		var key [3]string
		for i, name := range []string{semconv.LabelSpanID, semconv.LabelSpanName, semconv.LabelTraceID} {
			if v := s.Label[name]; len(v) == 1 {
				key[i] = v[0]
			}
		}
		out[key] += s.Value[0]
	}
	return out
}

// wantOnly fails unless every sample in fn carries labels of sc and name
// (or no span labels at all when sc is invalid), and there are enough.
func wantOnly(t *testing.T, p *profile.Profile, fn string, sc trace.SpanContext, name string) {
	t.Helper()
	want := [3]string{}
	if sc.IsValid() {
		want = [3]string{sc.SpanID().String(), name, sc.TraceID().String()}
	}
	got := labelsIn(p, fn)
	var n int64
	for k, v := range got {
		if k != want {
			t.Errorf("%d samples in %s labelled %v, want %v", v, fn, k, want)
		}
		n += v
	}
	// About 20 are expected.
	if n < 3 {
		t.Errorf("%d samples in %s; want at least 3", n, fn)
	}
}

func spanByName(t *testing.T, spans []sdktrace.ReadOnlySpan, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range spans {
		if s.Name() == name {
			return s
		}
	}
	t.Fatalf("no span %q", name)
	return nil
}

func profileID(s sdktrace.ReadOnlySpan) string {
	for _, kv := range s.Attributes() {
		if kv.Key == attribute.Key(semconv.ProfileID) {
			return kv.Value.AsString()
		}
	}
	return ""
}

// labelledWork is the workload of the profiling tests: a user span with a
// child span, a task started under it, and work after the spans ended. It
// returns the span contexts of handler, child and worker. rootOnly says
// whether the Kit labels local roots only.
func labelledWork(t *testing.T, kit *Kit, rootOnly bool) (handler, child, worker trace.SpanContext) {
	t.Helper()
	ctx, span := kit.TracerProvider().Tracer("app").Start(context.Background(), "handler")
	handler = span.SpanContext()
	cctx, cspan := trace.SpanFromContext(ctx).TracerProvider().Tracer("app").Start(ctx, "child")
	child = cspan.SpanContext()
	want := child.SpanID().String()
	if rootOnly {
		want = handler.SpanID().String()
	}
	if got, _ := pprof.Label(cctx, semconv.LabelSpanID); got != want {
		t.Errorf("child context has span_id %q, want %s", got, want)
	}
	burnChild(spinWork)
	cspan.End()
	burnHandler(spinWork)
	task := tracekit.Go(ctx, "worker", func(context.Context) error {
		burnWorker(spinWork)
		return nil
	})
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	worker = task.SpanContext()
	span.End()
	burnOutside(spinWork)
	return handler, child, worker
}

func checkLabelled(t *testing.T, cpu *profile.Profile, spans []sdktrace.ReadOnlySpan, handler, child, worker trace.SpanContext) {
	t.Helper()
	wantOnly(t, cpu, "burnChild", child, "child")
	wantOnly(t, cpu, "burnHandler", handler, "handler")
	wantOnly(t, cpu, "burnWorker", worker, "worker")
	wantOnly(t, cpu, "burnOutside", trace.SpanContext{}, "")
	for name, sc := range map[string]trace.SpanContext{"handler": handler, "child": child, "worker": worker} {
		if got := profileID(spanByName(t, spans, name)); got != sc.SpanID().String() {
			t.Errorf("span %s has %s=%q, want its span ID %s", name, attribute.Key(semconv.ProfileID), got, sc.SpanID())
		}
	}
}

// TestProfileDirSpanLabels profiles real work into local files and checks
// that each CPU sample names the span it ran in: a user span, its child
// (and the parent's labels again once the child ended), a task goroutine,
// and no span after they all ended.
func TestProfileDirSpanLabels(t *testing.T) {
	dir := t.TempDir()
	exp := &kittest.Keeper{}
	kit, err := Start(context.Background(), WithoutGlobals(), WithSpanExporter(exp), WithServiceName("checkout"),
		WithProfiling(ProfileToDir(dir, profiles.WithWindow(time.Hour))))
	if err != nil {
		t.Fatal(err)
	}
	handler, child, worker := labelledWork(t, kit, false)
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	files, err := profiles.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cpu *profile.Profile
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "cpu-") {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			cpu, err = profile.Parse(fh)
			fh.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if cpu == nil {
		t.Fatalf("no CPU profile in %v", files)
	}
	checkLabelled(t, cpu, exp.Spans(), handler, child, worker)
}

// TestPyroscopeSpanLabels does the same through the real pyroscope-go
// client and a server that decodes its uploads.
func TestPyroscopeSpanLabels(t *testing.T) {
	srv := pyroscopetest.NewServer()
	defer srv.Close()
	exp := &kittest.Keeper{}
	kit, err := Start(context.Background(), WithoutGlobals(), WithSpanExporter(exp), WithServiceName("checkout"),
		WithResourceAttributes(attribute.String("deployment.environment.name", "test")),
		WithProfiling(ProfileToPyroscope(pyroscope.WithServerAddress(srv.URL()), pyroscope.WithUploadRate(time.Hour))))
	if err != nil {
		t.Fatal(err)
	}
	handler, child, worker := labelledWork(t, kit, false)
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := srv.Err(); err != nil {
		t.Fatal(err)
	}
	var cpu *profile.Profile
	for _, u := range srv.Uploads() {
		if u.App != "checkout" || u.Tags["deployment.environment.name"] != "test" {
			t.Errorf("upload %q: want app checkout with deployment.environment.name=test", u.Name)
		}
		// process.runtime.* come from the client itself.
		for tag := range u.Tags {
			if tag == "process.pid" || strings.HasPrefix(tag, "telemetry.sdk.") {
				t.Errorf("upload %q carries tag %s", u.Name, tag)
			}
		}
		if u.Profile.SampleType[0].Type == "samples" && cpu == nil {
			cpu = u.Profile
		}
	}
	if cpu == nil {
		t.Fatalf("no CPU upload among %d", len(srv.Uploads()))
	}
	checkLabelled(t, cpu, exp.Spans(), handler, child, worker)
}

func TestProfilingOffLeavesProviderAlone(t *testing.T) {
	kit, err := Start(context.Background(), WithoutGlobals(), WithSpanExporter(&kittest.Keeper{}))
	if err != nil {
		t.Fatal(err)
	}
	defer kit.Shutdown(context.Background())
	if _, ok := kit.TracerProvider().(*sdktrace.TracerProvider); !ok {
		t.Fatalf("without profiling the provider is %T", kit.TracerProvider())
	}
	ctx, span := testTracer(kit).Start(context.Background(), "s")
	defer span.End()
	if v, ok := pprof.Label(ctx, semconv.LabelSpanID); ok {
		t.Fatalf("span_id label %q without profiling", v)
	}
}

func TestUnsampledSpansAreNotLabelled(t *testing.T) {
	kit, err := Start(context.Background(), WithoutGlobals(), WithSpanExporter(&kittest.Keeper{}),
		WithSampler(sdktrace.NeverSample()), WithProfiling(ProfileToDir(t.TempDir(), profiles.WithTypes(profiles.Heap))))
	if err != nil {
		t.Fatal(err)
	}
	defer kit.Shutdown(context.Background())
	ctx, span := testTracer(kit).Start(context.Background(), "s")
	defer span.End()
	if v, ok := pprof.Label(ctx, semconv.LabelSpanID); ok {
		t.Fatalf("unsampled span labelled span_id=%q", v)
	}
}

func TestProfilingEnvironment(t *testing.T) {
	t.Run("TRACEKIT_PROFILE_DIR", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "p")
		t.Setenv("TRACEKIT_PROFILE_DIR", dir)
		kit, err := Start(context.Background(), WithoutGlobals(), WithSpanExporter(&kittest.Keeper{}))
		if err != nil {
			t.Fatal(err)
		}
		if err := kit.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if files, _ := profiles.Files(dir); len(files) == 0 {
			t.Fatal("no profiles written to TRACEKIT_PROFILE_DIR")
		}
	})
	t.Run("WithProfiling without a server writes beside the trace file", func(t *testing.T) {
		t.Setenv("PYROSCOPE_SERVER_ADDRESS", "")
		base := t.TempDir()
		kit, err := Start(context.Background(), WithoutGlobals(), WithSpanExporter(&kittest.Keeper{}),
			WithFilePath(filepath.Join(base, "traces.jsonl")), WithProfiling())
		if err != nil {
			t.Fatal(err)
		}
		if err := kit.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if files, _ := profiles.Files(filepath.Join(base, DefaultProfileDir)); len(files) == 0 {
			t.Fatal("no profiles beside the trace file")
		}
	})
	t.Run("PYROSCOPE_SERVER_ADDRESS", func(t *testing.T) {
		srv := pyroscopetest.NewServer()
		defer srv.Close()
		t.Setenv("PYROSCOPE_SERVER_ADDRESS", srv.URL())
		kit, err := Start(context.Background(), WithoutGlobals(), WithSpanExporter(&kittest.Keeper{}))
		if err != nil {
			t.Fatal(err)
		}
		if err := kit.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(srv.Uploads()) == 0 {
			t.Fatalf("nothing uploaded; server errors: %v", srv.Err())
		}
		// The default service name has a ':' Pyroscope refuses.
		if app := srv.Uploads()[0].App; !strings.HasPrefix(app, "unknown_service_") {
			t.Fatalf("app %q", app)
		}
	})
}

func TestAppName(t *testing.T) {
	for in, want := range map[string]string{
		"checkout":                 "checkout",
		"unknown_service:tracekit": "unknown_service_tracekit",
		"team/checkout-v2.1":       "team/checkout-v2.1",
		"naïve service":            "na_ve_service",
	} {
		if got := appName(in); got != want {
			t.Errorf("appName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPyroscopeAndProfileDir checks that with both destinations Pyroscope
// gets the CPU profile and the files hold heap snapshots, instead of the
// two fighting over the process's one CPU profile.
func TestPyroscopeAndProfileDir(t *testing.T) {
	srv := pyroscopetest.NewServer()
	defer srv.Close()
	dir := t.TempDir()
	var (
		mu       sync.Mutex
		reported []error
	)
	kit, err := Start(context.Background(), WithoutGlobals(), WithSpanExporter(&kittest.Keeper{}),
		WithErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }),
		WithProfiling(ProfileToPyroscope(pyroscope.WithServerAddress(srv.URL()), pyroscope.WithUploadRate(time.Hour)),
			ProfileToDir(dir, profiles.WithTypes(profiles.CPU, profiles.Heap))))
	if err != nil {
		t.Fatal(err)
	}
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, err := profiles.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || !strings.HasPrefix(filepath.Base(files[0]), "heap-") {
		t.Fatalf("files %v, want one heap snapshot", files)
	}
	var cpu bool
	for _, u := range srv.Uploads() {
		cpu = cpu || u.Profile.SampleType[0].Type == "samples"
	}
	if !cpu {
		t.Fatal("no CPU profile uploaded")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) > 0 {
		t.Fatalf("errors reported: %v", reported)
	}
}

// TestRootSpanProfiles checks Grafana's default labelling: the local root
// labels its goroutine, and its child span and the task under it keep the
// root's labels, so the root's profile holds the whole request.
func TestRootSpanProfiles(t *testing.T) {
	dir := t.TempDir()
	exp := &kittest.Keeper{}
	kit, err := Start(context.Background(), WithoutGlobals(), WithSpanExporter(exp),
		WithProfiling(LabelRootSpansOnly(), ProfileToDir(dir, profiles.WithWindow(time.Hour), profiles.WithTypes(profiles.CPU))))
	if err != nil {
		t.Fatal(err)
	}
	handler, _, _ := labelledWork(t, kit, true)
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, err := profiles.Files(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("files %v, %v; want one CPU profile", files, err)
	}
	fh, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	cpu, err := profile.Parse(fh)
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"burnChild", "burnHandler", "burnWorker"} {
		wantOnly(t, cpu, fn, handler, "handler")
	}
	wantOnly(t, cpu, "burnOutside", trace.SpanContext{}, "")
	spans := exp.Spans()
	if got := profileID(spanByName(t, spans, "handler")); got != handler.SpanID().String() {
		t.Errorf("root span has %s=%q, want %s", attribute.Key(semconv.ProfileID), got, handler.SpanID())
	}
	for _, name := range []string{"child", "worker"} {
		if got := profileID(spanByName(t, spans, name)); got != "" {
			t.Errorf("span %s has %s=%q; only roots should", name, attribute.Key(semconv.ProfileID), got)
		}
	}
}

// The contexts that labelled spans and tasks hand out carry the span, with
// the labelling provider, and the labels.
func TestLabelledContextCarriesSpan(t *testing.T) {
	sdk := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
	lp := newLabelingProvider(sdk, false)
	registerLabeler(sdk, lp)
	t.Cleanup(func() { unregisterLabeler(sdk) })
	defer pprof.SetGoroutineLabels(context.Background())

	check := func(what string, ctx context.Context, want trace.SpanContext) {
		t.Helper()
		span := trace.SpanFromContext(ctx)
		if !span.SpanContext().Equal(want) || span.TracerProvider() != lp {
			t.Errorf("%s: context carries span %v from %T, want %v from the labelling provider", what, span.SpanContext().SpanID(), span.TracerProvider(), want.SpanID())
		}
		if got, _ := pprof.Label(ctx, semconv.LabelSpanID); got != want.SpanID().String() {
			t.Errorf("%s: span_id label %q, want %s", what, got, want.SpanID())
		}
	}
	ctx, span := lp.Tracer("app").Start(context.Background(), "handler")
	defer span.End()
	check("span", ctx, span.SpanContext())
	var inTask context.Context
	task := tracekit.Go(ctx, "worker", func(ctx context.Context) error {
		inTask = ctx
		return nil
	})
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	check("task", inTask, task.SpanContext())
}
