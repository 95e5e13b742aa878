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
)

// logPipeline is the Kit's OpenTelemetry logs pipeline.
type logPipeline struct {
	lp *sdklog.LoggerProvider // nil when logs go nowhere
}

// startLogs builds the logs pipeline that [WithLogsExporter] or
// OTEL_LOGS_EXPORTER asks for. There is none by default.
func (k *Kit) startLogs(ctx context.Context, cfg *config, res *resource.Resource) error {
	var exps []sdklog.Exporter
	fail := func(err error) error {
		for _, e := range exps {
			_ = e.Shutdown(ctx)
		}
		return err
	}
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
			return fail(err)
		}
		exps = append(exps, &reportingLogExporter{Exporter: exp, name: describeLog(exp, kind), report: cfg.onError})
	}
	if len(exps) == 0 {
		return nil
	}
	opts := []sdklog.LoggerProviderOption{sdklog.WithResource(res)}
	for _, e := range exps {
		opts = append(opts, sdklog.WithProcessor(sdklog.NewBatchProcessor(e)))
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

// reportingLogExporter hands export errors, with the destination and the
// number of records lost, to the Kit's error handler instead of the
// OpenTelemetry global one.
type reportingLogExporter struct {
	sdklog.Exporter
	name   string
	report func(error)
}

func (e *reportingLogExporter) Export(ctx context.Context, records []sdklog.Record) error {
	if err := e.Exporter.Export(ctx, records); err != nil {
		e.report(fmt.Errorf("tracekit: %d log records could not be exported to %s: %w", len(records), e.name, err))
	}
	return nil
}

// installLogs makes the Kit's logger provider the global one, which
// tracekit.LogHandler uses by default.
func (k *Kit) installLogs() {
	if k.logs.lp != nil {
		otel.SetLoggerProvider(k.logs.lp)
	}
}

func (k *Kit) flushLogs(ctx context.Context) error {
	if k.logs.lp == nil {
		return nil
	}
	return k.logs.lp.ForceFlush(ctx)
}

func (k *Kit) shutdownLogs(ctx context.Context) error {
	if k.logs.lp == nil {
		return nil
	}
	if err := k.logs.lp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracekit: logs shutdown: %w", err)
	}
	return nil
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
