package tracekit

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"

	"go.opentelemetry.io/otel/metric"

	"github.com/tracekit-go/tracekit/internal/tasks"
)

// ErrClosed is returned by [Send] on a closed channel (instead of the
// runtime's panic) and by [Recv] on a closed, drained channel.
var ErrClosed = errors.New("tracekit: channel closed")

// Send sends v on ch, blocking until it is received (or buffered) or ctx is
// done. It returns nil, [ErrClosed] if ch is closed (the send-on-closed
// panic is recovered), or ctx.Err() wrapped with context.Cause(ctx).
//
// A send that completes at once records nothing. One that blocks is timed:
// the wait goes to the tracekit.chan.wait histogram and, past the slow
// threshold, becomes a chan.send span under ctx's span; past the hang
// timeout it is reported as a [ReportLockTimeout]. The channel is named
// after the calling function; use [Chan] for named channels. Safe for
// concurrent use, as channels are.
func Send[T any](ctx context.Context, ch chan<- T, v T) error {
	return send(ctx, activeDetector.Load(), "", ch, v)
}

// Recv receives from ch, blocking until a value arrives or ctx is done. It
// returns the value, or [ErrClosed] when ch is closed and drained, or
// ctx.Err() wrapped with context.Cause(ctx). A receive that blocks is
// timed and traced as for [Send] (chan.recv spans).
func Recv[T any](ctx context.Context, ch <-chan T) (T, error) {
	return recv(ctx, activeDetector.Load(), "", ch)
}

func send[T any](ctx context.Context, d *detector, name string, ch chan<- T, v T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if !isSendOnClosed(r) {
				panic(r)
			}
			err = ErrClosed
		}
	}()
	select {
	case ch <- v:
		return nil
	default:
	}
	return sendSlow(ctx, d, name, ch, v)
}

func sendSlow[T any](ctx context.Context, d *detector, name string, ch chan<- T, v T) error {
	if d == nil {
		defer untrackedWait("send on", name).EndWait()
		select {
		case ch <- v:
			return nil
		case <-ctx.Done():
			return cancelError("send", ctx)
		}
	}
	if name == "" {
		name = callerFunc(2)
	}
	start := d.now()
	hw := d.watchHang(ctx, "send on", name, start, nil)
	tw := tasks.BeginWait("send on", name, nil) // the registry shows what the task waits on
	var err error
	select {
	case ch <- v:
	case <-ctx.Done():
		err = cancelError("send", ctx)
	}
	tw.EndWait()
	hw.stop()
	d.chanDone(ctx, KindChanSend, name, start)
	return err
}

func recv[T any](ctx context.Context, d *detector, name string, ch <-chan T) (T, error) {
	select {
	case v, ok := <-ch:
		if !ok {
			return v, ErrClosed
		}
		return v, nil
	default:
	}
	return recvSlow(ctx, d, name, ch)
}

func recvSlow[T any](ctx context.Context, d *detector, name string, ch <-chan T) (v T, err error) {
	if d == nil {
		defer untrackedWait("receive from", name).EndWait()
		select {
		case v, ok := <-ch:
			if !ok {
				return v, ErrClosed
			}
			return v, nil
		case <-ctx.Done():
			return v, cancelError("receive", ctx)
		}
	}
	if name == "" {
		name = callerFunc(2)
	}
	start := d.now()
	hw := d.watchHang(ctx, "receive from", name, start, nil)
	tw := tasks.BeginWait("receive from", name, nil) // the registry shows what the task waits on
	select {
	case got, ok := <-ch:
		if !ok {
			err = ErrClosed
		}
		v = got
	case <-ctx.Done():
		err = cancelError("receive", ctx)
	}
	tw.EndWait()
	hw.stop()
	d.chanDone(ctx, KindChanRecv, name, start)
	return v, err
}

// untrackedWait is the slow path of a channel operation while no Kit runs:
// it times nothing, but marks the task on this goroutine, if any, waiting
// on the channel (an unnamed one is named after the calling function, looked
// up only then). It returns the task, for endWait.
func untrackedWait(what, name string) *tasks.Record {
	t := tasks.Current()
	if t != nil {
		if name == "" {
			name = callerFunc(3)
		}
		t.BeginWait(what, name, nil)
	}
	return t
}

// chanDone records a blocked channel operation.
func (d *detector) chanDone(ctx context.Context, kind Kind, name string, start int64) {
	end := d.now()
	if d.chanHist != nil {
		d.chanHist.Record(ctx, float64(end-start)/1e9, metric.WithAttributes(KeyChanName.String(name), kind.attr()))
	}
	if d.cfg.slow > 0 && end-start >= int64(d.cfg.slow) {
		d.span(ctx, kind, name, start, end, KeyChanName.String(name), KeyWaitNS.Int64(end-start))
	}
}

func isSendOnClosed(r any) bool {
	err, ok := r.(runtime.Error)
	return ok && err.Error() == "send on closed channel"
}

// Chan is a named channel: [Chan.Send] and [Chan.Recv] are [Send] and
// [Recv] with the name on spans, metrics and reports, and [Chan.Close] may
// be called more than once. Its methods are safe for concurrent use.
type Chan[T any] struct {
	name   string
	ch     chan T
	closed atomic.Bool
}

// NewChan makes a channel of element type T with the given buffer size.
func NewChan[T any](name string, size int) *Chan[T] {
	return &Chan[T]{name: name, ch: make(chan T, size)}
}

// Name returns the channel's name.
func (c *Chan[T]) Name() string { return c.name }

// C returns the underlying channel, for select statements and range loops.
func (c *Chan[T]) C() chan T { return c.ch }

// Send is [Send] on the channel.
func (c *Chan[T]) Send(ctx context.Context, v T) error {
	return send(ctx, activeDetector.Load(), c.name, c.ch, v)
}

// Recv is [Recv] on the channel.
func (c *Chan[T]) Recv(ctx context.Context) (T, error) {
	return recv(ctx, activeDetector.Load(), c.name, c.ch)
}

// Close closes the channel; later calls do nothing. Senders then get
// [ErrClosed]; receivers get the buffered values, then ErrClosed.
func (c *Chan[T]) Close() {
	if c.closed.CompareAndSwap(false, true) {
		close(c.ch)
	}
}
