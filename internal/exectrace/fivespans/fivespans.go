// Package fivespans is a workload of five spans, each slow for one known
// reason, that marks its spans in the execution trace as tracekit does
// (package xtrace) and labels its CPU samples with them. The tests of
// package exectrace and of flamegen run it under an execution trace and
// check what the trace says of each span against what [Run] reports it did.
package fivespans

import (
	"context"
	"errors"
	"runtime"
	"runtime/pprof"
	"strconv"
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
	CPU      = "cpu-burn"      // computes for Slow of CPU time: running
	Starved  = "starved"       // yields among busy goroutines on one P: runnable
	Syscall  = "nanosleep"     // a blocking system call: syscall
	Holder   = "hold-orders"   // holds the lock "orders" for Slow once LockWait waits for it
	LockWait = "update-orders" // waits for "orders": lock, released by Holder; ends after Holder
	Recv     = "wait-jobs"     // receives on "jobs" before anyone sends: channel
	Sender   = "send-jobs"     // sends on "jobs" Slow after Recv blocked
)

// Want is the state each slow span spends most of its time in, as the
// workload makes it.
var Want = map[string]string{CPU: "running", Starved: "runnable", Syscall: "syscall", LockWait: "lock", Recv: "channel"}

// Slow is how long each slow reason lasts at least.
const Slow = 30 * time.Millisecond

// Did is what [Run] did, as the workload itself knows it.
type Did struct {
	// Spans holds each span's IDs and goroutine, by span name. The wait
	// spans made after the fact are under "lock.wait orders" and
	// "chan.recv jobs".
	Spans map[string]Span
}

// Span is one span of the workload.
type Span struct {
	TraceID   trace.TraceID
	ID        trace.SpanID
	Goroutine int64 // the goroutine it ran on, from its stack's header
}

// Run runs the workload with spans from tracer, marking them whenever an
// execution trace is recording. It sets GOMAXPROCS to 1 for the starved
// span and restores it. during, if not nil, is called while the lock and
// the channel waiters are blocked (a test starts and stops a flight
// recorder there, so that a new part of the trace begins inside the waits).
func Run(ctx context.Context, tracer trace.Tracer, during func()) (Did, error) {
	w := &work{tracer: tracer, during: during, did: Did{Spans: map[string]Span{}}}
	ctx, end := w.span(ctx, Root, "function")
	<-w.goSpan(ctx, CPU, func(context.Context) {
		burnCPU(Slow)
	})
	w.starve(ctx)
	<-w.goSpan(ctx, Syscall, func(context.Context) {
		sleepSyscall(Slow)
	})
	err := errors.Join(w.lock(ctx), w.channel(ctx))
	end()
	return w.did, err
}

type work struct {
	tracer trace.Tracer
	during func()
	mu     sync.Mutex // guards did
	did    Did
}

func (w *work) record(name string, sc trace.SpanContext) {
	w.mu.Lock()
	w.did.Spans[name] = Span{TraceID: sc.TraceID(), ID: sc.SpanID(), Goroutine: goid()}
	w.mu.Unlock()
}

// span starts a span on the calling goroutine, marks it and labels the
// goroutine's CPU samples with it; end ends all three.
func (w *work) span(ctx context.Context, name, kind string) (context.Context, func()) {
	parent := trace.SpanContextFromContext(ctx).SpanID()
	ctx, sp := w.tracer.Start(ctx, name, trace.WithAttributes(attribute.String("tracekit.kind", kind)))
	sc := sp.SpanContext()
	w.record(name, sc)
	prev := ctx
	ctx = pprof.WithLabels(ctx, pprof.Labels("span_id", sc.SpanID().String(), "span_name", name, "trace_id", sc.TraceID().String()))
	pprof.SetGoroutineLabels(ctx)
	xtrace.Begin(ctx, sc.TraceID(), sc.SpanID(), parent, kind, name)
	return ctx, func() {
		xtrace.End(ctx, sc.SpanID())
		sp.End()
		pprof.SetGoroutineLabels(prev)
	}
}

// goSpan runs fn in a span of its own on a new goroutine; the channel is
// closed when the span has ended.
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
// channel wait: a span made after the fact, marked once with its duration.
func (w *work) waited(ctx context.Context, kind, name string, start time.Time) {
	parent := trace.SpanContextFromContext(ctx).SpanID()
	full := kind + " " + name
	_, sp := w.tracer.Start(ctx, full, trace.WithTimestamp(start), trace.WithAttributes(attribute.String("tracekit.kind", kind)))
	sc := sp.SpanContext()
	w.record(full, sc)
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

// burnCPU computes until it has used d of CPU time, as its thread's CPU
// clock counts it (where that can be read; else for d of wall time): time
// the goroutine spends stopped or waiting for a P comes on top. A slice of
// the computation counts only when the goroutine stayed on one thread over
// it, and no more than the wall time it took.
func burnCPU(d time.Duration) {
	if _, _, ok := threadCPU(); !ok {
		burn(d)
		return
	}
	for used := time.Duration(0); used < d; {
		tid, cpu, _ := threadCPU()
		start := time.Now()
		burn(time.Millisecond)
		wall := time.Since(start)
		tid2, cpu2, _ := threadCPU()
		if c := cpu2 - cpu; tid2 == tid && c >= 0 {
			used += min(c, wall)
		}
	}
}

// starve runs the Starved span on one P shared with busy goroutines: each
// time it yields, it waits for them to use up their time slices.
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

// lock has Holder take the lock "orders" and keep it for Slow once
// LockWait is blocked on it.
func (w *work) lock(ctx context.Context) error {
	var mu sync.Mutex
	locked := make(chan struct{})
	var err error
	holder := w.goSpan(ctx, Holder, func(context.Context) {
		mu.Lock()
		close(locked)
		err = waitBlocked("fivespans.(*work).updateOrders", "sync.Mutex.Lock")
		w.blocked()
		time.Sleep(Slow)
		mu.Unlock()
	})
	<-locked
	waiter := w.goSpan(ctx, LockWait, func(ctx context.Context) {
		w.updateOrders(ctx, &mu)
		<-holder // so that LockWait ends last, after Holder's span
	})
	<-holder
	<-waiter
	return err
}

func (w *work) blocked() {
	if w.during != nil {
		w.during()
	}
}

func (w *work) updateOrders(ctx context.Context, mu *sync.Mutex) {
	start := time.Now()
	mu.Lock()
	w.waited(ctx, "lock.wait", "orders", start)
	mu.Unlock()
}

// channel has Recv wait on the channel "jobs", on which Sender sends Slow
// after Recv blocked.
func (w *work) channel(ctx context.Context) error {
	jobs := make(chan int)
	recv := w.goSpan(ctx, Recv, func(ctx context.Context) {
		w.waitJobs(ctx, jobs)
	})
	var err error
	send := w.goSpan(ctx, Sender, func(context.Context) {
		err = waitBlocked("fivespans.(*work).waitJobs", "chan receive")
		w.blocked()
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

// waitBlocked polls the goroutine dump until a goroutine whose stack holds
// fn is blocked with the given status, for at most a minute.
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

// goid returns the calling goroutine's ID, from the header of its stack
// ("goroutine 18 [running]:").
func goid() int64 {
	var buf [64]byte
	s := strings.TrimPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine ")
	s, _, _ = strings.Cut(s, " ")
	id, _ := strconv.ParseInt(s, 10, 64)
	return id
}
