package tracekit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/kittest"
)

func TestGroupSpansAndFirstError(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	defer root.End()

	g := NewGroup(ctx, "workers")
	first := errors.New("worker 1 failed")
	var sawCause atomic.Value
	g.Go("w1", func(context.Context) error { return first })
	g.Go("w2", func(ctx context.Context) error {
		<-ctx.Done() // canceled by w1's failure
		sawCause.Store(context.Cause(ctx))
		return ctx.Err()
	})
	if err := g.Wait(); !errors.Is(err, first) {
		t.Fatalf("Wait() = %v, want %v", err, first)
	}
	if c, _ := sawCause.Load().(error); !errors.Is(c, first) {
		t.Errorf("w2 saw cause %v, want %v", c, first)
	}

	gs := r.span("workers")
	if gs.Parent().SpanID() != root.SpanContext().SpanID() {
		t.Errorf("group span is not a child of root")
	}
	if gs.Status().Code != codes.Error {
		t.Errorf("group status = %+v, want error", gs.Status())
	}
	if v, _ := kittest.Attr(gs, keyKind); v.AsString() != string(kindGroup) {
		t.Errorf("group kind = %q", v.AsString())
	}
	for _, name := range []string{"w1", "w2"} {
		s := r.span(name)
		if s.Parent().SpanID() != gs.SpanContext().SpanID() {
			t.Errorf("%s is not a child of the group span", name)
		}
		if v, _ := kittest.Attr(s, keyGroup); v.AsString() != "workers" {
			t.Errorf("%s: %s = %q, want workers", name, keyGroup, v.AsString())
		}
	}
	if v, _ := kittest.Attr(r.span("w2"), keyCancelCause); v.AsString() != first.Error() {
		t.Errorf("w2 cancel cause = %q, want %q", v.AsString(), first)
	}
}

func TestGroupLimitBoundsConcurrency(t *testing.T) {
	const limit, tasks = 3, 20
	g := NewGroup(context.Background(), "bounded", WithLimit(limit))
	var running, peak atomic.Int32
	for range tasks {
		g.Go("job", func(context.Context) error {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > limit || p < 1 {
		t.Errorf("peak concurrency = %d, want 1..%d", p, limit)
	}
}

func TestGroupTryGo(t *testing.T) {
	g := NewGroup(context.Background(), "try", WithLimit(1))
	release := make(chan struct{})
	if !g.TryGo("holder", func(context.Context) error { <-release; return nil }) {
		t.Fatal("TryGo on an empty group = false")
	}
	if g.TryGo("extra", func(context.Context) error { return nil }) {
		t.Error("TryGo over the limit = true")
	}
	close(release)
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if !g.TryGo("after", func(context.Context) error { return nil }) {
		t.Error("TryGo after the slot freed = false")
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestGroupPanicIsTheError(t *testing.T) {
	g := NewGroup(context.Background(), "p")
	g.Go("bad", func(context.Context) error { panic("in group") })
	var pe *PanicError
	if err := g.Wait(); !errors.As(err, &pe) || pe.Value != "in group" {
		t.Fatalf("Wait() = %v, want *PanicError(in group)", err)
	}
	if err := g.Context().Err(); err == nil {
		t.Error("group context not canceled after Wait")
	}
}

func TestGroupWaitEndsSpanOnce(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	defer root.End()
	g := NewGroup(ctx, "twice")
	g.Go("a", func(context.Context) error { return nil })
	_ = g.Wait()
	_ = g.Wait()
	n := 0
	for _, s := range r.rec.Ended() {
		if s.Name() == "twice" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("group span ended %d times, want 1", n)
	}
}

// Tasks a group starts from different places, in turns, each carry their
// own spawn site, the group's attribute and the caller's options.
func TestGroupTasksFromSeveralSites(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	defer root.End()
	g := NewGroup(ctx, "workers")
	noop := func(context.Context) error { return nil }
	var lines [2]int
	for i := range 3 {
		_, _, lines[0], _ = runtime.Caller(0)
		g.Go(fmt.Sprint("a", i), noop)
		_, _, lines[1], _ = runtime.Caller(0)
		g.Go(fmt.Sprint("b", i), noop, trace.WithAttributes(attribute.Int("i", i)))
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for j, name := range []string{fmt.Sprint("a", i), fmt.Sprint("b", i)} {
			s := r.span(name)
			if v, _ := kittest.Attr(s, keyGroup); v.AsString() != "workers" {
				t.Errorf("%s: %s = %q, want workers", name, keyGroup, v.AsString())
			}
			if v, _ := kittest.Attr(s, otelsemconv.CodeLineNumberKey); v.AsInt64() != int64(lines[j]+1) {
				t.Errorf("%s: spawn line %d, want %d", name, v.AsInt64(), lines[j]+1)
			}
			if v, ok := kittest.Attr(s, "i"); (j == 1) != ok || ok && v.AsInt64() != int64(i) {
				t.Errorf("%s: i = %v (set: %v), want the caller's option on the b tasks only", name, v.AsInt64(), ok)
			}
		}
	}
}
