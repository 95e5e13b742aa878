package spans

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Three spans of one trace: R, the holder H of a lock on goroutine 2 and
// the waiter W on goroutine 3, blocked on the lock from 25 until H released
// it at 60. R waits on a channel that W's goroutine closes after W ended.
func lockTrace() (*Trace, Runtime) {
	spans := []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "H", 10, 60), sp(3, 1, "W", 20, 90)}
	rt := Runtime{
		spans[0].ID: {Goroutine: 1, Stretches: []Stretch{
			{Start: 0, End: 5, State: StateRunning, Label: "running"},
			{Start: 5, End: 95, State: StateChannel, Label: "chan recv: main.run", ByGoroutine: 3},
			{Start: 95, End: 100, State: StateRunning, Label: "running"},
		}},
		spans[1].ID: {Goroutine: 2, Stretches: []Stretch{
			{Start: 10, End: 20, State: StateRunning, Label: "running"},
			{Start: 20, End: 55, State: StateSleep, Label: "sleep"},
			{Start: 55, End: 60, State: StateRunning, Label: "running"},
		}},
		spans[2].ID: {Goroutine: 3, Stretches: []Stretch{
			{Start: 20, End: 25, State: StateRunning, Label: "running"},
			{Start: 25, End: 60, State: StateLock, Label: "lock: orders", ByGoroutine: 2, BySpan: spans[1].ID},
			{Start: 60, End: 70, State: StateRunnable, Label: "runnable"},
			{Start: 70, End: 90, State: StateRunning, Label: "running"},
		}},
	}
	return Assemble(spans), rt
}

func pathString(tr *Trace, segs []Segment) string {
	var parts []string
	for _, s := range segs {
		name := "-"
		if s.Span != None {
			name = tr.Spans[s.Span].Name
		}
		parts = append(parts, fmt.Sprintf("%s[%d,%d)", name, s.Start, s.End))
	}
	return strings.Join(parts, " ")
}

// The path walks back from W's end to the end of its lock wait, crosses to
// H, which released the lock then, and goes on in H to its start.
func TestCriticalPathCrossesGoroutines(t *testing.T) {
	tr, rt := lockTrace()
	if got, want := pathString(tr, CriticalPath(tr)), "R[0,20) W[20,90) R[90,100)"; got != want {
		t.Errorf("without runtime states: %s, want %s", got, want)
	}
	if got, want := pathString(tr, CriticalPath(tr, WithRuntime(rt))), "R[0,10) H[10,60) W[60,90) R[90,100)"; got != want {
		t.Errorf("with runtime states: %s, want %s", got, want)
	}
	cp := NewCriticalPaths(WithRuntime(rt))
	if err := cp.Add(tr); err != nil {
		t.Fatal(err)
	}
	want := "total 100 self 0\nsvc: R 20\nsvc: R;svc: H 50\nsvc: R;svc: W 30"
	if got := folded(cp.Tree()); got != want {
		t.Errorf("critical paths:\n%s\nwant\n%s", got, want)
	}
}

// A wait released by a span that started after the wait ended, or by the
// waiting span itself, is not crossed; nor is a wait released by a span of
// another trace.
func TestCriticalPathCrossesOnlyRealReleases(t *testing.T) {
	tr, rt := lockTrace()
	w := rt[tr.Spans[2].ID]
	for _, by := range []SpanID{tr.Spans[2].ID, {9}, {}} {
		w.Stretches[1].BySpan = by
		if got, want := pathString(tr, CriticalPath(tr, WithRuntime(rt))), "R[0,20) W[20,90) R[90,100)"; got != want {
			t.Errorf("released by %v: %s, want %s", by, got, want)
		}
	}
	// Nor one said to be released by a span after that span ended.
	rt[tr.Spans[0].ID].Stretches[1].BySpan = tr.Spans[2].ID
	if got, want := pathString(tr, CriticalPath(tr, WithRuntime(rt))), "R[0,20) W[20,90) R[90,100)"; got != want {
		t.Errorf("released after the releasing span: %s, want %s", got, want)
	}
}

