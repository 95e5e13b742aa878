package flame_test

import (
	"fmt"
	"strings"

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
	// cpu.folded: line 2: syntax error: no count after the stack: expected "frame;frame;... count" with a non-negative integer count
}

// Diff compares two profiles, scaling the baseline to the same total.
func ExampleDiff() {
	parse := func(s string) *flame.Tree {
		t := flame.NewTree("samples")
		flame.ParseFolded(strings.NewReader(s), "in", t)
		return t
	}
	d := flame.Diff(parse("main;a 50\nmain;b 50\n"), parse("main;a 150\nmain;b 50\n"), true)
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
