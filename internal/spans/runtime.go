package spans

import (
	"cmp"
	"slices"
)

// State is what a span's goroutine was doing, as the Go execution tracer
// saw it.
type State uint8

// States, in the order reports list them.
const (
	StateRunning  State = iota // on a P, running Go code
	StateRunnable              // ready, waiting for a P (scheduler latency)
	StateSyscall               // in a system call
	StateLock                  // blocked on a sync lock, sync.Cond or sync.WaitGroup
	StateChannel               // blocked sending, receiving or in a select
	StateSleep                 // time.Sleep
	StateGC                    // GC assist, waiting for GC, stopped by the world stopping
	StateOther                 // anything else: network, unknown, outside the trace
	NumStates
)

var stateNames = [NumStates]string{"running", "runnable", "syscall", "lock", "channel", "sleep", "gc", "other"}

// String returns the state's name as reports print it ("running", ...).
func (s State) String() string {
	if s < NumStates {
		return stateNames[s]
	}
	return "other"
}

// ParseState returns the state named s.
func ParseState(s string) (State, bool) {
	for i, n := range stateNames {
		if n == s {
			return State(i), true
		}
	}
	return StateOther, false
}

// StateTimes holds nanoseconds per state.
type StateTimes [NumStates]int64

// Total returns the sum over every state.
func (st *StateTimes) Total() int64 {
	var t int64
	for _, v := range st {
		t += v
	}
	return t
}

// Add adds o to st.
func (st *StateTimes) Add(o *StateTimes) {
	for i, v := range o {
		st[i] = satAdd(st[i], v)
	}
}

// Dominant returns the state with the most time, the first in order on a
// tie.
func (st *StateTimes) Dominant() State {
	best := StateRunning
	for i, v := range st {
		if v > st[best] {
			best = State(i)
		}
	}
	return best
}

// Stretch is a stretch of time a span's goroutine spent in one state, in
// the span's time base (Unix nanoseconds for spans of a span file).
type Stretch struct {
	Start, End int64
	State      State
	// Label names the stretch as a frame does without its parentheses:
	// the state ("runnable", "syscall"), and for a lock or channel wait
	// what was waited on ("lock: orders", "chan recv: jobs", "select:
	// main.loop"): a tracekit lock's or channel's name when a wait span
	// covers the stretch, else the function that blocked.
	Label string
	// ByGoroutine is the goroutine whose action ended a blocked stretch
	// (the unlock, the send), 0 when unknown; BySpan is the marked span it
	// was running in then, zero when none.
	ByGoroutine int64
	BySpan      SpanID
}

// SpanRuntime is what the execution tracer saw of one span: its goroutine
// and that goroutine's states over the span's interval.
type SpanRuntime struct {
	Goroutine int64
	// Stretches are in time order, within the span's interval; together
	// they are the part of the span the trace covered.
	Stretches []Stretch
}

// States sums the stretches per state.
func (r *SpanRuntime) States() StateTimes {
	var st StateTimes
	for _, s := range r.Stretches {
		st[s.State] += s.End - s.Start
	}
	return st
}

// Runtime maps span IDs to what the execution tracer saw of them; see
// package exectrace, which builds it. A nil Runtime knows no span.
type Runtime map[SpanID]*SpanRuntime

// Of returns what is known of the span with the given id, or nil.
func (r Runtime) Of(id SpanID) *SpanRuntime {
	if r == nil || id.IsZero() {
		return nil
	}
	return r[id]
}

// selfStretches appends to dst the parts of span i's stretches that none of
// its children covers (its self time), by label, and returns dst. spans is
// scratch.
func selfStretches(t *Trace, i int32, r *SpanRuntime, dst []Stretch, spans [][2]int64) ([]Stretch, [][2]int64) {
	spans = spans[:0]
	for _, c := range t.Children(i) {
		if t.Spans[c].Start < t.OwnEnd(c) {
			spans = append(spans, [2]int64{t.Spans[c].Start, t.OwnEnd(c)})
		}
	}
	slices.SortFunc(spans, func(x, y [2]int64) int { return cmp.Compare(x[0], y[0]) })
	// Merge the children's intervals, then walk the stretches past them.
	m := spans[:0]
	for _, iv := range spans {
		if n := len(m); n > 0 && iv[0] <= m[n-1][1] {
			m[n-1][1] = max(m[n-1][1], iv[1])
			continue
		}
		m = append(m, iv)
	}
	k := 0
	for _, s := range r.Stretches {
		cur := s.Start
		for k < len(m) && m[k][1] <= cur {
			k++
		}
		for j := k; j < len(m) && m[j][0] < s.End && cur < s.End; j++ {
			if m[j][0] > cur {
				part := s
				part.Start, part.End = cur, m[j][0]
				dst = append(dst, part)
			}
			cur = max(cur, m[j][1])
		}
		if cur < s.End {
			part := s
			part.Start = cur
			dst = append(dst, part)
		}
	}
	return dst, m
}
