package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/flame/svg"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// maxTooltipAttrs bounds the attributes listed in a bar's tooltip.
const maxTooltipAttrs = 24

// readTraceSet reads the traces a --trace or --jaeger run draws: from
// Jaeger's query API when --jaeger is set (with an execution trace as the
// one input, if any), else from the inputs as readSpans takes them: a span
// file, an execution trace, or both. sp gains [spans.WithRuntime] with an
// execution trace.
func readTraceSet(o *options, src *sources, pos []string, sp *spanOptions, stderr io.Writer) (spanSource, error) {
	opts := []spans.Option{spans.WithAttributes(), spans.WithMaxValueBytes(valueLimit(src.maxSize)), spans.WithMaxDecompressedBytes(src.maxSize)}
	if o.jaeger != "" {
		if len(pos) > 1 {
			return spanSource{}, &UsageError{Msg: "flamegen: --jaeger reads from Jaeger: expected no input files, or one Go execution trace"}
		}
		q := spans.JaegerQuery{Trace: o.trace, Service: o.service, Operation: o.operation, Lookback: o.lookback, Limit: o.limit}
		if _, err := q.URL(o.jaeger); err != nil {
			return spanSource{}, &UsageError{Msg: "flamegen: --jaeger: " + err.Error()}
		}
		var exec *input
		if len(pos) == 1 {
			in, err := src.open(pos[0])
			if err != nil {
				return spanSource{}, err
			}
			defer in.done()
			if in.kind != kindExec {
				return spanSource{}, &UsageError{Msg: fmt.Sprintf("flamegen: %s: --jaeger reads the spans from Jaeger: expected no input files, or one Go execution trace, not %s", pos[0], in.kind)}
			}
			exec = in
		}
		set, err := spans.ReadJaeger(src.ctx, src.client, o.jaeger, q, opts...)
		if err != nil {
			return spanSource{}, unwrapURLError(err)
		}
		ss := spanSource{set: set, name: o.jaeger}
		if exec != nil {
			xt, err := readExec(exec, src.maxSize, sp.quiet, stderr)
			if err != nil {
				return ss, err
			}
			ss.rt, _ = xt.Join(set)
			sp.analysis = append(slices.Clip(sp.analysis), spans.WithRuntime(ss.rt))
			sp.rt = ss.rt
		}
		return ss, nil
	}
	if len(pos) == 0 || len(pos) > 2 {
		return spanSource{}, &UsageError{Msg: "flamegen: --trace: expected one trace input (OTLP or Jaeger JSON, or a Go execution trace with marked spans), optionally followed by an execution trace, or --jaeger URL"}
	}
	in, err := src.open(pos[0])
	if err != nil {
		return spanSource{}, err
	}
	defer in.done()
	if in.kind != kindTraces && in.kind != kindExec {
		return spanSource{}, &UsageError{Msg: fmt.Sprintf("flamegen: %s: --trace expects traces (OTLP or Jaeger JSON, or a Go execution trace), not %s", pos[0], in.kind)}
	}
	ss, rest, err := readSpans(src, in, pos[1:], opts, sp, stderr)
	if ss.next != nil {
		ss.next.done()
	}
	if err == nil && len(rest) > 0 {
		err = &UsageError{Msg: fmt.Sprintf("flamegen: %s: --trace expects a Go execution trace after the traces, not another input", rest[0])}
	}
	return ss, err
}

// valueLimit is the largest JSON value or protobuf request a --max-size
// allows, as an int.
func valueLimit(max int64) int {
	return int(min(max, math.MaxInt32))
}

// findTrace returns the trace of set with the id (up to 32 hex digits).
func findTrace(set *spans.Set, name, id string) (*spans.Trace, error) {
	tid, ok := spans.ParseTraceID(id)
	if !ok {
		return nil, &UsageError{Msg: fmt.Sprintf("flamegen: --trace %q: expected a trace id of up to 32 hex digits", id)}
	}
	i, ok := set.Lookup(tid)
	if !ok {
		return nil, &UsageError{Msg: fmt.Sprintf("flamegen: %s: no trace %s among its %d traces", name, tid, set.NumTraces())}
	}
	return set.Trace(i), nil
}

