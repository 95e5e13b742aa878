package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/e2e/internal/jaeger"
)

// TestFlamegenFromJaeger runs the instrumented program against a real
// Jaeger and points the flamegen command at Jaeger's query API, as a user
// would: one trace as a flame chart (--trace), the service's traces
// aggregated (--service), and the report.
func TestFlamegenFromJaeger(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs Jaeger")
	}
	bin := jaeger.Binary(t)
	prog := buildProgram(t)
	dir := t.TempDir()
	flamegen, _ := buildFlamegenTools(t, dir)

	ctx, srv := startJaeger(t, bin)
	const service = "e2e-flamegen"
	res := runTracedProg(ctx, t, prog, service, "grpc", "http://"+srv.OTLPGRPCEndpoint())
	if _, err := srv.TraceWithSpans(ctx, res.TraceID, 6); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, flamegen, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("flamegen %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	chart := filepath.Join(dir, "one.svg")
	run("--jaeger", srv.QueryURL(), "--trace", res.TraceID, "-o", chart)
	svg, err := os.ReadFile(chart)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		// One service: said once, in the subtitle, not in every bar.
		"Trace " + res.TraceID, ">service " + service + " · ", "<title>checkout (", "&#xA;duration ",
		"<title>fetch-prices (", "kind: goroutine", "on the critical path", "status: Error", `class="err"`,
	} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("chart of the Jaeger trace lacks %q", want)
		}
	}

	folded := run("--jaeger", srv.QueryURL(), "--service", service, "--limit", "5", "--format", "folded")
	if !strings.Contains(folded, service+": checkout;"+service+": workers;"+service+": fetch-prices;"+service+": lookup-currency ") {
		t.Errorf("aggregated folded stacks from Jaeger:\n%s", folded)
	}
	report := run("report", "--jaeger", srv.QueryURL(), "--service", service, "--top", "3")
	if !strings.Contains(report, "1 traces") || !strings.Contains(report, "Critical path") || !strings.Contains(report, service+": checkout") {
		t.Errorf("report from Jaeger:\n%s", report)
	}
}
