package tracekit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"github.com/tracekit-go/tracekit/exporters/file"
	"github.com/tracekit-go/tracekit/exporters/pyroscope"
	"github.com/tracekit-go/tracekit/internal/env"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

// The pprof labels that tie CPU samples to spans. They are the names
// Grafana's span profiles read, so that "profiles for this span" finds the
// samples a span's code took.
const (
	// LabelSpanID is the hex span ID of the innermost sampled span active on
	// the goroutine.
	LabelSpanID = semconv.LabelSpanID
	// LabelSpanName is that span's name.
	LabelSpanName = semconv.LabelSpanName
	// LabelTraceID is the hex trace ID of that span.
	LabelTraceID = semconv.LabelTraceID
)

// KeyProfileID marks a span whose goroutine carried its labels: its value
// is the span's own ID, the [LabelSpanID] its CPU samples carry. Grafana's
// trace view uses it to show the span's own flame graph from Pyroscope (with
// a tracing data source configured for traces-to-profiles; the Tempo data
// source also adds a "profiles for this span" link).
const KeyProfileID = attribute.Key(semconv.ProfileID)

// registerLabeler makes the task goroutines whose spans come from sdk
// label themselves through lp.
func registerLabeler(sdk *sdktrace.TracerProvider, lp *labelingProvider) {
	tasks.SetLabeler(sdk, lp.labelTask)
}

func unregisterLabeler(sdk *sdktrace.TracerProvider) { tasks.RemoveLabeler(sdk) }

// labelingProvider wraps a tracer provider so that while a sampled span is
// active on a goroutine, the goroutine's pprof labels name it. Spans started
// through it set the labels at Start and put back the labels of the context
// they were started from at End; they get [KeyProfileID].
//
// The labels belong to the goroutine that started the span: End should be
// called on that goroutine (defer span.End() does). tracekit's task and
// group spans are started on one goroutine and run on another, so they are
// left alone here and labelled where they run (see labelTask).
type labelingProvider struct {
	embedded.TracerProvider
	tp  trace.TracerProvider
	own *labelingTracer // tracekit's scope, asked for on every task start
	// rootOnly labels local root spans only: their descendants in the
	// process keep the root's labels ([WithRootSpanProfiles]).
	rootOnly bool
}

func newLabelingProvider(tp trace.TracerProvider, rootOnly bool) *labelingProvider {
	p := &labelingProvider{tp: tp, rootOnly: rootOnly}
	p.own = &labelingTracer{tracer: tp.Tracer(ScopeName), p: p, own: true}
	return p
}

func (p *labelingProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	if name == ScopeName && len(opts) == 0 {
		return p.own
	}
	return &labelingTracer{tracer: p.tp.Tracer(name, opts...), p: p, own: name == ScopeName}
}

type labelingTracer struct {
	embedded.Tracer
	tracer trace.Tracer
	p      *labelingProvider
	own    bool // tracekit's scope: task and group spans are left alone
}

func (t *labelingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	sctx, span := t.tracer.Start(ctx, name, opts...)
	sc := span.SpanContext()
	if !sc.IsSampled() || (t.own && runsElsewhere(span)) {
		return sctx, span
	}
	if t.p.rootOnly && isLocal(trace.SpanContextFromContext(ctx)) {
		// Not a local root: the goroutine keeps the root's labels, and
		// the span hands out the labelling provider for what starts
		// below it.
		ls := &labeledSpan{Span: span, p: t.p, restore: nil}
		return trace.ContextWithSpan(sctx, ls), ls
	}
	spanID, traceID := idStrings(sc)
	lctx := withSpanLabels(sctx, spanID, name, traceID)
	pprof.SetGoroutineLabels(lctx)
	span.SetAttributes(KeyProfileID.String(spanID))
	ls := &labeledSpan{Span: span, p: t.p, restore: ctx}
	return trace.ContextWithSpan(lctx, ls), ls
}

// runsElsewhere reports whether a span of tracekit's scope is one that is
// started on one goroutine and covers another's work: a task or a group.
func runsElsewhere(span trace.Span) bool {
	ro, ok := span.(sdktrace.ReadOnlySpan)
	if !ok {
		return false
	}
	for _, kv := range ro.Attributes() {
		if kv.Key == KeyKind {
			k := Kind(kv.Value.AsString())
			return k == KindGoroutine || k == KindGroup
		}
	}
	return false
}

func withSpanLabels(ctx context.Context, spanID, name, traceID string) context.Context {
	return pprof.WithLabels(ctx, pprof.Labels(
		LabelSpanID, spanID,
		LabelSpanName, name,
		LabelTraceID, traceID,
	))
}

