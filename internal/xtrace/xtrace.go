// Package xtrace writes and reads the markers that tie spans to a Go
// execution trace: runtime/trace log events under the category [Category],
// written on the goroutine a span runs on, so that a reader of the trace
// knows each span's goroutine and interval.
//
// Writers call [Begin] and [End] around a span, [BeginGoroutine] once for a
// span that lasts as long as its goroutine, or [Done] once for a span made
// after the fact; each costs one atomic load when no execution trace is
// recording. Readers hand every log event of the category to [Parse]. The
// format lives only here.
package xtrace

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Category is the runtime/trace log category of every marker.
const Category = "tracekit.span"

// Kind says what a [Marker] records.
type Kind byte

// Marker kinds, as the first byte of a marker's message.
const (
	// KindBegin: a span started on this goroutine at the log's time.
	KindBegin Kind = 'b'
	// KindGoroutine: a span started on this goroutine at the log's time
	// and ends when the goroutine does (a task's span); it has no end
	// marker.
	KindGoroutine Kind = 'g'
	// KindEnd: the span with this id ended at the log's time.
	KindEnd Kind = 'e'
	// KindDone: a span made after the fact (a lock or channel wait)
	// ended at the log's time, having lasted Duration on this goroutine.
	KindDone Kind = 'd'
)

// Marker is one parsed marker. For [KindEnd] only SpanID is set.
type Marker struct {
	Kind    Kind
	TraceID [16]byte
	SpanID  [8]byte
	Parent  [8]byte // zero for a root span
	// SpanKind is the span's tracekit.kind ("goroutine", "lock.wait", ...),
	// empty when it has none.
	SpanKind string
	Name     string
	// Duration is how long a [KindDone] span lasted before the log.
	Duration time.Duration
}

// bufs holds the scratch of markers being written: the runtime copies a
// log's message into the trace buffer before trace.Log returns.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// Enabled reports whether an execution trace is recording, so a caller can
// skip gathering a marker's fields: one atomic load.
func Enabled() bool { return trace.IsEnabled() }

// Begin logs that span started on the calling goroutine. It does nothing
// unless an execution trace is recording.
func Begin(ctx context.Context, traceID [16]byte, span, parent [8]byte, kind, name string) {
	if !trace.IsEnabled() {
		return
	}
	log(ctx, Marker{Kind: KindBegin, TraceID: traceID, SpanID: span, Parent: parent, SpanKind: kind, Name: name})
}

// BeginGoroutine logs that span started on the calling goroutine, which
// it lasts as long as: a reader ends it when the goroutine ends, and no
// end marker is written. It does nothing unless an execution trace is
// recording.
func BeginGoroutine(ctx context.Context, traceID [16]byte, span, parent [8]byte, kind, name string) {
	if !trace.IsEnabled() {
		return
	}
	log(ctx, Marker{Kind: KindGoroutine, TraceID: traceID, SpanID: span, Parent: parent, SpanKind: kind, Name: name})
}

// End logs that span ended on the calling goroutine. It does nothing unless
// an execution trace is recording.
func End(ctx context.Context, span [8]byte) {
	if !trace.IsEnabled() {
		return
	}
	log(ctx, Marker{Kind: KindEnd, SpanID: span})
}

// Done logs a span made after the fact that ends now on the calling
// goroutine and started d earlier there: a reader puts its start at the
// log's time minus d. It does nothing unless an execution trace is
// recording.
func Done(ctx context.Context, traceID [16]byte, span, parent [8]byte, kind, name string, d time.Duration) {
	if !trace.IsEnabled() {
		return
	}
	log(ctx, Marker{Kind: KindDone, TraceID: traceID, SpanID: span, Parent: parent, SpanKind: kind, Name: name, Duration: d})
}

func log(ctx context.Context, m Marker) {
	bp := bufs.Get().(*[]byte)
	b := m.Append((*bp)[:0])
	trace.Log(ctx, Category, unsafe.String(unsafe.SliceData(b), len(b)))
	if cap(b) <= 4<<10 {
		*bp = b
		bufs.Put(bp)
	}
}

// Append appends m's message to b: the kind, then for a begin (b, g) or
// done marker the trace id, span id, parent id, (done: the duration in
// nanoseconds,) the span kind ("-" when empty) and the name, separated by
// single spaces; for an end marker the span id.
func (m Marker) Append(b []byte) []byte {
	b = append(b, byte(m.Kind), ' ')
	if m.Kind == KindEnd {
		return hex.AppendEncode(b, m.SpanID[:])
	}
	b = hex.AppendEncode(b, m.TraceID[:])
	b = append(b, ' ')
	b = hex.AppendEncode(b, m.SpanID[:])
	b = append(b, ' ')
	b = hex.AppendEncode(b, m.Parent[:])
	b = append(b, ' ')
	if m.Kind == KindDone {
		b = strconv.AppendInt(b, int64(m.Duration), 10)
		b = append(b, ' ')
	}
	if m.SpanKind == "" {
		b = append(b, '-')
	} else {
		b = appendWord(b, m.SpanKind)
	}
	b = append(b, ' ')
	return append(b, m.Name...)
}

// appendWord appends s with its spaces replaced, so that it stays one
// field.
func appendWord(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// ErrNotMarker is returned by [Parse] for a log of another category.
var ErrNotMarker = errors.New("not a tracekit span marker")

// Parse reads the marker of a runtime/trace log event. It fails with
// [ErrNotMarker] for another category, and with an error saying what was
// expected for a malformed message.
func Parse(category, message string) (Marker, error) {
	if category != Category {
		return Marker{}, ErrNotMarker
	}
	var m Marker
	if len(message) < 2 || message[1] != ' ' {
		return m, fmt.Errorf("marker %.40q: expected a kind letter and a space", message)
	}
	m.Kind = Kind(message[0])
	rest := message[2:]
	switch m.Kind {
	case KindEnd:
		if err := parseID(m.SpanID[:], rest, "span id"); err != nil {
			return m, err
		}
		return m, nil
	case KindBegin, KindGoroutine, KindDone:
	default:
		return m, fmt.Errorf("marker %.40q: unknown kind %q: expected b, g, e or d", message, message[0])
	}
	var f string
	var ok bool
	for _, id := range []struct {
		dst  []byte
		what string
	}{{m.TraceID[:], "trace id"}, {m.SpanID[:], "span id"}, {m.Parent[:], "parent span id"}} {
		if f, rest, ok = strings.Cut(rest, " "); !ok {
			return m, fmt.Errorf("marker %.40q: expected a %s followed by a space", message, id.what)
		}
		if err := parseID(id.dst, f, id.what); err != nil {
			return m, err
		}
	}
	if m.Kind == KindDone {
		if f, rest, ok = strings.Cut(rest, " "); !ok {
			return m, fmt.Errorf("marker %.40q: expected a duration followed by a space", message)
		}
		d, err := strconv.ParseInt(f, 10, 64)
		if err != nil || d < 0 {
			return m, fmt.Errorf("marker %.40q: duration %.24q: expected non-negative nanoseconds", message, f)
		}
		m.Duration = time.Duration(d)
	}
	if f, rest, ok = strings.Cut(rest, " "); !ok {
		return m, fmt.Errorf("marker %.40q: expected a span kind followed by a space", message)
	}
	if f != "-" {
		m.SpanKind = f
	}
	m.Name = rest
	return m, nil
}

func parseID(dst []byte, s, what string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("marker %s %.40q: expected %d hex digits", what, s, 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("marker %s %.40q: expected %d hex digits", what, s, 2*len(dst))
	}
	return nil
}
