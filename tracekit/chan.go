package tracekit

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"sync/atomic"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

// ErrClosed is returned by [Send] on a closed channel (instead of the
// runtime's panic) and by [Recv] on a closed, drained channel.
var ErrClosed = errors.New("tracekit: channel closed")

// Send sends v on ch, blocking until it is received (or buffered) or ctx is
// done. It returns nil, [ErrClosed] if ch is closed (the send-on-closed
// panic is recovered), or a [*WaitError] wrapping ctx.Err() and
// context.Cause(ctx).
//
// A send that completes at once records nothing; one that blocks is timed
// and traced while a detector runs (package sdk installs one), whether it
// completes or its context ends it. The channel is named after the calling
// function; use [Chan] for named channels.
func Send[T any](ctx context.Context, ch chan<- T, v T) error {
	return send(ctx, detect.Current(), "", ch, v)
}

// Recv receives from ch, blocking until a value arrives or ctx is done. It
// returns the value, or [ErrClosed] when ch is closed and drained, or a
// [*WaitError] wrapping ctx.Err() and context.Cause(ctx). A receive that
// blocks is timed and traced as for [Send].
func Recv[T any](ctx context.Context, ch <-chan T) (T, error) {
	return recv(ctx, detect.Current(), "", ch)
}

func send[T any](ctx context.Context, d *detect.Detector, name string, ch chan<- T, v T) (err error) {
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

func sendSlow[T any](ctx context.Context, d *detect.Detector, name string, ch chan<- T, v T) error {
	if d == nil {
		defer untrackedWait("send on", name).EndWait()
		select {
		case ch <- v:
			return nil
		case <-ctx.Done():
			return waitErr(ctx, "send on", name)
		}
	}
	given := name
	if name == "" {
		name = detect.CallerFunc()
	}
	start := d.Now()
	w := d.BeginWait(ctx, "send on", name, nil, false, chanAddr(ch), start, nil, nil)
	var err error
	select {
	case ch <- v:
	case <-ctx.Done():
		err = ctx.Err()
	}
	w.End()
	d.ChanDone(ctx, semconv.KindChanSend, name, start, err)
	if err != nil {
		return waitErr(ctx, "send on", given)
	}
	return nil
}

func recv[T any](ctx context.Context, d *detect.Detector, name string, ch <-chan T) (T, error) {
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

func recvSlow[T any](ctx context.Context, d *detect.Detector, name string, ch <-chan T) (v T, err error) {
	if d == nil {
		defer untrackedWait("receive from", name).EndWait()
		select {
		case v, ok := <-ch:
			if !ok {
				return v, ErrClosed
			}
			return v, nil
		case <-ctx.Done():
			return v, waitErr(ctx, "receive from", name)
		}
	}
	given := name
	if name == "" {
		name = detect.CallerFunc()
	}
	start := d.Now()
	w := d.BeginWait(ctx, "receive from", name, nil, false, chanAddr(ch), start, nil, nil)
	var canceled error
	select {
	case got, ok := <-ch:
		if !ok {
			err = ErrClosed
		}
		v = got
	case <-ctx.Done():
		canceled = ctx.Err()
	}
	w.End()
	d.ChanDone(ctx, semconv.KindChanRecv, name, start, canceled)
	if canceled != nil {
		return v, waitErr(ctx, "receive from", given)
	}
	return v, err
}

// chanAddr is the address of the channel ch (of a channel type) refers
// to: its identity, for telling who was seen on each side of it.
func chanAddr(ch any) uintptr { return reflect.ValueOf(ch).Pointer() }

// untrackedWait is the slow path of a channel operation while no detector
// runs:
// it times nothing, but marks the task on this goroutine, if any, waiting
// on the channel (an unnamed one is named after the calling function, looked
// up only then). It returns the task, for endWait.
func untrackedWait(what, name string) *tasks.Record {
	t := tasks.Current()
	if t != nil {
		if name == "" {
			name = detect.CallerFunc()
		}
		t.BeginWait(what, name, nil)
	}
	return t
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
	return send(ctx, detect.Current(), c.name, c.ch, v)
}

// Recv is [Recv] on the channel.
func (c *Chan[T]) Recv(ctx context.Context) (T, error) {
	return recv(ctx, detect.Current(), c.name, c.ch)
}

// Close closes the channel; later calls do nothing. Senders then get
// [ErrClosed]; receivers get the buffered values, then ErrClosed.
func (c *Chan[T]) Close() {
	if c.closed.CompareAndSwap(false, true) {
		close(c.ch)
	}
}
