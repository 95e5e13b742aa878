package tracekit

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/gostack"
)

// LeakMethod says how a leaked goroutine was found.
type LeakMethod string

const (
	// LeakFoundByStacks: the goroutine was still alive when the check
	// ended and no ignore rule matched its stack (the method of goleak).
	// It may yet have finished later.
	LeakFoundByStacks LeakMethod = "stacks"
	// LeakProvenByRuntime: the runtime's goroutineleak profile (a binary
	// built with GOEXPERIMENT=goroutineleakprofile) proved that nothing can
	// ever wake the goroutine.
	LeakProvenByRuntime LeakMethod = "goroutineleak profile"
)

// LeakedGoroutine is a goroutine that outlived the scope a leak check
// covered.
type LeakedGoroutine struct {
	ID      uint64
	State   string        // what it was blocked on: "chan receive", "select", ...
	Waiting time.Duration // how long, at the runtime's minute granularity
	// Function is the innermost function of its stack.
	Function string
	// CreatedBy is the go statement that started it: "pkg.fn at file:line".
	CreatedBy string
	// Stack is its stack as the runtime prints it.
	Stack  string
	Method LeakMethod
	// Task, TaskID, SpawnSite, TraceID and SpanID describe the tracked
	// task ([Go], [Group.Go]) the goroutine runs, found in the registry
	// that [Snapshot] reads; they are zero for an untracked goroutine,
	// whose CreatedBy is then the only clue. SpawnSite is
	// "function (file:line)" of the call to Go.
	Task      string
	TaskID    uint64
	SpawnSite string
	TraceID   trace.TraceID
	SpanID    trace.SpanID
}

// LeakError lists leaked goroutines. Leaks and the tracekittest helpers
// return it; use errors.As to read it.
type LeakError struct {
	Goroutines []LeakedGoroutine
}

func (e *LeakError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tracekit: %d leaked goroutine(s)", len(e.Goroutines))
	// Goroutines leaked by the same code look alike: print each shape once.
	type shape struct {
		state, stack, createdBy string
		method                  LeakMethod
		task, site              string
	}
	var order []shape
	ids := map[shape][]string{}
	waits := map[shape]time.Duration{}
	tasks := map[shape][]string{}
	for _, g := range e.Goroutines {
		k := shape{g.State, g.Stack, g.CreatedBy, g.Method, g.Task, g.SpawnSite}
		if _, ok := ids[k]; !ok {
			order = append(order, k)
		}
		ids[k] = append(ids[k], fmt.Sprint(g.ID))
		if g.TaskID != 0 {
			t := fmt.Sprintf("#%d", g.TaskID)
			if g.TraceID.IsValid() {
				t += fmt.Sprintf(" (trace %s span %s)", g.TraceID, g.SpanID)
			}
			tasks[k] = append(tasks[k], t)
		}
		waits[k] = max(waits[k], g.Waiting)
	}
	for _, k := range order {
		fmt.Fprintf(&b, "\n\n%d goroutine(s) [%s", len(ids[k]), k.state)
		if waits[k] > 0 {
			fmt.Fprintf(&b, ", %v", waits[k])
		}
		fmt.Fprintf(&b, "] found by %s: goroutine %s\n", k.method, strings.Join(ids[k], ", "))
		if len(tasks[k]) > 0 {
			fmt.Fprintf(&b, "tracked task %q spawned at %s: task %s\n", k.task, k.site, strings.Join(tasks[k], ", "))
		}
		b.WriteString(k.stack) // ends with the go statement that started them
	}
	return b.String()
}

// LeakOption configures [Leaks].
type LeakOption interface{ applyLeak(*leakConfig) }

type leakConfig struct {
	ignoreTop []string
	ignoreAny []string
	ignoreIDs map[uint64]bool
}

type leakOptionFunc func(*leakConfig)

func (f leakOptionFunc) applyLeak(c *leakConfig) { f(c) }

// IgnoreTopFunction ignores goroutines whose innermost function is fn (a
// fully qualified name such as "net/http.(*persistConn).readLoop").
func IgnoreTopFunction(fn string) LeakOption {
	return leakOptionFunc(func(c *leakConfig) { c.ignoreTop = append(c.ignoreTop, fn) })
}

// IgnoreAnyFunction ignores goroutines with fn anywhere in their stack or as
// the function that started them.
func IgnoreAnyFunction(fn string) LeakOption {
	return leakOptionFunc(func(c *leakConfig) { c.ignoreAny = append(c.ignoreAny, fn) })
}

