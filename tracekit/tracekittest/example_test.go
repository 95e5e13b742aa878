package tracekittest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/tracekittest"
)

// The helpers in a test: a leak check, a timeout with a grouped goroutine
// dump, and recorded spans to assert on. (Compiled, not run: it is a test.)
func Example() {
	// In a _test.go file:
	//
	//	func TestMain(m *testing.M) { tracekittest.VerifyTestMain(m) }
	_ = func(t *testing.T) {
		defer tracekittest.VerifyNoLeaks(t)
		rec := tracekittest.NewRecorder(t)
		tracekittest.RunWithTimeout(t, 5*time.Second, func(ctx context.Context) {
			ctx, root := rec.Start(ctx, "test")
			defer root.End()
			g := tracekit.NewGroup(ctx, "workers")
			g.Go("a", func(context.Context) error { return nil })
			g.Go("b", func(context.Context) error { return nil })
			if err := g.Wait(); err != nil {
				t.Error(err)
			}
		})
		if got := len(rec.Named("workers")); got != 1 {
			t.Errorf("%d group spans, want 1", got)
		}
		fmt.Println(len(rec.Ended()), "spans recorded")
	}
}

// A test of time-dependent code in a testing/synctest bubble, with a leak
// check of the bubble at its end: a goroutine left blocked fails the test
// with its stack instead of ending the test binary. (Compiled, not run: it
// is a test.)
func ExampleSynctest() {
	_ = func(t *testing.T) {
		tracekittest.Synctest(t, func(t *testing.T) {
			start := time.Now()
			tracekittest.RunWithTimeout(t, time.Minute, func(ctx context.Context) {
				task := tracekit.Go(ctx, "poller", func(ctx context.Context) error {
					time.Sleep(10 * time.Second) // fake time: returns at once
					return nil
				})
				_ = task.Wait()
			})
			if d := time.Since(start); d != 10*time.Second {
				t.Errorf("took %v of fake time", d)
			}
		})
	}
}
func ExampleFind() {
	ignore := tracekittest.IgnoreCurrent() // check only what starts below

	stop := make(chan struct{})
	go func() { <-stop }() // a worker nobody stops

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var le *tracekittest.LeakError
	if err := tracekittest.Find(ctx, ignore); errors.As(err, &le) {
		fmt.Println(len(le.Goroutines), "leaked, blocked in", le.Goroutines[0].State)
	}
	close(stop)
	// Output: 1 leaked, blocked in chan receive
}

// A leak already reported can be left out of later checks by its ID.
func ExampleIgnoreGoroutines() {
	ignore := tracekittest.IgnoreCurrent()
	stop := make(chan struct{})
	defer close(stop)
	go func() { <-stop }()

	check := func(opts ...tracekittest.Option) error {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		return tracekittest.Find(ctx, append(opts, ignore)...)
	}
	var le *tracekittest.LeakError
	if !errors.As(check(), &le) {
		fmt.Println("no leak")
		return
	}
	var reported []uint64
	for _, g := range le.Goroutines {
		reported = append(reported, g.ID)
	}
	fmt.Println(len(reported), "reported; checked again:", check(tracekittest.IgnoreGoroutines(reported...)))
	// Output: 1 reported; checked again: <nil>
}
