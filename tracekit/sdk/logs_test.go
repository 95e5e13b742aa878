package sdk

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	lognoop "go.opentelemetry.io/otel/log/noop"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/tracekit-go/tracekit/exporters/otlp"
	"github.com/tracekit-go/tracekit/tracekit"
)

// otlpLogs is an OTLP logs receiver, over HTTP (its handler) and gRPC
// (its service), that keeps every record it is sent.
type otlpLogs struct {
	collogs.UnimplementedLogsServiceServer
	mu      sync.Mutex
	paths   []string
	records []*logspb.LogRecord
}

func (o *otlpLogs) keep(path string, req *collogs.ExportLogsServiceRequest) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.paths = append(o.paths, path)
	for _, rl := range req.GetResourceLogs() {
		for _, sl := range rl.GetScopeLogs() {
			o.records = append(o.records, sl.GetLogRecords()...)
		}
	}
}

func (o *otlpLogs) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	o.keep("grpc", req)
	return &collogs.ExportLogsServiceResponse{}, nil
}

func (o *otlpLogs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path != "/v1/logs" {
		// Spans and metrics are accepted and dropped.
		w.WriteHeader(http.StatusOK)
		return
	}
	req := &collogs.ExportLogsServiceRequest{}
	if err := proto.Unmarshal(body, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.keep(r.URL.Path, req)
	out, _ := proto.Marshal(&collogs.ExportLogsServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (o *otlpLogs) got() ([]string, []*logspb.LogRecord) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.paths...), append([]*logspb.LogRecord(nil), o.records...)
}

// logUnderSpan logs one INFO record through the kit's handler under a span
// of the kit and shuts the kit down; it returns the span's trace ID.
func logUnderSpan(t *testing.T, kit *Kit, msg string) string {
	t.Helper()
	ctx, span := testTracer(kit).Start(context.Background(), "op")
	slog.New(tracekit.LogHandler(slog.NewTextHandler(io.Discard, nil), tracekit.WithLoggerProvider(kit.LoggerProvider()))).InfoContext(ctx, msg, "order", 7)
	span.End()
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	return span.SpanContext().TraceID().String()
}

// Logs go over OTLP to where the traces go, with the trace of their context.
func TestLogsOTLP(t *testing.T) {
	t.Run("http", func(t *testing.T) {
		recv := &otlpLogs{}
		srv := httptest.NewServer(recv)
		defer srv.Close()
		kit := startKit(t, WithOTLP(otlp.WithEndpoint(srv.URL)), WithMetricsExporter(ExporterNone), WithLogsExporter(ExporterOTLP))
		traceID := logUnderSpan(t, kit, "order shipped")
		checkLogs(t, recv, "/v1/logs", traceID, "order shipped")
	})
	// Spans go to a file; logs follow the OTLP options and environment.
	t.Run("grpc", func(t *testing.T) {
		recv := &otlpLogs{}
		addr := grpcLogs(t, recv)
		t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
		t.Setenv("OTEL_LOGS_EXPORTER", "otlp")
		kit := startKit(t, WithOTLP(otlp.WithEndpoint(addr)), WithTracesExporter(ExporterNone), WithMetricsExporter(ExporterNone))
		traceID := logUnderSpan(t, kit, "payment declined")
		checkLogs(t, recv, "grpc", traceID, "payment declined")
	})
	// Only the standard environment, as a deployment sets it.
	t.Run("environment", func(t *testing.T) {
		recv := &otlpLogs{}
		srv := httptest.NewServer(recv)
		defer srv.Close()
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
		t.Setenv("OTEL_LOGS_EXPORTER", "otlp")
		t.Setenv("OTEL_METRICS_EXPORTER", "none")
		kit := startKit(t)
		traceID := logUnderSpan(t, kit, "from the environment")
		checkLogs(t, recv, "/v1/logs", traceID, "from the environment")
	})
	// OTEL_EXPORTER_OTLP_LOGS_* send logs elsewhere than the traces.
	t.Run("logs endpoint", func(t *testing.T) {
		recv := &otlpLogs{}
		addr := grpcLogs(t, recv)
		tracesRecv := &otlpLogs{}
		traces := httptest.NewServer(tracesRecv)
		defer traces.Close()
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces.URL+"/v1/traces")
		t.Setenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc")
		t.Setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://"+addr)
		kit := startKit(t, WithMetricsExporter(ExporterNone), WithLogsExporter(ExporterOTLP))
		traceID := logUnderSpan(t, kit, "elsewhere")
		checkLogs(t, recv, "grpc", traceID, "elsewhere")
		if _, records := tracesRecv.got(); len(records) != 0 {
			t.Errorf("%d records went to the traces endpoint", len(records))
		}
	})
}

