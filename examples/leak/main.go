// Command leak shows a goroutine leak that tracekit finds, and its fix.
//
// The leaky version asks an upstream service for a price with a deadline.
// When the deadline wins, the handler returns, but the goroutine that
// fetches the price blocks forever sending its answer on an unbuffered
// channel nobody reads any more: one leaked goroutine per timed-out request.
//
//	go run ./examples/leak            # the leak, and tracekit's report of it
//	go run ./examples/leak -fixed     # a buffered channel: no leak
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/tracekittest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "leak:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("leak", flag.ContinueOnError)
	fixed := fs.Bool("fixed", false, "run the fixed version")
	requests := fs.Int("requests", 5, "requests to send")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ignore := tracekittest.IgnoreCurrent() // only what the requests start counts

	fetch := fetchLeaky
	if *fixed {
		fetch = fetchFixed
	}
	for i := range *requests {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		_, err := fetch(ctx, fmt.Sprintf("sku-%d", i))
		cancel()
		if err != nil {
			fmt.Fprintf(out, "request %d: %v\n", i, err)
		}
	}

	// The requests are over; give stragglers a moment, then look.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := tracekittest.Find(ctx, ignore)
	var le *tracekittest.LeakError
	switch {
	case errors.As(err, &le):
		fmt.Fprintf(out, "\n%v\n", le)
	case err != nil:
		return err
	default:
		fmt.Fprintln(out, "\nno leaked goroutines")
	}
	return nil
}

// upstreamPrice stands for a call to a slow service.
func upstreamPrice(sku string) string {
	time.Sleep(20 * time.Millisecond)
	return sku + ": 9.99"
}

// fetchLeaky leaks the fetching goroutine whenever ctx ends first: its send
// on the unbuffered channel then never completes.
func fetchLeaky(ctx context.Context, sku string) (string, error) {
	answer := make(chan string)
	tracekit.Go(ctx, "fetch-price", func(context.Context) error {
		answer <- upstreamPrice(sku) // blocks forever once nobody receives
		return nil
	})
	select {
	case price := <-answer:
		return price, nil
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}

// fetchFixed gives the channel room for the one answer, so the goroutine can
// always finish, even after its caller gave up.
func fetchFixed(ctx context.Context, sku string) (string, error) {
	answer := make(chan string, 1)
	tracekit.Go(ctx, "fetch-price", func(context.Context) error {
		answer <- upstreamPrice(sku)
		return nil
	})
	select {
	case price := <-answer:
		return price, nil
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}
