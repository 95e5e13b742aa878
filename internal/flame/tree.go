package flame

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Kind says what a frame stands for. Sampled stacks produce [KindCPU] frames;
// the other kinds let later inputs (spans, off-CPU waits) share the same tree
// without merging a span and a function that happen to have the same name.
type Kind uint8

// Frame kinds. A frame's kind is part of its identity: two children of the
// same parent with the same name and different kinds are two frames.
const (
	KindCPU    Kind = iota // a frame of a sampled stack (the default)
	KindOffCPU             // time spent waiting: a lock, a channel, a sleep
	KindSpan               // a span of a trace
	maxKind    = 7
)

// Annotation is what a folded-stack frame's suffix says about the frame, as
// perf's and the stackcollapse tools' output marks it: "_[k]" a kernel
// function, "_[j]" JIT-compiled code, "_[i]" an inlined call, "_[w]" a
// waker's stack. The suffix is not part of the frame's name; it picks the
// frame's colour. Like its kind, a frame's annotation is part of its
// identity: "f" and "f_[k]" under one parent are two frames, as
// flamegraph.pl keeps them.
type Annotation uint8

// Annotations.
const (
	NoAnnotation Annotation = iota
	Kernel                  // _[k]
	JIT                     // _[j]
	Inlined                 // _[i]
	Waker                   // _[w]
)

// Suffix returns the folded-stack suffix of a, such as "_[k]", or "".
func (a Annotation) Suffix() string {
	switch a {
	case Kernel:
		return "_[k]"
	case JIT:
		return "_[j]"
	case Inlined:
		return "_[i]"
	case Waker:
		return "_[w]"
	}
	return ""
}

// String names the annotation ("kernel", "jit", "inlined", "waker"), or
// returns "" for none.
func (a Annotation) String() string {
	switch a {
	case Kernel:
		return "kernel"
	case JIT:
		return "jit"
	case Inlined:
		return "inlined"
	case Waker:
		return "waker"
	}
	return ""
}

// annotationOf splits a folded frame into its name and annotation.
func annotationOf(frame []byte) ([]byte, Annotation) {
	n := len(frame)
	if n < 4 || frame[n-4] != '_' || frame[n-3] != '[' || frame[n-1] != ']' {
		return frame, NoAnnotation
	}
	var a Annotation
	switch frame[n-2] {
	case 'k':
		a = Kernel
	case 'j':
		a = JIT
	case 'i':
		a = Inlined
	case 'w':
		a = Waker
	default:
		return frame, NoAnnotation
	}
	return frame[:n-4], a
}

// NodeID names a frame of a [Tree]. The root is [Root]; IDs are dense, so
// callers may keep per-frame data in slices indexed by NodeID.
type NodeID int32

// Root is the ID of every tree's root frame, which stands for all samples.
const Root NodeID = 0

const none NodeID = -1

// wideChildren is the child count above which a frame gets a map from child
// key to child instead of a linear scan of its sibling list.
const wideChildren = 8

// node.name holds a frame's interned name in its low nameBits bits, its
// annotation in the next three and its kind in the top three.
const (
	nameBits  = 26
	nameMask  = 1<<nameBits - 1
	annShift  = nameBits
	kindShift = nameBits + 3
	// MaxNames is the number of distinct frame names a tree holds.
	MaxNames = 1 << nameBits
)

func key(name uint32, k Kind, a Annotation) uint32 {
	return name | uint32(a)<<annShift | uint32(k)<<kindShift
}

// node is a frame. It is 24 bytes so that a tree of millions of distinct
// frames stays small; a frame's self value is derived (total minus its
// children's totals) rather than stored.
type node struct {
	name        uint32 // interned name | annotation<<annShift | kind<<kindShift
	parent      NodeID
	firstChild  NodeID
	nextSibling NodeID
	total       int64
}

