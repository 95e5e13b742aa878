package otlp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracekit-go/tracekit/internal/kittest"
)

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name         string
		env          map[string]string
		opts         []Option
		wantProto    Protocol
		wantEndpoint string
	}{
		{"defaults", nil, nil, ProtocolHTTPProtobuf, "http://localhost:4318/v1/traces"},
		{"grpc default", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, nil, ProtocolGRPC, "localhost:4317"},
		{"generic endpoint gets path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, nil, ProtocolHTTPProtobuf, "http://collector:4318/v1/traces"},
		{"signal endpoint used as is", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:9/custom"}, nil, ProtocolHTTPProtobuf, "http://c:9/custom"},
		{"signal protocol beats generic", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, nil, ProtocolHTTPProtobuf, "http://localhost:4318/v1/traces"},
		{"option beats env", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, []Option{WithProtocol(ProtocolGRPC)}, ProtocolGRPC, "localhost:4317"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			proto, endpoint, err := newConfig(tc.opts).resolve(traces)
			if err != nil {
				t.Fatal(err)
			}
			if proto != tc.wantProto || endpoint != tc.wantEndpoint {
				t.Errorf("resolve = %s %s, want %s %s", proto, endpoint, tc.wantProto, tc.wantEndpoint)
			}
		})
	}
}

func TestBadProtocol(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	var reported []error
	exp, err := NewTraceExporter(context.Background(), WithErrorHandler(func(err error) { reported = append(reported, err) }))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	if exp.Protocol() != ProtocolHTTPProtobuf {
		t.Errorf("protocol = %s, want the default after a bad value", exp.Protocol())
	}
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), `OTEL_EXPORTER_OTLP_PROTOCOL="http/json"`) {
		t.Errorf("reported = %v, want the bad variable named", reported)
	}
	if _, err := NewTraceExporter(context.Background(), WithProtocol("http/json")); err == nil {
		t.Error("an unknown protocol option was accepted")
	}
	if _, err := NewTraceExporter(context.Background(), WithEndpoint("http://")); err == nil {
		t.Error("an endpoint without a host was accepted")
	}
}

func spans() []sdktrace.ReadOnlySpan {
	stubs := tracetest.SpanStubs{{Name: "exported"}}
	return stubs.Snapshots()
}

