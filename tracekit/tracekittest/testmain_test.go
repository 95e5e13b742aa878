package tracekittest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/tracekit"
)

// TestVerifyTestMainNamesTests runs, in a child process under this
// package's VerifyTestMain, tests that leak in different ways, and checks
// that the report names each leaking test: one whose goroutine created the
// leak, two (one parallel) whose leak came through a helper's task that had
// ended, and none for a leak whose creator exited untracked.
func TestVerifyTestMainNamesTests(t *testing.T) {
	out, err := runChild(t, "testmain", "^TestChildLeak")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("child: %v, want exit status 1 (leaks after passing tests)\n%s", err, out)
	}
	for _, want := range []string{
		"--- PASS: TestChildLeakDirect", "--- PASS: TestChildLeakThroughTask", "--- PASS: TestChildLeakParallel", "--- PASS: TestChildLeakNone",
		"tests passed, but TestChildLeakDirect leaked 1 goroutine(s), TestChildLeakParallel 1, TestChildLeakThroughTask 1; 1 from no known test. tracekit: 4 leaked goroutine(s)",
		"\nfrom TestChildLeakDirect\n", "\nfrom TestChildLeakThroughTask\n", "\nfrom TestChildLeakParallel\n",
		"(TestChildLeakThroughTask, exited)", "(TestChildLeakParallel, exited)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "from TestChildLeakNone") || strings.Contains(out, "from TestChildLeakUntraceable") {
		t.Errorf("a leak is blamed on a test that cannot be told:\n%s", out)
	}
}

// runChild runs, in a child process of this test binary with
// TRACEKITTEST_CHILD=mode, the tests that match run, verbosely, and returns
// what it printed and how it ended. In a child it skips the test.
func runChild(t *testing.T, mode, run string) (string, error) {
	t.Helper()
	if os.Getenv("TRACEKITTEST_CHILD") != "" {
		t.Skip("runs the child tests")
	}
	cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "TRACEKITTEST_CHILD="+mode)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// childOf skips a child test unless the child process runs in mode.
func childOf(t *testing.T, mode string) {
	if os.Getenv("TRACEKITTEST_CHILD") != mode {
		t.Skip("run in a child process by another test")
	}
}

func childLeak(t *testing.T) { childOf(t, "testmain") }

func TestChildLeakDirect(t *testing.T) {
	childLeak(t)
	go stuckOn(make(chan int))
}

func TestChildLeakThroughTask(t *testing.T) {
	childLeak(t)
	startWorker(context.Background())
}

func TestChildLeakParallel(t *testing.T) {
	childLeak(t)
	t.Parallel()
	startWorker(context.Background())
}

func TestChildLeakNone(t *testing.T) {
	childLeak(t)
	if err := tracekit.Go(context.Background(), "clean", func(context.Context) error { return nil }).Wait(); err != nil {
		t.Fatal(err)
	}
}

// The leak's creator is an untracked goroutine that has exited: nothing
// ties it to this test.
func TestChildLeakUntraceable(t *testing.T) {
	childLeak(t)
	done := make(chan struct{})
	go spawnAndExit(done)
	<-done
}

// startWorker is a helper outside any test: its task leaves a goroutine
// behind and ends, so the leak's stack names no test.
func startWorker(ctx context.Context) {
	task := tracekit.Go(ctx, "worker", func(context.Context) error {
		go stuckOn(make(chan int))
		return nil
	})
	_ = task.Wait()
}

func spawnAndExit(done chan struct{}) {
	go stuckOn(make(chan int))
	close(done)
}
