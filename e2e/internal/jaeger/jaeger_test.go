//go:build unix

package jaeger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/tracekit-go/tracekit/e2e/internal/jaeger"
	"github.com/tracekit-go/tracekit/internal/testwait"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logWriter sends Jaeger's output to the test log, a line at a time.
type logWriter struct {
	t   testing.TB
	mu  sync.Mutex
	buf []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.t.Logf("jaeger: %s", w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

// startJaeger starts the real Jaeger and stops it when the test ends.
func startJaeger(t *testing.T) *jaeger.Server {
	t.Helper()
	bin := jaeger.Binary(t)
	begin := time.Now()
	srv, err := jaeger.Start(context.Background(), bin, &logWriter{t: t})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("jaeger (pid %d) healthy after %v", srv.PID(), time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return srv
}

func TestExportAndQuery(t *testing.T) {
	srv := startJaeger(t)

	tests := []struct {
		name     string
		exporter func(context.Context) (sdktrace.SpanExporter, error)
	}{
		{"otlp-http", func(ctx context.Context) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(srv.OTLPHTTPEndpoint()+"/v1/traces"))
		}},
		{"otlp-grpc", func(ctx context.Context) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(srv.OTLPGRPCEndpoint()), otlptracegrpc.WithInsecure())
		}},
	}
	var services []string
	for _, tt := range tests {
		service := "tracekit-e2e-" + tt.name
		services = append(services, service)
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			exp, err := tt.exporter(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(
				sdktrace.WithSyncer(exp),
				sdktrace.WithResource(resource.NewSchemaless(
					attribute.String("service.name", service),
					attribute.String("deployment.environment.name", "e2e"),
				)),
			)
			tracer := tp.Tracer("tracekit/e2e/jaeger")

			const big = int64(1)<<62 + 1 // not representable as float64
			pctx, parent := tracer.Start(ctx, "parent", trace.WithAttributes(
				attribute.String("s", "text"),
				attribute.Bool("b", true),
				attribute.Int64("i", big),
				attribute.Float64("f", 2.5),
			))
			_, child := tracer.Start(pctx, "child", trace.WithSpanKind(trace.SpanKindClient))
			child.AddEvent("step", trace.WithAttributes(attribute.String("k", "v")))
			child.SetStatus(codes.Error, "failed on purpose")
			child.End()
			parent.End()
			exported := time.Now()
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatalf("shutdown tracer provider: %v", err)
			}

			traceID := parent.SpanContext().TraceID().String()
			qctx, cancel := context.WithTimeout(ctx, testwait.Scale(time.Minute))
			defer cancel()
			got, err := srv.TraceWithSpans(qctx, traceID, 2)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("trace queryable %v after export", time.Since(exported).Round(time.Millisecond))

			if got.TraceID != traceID || len(got.Spans) != 2 {
				t.Fatalf("got trace %s with %d spans, want %s with 2", got.TraceID, len(got.Spans), traceID)
			}
			p, ok := got.SpanByName("parent")
			if !ok {
				t.Fatal("no span named parent")
			}
			c, ok := got.SpanByName("child")
			if !ok {
				t.Fatal("no span named child")
			}
			if p.SpanID != parent.SpanContext().SpanID().String() || p.ParentID() != "" {
				t.Errorf("parent: span %s parent %q, want span %s and no parent", p.SpanID, p.ParentID(), parent.SpanContext().SpanID())
			}
			if c.ParentID() != p.SpanID {
				t.Errorf("child.ParentID() = %q, want %q", c.ParentID(), p.SpanID)
			}
			if s := got.ServiceOf(c); s != service {
				t.Errorf("ServiceOf(child) = %q, want %q", s, service)
			}
			if v, _ := got.Processes[p.ProcessID].Tag("deployment.environment.name"); v != "e2e" {
				t.Errorf("process tag deployment.environment.name = %v, want e2e", v)
			}
			for _, tag := range []struct {
				span Span
				key  string
				want any
			}{
				{p, "s", "text"},
				{p, "b", true},
				{p, "i", big},
				{p, "f", 2.5},
				{c, "span.kind", "client"},
				{c, "otel.status_code", "ERROR"},
				{c, "error", true},
			} {
				if v, ok := tag.span.Tag(tag.key); !ok || v != tag.want {
					t.Errorf("%s tag %s = %#v (present %v), want %#v", tag.span.OperationName, tag.key, v, ok, tag.want)
				}
			}
			if len(c.Logs) != 1 {
				t.Fatalf("child has %d logs, want 1", len(c.Logs))
			}
			if v, _ := c.Logs[0].Field("event"); v != "step" {
				t.Errorf("log event = %v, want step", v)
			}
			if v, _ := c.Logs[0].Field("k"); v != "v" {
				t.Errorf("log field k = %v, want v", v)
			}
			if c.Start().Before(p.Start()) || c.Elapsed() > p.Elapsed() || p.Elapsed() <= 0 {
				t.Errorf("child [%v +%v] not within parent [%v +%v]", c.Start(), c.Elapsed(), p.Start(), p.Elapsed())
			}

			raw, err := srv.V3Trace(qctx, traceID)
			if err != nil {
				t.Fatal(err)
			}
			var v3 struct {
				Result struct {
					ResourceSpans []struct {
						ScopeSpans []struct {
							Spans []struct {
								TraceID string `json:"traceId"`
								Name    string `json:"name"`
							} `json:"spans"`
						} `json:"scopeSpans"`
					} `json:"resourceSpans"`
				} `json:"result"`
			}
			if err := json.Unmarshal(raw, &v3); err != nil {
				t.Fatalf("decode v3 trace: %v\n%s", err, raw)
			}
			var names []string
			for _, rs := range v3.Result.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					for _, s := range ss.Spans {
						if s.TraceID != traceID {
							t.Errorf("v3 span %s has trace ID %q, want %q", s.Name, s.TraceID, traceID)
						}
						names = append(names, s.Name)
					}
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"child", "parent"}) {
				t.Errorf("v3 span names = %v, want [child parent]\n%s", names, raw)
			}
		})
	}

	got, err := srv.Services(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range services {
		if !slices.Contains(got, s) {
			t.Errorf("Services() = %v, want it to contain %s", got, s)
		}
	}
}

