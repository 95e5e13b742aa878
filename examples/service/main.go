// Command service is an instrumented order-processing workload: each order
// fans out to goroutines traced with tracekit (prices, stock, a currency
// lookup nested under prices), one step is deliberately slow for some
// orders, stock reservation sometimes fails, and now and then a step panics
// and is recovered. Functions on the path get their span in one line with
// tracekit.Span, and failed orders are logged as JSON through
// tracekit.LogHandler, so each log line names its trace and span and each
// error is also an event on the order's span. It is configured by the
// standard OTEL_* environment (OTEL_LOGS_EXPORTER=otlp also sends the log
// records over OTLP); `make demo` runs it with the file exporter.
//
// With -listen it is an HTTP service instead: POST /orders places an order
// and GET /orders counts them, behind otelhttp. Requests queue on a bounded
// tracekit.Chan that a worker pool (a tracekit.Group with a limit) drains,
// prices come from a cache whose one tracekit.Mutex is held across slow
// refreshes (the deliberately contended lock), and -load N makes the
// service send itself N requests and print their latency percentiles.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

func main() {
	// An interrupt ends the HTTP mode cleanly: requests in flight finish,
	// the queue drains, and the spans are flushed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "service:", err)
		stop()
		os.Exit(1)
	}
}

type options struct {
	orders  int
	workers int
	seed    uint64
	logPath string

	// The HTTP mode.
	listen      string
	load        int
	loop        bool
	concurrency int
	every       time.Duration
	fixedCache  bool
	debug       string
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	var o options
	fs.IntVar(&o.orders, "orders", 200, "how many orders to process")
	fs.IntVar(&o.workers, "workers", 8, "orders processed at once")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the simulated latencies and failures")
	fs.StringVar(&o.logPath, "log", "", "append the JSON log here instead of standard error")
	fs.StringVar(&o.listen, "listen", "", "serve POST/GET /orders on this address (e.g. 127.0.0.1:8080) instead of running a batch")
	fs.IntVar(&o.load, "load", 0, "with -listen: send this many requests to the service itself, print their latency percentiles and stop")
	fs.BoolVar(&o.loop, "loop", false, "with -load: repeat the rounds of requests until interrupted")
	fs.IntVar(&o.concurrency, "concurrency", 16, "with -load: requests in flight at once")
	fs.BoolVar(&o.fixedCache, "fixed-cache", false, "with -listen: refresh prices outside the cache's lock (the fix for its contention)")
	fs.DurationVar(&o.every, "every", 0, "with -loop: start a round at most this often (0: back to back)")
	fs.StringVar(&o.debug, "debug", "", "serve the live console (/debug/tracekit/) and pprof (/debug/pprof/) on this address (e.g. 127.0.0.1:6060)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.orders < 1 || o.workers < 1 || o.concurrency < 1 {
		return fmt.Errorf("-orders, -workers and -concurrency must be at least 1 (got %d, %d and %d)", o.orders, o.workers, o.concurrency)
	}
	if o.listen == "" && (o.load != 0 || o.loop) {
		return errors.New("-load and -loop need -listen")
	}
	if o.every != 0 && !o.loop {
		return errors.New("-every needs -loop")
	}
	if o.load < 0 || (o.loop && o.load == 0) || o.every < 0 {
		return fmt.Errorf("-load must be positive with -loop and never negative (got %d), -every not negative (got %v)", o.load, o.every)
	}

	kit, err := sdk.Start(ctx, sdk.WithServiceName("order-service"))
	if err != nil {
		return err
	}
	// shutdown gives the exporters ten seconds at most, even when ctx has
	// ended; its error says what did not reach them.
	shutdown := func() error {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return kit.Shutdown(ctx)
	}
	logOut := io.Writer(os.Stderr)
	if o.logPath != "" {
		f, err := os.OpenFile(o.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return errors.Join(err, shutdown())
		}
		defer f.Close()
		logOut = f
	}
	logger := slog.New(tracekit.LogHandler(slog.NewJSONHandler(logOut, nil)))

	var dbg *debugServer
	if o.debug != "" {
		if dbg, err = startDebug(o.debug, out); err != nil {
			return errors.Join(err, shutdown())
		}
	}

	var runErr error
	var summary string
	if o.listen != "" {
		runErr = serve(ctx, logger, o, out)
	} else {
		began := time.Now()
		failed := processAll(ctx, logger, o)
		elapsed := time.Since(began)
		summary = fmt.Sprintf("processed %d orders (%d failed) in %v\n", o.orders, failed, elapsed.Round(time.Millisecond))
	}

	debugErr := dbg.stop()
	shutdownErr := shutdown()
	st := kit.Stats()
	fmt.Fprint(out, summary)
	fmt.Fprintf(out, "spans: %d exported, %d dropped, %d failed\n", st.Exported, st.Dropped, st.Failed)
	if path, ok := os.LookupEnv("TRACEKIT_FILE_PATH"); ok && os.Getenv("OTEL_TRACES_EXPORTER") == "file" {
		fmt.Fprintf(out, "traces: %s\n", path)
	}
	return errors.Join(runErr, debugErr, shutdownErr)
}

