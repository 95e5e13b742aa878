package spans

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// DefaultMaxValueBytes is the largest single value (one line of OTLP JSON
// lines, a whole pretty-printed request or Jaeger response, one protobuf
// request) accepted unless [WithMaxValueBytes] says otherwise: 256 MiB,
// several times a Jaeger response for a thousand large traces, and small
// enough that a hostile input cannot make the decoder hold gigabytes.
const DefaultMaxValueBytes = 256 << 20

// Option configures [Decode] and [Read].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	attrs    bool
	trace    TraceID
	oneTrace bool
	maxValue int
	maxGzip  int64
}

func newConfig(opts []Option) config {
	c := config{maxValue: DefaultMaxValueBytes, maxGzip: flame.DefaultMaxBytes}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// WithAttributes keeps every span attribute as text in [Span.Attrs], for
// tooltips. Off by default: aggregation needs only tracekit.kind and the
// status, and skipping the rest is several times faster.
func WithAttributes() Option {
	return optionFunc(func(c *config) { c.attrs = true })
}

// WithTrace keeps only the spans of one trace. By default every span is kept.
func WithTrace(id TraceID) Option {
	return optionFunc(func(c *config) { c.trace, c.oneTrace = id, true })
}

// WithMaxValueBytes bounds one JSON value or protobuf request of the input
// (default [DefaultMaxValueBytes]); a larger one is an error, not an
// allocation.
func WithMaxValueBytes(n int) Option {
	return optionFunc(func(c *config) { c.maxValue = n })
}

// WithMaxDecompressedBytes bounds the bytes decompressed from gzipped input
// (default [flame.DefaultMaxBytes]); past it decoding fails with
// [flame.ErrTooLarge].
func WithMaxDecompressedBytes(n int64) Option {
	return optionFunc(func(c *config) { c.maxGzip = n })
}

// Decode reads spans from r and calls fn for each, in input order. The
// format is found from the content, never from the name:
//
//   - OTLP JSON: one ExportTraceServiceRequest per line (tracekit's file
//     exporter, the Collector's file exporter), pretty-printed requests one
//     after another, or a JSON array of requests; camelCase and snake_case
//     field names, and the older instrumentationLibrarySpans for scopeSpans;
//     ids in hex; the {"result": ...} wrapper of Jaeger's /api/v3/traces.
//   - Jaeger JSON: {"data": [trace, ...]} as the Jaeger UI's "Download JSON"
//     and the /api/traces endpoints return it, or one bare trace object
//     {"traceID", "spans", "processes"}; times in microseconds.
//   - OTLP protobuf: one ExportTraceServiceRequest or TracesData (an
//     OTLP/HTTP request body saved to a file), the Collector file exporter's
//     proto format (each request preceded by its length, 4 bytes
//     big-endian), or requests each preceded by its length as a varint
//     (protobuf's delimited format, which the OpenTelemetry file exporter
//     specification names).
//   - any of them gzip-compressed, with or without a UTF-8 byte-order mark.
//
// name names the input in errors. Bad input yields a [*flame.ParseError]
// naming the line, the byte offset and what was expected, wrapping
// [flame.ErrSyntax], [flame.ErrFormat], [flame.ErrTooLarge] or
// [flame.ErrEmpty] (no span at all: an empty input, {}, an object with no
// field this package knows). Errors from r are returned wrapped, and an
// error from fn stops decoding and is returned as it is.
//
// The *Span passed to fn, and its Attrs, are valid only during the call:
// copy what must be kept (the strings may be kept; they are never reused).
func Decode(r io.Reader, name string, fn func(*Span) error, opts ...Option) error {
	d := &decoder{name: name, cfg: newConfig(opts), fn: fn, intern: make(map[string]string)}
	return d.run(r)
}

type decoder struct {
	name   string
	cfg    config
	fn     func(*Span) error
	sc     scanner
	intern map[string]string
	out    []Span // spans of the current value, emitted once it parses
	attrs  []Attr // backing store of out's Attrs
	jaeger jaegerState

	line, off int64 // line and byte offset of the current value's start
	read      int   // spans read, kept or not
	known     bool  // a field naming spans (resourceSpans, data, ...) was seen
}

func (d *decoder) str(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	d.intern[s] = s
	return s
}

// readBuffer is the read size; lines longer than it are gathered in pieces.
const readBuffer = 256 << 10

func (d *decoder) run(r io.Reader) error {
	br, err := flame.Uncompress(r, d.name, d.cfg.maxGzip)
	if err != nil {
		return err
	}
	br = bufio.NewReaderSize(br, readBuffer)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	head, _ := br.Peek(readBuffer)
	if !looksJSON(head) {
		if f := protoFraming(head); f != notProto {
			if err := d.protobuf(br, f); err != nil {
				return err
			}
			return d.empty(0, 0)
		}
		return &flame.ParseError{Input: d.name, Line: 1, Err: flame.ErrFormat,
			Expected: "OTLP JSON (resourceSpans), OTLP protobuf or Jaeger JSON (data)"}
	}
	var (
		buf    []byte
		lineNo int64 = 1 // line of the next byte read
		off    int64     // offset of the next byte read
		values int
	)
	for {
		// Gather one physical line into buf.
		buf = buf[:0]
		startLine, startOff := lineNo, off
		for {
			chunk, err := br.ReadSlice('\n')
			buf = append(buf, chunk...)
			off += int64(len(chunk))
			if len(buf) > d.cfg.maxValue {
				return &flame.ParseError{Input: d.name, Line: startLine, Offset: startOff, Err: flame.ErrSyntax,
					Expected: "a JSON value of at most " + strconv.Itoa(d.cfg.maxValue) + " bytes"}
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil && err != io.EOF {
				return d.readErr(err, startLine, off)
			}
			if err == io.EOF && len(buf) == 0 {
				if values == 0 {
					return &flame.ParseError{Input: d.name, Line: startLine, Offset: startOff, Err: flame.ErrEmpty,
						Expected: "OTLP JSON or Jaeger JSON"}
				}
				return d.empty(d.line, d.off)
			}
			break
		}
		lineNo++
		if len(bytes.TrimSpace(buf)) == 0 {
			continue
		}
		// Most inputs hold one value per line. A value that does not close
		// on its line (pretty-printed JSON) gathers lines until its
		// brackets balance, and is parsed again.
		d.line, d.off = startLine, startOff
		err, incomplete := d.value(buf)
		if incomplete {
			var depth depthState
			if depth.feed(buf) != 0 {
				for {
					chunk, rerr := br.ReadSlice('\n')
					buf = append(buf, chunk...)
					off += int64(len(chunk))
					if len(buf) > d.cfg.maxValue {
						return &flame.ParseError{Input: d.name, Line: startLine, Offset: startOff, Err: flame.ErrSyntax,
							Expected: "a JSON value of at most " + strconv.Itoa(d.cfg.maxValue) + " bytes"}
					}
					if rerr != nil && rerr != io.EOF && rerr != bufio.ErrBufferFull {
						return d.readErr(rerr, startLine, off)
					}
					if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
						lineNo++
					}
					if depth.feed(chunk) == 0 || rerr == io.EOF {
						break
					}
				}
				err, _ = d.value(buf)
			}
		}
		if err != nil {
			return err
		}
		values++
	}
}

// looksJSON reports whether the input's first bytes after JSON white space
// open an object or a list, or are all white space. A protobuf request also
// starts with '\n' (0x0a); it would have to hold only white-space bytes up
// to a '{' or '[' to be mistaken for JSON.
func looksJSON(head []byte) bool {
	for _, c := range head {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return true
}

// Sniff reports whether head, the first bytes of an input (decompressed),
// starts like trace data [Decode] reads rather than a profile: a JSON
// object or array of objects (after white space and a UTF-8 byte-order
// mark), or OTLP protobuf in one of its framings. Folded stacks and pprof
// profiles do not: a folded line starting with '{' or '[' is followed by a
// frame name, not by a JSON key or object, and a pprof profile's first
// field is a sample type, not a ResourceSpans.
func Sniff(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		rest := bytes.TrimLeft(t[1:], " \t\r\n")
		if len(rest) == 0 {
			return true
		}
		switch t[0] {
		case '{':
			return rest[0] == '"' || rest[0] == '}'
		default:
			return rest[0] == '{' || rest[0] == ']'
		}
	}
	return protoFraming(head) != notProto
}

// depthState follows bracket depth across chunks of a JSON text, outside
// strings, to find where a multi-line value ends. It never judges validity;
// the parser does.
type depthState struct {
	depth    int
	inString bool
	escape   bool
	started  bool
}

// feed consumes b and returns the depth after it: 0 once a complete
// top-level value has been seen.
func (s *depthState) feed(b []byte) int {
	for _, c := range b {
		if s.inString {
			switch {
			case s.escape:
				s.escape = false
			case c == '\\':
				s.escape = true
			case c == '"':
				s.inString = false
			}
			continue
		}
		switch c {
		case '"':
			s.inString = true
		case '{', '[':
			s.depth++
			s.started = true
		case '}', ']':
			s.depth--
		}
	}
	if !s.started || s.inString {
		return max(s.depth, 1)
	}
	return s.depth
}

// empty reports an input that held no span, saying whether it named spans
// at all.
func (d *decoder) empty(line, off int64) error {
	if d.read > 0 {
		return nil
	}
	what := "spans: OTLP resourceSpans[].scopeSpans[].spans or Jaeger data[].spans; the input has none"
	if !d.known {
		what = "spans: the input has none of the fields resourceSpans, resource_spans, data or result that hold them"
	}
	return &flame.ParseError{Input: d.name, Line: line, Offset: off, Err: flame.ErrEmpty, Expected: what}
}

func (d *decoder) readErr(err error, line, off int64) error {
	var pe *flame.ParseError
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &flame.ParseError{Input: d.name, Line: line, Offset: off, Expected: "the rest of the gzip stream",
			Err: fmt.Errorf("%w: %v", flame.ErrCorrupt, err)}
	}
	return fmt.Errorf("read %s: %w", d.name, err)
}

