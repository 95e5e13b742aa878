package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracekit-go/tracekit/e2e/internal/browser"
)

// BenchmarkFlamegenVsFlameGraphPl draws the generated 100,000-stack folded
// file with flamegen and with flamegraph.pl in the same run, as a user runs
// them, and reports for each the time a drawing takes (sec/op), the
// process's peak resident memory (peak-RSS-MB) and how long headless
// Chromium takes from starting to load the SVG to painting it (open-ms).
// flamegraph.pl is not part of the project: FLAMEGRAPH_PL names it (see
// README.md); without it the benchmark is skipped. Compare the tools with
// benchstat -col /tool.
func BenchmarkFlamegenVsFlameGraphPl(b *testing.B) {
	pl := os.Getenv("FLAMEGRAPH_PL")
	if pl == "" {
		b.Skip("FLAMEGRAPH_PL is not set")
	}
	if _, err := exec.LookPath("perl"); err != nil {
		b.Skip("no perl")
	}
	dir := b.TempDir()
	flamegen, genfolded := buildFlamegenTools(b, dir)
	folded := filepath.Join(dir, "100k.folded")
	runCmd(b, folded, genfolded, "-stacks", "100000")
	ctx := browser.Start(b, 1200, 900)

	tools := []struct {
		name string
		cmd  func(out string) *exec.Cmd
	}{
		{"flamegen", func(out string) *exec.Cmd { return exec.Command(flamegen, folded, "-o", out) }},
		{"flamegraph.pl", func(out string) *exec.Cmd {
			c := exec.Command("perl", pl, folded)
			f, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { f.Close() })
			c.Stdout = f
			return c
		}},
	}
	for _, tool := range tools {
		b.Run("tool="+tool.name, func(b *testing.B) {
			out := filepath.Join(dir, tool.name+".svg")
			var rss, open float64
			for b.Loop() {
				cmd := tool.cmd(out)
				cmd.Stderr = os.Stderr
				if err := cmd.Run(); err != nil {
					b.Fatalf("%s: %v", tool.name, err)
				}
				b.StopTimer()
				rss = max(rss, float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)/1024)
				open += openMillis(b, ctx, out)
				b.StartTimer()
			}
			st, err := os.Stat(out)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(rss, "peak-RSS-MB")
			b.ReportMetric(open/float64(b.N), "open-ms")
			b.ReportMetric(float64(st.Size())/(1<<20), "SVG-MB")
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(time.Second), "sec/op")
		})
	}
}

// openMillis loads the SVG at path in a fresh document and returns the
// milliseconds from the start of the navigation to the first frame painted
// after the page's load event (its scripts have run).
func openMillis(b *testing.B, ctx context.Context, path string) float64 {
	b.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+path)); err != nil {
		b.Fatal(err)
	}
	return eval[float64](b, ctx, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))`, chromedp.EvalAwaitPromise)
}
