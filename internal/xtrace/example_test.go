package xtrace_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tracekit-go/tracekit/internal/xtrace"
)

// A span marks its start and end on the goroutine it runs on; a lock wait
// recorded when it ends marks itself once, with its duration. The markers
// cost one atomic load each while no execution trace records.
func Example() {
	ctx := context.Background()
	traceID := [16]byte{0x4b, 0xf9, 15: 0x36}
	span, parent := [8]byte{7: 2}, [8]byte{7: 1}

	xtrace.Begin(ctx, traceID, span, parent, "goroutine", "load orders")
	xtrace.Done(ctx, traceID, [8]byte{7: 3}, span, "lock.wait", "lock.wait orders", 18*time.Millisecond)
	xtrace.End(ctx, span)

	// What a reader finds in the trace's log events of xtrace.Category:
	for _, msg := range []string{
		"b 4bf90000000000000000000000000036 0000000000000002 0000000000000001 goroutine load orders",
		"d 4bf90000000000000000000000000036 0000000000000003 0000000000000002 18000000 lock.wait lock.wait orders",
		"e 0000000000000002",
	} {
		m, err := xtrace.Parse(xtrace.Category, msg)
		fmt.Printf("%c %x %q %v %v\n", m.Kind, m.SpanID, m.Name, m.Duration, err)
	}
	// Output:
	// b 0000000000000002 "load orders" 0s <nil>
	// d 0000000000000003 "lock.wait orders" 18ms <nil>
	// e 0000000000000002 "" 0s <nil>
}
