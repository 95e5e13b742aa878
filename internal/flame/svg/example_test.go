package svg_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/flame/svg"
)

// Decode a profile, then write it in any of the three forms.
func Example() {
	t, err := flame.Decode(strings.NewReader("main;handle;parse 3\nmain;handle;render 5\nmain;gc 2\n"), "stdin")
	if err != nil {
		fmt.Println(err)
		return
	}
	flame.WriteFolded(os.Stdout, t)
	svg.WriteTop(os.Stdout, t, 2, true)
	var b strings.Builder
	svg.Write(&b, t, svg.WithTitle("checkout"), svg.WithOrder(flame.LeftHeavy))
	fmt.Println(strings.HasPrefix(b.String(), "<?xml"), strings.Contains(b.String(), ">checkout</text>"))
	// Output:
	// main;gc 2
	// main;handle;parse 3
	// main;handle;render 5
	// | self | self% | total | total% | function |
	// |---:|---:|---:|---:|---|
	// | 5 samples | 50.00% | 5 samples | 50.00% | `render` |
	// | 3 samples | 30.00% | 3 samples | 30.00% | `parse` |
	// true true
}

// Layout lists the frames a graph draws, as flamegraph.pl would place them.
func ExampleLayout() {
	t, _ := flame.Decode(strings.NewReader("a;b 3\na;c 1\n"), "stdin")
	for _, f := range svg.Layout(t, svg.DefaultWidth, svg.DefaultMinWidth, flame.Alphabetical) {
		fmt.Println(f.Depth, f.X, f.Value, f.Name)
	}
	// Output:
	// 0 0 4 all
	// 1 0 4 a
	// 2 0 3 b
	// 2 3 1 c
}
