package sdk

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"github.com/tracekit-go/tracekit/exporters/profiles"
	"github.com/tracekit-go/tracekit/exporters/pyroscope"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

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
	// process keep the root's labels ([LabelRootSpansOnly]).
	rootOnly bool
}

func newLabelingProvider(tp trace.TracerProvider, rootOnly bool) *labelingProvider {
	p := &labelingProvider{tp: tp, rootOnly: rootOnly}
	p.own = &labelingTracer{tracer: tp.Tracer(semconv.ScopeName), p: p, own: true}
	return p
}

func (p *labelingProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	if name == semconv.ScopeName && len(opts) == 0 {
		return p.own
	}
	return &labelingTracer{tracer: p.tp.Tracer(name, opts...), p: p, own: name == semconv.ScopeName}
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
	if !sc.IsSampled() || (t.own && runsElsewhere(span, opts)) {
		return sctx, span
	}
	if t.p.rootOnly && isLocal(trace.SpanContextFromContext(ctx)) {
		// Not a local root: the goroutine keeps the root's labels, and
		// the span hands out the labelling provider for what starts
		// below it.
		ls := &labeledSpan{Span: span, p: t.p, restore: nil}
		return trace.ContextWithSpan(sctx, ls), ls
	}
	lctx, ls := t.p.label(sctx, span, name)
	ls.restore = ctx
	return trace.ContextWithSpan(lctx, ls), ls
}

// label labels the goroutine with span, named name, over the labels of
// ctx, and gives the span pyroscope.profile.id. It returns ctx with the
// labels and the span's wrapper, which restores nothing until told what.
func (lp *labelingProvider) label(ctx context.Context, span trace.Span, name string) (context.Context, *labeledSpan) {
	spanID, traceID := idStrings(span.SpanContext())
	lctx := withSpanLabels(ctx, spanID, name, traceID)
	pprof.SetGoroutineLabels(lctx)
	ls := &labeledSpan{Span: span, p: lp}
	ls.setProfileID(spanID)
	return lctx, ls
}

// runsElsewhere reports whether a span of tracekit's scope, started with
// opts, is one that is started on one goroutine and covers another's work:
// a task or a group. tracekit starts them with the site's option first.
func runsElsewhere(span trace.Span, opts []trace.SpanStartOption) bool {
	if len(opts) > 0 {
		if so, ok := opts[0].(tasks.SiteOption); ok {
			return so.Kind == semconv.KindGoroutine || so.Kind == semconv.KindGroup
		}
	}
	ro, ok := span.(sdktrace.ReadOnlySpan)
	if !ok {
		return false
	}
	for _, kv := range ro.Attributes() {
		if kv.Key == semconv.Kind {
			k := kv.Value.AsString()
			return k == semconv.KindGoroutine || k == semconv.KindGroup
		}
	}
	return false
}

