package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/flame/svg"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// UsageError reports bad command-line usage; it exits with status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// ExitCode maps an error from [Run] to the process exit status: 0 for nil,
// 2 for a [*UsageError] or bad input ([*flame.ParseError]), 1 otherwise (I/O
// faults).
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ue *UsageError
	var pe *flame.ParseError
	if errors.As(err, &ue) || errors.As(err, &pe) {
		return 2
	}
	return 1
}

const usage = `flamegen draws flame graphs from folded stacks, pprof profiles and traces.

Usage:
  flamegen [flags] INPUT             INPUT is a file, - for standard input, or an http(s) URL
  flamegen [flags] PROFILE...        several profiles merged into one graph, as go tool pprof
                                     merges them (or folded files summed)
  flamegen [flags] TRACES PROFILE... CPU stacks of pprof profiles with span_id labels nested
                                     under the span frames they ran in
  flamegen diff [flags] BEFORE AFTER differential graph: red grew, blue shrank
  flamegen report [flags] TRACES     slowest sections of traces: self time, lock waits and
                                     channel blocks, critical-path share, the slowest traces
                                     with their IDs (--markdown, --top N, --json)

TRACES is a span file, a Go execution trace in which the spans were marked
(log events of category tracekit.span; from runtime/trace, go test -trace,
/debug/pprof/trace or a flight recorder), or a span file followed by such an
execution trace: each span's time on its goroutine is then split into
states (running, runnable, syscall, lock, channel, sleep, gc, other), off-CPU
states become child frames such as (runnable) or (lock: orders), the one-trace
chart draws a state band under each span, and the critical path follows lock
and channel waits into the span that released them.

The input format (folded text, pprof protobuf, legacy text profile, OTLP JSON
or protobuf traces, Jaeger JSON traces, Go execution traces, gzipped or not) is found from the
content, never from the file name. Traces are aggregated into one graph of
"service: span name" frames (traces of one service: span names, the service
in the subtitle) whose widths are wall-clock time: each instant of a span is
shared among the children running then (--weight sum: every span's full
duration).

Examples:
  flamegen cpu.pprof -o cpu.svg
  perf script | stackcollapse-perf.pl | flamegen - > perf.svg     (folded stacks on stdin)
  flamegen --format folded cpu.pprof > cpu.folded
  flamegen --format top --top 20 --markdown heap.pprof
  flamegen --sample-type alloc_space --tag span_name=checkout heap.pprof -o heap.svg
  flamegen diff before.pprof after.pprof -o diff.svg
  flamegen http://127.0.0.1:6060/debug/pprof/profile?seconds=10 -o live.svg
  flamegen traces.jsonl -o spans.svg                               (tracekit's or the Collector's span file)
  flamegen --group-ids --format top traces.jsonl
  flamegen traces.jsonl cpu.pb.gz -o merged.svg                    (span + CPU in one graph)
  flamegen --trace 4bf92f3577b34da6a3ce929d0e0e4736 traces.jsonl -o one.svg   (one trace, x = time)
  flamegen --jaeger http://127.0.0.1:16686 --trace 4bf92f3577b34da6 -o one.svg
  flamegen --jaeger http://127.0.0.1:16686 --service checkout --limit 200 -o checkout.svg
  flamegen report --markdown --top 10 traces.jsonl
  flamegen traces.jsonl exec.trace cpu.pb.gz -o where.svg         (spans, runtime states and CPU in one graph)
  flamegen --trace 4bf92f3577b34da6 traces.jsonl exec.trace -o one.svg (state bands under the spans)
  flamegen report --json exec.trace                                (states per frame, for scripts)

Flags:
`

type options struct {
	maxSize                                                                  byteSize
	timeout                                                                  time.Duration
	out, format, title, subtitle, sampleType, palette, sort, highlight, unit string
	weight                                                                   string
	trace, jaeger, service, operation                                        string
	lookback, slow                                                           time.Duration
	limit                                                                    int
	groupIDs, spansOnly                                                      bool
	width, top, topSelf                                                      int
	minWidth                                                                 float64
	inverted, reverse, lines, markdown, quiet, version, help, noNorm         bool
	json                                                                     bool
	tags                                                                     tagFlags
}

type tagFlags []string

func (t *tagFlags) String() string     { return strings.Join(*t, ",") }
func (t *tagFlags) Set(s string) error { *t = append(*t, s); return nil }

