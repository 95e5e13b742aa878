package svg

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/internal/flame"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func load(t testing.TB, name string) *flame.Tree {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := flame.Decode(f, name)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking the change)\ngot:\n%s", name, got)
	}
}

// TestLayoutExact checks the frames drawn for exact.folded against
// testdata/exact.layout, worked out by hand from flamegraph.pl's rules:
// identical stacks merged, siblings sorted by name, each frame starting at
// its parent's left edge plus the parent's self value (its own line sorts
// before its callees') plus the widths of its left siblings, and frames
// narrower than --minwidth pixels (of 1180 drawable pixels for 100 samples,
// so 11.8 px per sample) left out. With --minwidth 12 only main;tiny (one
// sample, 11.8 px) goes.
func TestLayoutExact(t *testing.T) {
	tr := load(t, "exact.folded")
	var b bytes.Buffer
	for _, mw := range []float64{DefaultMinWidth, 12} {
		fmt.Fprintf(&b, "# width 1200, minwidth %g: depth x width name\n", mw)
		for _, f := range Layout(tr, 1200, mw, flame.Alphabetical) {
			fmt.Fprintf(&b, "%d %d %d %s\n", f.Depth, f.X, f.Value, f.Name)
		}
	}
	golden(t, "exact.layout", b.Bytes())
}

func TestLayoutLeftHeavy(t *testing.T) {
	tr := load(t, "exact.folded")
	var names []string
	for _, f := range Layout(tr, 1200, 0, flame.LeftHeavy) {
		names = append(names, fmt.Sprintf("%s@%d", f.Name, f.X))
	}
	want := "all@0 main@0 work@0 compute@0 io@50 read@50 alloc@80 tiny@90 gc@96 mark@96"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func render(t testing.TB, tr *flame.Tree, opts ...Option) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, tr, opts...); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSVGGolden(t *testing.T) {
	tests := []struct {
		name string
		file string
		opts []Option
	}{
		{"exact.svg", "exact.folded", nil},
		{"exact-icicle-heavy.svg", "exact.folded", []Option{WithInverted(), WithOrder(flame.LeftHeavy), WithPalette(Mem), WithWidth(800),
			WithHighlight(regexp.MustCompile("^io$")), WithTitle("Icicle & co"), WithSubtitle("sub <title>")}},
		{"cpu.svg", "cpu.pprof", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := load(t, tt.file)
			got := render(t, tr, tt.opts...)
			if again := render(t, tr, tt.opts...); !bytes.Equal(got, again) {
				t.Fatal("two renders of the same tree differ")
			}
			wellFormed(t, got)
			golden(t, tt.name, got)
		})
	}
}

func TestDiffSVG(t *testing.T) {
	d, _ := flame.Diff(load(t, "before.folded"), load(t, "after.folded"), true)
	got := render(t, d)
	wellFormed(t, got)
	dd := embedded(t, got)
	colors := map[string]string{}
	for i := 0; i < len(dd.F)/stride; i++ {
		colors[dd.Names[dd.F[i*stride]]] = dd.Colors[dd.FC[i]]
	}
	// Normalised to 120 samples: parse changed most (60 -> 20): full blue;
	// layout grew 24 -> 60 (36/40 of that): red; render grew 60 -> 90;
	// main is unchanged: white.
	if colors["parse"] != "rgb(0,0,255)" || colors["layout"] != "rgb(255,21,21)" || colors["render"] != "rgb(255,53,53)" || colors["main"] != "rgb(250,250,250)" {
		t.Errorf("diff colours: %v", colors)
	}
	if !bytes.Contains(got, []byte("Differential Flame Graph")) || len(dd.Base) != len(dd.F)/stride {
		t.Error("diff graph lacks its title or its baseline values")
	}
	// The legend ranks what changed most, not after's self time.
	for _, want := range []string{"Largest changes of self time (outlined thick):", ">1. parse -40 samples (before 60 samples, after 20 samples)<", ">2. layout +36 samples (before 24 samples, after 60 samples)<"} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("diff legend lacks %q", want)
		}
	}
}

// wellFormed parses the SVG as XML, as a browser does before running any
// script.
func wellFormed(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
	}
}

