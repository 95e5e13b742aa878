package spans

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// sp makes a span of trace 1 in service "svc"; ids and parents are small
// numbers, 0 meaning no parent.
func sp(id, parent byte, name string, start, end int64) Span {
	s := Span{Name: name, Service: "svc", Start: start, End: end}
	s.TraceID[15] = 1
	s.ID[7] = id
	s.Parent[7] = parent
	return s
}

func withKind(s Span, kind string) Span { s.Kind = kind; return s }

// folded renders a tree as sorted "stack value" lines of self values, plus
// the total, so that expected trees read like the hand computations.
func folded(t *flame.Tree) string {
	var lines []string
	t.Walk(flame.Alphabetical, func(n flame.NodeID, depth int) bool {
		if n != flame.Root {
			lines = append(lines, fmt.Sprintf("%s %d", strings.Join(t.Stack(n), ";"), t.Self(n)))
		}
		return true
	})
	slices.Sort(lines)
	return fmt.Sprintf("total %d self %d\n%s", t.Total(), t.Self(flame.Root), strings.Join(lines, "\n"))
}

func TestWallAttribution(t *testing.T) {
	tests := []struct {
		name  string
		spans []Span
		want  string
		warn  Warnings
	}{
		{
			// [0,10) R alone: R 10. [10,30) A: A 20. [30,50) A,B: 10 each.
			// [50,70) B: B 20. [70,100) R alone: R 30. R=40 A=30 B=30.
			name:  "overlapping children",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 10, 50), sp(3, 1, "B", 30, 70)},
			want:  "total 100 self 0\nsvc: R 40\nsvc: R;svc: A 30\nsvc: R;svc: B 30",
		},
		{
			// A and B share all of R: 50 each. C covers half of A, where A's
			// instants are worth one half: C 25, A self 25.
			name:  "nested under a shared instant",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 0, 100), sp(3, 1, "B", 0, 100), sp(4, 2, "C", 0, 50)},
			want:  "total 100 self 0\nsvc: R 0\nsvc: R;svc: A 25\nsvc: R;svc: A;svc: C 25\nsvc: R;svc: B 50",
		},
		{
			// 10/3 each; the one unit left goes to the first child (A).
			name:  "remainder to the first child",
			spans: []Span{sp(1, 0, "R", 0, 10), sp(2, 1, "A", 0, 10), sp(3, 1, "B", 0, 10), sp(4, 1, "C", 0, 10)},
			want:  "total 10 self 0\nsvc: R 0\nsvc: R;svc: A 4\nsvc: R;svc: B 3\nsvc: R;svc: C 3",
		},
		{
			// Same-name siblings merge: A [0,40) and A [60,100) under R: A 80, R 20.
			name:  "siblings merge by name",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 0, 40), sp(3, 1, "A", 60, 100)},
			want:  "total 100 self 0\nsvc: R 20\nsvc: R;svc: A 80",
		},
		{
			// Orphan O [50,150) beside root R [0,100): wall 150. [0,50) R 50;
			// [50,100) 25 each; [100,150) O 50. R=75, O=75.
			name:  "orphan at the top level",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 9, "O", 50, 150)},
			want:  "total 150 self 0\nsvc: O 75\nsvc: R 75",
			warn:  Warnings{Orphans: 1},
		},
		{
			// Two top-level spans with a gap: the gap is the root's self time.
			name:  "gap between top-level spans",
			spans: []Span{sp(1, 0, "R", 0, 10), sp(2, 9, "O", 30, 40)},
			want:  "total 40 self 20\nsvc: O 10\nsvc: R 10",
			warn:  Warnings{Orphans: 1},
		},
		{
			// A [80,130) outlives R [0,100): R's frame extends to 130, the
			// wall time. [0,80) R 80; [80,130) A 50.
			name:  "async child outlives its parent",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 80, 130)},
			want:  "total 130 self 0\nsvc: R 80\nsvc: R;svc: A 50",
		},
		{
			// A [200,300) runs after R [0,100) ended (fire and forget): the
			// wall time is 300; the gap [100,200) is R's, as it is inside
			// R's extended frame.
			name:  "child after its parent",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 200, 300)},
			want:  "total 300 self 0\nsvc: R 200\nsvc: R;svc: A 100",
		},
		{
			// A [-, 60) starts before R [20,100): R extends back to 10.
			name:  "child before its parent",
			spans: []Span{sp(1, 0, "R", 20, 100), sp(2, 1, "A", 10, 60)},
			want:  "total 90 self 0\nsvc: R 40\nsvc: R;svc: A 50",
		},
		{
			// Two different spans with id 2: both are kept.
			name:  "shared ids keep both",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 0, 50), sp(2, 1, "B", 50, 100)},
			want:  "total 100 self 0\nsvc: R 0\nsvc: R;svc: A 50\nsvc: R;svc: B 50",
			warn:  Warnings{SharedIDs: 1},
		},
		{
			// The same span twice (an exporter's retry) counts once.
			name:  "exact duplicates dropped",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 0, 50), sp(2, 1, "A", 0, 50)},
			want:  "total 100 self 0\nsvc: R 50\nsvc: R;svc: A 50",
			warn:  Warnings{Duplicates: 1},
		},
		{
			// Spans without an id are kept, at the top level.
			name:  "spans without ids",
			spans: []Span{sp(0, 0, "X", 0, 10), sp(0, 0, "Y", 10, 20)},
			want:  "total 20 self 0\nsvc: X 10\nsvc: Y 10",
			warn:  Warnings{NoID: 2},
		},
		{
			// A→B→A: the walk from A closes the loop at A, which becomes a
			// top-level span with B under it. R [0,100) and A [0,100) then
			// share the top level: 50 each; B covers all of A: B 50.
			name:  "cycle broken",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 3, "A", 0, 100), sp(3, 2, "B", 0, 100)},
			want:  "total 100 self 0\nsvc: A 0\nsvc: A;svc: B 50\nsvc: R 50",
			warn:  Warnings{Cycles: 1},
		},
		{
			name:  "self parent",
			spans: []Span{sp(1, 1, "R", 0, 100)},
			want:  "total 100 self 0\nsvc: R 100",
			warn:  Warnings{Cycles: 1},
		},
		{
			name:  "inverted span",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 50, 40)},
			want:  "total 100 self 0\nsvc: R 100\nsvc: R;svc: A 0",
			warn:  Warnings{Inverted: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := Assemble(slices.Clone(tt.spans))
			checkWall(t, tr)
			if tr.Warnings != tt.warn {
				t.Errorf("warnings %+v, want %+v", tr.Warnings, tt.warn)
			}
			agg := NewAggregator()
			agg.Add(tr)
			if got := folded(agg.Tree()); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestSumWeight(t *testing.T) {
	tests := []struct {
		name  string
		spans []Span
		want  string
	}{
		{
			// Children 40+40 fit in R's 100: R self 20.
			name:  "children within",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 10, 50), sp(3, 1, "B", 30, 70)},
			want:  "total 100 self 0\nsvc: R 20\nsvc: R;svc: A 40\nsvc: R;svc: B 40",
		},
		{
			// Parallel children ran 20 in R's 10: R widens to 20.
			name:  "parallel children widen",
			spans: []Span{sp(1, 0, "R", 0, 10), sp(2, 1, "A", 0, 10), sp(3, 1, "B", 0, 10)},
			want:  "total 20 self 0\nsvc: R 0\nsvc: R;svc: A 10\nsvc: R;svc: B 10",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agg := NewAggregator(WithWeight(WeightSum))
			agg.Add(Assemble(slices.Clone(tt.spans)))
			if got := folded(agg.Tree()); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestWallExact checks on generated traces that wall-clock attribution is
// exact: the root is the wall time, and each frame's value equals its self
// value plus its children's.
func TestWallExact(t *testing.T) {
	set := readGenerated(t, 200, 30)
	agg := NewAggregator()
	var wall int64
	if err := set.Each(func(tr *Trace) error { wall += tr.Wall(); agg.Add(tr); return nil }); err != nil {
		t.Fatal(err)
	}
	tree := agg.Tree()
	if tree.Total() != wall {
		t.Errorf("root %d, want wall time %d", tree.Total(), wall)
	}
	tree.Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
		if tree.Self(n) < 0 {
			t.Errorf("%v: negative self %d", tree.Stack(n), tree.Self(n))
		}
		return true
	})
	if agg.Traces() != 200 {
		t.Errorf("%d traces", agg.Traces())
	}
}

