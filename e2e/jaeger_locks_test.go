package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracekit-go/tracekit/e2e/internal/jaeger"
	"github.com/tracekit-go/tracekit/internal/testwait"
)

// The thresholds the main run sets through tracekit's environment: every
// deliberate wait passes the slow threshold and the hang timeout, and the
// holder's hold passes the long-hold threshold, each by a wide margin.
const (
	lockSlow     = 30 * time.Millisecond
	lockHang     = 60 * time.Millisecond
	lockLongHold = 60 * time.Millisecond
)

// lockTasks are the tasks lockprog starts under its root span "locks".
var lockTasks = []string{"holder", "waiter", "writer", "reader", "consumer", "producer", "shipper", "acker", "stocker", "supplier", "transfer", "refund"}

// lockFuncSpan is the function span (tracekit.Span) under which "reader"
// waits for its read lock.
const lockFuncSpan = "main.readCatalog"

// lockOpSpans are the lock and channel spans the thresholds above make.
var lockOpSpans = []string{"lock.wait inventory", "lock.hold inventory", "lock.wait catalog", "lock.hold catalog", "chan.recv orders", "chan.send acks", "chan.recv main.awaitRestock"}

// buildLockProg compiles ./internal/lockprog.
func buildLockProg(t *testing.T) string { return buildInternal(t, "lockprog") }

// lockProgLines maps each "// lock:NAME", "// rlock:NAME", "// unlock:NAME",
// "// recv:NAME" and "// send:NAME" marker in the program's source, prefix
// included, to its line: the line a report's stack must name.
func lockProgLines(t *testing.T) map[string]int {
	t.Helper()
	src, err := os.ReadFile("internal/lockprog/main.go")
	if err != nil {
		t.Fatal(err)
	}
	marker := regexp.MustCompile(`// ((?:lock|rlock|unlock|recv|send):\S+)$`)
	lines := map[string]int{}
	for i, line := range strings.Split(string(src), "\n") {
		if m := marker.FindStringSubmatch(line); m != nil {
			lines[m[1]] = i + 1
		}
	}
	for _, want := range []string{"lock:holder", "lock:waiter", "unlock:inventory", "lock:writer", "rlock:catalog", "unlock:catalog", "recv:orders", "send:acks", "recv:restock",
		"lock:transfer-accounts", "lock:transfer-ledger", "lock:refund-ledger", "lock:refund-accounts"} {
		if lines[want] == 0 {
			t.Fatalf("internal/lockprog/main.go has no marker // %s", want)
		}
	}
	return lines
}

type lockProgResult struct {
	TraceID  string            `json:"trace_id"`
	Exported uint64            `json:"exported"`
	Dropped  uint64            `json:"dropped"`
	Failed   uint64            `json:"failed"`
	Tasks    map[string]uint64 `json:"tasks"`
	// StallNS is the least each deliberate lock or channel wait lasts.
	StallNS int64 `json:"stall_ns"`
}

// runLockProg runs lockprog against an OTLP endpoint with the environment of
// the test minus every OTEL_* and TRACEKIT_* variable (but the test timeout
// scale), plus env: what the program records is decided by env alone.
func runLockProg(ctx context.Context, t *testing.T, prog, service, protocol, endpoint string, env ...string) lockProgResult {
	t.Helper()
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") && !strings.HasPrefix(kv, "TRACEKIT_") || strings.HasPrefix(kv, testwait.EnvScale+"=") {
			base = append(base, kv)
		}
	}
	res := runOTLPProg[lockProgResult](ctx, t, prog, base, service, protocol, endpoint, env...)
	if time.Duration(res.StallNS) < 2*lockHang {
		t.Fatalf("lockprog stalls %v, want at least %v to pass the thresholds by a margin", time.Duration(res.StallNS), 2*lockHang)
	}
	for _, name := range lockTasks {
		if res.Tasks[name] == 0 {
			t.Fatalf("lockprog printed no id for task %s: %+v", name, res)
		}
	}
	return res
}

