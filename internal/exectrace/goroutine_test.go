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
)

// A span marked once as lasting as long as its goroutine (a task's) ends
// when the goroutine does, or at an end marker if one comes first; one
// whose goroutine outlives the trace is open at its end.
func TestGoroutineSpans(t *testing.T) {
	exec := kittest.StartExecTrace(t)
	ctx := context.Background()
	tid := [16]byte{15: 1}
	mark := func(id byte, name string) {
		xtrace.BeginGoroutine(ctx, tid, [8]byte{7: id}, [8]byte{}, "goroutine", name)
	}

	go exitingTask(func() { mark(1, "exits") })
	// Wait for the goroutine's end, not only its function's.
	buf := make([]byte, 1<<20)
	if !testwait.For(time.Minute, func() bool {
		return !bytes.Contains(buf[:runtime.Stack(buf, true)], []byte("exectrace_test.exitingTask("))
	}) {
		t.Fatal("the goroutine never ended")
	}
	release := make(chan struct{})
	ended, running := make(chan struct{}), make(chan struct{})
	go func() {
		mark(2, "ends first")
		xtrace.End(ctx, [8]byte{7: 2})
		close(ended)
		<-release // the goroutine lives on after its span, to the end of the trace
	}()
	go func() {
		mark(3, "outlives the trace")
		close(running)
		<-release
	}()
	<-ended
	<-running
	trace.Stop()
	close(release)

	tr, err := exectrace.Read(bytes.NewReader(exec.Bytes()), "exec.trace", 0)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Warnings.Open != 1 || tr.Warnings.Unmatched != 0 || tr.Warnings.Malformed != 0 {
		t.Errorf("warnings %+v, want one span open", tr.Warnings)
	}
	byName := map[string]exectrace.Span{}
	for _, sp := range tr.Spans {
		byName[sp.Name] = sp
	}
	for name, open := range map[string]bool{"exits": false, "ends first": false, "outlives the trace": true} {
		sp, ok := byName[name]
		if !ok {
			t.Errorf("%s: not found", name)
			continue
		}
		if sp.Open != open || sp.Finish < sp.Begin {
			t.Errorf("%s: open %v (want %v), from %d to %d", name, sp.Open, open, sp.Begin, sp.Finish)
		}
	}
	// The span that ended before its goroutine ends at its end marker:
	// the goroutine's wait after it is not the span's.
	rt, _ := tr.Join(nil)
	if r := rt.Of(spans.SpanID([8]byte{7: 2})); r != nil {
		if st := r.States(); st[spans.StateChannel] != 0 {
			t.Errorf("ends first: %d ns blocked on a channel after its end marker", st[spans.StateChannel])
		}
	}
}

// exitingTask runs fn on its goroutine and returns, ending it.
//
//go:noinline
func exitingTask(fn func()) { fn() }
