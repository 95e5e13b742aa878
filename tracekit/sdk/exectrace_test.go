package sdk

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/trace"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/exectrace"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/spans"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// markedRun is what the program of TestExecutionTraceMarks did, as it
// knows it without reading the trace: each task's span and goroutine by
// name.
type markedRun struct {
	mu    sync.Mutex
	spans map[string]spans.SpanID
	gs    map[string]int64
}

func (r *markedRun) note(ctx context.Context, name string) {
	id := spans.SpanID(oteltrace.SpanContextFromContext(ctx).SpanID())
	r.mu.Lock()
	r.spans[name], r.gs[name] = id, int64(goid.Slow())
	r.mu.Unlock()
}

// waitingOn waits until the task has waited more than twice the slow
// threshold on something.
func waitingOn(t *testing.T, task *tracekit.Task, slow time.Duration) {
	t.Helper()
	if !testwait.For(time.Minute, func() bool {
		for _, ti := range inspect.Tasks() {
			if ti.ID == task.ID() && ti.State() == inspect.TaskWaiting && time.Since(ti.WaitingSince) > 2*slow {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("task %q never waited", task.Name())
	}
}

// A program instrumented with tracekit alone, run under runtime/trace.Start
// with its spans in a span file, reads back through flamegen's join: its
// function span, tasks and wait spans are found by ID on the goroutines
// they ran on, each in the state it was put in, and the waits name the
// lock and the channel and the spans that released them.
func TestExecutionTraceMarks(t *testing.T) {
	if !locksTracked {
		t.Skip("tracekit_nosync: the locks are plain sync locks")
	}
	if !goid.Fast {
		t.Skip("a goroutine cannot find its task on this platform")
	}
	const slow = time.Millisecond
	path := filepath.Join(t.TempDir(), "spans.jsonl")
	kit, err := Start(context.Background(), WithTracesExporter(ExporterFile), WithFilePath(path),
		WithMetricsExporter(ExporterNone), WithSlowThreshold(slow))
	if err != nil {
		t.Fatal(err)
	}
	defer kit.Shutdown(context.Background())
	exec := kittest.StartExecTrace(t)

	run := &markedRun{spans: map[string]spans.SpanID{}, gs: map[string]int64{}}
	ctx, root := tracekit.SpanNamed(context.Background(), "request")
	run.note(ctx, "request")

	cpu := tracekit.Go(ctx, "cpu", func(ctx context.Context) error {
		run.note(ctx, "cpu")
		burn(30 * time.Millisecond)
		return nil
	})
	if err := cpu.Wait(); err != nil {
		t.Fatal(err)
	}

	var orders tracekit.Mutex
	orders.SetName("orders")
	locked, release := make(chan struct{}), make(chan struct{})
	holder := tracekit.Go(ctx, "holder", func(ctx context.Context) error {
		run.note(ctx, "holder")
		orders.Lock()
		close(locked)
		<-release
		orders.Unlock()
		return nil
	})
	<-locked
	waiter := tracekit.Go(ctx, "waiter", func(ctx context.Context) error {
		run.note(ctx, "waiter")
		orders.Lock()
		orders.Unlock()
		return nil
	})
	// A wait that can be cancelled blocks in a select on the lock's wake
	// channel; it is a lock wait all the same.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	waiterCtx := tracekit.Go(cctx, "waiter-ctx", func(ctx context.Context) error {
		run.note(ctx, "waiter-ctx")
		if err := orders.LockContext(ctx); err != nil {
			return err
		}
		orders.Unlock()
		return nil
	})
	waitingOn(t, waiter, slow)
	waitingOn(t, waiterCtx, slow)
	close(release)

	jobs := tracekit.NewChan[int]("jobs", 0)
	recv := tracekit.Go(ctx, "receiver", func(ctx context.Context) error {
		run.note(ctx, "receiver")
		_, err := jobs.Recv(ctx)
		return err
	})
	waitingOn(t, recv, slow)
	sender := tracekit.Go(ctx, "sender", func(ctx context.Context) error {
		run.note(ctx, "sender")
		return jobs.Send(ctx, 1)
	})
	for _, task := range []*tracekit.Task{holder, waiter, waiterCtx, recv, sender} {
		if err := task.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	root.End(nil)
	kittest.TaskGoroutinesGone(t) // their spans end with them
	trace.Stop()
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set, err := spans.Read(f, path)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := exectrace.Read(bytes.NewReader(exec.Bytes()), "exec.trace", 0)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Warnings.Any() {
		t.Errorf("warnings: %v", tr.Warnings)
	}
	rt, matched := tr.Join(set)
	if matched != set.Len() {
		t.Errorf("joined %d of the span file's %d spans", matched, set.Len())
	}
	byName := map[string]spans.Span{}
	for i := range set.NumTraces() {
		for _, sp := range set.Spans(nil, i) {
			byName[sp.Name] = sp
		}
	}
	for name, id := range run.spans {
		r := rt.Of(id)
		if r == nil {
			t.Errorf("%s: span %v not found in the execution trace", name, id)
			continue
		}
		if r.Goroutine != run.gs[name] {
			t.Errorf("%s: goroutine %d, it ran on %d", name, r.Goroutine, run.gs[name])
		}
		if sp := byName[name]; sp.ID != id {
			t.Errorf("%s: the span file's span %v, the program's %v", name, sp.ID, id)
		}
	}

	dominant := func(name string) string {
		r := rt.Of(byName[name].ID)
		if r == nil {
			return "(not found)"
		}
		st := r.States()
		return st.Dominant().String()
	}
	for name, want := range map[string]string{"cpu": "running", "waiter": "lock", "waiter-ctx": "lock", "receiver": "channel",
		"chan.recv jobs": "channel"} {
		if got := dominant(name); got != want {
			t.Errorf("%s: dominant state %s, want %s", name, got, want)
		}
	}
	// The waits are named after tracekit's lock and channel, and ended by
	// the holder's and the sender's task spans on their goroutines.
	// The lock is released to the waiters in an order of the runtime's
	// choosing: the last of them waits for the first.
	for _, tt := range []struct {
		span, label string
		by          []string
	}{
		{"waiter", "lock: orders", []string{"holder", "waiter-ctx"}},
		{"waiter-ctx", "lock: orders", []string{"holder", "waiter"}},
		{"receiver", "chan recv: jobs", []string{"sender"}},
	} {
		r := rt.Of(byName[tt.span].ID)
		if r == nil {
			continue
		}
		var found bool
		for _, s := range r.Stretches {
			if s.Label != tt.label {
				continue
			}
			found = true
			if (s.State == spans.StateLock) != strings.HasPrefix(tt.label, "lock") {
				t.Errorf("%s: %s is in state %v", tt.span, tt.label, s.State)
			}
			if !slices.ContainsFunc(tt.by, func(by string) bool { return s.BySpan == run.spans[by] && s.ByGoroutine == run.gs[by] }) {
				t.Errorf("%s: %s ended by goroutine %d span %v, want one of %v: %v %v", tt.span, tt.label,
					s.ByGoroutine, s.BySpan, tt.by, run.gs, run.spans)
			}
		}
		if !found {
			t.Errorf("%s: no stretch %q in %+v", tt.span, tt.label, r.Stretches)
		}
	}
	// Each lock wait span is one lock wait.
	waits := 0
	for i := range set.NumTraces() {
		for _, sp := range set.Spans(nil, i) {
			if r := rt.Of(sp.ID); sp.Kind == "lock.wait" && r != nil {
				waits++
				if st := r.States(); st.Dominant() != spans.StateLock {
					t.Errorf("%s %v: dominant state %v, want lock", sp.Name, sp.ID, st.Dominant())
				}
			}
		}
	}
	if waits != 2 {
		t.Errorf("%d lock.wait spans joined, want 2", waits)
	}
}

// burn computes for d of wall time.
func burn(d time.Duration) {
	x := uint64(1)
	for start := time.Now(); time.Since(start) < d; {
		for range 1000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	burnSink = x
}

var burnSink uint64
