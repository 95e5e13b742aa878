package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/tracekit-go/tracekit/e2e/internal/browser"
)

// box is a rectangle of the page, in CSS pixels.
type box struct {
	X, Y, W, H float64
}

func (b box) contains(x, y int) bool {
	return float64(x) >= b.X && float64(x) < b.X+b.W && float64(y) >= b.Y && float64(y) < b.Y+b.H
}

// TestFlamegenWithoutScript shows each kind of flamegen picture in Chromium
// twice: opened directly, where its script runs, and as an <img> in a page,
// where no script runs (as on a code host, in a wiki or a chat preview). The
// two screenshots agree pixel for pixel but for the script's own buttons,
// and the image is not blank. For flame graphs the script's redraw of the
// full view, after a zoom and a reset, is the very frames the file holds.
func TestFlamegenWithoutScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds flamegen, runs the example service and drives a browser")
	}
	if browser.Path() == "" {
		t.Skip("no chromium on PATH (apt-get install chromium, or set CHROMIUM)")
	}
	dir := t.TempDir()
	flamegen, genfolded := buildFlamegenTools(t, dir)
	big, small := filepath.Join(dir, "20k.folded"), filepath.Join(dir, "15k.folded")
	runCmd(t, big, genfolded, "-stacks", "20000")
	runCmd(t, small, genfolded, "-stacks", "15000")
	traces, id := traceFixture(t)
	serviceTraces, profiles := exampleSpansAndCPU(t, dir)
	// Real inputs from other projects: folded stacks with fractional counts
	// and kernel frames ("_[k]"), and a trace whose child outlives its
	// parent, drawn hatched.
	annotated, err := filepath.Abs("../internal/flame/testdata/corpus/inferno-fractional.txt")
	if err != nil {
		t.Fatal(err)
	}
	async, err := filepath.Abs("../internal/spans/testdata/corpus/jaeger-ui-traceWithSingleChildLongerThanParentAndStartsAfterParent.json")
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		args  []string
		chart bool
	}{
		{"cpu", []string{big}, false},
		{"spans", []string{traces}, false},
		{"merged", append([]string{serviceTraces}, profiles...), false},
		{"diff", []string{"diff", small, big}, false},
		{"chart", []string{"--trace", id, traces}, true},
		{"annotated", []string{annotated}, false},
		{"async-chart", []string{"--trace", "006c3cf93508f205", async}, true},
	}
	ctx := browser.Start(t, 1200, 900)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".svg")
			runCmd(t, "", flamegen, append(tc.args, "-o", out)...)

			if err := chromedp.Do(ctx, chromedp.Navigate("file://"+out)); err != nil {
				t.Fatal(err)
			}
			size := eval[[]int64](t, ctx, `[document.documentElement.width.baseVal.value, document.documentElement.height.baseVal.value]`)
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(size[0], size[1])); err != nil {
				t.Fatal(err)
			}
			// The pointer away from every frame, so that none is hovered.
			if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 0, 0)); err != nil {
				t.Fatal(err)
			}
			group := "#frames"
			if tc.chart {
				group = "#bars"
			} else if ready := eval[bool](t, ctx, `typeof flamegen === "object"`); !ready {
				t.Fatal("the script did not run in the page opened directly")
			}
			area := eval[box](t, ctx, `(() => { const r = document.querySelector("`+group+`").getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; })()`)
			// The buttons only the script shows.
			masks := eval[[]box](t, ctx, `[..."search reset clear".split(" ")].map(id => document.getElementById(id)).filter(e => e).map(e => {
				const r = e.getBoundingClientRect(); return {x: r.x - 2, y: r.y - 2, w: r.width + 4, h: r.height + 4}; })`)
			direct := screenshot(t, ctx)

			if !tc.chart {
				// Zoom into the widest frame one level up and back: the
				// script draws the file's frames again, the same markup.
				before := eval[[]string](t, ctx, frameMarkup)
				eval[int](t, ctx, `(() => { const f = `+widestFrameAt(1)+`; flamegen.zoom(f.i); flamegen.reset(); return f.i; })()`)
				after := eval[[]string](t, ctx, frameMarkup)
				if !slices.Equal(before, after) {
					t.Errorf("the script's full view differs from the file's: %d frames, %d after a zoom and reset; first: %q", len(before), len(after), firstDifference(before, after))
				}
			}

			page := filepath.Join(dir, tc.name+".html")
			html := fmt.Sprintf(`<!doctype html><html><body style="margin:0"><img src="%s" style="display:block"></body></html>`, filepath.Base(out))
			if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page)); err != nil {
				t.Fatal(err)
			}
			// Decoded; the screenshot then paints the page.
			w := eval[int](t, ctx, `document.querySelector("img").decode().then(() => document.querySelector("img").naturalWidth)`, chromedp.EvalAwaitPromise)
			if int64(w) != size[0] {
				t.Fatalf("the image is %d px wide, the SVG %d", w, size[0])
			}
			img := screenshot(t, ctx)

			differ, drawn := compareShots(t, direct, img, masks, area)
			if err := os.WriteFile(filepath.Join(dir, tc.name+"-img.png"), encodePNG(t, img), 0o644); err != nil {
				t.Fatal(err)
			}
			b := img.Bounds()
			t.Logf("%s: %dx%d, %d pixels differ between the page and the image; %.0f%% of the frames' area drawn in the image", tc.name, b.Dx(), b.Dy(), differ, 100*drawn)
			if differ > b.Dx()*b.Dy()/1000 {
				t.Errorf("the image and the page differ in %d pixels", differ)
			}
			if drawn < 0.1 {
				t.Errorf("the image is blank where the frames are: %.1f%% of %+v drawn", 100*drawn, area)
			}
		})
	}
}

