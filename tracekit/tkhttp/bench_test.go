package tkhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/internal/batch"
	"github.com/tracekit-go/tracekit/tracekit/tkhttp"
)

// BenchmarkHandler is what the middleware adds to a request served through
// otelhttp and a ServeMux, beside the same stack without it, in the same
// run (spans go to a discarding exporter); and, without otelhttp, what a
// request costs with the middleware's own span. Compare with benchstat.
func BenchmarkHandler(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(batch.New(discard{}, batch.Config{})))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) { _ = r.PathValue("id") })
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"baseline=otelhttp+mux", otelhttp.NewHandler(mux, "shop", otelhttp.WithTracerProvider(tp))},
		{"otelhttp+tkhttp+mux", otelhttp.NewHandler(tkhttp.Handler(mux), "shop", otelhttp.WithTracerProvider(tp))},
		{"baseline=mux", mux},
		{"tkhttp+mux,untraced", tkhttp.Handler(mux, tkhttp.WithoutSpans())},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/orders/7", nil)
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}

// discard drops every span, so that the benchmark measures recording only.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }
