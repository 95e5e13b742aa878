package sdk

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutlog"
	otellog "go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/tracekit-go/tracekit/exporters/otlp"
	"github.com/tracekit-go/tracekit/internal/batch"
)

// logPipeline is the Kit's OpenTelemetry logs pipeline.
type logPipeline struct {
	lp     *sdklog.LoggerProvider // nil when logs go nowhere
	queues []logQueue             // one per log exporter
}

// logQueue is the export queue in front of one log exporter. Records are
// queued as clones, which share nothing with the caller's.
type logQueue struct {
	q    *batch.Queue[*sdklog.Record]
	dest string
}

// startLogs builds the logs pipeline that [WithLogsExporter] or
// OTEL_LOGS_EXPORTER asks for. There is none by default.
func (k *Kit) startLogs(ctx context.Context, cfg *config, res *resource.Resource) error {
	type named struct {
		exp  sdklog.Exporter
		dest string
	}
	var exps []named
	for _, kind := range cfg.logs {
		var (
			exp sdklog.Exporter
			err error
		)
		switch kind {
		case ExporterNone:
			continue
		case ExporterOTLP:
			exp, err = otlp.NewLogExporter(ctx, append([]otlp.Option{otlp.WithErrorHandler(cfg.onError)}, cfg.otlp...)...)
		case ExporterConsole:
			w := cfg.console
			if w == nil {
				w = os.Stdout
			}
			exp, err = stdoutlog.New(stdoutlog.WithWriter(w), stdoutlog.WithPrettyPrint())
		default:
			err = fmt.Errorf("tracekit: unknown logs exporter %q: want otlp, console or none", kind)
		}
		if err != nil {
			for _, e := range exps {
				_ = e.exp.Shutdown(ctx)
			}
			return err
		}
		exps = append(exps, named{exp, describeLog(exp, kind)})
	}
	if len(exps) == 0 {
		return nil
	}
	opts := []sdklog.LoggerProviderOption{sdklog.WithResource(res)}
	for _, e := range exps {
		bc := cfg.logBatch
		bc.OnError = exportErrors(SignalLogs, e.dest, cfg.onError)
		q := batch.NewQueue[*sdklog.Record](&recordExporter{Exporter: e.exp}, bc)
		k.logs.queues = append(k.logs.queues, logQueue{q: q, dest: e.dest})
		opts = append(opts, sdklog.WithProcessor(logProcessor{q}))
	}
	k.logs.lp = sdklog.NewLoggerProvider(opts...)
	return nil
}

// describeLog names a log exporter's destination for error messages.
func describeLog(exp sdklog.Exporter, kind Exporter) string {
	if s, ok := exp.(fmt.Stringer); ok {
		return s.String()
	}
	return string(kind)
}

// logProcessor hands a logger provider's records to a queue whose flush and
// shutdown the Kit runs itself, as ownedSpans does for spans.
type logProcessor struct{ q *batch.Queue[*sdklog.Record] }

func (logProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

func (p logProcessor) OnEmit(_ context.Context, r *sdklog.Record) error {
	c := r.Clone()
	p.q.Offer(&c)
	return nil
}

func (p logProcessor) ForceFlush(ctx context.Context) error { return p.q.ForceFlush(ctx) }

func (logProcessor) Shutdown(context.Context) error { return nil }

// recordExporter makes a log exporter a queue's exporter. Only the queue's
// export goroutine calls Export, so buf needs no lock.
type recordExporter struct {
	sdklog.Exporter
	buf []sdklog.Record
}

func (e *recordExporter) Export(ctx context.Context, records []*sdklog.Record) error {
	e.buf = e.buf[:0]
	for _, r := range records {
		e.buf = append(e.buf, *r)
	}
	err := e.Exporter.Export(ctx, e.buf)
	clear(e.buf)
	return err
}

// installLogs makes the Kit's logger provider the global one, which
// tracekit.LogHandler uses by default.
func (k *Kit) installLogs() {
	if k.logs.lp != nil {
		otel.SetLoggerProvider(k.logs.lp)
	}
}

// stopLogs makes the logger provider hand no more records to the queues.
func (k *Kit) stopLogs(ctx context.Context) {
	if k.logs.lp != nil {
		// Its processors leave the queues' shutdown to the Kit; this only
		// waits for records being emitted.
		_ = k.logs.lp.Shutdown(ctx)
	}
}

// LoggerProvider returns the Kit's OpenTelemetry logger provider, set up by
// [WithLogsExporter] or OTEL_LOGS_EXPORTER, or a no-op one when logs are not
// exported (the default). A Kit started [WithoutGlobals] is reached by
// tracekit.LogHandler through tracekit.WithLoggerProvider(kit.LoggerProvider()).
func (k *Kit) LoggerProvider() otellog.LoggerProvider {
	if k.logs.lp == nil {
		return lognoop.NewLoggerProvider()
	}
	return k.logs.lp
}
