//go:build !tracekit_nosync

package tracekit

import (
	"context"
	"sync"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
)

// RWMutex is a drop-in for sync.RWMutex with the instrumentation of
// [Mutex]: waits of both kinds are timed, write holds as a Mutex's holds
// (read holds are not timed), and with lock-order detection each
// acquisition takes part in the lock-order graph, where asking for the
// write lock while holding the read lock on the same goroutine is reported
// as recursive locking. The zero value is an unlocked, unnamed RWMutex; it
// must not be copied after first use.
type RWMutex struct {
	rw sync.RWMutex
	l  detect.Lock
}

var _ sync.Locker = (*RWMutex)(nil)

// SetName names the lock for spans, metrics and reports. Safe to call at
// any time.
func (m *RWMutex) SetName(name string) { m.l.SetName(name) }

// Lock locks m for writing, like sync.RWMutex.Lock.
func (m *RWMutex) Lock() {
	d := m.l.Detector()
	if d == nil {
		if !m.rw.TryLock() {
			_ = m.l.WaitUntracked(context.Background(), false, m.rw.Lock, m.rw.TryLock)
		}
		return
	}
	if !m.rw.TryLock() {
		_ = m.l.LockSlow(context.Background(), d, m.rw.Lock, m.rw.TryLock)
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

// LockContext locks m for writing, or returns a [*WaitError] wrapping
// ctx.Err() and its cause if ctx is done first.
func (m *RWMutex) LockContext(ctx context.Context) error {
	d := m.l.Detector()
	var site uintptr
	if d != nil && d.Ordered() {
		site = goid.CallerPC()
	}
	if m.rw.TryLock() {
		if d != nil {
			m.l.Acquired(ctx, d, false, site)
		}
		return nil
	}
	return waitLock(ctx, &m.l, d, false, m.rw.Lock, m.rw.TryLock)
}

// TryLock tries to lock m for writing, like sync.RWMutex.TryLock.
func (m *RWMutex) TryLock() bool {
	if !m.rw.TryLock() {
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

// Unlock unlocks m for writing, like sync.RWMutex.Unlock.
func (m *RWMutex) Unlock() {
	d := m.l.Timing()
	var slow int64
	if d != nil && !m.l.ReleasedShort(d) {
		slow = m.l.Released(d)
	}
	m.rw.Unlock()
	if m.l.HasWaiters() {
		m.l.WakeOne()
	}
	if slow != 0 {
		m.l.SlowHold(d, slow, false)
	}
}

// RLock locks m for reading, like sync.RWMutex.RLock.
func (m *RWMutex) RLock() {
	d := m.l.Detector()
	if d == nil {
		// Not TryRLock first, as Lock does: under many concurrent readers
		// its compare-and-swap loop costs twice RLock's atomic add, so a
		// task blocked here shows as running while no detector runs.
		m.rw.RLock()
		return
	}
	var site uintptr
	if d.Ordered() {
		site = goid.CallerPC()
	}
	_ = m.rlock(context.Background(), d, site)
}

// RLockContext locks m for reading, or returns a [*WaitError] wrapping
// ctx.Err() and its cause if ctx is done first.
func (m *RWMutex) RLockContext(ctx context.Context) error {
	d := m.l.Detector()
	var site uintptr
	if d != nil && d.Ordered() {
		site = goid.CallerPC()
	}
	if m.rw.TryRLock() {
		if d != nil {
			m.l.RAcquired(ctx, d, false, site)
		}
		return nil
	}
	return waitLock(ctx, &m.l, d, true, m.rw.RLock, m.rw.TryRLock)
}

func (m *RWMutex) rlock(ctx context.Context, d *detect.Detector, site uintptr) error {
	if m.rw.TryRLock() {
		m.l.RAcquired(ctx, d, false, site)
		return nil
	}
	return m.l.RLockSlow(ctx, d, m.rw.RLock, m.rw.TryRLock)
}

// TryRLock tries to lock m for reading, like sync.RWMutex.TryRLock.
func (m *RWMutex) TryRLock() bool {
	if !m.rw.TryRLock() {
		return false
	}
	if d := m.l.Detector(); d != nil {
		var site uintptr
		if d.Ordered() {
			site = goid.CallerPC()
		}
		m.l.RAcquired(context.Background(), d, true, site)
	}
	return true
}

// RUnlock undoes one RLock, like sync.RWMutex.RUnlock.
func (m *RWMutex) RUnlock() {
	m.l.RReleased(m.l.Detector())
	m.rw.RUnlock()
	if m.l.HasWaiters() {
		m.l.WakeOne()
	}
}

// RLocker returns a sync.Locker whose Lock and Unlock call m.RLock and
// m.RUnlock, like sync.RWMutex.RLocker.
func (m *RWMutex) RLocker() sync.Locker { return (*rlocker)(m) }

type rlocker RWMutex

func (r *rlocker) Lock()   { (*RWMutex)(r).RLock() }
func (r *rlocker) Unlock() { (*RWMutex)(r).RUnlock() }
