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
// file with flamegen and with flamegraph.pl, one after the other in every
// iteration so that both meet the same machine load, as a user runs them.
// It reports for each tool the seconds a drawing takes (-s, wall clock;
// -cpu-s, user and system time), the process's peak resident memory
// (-RSS-MB) and the milliseconds headless Chromium takes from starting to
// load the SVG to a screenshot of it (-open-ms), and the ratios: speedup-x
// and cpu-speedup-x (flamegraph.pl's time over flamegen's) and RSS-%
// (flamegen's peak memory as a share of flamegraph.pl's).
// flamegraph.pl is not part of the project: FLAMEGRAPH_PL names it (see
// README.md); without it the benchmark is skipped. Run it with -benchtime
// 1x -count 6 and summarise with benchstat.
func BenchmarkFlamegenVsFlameGraphPl(b *testing.B) {
	pl := os.Getenv("FLAMEGRAPH_PL")
	if pl == "" {
		b.Skip("FLAMEGRAPH_PL is not set")
	}
	if _, err := exec.LookPath("perl"); err != nil {
		b.Skip("no perl")
	}
	dir := b.TempDir()
	flamegen, folded := generated100k(b, dir)
	ctx := browser.Start(b, 1200, 900)

	fgOut, plOut := filepath.Join(dir, "flamegen.svg"), filepath.Join(dir, "flamegraph.pl.svg")
	// run draws with cmd and returns its wall time, CPU time (user and
	// system) and peak RSS.
	run := func(cmd *exec.Cmd) (wall, cpu time.Duration, rss float64) {
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("%s: %v", cmd.Args[0], err)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		return time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), float64(ru.Maxrss) / 1024
	}
	const opens = 3 // loads of each drawing in Chromium, alternating
	var fgTime, plTime, fgCPU, plCPU time.Duration
	var fgRSS, plRSS, fgOpen, plOpen float64
	for b.Loop() {
		d, c, rss := run(exec.Command(flamegen, folded, "-o", fgOut))
		fgTime, fgCPU, fgRSS = fgTime+d, fgCPU+c, max(fgRSS, rss)

		f, err := os.Create(plOut)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command("perl", pl, folded)
		cmd.Stdout = f
		d, c, rss = run(cmd)
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		plTime, plCPU, plRSS = plTime+d, plCPU+c, max(plRSS, rss)

		b.StopTimer()
		for range opens {
			fgOpen += openMillis(b, ctx, fgOut)
			plOpen += openMillis(b, ctx, plOut)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(fgTime.Seconds()/n, "flamegen-s")
	b.ReportMetric(plTime.Seconds()/n, "flamegraph.pl-s")
	b.ReportMetric(plTime.Seconds()/fgTime.Seconds(), "speedup-x")
	b.ReportMetric(fgCPU.Seconds()/n, "flamegen-cpu-s")
	b.ReportMetric(plCPU.Seconds()/n, "flamegraph.pl-cpu-s")
	b.ReportMetric(plCPU.Seconds()/fgCPU.Seconds(), "cpu-speedup-x")
	b.ReportMetric(fgRSS, "flamegen-RSS-MB")
	b.ReportMetric(plRSS, "flamegraph.pl-RSS-MB")
	b.ReportMetric(100*fgRSS/plRSS, "RSS-%")
	b.ReportMetric(fgOpen/(opens*n), "flamegen-open-ms")
	b.ReportMetric(plOpen/(opens*n), "flamegraph.pl-open-ms")
}

// openMillis loads the SVG at path, which the tab does not show yet, and
// returns the milliseconds from the start of the navigation to a screenshot
// of the page: loaded, its load-time scripts run, and painted.
func openMillis(b *testing.B, ctx context.Context, path string) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+path)); err != nil {
		b.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err != nil {
		b.Fatal(err)
	}
	return float64(time.Since(start)) / float64(time.Millisecond)
}
