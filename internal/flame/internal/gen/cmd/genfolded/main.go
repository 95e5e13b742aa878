// Command genfolded writes a synthetic folded stack file for benchmarks:
//
//	go run ./internal/flame/internal/gen/cmd/genfolded -stacks 100000 > big.folded
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/tracekit-go/tracekit/internal/flame/internal/gen"
)

func main() {
	stacks := flag.Int("stacks", 100000, "number of distinct stacks")
	funcs := flag.Int("funcs", 4000, "number of distinct functions")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	w := bufio.NewWriter(os.Stdout)
	if _, err := gen.NewProgram(*funcs, *seed).WriteFolded(w, *stacks); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