// TestJaegerLocks runs lockprog against a real Jaeger and checks, through
// Jaeger's v1 query API (and its v3 API for attribute types), that
// tracekit's lock and channel spans and its detector reports arrive as
// docs/attributes.md describes them: span names and parents, the tracekit.*
// attributes, and the tracekit.report events with their stacks. Runs with
// thresholds from TRACEKIT_* (over OTLP gRPC and HTTP), with the defaults,
// and with everything off show that the environment alone decides what is
// recorded.
func TestJaegerLocks(t *testing.T) {
	bin := jaeger.Binary(t)
	prog := buildLockProg(t)
	lines := lockProgLines(t)

	ctx, srv := startJaeger(t, bin)

	thresholds := []string{
		"TRACEKIT_SLOW=" + lockSlow.String(),
		"TRACEKIT_HANG_TIMEOUT=" + lockHang.String(),
		"TRACEKIT_LONG_HOLD=" + lockLongHold.String(),
		"TRACEKIT_DEADLOCK=1",
	}
	for _, tc := range []struct{ protocol, endpoint string }{
		{"grpc", "http://" + srv.OTLPGRPCEndpoint()},
		{"http/protobuf", srv.OTLPHTTPEndpoint()},
	} {
		t.Run("env-"+strings.ReplaceAll(tc.protocol, "/", "-"), func(t *testing.T) {
			service := "e2e-locks-" + strings.ReplaceAll(tc.protocol, "/", "-")
			res := runLockProg(ctx, t, prog, service, tc.protocol, tc.endpoint, thresholds...)
			tr := readLockTrace(ctx, t, srv, res, 2+len(lockTasks)+len(lockOpSpans))
			checkLockTree(t, tr, lockOpSpans)
			checkLockOpSpans(t, tr, time.Duration(res.StallNS))
			checkLockReports(t, tr, res, lines)
			checkLockTypesV3(ctx, t, srv, res)
		})
	}

	// Defaults: the slow threshold (10ms) still makes the same spans, but the
	// hang timeout (30s) and the long-hold threshold (1s) are far away and
	// lock-order detection is off, so there is no report.
	t.Run("defaults", func(t *testing.T) {
		res := runLockProg(ctx, t, prog, "e2e-locks-defaults", "grpc", "http://"+srv.OTLPGRPCEndpoint())
		tr := readLockTrace(ctx, t, srv, res, 2+len(lockTasks)+len(lockOpSpans))
		checkLockTree(t, tr, lockOpSpans)
		checkLockOpSpans(t, tr, time.Duration(res.StallNS))
		checkNoReports(t, tr)
	})

	// Everything off: the root, the tasks and the function span alone.
	t.Run("off", func(t *testing.T) {
		res := runLockProg(ctx, t, prog, "e2e-locks-off", "grpc", "http://"+srv.OTLPGRPCEndpoint(),
			"TRACEKIT_SLOW=off", "TRACEKIT_HANG_TIMEOUT=off", "TRACEKIT_LONG_HOLD=off", "TRACEKIT_DEADLOCK=off")
		tr := readLockTrace(ctx, t, srv, res, 2+len(lockTasks))
		checkLockTree(t, tr, nil)
		checkNoReports(t, tr)
	})
}

// readLockTrace checks the program's export counts and reads its trace back
// from Jaeger once it has all n spans.
func readLockTrace(ctx context.Context, t *testing.T, srv *jaeger.Server, res lockProgResult, n int) *jaeger.Trace {
	t.Helper()
	if res.Exported != uint64(n) || res.Dropped+res.Failed != 0 {
		t.Fatalf("program stats %+v, want %d spans exported and none lost", res, n)
	}
	tr, err := srv.TraceWithSpans(ctx, res.TraceID, n)
	if err != nil {
		t.Fatalf("read trace %s back from Jaeger: %v", res.TraceID, err)
	}
	if len(tr.Spans) != n {
		t.Fatalf("Jaeger has %d spans of trace %s, want %d: %v", len(tr.Spans), res.TraceID, n, spanNames(tr))
	}
	return tr
}

func spanNames(tr *jaeger.Trace) []string {
	var names []string
	for _, s := range tr.Spans {
		names = append(names, s.OperationName)
	}
	slices.Sort(names)
	return names
}

