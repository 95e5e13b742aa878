// Package tracelog is the slog handler behind tracekit.LogHandler: it
// ties records to the span in their context (trace and span IDs, an event
// on the span from ERROR up) and sends them to the OpenTelemetry logs
// pipeline. The detectors log their reports through it too.
package tracelog

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/semconv"
)

// Config is what a handler needs; the zero value sends to the global
// logger provider and makes events from ERROR up.
type Config struct {
	// Provider receives the records through the otelslog bridge; nil means
	// the global logger provider.
	Provider otellog.LoggerProvider
	// NoExport keeps records out of the logs pipeline.
	NoExport bool
	// EventLevel is the level from which a record becomes an event on the
	// active span; nil means slog.LevelError.
	EventLevel slog.Leveler
}

// New returns a slog.Handler that passes every record to next and adds the
// trace and span IDs, the span event and the export that tracekit.LogHandler
// documents. A handler New returned is returned unchanged, so wrapping
// twice does not add the IDs twice.
func New(next slog.Handler, c Config) slog.Handler {
	if h, ok := next.(*logHandler); ok {
		return h
	}
	h := &logHandler{next: next, grouped: next, eventLevel: c.EventLevel}
	if h.eventLevel == nil {
		h.eventLevel = slog.LevelError
	}
	if !c.NoExport {
		lp := c.Provider
		if lp == nil {
			lp = otel.GetLoggerProvider()
		}
		h.otel = otelslog.NewHandler(semconv.ScopeName, otelslog.WithLoggerProvider(lp))
	}
	return h
}

// Logger returns a logger whose handler is New over l's handler
// (slog.Default's when l is nil); a logger whose handler already is one is
// returned as is. It is meant for code that reports about a span from
// outside it, such as a watchdog goroutine: log with
// trace.ContextWithSpan(ctx, span) as the context.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	if _, ok := l.Handler().(*logHandler); ok {
		return l
	}
	return slog.New(New(l.Handler(), Config{}))
}

// logHandler is the handler New returns. Its fields are never
// modified after it is made: WithAttrs and WithGroup copy it, and the
// slices it shares with its parent are clipped before they are appended to.
type logHandler struct {
	// next is the user's handler with the attributes given before the
	// first group; records carrying IDs inside groups are rebuilt on it.
	next slog.Handler
	// grouped is next with every WithAttrs and WithGroup applied; it is
	// next itself while no group is open.
	grouped slog.Handler
	// otel is the otelslog bridge with every WithAttrs and WithGroup
	// applied, or nil without export.
	otel slog.Handler
	// groups are the open groups, outermost first, with the attributes
	// given inside each.
	groups []logGroup
	// events are the WithAttrs attributes converted for span events, keys
	// prefixed with prefix, the dotted path of the open groups.
	events     []attribute.KeyValue
	prefix     string
	eventLevel slog.Leveler
}

type logGroup struct {
	name  string
	attrs []slog.Attr
}

var _ slog.Handler = (*logHandler)(nil)

// Enabled reports whether any destination wants a record of level l.
func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if h.grouped.Enabled(ctx, l) {
		return true
	}
	if h.otel != nil && h.otel.Enabled(ctx, l) {
		return true
	}
	return l >= h.eventLevel.Level() && trace.SpanFromContext(ctx).IsRecording()
}

// Handle sends r to the span, the logs pipeline and next, and returns their
// errors joined.
func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	span := trace.SpanFromContext(ctx)
	if r.Level >= h.eventLevel.Level() && span.IsRecording() {
		h.addEvent(span, r)
	}
	var errOTel error
	if h.otel != nil && h.otel.Enabled(ctx, r.Level) {
		errOTel = h.otel.Handle(ctx, r)
	}
	if !h.grouped.Enabled(ctx, r.Level) {
		return errOTel
	}
	sc := span.SpanContext()
	var err error
	switch {
	case !sc.IsValid():
		err = h.grouped.Handle(ctx, r)
	case len(h.groups) == 0:
		ids := idAttrs(sc)
		r.AddAttrs(ids[:]...)
		err = h.next.Handle(ctx, r)
	default:
		err = h.next.Handle(ctx, h.regroup(sc, r))
	}
	if errOTel != nil {
		return errors.Join(errOTel, err)
	}
	return err
}

// idAttrs returns the trace_id and span_id attributes of sc. Both IDs are
// encoded into one string, so the pair costs one allocation.
func idAttrs(sc trace.SpanContext) [2]slog.Attr {
	var buf [48]byte
	tid, sid := sc.TraceID(), sc.SpanID()
	hex.Encode(buf[:32], tid[:])
	hex.Encode(buf[32:], sid[:])
	s := string(buf[:])
	return [2]slog.Attr{slog.String(semconv.LogTraceID, s[:32]), slog.String(semconv.LogSpanID, s[32:])}
}

