package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

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
  flamegen [flags] TRACES PROFILE... CPU stacks of pprof profiles with span_id labels nested
                                     under the span frames they ran in
  flamegen diff [flags] BEFORE AFTER differential graph: red grew, blue shrank
  flamegen report [flags] TRACES     slowest sections of traces: self time, lock waits and
                                     channel blocks, critical-path share, the slowest traces
                                     with their IDs (--markdown, --top N)

The input format (folded text, pprof protobuf, legacy text profile, OTLP JSON
or Jaeger JSON traces, gzipped or not) is found from the content, never from
the file name. Traces are aggregated into one graph of "service: span name"
frames (traces of one service: span names, the service in the subtitle)
whose widths are wall-clock time: each instant of a span is shared among the
children running then (--weight sum: every span's full duration).

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

Flags:
`

type options struct {
	out, format, title, subtitle, sampleType, palette, sort, highlight, unit string
	weight                                                                   string
	trace, jaeger, service, operation                                        string
	lookback, slow                                                           time.Duration
	limit                                                                    int
	groupIDs, spansOnly                                                      bool
	width, top, topSelf                                                      int
	minWidth                                                                 float64
	inverted, reverse, lines, markdown, quiet, version, help, noNorm         bool
	tags                                                                     tagFlags
}

type tagFlags []string

func (t *tagFlags) String() string     { return strings.Join(*t, ",") }
func (t *tagFlags) Set(s string) error { *t = append(*t, s); return nil }

func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("flamegen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.out, "o", "", "write to `FILE` (atomically: a temp file renamed into place) instead of standard output")
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
	if reportMode {
		sp, err := o.spanOptions()
		if err != nil {
			return err
		}
		return runReport(ctx, &o, pos, stdin, stdout, stderr, !o.quiet && isTerminal(stderr), sp)
	}
	want := 1
	if diffMode {
		want = 2
	}
	merge := !diffMode && len(pos) > 1 && o.trace == "" && o.jaeger == "" // traces, then profiles to nest under their spans
	if len(pos) != want && !merge && o.trace == "" && o.jaeger == "" {
		if diffMode {
			return &UsageError{Msg: "flamegen diff: expected two inputs, BEFORE and AFTER (see flamegen --help)"}
		}
		return &UsageError{Msg: "flamegen: expected one input: a file, - for standard input, or a URL; or traces followed by pprof profiles (see flamegen --help)"}
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

	progress := !o.quiet && isTerminal(stderr)
	var trees []*flame.Tree
	// extra holds SVG options tied to the frames of trees[0] (tooltip
	// notes, --slow outlines): a diff or a reversed tree has other frames.
	var extra []svg.Option
	sp, err := o.spanOptions()
	if err != nil {
		return err
	}
	if o.trace != "" || o.jaeger != "" {
		if diffMode {
			return &UsageError{Msg: "flamegen diff: --trace and --jaeger draw one input"}
		}
		set, name, err := readTraceSet(ctx, &o, pos, stdin, stderr, progress)
		if err != nil {
			return err
		}
		if o.trace != "" {
			tr, err := findTrace(set, name, o.trace)
			if err != nil {
				return err
			}
			if o.format == "svg" {
				write := func(w io.Writer) error { return writeTraceChart(w, tr, sopts) }
				if o.out == "" || o.out == "-" {
					return write(stdout)
				}
				return writeFileAtomic(o.out, write)
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
		trees = append(trees, t)
		extra = ex
		merge = true // the inputs are read
	} else if merge {
		t, ex, err := loadMerged(ctx, pos, stdin, stderr, progress, o.sampleType, sp)
		if err != nil {
			return err
		}
		trees = append(trees, t)
		extra = ex
	}
	for _, in := range pos {
		if merge {
			break
		}
		t, ex, err := load(ctx, in, stdin, stderr, progress, fopts, sp)
		if err != nil {
			return err
		}
		if len(trees) == 0 {
			extra = ex
		}
		trees = append(trees, t)
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
		t = flame.Diff(trees[0], trees[1], !o.noNorm)
	}
	if o.reverse {
		t = t.Reverse()
	}
	if !diffMode && !o.reverse {
		sopts = append(sopts, extra...)
	}
	sopts = append(sopts, sp.services.options()...)
	write := func(w io.Writer) error {
		switch o.format {
		case "folded":
			return svg.WriteFolded(w, t)
		case "top":
			return svg.WriteTop(w, t, o.top, o.markdown)
		}
		if o.palette == "auto" {
			sopts = append([]svg.Option{svg.WithPalette(svg.PaletteFor(t))}, sopts...)
		}
		return svg.Write(w, t, sopts...)
	}
	if o.out == "" || o.out == "-" {
		return write(stdout)
	}
	return writeFileAtomic(o.out, write)
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version + " " + bi.GoVersion
	}
	return "(devel)"
}

// load reads and decodes one input.
// Trace input also gives the SVG options tied to its tree's frames.
func load(ctx context.Context, in string, stdin io.Reader, stderr io.Writer, progress bool, opts []flame.Option, sp spanOptions) (*flame.Tree, []svg.Option, error) {
	r, done, err := openInput(ctx, in, stdin, stderr, progress)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	br, isTraces := sniffTraces(r)
	if isTraces {
		return loadTraces(br, in, stderr, sp)
	}
	if sp.spansOnly {
		return nil, nil, &flame.ParseError{Input: in, Line: 1, Err: flame.ErrFormat,
			Expected: "trace data (OTLP JSON or Jaeger JSON), as --spans asks"}
	}
	t, err := flame.Decode(br, in, opts...)
	return t, nil, err
}

// openInput opens a file, - (stdin) or an http(s) URL for reading; done
// closes it and ends the progress line.
func openInput(ctx context.Context, in string, stdin io.Reader, stderr io.Writer, progress bool) (_ io.Reader, done func(), _ error) {
	var closers []func()
	done = func() {
		for _, c := range closers {
			c()
		}
	}
	var r io.Reader
	var size int64 = -1
	switch {
	case in == "-":
		r = stdin
	case strings.HasPrefix(in, "http://") || strings.HasPrefix(in, "https://"):
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, in, nil)
		if err != nil {
			return nil, nil, &UsageError{Msg: fmt.Sprintf("flamegen: %s: %v", in, err)}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("fetch %s: %w", in, err)
		}
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
			resp.Body.Close()
			return nil, nil, fmt.Errorf("fetch %s: %s: %s", in, resp.Status, strings.TrimSpace(string(msg)))
		}
		closers = append(closers, func() { resp.Body.Close() })
		r, size = resp.Body, resp.ContentLength
	default:
		f, err := os.Open(in)
		if err != nil {
			return nil, nil, err
		}
		if st, err := f.Stat(); err == nil {
			if st.IsDir() {
				f.Close()
				return nil, nil, &UsageError{Msg: fmt.Sprintf("flamegen: %s is a directory: expected a profile file", in)}
			}
			size = st.Size()
		}
		closers = append(closers, func() { f.Close() })
		r = f
	}
	r = &ctxReader{ctx: ctx, r: r}
	if progress {
		p := &progressReader{r: r, w: stderr, name: in, size: size}
		closers = append([]func(){p.done}, closers...)
		r = p
	}
	return r, done, nil
}

// ctxReader stops reading when ctx is done, so that an interrupt ends a long
// parse promptly.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
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

// isTerminal reports whether w is a terminal: a file that answers the
// terminal-attributes ioctl (a character device such as /dev/null does not).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTTY(f.Fd())
}

// writeFileAtomic writes through a temporary file in the destination's
// directory and renames it into place, so a failure never leaves a partial
// file behind.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}
