package svg

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// Defaults of [Write].
const (
	DefaultWidth    = 1200 // pixels, as flamegraph.pl
	DefaultMinWidth = 0.1  // pixels, as flamegraph.pl
	DefaultTopSelf  = 3    // functions outlined for their self time
	frameHeight     = 16
	fontSize        = 12
	xpad            = 10
	// charWidth is the width of a label character: labels are cut to
	// fit at this average width instead of measured text, as
	// flamegraph.pl does.
	charWidth = fontSize * 0.59
)

// Option configures [Write].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	title, subtitle     string
	width               int
	minWidth            float64
	inverted            bool
	palette             Palette
	order               flame.Order
	highlight           *regexp.Regexp
	topSelf             int
	notes               func(flame.NodeID) string
	legend              []string
	marked              func(flame.NodeID) bool
	markedWhat          string
	errors              func(flame.NodeID) bool
	errorsWhat          string
	prefix, prefixAbout string
}

// display is the name drawn for a frame named name: without the
// [WithoutPrefix] prefix.
func (c *config) display(name string) string {
	if c.prefix != "" && len(name) > len(c.prefix) && strings.HasPrefix(name, c.prefix) {
		return name[len(c.prefix):]
	}
	return name
}

func newConfig(opts []Option) config {
	c := config{width: DefaultWidth, minWidth: DefaultMinWidth, topSelf: DefaultTopSelf}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// WithTitle sets the title (default "Flame Graph", "Icicle Graph" when
// inverted, "Differential Flame Graph" for a diff tree).
func WithTitle(s string) Option { return optionFunc(func(c *config) { c.title = s }) }

// WithSubtitle sets the line under the title (default: the sample type, the
// total and the number of frames).
func WithSubtitle(s string) Option { return optionFunc(func(c *config) { c.subtitle = s }) }

// WithWidth sets the image width in pixels (default [DefaultWidth]).
func WithWidth(px int) Option {
	return optionFunc(func(c *config) {
		if px >= 100 {
			c.width = px
		}
	})
}

// WithMinWidth leaves out frames narrower than px pixels at full view
// (default [DefaultMinWidth], as flamegraph.pl); it bounds the size of the
// file. The page never draws a frame narrower than 0.1 px at the current
// zoom, so a smaller value keeps detail for zooming in without drawing
// invisible slivers.
func WithMinWidth(px float64) Option {
	return optionFunc(func(c *config) {
		if px >= 0 {
			c.minWidth = px
		}
	})
}

// WithInverted draws an icicle graph: the root at the top, stacks growing
// down.
func WithInverted() Option { return optionFunc(func(c *config) { c.inverted = true }) }

// WithPalette sets the palette of profile frames (default [Hot]). Span
// frames are always blue-grey and off-CPU frames blue-green, so that they
// read the same in every graph; diff trees are always red and blue.
func WithPalette(p Palette) Option { return optionFunc(func(c *config) { c.palette = p }) }

// WithOrder sets the sibling order (default [flame.Alphabetical]).
func WithOrder(o flame.Order) Option { return optionFunc(func(c *config) { c.order = o }) }

// WithHighlight outlines every frame whose name matches re.
func WithHighlight(re *regexp.Regexp) Option {
	return optionFunc(func(c *config) { c.highlight = re })
}

// WithTopSelf outlines the frames of the n functions with the most self
// time, summed over all their frames ([flame.Top]), and lists the functions
// in the legend; for a diff tree, the n whose self time changed most
// ([flame.TopDiff]). Default [DefaultTopSelf]; 0 turns it off.
func WithTopSelf(n int) Option {
	return optionFunc(func(c *config) {
		if n >= 0 {
			c.topSelf = n
		}
	})
}

// WithNotes adds note(n), when not empty, to the tooltip and details line
// of frame n: what the tree's values alone do not say, such as how much of
// a span frame's time was on CPU. None by default.
func WithNotes(note func(n flame.NodeID) string) Option {
	return optionFunc(func(c *config) { c.notes = note })
}

// WithMarked outlines (thin, as [WithHighlight] does) every frame for
// which marked returns true, and says in the legend how many there are,
// followed by what, e.g. "with a span over 100ms". None by default.
func WithMarked(marked func(n flame.NodeID) bool, what string) Option {
	return optionFunc(func(c *config) { c.marked, c.markedWhat = marked, what })
}

// WithErrors marks with a red corner every frame for which isErr returns
// true, as the flame chart marks a span with an error, and says in the
// legend how many there are, followed by what, e.g. "with spans of status
// Error". None by default.
func WithErrors(isErr func(n flame.NodeID) bool, what string) Option {
	return optionFunc(func(c *config) { c.errors, c.errorsWhat = isErr, what })
}

// WithoutPrefix draws every frame whose name starts with prefix without it,
// and starts the subtitle with about, which says once what was
// dropped: for traces of one service, "checkout: " from every frame and
// "service checkout" in the subtitle, so that narrow frames show their
// names. Frames keep their colours; search and --highlight see the shorter
// names.
func WithoutPrefix(prefix, about string) Option {
	return optionFunc(func(c *config) { c.prefix, c.prefixAbout = prefix, about })
}

// WithLegend adds lines to the legend under the frames, before the lines
// [WithHighlight] and [WithTopSelf] write, for example what a colour means.
// Repeated options add more lines.
func WithLegend(lines ...string) Option {
	return optionFunc(func(c *config) { c.legend = append(c.legend, lines...) })
}

// data is what the embedded script draws from. F holds stride-5 records in
// depth-first order: name index, depth, width, self, and dx, the frame's x
// minus where it would start if it directly followed its left sibling (or
// its parent's left edge, after the parent's self value when SelfFirst) —
// zero except after a frame left out by
// --minwidth, so the column costs one character per frame. A name's colour
// is NC[name]; diff graphs colour each frame (FC). HL lists the outlined
// frames, TopF the frames of the functions with the most self value, Err
// the frames marked as errors.
type data struct {
	Names    []string `json:"names"`
	Colors   []string `json:"colors"`
	NC       []int    `json:"nc,omitempty"`
	FC       []int    `json:"fc,omitempty"`
	F        []int64  `json:"f"`
	HL       []int    `json:"hl"`
	TopF     []int    `json:"topf"`
	Err      []int    `json:"err,omitempty"`
	Base     []int64  `json:"base,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	FN       []int    `json:"fn,omitempty"` // pairs: frame, note index
	Unit     string   `json:"unit"`
	Scale    int64    `json:"scale,omitempty"` // values per unit of fractional folded counts
	Width    int      `json:"width"`
	Xpad     int      `json:"xpad"`
	FH       int      `json:"fh"`
	CW       float64  `json:"cw"` // the fixed width of a label character
	MinW     float64  `json:"minw"`
	Top      int      `json:"top"`
	MaxDepth int      `json:"maxdepth"`
	Inverted bool     `json:"inverted"`
	// SelfFirst: a frame's children start after its self value, not at
	// its left edge (see [Layout]).
	SelfFirst bool `json:"selffirst,omitempty"`
}

// stride is the number of values per frame in data.F.
const stride = 5

// Frame outline flags, as the script reads them from HL, TopF and Err.
const (
	flagHL  = 1 << iota // outlined thin (--highlight, marked)
	flagTop             // outlined thick: a function with the most self value
	flagErr             // a red corner: an error
)

// Write draws t as one self-contained SVG: no external assets, works
// offline. Every frame at least the cut wide at full view (--minwidth, and
// never less than 0.1 px) is an SVG element with a <title> of the form
// "name (value, share)", so the graph shows where no script runs (as an
// image, in a viewer or a converter). A small script adds the details line,
// click-zoom and a regular-expression search; it draws from an embedded
// table of the frames, which also keeps the frames below the cut (down to
// [WithMinWidth]) for zooming. Labels are cut to a fixed per-character
// width instead of measured text. The output depends only on t and the
// options: byte-for-byte the same every run.
func Write(w io.Writer, t *flame.Tree, opts ...Option) error {
	c := newConfig(opts)
	bw := bufio.NewWriterSize(w, 256<<10)
	d := data{Unit: xmlSafe(t.Unit), Scale: scaleOf(t), Width: c.width, Xpad: xpad, FH: frameHeight, CW: charWidth, MinW: c.minWidth, Inverted: c.inverted,
		SelfFirst: c.order == flame.Alphabetical}

	nameIdx := map[uint64]int{}
	noteIdx := map[string]int{}
	colorIdx := map[string]int{}
	color := func(col string) int {
		ci, ok := colorIdx[col]
		if !ok {
			ci = len(d.Colors)
			colorIdx[col] = ci
			d.Colors = append(d.Colors, col)
		}
		return ci
	}
	diff := t.IsDiff()
	var maxAbs int64
	if diff {
		for n := flame.NodeID(1); int(n) < t.Len(); n++ {
			maxAbs = max(maxAbs, abs(t.Value(n)-t.Base(n)))
		}
	}
	// The legend ranks functions by self value, or for a diff by how much
	// it changed; their frames that hold some are outlined.
	var tops []string
	topName := map[int]bool{}
	if c.topSelf > 0 && diff {
		for k, e := range flame.TopDiff(t, c.topSelf) {
			tops = append(tops, fmt.Sprintf("%d. %s %s (before %s, after %s)", k+1, truncate(c.display(e.Name), 60), signed(t, e.Delta()), treeValue(t, e.Before), treeValue(t, e.After)))
			topName[e.NameIndex] = true
		}
	} else if c.topSelf > 0 {
		for k, e := range flame.Top(t, c.topSelf) {
			if e.Self > 0 {
				tops = append(tops, fmt.Sprintf("%d. %s %s (%s)", k+1, truncate(c.display(e.Name), 60), treeValue(t, e.Self), pct(e.Self, t.Total())))
				topName[e.NameIndex] = true
			}
		}
	}
	var next []int64 // next[d]: where a frame at depth d starts if it follows its left sibling
	d.HL, d.TopF = []int{}, []int{}
	nf := 0
	var hlSum int64
	nMarked, nErr := 0, 0
	hlDepth := -1 // depth of the highlighted frame the walk is above, or -1
	layout(t, c.width, c.minWidth, c.order, func(f Frame) {
		self := t.Self(f.Node)
		key := uint64(t.NameIndex(f.Node)) | uint64(t.Kind(f.Node))<<32 | uint64(t.Annotation(f.Node))<<40
		ni, ok := nameIdx[key]
		if !ok {
			ni = len(d.Names)
			nameIdx[key] = ni
			d.Names = append(d.Names, xmlSafe(c.display(f.Name)))
			if !diff {
				col := frameColor(c.palette, f.Name, t.Kind(f.Node))
				if a := t.Annotation(f.Node); a != flame.NoAnnotation {
					col = annotationColor(f.Name, a)
				}
				d.NC = append(d.NC, color(col))
			}
		}
		if diff {
			d.FC = append(d.FC, color(diffColor(t.Value(f.Node)-t.Base(f.Node), maxAbs)))
			d.Base = append(d.Base, t.Base(f.Node))
		}
		if hlDepth >= 0 && f.Depth <= hlDepth {
			hlDepth = -1
		}
		if c.highlight != nil && f.Node != flame.Root && c.highlight.MatchString(d.Names[ni]) {
			d.HL = append(d.HL, nf)
			if hlDepth < 0 { // nested matches are inside this one's share
				hlSum += f.Value
				hlDepth = f.Depth
			}
		}
		if c.notes != nil {
			if note := c.notes(f.Node); note != "" {
				ni, ok := noteIdx[note]
				if !ok {
					ni = len(d.Notes)
					noteIdx[note] = ni
					d.Notes = append(d.Notes, xmlSafe(note))
				}
				d.FN = append(d.FN, nf, ni)
			}
		}
		if c.marked != nil && f.Node != flame.Root && c.marked(f.Node) {
			d.HL = append(d.HL, nf)
			nMarked++
		}
		if c.errors != nil && f.Node != flame.Root && c.errors(f.Node) {
			d.Err = append(d.Err, nf)
			nErr++
		}
		if f.Node != flame.Root && (self > 0 || diff && t.BaseSelf(f.Node) > 0) && topName[t.NameIndex(f.Node)] {
			d.TopF = append(d.TopF, nf)
		}
		for len(next) < f.Depth+2 {
			next = append(next, 0)
		}
		dx := f.X - next[f.Depth]
		next[f.Depth] = f.X + f.Value
		next[f.Depth+1] = f.X
		if d.SelfFirst {
			next[f.Depth+1] += self
		}
		d.F = append(d.F, int64(ni), int64(f.Depth), f.Value, self, dx)
		if f.Depth > d.MaxDepth {
			d.MaxDepth = f.Depth
		}
		nf++
	})
	type legendLine struct {
		text   string
		indent bool
	}
	var legend []legendLine
	for _, l := range c.legend {
		legend = append(legend, legendLine{truncate(l, 160), false})
	}
	plural := func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	}
	if c.highlight != nil {
		legend = append(legend, legendLine{fmt.Sprintf("Outlined thin: %d %s matching /%s/, %s of all", len(d.HL), plural(len(d.HL), "frame", "frames"), truncate(c.highlight.String(), 60), pct(hlSum, t.Total())), false})
	}
	if c.marked != nil {
		legend = append(legend, legendLine{fmt.Sprintf("Outlined thin: %d %s %s", nMarked, plural(nMarked, "frame", "frames"), truncate(c.markedWhat, 100)), false})
	}
	if c.errors != nil && nErr > 0 {
		legend = append(legend, legendLine{fmt.Sprintf("Red corner: %d %s %s", nErr, plural(nErr, "frame", "frames"), truncate(c.errorsWhat, 100)), false})
	}
	if len(tops) > 0 {
		head := "Most self time (outlined thick):"
		if diff {
			head = "Largest changes of self time (outlined thick):"
		}
		legend = append(legend, legendLine{head, false})
	}
	for _, l := range tops {
		legend = append(legend, legendLine{l, true})
	}

	title := c.title
	if title == "" {
		switch {
		case diff:
			title = "Differential Flame Graph"
		case c.inverted:
			title = "Icicle Graph"
		default:
			title = "Flame Graph"
		}
	}
	subtitle := c.subtitle
	if subtitle == "" {
		st := t.SampleType
		if st == "" {
			st = t.Unit
		}
		subtitle = fmt.Sprintf("%s · total %s · %d frames", st, treeValue(t, t.Total()), nf)
	}
	if c.prefixAbout != "" {
		subtitle = c.prefixAbout + " · " + subtitle
	}

	// Layout of the page, top to bottom: title, subtitle, frames, details
	// line, legend.
	top := 2*fontSize + 3*fontSize
	legendH := 0
	if len(legend) > 0 {
		legendH = len(legend) * (fontSize + 4)
	}
	d.Top = top
	height := top + (d.MaxDepth+1)*frameHeight + 2*fontSize + 10 + legendH
	if nf == 0 {
		height = top + 3*fontSize + legendH
	}
	js, err := json.Marshal(d)
	if err != nil {
		return err
	}

	fmt.Fprintf(bw, `<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">
`, c.width, height, c.width, height)
	bw.WriteString(`<style type="text/css">
text { font-family: Verdana, Helvetica, Arial, sans-serif; font-size: 12px; fill: rgb(0,0,0); }
#frames rect { stroke-width: 0; }
#frames rect.hl { stroke: rgb(0,0,0); stroke-width: 1.5; }
#frames rect.top { stroke: rgb(0,0,0); stroke-width: 2.5; }
#frames rect.anc { opacity: 0.5; }
#frames text { pointer-events: none; }
#frames rect:hover { stroke: rgb(0,0,0); stroke-width: 0.5; cursor: pointer; }
.button { cursor: pointer; }
.button:hover { text-decoration: underline; }
#title { font-size: 17px; text-anchor: middle; }
#subtitle, #legend text { fill: rgb(60,60,60); }
#subtitle { text-anchor: middle; }
</style>
`)
	fmt.Fprintf(bw, `<rect x="0" y="0" width="%d" height="%d" fill="rgb(248,248,248)"/>
`, c.width, height)
	fmt.Fprintf(bw, `<text id="title" x="%d" y="%d">%s</text>
`, c.width/2, 2*fontSize, xmlText(title))
	fmt.Fprintf(bw, `<text id="subtitle" x="%d" y="%d">%s</text>
`, c.width/2, 2*fontSize+fontSize+6, xmlText(subtitle))
	// The buttons only work with the script, which shows them.
	fmt.Fprintf(bw, `<text id="reset" class="button" x="%d" y="%d" style="opacity:0">Reset Zoom</text>
<text id="search" class="button" x="%d" y="%d" text-anchor="end" style="opacity:0">Search</text>
<text id="clear" class="button" x="%d" y="%d" text-anchor="end" style="opacity:0">Clear</text>
`, xpad, 2*fontSize, c.width-xpad, 2*fontSize, c.width-xpad-70, 2*fontSize)
	frBottom := top + (d.MaxDepth+1)*frameHeight
	bw.WriteString(`<g id="frames">` + "\n")
	if err := d.drawFrames(bw, t.Total(), max(c.minWidth, DefaultMinWidth)); err != nil {
		return err
	}
	fmt.Fprintf(bw, `</g>
<text id="details" x="%d" y="%d"> </text>
<text id="matched" x="%d" y="%d" text-anchor="end"> </text>
`, xpad, frBottom+2*fontSize, c.width-xpad, frBottom+2*fontSize)
	if len(legend) > 0 {
		bw.WriteString(`<g id="legend">`)
		for i, l := range legend {
			x := xpad
			if l.indent {
				x += 12
			}
			fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`, x, frBottom+3*fontSize+8+i*(fontSize+4), xmlText(l.text))
		}
		bw.WriteString("</g>\n")
	}
	bw.WriteString(`<metadata id="flamegen-data">`)
	// The JSON encoder escapes <, > and & (and U+2028/U+2029), so the data
	// is plain XML text: no CDATA section for a name to end early. Browsers
	// parse it with JSON.parse, much faster than the same data as a script
	// literal.
	bw.Write(js)
	bw.WriteString(`</metadata>
<script type="text/ecmascript"><![CDATA[
var FLAMEGEN_DATA = JSON.parse(document.getElementById("flamegen-data").textContent);
`)
	bw.WriteString(script)
	bw.WriteString("]]></script>\n</svg>\n")
	return bw.Flush()
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func pct(v, total int64) string {
	if total == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*float64(v)/float64(total), 'f', 2, 64) + "%"
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-2]) + ".."
}