// regroup rebuilds r with the IDs at the top level and r's attributes
// inside the open groups, each group holding the attributes given to
// WithAttrs inside it. Empty groups are left for next to drop, as the slog
// contract asks of every handler.
func (h *logHandler) regroup(sc trace.SpanContext, r slog.Record) slog.Record {
	last := len(h.groups) - 1
	g := h.groups[last]
	members := make([]slog.Attr, len(g.attrs), len(g.attrs)+r.NumAttrs())
	copy(members, g.attrs)
	r.Attrs(func(a slog.Attr) bool {
		members = append(members, a)
		return true
	})
	attr := slog.Attr{Key: g.name, Value: slog.GroupValue(members...)}
	for i := last - 1; i >= 0; i-- {
		g := h.groups[i]
		outer := make([]slog.Attr, len(g.attrs), len(g.attrs)+1)
		copy(outer, g.attrs)
		attr = slog.Attr{Key: g.name, Value: slog.GroupValue(append(outer, attr)...)}
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	ids := idAttrs(sc)
	out.AddAttrs(ids[0], ids[1], attr)
	return out
}

// addEvent records r as an event on span.
func (h *logHandler) addEvent(span trace.Span, r slog.Record) {
	attrs := make([]attribute.KeyValue, 0, 4+len(h.events)+r.NumAttrs())
	attrs = append(attrs, attribute.String(semconv.LogLevel, r.Level.String()))
	if r.PC != 0 {
		f, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		if f.Function != "" {
			attrs = append(attrs,
				otelsemconv.CodeFunctionName(f.Function),
				otelsemconv.CodeFilePath(f.File),
				otelsemconv.CodeLineNumber(f.Line))
		}
	}
	attrs = append(attrs, h.events...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = appendEventAttr(attrs, h.prefix, a)
		return true
	})
	name := r.Message
	if name == "" {
		name = "log"
	}
	opts := []trace.EventOption{trace.WithAttributes(attrs...)}
	if !r.Time.IsZero() {
		opts = append(opts, trace.WithTimestamp(r.Time))
	}
	span.AddEvent(name, opts...)
}

// appendEventAttr converts a for a span event, flattening groups into
// dotted keys below prefix. Empty attributes are dropped, as slog drops them.
func appendEventAttr(dst []attribute.KeyValue, prefix string, a slog.Attr) []attribute.KeyValue {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p = prefix + a.Key + "."
		}
		for _, m := range v.Group() {
			dst = appendEventAttr(dst, p, m)
		}
		return dst
	}
	if a.Key == "" && v.Kind() == slog.KindAny && v.Any() == nil {
		return dst
	}
	key := attribute.Key(prefix + a.Key)
	switch v.Kind() {
	case slog.KindString:
		return append(dst, key.String(v.String()))
	case slog.KindInt64:
		return append(dst, key.Int64(v.Int64()))
	case slog.KindUint64:
		if u := v.Uint64(); u <= math.MaxInt64 {
			return append(dst, key.Int64(int64(u)))
		}
		return append(dst, key.String(v.String()))
	case slog.KindFloat64:
		return append(dst, key.Float64(v.Float64()))
	case slog.KindBool:
		return append(dst, key.Bool(v.Bool()))
	case slog.KindDuration:
		return append(dst, key.String(v.Duration().String()))
	case slog.KindTime:
		return append(dst, key.String(v.Time().Format(time.RFC3339Nano)))
	}
	if err, ok := v.Any().(error); ok {
		return append(dst, key.String(err.Error()))
	}
	return append(dst, key.String(fmt.Sprint(v.Any())))
}

// WithAttrs returns a handler that adds attrs to every record, in the
// innermost open group.
func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	if len(h.groups) == 0 {
		h2.next = h.next.WithAttrs(attrs)
		h2.grouped = h2.next
	} else {
		h2.grouped = h.grouped.WithAttrs(attrs)
		h2.groups = slices.Clone(h.groups)
		last := &h2.groups[len(h2.groups)-1]
		last.attrs = append(slices.Clip(last.attrs), attrs...)
	}
	if h.otel != nil {
		h2.otel = h.otel.WithAttrs(attrs)
	}
	h2.events = slices.Clip(h.events)
	for _, a := range attrs {
		h2.events = appendEventAttr(h2.events, h.prefix, a)
	}
	return &h2
}

// WithGroup returns a handler that puts the attributes of later WithAttrs
// calls and of every record in the group name. An empty name returns h.
func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.grouped = h.grouped.WithGroup(name)
	h2.groups = append(slices.Clip(h.groups), logGroup{name: name})
	if h.otel != nil {
		h2.otel = h.otel.WithGroup(name)
	}
	h2.prefix = h.prefix + name + "."
	return &h2
}
