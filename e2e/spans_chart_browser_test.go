package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/tracekit-go/tracekit/e2e/internal/browser"
)

// TestSpanGraphsInBrowser loads flamegen's two pictures of traces in a real
// browser: the aggregated span flame graph (hover tooltip, click to zoom)
// and one trace's flame chart on a time axis (no two bars of a row overlap,
// every child inside its parent, a tooltip per span).
func TestSpanGraphsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds flamegen and drives a browser")
	}
	if browser.Path() == "" {
		t.Skip("no chromium on PATH (apt-get install chromium, or set CHROMIUM)")
	}
	dir := t.TempDir()
	flamegen, _ := buildFlamegenTools(t, dir)
	traces, id := traceFixture(t)
	ctx := browser.Start(t, 1200, 900)

	t.Run("aggregated", func(t *testing.T) {
		out := filepath.Join(dir, "spans.svg")
		runCmd(t, "", flamegen, "--group-ids", traces, "-o", out)
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+out)); err != nil {
			t.Fatal(err)
		}
		height := eval[int64](t, ctx, `document.documentElement.height.baseVal.value`)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, height)); err != nil {
			t.Fatal(err)
		}
		// The widest frame one level below the traces' top spans.
		fb := eval[frameBox](t, ctx, widestFrameAt(2))
		if fb.W <= 0 || fb.W > 1100 || !strings.Contains(fb.Name, ": ") {
			t.Fatalf("no span frame to hover at depth 2: %+v", fb)
		}
		if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, fb.X, fb.Y)); err != nil {
			t.Fatal(err)
		}
		// The frame's own tooltip (its title) and the details line the
		// script writes on hover.
		tip := eval[[]string](t, ctx, fmt.Sprintf(`(() => {
			const r = [...document.querySelectorAll("#frames rect")].find(r => flamegen.index(r) === %d);
			return [r.parentNode.querySelector("title").textContent, document.getElementById("details").textContent];
		})()`, fb.I))
		first, rest, _ := strings.Cut(tip[0], "\n")
		if !strings.HasPrefix(first, fb.Name+" (") || !strings.Contains(first, " ms, ") || !strings.Contains(rest, "spans") ||
			!strings.HasPrefix(tip[1], fb.Name+" (") || !strings.Contains(tip[1], "self") {
			t.Errorf("tooltip %q, details %q for frame %q", tip[0], tip[1], fb.Name)
		}
		t.Logf("tooltip: %q", tip)
		if err := chromedp.Do(ctx, chromedp.MouseClickXY(fb.X, fb.Y)); err != nil {
			t.Fatal(err)
		}
		zoomed := eval[float64](t, ctx, `(() => {
			for (const r of document.querySelectorAll("#frames rect:not(.anc)"))
				if (flamegen.index(r) === `+strconv.Itoa(fb.I)+`) return r.getBoundingClientRect().width;
			return -1;
		})()`)
		if zoomed < 1100 {
			t.Errorf("after a click the frame is %.1f px wide, want the full width", zoomed)
		}
		if op := eval[string](t, ctx, `document.getElementById("reset").style.opacity`); op != "1" {
			t.Errorf("Reset Zoom opacity %q after zooming", op)
		}
	})

	t.Run("one trace", func(t *testing.T) {
		out := filepath.Join(dir, "one.svg")
		runCmd(t, "", flamegen, "--trace", id, traces, "-o", out)
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+out)); err != nil {
			t.Fatal(err)
		}
		type chartCheck struct {
			Bars, Overlaps, Titles, Ticks int
			Rows                          int
		}
		c := eval[chartCheck](t, ctx, `(() => {
			const bars = [...document.querySelectorAll("#bars > g > rect")].map(r => {
				const b = r.getBoundingClientRect();
				return {x0: b.x, x1: b.x + b.width, y: b.y};
			});
			let overlaps = 0;
			for (let i = 0; i < bars.length; i++)
				for (let j = i + 1; j < bars.length; j++)
					if (Math.abs(bars[i].y - bars[j].y) < 1 && bars[i].x0 < bars[j].x1 - 0.01 && bars[j].x0 < bars[i].x1 - 0.01) overlaps++;
			const titles = [...document.querySelectorAll("#bars title")].filter(t => /duration .*, self /.test(t.textContent)).length;
			return {bars: bars.length, overlaps: overlaps, titles: titles,
				ticks: document.querySelectorAll("#ruler text").length,
				rows: new Set(bars.map(b => Math.round(b.y))).size};
		})()`)
		if c.Bars < 2 || c.Overlaps != 0 || c.Titles != c.Bars || c.Ticks < 5 || c.Rows < 2 {
			t.Errorf("chart in the browser: %+v (want bars with tooltips, no overlaps in a row, a ruler)", c)
		}
		t.Logf("chart: %+v", c)
	})
}

// traceFixture returns the absolute path of the span package's trace file
// (traces of five services) and the ID of its first trace.
func traceFixture(t *testing.T) (path, id string) {
	t.Helper()
	path, err := filepath.Abs("../internal/spans/testdata/traces.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"traceId":"([0-9a-f]{32})"`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("%s: no trace id", path)
	}
	return path, string(m[1])
}
