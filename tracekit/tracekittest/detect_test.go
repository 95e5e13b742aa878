//go:build !tracekit_nosync

package tracekittest

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/internal/env"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// namedT is a fakeT with a test name, whose cleanups run when the test
// says it ends.
type namedT struct {
	fakeT
	name string
}

func (f *namedT) Name() string { return f.name }

// end runs the cleanups, last first, and returns the errors.
func (f *namedT) end() []string {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.errors)
}

// invert takes two locks in one order, then in the other, in two tasks
// that never overlap: a lock-order inversion, which never deadlocks here.
func invert() {
	var accounts, ledger tracekit.Mutex
	accounts.SetName("accounts")
	ledger.SetName("ledger")
	for _, order := range [][2]*tracekit.Mutex{{&accounts, &ledger}, {&ledger, &accounts}} {
		_ = tracekit.Go(context.Background(), "transfer", func(context.Context) error {
			order[0].Lock()
			order[1].Lock()
			order[1].Unlock()
			order[0].Unlock()
			return nil
		}).Wait()
	}
}

// consistent takes the same two locks, always in one order, from several
// tasks at once, and passes values over a tracekit channel.
func consistent() {
	var accounts, ledger tracekit.Mutex
	jobs := tracekit.NewChan[int]("jobs", 0)
	g := tracekit.NewGroup(context.Background(), "transfers")
	for i := range 4 {
		g.Go("transfer", func(ctx context.Context) error {
			accounts.Lock()
			ledger.Lock()
			ledger.Unlock()
			accounts.Unlock()
			return jobs.Send(ctx, i)
		})
	}
	for range 4 {
		_, _ = jobs.Recv(context.Background())
	}
	_ = g.Wait()
}

// Detect fails the test on a lock-order inversion, with the report, and
// lets clean code pass.
func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name  string
		run   func()
		fails bool
	}{{"inversion", invert, true}, {"clean", consistent, false}} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &namedT{name: t.Name()}
			Detect(ft)
			tc.run()
			errs := ft.end()
			if !tc.fails {
				if len(errs) != 0 || ft.fatal {
					t.Errorf("clean code failed the test: %q", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0], `tracekit lock-order: lock order inversion: "ledger" (tracekittest/detect_test.go:`) ||
				!strings.Contains(errs[0], "now: \"accounts\" requested here while \"ledger\" is held:") {
				t.Errorf("errors %q, want the inversion's report", errs)
			}
		})
	}
}

// A report goes to the test it comes from (here, made in tasks the test
// started); one that says nothing of where it comes from goes to every
// test that called Detect.
func TestDetectAttribution(t *testing.T) {
	mine, other := &namedT{name: "TestDetectAttribution/sub"}, &namedT{name: "TestSomethingElse"}
	Detect(mine)
	done := make(chan struct{})
	go func() { Detect(other); close(done) }() // as another test, on its own goroutine
	<-done
	invert()
	// As the memory watch reports, on a goroutine of its own.
	delivered := make(chan struct{})
	go func() {
		detectors.deliver(inspect.Report{Kind: inspect.KindMemory, Message: "memory in use is high"})
		close(delivered)
	}()
	<-delivered
	other.end()
	mine.end()
	if len(mine.errors) != 2 || len(other.errors) != 1 || !strings.Contains(other.errors[0], "memory in use is high") {
		t.Errorf("errors: this test's %q, the other's %q; want both reports here, the memory report there", mine.errors, other.errors)
	}
}

// Detecting fails a run whose tests passed when a report was made, with
// the reports, and leaves a clean run alone; VerifyTestMain runs the tests
// that way when TRACEKIT_DEADLOCK is on.
func TestDetecting(t *testing.T) {
	for _, tc := range []struct {
		name   string
		run    func()
		verify bool // through VerifyTestMain, with TRACEKIT_DEADLOCK=1
		code   int
	}{
		{"inversion", invert, false, 1},
		{"clean", consistent, false, 0},
		{"VerifyTestMain with TRACEKIT_DEADLOCK=1", invert, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			m := runFunc(func() int { tc.run(); return 0 })
			var code int
			if tc.verify {
				t.Setenv(env.Deadlock, "1")
				code = runTestMain(m, &stderr, nil)
			} else {
				code = (&detectingM{m: m, stderr: &stderr}).Run()
			}
			if code != tc.code {
				t.Errorf("exit code %d, want %d:\n%s", code, tc.code, &stderr)
			}
			if tc.code == 0 {
				if stderr.Len() != 0 {
					t.Errorf("a clean run printed:\n%s", &stderr)
				}
				return
			}
			out := stderr.String()
			if !strings.HasPrefix(out, "tracekittest: tests passed, but tracekit's detectors made 1 report(s):\n\ntracekit lock-order: lock order inversion:") {
				t.Errorf("output:\n%s", out)
			}
		})
	}
	// Without TRACEKIT_DEADLOCK, VerifyTestMain watches leaks only. (A
	// test that called Detect, standing for one that may run around it,
	// takes the report.)
	t.Setenv(env.Deadlock, "0")
	var stderr bytes.Buffer
	other := &namedT{name: "TestElsewhere"}
	Detect(other)
	if code := runTestMain(runFunc(func() int { invert(); return 0 }), &stderr, nil); code != 0 {
		t.Errorf("VerifyTestMain with TRACEKIT_DEADLOCK=0: exit code %d:\n%s", code, &stderr)
	}
	other.end()
}

// The leak checks leave the detectors' Kit alone while it runs, and it
// leaves nothing behind when it stops.
func TestDetectLeavesNoLeak(t *testing.T) {
	ignore := IgnoreCurrent()
	ft := &namedT{name: t.Name()}
	Detect(ft)
	ctx, cancel := context.WithTimeout(context.Background(), DefaultLeakWait)
	defer cancel()
	if err := Find(ctx, ignore); err != nil {
		t.Errorf("while the detectors run: %v", err)
	}
	if errs := ft.end(); len(errs) != 0 {
		t.Errorf("errors: %q", errs)
	}
	ctx, cancel = context.WithTimeout(context.Background(), DefaultLeakWait)
	defer cancel()
	if err := Find(ctx, ignore); err != nil {
		t.Errorf("after they stopped: %v", err)
	}
}

// runFunc is a TestingM whose Run is a function.
type runFunc func() int

func (m runFunc) Run() int { return m() }
