package flame

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// parseFolded reads folded text into a tree of samples.
func parseFolded(t testing.TB, s string) *Tree {
	t.Helper()
	tr := NewTree("samples")
	if err := ParseFolded(strings.NewReader(s), "in", tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// folded renders a tree as sorted "stack self" lines (the test's own
// writer, so that these tests do not depend on package svg).
func folded(t *Tree) string {
	var b strings.Builder
	t.Walk(Alphabetical, func(n NodeID, depth int) bool {
		if n == Root {
			return true
		}
		s := t.Self(n)
		if s != 0 || (t.IsDiff() && t.BaseSelf(n) != 0) {
			b.WriteString(strings.Join(t.Stack(n), ";"))
			if t.IsDiff() {
				b.WriteString(" " + itoa(t.BaseSelf(n)))
			}
			b.WriteString(" " + itoa(s) + "\n")
		}
		return true
	})
	return b.String()
}

func itoa(v int64) string { return formatInt(v) }

func formatInt(v int64) string {
	var buf [20]byte
	i := len(buf)
	neg := v < 0
	if neg {
		v = -v
	}
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}

func TestParseFolded(t *testing.T) {
	tests := []struct {
		name, in, want string
		total          int64
	}{
		{"merge", "a;b 1\na;b 2\na;c 3\n", "a;b 3\na;c 3\n", 6},
		{"unsorted", "b 1\na;x 2\na 3\n", "a 3\na;x 2\nb 1\n", 6},
		{"crlf and blank lines", "a;b 1\r\n\r\n\na 2", "a 2\na;b 1\n", 3},
		{"trailing separators", "a;b;; 4\n", "a;b 4\n", 4},
		{"leading empty frame", ";a 1\n", ";a 1\n", 1},
		{"spaces in names", "main;func (x) 1\n", "main;func (x) 1\n", 1},
		{"zero count", "a 0\nb 1\n", "b 1\n", 1},
		{"prefix reuse after divergence", "a;b;c 1\na;b;d 1\na;e;c 1\na;b;c 1\n", "a;b;c 2\na;b;d 1\na;e;c 1\n", 4},
		{"byte-order mark", "\xef\xbb\xbfa;b 1\n", "a;b 1\n", 1},
		{"shorter then longer", "a;b;c 1\na 1\na;b;c 1\n", "a 1\na;b;c 2\n", 3},
		// As flamegraph.pl reads them: comments, a tab or several spaces
		// before the count (one is the separator), fractions.
		{"comments", "# a comment\na;b 1\n#c 4\n", "a;b 1\n", 1},
		{"tab before the count", "a;b\t3\n", "a;b 3\n", 3},
		{"spaces before the count stay in the name", "a;b  3\n", "a;b  3\n", 3},
		{"fractional diff line", "a;b 1.5 2.25\n", "a;b 150 225\n", 225},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTree("samples")
			if err := ParseFolded(strings.NewReader(tt.in), "in", tr); err != nil {
				t.Fatal(err)
			}
			if got := folded(tr); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if tr.Total() != tt.total {
				t.Errorf("total %d, want %d", tr.Total(), tt.total)
			}
		})
	}
}

