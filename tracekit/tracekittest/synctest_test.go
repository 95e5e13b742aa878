package tracekittest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
)

//go:noinline
func bubbleLeak(ch chan int) { <-ch }

// outsideGoroutines starts, outside any bubble, an untracked goroutine and
// a task that stay blocked until the test ends: a bubble's checks must not
// blame them on it.
func outsideGoroutines(t *testing.T) {
	outside := make(chan int)
	go stuckOn(outside)
	task := tracekit.Go(context.Background(), "outside task", func(context.Context) error { <-outside; return nil })
	t.Cleanup(func() { close(outside); _ = task.Wait() })
}

func TestVerifyNoLeaksInBubble(t *testing.T) {
	outsideGoroutines(t)
	synctest.Test(t, func(t *testing.T) {
		// A goroutine that sleeps, on the fake clock, then returns: the
		// check waits for it without real time passing.
		start := time.Now()
		go func() { time.Sleep(time.Second) }()
		ft := &fakeT{}
		VerifyNoLeaks(ft)
		if out := ft.failures(); out != "" {
			t.Errorf("a clean bubble failed the check (goroutines outside it were blamed?):\n%s", out)
		}
		if waited := time.Since(start); waited < time.Second || waited >= DefaultLeakWait {
			t.Errorf("the check returned after %v of fake time, want the sleeper's 1s or a little more", waited)
		}

		ch := make(chan int)
		go bubbleLeak(ch)
		ft = &fakeT{}
		start = time.Now()
		VerifyNoLeaks(ft)
		out := ft.failures()
		if !strings.Contains(out, "tracekittest.bubbleLeak") || !strings.Contains(out, "1 leaked goroutine") ||
			!strings.Contains(out, string(AttributedDirectly)) {
			t.Errorf("the leak in the bubble is not reported as the only one, started by the test:\n%s", out)
		}
		if strings.Contains(out, "stuckOn") || strings.Contains(out, "outside task") {
			t.Errorf("goroutines outside the bubble were blamed on it:\n%s", out)
		}
		if waited := time.Since(start); waited != DefaultLeakWait {
			t.Errorf("the check gave the leak %v of fake time, want DefaultLeakWait (%v)", waited, DefaultLeakWait)
		}
		close(ch) // so that the bubble ends cleanly
	})
}

func TestRunWithTimeoutInBubble(t *testing.T) {
	outsideGoroutines(t)
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		ft := &fakeT{}
		start := time.Now()
		RunWithTimeout(ft, 10*time.Second, func(ctx context.Context) {
			_ = tracekit.Go(ctx, "bubble task", func(context.Context) error { <-release; return nil }).Wait()
		})
		if waited := time.Since(start); waited != 10*time.Second {
			t.Errorf("RunWithTimeout returned after %v of fake time, want the 10s timeout", waited)
		}
		out := ft.failures()
		if !ft.fatal || !strings.Contains(out, "did not finish within 10s") || !strings.Contains(out, `task `) ||
			!strings.Contains(out, `"bubble task": running, spawned at `) || !strings.Contains(out, "synctest_test.go:") {
			t.Errorf("the hang is not reported with the bubble's task:\n%s", out)
		}
		if strings.Contains(out, "outside task") || strings.Contains(out, "stuckOn") {
			t.Errorf("goroutines outside the bubble were blamed on it:\n%s", out)
		}
		close(release)
		synctest.Wait()

		ft = &fakeT{}
		RunWithTimeout(ft, time.Second, func(ctx context.Context) { time.Sleep(500 * time.Millisecond) })
		if out := ft.failures(); out != "" {
			t.Errorf("a function that returns in time failed: %s", out)
		}
	})
}

func TestRecorderInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := NewRecorder(t)
		ctx, root := rec.Start(context.Background(), "root")
		_ = tracekit.Go(ctx, "sleeper", func(context.Context) error { time.Sleep(3 * time.Second); return nil }).Wait()
		root.End()
		s := rec.Named("sleeper")
		if len(s) != 1 {
			t.Fatalf("recorded %d sleeper spans, want 1", len(s))
		}
		// The bubble's clock starts at midnight UTC 2000-01-01 and moves
		// only while everything sleeps: the durations are exact.
		if d := s[0].EndTime().Sub(s[0].StartTime()); d != 3*time.Second {
			t.Errorf("sleeper span lasted %v on the fake clock, want 3s", d)
		}
		if s[0].StartTime().Year() != 2000 {
			t.Errorf("span start %v is not on the bubble's clock", s[0].StartTime())
		}
	})
}

func TestSynctestClean(t *testing.T) {
	Synctest(t, func(t *testing.T) {
		done := make(chan struct{})
		go func() { time.Sleep(time.Minute); close(done) }()
		<-done
		go func() { time.Sleep(time.Second) }() // still sleeping when f returns: not a leak
	})
}

// TestSynctestLeak runs, in a child process, tests that leave goroutines
// blocked in a bubble for good (they can never be released, so the child
// is the only safe place): Synctest reports them and fails the test instead
// of letting synctest.Test's deadlock panic end the binary.
func TestSynctestLeak(t *testing.T) {
	if os.Getenv("TRACEKITTEST_CHILD") != "" {
		t.Skip("runs the child tests")
	}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"TestChildSynctestLeak", []string{
			"--- FAIL: TestChildSynctestLeak", "tracekittest.bubbleLeak", "1 leaked goroutine(s)", "[chan receive",
			string(AttributedDirectly), "goroutines remained blocked in the synctest bubble",
		}},
		{"TestChildSynctestHang", []string{
			"--- FAIL: TestChildSynctestHang", "did not finish within 1m0s", `"stuck": running`,
			"tracekittest.bubbleLeak", string(AttributedThroughTasks), "goroutines remained blocked in the synctest bubble",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^"+tc.name+"$", "-test.v")
			cmd.Env = append(os.Environ(), "TRACEKITTEST_CHILD=1")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("child: %v, want exit status 1 (a failed test)\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("child output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), "panic: deadlock") {
				t.Errorf("the deadlock panic ended the child:\n%s", out)
			}
		})
	}
}

func TestChildSynctestLeak(t *testing.T) {
	if os.Getenv("TRACEKITTEST_CHILD") == "" {
		t.Skip("run by TestSynctestLeak")
	}
	Synctest(t, func(t *testing.T) {
		go bubbleLeak(make(chan int))
	})
}

func TestChildSynctestHang(t *testing.T) {
	if os.Getenv("TRACEKITTEST_CHILD") == "" {
		t.Skip("run by TestSynctestLeak")
	}
	Synctest(t, func(t *testing.T) {
		RunWithTimeout(t, time.Minute, func(ctx context.Context) {
			_ = tracekit.Go(ctx, "stuck", func(context.Context) error { bubbleLeak(make(chan int)); return nil }).Wait()
		})
	})
}