// Tree is the stack tree every input decodes into and every writer draws:
// a root that stands for all samples, and below it one frame per distinct
// call path, holding the total value of the stacks that pass through it.
// Names are interned, so a name is stored once however many frames share it.
//
// A Tree made by [Diff] also carries a baseline value per frame (see
// [Tree.Base]). A Tree is not safe for concurrent mutation; once built it may
// be read from many goroutines.
type Tree struct {
	// Unit is the unit of the values: "samples" (folded input),
	// "nanoseconds", "bytes", "count", or whatever the profile says.
	Unit string
	// SampleType names what the values measure, e.g. "cpu" or
	// "inuse_space"; empty for folded input.
	SampleType string

	names []string
	index map[string]uint32
	// Frames live in fixed-size chunks rather than one growing slice:
	// growing never copies the frames or leaves the old array as garbage,
	// which keeps peak memory close to what the tree needs.
	chunks [][]node
	count  int
	wide   map[NodeID]map[uint32]NodeID
	base   []int64 // per node, only in diff trees
	scale  int64   // tree units per input unit: a power of ten, 1 for integer counts
}

// NewTree returns an empty tree whose values are in unit.
func NewTree(unit string) *Tree {
	t := &Tree{
		Unit:  unit,
		index: make(map[string]uint32),
		wide:  make(map[NodeID]map[uint32]NodeID),
		scale: 1,
	}
	t.names = append(t.names, "all")
	t.index["all"] = 0
	t.push(node{parent: none, firstChild: none, nextSibling: none})
	return t
}

const chunkBits = 16

func (t *Tree) at(n NodeID) *node {
	return &t.chunks[n>>chunkBits][n&(1<<chunkBits-1)]
}

func (t *Tree) push(nd node) {
	if t.count&(1<<chunkBits-1) == 0 {
		t.chunks = append(t.chunks, make([]node, 0, 1<<chunkBits))
	}
	c := &t.chunks[len(t.chunks)-1]
	*c = append(*c, nd)
	t.count++
}

// intern returns the index of name, adding it when new. Looking up a []byte
// converted in the map index expression does not allocate. Decoders check
// [Tree.NumNames] against [MaxNames] before they add names; past it intern
// panics rather than let a name spill into the kind bits.
func (t *Tree) intern(name []byte) uint32 {
	if i, ok := t.index[string(name)]; ok {
		return i
	}
	return t.addName(string(name))
}

func (t *Tree) internString(name string) uint32 {
	if i, ok := t.index[name]; ok {
		return i
	}
	return t.addName(name)
}

func (t *Tree) addName(s string) uint32 {
	if len(t.names) >= MaxNames {
		panic(fmt.Sprintf("flame: more than %d distinct frame names", MaxNames))
	}
	i := uint32(len(t.names))
	t.names = append(t.names, s)
	t.index[s] = i
	return i
}

// child returns the child of parent with the given key, creating it.
func (t *Tree) child(parent NodeID, key uint32) NodeID {
	if m, ok := t.wide[parent]; ok {
		if c, ok := m[key]; ok {
			return c
		}
		c := t.newChild(parent, key)
		m[key] = c
		return c
	}
	n := 0
	for c := t.at(parent).firstChild; c != none; c = t.at(c).nextSibling {
		if t.at(c).name == key {
			return c
		}
		n++
	}
	c := t.newChild(parent, key)
	if n+1 > wideChildren {
		m := make(map[uint32]NodeID, 2*wideChildren)
		for d := t.at(parent).firstChild; d != none; d = t.at(d).nextSibling {
			m[t.at(d).name] = d
		}
		t.wide[parent] = m
	}
	return c
}

func (t *Tree) newChild(parent NodeID, key uint32) NodeID {
	c := NodeID(t.count)
	t.push(node{name: key, parent: parent, firstChild: none, nextSibling: t.at(parent).firstChild})
	t.at(parent).firstChild = c
	if t.base != nil {
		t.base = append(t.base, 0)
	}
	return c
}