// processAll handles the orders, o.workers at a time, and returns how many
// failed.
func processAll(ctx context.Context, logger *slog.Logger, o options) int {
	rng := rand.New(rand.NewPCG(o.seed, o.seed))
	results := make([]error, o.orders)
	g := tracekit.NewGroup(ctx, "order-batch", tracekit.WithLimit(o.workers))
	for i := range o.orders {
		order := newOrder(i, rng)
		g.Go("order", func(ctx context.Context) error {
			results[i] = handleOrder(ctx, logger, order, nil)
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

// handleOrder runs the steps of one order under a span named handle-order
// (a name of our choosing instead of main.handleOrder) and logs a failure.
// With a price cache (the HTTP mode) prices come from it; without one (the
// batch mode) fetching them is a plain wait.
func handleOrder(ctx context.Context, logger *slog.Logger, o order, prices *priceCache) (err error) {
	ctx, span := tracekit.SpanNamed(ctx, "handle-order", trace.WithAttributes(attribute.Int("order.id", o.id)))
	defer span.End(&err)
	defer func() {
		if err != nil {
			// Carries trace_id and span_id, and is an event on the span.
			logger.ErrorContext(ctx, "order failed", "order.id", o.id, "err", err)
		}
	}()

	g := tracekit.NewGroup(ctx, "order-steps")
	g.Go("fetch-prices", func(ctx context.Context) error {
		currency := tracekit.Go(ctx, "lookup-currency", func(ctx context.Context) error {
			return sleep(ctx, time.Millisecond)
		})
		var err error
		if prices != nil {
			err = prices.lookup(ctx, o)
		} else {
			err = sleep(ctx, o.priceLatency)
		}
		// Wait for the lookup on every path, so it never outlives this span.
		return errors.Join(err, currency.Wait())
	})
	g.Go("reserve-stock", func(ctx context.Context) error {
		return stock.reserve(ctx, o)
	})
	if o.slow {
		g.Go("compute-recommendations", func(ctx context.Context) error {
			return scoreCandidates(ctx, o.id) // the deliberately slow, CPU-bound section
		})
	}
	if o.bug {
		g.Go("apply-coupon", applyCoupon)
	}
	return g.Wait()
}

// inventory is the stock service the orders reserve from.
type inventory struct{}

var stock = &inventory{}

// reserve has a span named main.(*inventory).reserve that records its error.
func (*inventory) reserve(ctx context.Context, o order) (err error) {
	ctx, span := tracekit.Span(ctx)
	defer span.End(&err)
	if err := sleep(ctx, o.stockLatency); err != nil {
		return err
	}
	if o.outOfStock {
		return fmt.Errorf("order %d: %w", o.id, errOutOfStock)
	}
	return nil
}

// applyCoupon panics: its span (main.applyCoupon) records the panic on the
// way through, and the task around it recovers it.
func applyCoupon(ctx context.Context) (err error) {
	_, span := tracekit.Span(ctx)
	defer span.End(&err)
	var coupons map[string]int
	coupons["SPRING"]++ // a nil-map write
	return nil
}

// scoreCandidates burns a fixed amount of CPU (20,000 SHA-256 blocks, about
// 10 ms on one core) standing for a recommendation model, so that CPU
// profiles of the workload have a hot spot inside a span.
func scoreCandidates(ctx context.Context, seed int) error {
	var buf [1024]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(seed))
	for i := range 20000 {
		if i%256 == 0 && ctx.Err() != nil {
			return context.Cause(ctx)
		}
		sum := sha256.Sum256(buf[:])
		copy(buf[:], sum[:])
	}
	return nil
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
