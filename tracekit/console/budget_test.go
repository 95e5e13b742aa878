package console

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func always[T any](T, time.Time) bool { return true }

// A value is reused until it has aged ten times what it cost to make.
func TestBudgetReuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget()
		var c cached[int]
		n := 0
		compute := func() int { time.Sleep(100 * time.Millisecond); n++; return n }
		get := func() int {
			t.Helper()
			v, _, err := c.get(context.Background(), b, always, compute)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if v := get(); v != 1 {
			t.Fatalf("first value %d", v)
		}
		time.Sleep(800 * time.Millisecond) // 0.9s after the computation began
		if v := get(); v != 1 {
			t.Errorf("within ten times its cost: value %d, want the first reused", v)
		}
		time.Sleep(200 * time.Millisecond) // 1.1s after
		if v := get(); v != 2 {
			t.Errorf("after ten times its cost: value %d, want a new one", v)
		}
		// A request the young value does not suit waits until it has aged,
		// then gets a new one.
		start := time.Now()
		v, _, err := c.get(context.Background(), b, func(int, time.Time) bool { return false }, compute)
		if err != nil || v != 3 || time.Since(start) < 900*time.Millisecond {
			t.Errorf("a fresh value: %d, %v after %v; want 3 after the reuse window", v, err, time.Since(start))
		}
	})
}

// However many requests come, one computation runs at a time across the
// values of one budget, and requests share its result.
func TestBudgetOneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget()
		var list, stacks cached[int]
		var running, most, made atomic.Int32
		compute := func() int {
			if n := running.Add(1); n > most.Load() {
				most.Store(n)
			}
			time.Sleep(50 * time.Millisecond)
			running.Add(-1)
			return int(made.Add(1))
		}
		var wg sync.WaitGroup
		for i := range maxWaiting {
			c := &list
			if i%2 == 1 {
				c = &stacks
			}
			wg.Go(func() {
				if _, _, err := c.get(context.Background(), b, always, compute); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if most.Load() != 1 || made.Load() != 2 {
			t.Errorf("%d requests: %d computations, up to %d at once; want 2 (one per value), one at a time", maxWaiting, made.Load(), most.Load())
		}
	})
}

// Requests beyond what the budget lets wait are refused with 503 and a
// Retry-After, as is one that would wait too long; a request whose client
// leaves stops waiting.
func TestBudgetRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := Handler(WithoutRefresh())
		c := h.(*console)
		// A snapshot that takes long to make.
		release := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			_, _, _ = c.list.get(context.Background(), c.budget, always, func() *snapshot {
				<-release
				return c.takeSnapshot(nil)
			})
		})
		synctest.Wait()
		codes := make(chan int, maxWaiting)
		for range maxWaiting {
			wg.Go(func() { codes <- serve(h, "127.0.0.1", "/?format=json").Code })
		}
		synctest.Wait() // all waiting for the snapshot
		rr := serve(h, "127.0.0.1", "/?format=json")
		if rr.Code != http.StatusServiceUnavailable {
			t.Errorf("request %d: %d, want 503", maxWaiting+1, rr.Code)
		}
		if s, err := strconv.Atoi(rr.Header().Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After %q", rr.Header().Get("Retry-After"))
		}
		ctx, cancel := context.WithCancel(context.Background())
		left := make(chan error, 1)
		go func() {
			_, _, err := c.stacks.get(ctx, c.budget, always, readStacks) // waits for the budget's one computation
			left <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-left; !errors.Is(err, context.Canceled) {
			t.Errorf("a request whose client left: %v", err)
		}
		close(release)
		wg.Wait()
		close(codes)
		for code := range codes {
			if code != http.StatusOK {
				t.Errorf("a waiting request: %d, want 200", code)
			}
		}

		// A value that cost 1s is reused for 10s: a request it does not
		// suit would wait past maxWait.
		var slow cached[int]
		_, _, _ = slow.get(context.Background(), c.budget, always, func() int { time.Sleep(time.Second); return 1 })
		_, _, err := slow.get(context.Background(), c.budget, func(int, time.Time) bool { return false }, func() int { return 2 })
		var busy *busyError
		if !errors.As(err, &busy) || busy.Retry <= maxWait {
			t.Errorf("a wait of 10s: %v, want busy with a retry past %v", err, maxWait)
		}
	})
}

// The pages reload less often while the snapshot takes long to make.
func TestConsoleRefreshAdapts(t *testing.T) {
	c := Handler(WithRefresh(time.Second)).(*console)
	for _, tc := range []struct{ cost, want time.Duration }{
		{0, time.Second}, {50 * time.Millisecond, time.Second}, {300 * time.Millisecond, 3 * time.Second}, {1234 * time.Millisecond, 12300 * time.Millisecond},
	} {
		if got := c.refresh(tc.cost); got != tc.want {
			t.Errorf("refresh after a snapshot of %v: %v, want %v", tc.cost, got, tc.want)
		}
	}
	if got := Handler(WithoutRefresh()).(*console).refresh(time.Second); got != 0 {
		t.Errorf("WithoutRefresh: %v", got)
	}
	rr := serve(c, "127.0.0.1", "/")
	if page := rr.Body.String(); !regexpMatch(`<body data-refresh-ms="[1-9][0-9]*">`, page) || !regexpMatch(`<noscript><meta http-equiv="refresh" content="[1-9][0-9]*"></noscript>`, page) {
		t.Errorf("the page does not say how often it reloads:\n%.600s", page)
	}
}

func regexpMatch(expr, s string) bool { return regexp.MustCompile(expr).MatchString(s) }
