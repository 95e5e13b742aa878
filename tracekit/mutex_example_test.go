//go:build !tracekit_nosync

package tracekit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	var mu tracekit.Mutex
	mu.SetName("db")
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
	// The channel has no name: the error says where the receive was.
	var we *tracekit.WaitError
	if errors.As(err, &we) {
		fmt.Printf("%s: %v (cause: %v), in %s\n", we.Op, we.Err, we.Cause, strings.Fields(we.Caller)[0])
	}
	// Output:
	// last
	// closed
	// receive from: context canceled (cause: shutting down), in github.com/tracekit-go/tracekit/tracekit_test.ExampleRecv
}

// A wait that its context ends says which lock it was for, and wraps the
// context's error.
func ExampleWaitError() {
	var orders tracekit.Mutex
	orders.SetName("orders")
	orders.Lock()
	defer orders.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := orders.LockContext(ctx)
	fmt.Println(err)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output:
	// tracekit: lock "orders": context deadline exceeded
	// true
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
