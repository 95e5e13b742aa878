package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/e2e/internal/jaeger"
	"github.com/tracekit-go/tracekit/internal/testwait"
)

// buildProgram compiles ./internal/tracedprog.
func buildProgram(t *testing.T) string { return buildInternal(t, "tracedprog") }

// buildInternal compiles the program ./internal/name into a temporary
// directory and returns its path.
func buildInternal(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("go", "build", "-o", bin, "./internal/"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

// spawnLines maps each "// spawn:NAME" marker in the program's source to its
// line, the line the span's code.line.number must name.
func spawnLines(t *testing.T) map[string]int {
	t.Helper()
	src, err := os.ReadFile("internal/tracedprog/main.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]int{}
	for i, line := range strings.Split(string(src), "\n") {
		if _, marker, ok := strings.Cut(line, "// spawn:"); ok {
			lines[strings.TrimSpace(marker)] = i + 1
		}
	}
	return lines
}

// runTracedProg runs the instrumented program, configured by the standard
// environment only, against an OTLP endpoint and returns what it printed.
func runTracedProg(ctx context.Context, t *testing.T, prog, service, protocol, endpoint string, env ...string) progResult {
	t.Helper()
	return runOTLPProg[progResult](ctx, t, prog, os.Environ(), service, protocol, endpoint, env...)
}

// runOTLPProg runs prog with the environment base, the OTEL_* settings that
// send its traces to an OTLP endpoint, and env, and decodes the JSON it
// prints into a T.
func runOTLPProg[T any](ctx context.Context, t *testing.T, prog string, base []string, service, protocol, endpoint string, env ...string) T {
	t.Helper()
	cmd := exec.CommandContext(ctx, prog)
	cmd.Env = append(slices.Clip(base),
		"OTEL_SERVICE_NAME="+service,
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_EXPORTER_OTLP_ENDPOINT="+endpoint,
		"OTEL_EXPORTER_OTLP_PROTOCOL="+protocol,
	)
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	name := filepath.Base(prog)
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, stderr.String())
	}
	var res T
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%s printed %q: %v", name, out, err)
	}
	return res
}

// startJaeger starts Jaeger from bin for the length of t and returns it
// with a context that bounds the test.
func startJaeger(t *testing.T, bin string) (context.Context, *jaeger.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Scale(5*time.Minute))
	t.Cleanup(cancel) // after Stop: cleanups run last-in, first-out
	srv, err := jaeger.Start(ctx, bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop Jaeger: %v", err)
		}
	})
	return ctx, srv
}

type progResult struct {
	TraceID  string `json:"trace_id"`
	Exported uint64 `json:"exported"`
	Dropped  uint64 `json:"dropped"`
	Failed   uint64 `json:"failed"`
}

