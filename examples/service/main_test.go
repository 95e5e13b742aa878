package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoWorkload runs the program as `make demo` does, with the file
// exporter, and checks the spans it wrote.
func TestDemoWorkload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	logPath := filepath.Join(t.TempDir(), "log.jsonl")
	t.Setenv("OTEL_TRACES_EXPORTER", "file")
	t.Setenv("TRACEKIT_FILE_PATH", path)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-orders", "60", "-workers", "4", "-seed", "7", "-log", logPath}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "traces: "+path) || !strings.Contains(out.String(), "processed 60 orders") {
		t.Errorf("output does not say what happened and where the traces went:\n%s", out.String())
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	count := map[string]int{}
	errored := map[string]int{}
	failedOrders := map[string]bool{} // trace_id/span_id of failed handle-order spans
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var req struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []struct {
						Name    string
						TraceID string `json:"traceId"`
						SpanID  string `json:"spanId"`
						Status  struct{ Code int }
					}
				}
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			t.Fatalf("bad line: %v", err)
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					// A test binary calls package main by its import path.
					if rest, ok := strings.CutPrefix(s.Name, "service."); ok {
						s.Name = "main." + rest
					}
					count[s.Name]++
					if s.Status.Code == 2 {
						errored[s.Name]++
						if s.Name == "handle-order" {
							failedOrders[s.TraceID+"/"+s.SpanID] = true
						}
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"handle-order": 60, "fetch-prices": 60, "lookup-currency": 60, "reserve-stock": 60, "compute-recommendations": 6, "order-batch": 1, "main.(*inventory).reserve": 60} {
		if count[name] != want {
			t.Errorf("%d %q spans, want %d (all: %v)", count[name], name, want, count)
		}
	}
	if errored["reserve-stock"] == 0 && errored["apply-coupon"] == 0 {
		t.Errorf("no failed step in 60 orders with seed 7; errors: %v", errored)
	}
	if errored["reserve-stock"] != errored["main.(*inventory).reserve"] || errored["apply-coupon"] != errored["main.applyCoupon"] {
		t.Errorf("function spans do not carry their errors and panics: %v", errored)
	}

	// One ERROR line per failed order, naming the order's span.
	logData, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	logged := 0
	for line := range strings.Lines(string(logData)) {
		var rec struct {
			Level, Msg string
			Trace      string `json:"trace_id"`
			Span       string `json:"span_id"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("bad log line %q: %v", line, err)
		}
		if rec.Level != "ERROR" || rec.Msg != "order failed" || !failedOrders[rec.Trace+"/"+rec.Span] {
			t.Errorf("log line %s does not name a failed handle-order span", line)
		}
		logged++
	}
	if logged != len(failedOrders) || logged == 0 {
		t.Errorf("%d log lines for %d failed orders", logged, len(failedOrders))
	}
}

func TestBadFlags(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-orders", "0"}, &out)
	if err == nil || !strings.Contains(err.Error(), "-orders") {
		t.Errorf("run(-orders 0) = %v, want an error naming the flag", err)
	}
}
