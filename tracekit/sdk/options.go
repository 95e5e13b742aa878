package sdk

import (
	"fmt"
	"io"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/exporters/otlp"
	"github.com/tracekit-go/tracekit/internal/batch"
	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// Exporter names a destination for spans, metrics or logs, as the
// OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER
// variables spell it.
type Exporter string

const (
	// ExporterOTLP sends over OTLP to a Collector or a backend such as
	// Jaeger (the default for traces).
	ExporterOTLP Exporter = "otlp"
	// ExporterConsole prints human-readable JSON to standard output.
	ExporterConsole Exporter = "console"
	// ExporterFile appends OTLP JSON lines to a file (traces only).
	ExporterFile Exporter = "file"
	// ExporterNone exports nothing.
	ExporterNone Exporter = "none"
)

// DefaultErrorInterval is how often, at most, the error handler hears of
// failures of one kind (exports to one destination) that go on: the first
// is reported at once, then one summary per interval that counts them.
const DefaultErrorInterval = 10 * time.Second

// DefaultLogScheduleDelay is how long log records wait to be exported in a
// batch unless OTEL_BLRP_SCHEDULE_DELAY says otherwise, as the
// OpenTelemetry specification has it.
const DefaultLogScheduleDelay = time.Second

// DefaultFilePath is where [ExporterFile] writes unless TRACEKIT_FILE_PATH or
// [WithFilePath] says otherwise.
const DefaultFilePath = "tracekit-traces.jsonl"

// Defaults of the detectors, the lints and the memory watch.
const (
	DefaultSlowThreshold       = detect.DefaultSlow
	DefaultHangTimeout         = detect.DefaultHang
	DefaultLongHold            = detect.DefaultLongHold
	DefaultLintInterval        = detect.DefaultLintInterval
	DefaultOrphanGrace         = detect.DefaultOrphanGrace
	DefaultSpawnGrowthSamples  = detect.DefaultGrowthSamples
	DefaultSpawnGrowthInterval = detect.DefaultGrowthInterval
	DefaultSpawnGrowthMinRise  = detect.DefaultGrowthMinRise
	DefaultMemoryFraction      = detect.DefaultMemoryFraction
	DefaultMemoryInterval      = detect.DefaultMemoryInterval
	DefaultMemoryGrowthSamples = detect.DefaultMemoryGrowthSamples
	DefaultMemoryGrowthMin     = detect.DefaultMemoryGrowthMin
)

// config is Start's configuration. Zero values mean "the default", which
// ensureValid fills in; what is off is said by an explicit switch.
type config struct {
	serviceName string
	resAttrs    []attribute.KeyValue
	traces      []Exporter // nil: the default
	// tracesFromEnv and filePathFromEnv say the environment set traces and
	// filePath: span exporters given as options replace the environment's
	// exporters, and only a path given as an option selects the file.
	tracesFromEnv, filePathFromEnv bool
	metrics                        []Exporter
	logs                           []Exporter
	spanExporters                  []sdktrace.SpanExporter
	readers                        []sdkmetric.Reader
	otlp                           []otlp.Option
	filePath                       string
	console                        io.Writer
	sampler                        sdktrace.Sampler
	noGlobals                      bool
	onError                        func(error)
	errorInterval                  time.Duration
	disabled                       bool         // OTEL_SDK_DISABLED
	batch                          batch.Config // OTEL_BSP_*
	logBatch                       batch.Config // OTEL_BLRP_*

	// Locks, channels and their detectors.
	onReport                 func(inspect.Report)
	deadlock                 bool
	slow, hang, longHold     time.Duration
	noSlow, noHang, noLong   bool
	flight                   flightConfig
	lintInterval, orphan     time.Duration
	noLints, noOrphan        bool
	growthSamples, growthMin int
	growthInterval           time.Duration
	noGrowth                 bool

	// The memory watch.
	noMemory          bool
	memFraction       float64
	memInterval       time.Duration
	memGrowthSamples  int
	memGrowthMin      uint64
	memFractionErrors []float64 // fractions given that were out of range

	// Profiling.
	profiling profilingConfig
}

// Option configures [Start]. Options win over the environment, which wins
// over the defaults.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// newConfig resolves the configuration: the environment turned into
// options first, then opts, then the defaults for what neither set. The
// environment's errors go to the error handler the options settle on.
func newConfig(opts []Option) config {
	var c config
	envOpts, envErrs := optionsFromEnv()
	for _, o := range envOpts {
		o.apply(&c)
	}
	for _, o := range opts {
		o.apply(&c)
	}
	c.ensureValid()
	for _, err := range envErrs {
		c.onError(err)
	}
	for _, f := range c.memFractionErrors {
		c.onError(fmt.Errorf("tracekit: ignoring WithMemoryFraction(%v): want a fraction above 0 and at most 1", f))
	}
	return c
}

// ensureValid fills in the defaults.
func (c *config) ensureValid() {
	if c.onError == nil {
		c.onError = otel.Handle
	}
	if c.errorInterval <= 0 {
		c.errorInterval = DefaultErrorInterval
	}
	if c.logBatch.ScheduleDelay <= 0 {
		c.logBatch.ScheduleDelay = DefaultLogScheduleDelay
	}
	if c.sampler == nil {
		c.sampler = sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
	if c.slow <= 0 {
		c.slow = DefaultSlowThreshold
	}
	if c.hang <= 0 {
		c.hang = DefaultHangTimeout
	}
	if c.longHold <= 0 {
		c.longHold = DefaultLongHold
	}
	if c.lintInterval <= 0 {
		c.lintInterval = DefaultLintInterval
	}
	if c.orphan <= 0 {
		c.orphan = DefaultOrphanGrace
	}
	if c.growthSamples <= 0 {
		c.growthSamples = DefaultSpawnGrowthSamples
	}
	c.growthSamples = max(c.growthSamples, 3)
	if c.growthInterval <= 0 {
		c.growthInterval = DefaultSpawnGrowthInterval
	}
	c.growthInterval = max(c.growthInterval, c.lintInterval)
	if c.growthMin <= 0 {
		c.growthMin = DefaultSpawnGrowthMinRise
	}
	if c.memFraction <= 0 {
		c.memFraction = DefaultMemoryFraction
	}
	if c.memInterval <= 0 {
		c.memInterval = DefaultMemoryInterval
	}
	if c.memGrowthSamples <= 0 {
		c.memGrowthSamples = DefaultMemoryGrowthSamples
	}
	if c.memGrowthMin == 0 {
		c.memGrowthMin = DefaultMemoryGrowthMin
	}
	if c.flight.window <= 0 {
		c.flight.window = DefaultFlightWindow
	}
	if c.flight.maxFiles <= 0 {
		c.flight.maxFiles = DefaultFlightMaxFiles
	}
	if c.flight.maxBytes <= 0 {
		c.flight.maxBytes = DefaultFlightMaxBytes
	}
}

// detectorConfig is what the detector gets: a mechanism that is off has a
// zero threshold.
func (c *config) detectorConfig() detect.Config {
	dc := detect.Config{Slow: c.slow, Hang: c.hang, LongHold: c.longHold, Order: c.deadlock,
		OnReport: c.onReport, OnError: c.onError}
	dc.Flight, dc.SlowSpan = c.flightRecorder()
	if c.noSlow {
		dc.Slow = 0
	}
	if c.noHang {
		dc.Hang = 0
	}
	if c.noLong {
		dc.LongHold = 0
	}
	return dc
}

// lintConfig is what the lint sweep gets; Interval 0 when the lints are
// off.
func (c *config) lintConfig() detect.LintConfig {
	if c.noLints {
		return detect.LintConfig{}
	}
	lc := detect.LintConfig{Interval: c.lintInterval, Orphan: c.orphan, OrphanOn: !c.noOrphan,
		GrowthSamples: c.growthSamples, GrowthEvery: c.growthInterval, GrowthMinRise: c.growthMin}
	if c.noGrowth {
		lc.GrowthSamples = 0
	}
	return lc
}

// memConfig is what the memory watch gets; ok is false when it is off.
func (c *config) memConfig() (detect.MemConfig, bool) {
	return detect.MemConfig{Interval: c.memInterval, Fraction: c.memFraction,
		GrowthSamples: c.memGrowthSamples, GrowthMin: c.memGrowthMin}, !c.noMemory
}

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
// Default [ExporterOTLP].
func WithTracesExporter(e ...Exporter) Option {
	return optionFunc(func(c *config) { c.traces, c.tracesFromEnv = append([]Exporter(nil), e...), false })
}

// WithMetricsExporter chooses where metrics go, replacing
// OTEL_METRICS_EXPORTER. Default: [ExporterOTLP] when spans go over OTLP,
// otherwise [ExporterNone].
func WithMetricsExporter(e ...Exporter) Option {
	return optionFunc(func(c *config) { c.metrics = append([]Exporter(nil), e...) })
}

// WithLogsExporter chooses where the records of tracekit.LogHandler go,
// replacing OTEL_LOGS_EXPORTER: [ExporterOTLP] (where the traces go, unless
// OTEL_EXPORTER_OTLP_LOGS_* say otherwise), [ExporterConsole] or
// [ExporterNone], the default.
func WithLogsExporter(e ...Exporter) Option {
	return optionFunc(func(c *config) { c.logs = append([]Exporter(nil), e...) })
}

// WithSpanExporter sends spans to exp (through tracekit's bounded batching
// queue) instead of the exporters [WithTracesExporter] or
// OTEL_TRACES_EXPORTER name. May be given more than once.
func WithSpanExporter(exp sdktrace.SpanExporter) Option {
	return optionFunc(func(c *config) { c.spanExporters = append(c.spanExporters, exp) })
}

// WithMetricReader adds a metric reader beside the configured metrics
// exporters, for example a Prometheus exporter or a ManualReader in tests.
func WithMetricReader(r sdkmetric.Reader) Option {
	return optionFunc(func(c *config) { c.readers = append(c.readers, r) })
}

// WithOTLP passes options to the OTLP exporters of traces, metrics and
// logs (endpoint, protocol, headers, timeout); see package exporters/otlp.
// They override the OTEL_EXPORTER_OTLP_* variables.
func WithOTLP(opts ...otlp.Option) Option {
	return optionFunc(func(c *config) { c.otlp = append(c.otlp, opts...) })
}

// WithFilePath sets the file [ExporterFile] appends to, overriding
// TRACEKIT_FILE_PATH; default [DefaultFilePath]. With no exporter named
// anywhere, it also selects [ExporterFile].
func WithFilePath(path string) Option {
	return optionFunc(func(c *config) { c.filePath, c.filePathFromEnv = path, false })
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

// WithoutGlobals keeps Start from installing its providers, its propagator
// and its detectors as the process's: tracekit's locks then record
// nothing, and the lints and the memory watch do not run. Spans started by
// tracekit.Go under a span of the Kit's TracerProvider still use that
// provider.
func WithoutGlobals() Option {
	return optionFunc(func(c *config) { c.noGlobals = true })
}

// WithErrorHandler receives errors tracekit cannot return: failed exports
// ([*ExportError], summarised as [WithErrorInterval] says), exports that
// stall (*otlp.StallError) and settings that were not understood (and so
// ignored). Default: the OpenTelemetry global error handler, which logs
// them.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) { c.onError = f })
}

// WithErrorInterval sets how often, at most, the error handler hears of
// failures of one kind that go on (exports to one destination, stalls of
// one destination), overriding TRACEKIT_ERROR_INTERVAL: the first is
// reported at once, then one summary per interval that counts them and
// unwraps to the last. Default [DefaultErrorInterval].
func WithErrorInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.errorInterval = d })
}