func TestCriticalPath(t *testing.T) {
	tests := []struct {
		name  string
		spans []Span
		want  string // segments "name[start,end)"
	}{
		{
			// From 100 back: B ended last (70): R [70,100), then B [30,70);
			// A ends at 50, after B's start, so it is passed over: R [0,30).
			name:  "last finishing child",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 10, 50), sp(3, 1, "B", 30, 70)},
			want:  "R[0,30) B[30,70) R[70,100)",
		},
		{
			// Sequential children: C, then B, then A, with R's gaps between.
			name: "sequence",
			spans: []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 0, 20), sp(3, 1, "B", 30, 60),
				sp(4, 1, "C", 60, 90), sp(5, 4, "D", 70, 80)},
			want: "A[0,20) R[20,30) B[30,60) C[60,70) D[70,80) C[80,90) R[90,100)",
		},
		{
			name:  "gap at the top level",
			spans: []Span{sp(1, 0, "R", 0, 10), sp(2, 9, "O", 30, 40)},
			want:  "R[0,10) -[10,30) O[30,40)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := Assemble(slices.Clone(tt.spans))
			var parts []string
			var sum int64
			for _, s := range CriticalPath(tr) {
				name := "-"
				if s.Span != None {
					name = tr.Spans[s.Span].Name
				}
				parts = append(parts, fmt.Sprintf("%s[%d,%d)", name, s.Start, s.End))
				sum += s.End - s.Start
			}
			if got := strings.Join(parts, " "); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if sum != tr.Wall() {
				t.Errorf("segments cover %d, wall %d", sum, tr.Wall())
			}
		})
	}
}

