package console

import (
	"context"
	"net/http"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/tracekit"
)

// BenchmarkConsoleTaskStack finds one task's stack among 20,000 running
// tasks the console's way (the goroutine profile) beside the way a task
// page used to (a dump of every goroutine, tasks.SnapshotStacks), and
// reports, besides the time per stack, the largest gap a 1ms ticker saw and
// the runtime's largest stop-the-world pause (not for GC) over the run.
// Compare the two with benchstat.
func BenchmarkConsoleTaskStack(b *testing.B) {
	_ = Handler() // tasks label their goroutines from now on
	ts := manyTasks(b, 20000)
	id := ts[len(ts)/2].ID()
	measure := func(b *testing.B, stack func() string) {
		g := startGapTicker()
		defer g.close()
		pauses := stopTheWorldPauses()
		g.reset()
		for b.Loop() {
			if stack() == "" {
				b.Fatal("no stack")
			}
		}
		b.ReportMetric(float64(g.reset())/float64(time.Millisecond), "max-gap-ms")
		b.ReportMetric(float64(largestSince(pauses, stopTheWorldPauses()))/float64(time.Millisecond), "max-stw-ms")
	}
	b.Run("baseline=full-dump", func(b *testing.B) {
		measure(b, func() string {
			es, err := tasks.SnapshotStacks()
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range es {
				if e.ID == id {
					return e.Stack
				}
			}
			return ""
		})
	})
	b.Run("console=goroutine-profile", func(b *testing.B) {
		measure(b, func() string {
			s, _ := readStacks().stack(id)
			return s
		})
	})
}

// BenchmarkConsoleList makes the list's default page, HTML and JSON, with
// 100,000 running tasks (a fresh snapshot each time), and reports its size.
func BenchmarkConsoleList(b *testing.B) {
	manyTasks(b, 100000)
	for _, target := range []string{"/", "/?format=json"} {
		b.Run("page="+strconv.Quote(target), func(b *testing.B) {
			size := 0
			for b.Loop() {
				rr := get(Handler(WithoutRefresh()), target)
				if rr.Code != http.StatusOK {
					b.Fatal(rr.Code)
				}
				size = rr.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}

// BenchmarkGoLabeled is tracekit.Go before any console exists and after,
// when each task labels its goroutine for the console. The baseline needs a
// process in which no console was made: run with -count 1, several times.
func BenchmarkGoLabeled(b *testing.B) {
	work := func(context.Context) error { return nil }
	run := func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = tracekit.Go(context.Background(), "work", work).Wait()
		}
	}
	b.Run("baseline=no-console", func(b *testing.B) {
		if !tasks.LabeledSince().IsZero() {
			b.Skip("a console was made earlier in this process")
		}
		run(b)
	})
	b.Run("console", func(b *testing.B) {
		_ = Handler()
		run(b)
	})
}

// BenchmarkLabelGoroutine is what each task started once a console exists
// adds: labelling its goroutine with its ID.
func BenchmarkLabelGoroutine(b *testing.B) {
	ctx := context.Background()
	defer pprof.SetGoroutineLabels(ctx)
	b.ReportAllocs()
	id := uint64(1 << 20)
	for b.Loop() {
		id++
		_ = labelGoroutine(ctx, id)
	}
}