// checkLockTree checks that the trace is the root "locks", its tasks, the
// function span of "reader", and exactly the lock and channel spans ops,
// each once, with the kinds and parents of all but ops.
func checkLockTree(t *testing.T, tr *jaeger.Trace, ops []string) {
	t.Helper()
	want := append(append([]string{"locks", lockFuncSpan}, lockTasks...), ops...)
	slices.Sort(want)
	if got := spanNames(tr); !slices.Equal(got, want) {
		t.Fatalf("span names\n got %v\nwant %v", got, want)
	}
	root, _ := tr.SpanByName("locks")
	if root.ParentID() != "" {
		t.Errorf("locks has a parent %s", root.ParentID())
	}
	for _, name := range lockTasks {
		s, _ := tr.SpanByName(name)
		if got := s.ParentID(); got != root.SpanID {
			t.Errorf("task %s: parent %s, want the root %s", name, got, root.SpanID)
		}
		if v, _ := s.Tag("tracekit.kind"); v != "goroutine" {
			t.Errorf("task %s: tracekit.kind = %v, want goroutine", name, v)
		}
		if v, ok := s.Tag("otel.status_code"); ok {
			t.Errorf("task %s: status %v, want unset", name, v)
		}
	}
	fn, _ := tr.SpanByName(lockFuncSpan)
	if reader, _ := tr.SpanByName("reader"); fn.ParentID() != reader.SpanID {
		t.Errorf("%s: parent %s, want the span of task reader %s", lockFuncSpan, fn.ParentID(), reader.SpanID)
	}
	if v, _ := fn.Tag("tracekit.kind"); v != "function" {
		t.Errorf("%s: tracekit.kind = %v, want function", lockFuncSpan, v)
	}
}

// checkLockOpSpans checks each lock and channel span: its parent task, that
// it lies within the parent, its tracekit.* attributes, that the wait or
// hold they give is at least the program's stall, and that the span lasts
// that wait or hold.
func checkLockOpSpans(t *testing.T, tr *jaeger.Trace, stall time.Duration) {
	t.Helper()
	// The hold is timed with the coarse clock, which ticks every fifth of
	// the slow threshold (at least 1ms); a wait is timed exactly.
	holdSlack := max(lockSlow/5, time.Millisecond)
	for _, tc := range []struct {
		span, parent, kind string
		nameKey, name      string
		nsKey              string
		least              time.Duration
		mode               string // "" for channels
	}{
		{"lock.wait inventory", "waiter", "lock.wait", "tracekit.lock.name", "inventory", "tracekit.wait.ns", stall, "write"},
		{"lock.hold inventory", "holder", "lock.hold", "tracekit.lock.name", "inventory", "tracekit.hold.ns", stall - holdSlack, "write"},
		// RLockContext: under the span of its ctx, not the task's.
		{"lock.wait catalog", lockFuncSpan, "lock.wait", "tracekit.lock.name", "catalog", "tracekit.wait.ns", stall, "read"},
		{"lock.hold catalog", "writer", "lock.hold", "tracekit.lock.name", "catalog", "tracekit.hold.ns", stall - holdSlack, "write"},
		{"chan.recv orders", "consumer", "chan.recv", "tracekit.chan.name", "orders", "tracekit.wait.ns", stall, ""},
		{"chan.send acks", "shipper", "chan.send", "tracekit.chan.name", "acks", "tracekit.wait.ns", stall, ""},
		// A plain channel is named after the function that called Recv.
		{"chan.recv main.awaitRestock", "stocker", "chan.recv", "tracekit.chan.name", "main.awaitRestock", "tracekit.wait.ns", stall, ""},
	} {
		s, ok := tr.SpanByName(tc.span)
		if !ok {
			t.Errorf("no span %q", tc.span)
			continue
		}
		parent, _ := tr.SpanByName(tc.parent)
		if got := s.ParentID(); got != parent.SpanID {
			t.Errorf("%s: parent %s, want the span of task %s (%s)", tc.span, got, tc.parent, parent.SpanID)
		}
		if s.StartTime < parent.StartTime {
			t.Errorf("%s starts at %d µs, before its parent %s at %d µs", tc.span, s.StartTime, tc.parent, parent.StartTime)
		}
		// Start and duration are each truncated to microseconds: allow one.
		if end, pend := s.StartTime+s.Duration, parent.StartTime+parent.Duration; end > pend+1 {
			t.Errorf("%s ends at %d µs, after its parent %s at %d µs", tc.span, end, tc.parent, pend)
		}
		if v, _ := s.Tag("tracekit.kind"); v != tc.kind {
			t.Errorf("%s: tracekit.kind = %v, want %s", tc.span, v, tc.kind)
		}
		if v, _ := s.Tag(tc.nameKey); v != tc.name {
			t.Errorf("%s: %s = %v, want %s", tc.span, tc.nameKey, v, tc.name)
		}
		otherKey := map[string]string{"tracekit.lock.name": "tracekit.chan.name", "tracekit.chan.name": "tracekit.lock.name"}[tc.nameKey]
		if v, ok := s.Tag(otherKey); ok {
			t.Errorf("%s: has %s = %v", tc.span, otherKey, v)
		}
		mode, hasMode := s.Tag("tracekit.lock.mode")
		if tc.mode == "" && hasMode || tc.mode != "" && mode != tc.mode {
			t.Errorf("%s: tracekit.lock.mode = %v, want %q", tc.span, mode, tc.mode)
		}
		v, ok := s.Tag(tc.nsKey)
		ns, isInt := v.(int64)
		if !ok || !isInt {
			t.Errorf("%s: %s = %#v, want an int64", tc.span, tc.nsKey, v)
			continue
		}
		if time.Duration(ns) < tc.least {
			t.Errorf("%s: %s = %v, want at least %v", tc.span, tc.nsKey, time.Duration(ns), tc.least)
		}
		// A wait span covers the wait exactly. A hold span covers the hold
		// but may be shorter by up to a tick: a hold's start comes from the
		// coarse clock, which can put it before its parent task began, and
		// the span is then cut to start with its parent.
		short := int64(1)
		if tc.nsKey == "tracekit.hold.ns" {
			short += holdSlack.Microseconds()
		}
		if d := ns/1000 - s.Duration; d < -1 || d > short {
			t.Errorf("%s: lasts %d µs but %s = %d (%d µs shorter, at most %d allowed)", tc.span, s.Duration, tc.nsKey, ns, d, short)
		}
	}
}

