package tasks

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/semconv"
)

// sites caches the attributes of each spawn site by program counter: the
// span kind and code.function.name, code.file.path, code.line.number.
// Symbolizing a PC costs far more than a map lookup, and a program has few
// distinct spawn sites, so each is resolved once. A PC always calls the same
// tracekit function, so its kind never changes.
//
// The map is copied on write and read through an atomic pointer: lookups,
// the hot path, take no lock and allocate nothing (a sync.Map would box the
// uintptr key on every lookup).
var (
	sites   atomic.Pointer[map[uintptr]*Site]
	sitesMu sync.Mutex // serializes writers
)

// Site is a spawn site: where tracekit.Go, Group.Go, NewGroup or Span was
// called. Its fields are never modified after it is published, except the
// start count, which only grows, atomically.
type Site struct {
	// Attrs are tracekit.kind and the code.* attributes, in that order.
	Attrs []attribute.KeyValue
	// Opts holds one option, trace.WithAttributes(Attrs...) as a
	// SiteOption, made once: converting the attributes to an option
	// allocates, and so does the variadic slice of a Start call that is
	// not handed one ready-made.
	Opts []trace.SpanStartOption
	// Where is the code.* attributes (Attrs without the kind) as a set:
	// the attributes of the site's tracekit.task.started point.
	Where attribute.Set

	// started counts the tasks started from this site: one uncontended
	// atomic add per task. The padding keeps it off the cache line of the
	// fields above, which every start reads, so that tasks started from one
	// site on several cores do not slow each other's reads.
	_       [64]byte
	started atomic.Uint64
}

// CountStart adds a started task to the site's count; s may be nil.
func (s *Site) CountStart() {
	if s != nil {
		s.started.Add(1)
	}
}

// Started returns how many tasks were started from the site.
func (s *Site) Started() uint64 { return s.started.Load() }

// Function, File and Line are where the site is; zero for a nil site.
func (s *Site) Function() string {
	if s == nil || len(s.Attrs) < 4 {
		return ""
	}
	return s.Attrs[1].Value.AsString()
}

func (s *Site) File() string {
	if s == nil || len(s.Attrs) < 4 {
		return ""
	}
	return s.Attrs[2].Value.AsString()
}

func (s *Site) Line() int {
	if s == nil || len(s.Attrs) < 4 {
		return 0
	}
	return int(s.Attrs[3].Value.AsInt64())
}

// String is "function (file:line)", or "" for a nil site.
func (s *Site) String() string {
	if s == nil || len(s.Attrs) < 4 {
		return ""
	}
	return fmt.Sprintf("%s (%s:%d)", s.Function(), s.File(), s.Line())
}

// EachSite calls f for every spawn site cached so far, in no order.
func EachSite(f func(*Site)) {
	if m := sites.Load(); m != nil {
		for _, site := range *m {
			f(site)
		}
	}
}

// SiteOption is a site's span start option: it sets the site's
// attributes, and says the span's tracekit.kind to a tracer that reads its
// options (the profiling labeller) without it looking through them.
type SiteOption struct {
	trace.SpanStartOption
	Kind string
}

// SiteOf returns the site, of the given tracekit.kind, of the caller skip
// frames above SiteOf's caller. The result is shared: callers must not
// modify it.
func SiteOf(skip int, kind string) *Site {
	var pcs [1]uintptr
	if runtime.Callers(skip+2, pcs[:]) < 1 {
		return nil
	}
	return SiteAt(pcs[0], kind)
}

// SiteAt returns the site, of the given tracekit.kind, of the call whose
// return address is pc (as runtime.Callers or goid.CallerPC give it): a
// map lookup once the site is known. The result is shared: callers must
// not modify it.
func SiteAt(pc uintptr, kind string) *Site {
	if m := sites.Load(); m != nil {
		if site, ok := (*m)[pc]; ok {
			return site
		}
	}
	return addSite(pc, kind)
}

// addSite symbolizes pc and publishes a new map holding it.
func addSite(pc uintptr, kind string) *Site {
	sitesMu.Lock()
	defer sitesMu.Unlock()
	old := sites.Load()
	if old != nil {
		if site, ok := (*old)[pc]; ok {
			return site
		}
	}
	frame, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	attrs := []attribute.KeyValue{
		attribute.String(semconv.Kind, kind),
		otelsemconv.CodeFunctionName(frame.Function),
		otelsemconv.CodeFilePath(frame.File),
		otelsemconv.CodeLineNumber(frame.Line),
	}
	site := &Site{Attrs: attrs, Opts: []trace.SpanStartOption{SiteOption{SpanStartOption: trace.WithAttributes(attrs...), Kind: kind}},
		Where: attribute.NewSet(slices.Clone(attrs[1:])...)} // NewSet sorts its argument in place
	next := make(map[uintptr]*Site)
	if old != nil {
		maps.Copy(next, *old)
	}
	next[pc] = site
	sites.Store(&next)
	return site
}
