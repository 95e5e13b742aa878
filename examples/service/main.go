// Command service is an instrumented order-processing workload: each order
// fans out to goroutines traced with tracekit (prices, stock, a currency
// lookup nested under prices), one step is deliberately slow for some
// orders, stock reservation sometimes fails, and now and then a step panics
// and is recovered. It is configured by the standard OTEL_* environment;
// `make demo` runs it with the file exporter.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/tracekit"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

type options struct {
	orders  int
	workers int
	seed    uint64
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	var o options
	fs.IntVar(&o.orders, "orders", 200, "how many orders to process")
	fs.IntVar(&o.workers, "workers", 8, "orders processed at once")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the simulated latencies and failures")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.orders < 1 || o.workers < 1 {
		return fmt.Errorf("-orders and -workers must be at least 1 (got %d and %d)", o.orders, o.workers)
	}

	kit, err := tracekit.Start(ctx, tracekit.WithServiceName("order-service"))
	if err != nil {
		return err
	}
	began := time.Now()
	failed := processAll(ctx, kit.Tracer(), o)
	elapsed := time.Since(began)

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shutdownErr := kit.Shutdown(shutdownCtx)
	st := kit.Stats()
	fmt.Fprintf(out, "processed %d orders (%d failed) in %v\n", o.orders, failed, elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "spans: %d exported, %d dropped, %d failed\n", st.Exported, st.Dropped, st.Failed)
	if path, ok := os.LookupEnv("TRACEKIT_FILE_PATH"); ok && os.Getenv("OTEL_TRACES_EXPORTER") == "file" {
		fmt.Fprintf(out, "traces: %s\n", path)
	}
	return shutdownErr
}

// processAll handles the orders, o.workers at a time, and returns how many
// failed.
func processAll(ctx context.Context, tracer trace.Tracer, o options) int {
	rng := rand.New(rand.NewPCG(o.seed, o.seed))
	results := make([]error, o.orders)
	g := tracekit.NewGroup(ctx, "order-batch", tracekit.WithLimit(o.workers))
	for i := range o.orders {
		order := newOrder(i, rng)
		g.Go("order", func(ctx context.Context) error {
			results[i] = handleOrder(ctx, tracer, order)
			return nil // one failed order must not cancel the others
		})
	}
	_ = g.Wait()
	failed := 0
	for _, err := range results {
		if err != nil {
			failed++
		}
	}
	return failed
}

// order holds what the simulation decided up front, so that a seed always
// gives the same workload.
type order struct {
	id                    int
	priceLatency          time.Duration
	stockLatency          time.Duration
	outOfStock, slow, bug bool
}

func newOrder(id int, rng *rand.Rand) order {
	return order{
		id:           id,
		priceLatency: time.Duration(1+rng.IntN(3)) * time.Millisecond,
		stockLatency: time.Duration(1+rng.IntN(2)) * time.Millisecond,
		outOfStock:   rng.IntN(20) == 0,
		slow:         id%10 == 0,
		bug:          rng.IntN(50) == 0,
	}
}

var errOutOfStock = errors.New("out of stock")

func handleOrder(ctx context.Context, tracer trace.Tracer, o order) error {
	ctx, span := tracer.Start(ctx, "handle-order", trace.WithAttributes(attribute.Int("order.id", o.id)))
	defer span.End()

	g := tracekit.NewGroup(ctx, "order-steps")
	g.Go("fetch-prices", func(ctx context.Context) error {
		currency := tracekit.Go(ctx, "lookup-currency", func(ctx context.Context) error {
			return sleep(ctx, time.Millisecond)
		})
		if err := sleep(ctx, o.priceLatency); err != nil {
			return err
		}
		return currency.Wait()
	})
	g.Go("reserve-stock", func(ctx context.Context) error {
		if err := sleep(ctx, o.stockLatency); err != nil {
			return err
		}
		if o.outOfStock {
			return fmt.Errorf("order %d: %w", o.id, errOutOfStock)
		}
		return nil
	})
	if o.slow {
		g.Go("compute-recommendations", func(ctx context.Context) error {
			return sleep(ctx, 15*time.Millisecond) // the deliberately slow section
		})
	}
	if o.bug {
		g.Go("apply-coupon", func(context.Context) error {
			var coupons map[string]int
			coupons["SPRING"]++ // a nil-map write: the recovered panic
			return nil
		})
	}
	err := g.Wait()
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