// wantReport is a tracekit.report event lockprog's detectors must make.
type wantReport struct {
	span    string            // the task span that carries it
	kind    string            // tracekit.report.kind
	attrs   map[string]string // string attributes besides kind and message
	message *regexp.Regexp
	// stacks are the labels of the stacks, in order, each with the marker
	// of the line its first frame must be.
	stacks [][2]string
	tasks  []string // the tasks tracekit.report.tasks must name
	// after is the span whose start (plus afterBy) or end the event cannot
	// precede: a hang is reported during the wait, a long hold on release.
	after   string
	afterBy time.Duration
	atEnd   bool
}

// checkLockReports checks the tracekit.report events: exactly one on each
// of the spans below, none elsewhere.
func checkLockReports(t *testing.T, tr *jaeger.Trace, res lockProgResult, lines map[string]int) {
	t.Helper()
	ms := func(d time.Duration) string { return strconv.Itoa(int(d.Milliseconds())) + "ms" }
	q := regexp.QuoteMeta
	// at is where a report's message places the line with a marker.
	at := func(marker string) string { return "lockprog/main.go:" + strconv.Itoa(lines[marker]) }
	want := []wantReport{{
		span: "holder", kind: "long-hold",
		attrs:   map[string]string{"tracekit.lock.name": "inventory"},
		message: regexp.MustCompile(`^"inventory" was held for \d+ms \(long-hold threshold ` + ms(lockLongHold) + `\)$`),
		stacks:  [][2]string{{`"inventory" released here`, "unlock:inventory"}},
		after:   "lock.hold inventory", atEnd: true,
	}, {
		span: "waiter", kind: "hang",
		attrs: map[string]string{"tracekit.lock.name": "inventory"},
		message: regexp.MustCompile(`^lock "inventory" has waited \d+ms \(hang timeout ` + ms(lockHang) + `\); held by task ` +
			strconv.FormatUint(res.Tasks["holder"], 10) + ` "holder" \(goroutine \d+\)`),
		stacks: [][2]string{{"waiter (lock inventory)", "lock:waiter"}, {`holder acquired "inventory" here`, "lock:holder"}},
		tasks:  []string{"holder"},
		after:  "lock.wait inventory", afterBy: lockHang,
	}, {
		span: "writer", kind: "long-hold",
		attrs:   map[string]string{"tracekit.lock.name": "catalog"},
		message: regexp.MustCompile(`^"catalog" was held for \d+ms \(long-hold threshold ` + ms(lockLongHold) + `\)$`),
		stacks:  [][2]string{{`"catalog" released here`, "unlock:catalog"}},
		after:   "lock.hold catalog", atEnd: true,
	}, {
		span: lockFuncSpan, kind: "hang",
		attrs: map[string]string{"tracekit.lock.name": "catalog"},
		message: regexp.MustCompile(`^read lock "catalog" has waited \d+ms \(hang timeout ` + ms(lockHang) + `\); held by task ` +
			strconv.FormatUint(res.Tasks["writer"], 10) + ` "writer" \(goroutine \d+\)`),
		stacks: [][2]string{{"waiter (read lock catalog)", "rlock:catalog"}, {`holder acquired "catalog" here`, "lock:writer"}},
		tasks:  []string{"writer"},
		after:  "lock.wait catalog", afterBy: lockHang,
	}, {
		span: "consumer", kind: "hang",
		attrs:   map[string]string{"tracekit.chan.name": "orders"},
		message: regexp.MustCompile(`^receive from "orders" has waited \d+ms \(hang timeout ` + ms(lockHang) + `\)$`),
		stacks:  [][2]string{{"waiter (receive from orders)", "recv:orders"}},
		after:   "chan.recv orders", afterBy: lockHang,
	}, {
		span: "shipper", kind: "hang",
		attrs:   map[string]string{"tracekit.chan.name": "acks"},
		message: regexp.MustCompile(`^send on "acks" has waited \d+ms \(hang timeout ` + ms(lockHang) + `\)$`),
		stacks:  [][2]string{{"waiter (send on acks)", "send:acks"}},
		after:   "chan.send acks", afterBy: lockHang,
	}, {
		span: "stocker", kind: "hang",
		attrs:   map[string]string{"tracekit.chan.name": "main.awaitRestock"},
		message: regexp.MustCompile(`^receive from "main\.awaitRestock" has waited \d+ms \(hang timeout ` + ms(lockHang) + `\)$`),
		stacks:  [][2]string{{"waiter (receive from main.awaitRestock)", "recv:restock"}},
		after:   "chan.recv main.awaitRestock", afterBy: lockHang,
	}, {
		span: "refund", kind: "lock-order",
		attrs: map[string]string{"tracekit.lock.name": "accounts"},
		message: regexp.MustCompile(`^` + q(fmt.Sprintf(`lock order inversion: "ledger" (%s) then "accounts" (%s) here, "accounts" (%s) then "ledger" (%s) earlier;`,
			at("lock:refund-ledger"), at("lock:refund-accounts"), at("lock:transfer-accounts"), at("lock:transfer-ledger"))) +
			` two goroutines taking these paths at once deadlock$`),
		stacks: [][2]string{
			{`earlier: "accounts" acquired here`, "lock:transfer-accounts"},
			{`earlier: "ledger" acquired here while "accounts" was held`, "lock:transfer-ledger"},
			{`now: "ledger" acquired here`, "lock:refund-ledger"},
			{`now: "accounts" requested here while "ledger" is held`, "lock:refund-accounts"},
		},
	}}

	bySpan := map[string]wantReport{}
	for _, w := range want {
		bySpan[w.span] = w
	}
	for _, s := range tr.Spans {
		var events []jaeger.Log
		for _, l := range s.Logs {
			if ev, _ := l.Field("event"); ev == "tracekit.report" {
				events = append(events, l)
			}
		}
		w, ok := bySpan[s.OperationName]
		if !ok {
			for _, l := range events {
				t.Errorf("%s: unexpected tracekit.report event %v", s.OperationName, l.Fields)
			}
			continue
		}
		if len(events) != 1 {
			t.Errorf("%s: %d tracekit.report events, want one (%s): %+v", s.OperationName, len(events), w.kind, events)
			continue
		}
		checkReport(t, tr, s, events[0], w, res, lines)
	}
}