func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("flamegen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.out, "o", "", "write to `FILE` instead of standard output (a file through a temporary file renamed into place, following symlinks and keeping its permissions; a FIFO or device as a stream)")
	o.maxSize = byteSize{flame.DefaultMaxBytes}
	fs.Var(&o.maxSize, "max-size", "read at most `SIZE` bytes (e.g. 2GiB) decompressed from a gzip input, downloaded from a URL, or held whole (a pprof profile, one OTLP protobuf request or JSON value)")
	fs.DurationVar(&o.timeout, "timeout", DefaultTimeout, "URL inputs and --jaeger: give up when connecting, or waiting for the next byte, takes longer than `DURATION` (the wait for a profile URL's answer adds its seconds=)")
	fs.StringVar(&o.format, "format", "svg", "output `FORMAT`: svg, folded or top")
	fs.StringVar(&o.title, "title", "", "title of the SVG")
	fs.StringVar(&o.subtitle, "subtitle", "", "subtitle of the SVG (default: sample type, total, frames)")
	fs.IntVar(&o.width, "width", svg.DefaultWidth, "SVG width in `pixels`")
	fs.Float64Var(&o.minWidth, "minwidth", svg.DefaultMinWidth, "omit frames narrower than `pixels`")
	fs.BoolVar(&o.inverted, "inverted", false, "icicle graph: root at the top")
	fs.BoolVar(&o.reverse, "reverse", false, "reverse stacks: leaf functions become the roots")
	fs.StringVar(&o.palette, "palette", "auto", "colours: hot, mem, io, bluegreen, or auto (by what the profile measures: mem for allocations, bluegreen for waits, else hot)")
	fs.StringVar(&o.sort, "sort", "alpha", "sibling order: alpha (as flamegraph.pl) or heavy (widest first)")
	fs.StringVar(&o.highlight, "highlight", "", "outline frames whose name matches `REGEX`")
	fs.IntVar(&o.topSelf, "top-self", svg.DefaultTopSelf, "outline and list the `N` frames with the most self time")
	fs.StringVar(&o.sampleType, "sample-type", "", "pprof sample `TYPE` (default: the profile's default)")
	fs.Var(&o.tags, "tag", "keep pprof samples whose label `KEY=VALUE` matches (repeatable)")
	fs.BoolVar(&o.lines, "lines", false, "pprof frames as function:line")
	fs.StringVar(&o.weight, "weight", "wall", "trace input: wall (each instant of a span shared among its children running then) or sum (every span's full duration)")
	fs.BoolVar(&o.spansOnly, "spans", false, "expect trace inputs: fail on a profile instead of drawing it (for diff --spans monday.jsonl tuesday.jsonl)")
	fs.BoolVar(&o.groupIDs, "group-ids", false, "trace input: merge span names that differ only by ids (/users/123 and /users/456 become /users/{id})")
	fs.StringVar(&o.trace, "trace", "", "draw the one trace with this `ID` as a flame chart with a time axis (lanes for parallel spans, critical path, errors, span tooltips)")
	fs.StringVar(&o.jaeger, "jaeger", "", "read traces from the Jaeger query service at `URL` (with --trace, or --service)")
	fs.StringVar(&o.service, "service", "", "--jaeger: the `SERVICE` whose traces to aggregate")
	fs.StringVar(&o.operation, "operation", "", "--jaeger: only traces with this `OPERATION`")
	fs.DurationVar(&o.lookback, "lookback", time.Hour, "--jaeger: how far back to search")
	fs.IntVar(&o.limit, "limit", 20, "--jaeger: at most `N` traces")
	fs.DurationVar(&o.slow, "slow", 0, "trace input: outline frames with a span of this `DURATION` or longer (e.g. 100ms)")
	fs.StringVar(&o.unit, "unit", "", "unit of folded counts: samples (default), nanoseconds, bytes, or any word")
	fs.IntVar(&o.top, "top", 20, "rows of --format top")
	fs.BoolVar(&o.markdown, "markdown", false, "--format top as a Markdown table")
	fs.BoolVar(&o.json, "json", false, "report: print every frame's numbers as JSON (\"frame\" as the text report names it; \"states\": state → nanoseconds with an execution trace)")
	fs.BoolVar(&o.noNorm, "no-normalize", false, "diff: compare raw values instead of scaling before to after's total")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress or notes on standard error")
	fs.BoolVar(&o.quiet, "q", false, "shorthand for --quiet")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVar(&o.help, "help", false, "print this help and exit")
	fs.BoolVar(&o.help, "h", false, "shorthand for --help")
	return fs
}

// parseArgs parses flags anywhere among the arguments, as users write
// "flamegen cpu.pprof -o cpu.svg".
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, &UsageError{Msg: "flamegen: " + err.Error() + " (see flamegen --help)"}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
		if pos[len(pos)-1] == "--" {
			pos = append(pos[:len(pos)-1], args...)
			return pos, nil
		}
	}
}

