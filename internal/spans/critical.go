package spans

import (
	"cmp"
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
// as are zero-length children.
func CriticalPath(t *Trace) []Segment {
	var segs []Segment
	var w cpWalker
	w.walk(t, None, t.Begin, t.Finish, func(i int32, s, e int64) {
		segs = append(segs, Segment{i, s, e})
	})
	slices.Reverse(segs)
	return segs
}

type cpWalker struct {
	sorted [][]int32 // per depth: children by end, latest first
	depth  int
}

// walk emits, latest first, the critical-path segments of span i (None:
// the top level, over [begin, until)).
func (w *cpWalker) walk(t *Trace, i int32, begin, until int64, emit func(i int32, s, e int64)) {
	var kids []int32
	if i == None {
		kids = t.Roots()
	} else {
		kids = t.Children(i)
		begin = t.Start[i]
	}
	if w.depth >= len(w.sorted) {
		w.sorted = append(w.sorted, nil)
	}
	byEnd := append(w.sorted[w.depth][:0], kids...)
	slices.SortStableFunc(byEnd, func(x, y int32) int { return cmp.Compare(t.End[y], t.End[x]) })
	w.sorted[w.depth] = byEnd
	cur := until
	for _, c := range byEnd {
		if cur <= begin {
			break
		}
		if t.Start[c] == t.End[c] || t.End[c] > cur {
			continue
		}
		if cur > t.End[c] {
			emit(i, t.End[c], cur)
		}
		w.depth++
		w.walk(t, c, 0, t.End[c], emit)
		w.depth--
		cur = t.Start[c]
	}
	if cur > begin {
		emit(i, begin, cur)
	}
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
	stack  []string
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

// Add adds the critical path of one trace.
func (c *CriticalPaths) Add(t *Trace) {
	c.traces++
	if len(t.Spans) == 0 {
		return
	}
	c.w.walk(t, None, t.Begin, t.Finish, func(i int32, s, e int64) {
		c.stack = c.stack[:0]
		for j := i; j != None; j = t.Parent[j] {
			c.stack = append(c.stack, c.lab.label(&t.Spans[j]))
		}
		slices.Reverse(c.stack)
		n := c.tree.Add(c.stack, flame.KindSpan, e-s)
		for len(c.on) < c.tree.Len() {
			c.on = append(c.on, 0)
			c.stamp = append(c.stamp, 0)
		}
		for ; n != flame.Root-1 && c.stamp[n] != c.traces; n = c.tree.Parent(n) {
			c.stamp[n] = c.traces
			c.on[n]++
		}
	})
}
