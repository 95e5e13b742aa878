//go:build !tracekit_nosync

package tracekit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
)

// A Mutex is a drop-in for sync.Mutex: the zero value works, and a name
// labels its spans, metrics and reports.
func ExampleMutex() {
	type cache struct {
		mu    tracekit.Mutex
		items map[string]string
	}
	c := &cache{items: map[string]string{}}
	c.mu.SetName("cache")

	c.mu.Lock()
	c.items["greeting"] = "hello"
	c.mu.Unlock()

	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Println(c.items["greeting"])
	// Output: hello
}

// LockContext gives up when the context is done; the error wraps ctx.Err().
func ExampleMutex_LockContext() {
	mu := tracekit.NewMutex("db")
	mu.Lock() // held elsewhere for longer than the caller will wait

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := mu.LockContext(ctx)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output: true
}

func ExampleRWMutex() {
	var rw tracekit.RWMutex
	rw.SetName("config")
	config := map[string]int{"workers": 4}

	rw.RLock()
	fmt.Println(config["workers"])
	rw.RUnlock()

	rw.Lock()
	config["workers"] = 8
	rw.Unlock()

	r := rw.RLocker() // a sync.Locker for the read side
	r.Lock()
	fmt.Println(config["workers"])
	r.Unlock()
	// Output:
	// 4
	// 8
}

// Send returns ErrClosed instead of panicking on a closed channel.
func ExampleSend() {
	ch := make(chan int, 1)
	ctx := context.Background()
	fmt.Println(tracekit.Send(ctx, ch, 1))
	close(ch)
	fmt.Println(tracekit.Send(ctx, ch, 2))
	// Output:
	// <nil>
	// tracekit: channel closed
}

// Recv drains a closed channel, then says ErrClosed; a done context stops
// the wait with its cause.
func ExampleRecv() {
	ch := make(chan string, 1)
	ch <- "last"
	close(ch)
	ctx := context.Background()
	for {
		v, err := tracekit.Recv(ctx, ch)
		if errors.Is(err, tracekit.ErrClosed) {
			fmt.Println("closed")
			break
		}
		fmt.Println(v)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	cancel(errors.New("shutting down"))
	_, err := tracekit.Recv(ctx, make(chan string))
	fmt.Println(err)
	// Output:
	// last
	// closed
	// tracekit: receive: context canceled (cause: shutting down)
}

func ExampleChan() {
	jobs := tracekit.NewChan[int]("jobs", 2)
	ctx := context.Background()
	_ = jobs.Send(ctx, 1)
	_ = jobs.Send(ctx, 2)
	jobs.Close()
	for v := range jobs.C() {
		fmt.Println(jobs.Name(), v)
	}
	// Output:
	// jobs 1
	// jobs 2
}

// Lock-order detection reports two locks taken in opposite orders the
// first time it sees it, although this program never deadlocks.
func ExampleWithReportHandler() {
	kit, err := tracekit.Start(context.Background(),
		tracekit.WithTracesExporter(tracekit.ExporterNone),
		tracekit.WithMetricsExporter(tracekit.ExporterNone),
		tracekit.WithDeadlockDetection(true),
		tracekit.WithReportHandler(func(r tracekit.Report) {
			fmt.Println(r.Kind, r.Lock, r.Other, len(r.Stacks))
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer kit.Shutdown(context.Background())

	a, b := tracekit.NewMutex("a"), tracekit.NewMutex("b")
	a.Lock()
	b.Lock()
	b.Unlock()
	a.Unlock()

	b.Lock()
	a.Lock() // the other order: reported here
	a.Unlock()
	b.Unlock()
	// Output: lock-order a b 2
}

// A wait longer than the hang timeout is reported while it goes on; a hold
// longer than the long-hold threshold is reported when it ends.
func ExampleWithHangTimeout() {
	// Reports arrive on the detectors' goroutines: hand them to this one.
	reports := make(chan tracekit.Report, 8)
	kit, err := tracekit.Start(context.Background(),
		tracekit.WithTracesExporter(tracekit.ExporterNone),
		tracekit.WithMetricsExporter(tracekit.ExporterNone),
		tracekit.WithHangTimeout(20*time.Millisecond),
		tracekit.WithLongHold(50*time.Millisecond),
		tracekit.WithReportHandler(func(r tracekit.Report) { reports <- r }),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer kit.Shutdown(context.Background())

	db := tracekit.NewMutex("db")
	db.Lock()
	locked := time.Now()
	done := make(chan struct{})
	go func() {
		db.Lock() // waits past the hang timeout
		db.Unlock()
		close(done)
	}()
	// The hang report is made while the wait goes on.
	got := map[tracekit.ReportKind]tracekit.Report{}
	for got[tracekit.ReportLockTimeout].Kind == 0 {
		r := <-reports
		got[r.Kind] = r
	}
	time.Sleep(time.Until(locked.Add(100 * time.Millisecond)))
	db.Unlock() // held 100ms or more: past the long-hold threshold
	<-done
	// The long hold is reported when the lock is released.
	for got[tracekit.ReportLongHold].Kind == 0 {
		r := <-reports
		got[r.Kind] = r
	}
	for _, k := range []tracekit.ReportKind{tracekit.ReportLockTimeout, tracekit.ReportLongHold} {
		fmt.Println(k, got[k].Lock, len(got[k].Goroutines) > 0)
	}
	// Output:
	// lock-timeout db true
	// long-hold db false
}
