package flame

import (
	"testing"
)

func TestTopRecursion(t *testing.T) {
	tr := parseFolded(t, "main;walk;walk;walk;visit 6\nmain;walk 2\nmain;other 2\n")
	top := Top(tr, 0)
	got := map[string][2]int64{}
	for _, e := range top {
		got[e.Name] = [2]int64{e.Self, e.Total}
		if tr.NameAt(e.NameIndex) != e.Name {
			t.Errorf("%s: name index %d names %q", e.Name, e.NameIndex, tr.NameAt(e.NameIndex))
		}
	}
	// walk's total counts each sample once although it recurses.
	if got["walk"] != [2]int64{2, 8} || got["visit"] != [2]int64{6, 6} || got["main"] != [2]int64{0, 10} {
		t.Errorf("top: %v", got)
	}
	if top[0].Name != "visit" {
		t.Errorf("first row %q, want visit", top[0].Name)
	}
	// The first n alone are ranked the same way.
	if two := Top(tr, 2); len(two) != 2 || two[0] != top[0] || two[1] != top[1] || two[1].Name != "walk" || two[1].Total != 8 {
		t.Errorf("top 2: %+v, want the first two of %+v", two, top)
	}
}

// A function reached by several call paths (and as a span and a CPU frame)
// is one entry holding all of its self value.
func TestTopMergesFramesOfAFunction(t *testing.T) {
	tr := NewTree("nanoseconds")
	tr.Add([]string{"a", "sha256.block"}, KindCPU, 30)
	tr.Add([]string{"b", "c", "sha256.block"}, KindCPU, 20)
	tr.Add([]string{"b", "d"}, KindCPU, 40)
	tr.Add([]string{"b", "sha256.block"}, KindSpan, 5)
	top := Top(tr, 2)
	if len(top) != 2 || top[0].Name != "sha256.block" || top[0].Self != 55 || top[0].Total != 55 || top[1].Name != "d" {
		t.Errorf("top 2: %+v", top)
	}
}

func TestTopDiff(t *testing.T) {
	d, err := Diff(parseFolded(t, "m;a 10\nm;b 10\nx;a 5\n"), parseFolded(t, "m;a 2\nm;b 10\nx;a 1\nm;c 7\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	got := TopDiff(d, 0)
	// a: 15 -> 3 (both paths); c: new; b unchanged, left out.
	if len(got) != 2 || got[0].Name != "a" || got[0].Before != 15 || got[0].After != 3 || d.NameAt(got[0].NameIndex) != "a" || got[1].Name != "c" || got[1].Before != 0 || got[1].After != 7 || got[1].Delta() != 7 {
		t.Errorf("top diff: %+v", got)
	}
}
