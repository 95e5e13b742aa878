package svg

import (
	"bufio"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// drawFrames writes the frames of d that are at least cut pixels wide at
// full view, depth-first, each as
//
//	<g><title>name (value, share)…</title><rect …/><text …>label</text></g>
//
// The script draws the same markup for the same frames when it renders
// the full view (see script's draw), so that a graph looks the same before
// and after a zoom and back, and whether or not the script runs. Numbers
// are formatted as the script formats them: [fixed] for coordinates and
// shares.
func (d *data) drawFrames(bw *bufio.Writer, total int64, cut float64) error {
	n := len(d.F) / stride
	if n == 0 {
		return nil
	}
	fl := make([]uint8, n)
	for _, i := range d.HL {
		fl[i] |= flagHL
	}
	for _, i := range d.TopF {
		fl[i] |= flagTop
	}
	for _, i := range d.Err {
		fl[i] |= flagErr
	}
	note := map[int]string{}
	for k := 0; k+1 < len(d.FN); k += 2 {
		note[d.FN[k]] = d.Notes[d.FN[k+1]]
	}
	scale := float64(d.Width-2*d.Xpad) / float64(total)
	minUnits := cut / scale
	next := make([]int64, d.MaxDepth+2)
	skip := -1 // depth of a frame below the cut whose subtree is being passed over, or -1
	var b []byte
	for i := range n {
		r := d.F[i*stride : (i+1)*stride]
		depth := int(r[1])
		x := next[depth] + r[4]
		next[depth] = x + r[2]
		next[depth+1] = x
		if d.SelfFirst {
			next[depth+1] += r[3]
		}
		if skip >= 0 && depth > skip {
			continue
		}
		skip = -1
		if float64(r[2]) < minUnits {
			skip = depth
			continue
		}
		b = d.appendFrame(b[:0], i, fl[i], note[i], total, float64(d.Xpad)+float64(x)*scale, float64(r[2])*scale)
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// errCorner is the side of the red corner that marks an error frame; frames
// narrower than two pixels more have none.
const errCorner = 6

// appendFrame appends the markup of frame i drawn at x, w pixels wide.
func (d *data) appendFrame(b []byte, i int, fl uint8, note string, total int64, x, w float64) []byte {
	r := d.F[i*stride : (i+1)*stride]
	name := d.Names[r[0]]
	b = append(b, "<g><title>"...)
	b = appendEscaped(b, d.title(i, total, note))
	b = append(b, `</title><rect x="`...)
	b = appendFixed(b, x, 1)
	y := d.y(int(r[1]))
	b = append(b, `" y="`...)
	b = strconv.AppendInt(b, int64(y), 10)
	b = append(b, `" width="`...)
	b = appendFixed(b, max(w-0.5, 0.1), 1)
	b = append(b, `" height="`...)
	b = strconv.AppendInt(b, int64(d.FH-1), 10)
	b = append(b, `" rx="2" fill="`...)
	if d.FC != nil {
		b = append(b, d.Colors[d.FC[i]]...)
	} else {
		b = append(b, d.Colors[d.NC[r[0]]]...)
	}
	b = append(b, '"')
	switch {
	case fl&flagTop != 0:
		b = append(b, ` class="top"`...)
	case fl&flagHL != 0:
		b = append(b, ` class="hl"`...)
	}
	b = append(b, "/>"...)
	if fl&flagErr != 0 && w >= errCorner+2 {
		b = append(b, `<path d="M`...)
		b = appendFixed(b, x, 1)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(y), 10)
		b = append(b, `h6l-6 6z" fill="rgb(230,0,0)"/>`...)
	}
	if s := label(name, w, d.CW); s != "" {
		b = append(b, `<text x="`...)
		b = appendFixed(b, x+3, 1)
		b = append(b, `" y="`...)
		b = strconv.AppendInt(b, int64(y+d.FH-5), 10)
		b = append(b, `">`...)
		b = appendEscaped(b, s)
		b = append(b, "</text>"...)
	}
	return append(b, "</g>\n"...)
}

// y is the top of a frame at depth.
func (d *data) y(depth int) int {
	if d.Inverted {
		return d.Top + depth*d.FH
	}
	return d.Top + (d.MaxDepth-depth)*d.FH
}

// title is frame i's tooltip: flamegraph.pl's "name (value, share)" with
// the share of the whole graph ("100%" for the root, as flamegraph.pl
// writes it), then for a diff the values before and after, then the
// frame's note.
func (d *data) title(i int, total int64, note string) string {
	r := d.F[i*stride : (i+1)*stride]
	share := "100%"
	if i > 0 {
		share = pct(r[2], total)
	}
	s := d.Names[r[0]] + " (" + d.value(r[2]) + ", " + share + ")"
	if d.Base != nil {
		s += "\n" + d.diffLine(d.Base[i], r[2])
	}
	if note != "" {
		s += "\n" + note
	}
	return s
}

// value renders v in d's unit and scale ([formatScaled]).
func (d *data) value(v int64) string { return formatScaled(v, d.Unit, d.Scale) }

// diffLine says how a frame of a differential graph changed.
func (d *data) diffLine(before, after int64) string {
	dv := after - before
	sign := "+"
	if dv < 0 {
		sign = ""
	}
	s := "before " + d.value(before) + ", after " + d.value(after) + ", delta " + sign + d.value(dv)
	if before != 0 {
		s += " (" + sign + strconv.FormatFloat(100*float64(dv)/float64(before), 'f', 1, 64) + "%)"
	}
	return s
}

// label is what fits of name in a frame w pixels wide at cw pixels a
// character: the whole name, else without its import path
// ("net/http.(*conn).serve" as "http.(*conn).serve"), else cut with "..";
// nothing when fewer than three characters fit.
func label(name string, w, cw float64) string {
	fit := math.Floor((w - 6) / cw)
	if fit < 3 {
		return ""
	}
	if float64(utf8.RuneCountInString(name)) <= fit {
		return name
	}
	short := name[strings.LastIndexByte(name, '/')+1:]
	if float64(utf8.RuneCountInString(short)) <= fit {
		return short
	}
	k := int(fit) - 2
	for i := range short {
		if k == 0 {
			return short[:i] + ".."
		}
		k--
	}
	return short + ".."
}

// appendFixed appends v with p decimals, rounded half to even as
// strconv does; the script's fixed does the same, where JavaScript's
// toFixed would round a tie up.
func appendFixed(b []byte, v float64, p int) []byte {
	return strconv.AppendFloat(b, v, 'f', p, 64)
}

// appendEscaped appends s as XML character data. s is already [xmlSafe];
// only &, < and > need escaping in text content.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	return append(b, s[start:]...)
}
