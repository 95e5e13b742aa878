package tracekit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/tracekit-go/tracekit/exporters/file"
	"github.com/tracekit-go/tracekit/exporters/otlp"
	"github.com/tracekit-go/tracekit/internal/batch"
	"github.com/tracekit-go/tracekit/internal/env"
)

// Kit is a running tracekit setup: a tracer provider, a meter provider and
// their exporters. Create it with [Start]; end it with [Kit.Shutdown]. Its
// methods are safe for concurrent use.
type Kit struct {
	tp         trace.TracerProvider
	mp         metric.MeterProvider
	sdkTP      *sdktrace.TracerProvider // nil when disabled
	sdkMP      *sdkmetric.MeterProvider // nil when no metrics are exported
	processors []*batch.Processor
	resource   *resource.Resource
	det        *detector // locks and channels: detect_options.go
	mem        *memWatch // the memory watch (memwatch.go); nil when off
	// logs is the OpenTelemetry logs pipeline (logs.go).
	logs logPipeline

	shutdownOnce sync.Once
	shutdownErr  error

	// prof runs profiling (profiling.go); nil when profiling is off.
	prof *profiling
}

// ExportStats counts what happened to the sampled spans a Kit ended. Once
// Shutdown has returned, Exported+Dropped+Failed is every such span (per
// exporter).
type ExportStats struct {
	Exported uint64 // delivered
	Dropped  uint64 // not queued: the queue was full, or the Kit was shut down
	Failed   uint64 // the exporter returned an error, or Shutdown's deadline passed
	Pending  uint64 // queued, not yet exported
	// LastError is the most recent export error, or nil.
	LastError error
}

// Start sets up tracing and metrics and, unless [WithoutGlobals] is given,
// installs them as the OpenTelemetry global tracer and meter providers with
// the W3C trace-context and baggage propagator.
//
// With no options it follows the standard environment: OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_EXPORTER (otlp by default, console,
// none, or file with TRACEKIT_FILE_PATH), OTEL_METRICS_EXPORTER,
// OTEL_EXPORTER_OTLP_* (endpoint, protocol grpc or http/protobuf, headers),
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_* (queue size,
// batch size, delays) and OTEL_SDK_DISABLED. Options win over the
// environment. A variable whose value is not understood is reported to the
// error handler and ignored.
//
// Exporting never blocks the traced code: spans wait in a bounded queue and
// are dropped, and counted in [Kit.Stats], when it is full.
func Start(ctx context.Context, opts ...Option) (*Kit, error) {
	cfg := &config{}
	for _, o := range opts {
		o.apply(cfg)
	}
	if cfg.onError == nil {
		cfg.onError = otel.Handle
	}
	report := cfg.onError

	disabled, _, err := env.Bool(env.SDKDisabled)
	if err != nil {
		report(err)
	}
	if disabled && cfg.traces == nil && cfg.spanExporters == nil {
		k := &Kit{tp: tracenoop.NewTracerProvider(), mp: noop.NewMeterProvider()}
		k.install(cfg)
		return k, nil
	}

	res, err := newResource(ctx, cfg)
	if err != nil {
		return nil, err
	}
	sampler := cfg.sampler
	if sampler == nil {
		sampler = samplerFromEnv(report)
	}
	k := &Kit{resource: res}

	exps, err := spanExporters(ctx, cfg)
	if err != nil {
		return nil, err
	}
	bcfg := batchConfig(report)
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(sampler)}
	for _, e := range exps {
		p := batch.New(e.exp, e.name, bcfg)
		k.processors = append(k.processors, p)
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(p))
	}
	if k.mem = newMemWatch(cfg); k.mem != nil {
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(k.mem.roots))
	}
	k.sdkTP = sdktrace.NewTracerProvider(tpOpts...)
	k.tp = k.sdkTP

	readers, err := metricReaders(ctx, cfg, exps)
	if err != nil {
		return nil, errors.Join(err, k.sdkTP.Shutdown(ctx))
	}
	if len(readers) > 0 {
		mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res)}
		for _, r := range readers {
			mpOpts = append(mpOpts, sdkmetric.WithReader(r))
		}
		k.sdkMP = sdkmetric.NewMeterProvider(mpOpts...)
		k.mp = k.sdkMP
		if err := k.registerMetrics(); err != nil {
			return nil, errors.Join(err, k.Shutdown(ctx))
		}
	} else {
		k.mp = noop.NewMeterProvider()
	}
	if err := k.startLogs(ctx, cfg, res, exps); err != nil {
		return nil, errors.Join(err, k.Shutdown(ctx))
	}
	if err := k.startProfiling(ctx, cfg); err != nil {
		return nil, errors.Join(err, k.Shutdown(ctx))
	}
	k.startDetectors(cfg)
	k.install(cfg)
	return k, nil
}