func checkReport(t *testing.T, tr *jaeger.Trace, s jaeger.Span, ev jaeger.Log, w wantReport, res lockProgResult, lines map[string]int) {
	t.Helper()
	where := s.OperationName + " " + w.kind + " report"
	if v, _ := ev.Field("tracekit.report.kind"); v != w.kind {
		t.Errorf("%s: tracekit.report.kind = %v, want %s", where, v, w.kind)
	}
	if v, _ := ev.Field("message"); !w.message.MatchString(fmt.Sprint(v)) {
		t.Errorf("%s: message = %q, want a match for %s", where, v, w.message)
	}
	for k, want := range w.attrs {
		if v, _ := ev.Field(k); v != want {
			t.Errorf("%s: %s = %v, want %s", where, k, v, want)
		}
	}
	// A report names a lock or a channel, never both.
	for _, k := range []string{"tracekit.lock.name", "tracekit.chan.name"} {
		if _, ok := w.attrs[k]; ok {
			continue
		}
		if v, ok := ev.Field(k); ok {
			t.Errorf("%s: has %s = %v", where, k, v)
		}
	}

	// tracekit.report.tasks, an int64 list, arrives in Jaeger's v1 model
	// (which has no arrays) as its JSON text.
	v, ok := ev.Field("tracekit.report.tasks")
	if len(w.tasks) == 0 {
		if ok {
			t.Errorf("%s: has tracekit.report.tasks = %v", where, v)
		}
	} else {
		var ids []string
		for _, name := range w.tasks {
			ids = append(ids, strconv.FormatUint(res.Tasks[name], 10))
		}
		if want := "[" + strings.Join(ids, ",") + "]"; v != want {
			t.Errorf("%s: tracekit.report.tasks = %#v, want %s (the ids of %v)", where, v, want, w.tasks)
		}
	}

	stacks, _ := ev.Field("stacks")
	checkStacks(t, where, fmt.Sprint(stacks), w.stacks, lines)

	// An event's time is a reading of the wall clock; span ends, and the
	// times of lock and channel spans, are a wall-clock reading plus a
	// monotonic interval. The two drift apart while the wall clock is slewed,
	// by microseconds over the program's life: allow a millisecond.
	skew := time.Millisecond.Microseconds()
	if w.after != "" {
		op, _ := tr.SpanByName(w.after)
		least := op.StartTime + w.afterBy.Microseconds()
		if w.atEnd {
			least = op.StartTime + op.Duration
		}
		if ev.Timestamp < least-skew {
			t.Errorf("%s at %d µs: before %d µs (%s: start %d, duration %d µs)", where, ev.Timestamp, least, w.after, op.StartTime, op.Duration)
		}
	}
	if ev.Timestamp < s.StartTime-skew || ev.Timestamp > s.StartTime+s.Duration+skew {
		t.Errorf("%s at %d µs: outside its span [%d, %d]", where, ev.Timestamp, s.StartTime, s.StartTime+s.Duration)
	}
}

