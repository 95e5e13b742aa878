//go:build !tracekit_nosync

package tracekit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

// Mutex is a drop-in for sync.Mutex that measures how long acquisitions wait
// and how long the lock is held, records a span when either passes the slow
// threshold, and feeds the deadlock, hang and long-hold detectors. The zero
// value is an unlocked, unnamed mutex; [Mutex.SetName] names it for spans,
// metrics and reports (unnamed locks share one metric series with an empty
// name, and their spans and reports name the function that first waited on
// them — or, with lock-order detection on, the function that first locked
// them, which is known earlier; name a lock to get one name everywhere). A
// Mutex must not be copied after first use; its methods are safe for
// concurrent use.
//
// With no [Kit] running (or one started [WithoutGlobals]) it is a
// sync.Mutex plus one atomic load per Lock and Unlock; a Lock that has to
// wait marks the waiting [Go] task in the registry, so that [Snapshot] and
// the console say which lock it waits on. While a Kit runs:
//
//   - Wait time is measured only when the first TryLock fails, so an
//     uncontended Lock reads no clock. Every contended wait is recorded in
//     the tracekit.lock.wait histogram; waits past the slow threshold
//     ([WithSlowThreshold], TRACEKIT_SLOW, default 10ms) become lock.wait
//     spans, children of ctx's span for [Mutex.LockContext], or of the
//     span of the [Go] task running on the goroutine for Lock.
//   - Hold time is read from a coarse clock the Kit refreshes every
//     slow/5 (1ms to 100ms), which costs two atomic loads. The clock
//     sleeps after a second in which no lock read it, and the next lock
//     wakes it, so an idle process has no wake-ups. Holds past the
//     slow threshold become lock.hold spans, holds past the long-hold
//     threshold a [ReportLongHold]. One acquisition in 64 also reads the
//     precise clock and feeds the tracekit.lock.hold histogram.
//   - Acquisitions are counted in tracekit.lock.acquisitions: contended
//     ones each time, uncontended ones in steps of 64 per lock.
//   - With lock-order detection on, each acquisition records its stack and
//     checks the lock-order graph; see [WithDeadlockDetection].
//
// The build tag tracekit_nosync turns Mutex into a plain sync.Mutex wrapper
// that records nothing.
//
// Invariants: fields below "holder-written" are written only by the
// goroutine that holds mu, between acquiring and releasing it, so they need
// no atomics. waiters counts goroutines in the cancellable wait loop; Unlock
// wakes one of them through the state's wake channel.
type Mutex struct {
	mu sync.Mutex
	lockMeta
}

var _ sync.Locker = (*Mutex)(nil)

// NewMutex returns a Mutex named name. The zero value works too; see
// [Mutex.SetName].
func NewMutex(name string) *Mutex {
	m := &Mutex{}
	m.SetName(name)
	return m
}

// lockMeta is what Mutex and RWMutex keep beside their sync lock.
type lockMeta struct {
	waiters atomic.Int32
	st      atomic.Pointer[lockState]
	det     *detector // pinned detector (tests); nil means activeDetector

	// holder-written
	hd      *detector // detector that timed the current hold; nil if none
	holder  uint64    // goroutine ID of the write holder while hd is set, else 0; read with loadWord
	since   int64     // coarse clock at acquisition
	precise int64     // precise clock at acquisition when sampled, else 0
	n       uint32    // acquisitions, for sampling
	owner   *heldList // acquiring goroutine's locks, with lock-order detection
}

// lockState is made the first time a lock is named or used while a Kit
// runs, then shared by every copy of the pointer.
type lockState struct {
	name  string
	id    uint64        // lock-order identity, never reused
	wake  chan struct{} // capacity 1: a token from Unlock to the wait loop
	stats atomic.Pointer[lockStats]
	label atomic.Pointer[string] // name, or the first waiter's function for unnamed locks
}

// lockIDs numbers locks, process-wide, for lock-order identity.
var lockIDs atomic.Uint64

