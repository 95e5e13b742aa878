//go:build !tracekit_nosync

package tracekit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/flight"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/gostack"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

func pinned(d *detect.Detector, name string) *Mutex {
	m := &Mutex{}
	m.l.Det = d
	if name != "" {
		m.SetName(name)
	}
	return m
}

// The lock is a lock, with no Kit, with one, and with lock-order detection,
// whichever way it is taken.
func TestMutexExclusion(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  *detect.Config
	}{
		{"no kit", nil},
		{"kit", &detect.Config{Slow: time.Millisecond, Hang: time.Minute, LongHold: time.Minute}},
		{"kit+order", &detect.Config{Slow: time.Millisecond, Order: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var m Mutex
			var rw RWMutex
			var r *kittest.Reports
			if tt.cfg != nil {
				var d *detect.Detector
				d, r = testDetector(*tt.cfg, nil)
				defer d.Close()
				m.l.Det, rw.l.Det = d, d
			}
			const goroutines, rounds = 8, 300
			n, rn := 0, 0
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range rounds {
						switch (g + i) % 3 {
						case 0:
							m.Lock()
						case 1:
							for !m.TryLock() {
							}
						case 2:
							if err := m.LockContext(context.Background()); err != nil {
								t.Error(err)
								return
							}
						}
						n++
						m.Unlock()
						if i%4 == 0 {
							rw.Lock()
							rn++
							rw.Unlock()
						} else {
							rw.RLock()
							_ = rn
							rw.RUnlock()
						}
					}
				})
			}
			wg.Wait()
			if n != goroutines*rounds {
				t.Errorf("n = %d, want %d", n, goroutines*rounds)
			}
			if r != nil && len(r.All()) != 0 {
				t.Errorf("reports on a correct program: %v", r.All())
			}
		})
	}
}

func TestLockContextCanceled(t *testing.T) {
	cause := errors.New("client went away")
	for _, withKit := range []bool{false, true} {
		var m Mutex
		var rw RWMutex
		if withKit {
			d, _ := testDetector(detect.Config{}, nil)
			defer d.Close()
			m.l.Det, rw.l.Det = d, d
		}
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(cause)
		m.Lock()
		rw.Lock()
		for what, err := range map[string]error{"Mutex.LockContext": m.LockContext(ctx), "RWMutex.LockContext": rw.LockContext(ctx), "RWMutex.RLockContext": rw.RLockContext(ctx)} {
			if !errors.Is(err, context.Canceled) || !errors.Is(err, cause) {
				t.Errorf("kit=%v: %s = %v, want context.Canceled with the cause", withKit, what, err)
			}
		}
		m.Unlock()
		rw.Unlock()
		if err := m.LockContext(ctx); err != nil {
			t.Errorf("LockContext on a free lock with a done context = %v, want the lock (as TryLock)", err)
		}
		m.Unlock()
	}
}

// A LockContext waiter gives up at its deadline, and one that does not
// still gets the lock when the holder lets go.
func TestLockContextDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, _ := testDetector(detect.Config{Slow: 10 * time.Millisecond}, nil)
		defer d.Close()
		m := pinned(d, "db")
		m.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		got := make(chan error, 1)
		go func() { got <- m.LockContext(ctx) }()
		second := lockThenUnlock(t, m)
		time.Sleep(2 * time.Second)
		if err := <-got; !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("LockContext = %v, want DeadlineExceeded", err)
		}
		m.Unlock()
		if err := <-second; err != nil {
			t.Errorf("second waiter: %v", err)
		}
	})
}