// Add adds value to the stack given root first (stack[0] is the outermost
// caller) with frames of kind k. A zero value still creates the frames.
func (t *Tree) Add(stack []string, k Kind, value int64) NodeID {
	n := Root
	t.at(Root).total += value
	for _, s := range stack {
		n = t.child(n, key(t.internString(s), k, NoAnnotation))
		t.at(n).total += value
	}
	return n
}

// AddUnder is [Tree.Add] starting below an existing frame: it adds value to
// parent and every frame above it, and to the frames of stack (of kind k)
// below parent, creating them, and returns the last one (parent when stack
// is empty). Add(stack, k, v) is AddUnder([Root], stack, k, v). Frames of
// different kinds on one path are added by chaining calls.
func (t *Tree) AddUnder(parent NodeID, stack []string, k Kind, value int64) NodeID {
	for m := parent; m != none; m = t.at(m).parent {
		t.at(m).total += value
	}
	n := parent
	for _, s := range stack {
		n = t.child(n, key(t.internString(s), k, NoAnnotation))
		t.at(n).total += value
	}
	return n
}

// Descend returns the child of parent named name of kind k, creating it,
// and adds value to that child alone, not to parent or above. It is for
// builders that walk a tree of known subtree totals top-down: a frame's
// total is added when the walk enters it, so its children's values are
// already part of it, and entering a frame costs no walk up to the root.
// The caller keeps every frame's total at least the sum of its children's
// (what [Tree.Self] derives stays non-negative).
func (t *Tree) Descend(parent NodeID, name string, k Kind, value int64) NodeID {
	n := t.child(parent, key(t.internString(name), k, NoAnnotation))
	t.at(n).total += value
	return n
}

// Len returns the number of frames, the root included.
func (t *Tree) Len() int { return t.count }

// Total returns the value of all samples, the root's total.
func (t *Tree) Total() int64 { return t.at(Root).total }

// Name returns the name of frame n ("all" for the root).
func (t *Tree) Name(n NodeID) string { return t.names[t.at(n).name&nameMask] }

// NameIndex returns the interned index of frame n's name: frames with the same
// name have the same index. Names(i) is the name.
func (t *Tree) NameIndex(n NodeID) int { return int(t.at(n).name & nameMask) }

// NameAt returns the interned name with index i.
func (t *Tree) NameAt(i int) string { return t.names[i] }

// NumNames returns the number of distinct names, "all" included.
func (t *Tree) NumNames() int { return len(t.names) }

// Kind returns the kind of frame n.
func (t *Tree) Kind(n NodeID) Kind { return Kind(t.at(n).name >> kindShift) }

// Annotation returns the annotation of frame n (folded input's "_[k]" and
// the like); [NoAnnotation] for frames of other inputs.
func (t *Tree) Annotation(n NodeID) Annotation { return Annotation(t.at(n).name >> annShift & 7) }

// flags is n's kind and annotation, the part of its key that does not
// depend on the tree's name table.
func (t *Tree) flags(n NodeID) uint32 { return t.at(n).name &^ nameMask }

// Parent returns the parent of n, or -1 for the root.
func (t *Tree) Parent(n NodeID) NodeID { return t.at(n).parent }

// Value returns the total value of the stacks that pass through n.
func (t *Tree) Value(n NodeID) int64 { return t.at(n).total }

// Self returns the value of the stacks that end at n.
func (t *Tree) Self(n NodeID) int64 {
	v := t.at(n).total
	for c := t.at(n).firstChild; c != none; c = t.at(c).nextSibling {
		v -= t.at(c).total
	}
	return v
}

// Scale returns how many of the tree's units make one unit of its input's
// counts: 1, unless folded input had fractional counts ("main;a 31.23"),
// which the tree keeps exactly as fixed-point values scaled by a power of ten
// (100 there). Divide a value by Scale to show it in the input's units.
func (t *Tree) Scale() int64 { return t.scale }

