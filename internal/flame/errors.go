package flame

import (
	"errors"
	"fmt"
)

// Sentinels for the ways an input can be unusable, checked with errors.Is on
// a [*ParseError].
var (
	// ErrEmpty means the input held no samples.
	ErrEmpty = errors.New("no samples")
	// ErrFormat means the input is neither folded stacks nor a pprof profile.
	ErrFormat = errors.New("unrecognised format")
	// ErrSyntax means a folded line is malformed.
	ErrSyntax = errors.New("syntax error")
	// ErrLineTooLong means a folded line exceeds the limit set with
	// [WithMaxLineBytes].
	ErrLineTooLong = errors.New("line too long")
	// ErrCorrupt means a compressed stream or a pprof profile is damaged.
	ErrCorrupt = errors.New("corrupt input")
	// ErrTooLarge means the input passed a size limit: the bytes read or
	// decompressed ([WithMaxBytes]), or the distinct names a tree holds.
	ErrTooLarge = errors.New("input too large")
	// ErrOverflow means values add up to more than an int64 holds.
	ErrOverflow = errors.New("values overflow int64")
)

// ParseError reports bad input: the input's name, where the problem is, and
// what was expected there. Line is 1-based and zero when the position is a
// byte offset only (binary input). Err is one of the sentinels above, possibly
// wrapping the underlying decoder's error.
type ParseError struct {
	Input    string // input name as given ("-" for stdin)
	Line     int64  // 1-based line, or 0
	Offset   int64  // byte offset of the line or of the fault, in the decompressed stream
	Expected string // what the decoder expected to find
	Err      error
}

func (e *ParseError) Error() string {
	pos := fmt.Sprintf("offset %d", e.Offset)
	if e.Line > 0 {
		pos = fmt.Sprintf("line %d", e.Line)
	}
	msg := e.Err.Error()
	if e.Expected != "" {
		msg += ": expected " + e.Expected
	}
	return fmt.Sprintf("%s: %s: %s", e.Input, pos, msg)
}

func (e *ParseError) Unwrap() error { return e.Err }
