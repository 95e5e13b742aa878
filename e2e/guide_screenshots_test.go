package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracekit-go/tracekit/e2e/internal/browser"
	"github.com/tracekit-go/tracekit/internal/spans"
)

var updateGuideScreenshots = flag.Bool("guide.screenshot", false, "rewrite docs/images/trace-chart.png and docs/images/diff-lock.png from the browser test")

// TestGuideScreenshots makes the pictures of the troubleshooting guide from
// real runs of the example service: the same 500 requests with the price
// cache refreshed outside its lock (before) and under it (after), one slow
// request's trace as a flame chart, and the span flame graph of after
// against before. It checks what the guide says they show — the lock waits
// appear only after the change and are drawn as growth, and the chart has
// the request's lock wait — then screenshots both in headless Chromium.
func TestGuideScreenshots(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the example service twice and drives a browser")
	}
	if browser.Path() == "" {
		t.Skip("no chromium on PATH (apt-get install chromium, or set CHROMIUM)")
	}
	dir := t.TempDir()
	flamegen, _ := buildFlamegenTools(t, dir)
	service := filepath.Join(dir, "service")
	build := exec.Command("go", "build", "-o", service, "./examples/service")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the example service: %v\n%s", err, out)
	}
	runService := func(traces string, extra ...string) {
		t.Helper()
		cmd := exec.Command(service, append([]string{"-listen", "127.0.0.1:0", "-load", "500", "-log", filepath.Join(dir, "service.log")}, extra...)...)
		cmd.Env = append(os.Environ(), "OTEL_SERVICE_NAME=order-service", "OTEL_TRACES_EXPORTER=file",
			"TRACEKIT_FILE_PATH="+traces, "OTEL_METRICS_EXPORTER=none")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("example service %v: %v\n%s", extra, err, out)
		}
	}
	before, after := filepath.Join(dir, "before.jsonl"), filepath.Join(dir, "after.jsonl")
	runService(before, "-fixed-cache")
	runService(after)

	ctx := browser.Start(t, 1200, 900)
	shoot := func(t *testing.T, name string) {
		t.Helper()
		height := eval[int64](t, ctx, `document.documentElement.height.baseVal.value`)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, height)); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if len(png) < 1000 {
			t.Fatalf("screenshot of %d bytes", len(png))
		}
		dst := filepath.Join(dir, name)
		if *updateGuideScreenshots {
			dst = filepath.Join("..", "docs", "images", name)
		}
		if err := os.WriteFile(dst, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", dst)
	}

	t.Run("diff", func(t *testing.T) {
		out := filepath.Join(dir, "diff.svg")
		runCmd(t, "", flamegen, "diff", "--spans", "--title", "order-service: prices refreshed under the cache lock (after) vs outside it (before)", before, after, "-o", out)
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+out)); err != nil {
			t.Fatal(err)
		}
		type frame struct {
			Details string `json:"details"`
			Fill    string `json:"fill"`
		}
		frames := eval[[]frame](t, ctx, `Array.from(document.querySelectorAll("#frames rect")).map(r => {
			r.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
			return {details: document.getElementById("details").textContent, fill: r.getAttribute("fill")};
		})`)
		// The lock waits exist only after: every such frame is new, so
		// growth, drawn red (the shade says how much). On a loaded machine
		// the fixed cache's short holds can make a wait past the slow
		// threshold too, so before may have a little: at most a twentieth.
		var waits int
		beforeAfter := regexp.MustCompile(`\(before ([^,]+), after ([^,]+),`)
		for _, f := range frames {
			if !strings.Contains(f.Details, "lock.wait price-cache") {
				continue
			}
			waits++
			var g, b int
			_, err := fmt.Sscanf(f.Fill, "rgb(255,%d,%d)", &g, &b)
			m := beforeAfter.FindStringSubmatch(f.Details)
			if err != nil || g != b || g >= 255 || m == nil {
				t.Errorf("lock wait frame %q filled %s, want growth, red", f.Details, f.Fill)
				continue
			}
			before, err1 := time.ParseDuration(strings.ReplaceAll(m[1], " ", ""))
			after, err2 := time.ParseDuration(strings.ReplaceAll(m[2], " ", ""))
			if err1 != nil || err2 != nil || before*20 > after {
				t.Errorf("lock wait frame %q: want (nearly) new, before at most a twentieth of after", f.Details)
			}
		}
		if waits == 0 {
			t.Fatalf("no lock.wait price-cache frame in the diff of %d frames", len(frames))
		}
		// A fresh page, without the last hovered frame's tooltip.
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+out)); err != nil {
			t.Fatal(err)
		}
		shoot(t, "diff-lock.png")
	})

	t.Run("trace chart", func(t *testing.T) {
		id := slowestTraceWith(t, after, "lock.wait price-cache")
		out := filepath.Join(dir, "trace.svg")
		runCmd(t, "", flamegen, "--trace", id, after, "-o", out)
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+out)); err != nil {
			t.Fatal(err)
		}
		titles := eval[[]string](t, ctx, `[...document.querySelectorAll("#bars title")].map(t => t.textContent)`)
		var handler, wait bool
		for _, s := range titles {
			handler = handler || strings.Contains(s, "POST /orders")
			wait = wait || strings.Contains(s, "lock.wait price-cache")
		}
		if !handler || !wait {
			t.Errorf("trace %s chart: POST /orders bar %v, lock wait bar %v, in %d bars", id, handler, wait, len(titles))
		}
		shoot(t, "trace-chart.png")
	})
}

// slowestTraceWith returns the ID of the longest trace in the file that has
// a span named name; a trace's length is that of its longest span.
func slowestTraceWith(t *testing.T, path, name string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	longest := map[spans.TraceID]int64{}
	has := map[spans.TraceID]bool{}
	err = spans.Decode(f, path, func(s *spans.Span) error {
		longest[s.TraceID] = max(longest[s.TraceID], s.Duration())
		if s.Name == name {
			has[s.TraceID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var best string
	for id := range has {
		if s := id.String(); best == "" || longest[id] > longest[mustTraceID(t, best)] || longest[id] == longest[mustTraceID(t, best)] && s < best {
			best = s
		}
	}
	if best == "" {
		t.Fatalf("%s: no trace has a %q span", path, name)
	}
	return best
}

func mustTraceID(t *testing.T, s string) spans.TraceID {
	t.Helper()
	id, ok := spans.ParseTraceID(s)
	if !ok {
		t.Fatalf("trace ID %q", s)
	}
	return id
}
