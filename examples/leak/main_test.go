package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/tracekit/tracekittest"
)

func TestLeakyVersionIsReported(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-requests", "3"}, &out); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	// One leak per timed-out request: all three, unless a busy machine ran
	// a caller only after the upstream had answered it.
	n := strings.Count(report, "context deadline exceeded")
	if n == 0 {
		t.Fatalf("no request timed out:\n%s", report)
	}
	for _, want := range []string{
		fmt.Sprintf("tracekit: %d leaked goroutine(s)", n),
		fmt.Sprintf("%d goroutine(s) [chan send]", n),
		"fetchLeaky.func1", // the function that is stuck
		"examples/leak/main.go:",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

func TestFixedVersionLeaksNothing(t *testing.T) {
	// The leaky test's goroutines stay blocked for good; count only ours.
	defer tracekittest.VerifyNoLeaks(t, tracekittest.IgnoreCurrent())
	var out bytes.Buffer
	if err := run([]string{"-fixed", "-requests", "3"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "no leaked goroutines") {
		t.Errorf("fixed version reported leaks:\n%s", out.String())
	}
}