// Span is shorthand in table literals.
type Span = jaeger.Span

func TestTraceNotFound(t *testing.T) {
	srv := startJaeger(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := srv.Trace(ctx, "0123456789abcdef0123456789abcdef")
	if !errors.Is(err, jaeger.ErrNotFound) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Trace of an unknown ID: err = %v, want ErrNotFound and DeadlineExceeded", err)
	}
}

// TestListensOnLoopbackOnly checks every listening socket of the Jaeger
// process, not just the configured ones: a component with a default endpoint
// would show up here as an extra socket.
func TestListensOnLoopbackOnly(t *testing.T) {
	srv := startJaeger(t)
	socks, err := srv.Sockets()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("cannot list sockets here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	loopback := netip.MustParseAddr("127.0.0.1")
	var gotPorts []int
	for _, s := range socks {
		t.Logf("listening: %v", s)
		if s.Addr.Addr().Unmap() != loopback {
			t.Errorf("jaeger listens on %v, want 127.0.0.1 only", s)
		}
		gotPorts = append(gotPorts, int(s.Addr.Port()))
	}
	var wantPorts []int
	for _, hp := range []string{
		srv.OTLPGRPCEndpoint(),
		strings.TrimPrefix(srv.OTLPHTTPEndpoint(), "http://"),
		strings.TrimPrefix(srv.QueryURL(), "http://"),
		srv.QueryGRPCEndpoint(),
		strings.TrimSuffix(strings.TrimPrefix(srv.HealthURL(), "http://"), "/status"),
	} {
		_, port, err := net.SplitHostPort(hp)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(port)
		wantPorts = append(wantPorts, n)
	}
	slices.Sort(gotPorts)
	slices.Sort(wantPorts)
	if !slices.Equal(gotPorts, wantPorts) {
		t.Errorf("listening ports = %v, want exactly the configured %v", gotPorts, wantPorts)
	}
}

func TestStop(t *testing.T) {
	srv := startJaeger(t)
	pid := srv.PID()
	health := strings.TrimSuffix(strings.TrimPrefix(srv.HealthURL(), "http://"), "/status")

	begin := time.Now()
	if err := srv.Stop(); err != nil {
		t.Fatalf("first Stop: %v", err)
	}
	t.Logf("stopped in %v", time.Since(begin).Round(time.Millisecond))
	if err := srv.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	// Stop has reaped the process, so its pid names nothing (barring reuse).
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill -0 %d after Stop: %v, want ESRCH", pid, err)
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
		t.Errorf("/proc/%d still exists after Stop", pid)
	}
	if c, err := net.DialTimeout("tcp", health, time.Second); err == nil {
		c.Close()
		t.Errorf("health port %s still accepts connections after Stop", health)
	}
}

func TestStartContextEndsProcess(t *testing.T) {
	bin := jaeger.Binary(t)
	ctx, cancel := context.WithCancel(t.Context())
	srv, err := jaeger.Start(ctx, bin, &logWriter{t: t})
	if err != nil {
		t.Fatal(err)
	}
	pid := srv.PID()
	cancel()
	// Server reaps the process as soon as it exits, so its pid disappears
	// without waiting for Stop.
	if !testwait.For(time.Minute, func() bool { return syscall.Kill(pid, 0) != nil }) {
		t.Fatalf("jaeger (pid %d) still running %v after its context was cancelled", pid, testwait.Scale(time.Minute))
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop after the context ended it: %v", err)
	}
}

func TestStartFailsFast(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "fake-jaeger")
	script := "#!/bin/sh\necho 'Error: failed to get config: boom' >&2\nexit 3\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	srv, err := jaeger.Start(t.Context(), fake, nil)
	if err == nil {
		srv.Stop()
		t.Fatal("Start of a failing binary succeeded")
	}
	if elapsed := time.Since(begin); elapsed > testwait.Scale(30*time.Second) {
		t.Errorf("Start took %v to notice the exit", elapsed)
	}
	var se *jaeger.StartError
	if !errors.As(err, &se) || !errors.Is(err, jaeger.ErrExited) {
		t.Fatalf("err = %#v, want a *StartError wrapping ErrExited", err)
	}
	if !strings.Contains(se.Log, "boom") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error does not carry the output: %v", err)
	}
}
