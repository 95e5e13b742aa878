package detect

import (
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Tail capture: a span of tracekit's (a task, a group, a function span, a
// lock or channel span) that ends slower than the slow-span threshold asks
// the flight recorder for a snapshot and names the file on itself, so that
// a trace viewer leads to the execution trace of its last seconds. The
// file's name is known at once; the flight recorder writes it in the
// background, rate-limited and bounded on disk.

// SlowSpan returns the duration past which a span of tracekit's snapshots
// the flight recorder, or 0 when it does not (no flight recorder, or no
// threshold). Callers check it before reading a clock.
func (d *Detector) SlowSpan() time.Duration { return d.slowSpan }

// SpanEnding snapshots the flight recorder for span, which has lasted
// elapsed, if that is past the slow-span threshold (see [Detector.Slow]).
// Call it after the span's end marker, so that the snapshot holds it, and
// before span.End.
func (d *Detector) SpanEnding(span trace.Span, elapsed time.Duration) {
	if d.Slow(span, elapsed) {
		d.SnapshotSpan(span)
	}
}

// Slow reports whether span, which has lasted elapsed, is past the
// slow-span threshold and records.
func (d *Detector) Slow(span trace.Span, elapsed time.Duration) bool {
	return d.slowSpan > 0 && elapsed >= d.slowSpan && span.IsRecording()
}

// SnapshotSpan asks the flight recorder for a snapshot and puts its file
// name on span, which must not have ended.
func (d *Detector) SnapshotSpan(span trace.Span) {
	if path, ok := d.flight.Snapshot("slow-span"); ok {
		span.SetAttributes(keyFlightFile.String(path))
	}
}

// Elapsed returns how long span has lasted, when it can say when it started
// (the OpenTelemetry SDK's spans can), else 0.
func Elapsed(span trace.Span) time.Duration {
	if s, ok := span.(interface{ StartTime() time.Time }); ok {
		if st := s.StartTime(); !st.IsZero() {
			return time.Since(st)
		}
	}
	return 0
}
