package tracekit

import (
	"context"
	"testing"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// With no Kit running, locks and channels time nothing, but a task blocked
// in one still shows in the registry as waiting on it (except in
// RWMutex.RLock, which stays a plain RLock), and as running again once it
// gets through.
func TestSnapshotWaitingWithoutKit(t *testing.T) {
	if detect.Active() != nil {
		t.Fatal("a Kit is still running from another test")
	}
	if !goid.Fast {
		t.Skip("a goroutine cannot find its task on this platform")
	}
	ctx := context.Background()
	cancelable, cancel := context.WithCancel(ctx)
	defer cancel()

	type blocker struct {
		name    string
		lock    bool   // a lock case: plain sync with tracekit_nosync
		want    string // inspect.Task.WaitingOn while blocked
		block   func() // makes the operation block
		op      func() error
		release func()
	}
	mu := namedMutex("cache")
	rw := namedRWMutex("table")
	unnamed := &Mutex{}
	jobs := NewChan[int]("jobs", 0)
	raw := make(chan int)
	cases := []blocker{
		{name: "Mutex.Lock", lock: true, want: `lock "cache"`,
			block: mu.Lock, op: func() error { mu.Lock(); mu.Unlock(); return nil }, release: mu.Unlock},
		{name: "Mutex.LockContext", lock: true, want: `lock "cache"`,
			block: mu.Lock, op: func() error {
				if err := mu.LockContext(cancelable); err != nil {
					return err
				}
				mu.Unlock()
				return nil
			}, release: mu.Unlock},
		{name: "unnamed Mutex", lock: true, want: `lock "github.com/tracekit-go/tracekit/tracekit.TestSnapshotWaitingWithoutKit.func`,
			block: unnamed.Lock, op: func() error { unnamed.Lock(); unnamed.Unlock(); return nil }, release: unnamed.Unlock},
		{name: "RWMutex.Lock", lock: true, want: `lock "table"`,
			block: rw.RLock, op: func() error { rw.Lock(); rw.Unlock(); return nil }, release: rw.RUnlock},
		{name: "RWMutex.RLockContext", lock: true, want: `read lock "table"`,
			block: rw.Lock, op: func() error {
				if err := rw.RLockContext(cancelable); err != nil {
					return err
				}
				rw.RUnlock()
				return nil
			}, release: rw.Unlock},
		{name: "Chan.Send", want: `send on "jobs"`,
			block: func() {}, op: func() error { return jobs.Send(ctx, 1) }, release: func() { <-jobs.C() }},
		{name: "Recv", want: `receive from "github.com/tracekit-go/tracekit/tracekit.TestSnapshotWaitingWithoutKit.func`,
			block: func() {}, op: func() error { _, err := Recv(ctx, raw); return err }, release: func() { raw <- 1 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.lock && !locksTracked {
				t.Skip("locks are plain sync locks with tracekit_nosync")
			}
			c.block()
			task := Go(ctx, "blocked", func(context.Context) error { return c.op() })
			ti := waitFor(t, c.want, func(s []inspect.Task) bool {
				ti, ok := taskByID(s, task.ID())
				return ok && ti.State() == inspect.TaskWaiting && len(ti.WaitingOn) >= len(c.want) && ti.WaitingOn[:len(c.want)] == c.want
			})
			if got, _ := taskByID(ti, task.ID()); got.WaitingSince.Before(got.Start) {
				t.Errorf("waiting since %v, before the task started at %v", got.WaitingSince, got.Start)
			}
			c.release()
			if err := task.Wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// An untracked goroutine blocking on a tracekit lock with no Kit running
// changes nothing in the registry and still gets the lock.
func TestWaitWithoutKitOutsideTask(t *testing.T) {
	mu := namedMutex("plain")
	mu.Lock()
	done := make(chan struct{})
	go func() {
		mu.Lock()
		mu.Unlock()
		close(done)
	}()
	before := len(inspect.Tasks())
	mu.Unlock()
	<-done
	if after := len(inspect.Tasks()); after != before {
		t.Errorf("registry changed from %d to %d tasks", before, after)
	}
}
