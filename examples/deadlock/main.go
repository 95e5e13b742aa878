// Command deadlock runs the classic ways concurrent Go code locks up, with
// tracekit's locks and channel helpers, and prints what tracekit reports.
// With -fixed it runs the corrected version of each, which reports nothing.
//
//	go run ./examples/deadlock          # the bugs, and the reports
//	go run ./examples/deadlock -fixed   # the fixes: no reports
//
// None of the scenarios hangs the program. The first one's opposite-order
// transfers run one after the other, which is exactly when a lock-order
// detector earns its keep, since the deadlock needs an unlucky interleaving
// that tests rarely hit. The last one makes that interleaving happen: the
// two transfers deadlock, the detector says so at the hang timeout, and one
// of them gives up (LockContext) so that the program goes on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "deadlock:", err)
		os.Exit(1)
	}
}

// account is a bank account with its own lock.
type account struct {
	id      int
	mu      tracekit.Mutex
	balance int
}

func newAccount(id, balance int) *account {
	a := &account{id: id, balance: balance}
	a.mu.SetName(fmt.Sprintf("account-%d", id))
	return a
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("deadlock", flag.ContinueOnError)
	fs.SetOutput(out)
	fixed := fs.Bool("fixed", false, "run the corrected version of every scenario")
	verbose := fs.Bool("v", false, "print every stack in full")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var (
		mu      sync.Mutex
		reports []inspect.Report
	)
	deadlocks := make(chan inspect.Report, 1)
	opts := []sdk.Option{
		sdk.WithServiceName("deadlock-example"),
		sdk.WithDeadlockDetection(),
		sdk.WithSlowThreshold(10 * time.Millisecond),
		sdk.WithHangTimeout(150 * time.Millisecond),
		sdk.WithLongHold(300 * time.Millisecond),
		sdk.WithReportHandler(func(r inspect.Report) {
			mu.Lock()
			reports = append(reports, r)
			mu.Unlock()
			if r.Kind == inspect.KindDeadlock {
				select {
				case deadlocks <- r:
				default:
				}
			}
		}),
	}
	if _, set := os.LookupEnv("OTEL_TRACES_EXPORTER"); !set {
		opts = append(opts, sdk.WithTracesExporter(sdk.ExporterNone), sdk.WithMetricsExporter(sdk.ExporterNone))
	}
	kit, err := sdk.Start(ctx, opts...)
	if err != nil {
		return err
	}
	// shutdown gives the exporters ten seconds at most.
	shutdown := func() error {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return kit.Shutdown(ctx)
	}

	scenarios := []struct {
		name       string
		bug, fixed func(context.Context, io.Writer) error
	}{
		{"two goroutines take two mutexes in opposite order", oppositeOrder, orderedByID},
		{"nested locks in a consistent order", orderedByID, orderedByID},
		{"message passing instead of nested locks", messagePassing, messagePassing},
		{"try-lock with retry", tryLockRetry, tryLockRetry},
		{"send on a closed channel", sendOnClosed, closeBySender},
		{"slow work under a lock", slowUnderLock, slowOutsideLock},
		{"two transfers at once, in opposite orders", func(ctx context.Context, out io.Writer) error {
			return transfersAtOnce(ctx, out, deadlocks)
		}, orderedByID},
	}
	total := 0
	for i, sc := range scenarios {
		f := sc.bug
		if *fixed {
			f = sc.fixed
		}
		fmt.Fprintf(out, "== %d. %s\n", i+1, sc.name)
		if err := f(ctx, out); err != nil {
			return errors.Join(fmt.Errorf("%s: %w", sc.name, err), shutdown())
		}
		mu.Lock()
		got := reports
		reports = nil
		mu.Unlock()
		for _, r := range got {
			printReport(out, r, *verbose)
		}
		if len(got) == 0 {
			fmt.Fprintln(out, "   no reports")
		}
		total += len(got)
	}
	fmt.Fprintf(out, "%d reports\n", total)
	return shutdown()
}

// programDir is this program's source directory: frames from it are the
// ones worth printing.
var programDir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}()

