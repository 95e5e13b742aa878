package e2e

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tracekit-go/tracekit/e2e/internal/browser"
	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/flame/svg"
)

var updateScreenshot = flag.Bool("flamegen.screenshot", false, "rewrite docs/images/flamegraph.png from the browser test")

// buildFlamegenTools compiles the command and the stack generator from the
// root module, as a user would run them.
func buildFlamegenTools(t testing.TB, dir string) (flamegen, genfolded string) {
	t.Helper()
	flamegen, genfolded = filepath.Join(dir, "flamegen"), filepath.Join(dir, "genfolded")
	for bin, pkg := range map[string]string{flamegen: "./cmd/flamegen", genfolded: "./internal/flame/internal/gen/cmd/genfolded"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	return flamegen, genfolded
}

// generated100k builds the tools into dir and writes the generated file of
// 100,000 distinct stacks there.
func generated100k(t testing.TB, dir string) (flamegen, folded string) {
	t.Helper()
	flamegen, genfolded := buildFlamegenTools(t, dir)
	folded = filepath.Join(dir, "100k.folded")
	runCmd(t, folded, genfolded, "-stacks", "100000")
	return flamegen, folded
}

func runCmd(t testing.TB, stdout string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	if stdout != "" {
		f, err := os.Create(stdout)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdout = f
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
}

// expectedMatch is the share of the graph the SVG's search must report for
// re: frames drawn at --minwidth whose name matches, each counted with
// everything above it once.
func expectedMatch(t *testing.T, folded string, minWidth float64, re *regexp.Regexp) float64 {
	t.Helper()
	f, err := os.Open(folded)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := flame.Decode(f, folded)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	inside := -1 // depth of the matched frame we are above, or -1
	for _, fr := range svg.Layout(tr, svg.DefaultWidth, minWidth, flame.Alphabetical) {
		if inside >= 0 && fr.Depth > inside {
			continue
		}
		inside = -1
		if fr.Depth > 0 && re.MatchString(fr.Name) {
			sum += fr.Value
			inside = fr.Depth
		}
	}
	return 100 * float64(sum) / float64(tr.Total())
}

type searchResult struct {
	Pct  float64 `json:"pct"`
	Ms   float64 `json:"ms"`
	Text string  `json:"text"`
}

type frameBox struct {
	I    int     `json:"i"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	W    float64 `json:"w"`
	Name string  `json:"name"`
}

// TestFlamegenBrowser opens flamegen SVGs of the generated 100,000-stack
// profile in headless Chromium, searches, hovers and zooms with real input
// events, and logs how long each step takes.
func TestFlamegenBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds flamegen and drives a browser")
	}
	if browser.Path() == "" {
		t.Skip("no chromium on PATH (apt-get install chromium, or set CHROMIUM)")
	}
	dir := t.TempDir()
	flamegen, folded := generated100k(t, dir)
	ctx := browser.Start(t, 1200, 900)

	for _, mw := range []float64{0.1, 0.01} {
		t.Run(fmt.Sprintf("100k stacks minwidth %g", mw), func(t *testing.T) {
			out := filepath.Join(dir, fmt.Sprintf("100k-%g.svg", mw))
			runCmd(t, "", flamegen, folded, "--minwidth", fmt.Sprint(mw), "-o", out)
			st, _ := os.Stat(out)

			start := time.Now()
			if err := chromedp.Do(ctx, chromedp.Navigate("file://"+out)); err != nil {
				t.Fatal(err)
			}
			drawn := eval[int](t, ctx, `document.querySelectorAll("#frames rect").length`)
			open := time.Since(start)
			// The whole graph on screen, so that every frame can be clicked.
			height := eval[int64](t, ctx, `document.documentElement.height.baseVal.value`)
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, height)); err != nil {
				t.Fatal(err)
			}
			total := eval[int](t, ctx, `flamegen.frames()`)
			if drawn < 100 || total < drawn {
				t.Fatalf("%d frames drawn of %d", drawn, total)
			}

			const term = `encode|Marshal`
			want := expectedMatch(t, folded, mw, regexp.MustCompile(term))
			start = time.Now()
			sr := eval[searchResult](t, ctx, `(() => {
				const t0 = performance.now();
				const pct = flamegen.search("`+term+`");
				return {pct: pct, ms: performance.now() - t0, text: document.getElementById("matched").textContent};
			})()`)
			search := time.Since(start)
			if math.Abs(sr.Pct-want) > 1e-6 || sr.Text != fmt.Sprintf("Matched: %.2f%%", want) {
				t.Errorf("search %q: page says %v (%q), want %.4f%%", term, sr.Pct, sr.Text, want)
			}
			highlighted := eval[int](t, ctx, `document.querySelectorAll("#frames rect.match").length`)
			if want > 0 && highlighted == 0 {
				t.Error("no frame highlighted for a search that matched")
			}

			// The widest frame at depth 3, clicked with the mouse.
			fb := eval[frameBox](t, ctx, widestFrameAt(3))
			if fb.W <= 0 || fb.W > 1000 {
				t.Fatalf("no frame to click at depth 3: %+v", fb)
			}
			if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, fb.X, fb.Y)); err != nil {
				t.Fatal(err)
			}
			details := eval[string](t, ctx, `document.getElementById("details").textContent`)
			if !strings.HasPrefix(details, fb.Name+" (") || !strings.Contains(details, "samples") {
				t.Errorf("hover details %q, want %q with its value (frame %+v)", details, fb.Name, fb)
			}
			start = time.Now()
			if err := chromedp.Do(ctx, chromedp.MouseClickXY(fb.X, fb.Y)); err != nil {
				t.Fatal(err)
			}
			zoomed := eval[int](t, ctx, `flamegen.zoomed()`)
			zoom := time.Since(start)
			width := eval[float64](t, ctx, fmt.Sprintf(`+[...document.querySelectorAll("#frames rect:not(.anc)")].find(r => flamegen.index(r) === %d).getAttribute("width")`, fb.I))
			if zoomed != fb.I || math.Abs(width-1179.5) > 0.2 {
				t.Errorf("after clicking frame %d (%.1f px): zoomed to %d, its width %.1f px, want the full 1179.5", fb.I, fb.W, zoomed, width)
			}
			zoomMs := eval[float64](t, ctx, fmt.Sprintf(`(() => { const t0 = performance.now(); flamegen.zoom(%d); return performance.now() - t0; })()`, fb.I))
			resetMs := eval[float64](t, ctx, `(() => { const t0 = performance.now(); flamegen.reset(); return performance.now() - t0; })()`)
			t.Logf("%d KB SVG, %d frames (%d drawn): open %v, search %v (in page %.1f ms, matched %.2f%%), click-zoom %v (in page %.1f ms), reset %.1f ms",
				st.Size()>>10, total, drawn, open.Round(time.Millisecond), search.Round(time.Millisecond), sr.Ms, sr.Pct,
				zoom.Round(time.Millisecond), zoomMs, resetMs)
		})
	}

	t.Run("hostile names stay text", func(t *testing.T) {
		out := filepath.Join(dir, "hostile.svg")
		runCmd(t, "", flamegen, "../internal/flame/testdata/hostile.folded", "--title", "<script>alert(9)</script>", "-o", out)
		var dialogs atomic.Int32
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if err := chromedp.Listen(lctx, func(ev any) {
			if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
				dialogs.Add(1)
			}
		}); err != nil {
			t.Fatal(err)
		}
		type result struct {
			Scripts int      `json:"scripts"`
			Svgs    int      `json:"svgs"`
			Details []string `json:"details"`
			Title   string   `json:"title"`
			Pct     float64  `json:"pct"`
		}
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+out)); err != nil {
			t.Fatal(err)
		}
		res := eval[result](t, ctx, `({
				scripts: document.getElementsByTagName("script").length,
				svgs: document.getElementsByTagName("svg").length,
				title: document.getElementById("title").textContent,
				details: Array.from(document.querySelectorAll("#frames rect")).map(r => {
					r.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
					return document.getElementById("details").textContent;
				}),
				pct: flamegen.search("<script>"),
			})`)
		// A dialog blocks the page, so the evaluation above could not have
		// returned while one was open; chromedp hands an event to its
		// listeners before the replies that follow it.
		if dialogs.Load() != 0 {
			t.Error("a frame name ran script: a dialog opened")
		}
		if res.Scripts != 1 || res.Svgs != 1 || res.Title != "<script>alert(9)</script>" {
			t.Errorf("document changed by names: %d scripts, %d svg elements, title %q", res.Scripts, res.Svgs, res.Title)
		}
		all := strings.Join(res.Details, "\n")
		for _, name := range []string{"<script>alert(1)</script> (", `"quoted" & 'single' (`, "end]]>of cdata (", "bad\uFFFD\uFFFDutf8 (", "</svg><svg onload=alert(2)> ("} {
			if !strings.Contains(all, name) {
				t.Errorf("hover details lack %q:\n%s", name, all)
			}
		}
		if want := 100 * 10.0 / 28; math.Abs(res.Pct-want) > 1e-9 {
			t.Errorf("search <script>: %v%%, want %v%%", res.Pct, want)
		}
	})

	t.Run("diff tooltips", func(t *testing.T) {
		out := filepath.Join(dir, "diff.svg")
		runCmd(t, "", flamegen, "diff", "../internal/flame/testdata/before.folded", "../internal/flame/testdata/after.folded", "-o", out)
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
		// Before is scaled from 100 to 120 samples: parse 60 -> 20 (full
		// blue), layout 24 -> 60 (red).
		want := map[string]string{
			"parse (before 60 samples, after 20 samples, delta -40 samples (-66.7%))":   "rgb(0,0,255)",
			"layout (before 24 samples, after 60 samples, delta +36 samples (+150.0%))": "rgb(255,21,21)",
		}
		for _, f := range frames {
			if fill, ok := want[f.Details]; ok && fill == f.Fill {
				delete(want, f.Details)
			}
		}
		if len(want) > 0 {
			t.Errorf("diff frames not shown as expected: %v\ngot %+v", want, frames)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		// A real profile: the CPU time of this process decoding and drawing
		// the 100,000-stack file.
		prof := filepath.Join(dir, "cpu.pprof")
		pf, err := os.Create(prof)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			f, _ := os.Open(folded)
			tr, err := flame.Decode(f, folded)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			svg.Write(discard{}, tr)
			svg.WriteTop(discard{}, tr, 20, false)
		}
		pprof.StopCPUProfile()
		pf.Close()
		out := filepath.Join(dir, "cpu.svg")
		runCmd(t, "", flamegen, prof, "--title", "flamegen decoding 100,000 stacks", "--minwidth", "0.5", "-o", out)
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+out)); err != nil {
			t.Fatal(err)
		}
		height := eval[int64](t, ctx, `document.documentElement.height.baseVal.value`)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, height)); err != nil {
			t.Fatal(err)
		}
		eval[float64](t, ctx, `flamegen.search("foldedParser")`)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if len(png) < 1000 {
			t.Fatalf("screenshot of %d bytes", len(png))
		}
		dst := filepath.Join(dir, "flamegraph.png")
		if *updateScreenshot {
			dst = filepath.Join("..", "docs", "images", "flamegraph.png")
			os.MkdirAll(filepath.Dir(dst), 0o755)
		}
		if err := os.WriteFile(dst, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", dst)
	})
}

// widestFrameAt is a page expression for the widest frame drawn at depth,
// with the middle of its rectangle on screen.
func widestFrameAt(depth int) string {
	return fmt.Sprintf(`(() => {
		let best = null;
		for (const r of document.querySelectorAll("#frames rect")) {
			const i = flamegen.index(r), b = r.getBoundingClientRect();
			if (flamegen.depth(i) === %d && (!best || b.width > best.w))
				best = {i: i, x: b.x + b.width / 2, y: b.y + b.height / 2, w: b.width, name: flamegen.name(i)};
		}
		return best;
	})()`, depth)
}

// eval runs expr in the page and returns its value.
func eval[T any](t testing.TB, ctx context.Context, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("evaluate %.60q: %v", expr, err)
	}
	return v
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