// WithReportHandler receives every detector report, on the goroutine that
// found it; f must be safe for concurrent use and should not block. The
// reports are also span events and slog WARN records. Default: none.
func WithReportHandler(f func(inspect.Report)) Option {
	return optionFunc(func(c *config) { c.onReport = f })
}

// WithDeadlockDetection turns lock-order detection on, overriding
// TRACEKIT_DEADLOCK: every lock acquisition records its place in the
// lock-order graph (and, when it adds an edge, its stack), and an
// inversion is reported the first time it is seen, with where each of its
// locks was taken. Default off.
func WithDeadlockDetection() Option {
	return optionFunc(func(c *config) { c.deadlock = true })
}

// WithoutDeadlockDetection turns lock-order detection off, overriding
// TRACEKIT_DEADLOCK.
func WithoutDeadlockDetection() Option {
	return optionFunc(func(c *config) { c.deadlock = false })
}

// WithSlowThreshold sets the wait or hold past which a lock or channel
// operation is recorded as a span, overriding TRACEKIT_SLOW. Default
// [DefaultSlowThreshold].
func WithSlowThreshold(d time.Duration) Option {
	return optionFunc(func(c *config) { c.slow, c.noSlow = d, false })
}

// WithoutSlowSpans records no spans of slow lock and channel operations
// (TRACEKIT_SLOW=off).
func WithoutSlowSpans() Option {
	return optionFunc(func(c *config) { c.noSlow = true })
}

