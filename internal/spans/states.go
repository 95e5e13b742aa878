package spans

import (
	"cmp"
	"slices"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// rtState is what an [Aggregator] keeps of the execution trace's view of
// its frames, with [WithRuntime].
type rtState struct {
	states map[flame.NodeID]*StateTimes
	self   map[flame.NodeID]map[string]*selfLabel
	waits  map[flame.NodeID]map[string]*waitSum
	labels map[SpanID]string      // every span's frame name, for unblockers
	made   map[flame.NodeID]State // the state frames NestStates added
	nested bool
	buf    []Stretch
	ivs    [][2]int64
}

type selfLabel struct {
	state State
	ns    int64
}

type waitSum struct {
	ns int64
	by map[SpanID]int64
}

// runtime records what the execution trace saw of span i of t, entered at
// frame n.
func (a *Aggregator) runtime(n flame.NodeID, t *Trace, i int32) {
	rs := &a.rs
	sp := &t.Spans[i]
	if rs.labels == nil {
		rs.labels = map[SpanID]string{}
		rs.states = map[flame.NodeID]*StateTimes{}
		rs.self = map[flame.NodeID]map[string]*selfLabel{}
		rs.waits = map[flame.NodeID]map[string]*waitSum{}
	}
	if !sp.ID.IsZero() {
		rs.labels[sp.ID] = a.lab.label(sp)
	}
	r := a.cfg.rt.Of(sp.ID)
	if r == nil {
		return
	}
	st := r.States()
	if rs.states[n] == nil {
		rs.states[n] = &StateTimes{}
	}
	rs.states[n].Add(&st)
	for _, s := range r.Stretches {
		if s.State == StateRunning {
			continue
		}
		m := rs.waits[n]
		if m == nil {
			m = map[string]*waitSum{}
			rs.waits[n] = m
		}
		w := m[s.Label]
		if w == nil {
			w = &waitSum{}
			m[s.Label] = w
		}
		d := s.End - s.Start
		w.ns = satAdd(w.ns, d)
		if !s.BySpan.IsZero() {
			if w.by == nil {
				w.by = map[SpanID]int64{}
			}
			w.by[s.BySpan] += d
		}
	}
	rs.buf, rs.ivs = selfStretches(t, i, r, rs.buf[:0], rs.ivs)
	m := rs.self[n]
	if m == nil {
		m = map[string]*selfLabel{}
		rs.self[n] = m
	}
	for _, s := range rs.buf {
		l := m[s.Label]
		if l == nil {
			l = &selfLabel{state: s.State}
			m[s.Label] = l
		}
		l.ns = satAdd(l.ns, s.End-s.Start)
	}
}

// States returns the time the spans of frame n spent in each state on
// their goroutines, summed over the whole of each span, and whether the
// execution trace saw any of them ([WithRuntime]).
func (a *Aggregator) States(n flame.NodeID) (StateTimes, bool) {
	if st := a.rs.states[n]; st != nil {
		return *st, true
	}
	return StateTimes{}, false
}

// Wait is one thing the spans of a frame waited on, for [Aggregator.Waits]:
// a state other than running, by label.
type Wait struct {
	Label string // as a state frame names it: "lock: orders", "chan recv: jobs", "runnable", "sleep"
	Total int64  // nanoseconds
	// By is the frame name of the spans that most often ended the wait
	// (the unlock, the send), "" when no marked span did; ByTotal is how
	// much of Total they ended.
	By      string
	ByTotal int64
}

// Waits returns what the spans of frame n waited on, longest first, ties
// by label.
func (a *Aggregator) Waits(n flame.NodeID) []Wait {
	var out []Wait
	for label, w := range a.rs.waits[n] {
		x := Wait{Label: label, Total: w.ns}
		byName := map[string]int64{}
		for id, d := range w.by {
			name, ok := a.rs.labels[id]
			if !ok {
				name = "span " + id.String()
			}
			byName[name] += d
		}
		for name, d := range byName {
			if d > x.ByTotal || d == x.ByTotal && name < x.By {
				x.By, x.ByTotal = name, d
			}
		}
		out = append(out, x)
	}
	slices.SortFunc(out, func(x, y Wait) int {
		if c := cmp.Compare(y.Total, x.Total); c != 0 {
			return c
		}
		return cmp.Compare(x.Label, y.Label)
	})
	return out
}

// StateFrame reports whether frame n is a state frame that
// [Aggregator.NestStates] added, and its state.
func (a *Aggregator) StateFrame(n flame.NodeID) (State, bool) {
	s, ok := a.rs.made[n]
	return s, ok
}

// NestStates adds, under each span frame whose spans the execution trace
// saw ([WithRuntime]), a child frame per state other than running that the
// spans' goroutines were in during the spans' self time: "(runnable)",
// "(syscall)", "(lock: orders)", "(chan recv: jobs)", "(sleep)", "(gc)",
// as [flame.KindOffCPU] frames. They share the frame's self time in
// proportion to the states' times; what is left is the running part. Call
// it once every trace has been added; the second call does nothing.
func (a *Aggregator) NestStates() {
	rs := &a.rs
	if a.cfg.rt == nil || rs.nested {
		return
	}
	rs.nested = true
	rs.made = map[flame.NodeID]State{}
	t := a.tree
	frames := make([]flame.NodeID, 0, len(rs.self))
	for n := range rs.self {
		frames = append(frames, n)
	}
	slices.Sort(frames)
	var labels []string
	var f []float64
	var out []int64
	var order []int32
	for _, n := range frames {
		m := rs.self[n]
		labels = labels[:0]
		for l, s := range m {
			if s.state != StateRunning && s.ns > 0 {
				labels = append(labels, l)
			}
		}
		if len(labels) == 0 {
			continue
		}
		slices.Sort(labels)
		f = f[:0]
		var running int64
		for _, s := range m {
			if s.state == StateRunning {
				running = satAdd(running, s.ns)
			}
		}
		f = append(f, float64(running))
		for _, l := range labels {
			f = append(f, float64(m[l].ns))
		}
		out, order = apportion(t.Self(n), f, out, order)
		for k, l := range labels {
			if v := out[k+1]; v > 0 {
				c := t.Descend(n, "("+l+")", flame.KindOffCPU, v)
				rs.made[c] = m[l].state
			}
		}
	}
	a.grow()
}
