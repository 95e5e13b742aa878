package detect

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// Lock is what tracekit's Mutex and RWMutex keep beside their sync lock:
// the detectors' state of one lock. The zero value is ready.
//
// Invariants: fields below "holder-written" are written only by the
// goroutine that holds the lock for writing, between acquiring and
// releasing it, so they need no atomics. waiters counts goroutines in the
// cancellable wait loop; a release wakes one of them through the state's
// wake channel.
type Lock struct {
	waiters atomic.Int32
	st      atomic.Pointer[lockState]
	// Det pins a detector to the lock (tests); nil means the active one.
	Det *Detector

	// holder-written
	hd      *Detector // detector that timed the current hold; nil if none
	holder  uint64    // goroutine ID of the write holder while hd is set, else 0; read with goid.LoadWord
	since   int64     // coarse clock at acquisition
	precise int64     // precise clock at acquisition when sampled, else 0
	n       uint32    // acquisitions, for sampling
	owner   *heldList // acquiring goroutine's locks, with lock-order detection; nil when not write-held under it
	site    uintptr   // with lock-order detection, where the write hold was taken (fast path); read with goid.LoadWord
	rel     uintptr   // write releases under lock-order detection; read with goid.LoadWord

	stk atomic.Pointer[heldStack] // where a write hold was taken, when its stack was recorded
}

// lockState is made the first time a lock is named or used while a
// detector runs, then shared by every copy of the pointer.
type lockState struct {
	name  string
	id    uint64        // lock-order identity, never reused
	wake  chan struct{} // capacity 1: a token from a release to the wait loop
	stats atomic.Pointer[lockStats]
	label atomic.Pointer[string] // name, or the first waiter's function for unnamed locks
}

// lockIDs numbers locks, process-wide, for lock-order identity.
var lockIDs atomic.Uint64

// Detector returns the detector the lock reports to: the pinned one, else
// the active one, else nil.
func (l *Lock) Detector() *Detector {
	if l.Det != nil {
		return l.Det
	}
	return active.Load()
}

// Timing returns the detector timing the current write hold, or nil.
func (l *Lock) Timing() *Detector { return l.hd }

// HasWaiters reports whether goroutines wait in the cancellable loop.
func (l *Lock) HasWaiters() bool { return l.waiters.Load() > 0 }

func (l *Lock) state() *lockState {
	if st := l.st.Load(); st != nil {
		return st
	}
	st := &lockState{id: lockIDs.Add(1), wake: make(chan struct{}, 1)}
	if l.st.CompareAndSwap(nil, st) {
		return st
	}
	return l.st.Load()
}

// SetName names the lock; it keeps the lock's identity and wake channel.
func (l *Lock) SetName(name string) {
	for {
		old := l.st.Load()
		st := &lockState{name: name, wake: make(chan struct{}, 1)}
		if old != nil {
			st.id, st.wake = old.id, old.wake
		} else {
			st.id = lockIDs.Add(1)
		}
		if l.st.CompareAndSwap(old, st) {
			return
		}
	}
}

// Name returns the lock's name, or for an unnamed lock the function that
// first asked for one.
func (l *Lock) Name() string { return l.state().nameFor() }

// GivenName returns the name SetName gave the lock, or "".
func (l *Lock) GivenName() string {
	if st := l.st.Load(); st != nil {
		return st.name
	}
	return ""
}

// Ordered reports whether d records lock order: the lock methods then pass
// their caller's return address (goid.CallerPC) as the site of an
// acquisition.
func (d *Detector) Ordered() bool { return d.order != nil }

// nameFor returns the lock's name, or for an unnamed lock the function
// that first asked for a name: the first waiter, or with lock-order
// detection the first locker; called on slow paths and by lock-order
// detection only.
func (st *lockState) nameFor() string {
	if st.name != "" {
		return st.name
	}
	if p := st.label.Load(); p != nil {
		return *p
	}
	s := callerFunc(0)
	st.label.CompareAndSwap(nil, &s)
	return *st.label.Load()
}

func (st *lockState) statsFor(d *Detector) *lockStats {
	if s := st.stats.Load(); s != nil && s.d == d {
		return s
	}
	s := d.stats(st.name)
	st.stats.Store(s)
	return s
}

// LockSlow is the rest of a write acquisition whose TryLock failed: it
// records lock order, waits with lock (or, for a ctx that can be done, in
// a loop of try), and starts timing the hold.
func (l *Lock) LockSlow(ctx context.Context, d *Detector, lock func(), try func() bool) error {
	st := l.state()
	var stack []uintptr
	if d.order != nil {
		stack = d.order.before(ctx, st.id, st.nameFor(), false)
	}
	if err := l.wait(ctx, d, st, lock, try, false, stack); err != nil {
		return err
	}
	if l.Hold(d, goid.Current()) {
		l.HoldRest(d)
	}
	st.statsFor(d).acquired.Add(1)
	if d.order != nil {
		l.owner = d.order.after(l, st, false, stack)
	}
	return nil
}

