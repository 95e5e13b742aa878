package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/flame/svg"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// spanOptions are the flags that shape a flame graph of traces.
type spanOptions struct {
	analysis  []spans.AnalysisOption
	quiet     bool
	slow      time.Duration // outline frames with a span at least this long; 0: none
	critical  bool          // compute critical paths for the SVG's tooltips
	spansOnly bool          // --spans: every input must be trace data
	services  serviceNames  // filled by the readers: the services of every span drawn
	rt        spans.Runtime // with an execution trace: what it saw of the spans
}

func (o *options) spanOptions() (spanOptions, error) {
	sp := spanOptions{services: serviceNames{}}
	sp.spansOnly = o.spansOnly
	switch o.weight {
	case "wall":
		sp.analysis = append(sp.analysis, spans.WithWeight(spans.WeightWall))
	case "sum":
		sp.analysis = append(sp.analysis, spans.WithWeight(spans.WeightSum))
	default:
		return sp, &UsageError{Msg: fmt.Sprintf("flamegen: --weight %q: expected wall or sum", o.weight)}
	}
	if o.groupIDs {
		sp.analysis = append(sp.analysis, spans.WithGroupIDs())
	}
	sp.quiet = o.quiet
	if o.slow < 0 {
		return sp, &UsageError{Msg: fmt.Sprintf("flamegen: --slow %v: expected a positive duration", o.slow)}
	}
	sp.slow = o.slow
	sp.critical = o.format == "svg"
	return sp, nil
}

// loadTraces aggregates every trace of in into one flame graph of span
// frames ("service: span name"), valued in nanoseconds of wall time.
// Repairs of broken traces are reported on stderr.
// The SVG's tooltips say each frame's share of the critical paths.
func loadTraces(in *input, stderr io.Writer, sp spanOptions, max int64) (*flame.Tree, []svg.Option, error) {
	set, err := spans.Read(in.r, in.name, spans.WithMaxValueBytes(valueLimit(max)), spans.WithMaxDecompressedBytes(max))
	if err != nil {
		return nil, nil, err
	}
	return aggregateSet(set, in.name, stderr, sp)
}

// frameOptions are the SVG options tied to the frames of agg's tree: a
// tooltip note per span frame (its spans, their mean and longest duration,
// errors, and what extra adds), the outline of frames with errors and the
// --slow outlines. They are only valid
// for that tree, not for a diff or a reversed one.
func frameOptions(agg *spans.Aggregator, sp spanOptions, extra func(n flame.NodeID) string) []svg.Option {
	t := agg.Tree()
	note := func(n flame.NodeID) string {
		if st, ok := agg.StateFrame(n); ok {
			return "time its parent's spans' goroutines spent " + statePhrase[st] + ", in the parent's own time (execution trace)"
		}
		if n == flame.Root || t.Kind(n) == flame.KindCPU || agg.Count(n) == 0 {
			return ""
		}
		c := agg.Count(n)
		s := fmt.Sprintf("%d spans, mean %s, max %s", c, dur(agg.TotalDuration(n)/c), exact(agg.MaxDuration(n)))
		if c == 1 {
			s = "1 span of " + exact(agg.MaxDuration(n))
		}
		if cls := agg.Class(n); cls.OffCPU() {
			s = cls.String() + ": " + s
		}
		if e := agg.Errors(n); e > 0 {
			s += fmt.Sprintf(", %d with status Error", e)
		}
		if st, ok := agg.States(n); ok {
			s += "; on the goroutine: " + statesLine(st)
			if w := agg.Waits(n); len(w) > 0 {
				s += "; waited most on " + waitLine(w[0])
			}
		}
		if extra != nil {
			if x := extra(n); x != "" {
				s += "; " + x
			}
		}
		return s
	}
	opts := []svg.Option{svg.WithNotes(note), svg.WithErrors(func(n flame.NodeID) bool {
		return t.Kind(n) != flame.KindCPU && agg.Count(n) > 0 && agg.Errors(n) > 0
	}, "with spans of status Error")}
	if sp.slow > 0 {
		slow := int64(sp.slow)
		opts = append(opts, svg.WithMarked(func(n flame.NodeID) bool {
			return t.Kind(n) != flame.KindCPU && agg.Count(n) > 0 && agg.MaxDuration(n) >= slow
		}, "with a span of "+dur(slow)+" or longer (--slow)"))
	}
	return opts
}

