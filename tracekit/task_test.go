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

	"github.com/tracekit-go/tracekit/internal/kittest"
)

func TestGoSpanIsChildWithSpawnSite(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	task := Go(ctx, "fetch-prices", func(ctx context.Context) error { return nil }) // spawn line
	if err := task.Wait(); err != nil {
		t.Fatalf("Wait() = %v, want nil", err)
	}
	root.End()

	s := r.span("fetch-prices")
	if got, want := s.Parent().SpanID(), root.SpanContext().SpanID(); got != want {
		t.Errorf("parent span = %s, want root %s", got, want)
	}
	if !s.SpanContext().Equal(task.SpanContext()) {
		t.Errorf("Task.SpanContext() = %v, want the span's %v", task.SpanContext(), s.SpanContext())
	}
	if v, _ := kittest.Attr(s, keyKind); v.AsString() != string(kindGoroutine) {
		t.Errorf("%s = %q, want %q", keyKind, v.AsString(), kindGoroutine)
	}
	fn, _ := kittest.Attr(s, otelsemconv.CodeFunctionNameKey)
	if want := "tracekit.TestGoSpanIsChildWithSpawnSite"; !strings.HasSuffix(fn.AsString(), want) {
		t.Errorf("code.function.name = %q, want suffix %q", fn.AsString(), want)
	}
	file, _ := kittest.Attr(s, otelsemconv.CodeFilePathKey)
	if !strings.HasSuffix(file.AsString(), "tracekit/task_test.go") {
		t.Errorf("code.file.path = %q, want this file", file.AsString())
	}
	line, _ := kittest.Attr(s, otelsemconv.CodeLineNumberKey)
	src, err := os.ReadFile("task_test.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	if n := int(line.AsInt64()); n < 1 || n > len(lines) || !strings.Contains(lines[n-1], "// spawn line") {
		t.Errorf("code.line.number = %d, which is not the line calling Go", n)
	}
	if s.Status().Code != codes.Unset {
		t.Errorf("status = %v, want unset", s.Status())
	}
}

func TestGoErrorSetsStatus(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	defer root.End()
	boom := errors.New("price service down")
	err := Go(ctx, "fetch", func(context.Context) error { return boom }).Wait()
	if !errors.Is(err, boom) {
		t.Fatalf("Wait() = %v, want %v", err, boom)
	}
	s := r.span("fetch")
	if s.Status().Code != codes.Error || s.Status().Description != boom.Error() {
		t.Errorf("status = %+v, want error %q", s.Status(), boom)
	}
	if len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
		t.Errorf("events = %+v, want one exception event", s.Events())
	}
}

func TestGoPanicIsRecoveredAndRecorded(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	defer root.End()
	task := Go(ctx, "explode", func(context.Context) error { panicHere(); return nil })
	<-task.Done()
	err := task.Wait()
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Wait() = %v (%T), want *PanicError", err, err)
	}
	if pe.Value != "kaboom" || pe.Task != "explode" {
		t.Errorf("PanicError = {Task %q Value %v}, want explode/kaboom", pe.Task, pe.Value)
	}
	if !strings.Contains(string(pe.Stack), "panicHere") {
		t.Errorf("PanicError.Stack does not name the panicking function:\n%s", pe.Stack)
	}
	s := r.span("explode")
	if s.Status().Code != codes.Error || !strings.Contains(s.Status().Description, "kaboom") {
		t.Errorf("status = %+v, want error mentioning kaboom", s.Status())
	}
	if v, _ := kittest.Attr(s, keyPanic); !v.AsBool() {
		t.Errorf("%s not set", keyPanic)
	}
	if len(s.Events()) != 1 {
		t.Fatalf("events = %+v, want one", s.Events())
	}
	ev := s.Events()[0]
	if ev.Name != "exception" || kittest.EventAttr(ev, otelsemconv.ExceptionMessageKey) != "kaboom" ||
		kittest.EventAttr(ev, otelsemconv.ExceptionTypeKey) != "string" ||
		!strings.Contains(kittest.EventAttr(ev, otelsemconv.ExceptionStacktraceKey), "panicHere") {
		t.Errorf("exception event = %+v", ev)
	}
}

func panicHere() { panic("kaboom") }

func TestPanicErrorUnwrapsErrorValues(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	defer root.End()
	err := Go(ctx, "nil-map", func(context.Context) error {
		var m map[string]int
		m["x"] = 1
		return nil
	}).Wait()
	var re interface{ RuntimeError() }
	if !errors.As(err, &re) {
		t.Fatalf("Wait() = %v, want it to unwrap to a runtime.Error", err)
	}
	ev := r.span("nil-map").Events()[0]
	if got := kittest.EventAttr(ev, otelsemconv.ExceptionTypeKey); got != "runtime.Error" {
		t.Errorf("exception.type = %q, want runtime.Error", got)
	}
}

func TestGoRecordsCancelCause(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	defer root.End()
	ctx, cancel := context.WithCancelCause(ctx)
	started := make(chan struct{})
	task := Go(ctx, "wait", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	<-started
	cancel(errors.New("client went away"))
	if err := task.Wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait() = %v, want context.Canceled", err)
	}
	s := r.span("wait")
	if v, _ := kittest.Attr(s, keyCanceled); !v.AsBool() {
		t.Errorf("%s not set", keyCanceled)
	}
	if v, _ := kittest.Attr(s, keyCancelCause); v.AsString() != "client went away" {
		t.Errorf("%s = %q, want the cause", keyCancelCause, v.AsString())
	}
}

func TestTaskErrDoesNotBlock(t *testing.T) {
	release := make(chan struct{})
	task := Go(context.Background(), "blocked", func(context.Context) error {
		<-release
		return errors.New("late")
	})
	if err := task.Err(); err != nil {
		t.Errorf("Err() while running = %v, want nil", err)
	}
	select {
	case <-task.Done():
		t.Fatal("Done closed while the task runs")
	default:
	}
	close(release)
	<-task.Done()
	if err := task.Err(); err == nil || err.Error() != "late" {
		t.Errorf("Err() after Done = %v, want late", err)
	}
	if task.Name() != "blocked" {
		t.Errorf("Name() = %q", task.Name())
	}
}

// Done asked for only after the task ended is closed already, and is the
// same channel each time.
func TestTaskDoneAfterWait(t *testing.T) {
	task := Go(context.Background(), "quick", func(context.Context) error { return nil })
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	done := task.Done()
	select {
	case <-done:
	default:
		t.Fatal("Done after Wait is not closed")
	}
	if task.Done() != done {
		t.Error("Done returned another channel")
	}
}

func TestGoWithoutProviderStillRuns(t *testing.T) {
	// No span in ctx and the global provider is the default no-op one.
	task := Go(context.Background(), "untraced", func(context.Context) error { return nil })
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	if task.SpanContext().IsValid() {
		t.Errorf("untraced task has a valid span context")
	}
}

func TestGoexitReleasesWait(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	defer root.End()
	err := Go(ctx, "goexit", func(context.Context) error {
		runtime.Goexit()
		return nil
	}).Wait()
	if !errors.Is(err, ErrGoexit) {
		t.Fatalf("Wait() = %v, want ErrGoexit", err)
	}
	if s := r.span("goexit"); s.Status().Code != codes.Error {
		t.Errorf("status = %+v, want error", s.Status())
	}
}