// idStrings returns the hex span and trace IDs of sc, sliced from one
// allocated string.
func idStrings(sc trace.SpanContext) (spanID, traceID string) {
	var buf [48]byte
	sid, tid := sc.SpanID(), sc.TraceID()
	hex.Encode(buf[:16], sid[:])
	hex.Encode(buf[16:], tid[:])
	s := string(buf[:])
	return s[:16], s[16:]
}

// labeledSpan puts its goroutine's labels back when it ends, and hands out
// the labelling provider so that spans started below it are labelled too.
type labeledSpan struct {
	trace.Span
	p       *labelingProvider
	restore context.Context // the context the span was started from
}

func (s *labeledSpan) End(opts ...trace.SpanEndOption) {
	s.Span.End(opts...)
	if s.restore != nil {
		pprof.SetGoroutineLabels(s.restore)
	}
}

// isLocal reports whether sc is a span of this process.
func isLocal(sc trace.SpanContext) bool { return sc.IsValid() && !sc.IsRemote() }

func (s *labeledSpan) TracerProvider() trace.TracerProvider { return s.p }

// labelTask runs first in the goroutine of a task whose sampled span
// comes from the provider lp wraps: it labels the goroutine with the span
// and returns a context that carries the labels and hands out the labelling
// provider. The goroutine ends with the task, so nothing is restored.
func (lp *labelingProvider) labelTask(ctx context.Context, span trace.Span, name string) context.Context {
	if lp.rootOnly {
		if ro, ok := span.(sdktrace.ReadOnlySpan); ok && isLocal(ro.Parent()) {
			// The goroutine inherited the labels of the goroutine that
			// called Go, and ctx carries the root's.
			return trace.ContextWithSpan(ctx, &labeledSpan{Span: span, p: lp})
		}
	}
	spanID, traceID := idStrings(span.SpanContext())
	lctx := withSpanLabels(ctx, spanID, name, traceID)
	pprof.SetGoroutineLabels(lctx)
	span.SetAttributes(KeyProfileID.String(spanID))
	return trace.ContextWithSpan(lctx, &labeledSpan{Span: span, p: lp, restore: lctx})
}

// DefaultProfileDir is where profiles go when profiling is on without a
// Pyroscope server and without TRACEKIT_PROFILE_DIR or [WithProfileDir]: a
// directory of this name beside the trace file ([WithFilePath],
// TRACEKIT_FILE_PATH, [DefaultFilePath]).
const DefaultProfileDir = "tracekit-profiles"

// WithProfiling turns on continuous profiling with span labels: CPU samples
// carry [LabelSpanID], [LabelSpanName] and [LabelTraceID] of the sampled
// span active on their goroutine, and such spans get [KeyProfileID]. The
// profiles go to Pyroscope when PYROSCOPE_SERVER_ADDRESS (or
// [WithPyroscope] with an address) names a server, otherwise into local
// pprof files (see [WithProfileDir]).
//
// Profiling is also on without this option when PYROSCOPE_SERVER_ADDRESS
// or TRACEKIT_PROFILE_DIR is set, or [WithPyroscope] or [WithProfileDir] is
// given. Default: off.
func WithProfiling() Option {
	return optionFunc(func(c *config) { c.profiling = true })
}

// WithProfileDir writes rotating gzip pprof files into dir (created if
// needed): a CPU profile per window and heap snapshots by default, bounded
// in number and size; opts change the window, the kinds and the bounds (see
// package exporters/file). Overrides TRACEKIT_PROFILE_DIR. When profiles
// also go to Pyroscope, which then owns the process's CPU profile, the
// files hold heap snapshots only, whatever kinds opts ask for.
func WithProfileDir(dir string, opts ...file.ProfileOption) Option {
	return optionFunc(func(c *config) {
		c.profileDir = dir
		c.profileOpts = append(c.profileOpts, opts...)
	})
}

// WithPyroscope sends profiles to Pyroscope with the given options, which
// win over the PYROSCOPE_* environment (see package exporters/pyroscope).
// The application name is the service name and the tags are the resource
// attributes (except service.name, telemetry.sdk.* and process.*) unless
// opts set them.
func WithPyroscope(opts ...pyroscope.Option) Option {
	return optionFunc(func(c *config) {
		c.pyroscopeOn = true
		c.pyroscopeOpts = append(c.pyroscopeOpts, opts...)
	})
}