// grpcLogs serves recv over gRPC on a loopback port until the test ends.
func grpcLogs(t *testing.T, recv *otlpLogs) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	collogs.RegisterLogsServiceServer(gs, recv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(l)
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-done
	})
	return l.Addr().String()
}

func checkLogs(t *testing.T, recv *otlpLogs, wantPath, traceID, msg string) {
	t.Helper()
	paths, records := recv.got()
	if len(records) != 1 {
		t.Fatalf("receiver got %d records on %v, want 1", len(records), paths)
	}
	if paths[0] != wantPath {
		t.Errorf("records came on %q, want %q", paths[0], wantPath)
	}
	r := records[0]
	if got := r.GetBody().GetStringValue(); got != msg {
		t.Errorf("body %q, want %q", got, msg)
	}
	if got := otlpHex(r.GetTraceId()); got != traceID {
		t.Errorf("trace ID %s, want the span's %s", got, traceID)
	}
	if r.GetSeverityText() != "INFO" || len(r.GetAttributes()) != 1 || r.GetAttributes()[0].GetKey() != "order" {
		t.Errorf("record %v", r)
	}
}

func otlpHex(b []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return sb.String()
}

func TestLogsConsole(t *testing.T) {
	var buf bytes.Buffer
	t.Setenv("OTEL_LOGS_EXPORTER", "console")
	kit := startKit(t, WithTracesExporter(ExporterNone), WithConsoleWriter(&buf), WithMetricsExporter(ExporterNone))
	logUnderSpan(t, kit, "printed record")
	if !strings.Contains(buf.String(), "printed record") {
		t.Errorf("console output lacks the record:\n%s", buf.String())
	}
}

func TestLogsOffByDefault(t *testing.T) {
	var e errs
	t.Setenv("OTEL_LOGS_EXPORTER", "bogus")
	kit := startKit(t, WithTracesExporter(ExporterNone), WithErrorHandler(e.handle))
	if !e.mention(`OTEL_LOGS_EXPORTER="bogus"`) {
		t.Errorf("unknown logs exporter not reported; got %v", e.String())
	}
	if kit.logs.lp != nil {
		t.Error("a logs pipeline without OTEL_LOGS_EXPORTER")
	}
	if _, ok := kit.LoggerProvider().(lognoop.LoggerProvider); !ok {
		t.Errorf("the Kit's logger provider is %T without a logs pipeline, want a no-op one", kit.LoggerProvider())
	}
	if _, err := Start(context.Background(), WithoutGlobals(), WithTracesExporter(ExporterNone), WithLogsExporter("file")); err == nil || !strings.Contains(err.Error(), `unknown logs exporter "file"`) {
		t.Errorf("WithLogsExporter(file): %v, want an error naming it", err)
	}
}

// Export failures reach the Kit's error handler with the destination.
func TestLogsExportErrorReported(t *testing.T) {
	var e errs
	kit := startKit(t, WithOTLP(otlp.WithEndpoint(closedPort(t))), WithTracesExporter(ExporterNone),
		WithMetricsExporter(ExporterNone), WithLogsExporter(ExporterOTLP), WithErrorHandler(e.handle))
	slog.New(tracekit.LogHandler(slog.NewTextHandler(io.Discard, nil), tracekit.WithLoggerProvider(kit.LoggerProvider()))).Info("lost")
	ctx, cancel := context.WithTimeout(context.Background(), 2e9)
	defer cancel()
	_ = kit.Shutdown(ctx)
	var ee *ExportError
	if !e.as(&ee) || ee.Signal != SignalLogs || ee.Items != 1 || !strings.HasPrefix(ee.Destination, "otlp ") {
		t.Errorf("error handler got: %v; want an *ExportError of 1 log record to otlp", e.String())
	}
}
