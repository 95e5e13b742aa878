package tracekittest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tracekit-go/tracekit/internal/gostack"
	"github.com/tracekit-go/tracekit/tracekit"
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

// VerifyNoLeaks fails t if goroutines other than the test machinery's are
// still running, after giving them [DefaultLeakWait] to return. Call it
// deferred at the start of a test; pass tracekit.IgnoreCurrent() to cover
// only goroutines the test started. The failure names each goroutine's
// state, its stack, the go statement that started it, and whether the
// runtime proved it can never wake up.
func VerifyNoLeaks(t TestingT, opts ...tracekit.LeakOption) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultLeakWait)
	defer cancel()
	if err := tracekit.Leaks(ctx, opts...); err != nil {
		t.Errorf("%v", err)
	}
}

// VerifyTestMain runs the tests and then fails the run, printing the leaks,
// if goroutines are left over. Use it as TestMain's whole body.
func VerifyTestMain(m TestingM, opts ...tracekit.LeakOption) {
	os.Exit(runTestMain(m, os.Stderr, opts))
}

// runTestMain is VerifyTestMain without the exit: it returns the exit code.
func runTestMain(m TestingM, stderr io.Writer, opts []tracekit.LeakOption) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultLeakWait)
	defer cancel()
	if err := tracekit.Leaks(ctx, opts...); err != nil {
		fmt.Fprintf(stderr, "tracekittest: tests passed, but %v\n", err)
		return 1
	}
	return 0
}

// HangError is the failure [RunWithTimeout] reports.
type HangError struct {
	Timeout time.Duration
	// Dump lists every goroutine at the timeout, grouped by identical
	// stacks, largest group first.
	Dump string
	// Tasks are the tracked tasks (tracekit.Go, Group.Go) started since
	// the run began and still running at the timeout, with what each waits
	// on, as tracekit.Snapshot saw them.
	Tasks []tracekit.TaskInfo
}

func (e *HangError) Error() string {
	var tasks strings.Builder
	if len(e.Tasks) > 0 {
		tasks.WriteString("; tracked tasks still running:\n")
		now := time.Now()
		for _, ti := range e.Tasks {
			fmt.Fprintf(&tasks, "  task %d %q: %s", ti.ID, ti.Name, ti.State)
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

// RunWithTimeout runs fn with a context that is canceled after timeout. If fn
// has not returned by then, the test fails at once with a [*HangError]: the
// tracked tasks started since fn began that are still running (name, what
// they wait on, spawn site, trace), then a dump of every goroutine grouped
// by identical stacks, each group with its states (which channel
// operation, which lock) and how long it has waited.
// fn keeps running in the background after such a failure; the test binary
// ends when the test does.
func RunWithTimeout(t TestingT, timeout time.Duration, fn func(ctx context.Context)) {
	t.Helper()
	if err := runWithTimeout(timeout, fn); err != nil {
		t.Fatalf("%v", err)
	}
}

func runWithTimeout(timeout time.Duration, fn func(ctx context.Context)) error {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
	}
	var tasks []tracekit.TaskInfo
	for _, ti := range tracekit.Snapshot() {
		if !ti.Start.Before(began) {
			tasks = append(tasks, ti)
		}
	}
	gs, err := gostack.Snapshot()
	if err != nil {
		return &HangError{Timeout: timeout, Dump: string(gostack.Dump()), Tasks: tasks}
	}
	var buf bytes.Buffer
	_ = gostack.Write(&buf, gostack.GroupByStack(gs))
	return &HangError{Timeout: timeout, Dump: buf.String(), Tasks: tasks}
}
