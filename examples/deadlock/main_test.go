package main

import (
	"bytes"
	"context"
	"regexp"
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
		`lock-order: lock order inversion: "account-2" (deadlock/main.go:`,
		`) then "account-1" (deadlock/main.go:`,
		"transfer (main.go:",
		"oppositeOrder.func",
		"Send: tracekit: channel closed",
		`hang: lock "cache" has waited`,
		"which is not a tracked task, now in ",
		"slowUnderLock (deadlock/main.go:",
		"waiter (lock cache):",
		"slowUnderLock.func1 (main.go:",
		`long-hold: "cache" was held for`,
		`pay-rent: tracekit: lock "account-2": context canceled (cause: deadlock reported)`,
		"refund: <nil>",
		`deadlock: deadlock of 2 task(s): task `,
		`for lock "account-2", which task `,
		`for lock "account-1", which task `,
		"transfersAtOnce.func",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !regexp.MustCompile(`\n\d+ reports\n$`).MatchString(got) || strings.Count(got, "   deadlock: ") != 1 || strings.Count(got, "   lock-order: ") != 2 {
		t.Errorf("want two lock-order reports and one deadlock report, and a count:\n%s", got)
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
	if strings.Count(got, "no reports") != 7 {
		t.Errorf("some fixed scenario reported something:\n%s", got)
	}
}
