package spans

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
)

// Warnings counts what was wrong with the spans of one or more traces and
// how it was handled. None of these stops a decode or an analysis.
type Warnings struct {
	// Orphans are spans whose parent is not in the trace (lost, sampled
	// out, or not exported yet). They are placed at the trace's top level,
	// beside the root.
	Orphans int
	// Duplicates are exact copies of a span already seen (an exporter's
	// retry, a file read twice); they are dropped.
	Duplicates int
	// SharedIDs are spans whose id another, different span of the trace
	// also has. Both are kept; children name the first one as their parent.
	SharedIDs int
	// NoID are spans without an id. They are kept, and cannot be parents.
	NoID int
	// Cycles are parent chains that loop (a span that is its own ancestor).
	// Each is broken by making the first span found on the loop a top-level
	// span.
	Cycles int
	// Inverted are spans whose end is before their start; they are read as
	// zero-length.
	Inverted int
}

// Add adds o's counts to w.
func (w *Warnings) Add(o Warnings) {
	w.Orphans += o.Orphans
	w.Duplicates += o.Duplicates
	w.SharedIDs += o.SharedIDs
	w.NoID += o.NoID
	w.Cycles += o.Cycles
	w.Inverted += o.Inverted
}

// AppendCount appends to parts "1 one" when n is 1, "n many" when it is
// more, and nothing when it is 0: the pieces of a warning line.
func AppendCount(parts []string, n int, one, many string) []string {
	switch {
	case n == 1:
		return append(parts, "1 "+one)
	case n > 1:
		return append(parts, fmt.Sprintf("%d %s", n, many))
	}
	return parts
}

// Any reports whether any count is non-zero.
func (w Warnings) Any() bool { return w != Warnings{} }

// String lists the non-zero counts, e.g. "3 orphan spans, 1 cycle", or
// returns "" when there are none.
func (w Warnings) String() string {
	var parts []string
	add := func(n int, one, many string) { parts = AppendCount(parts, n, one, many) }
	add(w.Orphans, "orphan span (parent missing)", "orphan spans (parent missing)")
	add(w.Duplicates, "exact duplicate span dropped", "exact duplicate spans dropped")
	add(w.SharedIDs, "span sharing its id with another (both kept)", "spans sharing their id with another (all kept)")
	add(w.NoID, "span without an id (kept)", "spans without an id (kept)")
	add(w.Cycles, "parent cycle broken", "parent cycles broken")
	add(w.Inverted, "span ending before it starts", "spans ending before they start")
	return strings.Join(parts, ", ")
}

// None is the parent index of a top-level span.
const None int32 = -1

// Trace is one trace assembled into a tree. Spans are indexed by their
// position in Spans; the trace's top level holds the root and any orphans,
// under an implicit frame that spans [Trace.Begin, Trace.Finish).
//
// A child may start before or end after its parent: async work (a
// follows-from link, a consumer of a producer's message, a goroutine that
// outlives the request that started it) is normal, and is kept at its real
// time. Each span's interval is extended over its descendants' for the
// analyses ([Trace.Start], [Trace.End]), so that no span's time falls
// outside its parent's frame.
//
// A Trace is read-only once assembled and safe for concurrent reads.
type Trace struct {
	ID TraceID
	// Spans are the trace's spans in input order, exact duplicates removed.
	Spans []Span
	// Parent is the index of each span's parent, or [None] at the top level.
	Parent []int32
	// Start and End are each span's interval extended to cover its
	// descendants' (and End >= Start): what layout, wall-clock attribution
	// and critical paths use. A span's own times are in Spans.
	Start, End []int64
	// Begin and Finish are the earliest start and the latest end of any
	// span: the trace's wall time is Finish-Begin, as Jaeger shows it.
	Begin, Finish int64
	// Async counts the spans that start before or end after their parent.
	Async int
	// Warnings counts what assembly repaired.
	Warnings Warnings

	roots    []int32
	childOff []int32 // children of i are kids[childOff[i]:childOff[i+1]]
	kids     []int32
}

// Roots returns the top-level spans, sorted by start time.
func (t *Trace) Roots() []int32 { return t.roots }

// Children returns the children of span i, sorted by (extended) start
// time, then end time, then input order.
func (t *Trace) Children(i int32) []int32 { return t.kids[t.childOff[i]:t.childOff[i+1]] }

// Wall returns the trace's wall-clock time, Finish-Begin, in nanoseconds.
func (t *Trace) Wall() int64 { return t.Finish - t.Begin }