// loadMerged reads the traces of traces and the pprof profiles named in
// profiles (merged into one, as go tool pprof merges them) and nests each
// sample's stack under the frame of the span it ran in (its span_id label);
// see [spans.Aggregator.NestCPU]. The SVG options it returns put each span
// frame's CPU time in its tooltip and say what the colours mean.
//
// The traces may be a Go execution trace with marked spans instead, or be
// followed by one (see readSpans): off-CPU states then nest under the
// spans, and the CPU stacks fill the time they were running.
func loadMerged(src *sources, traces *input, rest []string, sampleType string, sp spanOptions, stderr io.Writer) (*flame.Tree, []svg.Option, error) {
	defer traces.done()
	ss, profiles, err := readSpans(src, traces, rest, []spans.Option{spans.WithMaxValueBytes(valueLimit(src.maxSize)), spans.WithMaxDecompressedBytes(src.maxSize)}, &sp, stderr)
	if err != nil {
		return nil, nil, err
	}
	defer func() { // the first profile, opened already, if it is not read
		if ss.next != nil {
			ss.next.done()
		}
	}()
	set := ss.set
	if len(profiles) == 0 {
		return aggregateSet(set, ss.name, stderr, sp)
	}
	var profs []*profile.Profile
	for _, name := range profiles {
		in := ss.next
		ss.next = nil
		if in == nil {
			if in, err = src.open(name); err != nil {
				return nil, nil, err
			}
		}
		if in.kind != kindPprof {
			in.done()
			return nil, nil, &UsageError{Msg: fmt.Sprintf("flamegen: %s: expected a pprof profile, not %s: with several inputs the first is the traces and the others are profiles", name, in.kind)}
		}
		p, err := flame.ReadProfile(in.r, name, flame.WithMaxBytes(src.maxSize))
		in.done()
		if err != nil {
			return nil, nil, err
		}
		profs = append(profs, p)
	}
	p, err := flame.MergeProfiles(profs, profiles)
	if err != nil {
		return nil, nil, err
	}
	cpu, err := spans.ReadSpanCPU(p, sampleType)
	if err != nil {
		return nil, nil, &UsageError{Msg: fmt.Sprintf("flamegen: %s: %v", strings.Join(profiles, ", "), err)}
	}

	in := ss.name
	agg := spans.NewAggregator(append(slices.Clip(sp.analysis), spans.WithSpanCPU(cpu), spans.WithCPUStacks())...)
	if err := set.Each(func(t *spans.Trace) error { sp.services.add(t); return agg.Add(t) }); err != nil {
		return nil, nil, &flame.ParseError{Input: in, Err: err, Expected: "traces whose times add up to at most 292 years"}
	}
	if err := checkTraces(agg, in); err != nil {
		return nil, nil, err
	}
	agg.NestCPU()
	if w := agg.Warnings(); w.Any() && !sp.quiet {
		fmt.Fprintf(stderr, "flamegen: %s: repaired: %v\n", in, w)
	}
	t := agg.Tree()
	inSpans := cpu.Total - outsideCPU(t)
	note := func(n flame.NodeID) string {
		c, d := agg.CPU(n), agg.TotalDuration(n)
		if c == 0 {
			return "no CPU samples"
		}
		s := "on CPU " + formatNs(c, cpu.Unit)
		if cpu.Unit == "nanoseconds" && d > 0 {
			s += fmt.Sprintf(", %.1f%% of its spans' %s", 100*float64(c)/float64(d), formatNs(d, "nanoseconds"))
		}
		if self := t.Self(n) + cpuChildren(t, n); c > self {
			s += " (stacks scaled into its self time)"
		}
		return s
	}
	legend := []string{
		fmt.Sprintf("Blue-grey: span frames (wall time); warm colours above a span: the CPU stacks sampled in it (%s of %s sampled ran in these traces' spans).", formatNs(inSpans, cpu.Unit), formatNs(cpu.Total, cpu.Unit)),
		"Blue-green: lock waits and channel blocks (off CPU). " + spans.NoSpan + ": samples outside the traces' spans.",
	}
	if sp.rt != nil {
		legend = append(legend, statesLegend)
	}
	return t, append(frameOptions(agg, sp, note), svg.WithLegend(legend...)), nil
}

// statesLegend explains the state frames of a graph joined with an
// execution trace.
const statesLegend = "In parentheses: a span's own time off CPU, from the execution trace: (runnable) waiting for a P, (syscall), (lock: …), (chan recv: …), (sleep), (gc)."

// outsideCPU is the value of the NoSpan frame, if any.
func outsideCPU(t *flame.Tree) int64 {
	for _, c := range t.Children(nil, flame.Root, flame.Alphabetical) {
		if t.Name(c) == spans.NoSpan && t.Kind(c) == flame.KindSpan {
			return t.Value(c)
		}
	}
	return 0
}

// cpuChildren is the value of n's CPU children: the part of n's self time
// its nested stacks took.
func cpuChildren(t *flame.Tree, n flame.NodeID) int64 {
	var v int64
	for _, c := range t.Children(nil, n, flame.Alphabetical) {
		if t.Kind(c) == flame.KindCPU {
			v += t.Value(c)
		}
	}
	return v
}

// formatNs formats a profile value: a duration for nanoseconds.
func formatNs(v int64, unit string) string {
	if unit == "nanoseconds" {
		return time.Duration(v).Round(10 * time.Microsecond).String()
	}
	return fmt.Sprintf("%d %s", v, unit)
}