func (k *Kit) install(cfg *config) {
	if cfg.noGlobals {
		return
	}
	otel.SetTracerProvider(k.tp)
	otel.SetMeterProvider(k.mp)
	k.installLogs()
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
}

// TracerProvider returns the Kit's tracer provider.
func (k *Kit) TracerProvider() trace.TracerProvider { return k.tp }

// MeterProvider returns the Kit's meter provider (a no-op one when no
// metrics are exported).
func (k *Kit) MeterProvider() metric.MeterProvider { return k.mp }

// Tracer returns a tracer of the Kit's provider with tracekit's scope name.
func (k *Kit) Tracer() trace.Tracer { return k.tp.Tracer(ScopeName) }

// Stats sums the export counters of every span exporter.
func (k *Kit) Stats() ExportStats {
	var st ExportStats
	for _, p := range k.processors {
		s := p.Stats()
		st.Exported += s.Exported
		st.Dropped += s.Dropped
		st.Failed += s.Failed
		st.Pending += s.Pending
		if s.LastError != nil {
			st.LastError = s.LastError
		}
	}
	return st
}

// ForceFlush exports every span ended so far and collects metrics now,
// within ctx.
func (k *Kit) ForceFlush(ctx context.Context) error {
	var errs []error
	if k.sdkTP != nil {
		errs = append(errs, k.sdkTP.ForceFlush(ctx))
	}
	if k.sdkMP != nil {
		errs = append(errs, k.sdkMP.ForceFlush(ctx))
	}
	errs = append(errs, k.flushLogs(ctx))
	return errors.Join(errs...)
}

// Shutdown flushes what is queued and stops the exporters. It returns by
// ctx's deadline even when a backend does not answer; the error then says
// how many spans were not delivered and where they were going. It is safe to
// call more than once: later calls return the first call's result. Spans
// started after Shutdown are not recorded.
func (k *Kit) Shutdown(ctx context.Context) error {
	k.shutdownOnce.Do(func() {
		k.stopDetectors()
		var errs []error
		if k.sdkTP != nil {
			errs = append(errs, k.sdkTP.Shutdown(ctx))
		}
		if k.sdkMP != nil {
			if err := k.sdkMP.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("tracekit: metrics shutdown: %w", err))
			}
		}
		errs = append(errs, k.shutdownLogs(ctx))
		errs = append(errs, k.prof.stop(ctx))
		k.shutdownErr = errors.Join(errs...)
	})
	return k.shutdownErr
}

// registerMetrics exposes the export counters as metrics, so a dashboard can
// show spans being dropped, and the Go runtime's metrics.
func (k *Kit) registerMetrics() error {
	m := k.mp.Meter(ScopeName)
	if err := registerRuntimeMetrics(m); err != nil {
		return err
	}
	spans, err := m.Int64ObservableCounter("tracekit.export.spans",
		metric.WithDescription("Sampled spans by what became of them: exported, dropped (queue full), failed (exporter error)."),
		metric.WithUnit("{span}"))
	if err != nil {
		return err
	}
	pending, err := m.Int64ObservableUpDownCounter("tracekit.export.queue.size",
		metric.WithDescription("Spans waiting to be exported."),
		metric.WithUnit("{span}"))
	if err != nil {
		return err
	}
	outcome := func(v string) metric.ObserveOption {
		return metric.WithAttributes(attrOutcome.String(v))
	}
	exported, dropped, failed := outcome("exported"), outcome("dropped"), outcome("failed")
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := k.Stats()
		o.ObserveInt64(spans, int64(st.Exported), exported)
		o.ObserveInt64(spans, int64(st.Dropped), dropped)
		o.ObserveInt64(spans, int64(st.Failed), failed)
		o.ObserveInt64(pending, int64(st.Pending))
		return nil
	}, spans, pending)
	return err
}

