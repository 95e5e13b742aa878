package tracekit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// taskByID finds id in a snapshot.
func taskByID(infos []inspect.Task, id uint64) (inspect.Task, bool) {
	for _, ti := range infos {
		if ti.ID == id {
			return ti, true
		}
	}
	return inspect.Task{}, false
}

// waitFor polls Snapshot until ok accepts it, or fails the test.
func waitFor(t *testing.T, what string, ok func([]inspect.Task) bool) []inspect.Task {
	t.Helper()
	var s []inspect.Task
	if !testwait.For(time.Minute, func() bool { s = inspect.Tasks(); return ok(s) }) {
		t.Fatalf("%s: never seen in %+v", what, s)
	}
	return s
}

func TestSnapshot(t *testing.T) {
	d, _ := testDetector(detect.Config{}, nil)
	defer d.Close()
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
	snap := waitFor(t, "both tasks waiting", func(s []inspect.Task) bool {
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
		if _, ok := wantWait[tk.ID()]; ok && (ti.State() != inspect.TaskWaiting || ti.WaitingSince.Before(ti.Start)) {
			t.Errorf("task %q: state %q since %v, started %v", ti.Name, ti.State(), ti.WaitingSince, ti.Start)
		}
	}
	if ti, _ := taskByID(snap, child.ID()); ti.Parent != parent.ID() {
		t.Errorf("child's parent = %d, want %d", ti.Parent, parent.ID())
	}
	if ti, _ := taskByID(snap, parent.ID()); ti.Parent != 0 {
		t.Errorf("parent's parent = %d, want 0", ti.Parent)
	}

	stacks, err := inspect.TasksWithStacks()
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
	if ti, ok := taskByID(inspect.Tasks(), parent.ID()); ok && wantWait != nil && ti.WaitingOn != `receive from "jobs"` {
		t.Errorf("parent waits on %q after the lock was released", ti.WaitingOn)
	}
	close(jobs)
	if err := parent.Wait(); !errors.Is(err, ErrClosed) {
		t.Errorf("parent: %v", err)
	}
	if _, ok := taskByID(inspect.Tasks(), parent.ID()); ok {
		t.Error("finished task still listed")
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
	for len(inspect.Tasks()) < 1000 { // until every goroutine has started
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(inspect.Tasks()) < 1000 {
			b.Fatal("tasks missing")
		}
	}
	b.StopTimer()
	close(release)
	for _, t := range tasks {
		_ = t.Wait()
	}
}
