package flame

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The corpus (testdata/corpus, see its PROVENANCE) holds folded stacks
// from FlameGraph's and inferno's tests and legacy and protobuf profiles
// from google/pprof's and Go's. The expectations below come from the tools
// that own those formats: flamegraph.pl run on the file (when it is
// installed: FLAMEGRAPH_PL names it, or it is on PATH), go tool pprof, and
// counts recorded from flamegraph.pl's output.

func corpusFile(t testing.TB, name string) []byte {
	return readTestdata(t, filepath.Join("corpus", name))
}

var foldedCorpus = []struct {
	file string
	// flamegraph.pl --minwidth 0 on the file at FlameGraph commit
	// 41fee1f9: the "all" frame's samples and the number of frames drawn,
	// the root included. Fractional counts show rounded, as it prints them.
	total  int64
	frames int
}{
	{"flamegraph-perf-dd-stacks-01-collapsed-all.txt", 101010100, 26},
	{"flamegraph-perf-java-faults-01-collapsed-all.txt", 200, 64},
	{"flamegraph-perf-js-stacks-01-collapsed-all.txt", 2, 21},
	{"flamegraph-perf-numa-stacks-01-collapsed-all.txt", 199, 112},
	{"inferno-fractional.txt", 335, 20},
	{"inferno-fractional-with-space.txt", 335, 21},
	{"inferno-zero-fractionals.txt", 333, 20},
	{"inferno-tricky-stack.txt", 3, 4},
	{"inferno-java-inline-collapsed.txt", 222222220, 59},
	{"inferno-dtrace-java.txt", 1, 5},
}

// frameKey is a frame as flamegraph.pl's titles show it: its depth and its
// name without annotation.
type frameKey struct {
	depth int
	name  string
}

// treeFrames sums the rounded values of t's frames by depth and name.
func treeFrames(t *Tree) map[frameKey]float64 {
	out := map[frameKey]float64{}
	t.Walk(Alphabetical, func(n NodeID, depth int) bool {
		out[frameKey{depth, t.Name(n)}] += float64(t.Value(n)) / float64(t.Scale())
		return true
	})
	return out
}

// flamegraphPL runs flamegraph.pl on file and returns its frames, summed
// by depth and name, and how many it drew.
func flamegraphPL(t *testing.T, pl, file string) (map[frameKey]float64, int) {
	t.Helper()
	out, err := exec.Command("perl", pl, "--minwidth", "0", file).Output()
	if err != nil {
		t.Fatalf("flamegraph.pl %s: %v", file, err)
	}
	re := regexp.MustCompile(`<title>(.*?)</title><rect x="[^"]*" y="([0-9.]+)"`)
	type frame struct {
		name    string
		samples float64
		y       float64
	}
	var frames []frame
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		title := html.UnescapeString(m[1])
		i := strings.LastIndex(title, " (")
		fields := strings.Fields(title[i+2:])
		n, err := strconv.ParseFloat(strings.ReplaceAll(fields[0], ",", ""), 64)
		if err != nil {
			t.Fatalf("title %q: %v", title, err)
		}
		y, _ := strconv.ParseFloat(m[2], 64)
		frames = append(frames, frame{title[:i], n, y})
	}
	bottom := 0.0 // the root is drawn lowest
	for _, f := range frames {
		bottom = max(bottom, f.y)
	}
	got := map[frameKey]float64{}
	for _, f := range frames {
		name := f.name
		if f.y == bottom {
			name = "all"
		}
		got[frameKey{int(math.Round((bottom - f.y) / 16)), name}] += f.samples
	}
	return got, len(frames)
}