// WithHangTimeout sets the wait past which a lock or channel wait is
// reported as a hang (inspect.KindHang, once per wait, naming the lock's
// holder) or, when tasks wait on each other in a cycle, as one deadlock
// (inspect.KindDeadlock), overriding TRACEKIT_HANG_TIMEOUT. Default
// [DefaultHangTimeout]. The console marks waiting tasks past the same
// timeout.
func WithHangTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.hang, c.noHang = d, false })
}

// WithoutHangReports turns hang and deadlock reports off
// (TRACEKIT_HANG_TIMEOUT=off).
func WithoutHangReports() Option {
	return optionFunc(func(c *config) { c.noHang = true })
}

// WithLongHold sets the hold past which releasing a lock makes a long-hold
// report (inspect.KindLongHold), overriding TRACEKIT_LONG_HOLD. Default
// [DefaultLongHold].
func WithLongHold(d time.Duration) Option {
	return optionFunc(func(c *config) { c.longHold, c.noLong = d, false })
}

// WithoutLongHoldReports turns long-hold reports off
// (TRACEKIT_LONG_HOLD=off).
func WithoutLongHoldReports() Option {
	return optionFunc(func(c *config) { c.noLong = true })
}

// WithLintInterval sets how often a background sweep of the running tasks
// runs the task lints (orphan tasks, spawn growth), overriding
// TRACEKIT_LINT_INTERVAL. Default [DefaultLintInterval].
func WithLintInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lintInterval, c.noLints = d, false })
}

