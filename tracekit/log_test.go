package tracekit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/kittest"
)

var (
	testTraceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	testSpanID  = trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	testSC      = trace.NewSpanContext(trace.SpanContextConfig{TraceID: testTraceID, SpanID: testSpanID, TraceFlags: trace.FlagsSampled})
)

// withContext calls its handler with ctx in place of the context it is
// given, so that slogtest, which logs with context.Background, exercises
// the handler under a span.
type withContext struct {
	h   slog.Handler
	ctx context.Context
}

func (w withContext) Enabled(_ context.Context, l slog.Level) bool { return w.h.Enabled(w.ctx, l) }
func (w withContext) Handle(_ context.Context, r slog.Record) error {
	return w.h.Handle(w.ctx, r)
}
func (w withContext) WithAttrs(as []slog.Attr) slog.Handler {
	return withContext{w.h.WithAttrs(as), w.ctx}
}
func (w withContext) WithGroup(name string) slog.Handler {
	return withContext{w.h.WithGroup(name), w.ctx}
}

// jsonLines decodes every line of buf.
func jsonLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v in %q", err, line)
		}
		out = append(out, m)
	}
	return out
}

// The slog.Handler contract, without a span and under one (where the IDs
// are added at the top level, around the groups slogtest opens).
func TestLogHandlerSlogtest(t *testing.T) {
	tests := []struct {
		name    string
		ctx     context.Context
		wantIDs bool
	}{
		{"no span", context.Background(), false},
		{"span", trace.ContextWithSpanContext(context.Background(), testSC), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			slogtest.Run(t, func(*testing.T) slog.Handler {
				buf.Reset()
				h := LogHandler(slog.NewJSONHandler(&buf, nil), WithoutLogExport())
				return withContext{h, tt.ctx}
			}, func(t *testing.T) map[string]any {
				lines := jsonLines(t, &buf)
				if len(lines) != 1 {
					t.Fatalf("%d records, want 1", len(lines))
				}
				m := lines[0]
				if tt.wantIDs {
					if m[logKeyTraceID] != testTraceID.String() || m[logKeySpanID] != testSpanID.String() {
						t.Errorf("ids = %v %v, want %v %v", m[logKeyTraceID], m[logKeySpanID], testTraceID, testSpanID)
					}
				} else if _, ok := m[logKeyTraceID]; ok {
					t.Errorf("trace_id without a span: %v", m)
				}
				delete(m, logKeyTraceID)
				delete(m, logKeySpanID)
				return m
			})
		})
	}
}

func TestLogHandlerIDs(t *testing.T) {
	ctx := trace.ContextWithSpanContext(context.Background(), testSC)
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want string
	}{
		{"plain", func(l *slog.Logger) { l.InfoContext(ctx, "m", "a", 1) },
			`{"msg":"m","a":1,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`},
		{"with attrs", func(l *slog.Logger) { l.With("svc", "s").InfoContext(ctx, "m") },
			`{"msg":"m","svc":"s","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`},
		{"in groups", func(l *slog.Logger) {
			l.With("svc", "s").WithGroup("req").With("id", 7).WithGroup("db").InfoContext(ctx, "m", "rows", 3)
		}, `{"msg":"m","svc":"s","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","req":{"id":7,"db":{"rows":3}}}`},
		{"empty group", func(l *slog.Logger) { l.WithGroup("req").InfoContext(ctx, "m") },
			`{"msg":"m","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`},
		{"no span in groups", func(l *slog.Logger) { l.WithGroup("req").Info("m", "a", 1) },
			`{"msg":"m","req":{"a":1}}`},
		{"no span", func(l *slog.Logger) { l.Info("m") }, `{"msg":"m"}`},
	}
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
			return slog.Attr{}
		}
		return a
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(slog.New(LogHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: noTime}), WithoutLogExport())))
			if got := strings.TrimSpace(buf.String()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestLogHandlerEvents(t *testing.T) {
	errDisk := errors.New("disk full")
	tests := []struct {
		name       string
		opts       []LogOption
		log        func(context.Context, *slog.Logger)
		wantEvents int
		wantName   string
		wantAttrs  map[attribute.Key]string
	}{
		{"error", nil, func(ctx context.Context, l *slog.Logger) {
			l.With("svc", "s").WithGroup("req").ErrorContext(ctx, "save failed", "err", errDisk, slog.Group("db", "rows", 3), "took", time.Second)
		}, 1, "save failed", map[attribute.Key]string{
			keyLogLevel:   "ERROR",
			"svc":         "s",
			"req.err":     "disk full",
			"req.db.rows": "3",
			"req.took":    "1s",
		}},
		{"above error", nil, func(ctx context.Context, l *slog.Logger) { l.Log(ctx, slog.LevelError+4, "worse") },
			1, "worse", map[attribute.Key]string{keyLogLevel: "ERROR+4"}},
		{"warn is not an event", nil, func(ctx context.Context, l *slog.Logger) { l.WarnContext(ctx, "slow") }, 0, "", nil},
		{"warn with WithEventLevel", []LogOption{WithEventLevel(slog.LevelWarn)}, func(ctx context.Context, l *slog.Logger) {
			l.WarnContext(ctx, "slow")
		}, 1, "slow", map[attribute.Key]string{keyLogLevel: "WARN"}},
		{"without the span's context", nil, func(_ context.Context, l *slog.Logger) { l.Error("lost") }, 0, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t)
			ctx, root := r.root(context.Background())
			var buf bytes.Buffer
			l := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil), append(tt.opts, WithoutLogExport())...))
			tt.log(ctx, l)
			root.End()
			events := r.span("root").Events()
			if len(events) != tt.wantEvents {
				t.Fatalf("%d events, want %d", len(events), tt.wantEvents)
			}
			if buf.Len() == 0 {
				t.Error("the record did not reach the next handler")
			}
			if tt.wantEvents == 0 {
				return
			}
			e := events[0]
			if e.Name != tt.wantName {
				t.Errorf("event %q, want %q", e.Name, tt.wantName)
			}
			for k, want := range tt.wantAttrs {
				if got := kittest.EventAttr(e, k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if got := kittest.EventAttr(e, otelsemconv.CodeFunctionNameKey); !strings.HasPrefix(got, "github.com/tracekit-go/tracekit/tracekit.TestLogHandlerEvents.") {
				t.Errorf("code.function.name = %q, want the logging function", got)
			}
		})
	}
}

