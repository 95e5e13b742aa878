// Command tracedprog is the instrumented program the end-to-end tests run
// against a real backend. It is configured only through the standard OTEL_*
// environment, as a user's service would be, and prints the id of the trace
// it made as JSON on standard output.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "tracedprog:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	kit, err := sdk.Start(ctx)
	if err != nil {
		return err
	}
	ctx, root := kit.TracerProvider().Tracer(tracekit.ScopeName).Start(ctx, "checkout")

	g := tracekit.NewGroup(ctx, "workers", tracekit.WithLimit(2)) // spawn:workers
	g.Go("fetch-prices", func(ctx context.Context) error {        // spawn:fetch-prices
		inner := tracekit.Go(ctx, "lookup-currency", func(context.Context) error { // spawn:lookup-currency
			time.Sleep(2 * time.Millisecond)
			return nil
		})
		return inner.Wait()
	})
	g.Go("reserve-stock", func(context.Context) error { // spawn:reserve-stock
		time.Sleep(time.Millisecond)
		return nil
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("group: %w", err)
	}

	bad := tracekit.Go(ctx, "explode", func(context.Context) error { // spawn:explode
		var stock map[string]int
		stock["widget"]-- // a nil-map write: a runtime panic
		return nil
	})
	var pe *tracekit.PanicError
	if err := bad.Wait(); !errors.As(err, &pe) {
		return fmt.Errorf("explode: got %v, want a panic", err)
	}
	root.End()

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := kit.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	st := kit.Stats()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"trace_id": root.SpanContext().TraceID().String(),
		"exported": st.Exported,
		"dropped":  st.Dropped,
		"failed":   st.Failed,
	})
}
