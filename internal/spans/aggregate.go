package spans

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// Weight says how an [Aggregator] measures a frame.
type Weight uint8

// Weights.
const (
	// WeightWall is wall-clock attribution (the default): every instant of
	// a span is split equally among its children active at that instant,
	// and the instants no child covers are the span's self time. A frame's
	// width is its share of the traces' latency, and the root's width is
	// the traces' total wall time.
	WeightWall Weight = iota
	// WeightSum is thread time: a span counts its whole duration, and a
	// span whose children together ran longer than it (in parallel) widens
	// to hold them, so the root's width is the sum of the work done.
	WeightSum
)

// String returns "wall" or "sum".
func (w Weight) String() string {
	if w == WeightSum {
		return "sum"
	}
	return "wall"
}

// AnalysisOption configures [NewAggregator] and [NewCriticalPaths].
type AnalysisOption interface{ applyAnalysis(*analysisConfig) }

type analysisOptionFunc func(*analysisConfig)

func (f analysisOptionFunc) applyAnalysis(c *analysisConfig) { f(c) }

type analysisConfig struct {
	weight Weight
	group  grouper
	cpu    *SpanCPU
	stacks bool
	rt     Runtime
}

func newAnalysisConfig(opts []AnalysisOption) analysisConfig {
	var c analysisConfig
	for _, o := range opts {
		o.applyAnalysis(&c)
	}
	return c
}

// WithWeight chooses the weighting; the default is [WeightWall]. Critical
// paths ignore it.
func WithWeight(w Weight) AnalysisOption {
	return analysisOptionFunc(func(c *analysisConfig) { c.weight = w })
}

// WithGroupIDs merges spans whose names differ only in ids, as [GroupIDs]
// rewrites them ("/users/123" and "/users/456" become "/users/{id}"). Off by
// default.
func WithGroupIDs() AnalysisOption {
	return analysisOptionFunc(func(c *analysisConfig) { c.group.ids = true })
}

// WithGroupPattern rewrites span names with re.ReplaceAllString(name, repl)
// before they become frames, after [WithGroupIDs] when both are given.
// Several patterns apply in order.
func WithGroupPattern(re *regexp.Regexp, repl string) AnalysisOption {
	return analysisOptionFunc(func(c *analysisConfig) {
		c.group.rules = append(c.group.rules, groupRule{re, repl})
	})
}

// WithSpanCPU attributes the samples of a profile to the frames of the
// spans they ran in, for [Aggregator.CPU]: how much of a frame's time was
// spent on CPU. Without it CPU reads 0.
func WithSpanCPU(c *SpanCPU) AnalysisOption {
	return analysisOptionFunc(func(cfg *analysisConfig) { cfg.cpu = c })
}

// WithCPUStacks makes [Aggregator.NestCPU] available: the stacks of the
// [WithSpanCPU] profile's samples are kept to be nested under the frames of
// the spans they ran in. Off by default.
func WithCPUStacks() AnalysisOption {
	return analysisOptionFunc(func(c *analysisConfig) { c.stacks = true })
}

// WithRuntime joins what an execution trace saw of the spans (package
// exectrace builds rt): [Aggregator.States] and [Aggregator.Waits] say where
// each frame's spans' time went, [Aggregator.NestStates] adds their off-CPU
// states as child frames, and critical paths cross goroutines through lock
// and channel waits ([CriticalPath]).
func WithRuntime(rt Runtime) AnalysisOption {
	return analysisOptionFunc(func(c *analysisConfig) { c.rt = rt })
}

// labeler turns spans into frame names, "service: name", caching them.
type labeler struct {
	group  *grouper
	labels map[[2]string]string
}

func (l *labeler) label(sp *Span) string {
	k := [2]string{sp.Service, sp.Name}
	if s, ok := l.labels[k]; ok {
		return s
	}
	name := l.group.group(sp.Name)
	s := name
	if sp.Service != "" {
		s = sp.Service + ": " + name
	}
	if l.labels == nil {
		l.labels = make(map[[2]string]string)
	}
	l.labels[k] = s
	return s
}