// WithRootSpanProfiles labels goroutines with local root spans only (the
// first span of a trace in this process, or one whose parent came from
// another process), as Grafana's own OpenTelemetry integration does by
// default: the spans below a root, tasks started by [Go] included, keep
// the root's labels, and only roots get [KeyProfileID], so a root's
// profile in Grafana holds the CPU of the whole request in this process.
// Without it (the default) every sampled span labels its goroutine and its
// profile holds its own code's CPU. It has effect only with profiling on.
func WithRootSpanProfiles() Option {
	return optionFunc(func(c *config) { c.rootProfiles = true })
}

// profiling is what a Kit runs for profiling.
type profiling struct {
	sdk   *sdktrace.TracerProvider
	pyro  *pyroscope.Profiler
	files *file.Profiler
}

// startProfiling starts the profilers the configuration asks for and wraps
// the tracer provider with span labels. It does nothing when profiling is
// off.
func (k *Kit) startProfiling(ctx context.Context, cfg *config) error {
	_, envAddr := env.String(env.PyroscopeServerAddress)
	envDir, envDirSet := env.String(env.ProfileDir)
	usePyro := cfg.pyroscopeOn || envAddr
	dir := cfg.profileDir
	if dir == "" && envDirSet {
		dir = envDir
	}
	if !cfg.profiling && !usePyro && dir == "" {
		return nil
	}
	p := &profiling{sdk: k.sdkTP}
	if usePyro || cfg.profiling {
		opts := append(pyroscopeResourceOptions(k.resource), cfg.pyroscopeOpts...)
		opts = append(opts, pyroscope.WithErrorHandler(cfg.onError))
		pr, err := pyroscope.Start(ctx, opts...)
		switch {
		case err == nil:
			p.pyro = pr
		case errors.Is(err, pyroscope.ErrNoServerAddress) && !usePyro:
			// WithProfiling without a server: local files instead.
		default:
			return fmt.Errorf("tracekit: profiling: %w", err)
		}
	}
	if p.pyro == nil && dir == "" {
		dir = filepath.Join(filepath.Dir(tracePath(cfg)), DefaultProfileDir)
	}
	if dir != "" {
		opts := []file.ProfileOption{file.WithProfileErrorHandler(cfg.onError)}
		opts = append(opts, cfg.profileOpts...)
		if p.pyro != nil {
			opts = append(opts, file.WithProfileKinds(file.ProfileHeap))
		}
		fp, err := file.StartProfiler(dir, opts...)
		if err != nil {
			return errors.Join(fmt.Errorf("tracekit: profiling: %w", err), p.stop(ctx))
		}
		p.files = fp
	}
	lp := newLabelingProvider(k.sdkTP, cfg.rootProfiles)
	registerLabeler(k.sdkTP, lp)
	k.tp = lp
	k.prof = p
	return nil
}

// tracePath is where the file exporter writes, or would.
func tracePath(cfg *config) string {
	if cfg.filePath != "" {
		return cfg.filePath
	}
	if v, ok := env.String(env.FilePath); ok {
		return v
	}
	return DefaultFilePath
}

// stop ends the span labels and stops the profilers, within ctx.
func (p *profiling) stop(ctx context.Context) error {
	if p == nil {
		return nil
	}
	if p.sdk != nil {
		unregisterLabeler(p.sdk)
	}
	var errs []error
	if p.pyro != nil {
		errs = append(errs, p.pyro.Shutdown(ctx))
	}
	if p.files != nil {
		errs = append(errs, p.files.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// pyroscopeResourceOptions names the application after the service and tags
// its profiles with the resource attributes that describe the deployment.
// Per-process values (process.*) and the SDK's own are left out, and keys
// Pyroscope would refuse are skipped.
func pyroscopeResourceOptions(res *resource.Resource) []pyroscope.Option {
	if res == nil {
		return nil
	}
	var opts []pyroscope.Option
	tags := map[string]string{}
	for _, kv := range res.Attributes() {
		k := string(kv.Key)
		switch {
		case kv.Key == otelsemconv.ServiceNameKey:
			opts = append(opts, pyroscope.WithApplicationName(appName(kv.Value.Emit())))
			continue
		case strings.HasPrefix(k, "telemetry.sdk."), strings.HasPrefix(k, "process."):
			continue
		case !validTagKey(k):
			continue
		}
		tags[k] = kv.Value.Emit()
	}
	if len(tags) > 0 {
		opts = append(opts, pyroscope.WithTags(tags))
	}
	return opts
}

func validTagKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// appName makes a service name one Pyroscope accepts as an application
// name: unknown_service:checkout becomes unknown_service_checkout.
func appName(s string) string {
	return strings.Map(func(r rune) rune {
		if validTagKey(string(r)) || r == '-' || r == '/' {
			return r
		}
		return '_'
	}, s)
}