func TestHTTPExportReachesServer(t *testing.T) {
	var (
		mu    sync.Mutex
		paths []string
		types []string
		sizes []int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths = append(paths, r.URL.Path)
		types = append(types, r.Header.Get("Content-Type"))
		sizes = append(sizes, len(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	exp, err := NewTraceExporter(context.Background(), WithEndpoint(srv.URL), WithHeaders(map[string]string{"x-team": "core"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(context.Background(), spans()); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 1 || paths[0] != "/v1/traces" || types[0] != "application/x-protobuf" || sizes[0] == 0 {
		t.Errorf("server saw paths %v types %v sizes %v, want one protobuf POST to /v1/traces", paths, types, sizes)
	}
	if got := exp.String(); got != "otlp http/protobuf "+srv.URL+"/v1/traces" {
		t.Errorf("String() = %q", got)
	}
}

func TestUnreachableErrorNamesEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for _, proto := range []Protocol{ProtocolGRPC, ProtocolHTTPProtobuf} {
		t.Run(strings.ReplaceAll(string(proto), "/", "-"), func(t *testing.T) {
			exp, err := NewTraceExporter(context.Background(), WithEndpoint(addr), WithProtocol(proto), WithTimeout(300*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer exp.Shutdown(context.Background())
			err = exp.ExportSpans(context.Background(), spans())
			if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), string(proto)) {
				t.Errorf("ExportSpans = %v, want an error naming %s and %s", err, proto, addr)
			}
			if errors.Is(err, context.Canceled) {
				t.Errorf("error claims cancellation: %v", err)
			}
		})
	}
}

// The log exporter goes where the options and the OTEL_EXPORTER_OTLP_LOGS_*
// variables say, with the configured headers.
func TestLogExporterHonoursOptions(t *testing.T) {
	type req struct{ path, team string }
	var (
		mu   sync.Mutex
		seen []req
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, req{r.URL.Path, r.Header.Get("x-team")})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	export := func(t *testing.T, opts ...Option) string {
		t.Helper()
		exp, err := NewLogExporter(context.Background(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		var rec sdklog.Record
		if err := exp.Export(context.Background(), []sdklog.Record{rec}); err != nil {
			t.Fatal(err)
		}
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(exp)
	}
	if got := export(t, WithEndpoint(srv.URL), WithHeaders(map[string]string{"x-team": "core"}), WithTimeout(time.Minute)); got != "otlp http/protobuf "+srv.URL+"/v1/logs" {
		t.Errorf("String() = %q", got)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", srv.URL+"/custom/logs")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=env")
	export(t)
	mu.Lock()
	defer mu.Unlock()
	want := []req{{"/v1/logs", "core"}, {"/custom/logs", "env"}}
	if !slices.Equal(seen, want) {
		t.Errorf("server saw %v, want %v", seen, want)
	}
}

func TestLogExporterErrorNamesEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	exp, err := NewLogExporter(context.Background(), WithEndpoint(addr), WithProtocol(ProtocolGRPC), WithTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	var rec sdklog.Record
	if err := exp.Export(context.Background(), []sdklog.Record{rec}); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("Export = %v, want an error naming %s", err, addr)
	}
}

func TestStallReportedBeforeTimeout(t *testing.T) {
	addr := kittest.SilentEndpoint(t)
	for _, proto := range []Protocol{ProtocolGRPC, ProtocolHTTPProtobuf} {
		t.Run(strings.ReplaceAll(string(proto), "/", "-"), func(t *testing.T) {
			stalls := make(chan error, 4)
			exp, err := NewTraceExporter(context.Background(), WithEndpoint(addr), WithProtocol(proto),
				WithTimeout(time.Hour), WithStallReport(50*time.Millisecond),
				WithErrorHandler(func(err error) { stalls <- err }))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- exp.ExportSpans(ctx, spans()) }()
			var stall *StallError
			select {
			case err := <-stalls:
				if !errors.As(err, &stall) {
					t.Fatalf("reported %v; want a *StallError", err)
				}
			case err := <-done:
				t.Fatalf("export to a silent endpoint ended (%v) before a stall was reported", err)
			}
			msg := stall.Error()
			for _, want := range []string{addr, string(proto), "1 spans", "not answered after 50ms", "until its timeout (1h0m0s)"} {
				if !strings.Contains(msg, want) {
					t.Errorf("stall report %q does not say %q", msg, want)
				}
			}
			cancel()
			if err := <-done; err == nil {
				t.Error("a cancelled export to a silent endpoint succeeded")
			}
			sctx, scancel := context.WithTimeout(context.Background(), time.Second)
			defer scancel()
			exp.Shutdown(sctx)
		})
	}
}

// Metric and log exports report their stalls as span exports do.
func TestMetricAndLogStallReported(t *testing.T) {
	addr := kittest.SilentEndpoint(t)
	for _, tc := range []struct {
		signal string
		export func(stalls chan<- error) (func(context.Context) error, func(context.Context) error)
		want   string
	}{
		{"metrics", func(stalls chan<- error) (func(context.Context) error, func(context.Context) error) {
			exp, err := NewMetricExporter(context.Background(), WithEndpoint(addr), WithTimeout(time.Hour),
				WithStallReport(50*time.Millisecond), WithErrorHandler(func(err error) { stalls <- err }))
			if err != nil {
				t.Fatal(err)
			}
			return func(ctx context.Context) error { return exp.Export(ctx, &metricdata.ResourceMetrics{}) }, exp.Shutdown
		}, "export of metrics not answered"},
		{"logs", func(stalls chan<- error) (func(context.Context) error, func(context.Context) error) {
			exp, err := NewLogExporter(context.Background(), WithEndpoint(addr), WithProtocol(ProtocolGRPC), WithTimeout(time.Hour),
				WithStallReport(50*time.Millisecond), WithErrorHandler(func(err error) { stalls <- err }))
			if err != nil {
				t.Fatal(err)
			}
			return func(ctx context.Context) error { return exp.Export(ctx, make([]sdklog.Record, 2)) }, exp.Shutdown
		}, "export of 2 log records not answered"},
	} {
		t.Run(tc.signal, func(t *testing.T) {
			stalls := make(chan error, 4)
			export, shutdown := tc.export(stalls)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- export(ctx) }()
			select {
			case err := <-stalls:
				var stall *StallError
				if !errors.As(err, &stall) || stall.Signal != tc.signal || !strings.Contains(err.Error(), addr) ||
					!strings.Contains(err.Error(), tc.want) {
					t.Errorf("reported %v; want a %s *StallError naming %s and saying %q", err, tc.signal, addr, tc.want)
				}
			case err := <-done:
				t.Fatalf("export to a silent endpoint ended (%v) before a stall was reported", err)
			}
			cancel()
			<-done
			sctx, scancel := context.WithTimeout(context.Background(), time.Second)
			defer scancel()
			shutdown(sctx)
		})
	}
}