// value parses one top-level JSON value and emits its spans. incomplete
// reports a syntax error at the very end of buf, which more input may cure.
func (d *decoder) value(buf []byte) (err error, incomplete bool) {
	d.sc = scanner{buf: buf, scratch: d.sc.scratch}
	d.out = d.out[:0]
	d.attrs = d.attrs[:0]
	d.jaeger.reset()
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(syntaxPanic); !ok {
					panic(r)
				}
				incomplete = d.sc.errPos >= len(bytes.TrimRight(buf, " \t\r\n"))
				err = d.syntaxErr()
			}
		}()
		d.top()
		if d.sc.ws(); d.sc.pos < len(buf) {
			d.sc.fail("end of line after the JSON value")
		}
	}()
	if err != nil {
		return err, incomplete
	}
	for i := range d.out {
		if err := d.fn(&d.out[i]); err != nil {
			return err, false
		}
	}
	return nil, false
}

func (d *decoder) syntaxErr() error {
	pos := min(d.sc.errPos, len(d.sc.buf))
	line := d.line + int64(bytes.Count(d.sc.buf[:pos], []byte{'\n'}))
	what := d.sc.expected
	if pos >= len(bytes.TrimRight(d.sc.buf, " \t\r\n")) && what != "end of line after the JSON value" {
		what += " before the end of the input"
	}
	return &flame.ParseError{Input: d.name, Line: line, Offset: d.off + int64(pos), Err: flame.ErrSyntax,
		Expected: fmt.Sprintf("%s at byte %d", what, d.off+int64(pos))}
}