// A wait past the slow threshold is a lock.wait span under ctx's span,
// timed exactly (the bubble's clock is fake).
func TestSlowWaitSpan(t *testing.T) {
	rec := newRecorder(t)
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		d, r := testDetector(detect.Config{Slow: 10 * time.Millisecond}, reader)
		defer d.Close()
		m := pinned(d, "orders")
		ctx, root := rec.root(cancelable(t))

		m.Lock()
		go func() {
			time.Sleep(50 * time.Millisecond)
			m.Unlock()
		}()
		if err := m.LockContext(ctx); err != nil {
			t.Fatal(err)
		}
		m.Unlock()
		// A short wait: measured, no span.
		m.Lock()
		go func() {
			time.Sleep(time.Millisecond)
			m.Unlock()
		}()
		if err := m.LockContext(ctx); err != nil {
			t.Fatal(err)
		}
		m.Unlock()
		root.End()

		s := rec.span("lock.wait orders")
		if s.Parent().SpanID() != root.SpanContext().SpanID() {
			t.Error("lock.wait span is not a child of ctx's span")
		}
		if v, _ := kittest.Attr(s, keyKind); v.AsString() != string(kindLockWait) {
			t.Errorf("kind = %q", v.AsString())
		}
		if v, _ := kittest.Attr(s, keyLockName); v.AsString() != "orders" {
			t.Errorf("lock name = %q", v.AsString())
		}
		if v, _ := kittest.Attr(s, keyWaitNS); v.AsInt64() != int64(50*time.Millisecond) {
			t.Errorf("wait = %v, want 50ms", time.Duration(v.AsInt64()))
		}
		if got := s.EndTime().Sub(s.StartTime()); got != 50*time.Millisecond {
			t.Errorf("span covers %v, want 50ms", got)
		}
		if n := kittest.HistCount(t, reader, "tracekit.lock.wait", "tracekit.lock.name", "orders"); n != 2 {
			t.Errorf("tracekit.lock.wait count = %d, want 2", n)
		}
		if len(r.All()) != 0 {
			t.Errorf("reports: %v", r.All())
		}
	})
}

// A hold timed by the coarse clock never starts before the task span it
// belongs to, even when the clock ticked less recently at the acquisition
// than at the release.
func TestHoldSpanStartsInsideItsParent(t *testing.T) {
	if !goid.Fast {
		t.Skip("tasks do not register their goroutine on this platform")
	}
	rec := newRecorder(t)
	synctest.Test(t, func(t *testing.T) {
		d, _ := testDetector(detect.Config{Slow: 10 * time.Millisecond}, nil)
		defer d.Close()
		m := pinned(d, "cache")
		ctx, root := rec.root(context.Background())
		// The clock ticks every 2ms: lock 1ms after a tick, release 0.5ms
		// after one, so the measured hold ends 0.5ms later than the real one
		// and would start 0.5ms before the lock was taken.
		time.Sleep(time.Millisecond)
		task := Go(ctx, "refresh", func(context.Context) error {
			m.Lock()
			time.Sleep(49*time.Millisecond + 500*time.Microsecond)
			m.Unlock()
			return nil
		})
		if err := task.Wait(); err != nil {
			t.Fatal(err)
		}
		root.End()
		hold, parent := rec.span("lock.hold cache"), rec.span("refresh")
		if hold.StartTime().Before(parent.StartTime()) {
			t.Errorf("lock.hold starts %v before its parent", parent.StartTime().Sub(hold.StartTime()))
		}
		if hold.EndTime().After(parent.EndTime()) {
			t.Errorf("lock.hold ends %v after its parent", hold.EndTime().Sub(parent.EndTime()))
		}
	})
}

// A hold past the slow threshold inside a task is a lock.hold span under the
// task's span; past the long-hold threshold it is also a report.
func TestHoldSpanAndLongHold(t *testing.T) {
	if !goid.Fast {
		t.Skip("tasks do not register their goroutine on this platform")
	}
	rec := newRecorder(t)
	synctest.Test(t, func(t *testing.T) {
		d, r := testDetector(detect.Config{Slow: 10 * time.Millisecond, LongHold: time.Second}, nil)
		defer d.Close()
		m := pinned(d, "cache")
		ctx, root := rec.root(context.Background())
		task := Go(ctx, "refresh", func(context.Context) error {
			m.Lock()
			time.Sleep(1500 * time.Millisecond)
			m.Unlock()
			m.Lock() // a short hold: no span, no report
			m.Unlock()
			return nil
		})
		if err := task.Wait(); err != nil {
			t.Fatal(err)
		}
		root.End()

		s := rec.span("lock.hold cache")
		if s.Parent().SpanID() != task.SpanContext().SpanID() {
			t.Error("lock.hold span is not a child of the task's span")
		}
		hold, _ := kittest.Attr(s, keyHoldNS)
		if got := time.Duration(hold.AsInt64()); got > 1500*time.Millisecond || got < 1500*time.Millisecond-d.Tick() {
			t.Errorf("hold = %v, want 1.5s to within the %v tick", got, d.Tick())
		}
		reps := r.All()
		if len(reps) != 1 || reps[0].Kind != inspect.KindLongHold || reps[0].Lock != "cache" {
			t.Fatalf("reports = %v, want one long hold of cache", reps)
		}
		if reps[0].SpanContext.SpanID() != task.SpanContext().SpanID() {
			t.Error("the report does not name the task's span")
		}
		if !strings.Contains(reps[0].Stacks[0].String(), "TestHoldSpanAndLongHold") {
			t.Errorf("release stack:\n%s", reps[0].Stacks[0])
		}
		var event sdktrace.Event
		for _, e := range rec.span("refresh").Events() {
			if e.Name == "tracekit.report" {
				event = e
			}
		}
		if kittest.EventAttr(event, keyReportKind) != "long-hold" {
			t.Errorf("the task span has no long-hold report event: %v", rec.span("refresh").Events())
		}
		if log := r.Logged(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "kind=long-hold") {
			t.Errorf("slog record: %q", log)
		}
	})
}

