package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// records splits exporter output into lines, requiring that it ends with a
// newline, and checks that every line is one JSON object.
func records(t *testing.T, b []byte) []string {
	t.Helper()
	if len(b) == 0 {
		return nil
	}
	if b[len(b)-1] != '\n' {
		t.Fatalf("output does not end with a newline: %q", b)
	}
	lines := strings.Split(string(b[:len(b)-1]), "\n")
	for i, l := range lines {
		if !json.Valid([]byte(l)) || !strings.HasPrefix(l, "{") {
			t.Errorf("line %d is not a JSON object: %.80q", i+1, l)
		}
	}
	return lines
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// spanNames returns the names of the spans in one encoded request.
func spanNames(t *testing.T, line string) []string {
	t.Helper()
	var req struct {
		ResourceSpans []struct {
			ScopeSpans []struct {
				Spans []struct {
					Name string `json:"name"`
				} `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	}
	if err := json.Unmarshal([]byte(line), &req); err != nil {
		t.Fatalf("%v: %.80q", err, line)
	}
	var names []string
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				names = append(names, s.Name)
			}
		}
	}
	return names
}

func TestExporterWithTracerProvider(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spans.jsonl")
	exp, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	tr := tp.Tracer("tracekit/test", trace.WithInstrumentationVersion("v0.1.0"))

	ctx, parent := tr.Start(context.Background(), "parent", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tr.Start(ctx, "child",
		trace.WithAttributes(attribute.Float64("ratio", math.NaN()), attribute.StringSlice("tags", []string{"a", "b"})),
		trace.WithLinks(trace.Link{SpanContext: parent.SpanContext()}),
	)
	child.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
	child.SetStatus(codes.Error, "out of stock")
	child.End()
	parent.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	lines := records(t, readFile(t, path))
	if len(lines) != 2 {
		t.Fatalf("%d lines, want one per ended span (2)", len(lines))
	}
	c := decode(t, []byte(lines[0]))
	p := decode(t, []byte(lines[1]))
	span := func(req map[string]any, path ...any) any {
		return at(req, append([]any{"resourceSpans", 0, "scopeSpans", 0, "spans", 0}, path...)...)
	}
	pid := parent.SpanContext().SpanID().String()
	tid := parent.SpanContext().TraceID().String()
	checks := []struct {
		name      string
		got, want any
	}{
		{"child name", span(c, "name"), "child"},
		{"parent name", span(p, "name"), "parent"},
		{"trace id", span(c, "traceId"), tid},
		{"parent id", span(c, "parentSpanId"), pid},
		{"kind", compact(t, span(p, "kind")), "2"},
		{"internal kind", compact(t, span(c, "kind")), "1"},
		{"status", compact(t, span(c, "status")), `{"code":2,"message":"out of stock"}`},
		{"event", at(span(c, "events", 0), "name"), "retry"},
		{"link", at(span(c, "links", 0), "spanId"), pid},
		{"nan", compact(t, attrValue(span(c, "attributes"), "ratio")), `{"doubleValue":"NaN"}`},
		{"resource", compact(t, attrValue(at(c, "resourceSpans", 0, "resource", "attributes"), "service.name")), `{"stringValue":"checkout"}`},
		{"scope", compact(t, at(c, "resourceSpans", 0, "scopeSpans", 0, "scope")), `{"name":"tracekit/test","version":"v0.1.0"}`},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		is   error
	}{
		{"missing directory", filepath.Join(dir, "no", "such", "spans.jsonl"), fs.ErrNotExist},
		{"path is a directory", dir, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := New(tt.path)
			if err == nil {
				_ = exp.Shutdown(context.Background())
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name the path", err)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) {
				t.Errorf("error %v is not an *fs.PathError", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

// TestTornFile starts from files in every state a previous run can leave and
// checks that the records written afterwards each sit on a line of their own.
func TestTornFile(t *testing.T) {
	whole := string(AppendRequest(nil, fixtureSpans(t)[:1])) + "\n"
	tests := []struct {
		name   string
		before string // "" creates no file
		repair bool   // a newline must be inserted
	}{
		{"no file", "", false},
		{"empty file", "\x00", false}, // sentinel: create an empty file
		{"whole records", whole + whole, false},
		{"torn record", whole + whole[:len(whole)/2], true},
		{"single torn byte", "{", true},
		{"not json", "garbage", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spans.jsonl")
			before := tt.before
			if before == "\x00" {
				before = ""
			}
			if tt.before != "" {
				if err := os.WriteFile(path, []byte(before), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			exp, err := New(path)
			if err != nil {
				t.Fatal(err)
			}
			spans := fixtureSpans(t)
			for i := range 2 {
				if err := exp.ExportSpans(context.Background(), spans[i:i+1]); err != nil {
					t.Fatal(err)
				}
			}
			if err := exp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}

			got := string(readFile(t, path))
			if !strings.HasPrefix(got, before) {
				t.Fatalf("previous contents were changed")
			}
			added := got[len(before):]
			if tt.repair {
				if !strings.HasPrefix(added, "\n{") {
					t.Fatalf("record after a torn line does not start on a new line: %.40q", added)
				}
				added = added[1:]
			} else if strings.HasPrefix(added, "\n") {
				t.Fatalf("newline inserted into a file that needed none")
			}
			lines := records(t, []byte(added))
			if len(lines) != 2 {
				t.Fatalf("%d new lines, want 2", len(lines))
			}
			for i, want := range []string{"root", "child"} {
				if names := spanNames(t, lines[i]); len(names) != 1 || names[0] != want {
					t.Errorf("line %d holds %q, want [%s]", i+1, names, want)
				}
			}
		})
	}
}

func TestConcurrentExport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spans.jsonl")
	exp, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	var spans []sdktrace.ReadOnlySpan
	for _, s := range fixtureSpans(t) {
		if s != nil {
			spans = append(spans, s)
		}
	}
	const workers, batches = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				n := (w+b)%3 + 1
				if err := exp.ExportSpans(context.Background(), spans[:n]); err != nil {
					t.Error(err)
					return
				}
				if b%10 == 0 {
					if err := exp.ForceFlush(context.Background()); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	lines := records(t, readFile(t, path))
	if len(lines) != workers*batches {
		t.Fatalf("%d lines, want %d", len(lines), workers*batches)
	}
	want := 0
	for w := range workers {
		for b := range batches {
			want += (w+b)%3 + 1
		}
	}
	got := 0
	for _, l := range lines {
		got += len(spanNames(t, l))
	}
	if got != want {
		t.Errorf("%d spans in the file, want %d", got, want)
	}
}

// recorder is a writer that counts Flush and Close calls.
type recorder struct {
	bytes.Buffer
	flushes, closes int
}

func (r *recorder) Flush() error { r.flushes++; return nil }
func (r *recorder) Close() error { r.closes++; return nil }

func TestShutdown(t *testing.T) {
	ctx := context.Background()
	spans := fixtureSpans(t)[:1]

	t.Run("file", func(t *testing.T) {
		exp, err := New(filepath.Join(t.TempDir(), "spans.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if err := exp.ExportSpans(ctx, spans); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if err := exp.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown #%d: %v", i+1, err)
			}
		}
		if err := exp.ExportSpans(ctx, spans); !errors.Is(err, ErrShutdown) {
			t.Errorf("ExportSpans after Shutdown = %v, want ErrShutdown", err)
		}
		if err := exp.ForceFlush(ctx); err != nil {
			t.Errorf("ForceFlush after Shutdown = %v, want nil", err)
		}
		if _, err := exp.file.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
			t.Errorf("file still open after Shutdown: write returned %v", err)
		}
	})

	t.Run("writer", func(t *testing.T) {
		var w recorder
		exp := NewWriter(&w)
		if err := exp.ExportSpans(ctx, spans); err != nil {
			t.Fatal(err)
		}
		if err := exp.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
		if w.flushes != 1 {
			t.Errorf("ForceFlush made %d Flush calls, want 1", w.flushes)
		}
		for range 2 {
			if err := exp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if w.flushes != 2 || w.closes != 0 {
			t.Errorf("after two Shutdowns: %d flushes, %d closes; want 2 and 0", w.flushes, w.closes)
		}
		if err := exp.ExportSpans(ctx, spans); !errors.Is(err, ErrShutdown) {
			t.Errorf("ExportSpans after Shutdown = %v, want ErrShutdown", err)
		}
		if n := len(records(t, w.Bytes())); n != 1 {
			t.Errorf("%d records, want 1", n)
		}
	})
}

func TestContext(t *testing.T) {
	spans := fixtureSpans(t)[:1]
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	t.Run("cancelled export writes nothing", func(t *testing.T) {
		var w bytes.Buffer
		exp := NewWriter(&w)
		if err := exp.ExportSpans(cancelled, spans); !errors.Is(err, context.Canceled) {
			t.Errorf("ExportSpans = %v, want context.Canceled", err)
		}
		if err := exp.ForceFlush(cancelled); !errors.Is(err, context.Canceled) {
			t.Errorf("ForceFlush = %v, want context.Canceled", err)
		}
		if w.Len() != 0 {
			t.Errorf("wrote %d bytes", w.Len())
		}
		// Shutdown with a done context still finishes when nothing is in
		// its way.
		if err := exp.Shutdown(cancelled); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	})

	t.Run("waiting for a busy exporter ends with the context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var w recorder
			exp := NewWriter(&w)
			// Hold the lock as a slow write in progress would.
			if err := exp.acquire(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			if err := exp.ExportSpans(ctx, spans); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("ExportSpans = %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d != time.Second {
				t.Errorf("ExportSpans gave up after %v, want 1s", d)
			}
			if err := exp.ForceFlush(cancelled); !errors.Is(err, context.Canceled) {
				t.Errorf("ForceFlush = %v, want context.Canceled", err)
			}
			if err := exp.Shutdown(cancelled); !errors.Is(err, context.Canceled) {
				t.Errorf("Shutdown = %v, want context.Canceled", err)
			}
			// A Shutdown that timed out still refuses new exports.
			if err := exp.ExportSpans(context.Background(), spans); !errors.Is(err, ErrShutdown) {
				t.Errorf("ExportSpans after an unfinished Shutdown = %v, want ErrShutdown", err)
			}
			exp.release()
			if err := exp.Shutdown(context.Background()); err != nil {
				t.Errorf("second Shutdown = %v", err)
			}
			if w.flushes != 1 || w.Len() != 0 {
				t.Errorf("after Shutdown: %d flushes, %d bytes; want 1 and 0", w.flushes, w.Len())
			}
		})
	})
}

func TestWithSyncEveryExport(t *testing.T) {
	spans := fixtureSpans(t)[:2]
	for _, opts := range [][]Option{nil, {WithSyncEveryExport()}, {nil, WithSyncEveryExport()}} {
		t.Run(fmt.Sprintf("%d options", len(opts)), func(t *testing.T) {
			want := 0
			if len(opts) > 0 {
				want = 3
			}

			var w recorder
			exp := NewWriter(&w, opts...)
			for range 3 {
				if err := exp.ExportSpans(context.Background(), spans); err != nil {
					t.Fatal(err)
				}
			}
			if w.flushes != want {
				t.Errorf("writer: %d flushes after 3 exports, want %d", w.flushes, want)
			}

			// A file is fsynced; all that can be observed is that it works.
			path := filepath.Join(t.TempDir(), "spans.jsonl")
			fexp, err := New(path, opts...)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if err := fexp.ExportSpans(context.Background(), spans); err != nil {
					t.Fatal(err)
				}
			}
			if err := fexp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := len(records(t, readFile(t, path))); n != 3 {
				t.Errorf("%d records, want 3", n)
			}
		})
	}
}

// With a bufio.Writer nothing reaches the destination until a flush.
func TestBufferedWriter(t *testing.T) {
	var dst bytes.Buffer
	bw := bufio.NewWriterSize(&dst, 1<<16)
	exp := NewWriter(bw)
	if err := exp.ExportSpans(context.Background(), fixtureSpans(t)[:1]); err != nil {
		t.Fatal(err)
	}
	if dst.Len() != 0 {
		t.Fatalf("bufio.Writer flushed early")
	}
	if err := exp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(records(t, dst.Bytes())); n != 1 {
		t.Errorf("%d records after ForceFlush, want 1", n)
	}
}

// failingWriter accepts the first n bytes of its first write, then fails.
type failingWriter struct {
	bytes.Buffer
	n      int
	failed bool
}

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if !w.failed {
		w.failed = true
		n := min(w.n, len(p))
		w.Buffer.Write(p[:n])
		return n, errDiskFull
	}
	return w.Buffer.Write(p)
}

func TestWriteErrorRepairsOutput(t *testing.T) {
	spans := fixtureSpans(t)[:1]
	for _, n := range []int{0, 1, 10} {
		t.Run(fmt.Sprintf("%d bytes written", n), func(t *testing.T) {
			w := &failingWriter{n: n}
			exp := NewWriter(w)
			err := exp.ExportSpans(context.Background(), spans)
			if !errors.Is(err, errDiskFull) {
				t.Fatalf("ExportSpans = %v, want it to wrap the write error", err)
			}
			if !strings.Contains(err.Error(), "*file.failingWriter") {
				t.Errorf("error %q does not name the writer", err)
			}
			if err := exp.ExportSpans(context.Background(), spans); err != nil {
				t.Fatal(err)
			}
			out := w.String()
			torn := out[:n]
			if n > 0 && !strings.HasPrefix(out[n:], "\n") {
				t.Fatalf("record after a partial write does not start on a new line: %.40q", out)
			}
			rest := strings.TrimPrefix(out[len(torn):], "\n")
			if got := len(records(t, []byte(rest))); got != 1 {
				t.Errorf("%d whole records, want 1", got)
			}
		})
	}
}

func TestNewOnDevice(t *testing.T) {
	// A character device can be neither read back nor fsynced.
	exp, err := New(os.DevNull, WithSyncEveryExport())
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(context.Background(), fixtureSpans(t)); err != nil {
		t.Error(err)
	}
	if err := exp.ForceFlush(context.Background()); err != nil {
		t.Error(err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestEmptyBatchWritesNothing(t *testing.T) {
	var w bytes.Buffer
	exp := NewWriter(&w)
	for _, spans := range [][]sdktrace.ReadOnlySpan{nil, {}} {
		if err := exp.ExportSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	if w.Len() != 0 {
		t.Errorf("wrote %q", w.String())
	}
}

func TestMarshalLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spans.jsonl")
	exp, err := New(path, WithSyncEveryExport())
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	tests := []struct {
		exp  *Exporter
		want string
	}{
		{exp, fmt.Sprintf(`{"Type":"file","Destination":%q,"SyncEveryExport":true}`, path)},
		{NewWriter(&bytes.Buffer{}), `{"Type":"file","Destination":"*bytes.Buffer","SyncEveryExport":false}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.exp.MarshalLog())
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("MarshalLog = %s, want %s", b, tt.want)
		}
	}
}

func TestString(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spans.jsonl")
	exp, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	if got, want := exp.String(), "file "+path; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
