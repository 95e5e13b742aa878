package tracekittest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/codes"

	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
)

func TestMain(m *testing.M) { VerifyTestMain(m) }

// fakeT records failures instead of failing the real test.
type fakeT struct {
	mu       sync.Mutex
	errors   []string
	fatal    bool
	cleanups []func()
}

func (f *fakeT) Helper() {}
func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	f.fatal = true
}
func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) failures() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.errors, "\n")
}

//go:noinline
func stuckOn(ch chan int) { <-ch }

func TestVerifyNoLeaksReportsAndPasses(t *testing.T) {
	ch := make(chan int)
	go stuckOn(ch)
	ft := &fakeT{}
	VerifyNoLeaks(ft)
	if out := ft.failures(); !strings.Contains(out, "tracekittest.stuckOn") || !strings.Contains(out, "chan receive") {
		t.Errorf("leak not reported with its stack and state:\n%s", out)
	}
	close(ch)
	ft = &fakeT{}
	VerifyNoLeaks(ft)
	if out := ft.failures(); out != "" {
		t.Errorf("reported a leak after the goroutine returned:\n%s", out)
	}
}

type fakeM struct{ code int }

func (m fakeM) Run() int { return m.code }

func TestVerifyTestMainExitCode(t *testing.T) {
	var stderr strings.Builder
	got := []int{runTestMain(fakeM{0}, &stderr, nil), runTestMain(fakeM{3}, &stderr, nil)}
	ch := make(chan int)
	go stuckOn(ch)
	got = append(got, runTestMain(fakeM{0}, &stderr, nil))
	close(ch)
	if fmt.Sprint(got) != "[0 3 1]" {
		t.Errorf("exit codes = %v, want [0 3 1] (clean, failing tests, leak)", got)
	}
	if !strings.Contains(stderr.String(), "tests passed, but TestVerifyTestMainExitCode leaked 1 goroutine(s). tracekit: 1 leaked goroutine") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestRunWithTimeoutDumpsGroupedStacks(t *testing.T) {
	var mu sync.Mutex
	mu.Lock()
	release := make(chan struct{})
	// Long enough for the goroutines to have parked where the dump shows
	// them, even on a busy machine.
	err := runWithTimeout(testwait.Scale(time.Second), func(ctx context.Context) {
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() { defer wg.Done(); <-release }()
		}
		wg.Add(1)
		go func() { defer wg.Done(); mu.Lock(); mu.Unlock() }()
		stuck := tracekit.Go(ctx, "stuck <task>", func(context.Context) error { <-release; return nil })
		wg.Wait()
		_ = stuck.Wait()
	})
	close(release)
	mu.Unlock()
	var he *HangError
	if !errors.As(err, &he) || !errors.Is(err, ErrHang) {
		t.Fatalf("runWithTimeout = %v, want a HangError", err)
	}
	for _, want := range []string{"3 goroutine(s) [chan receive ×3]", "[sync.Mutex.Lock ×1]", "[sync.WaitGroup.Wait ×1]", "tracekittest_test.go:"} {
		if !strings.Contains(he.Dump, want) {
			t.Errorf("dump lacks %q:\n%s", want, he.Dump)
		}
	}
	if len(he.Tasks) != 1 || he.Tasks[0].Name != "stuck <task>" {
		t.Errorf("tracked tasks at the timeout: %+v", he.Tasks)
	}
	if msg := err.Error(); !strings.Contains(msg, `tracked tasks still running:`) || !strings.Contains(msg, `"stuck <task>": running, spawned at `) ||
		!strings.Contains(msg, "TestRunWithTimeoutDumpsGroupedStacks") {
		t.Errorf("message lacks the tracked task:\n%s", msg)
	}

	ft := &fakeT{}
	RunWithTimeout(ft, time.Second, func(ctx context.Context) {})
	if ft.failures() != "" {
		t.Errorf("a quick function failed the test: %s", ft.failures())
	}
}

func TestRecorderSeesTasks(t *testing.T) {
	rec := NewRecorder(t)
	ctx, root := rec.Start(context.Background(), "test")
	err := tracekit.Go(ctx, "child", func(context.Context) error { return errors.New("boom") }).Wait()
	root.End()
	if err == nil {
		t.Fatal("task error lost")
	}
	kids := rec.Children(root.SpanContext())
	if len(kids) != 1 || kids[0].Name() != "child" || kids[0].Status().Code != codes.Error {
		t.Fatalf("children of root = %v", kids)
	}
	if len(rec.Named("test")) != 1 || len(rec.Ended()) != 2 {
		t.Errorf("Named/Ended disagree: %d %d", len(rec.Named("test")), len(rec.Ended()))
	}
}

// A goroutine whose untracked creator has exited cannot be attributed; with
// no other test running, VerifyNoLeaks still reports it, as goleak would,
// and says so.
func TestVerifyNoLeaksUntraceableWhenAlone(t *testing.T) {
	ch := make(chan int)
	defer close(ch)
	exited := make(chan struct{})
	go func() {
		go stuckOn(ch)
		close(exited)
	}()
	<-exited
	ft := &fakeT{}
	VerifyNoLeaks(ft)
	out := ft.failures()
	if !strings.Contains(out, "tracekittest.stuckOn") || !strings.Contains(out, string(Untraceable)+": goroutine ") ||
		!strings.Contains(out, "(exited, untracked: no record of its creator)") {
		t.Errorf("the untraceable leak is not reported as such:\n%s", out)
	}
}

func TestRunWithTimeoutPanic(t *testing.T) {
	ft := &fakeT{}
	RunWithTimeout(ft, time.Minute, func(context.Context) { panic("boom") })
	if out := ft.failures(); !ft.fatal || !strings.Contains(out, "panicked: boom") || !strings.Contains(out, "TestRunWithTimeoutPanic") {
		t.Errorf("a panic in fn is not a fatal failure with its value and stack:\n%s", out)
	}
}

// Tasks that wait on RunWithTimeout's context are listed as they were stuck:
// the context is canceled only after the hang is recorded, and then they end.
// (In a bubble, so that the tasks have surely started waiting when the
// timeout comes.)
func TestRunWithTimeoutListsTasksWaitingOnItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		listsTasksWaitingOnItsContext(t)
	})
}

func listsTasksWaitingOnItsContext(t *testing.T) {
	for range 5 {
		finished := make(chan struct{})
		err := runWithTimeout(50*time.Millisecond, func(ctx context.Context) {
			defer close(finished)
			var tasks []*tracekit.Task
			for range 3 {
				tasks = append(tasks, tracekit.Go(ctx, "fetch-price", func(ctx context.Context) error {
					<-ctx.Done()
					return ctx.Err()
				}))
			}
			for _, task := range tasks {
				_ = task.Wait()
			}
		})
		var he *HangError
		if !errors.As(err, &he) {
			t.Fatalf("runWithTimeout = %v, want a HangError", err)
		}
		if len(he.Tasks) != 3 {
			t.Fatalf("tasks at the timeout: %+v, want the 3 fetch-price tasks", he.Tasks)
		}
		select {
		case <-finished: // the context was canceled after the report
		case <-time.After(10 * time.Second):
			t.Fatal("fn still runs: the context was not canceled after the hang")
		}
	}
}
