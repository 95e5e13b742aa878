//go:build !tracekit_nosync

package tracekit

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/kittest"
)

// A wait that its context ends is recorded like one that succeeds: past
// the slow threshold, a span with an error status saying why, and always
// the wait metric, marked canceled. Its error names the lock or channel
// and wraps the context's error and cause.
func TestCanceledWaitRecorded(t *testing.T) {
	cause := errors.New("client went away")
	for _, tc := range []struct {
		name      string
		span      string // the span's name
		wantErr   string
		metric    string
		nameKey   string
		withCause bool // canceled with a cause, rather than a deadline
		wait      func(ctx context.Context, d *detect.Detector) (release func(), err error)
	}{{
		name: "LockContext", span: "lock.wait orders", metric: "tracekit.lock.wait", nameKey: "tracekit.lock.name",
		wantErr: `tracekit: lock "orders": context deadline exceeded`,
		wait: func(ctx context.Context, d *detect.Detector) (func(), error) {
			m := pinned(d, "orders")
			m.Lock()
			return m.Unlock, m.LockContext(ctx)
		},
	}, {
		name: "RLockContext", span: "lock.wait catalog", metric: "tracekit.lock.wait", nameKey: "tracekit.lock.name", withCause: true,
		wantErr: `tracekit: read lock "catalog": context canceled (cause: client went away)`,
		wait: func(ctx context.Context, d *detect.Detector) (func(), error) {
			m := &RWMutex{}
			m.l.Det = d
			m.SetName("catalog")
			m.Lock()
			return m.Unlock, m.RLockContext(ctx)
		},
	}, {
		name: "RWMutex.LockContext", span: "lock.wait catalog", metric: "tracekit.lock.wait", nameKey: "tracekit.lock.name",
		wantErr: `tracekit: lock "catalog": context deadline exceeded`,
		wait: func(ctx context.Context, d *detect.Detector) (func(), error) {
			m := &RWMutex{}
			m.l.Det = d
			m.SetName("catalog")
			m.RLock()
			return m.RUnlock, m.LockContext(ctx)
		},
	}, {
		name: "Chan.Send", span: "chan.send jobs", metric: "tracekit.chan.wait", nameKey: "tracekit.chan.name",
		wantErr: `tracekit: send on "jobs": context deadline exceeded`,
		wait: func(ctx context.Context, d *detect.Detector) (func(), error) {
			return func() {}, send(ctx, d, "jobs", make(chan int), 1)
		},
	}, {
		name: "Chan.Recv", span: "chan.recv jobs", metric: "tracekit.chan.wait", nameKey: "tracekit.chan.name", withCause: true,
		wantErr: `tracekit: receive from "jobs": context canceled (cause: client went away)`,
		wait: func(ctx context.Context, d *detect.Detector) (func(), error) {
			_, err := recv(ctx, d, "jobs", make(chan int))
			return func() {}, err
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t)
			synctest.Test(t, func(t *testing.T) {
				reader := sdkmetric.NewManualReader()
				d, _ := testDetector(detect.Config{Slow: 10 * time.Millisecond}, reader)
				defer d.Close()
				ctx, root := rec.root(context.Background())
				var cancel func()
				if tc.withCause {
					c, cancelCause := context.WithCancelCause(ctx)
					ctx, cancel = c, func() { cancelCause(nil) }
					time.AfterFunc(50*time.Millisecond, func() { cancelCause(cause) })
				} else {
					ctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
				}
				defer cancel()
				release, err := tc.wait(ctx, d)
				release()
				root.End()

				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("error = %v, want %s", err, tc.wantErr)
				}
				want := context.DeadlineExceeded
				if tc.withCause {
					want = context.Canceled
					if !errors.Is(err, cause) {
						t.Errorf("error %v does not wrap the cause", err)
					}
				}
				if !errors.Is(err, want) {
					t.Errorf("error %v does not wrap %v", err, want)
				}
				var we *WaitError
				if !errors.As(err, &we) || we.Name == "" || we.Caller != "" {
					t.Errorf("error %#v is not a WaitError naming what was waited on", err)
				}

				s := rec.span(tc.span)
				if s.Status().Code != codes.Error || s.Status().Description != want.Error() {
					t.Errorf("span status = %+v, want an error saying %q", s.Status(), want)
				}
				if v, _ := kittest.Attr(s, keyCanceled); !v.AsBool() {
					t.Error("span lacks tracekit.canceled")
				}
				if v, _ := kittest.Attr(s, keyCancelCause); tc.withCause != (v.AsString() == cause.Error()) {
					t.Errorf("span's tracekit.cancel.cause = %q (canceled with a cause: %v)", v.AsString(), tc.withCause)
				}
				if v, _ := kittest.Attr(s, keyWaitNS); v.AsInt64() != int64(50*time.Millisecond) {
					t.Errorf("span's wait = %v, want 50ms", time.Duration(v.AsInt64()))
				}
				if s.Parent().SpanID() != root.SpanContext().SpanID() {
					t.Error("the wait's span is not a child of ctx's span")
				}
				if n := kittest.HistCount(t, reader, tc.metric, "tracekit.canceled", "true"); n != 1 {
					t.Errorf("%s has %d canceled waits, want 1", tc.metric, n)
				}
			})
		})
	}
}