// An unnamed lock taken only on the fast path has no state yet when its
// long hold is released: the report names it after a function all the same.
func TestLongHoldUnnamed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, r := testDetector(detect.Config{LongHold: time.Second}, nil)
		defer d.Close()
		m := pinned(d, "")
		m.Lock()
		time.Sleep(1500 * time.Millisecond)
		m.Unlock()
		reps := r.All()
		if len(reps) != 1 || reps[0].Kind != inspect.KindLongHold || reps[0].Lock == "" {
			t.Fatalf("reports = %v, want one long hold of a lock with a name", reps)
		}
	})
}

// A wait past the hang timeout is reported once, with the waiter's stack
// and, with lock-order detection on, the holder's acquisition stack; the
// wait goes on and succeeds.
func TestHangReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, r := testDetector(detect.Config{Hang: 30 * time.Second, Order: true}, nil)
		defer d.Close()
		m := pinned(d, "ledger")
		release := make(chan struct{})
		held := make(chan struct{})
		// The holder takes the lock inside another one, so its acquisition
		// added an edge and its stack was recorded (an uncontended
		// acquisition of a lock alone records none, to stay cheap).
		go holdUntil(pinned(d, "books"), m, held, release)
		<-held
		done := lockThenUnlock(t, m)
		time.Sleep(45 * time.Second)
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		reps := r.All()
		if len(reps) != 1 || reps[0].Kind != inspect.KindHang || reps[0].Lock != "ledger" || reps[0].Duration != 30*time.Second {
			t.Fatalf("reports = %v, want one 30s lock timeout on ledger", reps)
		}
		if !strings.Contains(string(reps[0].Goroutines), "tracekit.holdUntil(") {
			t.Errorf("the goroutine dump does not show the holder:\n%s", reps[0].Goroutines)
		}
		text := reps[0].String()
		for _, want := range []string{"waiter (lock ledger)", "tracekit.lockThenUnlock.func1", "holder acquired \"ledger\" here", "holdUntil"} {
			if !strings.Contains(text, want) {
				t.Errorf("report lacks %q:\n%s", want, text)
			}
		}
	})
}

