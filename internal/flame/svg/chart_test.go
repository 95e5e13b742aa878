package svg

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/internal/flame"
)

func TestNiceStep(t *testing.T) {
	for _, tt := range []struct{ in, want int64 }{{0, 1}, {1, 1}, {3, 5}, {7, 10}, {12, 20}, {46_795_729, 50_000_000}, {100, 100}} {
		if got := niceStep(tt.in); got != tt.want {
			t.Errorf("niceStep(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestWriteChart(t *testing.T) {
	c := Chart{Begin: 1000, End: 1000 + 100e6, Rows: 2, MarkLabel: "the critical path",
		Bars: []ChartBar{
			{Row: 0, Start: 1000, End: 1000 + 100e6, Label: "svc: <root> & co", Tooltip: []string{"duration 100ms"}, Outlined: true},
			{Row: 1, Start: 1000 + 10e6, End: 1000 + 60e6, Label: "svc: lock mu", Kind: flame.KindOffCPU, Tooltip: []string{"lock"}, Error: true},
			{Row: 1, Start: 1000 + 70e6, End: 1000 + 70e6, Label: "svc: instant", Tooltip: []string{"instant"}},
			{Row: 1, Start: 1000 + 80e6, End: 1000 + 85e6, Label: "a-long-service: step", Short: "step", Tooltip: []string{"step"}},
		},
		Marks: []ChartMark{{Row: 0, Start: 1000, End: 1000 + 100e6}},
	}
	var a, b bytes.Buffer
	if err := WriteChart(&a, c, WithWidth(1020)); err != nil {
		t.Fatal(err)
	}
	WriteChart(&b, c, WithWidth(1020))
	out := a.String()
	if out != b.String() {
		t.Error("two writes differ")
	}
	for _, want := range []string{
		`<title>svc: &lt;root&gt; &amp; co (100.00 ms, 100.00%)&#xA;duration 100ms</title><rect x="10.00" y="84" width="1000.00"`,
		`class="crit"`, `class="err"`, `fill="rgb(0,`, // the wait is off-CPU blue-green
		`<rect x="710.00" y="100" width="0.50"`,                                      // a zero-length span stays visible
		`text-anchor="middle">50.00 ms</text>`, `text-anchor="end">100.00 ms</text>`, // the last label stays inside

		"Dark red line, thick outline: the critical path", "status Error (1)",
		`>step</text>`, // 50 px hold "step", not "a-long-service: step"
	} {
		if !strings.Contains(out, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if strings.Contains(out, "<root>") || strings.Contains(out, "<script") {
		t.Error("unescaped name or a script in the chart")
	}
}

// The parts of a bar outside its parent's time are hatched, and the
// legend says what the hatching means.
func TestWriteChartOutside(t *testing.T) {
	c := Chart{Begin: 0, End: 1000, Rows: 2, Bars: []ChartBar{
		{Row: 0, Start: 0, End: 500, Label: "svc: handler", Kind: flame.KindSpan},
		{Row: 1, Start: 400, End: 1000, Label: "svc: async send", Kind: flame.KindSpan, Outside: []Stretch{{500, 1000}}},
	}}
	var b bytes.Buffer
	if err := WriteChart(&b, c, WithWidth(1020), WithoutPrefix("svc: ", "service svc")); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`<rect class="outside" x="510.00" y="100" width="500.00" height="15" fill="url(#outside)" pointer-events="none"/>`,
		`<pattern id="outside"`,
		"Hatched: the part of a span outside its parent&#39;s time, such as async work that outlives it (1 span)",
		`<title>async send (600 ns, 60.00%)</title>`,
		">service svc · ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if strings.Count(out, `fill="url(#outside)"`) != 1 {
		t.Error("a bar inside its parent is hatched")
	}
}

// A bar's band draws each part at least a pixel wide as a rect of its own
// with its title; narrower neighbours are gathered into one rect of up to a
// pixel whose title lists them. The legend names the states drawn, and a
// chart without bands has neither bands nor their legend.
func TestWriteChartBands(t *testing.T) {
	// 1000 px for 10,000 ns: 10 ns a pixel.
	c := Chart{Begin: 0, End: 10000, Rows: 1, Bars: []ChartBar{{Row: 0, Start: 0, End: 10000, Label: "svc: w", Band: []BandPart{
		{Start: 0, End: 4000, State: "running"},
		{Start: 4000, End: 9000, State: "lock", Title: "lock: orders, released by goroutine 7 in svc: h"},
		{Start: 9000, End: 9003, State: "runnable"}, // gathered with the next: under a pixel each
		{Start: 9003, End: 9005, State: "gc"},
		{Start: 9005, End: 9005, State: "sleep"}, // empty: skipped
	}}}}
	var buf bytes.Buffer
	if err := WriteChart(&buf, c, WithWidth(1020)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`<rect class="band" x="10.00" y="99" width="400.00" height="5" fill="` + StateColor("running") + `"><title>running 4.00 µs</title></rect>`,
		`<title>lock 5.00 µs: lock: orders, released by goroutine 7 in svc: h</title>`,
		`fill="` + StateColor("runnable") + `"><title>2 stretches over 5 ns: runnable 3 ns gc 2 ns</title>`,
		`<g class="state"><title>running: on a P, running Go code</title>`,
		`<g class="state"><title>lock: blocked on a lock, sync.Cond or sync.WaitGroup</title>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("chart lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, `class="band"`); n != 3 {
		t.Errorf("%d band rects, want 3", n)
	}
	if strings.Contains(out, `<title>sleep: `) || strings.Contains(out, `<title>syscall: `) {
		t.Error("the legend names states not drawn")
	}

	// Many parts under a pixel each gather into rects of about a pixel.
	c.Bars[0].Band = nil
	for i := int64(0); i < 1000; i += 2 {
		c.Bars[0].Band = append(c.Bars[0].Band, BandPart{Start: i, End: i + 1, State: "running"}, BandPart{Start: i + 1, End: i + 2, State: "runnable"})
	}
	c.End = 100_000 // 100 ns a pixel
	buf.Reset()
	WriteChart(&buf, c, WithWidth(1020))
	if n := strings.Count(buf.String(), `class="band"`); n < 9 || n > 11 {
		t.Errorf("%d band rects for 1000 ns at 100 ns a pixel, want about 10", n)
	}
	if !strings.Contains(buf.String(), " stretches over ") {
		t.Error("no gathered rect lists its stretches")
	}

	c.Bars[0].Band = nil
	buf.Reset()
	WriteChart(&buf, c, WithWidth(1020))
	if strings.Contains(buf.String(), `class="band"`) || strings.Contains(buf.String(), "Band under each span") {
		t.Error("bands or their legend without bands")
	}
}
