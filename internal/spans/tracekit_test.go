package spans

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/tracekit-go/tracekit/exporters/profiles"
	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// burn does n dependent multiplications: a fixed amount of CPU time
// (about a nanosecond each), however busy the machine is.
//
//go:noinline
func burn(n int) uint64 {
	var x uint64 = 1
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// TestTracekitFiles runs real work under tracekit with its zero-setup
// outputs, an OTLP JSON span file and CPU profiles with span labels, and
// joins the two: the span that burned CPU gets most of the samples, the
// span that slept gets almost none, and a task goroutine's span is nested
// and classified.
func TestTracekitFiles(t *testing.T) {
	dir := t.TempDir()
	tracesPath := filepath.Join(dir, "traces.jsonl")
	ctx := context.Background()
	kit, err := sdk.Start(ctx, sdk.WithoutGlobals(), sdk.WithServiceName("shop"),
		sdk.WithTracesExporter(sdk.ExporterFile), sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithFilePath(tracesPath),
		sdk.WithProfiling(sdk.ProfileToDir(filepath.Join(dir, "pprof"), profiles.WithWindow(time.Hour), profiles.WithTypes(profiles.CPU))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, root := kit.TracerProvider().Tracer("tracekit").Start(ctx, "GET /cart/42")
	_, busy := kit.TracerProvider().Tracer("tracekit").Start(ctx, "compute")
	burn(300_000_000)
	busy.End()
	_, idle := kit.TracerProvider().Tracer("tracekit").Start(ctx, "sleep")
	time.Sleep(100 * time.Millisecond)
	idle.End()
	task := tracekit.Go(ctx, "fetch", func(context.Context) error { burn(50_000_000); return nil })
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	root.End()
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(tracesPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set, err := Read(f, tracesPath)
	if err != nil {
		t.Fatal(err)
	}
	if set.NumTraces() != 1 || set.Len() != 4 {
		t.Fatalf("%d traces, %d spans; want 1 trace of 4", set.NumTraces(), set.Len())
	}
	files, err := profiles.Files(filepath.Join(dir, "pprof"))
	if err != nil {
		t.Fatal(err)
	}
	var cpu *SpanCPU
	for _, name := range files {
		if !strings.HasPrefix(filepath.Base(name), "cpu-") {
			continue
		}
		pf, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := profile.Parse(pf)
		pf.Close()
		if err != nil {
			t.Fatal(err)
		}
		if cpu, err = ReadSpanCPU(p, ""); err != nil {
			t.Fatal(err)
		}
	}
	if cpu == nil {
		t.Fatalf("no CPU profile among %v", files)
	}
	tr := set.Trace(0)
	agg := NewAggregator(WithGroupIDs(), WithSpanCPU(cpu))
	agg.Add(tr)
	tree := agg.Tree()
	frames := map[string]flame.NodeID{}
	tree.Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
		frames[strings.Join(tree.Stack(n), ";")] = n
		return true
	})
	rootF, computeF := frames["shop: GET /cart/{id}"], frames["shop: GET /cart/{id};shop: compute"]
	sleepF, fetchF := frames["shop: GET /cart/{id};shop: sleep"], frames["shop: GET /cart/{id};shop: fetch"]
	if rootF == 0 || computeF == 0 || sleepF == 0 || fetchF == 0 {
		t.Fatalf("frames %v", frames)
	}
	if tree.Total() != tr.Wall() || tree.Value(rootF) != tr.Wall() {
		t.Errorf("root %d, wall %d", tree.Total(), tr.Wall())
	}
	if agg.Class(fetchF) != ClassGoroutine {
		t.Errorf("fetch: class %v, want goroutine", agg.Class(fetchF))
	}
	// The profiler samples at 100 Hz: 300 million multiplications are
	// about 30 samples; demand a third of that, and that the sleeping span
	// got at most a few.
	const sample = 10 * time.Millisecond
	if got := time.Duration(agg.CPU(computeF)); got < 100*time.Millisecond || got > time.Duration(tree.Value(computeF))+5*sample {
		t.Errorf("compute: %v on CPU in %v", got, time.Duration(tree.Value(computeF)))
	}
	if got := time.Duration(agg.CPU(sleepF)); got > 3*sample {
		t.Errorf("sleep: %v on CPU", got)
	}
	t.Logf("on CPU: compute %v of %v, sleep %v of %v, fetch %v of %v, root's own %v; %v of samples had no span",
		time.Duration(agg.CPU(computeF)), time.Duration(tree.Value(computeF)), time.Duration(agg.CPU(sleepF)), time.Duration(tree.Value(sleepF)),
		time.Duration(agg.CPU(fetchF)), time.Duration(tree.Value(fetchF)), time.Duration(agg.CPU(rootF)), time.Duration(cpu.NoSpan))
	if agg.CPU(computeF) <= agg.CPU(rootF) {
		t.Errorf("compute %d ≤ root's own %d", agg.CPU(computeF), agg.CPU(rootF))
	}
}
