package svg

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/flame/internal/gen"
)

// svgFrame is a frame as an SVG draws it: a group with a title and a
// rectangle, in flamegen's files and in flamegraph.pl's alike.
type svgFrame struct {
	Title string `xml:"title"`
	Rect  struct {
		X     string `xml:"x,attr"`
		Width string `xml:"width,attr"`
		Fill  string `xml:"fill,attr"`
	} `xml:"rect"`
	Text string `xml:"text"`
}

// drawnFrames returns the frames of an SVG's <g id="frames">.
func drawnFrames(t *testing.T, svg []byte) []svgFrame {
	t.Helper()
	var doc struct {
		G []struct {
			ID     string     `xml:"id,attr"`
			Frames []svgFrame `xml:"g"`
		} `xml:"g"`
	}
	d := xml.NewDecoder(bytes.NewReader(svg))
	d.Strict = false // flamegraph.pl's files name an external DTD
	if err := d.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for _, g := range doc.G {
		if g.ID == "frames" {
			return g.Frames
		}
	}
	t.Fatal("no frames group")
	return nil
}

// foldedTitles computes, from folded text alone, the title and x of every
// frame a 1200-pixel graph draws at --minwidth 0.1, the way flamegraph.pl
// lays frames out: the lines sorted, each line's frames merged with the
// previous line's while they match, a frame starting at the sample count
// of the lines before the one that opened it; frames under 0.1 px left
// out; titled "name (N samples, P%)", the root "all (N samples, 100%)".
func foldedTitles(t *testing.T, folded []byte) []string {
	t.Helper()
	var lines []string
	for _, line := range strings.Split(string(folded), "\n") {
		if line = strings.TrimRight(line, "\r"); line != "" {
			lines = append(lines, line)
		}
	}
	slices.Sort(lines)
	type frame struct {
		name       string
		start, end int64
	}
	var done []frame
	var open []frame
	var last []string
	var time int64
	closeTo := func(k int) {
		for i := len(open) - 1; i >= k; i-- {
			open[i].end = time
			done = append(done, open[i])
		}
		open = open[:k]
	}
	for _, line := range lines {
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseInt(line[i+1:], 10, 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		parts := append([]string{"all"}, strings.Split(line[:i], ";")...)
		for len(parts) > 1 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		k := 0
		for k < len(last) && k < len(parts) && last[k] == parts[k] {
			k++
		}
		closeTo(k)
		for _, p := range parts[k:] {
			open = append(open, frame{name: p, start: time})
		}
		time += v
		last = parts
	}
	closeTo(0)
	perUnit := float64(1200-20) / float64(time)
	var out []string
	for _, f := range done {
		v := f.end - f.start
		if float64(v) < 0.1/perUnit {
			continue
		}
		share := "100%"
		if f.start != 0 || f.end != time || f.name != "all" {
			share = fmt.Sprintf("%.2f%%", 100*float64(v)/float64(time))
		}
		out = append(out, fmt.Sprintf("%s (%s samples, %s) at %.1f", f.name, group(v), share, 10+float64(f.start)*perUnit))
	}
	return out
}

// titles lists "title at x" for each drawn frame, sorted.
func titles(frames []svgFrame) []string {
	var out []string
	for _, f := range frames {
		out = append(out, f.Title+" at "+f.Rect.X)
	}
	slices.Sort(out)
	return out
}

// titleInputs are folded files to draw: a hand-made one, a real one from
// another project, and generated Go-style stacks.
func titleInputs(t *testing.T) map[string][]byte {
	t.Helper()
	in := map[string][]byte{}
	for _, p := range []string{"../testdata/exact.folded", "testdata/async-profiler.folded"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		in[filepath.Base(p)] = b
	}
	var b bytes.Buffer
	if _, err := gen.NewProgram(300, 7).WriteFolded(&b, 3000); err != nil {
		t.Fatal(err)
	}
	in["generated"] = b.Bytes()
	return in
}

// Every frame the graph shows is an element whose title is flamegraph.pl's
// "name (N samples, P%)", and the frames, their titles and their places
// are those the test computes from the folded text as flamegraph.pl would.
func TestTitlesAgreeWithFoldedInput(t *testing.T) {
	for name, folded := range titleInputs(t) {
		t.Run(name, func(t *testing.T) {
			tr, err := flame.Decode(bytes.NewReader(folded), name)
			if err != nil {
				t.Fatal(err)
			}
			got := titles(drawnFrames(t, render(t, tr, WithTopSelf(0))))
			want := foldedTitles(t, folded)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%d frames drawn, %d expected; first differences:\n%s", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

// With FLAMEGRAPH_PL set to flamegraph.pl (from the FlameGraph repository;
// see README.md) and perl installed, the frames flamegen draws are those
// flamegraph.pl draws: the same titles at the same places.
func TestTitlesAgreeWithFlameGraphPl(t *testing.T) {
	pl := os.Getenv("FLAMEGRAPH_PL")
	if pl == "" {
		t.Skip("FLAMEGRAPH_PL is not set")
	}
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("no perl")
	}
	for name, folded := range titleInputs(t) {
		// flamegraph.pl skips a line that ends in CR; flamegen reads it.
		folded = bytes.ReplaceAll(folded, []byte("\r\n"), []byte("\n"))
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command("perl", pl)
			cmd.Stdin = bytes.NewReader(folded)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			ref, err := cmd.Output()
			if err != nil {
				t.Fatalf("flamegraph.pl: %v\n%s", err, stderr.Bytes())
			}
			tr, err := flame.Decode(bytes.NewReader(folded), name)
			if err != nil {
				t.Fatal(err)
			}
			got := titles(drawnFrames(t, render(t, tr)))
			want := titles(drawnFrames(t, ref))
			if !slices.Equal(got, want) {
				t.Errorf("flamegen draws %d frames, flamegraph.pl %d; first differences:\n%s", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

// firstDiff shows a few entries only one of the sorted lists has.
func firstDiff(got, want []string) string {
	var b strings.Builder
	i, j, n := 0, 0, 0
	for (i < len(got) || j < len(want)) && n < 8 {
		switch {
		case j >= len(want) || i < len(got) && got[i] < want[j]:
			fmt.Fprintf(&b, "  only drawn:    %q\n", got[i])
			i++
			n++
		case i >= len(got) || want[j] < got[i]:
			fmt.Fprintf(&b, "  only expected: %q\n", want[j])
			j++
			n++
		default:
			i++
			j++
		}
	}
	return b.String()
}

// A differential graph titles each frame with after's value and share,
// then its value before, after and the change, as computed here from the
// two folded files (unnormalised).
func TestDiffTitles(t *testing.T) {
	sums := func(name string) (map[string]int64, int64) {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int64{}
		var total int64
		for _, line := range strings.Fields(strings.ReplaceAll(string(b), " ", "=")) {
			stack, count, _ := strings.Cut(line, "=")
			v, err := strconv.ParseInt(count, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			total += v
			parts := strings.Split(stack, ";")
			for k := range parts {
				m[strings.Join(parts[:k+1], ";")] += v
			}
		}
		return m, total
	}
	before, _ := sums("before.folded")
	after, total := sums("after.folded")
	var want []string
	for path, v := range after {
		name := path[strings.LastIndexByte(path, ';')+1:]
		b := before[path]
		line := fmt.Sprintf("before %d samples, after %d samples, delta %+d samples", b, v, v-b)
		if b != 0 {
			line += fmt.Sprintf(" (%+.1f%%)", 100*float64(v-b)/float64(b))
		}
		want = append(want, fmt.Sprintf("%s (%d samples, %.2f%%)\n%s", name, v, 100*float64(v)/float64(total), line))
	}
	slices.Sort(want)
	d, err := flame.Diff(load(t, "before.folded"), load(t, "after.folded"), false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range drawnFrames(t, render(t, d)) {
		if !strings.HasPrefix(f.Title, "all (") {
			got = append(got, f.Title)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("diff titles:\n%q\nwant\n%q", got, want)
	}
}

// Folded input as flamegraph.pl reads it, drawn without script: a title
// gives a fractional count with the decimals the file has, and an
// annotated frame ("_[k]", "_[j]", "_[i]") is named without its suffix and
// filled in flamegraph.pl's colour for it (kernel orange, JIT green,
// inlined aqua) in the element itself. The expected titles are computed
// here from the files, real ones from FlameGraph and inferno.
func TestStaticFramesOfAnnotatedFractionalInput(t *testing.T) {
	for _, name := range []string{"inferno-fractional.txt", "flamegraph-perf-java-faults-01-collapsed-all.txt", "inferno-java-inline-collapsed.txt"} {
		t.Run(name, func(t *testing.T) {
			folded, err := os.ReadFile(filepath.Join("..", "testdata", "corpus", name))
			if err != nil {
				t.Fatal(err)
			}
			// Per stack prefix, its count in millionths.
			sums := map[string]int64{}
			var total int64
			for _, line := range strings.Split(strings.TrimSpace(string(folded)), "\n") {
				i := strings.LastIndexAny(line, " \t")
				f, err := strconv.ParseFloat(line[i+1:], 64)
				if err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
				v := int64(math.Round(f * 1e6))
				total += v
				parts := strings.Split(strings.TrimSpace(line[:i]), ";")
				for k := range parts {
					sums[strings.Join(parts[:k+1], ";")] += v
				}
			}
			// The count as the file writes it, thousands grouped.
			count := func(v int64) string {
				s := strconv.FormatFloat(float64(v)/1e6, 'f', -1, 64)
				whole, frac, _ := strings.Cut(s, ".")
				for k := len(whole) - 3; k > 0; k -= 3 {
					whole = whole[:k] + "," + whole[k:]
				}
				if frac != "" {
					return whole + "." + frac
				}
				return whole
			}
			want := []string{"all (" + count(total) + " samples, 100%) plain"}
			for path, v := range sums {
				frame := path[strings.LastIndexByte(path, ';')+1:]
				ann := "plain"
				if n := len(frame); n > 4 && frame[n-4:n-2] == "_[" && frame[n-1] == ']' {
					ann, frame = frame[n-2:n-1], frame[:n-4]
				}
				want = append(want, fmt.Sprintf("%s (%s samples, %.2f%%) %s", frame, count(v), 100*float64(v)/float64(total), ann))
			}
			slices.Sort(want)

			tr, err := flame.Decode(bytes.NewReader(folded), name)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range drawnFrames(t, render(t, tr, WithTopSelf(0), WithMinWidth(0))) {
				got = append(got, f.Title+" "+fillKind(f.Rect.Fill))
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%d frames drawn, %d expected; first differences:\n%s", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

// fillKind names the annotation whose flamegraph.pl colour fill is: "k"
// for rgb(190-255, 90-155, 0) with red 100 above green, "j" for rgb(50-110,
// 200-255, same as red), "i" for rgb(50-110, 165-220, same as green), else
// "plain".
func fillKind(fill string) string {
	var r, g, b int
	if _, err := fmt.Sscanf(fill, "rgb(%d,%d,%d)", &r, &g, &b); err != nil {
		return "unparsed " + fill
	}
	switch {
	case b == 0 && r-g == 100 && r >= 190:
		return "k"
	case r == b && r >= 50 && r <= 110 && g >= 200:
		return "j"
	case g == b && r >= 50 && r <= 110 && g >= 165 && g <= 220:
		return "i"
	}
	return "plain"
}