// xmlSafe replaces what XML 1.0 cannot hold at all, even escaped (invalid
// UTF-8, most control characters, U+FFFE), with U+FFFD, so that hostile
// names can be shown as text.
func xmlSafe(s string) string {
	ok := true
	for _, r := range s {
		if !isXMLChar(r) {
			ok = false
			break
		}
	}
	if ok && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !isXMLChar(r) {
			r = '\uFFFD'
		}
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(xmlSafe(s)))
	return b.String()
}

// scaleOf is t's scale when its values are fractional counts, else 0.
func scaleOf(t *flame.Tree) int64 {
	if t.Scale() == 1 {
		return 0
	}
	return t.Scale()
}

// treeValue renders a value of t in its unit, as [formatScaled] does.
func treeValue(t *flame.Tree, v int64) string { return formatScaled(v, t.Unit, t.Scale()) }

// formatScaled renders v, which counts 1/scale of unit (scale a power of
// ten, from fractional folded counts), as "31.23 samples": the decimals
// the input had, none when v is whole. A scale of 0 or 1 is [formatValue].
// The script's fmt is the same function.
func formatScaled(v int64, unit string, scale int64) string {
	if scale <= 1 {
		return formatValue(v, unit)
	}
	if v < 0 && v != math.MinInt64 {
		return "-" + formatScaled(-v, unit, scale)
	}
	frac := strings.TrimRight(strconv.FormatInt(scale+v%scale, 10)[1:], "0")
	if frac != "" {
		frac = "." + frac
	}
	return group(v/scale) + frac + " " + unit
}

