package spans

import (
	"encoding/hex"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/semconv"
)

// TraceID is a 16-byte trace id.
type TraceID [16]byte

// String returns the id as 32 lowercase hex digits.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// IsZero reports whether the id is all zeros (invalid in OpenTelemetry).
func (t TraceID) IsZero() bool { return t == TraceID{} }

// ParseTraceID reads a trace id of up to 32 hex digits; shorter ids are
// zero-padded on the left, as Jaeger writes them.
func ParseTraceID(s string) (TraceID, bool) {
	var t TraceID
	ok := hexID(t[:], []byte(s))
	return t, ok && s != ""
}

// SpanID is an 8-byte span id. The zero SpanID means "no parent".
type SpanID [8]byte

// String returns the id as 16 lowercase hex digits.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// IsZero reports whether the id is all zeros.
func (s SpanID) IsZero() bool { return s == SpanID{} }

// Status is a span's status code, numbered as in OTLP.
type Status uint8

// Status codes.
const (
	StatusUnset Status = 0
	StatusOK    Status = 1
	StatusError Status = 2
)

// Attr is one span attribute rendered as text for tooltips: strings as they
// are, numbers and booleans in Go syntax, lists as [a, b] and maps as
// {k: v}.
type Attr struct {
	Key, Value string
}

// Span is one span as the decoders read it. Strings are interned per
// decoder, so the spans of one input share their names' memory.
type Span struct {
	TraceID TraceID
	ID      SpanID
	Parent  SpanID // zero for a root span
	Name    string
	Service string // the resource's service.name (Jaeger: the process's serviceName)
	Start   int64  // Unix nanoseconds
	End     int64  // Unix nanoseconds; a span with End < Start is read as zero-length
	Status  Status
	// Message is the status description, when there is one.
	Message string
	// Kind is the span's tracekit.kind attribute ("goroutine",
	// "lock.wait", ...), empty when it has none; see [ClassOf].
	Kind string
	// Attrs holds every attribute in input order, only when the decoder
	// was given [WithAttributes]; otherwise nil.
	Attrs []Attr
}

// Duration returns End-Start in nanoseconds, and 0 when End is before Start.
func (s *Span) Duration() int64 {
	if s.End < s.Start {
		return 0
	}
	return s.End - s.Start
}

// Error reports whether the span's status is Error.
func (s *Span) Error() bool { return s.Status == StatusError }

// Class says what a span stands for, from tracekit's attribute convention
// (docs/attributes.md), so that waits can be drawn apart from work.
type Class uint8

// Span classes.
const (
	ClassWork      Class = iota // any span that is not one of the below
	ClassGoroutine              // tracekit.kind = goroutine
	ClassGroup                  // tracekit.kind = group
	ClassLockWait               // tracekit.kind = lock.wait: blocked acquiring a lock
	ClassLockHold               // tracekit.kind = lock.hold: holding a lock (on CPU or not)
	ClassChanBlock              // tracekit.kind = chan.send or chan.recv: blocked on a channel
	ClassFunction               // tracekit.kind = function: a call traced with tracekit.Span
	ClassTask                   // tracekit.kind = task: a task run on its caller's goroutine (tracekit.Do)
)

var classNames = [...]string{"work", "goroutine", "group", "lock wait", "lock hold", "channel block", "function", "task"}

// String names the class.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "class(" + string(rune('0'+c)) + ")"
}

// OffCPU reports whether spans of this class are time spent waiting rather
// than running: lock waits and channel blocks.
func (c Class) OffCPU() bool { return c == ClassLockWait || c == ClassChanBlock }

// FrameKind returns the flame frame kind for the class: [flame.KindOffCPU]
// for waits, [flame.KindSpan] otherwise.
func (c Class) FrameKind() flame.Kind {
	if c.OffCPU() {
		return flame.KindOffCPU
	}
	return flame.KindSpan
}

// ClassOf classifies a tracekit.kind value.
func ClassOf(kind string) Class {
	switch kind {
	case semconv.KindGoroutine:
		return ClassGoroutine
	case semconv.KindGroup:
		return ClassGroup
	case semconv.KindLockWait:
		return ClassLockWait
	case semconv.KindLockHold:
		return ClassLockHold
	case semconv.KindChanSend, semconv.KindChanRecv:
		return ClassChanBlock
	case semconv.KindFunction:
		return ClassFunction
	case semconv.KindTask:
		return ClassTask
	}
	return ClassWork
}
