package spans

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Warnings counts what was wrong with the spans of one or more traces and
// how it was repaired. None of these stops a decode or an analysis.
type Warnings struct {
	// Orphans are spans whose parent is not in the trace (lost, sampled
	// out, or not exported yet). They are placed at the trace's top level,
	// beside the root.
	Orphans int
	// Duplicates are spans whose id was already seen in the trace; the
	// first one is kept.
	Duplicates int
	// Cycles are parent chains that loop (a span that is its own ancestor).
	// Each is broken by making the first span found on the loop a top-level
	// span.
	Cycles int
	// Skewed are spans that start before or end after their parent (clock
	// skew between hosts, or a goroutine outliving the span that started
	// it). For layout and wall-clock attribution they are clamped to their
	// parent; their own duration is kept for sum weighting and tooltips.
	Skewed int
	// Inverted are spans whose end is before their start; they are read as
	// zero-length.
	Inverted int
}

// Add adds o's counts to w.
func (w *Warnings) Add(o Warnings) {
	w.Orphans += o.Orphans
	w.Duplicates += o.Duplicates
	w.Cycles += o.Cycles
	w.Skewed += o.Skewed
	w.Inverted += o.Inverted
}

// Any reports whether any count is non-zero.
func (w Warnings) Any() bool { return w != Warnings{} }

// String lists the non-zero counts, e.g. "3 orphan spans, 1 cycle", or
// returns "" when there are none.
func (w Warnings) String() string {
	var parts []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(w.Orphans, "orphan span (parent missing)", "orphan spans (parent missing)")
	add(w.Duplicates, "duplicate span id", "duplicate span ids")
	add(w.Cycles, "parent cycle broken", "parent cycles broken")
	add(w.Skewed, "span outside its parent (clamped)", "spans outside their parent (clamped)")
	add(w.Inverted, "span ending before it starts", "spans ending before they start")
	return strings.Join(parts, ", ")
}

// None is the parent index of a top-level span.
const None int32 = -1

// Trace is one trace assembled into a tree. Spans are indexed by their
// position in Spans; the trace's top level holds the root and any orphans,
// under an implicit frame that spans [Trace.Begin, Trace.End).
//
// A Trace is read-only once assembled and safe for concurrent reads.
type Trace struct {
	ID TraceID
	// Spans are the trace's spans in input order, duplicates removed.
	Spans []Span
	// Parent is the index of each span's parent, or [None] at the top level.
	Parent []int32
	// Start and End are each span's times clamped into its parent (and
	// End >= Start): what layout and wall-clock attribution use.
	Start, End []int64
	// Begin and Finish are the earliest start and the latest end of the
	// top-level spans.
	Begin, Finish int64
	// Warnings counts what assembly repaired.
	Warnings Warnings

	roots    []int32
	childOff []int32 // children of i are kids[childOff[i]:childOff[i+1]]
	kids     []int32
}

// Roots returns the top-level spans, sorted by start time.
func (t *Trace) Roots() []int32 { return t.roots }

// Children returns the children of span i, sorted by (clamped) start time,
// then end time, then input order.
func (t *Trace) Children(i int32) []int32 { return t.kids[t.childOff[i]:t.childOff[i+1]] }

// Wall returns the trace's wall-clock time, Finish-Begin, in nanoseconds.
func (t *Trace) Wall() int64 { return t.Finish - t.Begin }

// Assemble builds the tree of one trace's spans (all with the same trace
// id; the first one's id names the trace). It takes ownership of spans.
// Duplicates, orphans, cycles, clock skew and inverted spans are repaired
// and counted in Trace.Warnings, never reported as errors.
func Assemble(spans []Span) *Trace {
	var a assembler
	t := a.assemble(spans)
	out := *t
	out.Parent = slices.Clone(t.Parent)
	out.Start, out.End = slices.Clone(t.Start), slices.Clone(t.End)
	out.roots, out.childOff, out.kids = slices.Clone(t.roots), slices.Clone(t.childOff), slices.Clone(t.kids)
	return &out
}

// assembler keeps the buffers of [Assemble] between traces.
type assembler struct {
	t     Trace
	ids   map[SpanID]int32
	state []int32
	stack []int32
}