func TestCriticalPaths(t *testing.T) {
	cp := NewCriticalPaths()
	cp.Add(Assemble([]Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 10, 50), sp(3, 1, "B", 30, 70)}))
	// The first trace: R [0,30) B [30,70) R [70,100). In the second A
	// ends last: R [60,100), A [10,60), then B, which ended (5) before A
	// started: R [5,10), B [0,5). R = 30+30+40+5, A = 50, B = 40+5.
	cp.Add(Assemble([]Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 10, 60), sp(3, 1, "B", 0, 5)}))
	want := "total 200 self 0\nsvc: R 105\nsvc: R;svc: A 50\nsvc: R;svc: B 45"
	if got := folded(cp.Tree()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	counts := map[string]int{}
	cp.Tree().Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
		counts[strings.Join(cp.Tree().Stack(n), ";")] = cp.Traces(n)
		return true
	})
	wantCounts := map[string]int{"": 2, "svc: R": 2, "svc: R;svc: A": 1, "svc: R;svc: B": 2}
	if fmt.Sprint(counts) != fmt.Sprint(wantCounts) {
		t.Errorf("on-path counts %v, want %v", counts, wantCounts)
	}
}

func TestLayout(t *testing.T) {
	// R [0,100): E [0,0) is zero-length and takes [0,1) for packing, so
	// A [10,50) (with child C [20,30)) shares its lane; B [30,70) overlaps
	// A, so it goes to a second lane below A's subtree (A's lane is 2 rows,
	// A and C): row 3. D [60,90) starts after A ended: A's lane, row 1.
	// Critical path from 100: D ends last [60,90); B ends at 70, after D's
	// start, so it is passed over; A [10,50) with C inside it; E is
	// zero-length. R's self: children cover [10,90), so 20.
	spans := []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 10, 50), sp(3, 2, "C", 20, 30),
		sp(4, 1, "B", 30, 70), sp(5, 1, "D", 60, 90), sp(6, 1, "E", 0, 0)}
	ch := Layout(Assemble(spans))
	got := map[string]string{}
	for _, b := range ch.Bars {
		got[ch.Trace.Spans[b.Span].Name] = fmt.Sprintf("row %d [%d,%d) self %d crit %v", b.Row, b.Start, b.End, b.Self, b.Critical)
	}
	want := map[string]string{
		"R": "row 0 [0,100) self 20 crit true",
		"E": "row 1 [0,0) self 0 crit false",
		"A": "row 1 [10,50) self 30 crit true",
		"C": "row 2 [20,30) self 10 crit true",
		"D": "row 1 [60,90) self 30 crit true",
		"B": "row 3 [30,70) self 40 crit false",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s, want %s", k, got[k], w)
		}
	}
	if ch.Rows != 4 {
		t.Errorf("rows %d, want 4", ch.Rows)
	}
	checkLayout(t, ch)
}

// checkLayout checks the layout invariants: children inside their parent
// and one row below it at least, no two bars overlapping on a row.
func checkLayout(t *testing.T, ch *Chart) {
	t.Helper()
	tr := ch.Trace
	bar := make(map[int32]Bar)
	for _, b := range ch.Bars {
		bar[b.Span] = b
		if b.Row < 0 || b.Row >= ch.Rows {
			t.Errorf("span %d on row %d of %d", b.Span, b.Row, ch.Rows)
		}
	}
	if len(bar) != len(tr.Spans) {
		t.Fatalf("%d bars for %d spans", len(bar), len(tr.Spans))
	}
	for _, b := range ch.Bars {
		sp := tr.Spans[b.Span]
		if b.Start != sp.Start || b.End != max(sp.End, sp.Start) {
			t.Errorf("span %d drawn at [%d,%d), its times are [%d,%d)", b.Span, b.Start, b.End, sp.Start, sp.End)
		}
		p := tr.Parent[b.Span]
		if p == None {
			if b.Before != 0 || b.After != 0 {
				t.Errorf("top-level span %d marked outside: %+v", b.Span, b)
			}
			continue
		}
		// A child may run outside its parent (async); that part is marked.
		pb := bar[p]
		before := max(0, min(pb.Start, b.End)-b.Start)
		after := max(0, b.End-max(pb.End, b.Start))
		if b.Row <= pb.Row || b.Before != before || b.After != after {
			t.Errorf("span %d [%d,%d) row %d, outside %d+%d; parent [%d,%d) row %d: want outside %d+%d",
				b.Span, b.Start, b.End, b.Row, b.Before, b.After, pb.Start, pb.End, pb.Row, before, after)
		}
	}
	byRow := map[int32][]Bar{}
	for _, b := range ch.Bars {
		byRow[b.Row] = append(byRow[b.Row], b)
	}
	for row, bars := range byRow {
		slices.SortFunc(bars, func(x, y Bar) int { return int(x.Start - y.Start) })
		for i := 1; i < len(bars); i++ {
			// A zero-length bar is drawn one nanosecond wide.
			if bars[i].Start < max(bars[i-1].End, bars[i-1].Start+1) {
				t.Errorf("row %d: spans %d and %d overlap", row, bars[i-1].Span, bars[i].Span)
			}
		}
	}
}