// Run is flamegen: it reads the inputs named in args (without the program
// name), writes the graph to stdout or to the -o file, and reports progress
// and notes on stderr. stdin is read for the input "-". Progress is shown
// only when stderr is a terminal and --quiet is not set. An error is also
// printed to stderr as one line; [ExitCode] gives its exit status. Run is safe for
// concurrent use; it changes no global state.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := run(ctx, args, stdin, stdout, stderr)
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "flamegen") {
			msg = "flamegen: " + msg
		}
		fmt.Fprintln(stderr, strings.ReplaceAll(msg, "\n", " "))
	}
	return err
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var o options
	diffMode := len(args) > 0 && args[0] == "diff"
	reportMode := len(args) > 0 && args[0] == "report"
	if diffMode || reportMode {
		args = args[1:]
	}
	fs := newFlagSet(&o, stderr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if o.help {
		var b strings.Builder
		b.WriteString(usage)
		fs.SetOutput(&b)
		fs.PrintDefaults()
		_, err := io.WriteString(stdout, b.String())
		return err
	}
	if o.version {
		_, err := fmt.Fprintf(stdout, "flamegen %s\n", version())
		return err
	}
	if o.timeout <= 0 {
		return &UsageError{Msg: fmt.Sprintf("flamegen: --timeout %v: expected a positive duration", o.timeout)}
	}
	src := newSources(ctx, &o, stdin, stderr)
	if reportMode {
		sp, err := o.spanOptions()
		if err != nil {
			return err
		}
		return withOutput(ctx, o.out, stdout, func(w io.Writer) error {
			return runReport(&o, src, pos, w, stderr, sp)
		})
	}
	if diffMode && len(pos) != 2 {
		return &UsageError{Msg: "flamegen diff: expected two inputs, BEFORE and AFTER (see flamegen --help)"}
	}
	if len(pos) == 0 && o.jaeger == "" && o.trace == "" {
		return &UsageError{Msg: "flamegen: expected one input: a file, - for standard input, or a URL; or several profiles; or traces followed by pprof profiles (see flamegen --help)"}
	}
	var fopts []flame.Option
	if o.sampleType != "" {
		fopts = append(fopts, flame.WithSampleType(o.sampleType))
	}
	for _, t := range o.tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return &UsageError{Msg: fmt.Sprintf("flamegen: --tag %q: expected KEY=VALUE", t)}
		}
		fopts = append(fopts, flame.WithTag(k, v))
	}
	if o.lines {
		fopts = append(fopts, flame.WithLines())
	}
	fopts = append(fopts, flame.WithMaxBytes(o.maxSize.n))
	var sopts []svg.Option
	switch o.format {
	case "svg", "folded", "top":
	default:
		return &UsageError{Msg: fmt.Sprintf("flamegen: --format %q: expected svg, folded or top", o.format)}
	}
	var pal svg.Palette
	if o.palette != "auto" {
		if pal, err = svg.ParsePalette(o.palette); err != nil {
			return &UsageError{Msg: "flamegen: --palette: " + err.Error()}
		}
		sopts = append(sopts, svg.WithPalette(pal))
	}
	sopts = append(sopts, svg.WithWidth(o.width), svg.WithMinWidth(o.minWidth), svg.WithTopSelf(o.topSelf))
	switch o.sort {
	case "alpha", "alphabetical":
		sopts = append(sopts, svg.WithOrder(flame.Alphabetical))
	case "heavy", "left-heavy":
		sopts = append(sopts, svg.WithOrder(flame.LeftHeavy))
	default:
		return &UsageError{Msg: fmt.Sprintf("flamegen: --sort %q: expected alpha or heavy", o.sort)}
	}
	if o.highlight != "" {
		re, err := regexp.Compile(o.highlight)
		if err != nil {
			return &UsageError{Msg: fmt.Sprintf("flamegen: --highlight: %v", err)}
		}
		sopts = append(sopts, svg.WithHighlight(re))
	}
	if o.title != "" {
		sopts = append(sopts, svg.WithTitle(o.title))
	}
	if o.subtitle != "" {
		sopts = append(sopts, svg.WithSubtitle(o.subtitle))
	}
	if o.inverted {
		sopts = append(sopts, svg.WithInverted())
	}
	if o.width < 100 {
		return &UsageError{Msg: fmt.Sprintf("flamegen: --width %d: expected at least 100 pixels", o.width)}
	}
	if o.minWidth < 0 {
		return &UsageError{Msg: "flamegen: --minwidth: expected a non-negative number of pixels"}
	}
	sp, err := o.spanOptions()
	if err != nil {
		return err
	}
	if (o.trace != "" || o.jaeger != "") && diffMode {
		return &UsageError{Msg: "flamegen diff: --trace and --jaeger draw one input"}
	}
	return withOutput(ctx, o.out, stdout, func(w io.Writer) error {
		return draw(&o, src, pos, diffMode, fopts, sopts, sp, w, stderr)
	})
}

