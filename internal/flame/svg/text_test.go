package svg

import (
	"bytes"
	"testing"

	"github.com/tracekit-go/tracekit/internal/flame"
)

func TestWriteTop(t *testing.T) {
	tr := load(t, "cpu.pprof")
	tests := []struct {
		markdown bool
		want     string
	}{
		{false, `    self   self%      total   total%  function
40.00 ms  40.00%   40.00 ms   40.00%  app+0x4abc
30.00 ms  30.00%   40.00 ms   40.00%  main.parse
30.00 ms  30.00%   30.00 ms   30.00%  runtime.mallocgc
    0 ns   0.00%  100.00 ms  100.00%  main.main
    0 ns   0.00%   60.00 ms   60.00%  main.handle
`},
		{true, "| self | self% | total | total% | function |\n|---:|---:|---:|---:|---|\n| 40.00 ms | 40.00% | 40.00 ms | 40.00% | `app+0x4abc` |\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		n := 0
		if tt.markdown {
			n = 1
		}
		if err := WriteTop(&b, tr, n, tt.markdown); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
		}
	}
}

// The top table of a diff lists what changed, biggest change first, with
// before, after and the change, not after's values alone.
func TestWriteTopDiff(t *testing.T) {
	d, _ := flame.Diff(load(t, "before.folded"), load(t, "after.folded"), false)
	var b bytes.Buffer
	if err := WriteTop(&b, d, 0, false); err != nil {
		t.Fatal(err)
	}
	want := `    before       after        delta   change  function
20 samples  60 samples  +40 samples  +200.0%  layout
50 samples  20 samples  -30 samples   -60.0%  parse
 0 samples  10 samples  +10 samples      new  cache
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteTop(&b, d, 1, true); err != nil {
		t.Fatal(err)
	}
	if want := "| before | after | delta | change | function |\n|---:|---:|---:|---:|---|\n| 20 samples | 60 samples | +40 samples | +200.0% | `layout` |\n"; b.String() != want {
		t.Errorf("markdown:\n%s\nwant\n%s", b.String(), want)
	}
	gone, _ := flame.Diff(load(t, "after.folded"), load(t, "before.folded"), false)
	if got := flame.TopDiff(gone, 0); len(got) != 3 || got[2].Name != "cache" || change(got[2]) != "gone" {
		t.Errorf("reversed diff: %+v", got)
	}
}
