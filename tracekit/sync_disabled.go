//go:build tracekit_nosync

package tracekit

import (
	"context"
	"sync"
	"time"
)

// Mutex is, with the tracekit_nosync build tag, a plain sync.Mutex with
// the extra methods of the instrumented Mutex, which record nothing.
type Mutex struct{ sync.Mutex }

var _ sync.Locker = (*Mutex)(nil)

// SetName does nothing with tracekit_nosync.
func (m *Mutex) SetName(string) {}

// LockContext locks m or returns a [*WaitError] wrapping ctx.Err() and its
// cause. With tracekit_nosync a contended wait polls TryLock with backoff.
func (m *Mutex) LockContext(ctx context.Context) error {
	return lockPoll(ctx, "lock", m.TryLock, m.Lock)
}

// RWMutex is, with the tracekit_nosync build tag, a plain sync.RWMutex with
// the extra methods of the instrumented RWMutex, which record nothing.
type RWMutex struct{ sync.RWMutex }

var _ sync.Locker = (*RWMutex)(nil)

// SetName does nothing with tracekit_nosync.
func (m *RWMutex) SetName(string) {}

// LockContext locks m for writing or returns a [*WaitError] wrapping
// ctx.Err() and its cause.
func (m *RWMutex) LockContext(ctx context.Context) error {
	return lockPoll(ctx, "lock", m.TryLock, m.Lock)
}

// RLockContext locks m for reading or returns a [*WaitError] wrapping
// ctx.Err() and its cause.
func (m *RWMutex) RLockContext(ctx context.Context) error {
	return lockPoll(ctx, "read lock", m.TryRLock, m.RLock)
}

// lockPoll is op (LockContext or RLockContext) without a detector's wait
// loop: locks carry no name here, so an error names the caller.
func lockPoll(ctx context.Context, op string, try func() bool, lock func()) error {
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
			return waitErr(ctx, op, "")
		case <-time.After(backoff):
		}
		if try() {
			return nil
		}
	}
}
