package flame_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// Decode finds the format from the content; the tree holds one frame per
// distinct call path.
func Example() {
	in := "main;handle;parse 3\nmain;handle;render 5\nmain;gc 2\n"
	t, err := flame.Decode(strings.NewReader(in), "stdin")
	if err != nil {
		fmt.Println(err)
		return
	}
	t.Walk(flame.LeftHeavy, func(n flame.NodeID, depth int) bool {
		fmt.Printf("%s%s %d (self %d)\n", strings.Repeat("  ", depth), t.Name(n), t.Value(n), t.Self(n))
		return true
	})
	// Output:
	// all 10 (self 0)
	//   main 10 (self 0)
	//     handle 8 (self 0)
	//       render 5 (self 5)
	//       parse 3 (self 3)
	//     gc 2 (self 2)
}

// Errors name the input, the line and what was expected.
func ExampleParseFolded_error() {
	err := flame.ParseFolded(strings.NewReader("main;run 4\nmain;stop\n"), "cpu.folded", flame.NewTree("samples"))
	fmt.Println(err)
	// Output:
	// cpu.folded: line 2: syntax error: no count after the stack: expected "frame;frame;... count" with a non-negative count
}

// Diff compares two profiles, scaling the baseline to the same total.
func ExampleDiff() {
	parse := func(s string) *flame.Tree {
		t := flame.NewTree("samples")
		flame.ParseFolded(strings.NewReader(s), "in", t)
		return t
	}
	d, _ := flame.Diff(parse("main;a 50\nmain;b 50\n"), parse("main;a 150\nmain;b 50\n"), true)
	d.Walk(flame.Alphabetical, func(n flame.NodeID, depth int) bool {
		fmt.Printf("%s before %d after %d\n", d.Name(n), d.Base(n), d.Value(n))
		return true
	})
	// Output:
	// all before 200 after 200
	// main before 200 after 200
	// a before 100 after 150
	// b before 100 after 50
}

// Folded stacks read as flamegraph.pl reads them: annotations become frame
// data, fractional counts are kept exactly.
func ExampleParseFolded_annotations() {
	t := flame.NewTree("samples")
	in := "java;Interpreter_[j];sys_write_[k] 2.5\njava;main 1\n"
	if err := flame.ParseFolded(strings.NewReader(in), "perf.folded", t); err != nil {
		fmt.Println(err)
		return
	}
	t.Walk(flame.Alphabetical, func(n flame.NodeID, depth int) bool {
		fmt.Printf("%s%s [%s] %.1f\n", strings.Repeat("  ", depth), t.Name(n), t.Annotation(n), float64(t.Value(n))/float64(t.Scale()))
		return true
	})
	// Output:
	// all [] 3.5
	//   java [] 3.5
	//     Interpreter [jit] 2.5
	//       sys_write [kernel] 2.5
	//     main [] 1.0
}

// WriteFolded escapes what folded text cannot hold, so that its output
// reads back to the same tree.
func ExampleWriteFolded() {
	t := flame.NewTree("nanoseconds")
	t.Add([]string{"main", "pkg.F[go.shape.struct { a int; b int }]"}, flame.KindCPU, 30)
	t.Add([]string{"main", "worker 2"}, flame.KindCPU, 10)
	flame.WriteFolded(os.Stdout, t)
	// Output:
	// # flamegen: %XX escapes in frame names
	// main;pkg.F[go.shape.struct { a int%3B b int }] 30
	// main;worker%202 10
}

// MergeProfiles merges profiles as go tool pprof merges the ones given to
// it together.
func ExampleMergeProfiles() {
	cpu := func(fn string, v int64) *profile.Profile {
		f := &profile.Function{ID: 1, Name: fn}
		loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: f}}}
		return &profile.Profile{
			SampleType: []*profile.ValueType{{Type: "cpu", Unit: "nanoseconds"}},
			Function:   []*profile.Function{f},
			Location:   []*profile.Location{loc},
			Sample:     []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{v}}},
		}
	}
	p, err := flame.MergeProfiles([]*profile.Profile{cpu("main.a", 10), cpu("main.b", 20), cpu("main.a", 5)}, []string{"1.pb", "2.pb", "3.pb"})
	if err != nil {
		fmt.Println(err)
		return
	}
	t, _ := flame.ProfileTree(p, "merged")
	flame.WriteFolded(os.Stdout, t)
	// Output:
	// main.a 15
	// main.b 20
}

// Uncompress and Detect find what an input holds before it is read;
// ReadProfile reads a pprof profile, gzipped or not, within WithMaxBytes.
func ExampleUncompress() {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	io.WriteString(w, "heap profile: 1: 2048 [1: 2048] @ heap/524288\n1: 2048 [1: 2048] @ 0x1\n")
	w.Close()

	br, err := flame.Uncompress(bytes.NewReader(gz.Bytes()), "heap.txt.gz", flame.DefaultMaxBytes)
	if err != nil {
		fmt.Println(err)
		return
	}
	head, _ := br.Peek(64)
	fmt.Println(flame.Detect(head))
	p, err := flame.ReadProfile(br, "heap.txt.gz", flame.WithMaxBytes(1<<20))
	if err != nil {
		fmt.Println(err)
		return
	}
	t, err := flame.ProfileTree(p, "heap.txt.gz")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.SampleType, t.Unit)
	// Output:
	// pprof
	// space bytes
}

// A read that fails is a bad input when compressed data is damaged, an I/O
// fault otherwise.
func ExampleReadError() {
	fmt.Println(flame.ReadError("cpu.pb.gz", io.ErrUnexpectedEOF))
	fmt.Println(flame.ReadError("http://host/profile", errors.New("connection reset")))
	// Output:
	// cpu.pb.gz: offset 0: corrupt input: unexpected EOF: expected a complete gzip stream
	// read http://host/profile: connection reset
}

// Top ranks functions by self value, over every call path that reaches
// them.
func ExampleTop() {
	t, _ := flame.Decode(strings.NewReader("main;parse;hash 4\nmain;render;hash 3\nmain;render 2\nmain;gc 1\n"), "stdin")
	for _, e := range flame.Top(t, 2) {
		fmt.Printf("%s self %d total %d\n", e.Name, e.Self, e.Total)
	}
	// Output:
	// hash self 7 total 7
	// render self 2 total 5
}