// Aggregator builds one flame graph over many traces: a frame per distinct
// path of "service: span name" from the root, weighted as [WithWeight] says,
// in nanoseconds. Lock waits and channel blocks are [flame.KindOffCPU]
// frames (drawn in the off-CPU palette), every other span a [flame.KindSpan]
// frame; [Aggregator.Class] says which class a frame's spans are.
//
// An Aggregator is not safe for concurrent use.
type Aggregator struct {
	cfg      analysisConfig
	lab      labeler
	tree     *flame.Tree
	class    []Class
	count    []int64
	errs     []int64
	maxDur   []int64
	sumDur   []int64
	cpu      []int64
	warnings Warnings
	traces   int

	levels  []level
	frames  []wallFrame
	scratch []piece
	totals  []int64
	nodes   []flame.NodeID
	walk    []int32
	sizes   []int32 // spans in each span's subtree, itself included

	// With WithCPUStacks: the frame of every span that has samples, and
	// every span seen.
	cpuFrames []cpuFrame
	seen      map[SpanID]bool
	nested    bool

	// With WithRuntime: see states.go.
	rs rtState
}

// cpuFrame is a span with CPU samples and the frame it went to.
type cpuFrame struct {
	n  flame.NodeID
	id SpanID
}

// level is the scratch of one span whose children [Aggregator.wall] is
// attributing.
type level struct {
	bp     []int64   // breakpoints
	dens   []float64 // density of each segment
	k      []int32   // active children of each segment
	g      []float64 // prefix sums of each child's share
	f      []float64 // shares: self, then children
	v      []int64   // apportioned integer shares
	order  []int32
	pieces []piece // pieces handed to one child
	times  []int64 // that child's subtree's start and end times
}

// piece is a stretch [a, b) of a span over which one nanosecond of wall
// time is worth d nanoseconds of that span's share.
type piece struct {
	a, b int64
	d    float64
}

// NewAggregator returns an empty aggregator.
func NewAggregator(opts ...AnalysisOption) *Aggregator {
	a := &Aggregator{cfg: newAnalysisConfig(opts)}
	a.lab.group = &a.cfg.group
	a.tree = flame.NewTree("nanoseconds")
	a.tree.SampleType = "wall"
	if a.cfg.weight == WeightSum {
		a.tree.SampleType = "span-sum"
	}
	a.grow()
	return a
}

// Tree returns the aggregated tree. Its root's value is the total wall time
// (or, with [WeightSum], the total span time) of the traces added.
func (a *Aggregator) Tree() *flame.Tree { return a.tree }

// Class returns the class of the spans of frame n (of the first span seen
// there, should they differ).
func (a *Aggregator) Class(n flame.NodeID) Class { return a.class[n] }

// Count returns how many spans frame n stands for.
func (a *Aggregator) Count(n flame.NodeID) int64 { return a.count[n] }

// Errors returns how many spans of frame n had status Error.
func (a *Aggregator) Errors(n flame.NodeID) int64 { return a.errs[n] }

// MaxDuration returns the longest duration of a span of frame n, in
// nanoseconds (its own duration, not its share): what a --slow threshold
// compares.
func (a *Aggregator) MaxDuration(n flame.NodeID) int64 { return a.maxDur[n] }

// TotalDuration returns the summed durations of the spans of frame n;
// divided by [Aggregator.Count] it is their mean.
func (a *Aggregator) TotalDuration(n flame.NodeID) int64 { return a.sumDur[n] }

// CPU returns the profile value (CPU time, with a CPU profile) of the
// samples that ran in the spans of frame n itself, not in its children's
// spans; see [WithSpanCPU].
func (a *Aggregator) CPU(n flame.NodeID) int64 { return a.cpu[n] }

// Warnings returns the assembly warnings of the traces added.
func (a *Aggregator) Warnings() Warnings { return a.warnings }

// Traces returns the number of traces added.
func (a *Aggregator) Traces() int { return a.traces }