// rescale multiplies every value of t by f, reporting false (and changing
// nothing) when a value would pass the int64 range.
func (t *Tree) rescale(f int64) bool {
	if f == 1 {
		return true
	}
	// The root holds the largest value and the largest baseline.
	if t.at(Root).total > math.MaxInt64/f || (t.base != nil && t.base[Root] > math.MaxInt64/f) {
		return false
	}
	for n := range t.count {
		t.at(NodeID(n)).total *= f
	}
	for n := range t.base {
		t.base[n] *= f
	}
	t.scale *= f
	return true
}

// IsDiff reports whether the tree carries baseline values (made by [Diff]).
func (t *Tree) IsDiff() bool { return t.base != nil }

// Base returns the baseline total of n in a diff tree, and 0 otherwise.
func (t *Tree) Base(n NodeID) int64 {
	if t.base == nil {
		return 0
	}
	return t.base[n]
}

// BaseSelf returns the baseline value of the stacks that end at n.
func (t *Tree) BaseSelf(n NodeID) int64 {
	if t.base == nil {
		return 0
	}
	v := t.base[n]
	for c := t.at(n).firstChild; c != none; c = t.at(c).nextSibling {
		v -= t.base[c]
	}
	return v
}

// Depth returns the depth of n; the root is at depth 0.
func (t *Tree) Depth(n NodeID) int {
	d := 0
	for n = t.at(n).parent; n != none; n = t.at(n).parent {
		d++
	}
	return d
}

// Stack returns the names from the root's first child down to n.
func (t *Tree) Stack(n NodeID) []string {
	var s []string
	for ; n != Root && n != none; n = t.at(n).parent {
		s = append(s, t.Name(n))
	}
	slices.Reverse(s)
	return s
}

// Order says how [Tree.Children] sorts siblings.
type Order uint8

// Sibling orders.
const (
	// Alphabetical sorts siblings by name, byte by byte, as flamegraph.pl
	// does; then by kind and annotation.
	Alphabetical Order = iota
	// LeftHeavy puts the widest sibling first (ties alphabetical), so the
	// heaviest path runs down the left edge.
	LeftHeavy
)

// Children appends the children of n to dst in the given order and returns
// the extended slice.
func (t *Tree) Children(dst []NodeID, n NodeID, o Order) []NodeID {
	start := len(dst)
	for c := t.at(n).firstChild; c != none; c = t.at(c).nextSibling {
		dst = append(dst, c)
	}
	kids := dst[start:]
	slices.SortFunc(kids, func(a, b NodeID) int {
		if o == LeftHeavy {
			va, vb := t.at(a).total, t.at(b).total
			if va != vb {
				if va > vb {
					return -1
				}
				return 1
			}
		}
		if c := compareNames(t.Name(a), t.Annotation(a).Suffix(), t.Name(b), t.Annotation(b).Suffix()); c != 0 {
			return c
		}
		return int(t.Kind(a)) - int(t.Kind(b))
	})
	return dst
}

// compareNames compares a1+a2 with b1+b2 byte by byte without building
// them: annotated frames sort as flamegraph.pl sorts their input lines,
// suffix included.
func compareNames(a1, a2, b1, b2 string) int {
	if a2 == "" && b2 == "" {
		return strings.Compare(a1, b1)
	}
	at := func(s1, s2 string, i int) (byte, bool) {
		if i < len(s1) {
			return s1[i], true
		}
		if i -= len(s1); i < len(s2) {
			return s2[i], true
		}
		return 0, false
	}
	for i := 0; ; i++ {
		x, okx := at(a1, a2, i)
		y, oky := at(b1, b2, i)
		switch {
		case !okx && !oky:
			return 0
		case !okx:
			return -1
		case !oky:
			return 1
		case x != y:
			return int(x) - int(y)
		}
	}
}

// Walk calls fn for every frame in depth-first order, parents before
// children, siblings in order o. It stops early when fn returns false for a
// frame: that frame's children are skipped.
func (t *Tree) Walk(o Order, fn func(n NodeID, depth int) bool) {
	type item struct {
		n     NodeID
		depth int
	}
	stack := []item{{Root, 0}}
	var kids []NodeID
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !fn(it.n, it.depth) {
			continue
		}
		kids = t.Children(kids[:0], it.n, o)
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, item{kids[i], it.depth + 1})
		}
	}
}

