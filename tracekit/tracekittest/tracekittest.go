package tracekittest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/gostack"
	"github.com/tracekit-go/tracekit/internal/testname"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// TestingT is the part of *testing.T the helpers use.
type TestingT interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// TestingM is the part of *testing.M that [VerifyTestMain] uses.
type TestingM interface {
	Run() int
}

// DefaultLeakWait is how long the leak checks give goroutines to finish.
const DefaultLeakWait = 2 * time.Second

// VerifyNoLeaks fails t if goroutines the test started are still running
// after [DefaultLeakWait]; call it deferred at the start of a test, on the
// test's goroutine. A goroutine is the test's when its lineage leads to the
// test's goroutine ([StartedByCaller]), so it works in parallel tests, and
// inside a testing/synctest bubble it covers the bubble's goroutines only
// (see the package documentation). A leak it has reported once is left out
// of later checks: one leak fails one test.
func VerifyNoLeaks(t TestingT, opts ...Option) {
	t.Helper()
	if err := checkLeaks(opts); err != nil {
		t.Errorf("%v", err)
	}
}

// checkLeaks is VerifyNoLeaks's check, run on the test's goroutine.
func checkLeaks(opts []Option) error {
	if bubbleOf() != 0 {
		synctest.Wait()
	} else {
		opts = append(opts, StartedByCaller())
		if gs, err := gostack.Snapshot(); err == nil && !otherTestsRunning(gs, gostack.Current()) {
			opts = append(opts, IncludeUntraceable())
		}
	}
	var seen []uint64
	reported.Range(func(id, _ any) bool { seen = append(seen, id.(uint64)); return true })
	opts = append(opts, IgnoreGoroutines(seen...))
	ctx, cancel := context.WithTimeout(context.Background(), DefaultLeakWait)
	defer cancel()
	err := Find(ctx, opts...)
	var le *LeakError
	if errors.As(err, &le) {
		for _, g := range le.Goroutines {
			reported.Store(g.ID, true)
		}
	}
	return err
}

// reported holds the IDs of the goroutines VerifyNoLeaks has reported,
// which later checks leave out: one leak fails one test.
var reported sync.Map // uint64 → true

// bubbleOf returns the ID of the testing/synctest bubble the calling
// goroutine runs in, 0 outside any.
func bubbleOf() uint64 {
	var buf [4096]byte // the header line, with room for pprof labels (GODEBUG=tracebacklabels=1)
	n := runtime.Stack(buf[:], false)
	header, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	gs, err := gostack.Parse(header)
	if err != nil || len(gs) != 1 {
		return 0
	}
	return gs[0].Bubble
}

// otherTestsRunning reports whether a test other than the one on goroutine
// self is running its code now: a goroutine of the testing package's test
// runner that is not paused in t.Parallel, waiting for subtests in t.Run,
// or waiting for a synctest bubble.
func otherTestsRunning(gs []gostack.Goroutine, self uint64) bool {
	for i := range gs {
		g := &gs[i]
		if g.ID == self || !g.HasFunc("testing.tRunner") || g.HasFunc("testing.(*T).Parallel") {
			continue
		}
		switch g.Top().Func {
		case "testing.(*T).Run", "testing.tRunner.func1", "internal/synctest.Run":
			continue
		}
		return true
	}
	return false
}

// VerifyTestMain runs the tests and then fails the run, printing the leaks,
// if goroutines are left over. Use it as TestMain's whole body. With
// TRACEKIT_DEADLOCK on (as CI may set it), the tests run under [Detecting]:
// tracekit's detectors, lock-order detection included, watch them, and a
// report fails the run.
//
// The report names the test each leak came from where that can be told
// ([LeakedGoroutine.Test]): while the tests run, the first task
// ([tracekit.Go], [tracekit.Group]) a test's goroutine starts records which
// test that is (one stack walk per such goroutine), so goroutines started
// through chains of tasks are named even when every task in between has
// ended; a goroutine a test's code created, or whose code is a test's
// closure, is named from its stack.
func VerifyTestMain(m TestingM, opts ...Option) {
	os.Exit(runTestMain(m, os.Stderr, opts))
}

// runTestMain is VerifyTestMain without the exit: it returns the exit code.
func runTestMain(m TestingM, stderr io.Writer, opts []Option) int {
	testname.Enable()
	if _, detecting := m.(*detectingM); !detecting && deadlockRequested() {
		m = &detectingM{m: m, stderr: stderr}
	}
	code := m.Run()
	if code != 0 {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultLeakWait)
	defer cancel()
	if err := Find(ctx, opts...); err != nil {
		fmt.Fprintf(stderr, "tracekittest: tests passed, but %s%v\n", leakingTests(err), err)
		return 1
	}
	return 0
}

// leakingTests summarises which tests leaked how many goroutines, as
// "TestA leaked 2 goroutine(s), TestB 1; 1 from no known test. " (tests in
// name order), or "".
func leakingTests(err error) string {
	var le *LeakError
	if !errors.As(err, &le) {
		return ""
	}
	counts := map[string]int{}
	var order []string
	for _, g := range le.Goroutines {
		if _, ok := counts[g.Test]; !ok && g.Test != "" {
			order = append(order, g.Test)
		}
		counts[g.Test]++
	}
	if len(order) == 0 {
		return ""
	}
	slices.Sort(order)
	var b strings.Builder
	for i, t := range order {
		if i == 0 {
			fmt.Fprintf(&b, "%s leaked %d goroutine(s)", t, counts[t])
		} else {
			fmt.Fprintf(&b, ", %s %d", t, counts[t])
		}
	}
	if n := counts[""]; n > 0 {
		fmt.Fprintf(&b, "; %d from no known test", n)
	}
	b.WriteString(". ")
	return b.String()
}

