package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/tracekittest"
)

// counts parses the summary line of the output.
func counts(t *testing.T, out string) (generated, parsed, aggregated int) {
	t.Helper()
	m := regexp.MustCompile(`generated (\d+), parsed (\d+), aggregated (\d+) records`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary line in:\n%s", out)
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	return n(m[1]), n(m[2]), n(m[3])
}

func quiet(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	t.Setenv("OTEL_LOGS_EXPORTER", "none")
}

// TestEnds runs the pipeline to each of its ends and checks what reached
// the end of it, the error, and that no goroutine is left behind.
func TestEnds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr func(error) bool
		check   func(t *testing.T, generated, parsed, aggregated int)
	}{{
		name: "input runs out",
		args: []string{"-items", "5000", "-parsers", "3", "-buffer", "4"},
		check: func(t *testing.T, g, p, a int) {
			if g != 5000 || p != 5000 || a != 5000 {
				t.Errorf("generated %d, parsed %d, aggregated %d; want 5000 each", g, p, a)
			}
		},
	}, {
		name: "unbuffered",
		args: []string{"-items", "300", "-buffer", "0"},
		check: func(t *testing.T, g, p, a int) {
			if g != 300 || a != 300 {
				t.Errorf("generated %d, aggregated %d; want 300", g, a)
			}
		},
	}, {
		// A slow last stage keeps the channels full when the stop comes:
		// everything generated must still be aggregated.
		name: "graceful stop drains",
		args: []string{"-items", "100000", "-buffer", "8", "-slow", "200us", "-stop-after", "50ms"},
		check: func(t *testing.T, g, p, a int) {
			if g == 0 || g == 100000 {
				t.Errorf("generated %d: the stop did not come mid-run", g)
			}
			if p != g || a != g {
				t.Errorf("generated %d, parsed %d, aggregated %d: records lost in the drain", g, p, a)
			}
		},
	}, {
		name: "malformed record fails the run",
		args: []string{"-items", "100000", "-bad-at", "500"},
		wantErr: func(err error) bool {
			var pe *parseError
			return errors.As(err, &pe) && errors.Is(err, errNoComma) && strings.Contains(err.Error(), `"sensor-0;broken"`)
		},
		check: func(t *testing.T, g, p, a int) {
			if g < 500 || g == 100000 || p < a {
				t.Errorf("generated %d, parsed %d, aggregated %d: the failure did not stop the run", g, p, a)
			}
		},
	}, {
		name: "timeout aborts",
		args: []string{"-items", "100000", "-slow", "1ms", "-timeout", "30ms"},
		wantErr: func(err error) bool {
			return errors.Is(err, context.DeadlineExceeded) && strings.Contains(err.Error(), "-timeout 30ms passed")
		},
		check: func(t *testing.T, g, p, a int) {
			if g == 100000 || a >= g {
				t.Errorf("generated %d, aggregated %d: the timeout did not abort", g, a)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			defer tracekittest.VerifyNoLeaks(t)
			quiet(t)
			var out bytes.Buffer
			err := run(context.Background(), context.Background(), tc.args, &out)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !tc.wantErr(err) {
				t.Fatalf("run(%q) = %v\n%s", tc.args, err, out.String())
			}
			g, p, a := counts(t, out.String())
			tc.check(t, g, p, a)
		})
	}
}

// TestInterrupt stops the pipeline the way an interrupt does, through the
// stop context, while it is running.
func TestInterrupt(t *testing.T) {
	defer tracekittest.VerifyNoLeaks(t)
	quiet(t)
	stopCtx, stop := context.WithCancel(context.Background())
	// Stop once the generator waits on the full buffer: surely mid-run.
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		testwait.For(time.Minute, func() bool {
			return slices.ContainsFunc(inspect.Tasks(), func(ti inspect.Task) bool {
				return ti.Name == "generate" && ti.WaitingOn == `send on "raw-records"`
			})
		})
		stop()
	}()
	defer func() { <-stopped }()
	var out bytes.Buffer
	if err := run(context.Background(), stopCtx, []string{"-items", "1000000", "-slow", "100us"}, &out); err != nil {
		t.Fatal(err)
	}
	if g, _, a := counts(t, out.String()); g == 1000000 || a != g {
		t.Errorf("generated %d, aggregated %d; want a stop mid-run and nothing lost", g, a)
	}
	if !strings.Contains(out.String(), "sensor-0") {
		t.Errorf("no per-sensor table:\n%s", out.String())
	}
}

// TestTrace checks the spans: every stage under the pipeline's group, and
// backpressure from the slow stage recorded as chan.send spans on the
// channels, with their names.
func TestTrace(t *testing.T) {
	defer tracekittest.VerifyNoLeaks(t)
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	t.Setenv("OTEL_TRACES_EXPORTER", "file")
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	t.Setenv("OTEL_LOGS_EXPORTER", "none")
	t.Setenv("TRACEKIT_FILE_PATH", path)
	t.Setenv("TRACEKIT_SLOW", "1ms")
	var out bytes.Buffer
	if err := run(context.Background(), context.Background(), []string{"-items", "40", "-parsers", "2", "-buffer", "1", "-slow", "3ms"}, &out); err != nil {
		t.Fatal(err)
	}

	type span struct {
		Name, SpanID, ParentSpanID string
		Attributes                 []struct {
			Key   string
			Value struct{ StringValue string }
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byID := map[string]span{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var req struct {
			ResourceSpans []struct{ ScopeSpans []struct{ Spans []span } }
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			t.Fatal(err)
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					byID[s.SpanID] = s
				}
			}
		}
	}
	parentOf := func(s span) string { return byID[s.ParentSpanID].Name }
	count := map[string]int{}
	blockedOn := map[string]bool{} // channel names with a chan.send span
	for _, s := range byID {
		count[s.Name]++
		switch s.Name {
		case "generate", "parse", "aggregate":
			if parentOf(s) != "pipeline" {
				t.Errorf("%s is under %q, want pipeline", s.Name, parentOf(s))
			}
		case "parser":
			if parentOf(s) != "parsers" {
				t.Errorf("parser is under %q", parentOf(s))
			}
		}
		for _, a := range s.Attributes {
			if a.Key == "tracekit.kind" && a.Value.StringValue == "chan.send" {
				for _, b := range s.Attributes {
					if b.Key == "tracekit.chan.name" {
						blockedOn[b.Value.StringValue] = true
					}
				}
			}
		}
	}
	for name, want := range map[string]int{"pipeline": 1, "generate": 1, "parse": 1, "parsers": 1, "parser": 2, "aggregate": 1} {
		if count[name] != want {
			t.Errorf("%d %q spans, want %d (all: %v)", count[name], name, want, count)
		}
	}
	// aggregate takes 3 ms a reading: the parsers wait to send readings,
	// and the generator waits behind them.
	if !blockedOn["readings"] || !blockedOn["raw-records"] {
		t.Errorf("chan.send spans on %v, want readings and raw-records (all: %v)", blockedOn, count)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-parsers", "0"}, {"-items", "-1"}, {"-slow", "-1s"}, {"-nope"}} {
		if err := run(context.Background(), context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
