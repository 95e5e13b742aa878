package spans

import (
	"math/big"
	"slices"
	"strings"
)

// WallSweep is the definition of wall-clock attribution applied literally,
// the reference the tests hold [Aggregator] to (here and end to end). It is
// far too slow for real input: it walks the trace step nanoseconds at a time, and each
// step, starting at the top level, is split equally among the spans active
// through all of it, level by level. Every span boundary must be a multiple
// of step. Values are exact rationals of nanoseconds keyed by the frames'
// "service: name" paths joined with ";"; the root is the empty path, and
// every frame is present even when it got no time.
func WallSweep(tr *Trace, step int64) map[string]*big.Rat {
	out := map[string]*big.Rat{"": new(big.Rat)}
	label := func(i int32) string { return tr.Spans[i].Service + ": " + tr.Spans[i].Name }
	var visit func(kids []int32, at int64, w *big.Rat, path string)
	visit = func(kids []int32, at int64, w *big.Rat, path string) {
		var active []int32
		for _, c := range kids {
			if tr.Start[c] <= at && at+step <= tr.End[c] {
				active = append(active, c)
			}
		}
		if len(active) == 0 {
			return
		}
		share := new(big.Rat).Quo(w, big.NewRat(int64(len(active)), 1))
		for _, c := range active {
			p := label(c)
			if path != "" {
				p = path + ";" + p
			}
			if out[p] == nil {
				out[p] = new(big.Rat)
			}
			out[p].Add(out[p], share)
			visit(tr.Children(c), at, share, p)
		}
	}
	for i := range tr.Spans {
		var parts []string
		for j := int32(i); j != None; j = tr.Parent[j] {
			parts = append(parts, label(j))
		}
		slices.Reverse(parts)
		if p := strings.Join(parts, ";"); out[p] == nil {
			out[p] = new(big.Rat)
		}
	}
	for at := tr.Begin; at < tr.Finish; at += step {
		out[""].Add(out[""], big.NewRat(step, 1))
		visit(tr.Roots(), at, big.NewRat(step, 1), "")
	}
	return out
}
