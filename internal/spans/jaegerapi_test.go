package spans

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/spans/internal/gen"
)

func TestJaegerQueryURL(t *testing.T) {
	now := time.UnixMicro(1_764_000_000_000_000)
	tests := []struct {
		base string
		q    JaegerQuery
		want string
	}{
		{"http://localhost:16686", JaegerQuery{Trace: "4bf92f3577b34da6a3ce929d0e0e4736"}, "http://localhost:16686/api/traces/4bf92f3577b34da6a3ce929d0e0e4736"},
		{"http://localhost:16686/jaeger/", JaegerQuery{Trace: "abc"}, "http://localhost:16686/jaeger/api/traces/abc"},
		{"http://127.0.0.1:16686", JaegerQuery{Service: "checkout", Now: now},
			"http://127.0.0.1:16686/api/traces?end=1764000000000000&limit=20&service=checkout&start=1763996400000000"},
		{"https://j.example:443", JaegerQuery{Service: "a b", Operation: "GET /x", Lookback: time.Minute, Limit: 5, Now: now},
			"https://j.example:443/api/traces?end=1764000000000000&limit=5&operation=GET+%2Fx&service=a+b&start=1763999940000000"},
	}
	for _, tt := range tests {
		got, err := tt.q.URL(tt.base)
		if err != nil || got != tt.want {
			t.Errorf("URL(%q, %+v) = %q, %v; want %q", tt.base, tt.q, got, err, tt.want)
		}
	}
	for _, bad := range []struct {
		base string
		q    JaegerQuery
	}{
		{"localhost:16686", JaegerQuery{Service: "x"}},
		{"http://h", JaegerQuery{}},
		{"http://h", JaegerQuery{Trace: "xyz"}},
	} {
		if u, err := bad.q.URL(bad.base); err == nil {
			t.Errorf("URL(%q, %+v) = %q, want an error", bad.base, bad.q, u)
		}
	}
}

// TestReadJaeger serves generated Jaeger responses over HTTP on loopback.
func TestReadJaeger(t *testing.T) {
	traces := gen.Traces(5, 3, 4)
	var body bytes.Buffer
	if err := gen.WriteJaeger(&body, traces); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/traces" && r.URL.Query().Get("service") == "frontend":
			w.Write(body.Bytes())
		case r.URL.Path == "/api/traces/0000":
			http.Error(w, `{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}`, http.StatusNotFound)
		default:
			http.Error(w, "unexpected "+r.URL.String(), http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	set, err := ReadJaeger(ctx, srv.Client(), srv.URL, JaegerQuery{Service: "frontend"})
	if err != nil {
		t.Fatal(err)
	}
	if set.NumTraces() != 3 || set.Len() != 12 {
		t.Errorf("%d traces, %d spans", set.NumTraces(), set.Len())
	}
	_, err = ReadJaeger(ctx, srv.Client(), srv.URL, JaegerQuery{Trace: "0000"})
	if !errors.Is(err, ErrJaegerQuery) || !strings.Contains(err.Error(), "404 Not Found") || !strings.Contains(err.Error(), "trace not found") || strings.Contains(err.Error(), "\n") {
		t.Errorf("missing trace: %v", err)
	}
}
