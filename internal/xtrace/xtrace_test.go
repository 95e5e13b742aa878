package xtrace_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime/trace"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/xtrace"
)

var (
	traceID = [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	spanID  = [8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	parent  = [8]byte{0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8}
)

func TestAppendParse(t *testing.T) {
	for _, tt := range []struct {
		m    xtrace.Marker
		text string
	}{
		{xtrace.Marker{Kind: xtrace.KindBegin, TraceID: traceID, SpanID: spanID, Parent: parent, SpanKind: "goroutine", Name: "load orders"},
			"b 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 53995c3f42cd8ad8 goroutine load orders"},
		{xtrace.Marker{Kind: xtrace.KindBegin, TraceID: traceID, SpanID: spanID, Name: "root"},
			"b 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 0000000000000000 - root"},
		{xtrace.Marker{Kind: xtrace.KindBegin, TraceID: traceID, SpanID: spanID, Name: ""},
			"b 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 0000000000000000 - "},
		{xtrace.Marker{Kind: xtrace.KindEnd, SpanID: spanID},
			"e 00f067aa0ba902b7"},
		{xtrace.Marker{Kind: xtrace.KindGoroutine, TraceID: traceID, SpanID: spanID, Parent: parent, SpanKind: "goroutine", Name: "load orders"},
			"g 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 53995c3f42cd8ad8 goroutine load orders"},
		{xtrace.Marker{Kind: xtrace.KindDone, TraceID: traceID, SpanID: spanID, Parent: parent, SpanKind: "lock.wait", Name: "lock.wait orders", Duration: 18 * time.Millisecond},
			"d 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 53995c3f42cd8ad8 18000000 lock.wait lock.wait orders"},
	} {
		got := string(tt.m.Append(nil))
		if got != tt.text {
			t.Errorf("Append = %q, want %q", got, tt.text)
		}
		m, err := xtrace.Parse(xtrace.Category, got)
		if err != nil || m != tt.m {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", got, m, err, tt.m)
		}
	}
}

// A span kind is one word: its spaces are written as underscores.
func TestAppendKindWithSpace(t *testing.T) {
	m := xtrace.Marker{Kind: xtrace.KindBegin, SpanKind: "my kind", Name: "a b"}
	got, err := xtrace.Parse(xtrace.Category, string(m.Append(nil)))
	if err != nil || got.SpanKind != "my_kind" || got.Name != "a b" {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := xtrace.Parse("other", "e 00f067aa0ba902b7"); !errors.Is(err, xtrace.ErrNotMarker) {
		t.Errorf("another category: %v, want ErrNotMarker", err)
	}
	for _, tt := range []struct{ msg, want string }{
		{"", "expected a kind letter and a space"},
		{"e", "expected a kind letter and a space"},
		{"x 00f067aa0ba902b7", "unknown kind"},
		{"e 00f067aa0ba902", "expected 16 hex digits"},
		{"e 00f067aa0ba902zz", "expected 16 hex digits"},
		{"b 4bf92f3577b34da6a3ce929d0e0e4736", "expected a trace id followed by a space"},
		{"b 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 53995c3f42cd8ad8", "expected a parent span id followed by a space"},
		{"b 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 53995c3f42cd8ad8 goroutine", "expected a span kind followed by a space"},
		{"d 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 53995c3f42cd8ad8 -5 lock.wait x", "expected non-negative nanoseconds"},
		{"d 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 53995c3f42cd8ad8 lock.wait x", "expected non-negative nanoseconds"},
	} {
		_, err := xtrace.Parse(xtrace.Category, tt.msg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error saying %q", tt.msg, err, tt.want)
		}
	}
}

// Without a recording execution trace, writing a marker allocates nothing.
func TestDisabledAllocatesNothing(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("an execution trace is recording (go test -trace)")
	}
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		xtrace.Begin(ctx, traceID, spanID, parent, "goroutine", "load")
		xtrace.End(ctx, spanID)
		xtrace.Done(ctx, traceID, spanID, parent, "lock.wait", "lock.wait orders", time.Millisecond)
		xtrace.BeginGoroutine(ctx, traceID, spanID, parent, "goroutine", "load")
	}); n != 0 {
		t.Errorf("%v allocations per marker pair, want 0", n)
	}
}

func BenchmarkMarkers(b *testing.B) {
	ctx := context.Background()
	b.Run("baseline=no-markers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
		}
	})
	b.Run("not-recording", func(b *testing.B) {
		if trace.IsEnabled() {
			b.Skip("an execution trace is recording")
		}
		b.ReportAllocs()
		for b.Loop() {
			xtrace.Begin(ctx, traceID, spanID, parent, "goroutine", "load orders")
			xtrace.End(ctx, spanID)
		}
	})
	// The runtime's part of a recording marker pair: two logs of the same
	// lengths, formatted once.
	b.Run("recording-baseline=two-trace.Log", func(b *testing.B) {
		if err := trace.Start(io.Discard); err != nil {
			b.Skip(err)
		}
		defer trace.Stop()
		begin := string(xtrace.Marker{Kind: xtrace.KindBegin, TraceID: traceID, SpanID: spanID, Parent: parent, SpanKind: "goroutine", Name: "load orders"}.Append(nil))
		end := string(xtrace.Marker{Kind: xtrace.KindEnd, SpanID: spanID}.Append(nil))
		b.ReportAllocs()
		for b.Loop() {
			trace.Log(ctx, xtrace.Category, begin)
			trace.Log(ctx, xtrace.Category, end)
		}
	})
	b.Run("recording", func(b *testing.B) {
		if err := trace.Start(io.Discard); err != nil {
			b.Skip(err)
		}
		defer trace.Stop()
		b.ReportAllocs()
		for b.Loop() {
			xtrace.Begin(ctx, traceID, spanID, parent, "goroutine", "load orders")
			xtrace.End(ctx, spanID)
		}
	})
}

// Markers written while an execution trace records are read back by Parse
// from the trace's log events (see package exectrace for the reading).
func TestWrittenToTrace(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("an execution trace is already recording")
	}
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	xtrace.Begin(context.Background(), traceID, spanID, parent, "goroutine", "load orders")
	xtrace.End(context.Background(), spanID)
	trace.Stop()
	want := xtrace.Marker{Kind: xtrace.KindBegin, TraceID: traceID, SpanID: spanID, Parent: parent, SpanKind: "goroutine", Name: "load orders"}
	if !bytes.Contains(buf.Bytes(), []byte(xtrace.Category)) || !bytes.Contains(buf.Bytes(), want.Append(nil)) {
		t.Errorf("the trace (%d bytes) holds no marker %q", buf.Len(), want.Append(nil))
	}
}

func FuzzParse(f *testing.F) {
	f.Add("b 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 53995c3f42cd8ad8 goroutine load orders")
	f.Add("e 00f067aa0ba902b7")
	f.Add("g 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 53995c3f42cd8ad8 goroutine load orders")
	f.Add("d 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 53995c3f42cd8ad8 18000000 lock.wait lock.wait orders")
	f.Add("d 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 53995c3f42cd8ad8 99999999999999999999 - x")
	f.Fuzz(func(t *testing.T, msg string) {
		m, err := xtrace.Parse(xtrace.Category, msg)
		if err != nil {
			return
		}
		// What parses is written back as it was read, but for spellings
		// of the same numbers and IDs (upper-case hex, leading zeros).
		again, err := xtrace.Parse(xtrace.Category, string(m.Append(nil)))
		if err != nil || again != m {
			t.Fatalf("%q: parsed %+v, written %q, read back %+v, %v", msg, m, m.Append(nil), again, err)
		}
	})
}
