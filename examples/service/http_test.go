package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/console"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
	"github.com/tracekit-go/tracekit/tracekit/tracekittest"
)

// fileSpan is what the tests read of a span in the OTLP JSON file.
type fileSpan struct {
	Name         string
	TraceID      string `json:"traceId"`
	SpanID       string `json:"spanId"`
	ParentSpanID string `json:"parentSpanId"`
	Kind         int
	Status       struct{ Code int }
	Attributes   []struct {
		Key   string
		Value struct {
			StringValue string `json:"stringValue"`
		}
	}
}

func (s fileSpan) attr(key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.StringValue
		}
	}
	return ""
}

// exportTo sets the environment the service reads for the test: spans go
// to the file at path, or nowhere when path is "none"; no metrics or logs.
func exportTo(t *testing.T, path string) {
	t.Helper()
	if path == "none" {
		t.Setenv("OTEL_TRACES_EXPORTER", "none")
	} else {
		t.Setenv("OTEL_TRACES_EXPORTER", "file")
		t.Setenv("TRACEKIT_FILE_PATH", path)
	}
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	t.Setenv("OTEL_LOGS_EXPORTER", "none")
}

// readSpans reads the span file the file exporter wrote, keyed by trace and
// span ID.
func readSpans(t *testing.T, path string) map[string]fileSpan {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spans := map[string]fileSpan{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var req struct {
			ResourceSpans []struct {
				ScopeSpans []struct{ Spans []fileSpan }
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			t.Fatalf("bad line: %v", err)
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans[s.TraceID+"/"+s.SpanID] = s
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return spans
}

// parent returns the parent of s in spans, if it was recorded.
func parent(spans map[string]fileSpan, s fileSpan) (fileSpan, bool) {
	p, ok := spans[s.TraceID+"/"+s.ParentSpanID]
	return p, ok
}

// TestHTTPMode drives the service's handler end to end through a real HTTP
// server: concurrent orders contend on the price cache, and every order's
// spans hang under its request's server span.
func TestHTTPMode(t *testing.T) {
	defer tracekittest.VerifyNoLeaks(t)
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	exportTo(t, path)
	// Waits on the price cache last a refresh (1-3 ms) or more; a low slow
	// threshold makes each of them a lock.wait span.
	t.Setenv("TRACEKIT_SLOW", "500us")
	ctx := context.Background()
	kit, err := sdk.Start(ctx, sdk.WithServiceName("order-service"))
	if err != nil {
		t.Fatal(err)
	}
	const workers, orders = 4, 16
	s := newServer(slog.New(slog.NewJSONHandler(io.Discard, nil)), options{workers: workers, seed: 3})
	ts := httptest.NewServer(s.handler())

	codes := make([]int, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			resp, err := ts.Client().Post(ts.URL+"/orders", "application/json", strings.NewReader(`{"id": `+strconv.Itoa(i)+`}`))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var res orderResult
			if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || res.ID != i {
				t.Errorf("order %d: response %+v, %v", i, res, err)
			}
			codes[i] = resp.StatusCode
		})
	}
	// Before the workers start, every request is a task of the console,
	// named after its route, in its trace, waiting for the queue or for
	// its reply.
	var page struct {
		Tasks []struct {
			Name      string `json:"name"`
			TraceID   string `json:"trace_id"`
			WaitingOn string `json:"waiting_on"`
		} `json:"tasks"`
	}
	requests := 0
	testwait.For(time.Minute, func() bool {
		kittest.GetJSON(t, console.Handler(), "/?format=json", &page)
		requests = 0
		for _, task := range page.Tasks {
			if task.Name == "POST /orders" && task.TraceID != "" &&
				(task.WaitingOn == `send on "order-queue"` || task.WaitingOn == `receive from "order-reply"`) {
				requests++
			}
		}
		return requests == orders
	})
	if requests != orders {
		t.Errorf("the console lists %d requests waiting, want %d: %+v", requests, orders, page.Tasks)
	}
	workDone := make(chan error, 1)
	go func() { workDone <- s.work(ctx, workers) }()
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK && c != http.StatusConflict && c != http.StatusInternalServerError {
			t.Errorf("order %d: status %d", i, c)
		}
	}
	resp, err := ts.Client().Get(ts.URL + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	var counts map[string]int
	err = json.NewDecoder(resp.Body).Decode(&counts)
	resp.Body.Close()
	if err != nil || counts["processed"] != orders {
		t.Errorf("GET /orders = %v, %v; want %d processed", counts, err, orders)
	}
	bad, err := ts.Client().Post(ts.URL+"/orders", "application/json", strings.NewReader(`{"id": "x"}`))
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Errorf("POST a bad body: status %d, want 400", bad.StatusCode)
	}

	ts.Close()
	s.queue.Close()
	if err := <-workDone; err != nil {
		t.Errorf("workers: %v", err)
	}
	if err := kit.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	spans := readSpans(t, path)
	count := map[string]int{}
	for _, sp := range spans {
		count[sp.Name]++
		name := sp.Name
		if kind := sp.attr("tracekit.kind"); kind == "lock.wait" {
			name = kind
			count[kind]++
		}
		switch name {
		case "handle-order":
			p, ok := parent(spans, sp)
			if !ok || p.Name != "POST /orders" || p.Kind != 2 { // 2: SPAN_KIND_SERVER
				t.Errorf("handle-order's parent is %+v (found %v), want the POST /orders server span", p.Name, ok)
			}
		case "chan.recv order-reply":
			// A request whose handler reached its receive only after the
			// worker had replied (a handler descheduled on a busy machine)
			// did not wait, and has no span; every wait recorded hangs
			// under its request.
			if p, _ := parent(spans, sp); p.Name != "POST /orders" {
				t.Errorf("chan.recv order-reply's parent is %q, want POST /orders", p.Name)
			}
		case "fetch-prices", "reserve-stock":
			if p, _ := parent(spans, sp); p.Name != "order-steps" {
				t.Errorf("%s's parent is %q, want order-steps", sp.Name, p.Name)
			}
		case "lock.wait":
			if sp.attr("tracekit.lock.name") != "price-cache" {
				t.Errorf("lock.wait on %q, want price-cache", sp.attr("tracekit.lock.name"))
			}
			if p, _ := parent(spans, sp); p.Name != "fetch-prices" {
				t.Errorf("lock.wait's parent is %q, want fetch-prices", p.Name)
			}
		}
	}
	for name, want := range map[string]int{"POST /orders": orders + 1, "GET /orders": 1, "handle-order": orders, "chan.recv order-queue": 0, "fetch-prices": orders, "order-workers": 1, "order-worker": workers} {
		if count[name] != want {
			t.Errorf("%d %q spans, want %d (all: %v)", count[name], name, want, count)
		}
	}
	// Every order takes over a millisecond (its currency lookup alone), so
	// most requests wait for their reply; none waits twice.
	if n := count["chan.recv order-reply"]; n == 0 || n > orders {
		t.Errorf("%d \"chan.recv order-reply\" spans, want 1 to %d (all: %v)", n, orders, count)
	}
	// Four workers refreshing prices under one lock: some order waits.
	if count["lock.wait"] == 0 {
		t.Errorf("no lock.wait span on the contended price cache (all: %v)", count)
	}
}

