package sdk

import (
	"bytes"
	"context"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// maxRootSpans bounds the local root spans the memory watch keeps track of.
const maxRootSpans = 1024

// rootSpans tracks the sampled local root spans of a tracer provider that
// have started and not ended (the first span of a trace in the process, or
// one whose parent came from another process), up to maxRootSpans, so the
// memory watch can put its event on one. Spans with a local parent cost one
// comparison; roots one map insert and delete under a mutex.
type rootSpans struct {
	mu    sync.Mutex
	spans map[trace.SpanID]sdktrace.ReadWriteSpan
}

func newRootSpans() *rootSpans {
	return &rootSpans{spans: make(map[trace.SpanID]sdktrace.ReadWriteSpan)}
}

var _ sdktrace.SpanProcessor = (*rootSpans)(nil)

func (r *rootSpans) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	if isLocal(s.Parent()) || !s.SpanContext().IsSampled() {
		return
	}
	r.mu.Lock()
	if len(r.spans) < maxRootSpans {
		r.spans[s.SpanContext().SpanID()] = s
	}
	r.mu.Unlock()
}

func (r *rootSpans) OnEnd(s sdktrace.ReadOnlySpan) {
	if isLocal(s.Parent()) || !s.SpanContext().IsSampled() {
		return
	}
	r.mu.Lock()
	delete(r.spans, s.SpanContext().SpanID())
	r.mu.Unlock()
}

func (r *rootSpans) Shutdown(context.Context) error   { return nil }
func (r *rootSpans) ForceFlush(context.Context) error { return nil }

// oldest returns the active root span that started first, or nil. Safe on
// a nil tracker.
func (r *rootSpans) oldest() trace.Span {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var best sdktrace.ReadWriteSpan
	for _, s := range r.spans {
		if best == nil || s.StartTime().Before(best.StartTime()) ||
			(s.StartTime().Equal(best.StartTime()) && bytes.Compare(idBytes(s), idBytes(best)) < 0) {
			best = s
		}
	}
	if best == nil {
		return nil
	}
	return best
}

func idBytes(s sdktrace.ReadWriteSpan) []byte {
	id := s.SpanContext().SpanID()
	return id[:]
}
