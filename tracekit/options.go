package tracekit

import (
	"io"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/exporters/file"
	"github.com/tracekit-go/tracekit/exporters/otlp"
	"github.com/tracekit-go/tracekit/exporters/pyroscope"
)

// Exporter names a destination for spans or metrics, as the
// OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER variables spell it.
type Exporter string

const (
	// ExporterOTLP sends over OTLP to a Collector or a backend such as
	// Jaeger (the default).
	ExporterOTLP Exporter = "otlp"
	// ExporterConsole prints human-readable JSON to standard output.
	ExporterConsole Exporter = "console"
	// ExporterFile appends OTLP JSON lines to a file (traces only).
	ExporterFile Exporter = "file"
	// ExporterNone exports nothing.
	ExporterNone Exporter = "none"
)

// DefaultFilePath is where [ExporterFile] writes unless TRACEKIT_FILE_PATH or
// [WithFilePath] says otherwise.
const DefaultFilePath = "tracekit-traces.jsonl"

type config struct {
	serviceName   string
	resAttrs      []attribute.KeyValue
	traces        []Exporter
	metrics       []Exporter
	spanExporters []sdktrace.SpanExporter
	readers       []sdkmetric.Reader
	otlp          []otlp.Option
	filePath      string
	console       io.Writer
	sampler       sdktrace.Sampler
	noGlobals     bool
	onError       func(error)

	// Locks, channels and their detectors (detect_options.go).
	deadlock    *bool
	slow        *time.Duration
	hangTimeout *time.Duration
	longHold    *time.Duration
	onReport    func(Report)
	flightDir   string
	lint        lintSettings // task lints (lint.go)

	// Memory watch (memwatch.go).
	memWatch         *bool
	memFraction      *float64
	memInterval      *time.Duration
	memGrowthSamples *int
	memGrowthMin     *uint64

	// Profiling (profiling.go).
	profiling     bool
	profileDir    string
	profileOpts   []file.ProfileOption
	pyroscopeOn   bool
	pyroscopeOpts []pyroscope.Option
	rootProfiles  bool

	// Logs pipeline (logs.go).
	logs []Exporter
}

// Option configures [Start]. Options win over the environment, which wins
// over the defaults.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithServiceName sets service.name. Overrides OTEL_SERVICE_NAME and a
// service.name in OTEL_RESOURCE_ATTRIBUTES. Default: unknown_service:<program>.
func WithServiceName(name string) Option {
	return optionFunc(func(c *config) { c.serviceName = name })
}

// WithResourceAttributes adds resource attributes, overriding the same keys
// from OTEL_RESOURCE_ATTRIBUTES.
func WithResourceAttributes(attrs ...attribute.KeyValue) Option {
	return optionFunc(func(c *config) { c.resAttrs = append(c.resAttrs, attrs...) })
}

// WithTracesExporter chooses where spans go, replacing OTEL_TRACES_EXPORTER.
// Several may be given. Default [ExporterOTLP].
func WithTracesExporter(e ...Exporter) Option {
	return optionFunc(func(c *config) { c.traces = append(c.traces[:0:0], e...) })
}

// WithMetricsExporter chooses where metrics go, replacing
// OTEL_METRICS_EXPORTER. Default: [ExporterOTLP] when spans go over OTLP,
// otherwise [ExporterNone].
func WithMetricsExporter(e ...Exporter) Option {
	return optionFunc(func(c *config) { c.metrics = append(c.metrics[:0:0], e...) })
}

// WithLogsExporter chooses where the records of [LogHandler] go through the
// OpenTelemetry logs pipeline, replacing OTEL_LOGS_EXPORTER: [ExporterOTLP]
// (to the endpoint the traces go to, unless
// OTEL_EXPORTER_OTLP_LOGS_ENDPOINT says otherwise), [ExporterConsole] or
// [ExporterNone]. Default [ExporterNone]: many trace backends take no logs.
func WithLogsExporter(e ...Exporter) Option {
	return optionFunc(func(c *config) { c.logs = append(c.logs[:0:0], e...) })
}

// WithSpanExporter sends spans to exp (through tracekit's bounded batching
// queue) instead of the exporters named by [WithTracesExporter] or
// OTEL_TRACES_EXPORTER. May be given more than once.
func WithSpanExporter(exp sdktrace.SpanExporter) Option {
	return optionFunc(func(c *config) { c.spanExporters = append(c.spanExporters, exp) })
}

// WithMetricReader adds a metric reader beside the configured metrics
// exporters, for example a Prometheus exporter or a ManualReader in tests.
func WithMetricReader(r sdkmetric.Reader) Option {
	return optionFunc(func(c *config) { c.readers = append(c.readers, r) })
}

// WithOTLP passes options to the OTLP exporters (endpoint, protocol,
// headers, timeout); see package exporters/otlp. They override the
// OTEL_EXPORTER_OTLP_* variables.
func WithOTLP(opts ...otlp.Option) Option {
	return optionFunc(func(c *config) { c.otlp = append(c.otlp, opts...) })
}

// WithFilePath sets the file [ExporterFile] appends to. Overrides
// TRACEKIT_FILE_PATH; default [DefaultFilePath]. Given without
// [WithTracesExporter] and without OTEL_TRACES_EXPORTER, it also selects
// [ExporterFile].
func WithFilePath(path string) Option {
	return optionFunc(func(c *config) { c.filePath = path })
}

// WithConsoleWriter sets where [ExporterConsole] prints. Default os.Stdout.
func WithConsoleWriter(w io.Writer) Option {
	return optionFunc(func(c *config) { c.console = w })
}

// WithSampler sets the sampler, overriding OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG. Default: parent-based, always on.
func WithSampler(s sdktrace.Sampler) Option {
	return optionFunc(func(c *config) { c.sampler = s })
}

// WithoutGlobals keeps Start from installing its providers and propagator as
// the OpenTelemetry globals. Spans started by [Go] under a span of the Kit's
// TracerProvider still use that provider.
func WithoutGlobals() Option {
	return optionFunc(func(c *config) { c.noGlobals = true })
}

// WithErrorHandler receives errors tracekit cannot return: failed exports and
// environment values that were not understood (and so ignored). Default: the
// OpenTelemetry global error handler, which logs them.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) { c.onError = f })
}
