package spans_test

import (
	"fmt"
	"strings"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// One trace in OTLP JSON: "GET /users/7" (0–100 ms) runs "db.query"
// (10–50 ms) and, in a goroutine, "fetch" (30–70 ms) that waits on a lock
// (40–60 ms).
const request = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeSpans":[{"spans":[` +
	`{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"0000000000000001","name":"GET /users/7","startTimeUnixNano":"0","endTimeUnixNano":"100000000"},` +
	`{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"0000000000000002","parentSpanId":"0000000000000001","name":"db.query","startTimeUnixNano":"10000000","endTimeUnixNano":"50000000"},` +
	`{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"0000000000000003","parentSpanId":"0000000000000001","name":"fetch","startTimeUnixNano":"30000000","endTimeUnixNano":"70000000","attributes":[{"key":"tracekit.kind","value":{"stringValue":"goroutine"}}]},` +
	`{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"0000000000000004","parentSpanId":"0000000000000003","name":"lock cart.mu","startTimeUnixNano":"40000000","endTimeUnixNano":"60000000","attributes":[{"key":"tracekit.kind","value":{"stringValue":"lock.wait"}}]}` +
	`]}]}]}`

func Example() {
	set, err := spans.Read(strings.NewReader(request), "traces.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	// Wall-clock attribution: db.query and fetch overlap for 20 ms, so
	// each gets 10 ms of it; the lock wait covers half of fetch's share
	// from 40 to 50 ms and all of it from 50 to 60 ms.
	agg := spans.NewAggregator(spans.WithGroupIDs())
	cp := spans.NewCriticalPaths(spans.WithGroupIDs())
	set.Each(func(t *spans.Trace) error {
		agg.Add(t)
		cp.Add(t)
		return nil
	})
	tree := agg.Tree()
	tree.Walk(flame.Alphabetical, func(n flame.NodeID, depth int) bool {
		if n != flame.Root {
			fmt.Printf("%-40s %3d ms  %s\n", strings.Repeat("  ", depth-1)+tree.Name(n), tree.Value(n)/1e6, agg.Class(n))
		}
		return true
	})

	fmt.Println("critical path:")
	for _, s := range spans.CriticalPath(set.Trace(0)) {
		fmt.Printf("  %-12s %2d–%2d ms\n", set.Trace(0).Spans[s.Span].Name, s.Start/1e6, s.End/1e6)
	}

	fmt.Println("flame chart:")
	ch := spans.Layout(set.Trace(0))
	for _, b := range ch.Bars {
		fmt.Printf("  row %d %-12s %2d–%2d ms critical=%v\n", b.Row, ch.Trace.Spans[b.Span].Name, b.Start/1e6, b.End/1e6, b.Critical)
	}
	// Output:
	// api: GET /users/{id}                     100 ms  work
	//   api: db.query                           30 ms  work
	//   api: fetch                              30 ms  goroutine
	//     api: lock cart.mu                     15 ms  lock wait
	// critical path:
	//   GET /users/7  0–30 ms
	//   fetch        30–40 ms
	//   lock cart.mu 40–60 ms
	//   fetch        60–70 ms
	//   GET /users/7 70–100 ms
	// flame chart:
	//   row 0 GET /users/7  0–100 ms critical=true
	//   row 1 db.query     10–50 ms critical=false
	//   row 2 fetch        30–70 ms critical=true
	//   row 3 lock cart.mu 40–60 ms critical=true
}

func ExampleGroupIDs() {
	for _, name := range []string{"GET /users/123", "GET /orders/3f2b1c9e-5d7a-4f1e-9a0b-1c2d3e4f5a6b/items", "GET /v2/health"} {
		fmt.Println(spans.GroupIDs(name))
	}
	// Output:
	// GET /users/{id}
	// GET /orders/{id}/items
	// GET /v2/health
}

func ExampleAssemble() {
	span := func(id, parent byte, name string, start, end int64) spans.Span {
		s := spans.Span{Name: name, Start: start, End: end}
		s.TraceID[15], s.ID[7], s.Parent[7] = 1, id, parent
		return s
	}
	tr := spans.Assemble([]spans.Span{
		span(1, 0, "root", 0, 100),
		span(2, 1, "late", 90, 120),  // ends after its parent: async, kept at its time
		span(3, 9, "orphan", 10, 20), // parent 9 was never exported
		span(2, 1, "late", 90, 120),  // the same span again: dropped
		span(2, 1, "other", 0, 10),   // another span with id 2: kept
		span(4, 5, "loop-a", 30, 40), // 4 → 5 → 4: a cycle, broken at 4
		span(5, 4, "loop-b", 30, 40),
	})
	for _, r := range tr.Roots() {
		fmt.Println("top level:", tr.Spans[r].Name)
	}
	fmt.Println(tr.Warnings)
	fmt.Printf("wall time %d, %d async span\n", tr.Wall(), tr.Async)
	// Output:
	// top level: root
	// top level: orphan
	// top level: loop-a
	// 1 orphan span (parent missing), 1 exact duplicate span dropped, 1 span sharing its id with another (both kept), 1 parent cycle broken
	// wall time 120, 1 async span
}

// Sniff tells trace data from profiles by its first bytes, whatever the
// framing.
func ExampleSniff() {
	for _, in := range []string{
		`{"resourceSpans": []}`,
		"\xef\xbb\xbf[{\"data\": []}]",
		"\x00\x00\x00\x02\x0a\x00", // the Collector's proto file: a 4-byte length, a request
		"main;run 3\n",             // folded stacks
		"[unknown];main 3\n",       // folded stacks starting with '['
		"\x0a\x04\x08\x01\x10\x02", // a pprof profile: its first sample type
	} {
		fmt.Println(spans.Sniff([]byte(in)))
	}
	// Output:
	// true
	// true
	// true
	// false
	// false
	// false
}
