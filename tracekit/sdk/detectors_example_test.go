//go:build !tracekit_nosync

package sdk_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// Lock-order detection reports two locks taken in opposite orders the
// first time it sees it, although this program never deadlocks, with the
// four acquisitions that make the two orders.
func ExampleWithReportHandler() {
	kit, err := sdk.Start(context.Background(),
		sdk.WithTracesExporter(sdk.ExporterNone),
		sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithDeadlockDetection(),
		sdk.WithReportHandler(func(r inspect.Report) {
			fmt.Println(r.Kind, r.Lock, r.Other, len(r.Stacks))
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}

	var a, b tracekit.Mutex
	a.SetName("a")
	b.SetName("b")
	a.Lock()
	b.Lock()
	b.Unlock()
	a.Unlock()

	b.Lock()
	a.Lock() // the other order: reported here
	a.Unlock()
	b.Unlock()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := kit.Shutdown(shutdownCtx); err != nil {
		fmt.Println(err)
	}
	// Output: lock-order a b 4
}

// A wait longer than the hang timeout is reported while it goes on; a hold
// longer than the long-hold threshold is reported when it ends.
func ExampleWithHangTimeout() {
	// Reports arrive on the detectors' goroutines: hand them to this one.
	reports := make(chan inspect.Report, 8)
	kit, err := sdk.Start(context.Background(),
		sdk.WithTracesExporter(sdk.ExporterNone),
		sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithHangTimeout(20*time.Millisecond),
		sdk.WithLongHold(50*time.Millisecond),
		sdk.WithReportHandler(func(r inspect.Report) { reports <- r }),
	)
	if err != nil {
		fmt.Println(err)
		return
	}

	var db tracekit.Mutex
	db.SetName("db")
	db.Lock()
	locked := time.Now()
	done := make(chan struct{})
	go func() {
		db.Lock() // waits past the hang timeout
		db.Unlock()
		close(done)
	}()
	// The hang report is made while the wait goes on.
	got := map[inspect.Kind]inspect.Report{}
	for got[inspect.KindHang].Kind == "" {
		r := <-reports
		got[r.Kind] = r
	}
	time.Sleep(time.Until(locked.Add(100 * time.Millisecond)))
	db.Unlock() // held 100ms or more: past the long-hold threshold
	<-done
	// The long hold is reported when the lock is released.
	for got[inspect.KindLongHold].Kind == "" {
		r := <-reports
		got[r.Kind] = r
	}
	for _, k := range []inspect.Kind{inspect.KindHang, inspect.KindLongHold} {
		fmt.Println(k, got[k].Lock, len(got[k].Goroutines) > 0)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := kit.Shutdown(shutdownCtx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// hang db true
	// long-hold db false
}
