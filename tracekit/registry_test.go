package tracekit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/testwait"
)

// taskByID finds id in a snapshot.
func taskByID(infos []TaskInfo, id uint64) (TaskInfo, bool) {
	for _, ti := range infos {
		if ti.ID == id {
			return ti, true
		}
	}
	return TaskInfo{}, false
}

// waitFor polls Snapshot until ok accepts it, or fails the test.
func waitFor(t *testing.T, what string, ok func([]TaskInfo) bool) []TaskInfo {
	t.Helper()
	var s []TaskInfo
	if !testwait.For(time.Minute, func() bool { s = Snapshot(); return ok(s) }) {
		t.Fatalf("%s: never seen in %+v", what, s)
	}
	return s
}

func TestSnapshot(t *testing.T) {
	d, _ := testDetector(detectorConfig{}, nil)
	defer d.close()
	rec := newRecorder(t)
	ctx, root := rec.root(context.Background())
	defer root.End()

	mu := detectedMutex(d, "orders")
	mu.Lock()
	jobs := make(chan int)
	childc := make(chan *Task, 1)
	parent := Go(ctx, "parent", func(ctx context.Context) error {
		child := Go(ctx, "child <b>", func(context.Context) error {
			mu.Lock()
			mu.Unlock()
			return nil
		})
		childc <- child
		_, err := recv(ctx, d, "jobs", jobs)
		return errors.Join(child.Wait(), err)
	})
	child := <-childc

	wantWait := map[uint64]string{parent.ID(): `receive from "jobs"`}
	if locksTracked {
		wantWait[child.ID()] = `lock "orders"`
	}
	if !goid.Fast {
		wantWait = nil // a goroutine cannot find its task here
	}
	snap := waitFor(t, "both tasks waiting", func(s []TaskInfo) bool {
		for id, on := range wantWait {
			if ti, ok := taskByID(s, id); !ok || ti.WaitingOn != on {
				return false
			}
		}
		_, ok1 := taskByID(s, parent.ID())
		_, ok2 := taskByID(s, child.ID())
		return ok1 && ok2
	})
	for i := 1; i < len(snap); i++ {
		if snap[i-1].ID >= snap[i].ID {
			t.Errorf("snapshot not sorted by ID: %d before %d", snap[i-1].ID, snap[i].ID)
		}
	}
	for _, tk := range []*Task{parent, child} {
		ti, _ := taskByID(snap, tk.ID())
		if ti.Name != tk.Name() || ti.TraceID != root.SpanContext().TraceID() || ti.SpanID != tk.SpanContext().SpanID() {
			t.Errorf("task %d: got %+v", tk.ID(), ti)
		}
		if !strings.Contains(ti.SpawnFunction, "TestSnapshot") || !strings.HasSuffix(ti.SpawnFile, "registry_test.go") || ti.SpawnLine == 0 {
			t.Errorf("task %q spawn site = %q", ti.Name, ti.SpawnSite())
		}
		if ti.Start.IsZero() || time.Since(ti.Start) > time.Minute {
			t.Errorf("task %q start = %v", ti.Name, ti.Start)
		}
		if _, ok := wantWait[tk.ID()]; ok && (ti.State != TaskWaiting || ti.WaitingSince.Before(ti.Start)) {
			t.Errorf("task %q: state %q since %v, started %v", ti.Name, ti.State, ti.WaitingSince, ti.Start)
		}
	}
	if ti, _ := taskByID(snap, child.ID()); ti.Parent != parent.ID() {
		t.Errorf("child's parent = %d, want %d", ti.Parent, parent.ID())
	}
	if ti, _ := taskByID(snap, parent.ID()); ti.Parent != 0 {
		t.Errorf("parent's parent = %d, want 0", ti.Parent)
	}

	stacks, err := SnapshotStacks()
	if err != nil {
		t.Fatal(err)
	}
	if ti, _ := taskByID(stacks, child.ID()); ti.Goroutine == 0 || !strings.Contains(ti.Stack, "(*Mutex).Lock") {
		t.Errorf("child's goroutine %d, stack:\n%s", ti.Goroutine, ti.Stack)
	}

	mu.Unlock()
	if err := child.Wait(); err != nil {
		t.Fatal(err)
	}
	if ti, ok := taskByID(Snapshot(), parent.ID()); ok && wantWait != nil && ti.WaitingOn != `receive from "jobs"` {
		t.Errorf("parent waits on %q after the lock was released", ti.WaitingOn)
	}
	close(jobs)
	if err := parent.Wait(); !errors.Is(err, ErrClosed) {
		t.Errorf("parent: %v", err)
	}
	if _, ok := taskByID(Snapshot(), parent.ID()); ok {
		t.Error("finished task still listed")
	}
}

func TestLeakNamesTask(t *testing.T) {
	rec := newRecorder(t)
	ctx, root := rec.root(context.Background())
	defer root.End()
	ignore := IgnoreCurrent()
	block := make(chan struct{})
	tk := Go(ctx, "stuck <worker>", func(context.Context) error { <-block; return nil })
	plain := make(chan struct{})
	go func() { <-block; close(plain) }()

	lctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := Leaks(lctx, ignore)
	cancel()
	close(block)
	_ = tk.Wait()
	<-plain

	var le *LeakError
	if !errors.As(err, &le) || len(le.Goroutines) != 2 {
		t.Fatalf("Leaks = %v, want two goroutines", err)
	}
	var tracked, untracked int
	for _, g := range le.Goroutines {
		if g.TaskID == 0 {
			untracked++
			if g.Task != "" || g.TraceID.IsValid() {
				t.Errorf("untracked goroutine named as a task: %+v", g)
			}
			continue
		}
		tracked++
		if g.TaskID != tk.ID() || g.Task != "stuck <worker>" || g.TraceID != root.SpanContext().TraceID() || g.SpanID != tk.SpanContext().SpanID() {
			t.Errorf("tracked goroutine: %+v", g)
		}
		if !strings.Contains(g.SpawnSite, "TestLeakNamesTask") || !strings.Contains(g.SpawnSite, "registry_test.go:") {
			t.Errorf("spawn site = %q", g.SpawnSite)
		}
	}
	if tracked != 1 || untracked != 1 {
		t.Errorf("%d tracked, %d untracked goroutines", tracked, untracked)
	}
	text := err.Error()
	for _, want := range []string{`tracked task "stuck <worker>" spawned at `, "trace " + root.SpanContext().TraceID().String()} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

// BenchmarkSnapshot is what one poll of the registry costs with 1,000
// tasks running.
func BenchmarkSnapshot(b *testing.B) {
	release := make(chan struct{})
	var tasks []*Task
	for range 1000 {
		tasks = append(tasks, Go(context.Background(), "idle", func(context.Context) error { <-release; return nil }))
	}
	for len(Snapshot()) < 1000 { // until every goroutine has started
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(Snapshot()) < 1000 {
			b.Fatal("tasks missing")
		}
	}
	b.StopTimer()
	close(release)
	for _, t := range tasks {
		_ = t.Wait()
	}
}
