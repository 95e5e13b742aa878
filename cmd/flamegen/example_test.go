package main

import (
	"context"
	"os"
	"strings"
)

// Run is the whole command, driven in-process with its own streams.
func ExampleRun() {
	in := strings.NewReader("main;handle;render 5\nmain;handle;parse 3\nmain;gc 2\n")
	err := Run(context.Background(), []string{"--format", "top", "--top", "3", "-"}, in, os.Stdout, os.Stderr)
	if err != nil {
		os.Exit(ExitCode(err))
	}
	// Output:
	//      self   self%      total  total%  function
	// 5 samples  50.00%  5 samples  50.00%  render
	// 3 samples  30.00%  3 samples  30.00%  parse
	// 2 samples  20.00%  2 samples  20.00%  gc
}
