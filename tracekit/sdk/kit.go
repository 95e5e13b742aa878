package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/tracekit-go/tracekit/exporters/file"
	"github.com/tracekit-go/tracekit/exporters/otlp"
	"github.com/tracekit-go/tracekit/internal/batch"
	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/env"
	"github.com/tracekit-go/tracekit/internal/errsum"
	"github.com/tracekit-go/tracekit/internal/semconv"
)

// Kit is a running tracekit setup: a tracer provider, a meter provider and
// their exporters. Create it with [Start]; end it with [Kit.Shutdown]. Its
// methods are safe for concurrent use.
type Kit struct {
	tp       trace.TracerProvider
	mp       metric.MeterProvider
	sdkTP    *sdktrace.TracerProvider // nil when disabled
	sdkMP    *sdkmetric.MeterProvider // nil when no metrics are exported
	traces   []spanQueue              // one per span exporter
	readers  []namedReader            // the meter provider's
	errs     *errsum.Summarizer       // the error path; nil when disabled
	resource *resource.Resource
	det      *detect.Detector // locks and channels (detectors.go); nil without the globals
	mem      *detect.MemWatch // the memory watch (memory.go); nil when off
	roots    *rootSpans       // what the memory watch reports on
	// logs is the OpenTelemetry logs pipeline (logs.go).
	logs logPipeline

	shutdownOnce sync.Once
	shutdownErr  error

	// prof runs profiling (profiling.go); nil when profiling is off.
	prof *profiling
}

// spanQueue is the export queue in front of one span exporter.
type spanQueue struct {
	p    *batch.Processor
	dest string
}

// ownedSpans hands a tracer provider's ended spans to a queue whose
// shutdown the Kit runs itself: the provider's Shutdown takes its
// processors one after another and gives up at the deadline before it
// reaches the later ones.
type ownedSpans struct{ *batch.Processor }

func (ownedSpans) Shutdown(context.Context) error { return nil }

// ExportStats counts what happened to the sampled spans a Kit ended (or,
// in an [ExporterResult] of logs, to log records).
// Exported+Dropped+Failed+Pending is every one handed to the exporter (per
// exporter), at any moment; once Shutdown has returned, the counts no
// longer change.
type ExportStats struct {
	Exported uint64 // delivered
	Dropped  uint64 // not queued: the queue was full, or the Kit was shut down
	Failed   uint64 // the exporter returned an error
	// Pending are queued or being exported; after a Shutdown whose
	// deadline passed, they are what it left undelivered.
	Pending uint64
	// LastError is the most recent export error, or nil.
	LastError error
}

// Start sets up tracing, metrics, logs, profiling and tracekit's
// detectors from the standard OTEL_* and TRACEKIT_* environment and opts
// (which win over it), and, unless [WithoutGlobals] is given, installs them
// as the OpenTelemetry globals (tracer, meter and logger providers, W3C
// propagator) and as the detectors of tracekit's locks and channels. A
// variable whose value is not understood is reported to the error handler
// and ignored. Exporting never blocks the traced code: spans wait in a
// bounded queue and are dropped, and counted in [Kit.Stats], when it is
// full.
func Start(ctx context.Context, opts ...Option) (*Kit, error) {
	cfg := newConfig(opts)
	if cfg.disabled && cfg.traces == nil && cfg.spanExporters == nil {
		k := &Kit{tp: tracenoop.NewTracerProvider(), mp: noop.NewMeterProvider()}
		k.install(&cfg)
		return k, nil
	}

	res, err := newResource(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	k := &Kit{resource: res, errs: errsum.New(cfg.onError, cfg.errorInterval, errorKind)}
	cfg.onError = k.errs.Handle
	fail := func(err error) (*Kit, error) { return nil, errors.Join(err, k.Shutdown(ctx)) }

	exps, err := spanExporters(ctx, &cfg)
	if err != nil {
		return fail(err)
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(cfg.sampler)}
	for _, e := range exps {
		bc := cfg.batch
		bc.OnError = exportErrors(SignalTraces, e.name, cfg.onError)
		p := batch.New(e.exp, bc)
		k.traces = append(k.traces, spanQueue{p: p, dest: e.name})
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(ownedSpans{p}))
	}
	if mc, on := cfg.memConfig(); on && !cfg.noGlobals {
		k.roots = newRootSpans()
		k.mem = detect.NewMemWatch(mc, k.roots.oldest)
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(k.roots))
	}
	k.sdkTP = sdktrace.NewTracerProvider(tpOpts...)
	k.tp = k.sdkTP

	k.readers, err = metricReaders(ctx, &cfg, exps)
	if err != nil {
		return fail(err)
	}
	if len(k.readers) > 0 {
		mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res)}
		for _, r := range k.readers {
			mpOpts = append(mpOpts, sdkmetric.WithReader(r.r))
		}
		k.sdkMP = sdkmetric.NewMeterProvider(mpOpts...)
		k.mp = k.sdkMP
		if err := k.registerMetrics(); err != nil {
			return fail(err)
		}
	} else {
		k.mp = noop.NewMeterProvider()
	}
	if err := k.startLogs(ctx, &cfg, res); err != nil {
		return fail(err)
	}
	if err := k.startProfiling(ctx, &cfg); err != nil {
		return fail(err)
	}
	k.startDetectors(&cfg)
	k.install(&cfg)
	return k, nil
}

