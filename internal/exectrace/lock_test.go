package exectrace_test

import (
	"bytes"
	"context"
	"runtime"
	"runtime/trace"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/exectrace"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/spans"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/internal/xtrace"
	"github.com/tracekit-go/tracekit/tracekit"
)

// lockIn marks a span named name on its goroutine while it locks m, with
// LockContext when ctx can be done, else with Lock.
//
//go:noinline
func lockIn(ctx context.Context, m *tracekit.Mutex, name string, id byte) error {
	sid := [8]byte{7: id}
	xtrace.Begin(ctx, [16]byte{15: 1}, sid, [8]byte{}, "function", name)
	defer xtrace.End(ctx, sid)
	if ctx.Done() != nil {
		if err := m.LockContext(ctx); err != nil {
			return err
		}
	} else {
		m.Lock()
	}
	m.Unlock()
	return nil
}

// A wait on a tracekit lock is a lock wait named after the function that
// locked, also when no wait span names it (no detector runs, or it was
// shorter than the slow threshold): in sync's queue (Lock), and in the
// loop that a context that can be done waits in, a select on the lock's
// wake channel (LockContext).
func TestTracekitLockWithoutWaitSpan(t *testing.T) {
	exec := kittest.StartExecTrace(t)
	var m tracekit.Mutex
	m.Lock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- lockIn(context.Background(), &m, "plain", 1) }()
	go func() { done <- lockIn(ctx, &m, "cancellable", 2) }()
	buf := make([]byte, 1<<20)
	if !testwait.For(time.Minute, func() bool {
		st := buf[:runtime.Stack(buf, true)]
		return bytes.Contains(st, []byte("sync.(*Mutex).Lock(")) && bytes.Contains(st, []byte("(*Lock).WaitLoop("))
	}) {
		t.Fatal("the two never waited on the lock")
	}
	m.Unlock()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	trace.Stop()

	tr, err := exectrace.Read(bytes.NewReader(exec.Bytes()), "exec.trace", 0)
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := tr.Join(nil)
	for id, name := range map[byte]string{1: "plain", 2: "cancellable"} {
		r := rt.Of(spans.SpanID([8]byte{7: id}))
		if r == nil {
			t.Errorf("%s: not found", name)
			continue
		}
		var found bool
		for _, s := range r.Stretches {
			found = found || s.State == spans.StateLock && s.Label == "lock: exectrace_test.lockIn"
		}
		if !found {
			t.Errorf("%s: no lock stretch in lockIn: %+v", name, r.Stretches)
		}
	}
}
