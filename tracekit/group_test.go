package tracekit

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"

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