// Acquired starts timing a write hold taken without waiting, at site (the
// lock method's return address, 0 when not read), and records it for
// lock-order detection; tried marks a TryLock, which adds no edge.
func (l *Lock) Acquired(ctx context.Context, d *Detector, tried bool, site uintptr) {
	if l.Hold(d, 0) {
		l.HoldRest(d)
	}
	if d.order == nil {
		l.holder = goid.Current() // found when the detector started
		return
	}
	st := l.st.Load() // l.state(), whose first use makes it
	if st == nil {
		st = l.state()
	}
	// The list's lookup reads the goroutine ID too.
	l.owner, l.holder = d.order.acquire(ctx, l, st, false, tried, site)
}

// RAcquired records a read hold taken without waiting, at site, for
// lock-order detection.
func (l *Lock) RAcquired(ctx context.Context, d *Detector, tried bool, site uintptr) {
	if d.order != nil {
		st := l.state()
		d.order.acquire(ctx, l, st, true, tried, site)
		return
	}
	if d.missing {
		d.warnMissing()
	}
}

// RLockSlow is the rest of a read acquisition whose TryRLock failed.
func (l *Lock) RLockSlow(ctx context.Context, d *Detector, lock func(), try func() bool) error {
	st := l.state()
	var stack []uintptr
	if d.order != nil {
		stack = d.order.before(ctx, st.id, st.nameFor(), true)
	}
	if err := l.wait(ctx, d, st, lock, try, true, stack); err != nil {
		return err
	}
	if d.order != nil {
		d.order.after(l, st, true, stack)
	}
	return nil
}

// RReleased forgets a read hold, for lock-order detection.
func (l *Lock) RReleased(d *Detector) {
	if d != nil && d.order != nil {
		d.order.releaseRead(l.state().id)
	}
}

// wait is the slow path of an acquisition: it times the wait, watches for
// a hang, and records the wait's metric and span, a wait that ctx ended as
// much as one that got the lock; stack is the waiter's, when lock-order
// detection took it already. It returns ctx.Err() when ctx ended it.
func (l *Lock) wait(ctx context.Context, d *Detector, st *lockState, lock func(), try func() bool, read bool, stack []uintptr) error {
	start := d.Now()
	name := st.nameFor()
	what := "lock"
	if read {
		what = "read lock"
	}
	holder := l.Holders
	if d.order != nil {
		// It also knows where holders acquired the lock, and readers; a
		// holder that exited is in no goroutine's held list, but the lock
		// still records it.
		holder = func() HolderSet {
			if h := d.order.holders(l, st.id, name); !h.empty() {
				return h
			}
			return l.Holders()
		}
	}
	w := d.BeginWait(ctx, what, name, l, ctx.Done() == nil, 0, start, stack, holder)
	var err error
	if ctx.Done() == nil {
		lock() // sync's own queue: fair, and no wake-ups to pay for
	} else {
		err = l.WaitLoop(ctx, try)
	}
	w.End()
	end := d.Now()
	if err != nil {
		d.recordCanceledWait(ctx, keyLockName.String(name), end-start)
	} else {
		s := st.statsFor(d)
		s.contended.Add(1)
		d.recordWait(ctx, s, end-start)
	}
	if d.cfg.Slow > 0 && end-start >= int64(d.cfg.Slow) {
		d.span(ctx, semconv.KindLockWait, name, start, end, err, keyLockName.String(name), keyWaitNS.Int64(end-start), lockMode(read))
	}
	return err
}

// Holders returns l's write holder as l.holder records it: the tracked
// task whose goroutine has that ID, or else the goroutine's ID alone (an
// untracked goroutine, or one that exited holding the lock; a goroutine
// dump tells which). Nothing is returned when no write hold is being timed
// (the lock is free, read-locked, or was taken while no detector ran), or
// where goroutine IDs cannot be read cheaply.
func (l *Lock) Holders() HolderSet {
	id := l.Holder()
	if id == 0 {
		return HolderSet{}
	}
	if t := tasks.ByGoid(id); t != nil {
		return HolderSet{Tasks: []*tasks.Record{t}}
	}
	return HolderSet{Goroutines: []uint64{id}}
}

// Holder returns the goroutine ID of l's write holder, or 0: a waiting
// task's registry entry reads it.
func (l *Lock) Holder() uint64 {
	return uint64(goid.LoadWord((*uintptr)(unsafe.Pointer(&l.holder))))
}

// WaitUntracked is the slow path of an acquisition while no detector
// runs: it times nothing and reports nothing, but a task waiting here shows
// in the registry as waiting on this lock. It returns ctx.Err() when ctx
// ended the wait.
func (l *Lock) WaitUntracked(ctx context.Context, read bool, lock func(), try func() bool) error {
	if t := tasks.Current(); t != nil {
		what := "lock"
		if read {
			what = "read lock"
		}
		t.BeginWait(what, l.state().nameFor(), l)
		defer t.EndWait()
	}
	if ctx.Done() == nil {
		lock()
		return nil
	}
	return l.WaitLoop(ctx, try)
}