// frameMarkup is a page expression for the markup of every frame drawn.
const frameMarkup = `[...document.getElementById("frames").children].map(g => g.outerHTML)`

func firstDifference(a, b []string) [2]string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return [2]string{a[i], b[i]}
		}
	}
	return [2]string{}
}

func screenshot(t *testing.T, ctx context.Context) image.Image {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	m, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func encodePNG(t *testing.T, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// compareShots counts the pixels where a and b differ by more than a trace
// of anti-aliasing, outside masks, and the share of area in b that is not
// the page's background.
func compareShots(t *testing.T, a, b image.Image, masks []box, area box) (differ int, drawn float64) {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("screenshots of %v and %v", a.Bounds(), b.Bounds())
	}
	r := a.Bounds()
	var inArea, painted int
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if area.contains(x, y) {
				inArea++
				if r2>>8 != 248 || g2>>8 != 248 || b2>>8 != 248 {
					painted++
				}
			}
			if max(dist(r1, r2), dist(g1, g2), dist(b1, b2)) <= 24 || slices.ContainsFunc(masks, func(m box) bool { return m.contains(x, y) }) {
				continue
			}
			differ++
		}
	}
	if inArea > 0 {
		drawn = float64(painted) / float64(inArea)
	}
	return differ, drawn
}

func dist(a, b uint32) uint32 {
	a, b = a>>8, b>>8
	if a > b {
		return a - b
	}
	return b - a
}

// exampleSpansAndCPU runs the example service with the file exporter and
// local CPU profiles, as make demo does, and returns its span file and
// profiles.
func exampleSpansAndCPU(t *testing.T, dir string) (string, []string) {
	t.Helper()
	service := filepath.Join(dir, "service")
	build := exec.Command("go", "build", "-o", service, "./examples/service")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the example service: %v\n%s", err, out)
	}
	traces, profDir := filepath.Join(dir, "service.jsonl"), filepath.Join(dir, "profiles")
	cmd := exec.Command(service, "-orders", "200", "-log", filepath.Join(dir, "service.log"))
	cmd.Env = append(os.Environ(), "OTEL_SERVICE_NAME=order-service", "OTEL_TRACES_EXPORTER=file", "OTEL_METRICS_EXPORTER=none",
		"TRACEKIT_FILE_PATH="+traces, "TRACEKIT_PROFILE_DIR="+profDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("example service: %v\n%s", err, out)
	}
	profiles, err := filepath.Glob(filepath.Join(profDir, "cpu-*.pb.gz"))
	if err != nil || len(profiles) == 0 {
		t.Fatalf("no CPU profiles in %s (%v)", profDir, err)
	}
	return traces, profiles
}