// TestLoadGenerator runs the HTTP mode with -load as a user would: the
// service sends itself the requests through an instrumented client, prints
// their latency percentiles, and shuts down; every request's trace starts at
// the client span and reaches handle-order.
func TestLoadGenerator(t *testing.T) {
	defer tracekittest.VerifyNoLeaks(t)
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	exportTo(t, path)
	var out bytes.Buffer
	err := run(context.Background(), []string{"-listen", "127.0.0.1:0", "-load", "40", "-concurrency", "8", "-workers", "4", "-log", filepath.Join(t.TempDir(), "log")}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	round := regexp.MustCompile(`load round 1: 40 requests in \S+ \(\d+/s\), (\d+) failed; latency p50 (\S+) p90 (\S+) p99 (\S+) max (\S+); status( \d+:\d+)+\n`)
	if !round.MatchString(out.String()) || !strings.Contains(out.String(), "served 40 orders") {
		t.Fatalf("output does not report the round and the orders:\n%s", out.String())
	}

	spans := readSpans(t, path)
	orders := 0
	for _, sp := range spans {
		if sp.Name != "handle-order" {
			continue
		}
		orders++
		server, ok := parent(spans, sp)
		if !ok || server.Name != "POST /orders" {
			t.Fatalf("handle-order's parent is %q", server.Name)
		}
		client, ok := parent(spans, server)
		if !ok || client.Kind != 3 { // 3: SPAN_KIND_CLIENT
			t.Fatalf("the server span's parent is %+v, want the load generator's client span", client)
		}
	}
	if orders != 40 {
		t.Errorf("%d handle-order spans, want 40", orders)
	}
}

// cancelAfter cancels a context once what was written to it contains want.
type cancelAfter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	want   string
	cancel context.CancelFunc
}

