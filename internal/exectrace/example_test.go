package exectrace_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/tracekit-go/tracekit/internal/exectrace"
)

// An execution trace of the five-spans workload, read without a span file:
// each marked span, the state it spent most of its time in, and what ended
// its longest wait.
func Example() {
	f, err := os.Open("testdata/five.trace")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	tr, err := exectrace.Read(f, "five.trace", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	rt, _ := tr.Join(nil) // the markers' own spans
	names := map[[8]byte]string{}
	for _, sp := range tr.Spans {
		names[sp.ID] = sp.Name
	}
	for _, sp := range tr.Spans {
		r := rt.Of(sp.ID)
		st := r.States()
		line := fmt.Sprintf("%-16s %-8s", sp.Name, st.Dominant())
		for _, s := range r.Stretches {
			if s.End-s.Start > (sp.End-sp.Start)/2 && !s.BySpan.IsZero() {
				line += " " + s.Label + ", released by " + names[s.BySpan]
			}
		}
		fmt.Println(strings.TrimSpace(line))
	}
	// Output:
	// request          channel
	// cpu-burn         running
	// starved          runnable
	// nanosleep        syscall
	// hold-orders      sleep
	// update-orders    lock     lock: orders, released by hold-orders
	// lock.wait orders lock     lock: orders, released by hold-orders
	// send-jobs        sleep
	// wait-jobs        channel  chan recv: jobs, released by send-jobs
	// chan.recv jobs   channel  chan recv: jobs, released by send-jobs
}
