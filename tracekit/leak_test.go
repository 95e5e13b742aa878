package tracekit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

func leakCheck(t *testing.T, opts ...LeakOption) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	return Leaks(ctx, opts...)
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
	if !strings.HasSuffix(g.Function, "tracekit.blockForever") || g.State != "chan receive" {
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
	for name, opt := range map[string]LeakOption{
		"top":     IgnoreTopFunction("github.com/tracekit-go/tracekit/tracekit.blockForever"),
		"any":     IgnoreAnyFunction("github.com/tracekit-go/tracekit/tracekit.TestLeaksIgnoreOptions"),
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
