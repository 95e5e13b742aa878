//go:build !tracekit_nosync

package tracekit

import (
	"context"
	"sync"
)

// RWMutex is a drop-in for sync.RWMutex with the instrumentation of
// [Mutex]: waits of both kinds are timed on their slow path, write holds as
// a Mutex's holds, and with lock-order detection each acquisition, read or
// write, takes part in the lock-order graph; asking for the write lock while
// holding the read lock on the same goroutine (an upgrade, which never
// succeeds) is a [ReportRecursiveLock]. Read holds are not timed: readers
// share the lock, and a per-reader clock would need per-reader state.
//
// The zero value is an unlocked, unnamed RWMutex. It must not be copied
// after first use. The build tag tracekit_nosync turns it into a plain
// sync.RWMutex wrapper.
type RWMutex struct {
	rw sync.RWMutex
	lockMeta
}

var _ sync.Locker = (*RWMutex)(nil)

// NewRWMutex returns an RWMutex named name.
func NewRWMutex(name string) *RWMutex {
	m := &RWMutex{}
	m.SetName(name)
	return m
}

// SetName names the lock for spans, metrics and reports. Safe to call at
// any time.
func (m *RWMutex) SetName(name string) { m.setName(name) }

// Lock locks m for writing, like sync.RWMutex.Lock.
func (m *RWMutex) Lock() {
	d := m.detector()
	if d == nil {
		if !m.rw.TryLock() {
			_ = m.waitUntracked(context.Background(), false, m.rw.Lock, m.rw.TryLock)
		}
		return
	}
	_ = m.lock(context.Background(), d)
}

// LockContext locks m for writing, or returns ctx.Err() wrapped with its
// cause if ctx is done first.
func (m *RWMutex) LockContext(ctx context.Context) error {
	d := m.detector()
	if d == nil {
		if m.rw.TryLock() {
			return nil
		}
		return m.waitUntracked(ctx, false, m.rw.Lock, m.rw.TryLock)
	}
	return m.lock(ctx, d)
}

func (m *RWMutex) lock(ctx context.Context, d *detector) error {
	st := m.state()
	if m.rw.TryLock() {
		m.acquired(ctx, d, st, false, nil, false)
		return nil
	}
	var stack []uintptr
	if d.order != nil {
		stack = d.order.before(ctx, st.id, st.nameFor(2), false)
	}
	if err := m.wait(ctx, d, st, m.rw.Lock, m.rw.TryLock, false); err != nil {
		return err
	}
	m.acquired(ctx, d, st, true, stack, false)
	return nil
}

// TryLock tries to lock m for writing, like sync.RWMutex.TryLock.
func (m *RWMutex) TryLock() bool {
	if !m.rw.TryLock() {
		return false
	}
	if d := m.detector(); d != nil {
		m.acquired(context.Background(), d, m.state(), false, nil, true)
	}
	return true
}

// Unlock unlocks m for writing, like sync.RWMutex.Unlock.
func (m *RWMutex) Unlock() {
	d := m.hd
	var slow int64
	if d != nil {
		slow = m.released(d)
	}
	m.rw.Unlock()
	if m.waiters.Load() > 0 {
		m.wakeOne()
	}
	if slow != 0 {
		m.slowHold(d, m.st.Load(), slow, false)
	}
}

// RLock locks m for reading, like sync.RWMutex.RLock.
func (m *RWMutex) RLock() {
	d := m.detector()
	if d == nil {
		// Not TryRLock first, as Lock does: under many concurrent readers
		// its compare-and-swap loop costs twice RLock's atomic add, so a
		// task blocked here shows as running while no Kit runs.
		m.rw.RLock()
		return
	}
	_ = m.rlock(context.Background(), d)
}

// RLockContext locks m for reading, or returns ctx.Err() wrapped with its
// cause if ctx is done first.
func (m *RWMutex) RLockContext(ctx context.Context) error {
	d := m.detector()
	if d == nil {
		if m.rw.TryRLock() {
			return nil
		}
		return m.waitUntracked(ctx, true, m.rw.RLock, m.rw.TryRLock)
	}
	return m.rlock(ctx, d)
}

func (m *RWMutex) rlock(ctx context.Context, d *detector) error {
	if m.rw.TryRLock() {
		if d.order != nil {
			st := m.state()
			d.order.acquire(ctx, st.id, st.nameFor(2), true, false)
		}
		return nil
	}
	st := m.state()
	var stack []uintptr
	if d.order != nil {
		stack = d.order.before(ctx, st.id, st.nameFor(2), true)
	}
	if err := m.wait(ctx, d, st, m.rw.RLock, m.rw.TryRLock, true); err != nil {
		return err
	}
	if d.order != nil {
		d.order.after(st.id, st.nameFor(2), true, stack)
	}
	return nil
}

// TryRLock tries to lock m for reading, like sync.RWMutex.TryRLock.
func (m *RWMutex) TryRLock() bool {
	if !m.rw.TryRLock() {
		return false
	}
	if d := m.detector(); d != nil && d.order != nil {
		st := m.state()
		d.order.acquire(context.Background(), st.id, st.nameFor(1), true, true)
	}
	return true
}

// RUnlock undoes one RLock, like sync.RWMutex.RUnlock.
func (m *RWMutex) RUnlock() {
	if d := m.detector(); d != nil && d.order != nil {
		d.order.release(m.state().id, nil)
	}
	m.rw.RUnlock()
	if m.waiters.Load() > 0 {
		m.wakeOne()
	}
}

// RLocker returns a sync.Locker whose Lock and Unlock call m.RLock and
// m.RUnlock, like sync.RWMutex.RLocker.
func (m *RWMutex) RLocker() sync.Locker { return (*rlocker)(m) }

type rlocker RWMutex

func (r *rlocker) Lock()   { (*RWMutex)(r).RLock() }
func (r *rlocker) Unlock() { (*RWMutex)(r).RUnlock() }
