//go:build !tracekit_nosync

package tracekit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/gostack"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// The seed scenarios and the correct programs that must stay silent.
func TestLockOrder(t *testing.T) {
	tests := []struct {
		name string
		run  func(d *detect.Detector)
		want []inspect.Kind
	}{
		{
			// Two goroutines take two mutexes in opposite orders. They run
			// one after the other, so the program never deadlocks, but it
			// could: that is what is reported, once.
			name: "opposite order",
			run: func(d *detect.Detector) {
				a, b := pinned(d, "accounts"), pinned(d, "ledger")
				for range 2 {
					inGoroutine(func() { lockBoth(a, b) })
					inGoroutine(func() { lockBoth(b, a) })
				}
			},
			want: []inspect.Kind{inspect.KindLockOrder},
		},
		{
			// Three locks, three paths, each pair in a consistent order,
			// together a cycle: A then B, B then C, C then A.
			name: "three-lock cycle",
			run: func(d *detect.Detector) {
				a, b, c := pinned(d, "a"), pinned(d, "b"), pinned(d, "c")
				inGoroutine(func() { lockBoth(a, b) })
				inGoroutine(func() { lockBoth(b, c) })
				inGoroutine(func() { lockBoth(c, a) })
				inGoroutine(func() { lockBoth(c, a) })
			},
			want: []inspect.Kind{inspect.KindLockOrder},
		},
		{
			name: "consistent nesting",
			run: func(d *detect.Detector) {
				a, b, c := pinned(d, "a"), pinned(d, "b"), pinned(d, "c")
				var wg sync.WaitGroup
				for range 8 {
					wg.Go(func() {
						for range 50 {
							a.Lock()
							b.Lock()
							c.Lock()
							c.Unlock()
							b.Unlock()
							a.Unlock()
							b.Lock()
							c.Lock()
							c.Unlock()
							b.Unlock()
						}
					})
				}
				wg.Wait()
			},
		},
		{
			// Message passing instead of nested locks: each goroutine holds
			// one lock at a time.
			name: "message passing",
			run: func(d *detect.Detector) {
				a, b := pinned(d, "producer"), pinned(d, "consumer")
				ch := make(chan int)
				done := make(chan struct{})
				go func() {
					defer close(done)
					for v := range ch {
						b.Lock()
						_ = v
						b.Unlock()
					}
				}()
				for i := range 20 {
					a.Lock()
					v := i
					a.Unlock()
					ch <- v
				}
				close(ch)
				<-done
			},
		},
		{
			// Try-lock with retry: the second lock is only tried, and on
			// failure the first is released; such code cannot deadlock.
			name: "try-lock with retry",
			run: func(d *detect.Detector) {
				a, b := pinned(d, "left"), pinned(d, "right")
				var wg sync.WaitGroup
				for i := range 4 {
					first, second := a, b
					if i%2 == 1 {
						first, second = b, a
					}
					wg.Go(func() {
						for range 50 {
							for {
								first.Lock()
								if second.TryLock() {
									break
								}
								first.Unlock()
							}
							second.Unlock()
							first.Unlock()
						}
					})
				}
				wg.Wait()
			},
		},
		{
			// A lock handed from one goroutine to another, which unlocks
			// it: the first goroutine no longer holds it.
			name: "handoff",
			run: func(d *detect.Detector) {
				a, b := pinned(d, "conn"), pinned(d, "pool")
				a.Lock()
				handed := make(chan struct{})
				go func() { a.Unlock(); close(handed) }()
				<-handed
				b.Lock()
				a.Lock()
				a.Unlock()
				b.Unlock()
			},
		},
		{
			// Many locks of one type taken two at a time in a global order:
			// identity is per instance, so there is no inversion.
			name: "many locks of one type",
			run: func(d *detect.Detector) {
				accounts := make([]*Mutex, 20)
				for i := range accounts {
					accounts[i] = pinned(d, fmt.Sprintf("account-%d", i))
				}
				var wg sync.WaitGroup
				for g := range 4 {
					wg.Go(func() {
						for i := range 100 {
							x, y := (g*7+i)%20, (g*3+i*5+1)%20
							if x == y {
								continue
							}
							lockBoth(accounts[min(x, y)], accounts[max(x, y)])
						}
					})
				}
				wg.Wait()
			},
		},
		{
			// Locks freed and reallocated, taken in alternating orders: new
			// memory at an old address is a new lock.
			name: "freed and reallocated",
			run: func(d *detect.Detector) {
				for i := range 500 {
					x, y := pinned(d, ""), pinned(d, "")
					if i%2 == 0 {
						lockBoth(x, y)
					} else {
						lockBoth(y, x)
					}
				}
			},
		},
		{
			name: "recursive lock",
			run: func(d *detect.Detector) {
				m := pinned(d, "session")
				m.Lock()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
				defer cancel()
				if err := m.LockContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
					panic(err)
				}
				m.Unlock()
			},
			want: []inspect.Kind{inspect.KindRecursiveLock},
		},
		{
			name: "read lock upgraded",
			run: func(d *detect.Detector) {
				rw := &RWMutex{}
				rw.l.Det = d
				rw.SetName("index")
				rw.RLock()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
				defer cancel()
				if err := rw.LockContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
					panic(err)
				}
				rw.RUnlock()
			},
			want: []inspect.Kind{inspect.KindRecursiveLock},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, r := testDetector(detect.Config{Order: true}, nil)
			defer d.Close()
			tt.run(d)
			if got := r.Kinds(); !slices.Equal(got, tt.want) {
				t.Errorf("reports = %v, want %v\n%v", got, tt.want, r.All())
			}
			if _, g := d.OrderSize(); g != 0 {
				t.Errorf("%d goroutines still listed as holding locks", g)
			}
		})
	}
}

