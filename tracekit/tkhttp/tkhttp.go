package tkhttp

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/tracekit"
)

// Option configures [Handler].
type Option interface{ apply(*config) }

type config struct {
	name    func(*http.Request) string
	noSpans bool
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTaskName names each request's task f(r), for routers that do not set
// r.Pattern. Keep the names few (a route, not a path): the running tasks
// are counted by name in a metric. By default a task is named after its
// route, as "GET /orders/{id}", else after its method alone.
func WithTaskName(f func(r *http.Request) string) Option {
	return optionFunc(func(c *config) { c.name = f })
}

// WithoutSpans starts no span for a request whose context holds none (one
// otelhttp's filters let through untraced, or a service without otelhttp):
// its task is listed, untraced. By default such a request gets a server
// span of its own.
func WithoutSpans() Option {
	return optionFunc(func(c *config) { c.noSpans = true })
}

// Handler returns h wrapped so that each request runs as a tracekit task
// on its goroutine, named after its route. When the request's context
// holds a span of this process (otelhttp's server span, with otelhttp
// wrapped around Handler), the task is bound to it, and no span is added;
// otherwise the task gets a server span, a child of the trace propagated
// in the request's headers (through the global propagator). A panic in h
// is recorded on the span and raised again with the same value.
//
// The route is r.Pattern, set by an [http.ServeMux] before Handler runs
// when Handler wraps a single route's handler; when h is itself a
// ServeMux, Handler asks it for the pattern, at the cost of a second
// match.
func Handler(h http.Handler, opts ...Option) http.Handler {
	m := &middleware{next: h}
	for _, o := range opts {
		o.apply(&m.cfg)
	}
	m.mux, _ = h.(*http.ServeMux)
	return m
}

type middleware struct {
	next http.Handler
	mux  *http.ServeMux // next, when it is one
	cfg  config
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := m.taskName(r)
	ctx := r.Context()
	var inner *http.Request
	defer func() {
		// The handler gets a copy of r carrying the task; what a ServeMux
		// below records on it goes back to r for those above (otelhttp
		// names its span after r.Pattern, net/http removes the files of
		// r.MultipartForm), even when the handler panics.
		if inner != nil {
			r.Pattern = inner.Pattern
			r.MultipartForm = inner.MultipartForm
		}
	}()
	serve := func(ctx context.Context) error {
		inner = r.WithContext(ctx)
		m.next.ServeHTTP(w, inner)
		return nil
	}
	var err error
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && !sc.IsRemote() || m.cfg.noSpans {
		err = tracekit.Bind(ctx, name, serve)
	} else {
		if !sc.IsValid() {
			ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.HeaderCarrier(r.Header))
		}
		err = tracekit.Do(ctx, name, func(ctx context.Context) error {
			err := serve(ctx)
			if route := route(inner.Pattern); route != "" {
				trace.SpanFromContext(ctx).SetAttributes(otelsemconv.HTTPRoute(route))
			}
			return err
		}, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			otelsemconv.HTTPRequestMethodKey.String(r.Method),
			otelsemconv.URLPath(r.URL.Path),
		))
	}
	if pe, ok := errors.AsType[*tracekit.PanicError](err); ok {
		panic(pe.Value)
	}
}

// taskName names r's task.
func (m *middleware) taskName(r *http.Request) string {
	if m.cfg.name != nil {
		return m.cfg.name(r)
	}
	pattern := r.Pattern
	if pattern == "" && m.mux != nil {
		_, pattern = m.mux.Handler(r)
	}
	if pattern == "" {
		return r.Method
	}
	if method, _, ok := strings.Cut(pattern, " "); ok && method != "" && !strings.Contains(method, "/") {
		return pattern // "POST /orders": the pattern has its method
	}
	return r.Method + " " + pattern
}

// route is the path part of a ServeMux pattern, without its method and
// host: "/orders/{id}" for "GET example.com/orders/{id}".
func route(pattern string) string {
	if _, rest, ok := strings.Cut(pattern, " "); ok {
		pattern = rest
	}
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		return pattern[i:]
	}
	return ""
}
