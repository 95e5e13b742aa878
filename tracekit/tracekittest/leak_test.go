package tracekittest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/gostack"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
)

func leakCheck(t *testing.T, opts ...Option) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	return Find(ctx, opts...)
}

//go:noinline
func blockForever(ch chan int) { <-ch }

func TestLeaksFindsABlockedGoroutine(t *testing.T) {
	ch := make(chan int) // nothing ever sends: a leak
	go blockForever(ch)

	err := leakCheck(t)
	var le *LeakError
	if !errors.As(err, &le) || len(le.Goroutines) != 1 {
		t.Fatalf("Leaks = %v, want one leaked goroutine", err)
	}
	g := le.Goroutines[0]
	if !strings.HasSuffix(g.Function, "tracekittest.blockForever") || g.State != "chan receive" {
		t.Errorf("leak = %+v, want blockForever in chan receive", g)
	}
	if !strings.Contains(g.CreatedBy, "TestLeaksFindsABlockedGoroutine") || !strings.Contains(g.CreatedBy, "leak_test.go:") {
		t.Errorf("CreatedBy = %q, want this test's go statement", g.CreatedBy)
	}
	// ch is still referenced here (it is closed below), so even the
	// runtime's leak profile cannot prove this goroutine stuck.
	if g.Method != LeakFoundByStacks {
		t.Errorf("Method = %q, want %q", g.Method, LeakFoundByStacks)
	}
	if !strings.Contains(err.Error(), "blockForever") {
		t.Errorf("error text lacks the stack:\n%v", err)
	}

	close(ch) // fixed: the goroutine returns, and the retry sees it go
	if err := leakCheck(t); err != nil {
		t.Errorf("after the fix: %v", err)
	}
}

