package tracekit

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"runtime/trace"
	"testing"

	"github.com/tracekit-go/tracekit/internal/exectrace"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// Every way a task or a function span can end ends its span in a recording
// execution trace (a task's with its goroutine, a function span's at its
// end marker): a return, an error, a panic, runtime.Goexit, a panic passing
// through FuncSpan.End. Spans that are not recorded leave no marker.
func TestMarksEveryEnding(t *testing.T) {
	r := newRecorder(t)
	exec := kittest.StartExecTrace(t)
	ctx, root := r.root(context.Background())
	_ = Go(ctx, "returns", func(context.Context) error { return nil }).Wait()
	_ = Go(ctx, "fails", func(context.Context) error { return errors.New("no") }).Wait()
	_ = Go(ctx, "panics", func(context.Context) error { panic("boom") }).Wait()
	_ = Go(ctx, "exits", func(context.Context) error { runtime.Goexit(); return nil }).Wait()
	func() {
		defer func() { _ = recover() }()
		_, span := SpanNamed(ctx, "panics through")
		defer span.End(nil)
		panic("boom")
	}()
	_ = Go(context.Background(), "unrecorded", func(context.Context) error { return nil }).Wait()
	root.End()
	kittest.TaskGoroutinesGone(t) // their spans end with them
	trace.Stop()

	tr, err := exectrace.Read(bytes.NewReader(exec.Bytes()), "exec.trace", 0)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Warnings.Any() {
		t.Errorf("warnings: %v", tr.Warnings)
	}
	found := map[string]exectrace.Span{}
	for _, sp := range tr.Spans {
		found[sp.Name] = sp
	}
	for _, name := range []string{"returns", "fails", "panics", "exits", "panics through"} {
		sp, ok := found[name]
		if !ok {
			t.Errorf("%s: not marked", name)
			continue
		}
		want := r.span(name)
		if sp.ID != spans.SpanID(want.SpanContext().SpanID()) || sp.Parent != spans.SpanID(want.Parent().SpanID()) ||
			sp.TraceID != spans.TraceID(want.SpanContext().TraceID()) {
			t.Errorf("%s: marked %v/%v parent %v, recorded %v/%v parent %v", name, sp.TraceID, sp.ID, sp.Parent,
				want.SpanContext().TraceID(), want.SpanContext().SpanID(), want.Parent().SpanID())
		}
		if sp.Open {
			t.Errorf("%s: not ended in the trace", name)
		}
	}
	if _, ok := found["unrecorded"]; ok {
		t.Error("a task whose span is not recorded was marked")
	}
}
