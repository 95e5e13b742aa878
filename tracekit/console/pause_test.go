package console

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
)

// manyTasks starts n tasks that block, a few frames deep, until the test
// ends: every tenth on a tracekit lock the test holds, the others on a
// channel. It returns them once all run.
func manyTasks(t testing.TB, n int) []*tracekit.Task {
	t.Helper()
	var mu tracekit.Mutex
	mu.SetName("pool")
	mu.Lock()
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(n)
	ts := make([]*tracekit.Task, n)
	for i := range ts {
		lock := i%10 == 0
		ts[i] = tracekit.Go(context.Background(), "worker", func(context.Context) error {
			started.Done()
			return nest(6, func() {
				if lock {
					mu.Lock()
					mu.Unlock() //nolint:staticcheck // only waits
					return
				}
				<-release
			})
		})
	}
	started.Wait()
	t.Cleanup(func() {
		close(release)
		mu.Unlock()
		for _, tk := range ts {
			_ = tk.Wait()
		}
	})
	return ts
}

// nest calls f depth frames down, as a service's goroutines block some way
// into their work.
func nest(depth int, f func()) error {
	if depth == 0 {
		f()
		return nil
	}
	return nest(depth-1, f)
}

// gapTicker measures the largest gap between the ticks of a 1ms ticker: how
// long the program's other goroutines were kept from running.
type gapTicker struct {
	max   atomic.Int64
	ticks atomic.Int64
	stop  chan struct{}
	done  chan struct{}
}

func startGapTicker() *gapTicker {
	g := &gapTicker{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(g.done)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		last := time.Now()
		for {
			select {
			case <-g.stop:
				return
			case now := <-tk.C:
				now = time.Now() // when this goroutine ran, not when the tick was due
				if gap := int64(now.Sub(last)); gap > g.max.Load() {
					g.max.Store(gap)
				}
				last = now
				g.ticks.Add(1)
			}
		}
	}()
	return g
}

// reset starts a new measurement and returns the largest gap of the last.
func (g *gapTicker) reset() time.Duration { return time.Duration(g.max.Swap(0)) }

func (g *gapTicker) close() { close(g.stop); <-g.done }

// burn keeps n goroutines computing until the returned function is called,
// a few microseconds at a time, as a busy service's goroutines do between
// their waits.
func burn(n int) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			buf := make([]byte, 4<<10)
			for {
				select {
				case <-quit:
					return
				default:
				}
				sum := sha256.Sum256(buf)
				copy(buf, sum[:])
				runtime.Gosched()
			}
		})
	}
	return func() { close(quit); wg.Wait() }
}

// stopTheWorldPauses reads the runtime's histogram of the pauses it stopped
// the world for, other than for the garbage collector.
func stopTheWorldPauses() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/pauses/total/other:seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64Histogram()
}

// largestSince returns the upper bound of the highest bucket that gained
// pauses from a to b.
func largestSince(a, b *metrics.Float64Histogram) time.Duration {
	for i := len(b.Counts) - 1; i >= 0; i-- {
		if b.Counts[i] > a.Counts[i] {
			return time.Duration(b.Buckets[i+1] * float64(time.Second))
		}
	}
	return 0
}

// get serves target as a browser on this machine asks for it.
func get(h http.Handler, target string) *httptest.ResponseRecorder {
	rr := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = "127.0.0.1:6060"
	h.ServeHTTP(rr, req)
	return rr
}

// TestConsoleWith20000Tasks runs the console with 20,000 tasks: it must
// neither pause the program nor send them all.
func TestConsoleWith20000Tasks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 20,000 tasks")
	}
	_ = Handler() // tasks label their goroutines from now on
	ts := manyTasks(t, 20000)
	t.Run("no pause", func(t *testing.T) { testNoPause(t, ts) })
	t.Run("paged", func(t *testing.T) { testPaged(t, Handler(WithoutRefresh()), ts) })
}

// testNoPause serves task pages (with their stacks) and the list, from
// several clients at once, while a ticker measures the largest gap between
// its ticks: the console must not keep the program from running longer
// than the ticker's own gaps, measured before, allow for. A task page used
// to take a dump of every goroutine, which stops the world for all of it
// (286 ms with 20,000 tasks, seconds with several at once). On a busy
// machine the ticker's gaps vary from one second to the next, whatever the
// console does: a measurement over the bound is made again, with a console
// of its own, up to three times; a console that stops the world fails each.
func testNoPause(t *testing.T, ts []*tracekit.Task) {
	g := startGapTicker()
	defer g.close()
	for attempt := 1; ; attempt++ {
		before, during, note := measurePause(t, g, ts)
		bound := max(4*before, before+250*time.Millisecond)
		t.Logf("largest gap between ticks: %v before, %v while serving (bound %v); %s", before, during, bound, note)
		if during <= bound {
			return
		}
		if attempt == 3 {
			t.Errorf("the console kept the program from running for %v; the ticker's own gaps were up to %v", during, before)
			return
		}
	}
}

// measurePause measures the ticker's largest gap while the program keeps
// every core busy without stopping the world, as a busy service does and
// as the console's requests do (over 1,000 ticks), then while a new console
// serves task pages and the list to five clients at once.
func measurePause(t *testing.T, g *gapTicker, ts []*tracekit.Task) (before, during time.Duration, note string) {
	h := Handler(WithoutRefresh())
	c := h.(*console)
	stopBurn := burn(runtime.GOMAXPROCS(0))
	g.reset()
	if n := g.ticks.Load() + 1000; !testwait.For(time.Minute, func() bool { return g.ticks.Load() >= n }) {
		t.Fatal("the ticker does not tick")
	}
	before = g.reset()
	stopBurn()
	pauses := stopTheWorldPauses()

	var wg sync.WaitGroup
	var found, busy atomic.Int32
	for client := range 4 {
		wg.Go(func() {
			for k := range 3 {
				id := ts[(client*3+k)*1009%len(ts)].ID()
				rr := get(h, "/?format=json&task="+strconv.FormatUint(id, 10))
				switch rr.Code {
				case http.StatusOK:
					var ct consoleTask
					if err := json.Unmarshal(rr.Body.Bytes(), &ct); err != nil {
						t.Error(err)
					} else if ct.Stack != "" {
						found.Add(1)
					}
				case http.StatusServiceUnavailable:
					busy.Add(1)
				default:
					t.Errorf("task %d: %d %s", id, rr.Code, rr.Body)
				}
			}
		})
	}
	wg.Go(func() {
		for k := range 3 {
			target := "/"
			if k%2 == 1 {
				target = "/?format=json"
			}
			if rr := get(h, target); rr.Code != http.StatusOK && rr.Code != http.StatusServiceUnavailable {
				t.Errorf("%s: %d", target, rr.Code)
			}
		}
	})
	wg.Wait()
	during = g.reset()
	if found.Load() == 0 {
		t.Error("no task page showed a stack")
	}
	note = fmt.Sprintf("the runtime's largest stop-the-world pause (not for GC) while serving: %v; %d stacks found, %d requests refused as busy, %d profiles, %d snapshots",
		largestSince(pauses, stopTheWorldPauses()), found.Load(), busy.Load(), c.stacks.computations(), c.list.computations())
	return before, during, note
}