func (l *lockMeta) detector() *detector {
	if l.det != nil {
		return l.det
	}
	return activeDetector.Load()
}

func (l *lockMeta) state() *lockState {
	if st := l.st.Load(); st != nil {
		return st
	}
	st := &lockState{id: lockIDs.Add(1), wake: make(chan struct{}, 1)}
	if l.st.CompareAndSwap(nil, st) {
		return st
	}
	return l.st.Load()
}

// setName names the lock; it keeps the lock's identity and wake channel.
func (l *lockMeta) setName(name string) {
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

// name returns the lock's name, or for an unnamed lock the function that
// first asked for a name: the first waiter, or with lock-order detection the
// first locker; called on slow paths and by lock-order detection only.
func (st *lockState) nameFor(skip int) string {
	if st.name != "" {
		return st.name
	}
	if p := st.label.Load(); p != nil {
		return *p
	}
	s := callerFunc(skip + 1)
	st.label.CompareAndSwap(nil, &s)
	return *st.label.Load()
}

func (st *lockState) statsFor(d *detector) *lockStats {
	if s := st.stats.Load(); s != nil && s.d == d {
		return s
	}
	s := d.stats(st.name)
	st.stats.Store(s)
	return s
}

// SetName names the mutex for spans, metrics and reports. Safe to call at
// any time; usually called once before first use.
func (m *Mutex) SetName(name string) { m.setName(name) }

// Lock locks m, like sync.Mutex.Lock.
func (m *Mutex) Lock() {
	d := m.detector()
	if d == nil {
		if !m.mu.TryLock() {
			_ = m.waitUntracked(context.Background(), false, m.mu.Lock, m.mu.TryLock)
		}
		return
	}
	_ = m.lock(context.Background(), d)
}

// LockContext locks m, or returns an error if ctx is done first: ctx.Err()
// wrapped with context.Cause(ctx). A wait past the slow threshold becomes a
// span under ctx's span. It works without a running Kit too.
//
// A ctx that can be done (one with a Done channel) waits in a loop that
// Unlock wakes, retrying TryLock, instead of in sync.Mutex's queue, so it
// does not get sync.Mutex's protection from starvation: under heavy
// contention, Lock callers can overtake it. A context.Background() waits in
// sync.Mutex's queue like Lock.
func (m *Mutex) LockContext(ctx context.Context) error {
	d := m.detector()
	if d == nil {
		if m.mu.TryLock() {
			return nil
		}
		return m.waitUntracked(ctx, false, m.mu.Lock, m.mu.TryLock)
	}
	return m.lock(ctx, d)
}

// TryLock tries to lock m and reports whether it succeeded, like
// sync.Mutex.TryLock. A failed TryLock records nothing.
func (m *Mutex) TryLock() bool {
	if !m.mu.TryLock() {
		return false
	}
	if d := m.detector(); d != nil {
		m.acquired(context.Background(), d, m.state(), false, nil, true)
	}
	return true
}

// Unlock unlocks m, like sync.Mutex.Unlock. As with sync.Mutex, another
// goroutine may unlock it.
func (m *Mutex) Unlock() {
	d := m.hd
	var slow int64
	if d != nil {
		slow = m.released(d)
	}
	m.mu.Unlock()
	if m.waiters.Load() > 0 {
		m.wakeOne()
	}
	if slow != 0 {
		m.slowHold(d, m.st.Load(), slow, false)
	}
}

func (m *Mutex) lock(ctx context.Context, d *detector) error {
	st := m.state()
	if m.mu.TryLock() {
		m.acquired(ctx, d, st, false, nil, false)
		return nil
	}
	var stack []uintptr
	if d.order != nil {
		stack = d.order.before(ctx, st.id, st.nameFor(2), false)
	}
	if err := m.wait(ctx, d, st, m.mu.Lock, m.mu.TryLock, false); err != nil {
		return err
	}
	m.acquired(ctx, d, st, true, stack, false)
	return nil
}

// wait is the slow path of a write acquisition: it times the wait, watches
// for a hang, and records the wait's metric and span.
func (l *lockMeta) wait(ctx context.Context, d *detector, st *lockState, lock func(), try func() bool, read bool) error {
	start := d.now()
	name := st.nameFor(3)
	what := "lock"
	if read {
		what = "read lock"
	}
	holder := l.holders
	if d.order != nil {
		// It also knows where holders acquired the lock, and readers; a
		// holder that exited is in no goroutine's held list, but the lock
		// still records it.
		holder = func() holderSet {
			if h := d.order.holders(func(h heldLock) bool { return h.id == st.id }, name); !h.empty() {
				return h
			}
			return l.holders()
		}
	}
	hw := d.watchHang(ctx, what, name, start, holder)
	tw := tasks.BeginWait(what, name, l) // the registry shows what the task waits on
	var err error
	if ctx.Done() == nil {
		lock() // sync's own queue: fair, and no wake-ups to pay for
	} else {
		err = l.waitLoop(ctx, try)
	}
	tw.EndWait()
	hw.stop()
	if err != nil {
		return err
	}
	end := d.now()
	s := st.statsFor(d)
	s.contended.Add(1)
	d.recordWait(ctx, s, end-start)
	if d.cfg.slow > 0 && end-start >= int64(d.cfg.slow) {
		d.span(ctx, KindLockWait, name, start, end, KeyLockName.String(name), KeyWaitNS.Int64(end-start), lockMode(read))
	}
	return nil
}

// holders returns l's write holder as lockMeta.holder records it: the
// tracked task whose goroutine has that ID, or else the goroutine's ID
// alone (an untracked goroutine, or one that exited holding the lock; a
// goroutine dump tells which). Nothing is returned when no write hold is
// being timed (the lock is free, read-locked, or was taken while no Kit
// ran), or where goroutine IDs cannot be read cheaply.
func (l *lockMeta) holders() holderSet {
	id := loadHolder(l)
	if id == 0 {
		return holderSet{}
	}
	if t := tasks.ByGoid(id); t != nil {
		return holderSet{tasks: []*tasks.Record{t}}
	}
	return holderSet{goroutines: []uint64{id}}
}

// Holder returns the goroutine ID of l's write holder, or 0: a waiting
// task's registry entry reads it.
func (l *lockMeta) Holder() uint64 { return loadHolder(l) }

// loadHolder returns the goroutine ID of l's write holder, or 0.
func loadHolder(l *lockMeta) uint64 {
	return uint64(goid.LoadWord((*uintptr)(unsafe.Pointer(&l.holder))))
}

// waitUntracked is the slow path of an acquisition while no Kit runs: it
// times nothing and reports nothing, but a task waiting here shows in the
// registry as waiting on this lock, so that Snapshot, the console and hang
// reports say what it is blocked on.
func (l *lockMeta) waitUntracked(ctx context.Context, read bool, lock func(), try func() bool) error {
	if t := tasks.Current(); t != nil {
		what := "lock"
		if read {
			what = "read lock"
		}
		t.BeginWait(what, l.state().nameFor(3), l)
		defer t.EndWait()
	}
	if ctx.Done() == nil {
		lock()
		return nil
	}
	return l.waitLoop(ctx, try)
}

// waitLoop calls try until it succeeds or ctx is done. Unlock sends a token
// to st.wake when waiters is positive; a waiter adds itself before its last
// TryLock, so a release between that TryLock and the select still leaves the
// token in the channel.
func (l *lockMeta) waitLoop(ctx context.Context, tryFn func() bool) error {
	st := l.state()
	l.waiters.Add(1)
	defer l.waiters.Add(-1)
	for {
		if tryFn() {
			return nil
		}
		select {
		case <-st.wake:
		case <-ctx.Done():
			// The token this waiter may have been sent belongs to the next one.
			if l.waiters.Load() > 1 {
				l.wakeOne()
			}
			return cancelError("lock", ctx)
		}
	}
}

func (l *lockMeta) wakeOne() {
	select {
	case l.state().wake <- struct{}{}:
	default:
	}
}

func lockMode(read bool) attribute.KeyValue {
	if read {
		return KeyLockMode.String("read")
	}
	return KeyLockMode.String("write")
}

// acquired starts timing a write hold and records it for lock-order
// detection; the caller holds the lock. stack is the slow path's
// acquisition stack; tried marks a TryLock, which adds no edge.
func (l *lockMeta) acquired(ctx context.Context, d *detector, st *lockState, contended bool, stack []uintptr, tried bool) {
	l.hd = d
	if off := goid.Known(); off != 0 { // found when the Kit started
		l.holder = goid.Word(off) // goid.ID(), without its fallback
	}
	l.since = d.coarseNow()
	l.n++
	if l.n%sampleEvery == 0 {
		l.precise = d.now()
		// Counting every acquisition on a counter shared by all locks of a
		// name would make unrelated locks contend for its cache line.
		st.statsFor(d).acquired.Add(sampleEvery)
	}
	if contended {
		st.statsFor(d).acquired.Add(1)
	}
	if d.order != nil {
		if contended {
			l.owner = d.order.after(st.id, st.nameFor(2), false, stack)
		} else {
			l.owner = d.order.acquire(ctx, st.id, st.nameFor(2), false, tried)
		}
	}
}

// released ends timing a write hold; the caller still holds the lock.
// It returns the hold when it was slow enough to record, for slowHold to
// record after the lock is released (so a report handler never runs while
// the lock is held), and 0 otherwise. A hold that is recorded ends at a
// precise clock reading: the coarse clock's refresh can lag by more than a
// tick on a busy machine, and would shorten it by that much.
func (l *lockMeta) released(d *detector) int64 {
	l.hd = nil
	l.holder = 0
	st := l.st.Load()
	hold := d.coarseNow() - l.since
	precise := l.precise != 0
	if precise {
		end := d.now()
		hold = end - l.precise
		l.precise = 0
		d.recordHold(st.statsFor(d), hold)
	}
	if d.order != nil {
		d.order.release(st.id, l.owner)
		l.owner = nil
	}
	if (d.cfg.slow > 0 && hold >= int64(d.cfg.slow)) || (d.cfg.longHold > 0 && hold >= int64(d.cfg.longHold)) {
		if !precise {
			hold = max(hold, d.now()-l.since)
		}
		return hold
	}
	return 0
}

// slowHold records a hold past the slow threshold, and reports it if it
// passed the long-hold threshold too. The hold's start is a coarse clock
// reading, which can lag: it is never put before the start of the task it
// was released in, and the span, its tracekit.hold.ns and the report agree.
func (l *lockMeta) slowHold(d *detector, st *lockState, hold int64, read bool) {
	name := st.nameFor(3)
	end := d.now()
	ctx := context.Background()
	hold = end - d.notBeforeSpan(ctx, end-hold)
	if d.cfg.slow > 0 && hold >= int64(d.cfg.slow) {
		d.span(ctx, KindLockHold, name, end-hold, end, KeyLockName.String(name), KeyHoldNS.Int64(hold), lockMode(read))
	}
	if d.cfg.longHold > 0 && hold >= int64(d.cfg.longHold) {
		stacks := []Stack{{Label: fmt.Sprintf("%q released here", name), PC: callers(0)}}
		d.emit(ctx, Report{
			Kind:     ReportLongHold,
			Message:  fmt.Sprintf("%q was held for %v (long-hold threshold %v)", name, time.Duration(hold).Round(time.Millisecond), d.cfg.longHold),
			Lock:     name,
			Duration: time.Duration(hold),
			Stacks:   stacks,
		})
	}
}