// HangError is the failure [RunWithTimeout] reports.
type HangError struct {
	Timeout time.Duration
	// Dump lists every goroutine at the timeout, grouped by identical
	// stacks, largest group first.
	Dump string
	// Tasks are the tracked tasks (tracekit.Go, Group.Go) still running at
	// the timeout that the test's goroutine started, directly or through
	// fn ([StartedByCaller] tells), with what each waits on, as
	// inspect.Tasks saw them. Other tests' tasks are not listed.
	Tasks []inspect.Task
}

func (e *HangError) Error() string {
	var tasks strings.Builder
	if len(e.Tasks) > 0 {
		tasks.WriteString("; tracked tasks still running:\n")
		now := time.Now()
		for _, ti := range e.Tasks {
			fmt.Fprintf(&tasks, "  task %d %q: %s", ti.ID, ti.Name, ti.State())
			if ti.WaitingOn != "" {
				fmt.Fprintf(&tasks, " on %s for %v", ti.WaitingOn, now.Sub(ti.WaitingSince).Round(time.Millisecond))
			}
			fmt.Fprintf(&tasks, ", spawned at %s", ti.SpawnSite())
			if ti.TraceID.IsValid() {
				fmt.Fprintf(&tasks, ", trace %s span %s", ti.TraceID, ti.SpanID)
			}
			tasks.WriteString("\n")
		}
		tasks.WriteString("\ngoroutines")
	} else {
		tasks.WriteString("; goroutines")
	}
	return fmt.Sprintf("tracekittest: the test did not finish within %v%s at that moment, grouped by stack:\n\n%s", e.Timeout, tasks.String(), e.Dump)
}

// ErrHang matches a [*HangError] with errors.Is.
var ErrHang = errors.New("tracekittest: test hung")

// Is reports target == ErrHang.
func (e *HangError) Is(target error) bool { return target == ErrHang }

// RunWithTimeout runs fn with a context that is canceled after timeout; if
// fn has not returned by then the test fails at once with a [*HangError]:
// the test's tracked tasks still running, with what each waits on, and
// every goroutine grouped by stack. Call it on the test's goroutine; fn
// runs as a tracked task, keeps running after such a failure, and a panic
// in it fails the test. Inside a synctest bubble the timeout runs on the
// bubble's fake clock.
func RunWithTimeout(t TestingT, timeout time.Duration, fn func(ctx context.Context)) {
	t.Helper()
	if err := runWithTimeout(timeout, fn); err != nil {
		t.Fatalf("%v", err)
	}
}

// runTask names the task RunWithTimeout runs fn in.
const runTask = "tracekittest.RunWithTimeout"

func runWithTimeout(timeout time.Duration, fn func(ctx context.Context)) error {
	// The context's own deadline is a little later than the timer, and the
	// context is canceled as soon as the hang is recorded: canceled at the
	// same instant, tasks waiting on it would end before they are listed.
	ctx, cancel := context.WithTimeout(context.Background(), timeout+hangGrace)
	defer cancel()
	// fn runs as a task so that what it starts stays attributed to the
	// test's goroutine after fn returns. Its context carries the task but
	// not the task's span: spans fn starts are roots, as they would be
	// without the task.
	run := tracekit.Go(ctx, runTask, func(ctx context.Context) error {
		fn(trace.ContextWithSpanContext(ctx, trace.SpanContext{}))
		return nil
	})
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-run.Done():
		var pe *tracekit.PanicError
		if errors.As(run.Err(), &pe) {
			return fmt.Errorf("tracekittest: the function passed to RunWithTimeout panicked: %v\n\n%s", pe.Value, pe.Stack)
		}
		return nil
	case <-timer.C:
	}
	err := hangError(timeout, run)
	cancel()
	return err
}

// hangGrace is how much later than the timeout RunWithTimeout's context
// expires by itself, should recording the hang take that long.
const hangGrace = time.Second

// hangError describes a hang: the tracked tasks that descend from the
// test's goroutine (other than run, the task fn runs in), then the
// goroutines grouped by stack (in a synctest bubble, only the bubble's).
func hangError(timeout time.Duration, run *tracekit.Task) *HangError {
	ours := map[uint64]bool{}
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	var le *LeakError
	if errors.As(Find(expired, StartedByCaller()), &le) {
		for _, g := range le.Goroutines {
			if g.TaskID != 0 && g.TaskID != run.ID() {
				ours[g.TaskID] = true
			}
		}
	}
	var tasks []inspect.Task
	for _, ti := range inspect.Tasks() {
		if ours[ti.ID] {
			tasks = append(tasks, ti)
		}
	}
	gs, err := gostack.Snapshot()
	if err != nil {
		return &HangError{Timeout: timeout, Dump: string(gostack.Dump()), Tasks: tasks}
	}
	if b := bubbleOf(); b != 0 {
		gs = slices.DeleteFunc(gs, func(g gostack.Goroutine) bool { return g.Bubble != b })
	}
	var buf bytes.Buffer
	_ = gostack.Write(&buf, gostack.GroupByStack(gs))
	return &HangError{Timeout: timeout, Dump: buf.String(), Tasks: tasks}
}