func TestParseFoldedDiffLines(t *testing.T) {
	tr := NewTree("samples")
	if err := ParseFolded(strings.NewReader("a;b 5 7\na 1 0\n"), "in", tr); err != nil {
		t.Fatal(err)
	}
	if !tr.IsDiff() {
		t.Fatal("two counts did not make a diff tree")
	}
	if got, want := folded(tr), "a 1 0\na;b 5 7\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseFoldedErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int64
		sentinel error
		msg      string
	}{
		{"no count", "a;b 1\na;b\n", 2, ErrSyntax, "in: line 2: syntax error: no count after the stack"},
		{"non-numeric", "a x\n", 1, ErrSyntax, `count "x": not a number`},
		{"fraction without digits before the point", "a .5\n", 1, ErrSyntax, `count ".5": not a number`},
		{"two points", "a 1.2.3\n", 1, ErrSyntax, `count "1.2.3": not a number`},
		{"negative", "a 1\n\na -3\n", 3, ErrSyntax, `count "-3": negative`},
		{"sum past int64", "a 9223372036854775807\nb 1\n", 2, ErrOverflow, "values overflow int64"},
		{"fractions past int64", "a 922337203685477581\nb 0.01\n", 2, ErrOverflow, "do not fit with 2 decimal places"},
		{"bad escape", EscapedHeader + "\na%zz 1\n", 2, ErrSyntax, `frame "a%zz"`},
		{"only comments", "# a 1\n#b\n", 0, ErrEmpty, "no samples"},
		{"overflow", "a 99999999999999999999\n", 1, ErrSyntax, "out of range"},
		{"empty stack", " 5\n", 1, ErrSyntax, "empty stack"},
		{"empty", "", 0, ErrEmpty, "in: offset 0: no samples"},
		{"only blank", "\n\n", 0, ErrEmpty, "no samples"},
		{"too long", "a;" + strings.Repeat("x", 3000) + " 1\n", 1, ErrLineTooLong, "longer than 1024 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ParseFolded(strings.NewReader(tt.in), "in", NewTree("samples"), WithMaxLineBytes(1024))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("err = %v, want %v", err, tt.sentinel)
			}
			if pe.Line != tt.line || pe.Input != "in" {
				t.Errorf("at %s line %d, want in line %d", pe.Input, pe.Line, tt.line)
			}
			if !strings.Contains(err.Error(), tt.msg) || strings.Contains(err.Error(), "\n") {
				t.Errorf("message %q, want one line containing %q", err, tt.msg)
			}
		})
	}
}