func TestLayoutGenerated(t *testing.T) {
	set := readGenerated(t, 50, 40)
	for i := range set.NumTraces() {
		checkLayout(t, Layout(set.Trace(i)))
	}
}

func TestGroupIDs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/users/123", "/users/{id}"},
		{"GET /users/123/orders/9", "GET /users/{id}/orders/{id}"},
		{"GET /orders/3f2b1c9e-5d7a-4f1e-9a0b-1c2d3e4f5a6b", "GET /orders/{id}"},
		{"/blobs/0123456789abcdef0123", "/blobs/{id}"},
		{"/v2/users", "/v2/users"},
		{"/hash/deadbeefdeadbeefdead", "/hash/deadbeefdeadbeefdead"}, // no digit
		{"/q?id=42&x=a1", "/q?id={id}&x=a1"},
		{"lock cart.mu", "lock cart.mu"},
		{"", ""},
		{"123", "{id}"},
	}
	for _, tt := range tests {
		if got := GroupIDs(tt.in); got != tt.want {
			t.Errorf("GroupIDs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGrouping(t *testing.T) {
	spans := []Span{sp(1, 0, "GET /users/1", 0, 100), sp(2, 1, "sql tx-77", 0, 50), sp(3, 1, "sql tx-78", 50, 100)}
	agg := NewAggregator(WithGroupIDs(), WithGroupPattern(regexp.MustCompile(`tx-\d+`), "tx-*"))
	agg.Add(Assemble(spans))
	want := "total 100 self 0\nsvc: GET /users/{id} 0\nsvc: GET /users/{id};svc: sql tx-* 100"
	if got := folded(agg.Tree()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestClasses(t *testing.T) {
	spans := []Span{withKind(sp(1, 0, "R", 0, 100), "goroutine"), withKind(sp(2, 1, "lock mu", 0, 50), "lock.wait"),
		withKind(sp(3, 1, "recv", 50, 100), "chan.recv"), withKind(sp(4, 1, "lock mu", 80, 90), "lock.wait")}
	spans[1].Status = StatusError
	agg := NewAggregator()
	agg.Add(Assemble(spans))
	got := map[string]string{}
	agg.Tree().Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
		if n != flame.Root {
			got[agg.Tree().Name(n)] = fmt.Sprintf("%s offcpu=%v count=%d errors=%d max=%d total=%d", agg.Class(n), agg.Class(n).OffCPU(), agg.Count(n), agg.Errors(n), agg.MaxDuration(n), agg.TotalDuration(n))
		}
		return true
	})
	want := map[string]string{
		"svc: R":       "goroutine offcpu=false count=1 errors=0 max=100 total=100",
		"svc: lock mu": "lock wait offcpu=true count=2 errors=1 max=50 total=60",
		"svc: recv":    "channel block offcpu=true count=1 errors=0 max=50 total=50",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	for kind, c := range map[string]Class{"": ClassWork, "group": ClassGroup, "lock.hold": ClassLockHold, "chan.send": ClassChanBlock, "function": ClassFunction, "task": ClassTask, "other": ClassWork} {
		if ClassOf(kind) != c {
			t.Errorf("ClassOf(%q) = %v, want %v", kind, ClassOf(kind), c)
		}
	}
	if ClassLockWait.FrameKind() != flame.KindOffCPU || ClassWork.FrameKind() != flame.KindSpan {
		t.Error("frame kinds")
	}
}

func TestDecodeFileExporterOutput(t *testing.T) {
	// The golden output of tracekit's own OTLP JSON encoder.
	f, err := os.Open("../../exporters/file/testdata/fixture.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	err = Decode(f, "fixture", func(s *Span) error {
		got = append(got, fmt.Sprintf("%s %s %s %s %q %d %d %d %q attrs=%d", s.Service, s.TraceID, s.ID, s.Parent, s.Name, s.Start, s.End, s.Status, s.Message, len(s.Attrs)))
		return nil
	}, WithAttributes())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`svc-a 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 0000000000000000 "root" 1741964966535897932 1741964968035897932 1 "" attrs=27`,
		`svc-a 4bf92f3577b34da6a3ce929d0e0e4736 b1b2b3b4b5b6b7b8 a1a2a3a4a5a6a7a8 "grandchild" 1741964966547897932 1741964966548897932 0 "" attrs=0`,
		`svc-a 4bf92f3577b34da6a3ce929d0e0e4736 a1a2a3a4a5a6a7a8 00f067aa0ba902b7 "child" 1741964966545897932 1741964966555897932 2 "boom: \"bad\"" attrs=0`,
		`svc-b 0102030405060708090a0b0c0d0e0f10 c1c2c3c4c5c6c7c8 d1d2d3d4d5d6d7d8 "remote-child" 1741964966565897932 1741964966575897932 0 "" attrs=0`,
		` 0102030405060708090a0b0c0d0e0f10 00f067aa0ba902b7 0000000000000000 "" 0 0 0 "" attrs=0`, // the fixture's empty span
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAttributesText(t *testing.T) {
	f, err := os.Open("../../exporters/file/testdata/fixture.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	attrs := map[string]string{}
	err = Decode(f, "fixture", func(s *Span) error {
		if s.Name == "root" {
			for _, a := range s.Attrs {
				attrs[a.Key] = a.Value
			}
		}
		return nil
	}, WithAttributes())
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"str":         "héllo \"wörld\"\n\t\\ \x01 \u2028 😀",
		"int":         "-9223372036854775808",
		"bool.true":   "true",
		"double":      "1.5",
		"double.nan":  "NaN",
		"double.tiny": "1e-07",
		"strs":        `["a", "", "c\"d"]`,
		"mixed":       `[1, "two", ]`,
		"map":         `{k: "v", nested: {f: 2.5}}`,
		"bytes":       "AAEC/v8=",
		"empty":       "",
	} {
		if attrs[k] != want {
			t.Errorf("%s = %q, want %q", k, attrs[k], want)
		}
	}
}

const jaegerDoc = `{"data":[{"traceID":"f1e2d3c4b5a6","spans":[
 {"traceID":"f1e2d3c4b5a6","spanID":"00000000000000a1","operationName":"checkout","references":[],
  "startTime":1000,"duration":100,"tags":[{"key":"tracekit.kind","type":"string","value":"group"}],"processID":"p1"},
 {"traceID":"f1e2d3c4b5a6","spanID":"00000000000000a2","operationName":"lock mu",
  "references":[{"refType":"FOLLOWS_FROM","traceID":"f1e2d3c4b5a6","spanID":"00000000000000ff"},{"refType":"CHILD_OF","traceID":"f1e2d3c4b5a6","spanID":"00000000000000a1"}],
  "startTime":1010,"duration":20,"tags":[{"key":"tracekit.kind","type":"string","value":"lock.wait"},{"key":"error","type":"bool","value":true},{"key":"n","type":"int64","value":7}],"processID":"p2"}],
 "processes":{"p1":{"serviceName":"front","tags":[]},"p2":{"serviceName":"back","tags":[]}},"warnings":null}],
 "total":0,"limit":0,"offset":0,"errors":null}`

func TestDecodeJaeger(t *testing.T) {
	var got []string
	err := Decode(strings.NewReader(jaegerDoc), "jaeger.json", func(s *Span) error {
		got = append(got, fmt.Sprintf("%s %s %s %s %q %d %d %d %s %v", s.Service, s.TraceID, s.ID, s.Parent, s.Name, s.Start, s.End, s.Status, s.Kind, s.Attrs))
		return nil
	}, WithAttributes())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`front 000000000000000000000f1e2d3c4b5a6 00000000000000a1 0000000000000000 "checkout" 1000000 1100000 0 group [{tracekit.kind group}]`,
		`back 000000000000000000000f1e2d3c4b5a6 00000000000000a2 00000000000000a1 "lock mu" 1010000 1030000 2 lock.wait [{tracekit.kind lock.wait} {error true} {n 7}]`,
	}
	want[0] = strings.Replace(want[0], "000000000000000000000f1e2d3c4b5a6", "00000000000000000000f1e2d3c4b5a6", 1)
	want[1] = strings.Replace(want[1], "000000000000000000000f1e2d3c4b5a6", "00000000000000000000f1e2d3c4b5a6", 1)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecodeForms(t *testing.T) {
	line := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"s"}}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"a","startTimeUnixNano":"5","endTimeUnixNano":"9"}]}]}]}`
	pretty := "{\n  \"resource_spans\": [\n    {\n      \"scope_spans\": [{\"spans\": [{\"trace_id\": \"0102030405060708090a0b0c0d0e0f10\",\n \"span_id\": \"0102030405060708\", \"name\": \"a\",\n \"start_time_unix_nano\": 5, \"end_time_unix_nano\": 9}]}],\n      \"resource\": {\"attributes\": [{\"key\": \"service.name\", \"value\": {\"string_value\": \"s\"}}]}\n    }\n  ]\n}\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(line + "\n" + line + "\n"))
	zw.Close()
	tests := []struct {
		name, in string
		n        int
	}{
		{"json lines", line + "\n" + line + "\n\n" + line, 3},
		{"crlf", line + "\r\n" + line + "\r\n", 2},
		{"pretty, resource after scopeSpans, snake_case", pretty, 1},
		{"two pretty requests", pretty + pretty, 2},
		{"v3 result wrapper", `{"result":` + line + `}`, 1},
		{"empty request", "{}\n" + line, 1},
		{"gzip", gz.String(), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			err := Decode(strings.NewReader(tt.in), "in", func(s *Span) error {
				n++
				if s.Service != "s" || s.Name != "a" || s.Start != 5 || s.End != 9 || s.ID[7] != 8 {
					t.Errorf("span %+v", *s)
				}
				return nil
			})
			if err != nil || n != tt.n {
				t.Fatalf("%d spans, err %v; want %d", n, err, tt.n)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"a"}]}]}]}`
	tests := []struct {
		name, in string
		want     string
		sentinel error
	}{
		{"empty", "", "in: line 1: no samples: expected OTLP JSON or Jaeger JSON", flame.ErrEmpty},
		{"blank", "\n\n  \n", "in: line 4: no samples: expected OTLP JSON or Jaeger JSON", flame.ErrEmpty},
		{"binary", "\x01\x02\x03", "in: line 1: unrecognised format: expected OTLP JSON (resourceSpans), OTLP protobuf or Jaeger JSON (data)", flame.ErrFormat},
		{"protobuf length cut", "\x00\x00\x00\x02\x0a\x00\x00\x00", "in: offset 6: corrupt input: expected a 4-byte request length", flame.ErrCorrupt},
		{"protobuf body cut", "\x00\x00\x00\x09\x0a\x01", "in: offset 4: corrupt input: expected a request of 9 bytes", flame.ErrCorrupt},
		{"protobuf corrupt", "\x0a\x05\x0a\xff\xff\xff", "in: offset 0: corrupt input: proto: cannot parse invalid wire-format data: expected an OTLP ExportTraceServiceRequest", flame.ErrCorrupt},
		{"not OTLP protobuf", "\x0a\x05\x01", "in: line 1: unrecognised format: expected OTLP JSON (resourceSpans), OTLP protobuf or Jaeger JSON (data)", flame.ErrFormat},
		{"object without spans", `{"foo": 1}`, "in: line 1: no samples: expected spans: the input has none of the fields resourceSpans, resource_spans, data or result that hold them", flame.ErrEmpty},
		{"no spans", `{"resourceSpans": []}`, "in: line 1: no samples: expected spans: OTLP resourceSpans[].scopeSpans[].spans or Jaeger data[].spans; the input has none", flame.ErrEmpty},
		{"negative time", strings.Replace(good, `"name"`, `"startTimeUnixNano":"-5","name"`, 1), "in: line 1: syntax error: expected a time in Unix nanoseconds, not before 1970 at byte 137", flame.ErrSyntax},
		{"protobuf bad id", "\x0a\x0a\x12\x08\x12\x06\x0a\x04\x0a\x02\xab\xcd", "in: offset 0: corrupt input: expected a 16-byte trace id", flame.ErrCorrupt},
		{"bad trace id", good + "\n" + strings.Replace(good, `"0102030405060708090a0b0c0d0e0f10"`, `"xyz"`, 1),
			"in: line 2: syntax error: expected a trace id of 32 hex digits at byte 189", flame.ErrSyntax},
		{"truncated", good + "\n" + good[:60], "in: line 2: syntax error: expected a closing '\"' before the end of the input at byte 195", flame.ErrSyntax},
		{"name not a string", strings.Replace(good, `"a"`, `7`, 1), "in: line 1: syntax error: expected a string at byte 124", flame.ErrSyntax},
		{"bad time", strings.Replace(good, `"name"`, `"startTimeUnixNano":"1.5","name"`, 1), "in: line 1: syntax error: expected an integer at byte 137", flame.ErrSyntax},
		{"trailing garbage", good + " x", "in: line 1: syntax error: expected end of line after the JSON value at byte 135", flame.ErrSyntax},
		{"jaeger overflow", `{"data":[{"spans":[{"startTime":9223372036854775,"duration":1}]}]}`, "in: line 1: syntax error: expected startTime and duration in microseconds after 1970 that fit in int64 nanoseconds at byte 32", flame.ErrSyntax},
		{"pretty truncated", "{\n\"resourceSpans\": [\n", "in: line 3: syntax error: expected '{' opening a ResourceSpans before the end of the input at byte 21", flame.ErrSyntax},
		{"bad gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffxx", "in: line 1: corrupt input: unexpected EOF: expected the rest of the gzip stream", flame.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Decode(strings.NewReader(tt.in), "in", func(*Span) error { return nil })
			if err == nil {
				t.Fatal("no error")
			}
			var pe *flame.ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tt.sentinel) {
				t.Errorf("error %T %v: want a *flame.ParseError wrapping %v", err, err, tt.sentinel)
			}
			// The protobuf library varies the space after "proto:" on
			// purpose, so that nobody matches its messages exactly.
			if strings.ReplaceAll(err.Error(), "\u00a0", " ") != tt.want {
				t.Errorf("error\n%s\nwant\n%s", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	stop := errors.New("stop")
	if err := Decode(strings.NewReader(good), "in", func(*Span) error { return stop }); err != stop {
		t.Errorf("callback error: %v", err)
	}
}

func TestTraceFilter(t *testing.T) {
	set := readGenerated(t, 5, 10)
	id := set.TraceID(3)
	var buf bytes.Buffer
	writeGenerated(t, &buf, 5, 10)
	one, err := Read(&buf, "gen", WithTrace(id))
	if err != nil {
		t.Fatal(err)
	}
	if one.NumTraces() != 1 || one.Len() != 10 || one.TraceID(0) != id {
		t.Errorf("filtered: %d traces, %d spans", one.NumTraces(), one.Len())
	}
	if i, ok := one.Lookup(id); !ok || i != 0 {
		t.Errorf("Lookup = %d, %v", i, ok)
	}
	if got, ok := ParseTraceID(id.String()); !ok || got != id {
		t.Errorf("ParseTraceID(%s) = %s, %v", id, got, ok)
	}
}

func TestWarningsString(t *testing.T) {
	w := Warnings{Orphans: 2, Cycles: 1}
	if got := w.String(); got != "2 orphan spans (parent missing), 1 parent cycle broken" {
		t.Errorf("%q", got)
	}
	if (Warnings{}).Any() || !w.Any() {
		t.Error("Any")
	}
}

// TestFormatsAgree reads the same generated traces as OTLP JSON lines and
// as a Jaeger response: the spans and the aggregated trees must be equal.
func TestFormatsAgree(t *testing.T) {
	agg := func(path string) (string, int) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		set, err := Read(f, path)
		if err != nil {
			t.Fatal(err)
		}
		a := NewAggregator(WithGroupIDs())
		set.Each(func(tr *Trace) error { a.Add(tr); return nil })
		return folded(a.Tree()), set.Len()
	}
	otlp, n1 := agg("testdata/traces.jsonl")
	for _, other := range []string{"testdata/traces-jaeger.json", "testdata/traces.pb", "testdata/traces-framed.pb"} {
		got, n2 := agg(other)
		if n1 != 12*15 || n2 != n1 {
			t.Fatalf("%d and %d spans, want %d", n1, n2, 12*15)
		}
		if otlp != got {
			t.Errorf("OTLP JSON:\n%s\n%s:\n%s", otlp, other, got)
		}
	}
	// Protobuf and JSON give the same spans, attributes included.
	spansOf := func(path string) []string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var out []string
		if err := Decode(f, path, func(s *Span) error { out = append(out, spanKey(s)+fmt.Sprint(s.Attrs)); return nil }, WithAttributes()); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	if a, b := spansOf("testdata/traces.jsonl"), spansOf("testdata/traces-framed.pb"); !slices.Equal(a, b) {
		t.Errorf("JSON and protobuf spans differ:\n%s\n%s", a[0], b[0])
	}
	if !strings.Contains(otlp, "frontend: GET /users/{id};") {
		t.Errorf("no grouped root frame in\n%s", otlp)
	}
	pretty, err := os.Open("testdata/pretty.json")
	if err != nil {
		t.Fatal(err)
	}
	defer pretty.Close()
	set, err := Read(pretty, "pretty.json")
	if err != nil || set.NumTraces() != 2 || set.Len() != 30 {
		t.Fatalf("pretty.json: %v, %d traces", err, set.NumTraces())
	}
}

// TestWallBruteForce compares wall-clock attribution on generated traces
// (times in whole microseconds) with its definition applied literally:
// every microsecond of the trace split equally among the spans active
// through it, level by level, in exact rationals.
func TestWallBruteForce(t *testing.T) {
	f, err := os.Open("testdata/traces-jaeger.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set, err := Read(f, "traces-jaeger.json")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		tr := set.Trace(i)
		agg := NewAggregator()
		agg.Add(tr)
		tree := agg.Tree()
		want := WallSweep(tr, 1000)
		tree.Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
			path := strings.Join(tree.Stack(n), ";")
			w := want[path]
			if w == nil {
				t.Errorf("frame %q not in the trace", path)
				return true
			}
			diff := new(big.Rat).Sub(new(big.Rat).SetInt64(tree.Value(n)), w)
			if diff.Abs(diff).Cmp(big.NewRat(1, 1)) >= 0 {
				t.Errorf("%s: %d, want %s", path, tree.Value(n), w.FloatString(3))
			}
			return true
		})
	}
}