// checkStacks checks the stacks text of a report: blocks separated by a
// blank line, each its label and a colon, then function and "\tfile:line"
// pairs as a goroutine dump prints them, the first pair being lockprog's
// line with the given marker.
func checkStacks(t *testing.T, where, text string, want [][2]string, lines map[string]int) {
	t.Helper()
	blocks := strings.Split(strings.TrimRight(text, "\n"), "\n\n")
	if len(blocks) != len(want) {
		t.Errorf("%s: %d stacks, want %d:\n%s", where, len(blocks), len(want), text)
		return
	}
	for i, b := range blocks {
		label, marker := want[i][0], want[i][1]
		ls := strings.Split(b, "\n")
		if ls[0] != label+":" {
			t.Errorf("%s: stack %d is labelled %q, want %q", where, i, ls[0], label+":")
		}
		if len(ls) < 3 || len(ls)%2 != 1 {
			t.Errorf("%s: stack %q is not function/file:line pairs:\n%s", where, label, b)
			continue
		}
		for j := 1; j < len(ls); j += 2 {
			if strings.HasPrefix(ls[j], "\t") || !strings.HasPrefix(ls[j+1], "\t") {
				t.Errorf("%s: stack %q frame %d is not a function and a \\tfile:line: %q, %q", where, label, j/2, ls[j], ls[j+1])
			}
		}
		wantLoc := "internal/lockprog/main.go:" + strconv.Itoa(lines[marker])
		if !strings.HasPrefix(ls[1], "main.") || !strings.HasSuffix(ls[2], wantLoc) {
			t.Errorf("%s: stack %q starts at %s %s, want a function of package main at %s (// %s)",
				where, label, ls[1], strings.TrimSpace(ls[2]), wantLoc, marker)
		}
	}
}

