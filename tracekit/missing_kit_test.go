//go:build !tracekit_nosync

package tracekit

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/env"
)

// missingKitScenario names, for the child process of
// TestDeadlockRequestedWithoutKit, what it does.
const missingKitScenario = "TRACEKIT_TEST_MISSING_KIT"

// TRACEKIT_DEADLOCK=1 with no Kit running does not pass in silence: the
// first lock, read lock or blocked channel operation warns, once, that
// nothing is detected. A detector installed before any lock is used
// replaces the stand-in, and nothing is said. The environment is read
// when the program starts, so each case runs in a child process.
func TestDeadlockRequestedWithoutKit(t *testing.T) {
	if scenario := os.Getenv(missingKitScenario); scenario != "" {
		runMissingKitScenario(t, scenario)
		return
	}
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for _, tc := range []struct {
		scenario string
		warns    bool
	}{
		{"lock", true},
		{"read lock", true},
		{"blocked receive", true},
		{"detector first", false},
		{"flag off", false},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestDeadlockRequestedWithoutKit$", "-test.v")
			value := "1"
			if tc.scenario == "flag off" {
				value = "0"
			}
			cmd.Env = append(os.Environ(), missingKitScenario+"="+tc.scenario, env.Deadlock+"="+value)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if n := strings.Count(string(out), detect.MissingKitWarning); n != map[bool]int{true: 1, false: 0}[tc.warns] {
				t.Errorf("the warning appears %d times, want it once: %v:\n%s", n, tc.warns, out)
			}
		})
	}
}

// runMissingKitScenario is the child's side: it uses tracekit's locks and
// channels a few times each, as the scenario says.
func runMissingKitScenario(t *testing.T, scenario string) {
	var m Mutex
	var rw RWMutex
	switch scenario {
	case "lock", "flag off":
		for range 3 {
			m.Lock()
			m.Unlock()
		}
	case "read lock":
		for range 3 {
			rw.RLock()
			rw.RUnlock()
		}
	case "blocked receive":
		for range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			_, _ = Recv(ctx, make(chan int))
			cancel()
		}
	case "detector first":
		d := detect.New(detect.Config{})
		detect.Install(d)
		defer func() { detect.Uninstall(d); d.Close() }()
		m.Lock()
		m.Unlock()
		rw.RLock()
		rw.RUnlock()
	default:
		t.Fatalf("unknown scenario %q", scenario)
	}
	// After the warning, the locks are plain again.
	if scenario != "detector first" && detect.Current() != nil {
		t.Errorf("a detector is still installed after the warning: %p", detect.Current())
	}
}
