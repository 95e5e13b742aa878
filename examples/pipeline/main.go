// Command pipeline is a three-stage pipeline over bounded, named channels
// (tracekit.Chan): generate produces sensor records, a pool of parsers
// turns them into readings, and aggregate sums them per sensor. It shows
// the three ways a pipeline ends and how each must leave no goroutine
// behind:
//
//   - the input runs out: each stage closes its output when it is done, so
//     the end flows downstream and every stage drains what is buffered;
//   - a graceful stop (-stop-after, or an interrupt): only the generator
//     stops; the stages after it still drain everything already sent, so no
//     record is lost;
//   - a failure (a malformed record with -bad-at, or -timeout): the group's
//     context is canceled, every blocked Send and Recv returns at once, and
//     the first error is what the run returns.
//
// Every stage is a task span under the pipeline's group span; a send or
// receive that blocks past the slow threshold (TRACEKIT_SLOW) becomes a
// chan.send or chan.recv span naming the channel, so backpressure from a
// slow stage (-slow) is visible in the trace. Spans go wherever the OTEL_*
// environment says.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

func main() {
	// The first interrupt stops the pipeline gracefully; a second one
	// (after stop() restores the default) kills it.
	stopCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(context.Background(), stopCtx, os.Args[1:], os.Stdout); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}

type options struct {
	items, parsers, buffer, badAt int
	slow, stopAfter, timeout      time.Duration
}

// run runs the pipeline. Canceling ctx aborts it; canceling stopCtx stops
// it gracefully.
func run(ctx, stopCtx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("pipeline", flag.ContinueOnError)
	var o options
	fs.IntVar(&o.items, "items", 10000, "records to generate")
	fs.IntVar(&o.parsers, "parsers", 4, "parser goroutines")
	fs.IntVar(&o.buffer, "buffer", 16, "capacity of each channel between stages")
	fs.IntVar(&o.badAt, "bad-at", -1, "make record N malformed, which fails the run (-1: none)")
	fs.DurationVar(&o.slow, "slow", 0, "time aggregate spends on each reading (backpressure)")
	fs.DurationVar(&o.stopAfter, "stop-after", 0, "stop gracefully after this long (0: run to the end)")
	fs.DurationVar(&o.timeout, "timeout", 0, "abort after this long (0: no limit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.items < 0 || o.parsers < 1 || o.buffer < 0 || o.slow < 0 || o.stopAfter < 0 || o.timeout < 0 {
		return fmt.Errorf("-items, -buffer, -slow, -stop-after and -timeout must not be negative, -parsers at least 1")
	}

	kit, err := sdk.Start(ctx, sdk.WithServiceName("pipeline"))
	if err != nil {
		return err
	}
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("-timeout %v passed", o.timeout))
		defer cancel()
	}
	if o.stopAfter > 0 {
		var cancel context.CancelFunc
		stopCtx, cancel = context.WithTimeout(stopCtx, o.stopAfter)
		defer cancel()
	}

	began := time.Now()
	res, runErr := process(ctx, stopCtx, o)
	fmt.Fprintf(out, "generated %d, parsed %d, aggregated %d records in %v\n",
		res.generated, res.parsed, res.aggregated, time.Since(began).Round(time.Millisecond))
	if runErr == nil {
		fmt.Fprint(out, res.table())
	}

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return errors.Join(runErr, kit.Shutdown(shutdownCtx))
}

// reading is a parsed record.
type reading struct {
	sensor string
	value  float64
}

// stats is what aggregate keeps per sensor.
type stats struct {
	count         int
	sum, min, max float64
}

// result is what a run did. Each counter is written by one stage only and
// read after the group's Wait, which orders the accesses.
type result struct {
	generated, parsed, aggregated int
	sensors                       map[string]*stats
}

