package tracekit

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

// The keys [LogHandler] writes.
const (
	// LogKeyTraceID is the slog key of the trace ID (32 lower-case hex
	// digits) that LogHandler adds to a record logged under a span.
	LogKeyTraceID = semconv.LogTraceID
	// LogKeySpanID is the slog key of the span ID (16 lower-case hex
	// digits) that LogHandler adds beside [LogKeyTraceID].
	LogKeySpanID = semconv.LogSpanID
	// KeyLogLevel is on every span event LogHandler makes from a record:
	// the record's slog level, such as ERROR.
	KeyLogLevel = attribute.Key(semconv.LogLevel)
)

// LogOption configures [LogHandler].
type LogOption interface{ applyLog(*logConfig) }

type logConfig struct {
	provider   otellog.LoggerProvider
	noExport   bool
	eventLevel slog.Leveler
}

type logOptionFunc func(*logConfig)

func (f logOptionFunc) applyLog(c *logConfig) { f(c) }

// WithLoggerProvider sends the records, besides the next handler, to the
// OpenTelemetry logs pipeline of lp (through the otelslog bridge), for
// example [Kit.LoggerProvider] of a Kit started [WithoutGlobals]. Default: the
// global logger provider, which [Start] sets when OTEL_LOGS_EXPORTER or
// [WithLogsExporter] asks for logs and which otherwise drops them at the
// cost of one check per record.
func WithLoggerProvider(lp otellog.LoggerProvider) LogOption {
	return logOptionFunc(func(c *logConfig) { c.provider, c.noExport = lp, false })
}

// WithoutLogExport keeps [LogHandler] from sending records to the
// OpenTelemetry logs pipeline; they go to the next handler only.
func WithoutLogExport() LogOption {
	return logOptionFunc(func(c *logConfig) { c.noExport = true })
}

// WithEventLevel sets the level from which a record becomes an event on the
// active span. Default slog.LevelError.
func WithEventLevel(level slog.Leveler) LogOption {
	return logOptionFunc(func(c *logConfig) { c.eventLevel = level })
}

// LogHandler returns a [slog.Handler] that passes every record to next and:
//
//   - adds trace_id and span_id ([LogKeyTraceID], [LogKeySpanID]) at the top
//     level of a record whose context holds a valid span context, even
//     inside groups opened with WithGroup;
//   - adds each record of level ERROR or above ([WithEventLevel]) as an
//     event on the span in its context when that span is recording: the
//     event is named after the message and carries tracekit.log.level, the
//     record's attributes (group members as group.key), and the source
//     (code.*) when the record has one;
//   - sends the record to the OpenTelemetry logs pipeline (the global
//     logger provider unless [WithLoggerProvider] or [WithoutLogExport] say
//     otherwise), where the trace and span IDs are fields of the log record.
//     [Start] installs a provider there when OTEL_LOGS_EXPORTER or
//     [WithLogsExporter] asks for logs; a handler made before Start follows
//     it. Until then records go nowhere, at the cost of one check.
//
// It keeps the slog.Handler contract: Enabled is true when next, the logs
// pipeline, or the span event wants the record; WithAttrs and WithGroup
// return handlers that apply to all three. It is safe for concurrent use
// when next is. LogHandler of a handler it returned returns that handler
// unchanged, so wrapping twice does not add the IDs twice.
//
// A record passes to next untouched when its context holds no span. With a
// span and no open group the IDs are appended to the record; inside groups
// the record is rebuilt so that the IDs stay at the top level, which costs
// one allocation per open group.
func LogHandler(next slog.Handler, opts ...LogOption) slog.Handler {
	if h, ok := next.(*logHandler); ok {
		return h
	}
	var c logConfig
	for _, o := range opts {
		o.applyLog(&c)
	}
	h := &logHandler{next: next, grouped: next, eventLevel: c.eventLevel}
	if h.eventLevel == nil {
		h.eventLevel = slog.LevelError
	}
	if !c.noExport {
		lp := c.provider
		if lp == nil {
			lp = otel.GetLoggerProvider()
		}
		h.otel = otelslog.NewHandler(ScopeName, otelslog.WithLoggerProvider(lp))
	}
	return h
}

// logHandler is the handler [LogHandler] returns. Its fields are never
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
	return [2]slog.Attr{slog.String(LogKeyTraceID, s[:32]), slog.String(LogKeySpanID, s[32:])}
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
	attrs = append(attrs, KeyLogLevel.String(r.Level.String()))
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

// TraceLogger returns a logger whose handler is [LogHandler] over l's
// handler (slog.Default's when l is nil); a logger whose handler already is
// one is returned as is. It is meant for code that reports about a span from
// outside it, such as a watchdog goroutine: log with
// trace.ContextWithSpan(ctx, span) as the context and the record carries
// that span's trace_id and span_id and, from ERROR, becomes an event on it.
// Safe for concurrent use.
func TraceLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	if _, ok := l.Handler().(*logHandler); ok {
		return l
	}
	return slog.New(LogHandler(l.Handler()))
}