func (w *cancelAfter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.cancel()
	}
	return len(p), nil
}

// TestLoadLoop runs rounds of load until interrupted, as the compose stack
// does, and checks that the interrupt ends the service cleanly.
func TestLoadLoop(t *testing.T) {
	defer tracekittest.VerifyNoLeaks(t)
	exportTo(t, "none")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelAfter{want: "load round 3:", cancel: cancel}
	err := run(ctx, []string{"-listen", "127.0.0.1:0", "-load", "5", "-loop", "-every", "10ms", "-log", filepath.Join(t.TempDir(), "log")}, out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.buf.String())
	}
	if got := out.buf.String(); !strings.Contains(got, "load round 2: 5 requests") || !strings.Contains(got, "served ") {
		t.Errorf("output:\n%s", got)
	}
}

func TestHTTPFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-load", "5"},
		{"-listen", "127.0.0.1:0", "-loop"},
		{"-listen", "127.0.0.1:0", "-load", "-1"},
		{"-listen", "127.0.0.1:0", "-concurrency", "0"},
		{"-listen", "127.0.0.1:0", "-load", "5", "-every", "1s"},
		{"-listen", "127.0.0.1:0", "-load", "5", "-loop", "-every", "-1s"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if err := run(context.Background(), args, io.Discard); err == nil {
				t.Errorf("run(%q) = nil, want a usage error", args)
			}
		})
	}
}

// TestPriceCacheContention shows the contended lock and its fix directly:
// while one order refreshes a price, an order for another product can take
// the lock only when the refresh happens outside it. (In a bubble: the
// refresh's latency and the lookup's deadline run on its fake clock.)
func TestPriceCacheContention(t *testing.T) {
	for _, fixed := range []bool{false, true} {
		t.Run("fixed="+strconv.FormatBool(fixed), func(t *testing.T) {
			tracekittest.Synctest(t, func(t *testing.T) { priceCacheContention(t, fixed) })
		})
	}
}

func priceCacheContention(t *testing.T, fixed bool) {
	c := newPriceCache(fixed)
	c.ttl = time.Hour
	c.entries[1] = priceEntry{fetched: time.Now()} // product 1 is fresh
	refreshing := make(chan error, 1)
	go func() {
		refreshing <- c.lookup(context.Background(), order{id: 0, priceLatency: 300 * time.Millisecond})
	}()
	// Once the bubble is still, the refresh has started: product 0 is
	// absent and the lock is either held (the bug) or free (the fix).
	synctest.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.lookup(ctx, order{id: 1})
	if fixed && err != nil {
		t.Errorf("a fresh price waited for another product's refresh: %v", err)
	}
	if !fixed && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("lookup during a refresh under the lock = %v, want it to wait past its deadline", err)
	}
	if err := <-refreshing; err != nil {
		t.Fatal(err)
	}
	if _, ok := c.entries[0]; !ok {
		t.Error("the refresh stored nothing")
	}
}
