// Command cost measures what tail capture costs a process that makes 10,000
// spans a second: the CPU time of the same paced workload of tracekit tasks
// and function spans with the flight recorder and its slow-span snapshots
// on (flight=on) and off (flight=off), in alternating rounds of one run. One
// request in -slow-every sleeps past the slow-span threshold, so snapshots
// are asked for all the time and written as fast as the rate limit allows.
//
// Each round prints a line in the Go benchmark format:
//
//	go run ./internal/flight/cost | tee cost.txt
//	go run golang.org/x/perf/cmd/benchstat -col /flight cost.txt
//
// cpu-%core is the process's CPU time (every thread's) per second of wall
// time, in percent of one core; cpu-ns/span the same per span.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

type options struct {
	rate     int           // spans a second
	round    time.Duration // length of a round
	rounds   int           // rounds of each condition
	slow     time.Duration // the slow-span threshold
	slowEach int           // one request in slowEach is slow
	dir      string
	only     string // "on" or "off": run that condition only
	profile  string // CPU profile of the whole run
}

func main() {
	var o options
	flag.IntVar(&o.rate, "rate", 10000, "spans a second (two per request: a task and a function span)")
	flag.DurationVar(&o.round, "round", 10*time.Second, "length of one round")
	flag.IntVar(&o.rounds, "rounds", 6, "rounds of each condition, alternating")
	flag.DurationVar(&o.slow, "slow", 50*time.Millisecond, "slow-span threshold")
	flag.IntVar(&o.slowEach, "slow-every", 1000, "one request in this many sleeps past the threshold")
	flag.StringVar(&o.dir, "dir", "", "where snapshots go (default: a new temporary directory, removed at the end)")
	flag.StringVar(&o.only, "only", "", `"on" or "off": run that condition only`)
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if _, ok := processCPU(); !ok {
		return fmt.Errorf("the process's CPU time cannot be read on this system")
	}
	if o.rate < 2 || o.round <= 0 || o.rounds < 1 || o.slowEach < 1 {
		return fmt.Errorf("want -rate >= 2, -round > 0, -rounds >= 1, -slow-every >= 1")
	}
	if o.dir == "" {
		d, err := os.MkdirTemp("", "tracekit-cost")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		o.dir = d
	}
	if o.profile != "" {
		f, err := os.Create(o.profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("goos: %s\ngoarch: %s\npkg: github.com/tracekit-go/tracekit/internal/flight/cost\n", goos, goarch)
	for i := range o.rounds {
		for _, on := range []bool{false, true} {
			if (o.only == "on" && !on) || (o.only == "off" && on) {
				continue
			}
			r, err := round(o, on, filepath.Join(o.dir, fmt.Sprint(i)))
			if err != nil {
				return err
			}
			cond := "off"
			if on {
				cond = "on"
			}
			fmt.Printf("BenchmarkTailCapture/flight=%s %d %.1f cpu-ns/span %.2f cpu-%%core %d snapshots\n",
				cond, r.spans, float64(r.cpu)/float64(r.spans), 100*r.cpu.Seconds()/r.wall.Seconds(), r.snapshots)
		}
	}
	return nil
}

type result struct {
	spans     int
	cpu, wall time.Duration
	snapshots int
}

// discard drops the spans it is given: the export pipeline runs as it
// would, and costs the same in both conditions.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// round runs the workload for one round, with the flight recorder writing
// to dir when on, and measures the CPU time from the Kit's start to the end
// of its Shutdown, which writes the snapshot still due.
func round(o options, on bool, dir string) (result, error) {
	ctx := context.Background()
	opts := []sdk.Option{sdk.WithSpanExporter(discard{}), sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithoutMemoryWatch(), sdk.WithoutLints()}
	if on {
		opts = append(opts, sdk.WithFlightRecorder(dir, sdk.FlightSlowSpan(o.slow)))
	}
	cpu0, _ := processCPU()
	start := time.Now()
	kit, err := sdk.Start(ctx, opts...)
	if err != nil {
		return result{}, err
	}
	requests := pace(ctx, o)
	if err := kit.Shutdown(ctx); err != nil {
		return result{}, err
	}
	cpu1, _ := processCPU()
	r := result{spans: 2 * requests, cpu: cpu1 - cpu0, wall: time.Since(start)}
	if on {
		files, _ := filepath.Glob(filepath.Join(dir, "*.trace"))
		r.snapshots = len(files)
	}
	return r, nil
}

// pace starts o.rate/2 requests a second for o.round, each a task with a
// function span inside, and waits for them; it returns how many it
// started.
func pace(ctx context.Context, o options) int {
	const tick = time.Millisecond
	perSecond := o.rate / 2
	var wg sync.WaitGroup
	n := 0
	t := time.NewTicker(tick)
	defer t.Stop()
	start := time.Now()
	for now := range t.C {
		elapsed := now.Sub(start)
		if elapsed >= o.round {
			break
		}
		// Catch up with the schedule after a late tick.
		for due := int(elapsed.Seconds() * float64(perSecond)); n < due; n++ {
			slow := n%o.slowEach == o.slowEach-1
			wg.Add(1)
			tracekit.Go(ctx, "request", func(ctx context.Context) error {
				defer wg.Done()
				return handle(ctx, slow, o.slow)
			})
		}
	}
	wg.Wait()
	return n
}

// handle is a request's work: a little computing under a function span,
// and for a slow request a wait past the slow-span threshold.
func handle(ctx context.Context, slow bool, threshold time.Duration) (err error) {
	_, span := tracekit.SpanNamed(ctx, "handle")
	defer span.End(&err)
	x := uint64(1)
	for range 200 {
		x = x*6364136223846793005 + 1442695040888963407
	}
	sink = x
	if slow {
		time.Sleep(threshold + threshold/2)
	}
	return nil
}

var sink uint64
