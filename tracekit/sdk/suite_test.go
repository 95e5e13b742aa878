package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
	"github.com/tracekit-go/tracekit/tracekit/tracekittest"
)

// The detector suite: every detector on at once, with short thresholds,
// over a table of correct concurrent programs (which must make no report
// and leave no goroutine behind) and a table of buggy ones (each must make
// exactly the reports its bug calls for, naming the lock, task or site at
// fault, and must also leave nothing behind once it has released what it
// blocked).
//
// Programs run inside a testing/synctest bubble, where the Kit's clocks,
// sweeps and timers run on the fake clock and the thresholds are exact,
// except those that block in a plain Mutex.Lock: a goroutine blocked in
// sync.Mutex is not durably blocked, so the fake clock would stop. Those run
// in real time, with the same thresholds.

// The suite's thresholds. They are short, but far enough apart that each
// buggy program crosses the one it is about and no other.
const (
	suiteSlow          = 50 * time.Millisecond // lock/chan spans
	suiteCoarse        = suiteSlow / 5         // holds are timed to within this (the coarse clock's tick)
	suiteLongHold      = 100 * time.Millisecond
	suiteHang          = 300 * time.Millisecond
	suiteSweep         = 10 * time.Millisecond
	suiteOrphan        = 100 * time.Millisecond
	suiteGrowthSamples = 6
	suiteGrowthEvery   = 20 * time.Millisecond
	suiteGrowthRise    = 4
	suiteMemEvery      = 10 * time.Millisecond
	suiteMemSamples    = 3
	suiteMemGrowth     = 8 << 20 // a test binary's live heap is a few MiB and moves by one or two
)

// countKind counts the reports of kind k.
func countKind(rs []inspect.Report, k inspect.Kind) int {
	n := 0
	for _, r := range rs {
		if r.Kind == k {
			n++
		}
	}
	return n
}

// kinds lists the kinds of rs, sorted, once each.
func kinds(rs []inspect.Report) []inspect.Kind {
	var ks []inspect.Kind
	for _, r := range rs {
		ks = append(ks, r.Kind)
	}
	slices.Sort(ks)
	return slices.Compact(ks)
}

func reportsText(rs []inspect.Report) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.String())
		b.WriteString("\n")
	}
	return b.String()
}

// suiteKit is a running Kit with every detector on, and what it reported.
type suiteKit struct {
	kit     *sdk.Kit
	reports *kittest.Reports
	// ignore covers the goroutines that ran before the program started
	// (the Kit's own among them), for leak checks.
	ignore tracekittest.Option
}

// startSuiteKit starts a Kit with every detector on and the suite's
// thresholds; the caller shuts it down with stop.
func startSuiteKit(t *testing.T) *suiteKit {
	t.Helper()
	sk := &suiteKit{reports: &kittest.Reports{}}
	var errs []error
	var errMu sync.Mutex
	kit, err := sdk.Start(context.Background(),
		sdk.WithTracesExporter(sdk.ExporterNone),
		sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithReportHandler(sk.reports.Add),
		sdk.WithErrorHandler(func(err error) { errMu.Lock(); errs = append(errs, err); errMu.Unlock() }),
		sdk.WithDeadlockDetection(),
		sdk.WithSlowThreshold(suiteSlow),
		sdk.WithLongHold(suiteLongHold),
		sdk.WithHangTimeout(suiteHang),
		sdk.WithLintInterval(suiteSweep),
		sdk.WithOrphanGrace(suiteOrphan),
		sdk.WithSpawnGrowthSamples(suiteGrowthSamples),
		sdk.WithSpawnGrowthInterval(suiteGrowthEvery),
		sdk.WithSpawnGrowthMinRise(suiteGrowthRise),
		sdk.WithMemoryWatch(),
		sdk.WithMemoryInterval(suiteMemEvery),
		sdk.WithMemoryGrowthSamples(suiteMemSamples),
		sdk.WithMemoryGrowthMin(suiteMemGrowth),
	)
	if err != nil {
		t.Fatal(err)
	}
	sk.kit = kit
	sk.ignore = tracekittest.IgnoreCurrent()
	t.Cleanup(func() {
		_ = kit.Shutdown(context.Background())
		errMu.Lock()
		defer errMu.Unlock()
		for _, err := range errs {
			t.Errorf("error handler: %v", err)
		}
	})
	return sk
}