// printReport prints the message and, per stack, its label and the first
// two frames in this program (all frames with -v).
func printReport(out io.Writer, r inspect.Report, verbose bool) {
	fmt.Fprintf(out, "   %s: %s\n", r.Kind, r.Message)
	for _, s := range r.Stacks {
		fmt.Fprintf(out, "     %s:\n", s.Label)
		frames := s.Frames()
		if !verbose {
			frames = slices.DeleteFunc(frames, func(f runtime.Frame) bool { return filepath.Dir(f.File) != programDir })
			if len(frames) > 2 {
				frames = frames[:2]
			}
		}
		for _, f := range frames {
			fmt.Fprintf(out, "       %s (%s:%d)\n", strings.TrimPrefix(f.Function, "github.com/tracekit-go/tracekit/examples/deadlock."), filepath.Base(f.File), f.Line)
		}
	}
}

// transfer moves amount from one account to the other, locking the source
// first: two transfers in opposite directions lock in opposite orders.
func transfer(from, to *account, amount int) {
	from.mu.Lock()
	defer from.mu.Unlock()
	to.mu.Lock()
	defer to.mu.Unlock()
	from.balance -= amount
	to.balance += amount
}

// transferOrdered locks the account with the lower id first, whichever way
// the money goes.
func transferOrdered(from, to *account, amount int) {
	first, second := from, to
	if to.id < from.id {
		first, second = to, from
	}
	first.mu.Lock()
	defer first.mu.Unlock()
	second.mu.Lock()
	defer second.mu.Unlock()
	from.balance -= amount
	to.balance += amount
}

func oppositeOrder(ctx context.Context, out io.Writer) error {
	a, b := newAccount(1, 100), newAccount(2, 100)
	// One after the other: the program survives, the bug is still there.
	if err := tracekit.Go(ctx, "pay-rent", func(context.Context) error { transfer(a, b, 10); return nil }).Wait(); err != nil {
		return err
	}
	return tracekit.Go(ctx, "refund", func(context.Context) error { transfer(b, a, 5); return nil }).Wait()
}

func orderedByID(ctx context.Context, out io.Writer) error {
	a, b := newAccount(1, 100), newAccount(2, 100)
	g := tracekit.NewGroup(ctx, "transfers")
	for range 4 {
		g.Go("pay-rent", func(context.Context) error { transferOrdered(a, b, 10); return nil })
		g.Go("refund", func(context.Context) error { transferOrdered(b, a, 5); return nil })
	}
	return g.Wait()
}

// messagePassing gives the balances to one goroutine, the ledger, which
// applies transfers one at a time: no goroutine ever holds two locks.
func messagePassing(ctx context.Context, out io.Writer) error {
	type move struct{ from, to, amount int }
	balances := map[int]int{1: 100, 2: 100}
	moves := tracekit.NewChan[move]("ledger", 0)
	ledger := tracekit.Go(ctx, "ledger", func(ctx context.Context) error {
		for {
			m, err := moves.Recv(ctx)
			if errors.Is(err, tracekit.ErrClosed) {
				return nil
			}
			if err != nil {
				return err
			}
			balances[m.from] -= m.amount
			balances[m.to] += m.amount
		}
	})
	for _, m := range []move{{1, 2, 10}, {2, 1, 5}} {
		if err := moves.Send(ctx, m); err != nil {
			return err
		}
	}
	moves.Close()
	if err := ledger.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(out, "   balances: %d %d\n", balances[1], balances[2])
	return nil
}

// tryLockRetry takes the second lock only if it is free and otherwise
// backs off, releasing the first: opposite orders cannot deadlock, and
// tracekit does not report them.
func tryLockRetry(ctx context.Context, out io.Writer) error {
	a, b := newAccount(1, 100), newAccount(2, 100)
	move := func(from, to *account, amount int) {
		for {
			from.mu.Lock()
			if to.mu.TryLock() {
				from.balance -= amount
				to.balance += amount
				to.mu.Unlock()
				from.mu.Unlock()
				return
			}
			from.mu.Unlock()
			time.Sleep(time.Microsecond)
		}
	}
	g := tracekit.NewGroup(ctx, "transfers")
	for range 4 {
		g.Go("pay-rent", func(context.Context) error { move(a, b, 10); return nil })
		g.Go("refund", func(context.Context) error { move(b, a, 5); return nil })
	}
	return g.Wait()
}

