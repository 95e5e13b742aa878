package spans

import (
	"cmp"
	"math"
	"slices"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// Segment is a stretch of a trace's critical path spent in one span's self
// time: [Start, End) in Unix nanoseconds. Span is [None] for gaps between
// top-level spans.
type Segment struct {
	Span       int32
	Start, End int64
}

// CriticalPath returns the critical path of t: the chain of spans that set
// its end time, as segments in time order that cover [t.Begin, t.Finish)
// exactly. It walks back from the end: within a span, the child that ended
// last (before the time reached so far) is on the path, recursively; the
// time between that child's end and the time reached is the span's own; the
// walk then continues from that child's start. Children that end after the
// time reached (they overlap a child already on the path) are passed over,
// as are zero-length children. Spans are taken over their extended
// intervals ([Trace.Start], [Trace.End]), so async work that outlived its
// parent is on the path when it set the trace's end.
//
// With [WithRuntime], the path crosses goroutines: when the time reached in a
// span ends a lock or channel wait that another span of the trace ended
// (the unlock, the send), the path continues in that span from then.
func CriticalPath(t *Trace, opts ...AnalysisOption) []Segment {
	var segs []Segment
	add := func(i int32, s, e int64) {
		segs = append(segs, Segment{i, s, e})
	}
	if rt := newAnalysisConfig(opts).rt; rt != nil {
		crossWalk(t, rt, add)
	} else {
		var w cpWalker
		w.walk(t, add)
	}
	slices.Reverse(segs)
	return segs
}

// cpWalker walks critical paths with a stack of its own, so that a deep
// trace needs no deep recursion.
type cpWalker struct {
	stack []cpFrame
	arena []int32 // each frame's children by end, latest first
}

// cpFrame is a span being walked: the time reached in it, and its children
// arena[pos:end] still to look at.
type cpFrame struct {
	i             int32
	begin, cur    int64
	off, pos, end int
}

// walk emits the critical-path segments of t, latest first.
func (w *cpWalker) walk(t *Trace, emit func(i int32, s, e int64)) {
	arena, stack := w.arena[:0], w.stack[:0]
	push := func(i int32, begin, until int64) {
		kids := t.Roots()
		if i != None {
			kids = t.Children(i)
		}
		off := len(arena)
		arena = append(arena, kids...)
		slices.SortStableFunc(arena[off:], func(x, y int32) int { return cmp.Compare(t.End[y], t.End[x]) })
		stack = append(stack, cpFrame{i: i, begin: begin, cur: until, off: off, pos: off, end: len(arena)})
	}
	push(None, t.Begin, t.Finish)
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		var next int32 = None
		for f.pos < f.end && f.cur > f.begin {
			c := arena[f.pos]
			f.pos++
			if t.Start[c] == t.End[c] || t.End[c] > f.cur {
				continue
			}
			if f.cur > t.End[c] {
				emit(f.i, t.End[c], f.cur)
			}
			f.cur = t.Start[c]
			next = c
			break
		}
		if next != None {
			push(next, t.Start[next], t.End[next])
			continue
		}
		if f.cur > f.begin {
			emit(f.i, f.begin, f.cur)
		}
		arena = arena[:f.off]
		stack = stack[:len(stack)-1]
	}
	w.arena, w.stack = arena, stack
}

// CriticalPaths aggregates the critical paths of many traces into a flame
// tree: a frame's value is the time its span's own work was on the critical
// path, and [CriticalPaths.Traces] says in how many traces it was on it.
// Frames are named and grouped as an [Aggregator] names them, so the two
// trees line up frame for frame.
//
// A CriticalPaths is not safe for concurrent use.
type CriticalPaths struct {
	cfg    analysisConfig
	lab    labeler
	tree   *flame.Tree
	on     []int32 // per frame: traces whose path went through it
	stamp  []int32 // per frame: the last trace counted
	traces int32
	w      cpWalker
	sub    []int64 // per span: its subtree's time on the path
	order  []int32
	nodes  []flame.NodeID
}

// NewCriticalPaths returns an empty critical-path aggregate. Only the
// grouping options and [WithRuntime] (paths that cross goroutines, as
// [CriticalPath] says) apply.
func NewCriticalPaths(opts ...AnalysisOption) *CriticalPaths {
	c := &CriticalPaths{cfg: newAnalysisConfig(opts)}
	c.lab.group = &c.cfg.group
	c.tree = flame.NewTree("nanoseconds")
	c.tree.SampleType = "critical-path"
	return c
}

// Tree returns the aggregated critical paths; the root's value is the total
// wall time of the traces.
func (c *CriticalPaths) Tree() *flame.Tree { return c.tree }

// Traces returns in how many traces frame n was on the critical path.
func (c *CriticalPaths) Traces(n flame.NodeID) int {
	if int(n) >= len(c.on) {
		return 0
	}
	return int(c.on[n])
}