// formatValue renders v in unit for people: "1.50 s", "12.00 MiB",
// "1,234 samples", "-3.00 ms". The script's fmt is the same function.
func formatValue(v int64, unit string) string {
	if v < 0 && v != math.MinInt64 {
		return "-" + formatValue(-v, unit)
	}
	f := float64(v)
	switch unit {
	case "nanoseconds":
		switch {
		case f >= 1e9:
			return strconv.FormatFloat(f/1e9, 'f', 2, 64) + " s"
		case f >= 1e6:
			return strconv.FormatFloat(f/1e6, 'f', 2, 64) + " ms"
		case f >= 1e3:
			return strconv.FormatFloat(f/1e3, 'f', 2, 64) + " µs"
		}
		return strconv.FormatInt(v, 10) + " ns"
	case "bytes":
		switch {
		case f >= 1<<30:
			return strconv.FormatFloat(f/(1<<30), 'f', 2, 64) + " GiB"
		case f >= 1<<20:
			return strconv.FormatFloat(f/(1<<20), 'f', 2, 64) + " MiB"
		case f >= 1<<10:
			return strconv.FormatFloat(f/(1<<10), 'f', 2, 64) + " KiB"
		}
		return strconv.FormatInt(v, 10) + " B"
	}
	return group(v) + " " + unit
}

func group(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
