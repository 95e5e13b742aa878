package console

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The console's budget. Its costly work (a snapshot of every task, a
// goroutine profile) runs one computation at a time, and each result is
// reused by every request until it has aged costShare times what it cost to
// make: however many requests come, the console's work takes at most about
// 1/costShare of one core. A request that would wait longer than maxWait,
// or finds maxWaiting requests waiting already, is refused with 503 and a
// Retry-After.
const (
	costShare  = 10
	maxWait    = 5 * time.Second
	maxWaiting = 16
)

// busyError refuses a request over the budget; Retry says when to come back.
type busyError struct{ Retry time.Duration }

func (e *busyError) Error() string {
	return fmt.Sprintf("tracekit console: busy, retry in %v", e.Retry.Round(time.Second))
}

// budget serializes the costly computations of one console.
type budget struct {
	sem chan struct{}
}

func newBudget() *budget { return &budget{sem: make(chan struct{}, 1)} }

// cached is one costly value that requests share; its zero value is ready
// to use.
type cached[T any] struct {
	mu      sync.Mutex
	val     T
	have    bool
	start   time.Time     // when val's computation started
	cost    time.Duration // how long it took
	reuse   time.Time     // val is reused until then
	running chan struct{} // closed when the running computation ends; nil when none
	waiting int           // requests waiting for a computation
	runs    int           // computations made, for tests
}

// get returns a value that fresh accepts (given when its computation
// started), computing one with compute if need be: at once when the last one
// has aged enough, else after it has, or after the running one ends. While
// the last value is young enough and fresh accepts it, it is returned as
// it is. It fails with a *busyError over the budget, or ctx's error.
func (c *cached[T]) get(ctx context.Context, b *budget, fresh func(v T, start time.Time) bool, compute func() T) (T, time.Duration, error) {
	var zero T
	for {
		c.mu.Lock()
		now := time.Now()
		if c.have && now.Before(c.reuse) && fresh(c.val, c.start) {
			v, cost := c.val, c.cost
			c.mu.Unlock()
			return v, cost, nil
		}
		if c.running == nil && !now.Before(c.reuse) {
			done := make(chan struct{})
			c.running = done
			c.mu.Unlock()
			select {
			case b.sem <- struct{}{}:
			case <-ctx.Done():
				c.mu.Lock()
				c.running = nil
				close(done)
				c.mu.Unlock()
				return zero, 0, ctx.Err()
			}
			return c.compute(b, done, compute)
		}
		// Wait for the running computation, or for the last value to age.
		var timer *time.Timer
		wake := c.running
		if wake == nil {
			d := c.reuse.Sub(now)
			if d > maxWait {
				c.mu.Unlock()
				return zero, 0, &busyError{Retry: d}
			}
			timer = time.NewTimer(d)
		}
		if c.waiting >= maxWaiting {
			retry := max(c.reuse.Sub(now), c.cost, time.Second)
			c.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return zero, 0, &busyError{Retry: retry}
		}
		c.waiting++
		c.mu.Unlock()
		var err error
		if timer != nil {
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				err = ctx.Err()
			}
		} else {
			select {
			case <-wake:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		c.mu.Lock()
		c.waiting--
		c.mu.Unlock()
		if err != nil {
			return zero, 0, err
		}
	}
}

// compute runs the computation get has claimed (done is c.running), holding
// b's semaphore, and publishes its value; a panic leaves c as it was.
func (c *cached[T]) compute(b *budget, done chan struct{}, compute func() T) (v T, cost time.Duration, err error) {
	ok := false
	defer func() {
		<-b.sem
		c.mu.Lock()
		c.running = nil
		if ok {
			c.val, c.have, c.start, c.cost = v, true, time.Now().Add(-cost), cost
			c.reuse = c.start.Add(costShare * cost)
			c.runs++
		}
		close(done)
		c.mu.Unlock()
	}()
	start := time.Now()
	v = compute()
	cost = time.Since(start)
	ok = true
	return v, cost, nil
}

// computations returns how many values c has computed.
func (c *cached[T]) computations() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs
}