// Add adds the critical path of one trace. It fails with [flame.ErrOverflow],
// adding nothing, when the traces' total time would pass the int64 range.
func (c *CriticalPaths) Add(t *Trace) error {
	if len(t.Spans) == 0 {
		c.traces++
		return nil
	}
	if c.tree.Total() > math.MaxInt64-t.Wall() {
		return overflow(t)
	}
	c.traces++
	n := len(t.Spans)
	// Each span's own time on the path, then with its descendants'.
	c.sub = slices.Grow(c.sub[:0], n)[:n]
	clear(c.sub)
	var wall int64
	add := func(i int32, s, e int64) {
		wall += e - s
		if i != None {
			c.sub[i] += e - s
		}
	}
	if c.cfg.rt != nil {
		crossWalk(t, c.cfg.rt, add)
	} else {
		c.w.walk(t, add)
	}
	c.order = t.PreOrder(c.order[:0])
	for k := len(c.order) - 1; k >= 0; k-- {
		if i := c.order[k]; t.Parent[i] != None {
			c.sub[t.Parent[i]] += c.sub[i]
		}
	}
	c.tree.AddUnder(flame.Root, nil, flame.KindSpan, wall)
	c.mark(flame.Root)
	c.nodes = slices.Grow(c.nodes[:0], n)[:n]
	for _, i := range c.order {
		if c.sub[i] == 0 {
			continue // off the path, and so are its descendants
		}
		parent := flame.Root
		if p := t.Parent[i]; p != None {
			parent = c.nodes[p]
		}
		c.nodes[i] = c.tree.Descend(parent, c.lab.label(&t.Spans[i]), flame.KindSpan, c.sub[i])
		c.mark(c.nodes[i])
	}
	return nil
}

// mark counts the current trace once for frame n.
func (c *CriticalPaths) mark(n flame.NodeID) {
	for len(c.on) < c.tree.Len() {
		c.on = append(c.on, 0)
		c.stamp = append(c.stamp, 0)
	}
	if c.stamp[n] != c.traces {
		c.stamp[n] = c.traces
		c.on[n]++
	}
}

// crossWalk emits, latest first, the critical path of t when the execution
// trace says what the spans waited on (rt): it walks back as [CriticalPath]
// does, but when a span's own time reached so far ends a lock or channel
// wait that a span of the same trace ended (the unlock, the send), the path
// continues in that span from the moment it did so. Each wait is crossed at
// most once.
func crossWalk(t *Trace, rt Runtime, emitAll func(i int32, s, e int64)) {
	emit := func(i int32, s, e int64) {
		if e > s {
			emitAll(i, s, e)
		}
	}
	index := make(map[SpanID]int32, len(t.Spans))
	for i := range t.Spans {
		if id := t.Spans[i].ID; !id.IsZero() {
			if _, dup := index[id]; !dup {
				index[id] = int32(i)
			}
		}
	}
	// Children by end time, and each span's crossable waits by end time,
	// made when a span is first reached.
	byEnd := make(map[int32][]int32)
	kidsByEnd := func(i int32) []int32 {
		if k, ok := byEnd[i]; ok {
			return k
		}
		var kids []int32
		if i == None {
			kids = slices.Clone(t.Roots())
		} else {
			kids = slices.Clone(t.Children(i))
		}
		slices.SortStableFunc(kids, func(x, y int32) int { return cmp.Compare(t.End[x], t.End[y]) })
		byEnd[i] = kids
		return kids
	}
	type wait struct {
		end int64
		by  int32
	}
	waits := make(map[int32][]wait)
	used := make(map[int32]int) // waits of a span already crossed, from the latest
	waitsOf := func(i int32) []wait {
		if i == None {
			return nil
		}
		if w, ok := waits[i]; ok {
			return w
		}
		var ws []wait
		if r := rt.Of(t.Spans[i].ID); r != nil {
			for _, s := range r.Stretches {
				if s.State != StateLock && s.State != StateChannel {
					continue
				}
				if j, ok := index[s.BySpan]; ok && j != i && t.Start[j] < s.End && s.End <= t.End[j] {
					ws = append(ws, wait{s.End, j})
				}
			}
		}
		waits[i] = ws
		return ws
	}
	i, cur := None, t.Finish
	for steps := 4*len(t.Spans) + 16; ; steps-- {
		begin := t.Begin
		if i != None {
			begin = t.Start[i]
		}
		if steps == 0 { // cannot happen: every step moves back in time or down the tree
			emit(i, begin, cur)
			return
		}
		// The child that ended last by cur.
		kids := kidsByEnd(i)
		k, _ := slices.BinarySearchFunc(kids, cur, func(c int32, x int64) int {
			if t.End[c] <= x {
				return -1
			}
			return 1
		})
		child, childEnd := None, begin
		for k--; k >= 0; k-- {
			if c := kids[k]; t.Start[c] < t.End[c] {
				child, childEnd = c, t.End[c]
				break
			}
		}
		// The latest wait in the stretch after that child that another
		// span ended.
		ws := waitsOf(i)
		n := len(ws) - used[i]
		for n > 0 && ws[n-1].end > cur {
			n--
		}
		if n > 0 && ws[n-1].end > childEnd && ws[n-1].end > begin {
			w := ws[n-1]
			used[i] = len(ws) - n + 1
			emit(i, w.end, cur)
			i, cur = w.by, w.end
			steps += 4 * len(t.Spans)
			continue
		}
		if child != None && cur > begin {
			emit(i, childEnd, cur)
			i, cur = child, childEnd
			continue
		}
		emit(i, begin, cur)
		if i == None {
			return
		}
		i, cur = t.Parent[i], begin
	}
}
