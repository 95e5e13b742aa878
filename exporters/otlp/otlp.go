package otlp

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/internal/env"
)

// Protocol is an OTLP transport.
type Protocol string

const (
	// ProtocolGRPC sends OTLP over gRPC (default port 4317).
	ProtocolGRPC Protocol = "grpc"
	// ProtocolHTTPProtobuf sends OTLP as protobuf over HTTP (default port
	// 4318). It is the default, as the OpenTelemetry specification asks.
	ProtocolHTTPProtobuf Protocol = "http/protobuf"
)

func parseProtocol(s string) (Protocol, bool) {
	switch p := Protocol(strings.ToLower(strings.TrimSpace(s))); p {
	case ProtocolGRPC, ProtocolHTTPProtobuf:
		return p, true
	}
	return "", false
}

type signal struct {
	name        string // "traces", "metrics" or "logs"
	endpointEnv string
	protocolEnv string
	httpPath    string
	httpDefault string
	grpcDefault string
}

var (
	traces  = signal{"traces", env.OTLPTracesEndpoint, env.OTLPTracesProtocol, "/v1/traces", "http://localhost:4318", "localhost:4317"}
	metrics = signal{"metrics", env.OTLPMetricsEndpoint, env.OTLPMetricsProtocol, "/v1/metrics", "http://localhost:4318", "localhost:4317"}
	logs    = signal{"logs", env.OTLPLogsEndpoint, env.OTLPLogsProtocol, "/v1/logs", "http://localhost:4318", "localhost:4317"}
)

// resolve settles the protocol and the endpoint description for sig. The
// OpenTelemetry exporters read the endpoint variables themselves; the
// description exists so that errors can name where data was going.
func (c *config) resolve(sig signal) (Protocol, string, error) {
	proto := c.protocol
	if proto != "" {
		if _, ok := parseProtocol(string(proto)); !ok {
			return "", "", fmt.Errorf("otlp: protocol %q: want %q or %q", proto, ProtocolGRPC, ProtocolHTTPProtobuf)
		}
	}
	if proto == "" {
		for _, name := range []string{sig.protocolEnv, env.OTLPProtocol} {
			v, ok := env.String(name)
			if !ok {
				continue
			}
			if p, ok := parseProtocol(v); ok {
				proto = p
				break
			}
			c.onError(&env.Error{Name: name, Value: v, Reason: `want "grpc" or "http/protobuf"`})
		}
	}
	if proto == "" {
		proto = ProtocolHTTPProtobuf
	}
	endpoint := c.endpoint
	if endpoint == "" {
		if v, ok := env.String(sig.endpointEnv); ok {
			endpoint = v
		} else if v, ok := env.String(env.OTLPEndpoint); ok {
			endpoint = v
			if proto == ProtocolHTTPProtobuf {
				endpoint = strings.TrimRight(v, "/") + sig.httpPath
			}
		} else if proto == ProtocolGRPC {
			endpoint = sig.grpcDefault
		} else {
			endpoint = sig.httpDefault + sig.httpPath
		}
	}
	return proto, endpoint, nil
}

// endpointURL turns an option endpoint into a URL the exporters accept. A bare
// host:port means plain text, as it does for the Collector's own clients.
func (c *config) endpointURL(sig signal, proto Protocol) (string, error) {
	raw := c.endpoint
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("otlp: endpoint %q: want a URL such as http://localhost:4318 or a host:port", c.endpoint)
	}
	if proto == ProtocolHTTPProtobuf && (u.Path == "" || u.Path == "/") {
		u.Path = sig.httpPath
	}
	return u.String(), nil
}

// TraceExporter is an OTLP span exporter that names its destination in every
// error. It is safe for concurrent use.
type TraceExporter struct {
	sdktrace.SpanExporter
	protocol Protocol
	endpoint string
	stall    time.Duration
	timeout  time.Duration
	onError  func(error)
}

// StallError reports an export that has not been answered after the stall
// threshold ([WithStallReport]); it is reported while the export goes on.
type StallError struct {
	Destination string        // for example "otlp grpc localhost:4317"
	Signal      string        // "traces", "metrics" or "logs"
	Items       int           // spans or log records in the export, or 0 for metrics
	After       time.Duration // how long the export had gone unanswered
	Timeout     time.Duration // the export timeout, or 0 when the exporter's default applies
}