// A hang report names the holder: a task by ID, name and goroutine, with
// the stack it has now, or an untracked goroutine by ID (a count of them
// where goroutine IDs are not read). Lock-order detection finds it in its
// held lists, with where it took the lock; without it the lock's recorded
// holder names it.
func TestHangReportNamesHolder(t *testing.T) {
	if !goid.Fast {
		t.Skip("tasks do not register their goroutine on this platform")
	}
	for _, tc := range []struct{ tracked, order bool }{{true, true}, {false, true}, {true, false}, {false, false}} {
		tracked := tc.tracked
		t.Run(fmt.Sprintf("tracked=%v,order=%v", tc.tracked, tc.order), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d, r := testDetector(detect.Config{Hang: 30 * time.Second, Order: tc.order}, nil)
				defer d.Close()
				m := pinned(d, "ledger")
				release := make(chan struct{})
				held := make(chan struct{})
				var holder *Task
				if tracked {
					holder = Go(context.Background(), "nightly-close", func(context.Context) error {
						holdAlone(m, held, release)
						return nil
					})
				} else {
					go holdAlone(m, held, release)
				}
				<-held
				done := lockThenUnlock(t, m)
				time.Sleep(45 * time.Second)
				close(release)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if holder != nil {
					_ = holder.Wait()
				}
				reps := r.All()
				if len(reps) != 1 || reps[0].Kind != inspect.KindHang {
					t.Fatalf("reports = %v, want one lock timeout", reps)
				}
				rep := reps[0]
				text := rep.String()
				if !tracked {
					if len(rep.Tasks) != 0 {
						t.Errorf("an untracked holder is listed as a task:\n%s", text)
					}
					if tc.order && !goid.FastID() {
						if !strings.Contains(rep.Message, "held by 1 goroutine(s) that are not tracked tasks") {
							t.Errorf("report:\n%s", text)
						}
						return
					}
					// The lock recorded its holder's goroutine: the report
					// names it, and the dump shows it in holdAlone.
					m := regexp.MustCompile(`held by goroutine (\d+), which is not a tracked task`).FindStringSubmatch(rep.Message)
					if m == nil {
						t.Fatalf("report does not name the holder's goroutine:\n%s", text)
					}
					gs, err := gostack.Parse(rep.Goroutines)
					if err != nil {
						t.Fatal(err)
					}
					i := slices.IndexFunc(gs, func(g gostack.Goroutine) bool { return fmt.Sprint(g.ID) == m[1] })
					if i < 0 || !gs[i].HasFunc("github.com/tracekit-go/tracekit/tracekit.holdAlone") {
						t.Errorf("goroutine %s is not the holder in holdAlone:\n%s", m[1], rep.Goroutines)
					}
					return
				}
				if len(rep.Tasks) != 1 || rep.Tasks[0].ID != holder.ID() || rep.Tasks[0].Goroutine == 0 {
					t.Fatalf("report tasks = %+v, want the holder task %d with its goroutine", rep.Tasks, holder.ID())
				}
				for _, want := range []string{
					fmt.Sprintf(`held by task %d "nightly-close" (goroutine %d)`, holder.ID(), rep.Tasks[0].Goroutine),
					fmt.Sprintf("goroutine %d is now at:", rep.Tasks[0].Goroutine),
					"tracekit.holdAlone\n",
				} {
					if !strings.Contains(text, want) {
						t.Errorf("report lacks %q:\n%s", want, text)
					}
				}
				if strings.Contains(text, "where it was acquired was not recorded") {
					t.Errorf("says where it was acquired was not recorded:\n%s", text)
				}
				// With lock-order detection the holder's uncontended
				// acquisition is placed (its site, not a stack); without
				// it, where is not known and not mentioned.
				if got := strings.Contains(text, "holder acquired \"ledger\" here:\ngithub.com/tracekit-go/tracekit/tracekit.holdAlone\n"); got != (tc.order && goid.Fast) {
					t.Errorf("names holdAlone as where the holder acquired the lock: %v, want %v:\n%s", got, tc.order, text)
				}
			})
		})
	}
}

// lockThenUnlock takes l with LockContext in a new goroutine, unlocks it at
// once, and sends LockContext's error.
func lockThenUnlock(t *testing.T, l interface {
	LockContext(context.Context) error
	Unlock()
}) <-chan error {
	done := make(chan error, 1)
	go func() {
		err := l.LockContext(cancelable(t))
		if err == nil {
			l.Unlock()
		}
		done <- err
	}()
	return done
}

func holdAlone(m *Mutex, held, release chan struct{}) {
	m.Lock()
	close(held)
	<-release
	m.Unlock()
}

func holdUntil(outer, m *Mutex, held, release chan struct{}) {
	outer.Lock()
	m.Lock()
	close(held)
	<-release
	m.Unlock()
	outer.Unlock()
}