// IgnoreCurrent ignores every goroutine running when IgnoreCurrent is
// called, so that a check covers only goroutines started after it.
func IgnoreCurrent() LeakOption {
	ids := map[uint64]bool{}
	if gs, err := gostack.Snapshot(); err == nil {
		for _, g := range gs {
			ids[g.ID] = true
		}
	}
	return leakOptionFunc(func(c *leakConfig) {
		if c.ignoreIDs == nil {
			c.ignoreIDs = map[uint64]bool{}
		}
		for id := range ids {
			c.ignoreIDs[id] = true
		}
	})
}

// Test and runtime machinery that is never a leak: goroutines of the
// testing package waiting for tests or capturing an Example's output, and
// the signal-handling loop.
var (
	machineryTop = []string{
		"testing.(*T).Run", "testing.(*F).Fuzz", "testing.runTests", "testing.(*M).Run",
		"testing.(*T).Parallel", "testing.tRunner.func1", "testing.runFuzzTests", "testing.runFuzzing",
	}
	machineryAny = []string{"os/signal.signal_recv", "os/signal.loop", "testing.runExample"}
)

func (c *leakConfig) ignored(g *gostack.Goroutine, self uint64) bool {
	if g.ID == self || c.ignoreIDs[g.ID] || len(g.Frames) == 0 {
		return true
	}
	top := g.Top().Func
	if slices.Contains(machineryTop, top) || slices.Contains(c.ignoreTop, top) {
		return true
	}
	for _, fn := range machineryAny {
		if g.HasFunc(fn) {
			return true
		}
	}
	for _, fn := range c.ignoreAny {
		if g.HasFunc(fn) {
			return true
		}
	}
	return false
}

// Leaks reports goroutines that are still running, other than the caller
// and the runtime's and testing package's own, as a [*LeakError]; nil means
// none. Because goroutines that were told to stop may need a moment to
// return, it retries with growing pauses until none is left or ctx is done,
// so give ctx a deadline (a second suits most tests).
//
// In a binary built with GOEXPERIMENT=goroutineleakprofile, the runtime's
// goroutineleak profile is consulted at the end: goroutines it proves can
// never wake up are marked [LeakProvenByRuntime].
func Leaks(ctx context.Context, opts ...LeakOption) error {
	var cfg leakConfig
	for _, o := range opts {
		o.applyLeak(&cfg)
	}
	self := gostack.Current()
	pause := time.Millisecond
	for {
		gs, err := gostack.Snapshot()
		if err != nil {
			return fmt.Errorf("tracekit: read goroutines: %w", err)
		}
		var left []gostack.Goroutine
		for _, g := range gs {
			if !cfg.ignored(&g, self) {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return newLeakError(left)
		case <-time.After(pause):
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

func newLeakError(gs []gostack.Goroutine) *LeakError {
	slices.SortFunc(gs, func(a, b gostack.Goroutine) int { return cmp.Compare(a.ID, b.ID) })
	proven := provenLeaks()
	byAddr := map[uint64]*Task{}
	for _, t := range liveTaskList() {
		byAddr[uint64(uintptr(unsafe.Pointer(t)))] = t
	}
	e := &LeakError{}
	for _, g := range gs {
		var stack bytes.Buffer
		_ = gostack.WriteStack(&stack, &g)
		lg := LeakedGoroutine{
			ID:       g.ID,
			State:    g.State,
			Waiting:  g.Waiting,
			Function: g.Top().Func,
			Stack:    stack.String(),
			Method:   LeakFoundByStacks,
		}
		if g.CreatedBy.Func != "" {
			lg.CreatedBy = fmt.Sprintf("%s at %s:%d", g.CreatedBy.Func, g.CreatedBy.File, g.CreatedBy.Line)
		}
		if proven[g.ID] {
			lg.Method = LeakProvenByRuntime
		}
		if t := taskOf(&g, byAddr); t != nil {
			ti := t.info()
			lg.Task, lg.TaskID, lg.SpawnSite = ti.Name, ti.ID, ti.SpawnSite()
			lg.TraceID, lg.SpanID = ti.TraceID, ti.SpanID
		}
		e.Goroutines = append(e.Goroutines, lg)
	}
	return e
}

// provenLeaks runs the goroutineleak profile when the runtime has it and
// returns the IDs it marks leaked.
func provenLeaks() map[uint64]bool {
	p := pprof.Lookup("goroutineleak")
	if p == nil {
		return nil
	}
	var buf bytes.Buffer
	if err := p.WriteTo(&buf, 2); err != nil {
		return nil
	}
	gs, err := gostack.Parse(buf.Bytes())
	if err != nil {
		return nil
	}
	ids := map[uint64]bool{}
	for _, g := range gs {
		if g.Leaked {
			ids[g.ID] = true
		}
	}
	return ids
}
