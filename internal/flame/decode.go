package flame

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxLineBytes is the longest folded line accepted unless
// [WithMaxLineBytes] says otherwise: 64 MiB, far beyond any real stack, and
// small enough that a hostile input cannot make the parser hold gigabytes.
const DefaultMaxLineBytes = 64 << 20

// Option configures [Decode], [ParseFolded] and [ParsePprof].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	sampleType string
	tags       []tagFilter
	lines      bool
	maxLine    int
}

type tagFilter struct{ key, value string }

func newConfig(opts []Option) config {
	c := config{maxLine: DefaultMaxLineBytes}
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

// Format is an input format found by [Detect].
type Format uint8

// Input formats.
const (
	FormatUnknown Format = iota
	FormatFolded         // folded stack text
	FormatPprof          // pprof protobuf (gzipped or not) or legacy text profile
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

// legacy text profiles that the pprof parser understands.
var legacyPrefixes = [][]byte{
	[]byte("heap profile:"), []byte("--- contention"), []byte("--- mutex"),
	[]byte("goroutine profile:"), []byte("--- threadcreate"), []byte("threadcreate profile:"),
	[]byte("--- heapz"), []byte("--- heap"),
}

// Detect names the format of an input from its first bytes (after any gzip
// layer has been removed), never from its name: text that looks like a
// legacy Go profile is pprof, other text is folded, binary is pprof.
func Detect(head []byte) Format {
	if len(head) == 0 {
		return FormatUnknown
	}
	t := bytes.TrimLeft(head, " \t\r\n")
	for _, p := range legacyPrefixes {
		if bytes.HasPrefix(t, p) {
			return FormatPprof
		}
	}
	if isText(head) {
		return FormatFolded
	}
	return FormatPprof
}

// isText reports whether b looks like text: no NUL or other control bytes
// besides tab, CR and LF. Symbol names may hold any other bytes, invalid
// UTF-8 included; a protobuf has control bytes in its first few fields.
func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// Decode reads one profile from r, whatever its format, and returns its
// tree. r may be gzip-compressed (recognised by its magic number); the format
// underneath is found by [Detect]. input names r in error messages. Folded
// input is streamed; pprof input is read whole, as the pprof decoder needs.
//
// Errors about the content are [*ParseError]; other errors are I/O faults.
func Decode(r io.Reader, input string, opts ...Option) (*Tree, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", input, err)
	}
	var src io.Reader = br
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			if isCorrupt(err) || errors.Is(err, gzip.ErrHeader) {
				return nil, &ParseError{Input: input, Expected: "a gzip header", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
			}
			return nil, fmt.Errorf("read %s: %w", input, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
		src = br
	}
	head, err = br.Peek(4096)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		if isCorrupt(err) {
			return nil, &ParseError{Input: input, Expected: "a complete gzip stream", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
		}
		return nil, fmt.Errorf("read %s: %w", input, err)
	}
	switch Detect(head) {
	case FormatUnknown:
		return nil, &ParseError{Input: input, Expected: "folded stacks or a pprof profile", Err: ErrEmpty}
	case FormatFolded:
		t := NewTree("samples")
		if err := ParseFolded(src, input, t, opts...); err != nil {
			return nil, err
		}
		return t, nil
	default:
		data, err := io.ReadAll(src)
		if err != nil {
			if isCorrupt(err) {
				return nil, &ParseError{Input: input, Offset: int64(len(data)), Expected: "a complete gzip stream", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
			}
			return nil, fmt.Errorf("read %s: %w", input, err)
		}
		return ParsePprof(data, input, opts...)
	}
}

// isCorrupt reports whether a read error means damaged compressed data
// rather than a failing device.
func isCorrupt(err error) bool {
	var ce flate.CorruptInputError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) ||
		errors.Is(err, gzip.ErrHeader) || errors.As(err, &ce)
}
