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
func CriticalPath(t *Trace) []Segment {
	var segs []Segment
	var w cpWalker
	w.walk(t, func(i int32, s, e int64) {
		segs = append(segs, Segment{i, s, e})
	})
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
// grouping options apply.
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
	c.w.walk(t, func(i int32, s, e int64) {
		wall += e - s
		if i != None {
			c.sub[i] += e - s
		}
	})
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
