package spans

import (
	"cmp"
	"slices"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// Row is one frame of an aggregated span flame graph with everything known
// about it, for a text or markdown report. Times are nanoseconds.
type Row struct {
	Frame flame.NodeID // the frame in the Aggregator's tree; its Stack names it
	// Order is the frame's place in the tree's alphabetical depth-first
	// walk: comparing Orders compares the frames' stacks.
	Order int
	Class Class
	// Self and Total are the frame's wall-clock attribution: its own time,
	// and its time with its children's.
	Self, Total  int64
	Spans        int64 // spans that make up the frame
	Errors       int64 // of those, spans with status Error
	MaxDuration  int64 // the longest of those spans
	MeanDuration int64
	CPU          int64 // profile samples that ran in those spans (WithSpanCPU)
	// Critical is the frame's own time on the traces' critical paths, and
	// CriticalTraces the number of traces whose path went through it.
	Critical       int64
	CriticalTraces int
	// With WithRuntime: States is where the frame's spans' time went on
	// their goroutines (HasStates says whether the execution trace saw
	// them), Waits what they waited on, longest first. StateFrame marks a
	// frame that [Aggregator.NestStates] added, such as "(runnable)": its
	// States hold its total in its own state.
	States     StateTimes
	HasStates  bool
	Waits      []Wait
	StateFrame bool
}

// Report lists every span frame of agg (the root and CPU frames excepted) with the critical
// path numbers of the same frames in cp, which may be nil, sorted by self
// time, longest first, ties by stack. Both must have been built with the
// same grouping options, so that their frames have the same names. It costs
// time and memory linear in the trees, however deep they are.
func Report(agg *Aggregator, cp *CriticalPaths) []Row {
	t := agg.Tree()
	// crit[n] is the frame of cp's tree with the same stack as n, or -1.
	crit := make([]flame.NodeID, t.Len())
	for i := range crit {
		crit[i] = -1
	}
	type childKey struct {
		parent flame.NodeID
		name   string
	}
	byName := map[childKey]flame.NodeID{}
	if cp != nil {
		ct := cp.Tree()
		ct.Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
			if n != flame.Root {
				byName[childKey{ct.Parent(n), ct.Name(n)}] = n
			}
			return true
		})
		crit[flame.Root] = flame.Root
	}
	rows := make([]Row, 0, t.Len())
	order := 0
	t.Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
		if n == flame.Root {
			return true
		}
		if t.Kind(n) == flame.KindCPU { // stacks nested by NestCPU: not spans
			return false
		}
		order++
		r := Row{
			Frame: n, Order: order, Class: agg.Class(n),
			Self: t.Self(n), Total: t.Value(n),
			Spans: agg.Count(n), Errors: agg.Errors(n), MaxDuration: agg.MaxDuration(n), CPU: agg.CPU(n),
		}
		if r.Spans > 0 {
			r.MeanDuration = agg.TotalDuration(n) / r.Spans
		}
		if agg.cfg.rt != nil {
			r.States, r.HasStates = agg.States(n)
			r.Waits = agg.Waits(n)
			var st State
			if st, r.StateFrame = agg.StateFrame(n); r.StateFrame {
				r.States[st] = r.Total
			}
		}
		if pc := crit[t.Parent(n)]; pc >= 0 {
			if c, ok := byName[childKey{pc, t.Name(n)}]; ok {
				crit[n] = c
				r.Critical = cp.Tree().Self(c)
				r.CriticalTraces = cp.Traces(c)
			}
		}
		rows = append(rows, r)
		return true
	})
	slices.SortStableFunc(rows, func(a, b Row) int {
		if c := cmp.Compare(b.Self, a.Self); c != 0 {
			return c
		}
		return cmp.Compare(a.Order, b.Order)
	})
	return rows
}

// Waits returns the rows of lock waits and channel blocks, longest single
// wait first, ties by stack.
func Waits(rows []Row) []Row {
	var out []Row
	for _, r := range rows {
		if r.Class.OffCPU() {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Row) int {
		if c := cmp.Compare(b.MaxDuration, a.MaxDuration); c != 0 {
			return c
		}
		return cmp.Compare(a.Order, b.Order)
	})
	return out
}
