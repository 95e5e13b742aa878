package tracekittest

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/gostack"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/internal/testname"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
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
	// task (tracekit.Go, Group.Go) the goroutine runs, found in the task
	// registry; they are zero for an untracked goroutine,
	// whose CreatedBy is then the only clue. SpawnSite is
	// "function (file:line)" of the call to Go.
	Task      string
	TaskID    uint64
	SpawnSite string
	TraceID   trace.TraceID
	SpanID    trace.SpanID
	// Attribution says whether the goroutine descends from the goroutine
	// that ran the check, and through what; Lineage is the chain the check
	// followed, from the leaked goroutine up, e.g. `goroutine 51 ← task #7
	// (goroutine 50, ended) ← goroutine 34 (the checker)`.
	Attribution LeakAttribution
	Lineage     string
	// Test is the test (or benchmark, fuzz test, example) the goroutine
	// came from, when that can be told: the test whose goroutine began its
	// chain of tasks, which [VerifyTestMain] has the tasks
	// record, else a test whose code created it or runs in it. Empty when
	// nothing names one.
	Test string
}

// LeakAttribution says how a leak check tied a leaked goroutine to the
// goroutine that ran it (in a test, the test's goroutine). See
// [StartedByCaller].
type LeakAttribution string

const (
	// AttributedDirectly: the checking goroutine started it, with a go
	// statement or tracekit.Go.
	AttributedDirectly LeakAttribution = "started by the checking goroutine"
	// AttributedThroughTasks: a chain of tracked tasks, which may have
	// ended, leads from it to the checking goroutine.
	AttributedThroughTasks LeakAttribution = "started through tracked tasks"
	// AttributedThroughGoroutines: a chain of untracked goroutines, each
	// created by the next, leads to the checking goroutine: all still
	// running, or, in a program run with GODEBUG=tracebackancestors=N,
	// among the N ancestors the runtime prints.
	AttributedThroughGoroutines LeakAttribution = "started through the goroutines that created it"
	// AttributedElsewhere: its lineage leads to a goroutine other than the
	// checking one: another test, main, init or the runtime.
	AttributedElsewhere LeakAttribution = "started elsewhere"
	// Untraceable: its lineage breaks at an untracked goroutine that has
	// exited (or a task so long ended that its record was dropped), so
	// whose it is cannot be told. GODEBUG=tracebackancestors=N makes the
	// runtime keep each goroutine's last N creators, which the check then
	// follows. (Under [VerifyTestMain], a
	// test's goroutine that started a task is recorded: a lineage that
	// ends there is AttributedElsewhere, naming the test. So is, checked
	// from a test, a goroutine whose stack names another test.)
	Untraceable LeakAttribution = "untraceable"
)

// ours reports an attribution to the checking goroutine.
func (a LeakAttribution) ours() bool {
	return a == AttributedDirectly || a == AttributedThroughTasks || a == AttributedThroughGoroutines
}

// LeakError lists leaked goroutines. Find and the leak checks return it;
// use errors.As to read it.
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
		task, site, test        string
	}
	var order []shape
	ids := map[shape][]string{}
	waits := map[shape]time.Duration{}
	tasks := map[shape][]string{}
	lineages := map[shape][]string{}
	for _, g := range e.Goroutines {
		k := shape{g.State, g.Stack, g.CreatedBy, g.Method, g.Task, g.SpawnSite, g.Test}
		if _, ok := ids[k]; !ok {
			order = append(order, k)
		}
		if g.Attribution != "" {
			lineages[k] = append(lineages[k], fmt.Sprintf("%s: %s", g.Attribution, g.Lineage))
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
		if k.test != "" {
			fmt.Fprintf(&b, "from %s\n", k.test)
		}
		for i, l := range lineages[k] {
			if i == 3 {
				fmt.Fprintf(&b, "(and %d more)\n", len(lineages[k])-i)
				break
			}
			b.WriteString(l + "\n")
		}
		if len(tasks[k]) > 0 {
			fmt.Fprintf(&b, "tracked task %q spawned at %s: task %s\n", k.task, k.site, strings.Join(tasks[k], ", "))
		}
		b.WriteString(k.stack) // ends with the go statement that started them
	}
	return b.String()
}

// Option configures [Find].
type Option interface{ applyLeak(*leakConfig) }

type leakConfig struct {
	callerOnly  bool // StartedByCaller
	untraceable bool // IncludeUntraceable
	ignoreTop   []string
	ignoreAny   []string
	ignoreIDs   map[uint64]bool
}

type leakOptionFunc func(*leakConfig)

func (f leakOptionFunc) applyLeak(c *leakConfig) { f(c) }

// IgnoreTopFunction ignores goroutines whose innermost function is fn (a
// fully qualified name such as "net/http.(*persistConn).readLoop").
func IgnoreTopFunction(fn string) Option {
	return leakOptionFunc(func(c *leakConfig) { c.ignoreTop = append(c.ignoreTop, fn) })
}

// IgnoreAnyFunction ignores goroutines with fn anywhere in their stack or as
// the function that started them.
func IgnoreAnyFunction(fn string) Option {
	return leakOptionFunc(func(c *leakConfig) { c.ignoreAny = append(c.ignoreAny, fn) })
}

