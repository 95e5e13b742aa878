package tracekittest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
)

//go:noinline
func parkDirect(ch chan int) { <-ch }

//go:noinline
func parkDeep(ch chan int) { <-ch }

//go:noinline
func parkFromTask(ch chan int) { <-ch }

//go:noinline
func parkChain(ch chan int) { <-ch }

//go:noinline
func parkOrphan(ch chan int) { <-ch }

//go:noinline
func parkInRun(ch chan int) { <-ch }

// parallelCases are the tests TestChildParallel runs side by side, each
// leaking (or not) in its own way; want is what its failure must say, nil
// when it must pass.
var parallelCases = []struct {
	name string
	leak func(t *testing.T, release chan int)
	want []string
}{
	{"clean", func(t *testing.T, release chan int) {
		stop := make(chan int)
		task := tracekit.Go(context.Background(), "worker", func(ctx context.Context) error {
			tracekit.Go(ctx, "sub", func(context.Context) error { <-stop; return nil })
			<-stop
			return nil
		})
		go func() { <-stop }()
		close(stop)
		_ = task.Wait()
	}, nil},
	{"direct", func(t *testing.T, release chan int) {
		go parkDirect(release)
	}, []string{"1 leaked goroutine(s)", "parkDirect", string(AttributedDirectly)}},
	{"deep", func(t *testing.T, release chan int) {
		// Two tasks deep; the intermediate task ends at once.
		_ = tracekit.Go(context.Background(), "outer", func(ctx context.Context) error {
			tracekit.Go(ctx, "inner", func(context.Context) error { parkDeep(release); return nil })
			return nil
		}).Wait()
	}, []string{"1 leaked goroutine(s)", "parkDeep", string(AttributedThroughTasks), `task "inner"`, "started by task #"}},
	{"from-task", func(t *testing.T, release chan int) {
		// An untracked goroutine started by a task that has ended.
		_ = tracekit.Go(context.Background(), "spawner", func(context.Context) error {
			go parkFromTask(release)
			return nil
		}).Wait()
	}, []string{"1 leaked goroutine(s)", "parkFromTask", string(AttributedThroughTasks), ", ended) ← goroutine"}},
	{"chain", func(t *testing.T, release chan int) {
		go func() {
			go parkChain(release)
			<-release
		}()
	}, []string{"2 leaked goroutine(s)", "parkChain", string(AttributedThroughGoroutines)}},
	{"in-run", func(t *testing.T, release chan int) {
		// Started inside RunWithTimeout, whose own goroutine has returned.
		RunWithTimeout(t, testwait.Scale(time.Minute), func(ctx context.Context) {
			tracekit.Go(ctx, "background", func(context.Context) error { parkInRun(release); return nil })
		})
	}, []string{"1 leaked goroutine(s)", "parkInRun", string(AttributedThroughTasks), `"background"`}},
	{"orphan", func(t *testing.T, release chan int) {
		// Its creator exits untracked: it cannot be attributed, and while
		// other tests run it is not blamed on this one.
		done := make(chan struct{})
		go func() {
			go parkOrphan(release)
			close(done)
		}()
		<-done
	}, nil},
}

// TestChildParallel is the harness TestVerifyNoLeaksParallel runs in a
// child process (with -test.parallel large enough that every case runs at
// once): each case leaks, waits until all have, and checks with a deferred
// VerifyNoLeaks while all the others' leaks are alive.
func TestChildParallel(t *testing.T) {
	if os.Getenv("TRACEKITTEST_CHILD") == "" {
		t.Skip("run by TestVerifyNoLeaksParallel")
	}
	release := make(chan int)
	var leaked, checked sync.WaitGroup
	leaked.Add(len(parallelCases))
	checked.Add(len(parallelCases))
	t.Run("group", func(t *testing.T) {
		for _, tc := range parallelCases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				defer func() { checked.Done(); checked.Wait() }() // every check sees every leak
				defer VerifyNoLeaks(t)
				tc.leak(t, release)
				leaked.Done()
				leaked.Wait()
			})
		}
	})
	close(release)
}

func TestVerifyNoLeaksParallel(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("tasks keep their lineage only where the goroutine ID can be read directly (amd64, arm64)")
	}
	if os.Getenv("TRACEKITTEST_CHILD") != "" {
		t.Skip("runs the child tests")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildParallel$", "-test.parallel=16")
	cmd.Env = append(os.Environ(), "TRACEKITTEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("child: %v, want exit status 1 (failed tests)\n%s", err, out)
	}
	// Without -v the output is each failed test's "--- FAIL: name" line
	// followed by its indented log.
	sections := map[string]string{}
	var name string
	head := regexp.MustCompile(`^\s*--- FAIL: TestChildParallel/group/(\S+) `)
	for line := range strings.Lines(string(out)) {
		if m := head.FindStringSubmatch(line); m != nil {
			name = m[1]
			sections[name] = ""
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "--- ") || !strings.HasPrefix(line, "    ") {
			name = ""
		}
		if name != "" {
			sections[name] += line
		}
	}
	parks := []string{"parkDirect", "parkDeep", "parkFromTask", "parkChain", "parkOrphan", "parkInRun"}
	for _, tc := range parallelCases {
		got, failed := sections[tc.name]
		if tc.want == nil {
			if failed {
				t.Errorf("%s failed, want pass:\n%s", tc.name, got)
			}
			continue
		}
		if !failed {
			t.Errorf("%s passed, want its leak reported; child output:\n%s", tc.name, out)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s's failure lacks %q:\n%s", tc.name, w, got)
			}
		}
		for _, p := range parks {
			if p != tc.want[1] && strings.Contains(got, p) {
				t.Errorf("%s was blamed for %s, another test's leak:\n%s", tc.name, p, got)
			}
		}
	}
}
