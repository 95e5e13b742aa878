// Package fivespans is a workload of five spans, each slow for one known
// reason, that marks its spans in the execution trace the way tracekit
// does: the tests of package exectrace and flamegen run it under an
// execution trace and check that each span's dominant state is found.
package fivespans

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/xtrace"
)

// The spans' names.
const (
	Root     = "request"       // the parent of the others; waits for each in turn
	CPU      = "cpu-burn"      // computes: running
	Starved  = "starved"       // yields among busy goroutines on one P: runnable
	Syscall  = "nanosleep"     // a blocking system call: syscall
	Holder   = "hold-orders"   // holds the lock "orders" while it sleeps
	LockWait = "update-orders" // waits for "orders": lock, released by Holder
	Recv     = "wait-jobs"     // receives on "jobs" before anyone sends: channel
	Sender   = "send-jobs"     // sends on "jobs" once Recv waits, after a sleep
)

// Want is each slow span's dominant state.
var Want = map[string]string{CPU: "running", Starved: "runnable", Syscall: "syscall", LockWait: "lock", Recv: "channel"}

// Slow is how long each slow reason lasts.
const Slow = 30 * time.Millisecond

// Run runs the workload with spans from tracer, marking them with package
// xtrace whenever an execution trace is recording. It changes GOMAXPROCS for
// the starved span and restores it.
func Run(ctx context.Context, tracer trace.Tracer) error {
	w := &work{tracer: tracer}
	ctx, end := w.span(ctx, Root, "function")
	defer end()
	<-w.goSpan(ctx, CPU, func(context.Context) {
		burn(Slow)
	})
	w.starve(ctx)
	<-w.goSpan(ctx, Syscall, func(context.Context) {
		sleepSyscall(Slow)
	})
	if err := w.lock(ctx); err != nil {
		return err
	}
	return w.channel(ctx)
}

type work struct {
	tracer trace.Tracer
}

// span starts a span on the calling goroutine and marks it; end ends both.
func (w *work) span(ctx context.Context, name, kind string) (context.Context, func()) {
	parent := trace.SpanContextFromContext(ctx).SpanID()
	ctx, sp := w.tracer.Start(ctx, name, trace.WithAttributes(attribute.String("tracekit.kind", kind)))
	sc := sp.SpanContext()
	xtrace.Begin(ctx, sc.TraceID(), sc.SpanID(), parent, kind, name)
	return ctx, func() {
		xtrace.End(ctx, sc.SpanID())
		sp.End()
	}
}

// goSpan runs fn in a span of its own on a new goroutine; the channel is
// closed when it has ended.
func (w *work) goSpan(ctx context.Context, name string, fn func(context.Context)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, end := w.span(ctx, name, "goroutine")
		defer end()
		fn(ctx)
	}()
	return done
}

// waited records a wait that has ended as tracekit records a slow lock or
// channel wait: a span made after the fact, marked once.
func (w *work) waited(ctx context.Context, kind, name string, start time.Time) {
	parent := trace.SpanContextFromContext(ctx).SpanID()
	full := kind + " " + name
	_, sp := w.tracer.Start(ctx, full, trace.WithTimestamp(start), trace.WithAttributes(attribute.String("tracekit.kind", kind)))
	sc := sp.SpanContext()
	xtrace.Done(ctx, sc.TraceID(), sc.SpanID(), parent, kind, full, time.Since(start))
	sp.End()
}

var sink atomic.Uint64

// burn computes for d of wall time.
func burn(d time.Duration) {
	x := uint64(1)
	for start := time.Now(); time.Since(start) < d; {
		for range 1000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink.Add(x)
}

// starve runs the Starved span on one P shared with busy goroutines: each
// time it yields it waits for all of them to use their time slices.
func (w *work) starve(ctx context.Context) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	const busy = 3
	var stop atomic.Bool
	var wg sync.WaitGroup
	running := make(chan struct{}, busy)
	for range busy {
		wg.Add(1)
		go func() {
			defer wg.Done()
			running <- struct{}{}
			for !stop.Load() {
				sink.Add(1)
			}
		}()
	}
	for range busy {
		<-running
	}
	<-w.goSpan(ctx, Starved, func(context.Context) {
		for range 5 {
			burn(200 * time.Microsecond)
			runtime.Gosched()
		}
	})
	stop.Store(true)
	wg.Wait()
}

// lock has Holder take the lock and keep it for Slow once LockWait is
// blocked on it.
func (w *work) lock(ctx context.Context) error {
	var mu sync.Mutex
	locked := make(chan struct{})
	errc := make(chan error, 1)
	holder := w.goSpan(ctx, Holder, func(context.Context) {
		mu.Lock()
		close(locked)
		errc <- waitBlocked("fivespans.(*work).updateOrders", "sync.Mutex.Lock")
		time.Sleep(Slow)
		mu.Unlock()
	})
	<-locked
	waiter := w.goSpan(ctx, LockWait, func(ctx context.Context) {
		w.updateOrders(ctx, &mu)
	})
	<-holder
	<-waiter
	return <-errc
}

func (w *work) updateOrders(ctx context.Context, mu *sync.Mutex) {
	start := time.Now()
	mu.Lock()
	w.waited(ctx, "lock.wait", "orders", start)
	mu.Unlock()
}

// channel has Recv wait on a channel that Sender sends on only once Recv
// is blocked, and after Slow.
func (w *work) channel(ctx context.Context) error {
	jobs := make(chan int)
	recv := w.goSpan(ctx, Recv, func(ctx context.Context) {
		w.waitJobs(ctx, jobs)
	})
	var err error
	send := w.goSpan(ctx, Sender, func(context.Context) {
		err = waitBlocked("fivespans.(*work).waitJobs", "chan receive")
		time.Sleep(Slow)
		jobs <- 1
	})
	<-send
	<-recv
	return err
}

func (w *work) waitJobs(ctx context.Context, jobs <-chan int) {
	start := time.Now()
	<-jobs
	w.waited(ctx, "chan.recv", "jobs", start)
}

// waitBlocked polls the goroutine dump until a goroutine whose stack has fn
// waits with the given status, for at most a minute.
func waitBlocked(fn, status string) error {
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		dump := string(buf[:runtime.Stack(buf, true)])
		for g := range strings.SplitSeq(dump, "\n\n") {
			head, _, _ := strings.Cut(g, "\n")
			if strings.Contains(head, "["+status) && strings.Contains(g, fn) {
				return nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("fivespans: no goroutine in " + fn + " blocked in " + status + " within a minute")
}