// A canceled wait shorter than the slow threshold has no span, but its
// metric; the lock's acquisition counters do not count it.
func TestShortCanceledWait(t *testing.T) {
	rec := newRecorder(t)
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		d, _ := testDetector(detect.Config{Slow: 10 * time.Millisecond}, reader)
		defer d.Close()
		m := pinned(d, "orders")
		ctx, root := rec.root(context.Background())
		ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		m.Lock()
		if err := m.LockContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		m.Unlock()
		root.End()
		for _, s := range rec.rec.Ended() {
			if s.Name() != "root" {
				t.Errorf("span %q for a 1ms wait", s.Name())
			}
		}
		if n := kittest.HistCount(t, reader, "tracekit.lock.wait", "tracekit.lock.name", "orders"); n != 1 {
			t.Errorf("tracekit.lock.wait has %d waits, want 1", n)
		}
		if n := kittest.SumCounter(t, reader, "tracekit.lock.acquisitions"); n != 0 {
			t.Errorf("%d acquisitions counted, want none", n)
		}
	})
}

// Without a name, the error says where the wait was: the function and
// line that called LockContext, RLockContext, Send or Recv. So does it
// with no detector running.
func TestWaitErrorUnnamed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, withKit := range []bool{false, true} {
		var d *detect.Detector
		var m Mutex
		var rw RWMutex
		if withKit {
			d, _ = testDetector(detect.Config{}, nil)
			defer d.Close()
			m.l.Det, rw.l.Det = d, d
		}
		m.Lock()
		rw.Lock()
		errs := map[string]error{}
		errs["lock"] = m.LockContext(ctx)                          // unnamed:lock
		errs["read lock"] = rw.RLockContext(ctx)                   // unnamed:rlock
		errs["send on"] = send(ctx, d, "", make(chan int), 1)      // unnamed:send
		_, errs["receive from"] = recv(ctx, d, "", make(chan int)) // unnamed:recv
		m.Unlock()
		rw.Unlock()
		for op, marker := range map[string]string{"lock": "unnamed:lock", "read lock": "unnamed:rlock", "send on": "unnamed:send", "receive from": "unnamed:recv"} {
			want := fmt.Sprintf(`^tracekit: %s \(unnamed\) in github.com/tracekit-go/tracekit/tracekit\.TestWaitErrorUnnamed \(tracekit/wait_canceled_test\.go:%d\): context canceled$`,
				regexp.QuoteMeta(op), lineIn(t, "wait_canceled_test.go", marker))
			if err := errs[op]; err == nil || !regexp.MustCompile(want).MatchString(err.Error()) {
				t.Errorf("kit=%v: %s: error %v, want a match for %s", withKit, op, err, want)
			}
		}
	}
}