func newResource(ctx context.Context, cfg *config) (*resource.Resource, error) {
	var attrs = cfg.resAttrs
	if cfg.serviceName != "" {
		attrs = append(attrs, semconv.ServiceName(cfg.serviceName))
	}
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
		resource.WithFromEnv(),
		resource.WithAttributes(attrs...),
	)
	if err != nil {
		if res == nil {
			return nil, fmt.Errorf("tracekit: resource: %w", err)
		}
		// A partial resource: OTEL_RESOURCE_ATTRIBUTES had a bad entry.
		cfg.onError(fmt.Errorf("tracekit: ignoring part of %s: %w", env.ResourceAttributes, err))
	}
	if _, ok := res.Set().Value(semconv.ServiceNameKey); !ok {
		res, err = resource.Merge(res, resource.NewSchemaless(semconv.ServiceName("unknown_service:"+filepath.Base(os.Args[0]))))
		if err != nil {
			return nil, fmt.Errorf("tracekit: resource: %w", err)
		}
	}
	return res, nil
}

type namedExporter struct {
	exp  sdktrace.SpanExporter
	name string
	kind Exporter
}

func spanExporters(ctx context.Context, cfg *config) ([]namedExporter, error) {
	var out []namedExporter
	for _, e := range cfg.spanExporters {
		out = append(out, namedExporter{exp: e, name: describe(e)})
	}
	if len(cfg.spanExporters) > 0 && cfg.traces == nil {
		return out, nil
	}
	kinds := cfg.traces
	if kinds == nil {
		kinds = exportersFromEnv(env.TracesExporter, cfg.onError, true)
	}
	if kinds == nil && cfg.filePath != "" {
		kinds = []Exporter{ExporterFile} // a file path with no exporter named means the file
	}
	if kinds == nil {
		kinds = []Exporter{ExporterOTLP}
	}
	for _, kind := range kinds {
		var (
			exp sdktrace.SpanExporter
			err error
		)
		switch kind {
		case ExporterNone:
			continue
		case ExporterOTLP:
			exp, err = otlp.NewTraceExporter(ctx, append([]otlp.Option{otlp.WithErrorHandler(cfg.onError)}, cfg.otlp...)...)
		case ExporterConsole:
			w := cfg.console
			if w == nil {
				w = os.Stdout
			}
			exp, err = stdouttrace.New(stdouttrace.WithWriter(w), stdouttrace.WithPrettyPrint())
		case ExporterFile:
			path := cfg.filePath
			if path == "" {
				path = DefaultFilePath
				if v, ok := env.String(env.FilePath); ok {
					path = v
				}
			}
			exp, err = file.New(path)
		default:
			err = fmt.Errorf("tracekit: unknown traces exporter %q: want otlp, console, file or none", kind)
		}
		if err != nil {
			for _, e := range out {
				_ = e.exp.Shutdown(ctx)
			}
			return nil, err
		}
		out = append(out, namedExporter{exp: exp, name: describe(exp), kind: kind})
	}
	return out, nil
}

func describe(exp sdktrace.SpanExporter) string {
	if s, ok := exp.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", exp)
}

