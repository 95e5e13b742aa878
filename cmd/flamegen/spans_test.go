package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/exporters/file"
	"github.com/tracekit-go/tracekit/tracekit"
)

// traceFile makes an OTLP JSON lines file with tracekit's own exporter: one
// trace whose root runs two goroutine tasks in parallel.
func traceFile(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(file.NewWriter(&buf)))
	ctx, root := tp.Tracer("test").Start(context.Background(), "checkout")
	g := tracekit.NewGroup(ctx, "steps")
	// Both start before either ends, and prices runs on alone for 10 ms
	// after stock ends, however late either is scheduled.
	var started sync.WaitGroup
	started.Add(2)
	stockDone := make(chan struct{})
	g.Go("prices", func(context.Context) error {
		started.Done()
		started.Wait()
		<-stockDone
		time.Sleep(10 * time.Millisecond)
		return nil
	})
	g.Go("stock", func(context.Context) error {
		defer close(stockDone)
		started.Done()
		started.Wait()
		time.Sleep(10 * time.Millisecond)
		return nil
	})
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	root.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestTraceInputAggregates(t *testing.T) {
	in := traceFile(t)
	out, errOut, code := flamegen(t, in, "--format", "folded", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Frames are "service: span name" paths; the service is the SDK's
	// default resource name.
	var total int64
	names := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		i := strings.LastIndexByte(line, ' ')
		var v int64
		fmt.Sscan(line[i+1:], &v)
		total += v
		parts := strings.Split(line[:i], ";")
		names[parts[len(parts)-1]] += v
	}
	var prices, stock int64
	for name, v := range names {
		switch {
		case strings.HasSuffix(name, ": prices"):
			prices = v
		case strings.HasSuffix(name, ": stock"):
			stock = v
		}
	}
	// Wall-clock attribution: for the first 10 ms both tasks run and share
	// the group's time; then prices runs alone. So prices gets more than
	// stock, and the whole graph adds up to the root's wall time.
	if prices <= stock || stock <= 0 {
		t.Errorf("prices %d ns, stock %d ns: want prices > stock > 0\n%s", prices, stock, out)
	}
	if total < int64(20*time.Millisecond) || total > int64(time.Second) {
		t.Errorf("total %d ns, want about the root's wall time (20 ms or a little more)", total)
	}

	sumOut, _, _ := flamegen(t, in, "--format", "top", "--weight", "sum", "-")
	if !strings.Contains(sumOut, ": prices") {
		t.Errorf("--weight sum output lacks the spans:\n%s", sumOut)
	}
}

func TestTraceInputGzipAndSVG(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(traceFile(t)))
	zw.Close()
	out, errOut, code := flamegen(t, z.String(), "-")
	if code != 0 || !strings.Contains(out, "<svg") || !strings.Contains(out, "<title>checkout (") {
		t.Fatalf("exit %d, stderr %q; SVG lacks the root span", code, errOut)
	}
}

func TestTraceInputErrors(t *testing.T) {
	_, errOut, code := flamegen(t, traceFile(t), "--weight", "cpu", "-")
	if code != 2 || !strings.Contains(errOut, `--weight "cpu"`) {
		t.Errorf("bad --weight: exit %d, %q", code, errOut)
	}
	_, errOut, code = flamegen(t, `{"resourceSpans": [`, "-")
	if code != 2 || !strings.Contains(errOut, "line 1") {
		t.Errorf("truncated JSON: exit %d, %q", code, errOut)
	}
}

func TestDiffSpans(t *testing.T) {
	dir := t.TempDir()
	before, after := dir+"/monday.jsonl", dir+"/tuesday.jsonl"
	for _, p := range []string{before, after} {
		if err := os.WriteFile(p, []byte(traceFile(t)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, code := flamegen(t, "", "diff", "--spans", "--format", "folded", before, after)
	if code != 0 || !strings.Contains(out, ": prices") {
		t.Fatalf("diff --spans: exit %d, %q\n%s", code, errOut, out)
	}
	// Each line carries the before and after values of a span path.
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) < 3 {
			t.Errorf("diff line %q lacks two counts", line)
		}
	}
	_, errOut, code = flamegen(t, "a;b 1\n", "--spans", "-")
	if code != 2 || !strings.Contains(errOut, "as --spans asks") {
		t.Errorf("--spans with folded input: exit %d, %q", code, errOut)
	}
}