// TestBareJaegerTrace reads one Jaeger trace object saved without the
// {"data": [...]} envelope; keys before "spans" are read again as the
// trace's.
func TestBareJaegerTrace(t *testing.T) {
	in := `{"traceID":"1","resourceSpans":[{}],"spans":[{"traceID":"1","spanID":"0102030405060708","operationName":"a","startTime":2,"duration":3,"processID":"p"}],` +
		`"processes":{"p":{"serviceName":"s"}}}`
	set, err := Read(strings.NewReader(in), "trace.json")
	if err != nil {
		t.Fatal(err)
	}
	got := set.Spans(nil, 0)
	if len(got) != 1 || got[0].Service != "s" || got[0].Name != "a" || got[0].Start != 2000 || got[0].End != 5000 {
		t.Errorf("spans %+v", got)
	}
}

func TestReport(t *testing.T) {
	// Trace 1: R [0,100) with A [10,50) and a lock wait W [30,70): wall
	// R 40, A 30, W 30 (as in TestWallAttribution); critical path
	// R [0,30) W [30,70) R [70,100). Trace 2: R [0,10) alone.
	tr1 := []Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 10, 50), withKind(sp(3, 1, "W", 30, 70), "lock.wait")}
	tr2 := []Span{sp(1, 0, "R", 0, 10)}
	tr2[0].TraceID[15] = 2
	agg, cp := NewAggregator(), NewCriticalPaths()
	for _, tr := range [][]Span{tr1, tr2} {
		a := Assemble(tr)
		agg.Add(a)
		cp.Add(a)
	}
	var got []string
	for _, r := range Report(agg, cp) {
		got = append(got, fmt.Sprintf("%s self=%d total=%d spans=%d max=%d mean=%d crit=%d/%d %s",
			strings.Join(agg.Tree().Stack(r.Frame), ";"), r.Self, r.Total, r.Spans, r.MaxDuration, r.MeanDuration, r.Critical, r.CriticalTraces, r.Class))
	}
	want := []string{
		"svc: R self=50 total=110 spans=2 max=100 mean=55 crit=70/2 work",
		"svc: R;svc: A self=30 total=30 spans=1 max=40 mean=40 crit=0/0 work",
		"svc: R;svc: W self=30 total=30 spans=1 max=40 mean=40 crit=40/1 lock wait",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if w := Waits(Report(agg, nil)); len(w) != 1 || agg.Tree().Name(w[0].Frame) != "svc: W" || w[0].Critical != 0 {
		t.Errorf("waits %+v", w)
	}
}

