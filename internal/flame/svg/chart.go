package svg

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// Chart is a flame chart with a time axis: bars at their real start and
// end, in rows laid out by the caller (for traces, spans.Layout), so that
// no two bars of a row overlap. It is what [WriteChart] draws.
type Chart struct {
	// Begin and End bound the time axis, in nanoseconds.
	Begin, End int64
	// Rows is the number of rows; row 0 is drawn at the top.
	Rows int
	Bars []ChartBar
	// Marks are stretches drawn as a thick line under the bars of their
	// row, such as the segments of a critical path.
	Marks []ChartMark
	// MarkLabel names what the marks are in the legend ("critical path").
	MarkLabel string
}

// ChartBar is one bar of a [Chart].
type ChartBar struct {
	Row        int
	Start, End int64
	Label      string
	// Short, when set, is drawn instead of a Label that does not fit,
	// e.g. the span name without its service.
	Short string
	// Kind picks the colour: [flame.KindSpan] bars are blue-grey,
	// [flame.KindOffCPU] bars blue-green, others in the [WithPalette]
	// palette.
	Kind flame.Kind
	// Tooltip is shown on hover after the bar's first line, which is
	// "label (duration, share of the time axis)".
	Tooltip []string
	// Outlined draws a thick outline (e.g. a span on the critical path);
	// Error a red one, and a red corner mark.
	Outlined, Error bool
	// Outside lists the stretches of the bar that lie outside its
	// parent's time, such as async work that outlives the span that
	// started it; they are drawn hatched, at least half a pixel wide.
	Outside []Stretch
	// Band, when set, is drawn as a thin band under the bar: what the
	// span's goroutine was doing over time, in time order.
	Band []BandPart
}

// BandPart is a stretch of a [ChartBar]'s band in one state.
type BandPart struct {
	Start, End int64
	// State picks the colour: one of running, runnable, syscall, lock,
	// channel, sleep, gc, other (see [StateColor]).
	State string
	// Title is the part's tooltip after its state and duration, such as
	// what it waited on.
	Title string
}

// BandStates are the states a [BandPart] can be in, in legend order.
var BandStates = [...]string{"running", "runnable", "syscall", "lock", "channel", "sleep", "gc", "other"}

var stateFills = map[string]string{
	"running":  "rgb(60,170,75)",
	"runnable": "rgb(240,180,40)",
	"syscall":  "rgb(150,90,200)",
	"lock":     "rgb(200,80,40)",
	"channel":  "rgb(40,120,220)",
	"sleep":    "rgb(160,160,160)",
	"gc":       "rgb(230,90,170)",
	"other":    "rgb(90,90,90)",
}

// StateColor returns the fill of a band part in state s; an unknown state
// is drawn as other.
func StateColor(s string) string {
	if c, ok := stateFills[s]; ok {
		return c
	}
	return stateFills["other"]
}

// bandHeight is the height of a state band; a chart with bands gives each
// row that much more room.
const bandHeight = 6

// Stretch is an interval of a [Chart]'s time axis, in nanoseconds.
type Stretch struct{ Start, End int64 }

// ChartMark is a stretch of a row to mark.
type ChartMark struct {
	Row        int
	Start, End int64
}

