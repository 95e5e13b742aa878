//go:build !tracekit_nosync

package tracekit

import (
	"context"
	"sync"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
)

// Mutex is a drop-in for sync.Mutex whose slow waits and long holds
// become spans, metrics and reports while a detector runs (package sdk
// installs one); without one it is a sync.Mutex plus one atomic load per
// Lock and Unlock. The zero value is an unlocked, unnamed mutex;
// [Mutex.SetName] names it. A Mutex must not be copied after first use.
// The build tag tracekit_nosync makes it a plain sync.Mutex wrapper.
type Mutex struct {
	mu sync.Mutex
	l  detect.Lock
}

var _ sync.Locker = (*Mutex)(nil)

// SetName names the mutex for spans, metrics and reports; unnamed locks are
// named after the function that first waited on them. Safe to call at any
// time; usually called once before first use.
func (m *Mutex) SetName(name string) { m.l.SetName(name) }

// Lock locks m, like sync.Mutex.Lock.
func (m *Mutex) Lock() {
	d := m.l.Detector()
	if d == nil {
		if !m.mu.TryLock() {
			_ = m.l.WaitUntracked(context.Background(), false, m.mu.Lock, m.mu.TryLock)
		}
		return
	}
	if !m.mu.TryLock() {
		_ = m.l.LockSlow(context.Background(), d, m.mu.Lock, m.mu.TryLock)
		return
	}
	if d.Ordered() {
		m.l.Acquired(context.Background(), d, false, goid.CallerPC())
		return
	}
	if m.l.Hold(d, goid.Current()) {
		m.l.HoldRest(d)
	}
}

// LockContext locks m, or returns a [*WaitError] wrapping ctx.Err() and
// context.Cause(ctx) if ctx is done first. A ctx that can be done waits in
// a loop that Unlock wakes, not in sync.Mutex's queue, so Lock callers can
// overtake it.
func (m *Mutex) LockContext(ctx context.Context) error {
	d := m.l.Detector()
	var site uintptr
	if d != nil && d.Ordered() {
		site = goid.CallerPC()
	}
	if m.mu.TryLock() {
		if d != nil {
			m.l.Acquired(ctx, d, false, site)
		}
		return nil
	}
	return waitLock(ctx, &m.l, d, false, m.mu.Lock, m.mu.TryLock)
}

// TryLock tries to lock m and reports whether it succeeded, like
// sync.Mutex.TryLock.
func (m *Mutex) TryLock() bool {
	if !m.mu.TryLock() {
		return false
	}
	if d := m.l.Detector(); d != nil {
		var site uintptr
		if d.Ordered() {
			site = goid.CallerPC()
		}
		m.l.Acquired(context.Background(), d, true, site)
	}
	return true
}

// Unlock unlocks m, like sync.Mutex.Unlock. As with sync.Mutex, another
// goroutine may unlock it.
func (m *Mutex) Unlock() {
	d := m.l.Timing()
	var slow int64
	if d != nil && !m.l.ReleasedShort(d) {
		slow = m.l.Released(d)
	}
	m.mu.Unlock()
	if m.l.HasWaiters() {
		m.l.WakeOne()
	}
	if slow != 0 {
		m.l.SlowHold(d, slow, false)
	}
}

// waitLock is the wait of a LockContext (or, read, an RLockContext) whose
// TryLock failed, on the lock whose detector state is l, with d (nil when
// none runs); lock and try are the sync lock's. An error is the
// [*WaitError] of ctx's end.
func waitLock(ctx context.Context, l *detect.Lock, d *detect.Detector, read bool, lock func(), try func() bool) error {
	var err error
	switch {
	case d == nil:
		err = l.WaitUntracked(ctx, read, lock, try)
	case read:
		err = l.RLockSlow(ctx, d, lock, try)
	default:
		err = l.LockSlow(ctx, d, lock, try)
	}
	if err == nil {
		return nil
	}
	if read {
		return waitErr(ctx, "read lock", l.GivenName())
	}
	return waitErr(ctx, "lock", l.GivenName())
}