// TestLeakProvenByRuntime leaks a goroutine on a channel nothing else can
// reach, in a child process (the leak is permanent), and checks which method
// found it: the runtime's proof when the binary has the goroutineleak
// profile (make unit runs this test so), the stack filter otherwise.
func TestLeakProvenByRuntime(t *testing.T) {
	if os.Getenv("TRACEKIT_TEST_PERMANENT_LEAK") == "1" {
		go blockForever(make(chan int))
		err := leakCheck(t)
		var le *LeakError
		if errors.As(err, &le) && len(le.Goroutines) == 1 {
			fmt.Printf("method=%s\n", le.Goroutines[0].Method)
		} else {
			fmt.Printf("unexpected: %v\n", err)
		}
		os.Exit(0) // the leak is the point: skip TestMain's own leak check
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLeakProvenByRuntime$")
	cmd.Env = append(os.Environ(), "TRACEKIT_TEST_PERMANENT_LEAK=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := LeakFoundByStacks
	if pprof.Lookup("goroutineleak") != nil {
		want = LeakProvenByRuntime
	}
	if !strings.Contains(string(out), "method="+string(want)+"\n") {
		t.Errorf("child output %q, want method=%s", out, want)
	}
}

func TestLeaksIgnoreOptions(t *testing.T) {
	ch := make(chan int)
	defer close(ch)
	go blockForever(ch)
	for name, opt := range map[string]Option{
		"top":     IgnoreTopFunction("github.com/tracekit-go/tracekit/tracekit/tracekittest.blockForever"),
		"any":     IgnoreAnyFunction("github.com/tracekit-go/tracekit/tracekit/tracekittest.TestLeaksIgnoreOptions"),
		"current": IgnoreCurrent(),
	} {
		if err := leakCheck(t, opt); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	ignore := IgnoreCurrent()
	go blockForever(ch)
	if err := leakCheck(t, ignore); err == nil {
		t.Error("IgnoreCurrent hid a goroutine started after it")
	}
}

func TestGoid(t *testing.T) {
	if goid.Fast && goid.Offset() == 0 {
		t.Error("no offset of the goroutine ID found in the goroutine descriptor")
	}
	ids := make(chan [2]uint64)
	for range 4 {
		go func() { ids <- [2]uint64{goid.ID(), gostack.Current()} }()
	}
	seen := map[uint64]bool{}
	for range 4 {
		p := <-ids
		if p[0] != p[1] || seen[p[0]] {
			t.Errorf("goid.ID() = %d, stack trace says %d", p[0], p[1])
		}
		seen[p[0]] = true
	}
}

//go:noinline
func leakDirect(ch chan int) { <-ch }

//go:noinline
func leakDeep(ch chan int) { <-ch }

//go:noinline
func leakFromTask(ch chan int) { <-ch }

//go:noinline
func leakChain(ch chan int) { <-ch }

//go:noinline
func leakOrphan(ch chan int) { <-ch }

// startLeaks leaks one goroutine of each lineage from the calling goroutine
// and returns once all are parked.
func startLeaks(t *testing.T, ch chan int) {
	t.Helper()
	go leakDirect(ch)
	// Two tasks deep, the intermediate task ended.
	outer := tracekit.Go(context.Background(), "outer", func(ctx context.Context) error {
		tracekit.Go(ctx, "inner", func(context.Context) error { leakDeep(ch); return nil })
		return nil
	})
	// Untracked, started by a task that ended.
	spawner := tracekit.Go(context.Background(), "spawner", func(context.Context) error {
		go leakFromTask(ch)
		return nil
	})
	// Through a running untracked goroutine.
	go func() {
		go leakChain(ch)
		<-ch
	}()
	// Untracked, its untracked creator exited: untraceable.
	orphaned := make(chan struct{})
	go func() {
		go leakOrphan(ch)
		close(orphaned)
	}()
	_ = outer.Wait()
	_ = spawner.Wait()
	<-orphaned
	waitParked(t, "leakDirect", "leakDeep", "leakFromTask", "leakChain", "leakOrphan")
}

// waitParked waits until a goroutine is blocked in each of fns.
func waitParked(t *testing.T, fns ...string) {
	t.Helper()
	if !testwait.For(time.Minute, func() bool {
		gs, _ := gostack.Snapshot()
		parked := 0
		for _, fn := range fns {
			for _, g := range gs {
				if strings.HasSuffix(g.Top().Func, "."+fn) && g.State == "chan receive" {
					parked++
					break
				}
			}
		}
		return parked == len(fns)
	}) {
		t.Fatalf("%v not all parked", fns)
	}
}

func byFunction(t *testing.T, err error) map[string]LeakedGoroutine {
	t.Helper()
	out := map[string]LeakedGoroutine{}
	var le *LeakError
	if err != nil && !errors.As(err, &le) {
		t.Fatalf("Leaks = %v", err)
	}
	if le != nil {
		for _, g := range le.Goroutines {
			out[g.Function[strings.LastIndexByte(g.Function, '.')+1:]] = g
		}
	}
	return out
}

func TestLeaksAttribution(t *testing.T) {
	if !goid.FastID() {
		t.Skip("no task lineage where reading a goroutine ID takes a stack trace")
	}
	ch := make(chan int)
	defer close(ch)
	startLeaks(t, ch)
	want := map[string]LeakAttribution{
		"leakDirect":   AttributedDirectly,
		"leakDeep":     AttributedThroughTasks,
		"leakFromTask": AttributedThroughTasks,
		"leakChain":    AttributedThroughGoroutines,
	}
	got := byFunction(t, leakCheck(t, StartedByCaller()))
	for fn, attr := range want {
		if got[fn].Attribution != attr {
			t.Errorf("%s: attribution %q (lineage %s), want %q", fn, got[fn].Attribution, got[fn].Lineage, attr)
		}
	}
	if g, ok := got["leakOrphan"]; ok {
		t.Errorf("StartedByCaller reported an untraceable goroutine: %+v", g)
	}
	if len(got) != len(want)+1 { // and the chain's intermediate goroutine
		t.Errorf("reported %d goroutines, want %d: %v", len(got), len(want)+1, got)
	}
	if l := got["leakDeep"].Lineage; !strings.Contains(l, `"inner" (goroutine `) || !strings.Contains(l, "started by task #") || !strings.HasSuffix(l, "(the checker)") {
		t.Errorf("leakDeep lineage %q", l)
	}
	if l := got["leakFromTask"].Lineage; !strings.Contains(l, ", ended) ← goroutine ") {
		t.Errorf("leakFromTask lineage %q", l)
	}

	all := byFunction(t, leakCheck(t, StartedByCaller(), IncludeUntraceable()))
	if g := all["leakOrphan"]; g.Attribution != Untraceable || !strings.Contains(g.Lineage, "exited, untracked") {
		t.Errorf("leakOrphan with IncludeUntraceable: %q %q", g.Attribution, g.Lineage)
	}

	// Seen from another goroutine, none of them is its own.
	other := make(chan map[string]LeakedGoroutine)
	go func() { other <- byFunction(t, leakCheck(t)) }()
	for fn, g := range <-other {
		if fn == "leakOrphan" {
			continue
		}
		if g.Attribution != AttributedElsewhere || !strings.HasSuffix(g.Lineage, "the runtime") {
			t.Errorf("from another goroutine, %s is %q (%s), want %q", fn, g.Attribution, g.Lineage, AttributedElsewhere)
		}
	}
	go func() { other <- byFunction(t, leakCheck(t, StartedByCaller())) }()
	if got := <-other; len(got) != 0 {
		t.Errorf("another goroutine's StartedByCaller check reported %v", got)
	}
}

// BenchmarkLineage measures what a task adds for leak attribution: reading
// its spawner's goroutine ID when ctx carries no parent task (goid, beside
// goroutineKey, the registry's one-instruction key, and the stack-trace
// parse it replaces) and recording its end (recordEnded). Compare the
// sum with BenchmarkGo's tracekit.Go.
func BenchmarkLineage(b *testing.B) {
	b.Run("baseline=goroutineKey", func(b *testing.B) {
		b.ReportAllocs()
		var k uintptr
		for b.Loop() {
			k += goid.Key()
		}
		_ = k
	})
	b.Run("goid", func(b *testing.B) {
		b.ReportAllocs()
		var k uint64
		for b.Loop() {
			k += goid.ID()
		}
		_ = k
	})
	b.Run("baseline=goid-from-stack", func(b *testing.B) {
		b.ReportAllocs()
		var k uint64
		for b.Loop() {
			k += goid.Slow()
		}
		_ = k
	})
	b.Run("recordEnded", func(b *testing.B) {
		b.ReportAllocs()
		r := &tasks.Record{ID: 1, Origin: goid.ID(), Start: time.Now()}
		for b.Loop() {
			r.End("ok", "")
		}
	})
}

//go:noinline
func leakSibling(ch chan int) { <-ch }

// A check run inside a task covers the tasks started with its context,
// through ended intermediate tasks, but not its siblings.
func TestLeaksAttributionInsideTask(t *testing.T) {
	if !goid.FastID() {
		t.Skip("no task lineage where reading a goroutine ID takes a stack trace")
	}
	ch := make(chan int)
	defer close(ch)
	ctx := context.Background()
	_ = tracekit.Go(ctx, "sibling", func(context.Context) error { leakSibling(ch); return nil })
	var got map[string]LeakedGoroutine
	err := tracekit.Go(ctx, "checker", func(ctx context.Context) error {
		_ = tracekit.Go(ctx, "outer", func(ctx context.Context) error {
			tracekit.Go(ctx, "inner", func(context.Context) error { leakDeep(ch); return nil })
			go leakFromTask(ch)
			return nil
		}).Wait()
		tracekit.Go(ctx, "direct", func(context.Context) error { leakDirect(ch); return nil })
		waitParked(t, "leakDeep", "leakFromTask", "leakDirect", "leakSibling")
		got = byFunction(t, leakCheck(t, StartedByCaller()))
		return nil
	}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]LeakAttribution{
		"leakDeep":     AttributedThroughTasks,
		"leakFromTask": AttributedThroughTasks,
		"leakDirect":   AttributedDirectly,
	}
	for fn, attr := range want {
		if got[fn].Attribution != attr {
			t.Errorf("%s: attribution %q (lineage %s), want %q", fn, got[fn].Attribution, got[fn].Lineage, attr)
		}
	}
	if len(got) != len(want) {
		t.Errorf("reported %v, want only %d goroutines (not the sibling task's)", got, len(want))
	}
}

// TestLeakAncestors runs, in a child process with
// GODEBUG=tracebackancestors=5, a leak whose untracked creator has exited:
// the runtime's record of ancestors lets StartedByCaller attribute it to
// the checking goroutine, where without it the leak is untraceable.
func TestLeakAncestors(t *testing.T) {
	if os.Getenv("TRACEKIT_TEST_ANCESTORS") == "1" {
		ch := make(chan int)
		done := make(chan struct{})
		go spawnExitingCreator(ch, done)
		<-done
		err := leakCheck(t, StartedByCaller())
		var le *LeakError
		if errors.As(err, &le) && len(le.Goroutines) == 1 {
			g := le.Goroutines[0]
			fmt.Printf("attribution=%s\nlineage=%s\ntest=%s\n%s", g.Attribution, g.Lineage, g.Test, err)
		} else {
			fmt.Printf("unexpected: %v\n", err)
		}
		close(ch)
		return
	}
	for _, tc := range []struct {
		godebug string
		want    []string
	}{
		{"tracebackancestors=5", []string{
			"attribution=" + string(AttributedThroughGoroutines) + "\n",
			"(exited) ← goroutine ", "(the checker)",
			"test=TestLeakAncestors\n",
			"[originating from goroutine ", "tracekittest.spawnExitingCreator\n",
		}},
		{"tracebackancestors=0", []string{"unexpected: <nil>"}}, // untraceable: left out by StartedByCaller
	} {
		t.Run(tc.godebug, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestLeakAncestors$")
			cmd.Env = append(os.Environ(), "TRACEKIT_TEST_ANCESTORS=1", "GODEBUG="+tc.godebug)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("child output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// spawnExitingCreator leaves a goroutine behind and returns, so that the leak's
// creator has exited by the time anyone looks.
func spawnExitingCreator(ch chan int, done chan struct{}) {
	go blockForever(ch)
	close(done)
}

// A goroutine that ends as the check's deadline passes (here one waiting
// for the check's own context, as the context's deadline timer and
// time.AfterFunc callbacks do) was in the check's last look before the
// deadline; the check looks again until what is left holds still, and does
// not report it.
func TestLeaksSettleAtTheDeadline(t *testing.T) {
	ignore := IgnoreCurrent()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	ended := make(chan struct{})
	go func() { <-ctx.Done(); close(ended) }()
	context.AfterFunc(ctx, func() {}) // a helper goroutine that starts then
	if err := Find(ctx, ignore); err != nil {
		t.Errorf("goroutines that ended at the deadline were reported: %v", err)
	}
	<-ended
}

//go:noinline
func spinUntil(stop *atomic.Bool) {
	for !stop.Load() {
		runtime.Gosched()
	}
}

// A leak that never parks, or waits for a lock that is never released,
// is not taken to hold still: it is reported once the settling time is
// over, as it is then.
func TestLeaksReportsAGoroutineThatNeverParks(t *testing.T) {
	ignore := IgnoreCurrent()
	var stop atomic.Bool
	var mu sync.Mutex
	mu.Lock()
	done := make(chan struct{}, 2)
	go func() { spinUntil(&stop); done <- struct{}{} }()
	go func() { mu.Lock(); mu.Unlock(); done <- struct{}{} }()
	defer func() { stop.Store(true); mu.Unlock(); <-done; <-done }()
	testwait.For(time.Minute, func() bool {
		gs, _ := gostack.Snapshot()
		return slices.ContainsFunc(gs, func(g gostack.Goroutine) bool { return g.State == "sync.Mutex.Lock" })
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := leaks(ctx, 50*time.Millisecond, []Option{ignore})
	var le *LeakError
	if !errors.As(err, &le) || len(le.Goroutines) != 2 {
		t.Fatalf("Leaks = %v, want the spinning goroutine and the lock waiter", err)
	}
	states := map[string]bool{}
	for _, g := range le.Goroutines {
		states[g.State] = true
	}
	if !states["sync.Mutex.Lock"] || !states["running"] && !states["runnable"] {
		t.Errorf("states %v, want sync.Mutex.Lock and running or runnable", states)
	}
}

// IgnoreGoroutines leaves out the goroutines it names, and only those.
func TestLeaksIgnoreGoroutines(t *testing.T) {
	ignore := IgnoreCurrent()
	ch := make(chan int)
	defer close(ch)
	go blockForever(ch)
	go blockForever(ch)
	waitParked(t, "blockForever")
	var le *LeakError
	if err := leakCheck(t, ignore); !errors.As(err, &le) || len(le.Goroutines) != 2 {
		t.Fatalf("Leaks = %v, want two goroutines", err)
	}
	err := leakCheck(t, ignore, IgnoreGoroutines(le.Goroutines[0].ID))
	var rest *LeakError
	if !errors.As(err, &rest) || len(rest.Goroutines) != 1 || rest.Goroutines[0].ID != le.Goroutines[1].ID {
		t.Errorf("ignoring goroutine %d: %v", le.Goroutines[0].ID, err)
	}
}

// A leaked goroutine that runs a task is named after the task, with its
// spawn site and trace.
func TestLeakNamesTask(t *testing.T) {
	rec := NewRecorder(t)
	ctx, root := rec.Start(context.Background(), "root")
	defer root.End()
	ignore := IgnoreCurrent()
	block := make(chan struct{})
	tk := tracekit.Go(ctx, "stuck <worker>", func(context.Context) error { <-block; return nil })
	plain := make(chan struct{})
	go func() { <-block; close(plain) }()

	lctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := Find(lctx, ignore)
	cancel()
	close(block)
	_ = tk.Wait()
	<-plain

	var le *LeakError
	if !errors.As(err, &le) || len(le.Goroutines) != 2 {
		t.Fatalf("Find = %v, want two goroutines", err)
	}
	var tracked, untracked int
	for _, g := range le.Goroutines {
		if g.TaskID == 0 {
			untracked++
			if g.Task != "" || g.TraceID.IsValid() {
				t.Errorf("untracked goroutine named as a task: %+v", g)
			}
			continue
		}
		tracked++
		if g.TaskID != tk.ID() || g.Task != "stuck <worker>" || g.TraceID != root.SpanContext().TraceID() || g.SpanID != tk.SpanContext().SpanID() {
			t.Errorf("tracked goroutine: %+v", g)
		}
		if !strings.Contains(g.SpawnSite, "TestLeakNamesTask") || !strings.Contains(g.SpawnSite, "leak_test.go:") {
			t.Errorf("spawn site = %q", g.SpawnSite)
		}
	}
	if tracked != 1 || untracked != 1 {
		t.Errorf("%d tracked, %d untracked goroutines", tracked, untracked)
	}
	text := err.Error()
	for _, want := range []string{`tracked task "stuck <worker>" spawned at `, "trace " + root.SpanContext().TraceID().String()} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

//go:noinline
func leakFromBound(ch chan int) { <-ch }

// A goroutine leaked by a task started inside tracekit.Do, on a goroutine
// that is still in the call, leads back through that goroutine to the
// checker that started it.
func TestLeaksAttributionThroughBoundTask(t *testing.T) {
	if !goid.FastID() {
		t.Skip("no task lineage where reading a goroutine ID takes a stack trace")
	}
	ch := make(chan int)
	defer close(ch)
	inCall := make(chan struct{})
	go func() { // a request's goroutine, still in its handler
		_ = tracekit.Do(context.Background(), "request", func(ctx context.Context) error {
			tracekit.Go(ctx, "leaky", func(context.Context) error { leakFromBound(ch); return nil })
			close(inCall)
			<-ch
			return nil
		})
	}()
	<-inCall
	waitParked(t, "leakFromBound")
	got := byFunction(t, leakCheck(t, StartedByCaller()))
	g := got["leakFromBound"]
	if g.Attribution != AttributedThroughTasks || !strings.Contains(g.Lineage, `task #`) || !strings.Contains(g.Lineage, `"request" (goroutine `) ||
		!strings.HasSuffix(g.Lineage, "(the checker)") {
		t.Errorf("leakFromBound: attribution %q, lineage %q; want it through the bound task to the checker", g.Attribution, g.Lineage)
	}
}