// WriteChart draws c as one self-contained SVG with a time ruler at the top,
// one row per [frameHeight] pixels below it, a native tooltip on every bar
// and a legend. It uses no script, so that it works wherever SVG is shown;
// the output depends only on c and the options ([WithTitle], [WithSubtitle],
// [WithWidth], [WithPalette], [WithoutPrefix], [WithLegend]; others are
// ignored).
func WriteChart(w io.Writer, c Chart, opts ...Option) error {
	cfg := newConfig(opts)
	bw := bufio.NewWriterSize(w, 64<<10)
	span := c.End - c.Begin
	if span <= 0 {
		span = 1
	}
	plot := float64(cfg.width - 2*xpad)
	x := func(t int64) float64 { return float64(xpad) + plot*float64(t-c.Begin)/float64(span) }

	title := cfg.title
	if title == "" {
		title = "Flame Chart"
	}
	subtitle := cfg.subtitle
	if subtitle == "" {
		subtitle = fmt.Sprintf("%s · %d bars", formatValue(c.End-c.Begin, "nanoseconds"), len(c.Bars))
	}
	if cfg.prefixAbout != "" {
		subtitle = cfg.prefixAbout + " · " + subtitle
	}
	legend := append([]string(nil), cfg.legend...)
	if len(c.Marks) > 0 && c.MarkLabel != "" {
		legend = append(legend, "Dark red line, thick outline: "+c.MarkLabel)
	}
	errs, outside := 0, 0
	for _, b := range c.Bars {
		if b.Error {
			errs++
		}
		if len(b.Outside) > 0 {
			outside++
		}
	}
	if errs > 0 {
		legend = append(legend, fmt.Sprintf("Red outline and corner: status Error (%d)", errs))
	}
	if outside > 0 {
		spans := "spans"
		if outside == 1 {
			spans = "span"
		}
		legend = append(legend, fmt.Sprintf("Hatched: the part of a span outside its parent's time, such as async work that outlives it (%d %s)", outside, spans))
	}
	legend = append(legend, "Blue-grey: spans. Blue-green: lock waits and channel blocks (off CPU). Hover a bar for its details.")
	bandStates := map[string]bool{}
	for _, b := range c.Bars {
		for _, p := range b.Band {
			if p.End > p.Start {
				bandStates[BandStates[bandState(p.State)]] = true
			}
		}
	}
	rowH, bandLegend := frameHeight, 0
	if len(bandStates) > 0 {
		rowH, bandLegend = frameHeight+bandHeight, 1
	}

	rulerTop := 2*fontSize + 3*fontSize
	barsTop := rulerTop + 2*fontSize
	rows := max(c.Rows, 1)
	height := barsTop + rows*rowH + fontSize + (len(legend)+bandLegend)*(fontSize+4) + 10

	fmt.Fprintf(bw, `<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">
<style type="text/css">
text { font-family: Verdana, Helvetica, Arial, sans-serif; font-size: 12px; fill: rgb(0,0,0); }
#bars rect:hover { stroke: rgb(0,0,0); stroke-width: 0.5; }
#bars rect.crit { stroke: rgb(120,0,0); stroke-width: 2; }
#bars rect.err { stroke: rgb(230,0,0); stroke-width: 2; stroke-dasharray: 4,2; }
#bars text { pointer-events: none; }
#title { font-size: 17px; text-anchor: middle; }
#subtitle, #legend text, #ruler text { fill: rgb(60,60,60); }
#subtitle { text-anchor: middle; }
#ruler line { stroke: rgb(160,160,160); stroke-width: 1; }
</style>
<defs><pattern id="outside" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="rgb(40,40,40)" fill-opacity="0.45"/></pattern></defs>
<rect x="0" y="0" width="%d" height="%d" fill="rgb(248,248,248)"/>
<text id="title" x="%d" y="%d">%s</text>
<text id="subtitle" x="%d" y="%d">%s</text>
`, cfg.width, height, cfg.width, height, cfg.width, height,
		cfg.width/2, 2*fontSize, xmlText(title), cfg.width/2, 3*fontSize+6, xmlText(subtitle))

	// Ruler: about ten ticks at a round step, labelled from the start.
	step := niceStep(span / 10)
	bw.WriteString(`<g id="ruler">`)
	for t := int64(0); t <= span; t += step {
		px := x(c.Begin + t)
		fmt.Fprintf(bw, `<line x1="%.2f" y1="%d" x2="%.2f" y2="%d"/>`, px, rulerTop+fontSize/2, px, barsTop+rows*rowH)
		label := formatValue(t, "nanoseconds")
		anchor := "middle"
		switch {
		case t == 0:
			anchor = "start"
		case px+float64(len(label))*charWidth/2 > float64(cfg.width): // would run off the right edge
			anchor = "end"
		}
		fmt.Fprintf(bw, `<text x="%.2f" y="%d" text-anchor="%s">%s</text>`, px, rulerTop, anchor, label)
	}
	bw.WriteString("</g>\n<g id=\"bars\">\n")

	for _, b := range c.Bars {
		x0, x1 := x(b.Start), x(b.End)
		w := math.Max(x1-x0, 0.5) // a zero-length span stays visible
		y := barsTop + b.Row*rowH
		class := ""
		switch {
		case b.Error:
			class = ` class="err"`
		case b.Outlined:
			class = ` class="crit"`
		}
		label := cfg.display(b.Label)
		tip := label + " (" + formatValue(b.End-b.Start, "nanoseconds") + ", " + pct(b.End-b.Start, span) + ")"
		for _, l := range b.Tooltip {
			tip += "\n" + l
		}
		fmt.Fprintf(bw, `<g><title>%s</title><rect x="%.2f" y="%d" width="%.2f" height="%d" rx="2" ry="2" fill="%s"%s/>`,
			xmlText(tip), x0, y, w, frameHeight-1, frameColor(cfg.palette, b.Label, b.Kind), class)
		for _, o := range b.Outside {
			if s, e := max(o.Start, b.Start), min(o.End, b.End); e > s {
				fmt.Fprintf(bw, `<rect class="outside" x="%.2f" y="%d" width="%.2f" height="%d" fill="url(#outside)" pointer-events="none"/>`,
					x(s), y, math.Max(x(e)-x(s), 0.5), frameHeight-1)
			}
		}
		if b.Error {
			fmt.Fprintf(bw, `<path d="M%.2f %dh6l-6 6z" fill="rgb(230,0,0)"/>`, x0, y)
		}
		if fit := int((w - 6) / charWidth); fit >= 3 {
			if b.Short != "" && utf8.RuneCountInString(label) > fit {
				label = b.Short
			}
			fmt.Fprintf(bw, `<text x="%.2f" y="%d">%s</text>`, x0+3, y+fontSize, xmlText(truncate(label, fit)))
		}
		bw.WriteString("</g>\n")
		if len(b.Band) > 0 {
			writeBand(bw, b.Band, x, y+frameHeight-1)
		}
	}
	for _, m := range c.Marks {
		y := barsTop + m.Row*rowH + frameHeight - 4
		fmt.Fprintf(bw, `<rect x="%.2f" y="%d" width="%.2f" height="3" fill="rgb(120,0,0)" pointer-events="none"/>`+"\n", x(m.Start), y, math.Max(x(m.End)-x(m.Start), 0.5))
	}
	bw.WriteString("</g>\n<g id=\"legend\">")
	for i, l := range legend {
		fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`, xpad, barsTop+rows*rowH+2*fontSize+i*(fontSize+4), xmlText(truncate(l, 180)))
	}
	if bandLegend > 0 {
		y := barsTop + rows*rowH + 2*fontSize + len(legend)*(fontSize+4)
		const intro = "Band under each span, what its goroutine was doing:"
		fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`, xpad, y, intro)
		px := float64(xpad) + float64(len(intro)+1)*charWidth
		for _, st := range BandStates {
			if !bandStates[st] {
				continue
			}
			fmt.Fprintf(bw, `<g class="state"><title>%s</title><rect x="%.2f" y="%d" width="10" height="10" fill="%s"/><text x="%.2f" y="%d">%s</text></g>`,
				xmlText(stateMeaning[st]), px, y-fontSize+2, StateColor(st), px+13, y, st)
			px += 13 + float64(len(st)+2)*charWidth
		}
	}
	bw.WriteString("</g>\n</svg>\n")
	return bw.Flush()
}