// traceChart lays out one trace (spans.Layout) as a time-axis flame chart:
// a bar per span labelled "service: name", off-CPU waits in the off-CPU
// palette, the critical path outlined and underlined, errors marked, and a
// tooltip with the span's name, service, duration, self time, status and
// attributes.
//
// With rt (an execution trace's view of the spans), each span gets a band
// of its goroutine's states and a tooltip breakdown, and the critical path
// crosses goroutines through lock and channel waits.
func traceChart(t *spans.Trace, rt spans.Runtime) svg.Chart {
	var ch *spans.Chart
	var names map[spans.SpanID]string
	if rt != nil {
		ch = spans.Layout(t, spans.WithRuntime(rt))
		names = make(map[spans.SpanID]string, len(t.Spans))
		for i := range t.Spans {
			names[t.Spans[i].ID] = spanLabel(&t.Spans[i])
		}
	} else {
		ch = spans.Layout(t)
	}
	c := svg.Chart{Begin: ch.Begin, End: ch.Finish, Rows: int(ch.Rows), MarkLabel: "the critical path (the spans that set the trace's end time)"}
	row := make(map[int32]int, len(ch.Bars))
	for _, b := range ch.Bars {
		sp := &t.Spans[b.Span]
		row[b.Span] = int(b.Row)
		label := sp.Name
		if sp.Service != "" {
			label = sp.Service + ": " + sp.Name
		}
		tip := []string{fmt.Sprintf("duration %s, self %s, starts at +%s", exact(b.End-b.Start), exact(b.Self), exact(b.Start-ch.Begin))}
		var outside []svg.Stretch
		if b.Before > 0 {
			outside = append(outside, svg.Stretch{Start: b.Start, End: b.Start + b.Before})
		}
		if b.After > 0 {
			outside = append(outside, svg.Stretch{Start: b.End - b.After, End: b.End})
		}
		if outside != nil {
			tip = append(tip, outsideNote(b.Before, b.After))
		}
		if sp.Service != "" {
			tip = append(tip, "service: "+sp.Service)
		}
		if b.Class != spans.ClassWork {
			tip = append(tip, "kind: "+b.Class.String())
		}
		switch sp.Status {
		case spans.StatusError:
			s := "status: Error"
			if sp.Message != "" {
				s += ": " + sp.Message
			}
			tip = append(tip, s)
		case spans.StatusOK:
			tip = append(tip, "status: OK")
		}
		if b.Critical {
			tip = append(tip, "on the critical path")
		}
		var band []svg.BandPart
		if r := rt.Of(sp.ID); r != nil {
			band, tip = stateBand(r, names, tip)
		}
		for k, a := range sp.Attrs {
			if k == maxTooltipAttrs {
				tip = append(tip, fmt.Sprintf("… %d more attributes", len(sp.Attrs)-k))
				break
			}
			tip = append(tip, a.Key+" = "+a.Value)
		}
		c.Bars = append(c.Bars, svg.ChartBar{
			Row: int(b.Row), Start: b.Start, End: b.End, Outside: outside, Label: label, Short: sp.Name, Kind: b.Class.FrameKind(),
			Tooltip: tip, Outlined: b.Critical, Error: sp.Status == spans.StatusError, Band: band,
		})
	}
	for _, s := range ch.Critical {
		if s.Span == spans.None || s.End <= s.Start {
			continue
		}
		c.Marks = append(c.Marks, svg.ChartMark{Row: row[s.Span], Start: s.Start, End: s.End})
	}
	return c
}

// spanLabel is "service: name", or the name of a span without a service.
func spanLabel(sp *spans.Span) string {
	if sp.Service != "" {
		return sp.Service + ": " + sp.Name
	}
	return sp.Name
}

// stateBand turns what the execution trace saw of a span into its band and
// adds the breakdown and its longest wait to the tooltip.
func stateBand(r *spans.SpanRuntime, names map[spans.SpanID]string, tip []string) ([]svg.BandPart, []string) {
	band := make([]svg.BandPart, 0, len(r.Stretches))
	var longest *spans.Stretch
	for k := range r.Stretches {
		s := &r.Stretches[k]
		p := svg.BandPart{Start: s.Start, End: s.End, State: s.State.String()}
		if s.Label != p.State {
			p.Title = s.Label
		}
		if by := unblocker(s, names); by != "" {
			p.Title += ", released by " + by
		}
		band = append(band, p)
		if s.ByGoroutine != 0 && (longest == nil || s.End-s.Start > longest.End-longest.Start) {
			longest = s
		}
	}
	tip = append(tip, fmt.Sprintf("goroutine %d: %s", r.Goroutine, statesLine(r.States())))
	if longest != nil {
		tip = append(tip, fmt.Sprintf("longest wait: %s %s, released by %s", longest.Label, exact(longest.End-longest.Start), unblocker(longest, names)))
	}
	return band, tip
}

