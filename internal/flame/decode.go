package flame

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// DefaultMaxLineBytes is the longest folded line accepted unless
// [WithMaxLineBytes] says otherwise: 64 MiB, far beyond any real stack, and
// small enough that a hostile input cannot make the parser hold gigabytes.
const DefaultMaxLineBytes = 64 << 20

// DefaultMaxBytes is how much a decoder decompresses from one gzip stream,
// and reads whole into memory (a pprof profile), unless [WithMaxBytes] says
// otherwise: 512 MiB, many times a large real profile, and small enough that
// a gzip bomb ends with an error instead of exhausting memory. Uncompressed
// folded text is streamed and has no such limit.
const DefaultMaxBytes = 512 << 20

// Option configures [Decode], [ParseFolded] and [ParsePprof].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	sampleType string
	tags       []tagFilter
	lines      bool
	maxLine    int
	maxBytes   int64
}

type tagFilter struct{ key, value string }

func newConfig(opts []Option) config {
	c := config{maxLine: DefaultMaxLineBytes, maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// WithSampleType picks the pprof sample type by name ("cpu", "alloc_space",
// "contentions", ...). The default is the profile's default sample type, or
// its last one when it names none, as `go tool pprof` chooses.
func WithSampleType(name string) Option {
	return optionFunc(func(c *config) { c.sampleType = name })
}

// WithTag keeps only the pprof samples whose label key has the given value
// (string labels) or equals it as a number (numeric labels). Several tags must
// all match. By default every sample is kept.
func WithTag(key, value string) Option {
	return optionFunc(func(c *config) { c.tags = append(c.tags, tagFilter{key, value}) })
}

// WithLines names pprof frames "function:line" instead of "function", so
// that different lines of one function become different frames. Off by
// default.
func WithLines() Option {
	return optionFunc(func(c *config) { c.lines = true })
}

// WithMaxLineBytes bounds the length of a folded line (default
// [DefaultMaxLineBytes]).
func WithMaxLineBytes(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxLine = n
		}
	})
}

// WithMaxBytes bounds the bytes decompressed from a gzip stream and the
// bytes of a profile read whole (default [DefaultMaxBytes]); past it the
// decoder fails with [ErrTooLarge].
func WithMaxBytes(n int64) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxBytes = n
		}
	})
}

// Format is an input format found by [Detect].
type Format uint8

// Input formats.
const (
	FormatUnknown Format = iota
	FormatFolded         // folded stack text
	FormatPprof          // pprof protobuf or a legacy profile google/pprof reads
)

func (f Format) String() string {
	switch f {
	case FormatFolded:
		return "folded"
	case FormatPprof:
		return "pprof"
	}
	return "unknown"
}

// The first lines of the legacy text profiles google/pprof reads: Go's
// debug=1 heap, allocs, goroutine, threadcreate, mutex and block profiles,
// and the heapz, growthz, fragmentationz, contentionz and threadz profiles
// of C++ and Java programs.
var (
	legacyHeap   = regexp.MustCompile(`heap profile: *\d+: *\d+ *\[ *\d+: *\d+ *\] *@ *(heap|growth|fragmentation)`)
	legacyCount  = regexp.MustCompile(`^\S+ profile: total \d+$`)
	legacyThread = regexp.MustCompile(`^--- (threadz \d+ ---|Thread [[:xdigit:]]+ \(name: .*/\d+\) stack: ---)`)
)

// legacyPrefixes start the first line of contention profiles and of Java
// heapz and contentionz profiles.
var legacyPrefixes = []string{"--- contentionz ", "--- mutex:", "--- contention:", "--- heapz 1 ---"}

// isLegacyText reports whether text starts the way a legacy text profile
// does, after blank and '#' comment lines, as google/pprof's parsers skip
// them.
func isLegacyText(text []byte) bool {
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		for _, p := range legacyPrefixes {
			if bytes.HasPrefix(line, []byte(p)) {
				return true
			}
		}
		return legacyHeap.Match(line) || legacyCount.Match(line) || legacyThread.Match(line)
	}
	return false
}

// isLegacyCPU reports whether b starts with the header of a legacy binary
// CPU profile: the words 0, 3, 0 or 1, a period, 0, in 32 or 64 bits of
// either byte order.
func isLegacyCPU(b []byte) bool {
	for _, size := range []int{4, 8} {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			if len(b) < 5*size {
				continue
			}
			w := func(i int) uint64 {
				if size == 4 {
					return uint64(order.Uint32(b[i*size:]))
				}
				return order.Uint64(b[i*size:])
			}
			if w(0) == 0 && w(1) == 3 && w(2) <= 1 && w(3) > 0 && w(4) == 0 {
				return true
			}
		}
	}
	return false
}

// isProtobufStart reports whether b starts with a protobuf field tag: a
// field number of at least 1 and a known wire type.
func isProtobufStart(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	tag, n := binary.Uvarint(b)
	if n <= 0 {
		return false
	}
	switch tag & 7 {
	case 0, 1, 2, 5:
		return tag>>3 >= 1
	}
	return false
}

// Detect names the format of an input from its first bytes (after any gzip
// layer has been removed), never from its name: text that starts like a
// legacy profile google/pprof reads is pprof, other text is folded, binary
// that starts like a protobuf message or a legacy CPU profile is pprof, and
// anything else is unknown.
func Detect(head []byte) Format {
	if len(head) == 0 {
		return FormatUnknown
	}
	if isText(head) {
		if isLegacyText(head) {
			return FormatPprof
		}
		return FormatFolded
	}
	if isProtobufStart(head) || isLegacyCPU(head) {
		return FormatPprof
	}
	return FormatUnknown
}