func (a *Aggregator) grow() {
	for len(a.class) < a.tree.Len() {
		a.class = append(a.class, ClassWork)
		a.count = append(a.count, 0)
		a.errs = append(a.errs, 0)
		a.maxDur = append(a.maxDur, 0)
		a.sumDur = append(a.sumDur, 0)
		a.cpu = append(a.cpu, 0)
	}
}

// enter returns the frame of span i below frame parent with v added to it
// (its whole subtree's value: frames are entered top-down, so entering
// costs no walk up to the root however deep the trace), and records the
// span there.
func (a *Aggregator) enter(parent flame.NodeID, t *Trace, i int32, v int64) flame.NodeID {
	sp := &t.Spans[i]
	cls := ClassOf(sp.Kind)
	n := a.tree.Descend(parent, a.lab.label(sp), cls.FrameKind(), v)
	fresh := int(n) >= len(a.class)
	a.grow()
	if fresh {
		a.class[n] = cls
	}
	a.count[n]++
	d := sp.Duration()
	a.maxDur[n] = max(a.maxDur[n], d)
	a.sumDur[n] = satAdd(a.sumDur[n], d)
	if a.cfg.cpu != nil {
		c := a.cfg.cpu.Of(sp.ID)
		a.cpu[n] = satAdd(a.cpu[n], c)
		if a.cfg.stacks {
			if a.seen == nil {
				a.seen = make(map[SpanID]bool)
			}
			if c != 0 && !a.seen[sp.ID] {
				a.cpuFrames = append(a.cpuFrames, cpuFrame{n, sp.ID})
			}
			a.seen[sp.ID] = true
		}
	}
	if sp.Error() {
		a.errs[n]++
	}
	if a.cfg.rt != nil {
		a.runtime(n, t, i)
	}
	return n
}

// satAdd adds non-negative values, stopping at the int64 maximum: sums of
// span durations that only feed means and tooltips.
func satAdd(x, y int64) int64 {
	if x > math.MaxInt64-y {
		return math.MaxInt64
	}
	return x + y
}

// Add adds one assembled trace. It fails with [flame.ErrOverflow], adding
// nothing, when the traces' total time would pass the int64 range.
func (a *Aggregator) Add(t *Trace) error {
	if len(t.Spans) == 0 {
		a.traces++
		return nil
	}
	if a.cfg.weight == WeightSum {
		if err := a.sum(t); err != nil {
			return err
		}
		a.traces++
		a.warnings.Add(t.Warnings)
		return nil
	}
	if a.tree.Total() > math.MaxInt64-t.Wall() {
		return overflow(t)
	}
	a.traces++
	a.warnings.Add(t.Warnings)
	a.subtreeSizes(t)
	a.tree.AddUnder(flame.Root, nil, flame.KindSpan, t.Wall())
	a.wall(t)
	return nil
}

// overflow is the error of a trace whose time does not fit in the sums.
func overflow(t *Trace) error {
	return fmt.Errorf("trace %s: %w: the traces' times add up to more than 292 years", t.ID, flame.ErrOverflow)
}

// subtreeSizes fills a.sizes for t: children are counted before their
// parents by walking a pre-order backwards.
func (a *Aggregator) subtreeSizes(t *Trace) {
	n := len(t.Spans)
	a.sizes = slices.Grow(a.sizes[:0], n)[:n]
	a.walk = t.PreOrder(a.walk[:0])
	for k := len(a.walk) - 1; k >= 0; k-- {
		i := a.walk[k]
		a.sizes[i] = 1
		for _, c := range t.Children(i) {
			a.sizes[i] += a.sizes[c]
		}
	}
}

func (a *Aggregator) kids(t *Trace, i int32) []int32 {
	if i == None {
		return t.Roots()
	}
	return t.Children(i)
}

// wallFrame is a span whose children [Aggregator.wall] is attributing: the
// span (None: the trace's top level), its frame, the next child to enter,
// and the level holding its scratch.
type wallFrame struct {
	i     int32
	n     flame.NodeID
	next  int
	level int
}