// Off-CPU states of a span's own time become its child frames, sharing its
// self time with its running part; the frame's states and waits are kept
// for reports.
func TestNestStates(t *testing.T) {
	tr, rt := lockTrace()
	agg := NewAggregator(WithRuntime(rt))
	if err := agg.Add(tr); err != nil {
		t.Fatal(err)
	}
	agg.NestStates()
	agg.NestStates() // the second call does nothing
	// Wall time: R alone [0,10) and [90,100): 20; H and W share [20,60):
	// H = 10 + 20, W = 20 + 30. R's own time is all running ([0,5) and
	// [95,100) running, [5,10) and [90,95) channel): half each. H's own
	// time is all of H: 10 running, 35 sleep, 5 running, in a self of 30:
	// (sleep) 21. W's: 5 running, 35 lock, 10 runnable, 20 running in 50:
	// (lock: orders) 25, (runnable) 7 (rounded to fill the self time).
	want := "total 100 self 0\nsvc: R 10\nsvc: R;(chan recv: main.run) 10\nsvc: R;svc: H 9\nsvc: R;svc: H;(sleep) 21\n" +
		"svc: R;svc: W 18\nsvc: R;svc: W;(lock: orders) 25\nsvc: R;svc: W;(runnable) 7"
	if got := folded(agg.Tree()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	rows := Report(agg, nil)
	byPath := map[string]Row{}
	for _, r := range rows {
		byPath[strings.Join(agg.Tree().Stack(r.Frame), ";")] = r
	}
	w := byPath["svc: R;svc: W"]
	if !w.HasStates || w.States != (StateTimes{StateRunning: 25, StateRunnable: 10, StateLock: 35}) || w.StateFrame {
		t.Errorf("W: states %v (%v), state frame %v", w.States, w.HasStates, w.StateFrame)
	}
	if len(w.Waits) != 2 || w.Waits[0] != (Wait{Label: "lock: orders", Total: 35, By: "svc: H", ByTotal: 35}) ||
		w.Waits[1] != (Wait{Label: "runnable", Total: 10}) {
		t.Errorf("W waits %+v", w.Waits)
	}
	if l := byPath["svc: R;svc: W;(lock: orders)"]; !l.StateFrame {
		t.Errorf("(lock: orders) is not marked a state frame: %+v", l)
	}
	if got := slices.Collect(func(yield func(string) bool) {
		for _, r := range rows {
			if !yield(agg.Tree().Name(r.Frame)) {
				return
			}
		}
	}); len(got) != 7 {
		t.Errorf("report rows %v, want 7", got)
	}
}

func TestStateNames(t *testing.T) {
	for s := range NumStates {
		if got, ok := ParseState(s.String()); !ok || got != s {
			t.Errorf("ParseState(%q) = %v, %v", s.String(), got, ok)
		}
	}
	if _, ok := ParseState("napping"); ok {
		t.Error("ParseState accepted an unknown state")
	}
	st := StateTimes{StateLock: 3, StateSleep: 3, StateRunning: 1}
	if st.Dominant() != StateLock || st.Total() != 7 {
		t.Errorf("Dominant %v Total %d", st.Dominant(), st.Total())
	}
}

// A frame's wait names the spans that released it most by their frame's
// name, summed over the spans of that name: requests that wait on each
// other's lock are released by many spans of one name.
func TestWaitReleasersByName(t *testing.T) {
	s := []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 0, 30), sp(3, 1, "A", 30, 60), sp(4, 1, "B", 60, 100), sp(5, 1, "W", 0, 100)}
	rt := Runtime{s[4].ID: {Goroutine: 5, Stretches: []Stretch{
		{Start: 0, End: 25, State: StateLock, Label: "lock: orders", ByGoroutine: 2, BySpan: s[1].ID},
		{Start: 30, End: 55, State: StateLock, Label: "lock: orders", ByGoroutine: 3, BySpan: s[2].ID},
		{Start: 60, End: 90, State: StateLock, Label: "lock: orders", ByGoroutine: 4, BySpan: s[3].ID},
		{Start: 90, End: 100, State: StateRunning, Label: "running"},
	}}}
	agg := NewAggregator(WithRuntime(rt))
	if err := agg.Add(Assemble(s)); err != nil {
		t.Fatal(err)
	}
	for _, r := range Report(agg, nil) {
		if strings.Join(agg.Tree().Stack(r.Frame), ";") != "svc: R;svc: W" {
			continue
		}
		if want := (Wait{Label: "lock: orders", Total: 80, By: "svc: A", ByTotal: 50}); len(r.Waits) != 1 || r.Waits[0] != want {
			t.Errorf("waits %+v, want %+v", r.Waits, want)
		}
		return
	}
	t.Fatal("no row for W")
}
