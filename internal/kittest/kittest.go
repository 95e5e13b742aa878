// Package kittest holds what tracekit's own tests share: a span exporter
// that keeps what it got, span and metric lookups, a collector of reports
// and their log records, and GETs of an http.Handler. Only tests import it.
package kittest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	rtrace "runtime/trace"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// Keeper is a span exporter that keeps what it got after Shutdown (the
// tracetest in-memory exporter forgets on Shutdown).
type Keeper struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

// ExportSpans keeps spans.
func (k *Keeper) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	k.mu.Lock()
	k.spans = append(k.spans, spans...)
	k.mu.Unlock()
	return nil
}

// Shutdown does nothing: the spans stay.
func (k *Keeper) Shutdown(context.Context) error { return nil }

// Spans returns the spans exported so far.
func (k *Keeper) Spans() []sdktrace.ReadOnlySpan {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.spans)
}

// Names returns the spans' names, in order.
func Names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

// Attr returns the span's attribute key.
func Attr(s sdktrace.ReadOnlySpan, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// EventAttr returns the event's attribute key as text, or "".
func EventAttr(e sdktrace.Event, key attribute.Key) string {
	for _, kv := range e.Attributes {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// HistCount returns the number of recordings of the float64 histogram
// metric whose attribute key has the value value.
func HistCount(t testing.TB, reader sdkmetric.Reader, metric, key, value string) uint64 {
	t.Helper()
	var n uint64
	for _, m := range collect(t, reader) {
		if m.Name != metric {
			continue
		}
		h, ok := m.Data.(metricdata.Histogram[float64])
		if !ok {
			t.Fatalf("%s is %T", metric, m.Data)
		}
		for _, dp := range h.DataPoints {
			if v, ok := dp.Attributes.Value(attribute.Key(key)); ok && v.Emit() == value {
				n += dp.Count
			}
		}
	}
	return n
}

// SumCounter returns the sum of the int64 counter metric over its
// attribute sets, those holding every attribute of where if any are given.
func SumCounter(t testing.TB, reader sdkmetric.Reader, metric string, where ...attribute.KeyValue) int64 {
	t.Helper()
	var n int64
	for _, m := range collect(t, reader) {
		if s, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == metric {
			for _, dp := range s.DataPoints {
				if hasAll(dp.Attributes, where) {
					n += dp.Value
				}
			}
		}
	}
	return n
}

// hasAll reports whether set holds every attribute of where.
func hasAll(set attribute.Set, where []attribute.KeyValue) bool {
	for _, kv := range where {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

func collect(t testing.TB, reader sdkmetric.Reader) []metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var out []metricdata.Metrics
	for _, sm := range rm.ScopeMetrics {
		out = append(out, sm.Metrics...)
	}
	return out
}

// Reports collects reports (Add is a report handler) and, through Logger,
// their slog records.
type Reports struct {
	mu   sync.Mutex
	list []inspect.Report
	log  bytes.Buffer
}

// Add keeps r.
func (c *Reports) Add(r inspect.Report) {
	c.mu.Lock()
	c.list = append(c.list, r)
	c.mu.Unlock()
}

// All returns the reports kept so far, in order.
func (c *Reports) All() []inspect.Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.list)
}

// Kinds returns the kinds of All.
func (c *Reports) Kinds() []inspect.Kind {
	var out []inspect.Kind
	for _, r := range c.All() {
		out = append(out, r.Kind)
	}
	return out
}

// Logger returns a text logger whose records Logged returns.
func (c *Reports) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{c}, nil))
}

// Logged returns what Logger's records wrote.
func (c *Reports) Logged() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

type logWriter struct{ c *Reports }

func (w logWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.log.Write(p)
}

// Get serves GET target with h, as for a browser on this machine (Host
// 127.0.0.1), and returns the status and the body.
func Get(t testing.TB, h http.Handler, target string) (int, string) {
	t.Helper()
	rr := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = "127.0.0.1"
	h.ServeHTTP(rr, req)
	body, _ := io.ReadAll(rr.Result().Body)
	return rr.Code, string(body)
}

// GetJSON serves GET target with h and decodes the body into v; anything
// but 200 and JSON fails the test.
func GetJSON(t testing.TB, h http.Handler, target string, v any) {
	t.Helper()
	code, body := Get(t, h, target)
	if code != http.StatusOK {
		t.Fatalf("%s: status %d: %s", target, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%s: %v\n%s", target, err, body)
	}
}

// WaitFor waits until a report of kind k has been made, or d (scaled by
// TRACEKIT_TEST_TIMEOUT_SCALE) has passed (on the bubble's clock inside a
// synctest bubble), and returns the first one.
func (c *Reports) WaitFor(k inspect.Kind, d time.Duration) (inspect.Report, bool) {
	deadline := time.Now().Add(testwait.Scale(d))
	for {
		for _, r := range c.All() {
			if r.Kind == k {
				return r, true
			}
		}
		if time.Now().After(deadline) {
			return inspect.Report{}, false
		}
		time.Sleep(time.Millisecond)
	}
}

// TaskGoroutinesGone waits until no goroutine runs a tracekit task: Wait
// returns once the task's span has ended, a moment before its goroutine
// does, and an execution trace stopped in that moment still has the task's
// span open (it ends with the goroutine).
func TaskGoroutinesGone(t testing.TB) {
	t.Helper()
	buf := make([]byte, 1<<20)
	if !testwait.For(time.Minute, func() bool {
		n := runtime.Stack(buf, true)
		return !bytes.Contains(buf[:n], []byte("tracekit.(*Task).run("))
	}) {
		t.Fatalf("task goroutines still running:\n%s", buf[:runtime.Stack(buf, true)])
	}
}

// StartExecTrace starts a Go execution trace into the buffer it returns
// and stops it when t ends, unless the test stops it first; it skips t when
// one already records (go test -trace).
func StartExecTrace(t testing.TB) *bytes.Buffer {
	t.Helper()
	if rtrace.IsEnabled() {
		t.Skip("an execution trace is already recording (go test -trace)")
	}
	var buf bytes.Buffer
	if err := rtrace.Start(&buf); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() {
		if rtrace.IsEnabled() {
			rtrace.Stop()
		}
	})
	return &buf
}

// SilentEndpoint returns the address of a listener that accepts connections
// and never answers, like a Collector whose process hangs; it closes them
// when t ends.
func SilentEndpoint(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// SpansInFile counts the spans in a file of OTLP JSON lines, failing t on
// a line that is not JSON.
func SpansInFile(t testing.TB, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var req struct {
			ResourceSpans []struct {
				ScopeSpans []struct{ Spans []json.RawMessage }
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			t.Fatalf("%s: a line is not JSON: %v", path, err)
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				n += len(ss.Spans)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}
