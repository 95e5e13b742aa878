// Command lockprog is the instrumented program the end-to-end tests run to
// check tracekit's lock and channel spans and detector reports in a real
// backend. Like a user's service it is configured only through the
// environment: the standard OTEL_* variables choose the exporter, and
// tracekit's own TRACEKIT_SLOW, TRACEKIT_HANG_TIMEOUT, TRACEKIT_LONG_HOLD and
// TRACEKIT_DEADLOCK decide what becomes a span or a report (off turns one
// off; 0 means its default). The program does the same thing whatever they
// say.
//
// Under one root span, "locks", it runs these tracekit.Go tasks:
//
//   - "holder" locks the Mutex "inventory", waits until "waiter" is blocked
//     on it, keeps it for [stall] more and unlocks it: a hold of at least
//     stall (a lock.hold span and, past the long-hold threshold, a
//     long-hold report on the holder's span).
//   - "waiter" locks "inventory" while "holder" has it: a wait of at least
//     stall (a lock.wait span and, past the hang timeout, a hang report
//     naming the holder).
//   - "consumer" receives from the Chan "orders", on which "producer" sends
//     stall after the consumer started waiting (a chan.recv span).
//   - "shipper" sends on the unbuffered Chan "acks", from which "acker"
//     receives stall after the shipper started waiting (a chan.send span).
//   - "writer" write-locks the RWMutex "catalog" and "reader" read-locks it
//     with RLockContext inside a function span (tracekit.Span), as
//     "holder" and "waiter" do with "inventory": the read wait's span is a
//     child of the function span, the span of the context given to
//     RLockContext, and its hang report goes there too.
//   - "stocker" receives with tracekit.Recv from a plain channel, on which
//     "supplier" sends stall after the stocker started waiting: the channel
//     has no name of its own, so spans and reports name it after the
//     function that called Recv, main.awaitRestock.
//   - "transfer" locks "accounts" then "ledger"; after it ends, "refund"
//     locks "ledger" then "accounts": a lock-order inversion, reported on
//     refund's span when lock-order detection is on. Nothing deadlocks,
//     because the two never run at once.
//
// When TRACEKIT_HANG_TIMEOUT is shorter than the stall, the side that ends
// a deliberate wait also waits, after the stall, for that wait's hang
// report to have been made: on a machine too busy to run the hang
// detector's timer on time the report is still made while the wait lasts,
// naming the holder that still holds the lock.
//
// It prints the trace's id, the Kit's export counts, each task's id and the
// stall as JSON on standard output.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// stall is how long each deliberate wait lasts at least: the holder keeps
// the lock, and the other side of a channel stays away, for this long after
// the waiting task is seen waiting.
const stall = 150 * time.Millisecond

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lockprog:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	hangs, err := newHangReports()
	if err != nil {
		return err
	}
	kit, err := sdk.Start(ctx, sdk.WithReportHandler(hangs.add))
	if err != nil {
		return err
	}
	ctx, root := kit.TracerProvider().Tracer(tracekit.ScopeName).Start(ctx, "locks")

	var inventory tracekit.Mutex
	inventory.SetName("inventory")
	locked := make(chan struct{})
	holder := tracekit.Go(ctx, "holder", func(context.Context) error {
		inventory.Lock() // lock:holder
		close(locked)
		err := waitUntil("waiter", `lock "inventory"`)
		time.Sleep(stall)
		err = errors.Join(err, hangs.wait("inventory"))
		inventory.Unlock() // unlock:inventory
		return err
	})
	<-locked
	waiter := tracekit.Go(ctx, "waiter", func(context.Context) error {
		inventory.Lock() // lock:waiter
		inventory.Unlock()
		return nil
	})

	var catalog tracekit.RWMutex
	catalog.SetName("catalog")
	catalogLocked := make(chan struct{})
	writer := tracekit.Go(ctx, "writer", func(context.Context) error {
		catalog.Lock() // lock:writer
		close(catalogLocked)
		err := waitUntil("reader", `read lock "catalog"`)
		time.Sleep(stall)
		err = errors.Join(err, hangs.wait("catalog"))
		catalog.Unlock() // unlock:catalog
		return err
	})
	<-catalogLocked
	reader := tracekit.Go(ctx, "reader", func(ctx context.Context) error {
		return readCatalog(ctx, &catalog)
	})

	orders := tracekit.NewChan[string]("orders", 0)
	consumer := tracekit.Go(ctx, "consumer", func(ctx context.Context) error {
		v, err := orders.Recv(ctx) // recv:orders
		if err == nil && v != "order-1" {
			err = fmt.Errorf("received %q, want order-1", v)
		}
		return err
	})
	producer := tracekit.Go(ctx, "producer", func(ctx context.Context) error {
		if err := waitUntil("consumer", `receive from "orders"`); err != nil {
			return err
		}
		time.Sleep(stall)
		if err := hangs.wait("orders"); err != nil {
			return err
		}
		return orders.Send(ctx, "order-1")
	})

	acks := tracekit.NewChan[int]("acks", 0)
	shipper := tracekit.Go(ctx, "shipper", func(ctx context.Context) error {
		return acks.Send(ctx, 1) // send:acks
	})
	acker := tracekit.Go(ctx, "acker", func(ctx context.Context) error {
		if err := waitUntil("shipper", `send on "acks"`); err != nil {
			return err
		}
		time.Sleep(stall)
		if err := hangs.wait("acks"); err != nil {
			return err
		}
		_, err := acks.Recv(ctx)
		return err
	})

	restock := make(chan int)
	stocker := tracekit.Go(ctx, "stocker", func(ctx context.Context) error {
		return awaitRestock(ctx, restock)
	})
	supplier := tracekit.Go(ctx, "supplier", func(context.Context) error {
		if err := waitUntil("stocker", `receive from "main.awaitRestock"`); err != nil {
			return err
		}
		time.Sleep(stall)
		if err := hangs.wait("main.awaitRestock"); err != nil {
			return err
		}
		restock <- 1
		return nil
	})

	var accounts, ledger tracekit.Mutex
	accounts.SetName("accounts")
	ledger.SetName("ledger")
	transfer := tracekit.Go(ctx, "transfer", func(context.Context) error {
		accounts.Lock() // lock:transfer-accounts
		ledger.Lock()   // lock:transfer-ledger
		ledger.Unlock()
		accounts.Unlock()
		return nil
	})
	orderErr := transfer.Wait()
	refund := tracekit.Go(ctx, "refund", func(context.Context) error {
		ledger.Lock()   // lock:refund-ledger
		accounts.Lock() // lock:refund-accounts
		accounts.Unlock()
		ledger.Unlock()
		return nil
	})

	tasks := []*tracekit.Task{holder, waiter, writer, reader, consumer, producer, shipper, acker, stocker, supplier, transfer, refund}
	errs := []error{orderErr}
	ids := map[string]uint64{}
	for _, t := range tasks {
		if err := t.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("task %s: %w", t.Name(), err))
		}
		ids[t.Name()] = t.ID()
	}
	root.End()

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := kit.Shutdown(shutdownCtx); err != nil {
		errs = append(errs, fmt.Errorf("shutdown: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	st := kit.Stats()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"trace_id": root.SpanContext().TraceID().String(),
		"exported": st.Exported,
		"dropped":  st.Dropped,
		"failed":   st.Failed,
		"tasks":    ids,
		"stall_ns": stall.Nanoseconds(),
	})
}