func (e *StallError) Error() string {
	what := e.Signal
	switch {
	case e.Items > 0 && e.Signal == logs.name:
		what = fmt.Sprintf("%d log records", e.Items)
	case e.Items > 0:
		what = fmt.Sprintf("%d spans", e.Items)
	}
	limit := "its timeout"
	if e.Timeout > 0 {
		limit = "its timeout (" + e.Timeout.String() + ")"
	}
	return fmt.Sprintf("%s: export of %s not answered after %s; still trying until %s", e.Destination, what, e.After, limit)
}

// watch runs export and, should it take longer than stall, reports a
// StallError made by stalled while it goes on.
func watch(stall time.Duration, onError func(error), stalled func() *StallError, export func() error) error {
	t := time.AfterFunc(stall, func() { onError(stalled()) })
	defer t.Stop()
	return export()
}

// NewTraceExporter returns an OTLP span exporter configured from opts and, for
// whatever opts leave unset, from the OTEL_EXPORTER_OTLP_* environment
// (endpoint, protocol, headers, timeout, certificates, compression). The
// default is http/protobuf to http://localhost:4318. It does not connect
// until the first export.
func NewTraceExporter(ctx context.Context, opts ...Option) (*TraceExporter, error) {
	c := newConfig(opts)
	proto, endpoint, err := c.resolve(traces)
	if err != nil {
		return nil, err
	}
	var exp sdktrace.SpanExporter
	switch proto {
	case ProtocolGRPC:
		var o []otlptracegrpc.Option
		if c.endpoint != "" {
			u, uerr := c.endpointURL(traces, proto)
			if uerr != nil {
				return nil, uerr
			}
			endpoint = u
			o = append(o, otlptracegrpc.WithEndpointURL(u))
		}
		if c.headers != nil {
			o = append(o, otlptracegrpc.WithHeaders(c.headers))
		}
		if c.timeout > 0 {
			o = append(o, otlptracegrpc.WithTimeout(c.timeout))
		}
		exp, err = otlptracegrpc.New(ctx, o...)
	default:
		var o []otlptracehttp.Option
		if c.endpoint != "" {
			u, uerr := c.endpointURL(traces, proto)
			if uerr != nil {
				return nil, uerr
			}
			endpoint = u
			o = append(o, otlptracehttp.WithEndpointURL(u))
		}
		if c.headers != nil {
			o = append(o, otlptracehttp.WithHeaders(c.headers))
		}
		if c.timeout > 0 {
			o = append(o, otlptracehttp.WithTimeout(c.timeout))
		}
		exp, err = otlptracehttp.New(ctx, o...)
	}
	if err != nil {
		return nil, fmt.Errorf("otlp: trace exporter %s %s: %w", proto, endpoint, err)
	}
	return &TraceExporter{SpanExporter: exp, protocol: proto, endpoint: endpoint,
		stall: c.stall, timeout: c.timeout, onError: c.onError}, nil
}

// Protocol reports the transport in use.
func (e *TraceExporter) Protocol() Protocol { return e.protocol }

// Endpoint reports where spans go, as configured.
func (e *TraceExporter) Endpoint() string { return e.endpoint }

// String describes the destination, for example
// "otlp http/protobuf http://localhost:4318/v1/traces".
func (e *TraceExporter) String() string {
	return fmt.Sprintf("otlp %s %s", e.protocol, e.endpoint)
}

// ExportSpans sends spans; a failure names the endpoint, and an export
// unanswered past the stall threshold is reported while it goes on.
func (e *TraceExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	stalled := func() *StallError {
		return &StallError{Destination: e.String(), Signal: traces.name, Items: len(spans), After: e.stall, Timeout: e.timeout}
	}
	if err := watch(e.stall, e.onError, stalled, func() error { return e.SpanExporter.ExportSpans(ctx, spans) }); err != nil {
		return fmt.Errorf("%s unreachable or refused: %w", e, err)
	}
	return nil
}

// NewMetricExporter returns an OTLP metric exporter configured like
// [NewTraceExporter], using the OTEL_EXPORTER_OTLP_METRICS_* variables where
// they are set.
func NewMetricExporter(ctx context.Context, opts ...Option) (sdkmetric.Exporter, error) {
	c := newConfig(opts)
	proto, endpoint, err := c.resolve(metrics)
	if err != nil {
		return nil, err
	}
	var exp sdkmetric.Exporter
	switch proto {
	case ProtocolGRPC:
		var o []otlpmetricgrpc.Option
		if c.endpoint != "" {
			u, uerr := c.endpointURL(metrics, proto)
			if uerr != nil {
				return nil, uerr
			}
			endpoint = u
			o = append(o, otlpmetricgrpc.WithEndpointURL(u))
		}
		if c.headers != nil {
			o = append(o, otlpmetricgrpc.WithHeaders(c.headers))
		}
		if c.timeout > 0 {
			o = append(o, otlpmetricgrpc.WithTimeout(c.timeout))
		}
		exp, err = otlpmetricgrpc.New(ctx, o...)
	default:
		var o []otlpmetrichttp.Option
		if c.endpoint != "" {
			u, uerr := c.endpointURL(metrics, proto)
			if uerr != nil {
				return nil, uerr
			}
			endpoint = u
			o = append(o, otlpmetrichttp.WithEndpointURL(u))
		}
		if c.headers != nil {
			o = append(o, otlpmetrichttp.WithHeaders(c.headers))
		}
		if c.timeout > 0 {
			o = append(o, otlpmetrichttp.WithTimeout(c.timeout))
		}
		exp, err = otlpmetrichttp.New(ctx, o...)
	}
	if err != nil {
		return nil, fmt.Errorf("otlp: metric exporter %s %s: %w", proto, endpoint, err)
	}
	return &metricExporter{Exporter: exp, dest: fmt.Sprintf("otlp %s %s", proto, endpoint), stall: c.stall, timeout: c.timeout, onError: c.onError}, nil
}

// metricExporter reports exports that stall, as TraceExporter does.
type metricExporter struct {
	sdkmetric.Exporter
	dest    string
	stall   time.Duration
	timeout time.Duration
	onError func(error)
}

// String describes the destination, for example
// "otlp http/protobuf http://localhost:4318/v1/metrics".
func (e *metricExporter) String() string { return e.dest }

func (e *metricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	stalled := func() *StallError {
		return &StallError{Destination: e.dest, Signal: metrics.name, After: e.stall, Timeout: e.timeout}
	}
	return watch(e.stall, e.onError, stalled, func() error { return e.Exporter.Export(ctx, rm) })
}

// NewLogExporter returns an OTLP log exporter configured like
// [NewTraceExporter], using the OTEL_EXPORTER_OTLP_LOGS_* variables where
// they are set. Its errors name the destination.
func NewLogExporter(ctx context.Context, opts ...Option) (sdklog.Exporter, error) {
	c := newConfig(opts)
	proto, endpoint, err := c.resolve(logs)
	if err != nil {
		return nil, err
	}
	var exp sdklog.Exporter
	switch proto {
	case ProtocolGRPC:
		var o []otlploggrpc.Option
		if c.endpoint != "" {
			u, uerr := c.endpointURL(logs, proto)
			if uerr != nil {
				return nil, uerr
			}
			endpoint = u
			o = append(o, otlploggrpc.WithEndpointURL(u))
		}
		if c.headers != nil {
			o = append(o, otlploggrpc.WithHeaders(c.headers))
		}
		if c.timeout > 0 {
			o = append(o, otlploggrpc.WithTimeout(c.timeout))
		}
		exp, err = otlploggrpc.New(ctx, o...)
	default:
		var o []otlploghttp.Option
		if c.endpoint != "" {
			u, uerr := c.endpointURL(logs, proto)
			if uerr != nil {
				return nil, uerr
			}
			endpoint = u
			o = append(o, otlploghttp.WithEndpointURL(u))
		}
		if c.headers != nil {
			o = append(o, otlploghttp.WithHeaders(c.headers))
		}
		if c.timeout > 0 {
			o = append(o, otlploghttp.WithTimeout(c.timeout))
		}
		exp, err = otlploghttp.New(ctx, o...)
	}
	if err != nil {
		return nil, fmt.Errorf("otlp: log exporter %s %s: %w", proto, endpoint, err)
	}
	return &logExporter{Exporter: exp, protocol: proto, endpoint: endpoint,
		stall: c.stall, timeout: c.timeout, onError: c.onError}, nil
}

// logExporter names its destination in its errors and reports exports that
// stall, as TraceExporter does.
type logExporter struct {
	sdklog.Exporter
	protocol Protocol
	endpoint string
	stall    time.Duration
	timeout  time.Duration
	onError  func(error)
}

// String describes the destination, for example
// "otlp http/protobuf http://localhost:4318/v1/logs".
func (e *logExporter) String() string { return fmt.Sprintf("otlp %s %s", e.protocol, e.endpoint) }

func (e *logExporter) Export(ctx context.Context, records []sdklog.Record) error {
	stalled := func() *StallError {
		return &StallError{Destination: e.String(), Signal: logs.name, Items: len(records), After: e.stall, Timeout: e.timeout}
	}
	if err := watch(e.stall, e.onError, stalled, func() error { return e.Exporter.Export(ctx, records) }); err != nil {
		return fmt.Errorf("%s unreachable or refused: %w", e, err)
	}
	return nil
}