func (a *assembler) assemble(in []Span) *Trace {
	t := &a.t
	*t = Trace{Parent: t.Parent[:0], Start: t.Start[:0], End: t.End[:0],
		roots: t.roots[:0], childOff: t.childOff[:0], kids: t.kids[:0]}
	if len(in) > 0 {
		t.ID = in[0].TraceID
	}
	if a.ids == nil {
		a.ids = make(map[SpanID]int32)
	}
	clear(a.ids)

	// Duplicates: keep the first span with each id.
	kept := in[:0]
	for i := range in {
		if _, dup := a.ids[in[i].ID]; dup {
			t.Warnings.Duplicates++
			continue
		}
		a.ids[in[i].ID] = int32(len(kept))
		kept = append(kept, in[i])
	}
	t.Spans = kept
	n := len(kept)

	// Parents; a missing parent makes an orphan, a span naming itself a
	// one-span cycle.
	for i := range kept {
		p := None
		if !kept[i].Parent.IsZero() {
			var ok bool
			if p, ok = a.ids[kept[i].Parent]; !ok {
				t.Warnings.Orphans++
				p = None
			} else if p == int32(i) {
				t.Warnings.Cycles++
				p = None
			}
		}
		t.Parent = append(t.Parent, p)
	}

	// Cycles: walk up from every span; a walk that meets its own path has
	// found a loop, broken at the span where it closes.
	a.state = slices.Grow(a.state[:0], n)[:n]
	const reachesTop = -2
	clear(a.state)
	for i := range int32(n) {
		walk := i + 1 // state value marking this walk's path
		j := i
		for j != None && a.state[j] == 0 {
			a.state[j] = walk
			j = t.Parent[j]
		}
		if j != None && a.state[j] == walk {
			t.Parent[j] = None
			t.Warnings.Cycles++
		}
		for k := i; k != None && a.state[k] == walk; k = t.Parent[k] {
			a.state[k] = reachesTop
		}
	}

	// Children lists (CSR), sorted by start, end, index.
	t.childOff = slices.Grow(t.childOff, n+1)[:n+1]
	clear(t.childOff)
	for i := range n {
		if p := t.Parent[i]; p != None {
			t.childOff[p+1]++
		} else {
			t.roots = append(t.roots, int32(i))
		}
	}
	for i := 1; i <= n; i++ {
		t.childOff[i] += t.childOff[i-1]
	}
	t.kids = slices.Grow(t.kids, n)[:n-len(t.roots)]
	fill := slices.Clone(t.childOff[:n]) // small next to the spans
	for i := range n {
		if p := t.Parent[i]; p != None {
			t.kids[fill[p]] = int32(i)
			fill[p]++
		}
	}

	// Clamp top-down.
	t.Start = slices.Grow(t.Start, n)[:n]
	t.End = slices.Grow(t.End, n)[:n]
	for i := range kept {
		s, e := kept[i].Start, kept[i].End
		if e < s {
			t.Warnings.Inverted++
			e = s
		}
		t.Start[i], t.End[i] = s, e
	}
	byTime := func(x, y int32) int {
		if c := cmp.Compare(t.Start[x], t.Start[y]); c != 0 {
			return c
		}
		if c := cmp.Compare(t.End[x], t.End[y]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	}
	stack := append(a.stack[:0], t.roots...)
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ps, pe := t.Start[p], t.End[p]
		for _, c := range t.Children(p) {
			s, e := t.Start[c], t.End[c]
			if s < ps || e > pe {
				t.Warnings.Skewed++
				s = min(max(s, ps), pe)
				e = min(max(e, s), pe)
				t.Start[c], t.End[c] = s, e
			}
		}
		slices.SortFunc(t.Children(p), byTime)
		stack = append(stack, t.Children(p)...)
	}
	a.stack = stack
	slices.SortFunc(t.roots, byTime)
	if len(t.roots) > 0 {
		t.Begin, t.Finish = t.Start[t.roots[0]], t.End[t.roots[0]]
		for _, r := range t.roots {
			t.Finish = max(t.Finish, t.End[r])
		}
	}
	return t
}
