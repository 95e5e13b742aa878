//go:build !tracekit_nosync

package tkhttp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/kittest/kitrun"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
	"github.com/tracekit-go/tracekit/tracekit/tkhttp"
)

// Inside otelhttp, a request is a task bound to otelhttp's server span:
// the console's registry lists it by route, a lock it waits on is a child
// of that span, the hang report found there carries its trace and names the
// request holding the lock with that one's trace, and no span is added.
func TestRequestUnderOtelhttp(t *testing.T) {
	kit := kitrun.Start(t, sdk.WithSlowThreshold(time.Millisecond), sdk.WithHangTimeout(100*time.Millisecond))
	var ledger tracekit.Mutex
	ledger.SetName("ledger")
	held, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /close", func(w http.ResponseWriter, r *http.Request) {
		ledger.Lock()
		close(held)
		<-release
		ledger.Unlock()
	})
	mux.HandleFunc("GET /balance", func(w http.ResponseWriter, r *http.Request) {
		ledger.Lock() // a plain Lock: the request's task is found by its goroutine
		ledger.Unlock()
		fmt.Fprintln(w, 42)
	})
	srv := httptest.NewServer(otelhttp.NewHandler(tkhttp.Handler(mux), "bank", otelhttp.WithTracerProvider(kit.TracerProvider())))
	defer srv.Close()
	client := srv.Client()

	closing := send(client, http.MethodPost, srv.URL+"/close", nil)
	<-held
	balance := send(client, http.MethodGet, srv.URL+"/balance", nil)
	var holder, waiter inspect.Task
	if !testwait.For(time.Minute, func() bool {
		var ok1, ok2 bool
		holder, ok1 = task("POST /close")
		waiter, ok2 = task("GET /balance")
		return ok1 && ok2 && waiter.WaitingOn == `lock "ledger"` && waiter.HeldBy == holder.ID
	}) {
		t.Fatalf("the requests are not listed, one waiting for the other: %+v", inspect.Tasks())
	}
	rep, ok := kit.Reports.WaitFor(inspect.KindHang, time.Minute)
	if !ok {
		t.Fatal("no hang report")
	}
	close(release)
	if c := <-closing; c != http.StatusOK {
		t.Errorf("POST /close: %d", c)
	}
	if c := <-balance; c != http.StatusOK {
		t.Errorf("GET /balance: %d", c)
	}

	got := kit.ByName(t)
	for name, ss := range got {
		for _, s := range ss {
			if attr(s, semconv.Kind).AsString() == semconv.KindTask {
				t.Errorf("a span of its own for the request: %q", name)
			}
		}
	}
	if len(got["GET /balance"]) != 1 || len(got["POST /close"]) != 1 || len(got["lock.wait ledger"]) != 1 {
		t.Fatalf("spans: %v; want otelhttp's, named after their routes, and one lock wait", kittest.Names(kit.Spans.Spans()))
	}
	get, post, wait := got["GET /balance"][0], got["POST /close"][0], got["lock.wait ledger"][0]
	if get.SpanKind() != trace.SpanKindServer || waiter.SpanID != get.SpanContext().SpanID() || holder.SpanID != post.SpanContext().SpanID() {
		t.Errorf("the tasks are not bound to otelhttp's server spans: %+v, %+v", waiter, holder)
	}
	if wait.Parent().SpanID() != get.SpanContext().SpanID() {
		t.Errorf("lock.wait's parent = %s, want the request's span %s", wait.Parent().SpanID(), get.SpanContext().SpanID())
	}
	if rep.SpanContext.SpanID() != get.SpanContext().SpanID() || rep.SpanContext.TraceID() != get.SpanContext().TraceID() {
		t.Errorf("hang report on span %s of trace %s, want the waiting request's %s", rep.SpanContext.SpanID(), rep.SpanContext.TraceID(), get.SpanContext().SpanID())
	}
	if len(rep.Tasks) != 1 || rep.Tasks[0].ID != holder.ID || rep.Tasks[0].TraceID != post.SpanContext().TraceID() ||
		!strings.Contains(rep.String(), fmt.Sprintf(`held by task %d "POST /close"`, holder.ID)) ||
		!strings.Contains(rep.String(), "trace "+post.SpanContext().TraceID().String()) {
		t.Errorf("the report does not name the holding request and its trace:\n%s", rep)
	}
	if _, ok := task("GET /balance"); ok {
		t.Error("the request is still listed after it was served")
	}
}