// WithoutLints turns the task lints off (TRACEKIT_LINT_INTERVAL=off).
func WithoutLints() Option {
	return optionFunc(func(c *config) { c.noLints = true })
}

// WithOrphanGrace sets how long a task may keep running after the task
// that started it ended before it is reported (inspect.KindOrphanTask),
// overriding TRACEKIT_LINT_ORPHAN_GRACE. Default [DefaultOrphanGrace].
func WithOrphanGrace(d time.Duration) Option {
	return optionFunc(func(c *config) { c.orphan, c.noOrphan = d, false })
}

// WithoutOrphanLint turns the orphan-task lint off
// (TRACEKIT_LINT_ORPHAN_GRACE=off).
func WithoutOrphanLint() Option {
	return optionFunc(func(c *config) { c.noOrphan = true })
}

// WithSpawnGrowthSamples sets how many samples of each spawn site's live
// tasks the spawn-growth lint looks at, overriding
// TRACEKIT_LINT_GROWTH_SAMPLES. Default [DefaultSpawnGrowthSamples]; fewer
// than 3 count as 3.
func WithSpawnGrowthSamples(n int) Option {
	return optionFunc(func(c *config) { c.growthSamples, c.noGrowth = n, false })
}

// WithSpawnGrowthInterval sets how often the spawn-growth lint samples,
// overriding TRACEKIT_LINT_GROWTH_INTERVAL. Default
// [DefaultSpawnGrowthInterval]; never shorter than the sweep's interval.
func WithSpawnGrowthInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.growthInterval = d })
}

// WithSpawnGrowthMinRise sets the least rise of a site's live tasks across
// the samples that counts as growth, overriding
// TRACEKIT_LINT_GROWTH_MIN_RISE. Default [DefaultSpawnGrowthMinRise].
func WithSpawnGrowthMinRise(n int) Option {
	return optionFunc(func(c *config) { c.growthMin = n })
}

// WithoutSpawnGrowthLint turns the spawn-growth lint off
// (TRACEKIT_LINT_GROWTH_SAMPLES=off).
func WithoutSpawnGrowthLint() Option {
	return optionFunc(func(c *config) { c.noGrowth = true })
}

// WithMemoryWatch turns the memory watch on (the default), overriding
// TRACEKIT_MEMORY_WATCH.
func WithMemoryWatch() Option {
	return optionFunc(func(c *config) { c.noMemory = false })
}

// WithoutMemoryWatch turns the memory watch off (TRACEKIT_MEMORY_WATCH=off).
func WithoutMemoryWatch() Option {
	return optionFunc(func(c *config) { c.noMemory = true })
}

// WithMemoryFraction sets the share of the memory limit, above 0 and at
// most 1, past which memory use is reported, overriding
// TRACEKIT_MEMORY_FRACTION. Default [DefaultMemoryFraction]; a value above
// 1 is reported to the error handler and ignored.
func WithMemoryFraction(f float64) Option {
	return optionFunc(func(c *config) {
		if f > 1 {
			c.memFractionErrors = append(c.memFractionErrors, f)
			return
		}
		c.memFraction = f
	})
}

// WithMemoryInterval sets how often the memory watch samples, overriding
// TRACEKIT_MEMORY_INTERVAL. Default [DefaultMemoryInterval].
func WithMemoryInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.memInterval = d })
}

// WithMemoryGrowthSamples sets how many consecutive samples with a
// completed GC the live heap must rise in before growth is reported,
// overriding TRACEKIT_MEMORY_GROWTH_SAMPLES. Default
// [DefaultMemoryGrowthSamples].
func WithMemoryGrowthSamples(n int) Option {
	return optionFunc(func(c *config) { c.memGrowthSamples = n })
}

// WithMemoryGrowthMin sets the least the live heap must grow over such a
// run, in bytes, before growth is reported. Default
// [DefaultMemoryGrowthMin]; a run must also add a tenth of the live heap it
// started from.
func WithMemoryGrowthMin(bytes uint64) Option {
	return optionFunc(func(c *config) { c.memGrowthMin = bytes })
}