// isText reports whether b looks like text: no NUL or other control bytes
// besides tab, vertical tab, form feed, CR and LF. Symbol names may hold any
// other bytes, invalid UTF-8 included; a protobuf has control bytes in its
// first few fields.
func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f' {
			return false
		}
	}
	return true
}

// Uncompress returns a reader of r's content: r itself when it does not
// start with the gzip magic number, else the decompressed stream (several
// members are read one after another, as gzip -d does), which fails with
// [ErrTooLarge] past max bytes (no limit when max <= 0). input names r in
// errors; a damaged gzip header is a [*ParseError] wrapping [ErrCorrupt].
func Uncompress(r io.Reader, input string, max int64) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", input, err)
	}
	if len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b {
		return br, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		if isCorrupt(err) || errors.Is(err, gzip.ErrHeader) {
			return nil, &ParseError{Input: input, Expected: "a gzip header", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
		}
		return nil, fmt.Errorf("read %s: %w", input, err)
	}
	var src io.Reader = zr
	if max > 0 {
		src = &limitReader{r: zr, n: max, input: input, what: "decompressed"}
	}
	return bufio.NewReaderSize(src, 64<<10), nil
}

// limitReader reads from r until n bytes have been read, and then fails
// with a [*ParseError] wrapping [ErrTooLarge] that names input and says
// what was limited ("decompressed", "read whole"), instead of reporting a
// clean end as [io.LimitReader] would.
type limitReader struct {
	r     io.Reader
	n     int64 // the limit
	input string
	what  string
	read  int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.read >= l.n {
		// One byte more tells a stream of exactly n bytes from a longer one.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n == 0 {
			return 0, err
		}
		return 0, &ParseError{Input: l.input, Offset: l.n, Err: ErrTooLarge,
			Expected: fmt.Sprintf("at most %d bytes %s", l.n, l.what)}
	}
	if rest := l.n - l.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}

// LimitReader returns a reader of r that fails with a [*ParseError]
// wrapping [ErrTooLarge] once more than max bytes are read from it, naming
// input and saying what was limited ("of execution trace" reads "expected at
// most N bytes of execution trace").
func LimitReader(r io.Reader, input string, max int64, what string) io.Reader {
	return &limitReader{r: r, n: max, input: input, what: what}
}

// readAll reads r whole, at most max bytes. It reads into chunks of
// growing size and joins them at the end, so that an input stopped at the
// limit (a gzip bomb) has cost about the limit, not the two or three times
// it that growing one slice costs.
func readAll(r io.Reader, input string, max int64) ([]byte, error) {
	lr := &limitReader{r: r, n: max, input: input, what: "read whole"}
	var chunks [][]byte
	total, size := 0, 64<<10
	for done := false; !done; size = min(2*size, 16<<20) {
		buf := make([]byte, size)
		n := 0
		for n < len(buf) {
			m, err := lr.Read(buf[n:])
			n += m
			if err == io.EOF {
				done = true
				break
			}
			if err != nil {
				return nil, ReadError(input, err)
			}
		}
		chunks = append(chunks, buf[:n])
		total += n
	}
	data := make([]byte, 0, total)
	for _, c := range chunks {
		data = append(data, c...)
	}
	return data, nil
}

// Decode reads one profile from r, whatever its format, and returns its
// tree. r may be gzip-compressed (recognised by its magic number); the format
// underneath is found by [Detect]. input names r in error messages. Folded
// input is streamed; pprof input is read whole, as the pprof decoder needs,
// up to [WithMaxBytes].
//
// Errors about the content are [*ParseError]; other errors are I/O faults.
func Decode(r io.Reader, input string, opts ...Option) (*Tree, error) {
	c := newConfig(opts)
	br, err := Uncompress(r, input, c.maxBytes)
	if err != nil {
		return nil, err
	}
	head, err := br.Peek(4096)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, ReadError(input, err)
	}
	switch Detect(head) {
	case FormatFolded:
		t := NewTree("samples")
		if err := ParseFolded(br, input, t, opts...); err != nil {
			return nil, err
		}
		return t, nil
	case FormatPprof:
		data, err := readAll(br, input, c.maxBytes)
		if err != nil {
			return nil, err
		}
		return ParsePprof(data, input, opts...)
	}
	if len(head) == 0 {
		return nil, &ParseError{Input: input, Expected: "folded stacks or a pprof profile", Err: ErrEmpty}
	}
	return nil, &ParseError{Input: input, Expected: "folded stacks or a pprof profile (protobuf or a legacy text or CPU profile), gzipped or not", Err: ErrFormat}
}

// ReadError turns an error met reading input into what a caller reports: a
// [*ParseError] as it is, damaged compressed data as a [*ParseError]
// wrapping [ErrCorrupt], anything else (a failing device, a network
// timeout) as an I/O fault naming input.
func ReadError(input string, err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	if isCorrupt(err) {
		return &ParseError{Input: input, Expected: "a complete gzip stream", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	return fmt.Errorf("read %s: %w", input, err)
}

// isCorrupt reports whether a read error means damaged compressed data
// rather than a failing device.
func isCorrupt(err error) bool {
	var ce flate.CorruptInputError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) ||
		errors.Is(err, gzip.ErrHeader) || errors.As(err, &ce)
}