// sendOnClosed closes a channel from the receiving side while a producer
// still sends: with a plain send that panics; tracekit.Send says ErrClosed.
func sendOnClosed(ctx context.Context, out io.Writer) error {
	jobs := make(chan int, 1)
	close(jobs) // the consumer decided it had enough
	err := tracekit.Send(ctx, jobs, 42)
	fmt.Fprintf(out, "   Send: %v\n", err)
	if !errors.Is(err, tracekit.ErrClosed) {
		return fmt.Errorf("want ErrClosed, got %v", err)
	}
	return nil
}

// closeBySender: the producer owns the channel and closes it when done;
// the consumer reads until ErrClosed.
func closeBySender(ctx context.Context, out io.Writer) error {
	jobs := make(chan int, 1)
	producer := tracekit.Go(ctx, "producer", func(ctx context.Context) error {
		defer close(jobs)
		for i := range 3 {
			if err := tracekit.Send(ctx, jobs, i); err != nil {
				return err
			}
		}
		return nil
	})
	sum := 0
	for {
		v, err := tracekit.Recv(ctx, jobs)
		if errors.Is(err, tracekit.ErrClosed) {
			break
		}
		if err != nil {
			return err
		}
		sum += v
	}
	fmt.Fprintf(out, "   received sum %d\n", sum)
	return producer.Wait()
}

// slowUnderLock does slow work (here a sleep standing for a network call)
// while holding the lock another goroutine needs: the waiter passes the hang
// timeout and the holder the long-hold threshold.
func slowUnderLock(ctx context.Context, out io.Writer) error {
	var cache tracekit.Mutex
	cache.SetName("cache")
	cache.Lock()
	reader := tracekit.Go(ctx, "read-cache", func(context.Context) error {
		cache.Lock()
		defer cache.Unlock()
		return nil
	})
	time.Sleep(400 * time.Millisecond) // fetching while holding the lock
	cache.Unlock()
	return reader.Wait()
}

// slowOutsideLock fetches first and holds the lock only to store.
func slowOutsideLock(ctx context.Context, out io.Writer) error {
	var cache tracekit.Mutex
	cache.SetName("cache")
	time.Sleep(400 * time.Millisecond) // fetching, no lock held
	cache.Lock()
	reader := tracekit.Go(ctx, "read-cache", func(context.Context) error {
		cache.Lock()
		defer cache.Unlock()
		return nil
	})
	cache.Unlock()
	return reader.Wait()
}

// transfersAtOnce runs two opposite transfers at the same time, each
// holding its first account while it asks for the second: they deadlock.
// At the hang timeout the detector reports the cycle; then pay-rent gives
// up (its LockContext returns the cause), which lets refund finish.
func transfersAtOnce(ctx context.Context, out io.Writer, deadlocks <-chan inspect.Report) error {
	a, b := newAccount(1, 100), newAccount(2, 100)
	var firstLocks sync.WaitGroup
	firstLocks.Add(2)
	payCtx, giveUp := context.WithCancelCause(ctx)
	defer giveUp(nil)
	pay := tracekit.Go(payCtx, "pay-rent", func(ctx context.Context) error {
		return transferContext(ctx, a, b, 10, &firstLocks)
	})
	refund := tracekit.Go(ctx, "refund", func(ctx context.Context) error {
		return transferContext(ctx, b, a, 5, &firstLocks)
	})
	select {
	case <-deadlocks:
	case <-time.After(time.Minute):
		return errors.New("no deadlock report within a minute")
	}
	giveUp(errors.New("deadlock reported"))
	fmt.Fprintf(out, "   pay-rent: %v\n   refund: %v\n", pay.Wait(), refund.Wait())
	return nil
}

// transferContext is transfer with LockContext, so that a transfer can
// give up; it takes the second lock only once both transfers hold their
// first (the interleaving that deadlocks).
func transferContext(ctx context.Context, from, to *account, amount int, firstLocks *sync.WaitGroup) error {
	if err := from.mu.LockContext(ctx); err != nil {
		return err
	}
	defer from.mu.Unlock()
	firstLocks.Done()
	firstLocks.Wait()
	if err := to.mu.LockContext(ctx); err != nil {
		return err
	}
	defer to.mu.Unlock()
	from.balance -= amount
	to.balance += amount
	return nil
}