func inGoroutine(f func()) {
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	<-done
}

func lockBoth(a, b *Mutex) {
	a.Lock() // both:first
	b.Lock() // both:second
	b.Unlock()
	a.Unlock()
}

// lineOf returns the line of this file marked "// marker".
func lineOf(t *testing.T, marker string) int { return lineIn(t, "detect_order_test.go", marker) }

// The inversion report places all four acquisitions, the two of each path
// (the first of each taken without waiting and alone, so known only by its
// site), in its message and its stacks; it is an event on the span in ctx,
// and is logged with the places.
func TestLockOrderReport(t *testing.T) {
	rec := newRecorder(t)
	d, r := testDetector(detect.Config{Order: true}, nil)
	defer d.Close()
	a, b := pinned(d, "accounts"), pinned(d, "ledger")
	lockBoth(a, b)
	ctx, root := rec.root(context.Background())
	b.Lock()                                   // order:first
	if err := a.LockContext(ctx); err != nil { // order:second
		t.Fatal(err)
	}
	a.Unlock()
	b.Unlock()
	root.End()

	reps := r.All()
	if len(reps) != 1 {
		t.Fatalf("reports = %v", reps)
	}
	rep := reps[0]
	if rep.Lock != "accounts" || rep.Other != "ledger" {
		t.Errorf("report = %+v", rep)
	}
	at := func(marker string) string { return fmt.Sprintf("tracekit/detect_order_test.go:%d", lineOf(t, marker)) }
	wantMsg := fmt.Sprintf(`lock order inversion: "ledger" (%s) then "accounts" (%s) here, "accounts" (%s) then "ledger" (%s) earlier; `+
		`two goroutines taking these paths at once deadlock`, at("order:first"), at("order:second"), at("both:first"), at("both:second"))
	if rep.Message != wantMsg {
		t.Errorf("message = %q\nwant      %q", rep.Message, wantMsg)
	}
	want := []struct{ label, fn, marker string }{
		{`earlier: "accounts" acquired here`, "tracekit.lockBoth", "both:first"},
		{`earlier: "ledger" acquired here while "accounts" was held`, "tracekit.lockBoth", "both:second"},
		{`now: "ledger" acquired here`, "tracekit.TestLockOrderReport", "order:first"},
		{`now: "accounts" requested here while "ledger" is held`, "tracekit.TestLockOrderReport", "order:second"},
	}
	if len(rep.Stacks) != len(want) {
		t.Fatalf("%d stacks, want %d:\n%s", len(rep.Stacks), len(want), rep)
	}
	for i, w := range want {
		s := rep.Stacks[i]
		f := s.Frames()
		if s.Label != w.label || len(f) == 0 || !strings.HasSuffix(f[0].Function, w.fn) || f[0].Line != lineOf(t, w.marker) {
			t.Errorf("stack %d = %s, want %q starting in %s at the line marked %s", i, s, w.label, w.fn, w.marker)
		}
	}
	if rep.SpanContext.SpanID() != root.SpanContext().SpanID() {
		t.Error("report does not name ctx's span")
	}
	if ev := rec.span("root").Events(); len(ev) != 1 || kittest.EventAttr(ev[0], keyReportKind) != "lock-order" {
		t.Errorf("root events = %v", ev)
	}
	log := r.Logged()
	if !strings.Contains(log, strconv.Quote("tracekit: "+wantMsg)) {
		t.Errorf("log record lacks the message with its places: %q", log)
	}
	// The console shows, and serves as JSON, the reports the detector keeps.
	if kept, _ := d.Recent(); len(kept) != 1 || kept[0].Message != wantMsg {
		t.Errorf("kept for the console: %+v", kept)
	}
	if !strings.Contains(log, "kind=lock-order") ||
		!strings.Contains(log, "trace_id="+root.SpanContext().TraceID().String()) ||
		!strings.Contains(log, "span_id="+root.SpanContext().SpanID().String()) {
		t.Errorf("log record does not carry the report and its span: %q", log)
	}
}

