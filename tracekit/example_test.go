package tracekit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
)

// A program that traces two goroutines, one of which panics, and writes its
// spans to a file of OTLP JSON lines.
func Example() {
	dir, _ := os.MkdirTemp("", "tracekit-example")
	defer os.RemoveAll(dir)

	ctx := context.Background()
	kit, err := tracekit.Start(ctx,
		tracekit.WithServiceName("checkout"),
		tracekit.WithTracesExporter(tracekit.ExporterFile),
		tracekit.WithFilePath(filepath.Join(dir, "traces.jsonl")),
		tracekit.WithoutGlobals(),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, root := kit.Tracer().Start(ctx, "handle-order")

	prices := tracekit.Go(ctx, "fetch-prices", func(ctx context.Context) error {
		return nil
	})
	stock := tracekit.Go(ctx, "check-stock", func(ctx context.Context) error {
		var inventory map[string]int
		inventory["widget"]-- // panics: assignment to entry in nil map
		return nil
	})
	fmt.Println("prices:", prices.Wait())
	var pe *tracekit.PanicError
	if err := stock.Wait(); errors.As(err, &pe) {
		fmt.Println("stock:", pe.Value)
	}
	root.End()

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := kit.Shutdown(shutdownCtx); err != nil {
		fmt.Println(err)
	}
	fmt.Println("spans written:", kit.Stats().Exported)
	// Output:
	// prices: <nil>
	// stock: assignment to entry in nil map
	// spans written: 3
}

func ExampleGo() {
	task := tracekit.Go(context.Background(), "compute", func(ctx context.Context) error {
		return errors.New("no answer")
	})
	<-task.Done()
	fmt.Println(task.Name(), task.Wait())
	// Output: compute no answer
}

func ExampleNewGroup() {
	g := tracekit.NewGroup(context.Background(), "workers", tracekit.WithLimit(2))
	results := make([]int, 4)
	for i := range results {
		g.Go(fmt.Sprintf("worker-%d", i), func(ctx context.Context) error {
			results[i] = i * i
			return nil
		})
	}
	fmt.Println(g.Wait(), results)
	// Output: <nil> [0 1 4 9]
}

func ExampleStart() {
	// With no options Start follows OTEL_* variables; here they are set in
	// code for the example's sake.
	kit, err := tracekit.Start(context.Background(),
		tracekit.WithServiceName("inventory"),
		tracekit.WithTracesExporter(tracekit.ExporterNone),
		tracekit.WithoutGlobals(),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer kit.Shutdown(context.Background())
	fmt.Println(kit.Stats().Exported)
	// Output: 0
}

func ExamplePanicError() {
	err := tracekit.Go(context.Background(), "risky", func(ctx context.Context) error {
		panic("unexpected state")
	}).Wait()
	var pe *tracekit.PanicError
	if errors.As(err, &pe) {
		fmt.Printf("task %s panicked with %v; stack kept: %t\n", pe.Task, pe.Value, len(pe.Stack) > 0)
	}
	// Output: task risky panicked with unexpected state; stack kept: true
}

func ExampleLeaks() {
	ignore := tracekit.IgnoreCurrent() // check only what starts below

	stop := make(chan struct{})
	go func() { <-stop }() // a worker nobody stops

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var le *tracekit.LeakError
	if err := tracekit.Leaks(ctx, ignore); errors.As(err, &le) {
		fmt.Println(len(le.Goroutines), "leaked, blocked in", le.Goroutines[0].State)
	}
	close(stop)
	// Output: 1 leaked, blocked in chan receive
}

// A leak already reported can be left out of later checks by its ID.
func ExampleIgnoreGoroutines() {
	ignore := tracekit.IgnoreCurrent()
	stop := make(chan struct{})
	defer close(stop)
	go func() { <-stop }()

	check := func(opts ...tracekit.LeakOption) error {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		return tracekit.Leaks(ctx, append(opts, ignore)...)
	}
	var le *tracekit.LeakError
	if !errors.As(check(), &le) {
		fmt.Println("no leak")
		return
	}
	var reported []uint64
	for _, g := range le.Goroutines {
		reported = append(reported, g.ID)
	}
	fmt.Println(len(reported), "reported; checked again:", check(tracekit.IgnoreGoroutines(reported...)))
	// Output: 1 reported; checked again: <nil>
}