func TestFoldedCorpus(t *testing.T) {
	pl := os.Getenv("FLAMEGRAPH_PL")
	if pl == "" {
		pl, _ = exec.LookPath("flamegraph.pl")
	}
	for _, c := range foldedCorpus {
		t.Run(c.file, func(t *testing.T) {
			tr, err := Decode(bytes.NewReader(corpusFile(t, c.file)), c.file)
			if err != nil {
				t.Fatal(err)
			}
			checkTree(t, tr)
			ours := treeFrames(tr)
			if got := math.RoundToEven(ours[frameKey{0, "all"}]); int64(got) != c.total {
				t.Errorf("total %v, flamegraph.pl shows %d", got, c.total)
			}
			if pl == "" {
				return
			}
			want, n := flamegraphPL(t, pl, filepath.Join("testdata", "corpus", c.file))
			if n != c.frames {
				t.Errorf("flamegraph.pl drew %d frames, the recorded count is %d", n, c.frames)
			}
			// Each frame of flamegraph.pl rounds on its own; sums of several
			// frames at one depth with one name may differ by one per frame.
			for k, w := range want {
				if d := math.Abs(ours[k] - w); d > 0.5*float64(tr.Len()) || (d >= 1 && !hasFraction(tr)) {
					t.Errorf("%q at depth %d: %v samples, flamegraph.pl %v", k.name, k.depth, ours[k], w)
				}
			}
			for k := range ours {
				if _, ok := want[k]; !ok && ours[k] > 0 {
					t.Errorf("%q at depth %d: not drawn by flamegraph.pl", k.name, k.depth)
				}
			}
		})
	}
}

func hasFraction(t *Tree) bool { return t.Scale() > 1 }

// Frames counted straight from the files: an annotation is stripped from
// the name, kept as the frame's Annotation, and is part of its identity.
func TestFoldedAnnotations(t *testing.T) {
	count := func(file string) map[Annotation]int {
		tr, err := Decode(bytes.NewReader(corpusFile(t, file)), file)
		if err != nil {
			t.Fatal(err)
		}
		got := map[Annotation]int{}
		tr.Walk(Alphabetical, func(n NodeID, _ int) bool {
			if a := tr.Annotation(n); a != NoAnnotation {
				got[a]++
				if strings.HasSuffix(tr.Name(n), "]") && strings.Contains(tr.Name(n), "_[") {
					t.Errorf("%s: annotation left in name %q", file, tr.Name(n))
				}
			}
			return true
		})
		return got
	}
	// Counted off the files with a few lines of Python: the distinct stack
	// prefixes whose last frame ends in "_[k]", "_[j]", "_[i]" or "_[w]".
	tests := []struct {
		file string
		want map[Annotation]int
	}{
		{"flamegraph-perf-dd-stacks-01-collapsed-all.txt", map[Annotation]int{Kernel: 19}},
		{"flamegraph-perf-js-stacks-01-collapsed-all.txt", map[Annotation]int{JIT: 7}},
		{"inferno-dtrace-java.txt", map[Annotation]int{Inlined: 1}},
		{"inferno-java-inline-collapsed.txt", map[Annotation]int{Inlined: 23}},
	}
	for _, tt := range tests {
		if got := count(tt.file); !maps(got, tt.want) {
			t.Errorf("%s: annotated frames %v, want %v", tt.file, got, tt.want)
		}
	}

	tr := NewTree("samples")
	in := "w;a_[k] 1\nw;a 2\nw;b_[j];c_[i] 3\nw;d_[w] 4\nw;e_[x] 5\nw;_[k] 6\n"
	if err := ParseFolded(strings.NewReader(in), "in", tr); err != nil {
		t.Fatal(err)
	}
	var got []string
	tr.Walk(Alphabetical, func(n NodeID, _ int) bool {
		if n != Root {
			got = append(got, fmt.Sprintf("%s/%s=%d", tr.Name(n), tr.Annotation(n), tr.Value(n)))
		}
		return true
	})
	want := []string{"w/=21", "_[k]/=6", "a/=2", "a/kernel=1", "b/jit=3", "c/inlined=3", "d/waker=4", "e_[x]/=5"}
	// "_[k]" alone is a kernel frame with an empty name, sorted first.
	want[1] = "/kernel=6"
	if !slices.Equal(got, want) {
		t.Errorf("frames %q, want %q", got, want)
	}
}

