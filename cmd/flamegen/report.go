package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// runReport is "flamegen report TRACES": the slowest sections of the traces
// as text or markdown, from spans.Report — frames by self time, the longest
// lock waits and channel blocks, and each frame's share of the critical
// paths.
func runReport(o *options, src *sources, pos []string, stdout, stderr io.Writer, sp spanOptions) error {
	var (
		set  *spans.Set
		name string
	)
	if o.jaeger != "" || o.trace != "" {
		ss, err := readTraceSet(o, src, pos, &sp, stderr)
		if err != nil {
			return err
		}
		set, name = ss.set, ss.name
	} else {
		if len(pos) == 0 || len(pos) > 2 {
			return &UsageError{Msg: "flamegen report: expected one trace input (OTLP or Jaeger JSON, or a Go execution trace with marked spans), optionally followed by an execution trace, or --jaeger URL (see flamegen --help)"}
		}
		in, err := src.open(pos[0])
		if err != nil {
			return err
		}
		defer in.done()
		if in.kind != kindTraces && in.kind != kindExec {
			return &UsageError{Msg: fmt.Sprintf("flamegen report: %s: expected traces (OTLP or Jaeger JSON, or a Go execution trace), not %s", pos[0], in.kind)}
		}
		ss, rest, err := readSpans(src, in, pos[1:], []spans.Option{spans.WithMaxValueBytes(valueLimit(src.maxSize)), spans.WithMaxDecompressedBytes(src.maxSize)}, &sp, stderr)
		if ss.next != nil {
			ss.next.done()
		}
		if err != nil {
			return err
		}
		if len(rest) > 0 {
			return &UsageError{Msg: fmt.Sprintf("flamegen report: %s: expected a Go execution trace after the traces, not another input", rest[0])}
		}
		set, name = ss.set, ss.name
	}
	if o.trace != "" {
		tr, err := findTrace(set, name, o.trace)
		if err != nil {
			return err
		}
		one := spans.NewSet()
		for k := range tr.Spans {
			one.Add(&tr.Spans[k])
		}
		set = one
	}
	agg := spans.NewAggregator(sp.analysis...)
	cp := spans.NewCriticalPaths(sp.analysis...)
	var slowest []traceRow
	if err := set.Each(func(t *spans.Trace) error {
		if err := agg.Add(t); err != nil {
			return err
		}
		slowest = append(slowest, newTraceRow(t))
		return cp.Add(t)
	}); err != nil {
		return &flame.ParseError{Input: name, Err: err, Expected: "traces whose times add up to at most 292 years"}
	}
	if err := checkTraces(agg, name); err != nil {
		return err
	}
	if w := agg.Warnings(); w.Any() && !sp.quiet {
		fmt.Fprintf(stderr, "flamegen: %s: repaired: %v\n", name, w)
	}
	agg.NestStates()
	rows := spans.Report(agg, cp)
	tree := agg.Tree()
	path := func(r spans.Row) string { return path(tree.Stack(r.Frame)) }
	wall := tree.Total()
	if o.json {
		return writeJSONReport(stdout, name, agg, rows, path, slowest)
	}
	rep := reportWriter{w: stdout, markdown: o.markdown}
	rep.heading(fmt.Sprintf("%s: %d traces, %s of wall time (%s weight)", name, agg.Traces(), dur(wall), o.weight))

	n := min(o.top, len(rows))
	rep.section("Slowest sections: frames by self time (time no child span covers)",
		[]string{"self", "of wall", "spans", "mean", "max", "errors", "on critical path", "frame"})
	for _, r := range rows[:n] {
		if r.Self == 0 {
			break
		}
		if r.StateFrame { // not spans: a part of its parent's time
			rep.row(dur(r.Self), pctOf(r.Self, wall), "-", "-", "-", "-", "-", path(r))
			continue
		}
		rep.row(dur(r.Self), pctOf(r.Self, wall), fmt.Sprint(r.Spans), dur(r.MeanDuration), dur(r.MaxDuration),
			fmt.Sprint(r.Errors), pctOf(r.Critical, wall), path(r))
	}
	rep.end()

	waits := spans.Waits(rows)
	const waitsTitle = "Longest lock waits and channel blocks"
	if len(waits) == 0 {
		rep.printf("\n%s\n\nnone: no spans with tracekit.kind lock.wait, chan.send or chan.recv\n", title(rep.markdown, waitsTitle))
	} else {
		rep.section(waitsTitle, []string{"longest", "mean", "spans", "wall share", "kind", "frame"})
		for _, r := range waits[:min(o.top, len(waits))] {
			rep.row(dur(r.MaxDuration), dur(r.MeanDuration), fmt.Sprint(r.Spans), dur(r.Total), r.Class.String(), path(r))
		}
		rep.end()
	}

	if sp.rt != nil {
		writeStates(&rep, rows, path, o.top)
	}

	crit := slices.Clone(rows)
	slices.SortStableFunc(crit, func(a, b spans.Row) int {
		if c := cmp.Compare(b.Critical, a.Critical); c != 0 {
			return c
		}
		return cmp.Compare(a.Order, b.Order)
	})
	rep.section("Critical path: each frame's own time on the chain of spans that set each trace's end",
		[]string{"on path", "of wall", "traces", "frame"})
	for _, r := range crit[:min(o.top, len(crit))] {
		if r.Critical == 0 {
			break
		}
		rep.row(dur(r.Critical), pctOf(r.Critical, wall), fmt.Sprintf("%d of %d", r.CriticalTraces, agg.Traces()), path(r))
	}
	rep.end()

	slices.SortStableFunc(slowest, func(a, b traceRow) int {
		if c := cmp.Compare(b.wall, a.wall); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	rep.section("Slowest traces (draw one on a time axis with --trace ID)",
		[]string{"wall", "spans", "errors", "trace", "root"})
	for _, r := range slowest[:min(o.top, len(slowest))] {
		rep.row(dur(r.wall), fmt.Sprint(r.spans), fmt.Sprint(r.errors), r.id, r.root)
	}
	rep.end()
	return rep.err
}

// traceRow is one line of the slowest traces.
type traceRow struct {
	id            string
	root          string // "service: name" of the first top-level span
	wall          int64
	spans, errors int
}

func newTraceRow(t *spans.Trace) traceRow {
	r := traceRow{id: t.ID.String(), wall: t.Finish - t.Begin, spans: len(t.Spans)}
	for i := range t.Spans {
		if t.Spans[i].Error() {
			r.errors++
		}
	}
	if roots := t.Roots(); len(roots) > 0 {
		sp := &t.Spans[roots[0]]
		r.root = sp.Name
		if sp.Service != "" {
			r.root = sp.Service + ": " + sp.Name
		}
		if len(roots) > 1 {
			r.root += fmt.Sprintf(" (+%d more top-level spans)", len(roots)-1)
		}
	}
	return r
}

func pctOf(v, of int64) string {
	if of == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(v)/float64(of))
}

// path joins a frame's stack for a report line; long stacks keep their
// ends.
func path(stack []string) string {
	if len(stack) > 6 {
		stack = append(append(slices.Clone(stack[:2]), "…"), stack[len(stack)-3:]...)
	}
	return strings.Join(stack, " › ")
}

func title(markdown bool, s string) string {
	if markdown {
		return "## " + s
	}
	return s
}

// reportWriter writes sections as aligned text or markdown tables.
type reportWriter struct {
	w        io.Writer
	markdown bool
	tw       *tabwriter.Writer
	err      error
}

func (r *reportWriter) printf(format string, a ...any) {
	if r.err == nil {
		_, r.err = fmt.Fprintf(r.w, format, a...)
	}
}

func (r *reportWriter) heading(s string) {
	if r.markdown {
		r.printf("# %s\n", mdEscape(s))
	} else {
		r.printf("%s\n", s)
	}
}

func (r *reportWriter) section(title string, cols []string) {
	if r.markdown {
		r.printf("\n## %s\n\n| %s |\n|%s\n", title, strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
		return
	}
	r.printf("\n%s\n", title)
	r.tw = tabwriter.NewWriter(r.w, 0, 0, 2, ' ', 0)
	r.row(cols...)
}

func (r *reportWriter) row(cells ...string) {
	if r.markdown {
		for i, c := range cells {
			cells[i] = mdEscape(c)
		}
		r.printf("| %s |\n", strings.Join(cells, " | "))
		return
	}
	if r.err == nil {
		_, r.err = fmt.Fprintf(r.tw, "  %s\n", strings.Join(cells, "\t"))
	}
}

func (r *reportWriter) end() {
	if r.tw != nil {
		if err := r.tw.Flush(); err != nil && r.err == nil {
			r.err = err
		}
		r.tw = nil
	}
}

// mdEscape keeps a cell in its table: pipes and newlines would end it, and
// angle brackets would be read as HTML.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`").Replace(s)
}

// writeStates is the report's section on where each frame's time went on
// its spans' goroutines, from an execution trace.
func writeStates(rep *reportWriter, rows []spans.Row, path func(spans.Row) string, top int) {
	const heading = "Where the time went on the spans' goroutines (execution trace): each frame's spans, whole, by state"
	cols := []string{"traced"}
	for s := range spans.NumStates {
		cols = append(cols, s.String())
	}
	cols = append(cols, "waited most on", "frame")
	var with []spans.Row
	for _, r := range rows {
		if r.HasStates {
			with = append(with, r)
		}
	}
	if len(with) == 0 {
		rep.printf("\n%s\n\nnone: no span of the traces is marked in the execution trace\n", title(rep.markdown, heading))
		return
	}
	slices.SortStableFunc(with, func(a, b spans.Row) int {
		if c := cmp.Compare(b.States.Total(), a.States.Total()); c != 0 {
			return c
		}
		return cmp.Compare(a.Order, b.Order)
	})
	rep.section(heading, cols)
	for _, r := range with[:min(top, len(with))] {
		total := r.States.Total()
		cells := []string{dur(total)}
		for _, v := range r.States {
			cells = append(cells, pctOf(v, total))
		}
		most := "-"
		if len(r.Waits) > 0 {
			most = waitLine(r.Waits[0])
		}
		rep.row(append(cells, most, path(r))...)
	}
	rep.end()
}

// jsonFrame is one frame of `flamegen report --json`.
type jsonFrame struct {
	Frame      string           `json:"frame"`
	Self       int64            `json:"self_ns"`
	Total      int64            `json:"total_ns"`
	Spans      int64            `json:"spans"`
	Errors     int64            `json:"errors"`
	Max        int64            `json:"max_ns"`
	Mean       int64            `json:"mean_ns"`
	Critical   int64            `json:"critical_ns"`
	States     map[string]int64 `json:"states,omitempty"`
	Dominant   string           `json:"dominant,omitempty"`
	Waits      []jsonWait       `json:"waits,omitempty"`
	StateFrame bool             `json:"state_frame,omitempty"`
}

type jsonWait struct {
	On         string `json:"on"`
	NS         int64  `json:"ns"`
	ReleasedBy string `json:"released_by,omitempty"`
	ReleasedNS int64  `json:"released_ns,omitempty"`
}

type jsonTrace struct {
	ID     string `json:"trace_id"`
	Wall   int64  `json:"wall_ns"`
	Spans  int    `json:"spans"`
	Errors int    `json:"errors"`
	Root   string `json:"root"`
}

// writeJSONReport prints the report's numbers for scripts: every frame, in
// the order of the slowest sections, named as the text report names it,
// with its states in nanoseconds when an execution trace saw its spans.
func writeJSONReport(w io.Writer, name string, agg *spans.Aggregator, rows []spans.Row, path func(spans.Row) string, slowest []traceRow) error {
	out := struct {
		Input  string      `json:"input"`
		Traces int         `json:"traces"`
		Wall   int64       `json:"wall_ns"`
		Frames []jsonFrame `json:"frames"`
		Trace  []jsonTrace `json:"slowest_traces"`
	}{Input: name, Traces: agg.Traces(), Wall: agg.Tree().Total(), Frames: []jsonFrame{}, Trace: []jsonTrace{}}
	for _, r := range rows {
		f := jsonFrame{Frame: path(r), Self: r.Self, Total: r.Total, Spans: r.Spans, Errors: r.Errors,
			Max: r.MaxDuration, Mean: r.MeanDuration, Critical: r.Critical, StateFrame: r.StateFrame}
		if r.HasStates || r.StateFrame {
			f.States = make(map[string]int64, spans.NumStates)
			for s, v := range r.States {
				if v != 0 || !r.StateFrame { // a state frame is in one state
					f.States[spans.State(s).String()] = v
				}
			}
			f.Dominant = r.States.Dominant().String()
		}
		for _, wt := range r.Waits {
			f.Waits = append(f.Waits, jsonWait{On: wt.Label, NS: wt.Total, ReleasedBy: wt.By, ReleasedNS: wt.ByTotal})
		}
		out.Frames = append(out.Frames, f)
	}
	slices.SortStableFunc(slowest, func(a, b traceRow) int {
		if c := cmp.Compare(b.wall, a.wall); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	for _, t := range slowest {
		out.Trace = append(out.Trace, jsonTrace{ID: t.id, Wall: t.wall, Spans: t.spans, Errors: t.errors, Root: t.root})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
