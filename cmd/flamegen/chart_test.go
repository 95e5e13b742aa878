package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/exporters/file"
	"github.com/tracekit-go/tracekit/tracekit"
)

// chartTrace writes one trace with tracekit's exporter: a root whose group
// runs two goroutines in parallel (so they need two lanes), one of which
// fails, and a span name that needs escaping. It returns the file and the
// trace id.
func chartTrace(t *testing.T) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(file.NewWriter(f)))
	ctx, root := tp.Tracer("test").Start(context.Background(), "checkout <cart & co>")
	g := tracekit.NewGroup(ctx, "steps")
	// Each waits until the other has started, so that they overlap in time,
	// and prices goes on for 15ms after stock has ended, however late
	// either is scheduled.
	var started sync.WaitGroup
	started.Add(2)
	stockDone := make(chan struct{})
	g.Go("prices", func(ctx context.Context) error {
		started.Done()
		started.Wait()
		_, sp := tp.Tracer("test").Start(ctx, "db.query")
		time.Sleep(5 * time.Millisecond)
		sp.SetStatus(codes.Error, "timeout")
		sp.End()
		<-stockDone
		time.Sleep(15 * time.Millisecond)
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
	f.Close()
	return path, root.SpanContext().TraceID().String()
}

// bar is a drawn bar: its row (y) and x, and its tooltip.
type bar struct {
	y       string
	x0, x1  float64
	title   string
	classes string
}

var barRE = regexp.MustCompile(`<g><title>([^<]*)</title><rect x="([0-9.]+)" y="([0-9]+)" width="([0-9.]+)"[^>]*?( class="[a-z]+")?/>`)

func bars(t *testing.T, svg string) map[string]bar {
	t.Helper()
	out := map[string]bar{}
	for _, m := range barRE.FindAllStringSubmatch(svg, -1) {
		var x, w float64
		if _, err := fmtSscan(m[2], &x); err != nil {
			t.Fatal(err)
		}
		if _, err := fmtSscan(m[4], &w); err != nil {
			t.Fatal(err)
		}
		// The first line is "name (duration, share)"; the trace has one
		// service, said in the subtitle instead of in every bar.
		first, _, _ := strings.Cut(m[1], "&#xA;")
		name := first[:strings.LastIndex(first, " (")]
		out[name] = bar{m[3], x, x + w, m[1], m[5]}
	}
	return out
}

func TestTraceChart(t *testing.T) {
	path, id := chartTrace(t)
	out, errOut, code := flamegen(t, "", "--trace", id, path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	again, _, _ := flamegen(t, "", path, "--trace", id)
	if again != out {
		t.Error("two runs differ")
	}
	b := bars(t, out)
	if len(b) != 5 {
		t.Fatalf("%d bars, want 5: %v", len(b), b)
	}
	root := b["checkout &lt;cart &amp; co&gt;"]
	prices, stock, query := b["prices"], b["stock"], b["db.query"]
	if root.title == "" || prices.title == "" || stock.title == "" || query.title == "" {
		t.Fatalf("bars %v", b)
	}
	// Parallel goroutines in separate lanes, inside their parent in time.
	if prices.y == stock.y {
		t.Errorf("prices and stock overlap in time but share row %s", prices.y)
	}
	if prices.x0 < root.x0 || prices.x1 > root.x1+0.01 || query.x0 < prices.x0 || query.x1 > prices.x1+0.01 {
		t.Errorf("a child is outside its parent: root %v prices %v query %v", root, prices, query)
	}
	if !strings.Contains(query.title, "status: Error: timeout") || query.classes != ` class="err"` {
		t.Errorf("error not marked: %+v", query)
	}
	// prices ends last: it and the root are the critical path.
	if prices.classes != ` class="crit"` || !strings.Contains(prices.title, "on the critical path") || stock.classes != "" {
		t.Errorf("critical path: prices %q stock %q", prices.classes, stock.classes)
	}
	for _, want := range []string{"kind: goroutine", "duration ", "self ", "service: unknown_service", "tracekit.kind = goroutine"} {
		if !strings.Contains(prices.title, want) {
			t.Errorf("prices tooltip lacks %q: %s", want, prices.title)
		}
	}
	if !regexp.MustCompile(`^stock \([0-9]+\.[0-9]{2} ms, [0-9]+\.[0-9]{2}%\)&#xA;duration `).MatchString(stock.title) {
		t.Errorf("stock's tooltip does not start with its name, duration and share: %s", stock.title)
	}
	for _, want := range []string{`<g id="ruler">`, "0 ns</text>", "Dark red line", "status Error (1)", "Trace " + id, ">service unknown_service:flamegen.test · "} {
		if !strings.Contains(out, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if strings.Contains(out, "<cart") {
		t.Error("a span name reached the SVG unescaped")
	}

	// --format folded aggregates just that trace.
	folded, errOut, code := flamegen(t, "", "--trace", id, "--format", "folded", path)
	if code != 0 || !regexp.MustCompile(`: checkout <cart & co>;[^;]*: steps;[^;]*: prices;[^;]*: db.query \d+\n`).MatchString(folded) {
		t.Errorf("folded: exit %d %s\n%s", code, errOut, folded)
	}
}

func TestTraceChartErrors(t *testing.T) {
	path, _ := chartTrace(t)
	folded := filepath.Join(t.TempDir(), "cpu.folded")
	os.WriteFile(folded, []byte("a;b 1\n"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad id", []string{"--trace", "xyz", path}, `--trace "xyz": expected a trace id`},
		{"unknown id", []string{"--trace", "123", path}, "no trace 00000000000000000000000000000123 among its 1 traces"},
		{"a profile", []string{"--trace", "123", folded}, "--trace expects traces"},
		{"no input", []string{"--trace", "123"}, "expected one trace input"},
		{"jaeger and a file", []string{"--jaeger", "http://127.0.0.1:1", "--trace", "123", path}, "expected no input files"},
		{"jaeger without a query", []string{"--jaeger", "http://127.0.0.1:1"}, "a trace id or a service is required"},
		{"jaeger bad URL", []string{"--jaeger", "127.0.0.1:16686", "--service", "x"}, "want http(s)://host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := flamegen(t, "", tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
		})
	}
}

// The --jaeger flags turn into Jaeger's query API requests; the answer is
// the Jaeger JSON the spans package reads (its committed testdata, made by
// its generator).
func TestJaegerFlags(t *testing.T) {
	body, err := os.ReadFile("../../internal/spans/testdata/traces-jaeger.json")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Path+"?"+r.URL.Query().Get("service")+"/"+r.URL.Query().Get("limit"))
		w.Write(body)
	}))
	defer srv.Close()
	out, errOut, code := flamegen(t, "", "--jaeger", srv.URL, "--service", "checkout", "--limit", "7", "--format", "folded")
	if code != 0 || out == "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	line := strings.SplitN(out, "\n", 2)[0]
	id := regexp.MustCompile(`"traceID":\s*"([0-9a-f]+)"`).FindSubmatch(body)
	if id == nil {
		t.Fatal("no trace id in the fixture")
	}
	chart, errOut, code := flamegen(t, "", "--jaeger", srv.URL, "--trace", string(id[1]))
	if code != 0 || !strings.Contains(chart, `<g id="bars">`) {
		t.Fatalf("chart: exit %d: %s", code, errOut)
	}
	want := []string{"/api/traces?checkout/7", "/api/traces/" + string(id[1]) + "?/"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("requests %v, want %v (first folded line %q)", got, want, line)
	}
}

func fmtSscan(s string, v *float64) (int, error) { return fmt.Sscan(s, v) }