func maps(a, b map[Annotation]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Fractional counts are kept exactly: the sums read off inferno's file.
func TestFoldedFractions(t *testing.T) {
	tr, err := Decode(bytes.NewReader(corpusFile(t, "inferno-fractional.txt")), "f")
	if err != nil {
		t.Fatal(err)
	}
	// 31.23 + 6.1 + 1.4 + 19.0 + 2.567 + 274.321 = 334.618; the finest
	// count has three decimals.
	if tr.Scale() != 1000 || tr.Total() != 334618 {
		t.Errorf("scale %d total %d, want 1000 and 334618", tr.Scale(), tr.Total())
	}
	var b bytes.Buffer
	if err := WriteFolded(&b, tr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "noploop;main 274.321\n") || !strings.Contains(b.String(), "cksum;cksum 6.100\n") {
		t.Errorf("folded output:\n%s", b.String())
	}
	// Two inputs of different precision merge into one tree.
	tr = NewTree("samples")
	for _, in := range []string{"a 1\n", "a;b 0.25\n", "a 0.5\n"} {
		if err := ParseFolded(strings.NewReader(in), "in", tr); err != nil {
			t.Fatal(err)
		}
	}
	if tr.Scale() != 100 || tr.Total() != 175 || folded(tr) != "a 150\na;b 25\n" {
		t.Errorf("scale %d total %d:\n%s", tr.Scale(), tr.Total(), folded(tr))
	}
	// Digits past the ninth decimal place round.
	tr = NewTree("samples")
	if err := ParseFolded(strings.NewReader("a 0.0000000015\n"), "in", tr); err != nil {
		t.Fatal(err)
	}
	if tr.Scale() != 1e9 || tr.Total() != 2 {
		t.Errorf("scale %d total %d, want 1e9 and 2", tr.Scale(), tr.Total())
	}
}

// A differential file from inferno's tests (two counts per line) reads as a
// diff tree whose totals are the columns' sums, read off the file.
func TestFoldedDiffCorpus(t *testing.T) {
	b := corpusFile(t, "inferno-diff.txt")
	var before, after int64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		x, _ := strconv.ParseInt(f[len(f)-2], 10, 64)
		y, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
		before, after = before+x, after+y
	}
	tr, err := Decode(bytes.NewReader(b), "diff")
	if err != nil {
		t.Fatal(err)
	}
	if !tr.IsDiff() || tr.Base(Root) != before || tr.Total() != after {
		t.Errorf("diff %v: before %d after %d, want %d and %d", tr.IsDiff(), tr.Base(Root), tr.Total(), before, after)
	}
}

// flamegraph.pl skips a line that is not a stack and a count; flamegen
// stops there, naming it.
func TestFoldedBadLine(t *testing.T) {
	_, err := Decode(bytes.NewReader(corpusFile(t, "inferno-bad-lines.txt")), "bad-lines.txt")
	if err == nil || !strings.Contains(err.Error(), `bad-lines.txt: line 3: syntax error: count "LINE": not a number`) {
		t.Errorf("err = %v", err)
	}
}

var pprofPath = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "tool", "-n", "pprof").Output()
	return strings.TrimSpace(string(out)), err
})

// pprofTool returns the path of go tool pprof's binary (go tool -n), so
// that each run skips the go command's start-up.
func pprofTool(t *testing.T) string {
	p, err := pprofPath()
	if err != nil || p == "" {
		t.Skipf("go tool pprof: %v", err)
	}
	return p
}

// pprofRaw runs go tool pprof on files and returns the sample type it
// shows by default and, per sample type, the sums of the positive values
// and of the magnitudes of the negative ones in its -raw listing.
func pprofRaw(t *testing.T, files ...string) (string, map[string][2]int64) {
	t.Helper()
	pprof := pprofTool(t)
	top, err := exec.Command(pprof, append([]string{"-top", "-nodecount=1"}, files...)...).Output()
	if err != nil {
		t.Fatalf("go tool pprof -top: %v", err)
	}
	m := regexp.MustCompile(`(?m)^Type: (\S+)$`).FindSubmatch(top)
	if m == nil {
		t.Fatalf("go tool pprof -top: no Type line in\n%s", top)
	}
	raw, err := exec.Command(pprof, append([]string{"-raw"}, files...)...).Output()
	if err != nil {
		t.Fatalf("go tool pprof -raw: %v", err)
	}
	sums := map[string][2]int64{}
	var types []string
	sample := regexp.MustCompile(`^\s+(-?\d+(?:\s+-?\d+)*): `)
	lines := strings.Split(string(raw), "\n")
	for i, l := range lines {
		if l == "Samples:" && i+1 < len(lines) {
			for _, f := range strings.Fields(lines[i+1]) {
				types = append(types, strings.Split(f, "/")[0])
			}
			continue
		}
		if types == nil || (i > 0 && lines[i-1] == "Samples:") {
			continue
		}
		if l != "" && !strings.HasPrefix(l, " ") {
			break // the Locations section
		}
		if sm := sample.FindStringSubmatch(l); sm != nil {
			for j, v := range strings.Fields(sm[1]) {
				n, _ := strconv.ParseInt(v, 10, 64)
				s := sums[types[j]]
				if n >= 0 {
					s[0] += n
				} else {
					s[1] -= n
				}
				sums[types[j]] = s
			}
		}
	}
	return string(m[1]), sums
}

