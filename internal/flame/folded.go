package flame

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
)

const expectFolded = `"frame;frame;... count" with a non-negative count`

// EscapedHeader is the comment line [WriteFolded] puts first when a frame
// name holds what folded text cannot: from that line on, "%XX" in a frame
// name is the byte with hex value XX, and a frame that is only "%" is the
// empty name. Other tools read the line as a comment (or skip it as a line
// without a count) and show the escapes as they are.
const EscapedHeader = "# flamegen: %XX escapes in frame names"

// maxDecimals is the number of decimal places of a fractional count that a
// tree keeps; further digits are rounded.
const maxDecimals = 9

// ParseFolded reads folded stacks from r into t: one stack per line, frames
// separated by ';' from the root to the leaf, then white space and a count
// ("main;run;compute 42"), the format of flamegraph.pl's stackcollapse tools
// and inferno. It reads them as flamegraph.pl does:
//
//   - a count may have a fraction ("main;a 31.23"); fractions are kept
//     exactly, in fixed point (see [Tree.Scale]), to nine decimal places;
//   - a line with two counts ("stack before after") is a differential line:
//     the first count becomes the baseline and t a diff tree;
//   - a frame suffix "_[k]", "_[j]", "_[i]" or "_[w]" is stripped from the
//     name and becomes the frame's [Annotation];
//   - trailing empty frames are dropped, as Perl's split drops them;
//   - blank lines and lines starting with '#' are skipped; after the line
//     [EscapedHeader], frame names are unescaped.
//
// Identical stacks are merged. Several inputs may be parsed into one tree.
// The input is streamed: memory grows with the tree, not with the input.
// Errors are [*ParseError] values naming input and the line: a line that is
// not a stack and a count, counts whose sum passes the int64 range
// ([ErrOverflow]), or no stack at all ([ErrEmpty]).
func ParseFolded(r io.Reader, input string, t *Tree, opts ...Option) error {
	c := newConfig(opts)
	p := foldedParser{t: t, input: input, max: c.maxLine}
	return p.run(r)
}

type foldedParser struct {
	t       *Tree
	input   string
	max     int
	escaped bool // EscapedHeader was seen
	dec     int  // decimal places of t's values: t.scale is 10^dec
	scratch []byte

	line   int64
	offset int64
	// The previous line's frames and the nodes they resolved to. Folded
	// files are usually sorted, so consecutive stacks share long prefixes;
	// comparing bytes with the previous line skips the interning and child
	// lookups for the shared part.
	prev      []byte
	prevEnds  []int
	prevNodes []NodeID
}

func (p *foldedParser) errf(sentinel error, expected string, format string, args ...any) error {
	err := sentinel
	if format != "" {
		err = fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
	}
	return &ParseError{Input: p.input, Line: p.line, Offset: p.offset, Expected: expected, Err: err}
}

func (p *foldedParser) run(r io.Reader) error {
	for p.t.scale > 1 && pow10(p.dec) != p.t.scale {
		p.dec++
	}
	br := bufio.NewReaderSize(r, 1<<20)
	var long []byte
	samples := false
	for {
		b, err := br.ReadSlice('\n')
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			// A line cut by a failed read is not a line of the input.
			return p.readErr(err)
		}
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: collect it up to the limit.
			long = append(long[:0], b...)
			for err == bufio.ErrBufferFull {
				if len(long) > p.max {
					p.line++
					return p.errf(ErrLineTooLong, expectFolded, "longer than %d bytes", p.max)
				}
				b, err = br.ReadSlice('\n')
				if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
					return p.readErr(err)
				}
				long = append(long, b...)
			}
			b = long
		}
		if p.line == 0 && p.offset == 0 {
			// A byte-order mark some editors put first is not part of a frame.
			if bom := []byte("\xef\xbb\xbf"); bytes.HasPrefix(b, bom) {
				b = b[len(bom):]
				p.offset += int64(len(bom))
			}
		}
		if len(b) > 0 {
			p.line++
			if len(b) > p.max+1 {
				return p.errf(ErrLineTooLong, expectFolded, "longer than %d bytes", p.max)
			}
			ok, perr := p.parseLine(b)
			if perr != nil {
				return perr
			}
			samples = samples || ok
			p.offset += int64(len(b))
		}
		if err != nil {
			if err == io.EOF {
				break
			}
			return p.readErr(err)
		}
	}
	if !samples && p.t.Total() == 0 && !p.t.IsDiff() {
		p.line = 0
		return p.errf(ErrEmpty, "at least one folded stack line", "")
	}
	return nil
}