// The graph stays within its bound on a long-running process that keeps
// making new locks.
func TestLockOrderBounded(t *testing.T) {
	d, r := testDetector(detect.Config{Order: true, MaxEdges: 64}, nil)
	defer d.Close()
	for range 1000 {
		lockBoth(pinned(d, ""), pinned(d, ""))
	}
	if e, g := d.OrderSize(); e > 64 || g != 0 {
		t.Errorf("graph has %d edges (bound 64) and %d goroutines", e, g)
	}
	if len(r.All()) != 0 {
		t.Errorf("reports = %v", r.All())
	}
	// Detection still works after resets.
	a, b := pinned(d, "a"), pinned(d, "b")
	lockBoth(a, b)
	lockBoth(b, a)
	if got := r.Kinds(); !slices.Equal(got, []inspect.Kind{inspect.KindLockOrder}) {
		t.Errorf("after resets: reports = %v", got)
	}
}

func TestLockOrderCycleReport(t *testing.T) {
	d, r := testDetector(detect.Config{Order: true}, nil)
	defer d.Close()
	a, b, c := pinned(d, "a"), pinned(d, "b"), pinned(d, "c")
	lockBoth(a, b)
	lockBoth(b, c)
	lockBoth(c, a)
	reps := r.All()
	if len(reps) != 1 {
		t.Fatalf("reports = %v", reps)
	}
	first, second := fmt.Sprintf("tracekit/detect_order_test.go:%d", lineOf(t, "both:first")), fmt.Sprintf("tracekit/detect_order_test.go:%d", lineOf(t, "both:second"))
	want := fmt.Sprintf(`lock order cycle: "c" then "a" then "b" then "c": "c" (%[1]s) then "a" (%[2]s) here, `+
		`"a" (%[1]s) then "b" (%[2]s) earlier, "b" (%[1]s) then "c" (%[2]s) earlier; goroutines taking these paths at once deadlock`, first, second)
	if reps[0].Message != want {
		t.Errorf("message = %q\nwant      %q", reps[0].Message, want)
	}
	// Both acquisitions of each edge, all in lockBoth.
	if len(reps[0].Stacks) != 6 {
		t.Errorf("%d stacks, want two per edge:\n%s", len(reps[0].Stacks), reps[0])
	}
	for _, s := range reps[0].Stacks {
		if f := s.Frames(); len(f) == 0 || !strings.HasSuffix(f[0].Function, "tracekit.lockBoth") {
			t.Errorf("stack %s does not start in lockBoth", s)
		}
	}
}

// A goroutine that exited holding a lock is named, by its ID, as having
// exited, by the lock-order graph's held lists as by the lock itself: not
// as a live untracked goroutine, whether or not the runtime has given its
// descriptor to another goroutine since.
func TestOrderHoldersExitedGoroutine(t *testing.T) {
	if !goid.FastID() {
		t.Skip("goroutine IDs cannot be read cheaply on this platform")
	}
	d, _ := testDetector(detect.Config{Order: true}, nil)
	defer d.Close()
	m := pinned(d, "slot")
	gid := make(chan uint64)
	go func() {
		m.Lock() // and never unlocks
		gid <- goid.ID()
	}()
	id := <-gid
	var gs []gostack.Goroutine
	if !testwait.For(time.Minute, func() bool {
		var err error
		gs, err = gostack.Parse(detect.AllGoroutines())
		return err == nil && !slices.ContainsFunc(gs, func(g gostack.Goroutine) bool { return g.ID == id })
	}) {
		t.Fatalf("goroutine %d never exited", id)
	}
	h := d.OrderHolders(&m.l)
	if h.Untracked != 0 || len(h.Tasks) != 0 || !slices.Equal(h.Goroutines, []uint64{id}) {
		t.Errorf("holders %+v, want goroutine %d alone", h, id)
	}
	if got, want := h.Text(nil, gs), fmt.Sprintf("held by goroutine %d, which has exited without unlocking it", id); !strings.HasPrefix(got, want) {
		t.Errorf("text = %q, want it to start %q", got, want)
	}
	m.Unlock()
}
