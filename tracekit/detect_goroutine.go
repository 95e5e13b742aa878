package tracekit

import (
	"sync"

	"go.opentelemetry.io/otel/trace"
)

// goroutineSpans maps a goroutine to the span of the tracekit task running
// on it, so that a plain Lock that turns out slow can attach its span to
// the task without the fast path carrying a context. Tasks register at start
// and remove themselves when they end; the table holds only running tasks.
var goroutineSpans [64]struct {
	mu sync.Mutex
	m  map[uintptr]trace.Span
	_  [40]byte // keep shards on separate cache lines
}

func spanShard(g uintptr) int { return int((g >> 6) % uintptr(len(goroutineSpans))) }

// bindGoroutine records span as the task span of the calling goroutine and
// returns the key to pass to unbindGoroutine. It does nothing (and returns
// 0) where identifying a goroutine is slow.
func bindGoroutine(span trace.Span) uintptr {
	if !fastGoroutineKey || !span.SpanContext().IsValid() {
		return 0
	}
	g := goroutineKey()
	sh := &goroutineSpans[spanShard(g)]
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = make(map[uintptr]trace.Span)
	}
	sh.m[g] = span
	sh.mu.Unlock()
	return g
}

func unbindGoroutine(g uintptr) {
	if g == 0 {
		return
	}
	sh := &goroutineSpans[spanShard(g)]
	sh.mu.Lock()
	delete(sh.m, g)
	sh.mu.Unlock()
}

// goroutineSpan returns the span of the task running on the calling
// goroutine, or nil.
func goroutineSpan() trace.Span {
	if !fastGoroutineKey {
		return nil
	}
	g := goroutineKey()
	sh := &goroutineSpans[spanShard(g)]
	sh.mu.Lock()
	sp := sh.m[g]
	sh.mu.Unlock()
	return sp
}
