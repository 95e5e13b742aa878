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
