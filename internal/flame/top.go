package flame

import (
	"cmp"
	"slices"
	"strings"
)

// TopEntry is one function of a [Top] ranking.
type TopEntry struct {
	Name string
	// NameIndex is the name's interned index ([Tree.NameIndex]): every
	// frame of the function has it.
	NameIndex int
	Self      int64 // value of the stacks that end in this function
	Total     int64 // value of the stacks that pass through it, each counted once even when recursive
}

// Top returns the n functions with the most self value (ties: more total,
// then name), each aggregated over every frame with its name, whatever the
// frame's kind or call path. n <= 0 means all.
func Top(t *Tree, n int) []TopEntry {
	// A frame's self value is its total less its children's: add every
	// frame's total to its name and take it from its parent's.
	self := make([]int64, t.NumNames())
	for _, chunk := range t.chunks {
		for _, nd := range chunk {
			if nd.parent == none {
				continue
			}
			self[nd.name&nameMask] += nd.total
			if nd.parent != Root {
				self[t.at(nd.parent).name&nameMask] -= nd.total
			}
		}
	}
	total := make([]int64, t.NumNames())
	if cand := candidates(self, n); cand != nil {
		t.totalsOf(cand, total)
	} else {
		t.totals(total)
	}
	var out []TopEntry
	for i := 1; i < t.NumNames(); i++ {
		if total[i] > 0 {
			out = append(out, TopEntry{Name: t.NameAt(i), NameIndex: i, Self: self[i], Total: total[i]})
		}
	}
	slices.SortFunc(out, func(a, b TopEntry) int {
		if c := cmp.Compare(b.Self, a.Self); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Total, a.Total); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// candidates returns, by name index, the names that can be among the n
// with the most self value (those with at least the n-th largest, ties
// included), or nil when every name can: n <= 0, or the n-th largest is 0
// (names without self value are then ranked by total).
func candidates(self []int64, n int) []bool {
	if n <= 0 || n >= len(self) {
		return nil
	}
	sorted := slices.Clone(self[1:])
	slices.SortFunc(sorted, func(a, b int64) int { return cmp.Compare(b, a) })
	cut := sorted[n-1]
	if cut <= 0 {
		return nil
	}
	cand := make([]bool, len(self))
	for i := 1; i < len(self); i++ {
		cand[i] = self[i] >= cut
	}
	return cand
}

// totalsOf adds to total[i], for the names i in cand, the value of the
// frames named i that have no ancestor of the same name, so that a
// recursive function's samples count once.
func (t *Tree) totalsOf(cand []bool, total []int64) {
	for _, chunk := range t.chunks {
		for _, nd := range chunk {
			ni := nd.name & nameMask
			if !cand[ni] || nd.parent == none {
				continue
			}
			outer := true
			for m := nd.parent; m != Root; m = t.at(m).parent {
				if t.at(m).name&nameMask == ni {
					outer = false
					break
				}
			}
			if outer {
				total[ni] += nd.total
			}
		}
	}
}

// totals adds to total[i] the value of the stacks through frames named i,
// each counted once even when recursive.
func (t *Tree) totals(total []int64) {
	onPath := make([]int32, t.NumNames())
	var path []int
	t.preorder(func(id NodeID, depth int) {
		for len(path) > depth {
			onPath[path[len(path)-1]]--
			path = path[:len(path)-1]
		}
		ni := t.NameIndex(id)
		if id != Root && onPath[ni] == 0 {
			total[ni] += t.Value(id)
		}
		onPath[ni]++
		path = append(path, ni)
	})
}

// DiffEntry is one function of a [TopDiff] ranking: its self value before
// (the baseline, normalised as the diff was) and after.
type DiffEntry struct {
	Name string
	// NameIndex is the name's interned index ([Tree.NameIndex]).
	NameIndex     int
	Before, After int64
}

// Delta is After - Before.
func (e DiffEntry) Delta() int64 { return e.After - e.Before }

// TopDiff returns, for a diff tree ([Diff]), the n functions whose self
// value changed most (largest absolute change first; ties by name),
// aggregated over every frame with the same name; unchanged functions are
// left out. n <= 0 means all.
func TopDiff(t *Tree, n int) []DiffEntry {
	before := make([]int64, t.NumNames())
	after := make([]int64, t.NumNames())
	for id := NodeID(1); int(id) < t.Len(); id++ {
		ni := t.NameIndex(id)
		before[ni] += t.BaseSelf(id)
		after[ni] += t.Self(id)
	}
	var out []DiffEntry
	for i := 1; i < t.NumNames(); i++ {
		if before[i] != after[i] {
			out = append(out, DiffEntry{Name: t.NameAt(i), NameIndex: i, Before: before[i], After: after[i]})
		}
	}
	abs := func(v int64) int64 {
		if v < 0 {
			return -v
		}
		return v
	}
	slices.SortFunc(out, func(a, b DiffEntry) int {
		if c := cmp.Compare(abs(b.Delta()), abs(a.Delta())); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// preorder calls fn for every frame, parents before children, siblings in
// no particular order: the rankings need paths, not the drawing order, so
// they skip sorting siblings.
func (t *Tree) preorder(fn func(n NodeID, depth int)) {
	type item struct {
		n     NodeID
		depth int
	}
	stack := []item{{Root, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		fn(it.n, it.depth)
		for c := t.at(it.n).firstChild; c != none; c = t.at(c).nextSibling {
			stack = append(stack, item{c, it.depth + 1})
		}
	}
}
