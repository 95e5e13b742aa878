package spans

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner reads one complete JSON value held in buf. It is a recursive
// descent reader specialised for the two span formats: callers walk objects
// key by key and read only the fields they need, skipping the rest with full
// validation, so a document is accepted exactly when it is valid JSON (RFC
// 8259, as encoding/json reads it) and has the expected shape.
//
// Errors unwind with panic(syntaxPanic{}) after recording the offset and
// what was expected; the entry points recover them. On the happy path no
// error values are built and strings without escapes are returned as
// sub-slices of buf, which is why a returned []byte is only valid until the
// next call.
type scanner struct {
	buf      []byte
	pos      int
	scratch  []byte
	depth    int
	errPos   int
	expected string
}

type syntaxPanic struct{}

// maxDepth bounds nesting as encoding/json does, so hostile input cannot
// exhaust the stack.
const maxDepth = 10000

func (s *scanner) fail(expected string) {
	s.errPos = s.pos
	s.expected = expected
	panic(syntaxPanic{})
}

func (s *scanner) ws() {
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos >= len(s.buf) {
		return 0
	}
	return s.buf[s.pos]
}

func (s *scanner) expect(c byte, what string) {
	if s.peek() != c {
		s.fail(what)
	}
	s.pos++
}

// null consumes a null literal if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' {
		s.literal("null")
		return true
	}
	return false
}

func (s *scanner) literal(lit string) {
	if len(s.buf)-s.pos < len(lit) || string(s.buf[s.pos:s.pos+len(lit)]) != lit {
		s.fail(lit)
	}
	s.pos += len(lit)
}

// open consumes '{' or '['. It reports false for null, which protobuf JSON
// allows in place of any message or list.
func (s *scanner) open(c byte, what string) bool {
	if s.null() {
		return false
	}
	s.expect(c, what)
	s.depth++
	if s.depth > maxDepth {
		s.fail("less nesting")
	}
	return true
}

// more reports whether the object or list opened with open has another
// member, consuming the separating comma; it consumes the closing bracket
// and reports false at the end. first must start true.
func (s *scanner) more(closer byte, first *bool) bool {
	c := s.peek()
	if c == closer {
		s.pos++
		s.depth--
		return false
	}
	if !*first {
		if c != ',' {
			if closer == '}' {
				s.fail("',' or '}'")
			}
			s.fail("',' or ']'")
		}
		s.pos++
	}
	*first = false
	return true
}

// key reads an object key and the colon after it.
func (s *scanner) key() []byte {
	if s.peek() != '"' {
		s.fail("a quoted object key")
	}
	k := s.str()
	s.expect(':', "':' after object key")
	return k
}

// str reads a string. Without escapes or non-ASCII bytes it returns a
// sub-slice of buf; otherwise it decodes into scratch, turning each invalid
// UTF-8 byte and each unpaired surrogate escape into U+FFFD as encoding/json
// does.
func (s *scanner) str() []byte {
	if s.peek() != '"' {
		s.fail("a string")
	}
	s.pos++
	start := s.pos
	b := s.buf
	for i := start; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			s.pos = i + 1
			return b[start:i]
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return s.strSlow(start, i)
		}
	}
	s.pos = len(b)
	s.fail("a closing '\"'")
	return nil
}

func (s *scanner) strSlow(start, i int) []byte {
	out := append(s.scratch[:0], s.buf[start:i]...)
	b := s.buf
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			s.pos = i + 1
			s.scratch = out
			return out
		case c < 0x20:
			s.pos = i
			s.fail("no control character in a string")
		case c == '\\':
			if i+1 >= len(b) {
				s.pos = i
				s.fail("an escape sequence")
			}
			switch b[i+1] {
			case '"', '\\', '/':
				out = append(out, b[i+1])
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(b, i+2)
				if !ok {
					s.pos = i
					s.fail("four hex digits after \\u")
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if r2, ok := hex4(b, i+2); ok && i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				s.pos = i
				s.fail("a valid escape sequence")
			}
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, b[i:i+size]...)
			}
			i += size
		}
	}
	s.pos = len(b)
	s.fail("a closing '\"'")
	return nil
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

// number reads a JSON number and returns its text.
func (s *scanner) number() []byte {
	s.ws()
	b := s.buf
	start := s.pos
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		s.fail("a number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.pos = i
			s.fail("a digit after '.'")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.pos = i
			s.fail("a digit in the exponent")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	s.pos = i
	return b[start:i]
}

// skip reads and discards any value, validating it.
func (s *scanner) skip() {
	switch s.peek() {
	case '{':
		s.open('{', "'{'")
		for first := true; s.more('}', &first); {
			s.key()
			s.skip()
		}
	case '[':
		s.open('[', "'['")
		for first := true; s.more(']', &first); {
			s.skip()
		}
	case '"':
		s.str()
	case 't':
		s.literal("true")
	case 'f':
		s.literal("false")
	case 'n':
		s.literal("null")
	default:
		s.number()
	}
}

// int64 reads an integer written as a JSON number or a decimal string, the
// two forms protobuf JSON allows for 64-bit fields. null reads as 0.
func (s *scanner) int64() int64 {
	var txt []byte
	at := s.pos
	switch s.peek() {
	case '"':
		txt = s.str()
	case 'n':
		s.literal("null")
		return 0
	default:
		txt = s.number()
	}
	v, ok := parseInt(txt)
	if !ok {
		s.pos = at
		s.ws()
		s.fail("an integer")
	}
	return v
}

// time reads a time in Unix nanoseconds, an integer that is not negative.
func (s *scanner) time() int64 {
	s.ws()
	at := s.pos
	v := s.int64()
	if v < 0 {
		s.pos = at
		s.fail("a time in Unix nanoseconds, not before 1970")
	}
	return v
}

// parseInt accepts an optional minus sign and decimal digits that fit in an
// int64, and nothing else.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// float reads a double written as a number or as the strings protobuf JSON
// uses for special values.
func (s *scanner) float() float64 {
	var txt []byte
	switch s.peek() {
	case '"':
		txt = s.str()
		switch string(txt) {
		case "NaN", "Infinity", "-Infinity":
		default:
			if _, ok := parseFloat(txt); !ok {
				s.fail("a number")
			}
		}
	case 'n':
		s.literal("null")
		return 0
	default:
		txt = s.number()
	}
	v, ok := parseFloat(txt)
	if !ok {
		s.fail("a number in range")
	}
	return v
}

func parseFloat(b []byte) (float64, bool) {
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

// bool reads true, false or null (false).
func (s *scanner) bool() bool {
	switch s.peek() {
	case 't':
		s.literal("true")
		return true
	case 'f':
		s.literal("false")
	default:
		s.literal("null")
	}
	return false
}

// hexID decodes a hex id of at most len(dst) bytes into dst, right-aligned
// (Jaeger drops leading zeros of trace ids). An empty string is the zero id.
func hexID(dst []byte, b []byte) bool {
	clear(dst)
	if len(b) > 2*len(dst) {
		return false
	}
	j := len(dst) - 1
	for i := len(b) - 1; i >= 0; i -= 2 {
		lo, ok := unhex(b[i])
		if !ok {
			return false
		}
		var hi byte
		if i > 0 {
			if hi, ok = unhex(b[i-1]); !ok {
				return false
			}
		}
		dst[j] = hi<<4 | lo
		j--
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
