package main

import (
	"context"
	"encoding/json"
	"fmt"
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

// A span file followed by an execution trace in which the spans were
// marked: report --json gives each frame's time by runtime state, in
// nanoseconds, and what it waited on, for scripts to assert on.
func ExampleRun_executionTrace() {
	var out strings.Builder
	err := Run(context.Background(), []string{"report", "--json",
		"../../internal/exectrace/testdata/five.jsonl", "../../internal/exectrace/testdata/five.trace"}, nil, &out, os.Stderr)
	if err != nil {
		os.Exit(ExitCode(err))
	}
	var rep struct {
		Frames []struct {
			Frame  string
			States map[string]int64
			Waits  []struct {
				On         string
				ReleasedBy string `json:"released_by"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		panic(err)
	}
	for _, f := range rep.Frames {
		if f.Frame == "fivespans: request › fivespans: update-orders" {
			most := "running"
			for state, ns := range f.States {
				if ns > f.States[most] {
					most = state
				}
			}
			fmt.Printf("%s: mostly %s; waited on %s, released by %s\n", f.Frame, most, f.Waits[0].On, f.Waits[0].ReleasedBy)
		}
	}
	// Output:
	// fivespans: request › fivespans: update-orders: mostly lock; waited on lock: orders, released by fivespans: hold-orders
}