// wall attributes each span's value, starting from the trace's wall time
// at its top level, to the span itself and its children, top-down. The
// integer shares of a span and its children add up to exactly its value:
// fractions are apportioned by largest remainder, ties to the earlier child,
// so the result is exact and deterministic.
//
// It walks with a stack of its own rather than recursing, and a span's
// scratch is released when its last child is entered, so that a deep chain
// of single children needs one level of scratch, not one per span.
func (a *Aggregator) wall(t *Trace) {
	stack := a.frames[:0]
	if a.split(t, None, []piece{{t.Begin, t.Finish, 1}}, t.Wall(), 0) {
		stack = append(stack, wallFrame{i: None, n: flame.Root})
	}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		kids := a.kids(t, f.i)
		ci := f.next
		f.next++
		L := &a.levels[f.level]
		c := kids[ci]
		v := L.v[ci+1]
		cn := a.enter(f.n, t, c, v)
		last := f.next == len(kids)
		if len(t.Children(c)) == 0 {
			if last {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if t.Start[c] == t.End[c] {
			// A zero-length span with children: they get no time, but
			// their frames exist.
			a.zero(cn, t, c)
			if last {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		// The parent's segments inside c, or one piece per stretch between
		// c's subtree's times: whichever is fewer.
		s, _ := slices.BinarySearch(L.bp, t.Start[c])
		e, _ := slices.BinarySearch(L.bp, t.End[c])
		var ps []piece
		if e-s <= 2*int(a.sizes[c])+1 {
			ps = L.pieces[:0]
			for j := s; j < e; j++ {
				ps = append(ps, piece{L.bp[j], L.bp[j+1], L.dens[j] / float64(L.k[j])})
			}
			L.pieces = ps
		} else {
			ps = a.childPieces(t, c, L)
		}
		// c's pieces are copied: its level may be the one they live in.
		a.scratch = append(a.scratch[:0], ps...)
		if last {
			stack = stack[:len(stack)-1]
		}
		level := len(stack)
		if a.split(t, c, a.scratch, v, level) {
			stack = append(stack, wallFrame{i: c, n: cn, level: level})
		}
	}
	a.frames = stack
}

// split computes, in a.levels[at], how span i's value v (its density
// over time given by pieces) divides between its own time and each child:
// L.v[0] is i's self time and L.v[1+k] child k's share. It reports whether
// i has children.
func (a *Aggregator) split(t *Trace, i int32, pieces []piece, v int64, at int) bool {
	kids := a.kids(t, i)
	if len(kids) == 0 {
		return false
	}
	for at >= len(a.levels) {
		a.levels = append(a.levels, level{})
	}
	L := &a.levels[at]

	// Breakpoints: piece boundaries and child starts and ends.
	bp := L.bp[:0]
	for _, p := range pieces {
		bp = append(bp, p.a)
	}
	bp = append(bp, pieces[len(pieces)-1].b)
	for _, c := range kids {
		bp = append(bp, t.Start[c], t.End[c])
	}
	slices.Sort(bp)
	bp = slices.Compact(bp)
	L.bp = bp
	nseg := len(bp) - 1

	// Active children per segment, from +1/-1 at their ends.
	k := slices.Grow(L.k[:0], nseg+1)[:nseg+1]
	clear(k)
	for _, c := range kids {
		if t.Start[c] < t.End[c] {
			s, _ := slices.BinarySearch(bp, t.Start[c])
			e, _ := slices.BinarySearch(bp, t.End[c])
			k[s]++
			k[e]--
		}
	}
	dens := slices.Grow(L.dens[:0], nseg)[:nseg]
	g := slices.Grow(L.g[:0], nseg+1)[:nseg+1]
	g[0] = 0
	self := 0.0
	active := int32(0)
	pi := 0
	for j := range nseg {
		active += k[j]
		k[j] = active
		for pi < len(pieces)-1 && pieces[pi].b <= bp[j] {
			pi++
		}
		d := pieces[pi].d
		dens[j] = d
		w := float64(bp[j+1]-bp[j]) * d
		if active == 0 {
			self += w
			g[j+1] = g[j]
		} else {
			g[j+1] = g[j] + w/float64(active)
		}
	}
	L.k, L.dens, L.g = k, dens, g

	f := append(L.f[:0], self)
	for _, c := range kids {
		s, _ := slices.BinarySearch(bp, t.Start[c])
		e, _ := slices.BinarySearch(bp, t.End[c])
		f = append(f, g[e]-g[s])
	}
	L.f = f
	L.v, L.order = apportion(v, f, L.v, L.order)
	return true
}

// zero enters the descendants of span i (frame n) with no value.
func (a *Aggregator) zero(n flame.NodeID, t *Trace, i int32) {
	type item struct {
		n flame.NodeID
		i int32
	}
	stack := []item{{n, i}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range t.Children(it.i) {
			stack = append(stack, item{a.enter(it.n, t, c, 0), c})
		}
	}
}

// childPieces returns child c's density over time as pieces. Only the
// integral of the density between two consecutive start or end times of c's
// subtree matters below c (no descendant's set of active children changes
// inside such a stretch), so c gets one piece per stretch, with the mean
// density there. Handing c the parent's own segments instead would cost, for
// n overlapping siblings, O(n) pieces each and O(n²) in all; this costs the
// size of c's subtree, which [Aggregator.wall] uses when it is smaller.
func (a *Aggregator) childPieces(t *Trace, c int32, L *level) []piece {
	times := append(L.times[:0], t.Start[c], t.End[c])
	stack := append(a.walk[:0], t.Children(c)...)
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		times = append(times, t.Start[i], t.End[i])
		stack = append(stack, t.Children(i)...)
	}
	a.walk = stack
	slices.Sort(times)
	times = slices.Compact(times)
	L.times = times
	// at integrates the child's share of the parent's density from the
	// parent's first breakpoint to x: prefix sums at breakpoints, linear
	// within a segment (where c is active, so k > 0).
	at := func(x int64) float64 {
		j, found := slices.BinarySearch(L.bp, x)
		if found || j == 0 {
			return L.g[j]
		}
		j--
		return L.g[j] + float64(x-L.bp[j])*L.dens[j]/float64(L.k[j])
	}
	ps := L.pieces[:0]
	prev := at(times[0])
	for i := 1; i < len(times); i++ {
		cur := at(times[i])
		ps = append(ps, piece{times[i-1], times[i], (cur - prev) / float64(times[i]-times[i-1])})
		prev = cur
	}
	L.pieces = ps
	return ps
}

// apportion splits v into integers proportional to f by largest remainder:
// each gets the floor of its share, and the units left go to the largest
// fractional parts, ties to the lower index. The result sums to exactly v.
// When f sums to zero, everything goes to f[0].
func apportion(v int64, f []float64, out []int64, order []int32) ([]int64, []int32) {
	out = slices.Grow(out[:0], len(f))[:len(f)]
	clear(out)
	total := 0.0
	for _, x := range f {
		total += x
	}
	if total <= 0 || v == 0 {
		out[0] = v
		return out, order
	}
	rem := v
	order = order[:0]
	frac := func(i int32) float64 {
		x := f[i] * float64(v) / total
		return x - float64(out[i])
	}
	for i, x := range f {
		share := int64(x * float64(v) / total)
		share = min(max(share, 0), rem)
		out[i] = share
		rem -= share
		order = append(order, int32(i))
	}
	if rem > 0 {
		slices.SortStableFunc(order, func(x, y int32) int { return cmp.Compare(frac(y), frac(x)) })
		for j := 0; rem > 0 && j < len(order); j++ {
			out[order[j]]++
			rem--
		}
		// Only float trouble leaves more than one unit per share; it is
		// self time then, so that the sum stays exact.
		out[0] += rem
	}
	return out, order
}

// sum weights each span by its own duration, widened to hold its children.
func (a *Aggregator) sum(t *Trace) error {
	n := len(t.Spans)
	a.totals = slices.Grow(a.totals[:0], n)[:n]
	a.walk = t.PreOrder(a.walk[:0])
	for k := len(a.walk) - 1; k >= 0; k-- {
		i := a.walk[k]
		var kids int64
		for _, c := range t.Children(i) {
			if kids > math.MaxInt64-a.totals[c] {
				return overflow(t)
			}
			kids += a.totals[c]
		}
		a.totals[i] = max(t.Spans[i].Duration(), kids)
	}
	var top int64
	for _, r := range t.Roots() {
		if top > math.MaxInt64-a.totals[r] {
			return overflow(t)
		}
		top += a.totals[r]
	}
	if a.tree.Total() > math.MaxInt64-top {
		return overflow(t)
	}
	a.tree.AddUnder(flame.Root, nil, flame.KindSpan, top)
	a.nodes = slices.Grow(a.nodes[:0], n)[:n]
	for _, i := range a.walk {
		parent := flame.Root
		if p := t.Parent[i]; p != None {
			parent = a.nodes[p]
		}
		a.nodes[i] = a.enter(parent, t, i, a.totals[i])
	}
	return nil
}

// NoSpan is the name of the top-level frame [Aggregator.NestCPU] puts the
// samples under that ran in no span of the traces.
const NoSpan = "(no span)"

// NestCPU nests the stacks of the [WithSpanCPU] profile under the frames of
// the spans they ran in, as [flame.KindCPU] frames, once every trace has
// been added; it needs [WithCPUStacks] and does nothing the second time.
// With [WithRuntime] it first calls [Aggregator.NestStates], so that the
// stacks fill the time the spans were running.
//
// A span frame's CPU stacks take up part of its self time: with their
// values when they fit, scaled down to fill the self time exactly when the
// samples add up to more (a span's goroutines can run on several cores at
// once, and child goroutines inherit its labels), so that a frame's width
// stays its share of wall time. [Aggregator.CPU] keeps the real value.
// Samples with no span_id, or whose span is not in the traces, go with their
// own values under one top-level [NoSpan] frame, which adds their CPU time
// to the root.
func (a *Aggregator) NestCPU() {
	a.NestStates()
	c := a.cfg.cpu
	if c == nil || !a.cfg.stacks || a.nested {
		return
	}
	a.nested = true
	t := a.tree
	byFrame := map[flame.NodeID][]cpuSample{}
	var frames []flame.NodeID
	for _, f := range a.cpuFrames {
		if _, ok := byFrame[f.n]; !ok {
			frames = append(frames, f.n)
		}
		byFrame[f.n] = append(byFrame[f.n], c.stacks[f.id]...)
	}
	slices.Sort(frames)
	for _, n := range frames {
		ss := byFrame[n]
		self := t.Self(n)
		var sum int64
		for _, s := range ss {
			sum += s.v
		}
		for _, s := range ss {
			v := s.v
			if sum > self {
				v = int64(float64(s.v) * float64(self) / float64(sum))
			}
			nestStack(t, n, s.stack, v)
		}
	}
	// Samples of spans not in the traces, in a fixed order.
	var outside []cpuSample
	outside = append(outside, c.noSpanSt...)
	var ids []SpanID
	for id := range c.stacks {
		if !a.seen[id] {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(x, y SpanID) int { return slices.Compare(x[:], y[:]) })
	for _, id := range ids {
		outside = append(outside, c.stacks[id]...)
	}
	if len(outside) > 0 {
		var sum int64
		for _, s := range outside {
			sum += s.v
		}
		ns := t.AddUnder(flame.Root, []string{NoSpan}, flame.KindSpan, sum)
		for _, s := range outside {
			nestStack(t, ns, s.stack, s.v)
		}
	}
	a.grow()
}

// nestStack adds stack below n with value v, n's own total untouched.
func nestStack(t *flame.Tree, n flame.NodeID, stack []string, v int64) {
	if v <= 0 {
		return
	}
	for _, f := range stack {
		n = t.Descend(n, f, flame.KindCPU, v)
	}
}