// unblocker names who ended a blocked stretch: the goroutine and the span
// it was in.
func unblocker(s *spans.Stretch, names map[spans.SpanID]string) string {
	if s.ByGoroutine == 0 {
		return ""
	}
	by := fmt.Sprintf("goroutine %d", s.ByGoroutine)
	if !s.BySpan.IsZero() {
		name, ok := names[s.BySpan]
		if !ok {
			name = "span " + s.BySpan.String()
		}
		by += " in " + name
	}
	return by
}

// exact formats nanoseconds to the last digit the input gave: a Jaeger
// span's microseconds, an OTLP span's nanoseconds.
func exact(ns int64) string { return time.Duration(ns).String() }

// outsideNote says how much of an async span ran outside its parent.
func outsideNote(before, after int64) string {
	var parts []string
	if before > 0 {
		parts = append(parts, exact(before)+" before its parent started")
	}
	if after > 0 {
		parts = append(parts, exact(after)+" after its parent ended")
	}
	return "async: " + strings.Join(parts, ", ") + " (hatched)"
}

// dur formats nanoseconds for people, to about four significant digits.
func dur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		d = d.Round(time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(time.Microsecond)
	}
	return d.String()
}

// writeTraceChart draws trace t as a flame chart with the run's SVG options.
func writeTraceChart(w io.Writer, t *spans.Trace, rt spans.Runtime, sopts []svg.Option) error {
	title := "Trace " + t.Spans[0].TraceID.String()
	opts := append([]svg.Option{svg.WithTitle(title), svg.WithSubtitle(chartSubtitle(t))}, sopts...)
	names := serviceNames{}
	names.add(t)
	return svg.WriteChart(w, traceChart(t, rt), append(opts, names.options()...)...)
}

func chartSubtitle(t *spans.Trace) string {
	s := fmt.Sprintf("%s wall time · %d spans", exact(t.Wall()), len(t.Spans))
	if t.Async > 0 {
		s += fmt.Sprintf(" · %d async (outside their parent)", t.Async)
	}
	if t.Warnings.Any() {
		s += " · repaired: " + t.Warnings.String()
	}
	return s
}

// checkTraces refuses traces with no time to draw.
func checkTraces(agg *spans.Aggregator, name string) error {
	if agg.Tree().Total() == 0 {
		return &flame.ParseError{Input: name, Err: flame.ErrEmpty,
			Expected: fmt.Sprintf("a span that lasts: the %d traces' spans all have zero duration", agg.Traces())}
	}
	return nil
}

// aggregateSet aggregates every trace of set, as loadTraces does for a file.
// It returns the SVG options tied to the tree's frames (frameOptions).
func aggregateSet(set *spans.Set, name string, stderr io.Writer, sp spanOptions) (*flame.Tree, []svg.Option, error) {
	agg := spans.NewAggregator(sp.analysis...)
	var cp *spans.CriticalPaths
	if sp.critical {
		cp = spans.NewCriticalPaths(sp.analysis...)
	}
	if err := set.Each(func(t *spans.Trace) error {
		if err := agg.Add(t); err != nil {
			return err
		}
		sp.services.add(t)
		if cp != nil {
			return cp.Add(t)
		}
		return nil
	}); err != nil {
		return nil, nil, &flame.ParseError{Input: name, Err: err, Expected: "traces whose times add up to at most 292 years"}
	}
	if err := checkTraces(agg, name); err != nil {
		return nil, nil, err
	}
	if w := agg.Warnings(); w.Any() && !sp.quiet {
		fmt.Fprintf(stderr, "flamegen: %s: repaired: %v\n", name, w)
	}
	agg.NestStates()
	var note func(flame.NodeID) string
	if cp != nil {
		note = criticalNotes(agg, cp)
	}
	lines := []string{"Blue-grey: spans (wall time). Blue-green: lock waits and channel blocks (off CPU)."}
	if sp.rt != nil {
		lines = append(lines, statesLegend)
	}
	return agg.Tree(), append(frameOptions(agg, sp, note), svg.WithLegend(lines...)), nil
}

// criticalNotes says for each span frame how long and in how many traces
// it was on the critical path (its own time on it, as spans.Report counts).
func criticalNotes(agg *spans.Aggregator, cp *spans.CriticalPaths) func(flame.NodeID) string {
	byFrame := map[flame.NodeID]spans.Row{}
	for _, r := range spans.Report(agg, cp) {
		if r.CriticalTraces > 0 {
			byFrame[r.Frame] = r
		}
	}
	traces := agg.Traces()
	return func(n flame.NodeID) string {
		r, ok := byFrame[n]
		if !ok {
			return ""
		}
		return fmt.Sprintf("on the critical path %s in %d of %d traces", dur(r.Critical), r.CriticalTraces, traces)
	}
}