// readErr turns a read failure into a parse error when the stream itself is
// damaged (a truncated or corrupt gzip member) or too large, and passes I/O
// faults through.
func (p *foldedParser) readErr(err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	if isCorrupt(err) {
		p.line++
		return &ParseError{Input: p.input, Line: p.line, Offset: p.offset, Expected: "a complete compressed stream", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	return fmt.Errorf("read %s: %w", p.input, err)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\v' || c == '\f' }

// lastSpace returns the index of the last white-space byte of b, or -1.
func lastSpace(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if isSpace(b[i]) {
			return i
		}
	}
	return -1
}

// parseLine adds one line and reports whether it was a sample line.
func (p *foldedParser) parseLine(b []byte) (bool, error) {
	if b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	b = stripCR(b)
	if len(bytes.TrimSpace(b)) == 0 {
		return false, nil
	}
	if b[0] == '#' {
		if string(bytes.TrimRight(b, " \t")) == EscapedHeader {
			p.escaped = true
		}
		return false, nil
	}
	// As flamegraph.pl's /^(.*)\s+?(\d+(?:\.\d*)?)$/: the count follows the
	// last white space, and one white-space byte separates it from the stack.
	sp := lastSpace(b)
	if sp < 0 {
		return false, p.errf(ErrSyntax, expectFolded, "no count after the stack")
	}
	count, dec, err := parseCount(b[sp+1:])
	if err != nil {
		return false, p.errf(ErrSyntax, expectFolded, "count %q: %v", clip(b[sp+1:]), err)
	}
	stack := b[:sp]
	base, bdec := int64(-1), 0
	// "stack before after": a differential line. Only the count-like bytes
	// at the end are looked at, not the whole stack.
	d := len(stack)
	for d > 0 && (stack[d-1] >= '0' && stack[d-1] <= '9' || stack[d-1] == '.') {
		d--
	}
	if d > 0 && d < len(stack) && isSpace(stack[d-1]) {
		if v, dec, err := parseCount(stack[d:]); err == nil {
			base, bdec = v, dec
			stack = stack[:d-1]
		}
	}
	for len(stack) > 0 && stack[len(stack)-1] == ';' {
		stack = stack[:len(stack)-1]
	}
	if len(stack) == 0 {
		return false, p.errf(ErrSyntax, expectFolded, "empty stack")
	}
	if err := p.fit(max(dec, bdec)); err != nil {
		return false, err
	}
	count = count * pow10(p.dec-dec)
	if base >= 0 {
		base = base * pow10(p.dec-bdec)
		if p.t.base == nil {
			p.t.base = make([]int64, p.t.count)
		}
	}
	t := p.t
	if count > math.MaxInt64-t.at(Root).total || (base > 0 && base > math.MaxInt64-t.base[Root]) {
		return false, p.errf(ErrOverflow, "counts that add up to at most 9223372036854775807", "")
	}
	if err := p.add(stack, count, base); err != nil {
		return false, err
	}
	return true, nil
}

// fit makes the tree hold values with dec decimal places.
func (p *foldedParser) fit(dec int) error {
	if dec <= p.dec {
		return nil
	}
	if !p.t.rescale(pow10(dec - p.dec)) {
		return p.errf(ErrOverflow, "counts that add up to at most 9223372036854775807 at their finest decimal place",
			"the counts so far do not fit with %d decimal places", dec)
	}
	p.dec = dec
	return nil
}

func (p *foldedParser) add(stack []byte, count, base int64) error {
	t := p.t
	n := Root
	depth := 0
	same := true // every frame so far equals the previous line's
	start := 0
	for start <= len(stack) {
		end := bytes.IndexByte(stack[start:], ';')
		if end < 0 {
			end = len(stack)
		} else {
			end += start
		}
		frame := stack[start:end]
		if same && depth < len(p.prevNodes) && end == p.prevEnds[depth] && bytes.Equal(frame, p.prev[start:end]) {
			n = p.prevNodes[depth]
		} else {
			same = false
			k, err := p.key(frame)
			if err != nil {
				return err
			}
			n = t.child(n, k)
			if depth < len(p.prevNodes) {
				p.prevNodes = p.prevNodes[:depth]
				p.prevEnds = p.prevEnds[:depth]
			}
			p.prevNodes = append(p.prevNodes, n)
			p.prevEnds = append(p.prevEnds, end)
		}
		depth++
		start = end + 1
	}
	p.prevNodes = p.prevNodes[:depth]
	p.prevEnds = p.prevEnds[:depth]
	p.prev = append(p.prev[:0], stack...)
	// Values go in once the frames exist, so that a failure leaves t as it
	// was before the line.
	t.at(Root).total += count
	if base > 0 {
		t.base[Root] += base
	}
	for _, m := range p.prevNodes {
		t.at(m).total += count
		if base > 0 {
			t.base[m] += base
		}
	}
	return nil
}

// key interns one frame: its annotation split off, its escapes decoded.
func (p *foldedParser) key(frame []byte) (uint32, error) {
	name, a := annotationOf(frame)
	if p.escaped {
		var ok bool
		p.scratch, ok = unescapeName(p.scratch[:0], name)
		if !ok {
			return 0, p.errf(ErrSyntax, `"%" followed by two hex digits in a frame name, as the `+EscapedHeader[2:]+" line announced", "frame %q", clip(frame))
		}
		name = p.scratch
	}
	i, ok := p.t.index[string(name)]
	if !ok {
		if len(p.t.names) >= MaxNames {
			return 0, p.errf(ErrTooLarge, fmt.Sprintf("at most %d distinct frame names", MaxNames), "")
		}
		i = p.t.intern(name)
	}
	return key(i, KindCPU, a), nil
}

// parseCount reads a count as flamegraph.pl accepts one, digits with an
// optional fraction ("31", "31.23", "31."), and returns it in fixed point:
// v / 10^dec is the count. Trailing zeros of the fraction are dropped, and
// digits past maxDecimals rounded.
func parseCount(b []byte) (v int64, dec int, err error) {
	if len(b) == 0 {
		return 0, 0, errors.New("missing")
	}
	if b[0] == '-' {
		return 0, 0, errNegative
	}
	ip, frac, _ := bytes.Cut(b, []byte{'.'})
	if !isDigits(ip) || (len(frac) > 0 && !isDigits(frac)) {
		return 0, 0, errors.New("not a number")
	}
	frac = bytes.TrimRight(frac, "0")
	roundUp := false
	if len(frac) > maxDecimals {
		roundUp = frac[maxDecimals] >= '5'
		frac = frac[:maxDecimals]
	}
	ip = bytes.TrimLeft(ip, "0")
	if len(ip)+len(frac) > 19 {
		return 0, 0, errors.New("out of range")
	}
	var u uint64
	for _, c := range ip {
		u = u*10 + uint64(c-'0')
	}
	for _, c := range frac {
		u = u*10 + uint64(c-'0')
	}
	if roundUp {
		u++
	}
	if u > math.MaxInt64 {
		return 0, 0, errors.New("out of range")
	}
	v = int64(u)
	return v, len(frac), nil
}

var errNegative = errors.New("negative")

func pow10(n int) int64 {
	v := int64(1)
	for range n {
		v *= 10
	}
	return v
}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// clip shortens a byte string for an error message.
func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