// On a busy machine the coarse clock's refresh can lag by far more than a
// tick, at the acquisition and at the release. A recorded hold still ends
// at the release and never begins before its task, and its span, its
// tracekit.hold.ns and its long-hold report agree.
func TestHoldWithALaggingClock(t *testing.T) {
	if !goid.Fast {
		t.Skip("tasks do not register their goroutine on this platform")
	}
	rec := newRecorder(t)
	synctest.Test(t, func(t *testing.T) {
		d, r := testDetector(detect.Config{Slow: 10 * time.Millisecond, LongHold: 50 * time.Millisecond}, nil)
		defer d.Close()
		m := pinned(d, "cache")
		ctx, root := rec.root(context.Background())
		time.Sleep(time.Second)
		task := Go(ctx, "refresh", func(context.Context) error {
			// In a bubble nothing else runs until this goroutine blocks:
			// the clock stays as stale as it is set here.
			d.SetCoarse(d.Now() - int64(100*time.Millisecond))
			m.Lock()
			time.Sleep(60 * time.Millisecond)
			d.SetCoarse(d.Now() - int64(30*time.Millisecond))
			m.Unlock()
			return nil
		})
		if err := task.Wait(); err != nil {
			t.Fatal(err)
		}
		root.End()
		s, parent := rec.span("lock.hold cache"), rec.span("refresh")
		hold, _ := kittest.Attr(s, keyHoldNS)
		span := s.EndTime().Sub(s.StartTime())
		if s.StartTime().Before(parent.StartTime()) || time.Duration(hold.AsInt64()) != span || span != 60*time.Millisecond {
			t.Errorf("hold span [%v, %v] lasts %v with tracekit.hold.ns %v; task from %v; want 60ms from the task's start",
				s.StartTime(), s.EndTime(), span, time.Duration(hold.AsInt64()), parent.StartTime())
		}
		if reps := r.All(); len(reps) != 1 || reps[0].Kind != inspect.KindLongHold || reps[0].Duration != span {
			t.Errorf("reports %v, want one long hold of %v", reps, span)
		}
	})
}

// A plain Lock blocks in sync.Mutex, which a synctest bubble cannot see
// through, so this one runs on the real clock.
func TestHangReportPlainLock(t *testing.T) {
	d, r := testDetector(detect.Config{Hang: 20 * time.Millisecond}, nil)
	defer d.Close()
	m := pinned(d, "")
	m.Lock()
	done := make(chan struct{})
	go func() {
		m.Lock()
		m.Unlock()
		close(done)
	}()
	testwait.For(time.Minute, func() bool { return len(r.All()) > 0 })
	m.Unlock()
	<-done
	reps := r.All()
	if len(reps) != 1 || reps[0].Kind != inspect.KindHang {
		t.Fatalf("reports = %v", reps)
	}
	// An unnamed lock is named after the function that waited on it.
	if !strings.Contains(reps[0].Lock, "TestHangReportPlainLock.func1") {
		t.Errorf("unnamed lock reported as %q", reps[0].Lock)
	}
}

// A plain Lock that waits inside a task attaches its span to the task's.
func TestPlainLockAttachesToTask(t *testing.T) {
	if !goid.Fast {
		t.Skip("tasks do not register their goroutine on this platform")
	}
	rec := newRecorder(t)
	d, _ := testDetector(detect.Config{Slow: time.Millisecond}, nil)
	defer d.Close()
	m := pinned(d, "pool")
	ctx, root := rec.root(context.Background())
	m.Lock()
	task := Go(ctx, "borrow", func(context.Context) error {
		m.Lock()
		m.Unlock()
		return nil
	})
	// Released once the task has waited past the slow threshold.
	if !testwait.For(time.Minute, func() bool {
		ti, ok := taskByID(inspect.Tasks(), task.ID())
		return ok && ti.WaitingOn == `lock "pool"` && time.Since(ti.WaitingSince) > 2*time.Millisecond
	}) {
		t.Fatal("the task never waited on the lock")
	}
	m.Unlock()
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	root.End()
	if s := rec.span("lock.wait pool"); s.Parent().SpanID() != task.SpanContext().SpanID() {
		t.Error("lock.wait span is not a child of the task span")
	}
}

// Metrics: every contended wait, a 1-in-SampleEvery sample of holds,
// acquisitions.
func TestLockMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	d, _ := testDetector(detect.Config{}, reader)
	defer d.Close()
	m := pinned(d, "counters")
	const acquisitions = 2 * detect.SampleEvery
	for range acquisitions {
		m.Lock()
		m.Unlock()
	}
	if n := kittest.HistCount(t, reader, "tracekit.lock.hold", "tracekit.lock.name", "counters"); n != 2 {
		t.Errorf("hold samples = %d, want 2", n)
	}
	if n := kittest.SumCounter(t, reader, "tracekit.lock.acquisitions"); n != acquisitions {
		t.Errorf("acquisitions = %d, want %d", n, acquisitions)
	}
}