// exportErrors makes a queue's failed exports [ExportError] values for the
// Kit's error path.
func exportErrors(signal, dest string, report func(error)) func(int, error) {
	return func(n int, err error) {
		report(&ExportError{Signal: signal, Destination: dest, Items: n, Err: err})
	}
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

// Stats sums the export counters of every span exporter. Once Shutdown has
// returned it no longer changes.
func (k *Kit) Stats() ExportStats {
	var st ExportStats
	for _, q := range k.traces {
		s := q.p.Stats()
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

// ForceFlush exports every span and log record ended so far and collects
// and exports metrics now, every exporter side by side, within ctx.
func (k *Kit) ForceFlush(ctx context.Context) error {
	ps := k.parts()
	errs := sideBySide(ps, func(p part) error {
		if p.flush == nil {
			return nil
		}
		if err := p.flush(direct(ctx)); err != nil {
			return fmt.Errorf("tracekit: flush %s to %s: %w", p.signal, p.dest, err)
		}
		return nil
	})
	return errors.Join(errs...)
}

// Shutdown flushes what is queued and stops every exporter — spans,
// metrics, logs and profiles — side by side, so that one that does not
// answer keeps no other from finishing. It returns by ctx's deadline, with
// the undelivered data counted as pending; use a bounded ctx
// (context.WithTimeout). Unless everything was delivered and every
// exporter shut down cleanly it returns a [*ShutdownError] that says, per
// exporter, how many spans and log records were exported, dropped, failed
// or still pending. It is safe to call more than once: later calls return
// the first call's result. Spans started after Shutdown are not recorded.
func (k *Kit) Shutdown(ctx context.Context) error {
	k.shutdownOnce.Do(func() {
		k.stopDetectors()
		// Hand nothing more to the queues. The providers' processors leave
		// the queues' shutdown to the Kit, so this returns at once.
		if k.sdkTP != nil {
			_ = k.sdkTP.Shutdown(context.WithoutCancel(ctx))
		}
		k.stopLogs(ctx)
		k.prof.unlabel()

		ps := k.parts()
		errs := sideBySide(ps, func(p part) error { return p.shutdown(direct(ctx)) })
		if k.sdkMP != nil {
			// Its readers are shut down already (a second Shutdown of
			// each only says so); this stops the provider itself.
			_ = k.sdkMP.Shutdown(ctx)
		}
		if k.errs != nil {
			k.errs.Close() // reports the counts not yet reported
		}
		k.shutdownErr = shutdownError(ps, errs)
	})
	return k.shutdownErr
}

// registerMetrics exposes the export counters as metrics, so a dashboard can
// show spans being dropped, and the Go runtime's metrics.
func (k *Kit) registerMetrics() error {
	m := k.mp.Meter(semconv.ScopeName)
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
		return metric.WithAttributes(attribute.String(semconv.Outcome, v))
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
		attrs = append(attrs, otelsemconv.ServiceName(cfg.serviceName))
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
	if _, ok := res.Set().Value(otelsemconv.ServiceNameKey); !ok {
		res, err = resource.Merge(res, resource.NewSchemaless(otelsemconv.ServiceName("unknown_service:"+filepath.Base(os.Args[0]))))
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
	if len(cfg.spanExporters) > 0 && (cfg.traces == nil || cfg.tracesFromEnv) {
		return out, nil
	}
	kinds := cfg.traces
	if kinds == nil && cfg.filePath != "" && !cfg.filePathFromEnv {
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
			exp, err = file.New(tracePath(cfg))
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

// namedReader is a metric reader and where its exporter sends.
type namedReader struct {
	r    sdkmetric.Reader
	dest string
}

func metricReaders(ctx context.Context, cfg *config, traces []namedExporter) ([]namedReader, error) {
	var readers []namedReader
	for _, r := range cfg.readers {
		readers = append(readers, namedReader{r, fmt.Sprintf("%T", r)})
	}
	periodic := func(exp sdkmetric.Exporter, dest string) {
		rep := &reportingMetricExporter{Exporter: exp, dest: dest, report: cfg.onError}
		readers = append(readers, namedReader{sdkmetric.NewPeriodicReader(rep, sdkmetric.WithProducer(runtimeProducerFor(exp))), dest})
	}
	kinds := cfg.metrics
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
				return nil, shutdownReaders(ctx, readers, len(cfg.readers), err)
			}
			periodic(exp, fmt.Sprint(exp))
		case ExporterConsole:
			w := cfg.console
			if w == nil {
				w = os.Stdout
			}
			exp, err := stdoutmetric.New(stdoutmetric.WithWriter(w))
			if err != nil {
				return nil, shutdownReaders(ctx, readers, len(cfg.readers), err)
			}
			periodic(exp, string(ExporterConsole))
		default:
			return nil, shutdownReaders(ctx, readers, len(cfg.readers), fmt.Errorf("tracekit: unknown metrics exporter %q: want otlp, console or none", kind))
		}
	}
	return readers, nil
}

// shutdownReaders stops the readers made before err stopped
// metricReaders; the first given ones are the caller's.
func shutdownReaders(ctx context.Context, readers []namedReader, given int, err error) error {
	for _, r := range readers[given:] {
		err = errors.Join(err, r.r.Shutdown(ctx))
	}
	return err
}

// tracePath is where the file exporter writes, or would.
func tracePath(cfg *config) string {
	if cfg.filePath != "" {
		return cfg.filePath
	}
	return DefaultFilePath
}
