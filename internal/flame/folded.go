package flame

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

const expectFolded = `"frame;frame;... count" with a non-negative integer count`

// ParseFolded reads folded stacks from r into t: one stack per line, frames
// separated by ';' from the root to the leaf, then a space and a sample count
// ("main;run;compute 42"), the format of flamegraph.pl's stackcollapse tools
// and `go tool pprof -raw | stackcollapse-go`. A line with two counts
// ("stack before after") is a differential line; the first count becomes the
// baseline and t becomes a diff tree. Blank lines are skipped. Identical
// stacks are merged. Trailing empty frames are dropped, as Perl's split does.
//
// The input is streamed: memory grows with the tree, not with the input.
// Errors are [*ParseError] values naming input and the line.
func ParseFolded(r io.Reader, input string, t *Tree, opts ...Option) error {
	c := newConfig(opts)
	p := foldedParser{t: t, input: input, max: c.maxLine}
	return p.run(r)
}

type foldedParser struct {
	t     *Tree
	input string
	max   int

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
	br := bufio.NewReaderSize(r, 1<<20)
	var long []byte
	samples := false
	for {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: collect it up to the limit.
			long = append(long[:0], b...)
			for err == bufio.ErrBufferFull {
				if len(long) > p.max {
					p.line++
					return p.errf(ErrLineTooLong, expectFolded, "longer than %d bytes", p.max)
				}
				b, err = br.ReadSlice('\n')
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
// damaged (a truncated or corrupt gzip member) and passes I/O faults through.
func (p *foldedParser) readErr(err error) error {
	if isCorrupt(err) {
		p.line++
		return &ParseError{Input: p.input, Line: p.line, Offset: p.offset, Expected: "a complete compressed stream", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	return fmt.Errorf("read %s: %w", p.input, err)
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
	sp := bytes.LastIndexByte(b, ' ')
	if sp < 0 {
		return false, p.errf(ErrSyntax, expectFolded, "no count after the stack")
	}
	count, err := parseCount(b[sp+1:])
	if err != nil {
		return false, p.errf(ErrSyntax, expectFolded, "count %q: %v", clip(b[sp+1:]), err)
	}
	stack := b[:sp]
	var base int64 = -1
	// "stack before after": a differential line.
	// Only the digits at the end are looked at, not the whole stack.
	d := len(stack)
	for d > 0 && stack[d-1] >= '0' && stack[d-1] <= '9' {
		d--
	}
	if d > 0 && d < len(stack) && stack[d-1] == ' ' {
		if v, err := parseCount(stack[d:]); err == nil {
			base = v
			stack = stack[:d-1]
		}
	}
	for len(stack) > 0 && stack[len(stack)-1] == ';' {
		stack = stack[:len(stack)-1]
	}
	if len(stack) == 0 {
		return false, p.errf(ErrSyntax, expectFolded, "empty stack")
	}
	if base >= 0 && p.t.base == nil {
		p.t.base = make([]int64, p.t.count)
	}
	p.add(stack, count, base)
	return true, nil
}

func (p *foldedParser) add(stack []byte, count, base int64) {
	t := p.t
	t.at(Root).total += count
	if base > 0 {
		t.base[Root] += base
	}
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
			n = t.child(n, t.intern(frame))
			if depth < len(p.prevNodes) {
				p.prevNodes = p.prevNodes[:depth]
				p.prevEnds = p.prevEnds[:depth]
			}
			p.prevNodes = append(p.prevNodes, n)
			p.prevEnds = append(p.prevEnds, end)
		}
		t.at(n).total += count
		if base > 0 {
			t.base[n] += base
		}
		depth++
		start = end + 1
	}
	p.prevNodes = p.prevNodes[:depth]
	p.prevEnds = p.prevEnds[:depth]
	p.prev = append(p.prev[:0], stack...)
}

var errNegative = errors.New("negative")

func parseCount(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, errors.New("missing")
	}
	if b[0] == '-' {
		return 0, errNegative
	}
	if !isDigits(b) {
		return 0, errors.New("not an integer")
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, errors.New("out of range")
	}
	return v, nil
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
