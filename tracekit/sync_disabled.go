//go:build tracekit_nosync

package tracekit

import (
	"context"
	"sync"
	"time"

	"github.com/tracekit-go/tracekit/internal/detect"
)

// Mutex is, with the tracekit_nosync build tag, a plain sync.Mutex with
// the extra methods of the instrumented Mutex, which record nothing.
type Mutex struct{ sync.Mutex }

var _ sync.Locker = (*Mutex)(nil)

// SetName does nothing with tracekit_nosync.
func (m *Mutex) SetName(string) {}

// LockContext locks m or returns ctx.Err() wrapped with its cause. With
// tracekit_nosync a contended wait polls TryLock with backoff.
func (m *Mutex) LockContext(ctx context.Context) error { return lockPoll(ctx, m.TryLock, m.Lock) }

// RWMutex is, with the tracekit_nosync build tag, a plain sync.RWMutex with
// the extra methods of the instrumented RWMutex, which record nothing.
type RWMutex struct{ sync.RWMutex }

var _ sync.Locker = (*RWMutex)(nil)

// SetName does nothing with tracekit_nosync.
func (m *RWMutex) SetName(string) {}

// LockContext locks m for writing or returns ctx.Err() wrapped with its
// cause.
func (m *RWMutex) LockContext(ctx context.Context) error { return lockPoll(ctx, m.TryLock, m.Lock) }

// RLockContext locks m for reading or returns ctx.Err() wrapped with its
// cause.
func (m *RWMutex) RLockContext(ctx context.Context) error {
	return lockPoll(ctx, m.TryRLock, m.RLock)
}

func lockPoll(ctx context.Context, try func() bool, lock func()) error {
	if try() {
		return nil
	}
	if ctx.Done() == nil {
		lock()
		return nil
	}
	for backoff := time.Microsecond; ; backoff = min(2*backoff, time.Millisecond) {
		select {
		case <-ctx.Done():
			return detect.CancelError("lock", ctx)
		case <-time.After(backoff):
		}
		if try() {
			return nil
		}
	}
}