func embedded(t *testing.T, svg []byte) data {
	t.Helper()
	const start, end = `<metadata id="flamegen-data">`, "</metadata>"
	i := bytes.Index(svg, []byte(start))
	j := bytes.Index(svg[i:], []byte(end))
	if i < 0 || j < 0 {
		t.Fatal("no embedded data")
	}
	raw := svg[i+len(start) : i+j]
	if bytes.ContainsAny(raw, "<>&") {
		t.Fatal("embedded data holds markup characters")
	}
	var d data
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestHostileNames(t *testing.T) {
	tr := load(t, "hostile.folded")
	got := render(t, tr, WithTitle("<script>alert(3)</script>"), WithHighlight(regexp.MustCompile("quoted")))
	wellFormed(t, got)
	for _, bad := range []string{"<script>alert", "</svg><svg", "\xff"} {
		if bytes.Contains(got, []byte(bad)) {
			t.Errorf("output holds %q unescaped", bad)
		}
	}
	// U+2028 is text in a title, but would end a line in script.
	if meta := got[bytes.Index(got, []byte("<metadata")):]; bytes.Contains(meta, []byte("\u2028")) {
		t.Error("embedded data holds U+2028 unescaped")
	}
	if n := bytes.Count(got, []byte("]]>")); n != 1 {
		t.Errorf("%d CDATA ends, want only the script's own", n)
	}
	d := embedded(t, got)
	want := map[string]bool{
		"<script>alert(1)</script>":   true,
		"\"quoted\" & 'single'":       true,
		"end]]>of cdata":              true,
		"bad\uFFFD\uFFFDutf8":         true,
		"</svg><svg onload=alert(2)>": true,
		"\u2028line\u2029sep":         true,
	}
	for _, n := range d.Names {
		delete(want, n)
	}
	if len(want) > 0 {
		t.Errorf("names not carried as text: %v", want)
	}
}

func TestStableColours(t *testing.T) {
	a := frameColor(Hot, "net/http.(*conn).serve", flame.KindCPU)
	if a != frameColor(Hot, "net/http.(*conn).serve", flame.KindCPU) {
		t.Fatal("colour not stable")
	}
	tests := []struct{ name, pkg string }{
		{"net/http.(*conn).serve", "net/http"},
		{"github.com/a/b.(*T).M.func1", "github.com/a/b"},
		{"runtime.mallocgc", "runtime"},
		{"std::vector<int>::push_back", "std"},
		{"do_syscall_64_[k]", "do_syscall_64"},
		{"main", "main"},
	}
	for _, tt := range tests {
		if got := pkgOf(tt.name); got != tt.pkg {
			t.Errorf("pkgOf(%q) = %q, want %q", tt.name, got, tt.pkg)
		}
	}
	// Same package: same red and green channels in the hot palette.
	x, y := frameColor(Hot, "runtime.mallocgc", 0), frameColor(Hot, "runtime.gcDrain", 0)
	if x[strings.Index(x, ","):] != y[strings.Index(y, ","):] {
		t.Errorf("same package, different hue: %s %s", x, y)
	}
	if c := frameColor(Hot, "runtime.gopark", flame.KindOffCPU); !strings.HasPrefix(c, "rgb(0,") {
		t.Errorf("off-CPU frame not blue-green: %s", c)
	}
}

func TestTopSelfLegend(t *testing.T) {
	got := render(t, load(t, "exact.folded"), WithTopSelf(2))
	d := embedded(t, got)
	var top []string
	for _, i := range d.TopF {
		top = append(top, d.Names[d.F[i*stride]])
	}
	if strings.Join(top, ",") != "compute,read" {
		t.Errorf("outlined %v, want compute and read", top)
	}
	for _, s := range []string{"Most self time (outlined thick):", "1. compute 50 samples (50.00%)", "2. read 25 samples (25.00%)"} {
		if !bytes.Contains(got, []byte(s)) {
			t.Errorf("legend lacks %q", s)
		}
	}
}

func TestEmptyTree(t *testing.T) {
	got := render(t, flame.NewTree("samples"))
	wellFormed(t, got)
}

// The one place where flamegen knowingly differs from flamegraph.pl: a name
// that sorts between "b " and "b;" does not split "b" in two.
func TestLayoutMergesAcrossInterleavedSibling(t *testing.T) {
	tr, err := flame.Decode(strings.NewReader("a;b;c 1\na;b 2\na;b.x 3\n"), "in")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range Layout(tr, 1200, 0.1, flame.Alphabetical) {
		got = append(got, fmt.Sprintf("%d:%s@%d+%d", f.Depth, f.Name, f.X, f.Value))
	}
	if want := "0:all@0+6 1:a@0+6 2:b@0+3 3:c@2+1 2:b.x@3+3"; strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

// The script rebuilds each frame's x from the dx column; doing the same here
// must give Layout's x, also after a frame left out by --minwidth (main;tiny
// at 12 px, which shifts work and its children by one sample).
func TestEmbeddedPositions(t *testing.T) {
	tr := load(t, "exact.folded")
	for _, mw := range []float64{0.1, 12} {
		d := embedded(t, render(t, tr, WithMinWidth(mw)))
		frames := Layout(tr, DefaultWidth, mw, flame.Alphabetical)
		if len(d.F)/stride != len(frames) {
			t.Fatalf("minwidth %g: %d frames embedded, %d laid out", mw, len(d.F)/stride, len(frames))
		}
		next := make([]int64, d.MaxDepth+2)
		for i, f := range frames {
			r := d.F[i*stride : (i+1)*stride]
			depth := int(r[1])
			x := next[depth] + r[4]
			next[depth], next[depth+1] = x+r[2], x+r[3] // children after the self value
			if d.Names[r[0]] != f.Name || depth != f.Depth || x != f.X || r[2] != f.Value || r[3] != tr.Self(f.Node) {
				t.Errorf("minwidth %g frame %d: %s d%d x%d w%d, want %s d%d x%d w%d", mw, i, d.Names[r[0]], depth, x, r[2], f.Name, f.Depth, f.X, f.Value)
			}
		}
	}
}

func TestPaletteFor(t *testing.T) {
	tests := []struct {
		file, sampleType string
		want             Palette
	}{
		{"exact.folded", "", Hot},
		{"cpu.pprof", "", Hot},
		{"heap.pprof", "", Mem},
		{"heap.pprof", "alloc_objects", Mem},
	}
	for _, tt := range tests {
		tr := load(t, tt.file)
		if tt.sampleType != "" {
			tr.SampleType = tt.sampleType
			tr.Unit = "count"
		}
		if got := PaletteFor(tr); got != tt.want {
			t.Errorf("%s %s: palette %d, want %d", tt.file, tt.sampleType, got, tt.want)
		}
	}
	tr := flame.NewTree("nanoseconds")
	tr.SampleType = "delay"
	if PaletteFor(tr) != BlueGreen {
		t.Error("mutex delay not drawn in off-CPU colours")
	}
}

func TestHighlightLegend(t *testing.T) {
	// work (80 samples) holds the other three matches, which count once.
	got := render(t, load(t, "exact.folded"), WithHighlight(regexp.MustCompile("^(work|compute|io|read)$")))
	d := embedded(t, got)
	if len(d.HL) != 4 {
		t.Errorf("%d frames highlighted, want work, compute, io, read", len(d.HL))
	}
	if want := "Outlined thin: 4 frames matching /^(work|compute|io|read)$/, 80.00% of all"; !bytes.Contains(got, []byte(want)) {
		t.Errorf("legend lacks %q", want)
	}
}

// Notes reach the embedded data once per distinct text, escaped, paired
// with their frames; legend lines come before the self-time list.
func TestNotesAndLegend(t *testing.T) {
	tr := flame.NewTree("nanoseconds")
	a := tr.Add([]string{"svc: A"}, flame.KindSpan, 100)
	b := tr.Add([]string{"svc: A", "main.work"}, flame.KindCPU, 40)
	c := tr.Add([]string{"svc: B<&>"}, flame.KindSpan, 50)
	notes := map[flame.NodeID]string{a: "on CPU 40 ns", c: "on CPU <1 & 2>"}
	var buf bytes.Buffer
	err := Write(&buf, tr, WithNotes(func(n flame.NodeID) string { return notes[n] }), WithLegend("Blue-green: waits"))
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	meta := out[strings.Index(out, `<metadata id="flamegen-data">`):strings.Index(out, "</metadata>")]
	var d data
	if err := json.Unmarshal([]byte(strings.TrimPrefix(meta, `<metadata id="flamegen-data">`)), &d); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for k := 0; k+1 < len(d.FN); k += 2 {
		got[d.Names[d.F[d.FN[k]*stride]]] = d.Notes[d.FN[k+1]]
	}
	if len(got) != 2 || got["svc: A"] != "on CPU 40 ns" || got["svc: B<&>"] != "on CPU <1 & 2>" {
		t.Errorf("notes by frame %v", got)
	}
	if strings.Contains(meta, "<1") {
		t.Error("note not escaped in the data")
	}
	legend := out[strings.Index(out, `<g id="legend">`):]
	if i, j := strings.Index(legend, "Blue-green: waits"), strings.Index(legend, "Most self time"); i < 0 || j < i {
		t.Errorf("legend order: %s", legend[:min(len(legend), 300)])
	}
	_ = b
}

// Spans are blue-grey and waits blue-green whatever the palette of the
// profile frames, so that a span looks the same in every graph.
func TestKindPalettes(t *testing.T) {
	for _, p := range []Palette{Hot, Mem, BlueGreen} {
		if got, want := frameColor(p, "svc: A", flame.KindSpan), frameColor(IO, "svc: A", flame.KindCPU); got != want {
			t.Errorf("palette %d: span frame %s, want %s", p, got, want)
		}
		if got := frameColor(p, "lock", flame.KindOffCPU); !strings.HasPrefix(got, "rgb(0,") {
			t.Errorf("palette %d: off-CPU frame %s, want blue-green", p, got)
		}
	}
	if got, want := frameColor(Hot, "main.f", flame.KindCPU), frameColor(Hot, "main.f", flame.KindSpan); got == want {
		t.Errorf("CPU frame drawn in the span palette: %s", got)
	}
}

func TestMarked(t *testing.T) {
	tr := flame.NewTree("nanoseconds")
	a := tr.Add([]string{"a"}, flame.KindSpan, 10)
	tr.Add([]string{"a", "b"}, flame.KindSpan, 5)
	c := tr.Add([]string{"c"}, flame.KindSpan, 5)
	var buf bytes.Buffer
	if err := Write(&buf, tr, WithMarked(func(n flame.NodeID) bool { return n == a || n == c }, "slow")); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// Depth-first, alphabetical: root 0, a 1, b 2, c 3.
	if !strings.Contains(out, `"hl":[1,3]`) || !strings.Contains(out, "Outlined thin: 2 frames slow") {
		t.Errorf("marked frames or legend missing:\n%s", out[strings.Index(out, "<g id=\"legend\">"):strings.Index(out, "<g id=\"tip\"")])
	}
}

// Frames with errors get a red corner, counted in the legend; a prefix
// every frame shares is drawn once, in the subtitle, and search and
// highlight see the names without it.
func TestErrorsAndPrefix(t *testing.T) {
	tr := flame.NewTree("nanoseconds")
	a := tr.Add([]string{"shop: GET /cart"}, flame.KindSpan, 40)
	tr.Add([]string{"shop: GET /cart", "shop: db.query"}, flame.KindSpan, 60)
	got := string(render(t, tr, WithErrors(func(n flame.NodeID) bool { return n == a }, "with failed spans"),
		WithoutPrefix("shop: ", "service shop"), WithHighlight(regexp.MustCompile("^db"))))
	for _, want := range []string{
		`<title>GET /cart (100 ns, 100.00%)</title><rect x="10.0" y="76" width="1179.5" height="15" rx="2" fill="`,
		`<path d="M10.0 76h6l-6 6z" fill="rgb(230,0,0)"/>`,
		`<title>db.query (60 ns, 60.00%)</title>`,
		`>service shop · nanoseconds · total 100 ns · 3 frames</text>`,
		`>Red corner: 1 frame with failed spans</text>`,
		`>Outlined thin: 1 frame matching /^db/, 60.00% of all</text>`,
		`>1. db.query 60 ns (60.00%)</text>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if strings.Contains(got, "shop: ") {
		t.Error("a frame keeps the prefix")
	}
	if n := strings.Count(got, `fill="rgb(230,0,0)"`); n != 1 {
		t.Errorf("%d red corners, want 1", n)
	}
}
