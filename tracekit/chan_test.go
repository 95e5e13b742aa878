package tracekit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

func TestSendRecv(t *testing.T) {
	cause := errors.New("shutting down")
	canceled, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	for _, withKit := range []bool{false, true} {
		var d *detect.Detector
		if withKit {
			d, _ = testDetector(detect.Config{Slow: time.Millisecond}, nil)
			defer d.Close()
		}
		ctx := context.Background()
		ch := make(chan int, 1)
		if err := send(ctx, d, "", ch, 7); err != nil {
			t.Fatal(err)
		}
		// Full buffer and a done context: the cause comes back.
		if err := send(canceled, d, "", ch, 8); !errors.Is(err, context.Canceled) || !errors.Is(err, cause) {
			t.Errorf("kit=%v: send on a full channel with a canceled context = %v", withKit, err)
		}
		if v, err := recv(ctx, d, "", ch); v != 7 || err != nil {
			t.Errorf("recv = %v, %v", v, err)
		}
		if _, err := recv(canceled, d, "", ch); !errors.Is(err, context.Canceled) || !errors.Is(err, cause) {
			t.Errorf("kit=%v: recv on an empty channel with a canceled context = %v", withKit, err)
		}
		close(ch)
		if err := send(ctx, d, "", ch, 9); !errors.Is(err, ErrClosed) {
			t.Errorf("send on a closed channel = %v, want ErrClosed", err)
		}
		if _, err := recv(ctx, d, "", ch); !errors.Is(err, ErrClosed) {
			t.Errorf("recv on a closed channel = %v, want ErrClosed", err)
		}
	}
}

// Closing while a sender is blocked gives it ErrClosed too (the panic comes
// from the slow path's select).
func TestSendBlockedThenClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ch := make(chan int)
		got := make(chan error)
		go func() { got <- Send(context.Background(), ch, 1) }()
		synctest.Wait()
		close(ch)
		if err := <-got; !errors.Is(err, ErrClosed) {
			t.Errorf("Send = %v, want ErrClosed", err)
		}
	})
}

// A nil channel blocks forever; Send and Recv still honour the context.
func TestNilChannel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ch chan int
	if err := Send(ctx, ch, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Send on nil channel = %v", err)
	}
	if _, err := Recv(ctx, ch); !errors.Is(err, context.Canceled) {
		t.Errorf("Recv on nil channel = %v", err)
	}
}

// Blocked operations past the slow threshold are spans under ctx's span
// with the exact wait; fast ones record nothing.
func TestChanSpans(t *testing.T) {
	rec := newRecorder(t)
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		d, _ := testDetector(detect.Config{Slow: 10 * time.Millisecond}, reader)
		defer d.Close()
		ctx, root := rec.root(context.Background())
		ch := make(chan string)
		go func() {
			time.Sleep(30 * time.Millisecond)
			_ = send(ctx, d, "jobs", ch, "a")
		}()
		if v, err := recv(ctx, d, "jobs", ch); v != "a" || err != nil {
			t.Fatal(v, err)
		}
		go func() {
			time.Sleep(20 * time.Millisecond)
			<-ch
		}()
		if err := send(ctx, d, "jobs", ch, "b"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		root.End()
		s := rec.span("chan.recv jobs")
		if w, _ := kittest.Attr(s, keyWaitNS); w.AsInt64() != int64(30*time.Millisecond) {
			t.Errorf("recv wait = %v", time.Duration(w.AsInt64()))
		}
		if v, _ := kittest.Attr(s, keyChanName); v.AsString() != "jobs" {
			t.Errorf("chan name = %q", v.AsString())
		}
		if s.Parent().SpanID() != root.SpanContext().SpanID() {
			t.Error("not a child of ctx's span")
		}
		s = rec.span("chan.send jobs")
		if w, _ := kittest.Attr(s, keyWaitNS); w.AsInt64() != int64(20*time.Millisecond) {
			t.Errorf("send wait = %v", time.Duration(w.AsInt64()))
		}
		if n := kittest.HistCount(t, reader, "tracekit.chan.wait", "tracekit.chan.name", "jobs"); n != 2 {
			t.Errorf("tracekit.chan.wait count = %d, want 2", n)
		}
	})
}

// A channel wait past the hang timeout is reported with the waiter's stack;
// the wait goes on.
func TestChanHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, r := testDetector(detect.Config{Hang: 30 * time.Second}, nil)
		defer d.Close()
		ch := NewChan[int]("results", 0)
		go func() {
			time.Sleep(time.Minute)
			ch.Close()
		}()
		_, err := recv(context.Background(), d, ch.Name(), ch.C())
		if !errors.Is(err, ErrClosed) {
			t.Errorf("recv = %v, want ErrClosed", err)
		}
		reps := r.All()
		if len(reps) != 1 || reps[0].Kind != inspect.KindHang || reps[0].Channel != "results" || reps[0].Lock != "" {
			t.Fatalf("reports = %v", reps)
		}
		if s := reps[0].String(); !strings.Contains(s, "waiter (receive from results)") || !strings.Contains(s, "TestChanHang") {
			t.Errorf("report:\n%s", s)
		}
		if log := r.Logged(); !strings.Contains(log, "chan=results") || strings.Contains(log, "lock=") {
			t.Errorf("log names the channel as a lock:\n%s", log)
		}
	})
}

func TestChan(t *testing.T) {
	ch := NewChan[string]("events", 2)
	ctx := context.Background()
	if err := ch.Send(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	ch.Close()
	ch.Close()
	if v, err := ch.Recv(ctx); v != "x" || err != nil {
		t.Errorf("Recv = %q, %v", v, err)
	}
	if _, err := ch.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Recv after drain = %v", err)
	}
	if err := ch.Send(ctx, "y"); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
}