// A line far longer than the reader's buffer is refused without being held
// in memory whole.
func TestParseFoldedHugeLine(t *testing.T) {
	r := io.MultiReader(strings.NewReader("a;"), io.LimitReader(repeatReader('x'), 1<<30))
	err := ParseFolded(r, "huge", NewTree("samples"), WithMaxLineBytes(4<<20))
	if !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v, want ErrLineTooLong", err)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestDecodeDetectsContent(t *testing.T) {
	fold := readTestdata(t, "exact.folded")
	cpu := readTestdata(t, "cpu.pprof")
	heap := readTestdata(t, "heap.pprof")
	tests := []struct {
		name  string
		in    []byte
		unit  string
		total int64
	}{
		{"folded", fold, "samples", 100},
		{"gzipped folded", gz(fold), "samples", 100},
		{"gzipped pprof", cpu, "nanoseconds", 100000000},
		{"plain pprof", heap, "bytes", 1<<16 + 1024},
		{"legacy text profile", []byte("heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1 0x2\n"), "bytes", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Decode(bytes.NewReader(tt.in), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Unit != tt.unit || (tt.total != 0 && tr.Total() != tt.total) {
				t.Errorf("unit %q total %d, want %q %d", tr.Unit, tr.Total(), tt.unit, tt.total)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	fold := readTestdata(t, "exact.folded")
	cpu := readTestdata(t, "cpu.pprof")
	bin := make([]byte, 512)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	tests := []struct {
		name     string
		in       []byte
		sentinel error
		msg      string
	}{
		{"empty", nil, ErrEmpty, "empty: offset 0: no samples: expected folded stacks or a pprof profile"},
		{"truncated gzip", gz(fold)[:30], ErrCorrupt, "truncated gzip: "},
		{"truncated gzipped pprof", cpu[:len(cpu)/2], ErrCorrupt, "expected a complete gzip stream"},
		{"corrupt pprof", append([]byte{0x0a, 0x05, 0x08}, bin...), ErrCorrupt, "expected a pprof profile (protobuf, optionally gzipped, or a legacy profile)"},
		{"binary", bin, ErrFormat, "binary: offset 0: unrecognised format"},
		{"zeros", make([]byte, 1000), ErrFormat, "zeros: offset 0: unrecognised format"},
		{"bad gzip header", []byte{0x1f, 0x8b, 0, 0}, ErrCorrupt, "bad gzip header"},
		{"folded error inside gzip", gz([]byte("a 1\nb\n")), ErrSyntax, "folded error inside gzip: line 2"},
		{"unknown sample type", cpu, ErrFormat, `no sample type "wall"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.name == "unknown sample type" {
				opts = append(opts, WithSampleType("wall"))
			}
			_, err := Decode(bytes.NewReader(tt.in), tt.name, opts...)
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want *ParseError wrapping %v", err, tt.sentinel)
			}
			if !strings.Contains(err.Error(), tt.msg) || strings.Contains(err.Error(), "\n") {
				t.Errorf("message %q, want one line containing %q", err, tt.msg)
			}
		})
	}
}

func TestPprofOptions(t *testing.T) {
	cpu := readTestdata(t, "cpu.pprof")
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"default sample type, inlined frames", nil,
			"main.main;app+0x4abc 40000000\nmain.main;main.handle;main.parse 30000000\nmain.main;main.handle;main.parse;runtime.mallocgc 10000000\nmain.main;main.handle;runtime.mallocgc 20000000\n"},
		{"sample type by name", []Option{WithSampleType("samples")},
			"main.main;app+0x4abc 4\nmain.main;main.handle;main.parse 3\nmain.main;main.handle;main.parse;runtime.mallocgc 1\nmain.main;main.handle;runtime.mallocgc 2\n"},
		{"tag filter", []Option{WithSampleType("samples"), WithTag("span_name", "checkout")},
			"main.main;main.handle;main.parse 3\nmain.main;main.handle;main.parse;runtime.mallocgc 1\n"},
		{"lines", []Option{WithSampleType("samples"), WithLines()},
			"main.main:10;app+0x4abc 4\nmain.main:10;main.handle:20;main.parse:33 3\nmain.main:10;main.handle:20;main.parse:33;runtime.mallocgc:900 1\nmain.main:10;main.handle:25;runtime.mallocgc:900 2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := ParsePprof(cpu, "cpu.pprof", tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := folded(tr); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	heap := readTestdata(t, "heap.pprof")
	tr, err := ParsePprof(heap, "heap.pprof", WithTag("bytes", "8192"), WithSampleType("alloc_space"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.SampleType != "alloc_space" || tr.Unit != "bytes" || tr.Total() != 1<<20 {
		t.Errorf("numeric tag filter: %s %s %d", tr.SampleType, tr.Unit, tr.Total())
	}
}

func TestReverse(t *testing.T) {
	tr := NewTree("samples")
	ParseFolded(strings.NewReader("a;b;c 2\na;b 1\nx;c 4\n"), "in", tr)
	r := tr.Reverse()
	if got, want := folded(r), "b;a 1\nc;b;a 2\nc;x 4\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if r.Total() != tr.Total() {
		t.Errorf("total %d, want %d", r.Total(), tr.Total())
	}
}

func TestDiff(t *testing.T) {
	before := parseFolded(t, string(readTestdata(t, "before.folded")))
	after := parseFolded(t, string(readTestdata(t, "after.folded")))
	// before: 100 samples, after: 120; normalised, before is scaled by 1.2.
	d, err := Diff(before, after, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := folded(d), "main;cache 0 10\nmain;parse 60 20\nmain;render 36 30\nmain;render;layout 24 60\n"; got != want {
		t.Errorf("normalised:\n%s\nwant\n%s", got, want)
	}
	if d.Base(Root) != 120 || d.Total() != 120 {
		t.Errorf("totals %d/%d, want 120/120", d.Base(Root), d.Total())
	}
	raw, err := Diff(before, after, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := folded(raw), "main;cache 0 10\nmain;parse 50 20\nmain;render 30 30\nmain;render;layout 20 60\n"; got != want {
		t.Errorf("raw:\n%s\nwant\n%s", got, want)
	}
}

func TestKindsAreDistinctFrames(t *testing.T) {
	tr := NewTree("nanoseconds")
	a := tr.Add([]string{"checkout", "db.query"}, KindSpan, 10)
	b := tr.Add([]string{"checkout", "db.query"}, KindCPU, 5)
	if a == b || tr.Kind(a) != KindSpan || tr.Kind(b) != KindCPU {
		t.Fatalf("span and CPU frames merged: %d %d", a, b)
	}
	if tr.Total() != 15 || tr.Len() != 5 {
		t.Errorf("total %d frames %d, want 15 and 5", tr.Total(), tr.Len())
	}
}

// Many children under one parent switch the lookup to a map; the tree must
// be the same.
func TestWideParent(t *testing.T) {
	var in strings.Builder
	for i := 0; i < 100; i++ {
		in.WriteString("root;f" + formatInt(int64(i%37)) + " 1\n")
	}
	tr := NewTree("samples")
	if err := ParseFolded(strings.NewReader(in.String()), "in", tr); err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 1+1+37 {
		t.Errorf("frames %d, want 39", tr.Len())
	}
}

// AddUnder and Descend build the same tree as Add: below a span frame, a
// wait of another kind and CPU frames of the code that ran.
func TestAddUnderAndDescend(t *testing.T) {
	const want = "checkout 40\ncheckout;lock mu 25\ncheckout;main.f;runtime.memmove 35\n"

	cases := []struct {
		name  string
		build func(tr *Tree)
	}{
		{"AddUnder", func(tr *Tree) {
			span := tr.AddUnder(Root, []string{"checkout"}, KindSpan, 40)
			tr.AddUnder(span, []string{"lock mu"}, KindOffCPU, 25)
			tr.AddUnder(span, []string{"main.f", "runtime.memmove"}, KindCPU, 35)
		}},
		{"Descend", func(tr *Tree) {
			tr.AddUnder(Root, nil, KindSpan, 100)
			span := tr.Descend(Root, "checkout", KindSpan, 100)
			tr.Descend(span, "lock mu", KindOffCPU, 25)
			f := tr.Descend(span, "main.f", KindCPU, 35)
			tr.Descend(f, "runtime.memmove", KindCPU, 35)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTree("nanoseconds")
			tc.build(tr)
			if got := folded(tr); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if tr.Total() != 100 || tr.Len() != 5 {
				t.Errorf("total %d frames %d, want 100 and 5", tr.Total(), tr.Len())
			}
			kinds := map[string]Kind{}
			tr.Walk(Alphabetical, func(n NodeID, _ int) bool { kinds[tr.Name(n)] = tr.Kind(n); return true })
			if kinds["checkout"] != KindSpan || kinds["lock mu"] != KindOffCPU || kinds["runtime.memmove"] != KindCPU {
				t.Errorf("kinds %v", kinds)
			}
		})
	}
}

// Sample values whose sum passes int64 are refused, in one profile and
// across merged ones, never wrapped into negative shares.
func TestPprofOverflow(t *testing.T) {
	prof := func(vals ...int64) *profile.Profile {
		f := &profile.Function{ID: 1, Name: "main.f"}
		loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: f}}}
		p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "cpu", Unit: "nanoseconds"}},
			Function: []*profile.Function{f}, Location: []*profile.Location{loc}}
		for _, v := range vals {
			p.Sample = append(p.Sample, &profile.Sample{Location: []*profile.Location{loc}, Value: []int64{v}, Label: map[string][]string{"n": {fmt.Sprint(len(p.Sample))}}})
		}
		return p
	}
	const big = math.MaxInt64/2 + 1
	if _, err := ProfileTree(prof(big, big), "one"); !errors.Is(err, ErrOverflow) {
		t.Errorf("one profile: %v", err)
	}
	if _, err := MergeProfiles([]*profile.Profile{prof(big), prof(big)}, []string{"a", "b"}); !errors.Is(err, ErrOverflow) {
		t.Errorf("merged: %v", err)
	}
	if _, err := MergeProfiles([]*profile.Profile{prof(big, big)}, []string{"a"}); !errors.Is(err, ErrOverflow) {
		t.Errorf("one merged: %v", err)
	}
	tr, err := ProfileTree(prof(big, -big), "delta")
	if err != nil || tr.Total() != big || tr.Base(Root) != big {
		t.Errorf("a delta of big values: %v, %d %d", err, tr.Total(), tr.Base(Root))
	}
}
