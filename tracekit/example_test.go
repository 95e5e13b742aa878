package tracekit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

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

// A group's own span takes OpenTelemetry's start options; so does each of
// its tasks' spans.
func ExampleWithSpanOptions() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { // bounded: an exporter that hangs must not hold the exit
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tp.Shutdown(ctx)
	}()
	ctx, request := tp.Tracer("example").Start(context.Background(), "request")

	g := tracekit.NewGroup(ctx, "resize", tracekit.WithLimit(2),
		tracekit.WithSpanOptions(trace.WithAttributes(attribute.Int("images", 3))))
	for i := range 3 {
		g.Go("resize-image", func(context.Context) error { return nil },
			trace.WithAttributes(attribute.Int("image", i)))
	}
	_ = g.Wait()
	request.End()

	for _, s := range rec.Ended() {
		if s.Name() == "resize" {
			for _, kv := range s.Attributes() {
				if kv.Key == "images" || kv.Key == "tracekit.group.limit" {
					fmt.Println(kv.Key, kv.Value.AsInt64())
				}
			}
		}
	}
	// Output:
	// tracekit.group.limit 2
	// images 3
}
