package tracekit

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutlog"
	otellog "go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/tracekit-go/tracekit/exporters/otlp"
	"github.com/tracekit-go/tracekit/internal/env"
)

// logPipeline is the Kit's OpenTelemetry logs pipeline.
type logPipeline struct {
	lp *sdklog.LoggerProvider // nil when logs go nowhere
}

// startLogs builds the logs pipeline that [WithLogsExporter] or
// OTEL_LOGS_EXPORTER asks for. There is none by default.
func (k *Kit) startLogs(ctx context.Context, cfg *config, res *resource.Resource, traces []namedExporter) error {
	kinds := cfg.logs
	if kinds == nil {
		kinds = exportersFromEnv(env.LogsExporter, cfg.onError, false)
	}
	var exps []sdklog.Exporter
	fail := func(err error) error {
		for _, e := range exps {
			_ = e.Shutdown(ctx)
		}
		return err
	}
	for _, kind := range kinds {
		var (
			exp  sdklog.Exporter
			name string
			err  error
		)
		switch kind {
		case ExporterNone:
			continue
		case ExporterOTLP:
			exp, name, err = otlpLogExporter(ctx, cfg, traces)
		case ExporterConsole:
			w := cfg.console
			if w == nil {
				w = os.Stdout
			}
			name = "console"
			exp, err = stdoutlog.New(stdoutlog.WithWriter(w), stdoutlog.WithPrettyPrint())
		default:
			err = fmt.Errorf("tracekit: unknown logs exporter %q: want otlp, console or none", kind)
		}
		if err != nil {
			return fail(err)
		}
		exps = append(exps, &reportingLogExporter{Exporter: exp, name: name, report: cfg.onError})
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

// otlpLogExporter sends logs where the traces go: same protocol and
// endpoint (with /v1/logs for HTTP) as the first OTLP span exporter, or as
// one made from the same options and environment when spans go elsewhere,
// unless OTEL_EXPORTER_OTLP_LOGS_ENDPOINT or OTEL_EXPORTER_OTLP_LOGS_PROTOCOL
// say otherwise. Headers, timeout, certificates and compression come from
// the OTEL_EXPORTER_OTLP_* variables.
func otlpLogExporter(ctx context.Context, cfg *config, traces []namedExporter) (sdklog.Exporter, string, error) {
	var proto otlp.Protocol
	var endpoint string
	for _, t := range traces {
		if te, ok := t.exp.(*otlp.TraceExporter); ok {
			proto, endpoint = te.Protocol(), te.Endpoint()
			break
		}
	}
	if proto == "" {
		// Resolve the destination exactly as for traces; the exporter does
		// not connect before its first export, which never comes.
		te, err := otlp.NewTraceExporter(ctx, append([]otlp.Option{otlp.WithErrorHandler(cfg.onError)}, cfg.otlp...)...)
		if err != nil {
			return nil, "", fmt.Errorf("tracekit: logs exporter: %w", err)
		}
		proto, endpoint = te.Protocol(), te.Endpoint()
		_ = te.Shutdown(ctx)
	}
	if v, ok := env.String(env.OTLPLogsProtocol); ok {
		switch p := otlp.Protocol(strings.ToLower(v)); p {
		case otlp.ProtocolGRPC, otlp.ProtocolHTTPProtobuf:
			proto = p
		default:
			cfg.onError(&env.Error{Name: env.OTLPLogsProtocol, Value: v, Reason: `want "grpc" or "http/protobuf"`})
		}
	}
	if _, ok := env.String(env.OTLPLogsEndpoint); ok {
		endpoint = "" // the exporters read it themselves
	}
	if endpoint != "" {
		u, err := logsURL(endpoint, proto)
		if err != nil {
			return nil, "", err
		}
		endpoint = u
	}
	name := "otlp " + string(proto)
	if endpoint != "" {
		name += " " + endpoint
	}
	var (
		exp sdklog.Exporter
		err error
	)
	if proto == otlp.ProtocolGRPC {
		var o []otlploggrpc.Option
		if endpoint != "" {
			o = append(o, otlploggrpc.WithEndpointURL(endpoint))
		}
		exp, err = otlploggrpc.New(ctx, o...)
	} else {
		var o []otlploghttp.Option
		if endpoint != "" {
			o = append(o, otlploghttp.WithEndpointURL(endpoint))
		}
		exp, err = otlploghttp.New(ctx, o...)
	}
	if err != nil {
		return nil, "", fmt.Errorf("tracekit: logs exporter %s: %w", name, err)
	}
	return exp, name, nil
}

// logsURL turns the traces' endpoint into the logs': a URL (a bare
// host:port means plain text), with the path /v1/traces changed to /v1/logs
// for HTTP.
func logsURL(traces string, proto otlp.Protocol) (string, error) {
	raw := traces
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("tracekit: logs endpoint from traces endpoint %q: want a URL or host:port", traces)
	}
	if proto == otlp.ProtocolHTTPProtobuf {
		if p, ok := strings.CutSuffix(u.Path, "/v1/traces"); ok {
			u.Path = p + "/v1/logs"
		} else {
			u.Path = "/v1/logs"
		}
	}
	return u.String(), nil
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
// [LogHandler] uses by default.
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
// exported (the default). Safe for concurrent use.
func (k *Kit) LoggerProvider() otellog.LoggerProvider {
	if k.logs.lp == nil {
		return lognoop.NewLoggerProvider()
	}
	return k.logs.lp
}

// LogHandler is [LogHandler] bound to this Kit: records logged through it
// go to the Kit's logs pipeline, if it has one, even when the Kit was
// started [WithoutGlobals]. opts come after the Kit's own and so win.
func (k *Kit) LogHandler(next slog.Handler, opts ...LogOption) slog.Handler {
	own := WithoutLogExport()
	if k.logs.lp != nil {
		own = WithLoggerProvider(k.logs.lp)
	}
	return LogHandler(next, append([]LogOption{own}, opts...)...)
}
