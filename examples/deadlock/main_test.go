package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestBugs runs the broken scenarios and checks that each bug is reported
// the way a user sees it.
func TestBugs(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), nil, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		`lock-order: lock order inversion: "account-2" then "account-1" here, "account-1" then "account-2" earlier`,
		"transfer (main.go:",
		"oppositeOrder.func",
		"Send: tracekit: channel closed",
		`hang: lock "cache" has waited`,
		"waiter (lock cache):",
		"slowUnderLock.func1 (main.go:",
		`long-hold: "cache" was held for`,
		"3 reports",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// TestFixed runs the corrected scenarios: nothing is reported.
func TestFixed(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-fixed"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"balances: 95 105", "received sum 3", "0 reports"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "no reports") != 6 {
		t.Errorf("some fixed scenario reported something:\n%s", got)
	}
}
