package svg

import (
	"cmp"
	"slices"
	"strings"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// Frame is one rectangle of a flame graph as [Layout] places it: x and
// width are in the tree's units (samples, nanoseconds, bytes), depth counts
// from the root ("all", depth 0).
type Frame struct {
	Node  flame.NodeID
	Name  string
	Depth int
	X     int64 // where it starts: its parent's X plus the values left of it within the parent
	Value int64 // width
}

// Layout returns the frames of t that a graph width px wide (margins
// included) draws, in depth-first order, siblings in order o. A frame
// narrower than minWidth pixels is left out with everything above it,
// exactly as flamegraph.pl's --minwidth prunes (its 10-pixel margins
// included).
//
// With [flame.Alphabetical] the frames are flamegraph.pl's: identical stacks
// merged, siblings in the order of flamegraph.pl's sorted input lines (byte
// order of the names, where a name that is the start of a sibling's sorts as
// if followed by what its first line has next: the space before its count
// when it has self value, else ";"), and a frame's self value left of its
// children, where its own line sorts. With [flame.LeftHeavy] children start
// at their parent's left edge. One corner differs on purpose:
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
		if o == flame.Alphabetical {
			sortAsLines(t, kids)
		}
		// Children are placed left to right from the parent's left edge,
		// after its self value in flamegraph.pl's order; push them in
		// reverse so that the leftmost is visited first.
		xs := it.x
		if o == flame.Alphabetical {
			xs += t.Self(it.n)
		}
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

// sortAsLines orders kids, siblings sorted by name, as their first lines
// come in sorted folded text: "f(int);g" sorts before "f;h" because '('
// sorts before ';', so a frame whose name ends where a sibling's continues
// is compared by the byte that follows its name, ' ' when its stack ends
// there (it has self value), else ';'.
func sortAsLines(t *flame.Tree, kids []flame.NodeID) {
	prefixed := false
	for i := 1; i < len(kids); i++ {
		if strings.HasPrefix(t.Name(kids[i]), t.Name(kids[i-1])) {
			prefixed = true
			break
		}
	}
	if !prefixed { // byte order already is line order
		return
	}
	next := func(n flame.NodeID) byte {
		if t.Self(n) > 0 {
			return ' '
		}
		return ';'
	}
	slices.SortStableFunc(kids, func(a, b flame.NodeID) int {
		na, nb := t.Name(a), t.Name(b)
		switch {
		case len(na) < len(nb) && strings.HasPrefix(nb, na):
			return cmp.Compare(next(a), nb[len(na)])
		case len(nb) < len(na) && strings.HasPrefix(na, nb):
			return cmp.Compare(na[len(nb)], next(b))
		}
		return strings.Compare(na, nb)
	})
}
