package tracekit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// A program that traces two goroutines, one of which panics, and writes its
// spans to a file of OTLP JSON lines.
func Example() {
	dir, _ := os.MkdirTemp("", "tracekit-example")
	defer os.RemoveAll(dir)

	ctx := context.Background()
	kit, err := sdk.Start(ctx,
		sdk.WithServiceName("checkout"),
		sdk.WithTracesExporter(sdk.ExporterFile),
		sdk.WithFilePath(filepath.Join(dir, "traces.jsonl")),
		sdk.WithoutGlobals(),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, root := kit.TracerProvider().Tracer("checkout").Start(ctx, "handle-order")

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
