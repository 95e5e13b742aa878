package tracekit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

// Group runs related tasks, like golang.org/x/sync/errgroup with spans: the
// group has a span from [NewGroup] to the end of [Group.Wait], each task a
// child span of it. The first task to fail cancels the group's context, with
// its error as the cause, and is what Wait returns. A zero Group is not
// usable; create one with NewGroup. Its methods are safe for concurrent use.
type Group struct {
	name string
	ctx  context.Context
	span trace.Span

	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	sem    chan struct{} // nil: no limit

	errOnce sync.Once
	err     error

	endOnce  sync.Once
	taskOpts trace.SpanStartOption // the group's attributes on every task span
	// siteOpts is the last spawn site's options with taskOpts: a group's
	// tasks usually start from one site, which then makes no slice per task.
	siteOpts atomic.Pointer[groupSiteOpts]
}

// groupSiteOpts is a spawn site's option followed by the group's.
type groupSiteOpts struct {
	site *tasks.Site
	opts [2]trace.SpanStartOption
}

// GroupOption configures [NewGroup].
type GroupOption interface{ applyGroup(*groupConfig) }

type groupConfig struct {
	limit int
	opts  []trace.SpanStartOption
}

type groupOptionFunc func(*groupConfig)

func (f groupOptionFunc) applyGroup(c *groupConfig) { f(c) }

// WithLimit bounds how many of the group's tasks run at once; [Group.Go]
// blocks while n are running. Zero or negative means no limit, the
// default.
func WithLimit(n int) GroupOption {
	return groupOptionFunc(func(c *groupConfig) { c.limit = n })
}

// WithSpanOptions adds opts (attributes, links, a span kind) to the
// group's own span.
func WithSpanOptions(opts ...trace.SpanStartOption) GroupOption {
	return groupOptionFunc(func(c *groupConfig) { c.opts = append(c.opts, opts...) })
}

// NewGroup starts a group named name whose span is a child of the span in
// ctx. Tasks receive a context derived from ctx that is canceled when the
// first task fails or when Wait returns. Call [Group.Wait] to end the group's
// span.
//
//go:noinline
func NewGroup(ctx context.Context, name string, opts ...GroupOption) *Group {
	var cfg groupConfig
	for _, o := range opts {
		o.applyGroup(&cfg)
	}
	startOpts := []trace.SpanStartOption{callSite(goid.CallerPC(), semconv.KindGroup).Opts[0]}
	if cfg.limit > 0 {
		startOpts = append(startOpts, trace.WithAttributes(attribute.Int(semconv.GroupLimit, cfg.limit)))
	}
	ctx, span := detect.Tracer(ctx).Start(ctx, name, append(startOpts, cfg.opts...)...)
	ctx, cancel := context.WithCancelCause(ctx)
	g := &Group{
		name:     name,
		ctx:      ctx,
		span:     span,
		cancel:   cancel,
		taskOpts: trace.WithAttributes(attribute.String(semconv.Group, name)),
	}
	if cfg.limit > 0 {
		g.sem = make(chan struct{}, cfg.limit)
	}
	return g
}

// Context returns the group's context: it holds the group's span and is
// canceled when a task fails or Wait returns.
func (g *Group) Context() context.Context { return g.ctx }

// Go starts fn as a task of the group (see [Go]). With a limit, it blocks
// until a slot is free.
//
//go:noinline
func (g *Group) Go(name string, fn func(context.Context) error, opts ...trace.SpanStartOption) {
	site := callSite(goid.CallerPC(), semconv.KindGoroutine)
	if g.sem != nil {
		g.sem <- struct{}{}
	}
	g.launch(name, site, fn, opts)
}

// TryGo starts fn as a task only if the group's limit allows it now, and
// reports whether it did.
//
//go:noinline
func (g *Group) TryGo(name string, fn func(context.Context) error, opts ...trace.SpanStartOption) bool {
	site := callSite(goid.CallerPC(), semconv.KindGoroutine)
	if g.sem != nil {
		select {
		case g.sem <- struct{}{}:
		default:
			return false
		}
	}
	g.launch(name, site, fn, opts)
	return true
}

func (g *Group) launch(name string, site *tasks.Site, fn func(context.Context) error, opts []trace.SpanStartOption) {
	g.wg.Add(1)
	so := g.siteOpts.Load()
	if so == nil || so.site != site {
		so = &groupSiteOpts{site: site, opts: [2]trace.SpanStartOption{site.Opts[0], g.taskOpts}}
		g.siteOpts.Store(so)
	}
	start(g.ctx, name, site, so.opts[:], fn, opts, g.taskDone)
}

// taskDone runs in each task's goroutine after the task has finished.
func (g *Group) taskDone(err error) {
	if g.sem != nil {
		<-g.sem
	}
	if err != nil {
		g.errOnce.Do(func() {
			g.err = err
			g.cancel(err)
		})
	}
	g.wg.Done()
}

// Wait blocks until every task started so far has returned, ends the group's
// span, cancels the group's context, and returns the first task error (a
// [*PanicError] if that task panicked). Calling Wait again waits for tasks
// started since and returns the same first error.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.cancel(nil)
	g.endOnce.Do(func() {
		if g.err != nil {
			g.span.SetStatus(codes.Error, fmt.Sprintf("task failed: %v", g.err))
		}
		if d := detect.Active(); d != nil && d.SlowSpan() > 0 {
			d.SpanEnding(g.span, detect.Elapsed(g.span))
		}
		g.span.End()
	})
	return g.err
}
