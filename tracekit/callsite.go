package tracekit

import (
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// callSites caches the attributes of each spawn site by program counter:
// the span kind and code.function.name, code.file.path, code.line.number.
// Symbolizing a PC costs far more than a map lookup, and a program has few
// distinct spawn sites, so each is resolved once. A PC always calls the same
// tracekit function, so its kind never changes.
//
// The map is copied on write and read through an atomic pointer: lookups,
// the hot path, take no lock and allocate nothing (a sync.Map would box the
// uintptr key on every lookup).
var (
	callSites   atomic.Pointer[map[uintptr]*callSite]
	callSitesMu sync.Mutex // serializes writers
)

// callSite is what is cached per spawn site. Its fields are never modified
// after it is published, except started, which only grows, atomically.
type callSite struct {
	attrs []attribute.KeyValue
	// opt is trace.WithAttributes(attrs...), made once: converting the
	// attributes to a SpanStartOption allocates.
	opt trace.SpanStartOption
	// where is the code.* attributes (attrs without the kind) as a set:
	// the attributes of the site's tracekit.task.started point.
	where attribute.Set

	// started counts the tasks started from this site by [Go], [Group.Go]
	// and [Group.TryGo]: one uncontended atomic add per task. The padding
	// keeps it off the cache line of the fields above, which every start
	// reads, so that tasks started from one site on several cores do not
	// slow each other's reads.
	_       [64]byte
	started atomic.Uint64
}

// countStart adds a started task to the site's count; s may be nil.
func (s *callSite) countStart() {
	if s != nil {
		s.started.Add(1)
	}
}

// eachSite calls f for every spawn site cached so far, in no order.
func eachSite(f func(*callSite)) {
	if m := callSites.Load(); m != nil {
		for _, site := range *m {
			f(site)
		}
	}
}

// siteOf returns kind and the code.* attributes of the caller skip frames
// above siteOf's caller. The result is shared: callers must not modify it.
func siteOf(skip int, kind Kind) *callSite {
	var pcs [1]uintptr
	if runtime.Callers(skip+2, pcs[:]) < 1 {
		return nil
	}
	if m := callSites.Load(); m != nil {
		if site, ok := (*m)[pcs[0]]; ok {
			return site
		}
	}
	return addSite(pcs[0], kind)
}

// addSite symbolizes pc and publishes a new map holding it.
func addSite(pc uintptr, kind Kind) *callSite {
	callSitesMu.Lock()
	defer callSitesMu.Unlock()
	old := callSites.Load()
	if old != nil {
		if site, ok := (*old)[pc]; ok {
			return site
		}
	}
	frame, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	attrs := []attribute.KeyValue{
		kind.attr(),
		semconv.CodeFunctionName(frame.Function),
		semconv.CodeFilePath(frame.File),
		semconv.CodeLineNumber(frame.Line),
	}
	site := &callSite{attrs: attrs, opt: trace.WithAttributes(attrs...), where: attribute.NewSet(slices.Clone(attrs[1:])...)} // NewSet sorts its argument in place
	next := make(map[uintptr]*callSite)
	if old != nil {
		maps.Copy(next, *old)
	}
	next[pc] = site
	callSites.Store(&next)
	return site
}