// WaitLoop calls try until it succeeds or ctx is done, and then returns
// ctx.Err(). A release sends a token to the wake channel when waiters is
// positive; a waiter adds itself before its last try, so a release between
// that try and the select still leaves the token in the channel.
func (l *Lock) WaitLoop(ctx context.Context, try func() bool) error {
	st := l.state()
	l.waiters.Add(1)
	defer l.waiters.Add(-1)
	for {
		if try() {
			return nil
		}
		select {
		case <-st.wake:
		case <-ctx.Done():
			// The token this waiter may have been sent belongs to the next one.
			if l.waiters.Load() > 1 {
				l.WakeOne()
			}
			return ctx.Err()
		}
	}
}

// WakeOne wakes one goroutine of the wait loop.
func (l *Lock) WakeOne() {
	select {
	case l.state().wake <- struct{}{}:
	default:
	}
}

func lockMode(read bool) attribute.KeyValue {
	if read {
		return keyLockMode.String("read")
	}
	return keyLockMode.String("write")
}

// Hold starts timing a write hold that gid (goid.Current(), read by the
// lock method) took without waiting while d, which records no lock order,
// runs: the uncontended Lock's bookkeeping, small enough to be inlined
// into it. When it returns true, the lock method calls HoldRest: once in
// sampleEvery acquisitions, and for the first after the coarse clock
// ticked or slept.
func (l *Lock) Hold(d *Detector, gid uint64) bool {
	l.hd = d
	l.holder = gid
	l.since = d.coarse.Load()
	l.n++
	return l.n%sampleEvery == 0 || d.clockState.Load() != clockUsed
}

// HoldRest wakes or marks the coarse clock and takes the sampled precise
// reading, for Hold.
func (l *Lock) HoldRest(d *Detector) {
	l.since = d.coarseNow()
	if l.n%sampleEvery == 0 {
		l.sample(d, l.state())
	}
}

// sample takes the precise clock reading of a hold that the
// tracekit.lock.hold histogram records at release, and counts the
// sampleEvery acquisitions it stands for.
func (l *Lock) sample(d *Detector, st *lockState) {
	l.precise = d.Now()
	// Counting every acquisition on a counter shared by all locks of a
	// name would make unrelated locks contend for its cache line.
	st.statsFor(d).acquired.Add(sampleEvery)
}

// ReleasedShort ends timing a write hold in the common case, where there
// is nothing to record (no sample, no lock order, a ticking clock, a hold
// under both thresholds), and reports whether it did; else the lock method
// calls Released. Small enough to be inlined into Unlock.
func (l *Lock) ReleasedShort(d *Detector) bool {
	if l.precise != 0 || d.order != nil || d.clockState.Load() != clockUsed || d.coarse.Load()-l.since >= d.holdFloor {
		return false
	}
	l.hd = nil
	l.holder = 0
	return true
}

// Released ends timing a write hold; the caller still holds the lock. It
// returns the hold when it was slow enough to record, for SlowHold to
// record after the lock is released (so a report handler never runs while
// the lock is held), and 0 otherwise. A hold that is recorded ends at a
// precise clock reading: the coarse clock's refresh can lag by more than a
// tick on a busy machine, and would shorten it by that much.
func (l *Lock) Released(d *Detector) int64 {
	l.hd = nil
	l.holder = 0
	hold := d.coarseNow() - l.since
	precise := l.precise != 0
	if precise {
		end := d.Now()
		hold = end - l.precise
		l.precise = 0
		d.recordHold(l.state().statsFor(d), hold)
	}
	if d.order != nil {
		d.order.releaseWrite(l)
	}
	if hold >= d.holdFloor {
		if !precise {
			hold = max(hold, d.Now()-l.since)
		}
		return hold
	}
	return 0
}

// SlowHold records a hold past the slow threshold, and reports it if it
// passed the long-hold threshold too. The hold's start is a coarse clock
// reading, which can lag: it is never put before the start of the task it
// was released in, and the span, its tracekit.hold.ns and the report agree.
func (l *Lock) SlowHold(d *Detector, hold int64, read bool) {
	name := l.state().nameFor()
	end := d.Now()
	ctx := context.Background()
	hold = end - d.notBeforeSpan(ctx, end-hold)
	if d.cfg.Slow > 0 && hold >= int64(d.cfg.Slow) {
		d.span(ctx, semconv.KindLockHold, name, end-hold, end, nil, keyLockName.String(name), keyHoldNS.Int64(hold), lockMode(read))
	}
	if d.cfg.LongHold > 0 && hold >= int64(d.cfg.LongHold) {
		stacks := []inspect.Stack{{Label: fmt.Sprintf("%q released here", name), PC: callers(0)}}
		d.Emit(ctx, inspect.Report{
			Kind:     inspect.KindLongHold,
			Message:  fmt.Sprintf("%q was held for %v (long-hold threshold %v)", name, time.Duration(hold).Round(time.Millisecond), d.cfg.LongHold),
			Lock:     name,
			Duration: time.Duration(hold),
			Stacks:   stacks,
		})
	}
}