func TestLogHandlerEnabled(t *testing.T) {
	r := newRecorder(t)
	recording, root := r.root(context.Background())
	defer root.End()
	var buf bytes.Buffer
	next := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError + 4})
	h := LogHandler(next, WithoutLogExport())
	tests := []struct {
		name  string
		ctx   context.Context
		level slog.Level
		want  bool
	}{
		{"below next, no span", context.Background(), slog.LevelError, false},
		{"error under a recording span", recording, slog.LevelError, true},
		{"info under a recording span", recording, slog.LevelInfo, false},
		{"error under a remote span", trace.ContextWithSpanContext(context.Background(), testSC), slog.LevelError, false},
		{"next's level", context.Background(), slog.LevelError + 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.Enabled(tt.ctx, tt.level); got != tt.want {
				t.Errorf("Enabled = %v, want %v", got, tt.want)
			}
		})
	}

	// An event-only record reaches the span and not next.
	slog.New(h).ErrorContext(recording, "only on the span")
	if buf.Len() != 0 {
		t.Errorf("next got a record below its level: %s", buf.String())
	}
}

func TestLogHandlerIdempotent(t *testing.T) {
	var buf bytes.Buffer
	h := LogHandler(slog.NewJSONHandler(&buf, nil), WithoutLogExport())
	if LogHandler(h) != h {
		t.Fatal("wrapping twice made a second handler")
	}
	slog.New(LogHandler(h)).InfoContext(trace.ContextWithSpanContext(context.Background(), testSC), "m")
	if n := strings.Count(buf.String(), logKeyTraceID); n != 1 {
		t.Errorf("trace_id written %d times: %s", n, buf.String())
	}
}

// memLogs keeps what the OpenTelemetry logs SDK exports.
type memLogs struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (m *memLogs) Export(_ context.Context, rs []sdklog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		m.records = append(m.records, r.Clone())
	}
	return nil
}
func (m *memLogs) Shutdown(context.Context) error   { return nil }
func (m *memLogs) ForceFlush(context.Context) error { return nil }

func (m *memLogs) got() []sdklog.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.records)
}

// Records go to the OpenTelemetry logs pipeline with the trace of their
// context, with the attributes and groups the slog side has.
func TestLogHandlerExport(t *testing.T) {
	mem := &memLogs{}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(mem)))
	defer lp.Shutdown(context.Background())
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()

	var buf bytes.Buffer
	l := slog.New(LogHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}), WithLoggerProvider(lp)))
	l.WithGroup("req").InfoContext(ctx, "loaded", "id", "u7")

	got := mem.got()
	if len(got) != 1 {
		t.Fatalf("%d exported records, want 1", len(got))
	}
	rec := got[0]
	if rec.TraceID() != span.SpanContext().TraceID() || rec.SpanID() != span.SpanContext().SpanID() {
		t.Errorf("exported record has trace %v span %v, want the span's", rec.TraceID(), rec.SpanID())
	}
	if rec.Body().AsString() != "loaded" || rec.SeverityText() != "INFO" {
		t.Errorf("body %q severity %q", rec.Body().AsString(), rec.SeverityText())
	}
	if rec.InstrumentationScope().Name != ScopeName {
		t.Errorf("scope %q, want %q", rec.InstrumentationScope().Name, ScopeName)
	}
	var attrs []string
	rec.WalkAttributes(func(kv attribute.KeyValue) bool {
		attrs = append(attrs, string(kv.Key)+"="+kv.Value.Emit())
		return true
	})
	if want := `req={"id":"u7"}`; len(attrs) != 1 || attrs[0] != want {
		t.Errorf("attributes %v, want [%s]", attrs, want)
	}
	if buf.Len() != 0 {
		t.Errorf("next got an INFO record below its WARN level: %s", buf.String())
	}
}

func TestLogHandlerConcurrent(t *testing.T) {
	r := newRecorder(t)
	ctx, root := r.root(context.Background())
	var mu sync.Mutex
	var buf bytes.Buffer
	base := slog.New(LogHandler(slog.NewJSONHandler(&lockedWriter{mu: &mu, w: &buf}, nil), WithoutLogExport())).With("svc", "s")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l := base.WithGroup("g").With("worker", i)
			for j := range 50 {
				l.ErrorContext(ctx, "failed", "j", j)
			}
		})
	}
	wg.Wait()
	root.End()
	if n := len(jsonLines(t, &buf)); n != 400 {
		t.Errorf("%d lines, want 400", n)
	}
	if n := len(r.span("root").Events()); n != 128 { // the SDK's default event limit
		t.Errorf("%d events, want the span's limit of 128", n)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