// stop shuts the Kit down; its detectors make no report after that.
func (sk *suiteKit) stop(t *testing.T) {
	t.Helper()
	if err := sk.kit.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// leaks checks for goroutines the program left running, giving them d to
// end.
func (sk *suiteKit) leaks(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return tracekittest.Find(ctx, sk.ignore)
}

// inBubble runs f in a synctest bubble, or directly when real is set.
func inBubble(t *testing.T, real bool, f func(t *testing.T)) {
	if real {
		f(t)
		return
	}
	synctest.Test(t, f)
}

// settle is how long the detectors keep watching after a program ends:
// long enough for every sweep, sample and timer to have looked at what it
// left, so that a late false report (an orphan, a growing site, a memory
// warning) would be seen.
const settle = 2 * suiteHang

type program struct {
	name string
	// real runs the program in real time, not in a bubble: it blocks in a
	// plain Mutex.Lock.
	real bool
	run  func(t *testing.T)
}

// TestSuiteCorrectPrograms runs correct concurrent programs with every
// detector on: none may make a report or leave a goroutine behind.
func TestSuiteCorrectPrograms(t *testing.T) {
	for _, p := range correctPrograms {
		t.Run(p.name, func(t *testing.T) {
			inBubble(t, p.real, func(t *testing.T) {
				sk := startSuiteKit(t)
				p.run(t)
				tracekittest.VerifyNoLeaks(t, sk.ignore)
				time.Sleep(settle)
				sk.stop(t)
				if rs := sk.reports.All(); len(rs) > 0 {
					t.Errorf("%d report(s) on a correct program:\n%s", len(rs), reportsText(rs))
				}
			})
		})
	}
}

var correctPrograms = []program{
	{name: "worker pool via Group with limit", run: workerPool},
	{name: "bounded pipeline with cancellation and drain", run: boundedPipeline},
	{name: "consistent lock order across goroutines", run: consistentLockOrder},
	{name: "lock handoff between goroutines", run: lockHandoff},
	{name: "RWMutex readers with an occasional writer", run: readersAndWriter},
	{name: "many locks of one kind taken in ID order", run: lockedInIDOrder},
	{name: "task pool grows then stabilises", run: poolGrowsThenStable},
	{name: "background tasks outlive a short parent briefly", run: briefBackground},
	{name: "steady allocation churn", run: allocationChurn},
	{name: "short waits below the thresholds", run: shortWaits},
	{name: "short lock waits in real time", real: true, run: shortLockWaitsReal},
	{name: "sender closes, receivers drain", run: senderCloses},
	{name: "reverse order only through TryLock with back-off", run: tryLockBackOff},
	{name: "waits given up on cancellation", run: waitsGivenUp},
	{name: "short-lived tasks at a steady rate", run: steadyStream},
	// A Mutex may be unlocked by another goroutine; meanwhile the runtime
	// may give the ended locker's goroutine descriptor to a new goroutine.
	{name: "lock released by another goroutine after its locker ended", run: unlockedAfterLockerEnded},
	// Whose read hold an RUnlock by a non-reader ends cannot be told.
	{name: "read lock released on a reader's behalf while another reader holds it", run: readUnlockedOnBehalf},
}

// workerPool runs 40 jobs on a Group limited to 4 tasks.
func workerPool(t *testing.T) {
	var mu tracekit.Mutex
	mu.SetName("results")
	sum := 0
	g := tracekit.NewGroup(context.Background(), "pool", tracekit.WithLimit(4))
	for i := range 40 {
		g.Go("job", func(ctx context.Context) error {
			time.Sleep(time.Duration(i%5) * time.Millisecond)
			mu.Lock()
			sum += i
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if sum != 40*39/2 {
		t.Fatalf("sum %d", sum)
	}
}

// boundedPipeline: generate → square → consume over small buffered
// channels; the consumer cancels after 20 values, the stages stop, and the
// consumer drains what was in flight until the last stage closes.
func boundedPipeline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nums := tracekit.NewChan[int]("numbers", 4)
	squares := tracekit.NewChan[int]("squares", 4)
	gen := tracekit.Go(ctx, "generate", func(ctx context.Context) error {
		defer nums.Close()
		for i := 0; ; i++ {
			if err := nums.Send(ctx, i); err != nil {
				return nil
			}
		}
	})
	sq := tracekit.Go(ctx, "square", func(ctx context.Context) error {
		defer squares.Close()
		for {
			n, err := nums.Recv(ctx)
			if err != nil {
				return nil
			}
			if err := squares.Send(ctx, n*n); err != nil {
				return nil
			}
		}
	})
	got := 0
	for got < 20 {
		if _, err := squares.Recv(ctx); err != nil {
			t.Fatal(err)
		}
		got++
	}
	cancel()
	for range squares.C() { // drain until the square stage closes
	}
	for range nums.C() {
	}
	_ = gen.Wait()
	_ = sq.Wait()
}

// consistentLockOrder: 8 tasks take three locks, always in the same order.
func consistentLockOrder(t *testing.T) {
	a, b, c := namedMutex("inventory"), namedMutex("orders"), namedMutex("audit")
	n := 0
	g := tracekit.NewGroup(context.Background(), "ordered")
	for range 8 {
		g.Go("worker", func(context.Context) error {
			for range 50 {
				a.Lock()
				b.Lock()
				if n%2 == 0 {
					c.Lock()
					c.Unlock()
				}
				n++
				b.Unlock()
				a.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	if n != 400 {
		t.Fatalf("n = %d", n)
	}
}

// lockHandoff: one task locks, another unlocks (the lock is handed over,
// as sync.Mutex allows), many times.
func lockHandoff(t *testing.T) {
	mu := namedMutex("baton")
	locked := make(chan struct{})
	unlocked := make(chan struct{})
	g := tracekit.NewGroup(context.Background(), "handoff")
	g.Go("locker", func(context.Context) error {
		for range 100 {
			mu.Lock()
			locked <- struct{}{}
			<-unlocked
		}
		close(locked)
		return nil
	})
	g.Go("unlocker", func(context.Context) error {
		for range locked {
			mu.Unlock()
			unlocked <- struct{}{}
		}
		return nil
	})
	_ = g.Wait()
	if !mu.TryLock() {
		t.Fatal("the lock is still held")
	}
	mu.Unlock()
}

// readersAndWriter: 6 readers and a writer that updates now and then.
func readersAndWriter(t *testing.T) {
	rw := namedRWMutex("config")
	version := 0
	g := tracekit.NewGroup(context.Background(), "readers")
	for range 6 {
		g.Go("reader", func(context.Context) error {
			for range 200 {
				rw.RLock()
				_ = version
				rw.RUnlock()
			}
			return nil
		})
	}
	g.Go("writer", func(context.Context) error {
		for range 10 {
			time.Sleep(2 * time.Millisecond)
			rw.Lock()
			version++
			rw.Unlock()
		}
		return nil
	})
	_ = g.Wait()
	if version != 10 {
		t.Fatalf("version %d", version)
	}
}

// lockedInIDOrder: 16 accounts, each with its own lock, all named alike;
// transfers lock the two accounts in the order of their IDs, so no two
// transfers can wait on each other in a cycle.
func lockedInIDOrder(t *testing.T) {
	type account struct {
		mu      tracekit.Mutex
		balance int
	}
	accounts := make([]*account, 16)
	for i := range accounts {
		accounts[i] = &account{balance: 100}
		accounts[i].mu.SetName("account")
	}
	g := tracekit.NewGroup(context.Background(), "transfers")
	for w := range 8 {
		g.Go("transfer", func(context.Context) error {
			for k := range 60 {
				from, to := (w+k)%16, (w*7+k*3+1)%16
				if from == to {
					continue
				}
				lo, hi := min(from, to), max(from, to)
				accounts[lo].mu.Lock()
				accounts[hi].mu.Lock()
				accounts[from].balance--
				accounts[to].balance++
				accounts[hi].mu.Unlock()
				accounts[lo].mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	total := 0
	for _, a := range accounts {
		total += a.balance
	}
	if total != 1600 {
		t.Fatalf("total %d", total)
	}
}

// poolGrowsThenStable: a pool of workers started at one site grows over
// three growth samples (to 12 workers) and then keeps its size for many
// samples before it is shut down.
func poolGrowsThenStable(t *testing.T) {
	quit := make(chan struct{})
	var workers []*tracekit.Task
	time.Sleep(suiteGrowthEvery / 4) // off the sampling instants
	for range 3 {
		for range 4 {
			workers = append(workers, poolWorker(quit))
		}
		time.Sleep(suiteGrowthEvery)
	}
	time.Sleep(3 * suiteGrowthSamples * suiteGrowthEvery)
	close(quit)
	for _, w := range workers {
		_ = w.Wait()
	}
}

func poolWorker(quit chan struct{}) *tracekit.Task {
	return tracekit.Go(context.Background(), "pool worker", func(context.Context) error {
		<-quit
		return nil
	})
}

// briefBackground: requests start a background flush and return without
// waiting for it; each flush ends well within the orphan grace.
func briefBackground(t *testing.T) {
	var flushes sync.WaitGroup
	for range 5 {
		flushes.Add(1)
		req := tracekit.Go(context.Background(), "request", func(ctx context.Context) error {
			tracekit.Go(ctx, "flush", func(context.Context) error {
				defer flushes.Done()
				time.Sleep(suiteOrphan / 3)
				return nil
			})
			return nil
		})
		_ = req.Wait()
		time.Sleep(5 * time.Millisecond)
	}
	flushes.Wait()
}

// allocationChurn allocates and drops 256 KiB buffers, 100 MiB in all,
// keeping a fixed working set of 16 (4 MiB), and collects garbage now and
// then so that the memory watch sees completed GCs to compare.
func allocationChurn(t *testing.T) {
	var ring [16][]byte
	for i := range ring { // the working set is whole before the first sample
		ring[i] = make([]byte, 256<<10)
	}
	runtime.GC()
	for i := range 400 {
		ring[i%len(ring)] = make([]byte, 256<<10)
		ring[i%len(ring)][i%100] = byte(i)
		if i%20 == 0 {
			runtime.GC()
			time.Sleep(suiteMemEvery)
		}
	}
	runtime.KeepAlive(ring)
}

// shortWaits: a task waits on a channel, and tasks wait on a lock held for
// a while, each for less than any threshold.
func shortWaits(t *testing.T) {
	ctx := context.Background()
	ch := tracekit.NewChan[int]("replies", 0)
	rx := tracekit.Go(ctx, "await reply", func(ctx context.Context) error {
		_, err := ch.Recv(ctx)
		return err
	})
	time.Sleep(suiteLongHold / 2)
	if err := ch.Send(ctx, 1); err != nil {
		t.Fatal(err)
	}
	_ = rx.Wait()

	mu := namedMutex("session")
	mu.Lock()
	var waiters []*tracekit.Task
	for range 3 {
		// LockContext with a cancellable context waits on a channel, which
		// the bubble's clock can see.
		lctx, cancel := context.WithCancel(ctx)
		waiters = append(waiters, tracekit.Go(lctx, "session user", func(ctx context.Context) error {
			defer cancel()
			if err := mu.LockContext(ctx); err != nil {
				return err
			}
			time.Sleep(time.Millisecond)
			mu.Unlock()
			return nil
		}))
	}
	time.Sleep(suiteLongHold / 2)
	mu.Unlock()
	for _, w := range waiters {
		if err := w.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// shortLockWaitsReal: tasks wait in plain Lock calls on a lock each holds
// while it yields the processor to the others, in real time. (A hold that
// sleeps would be as long as a busy machine makes the sleep, and could pass
// the long-hold threshold.)
func shortLockWaitsReal(t *testing.T) {
	mu := namedMutex("table")
	g := tracekit.NewGroup(context.Background(), "lockers")
	for range 3 {
		g.Go("locker", func(context.Context) error {
			for range 20 {
				mu.Lock()
				runtime.Gosched()
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
}

// senderCloses: a producer sends 100 values and closes; four receivers
// drain the channel until Recv says it is closed.
func senderCloses(t *testing.T) {
	ch := tracekit.NewChan[int]("events", 8)
	ctx := context.Background()
	prod := tracekit.Go(ctx, "producer", func(ctx context.Context) error {
		defer ch.Close()
		for i := range 100 {
			if err := ch.Send(ctx, i); err != nil {
				return err
			}
		}
		return nil
	})
	var mu sync.Mutex
	seen := 0
	g := tracekit.NewGroup(ctx, "consumers")
	for range 4 {
		g.Go("consumer", func(ctx context.Context) error {
			for {
				_, err := ch.Recv(ctx)
				if errors.Is(err, tracekit.ErrClosed) {
					return nil
				}
				if err != nil {
					return err
				}
				mu.Lock()
				seen++
				mu.Unlock()
			}
		})
	}
	if err := prod.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if seen != 100 {
		t.Fatalf("received %d of 100", seen)
	}
}

// tryLockBackOff: most tasks take "index" then "store"; others hold
// "store" and only try "index", backing off (releasing "store") when it is
// taken. A TryLock never waits, so the reverse order cannot deadlock.
func tryLockBackOff(t *testing.T) {
	index, store := namedMutex("index"), namedMutex("store")
	n := 0
	g := tracekit.NewGroup(context.Background(), "writers")
	for w := range 6 {
		g.Go("writer", func(context.Context) error {
			for done := 0; done < 30; {
				if w%2 == 0 {
					index.Lock()
					store.Lock()
				} else {
					store.Lock()
					if !index.TryLock() {
						store.Unlock()
						runtime.Gosched()
						continue
					}
				}
				n++
				done++
				store.Unlock()
				index.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	if n != 180 {
		t.Fatalf("n = %d", n)
	}
}

// waitsGivenUp: tasks give up waiting for a lock, a read lock, a receive
// and a send when their contexts time out, then go on well past every
// threshold without waiting on anything of tracekit's. Waits that ended
// are neither hangs nor blocked tasks.
func waitsGivenUp(t *testing.T) {
	mu, rw := namedMutex("busy"), namedRWMutex("rebuilding")
	in, out := tracekit.NewChan[int]("silent", 0), tracekit.NewChan[int]("unread", 0)
	mu.Lock()
	rw.Lock()
	var tasks []*tracekit.Task
	for what, wait := range map[string]func(context.Context) error{
		"LockContext":  mu.LockContext,
		"RLockContext": rw.RLockContext,
		"Recv":         func(ctx context.Context) error { _, err := in.Recv(ctx); return err },
		"Send":         func(ctx context.Context) error { return out.Send(ctx, 1) },
	} {
		tasks = append(tasks, tracekit.Go(context.Background(), "impatient", func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
			err := wait(ctx)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: %v, want the deadline", what, err)
			}
			time.Sleep(suiteHang + suiteHang/2)
			return nil
		}))
	}
	time.Sleep(20 * time.Millisecond)
	rw.Unlock()
	mu.Unlock()
	for _, tk := range tasks {
		_ = tk.Wait()
	}
}

// steadyStream starts five short tasks at one site every 5ms for a
// second; each lives 12ms, so about fifteen are alive at any time. (The
// times are offset from the sweeps' so that no task starts or ends at the
// instant the lint counts.)
func steadyStream(t *testing.T) {
	time.Sleep(time.Millisecond)
	var tasks []*tracekit.Task
	for range 200 {
		for range 5 {
			tasks = append(tasks, shortTask())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, tk := range tasks {
		_ = tk.Wait()
	}
}

func shortTask() *tracekit.Task {
	return tracekit.Go(context.Background(), "short", func(context.Context) error {
		time.Sleep(12 * time.Millisecond)
		return nil
	})
}

// unlockedAfterLockerEnded: a task locks "slot" and ends without
// unlocking it, and another task unlocks it later, as sync.Mutex allows (a
// lock used as a token handed from one stage to the next). Meanwhile
// short tasks take "journal" alone. Afterwards a task takes "journal" then
// "slot", the only order in which any goroutine ever holds both.
func unlockedAfterLockerEnded(t *testing.T) {
	slot, journal := namedMutex("slot"), namedMutex("journal")
	ctx := context.Background()
	_ = tracekit.Go(ctx, "take slot", func(context.Context) error { slot.Lock(); return nil }).Wait()
	for range 100 {
		_ = tracekit.Go(ctx, "append", func(context.Context) error {
			journal.Lock()
			journal.Unlock()
			return nil
		}).Wait()
	}
	_ = tracekit.Go(ctx, "free slot", func(context.Context) error { slot.Unlock(); return nil }).Wait()
	_ = tracekit.Go(ctx, "audit", func(context.Context) error {
		journal.Lock()
		slot.Lock()
		slot.Unlock()
		journal.Unlock()
		return nil
	}).Wait()
}

// readUnlockedOnBehalf: two readers hold the read lock of "index"; a
// third goroutine releases the first reader's read lock on its behalf, as
// sync.RWMutex allows, and the first reader then takes "stats". Later a
// task takes "stats" then the write lock of "index". No goroutine ever
// takes "stats" while it holds "index", so there is no inversion. (Run 20
// times with new locks: which reader's entry the detector drops varies.)
func readUnlockedOnBehalf(t *testing.T) {
	for range 20 {
		index, stats := namedRWMutex("index"), namedMutex("stats")
		reader2Locked, release2, done2 := make(chan struct{}), make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done2)
			index.RLock()
			close(reader2Locked)
			<-release2
			index.RUnlock()
		}()
		<-reader2Locked
		reader1Locked, handedBack, done1 := make(chan struct{}), make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done1)
			index.RLock()
			close(reader1Locked)
			<-handedBack // its read lock has been released for it
			stats.Lock()
			stats.Unlock()
		}()
		<-reader1Locked
		go func() {
			index.RUnlock() // reader 1's
			close(handedBack)
		}()
		<-done1
		close(release2)
		<-done2
		_ = tracekit.Go(context.Background(), "rebuild", func(context.Context) error {
			stats.Lock()
			index.Lock()
			index.Unlock()
			stats.Unlock()
			return nil
		}).Wait()
	}
}

// buggy is a program with a bug and what the detectors must say about it.
type buggy struct {
	name string
	real bool
	// locks marks a bug only tracekit's locks can show, which the build
	// tag tracekit_nosync turns into plain sync locks.
	locks bool
	// tasks marks a bug seen through a task finding itself from its
	// goroutine, which some platforms cannot do cheaply.
	tasks bool
	// want is every kind of report the bug must cause, and the only ones.
	want []inspect.Kind
	// heldWhileWaiting names a lock the program holds while the test waits
	// for a report in real time: on a busy machine that wait can pass the
	// long-hold threshold, and a long-hold report on this lock is then
	// true, so it is allowed but not required.
	heldWhileWaiting string
	// run runs the program until the detectors have seen the bug, checks
	// the reports (and any leak error) it expects, then releases whatever
	// it blocked.
	run func(t *testing.T, sk *suiteKit)
}

// TestSuiteBuggyPrograms runs programs with a bug each, with every
// detector on: each must make the reports its bug calls for and no
// others, and leave no goroutine behind once released.
func TestSuiteBuggyPrograms(t *testing.T) {
	for _, p := range buggyPrograms {
		t.Run(p.name, func(t *testing.T) {
			if p.locks && !suiteLocksTracked {
				t.Skip("tracekit_nosync: the locks are plain sync locks")
			}
			if p.tasks && !goid.Fast {
				t.Skip("a goroutine cannot find its task on this platform")
			}
			inBubble(t, p.real, func(t *testing.T) {
				sk := startSuiteKit(t)
				p.run(t, sk)
				if err := sk.leaks(testwait.Scale(10 * time.Second)); err != nil {
					t.Errorf("goroutines left behind once released: %v", err)
				}
				sk.stop(t)
				rs := sk.reports.All()
				checked := slices.DeleteFunc(slices.Clone(rs), func(r inspect.Report) bool {
					return p.heldWhileWaiting != "" && r.Kind == inspect.KindLongHold && r.Lock == p.heldWhileWaiting
				})
				if got, want := kinds(checked), slices.Sorted(slices.Values(p.want)); !slices.Equal(got, want) {
					t.Errorf("report kinds %v, want %v:\n%s", got, p.want, reportsText(rs))
				}
			})
		})
	}
}

var buggyPrograms = []buggy{
	{name: "lock-order inversion", locks: true, want: []inspect.Kind{inspect.KindLockOrder}, run: lockOrderInversion},
	{name: "lock-order inversion in one goroutine", locks: true, want: []inspect.Kind{inspect.KindLockOrder}, run: inversionInOneGoroutine},
	{name: "lock-order inversion through a read lock", locks: true, want: []inspect.Kind{inspect.KindLockOrder}, run: inversionThroughReadLock},
	{name: "deadlock, broken by the test", locks: true, tasks: true, real: true,
		want: []inspect.Kind{inspect.KindLockOrder, inspect.KindDeadlock, inspect.KindLongHold},
		run:  deadlock},
	{name: "lock-order cycle of three locks", locks: true, want: []inspect.Kind{inspect.KindLockOrder}, run: lockOrderCycle},
	{name: "recursive lock", locks: true, real: true, want: []inspect.Kind{inspect.KindRecursiveLock},
		heldWhileWaiting: "config", run: recursiveLock},
	{name: "read lock upgraded to write lock", locks: true, real: true, want: []inspect.Kind{inspect.KindRecursiveLock},
		heldWhileWaiting: "settings", run: readLockUpgrade},
	{name: "hang on a channel", want: []inspect.Kind{inspect.KindHang}, run: channelHang},
	// The holder of a lock someone hangs on holds it long, too.
	{name: "hang on a lock", locks: true, real: true, want: []inspect.Kind{inspect.KindHang, inspect.KindLongHold}, run: lockHang},
	{name: "lock left locked by a goroutine that returned", locks: true, real: true,
		want: []inspect.Kind{inspect.KindHang, inspect.KindLongHold}, run: lockLeftLocked},
	{name: "long hold", locks: true, want: []inspect.Kind{inspect.KindLongHold}, run: longHold},
	{name: "lock held long while a task waits", locks: true, tasks: true, want: []inspect.Kind{inspect.KindLongHold}, run: lockStillHeld},
	{name: "task blocked past the hang timeout", tasks: true, want: []inspect.Kind{inspect.KindHang}, run: blockedTask},
	{name: "spawn site leaking tasks", want: []inspect.Kind{inspect.KindSpawnGrowth}, run: leakingSite},
	{name: "orphan task", want: []inspect.Kind{inspect.KindOrphanTask}, run: orphanTask},
	{name: "leaked tracked goroutine", run: leakedTask},
	{name: "leaked untracked goroutine", run: leakedGoroutine},
	{name: "memory near the limit", want: []inspect.Kind{inspect.KindMemory}, run: memoryNearLimit},
	{name: "memory growing", want: []inspect.Kind{inspect.KindMemory}, run: memoryGrowing},
}

// lockOrderInversion: one task takes "accounts" then "ledger", a later one
// "ledger" then "accounts". They never overlap, so the program does not
// deadlock, but it could.
func lockOrderInversion(t *testing.T, sk *suiteKit) {
	accounts, ledger := namedMutex("accounts"), namedMutex("ledger")
	for _, order := range [][2]*tracekit.Mutex{{accounts, ledger}, {ledger, accounts}} {
		tk := tracekit.Go(context.Background(), "transfer", func(context.Context) error {
			order[0].Lock()
			order[1].Lock()
			order[1].Unlock()
			order[0].Unlock()
			return nil
		})
		_ = tk.Wait()
	}
	r, ok := sk.reports.WaitFor(inspect.KindLockOrder, time.Second)
	if !ok {
		t.Fatal("no lock-order report")
	}
	if pair := []string{r.Lock, r.Other}; !slices.Contains(pair, "accounts") || !slices.Contains(pair, "ledger") {
		t.Errorf("report names %q and %q, want accounts and ledger", r.Lock, r.Other)
	}
}

// inversionInOneGoroutine: the same goroutine takes "users" then
// "groups", and later "groups" then "users": two goroutines running these
// two paths at once could deadlock.
func inversionInOneGoroutine(t *testing.T, sk *suiteKit) {
	users, groups := namedMutex("users"), namedMutex("groups")
	users.Lock()
	groups.Lock()
	groups.Unlock()
	users.Unlock()
	groups.Lock()
	users.Lock()
	users.Unlock()
	groups.Unlock()
	r, ok := sk.reports.WaitFor(inspect.KindLockOrder, time.Second)
	if !ok {
		t.Fatal("no lock-order report")
	}
	if r.Lock != "users" || r.Other != "groups" {
		t.Errorf("report on %q after %q, want users after groups", r.Lock, r.Other)
	}
}

// inversionThroughReadLock: one task read-locks "catalog" then locks
// "prices"; a later one locks "prices" then write-locks "catalog". Run at
// once, the writer waits for the reader, which waits for "prices".
func inversionThroughReadLock(t *testing.T, sk *suiteKit) {
	catalog, prices := namedRWMutex("catalog"), namedMutex("prices")
	_ = tracekit.Go(context.Background(), "quote", func(context.Context) error {
		catalog.RLock()
		prices.Lock()
		prices.Unlock()
		catalog.RUnlock()
		return nil
	}).Wait()
	_ = tracekit.Go(context.Background(), "reprice", func(context.Context) error {
		prices.Lock()
		catalog.Lock()
		catalog.Unlock()
		prices.Unlock()
		return nil
	}).Wait()
	r, ok := sk.reports.WaitFor(inspect.KindLockOrder, time.Second)
	if !ok {
		t.Fatal("no lock-order report")
	}
	if r.Lock != "catalog" || r.Other != "prices" {
		t.Errorf("report on %q after %q, want catalog after prices", r.Lock, r.Other)
	}
}

// deadlock: two tasks take "left" and "right" in opposite orders at the
// same time and deadlock. Every detector that can see it says so: the
// inversion at once, and at the hang timeout one deadlock report for the
// two waits (instead of a hang report for each). The test then breaks it
// by unlocking "left" on the first task's behalf, and the long holds are
// reported as they end.
func deadlock(t *testing.T, sk *suiteKit) {
	left, right := namedMutex("left"), namedMutex("right")
	var broken atomic.Bool
	bothHeld := make(chan struct{}, 2)
	proceed := make(chan struct{})
	first := tracekit.Go(context.Background(), "left first", func(context.Context) error {
		left.Lock()
		bothHeld <- struct{}{}
		<-proceed
		right.Lock()
		right.Unlock()
		if !broken.Load() {
			left.Unlock()
		}
		return nil
	})
	second := tracekit.Go(context.Background(), "right first", func(context.Context) error {
		right.Lock()
		bothHeld <- struct{}{}
		<-proceed
		left.Lock()
		left.Unlock()
		right.Unlock()
		return nil
	})
	<-bothHeld
	<-bothHeld
	close(proceed)
	for _, k := range []inspect.Kind{inspect.KindLockOrder, inspect.KindDeadlock} {
		if _, ok := sk.reports.WaitFor(k, 10*time.Second); !ok {
			t.Errorf("no %v report", k)
		}
	}
	for _, r := range sk.reports.All() {
		switch r.Kind {
		case inspect.KindLockOrder:
			if pair := []string{r.Lock, r.Other}; !slices.Contains(pair, "left") || !slices.Contains(pair, "right") {
				t.Errorf("lock-order report on %q and %q, want left and right", r.Lock, r.Other)
			}
		case inspect.KindDeadlock:
			ids := []uint64{}
			for _, ti := range r.Tasks {
				ids = append(ids, ti.ID)
			}
			if slices.Sort(ids); !slices.Equal(ids, []uint64{first.ID(), second.ID()}) || !strings.Contains(r.Message, `for lock "left"`) || !strings.Contains(r.Message, `for lock "right"`) {
				t.Errorf("deadlock report names tasks %v, want both:\n%s", ids, r)
			}
		case inspect.KindLongHold:
			if r.Lock != "left" && r.Lock != "right" {
				t.Errorf("%v report on %q, want left or right", r.Kind, r.Lock)
			}
		}
	}
	broken.Store(true)
	left.Unlock() // on the first task's behalf: the second goes on, then the first
	_ = first.Wait()
	_ = second.Wait()
}

// lockOrderCycle: three tasks, one after the other, take "a" then "b",
// "b" then "c", and "c" then "a": no two of them invert a pair, but the
// three together can deadlock.
func lockOrderCycle(t *testing.T, sk *suiteKit) {
	a, b, c := namedMutex("a"), namedMutex("b"), namedMutex("c")
	for _, order := range [][2]*tracekit.Mutex{{a, b}, {b, c}, {c, a}} {
		tk := tracekit.Go(context.Background(), "step", func(context.Context) error {
			order[0].Lock()
			order[1].Lock()
			order[1].Unlock()
			order[0].Unlock()
			return nil
		})
		_ = tk.Wait()
	}
	r, ok := sk.reports.WaitFor(inspect.KindLockOrder, time.Second)
	if !ok {
		t.Fatal("no lock-order report")
	}
	if r.Lock != "a" || r.Other != "c" || !strings.Contains(r.Message, `"b"`) {
		t.Errorf("report on %q and %q: %s; want the cycle closed by a after c, through b", r.Lock, r.Other, r.Message)
	}
}

// readLockUpgrade: a task holding the read lock of "settings" asks for
// the write lock, which waits for every reader, itself included; the test
// then releases the read lock on its behalf.
func readLockUpgrade(t *testing.T, sk *suiteKit) {
	rw := namedRWMutex("settings")
	tk := tracekit.Go(context.Background(), "update settings", func(context.Context) error {
		rw.RLock()
		rw.Lock() // blocks: the detector reports before it does
		rw.Unlock()
		return nil
	})
	r, ok := sk.reports.WaitFor(inspect.KindRecursiveLock, 5*time.Second)
	if !ok {
		t.Error("no recursive-lock report")
	} else if r.Lock != "settings" || !strings.Contains(r.Message, "upgraded") {
		t.Errorf("report on %q: %s; want settings, upgraded", r.Lock, r.Message)
	}
	rw.RUnlock() // the task's read lock, so that its Lock returns
	_ = tk.Wait()
}

// recursiveLock: a task locks "config" again while holding it; another
// goroutine then unlocks it on the task's behalf, which lets the task go
// on.
func recursiveLock(t *testing.T, sk *suiteKit) {
	mu := namedMutex("config")
	tk := tracekit.Go(context.Background(), "reload", func(context.Context) error {
		mu.Lock()
		mu.Lock() // blocks: the detector reports before it does
		mu.Unlock()
		return nil
	})
	r, ok := sk.reports.WaitFor(inspect.KindRecursiveLock, 5*time.Second)
	if !ok {
		t.Error("no recursive-lock report")
	} else if r.Lock != "config" {
		t.Errorf("report names lock %q, want config", r.Lock)
	}
	mu.Unlock() // release the first Lock, so that the second returns
	_ = tk.Wait()
}

// channelHang: an untracked goroutine waits on "jobs" past the hang
// timeout (the task lints see tracked tasks only), then gets its job.
func channelHang(t *testing.T, sk *suiteKit) {
	jobs := tracekit.NewChan[int]("jobs", 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = jobs.Recv(context.Background())
	}()
	time.Sleep(suiteHang + suiteSweep)
	r, ok := sk.reports.WaitFor(inspect.KindHang, 0)
	if !ok {
		t.Error("no hang report")
	} else if r.Channel != "jobs" || r.Lock != "" || r.Duration < suiteHang {
		t.Errorf("hang report on channel %q (lock %q) after %v, want jobs after %v or more", r.Channel, r.Lock, r.Duration, suiteHang)
	}
	_ = jobs.Send(context.Background(), 1)
	<-done
}

// lockHang: an untracked goroutine holds "orders" and waits for something
// that does not come; another waits for "orders" past the hang timeout.
func lockHang(t *testing.T, sk *suiteKit) {
	mu := namedMutex("orders")
	locked, release := make(chan struct{}), make(chan struct{})
	go func() {
		mu.Lock()
		close(locked)
		<-release
		mu.Unlock()
	}()
	<-locked
	done := lockInBackground(mu)
	r, ok := sk.reports.WaitFor(inspect.KindHang, 10*time.Second)
	if !ok {
		t.Error("no hang report")
	} else if r.Lock != "orders" || r.Duration < suiteHang || !strings.Contains(string(r.Goroutines), "lockHang") {
		t.Errorf("hang report on %q after %v, want orders after %v or more, with a dump showing the holder:\n%s", r.Lock, r.Duration, suiteHang, r)
	}
	close(release)
	<-done
	r, ok = sk.reports.WaitFor(inspect.KindLongHold, time.Second)
	if !ok {
		t.Error("no long-hold report for the holder")
	} else if r.Lock != "orders" || r.Duration < suiteHang-suiteCoarse {
		t.Errorf("long-hold report on %q for %v, want orders for %v or more", r.Lock, r.Duration, suiteHang-suiteCoarse)
	}
}

// lockLeftLocked: a goroutine takes "ledger" and returns on a path that
// forgets to unlock it; another then waits for "ledger" past the hang
// timeout. The hang report says the holder has exited. The test unlocks it
// on the lost holder's behalf, which ends the hold, long by then.
func lockLeftLocked(t *testing.T, sk *suiteKit) {
	mu := namedMutex("ledger")
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		mu.Lock()
		if err := errors.New("validation failed"); err != nil {
			return // the bug: no Unlock on this path
		}
		mu.Unlock()
	}()
	<-gone
	done := lockInBackground(mu)
	r, ok := sk.reports.WaitFor(inspect.KindHang, 10*time.Second)
	if !ok {
		t.Error("no hang report")
	} else if r.Lock != "ledger" || !strings.Contains(r.Message, "which has exited without unlocking it") {
		t.Errorf("hang report on %q, want ledger, saying its holder exited:\n%s", r.Lock, r)
	}
	mu.Unlock()
	<-done
	if _, ok := sk.reports.WaitFor(inspect.KindLongHold, time.Second); !ok {
		t.Error("no long-hold report when the lock was finally unlocked")
	}
}

// lockInBackground locks and unlocks mu in a new untracked goroutine and
// returns a channel closed when it has.
func lockInBackground(mu *tracekit.Mutex) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		mu.Lock()
		mu.Unlock()
	}()
	return done
}

// longHold: a task holds "cache" for longer than the long-hold threshold
// while nobody waits for it.
func longHold(t *testing.T, sk *suiteKit) {
	mu := namedMutex("cache")
	tk := tracekit.Go(context.Background(), "rebuild", func(context.Context) error {
		mu.Lock()
		time.Sleep(suiteLongHold + suiteLongHold/2)
		mu.Unlock()
		return nil
	})
	_ = tk.Wait()
	r, ok := sk.reports.WaitFor(inspect.KindLongHold, time.Second)
	if !ok {
		t.Fatal("no long-hold report")
	}
	if r.Lock != "cache" || r.Duration < suiteLongHold {
		t.Errorf("long-hold report on %q for %v, want cache for %v or more", r.Lock, r.Duration, suiteLongHold)
	}
}

// lockStillHeld: a task holds "ledger" past the long-hold threshold
// while another task waits for it, short of the hang timeout: the release
// reports the hold once, with its length.
func lockStillHeld(t *testing.T, sk *suiteKit) {
	mu := namedMutex("ledger")
	locked, release := make(chan struct{}), make(chan struct{})
	holder := tracekit.Go(context.Background(), "holder", func(context.Context) error {
		mu.Lock()
		close(locked)
		<-release
		mu.Unlock()
		return nil
	})
	<-locked
	wctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waiter := tracekit.Go(wctx, "waiter", func(ctx context.Context) error {
		if err := mu.LockContext(ctx); err != nil {
			return err
		}
		mu.Unlock()
		return nil
	})
	time.Sleep(suiteLongHold + 2*suiteSweep)
	close(release)
	_ = holder.Wait()
	_ = waiter.Wait()
	var released int
	for _, r := range sk.reports.All() {
		if r.Kind != inspect.KindLongHold {
			continue
		}
		released++
		if r.Lock != "ledger" || r.Duration < suiteLongHold || !strings.Contains(r.Message, "was held for") {
			t.Errorf("long-hold report %q on %q for %v, want ledger for %v or more", r.Message, r.Lock, r.Duration, suiteLongHold)
		}
	}
	if released != 1 {
		t.Errorf("%d long-hold reports, want 1, at the release", released)
	}
}

// blockedTask: a task waits on "results" past the hang timeout before a
// result comes: one hang report, naming the channel.
func blockedTask(t *testing.T, sk *suiteKit) {
	results := tracekit.NewChan[int]("results", 0)
	tk := tracekit.Go(context.Background(), "collector", func(ctx context.Context) error {
		_, err := results.Recv(ctx)
		return err
	})
	time.Sleep(suiteHang + 3*suiteSweep)
	r, ok := sk.reports.WaitFor(inspect.KindHang, 0)
	if !ok {
		t.Error("no hang report")
	} else if r.Channel != "results" || r.Lock != "" || !strings.Contains(r.Message, `receive from "results" has waited`) {
		t.Errorf("hang report %q on channel %q, lock %q; want the channel results", r.Message, r.Channel, r.Lock)
	}
	if n := countKind(sk.reports.All(), inspect.KindHang); n != 1 {
		t.Errorf("%d hang reports for one wait, want 1", n)
	}
	_ = results.Send(context.Background(), 1)
	_ = tk.Wait()
}

// leakingSite starts two tasks every growth interval that wait for
// something that never comes (until the test releases them).
func leakingSite(t *testing.T, sk *suiteKit) {
	release := make(chan struct{})
	var tasks []*tracekit.Task
	time.Sleep(suiteGrowthEvery / 4)
	for range 2 * suiteGrowthSamples {
		tasks = append(tasks, startPoller(release), startPoller(release))
		time.Sleep(suiteGrowthEvery)
	}
	r, ok := sk.reports.WaitFor(inspect.KindSpawnGrowth, 0)
	if !ok {
		t.Error("no spawn-growth report")
	} else if !strings.Contains(r.SpawnSite, "startPoller") || r.Count < suiteGrowthRise || len(r.Tasks) == 0 || r.Tasks[0].Name != "poll" {
		t.Errorf("spawn-growth report on site %q, count %d, tasks %+v; want startPoller's poll tasks", r.SpawnSite, r.Count, r.Tasks)
	}
	close(release)
	for _, tk := range tasks {
		_ = tk.Wait()
	}
}

func startPoller(release chan struct{}) *tracekit.Task {
	return tracekit.Go(context.Background(), "poll", func(context.Context) error {
		<-release
		return nil
	})
}

// orphanTask: a request starts a refresh and returns; the refresh runs on
// well past the orphan grace.
func orphanTask(t *testing.T, sk *suiteKit) {
	release := make(chan struct{})
	var child *tracekit.Task
	parent := tracekit.Go(context.Background(), "request", func(ctx context.Context) error {
		child = tracekit.Go(ctx, "refresh", func(context.Context) error {
			<-release
			return nil
		})
		return nil
	})
	_ = parent.Wait()
	time.Sleep(suiteOrphan + 3*suiteSweep)
	r, ok := sk.reports.WaitFor(inspect.KindOrphanTask, 0)
	if !ok {
		t.Error("no orphan report")
	} else if len(r.Tasks) != 1 || r.Tasks[0].ID != child.ID() || r.Tasks[0].Parent != parent.ID() {
		t.Errorf("orphan report's tasks %+v, want task %d of parent %d", r.Tasks, child.ID(), parent.ID())
	}
	close(release)
	_ = child.Wait()
}

// leakedTask: a tracked task waits forever on a plain channel; Leaks
// names the task and where it was started.
func leakedTask(t *testing.T, sk *suiteKit) {
	release := make(chan struct{})
	tk := startStuck(release)
	err := sk.leaks(100 * time.Millisecond)
	var le *tracekittest.LeakError
	if !errors.As(err, &le) {
		t.Fatalf("Leaks: %v, want a *LeakError", err)
	}
	if len(le.Goroutines) != 1 {
		t.Errorf("%d leaks, want 1: %v", len(le.Goroutines), err)
	} else if g := le.Goroutines[0]; g.TaskID != tk.ID() || g.Task != "stuck" || !strings.Contains(g.SpawnSite, "startStuck") ||
		!strings.Contains(g.State, "chan receive") {
		t.Errorf("leak %+v, want task %d \"stuck\" started in startStuck, in chan receive", g, tk.ID())
	}
	// The test helper fails the test it is given, naming the task.
	var rt recordingT
	tracekittest.VerifyNoLeaks(&rt, sk.ignore)
	if msg := rt.failure(); !strings.Contains(msg, `tracked task "stuck"`) || !strings.Contains(msg, "startStuck") {
		t.Errorf("VerifyNoLeaks failed with %q, want the task \"stuck\" started in startStuck", msg)
	}
	close(release)
	_ = tk.Wait()
}

func startStuck(release chan struct{}) *tracekit.Task {
	return tracekit.Go(context.Background(), "stuck", func(context.Context) error {
		<-release
		return nil
	})
}

// leakedGoroutine: an untracked goroutine waits forever on a plain
// channel; Leaks finds it and names the go statement that started it.
func leakedGoroutine(t *testing.T, sk *suiteKit) {
	release, done := make(chan struct{}), make(chan struct{})
	go forgotten(release, done)
	err := sk.leaks(100 * time.Millisecond)
	var le *tracekittest.LeakError
	if !errors.As(err, &le) {
		t.Fatalf("Leaks: %v, want a *LeakError", err)
	}
	if len(le.Goroutines) != 1 {
		t.Errorf("%d leaks, want 1: %v", len(le.Goroutines), err)
	} else if g := le.Goroutines[0]; g.TaskID != 0 || !strings.HasSuffix(g.Function, "forgotten") || !strings.Contains(g.CreatedBy, "leakedGoroutine") {
		t.Errorf("leak %+v, want the untracked goroutine running forgotten, created in leakedGoroutine", g)
	}
	close(release)
	<-done
}

func forgotten(release, done chan struct{}) {
	defer close(done)
	<-release
}

// memUsed is what GOMEMLIMIT counts, as the memory watch reads it.
func memUsed() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// memoryNearLimit lowers the memory limit to just above what the process
// uses (restoring it after), which puts use past the watch's fraction.
func memoryNearLimit(t *testing.T, sk *suiteKit) {
	limit := memUsed() * 10 / 9 // use at 90% of the limit
	prev := debug.SetMemoryLimit(int64(limit))
	defer debug.SetMemoryLimit(prev)
	r, ok := sk.reports.WaitFor(inspect.KindMemory, 10*suiteMemEvery)
	debug.SetMemoryLimit(prev)
	if !ok {
		t.Fatal("no memory report")
	}
	if m := r.Memory; m == nil || m.Cause != inspect.MemoryNearLimit || m.LimitKind != inspect.MemoryLimitGo || m.Limit != limit {
		t.Errorf("memory report %+v, want near the GOMEMLIMIT of %d", m, limit)
	}
}

// memoryGrowing keeps 4 MiB more alive at every sample, with a GC between
// samples, until the watch reports the live heap growing.
func memoryGrowing(t *testing.T, sk *suiteKit) {
	var kept [][]byte
	var r inspect.Report
	ok := false
	for range 4 * suiteMemSamples {
		kept = append(kept, make([]byte, 4<<20))
		runtime.GC()
		if r, ok = sk.reports.WaitFor(inspect.KindMemory, suiteMemEvery); ok {
			break
		}
	}
	runtime.KeepAlive(kept)
	if !ok {
		t.Fatal("no memory report")
	}
	if m := r.Memory; m == nil || m.Cause != inspect.MemoryGrowing || m.LiveHeap < m.GrowthFrom+suiteMemGrowth || m.GrowthSamples < suiteMemSamples {
		t.Errorf("memory report %+v, want growth of %d bytes or more over %d samples", m, suiteMemGrowth, suiteMemSamples)
	}
	kept = nil
	runtime.GC()
}

// recordingT is a tracekittest.TestingT that records failures instead of
// failing the test.
type recordingT struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recordingT) Helper()        {}
func (r *recordingT) Cleanup(func()) {}

func (r *recordingT) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recordingT) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

// failure is every failure recorded, "" for none.
func (r *recordingT) failure() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.msgs, "\n")
}

// TestSuiteLeaksInParallelTests: two tests run in parallel while every
// detector watches; one leaks a goroutine through a task that has ended,
// the other is clean. Each test's leak check blames the leak on the test
// that made it and only on that one, and the detectors stay quiet (the
// task lints see tracked tasks only, and the leaked goroutine is not one).
func TestSuiteLeaksInParallelTests(t *testing.T) {
	if !goid.FastID() {
		t.Skip("no task lineage where reading a goroutine ID takes a stack trace")
	}
	sk := startSuiteKit(t)
	leaked, checked, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	t.Run("group", func(t *testing.T) {
		t.Run("leaky", func(t *testing.T) {
			t.Parallel()
			done := make(chan struct{})
			spawner := tracekit.Go(context.Background(), "spawner", func(context.Context) error {
				go parkedByTask(release, done)
				return nil
			})
			_ = spawner.Wait()
			close(leaked)
			<-checked
			var rt recordingT
			tracekittest.VerifyNoLeaks(&rt, sk.ignore)
			msg := rt.failure()
			if !strings.Contains(msg, "1 leaked goroutine(s)") || !strings.Contains(msg, "parkedByTask") ||
				!strings.Contains(msg, string(tracekittest.AttributedThroughTasks)) {
				t.Errorf("the leaky test's check said %q, want parkedByTask attributed through tasks", msg)
			}
			close(release)
			<-done
		})
		t.Run("clean", func(t *testing.T) {
			t.Parallel()
			defer close(checked)
			g := tracekit.NewGroup(context.Background(), "clean work", tracekit.WithLimit(2))
			for range 4 {
				g.Go("step", func(context.Context) error { time.Sleep(time.Millisecond); return nil })
			}
			_ = g.Wait()
			<-leaked
			var rt recordingT
			tracekittest.VerifyNoLeaks(&rt, sk.ignore)
			if msg := rt.failure(); msg != "" {
				t.Errorf("the clean test was blamed for another test's leak:\n%s", msg)
			}
		})
	})
	if err := sk.leaks(testwait.Scale(10 * time.Second)); err != nil {
		t.Errorf("goroutines left behind: %v", err)
	}
	sk.stop(t)
	if rs := sk.reports.All(); len(rs) > 0 {
		t.Errorf("%d report(s):\n%s", len(rs), reportsText(rs))
	}
}

func parkedByTask(release, done chan struct{}) {
	defer close(done)
	<-release
}

// namedMutex returns a Mutex named name.
func namedMutex(name string) *tracekit.Mutex {
	m := &tracekit.Mutex{}
	m.SetName(name)
	return m
}

// namedRWMutex returns an RWMutex named name.
func namedRWMutex(name string) *tracekit.RWMutex {
	m := &tracekit.RWMutex{}
	m.SetName(name)
	return m
}
