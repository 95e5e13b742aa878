package sdk

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/internal/exectrace"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/spans"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// flightFile returns the tracekit.flight.file attribute of the exported span
// named name, or "".
func flightFile(t *testing.T, exp *kittest.Keeper, name string) string {
	t.Helper()
	for _, s := range exp.Spans() {
		if s.Name() == name {
			v, _ := kittest.Attr(s, semconv.FlightFile)
			return v.AsString()
		}
	}
	t.Fatalf("no span %q; have %v", name, kittest.Names(exp.Spans()))
	return ""
}

// snapshotSpans reads the flight recorder's snapshot at path and returns
// the spans marked in it, by name.
func snapshotSpans(t *testing.T, path string) map[string]exectrace.Span {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := exectrace.Read(f, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]exectrace.Span{}
	for _, sp := range tr.Spans {
		out[sp.Name] = sp
	}
	return out
}

func spanNamed(t *testing.T, exp *kittest.Keeper, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range exp.Spans() {
		if s.Name() == name {
			return s
		}
	}
	t.Fatalf("no span %q", name)
	return nil
}

// A span of tracekit's that ends slower than the slow-span threshold names
// a flight-recorder snapshot that holds it, whole: a task, a group, a
// function span, a lock wait. Faster spans name none; slow spans in the cool-down after a
// snapshot share the next one.
func TestSlowSpanSnapshots(t *testing.T) {
	if !locksTracked {
		t.Skip("tracekit_nosync: the locks are plain sync locks")
	}
	if !goid.Fast {
		t.Skip("a goroutine cannot find its task on this platform")
	}
	const slow = 300 * time.Millisecond
	dir := t.TempDir()
	exp := &kittest.Keeper{}
	kit, err := Start(context.Background(), WithSpanExporter(exp), WithMetricsExporter(ExporterNone),
		WithFlightRecorder(dir, FlightSlowSpan(slow)))
	if err != nil {
		t.Fatal(err)
	}
	defer kit.Shutdown(context.Background())
	if kit.det == nil || kit.det.SlowSpan() != slow {
		t.Skip("flight recorder unavailable (another one runs in this process)")
	}
	ctx, root := testTracer(kit).Start(context.Background(), "request")
	if err := tracekit.Go(ctx, "fast", func(context.Context) error { return nil }).Wait(); err != nil {
		t.Fatal(err)
	}
	// The workload is slow on purpose: it sleeps past the threshold.
	g := tracekit.NewGroup(ctx, "slow group")
	g.Go("slow task", func(context.Context) error {
		time.Sleep(slow + slow/2)
		return nil
	})
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	func() {
		_, span := tracekit.SpanNamed(ctx, "slow function")
		defer span.End(nil)
		time.Sleep(slow + slow/2)
	}()
	var orders tracekit.Mutex
	orders.SetName("orders")
	orders.Lock()
	waiter := tracekit.Go(ctx, "waiter", func(context.Context) error {
		orders.Lock()
		orders.Unlock()
		return nil
	})
	if !testwait.For(time.Minute, func() bool {
		for _, ti := range inspect.Tasks() {
			if ti.ID == waiter.ID() && ti.State() == inspect.TaskWaiting {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the waiter never waited")
	}
	time.Sleep(slow + slow/2) // the hold the waiter waits out
	orders.Unlock()
	if err := waiter.Wait(); err != nil {
		t.Fatal(err)
	}
	root.End()
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	if f := flightFile(t, exp, "fast"); f != "" {
		t.Errorf("a fast task named snapshot %s", f)
	}
	first := flightFile(t, exp, "slow task")
	second := flightFile(t, exp, "slow function")
	if first == "" || second == "" || first == second || filepath.Dir(first) != dir || filepath.Dir(second) != dir {
		t.Fatalf("snapshots %q and %q, want two files in %s", first, second, dir)
	}
	// The cool-down after the first lasts the window (10s): every later
	// request shares the second snapshot, written when the Kit shut down.
	if f := flightFile(t, exp, "slow group"); f != second {
		t.Errorf("the group named %q, want the shared %q", f, second)
	}
	if f := flightFile(t, exp, "lock.wait orders"); f != second {
		t.Errorf("the lock wait named %q, want the shared %q", f, second)
	}
	if f := flightFile(t, exp, "waiter"); f != second {
		t.Errorf("the waiting task named %q, want the shared %q", f, second)
	}
	for path, names := range map[string][]string{first: {"slow task"}, second: {"slow task", "slow function", "waiter", "lock.wait orders"}} {
		got := snapshotSpans(t, path)
		for _, name := range names {
			sp, ok := got[name]
			want := spanNamed(t, exp, name)
			if !ok || sp.ID != spans.SpanID(want.SpanContext().SpanID()) || sp.Open {
				t.Errorf("%s: span %q found %v (%+v), want it whole with ID %v", filepath.Base(path), name, ok, sp.Span, want.SpanContext().SpanID())
			}
		}
	}
}

// With the flight recorder on, every report names a snapshot, in the
// report and on its span event.
func TestReportSnapshots(t *testing.T) {
	dir := t.TempDir()
	exp := &kittest.Keeper{}
	got := make(chan inspect.Report, 1)
	kit, err := Start(context.Background(), WithSpanExporter(exp), WithMetricsExporter(ExporterNone),
		WithFlightRecorder(dir), WithReportHandler(func(r inspect.Report) { got <- r }))
	if err != nil {
		t.Fatal(err)
	}
	defer kit.Shutdown(context.Background())
	if kit.det == nil || !kit.det.Recording() {
		t.Skip("flight recorder unavailable (another one runs in this process)")
	}
	ctx, root := testTracer(kit).Start(context.Background(), "request")
	kit.det.Emit(ctx, inspect.Report{Kind: inspect.KindOrphanTask, Message: "a task outlived its parent"})
	root.End()
	r := <-got
	if r.TraceFile == "" || filepath.Dir(r.TraceFile) != dir {
		t.Fatalf("report names %q, want a file in %s", r.TraceFile, dir)
	}
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	events := spanNamed(t, exp, "request").Events()
	if len(events) != 1 || kittest.EventAttr(events[0], attribute.Key(semconv.FlightFile)) != r.TraceFile {
		t.Errorf("events %+v, want one naming %s", events, r.TraceFile)
	}
	if _, err := os.Stat(r.TraceFile); err != nil {
		t.Error(err)
	}
}
