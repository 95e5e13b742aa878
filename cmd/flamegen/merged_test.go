package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/exporters/profiles"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// spin does n dependent multiplications: a fixed amount of CPU time, however
// busy the machine is.
//
//go:noinline
func spin(n int) uint64 {
	var x uint64 = 1
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// tracekitFiles runs work under tracekit with its file outputs and returns
// the span file and the CPU profile, whose samples carry span labels: a
// span "compute" that burns CPU and a span "sleep" that does not, under
// "GET /cart".
func tracekitFiles(t *testing.T) (traces, cpu string) {
	t.Helper()
	dir := t.TempDir()
	traces = filepath.Join(dir, "traces.jsonl")
	ctx := context.Background()
	kit, err := sdk.Start(ctx, sdk.WithoutGlobals(), sdk.WithServiceName("shop"),
		sdk.WithTracesExporter(sdk.ExporterFile), sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithFilePath(traces),
		sdk.WithProfiling(sdk.ProfileToDir(filepath.Join(dir, "pprof"), profiles.WithWindow(time.Hour), profiles.WithTypes(profiles.CPU))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, root := kit.TracerProvider().Tracer("tracekit").Start(ctx, "GET /cart")
	_, busy := kit.TracerProvider().Tracer("tracekit").Start(ctx, "compute")
	spin(300_000_000)
	busy.End()
	_, idle := kit.TracerProvider().Tracer("tracekit").Start(ctx, "sleep")
	time.Sleep(100 * time.Millisecond)
	idle.End()
	root.End()
	spin(20_000_000) // outside every span
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, err := profiles.Files(filepath.Join(dir, "pprof"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasPrefix(filepath.Base(name), "cpu-") {
			return traces, name
		}
	}
	t.Fatalf("no CPU profile among %v", files)
	return "", ""
}

func TestMergedSpansAndCPU(t *testing.T) {
	traces, cpu := tracekitFiles(t)
	out, errOut, code := flamegen(t, "", traces, cpu, "--format", "folded")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var spinCompute, spinSleep, total, root int64
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseInt(line[i+1:], 10, 64)
		if err != nil {
			t.Fatalf("line %q", line)
		}
		total += v
		stack := line[:i]
		switch {
		case strings.HasPrefix(stack, "shop: GET /cart;shop: compute;") && strings.HasSuffix(stack, ".spin"):
			spinCompute += v
		case strings.HasPrefix(stack, "shop: GET /cart;shop: sleep;"):
			spinSleep += v
		}
		if strings.HasPrefix(stack, "shop: GET /cart") {
			root += v
		}
	}
	// 300 million multiplications are about 30 samples at 100 Hz: demand a
	// third, nested under the span that ran them; the sleeping span has at
	// most a few samples above it.
	if spinCompute < int64(100*time.Millisecond) {
		t.Errorf("compute: %v of spin nested under it\n%s", time.Duration(spinCompute), out)
	}
	if spinSleep > int64(30*time.Millisecond) {
		t.Errorf("sleep: %v of CPU nested under it", time.Duration(spinSleep))
	}
	// The span frames keep their wall time: the CPU stacks fill part of it.
	if root < int64(100*time.Millisecond) || root > total {
		t.Errorf("GET /cart: %v of %v", time.Duration(root), time.Duration(total))
	}

	svgOut, errOut, code := flamegen(t, "", traces, cpu)
	if code != 0 {
		t.Fatalf("svg: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"on CPU ", "of its spans", "Blue-green: lock waits", "<title>compute (", ">service shop · "} {
		if !strings.Contains(svgOut, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestMergedInputErrors(t *testing.T) {
	dir := t.TempDir()
	traces := filepath.Join(dir, "traces.jsonl")
	if err := os.WriteFile(traces, []byte(traceFile(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	folded := filepath.Join(dir, "cpu.folded")
	if err := os.WriteFile(folded, []byte("main;work 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"two trace files", []string{traces, traces}, traces + ": expected a pprof profile"},
		{"not a pprof profile", []string{traces, folded}, folded},
		{"profile first", []string{folded, traces}, "the traces come first"},
		{"missing profile", []string{traces, filepath.Join(dir, "nope.pb.gz")}, "nope.pb.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := flamegen(t, "", tt.args...)
			if code == 0 || !strings.Contains(errOut, tt.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("exit %d, stderr %q; want a one-line error with %q", code, errOut, tt.want)
			}
		})
	}
}