// TestJaeger runs the instrumented program against a real Jaeger, once over
// OTLP gRPC and once over OTLP HTTP, and reads the trace back from Jaeger's
// query API.
func TestJaeger(t *testing.T) {
	bin := jaeger.Binary(t)
	prog := buildProgram(t)
	lines := spawnLines(t)

	ctx, srv := startJaeger(t, bin)

	for _, tc := range []struct{ protocol, endpoint string }{
		{"grpc", "http://" + srv.OTLPGRPCEndpoint()},
		{"http/protobuf", srv.OTLPHTTPEndpoint()},
	} {
		t.Run(strings.ReplaceAll(tc.protocol, "/", "-"), func(t *testing.T) {
			service := "e2e-" + strings.ReplaceAll(tc.protocol, "/", "-")
			res := runTracedProg(ctx, t, prog, service, tc.protocol, tc.endpoint,
				"OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=e2e")
			const spans = 6 // checkout, workers, fetch-prices, lookup-currency, reserve-stock, explode
			if res.Exported != spans || res.Dropped+res.Failed != 0 {
				t.Fatalf("program stats %+v, want %d exported and none lost", res, spans)
			}

			tr, err := srv.TraceWithSpans(ctx, res.TraceID, spans)
			if err != nil {
				t.Fatalf("read trace %s back from Jaeger: %v", res.TraceID, err)
			}
			span := func(name string) jaeger.Span {
				t.Helper()
				s, ok := tr.SpanByName(name)
				if !ok {
					t.Fatalf("trace has no span %q", name)
				}
				return s
			}
			root, group := span("checkout"), span("workers")
			for child, parent := range map[string]jaeger.Span{
				"workers":         root,
				"fetch-prices":    group,
				"reserve-stock":   group,
				"lookup-currency": span("fetch-prices"),
				"explode":         root,
			} {
				if got := span(child).ParentID(); got != parent.SpanID {
					t.Errorf("%s: parent %s, want %s (%s)", child, got, parent.SpanID, parent.OperationName)
				}
			}
			if root.ParentID() != "" {
				t.Errorf("checkout has a parent %s", root.ParentID())
			}
			if got := tr.ServiceOf(root); got != service {
				t.Errorf("service = %q, want %q", got, service)
			}
			if env, _ := tr.Processes[root.ProcessID].Tag("deployment.environment.name"); env != "e2e" {
				t.Errorf("resource attribute from OTEL_RESOURCE_ATTRIBUTES = %v, want e2e", env)
			}

			// Spawn sites and kinds.
			for name, kind := range map[string]string{"workers": "group", "fetch-prices": "goroutine", "reserve-stock": "goroutine", "lookup-currency": "goroutine", "explode": "goroutine"} {
				s := span(name)
				if v, _ := s.Tag("tracekit.kind"); v != kind {
					t.Errorf("%s: tracekit.kind = %v, want %s", name, v, kind)
				}
				fn, _ := s.Tag("code.function.name")
				if f, _ := fn.(string); !strings.HasPrefix(f, "main.") {
					t.Errorf("%s: code.function.name = %v, want a function of package main", name, fn)
				}
				if f, _ := s.Tag("code.file.path"); !strings.HasSuffix(f.(string), "internal/tracedprog/main.go") {
					t.Errorf("%s: code.file.path = %v", name, f)
				}
				line, _ := s.Tag("code.line.number")
				if n, _ := line.(int64); int(n) != lines[name] {
					t.Errorf("%s: code.line.number = %v, want %d", name, line, lines[name])
				}
			}
			if v, _ := span("fetch-prices").Tag("tracekit.group"); v != "workers" {
				t.Errorf("fetch-prices: tracekit.group = %v", v)
			}

			// The panic: error status, tracekit.panic, and the exception event.
			boom := span("explode")
			if v, _ := boom.Tag("otel.status_code"); v != "ERROR" {
				t.Errorf("explode: otel.status_code = %v, want ERROR", v)
			}
			if v, _ := boom.Tag("error"); v != true {
				t.Errorf("explode: error tag = %v, want true", v)
			}
			if v, _ := boom.Tag("tracekit.panic"); v != true {
				t.Errorf("explode: tracekit.panic = %v", v)
			}
			var found bool
			for _, l := range boom.Logs {
				if ev, _ := l.Field("event"); ev != "exception" {
					continue
				}
				found = true
				if ty, _ := l.Field("exception.type"); ty != "runtime.Error" {
					t.Errorf("exception.type = %v, want runtime.Error", ty)
				}
				if msg, _ := l.Field("exception.message"); !strings.Contains(msg.(string), "nil map") {
					t.Errorf("exception.message = %v", msg)
				}
				st, _ := l.Field("exception.stacktrace")
				if s, _ := st.(string); !strings.Contains(s, "tracedprog/main.go:"+strconv.Itoa(lines["explode"]+2)) {
					t.Errorf("exception.stacktrace does not point at the panicking line %d:\n%v", lines["explode"]+2, st)
				}
			}
			if !found {
				t.Errorf("explode has no exception event; logs: %+v", boom.Logs)
			}
			for _, name := range []string{"fetch-prices", "reserve-stock", "lookup-currency"} {
				if v, ok := span(name).Tag("otel.status_code"); ok {
					t.Errorf("%s: status %v, want unset", name, v)
				}
			}
		})
	}
}