func (r result) table() string {
	var b strings.Builder
	names := make([]string, 0, len(r.sensors))
	for name := range r.sensors {
		names = append(names, name)
	}
	slices.Sort(names)
	fmt.Fprintf(&b, "%-10s %7s %8s %8s %8s\n", "sensor", "count", "mean", "min", "max")
	for _, name := range names {
		s := r.sensors[name]
		fmt.Fprintf(&b, "%-10s %7d %8.2f %8.2f %8.2f\n", name, s.count, s.sum/float64(s.count), s.min, s.max)
	}
	return b.String()
}

// process wires the stages. Each channel has exactly one closer, the stage
// that sends on it, and closes it whether that stage ends well or not, so
// the stage after it always learns that nothing more will come.
func process(ctx, stopCtx context.Context, o options) (result, error) {
	res := result{sensors: map[string]*stats{}}
	raw := tracekit.NewChan[string]("raw-records", o.buffer)
	parsed := tracekit.NewChan[reading]("readings", o.buffer)

	g := tracekit.NewGroup(ctx, "pipeline")
	g.Go("generate", func(ctx context.Context) error {
		defer raw.Close()
		for i := range o.items {
			if stopCtx.Err() != nil {
				return nil // graceful stop: close, and let the rest drain
			}
			if err := raw.Send(ctx, record(i, o.badAt)); err != nil {
				return err
			}
			res.generated++
		}
		return nil
	})
	parsedBy := make([]int, o.parsers)
	g.Go("parse", func(ctx context.Context) error {
		defer parsed.Close() // after every parser has returned: see Wait
		parsers := tracekit.NewGroup(ctx, "parsers", tracekit.WithLimit(o.parsers))
		for p := range o.parsers {
			parsers.Go("parser", func(ctx context.Context) error {
				for {
					line, err := raw.Recv(ctx)
					if errors.Is(err, tracekit.ErrClosed) {
						return nil // drained
					} else if err != nil {
						return err
					}
					r, err := parse(line)
					if err != nil {
						return err
					}
					if err := parsed.Send(ctx, r); err != nil {
						return err
					}
					parsedBy[p]++
				}
			})
		}
		return parsers.Wait()
	})
	g.Go("aggregate", func(ctx context.Context) error {
		for {
			r, err := parsed.Recv(ctx)
			if errors.Is(err, tracekit.ErrClosed) {
				return nil
			} else if err != nil {
				return err
			}
			if o.slow > 0 {
				if err := sleep(ctx, o.slow); err != nil {
					return err
				}
			}
			s := res.sensors[r.sensor]
			if s == nil {
				s = &stats{min: r.value, max: r.value}
				res.sensors[r.sensor] = s
			}
			s.count++
			s.sum += r.value
			s.min, s.max = min(s.min, r.value), max(s.max, r.value)
			res.aggregated++
		}
	})
	err := g.Wait()
	for _, n := range parsedBy {
		res.parsed += n
	}
	return res, err
}

// record makes the i-th record: "sensor-K,VALUE", or a malformed one at
// badAt.
func record(i, badAt int) string {
	if i == badAt {
		return fmt.Sprintf("sensor-%d;broken", i%5)
	}
	return fmt.Sprintf("sensor-%d,%d.%d", i%5, 15+i%17, i%10)
}

// parseError says which record could not be parsed and why.
type parseError struct {
	record string
	err    error
}

func (e *parseError) Error() string {
	return fmt.Sprintf("parse record %q: %v", e.record, e.err)
}

func (e *parseError) Unwrap() error { return e.err }

var errNoComma = errors.New("want sensor,value")

func parse(line string) (reading, error) {
	sensor, value, ok := strings.Cut(line, ",")
	if !ok {
		return reading{}, &parseError{line, errNoComma}
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return reading{}, &parseError{line, err}
	}
	return reading{sensor, v}, nil
}

// sleep waits for d or until ctx is done; then its error is ctx.Err() and
// the cause, both visible to errors.Is.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		if cause := context.Cause(ctx); cause != ctx.Err() {
			return fmt.Errorf("%w (cause: %w)", ctx.Err(), cause)
		}
		return ctx.Err()
	}
}
