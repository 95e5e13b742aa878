package tkhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/tkhttp"
)

// Inside otelhttp, each request is a task bound to otelhttp's server span,
// named after its route.
func ExampleHandler() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, t := range inspect.Tasks() {
			fmt.Println("running:", t.Name)
		}
	})
	h := otelhttp.NewHandler(tkhttp.Handler(mux), "shop", otelhttp.WithTracerProvider(tp))

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/orders/7", nil))
	for _, s := range rec.Ended() {
		fmt.Println("span:", s.Name())
	}
	// Output:
	// running: GET /orders/{id}
	// span: GET /orders/{id}
}

// A router that does not set r.Pattern names its routes itself.
func ExampleWithTaskName() {
	h := tkhttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("running:", inspect.Tasks()[0].Name)
	}), tkhttp.WithTaskName(func(r *http.Request) string { return "legacy " + r.Method }))

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/cgi-bin/order", nil))
	// Output: running: legacy POST
}

// Health checks that otelhttp's filter leaves untraced stay untraced: their
// tasks are listed, with no span.
func ExampleWithoutSpans() {
	health := tkhttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := inspect.Tasks()[0]
		fmt.Println("running:", t.Name, "traced:", t.TraceID.IsValid())
	}), tkhttp.WithoutSpans())
	h := otelhttp.NewHandler(health, "shop", otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/healthz" }))

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
	// Output: running: GET traced: false
}
