package tracekit

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// listed returns the running task named name, if the registry lists one.
func listed(name string) (inspect.Task, bool) {
	for _, ti := range inspect.Tasks() {
		if ti.Name == name {
			return ti, true
		}
	}
	return inspect.Task{}, false
}

// Do runs fn on the calling goroutine as a task under a span of its own, a
// child of ctx's, listed while fn runs and gone when Do returns.
func TestDoRunsTaskOnCallingGoroutine(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	caller := goid.ID()
	var during inspect.Task
	var inFn trace.SpanContext
	boom := errors.New("out of stock")
	err := Do(ctx, "checkout", func(ctx context.Context) error { // do line
		if goid.ID() != caller {
			t.Error("fn runs on another goroutine")
		}
		inFn = trace.SpanContextFromContext(ctx)
		during, _ = listed("checkout")
		return boom
	})
	root.End()
	if !errors.Is(err, boom) {
		t.Fatalf("Do = %v, want %v", err, boom)
	}
	s := r.span("checkout")
	if s.Parent().SpanID() != root.SpanContext().SpanID() || !inFn.Equal(s.SpanContext()) {
		t.Errorf("span parent %s (want root %s), fn's context holds %s (want the span's %s)",
			s.Parent().SpanID(), root.SpanContext().SpanID(), inFn.SpanID(), s.SpanContext().SpanID())
	}
	if v, _ := kittest.Attr(s, keyKind); v.AsString() != semconv.KindTask {
		t.Errorf("%s = %q, want %q", keyKind, v.AsString(), semconv.KindTask)
	}
	line, _ := kittest.Attr(s, otelsemconv.CodeLineNumberKey)
	src, err := os.ReadFile("do_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(string(src), "\n"); line.AsInt64() < 1 || !strings.Contains(lines[line.AsInt64()-1], "// do line") {
		t.Errorf("code.line.number = %d, which is not the line calling Do", line.AsInt64())
	}
	if s.Status().Code != codes.Error || s.Status().Description != boom.Error() {
		t.Errorf("status = %+v, want error %q", s.Status(), boom)
	}
	if during.ID == 0 || during.SpanID != s.SpanContext().SpanID() || during.TraceID != root.SpanContext().TraceID() ||
		!strings.HasSuffix(during.SpawnFile, "do_test.go") {
		t.Errorf("listed during the call as %+v", during)
	}
	if _, ok := listed("checkout"); ok {
		t.Error("still listed after Do returned")
	}
	if tasks.Current() != nil {
		t.Error("the goroutine is still bound after Do returned")
	}
	if e, ok := tasks.FindEnded(during.ID); !ok || e.Result != "error" || e.Text != boom.Error() || e.Goroutine != 0 {
		t.Errorf("ended record = %+v, %v; want an error, with no goroutine (it lives on)", e, ok)
	}
}

// A panic in fn is recovered like a task's: recorded on the span, returned
// as a *PanicError, and the goroutine is unbound.
func TestDoPanic(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	defer root.End()
	err := Do(ctx, "explode", func(context.Context) error { panicHere(); return nil })
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "kaboom" || pe.Task != "explode" || !strings.Contains(string(pe.Stack), "panicHere") {
		t.Fatalf("Do = %v (%T), want a *PanicError for kaboom with its stack", err, err)
	}
	s := r.span("explode")
	if v, _ := kittest.Attr(s, keyPanic); !v.AsBool() || s.Status().Code != codes.Error || len(s.Events()) != 1 ||
		s.Events()[0].Name != "exception" {
		t.Errorf("span: panic %v, status %+v, events %+v", v, s.Status(), s.Events())
	}
	if tasks.Current() != nil {
		t.Error("the goroutine is still bound after a panic")
	}
}

// fn calling runtime.Goexit ends the span and unbinds the goroutine, which
// then exits as asked.
func TestDoGoexit(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	defer root.End()
	exited := make(chan bool)
	go func() {
		returned := false
		defer func() { exited <- returned }()
		_ = Do(ctx, "goexit", func(context.Context) error { runtime.Goexit(); return nil })
		returned = true
	}()
	if <-exited {
		t.Fatal("Do returned after runtime.Goexit")
	}
	if s := r.span("goexit"); s.Status().Code != codes.Error || !strings.Contains(s.Status().Description, ErrGoexit.Error()) {
		t.Errorf("status = %+v, want ErrGoexit", s.Status())
	}
	if _, ok := listed("goexit"); ok {
		t.Error("still listed after the goroutine exited")
	}
}

// A Do inside a task (or another Do) is a child task: it is the
// goroutine's task until it returns, then the outer one is again, and both
// are listed meanwhile. Without a task in ctx, the goroutine's own is the
// parent.
func TestDoNests(t *testing.T) {
	if !goid.Fast {
		t.Skip("a goroutine cannot find its task on this platform")
	}
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	defer root.End()
	outer := Go(ctx, "outer", func(ctx context.Context) error {
		outerRec := tasks.Current()
		return Do(ctx, "middle", func(ctx context.Context) error {
			middle := tasks.Current()
			if middle == outerRec || middle.Name != "middle" || middle.Parent != outerRec.ID {
				t.Errorf("inside Do the goroutine runs %+v, want middle under task %d", middle, outerRec.ID)
			}
			// No task in this context: the goroutine's is the parent.
			err := Do(context.Background(), "inner", func(context.Context) error {
				inner := tasks.Current()
				if inner.Parent != middle.ID {
					t.Errorf("inner's parent = %d, want middle %d", inner.Parent, middle.ID)
				}
				names := map[string]bool{}
				for _, ti := range inspect.Tasks() {
					names[ti.Name] = true
				}
				if !names["outer"] || !names["middle"] || !names["inner"] {
					t.Errorf("listed: %v, want outer, middle and inner", names)
				}
				stacks, err := inspect.TasksWithStacks()
				if err != nil {
					return err
				}
				for _, ti := range stacks {
					if names[ti.Name] && (ti.Goroutine != goid.ID() || !strings.Contains(ti.Stack, "TestDoNests")) {
						t.Errorf("task %q: goroutine %d (want %d), stack:\n%s", ti.Name, ti.Goroutine, goid.ID(), ti.Stack)
					}
				}
				return nil
			})
			if tasks.Current() != middle {
				t.Error("after the inner Do, the goroutine's task is not middle again")
			}
			return err
		})
	})
	if err := outer.Wait(); err != nil {
		t.Fatal(err)
	}
	if s := r.span("middle"); s.Parent().SpanID() != outer.SpanContext().SpanID() {
		t.Errorf("middle's span parent = %s, want outer's %s", s.Parent().SpanID(), outer.SpanContext().SpanID())
	}
}

// Bind starts no span: the task's span is ctx's, which fn's context
// holds, and which keeps running after Bind; a panic is recorded on it.
func TestBindReusesSpan(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	var during inspect.Task
	err := Bind(ctx, "GET /orders", func(ctx context.Context) error {
		if sc := trace.SpanContextFromContext(ctx); !sc.Equal(root.SpanContext()) {
			t.Errorf("fn's context holds span %s, want the root's", sc.SpanID())
		}
		during, _ = listed("GET /orders")
		panic("handler bug")
	})
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "handler bug" {
		t.Fatalf("Bind = %v, want a *PanicError", err)
	}
	if !root.IsRecording() {
		t.Error("Bind ended the span it was given")
	}
	root.End()
	if n := len(r.rec.Ended()); n != 1 {
		t.Errorf("%d spans ended, want the root alone: %v", n, kittest.Names(r.rec.Ended()))
	}
	if during.SpanID != root.SpanContext().SpanID() {
		t.Errorf("listed as %+v, want the root's span", during)
	}
	s := r.span("root")
	if v, _ := kittest.Attr(s, keyPanic); !v.AsBool() || s.Status().Code != codes.Error {
		t.Errorf("root span: panic %v, status %+v; want the panic recorded", v, s.Status())
	}
	if _, ok := listed("GET /orders"); ok || tasks.Current() != nil {
		t.Error("still bound after Bind returned")
	}

	// fn's error is returned, not recorded: the span is its caller's.
	ctx, other := r.tp.Tracer("test").Start(context.Background(), "other")
	boom := errors.New("no such order")
	if err := Bind(ctx, "GET /orders/7", func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("Bind = %v, want %v", err, boom)
	}
	other.End()
	if s := r.span("other"); s.Status().Code != codes.Unset || len(s.Events()) != 0 {
		t.Errorf("Bind recorded fn's error on its caller's span: %+v %+v", s.Status(), s.Events())
	}
}

// Without a span, Bind still lists the task, untraced.
func TestBindWithoutSpan(t *testing.T) {
	var during inspect.Task
	var ok bool
	if err := Bind(context.Background(), "callback", func(context.Context) error {
		during, ok = listed("callback")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !ok || during.TraceID.IsValid() {
		t.Errorf("listed %v as %+v, want listed and untraced", ok, during)
	}
}

// Tasks started from a bound task's context are its children.
func TestDoChildren(t *testing.T) {
	var parent uint64
	var child *Task
	_ = Do(context.Background(), "handler", func(ctx context.Context) error {
		ti, _ := listed("handler")
		parent = ti.ID
		child = Go(ctx, "child", nothing)
		return child.Wait()
	})
	if e, ok := tasks.FindEnded(child.ID()); !ok || e.Parent != parent || parent == 0 {
		t.Errorf("child's parent = %d, want the bound task %d", e.Parent, parent)
	}
}