// Reverse returns a new tree whose stacks are those of t read from the leaf
// to the root, as flamegraph.pl's --reverse draws them: the frames that hold
// the self time become the roots.
func (t *Tree) Reverse() *Tree {
	r := NewTree(t.Unit)
	r.SampleType = t.SampleType
	r.scale = t.scale
	if t.base != nil {
		r.base = []int64{0}
	}
	var path []NodeID
	for n := NodeID(1); int(n) < t.count; n++ {
		self := t.Self(n)
		var bself int64
		if t.base != nil {
			bself = t.BaseSelf(n)
		}
		if self == 0 && bself == 0 {
			continue
		}
		path = path[:0]
		for m := n; m != Root; m = t.at(m).parent {
			path = append(path, m)
		}
		cur := Root
		r.at(Root).total += self
		if r.base != nil {
			r.base[Root] += bself
		}
		for _, m := range path {
			cur = r.child(cur, r.internString(t.Name(m))|t.flags(m))
			r.at(cur).total += self
			if r.base != nil {
				r.base[cur] += bself
			}
		}
	}
	return r
}

// Diff returns a differential tree: every frame of after with after's values,
// and every frame of before with before's values as the baseline ([Tree.Base]).
// Frames only in before are kept with a value of zero, so the folded diff
// output lists them. When normalize is true the baseline is scaled so that its
// total equals after's total, which compares shapes rather than sample counts.
// Trees with fractional counts are brought to the finer [Tree.Scale]; Diff
// fails with [ErrOverflow] when values do not fit at that scale.
func Diff(before, after *Tree, normalize bool) (*Tree, error) {
	d := NewTree(after.Unit)
	d.SampleType = after.SampleType
	d.base = []int64{0}
	d.scale = max(before.scale, after.scale)
	// Integer factors bring both trees to d's scale.
	fb, fa := d.scale/before.scale, d.scale/after.scale
	if before.Total() > math.MaxInt64/fb || after.Total() > math.MaxInt64/fa {
		return nil, &ParseError{Input: "diff", Expected: "values that fit in int64 at the finer scale of the two inputs", Err: ErrOverflow}
	}
	scale := func(v int64) int64 { return v * fb }
	if normalize && before.Total() > 0 && after.Total() > 0 && before.Total()*fb != after.Total()*fa {
		bt, at := float64(before.Total()*fb), float64(after.Total()*fa)
		scale = func(v int64) int64 {
			// Rounded v*at/bt without overflowing for large totals.
			return int64(float64(v*fb)*at/bt + 0.5)
		}
	}
	type pair struct{ s, d NodeID }
	merge := func(src *Tree, isBase bool) {
		stack := []pair{{Root, Root}}
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if isBase {
				d.base[p.d] += scale(src.at(p.s).total)
			} else {
				d.at(p.d).total += src.at(p.s).total * fa
			}
			for c := src.at(p.s).firstChild; c != none; c = src.at(c).nextSibling {
				key := d.internString(src.Name(c)) | src.flags(c)
				stack = append(stack, pair{c, d.child(p.d, key)})
			}
		}
	}
	merge(after, false)
	merge(before, true)
	// Scaling rounds each frame on its own; keep every frame's baseline at
	// least the sum of its children's so that derived self values stay >= 0.
	// Children have higher IDs than their parents, so a backward pass sees
	// every frame's children before the frame.
	sum := make([]int64, d.count)
	for n := NodeID(d.count - 1); n >= Root; n-- {
		d.base[n] = max(d.base[n], sum[n])
		if p := d.at(n).parent; p != none {
			sum[p] += d.base[n]
		}
	}
	return d, nil
}

// stripCR drops a trailing carriage return.
func stripCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}