// Every legacy and protobuf profile of the corpus decodes by content to
// the sample type go tool pprof shows and the total of its -raw listing.
func TestPprofCorpus(t *testing.T) {
	files := []string{
		"pprof-cppbench.contention", "pprof-cppbench.thread", "pprof-cppbench.thread.all", "pprof-cppbench.thread.none",
		"pprof-go.godoc.thread", "pprof-java.contention", "pprof-java.heap", "pprof-cppbench.heap", "pprof-cppbench.growth",
		"pprof-gobench.heap", "pprof-java.cpu", "pprof-go.crc32.cpu", "pprof-gobench.cpu", "go-devirt.pprof", "go-inline_hot.pprof",
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			b := corpusFile(t, f)
			br, err := Uncompress(bytes.NewReader(b), f, 0)
			if err != nil {
				t.Fatal(err)
			}
			if head, _ := br.Peek(4096); Detect(head) != FormatPprof {
				t.Fatalf("detected as %v", Detect(head))
			}
			tr, err := Decode(bytes.NewReader(b), f)
			if err != nil {
				t.Fatal(err)
			}
			st, sums := pprofRaw(t, filepath.Join("testdata", "corpus", f))
			if tr.SampleType != st {
				t.Errorf("sample type %q, go tool pprof shows %q", tr.SampleType, st)
			}
			if want := sums[st]; tr.Total() != want[0] || tr.Base(Root) != want[1] {
				t.Errorf("total %d (baseline %d), go tool pprof -raw sums %v", tr.Total(), tr.Base(Root), want)
			}
			checkTree(t, tr)
		})
	}
}

// The profiles Go's compiler builds itself with (PGO): the largest public
// CPU profile a Go installation carries, read where it is installed.
func TestPprofGoroot(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root, err := exec.Command(goBin, "env", "GOROOT").Output()
	if err != nil {
		t.Skip(err)
	}
	pgo := filepath.Join(strings.TrimSpace(string(root)), "src", "cmd", "compile", "default.pgo")
	b, err := os.ReadFile(pgo)
	if err != nil {
		t.Skip(err)
	}
	tr, err := Decode(bytes.NewReader(b), pgo)
	if err != nil {
		t.Fatal(err)
	}
	st, sums := pprofRaw(t, pgo)
	if tr.SampleType != st || tr.Total() != sums[st][0] {
		t.Errorf("%s total %d, go tool pprof: %s %v", tr.SampleType, tr.Total(), st, sums[st])
	}
}

// A delta profile made by go tool pprof -diff_base from two real profiles
// has negative values: it becomes a diff tree whose baseline is what was
// lost and whose value is what was gained, the sums of -raw's columns.
func TestPprofDelta(t *testing.T) {
	delta := filepath.Join(t.TempDir(), "delta.pb.gz")
	cmd := exec.Command(pprofTool(t), "-proto", "-output", delta,
		"-diff_base", filepath.Join("testdata", "corpus", "go-inline_hot.pprof"), filepath.Join("testdata", "corpus", "go-devirt.pprof"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go tool pprof -diff_base: %v\n%s", err, out)
	}
	b, err := os.ReadFile(delta)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Decode(bytes.NewReader(b), "delta")
	if err != nil {
		t.Fatal(err)
	}
	st, sums := pprofRaw(t, delta)
	if !tr.IsDiff() || tr.SampleType != st || tr.Total() != sums[st][0] || tr.Base(Root) != sums[st][1] || sums[st][1] == 0 {
		t.Errorf("diff %v %s: gained %d lost %d; go tool pprof: %s %v", tr.IsDiff(), tr.SampleType, tr.Total(), tr.Base(Root), st, sums[st])
	}
	checkTree(t, tr)
	for n := NodeID(0); int(n) < tr.Len(); n++ {
		if tr.BaseSelf(n) < 0 {
			t.Fatalf("%q: negative baseline self %d", tr.Name(n), tr.BaseSelf(n))
		}
	}
}