// checkWall compares wall-clock attribution of tr with bruteForceWall at
// one-nanosecond steps. Each span's integer share is within a nanosecond of
// its exact share of its parent's integer share, so it is within depth
// nanoseconds of its exact value, and a frame within spans×depth.
func checkWall(t *testing.T, tr *Trace) {
	t.Helper()
	agg := NewAggregator()
	agg.Add(tr)
	tree := agg.Tree()
	want := WallSweep(tr, 1)
	tree.Walk(flame.Alphabetical, func(n flame.NodeID, depth int) bool {
		path := strings.Join(tree.Stack(n), ";")
		w := want[path]
		if w == nil {
			t.Fatalf("frame %q not in the trace", path)
		}
		diff := new(big.Rat).Sub(new(big.Rat).SetInt64(tree.Value(n)), w)
		if tol := max(agg.Count(n), 1) * int64(max(depth, 1)); diff.Abs(diff).Cmp(big.NewRat(tol, 1)) >= 0 {
			t.Fatalf("%s: %d, want %s", path, tree.Value(n), w.FloatString(3))
		}
		return true
	})
}

// TestWallWide checks wall-clock attribution on many overlapping siblings
// with children of their own, where each child's density is handed down as
// one piece per stretch of its subtree rather than the parent's segments.
func TestWallWide(t *testing.T) {
	spans := []Span{sp(1, 0, "R", 0, 400)}
	for i := range 40 {
		id := byte(2 + 2*i)
		s := int64(3 * i)
		// Distinct names keep one span per frame, so that rounding does
		// not add up across merged spans.
		spans = append(spans, sp(id, 1, fmt.Sprint("C", i), s, s+150+int64(i)), sp(id+1, id, fmt.Sprint("G", i), s+5, s+7+int64(i%5)))
	}
	checkWall(t, Assemble(spans))
}