// exportersFromEnv reads an OTEL_*_EXPORTER list. Unknown names are reported
// and skipped; an unset or entirely unknown list gives nil, meaning "the
// default". fileOK says whether the file exporter exists for the signal.
func exportersFromEnv(name string, report func(error), fileOK bool) []Exporter {
	items := env.List(name)
	var out []Exporter
	for _, it := range items {
		switch e := Exporter(it); e {
		case ExporterOTLP, ExporterConsole, ExporterNone:
			out = append(out, e)
		case ExporterFile:
			if fileOK {
				out = append(out, e)
				continue
			}
			fallthrough
		default:
			want := "otlp, console or none"
			if fileOK {
				want = "otlp, console, file or none"
			}
			report(&env.Error{Name: name, Value: it, Reason: "unknown exporter, want " + want})
		}
	}
	return out
}

func metricReaders(ctx context.Context, cfg *config, traces []namedExporter) ([]sdkmetric.Reader, error) {
	readers := append([]sdkmetric.Reader(nil), cfg.readers...)
	kinds := cfg.metrics
	if kinds == nil {
		kinds = exportersFromEnv(env.MetricsExporter, cfg.onError, false)
	}
	if kinds == nil {
		// Follow the traces: a program writing spans to a file has no
		// collector to push metrics to.
		for _, t := range traces {
			if t.kind == ExporterOTLP {
				kinds = []Exporter{ExporterOTLP}
			}
		}
	}
	for _, kind := range kinds {
		switch kind {
		case ExporterNone:
		case ExporterOTLP:
			exp, err := otlp.NewMetricExporter(ctx, append([]otlp.Option{otlp.WithErrorHandler(cfg.onError)}, cfg.otlp...)...)
			if err != nil {
				return nil, err
			}
			readers = append(readers, sdkmetric.NewPeriodicReader(exp, sdkmetric.WithProducer(runtimeProducerFor(exp))))
		case ExporterConsole:
			w := cfg.console
			if w == nil {
				w = os.Stdout
			}
			exp, err := stdoutmetric.New(stdoutmetric.WithWriter(w))
			if err != nil {
				return nil, err
			}
			readers = append(readers, sdkmetric.NewPeriodicReader(exp, sdkmetric.WithProducer(runtimeProducerFor(exp))))
		default:
			return nil, fmt.Errorf("tracekit: unknown metrics exporter %q: want otlp, console or none", kind)
		}
	}
	return readers, nil
}

func batchConfig(report func(error)) batch.Config {
	c := batch.Config{OnError: report}
	millis := func(name string, dst *time.Duration) {
		if d, ok, err := env.Millis(name); ok {
			*dst = d
		} else if err != nil {
			report(err)
		}
	}
	count := func(name string, dst *int) {
		if n, ok, err := env.PositiveInt(name); ok {
			*dst = n
		} else if err != nil {
			report(err)
		}
	}
	millis(env.BSPScheduleDelay, &c.ScheduleDelay)
	millis(env.BSPExportTimeout, &c.ExportTimeout)
	count(env.BSPMaxQueueSize, &c.MaxQueueSize)
	count(env.BSPMaxExportBatchSize, &c.MaxExportBatchSize)
	return c
}

// samplerFromEnv reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG. A
// value it does not understand is reported and the default, parent-based
// always-on, applies.
func samplerFromEnv(report func(error)) sdktrace.Sampler {
	def := sdktrace.ParentBased(sdktrace.AlwaysSample())
	name, ok := env.String(env.TracesSampler)
	if !ok {
		return def
	}
	ratio := func() (float64, bool) {
		arg, ok := env.String(env.TracesSamplerArg)
		if !ok {
			return 1, true
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			report(&env.Error{Name: env.TracesSamplerArg, Value: arg, Reason: "want a ratio from 0 to 1"})
			return 0, false
		}
		return r, true
	}
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample()
	case "always_off":
		return sdktrace.NeverSample()
	case "traceidratio":
		if r, ok := ratio(); ok {
			return sdktrace.TraceIDRatioBased(r)
		}
		return def
	case "parentbased_always_on":
		return def
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case "parentbased_traceidratio":
		if r, ok := ratio(); ok {
			return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r))
		}
		return def
	}
	report(&env.Error{Name: env.TracesSampler, Value: name, Reason: "want always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio"})
	return def
}