// checkNoReports checks that no span carries a tracekit.report event.
func checkNoReports(t *testing.T, tr *jaeger.Trace) {
	t.Helper()
	for _, s := range tr.Spans {
		for _, l := range s.Logs {
			if ev, _ := l.Field("event"); ev == "tracekit.report" {
				t.Errorf("%s: unexpected tracekit.report event %v", s.OperationName, l.Fields)
			}
		}
	}
}

// checkLockTypesV3 reads the trace again from Jaeger's v3 API, which keeps
// OpenTelemetry's attribute types (the v1 API turns lists into text), and
// checks the types docs/attributes.md gives: tracekit.wait.ns and
// tracekit.hold.ns are ints, and tracekit.report.tasks is a list of ints,
// the ids of the tasks holding the lock, on each hang report about a
// lock and on no other event.
func checkLockTypesV3(ctx context.Context, t *testing.T, srv *jaeger.Server, res lockProgResult) {
	t.Helper()
	body, err := srv.V3Trace(ctx, res.TraceID)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("decode v3 trace: %v", err)
	}
	traces, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(resp.Result)
	if err != nil {
		t.Fatalf("decode v3 trace as OTLP JSON: %v", err)
	}
	wantTasks := map[string][]int64{
		"waiter":     {int64(res.Tasks["holder"])},
		lockFuncSpan: {int64(res.Tasks["writer"])},
	}
	var ints, lists int
	rss := traces.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				for _, key := range []string{"tracekit.wait.ns", "tracekit.hold.ns"} {
					if v, ok := sp.Attributes().Get(key); ok {
						ints++
						if v.Type() != pcommon.ValueTypeInt {
							t.Errorf("v3 %s: %s is a %s, want an int", sp.Name(), key, v.Type())
						}
					}
				}
				evs := sp.Events()
				for e := range evs.Len() {
					v, ok := evs.At(e).Attributes().Get("tracekit.report.tasks")
					if !ok {
						continue
					}
					lists++
					want, expected := wantTasks[sp.Name()]
					if !expected {
						t.Errorf("v3 %s: event %s has tracekit.report.tasks %s", sp.Name(), evs.At(e).Name(), v.AsString())
						continue
					}
					var got []int64
					if v.Type() == pcommon.ValueTypeSlice {
						for n := range v.Slice().Len() {
							if el := v.Slice().At(n); el.Type() == pcommon.ValueTypeInt {
								got = append(got, el.Int())
							} else {
								got = append(got, -1)
							}
						}
					}
					if v.Type() != pcommon.ValueTypeSlice || !slices.Equal(got, want) {
						t.Errorf("v3 %s: tracekit.report.tasks = %s (%s), want the int list %v", sp.Name(), v.AsString(), v.Type(), want)
					}
				}
			}
		}
	}
	if ints != len(lockOpSpans) || lists != len(wantTasks) {
		t.Errorf("v3 trace: %d wait or hold attributes and %d task lists, want %d and %d", ints, lists, len(lockOpSpans), len(wantTasks))
	}
}