// StartedByCaller limits the check to goroutines that descend from the
// calling goroutine: started by it, by goroutines it started that still
// run, or through any chain of tracked tasks that began in it, ended or
// not (tasks record their lineage, which follows their context). Each leak
// says how it was attributed ([LeakedGoroutine.Attribution]); what cannot
// be attributed is left out unless [IncludeUntraceable] is given.
func StartedByCaller() Option {
	return leakOptionFunc(func(c *leakConfig) { c.callerOnly = true })
}

// IncludeUntraceable makes a check limited by [StartedByCaller] also report
// goroutines whose lineage cannot be traced (their Attribution is
// [Untraceable]). Use it when nothing else runs concurrently that could
// have started them.
func IncludeUntraceable() Option {
	return leakOptionFunc(func(c *leakConfig) { c.untraceable = true })
}

// covers reports whether a goroutine with attribution a is in the check's
// scope.
func (c *leakConfig) covers(a LeakAttribution) bool {
	return !c.callerOnly || a.ours() || (c.untraceable && a == Untraceable)
}

// IgnoreCurrent ignores every goroutine running when IgnoreCurrent is
// called, so that a check covers only goroutines started after it.
func IgnoreCurrent() Option {
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

// IgnoreGoroutines ignores the goroutines with the given IDs
// ([LeakedGoroutine.ID]), such as leaks already reported.
func IgnoreGoroutines(ids ...uint64) Option {
	return leakOptionFunc(func(c *leakConfig) {
		if c.ignoreIDs == nil {
			c.ignoreIDs = map[uint64]bool{}
		}
		for _, id := range ids {
			c.ignoreIDs[id] = true
		}
	})
}

// Test and runtime machinery that is never a leak: goroutines of the
// testing package waiting for tests or capturing an Example's output, the
// signal-handling loop, and a testing/synctest bubble's own two (the
// goroutine that called synctest.Test, which belongs to the bubble while it
// runs, and the one waiting for the bubble's test).
var (
	machineryTop = []string{
		"testing.(*T).Run", "testing.(*F).Fuzz", "testing.runTests", "testing.(*M).Run",
		"testing.(*T).Parallel", "testing.tRunner.func1", "testing.runFuzzTests", "testing.runFuzzing",
		"internal/synctest.Run",
	}
	machineryAny = []string{"os/signal.signal_recv", "os/signal.loop", "testing.runExample", "testing/synctest.testingSynctestTest"}
)

func (c *leakConfig) ignored(g *gostack.Goroutine, self uint64) bool {
	if g.ID == self || c.ignoreIDs[g.ID] || len(g.Frames) == 0 {
		return true
	}
	top := g.Top().Func
	if slices.Contains(machineryTop, top) || slices.Contains(c.ignoreTop, top) {
		return true
	}
	if detectors.started(g.CreatorID) {
		return true // the detectors' Kit, which Detect and Detecting stop
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

// Find reports goroutines that are still running, other than the caller
// and the runtime's and testing package's own, as a [*LeakError]; nil
// means none. It retries with growing pauses until none is left or ctx is
// done (give ctx a deadline: a second suits most tests), then looks again
// until what is left holds still. With GOEXPERIMENT=goroutineleakprofile,
// goroutines the runtime proves stuck are marked [LeakProvenByRuntime].
// Called in a synctest bubble it covers the bubble's goroutines, on its
// fake clock.
func Find(ctx context.Context, opts ...Option) error {
	return leaks(ctx, settleFor, opts)
}

// settleFor bounds how long Leaks looks again, once ctx is done, for the
// goroutines left to hold still.
const settleFor = time.Second

func leaks(ctx context.Context, settleFor time.Duration, opts []Option) error {
	var cfg leakConfig
	for _, o := range opts {
		o.applyLeak(&cfg)
	}
	self := gostack.Current()
	pause := time.Millisecond
	for {
		left, lin, err := cfg.find(self)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return cfg.settle(self, left, lin, settleFor)
		case <-time.After(pause):
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// find takes a goroutine dump and returns the goroutines the check covers.
func (c *leakConfig) find(self uint64) ([]leaked, *lineage, error) {
	gs, err := gostack.Snapshot()
	if err != nil {
		return nil, nil, fmt.Errorf("tracekit: read goroutines: %w", err)
	}
	lin := newLineage(gs, self)
	var left []leaked
	for i := range gs {
		g := &gs[i]
		if c.ignored(g, self) || (lin.bubble != 0 && g.Bubble != lin.bubble) {
			continue
		}
		attr, path, test := lin.trace(g)
		if c.covers(attr) {
			left = append(left, leaked{g: *g, attr: attr, lineage: path, test: test})
		}
	}
	return left, lin, nil
}

// How much agreement settle wants: this many dumps in a row, spanning at
// least this long, so that goroutines that were runnable (on this
// processor, or on another that a busy machine has not run for a while)
// have had their turn.
const (
	settleRounds = 3
	settleSpan   = 20 * time.Millisecond
)

// settle decides which of the goroutines left at the deadline are leaks,
// from evidence rather than from one look: it takes dumps, yielding the
// processor and pausing between them, until dumps in a row list the same
// goroutines in the same places, none of them running, runnable or
// waiting for a lock, for settleRounds dumps and settleSpan; or until every
// one of them is known to stay (allKnown). After d it reports what is left
// as it is.
func (c *leakConfig) settle(self uint64, left []leaked, lin *lineage, d time.Duration) error {
	proven := provenLeaks()
	end := time.Now().Add(d)
	pause := time.Millisecond
	since := time.Now() // when the dumps began to agree
	for agreed := 1; ; {
		if allKnown(left, proven) || agreed >= settleRounds && time.Since(since) >= settleSpan || !time.Now().Before(end) {
			break
		}
		runtime.Gosched()
		time.Sleep(pause)
		pause = min(2*pause, 20*time.Millisecond)
		next, nlin, err := c.find(self)
		if err != nil {
			return err
		}
		if len(next) == 0 {
			return nil
		}
		if sameAndParked(left, next) {
			agreed++
		} else {
			agreed, since = 1, time.Now()
		}
		left, lin = next, nlin
	}
	return newLeakError(left, lin.tasks, proven)
}

// allKnown reports whether every goroutine of ls is known to stay where it
// is without another look: proven leaked by the runtime, or durably
// blocked in a synctest bubble (only another goroutine of the bubble can
// wake it).
func allKnown(ls []leaked, proven map[uint64]bool) bool {
	for _, l := range ls {
		if !proven[l.g.ID] && !l.g.Durable {
			return false
		}
	}
	return true
}

// sameAndParked reports whether b lists the goroutines of a, each in the
// same state at the same place, and none of them running, runnable or
// waiting for a lock (which its holder, running, is about to release as
// often as not: a lock wait that lasts is reported when the settling time
// is over).
func sameAndParked(a, b []leaked) bool {
	if len(a) != len(b) {
		return false
	}
	at := make(map[uint64]*gostack.Goroutine, len(a))
	for i := range a {
		at[a[i].g.ID] = &a[i].g
	}
	for i := range b {
		g := &b[i].g
		p := at[g.ID]
		if p == nil || p.State != g.State || p.Top() != g.Top() || len(p.Frames) != len(g.Frames) {
			return false
		}
		switch g.State {
		case "running", "runnable", "preempted", "copystack",
			"sync.Mutex.Lock", "sync.RWMutex.Lock", "sync.RWMutex.RLock", "semacquire":
			return false
		}
	}
	return true
}

// leaked is a goroutine a check found, with its attribution.
type leaked struct {
	g       gostack.Goroutine
	attr    LeakAttribution
	lineage string
	test    string // the test whose goroutine the lineage passed, if known
}

func newLeakError(ls []leaked, tasks map[uint64]*tasks.Record, proven map[uint64]bool) *LeakError {
	slices.SortFunc(ls, func(a, b leaked) int { return cmp.Compare(a.g.ID, b.g.ID) })
	e := &LeakError{}
	for _, l := range ls {
		g := l.g
		var stack bytes.Buffer
		_ = gostack.WriteStack(&stack, &g)
		lg := LeakedGoroutine{
			ID:       g.ID,
			State:    g.State,
			Waiting:  g.Waiting,
			Function: g.Top().Func,
			Stack:    stack.String(),
			Method:   LeakFoundByStacks,

			Attribution: l.attr,
			Lineage:     l.lineage,
			Test:        l.test,
		}
		if g.CreatedBy.Func != "" {
			lg.CreatedBy = fmt.Sprintf("%s at %s:%d", g.CreatedBy.Func, g.CreatedBy.File, g.CreatedBy.Line)
		}
		if lg.Test == "" {
			lg.Test = testOfStack(&g)
		}
		if proven[g.ID] {
			lg.Method = LeakProvenByRuntime
		}
		if t := tasks[g.ID]; t != nil {
			ti := inspect.Task(t.Info())
			lg.Task, lg.TaskID, lg.SpawnSite = ti.Name, ti.ID, ti.SpawnSite()
			lg.TraceID, lg.SpanID = ti.TraceID, ti.SpanID
		}
		e.Goroutines = append(e.Goroutines, lg)
	}
	return e
}

// testOfStack returns the test that created g or whose code g runs, read
// from its creator, its own frames and then its ancestors' (with
// GODEBUG=tracebackancestors), or "".
func testOfStack(g *gostack.Goroutine) string {
	if t := testOfFrames(g.CreatedBy, g.Frames); t != "" {
		return t
	}
	for _, a := range g.Ancestors {
		if t := testOfFrames(a.CreatedBy, a.Frames); t != "" {
			return t
		}
	}
	return ""
}

func testOfFrames(createdBy gostack.Frame, frames []gostack.Frame) string {
	if t := testname.FromFunc(createdBy.Func); t != "" {
		return t
	}
	for _, f := range frames {
		if t := testname.FromFunc(f.Func); t != "" {
			return t
		}
	}
	return ""
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
