package spans

import (
	"cmp"
	"slices"
)

// Bar is one span of a per-trace flame chart.
type Bar struct {
	Span int32 // index into Trace.Spans
	// Row is the bar's row, 0 for the top level; a child is always below
	// its parent.
	Row        int32
	Start, End int64 // the span's own times, Unix nanoseconds
	// Before and After are how long the span runs before its parent starts
	// and after its parent ends (async work), in nanoseconds; 0 for a span
	// within its parent and for top-level spans.
	Before, After int64
	// Self is the time of the span that none of its children covers, in
	// nanoseconds.
	Self int64
	// Critical reports whether the span is on the trace's critical path.
	Critical bool
	Class    Class
}

// Chart is the layout of one trace's flame chart (x = time): every span at
// its real start and end, siblings whose subtrees overlap in time in
// separate lanes, so that no two bars overlap; a child that starts before
// or ends after its parent is drawn at its real time, the part outside its
// parent marked (Bar.Before, Bar.After). Bars are in depth-first order,
// parents before children, siblings by start time.
type Chart struct {
	Trace         *Trace
	Begin, Finish int64 // the time axis
	Rows          int32 // rows used
	Bars          []Bar
	// Critical is the trace's critical path, in time order.
	Critical []Segment
}

// Layout lays out one trace. Each span's children are packed into lanes:
// a child goes into the first lane whose last child ended at or before its
// start (zero-length spans take one nanosecond for this test, so that two
// of them at the same instant do not share a lane, even as descendants). A lane is as tall
// as the tallest subtree in it, and lanes stack below the parent, so the
// subtree of a span occupies rows that no sibling overlapping it in time
// uses.
//
// Of the options only [WithRuntime] applies: the critical path then crosses
// goroutines ([CriticalPath]).
func Layout(t *Trace, opts ...AnalysisOption) *Chart {
	ch := &Chart{Trace: t, Begin: t.Begin, Finish: t.Finish}
	ch.Critical = CriticalPath(t, opts...)
	crit := make([]bool, len(t.Spans))
	for _, s := range ch.Critical {
		for j := s.Span; j != None && !crit[j]; j = t.Parent[j] {
			crit[j] = true
		}
	}
	n := len(t.Spans)
	height := make([]int32, n)
	offset := make([]int32, n) // row of a child relative to its parent's row+1
	// Heights bottom-up: reverse of a pre-order.
	order := t.PreOrder(make([]int32, 0, n))
	// occ is the end of the time a span's subtree occupies on screen: a
	// zero-length span still takes a nanosecond, even at its parent's end.
	occ := make([]int64, n)
	var lanes []lane
	for k := len(order) - 1; k >= 0; k-- {
		i := order[k]
		occ[i] = max(t.End[i], t.Spans[i].Start+1) // its own bar at least a nanosecond
		for _, c := range t.Children(i) {
			occ[i] = max(occ[i], occ[c])
		}
		h := packLanes(t, t.Children(i), height, offset, occ, &lanes)
		height[i] = 1 + h
	}
	ch.Rows = packLanes(t, t.Roots(), height, offset, occ, &lanes)

	row := make([]int32, n)
	ch.Bars = make([]Bar, 0, n)
	var spans [][2]int64
	for _, i := range order { // parents first
		p := t.Parent[i]
		if p == None {
			row[i] = offset[i]
		} else {
			row[i] = row[p] + 1 + offset[i]
		}
		s, e := t.Spans[i].Start, t.OwnEnd(i)
		bar := Bar{Span: i, Row: row[i], Start: s, End: e, Critical: crit[i], Class: ClassOf(t.Spans[i].Kind)}
		if p != None {
			ps, pe := t.Spans[p].Start, t.OwnEnd(p)
			bar.Before = max(0, min(ps, e)-s)
			bar.After = max(0, e-max(pe, s))
		}
		spans = spans[:0]
		for _, c := range t.Children(i) {
			spans = append(spans, [2]int64{t.Spans[c].Start, t.OwnEnd(c)})
		}
		bar.Self = e - s - covered(spans, s, e)
		ch.Bars = append(ch.Bars, bar)
	}
	return ch
}

type lane struct {
	end    int64
	height int32
	top    int32
}

// packLanes assigns the spans kids (sorted by start) to lanes, sets each
// one's offset to its lane's top row, and returns the rows the lanes use.
func packLanes(t *Trace, kids []int32, height, offset []int32, occ []int64, lanes *[]lane) int32 {
	ls := (*lanes)[:0]
	which := make([]int32, len(kids))
	for ki, c := range kids {
		end := occ[c]
		j := 0
		for j < len(ls) && ls[j].end > t.Start[c] {
			j++
		}
		if j == len(ls) {
			ls = append(ls, lane{})
		}
		ls[j].end = end
		ls[j].height = max(ls[j].height, height[c])
		which[ki] = int32(j)
	}
	var top int32
	for j := range ls {
		ls[j].top = top
		top += ls[j].height
	}
	for ki, c := range kids {
		offset[c] = ls[which[ki]].top
	}
	*lanes = ls
	return top
}

// covered returns the length of the union of the intervals within [s, e);
// it sorts them.
func covered(spans [][2]int64, s, e int64) int64 {
	slices.SortFunc(spans, func(x, y [2]int64) int { return cmp.Compare(x[0], y[0]) })
	var total, curS, curE int64
	open := false
	for _, iv := range spans {
		cs, ce := max(iv[0], s), min(iv[1], e)
		if ce <= cs {
			continue
		}
		if !open || cs > curE {
			if open {
				total += curE - curS
			}
			curS, curE, open = cs, ce, true
			continue
		}
		curE = max(curE, ce)
	}
	if open {
		total += curE - curS
	}
	return total
}