// OwnEnd returns span i's end, or its start when it ends before it starts.
func (t *Trace) OwnEnd(i int32) int64 { return max(t.Spans[i].End, t.Spans[i].Start) }

// PreOrder appends the spans of t to dst parents first, each span's
// children in order after it, top-level spans in order, and returns the
// extended slice. Reversed, it lists children before their parents.
func (t *Trace) PreOrder(dst []int32) []int32 {
	stack := make([]int32, 0, 64)
	for k := len(t.roots) - 1; k >= 0; k-- {
		stack = append(stack, t.roots[k])
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		dst = append(dst, i)
		kids := t.Children(i)
		for k := len(kids) - 1; k >= 0; k-- {
			stack = append(stack, kids[k])
		}
	}
	return dst
}

// Assemble builds the tree of one trace's spans (all with the same trace
// id; the first one's id names the trace). It takes ownership of spans.
// Duplicates, orphans, cycles and inverted spans are repaired and counted
// in Trace.Warnings, never reported as errors.
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
	t      Trace
	ids    map[SpanID]int32
	seen   map[uint64][]int32 // spans of ids seen more than once, by content hash
	hashed map[SpanID]bool
	seed   maphash.Seed
	state  []int32
	order  []int32
}

// hash hashes every field [sameSpan] compares.
func (a *assembler) hash(x *Span) uint64 {
	var h maphash.Hash
	h.SetSeed(a.seed)
	h.Write(x.TraceID[:])
	h.Write(x.ID[:])
	h.Write(x.Parent[:])
	for _, s := range []string{x.Name, x.Service, x.Message, x.Kind} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	maphash.WriteComparable(&h, [3]int64{x.Start, x.End, int64(x.Status)})
	for _, at := range x.Attrs {
		h.WriteString(at.Key)
		h.WriteByte(0)
		h.WriteString(at.Value)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// sameSpan reports whether x and y are copies of one span.
func sameSpan(x, y *Span) bool {
	return x.TraceID == y.TraceID && x.ID == y.ID && x.Parent == y.Parent && x.Name == y.Name &&
		x.Service == y.Service && x.Start == y.Start && x.End == y.End && x.Status == y.Status &&
		x.Message == y.Message && x.Kind == y.Kind && slices.Equal(x.Attrs, y.Attrs)
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
		a.seen = make(map[uint64][]int32)
		a.hashed = make(map[SpanID]bool)
		a.seed = maphash.MakeSeed()
	}
	clear(a.ids)
	clear(a.seen)
	clear(a.hashed)

	// Ids: exact copies of a span are dropped; different spans sharing an
	// id are kept, the first being the one children find.
	kept := in[:0]
	for i := range in {
		if in[i].ID.IsZero() {
			t.Warnings.NoID++
			kept = append(kept, in[i])
			continue
		}
		if j, seen := a.ids[in[i].ID]; seen {
			// Compare with every kept span of the id, found by content;
			// the first of them is hashed when its id comes again.
			if !a.hashed[in[i].ID] {
				a.hashed[in[i].ID] = true
				h := a.hash(&kept[j])
				a.seen[h] = append(a.seen[h], j)
			}
			h := a.hash(&in[i])
			dup := false
			for _, k := range a.seen[h] {
				if sameSpan(&kept[k], &in[i]) {
					dup = true
					break
				}
			}
			if dup {
				t.Warnings.Duplicates++
				continue
			}
			t.Warnings.SharedIDs++
			a.seen[h] = append(a.seen[h], int32(len(kept)))
			kept = append(kept, in[i])
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

	// Children lists (CSR).
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

	// Own times, then intervals extended over descendants, bottom-up.
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
	a.order = t.PreOrder(a.order[:0])
	for k := len(a.order) - 1; k >= 0; k-- {
		i := a.order[k]
		if p := t.Parent[i]; p != None {
			ps, pe := kept[p].Start, max(kept[p].End, kept[p].Start)
			if kept[i].Start < ps || max(kept[i].End, kept[i].Start) > pe {
				t.Async++
			}
			t.Start[p] = min(t.Start[p], t.Start[i])
			t.End[p] = max(t.End[p], t.End[i])
		}
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
	for i := range int32(n) {
		slices.SortFunc(t.Children(i), byTime)
	}
	slices.SortFunc(t.roots, byTime)
	if len(t.roots) > 0 {
		t.Begin, t.Finish = t.Start[t.roots[0]], t.End[t.roots[0]]
		for _, r := range t.roots {
			t.Finish = max(t.Finish, t.End[r])
		}
	}
	return t
}
