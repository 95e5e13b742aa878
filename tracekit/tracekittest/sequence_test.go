package tracekittest

import (
	"strings"
	"testing"
)

// TestVerifyNoLeaksBlamesOnlyTheGuilty runs, in a child process, a test
// that leaks two goroutines and whose check reports them, then a test that
// leaks one without a check, then a clean test: the clean test's check
// passes although all three leaks are still there when it runs. One was
// reported already; the others' stacks name the tests that made them.
func TestVerifyNoLeaksBlamesOnlyTheGuilty(t *testing.T) {
	out, err := runChild(t, "sequence", "^TestChildSequence")
	if err != nil || strings.Count(out, "--- PASS: TestChildSequence") != 3 {
		t.Fatalf("child: %v, want its three tests passed:\n%s", err, out)
	}
}

func sequenceChild(t *testing.T) { childOf(t, "sequence") }

// sequenceRelease ends the child tests' leaks once the clean test has
// checked, so that the child's VerifyTestMain passes.
var sequenceRelease = make(chan int)

func TestChildSequence1Leaky(t *testing.T) {
	sequenceChild(t)
	go stuckOn(sequenceRelease) // its stack names this test
	done := make(chan struct{})
	go spawnOn(sequenceRelease, done) // its stack names no test
	<-done
	ft := &fakeT{}
	VerifyNoLeaks(ft)
	if out := ft.failures(); !strings.Contains(out, "2 leaked goroutine(s)") {
		t.Errorf("the leaky test's check said %q, want 2 leaks", out)
	}
}

func TestChildSequence2Unchecked(t *testing.T) {
	sequenceChild(t)
	go stuckOn(sequenceRelease) // left to VerifyTestMain
}

func TestChildSequence3Clean(t *testing.T) {
	sequenceChild(t)
	defer close(sequenceRelease)
	VerifyNoLeaks(t)
}

// spawnOn leaves a goroutine blocked on ch behind and returns, so that the
// leak's creator has exited and its stack names no test.
func spawnOn(ch chan int, done chan struct{}) {
	go stuckOn(ch)
	close(done)
}