func withSpanLabels(ctx context.Context, spanID, name, traceID string) context.Context {
	return pprof.WithLabels(ctx, pprof.Labels(
		semconv.LabelSpanID, spanID,
		semconv.LabelSpanName, name,
		semconv.LabelTraceID, traceID,
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
	// attr holds the span's pyroscope.profile.id for SetAttributes: in
	// the span, the argument is not an allocation of its own.
	attr [1]attribute.KeyValue
}

// setProfileID gives the span pyroscope.profile.id.
func (s *labeledSpan) setProfileID(spanID string) {
	s.attr[0] = attribute.String(semconv.ProfileID, spanID)
	s.Span.SetAttributes(s.attr[:]...)
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

// StartTime is the wrapped span's, when it says: tracekit's slow-span
// snapshots time a span from it.
func (s *labeledSpan) StartTime() time.Time {
	if st, ok := s.Span.(interface{ StartTime() time.Time }); ok {
		return st.StartTime()
	}
	return time.Time{}
}

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
	lctx, ls := lp.label(ctx, span, name)
	ls.restore = lctx
	return trace.ContextWithSpan(lctx, ls)
}

// DefaultProfileDir is where profiles go when profiling is on with no
// destination named: a directory of this name beside the trace file
// ([WithFilePath], TRACEKIT_FILE_PATH, [DefaultFilePath]).
const DefaultProfileDir = "tracekit-profiles"

// profilingConfig is what WithProfiling and its options set.
type profilingConfig struct {
	on        bool
	dir       string // "": no files
	dirOpts   []profiles.Option
	pyroscope bool
	pyroOpts  []pyroscope.Option
	rootOnly  bool
}

// ProfilingOption configures [WithProfiling]: where profiles go and how
// goroutines are labelled.
type ProfilingOption interface{ applyProfiling(*profilingConfig) }

type profilingOptionFunc func(*profilingConfig)

func (f profilingOptionFunc) applyProfiling(c *profilingConfig) { f(c) }

// destination marks the options that name where profiles go: given to
// WithProfiling, they replace the destinations the environment named.
type destination struct{ profilingOptionFunc }

// WithProfiling turns on continuous profiling with span labels: CPU samples
// carry the span_id, span_name and trace_id pprof labels of the sampled
// span active on their goroutine, and such spans get pyroscope.profile.id.
// Profiles go where opts say ([ProfileToDir], [ProfileToPyroscope]; both
// may be given), else where the environment says (TRACEKIT_PROFILE_DIR,
// PYROSCOPE_SERVER_ADDRESS, each of which also turns profiling on), else
// to rotating pprof files in [DefaultProfileDir]. Default off.
func WithProfiling(opts ...ProfilingOption) Option {
	return optionFunc(func(c *config) {
		p := &c.profiling
		p.on = true
		for _, o := range opts {
			if _, ok := o.(destination); ok {
				p.dir, p.dirOpts, p.pyroscope, p.pyroOpts = "", nil, false, nil
				break
			}
		}
		for _, o := range opts {
			o.applyProfiling(p)
		}
	})
}

// WithoutProfiling turns profiling off, whatever the environment says.
func WithoutProfiling() Option {
	return optionFunc(func(c *config) { c.profiling = profilingConfig{} })
}

// ProfileToDir writes rotating gzip pprof files into dir (created if
// needed), as package exporters/profiles does with opts: a CPU profile per
// window and heap snapshots by default. When profiles also go to
// Pyroscope, which then owns the process's CPU profile, the files hold
// heap snapshots only.
func ProfileToDir(dir string, opts ...profiles.Option) ProfilingOption {
	return destination{func(c *profilingConfig) { c.dir, c.dirOpts = dir, opts }}
}

// ProfileToPyroscope sends profiles to Pyroscope with opts, which win over
// the PYROSCOPE_* environment (see package exporters/pyroscope). The
// application name is the service name and the tags are the resource
// attributes (except service.name, telemetry.sdk.* and process.*) unless
// opts set them.
func ProfileToPyroscope(opts ...pyroscope.Option) ProfilingOption {
	return destination{func(c *profilingConfig) { c.pyroscope, c.pyroOpts = true, opts }}
}

// LabelRootSpansOnly labels goroutines with local root spans only (the
// first span of a trace in this process, or one whose parent came from
// another process), as Grafana's own OpenTelemetry integration does: the
// spans below a root keep the root's labels, and only roots get
// pyroscope.profile.id, so a root's profile holds the CPU of the whole
// request. Default: every sampled span labels its goroutine.
func LabelRootSpansOnly() ProfilingOption {
	return profilingOptionFunc(func(c *profilingConfig) { c.rootOnly = true })
}

// profiling is what a Kit runs for profiling.
type profiling struct {
	sdk   *sdktrace.TracerProvider
	pyro  *pyroscope.Profiler
	files *profiles.Profiler
}

// startProfiling starts the profilers the configuration asks for and wraps
// the tracer provider with span labels. It does nothing when profiling is
// off.
func (k *Kit) startProfiling(ctx context.Context, cfg *config) error {
	pc := cfg.profiling
	if !pc.on {
		return nil
	}
	p := &profiling{sdk: k.sdkTP}
	dir := pc.dir
	if pc.pyroscope {
		opts := append(pyroscopeResourceOptions(k.resource), pc.pyroOpts...)
		opts = append(opts, pyroscope.WithErrorHandler(cfg.onError))
		pr, err := pyroscope.Start(ctx, opts...)
		if err != nil {
			return fmt.Errorf("tracekit: profiling: %w", err)
		}
		p.pyro = pr
	} else if dir == "" {
		dir = filepath.Join(filepath.Dir(tracePath(cfg)), DefaultProfileDir)
	}
	if dir != "" {
		opts := []profiles.Option{profiles.WithErrorHandler(cfg.onError)}
		opts = append(opts, pc.dirOpts...)
		if p.pyro != nil {
			opts = append(opts, profiles.WithTypes(profiles.Heap))
		}
		fp, err := profiles.Start(dir, opts...)
		if err != nil {
			var perr error
			if p.pyro != nil {
				perr = p.pyro.Shutdown(ctx)
			}
			return errors.Join(fmt.Errorf("tracekit: profiling: %w", err), perr)
		}
		p.files = fp
	}
	lp := newLabelingProvider(k.sdkTP, pc.rootOnly)
	registerLabeler(k.sdkTP, lp)
	k.tp = lp
	k.prof = p
	return nil
}

// unlabel ends the span labels. Safe on a nil profiling.
func (p *profiling) unlabel() {
	if p != nil && p.sdk != nil {
		unregisterLabeler(p.sdk)
	}
}

// parts lists the profilers for the Kit to shut down. Safe on a nil
// profiling.
func (p *profiling) parts() []part {
	if p == nil {
		return nil
	}
	var ps []part
	if p.pyro != nil {
		ps = append(ps, part{signal: SignalProfiles, dest: p.pyro.String(), shutdown: p.pyro.Shutdown})
	}
	if p.files != nil {
		ps = append(ps, part{signal: SignalProfiles, dest: p.files.String(), shutdown: p.files.Shutdown})
	}
	return ps
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