// withOutput opens the -o destination before the inputs are read, runs
// write to it, and puts the file in place only when write succeeded.
func withOutput(ctx context.Context, path string, stdout io.Writer, write func(io.Writer) error) error {
	out, err := createOutput(ctx, path, stdout)
	if err != nil {
		return err
	}
	defer out.abort()
	if err := write(out.w); err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return err
	}
	return out.commit()
}

// draw reads the inputs and writes the graph, the folded stacks or the
// table to w.
func draw(o *options, src *sources, pos []string, diffMode bool, fopts []flame.Option, sopts []svg.Option, sp spanOptions, w io.Writer, stderr io.Writer) error {
	var trees []*flame.Tree
	// extra holds SVG options tied to the frames of trees[0] (tooltip
	// notes, --slow outlines): a diff or a reversed tree has other frames.
	var extra []svg.Option
	switch {
	case o.trace != "" || o.jaeger != "":
		ss, err := readTraceSet(o, src, pos, &sp, stderr)
		if err != nil {
			return err
		}
		set, name := ss.set, ss.name
		if o.trace != "" {
			tr, err := findTrace(set, name, o.trace)
			if err != nil {
				return err
			}
			if o.format == "svg" {
				return writeTraceChart(w, tr, ss.rt, sopts)
			}
			one := spans.NewSet()
			for k := range tr.Spans {
				one.Add(&tr.Spans[k])
			}
			set = one
		}
		t, ex, err := aggregateSet(set, name, stderr, sp)
		if err != nil {
			return err
		}
		trees, extra = append(trees, t), ex
	case diffMode:
		for _, in := range pos {
			t, _, err := loadOne(src, in, fopts, sp, stderr)
			if err != nil {
				return err
			}
			trees = append(trees, t)
		}
	default:
		t, ex, err := loadAll(src, pos, o.sampleType, fopts, sp, stderr)
		if err != nil {
			return err
		}
		trees, extra = append(trees, t), ex
	}
	if o.unit != "" {
		for _, tr := range trees {
			if tr.SampleType == "" { // folded input: counts have no unit of their own
				tr.Unit = o.unit
			}
		}
	}
	t := trees[0]
	if diffMode {
		var err error
		if t, err = flame.Diff(trees[0], trees[1], !o.noNorm); err != nil {
			return err
		}
	}
	if o.reverse {
		t = t.Reverse()
	}
	if !diffMode && !o.reverse {
		sopts = append(sopts, extra...)
	}
	switch o.format {
	case "folded":
		return flame.WriteFolded(w, t)
	case "top":
		return svg.WriteTop(w, t, o.top, o.markdown)
	}
	if t.Total() == 0 {
		// Nothing has width: every frame of a diff's AFTER is gone, or a
		// delta profile only lost.
		return &flame.ParseError{Input: strings.Join(pos, ", "), Err: flame.ErrEmpty,
			Expected: "a frame with a non-zero value to draw (all the values are in the baseline: --format top lists them)"}
	}
	if o.palette == "auto" {
		sopts = append([]svg.Option{svg.WithPalette(svg.PaletteFor(t))}, sopts...)
	}
	return svg.Write(w, t, append(sopts, sp.services.options()...)...)
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version + " " + bi.GoVersion
	}
	return "(devel)"
}

// loadOne reads one input of any kind into a tree. Trace input also gives
// the SVG options tied to its tree's frames.
func loadOne(src *sources, name string, opts []flame.Option, sp spanOptions, stderr io.Writer) (*flame.Tree, []svg.Option, error) {
	in, err := src.open(name)
	if err != nil {
		return nil, nil, err
	}
	defer in.done()
	switch in.kind {
	case kindTraces:
		return loadTraces(in, stderr, sp, src.maxSize)
	case kindExec:
		return loadMerged(src, in, nil, "", sp, stderr)
	case kindFolded:
		if sp.spansOnly {
			return nil, nil, notTraces(name)
		}
		t := flame.NewTree("samples")
		if err := flame.ParseFolded(in.r, name, t, opts...); err != nil {
			return nil, nil, err
		}
		return t, nil, checkTree(t, name)
	}
	if sp.spansOnly {
		return nil, nil, notTraces(name)
	}
	p, err := flame.ReadProfile(in.r, name, opts...)
	if err != nil {
		return nil, nil, err
	}
	t, err := flame.ProfileTree(p, name, opts...)
	return t, nil, err
}