// readCatalog read-locks catalog under a span of its own, main.readCatalog.
func readCatalog(ctx context.Context, catalog *tracekit.RWMutex) (err error) {
	ctx, span := tracekit.Span(ctx)
	defer span.End(&err)
	if err := catalog.RLockContext(ctx); err != nil { // rlock:catalog
		return err
	}
	catalog.RUnlock()
	return nil
}

// awaitRestock receives one value from ch with tracekit.Recv.
func awaitRestock(ctx context.Context, ch <-chan int) error {
	_, err := tracekit.Recv(ctx, ch) // recv:restock
	return err
}

// waitUntil polls the task registry until the running task named name waits
// on what (as [inspect.Task.WaitingOn] spells it), so that a deliberate
// wait is known to have begun before the stall that makes it long.
func waitUntil(name, what string) error {
	if !testwait.For(time.Minute, func() bool {
		return slices.ContainsFunc(inspect.Tasks(), func(ti inspect.Task) bool { return ti.Name == name && ti.WaitingOn == what })
	}) {
		return fmt.Errorf("task %q was not seen waiting on %s within %v", name, what, testwait.Scale(time.Minute))
	}
	return nil
}

// hangReports records the locks and channels the hang detector has
// reported, for the side that ends a deliberate wait.
type hangReports struct {
	expected bool // the hang timeout is shorter than the stall
	mu       sync.Mutex
	seen     map[string]bool
}

func newHangReports() (*hangReports, error) {
	hang := sdk.DefaultHangTimeout
	switch v := os.Getenv("TRACEKIT_HANG_TIMEOUT"); strings.ToLower(v) {
	case "":
	case "off", "false":
		return &hangReports{seen: map[string]bool{}}, nil
	default:
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("TRACEKIT_HANG_TIMEOUT: %w", err)
		}
		if d > 0 { // 0 stands for the default
			hang = d
		}
	}
	return &hangReports{expected: hang < stall, seen: map[string]bool{}}, nil
}

func (h *hangReports) add(r inspect.Report) {
	if r.Kind == inspect.KindHang {
		h.mu.Lock()
		h.seen[r.Lock+r.Channel] = true // a report names a lock or a channel
		h.mu.Unlock()
	}
}

// wait returns once the hang report on name has been made, at once when
// none is expected.
func (h *hangReports) wait(name string) error {
	if !h.expected {
		return nil
	}
	if !testwait.For(time.Minute, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.seen[name]
	}) {
		return fmt.Errorf("no hang report on %q within %v", name, testwait.Scale(time.Minute))
	}
	return nil
}
