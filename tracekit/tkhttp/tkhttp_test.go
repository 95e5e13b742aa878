package tkhttp_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/kittest/kitrun"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/tkhttp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	v, _ := kittest.Attr(s, attribute.Key(key))
	return v
}

// task returns the running task named name.
func task(name string) (inspect.Task, bool) {
	for _, ti := range inspect.Tasks() {
		if ti.Name == name {
			return ti, true
		}
	}
	return inspect.Task{}, false
}

// send makes a request in the background and sends its status, or 0.
func send(client *http.Client, method, url string, header http.Header) <-chan int {
	done := make(chan int, 1)
	go func() {
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			done <- 0
			return
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err != nil {
			done <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	return done
}

// Without otelhttp, the request's task has a server span of its own, a
// child of the trace in its traceparent header; a panic is recorded on it,
// raised again for net/http, and leaves no goroutine bound.
func TestRequestWithoutOtelhttp(t *testing.T) {
	kit := kitrun.Start(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, r.PathValue("id"))
	})
	mux.HandleFunc("POST /panic", func(http.ResponseWriter, *http.Request) { panic("handler bug") })
	srv := httptest.NewUnstartedServer(tkhttp.Handler(mux))
	var logged strings.Builder
	var mu sync.Mutex
	srv.Config.ErrorLog = log.New(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logged.Write(p)
	}), "", 0)
	srv.Start()
	defer srv.Close()

	parent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if c := <-send(srv.Client(), http.MethodGet, srv.URL+"/orders/7", http.Header{"Traceparent": {parent}}); c != http.StatusOK {
		t.Errorf("GET /orders/7: %d", c)
	}
	if c := <-send(srv.Client(), http.MethodPost, srv.URL+"/panic", nil); c != 0 {
		t.Errorf("POST /panic: %d, want the connection cut", c)
	}
	got := kit.ByName(t)
	if len(got["GET /orders/{id}"]) != 1 || len(got["POST /panic"]) != 1 {
		t.Fatalf("spans: %v, want one per request named after its route", kittest.Names(kit.Spans.Spans()))
	}
	s := got["GET /orders/{id}"][0]
	if s.SpanKind() != trace.SpanKindServer || s.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" ||
		s.Parent().SpanID().String() != "00f067aa0ba902b7" || !s.Parent().IsRemote() {
		t.Errorf("span %+v, want a server span under the traceparent", s)
	}
	for key, want := range map[string]string{semconv.Kind: semconv.KindTask, "http.route": "/orders/{id}",
		"http.request.method": "GET", "url.path": "/orders/7"} {
		if v := attr(s, key).Emit(); v != want {
			t.Errorf("%s = %q, want %q", key, v, want)
		}
	}
	p := got["POST /panic"][0]
	if p.Status().Code != codes.Error || !attr(p, semconv.Panic).AsBool() {
		t.Errorf("the panic is not recorded: %+v", p.Status())
	}
	mu.Lock()
	if !strings.Contains(logged.String(), "handler bug") {
		t.Errorf("net/http did not see the panic: %q", logged.String())
	}
	mu.Unlock()
	if len(inspect.Tasks()) != 0 {
		t.Errorf("tasks still listed: %+v", inspect.Tasks())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A task is named after its route: r.Pattern when a ServeMux routed to the
// wrapped handler, the ServeMux's pattern when it wraps one (the method
// added when the pattern has none), the method alone when nothing matched,
// or as WithTaskName says.
func TestTaskNames(t *testing.T) {
	var name string
	record := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		ts := inspect.Tasks()
		if len(ts) != 1 {
			t.Errorf("tasks: %+v, want one", ts)
			return
		}
		name = ts[0].Name
	})
	routed := http.NewServeMux()
	routed.Handle("DELETE /orders/{id}", tkhttp.Handler(record))
	wrapped := http.NewServeMux()
	wrapped.Handle("GET /orders/{id}", record)
	wrapped.Handle("/static/", record)
	custom := tkhttp.Handler(record, tkhttp.WithTaskName(func(r *http.Request) string { return "api " + r.Method }))
	for _, c := range []struct {
		h            http.Handler
		method, path string
		want         string
	}{
		{routed, http.MethodDelete, "/orders/7", "DELETE /orders/{id}"},
		{tkhttp.Handler(wrapped), http.MethodGet, "/orders/7", "GET /orders/{id}"},
		{tkhttp.Handler(wrapped), http.MethodHead, "/static/a.css", "HEAD /static/"},
		{tkhttp.Handler(record), http.MethodPut, "/x", "PUT"},
		{custom, http.MethodGet, "/x", "api GET"},
	} {
		name = ""
		c.h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(c.method, c.path, nil))
		if name != c.want {
			t.Errorf("%s %s: task %q, want %q", c.method, c.path, name, c.want)
		}
	}
}

// WithoutSpans: a request with no span in its context is a task without a
// trace, and no span is started for it.
func TestWithoutSpans(t *testing.T) {
	kit := kitrun.Start(t)
	var listed []inspect.Task
	h := tkhttp.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { listed = inspect.Tasks() }), tkhttp.WithoutSpans())
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if len(listed) != 1 || listed[0].Name != "GET" || listed[0].TraceID.IsValid() {
		t.Errorf("listed %+v, want one untraced task", listed)
	}
	if got := kit.ByName(t); len(got) != 0 {
		t.Errorf("spans %v, want none", kittest.Names(kit.Spans.Spans()))
	}
}