func TestRWMutex(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, r := testDetector(detect.Config{Slow: 10 * time.Millisecond, Order: true}, nil)
		defer d.Close()
		rw := &RWMutex{}
		rw.l.Det = d
		rw.SetName("config")
		rl := rw.RLocker()
		rl.Lock()
		if !rw.TryRLock() {
			t.Error("TryRLock failed beside a reader")
		}
		if rw.TryLock() {
			t.Error("TryLock succeeded beside readers")
		}
		rw.RUnlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		writer := make(chan error)
		go func() {
			err := rw.LockContext(cancelable(t))
			if err == nil {
				rw.Unlock()
			}
			writer <- err
		}()
		time.Sleep(time.Second)
		rl.Unlock()
		if err := <-writer; err != nil {
			t.Fatal(err)
		}
		if err := rw.RLockContext(ctx); err != nil {
			t.Fatal(err)
		}
		rw.RUnlock()
		if got := r.All(); len(got) != 0 {
			t.Errorf("reports: %v", got)
		}
		if _, g := d.OrderSize(); g != 0 {
			t.Errorf("%d goroutines still listed as holding locks", g)
		}
	})
}

// cancelable returns a context that has a Done channel, so that LockContext
// waits in its channel loop, which a synctest bubble sees as durably
// blocked (a wait without one blocks in sync.Mutex, which it does not).
func cancelable(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// With the flight recorder on, a hang report names a runtime/trace file
// holding the last seconds of execution.
func TestHangFlightRecorder(t *testing.T) {
	dir := t.TempDir()
	d, r := testDetector(detect.Config{Hang: 20 * time.Millisecond, Flight: flight.Config{Dir: dir}}, nil)
	defer d.Close()
	if !d.Recording() {
		t.Skip("flight recorder unavailable (another one runs in this process)")
	}
	m := pinned(d, "slow")
	m.Lock()
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Scale(time.Minute))
	defer cancel()
	done := make(chan error)
	go func() {
		err := m.LockContext(ctx)
		if err == nil {
			m.Unlock()
		}
		done <- err
	}()
	for len(r.All()) == 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	m.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	reps := r.All()
	if len(reps) != 1 || reps[0].TraceFile == "" || filepath.Dir(reps[0].TraceFile) != dir {
		t.Fatalf("reports = %+v, want one naming a trace file in %s", reps, dir)
	}
	d.Close() // the file is written in the background; Close waits for it
	fi, err := os.Stat(reps[0].TraceFile)
	if err != nil || fi.Size() == 0 {
		t.Fatalf("trace file: %v, %v", fi, err)
	}
	if !strings.Contains(reps[0].String(), "execution trace: "+reps[0].TraceFile) {
		t.Errorf("report text does not name the file:\n%s", reps[0])
	}
}

// The coarse clock stops ticking once no lock has read it for a second, and
// the next lock wakes it with the exact time, so a hold that spans the idle
// time is still measured whole.
func TestCoarseClockSleepsWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, r := testDetector(detect.Config{Slow: 10 * time.Millisecond, LongHold: time.Second}, nil)
		defer d.Close()
		m := pinned(d, "cache")

		time.Sleep(detect.ClockIdleAfter + 10*d.Tick())
		synctest.Wait()
		if !d.ClockIdle() {
			t.Fatalf("after %v unused the clock is not idle", detect.ClockIdleAfter)
		}
		before := d.Coarse()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if after := d.Coarse(); after != before {
			t.Fatalf("the idle clock ticked: %d then %d", before, after)
		}

		// Taken while the clock sleeps and held while it falls asleep again.
		m.Lock()
		if got, want := d.Coarse(), d.Now(); got != want {
			t.Errorf("a lock woke the clock at %d, want the exact time %d", got, want)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if !d.ClockIdle() {
			t.Errorf("the clock is not idle during a long hold with no other lock")
		}
		m.Unlock()
		reps := r.All()
		if len(reps) != 1 || reps[0].Kind != inspect.KindLongHold {
			t.Fatalf("reports = %v, want one long hold", reps)
		}
		if got := reps[0].Duration; got != 3*time.Second {
			t.Errorf("hold across an idle clock = %v, want 3s", got)
		}

		// Awake again, it ticks while locks use it.
		for range 10 {
			m.Lock()
			time.Sleep(d.Tick())
			m.Unlock()
		}
		if d.ClockIdle() {
			t.Error("the clock sleeps while locks use it")
		}
	})
}

// A lock records the goroutine ID of its write holder: reports name the
// tracked task running on that goroutine, or else the goroutine, which a
// hang report's dump shows to be alive (untracked) or gone (it exited
// holding the lock). Reused runtime descriptors do not confuse it: IDs are
// never reused.
func TestLockHolders(t *testing.T) {
	if !goid.Fast || !goid.FastID() {
		t.Skip("goroutine IDs cannot be read cheaply on this platform")
	}
	d, _ := testDetector(detect.Config{}, nil)
	defer d.Close()
	m := pinned(d, "orders")
	if h := m.l.Holders(); len(h.Tasks)+h.Untracked+len(h.Goroutines) != 0 {
		t.Errorf("a free lock has holders %+v", h)
	}

	// Held inside a task: the task.
	release := make(chan struct{})
	task := holdInTask("holder", m, release)
	if h := m.l.Holders(); len(h.Tasks) != 1 || h.Tasks[0] != &task.rec || len(h.Goroutines) != 0 {
		t.Errorf("held by a task: holders %+v, want the task", h)
	}
	close(release)
	_ = task.Wait()
	if h := m.l.Holders(); len(h.Tasks)+len(h.Goroutines) != 0 {
		t.Errorf("released: holders %+v", h)
	}

	// Held by a plain goroutine that then exits without unlocking; a task
	// started afterwards may run on its descriptor, and is not blamed.
	gid := make(chan uint64)
	go func() {
		m.Lock()
		gid <- goid.ID()
	}()
	id := <-gid
	if !testwait.For(time.Minute, func() bool {
		gs, err := gostack.Parse(detect.AllGoroutines())
		return err == nil && !slices.ContainsFunc(gs, func(g gostack.Goroutine) bool { return g.ID == id })
	}) {
		t.Fatalf("goroutine %d never exited", id)
	}
	ctx, cancel := context.WithCancel(context.Background())
	later := Go(ctx, "later", func(ctx context.Context) error { <-ctx.Done(); return nil })
	defer func() { cancel(); _ = later.Wait() }()
	h := m.l.Holders()
	if len(h.Tasks) != 0 || !slices.Equal(h.Goroutines, []uint64{id}) {
		t.Errorf("held by an exited goroutine: holders %+v, want goroutine %d only", h, id)
	}
	gs, err := gostack.Parse(detect.AllGoroutines())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Text(nil, gs), fmt.Sprintf("held by goroutine %d, which has exited without unlocking it", id); got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	// Alive, it is named with where it is in its own code: the first frame
	// outside the runtime, the standard library and tracekit's locks.
	self := []gostack.Goroutine{{ID: id, Frames: []gostack.Frame{
		{Func: "runtime.gopark", File: "/go/src/runtime/proc.go", Line: 460},
		{Func: "sync.(*Mutex).Lock", File: "/go/src/sync/mutex.go", Line: 90},
		{Func: "github.com/tracekit-go/tracekit/tracekit.(*Mutex).Lock", File: "/src/tracekit/mutex.go", Line: 40},
		{Func: "time.Sleep", File: "/go/src/runtime/time.go", Line: 300},
		{Func: "example.com/shop.(*Cache).refresh", File: "/src/shop/cache.go", Line: 52},
	}}}
	if got, want := h.Text(nil, self), fmt.Sprintf("held by goroutine %d, which is not a tracked task, now in example.com/shop.(*Cache).refresh (shop/cache.go:52)", id); got != want {
		t.Errorf("with the goroutine alive, text = %q, want %q", got, want)
	}
	if got, want := h.Text(nil, nil), fmt.Sprintf("held by goroutine %d, which is not a tracked task", id); got != want {
		t.Errorf("with no dump, text = %q, want %q", got, want)
	}
	m.Unlock()
}

// A writer stuck behind readers: the report says why no holder is named.
func TestHangReportReadersHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, r := testDetector(detect.Config{Hang: 30 * time.Second}, nil)
		defer d.Close()
		m := &RWMutex{}
		m.l.Det = d
		m.SetName("settings")
		m.RLock()
		done := lockThenUnlock(t, m)
		time.Sleep(45 * time.Second)
		m.RUnlock()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		reps := r.All()
		if len(reps) != 1 || reps[0].Kind != inspect.KindHang {
			t.Fatalf("reports = %v, want one lock timeout", reps)
		}
		if !strings.Contains(reps[0].Message, "no holder recorded (readers of an RWMutex") {
			t.Errorf("message: %s", reps[0].Message)
		}
	})
}