// top reads a request: an object whose resourceSpans are OTLP, whose data
// are Jaeger traces, or whose result wraps either; or an array of them.
func (d *decoder) top() {
	s := &d.sc
	if s.peek() == '[' {
		s.open('[', "'['")
		for first := true; s.more(']', &first); {
			d.top()
		}
		return
	}
	d.object()
}

func (d *decoder) object() {
	s := &d.sc
	s.ws()
	start, depth, out := s.pos, s.depth, len(d.out)
	if !s.open('{', "'{' opening an OTLP or Jaeger JSON object") {
		return
	}
	for first := true; s.more('}', &first); {
		switch string(s.key()) {
		case "spans":
			// A bare Jaeger trace object, as some tools save one trace:
			// read the whole object again as a trace.
			s.pos, s.depth = start, depth
			d.out = d.out[:out]
			d.known = true
			d.jaegerTrace()
			return
		case "resourceSpans", "resource_spans":
			d.known = true
			d.resourceSpansList()
		case "data":
			d.known = true
			d.jaegerData()
		case "result":
			d.known = true
			d.top()
		default:
			s.skip()
		}
	}
}

// keep counts a span read and reports whether a trace filter lets it
// through.
func (d *decoder) keep(sp *Span) bool {
	d.read++
	return !d.cfg.oneTrace || sp.TraceID == d.cfg.trace
}