// niceStep returns the smallest 1, 2 or 5 times a power of ten that is at
// least d (and at least 1).
func niceStep(d int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= d || p > math.MaxInt64/100 {
				return m * p
			}
		}
	}
}

var stateMeaning = map[string]string{
	"running":  "running: on a P, running Go code",
	"runnable": "runnable: ready, waiting for a P (scheduler latency)",
	"syscall":  "syscall: in a system call",
	"lock":     "lock: blocked on a lock, sync.Cond or sync.WaitGroup",
	"channel":  "channel: blocked sending, receiving or in a select",
	"sleep":    "sleep: in time.Sleep",
	"gc":       "gc: assisting the GC, waiting for it, or stopped by it",
	"other":    "other: network waits and anything else",
}

// writeBand draws a bar's state band at y: a rect with a tooltip per part
// at least a pixel wide; narrower parts next to each other are gathered
// into one rect of up to a pixel, drawn in the colour of the state that
// took most of it, its tooltip listing what it holds.
func writeBand(bw *bufio.Writer, band []BandPart, x func(int64) float64, y int) {
	var (
		start, end int64
		by         [len(BandStates)]int64
		n          int
		first      string
	)
	flush := func() {
		if n == 0 {
			return
		}
		most := 0
		for i, v := range by {
			if v > by[most] {
				most = i
			}
		}
		tip := first
		if n > 1 {
			tip = fmt.Sprintf("%d stretches over %s:", n, formatValue(end-start, "nanoseconds"))
			for i, v := range by {
				if v > 0 {
					tip += fmt.Sprintf(" %s %s", BandStates[i], formatValue(v, "nanoseconds"))
				}
			}
		}
		x0 := x(start)
		fmt.Fprintf(bw, `<rect class="band" x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
			x0, y, math.Max(x(end)-x0, 0.5), bandHeight-1, StateColor(BandStates[most]), xmlText(tip))
		by, n = [len(BandStates)]int64{}, 0
	}
	for _, p := range band {
		if p.End <= p.Start {
			continue
		}
		wide := x(p.End)-x(p.Start) >= 1
		if n > 0 && (wide || x(p.End)-x(start) > 1) {
			flush()
		}
		if n == 0 {
			start, end = p.Start, p.End
			first = p.State + " " + formatValue(p.End-p.Start, "nanoseconds")
			if p.Title != "" {
				first += ": " + p.Title
			}
		}
		end = max(end, p.End)
		by[bandState(p.State)] += p.End - p.Start
		n++
		if wide {
			flush()
		}
	}
	flush()
}

// bandState is the index of state s in [BandStates], other's when unknown.
func bandState(s string) int {
	for i, st := range BandStates {
		if st == s {
			return i
		}
	}
	return len(BandStates) - 1
}
