package tracekit

import (
	"log/slog"

	otellog "go.opentelemetry.io/otel/log"

	"github.com/tracekit-go/tracekit/internal/tracelog"
)

// LogHandler returns a [slog.Handler] that passes every record to next,
// adds trace_id and span_id (at the top level, even inside groups) when the
// record's context holds a span, makes each record of level ERROR or above
// an event on that span, and sends the record to the OpenTelemetry logs
// pipeline of the global logger provider (which package sdk sets when logs
// are exported; until then records go nowhere, at the cost of one check).
// Wrapping a handler it returned returns that handler unchanged.
func LogHandler(next slog.Handler, opts ...LogOption) slog.Handler {
	var c tracelog.Config
	for _, o := range opts {
		o.applyLog(&c)
	}
	return tracelog.New(next, c)
}

// LogOption configures [LogHandler].
type LogOption interface{ applyLog(*tracelog.Config) }

type logOptionFunc func(*tracelog.Config)

func (f logOptionFunc) applyLog(c *tracelog.Config) { f(c) }

// WithLoggerProvider sends the records to lp's logs pipeline instead of the
// global logger provider's.
func WithLoggerProvider(lp otellog.LoggerProvider) LogOption {
	return logOptionFunc(func(c *tracelog.Config) { c.Provider, c.NoExport = lp, false })
}

// WithoutLogExport keeps the records out of the OpenTelemetry logs
// pipeline: they go to the next handler only.
func WithoutLogExport() LogOption {
	return logOptionFunc(func(c *tracelog.Config) { c.NoExport = true })
}

// WithEventLevel sets the level from which a record becomes an event on the
// span in its context. Default slog.LevelError.
func WithEventLevel(level slog.Leveler) LogOption {
	return logOptionFunc(func(c *tracelog.Config) { c.EventLevel = level })
}
