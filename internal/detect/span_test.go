package detect

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/semconv"
)

// startedAt is a span whose start is st.
type startedAt struct {
	trace.Span
	st time.Time
}

func (s startedAt) StartTime() time.Time { return s.st }

// A wait or hold span lies inside its task on the wall clock, which
// exporters send, even when the task's start read its wall clock later,
// against its monotonic clock, than the detector's epoch did: time.Now
// takes the two readings one after the other.
func TestSpanNotBeforeParentOnTheWallClock(t *testing.T) {
	// A start whose wall reading is ahead of the epoch's by more than its
	// monotonic one: readings differ by a few nanoseconds, either way, so
	// a few detectors and readings find one.
	var d *Detector
	var pst time.Time
	for range 1000 {
		d, _ = testDetector(Config{})
		for range 10_000 {
			now := time.Now()
			if now.UnixNano()-d.epoch.UnixNano() > int64(now.Sub(d.epoch)) {
				pst = now
				break
			}
		}
		if !pst.IsZero() {
			break
		}
		d.Close()
	}
	if pst.IsZero() {
		t.Skip("the wall and monotonic readings never drifted apart here")
	}
	defer d.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	_, root := tp.Tracer("test").Start(context.Background(), "task", trace.WithTimestamp(pst))
	ctx := trace.ContextWithSpan(context.Background(), startedAt{root, pst})

	end := d.Now()
	d.span(ctx, semconv.KindLockHold, "cache", 1, end, nil) // begins before the task
	root.End()
	ended := rec.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans ended, want the hold and the task", len(ended))
	}
	s, task := ended[0], ended[1]
	if s.StartTime().UnixNano() < task.StartTime().UnixNano() || s.EndTime().UnixNano() > task.EndTime().UnixNano() {
		t.Errorf("hold from %d to %d ns (wall), task from %d to %d: want the hold inside the task",
			s.StartTime().UnixNano(), s.EndTime().UnixNano(), task.StartTime().UnixNano(), task.EndTime().UnixNano())
	}
	if got, want := s.EndTime().Sub(s.StartTime()), time.Duration(end-int64(pst.Sub(d.epoch))-1); got != want {
		t.Errorf("hold lasts %v, want %v: from the task's start to its release", got, want)
	}
}
