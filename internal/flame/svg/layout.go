package svg

import (
	"github.com/tracekit-go/tracekit/internal/flame"
)

// Frame is one rectangle of a flame graph as [Layout] places it: x and
// width are in the tree's units (samples, nanoseconds, bytes), depth counts
// from the root ("all", depth 0).
type Frame struct {
	Node  flame.NodeID
	Name  string
	Depth int
	X     int64 // sum of the values of the frames drawn left of it at its depth within its parent's span
	Value int64 // width
}

// Layout returns the frames of t that a graph width px wide (margins
// included) draws, in depth-first order, siblings in order o. A frame
// narrower than minWidth pixels is left out with everything above it,
// exactly as flamegraph.pl's --minwidth prunes (its 10-pixel margins
// included).
//
// With [flame.Alphabetical] the frames are flamegraph.pl's: identical stacks
// merged, siblings in byte order. One corner differs on purpose:
// flamegraph.pl sorts whole input lines and merges only adjacent ones, so
// when a sibling's name sorts between "name " and "name;" (for example "b"
// and "b.x", because '.' sorts before ';') it draws "b" as two frames on
// either side of "b.x". Layout draws one "b" with all its samples.
func Layout(t *flame.Tree, width int, minWidth float64, o flame.Order) []Frame {
	var out []Frame
	layout(t, width, minWidth, o, func(f Frame) { out = append(out, f) })
	return out
}

func layout(t *flame.Tree, width int, minWidth float64, o flame.Order, emit func(Frame)) {
	total := t.Total()
	if total <= 0 {
		return
	}
	const xpad = 10
	widthPerUnit := float64(width-2*xpad) / float64(total)
	minUnits := minWidth / widthPerUnit
	type item struct {
		n     flame.NodeID
		depth int
		x     int64
	}
	stack := []item{{flame.Root, 0, 0}}
	var kids []flame.NodeID
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		v := t.Value(it.n)
		if float64(v) < minUnits || (v == 0 && it.n != flame.Root) {
			continue
		}
		emit(Frame{Node: it.n, Name: t.Name(it.n), Depth: it.depth, X: it.x, Value: v})
		kids = t.Children(kids[:0], it.n, o)
		// Children are placed left to right from the parent's left edge;
		// push them in reverse so that the leftmost is visited first.
		xs := it.x
		start := len(stack)
		for _, c := range kids {
			stack = append(stack, item{c, it.depth + 1, xs})
			xs += t.Value(c)
		}
		for i, j := start, len(stack)-1; i < j; i, j = i+1, j-1 {
			stack[i], stack[j] = stack[j], stack[i]
		}
	}
}
