package flame

import (
	"bufio"
	"encoding/hex"
	"io"
	"strconv"
)

// WriteFolded writes t as folded stacks, one line per frame that holds self
// value, "root;...;leaf count", in depth-first alphabetical order, which is
// the sorted order every flame graph tool reads. A diff tree is written in
// the two-count form "stack before after" that flamegraph.pl draws as a
// differential graph; a tree with fractional counts ([Tree.Scale]) with
// every decimal place it holds; annotated frames with their suffix ("_[k]").
//
// [ParseFolded] reads the output back to the same tree. When a name holds
// what folded text cannot (a ';', a newline or another control byte, as in
// Go's "go.shape.struct { a int; b int }"), or would read back as something
// else (a name ending like a count or an annotation, a leading '#', an empty
// leaf), the output starts with [EscapedHeader] and names are %-escaped.
func WriteFolded(w io.Writer, t *Tree) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	esc := needsEscapes(t)
	if esc {
		bw.WriteString(EscapedHeader + "\n")
	}
	dec := 0
	for pow10(dec) < t.scale {
		dec++
	}
	var path []NodeID
	var buf []byte
	diff := t.IsDiff()
	t.Walk(Alphabetical, func(n NodeID, depth int) bool {
		if n == Root {
			return true
		}
		path = append(path[:depth-1], n)
		self := t.Self(n)
		var bself int64
		if diff {
			bself = t.BaseSelf(n)
		}
		if self == 0 && bself == 0 {
			return true
		}
		buf = buf[:0]
		for i, m := range path {
			if i > 0 {
				buf = append(buf, ';')
			}
			if esc {
				buf = appendEscaped(buf, t.Name(m), i == 0, i == len(path)-1, t.Annotation(m) == NoAnnotation)
			} else {
				buf = append(buf, t.Name(m)...)
			}
			buf = append(buf, t.Annotation(m).Suffix()...)
		}
		buf = append(buf, ' ')
		if diff {
			buf = appendCount(buf, bself, dec)
			buf = append(buf, ' ')
		}
		buf = appendCount(buf, self, dec)
		buf = append(buf, '\n')
		bw.Write(buf)
		return true
	})
	return bw.Flush()
}

// appendCount appends v/10^dec with exactly dec decimal places.
func appendCount(dst []byte, v int64, dec int) []byte {
	if dec == 0 {
		return strconv.AppendInt(dst, v, 10)
	}
	p := pow10(dec)
	dst = strconv.AppendInt(dst, v/p, 10)
	dst = append(dst, '.')
	frac := strconv.AppendInt(nil, v%p, 10)
	for range dec - len(frac) {
		dst = append(dst, '0')
	}
	return append(dst, frac...)
}

// needsEscapes reports whether some frame of t would not read back as
// itself in plain folded text.
func needsEscapes(t *Tree) bool {
	for n := NodeID(1); int(n) < t.count; n++ {
		name := t.Name(n)
		for i := 0; i < len(name); i++ {
			if escapeByte(name[i]) {
				return true
			}
		}
		if t.Annotation(n) == NoAnnotation {
			if _, a := annotationOf([]byte(name)); a != NoAnnotation {
				return true
			}
		}
		if t.Parent(n) == Root && len(name) > 0 && (name[0] == '#' || name[0] == 0xef) {
			return true
		}
		if t.Self(n) != 0 || t.BaseSelf(n) != 0 {
			if name == "" || countAtEnd(name) >= 0 {
				return true
			}
		}
	}
	return false
}

// escapeByte reports whether c is always escaped in an escaped name.
func escapeByte(c byte) bool { return c == ';' || c < 0x20 || c == 0x7f }

// countAtEnd returns the index of the white-space byte before a count that
// ends name (" 12", "\t3.5"), or -1.
func countAtEnd(name string) int {
	b := []byte(name)
	sp := lastSpace(b)
	if sp < 0 {
		return -1
	}
	if _, _, err := parseCount(b[sp+1:]); err != nil {
		return -1
	}
	return sp
}

const hexDigits = "0123456789ABCDEF"

// appendEscaped appends name %-escaped: '%', ';' and control bytes always;
// a leading '#' or byte-order mark of the first frame, the white space
// before a count that ends the last frame, and the '[' of a suffix that
// would read as an annotation (plain is true when the frame has none).
func appendEscaped(dst []byte, name string, first, last, plain bool) []byte {
	if name == "" {
		return append(dst, '%')
	}
	at := -1 // one more byte to escape
	if last {
		at = countAtEnd(name)
	}
	suffix := -1
	if plain {
		if _, a := annotationOf([]byte(name)); a != NoAnnotation {
			suffix = len(name) - 3
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '%' || escapeByte(c) || i == at || i == suffix || (i == 0 && first && (c == '#' || c == 0xef)) {
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// unescapeName decodes an escaped name into dst: "%XX" is a byte, a lone
// "%" the empty name. It reports false for any other '%'.
func unescapeName(dst, name []byte) ([]byte, bool) {
	if len(name) == 1 && name[0] == '%' {
		return dst, true
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '%' {
			dst = append(dst, c)
			continue
		}
		if i+2 >= len(name) {
			return dst, false
		}
		var b [1]byte
		if _, err := hex.Decode(b[:], name[i+1:i+3]); err != nil {
			return dst, false
		}
		dst = append(dst, b[0])
		i += 2
	}
	return dst, true
}
