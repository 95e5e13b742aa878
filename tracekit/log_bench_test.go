package tracekit

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// BenchmarkLogHandler compares a JSON handler behind LogHandler with the
// JSON handler alone, and with the same IDs added by hand, in the same run.
// The OpenTelemetry logs pipeline is not set up, as by default: what is
// measured is the IDs, the group handling and the span check.
func BenchmarkLogHandler(b *testing.B) {
	ctx := trace.ContextWithSpanContext(context.Background(), testSC)
	json := func() slog.Handler { return slog.NewJSONHandler(io.Discard, nil) }
	b.Run("baseline=json", func(b *testing.B) {
		l := slog.New(json())
		b.ReportAllocs()
		for b.Loop() {
			l.InfoContext(ctx, "loaded", "id", "u1", "rows", 3)
		}
	})
	b.Run("baseline=json+ids-by-hand", func(b *testing.B) {
		l := slog.New(json())
		b.ReportAllocs()
		for b.Loop() {
			sc := trace.SpanContextFromContext(ctx)
			l.InfoContext(ctx, "loaded", "id", "u1", "rows", 3,
				logKeyTraceID, sc.TraceID().String(), logKeySpanID, sc.SpanID().String())
		}
	})
	b.Run("LogHandler/no-span", func(b *testing.B) {
		l := slog.New(LogHandler(json()))
		b.ReportAllocs()
		for b.Loop() {
			l.InfoContext(context.Background(), "loaded", "id", "u1", "rows", 3)
		}
	})
	b.Run("LogHandler/span", func(b *testing.B) {
		l := slog.New(LogHandler(json()))
		b.ReportAllocs()
		for b.Loop() {
			l.InfoContext(ctx, "loaded", "id", "u1", "rows", 3)
		}
	})
	b.Run("baseline=json/group", func(b *testing.B) {
		l := slog.New(json()).WithGroup("req")
		b.ReportAllocs()
		for b.Loop() {
			l.InfoContext(ctx, "loaded", "id", "u1", "rows", 3)
		}
	})
	b.Run("LogHandler/span+group", func(b *testing.B) {
		l := slog.New(LogHandler(json())).WithGroup("req")
		b.ReportAllocs()
		for b.Loop() {
			l.InfoContext(ctx, "loaded", "id", "u1", "rows", 3)
		}
	})
	b.Run("LogHandler/disabled-level", func(b *testing.B) {
		l := slog.New(LogHandler(json()))
		b.ReportAllocs()
		for b.Loop() {
			l.DebugContext(ctx, "loaded", "id", "u1", "rows", 3)
		}
	})
}