func notTraces(name string) error {
	return &flame.ParseError{Input: name, Line: 1, Err: flame.ErrFormat,
		Expected: "trace data (OTLP JSON or protobuf, or Jaeger JSON), as --spans asks"}
}

// checkTree refuses a tree with no value to draw.
func checkTree(t *flame.Tree, name string) error {
	if t.Total() == 0 && (!t.IsDiff() || t.Base(flame.Root) == 0) {
		return &flame.ParseError{Input: name, Err: flame.ErrEmpty, Expected: "a stack with a non-zero count (every count is zero)"}
	}
	return nil
}

// loadAll reads the inputs of a graph: one input; traces followed by
// profiles to nest under their spans; or several profiles merged, pprof
// profiles as go tool pprof merges them and folded files summed.
func loadAll(src *sources, pos []string, sampleType string, opts []flame.Option, sp spanOptions, stderr io.Writer) (*flame.Tree, []svg.Option, error) {
	if len(pos) == 1 {
		return loadOne(src, pos[0], opts, sp, stderr)
	}
	first, err := src.open(pos[0])
	if err != nil {
		return nil, nil, err
	}
	if first.kind == kindTraces || first.kind == kindExec {
		return loadMerged(src, first, pos[1:], sampleType, sp, stderr)
	}
	defer first.done()
	if sp.spansOnly {
		return nil, nil, notTraces(pos[0])
	}
	mixed := func(in *input) error {
		if in.kind == kindTraces || in.kind == kindExec {
			return &UsageError{Msg: fmt.Sprintf("flamegen: %s holds %s: with several inputs the traces come first (a span file, then an execution trace), then the profiles to nest under their spans", in.name, in.kind)}
		}
		return &UsageError{Msg: fmt.Sprintf("flamegen: %s holds %s and %s %s: several inputs merge into one graph when they are all pprof profiles or all folded stacks", pos[0], first.kind, in.name, in.kind)}
	}
	t := flame.NewTree("samples")
	var profs []*profile.Profile
	for i, name := range pos {
		in := first
		if i > 0 {
			if in, err = src.open(name); err != nil {
				return nil, nil, err
			}
		}
		if in.kind != first.kind {
			in.done()
			return nil, nil, mixed(in)
		}
		if in.kind == kindFolded {
			err = flame.ParseFolded(in.r, name, t, opts...)
		} else {
			var p *profile.Profile
			p, err = flame.ReadProfile(in.r, name, opts...)
			profs = append(profs, p)
		}
		if i > 0 {
			in.done()
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if first.kind == kindFolded {
		return t, nil, checkTree(t, strings.Join(pos, ", "))
	}
	p, err := flame.MergeProfiles(profs, pos)
	if err != nil {
		return nil, nil, err
	}
	t, err = flame.ProfileTree(p, strings.Join(pos, ", "), opts...)
	return t, nil, err
}

// isTerminal reports whether w is a terminal: a file that answers the
// terminal-attributes ioctl (a character device such as /dev/null does not).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTTY(f.Fd())
}

// progressReader prints how much of the input has been read every 16 MiB.
// It is driven by bytes, not by a clock, so it needs no goroutine.
type progressReader struct {
	r         io.Reader
	w         io.Writer
	name      string
	size, n   int64
	next      int64
	wroteSome bool
}

const progressStep = 16 << 20

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n >= p.next {
		p.next = p.n + progressStep
		if p.n > 0 {
			if p.size > 0 {
				fmt.Fprintf(p.w, "\rflamegen: reading %s: %d MiB of %d MiB", p.name, p.n>>20, p.size>>20)
			} else {
				fmt.Fprintf(p.w, "\rflamegen: reading %s: %d MiB", p.name, p.n>>20)
			}
			p.wroteSome = true
		}
	}
	return n, err
}

func (p *progressReader) done() {
	if p.wroteSome {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// byteSize is a flag value of bytes, with an optional unit: 512MiB, 2GiB,
// 100MB, 4096.
type byteSize struct{ n int64 }

func (b *byteSize) String() string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b.n >= u.size && b.n%u.size == 0 {
			return strconv.FormatInt(b.n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(b.n, 10)
}

func (b *byteSize) Set(s string) error {
	units := []struct {
		name string
		size int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	num, mult := s, int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.name) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, u.name)), u.size
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 || v > math.MaxInt64/mult {
		return fmt.Errorf("expected a positive size such as 512MiB or 2GiB")
	}
	b.n = v * mult
	return nil
}
