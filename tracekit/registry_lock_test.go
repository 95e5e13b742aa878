//go:build !tracekit_nosync

package tracekit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/tracekit/console"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// locksTracked says a task blocked on a tracekit lock shows as waiting.
const locksTracked = true

// detectedMutex returns a Mutex reporting to d, named name.
func detectedMutex(d *detect.Detector, name string) *Mutex {
	m := &Mutex{}
	m.l.Det = d
	m.SetName(name)
	return m
}

// A task waiting on a lock shows who holds it: the holding task in
// Snapshot and as a link in the console, or the holder's goroutine when it
// is not a tracked task.
func TestSnapshotHeldBy(t *testing.T) {
	if !goid.Fast || !goid.FastID() {
		t.Skip("goroutine IDs cannot be read cheaply on this platform")
	}
	d, _ := testDetector(detect.Config{}, nil)
	defer d.Close()
	mu := detectedMutex(d, "orders")
	waiterOf := func() *Task {
		return Go(context.Background(), "waiter", func(context.Context) error {
			mu.Lock()
			mu.Unlock()
			return nil
		})
	}

	release := make(chan struct{})
	holder := holdInTask("holder", mu, release)
	waiter := waiterOf()
	waitFor(t, "the waiter waiting", func(s []inspect.Task) bool {
		w, ok := taskByID(s, waiter.ID())
		return ok && w.State() == inspect.TaskWaiting
	})
	w, _ := taskByID(inspect.Tasks(), waiter.ID())
	if w.HeldBy != holder.ID() || w.HeldByGoroutine != 0 {
		t.Errorf("waiter: held by task %d, goroutine %d; want task %d", w.HeldBy, w.HeldByGoroutine, holder.ID())
	}
	if h, _ := taskByID(inspect.Tasks(), holder.ID()); h.HeldBy != 0 {
		t.Errorf("the holder, not waiting on a lock, is held by %d", h.HeldBy)
	}
	_, page := kittest.Get(t, console.Handler(), "/")
	if want := fmt.Sprintf(`held by <a href="?task=%d" class="held-by">task %d</a>`, holder.ID(), holder.ID()); !strings.Contains(page, want) {
		t.Errorf("console list lacks %s:\n%s", want, page)
	}

	// The console's resources: the lock with both its waiters, longest
	// first, and its holder.
	second := waiterOf()
	waitFor(t, "the second waiter waiting", func(s []inspect.Task) bool {
		w, ok := taskByID(s, second.ID())
		return ok && w.State() == inspect.TaskWaiting
	})
	var cp consolePage
	kittest.GetJSON(t, console.Handler(), "/?format=json", &cp)
	i := slices.IndexFunc(cp.WaitedOn, func(r consoleResource) bool { return r.WaitingOn == `lock "orders"` })
	if i < 0 {
		t.Fatalf("waited_on = %+v, want lock \"orders\"", cp.WaitedOn)
	}
	if r := cp.WaitedOn[i]; !slices.Equal(r.Waiters, []uint64{waiter.ID(), second.ID()}) || r.HeldBy != holder.ID() || r.LongestSeconds <= 0 {
		t.Errorf("lock \"orders\" = %+v, want waiters %d then %d, held by %d", r, waiter.ID(), second.ID(), holder.ID())
	}
	if _, page := kittest.Get(t, console.Handler(), "/"); !strings.Contains(page, `<h2 id="waited-on">`) {
		t.Errorf("console list has no resources table:\n%s", page)
	}
	close(release)
	_ = holder.Wait()
	_ = waiter.Wait()
	_ = second.Wait()

	// Held by this test's goroutine, which is not a task.
	mu.Lock()
	waiter = waiterOf()
	waitFor(t, "the waiter waiting", func(s []inspect.Task) bool {
		w, ok := taskByID(s, waiter.ID())
		return ok && w.State() == inspect.TaskWaiting
	})
	w, _ = taskByID(inspect.Tasks(), waiter.ID())
	mu.Unlock()
	_ = waiter.Wait()
	if w.HeldBy != 0 || w.HeldByGoroutine != goid.ID() {
		t.Errorf("waiter: held by task %d, goroutine %d; want goroutine %d", w.HeldBy, w.HeldByGoroutine, goid.ID())
	}
}

// Two locks that share a name are two rows of the waited-on view, each
// with its own holder.
func TestWaitedOnLocksShareAName(t *testing.T) {
	if !goid.Fast || !goid.FastID() {
		t.Skip("goroutine IDs cannot be read cheaply on this platform")
	}
	d, _ := testDetector(detect.Config{}, nil)
	defer d.Close()
	release := make(chan struct{})
	var holders, waiters []*Task
	for range 2 {
		mu := detectedMutex(d, "account")
		holders = append(holders, holdInTask("holder", mu, release))
		waiters = append(waiters, Go(context.Background(), "waiter", func(context.Context) error {
			mu.Lock()
			mu.Unlock()
			return nil
		}))
	}
	defer func() {
		close(release)
		for _, tk := range append(holders, waiters...) {
			_ = tk.Wait()
		}
	}()
	waitFor(t, "both waiters waiting", func(s []inspect.Task) bool {
		for _, w := range waiters {
			if ti, ok := taskByID(s, w.ID()); !ok || ti.State() != inspect.TaskWaiting {
				return false
			}
		}
		return true
	})
	var cp consolePage
	kittest.GetJSON(t, console.Handler(), "/?format=json", &cp)
	got := map[uint64]uint64{} // waiter → holder
	for _, r := range cp.WaitedOn {
		if r.WaitingOn == `lock "account"` && len(r.Waiters) == 1 {
			got[r.Waiters[0]] = r.HeldBy
		}
	}
	for i, w := range waiters {
		if got[w.ID()] != holders[i].ID() {
			t.Errorf("waited_on = %+v: want waiter %d in its own row, held by %d", cp.WaitedOn, w.ID(), holders[i].ID())
		}
	}
}
