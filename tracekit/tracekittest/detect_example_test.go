//go:build !tracekit_nosync

package tracekittest_test

import (
	"fmt"
	"strings"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/tracekittest"
)

// exampleT stands for a test's *testing.T: it prints the first line of
// each failure, and runs its cleanups when the test ends.
type exampleT struct{ cleanups []func() }

func (t *exampleT) Helper() {}
func (t *exampleT) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	first, _, _ := strings.Cut(strings.SplitN(msg, "\n", 3)[1], " (")
	fmt.Println("FAIL:", first)
}
func (t *exampleT) Fatalf(format string, args ...any) { t.Errorf(format, args...) }
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) end() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// A test that calls Detect fails on a lock-order inversion, although its
// two transfers never run at once and so never deadlock here.
func ExampleDetect() {
	t := &exampleT{} // in a test, the *testing.T
	tracekittest.Detect(t)

	var accounts, ledger tracekit.Mutex
	accounts.SetName("accounts")
	ledger.SetName("ledger")
	transfer := func(first, second *tracekit.Mutex) {
		first.Lock()
		second.Lock()
		second.Unlock()
		first.Unlock()
	}
	transfer(&accounts, &ledger)
	transfer(&ledger, &accounts)

	t.end()
	// Output: FAIL: tracekit lock-order: lock order inversion: "ledger"
}

// fakeM stands for the *testing.M of a TestMain: its tests take two locks
// in both orders.
type fakeM struct{}

func (fakeM) Run() int {
	var a, b tracekit.Mutex
	a.Lock()
	b.Lock()
	b.Unlock()
	a.Unlock()
	b.Lock()
	a.Lock()
	a.Unlock()
	b.Unlock()
	return 0 // the tests passed
}

// Detecting runs a package's tests under the detectors: the run fails if
// any report was made, and the reports are printed (on standard error).
//
//	func TestMain(m *testing.M) { os.Exit(tracekittest.Detecting(m).Run()) }
func ExampleDetecting() {
	code := tracekittest.Detecting(fakeM{}).Run()
	fmt.Println("exit code", code)
	// Output: exit code 1
}