// TestDiffSpanTrees compares two days of traces with flame.Diff, as
// "flamegen diff --spans" does: the same requests, where the database call
// doubled in the second set.
func TestDiffSpanTrees(t *testing.T) {
	day := func(db int64) *flame.Tree {
		agg := NewAggregator()
		for i := range 3 {
			spans := []Span{sp(1, 0, "GET /a", 0, 100+db), sp(2, 1, "render", 0, 50), sp(3, 1, "db", 50, 50+db)}
			for j := range spans {
				spans[j].TraceID[0] = byte(i)
			}
			agg.Add(Assemble(spans))
		}
		return agg.Tree()
	}
	d, _ := flame.Diff(day(20), day(40), false)
	got := map[string]string{}
	d.Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
		got[strings.Join(d.Stack(n), ";")] = fmt.Sprintf("%d→%d", d.Base(n), d.Value(n))
		return true
	})
	// Per trace: GET /a self 50, render 50, db 20 then 40; three traces.
	want := map[string]string{"": "360→420", "svc: GET /a": "360→420", "svc: GET /a;svc: render": "150→150", "svc: GET /a;svc: db": "60→120"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("diff %v, want %v", got, want)
	}
}

// Lock waits and channel blocks are off-CPU frames, in both weights, and a
// wait and a span of the same name under one parent stay two frames.
func TestOffCPUFrameKinds(t *testing.T) {
	spans := []Span{sp(1, 0, "R", 0, 100), withKind(sp(2, 1, "lock mu", 0, 50), "lock.wait"),
		withKind(sp(3, 1, "recv", 50, 90), "chan.recv"), sp(4, 1, "lock mu", 90, 100)}
	for _, w := range []Weight{WeightWall, WeightSum} {
		t.Run(w.String(), func(t *testing.T) {
			agg := NewAggregator(WithWeight(w))
			agg.Add(Assemble(spans))
			tr := agg.Tree()
			var got []string
			tr.Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
				if n != flame.Root {
					got = append(got, fmt.Sprintf("%s kind=%d class=%s value=%d", tr.Name(n), tr.Kind(n), agg.Class(n), tr.Value(n)))
				}
				return true
			})
			want := []string{
				"svc: R kind=2 class=work value=100",
				"svc: lock mu kind=1 class=lock wait value=50",
				"svc: lock mu kind=2 class=work value=10",
				"svc: recv kind=1 class=channel block value=40",
			}
			if !slices.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
