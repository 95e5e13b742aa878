package exectrace_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tracekit-go/tracekit/internal/exectrace"
	"github.com/tracekit-go/tracekit/internal/exectrace/fivespans"
	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// Each span of the five-spans workload is found from its markers on the
// goroutine it ran on, spends most of its time in the state the workload
// put it in, and its blocked stretch names the goroutine and span that
// ended it; the workload knows all of these without reading the trace.
func TestFiveSpans(t *testing.T) {
	rec := record(t)
	tr, err := exectrace.Read(bytes.NewReader(rec.Exec), "five.trace", 0)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Warnings.Any() {
		t.Errorf("warnings: %v", tr.Warnings)
	}
	if !tr.HasWall {
		t.Error("no wall clock in a trace of this Go version")
	}
	rt, matched := tr.Join(nil)
	if matched != len(rec.Did.Spans) {
		t.Errorf("joined %d spans, the workload made %d", matched, len(rec.Did.Spans))
	}
	byName := map[string]*exectrace.Span{}
	for i := range tr.Spans {
		byName[tr.Spans[i].Name] = &tr.Spans[i]
	}
	for name, did := range rec.Did.Spans {
		sp := byName[name]
		if sp == nil {
			t.Errorf("%s: not found in the markers", name)
			continue
		}
		if sp.ID != spans.SpanID(did.ID) || sp.TraceID != spans.TraceID(did.TraceID) {
			t.Errorf("%s: IDs %v/%v, want %v/%v", name, sp.TraceID, sp.ID, did.TraceID, did.ID)
		}
		if sp.Goroutine != did.Goroutine {
			t.Errorf("%s: goroutine %d, the workload ran it on %d", name, sp.Goroutine, did.Goroutine)
		}
		if name != fivespans.Root && sp.Parent != spans.SpanID(rec.Did.Spans[fivespans.Root].ID) && sp.Kind == "goroutine" {
			t.Errorf("%s: parent %v, want the root's %v", name, sp.Parent, rec.Did.Spans[fivespans.Root].ID)
		}
	}
	for name, want := range fivespans.Want {
		sp := byName[name]
		if sp == nil {
			continue
		}
		r := rt.Of(sp.ID)
		st := r.States()
		if got := st.Dominant().String(); got != want {
			t.Errorf("%s: dominant state %s, want %s (%v)", name, got, want, st)
		}
		if covered := st.Total(); covered != sp.End-sp.Start {
			t.Errorf("%s: states cover %d ns of its %d", name, covered, sp.End-sp.Start)
		}
	}
	slow := fivespans.Slow.Nanoseconds()
	if sp := byName[fivespans.CPU]; sp != nil && runtime.GOOS == "linux" {
		// The thread's CPU clock counted at least Slow while the
		// goroutine was on it; half of it is a bound that holds however
		// the OS shares the thread.
		if st := rt.Of(sp.ID).States(); st[spans.StateRunning] < slow/2 {
			t.Errorf("%s: %d ns running, the workload used %d ns of CPU", fivespans.CPU, st[spans.StateRunning], slow)
		}
	}
	if sp := byName[fivespans.Syscall]; sp != nil {
		if st := rt.Of(sp.ID).States(); st[spans.StateSyscall] < slow {
			t.Errorf("%s: %d ns in system calls, the workload slept %d ns in one", fivespans.Syscall, st[spans.StateSyscall], slow)
		}
	}
	// The waits: each lasted at least Slow after the waiter blocked, and
	// the goroutine and span that ended it are the workload's holder and
	// sender.
	for _, w := range []struct{ waiter, by, label string }{
		{fivespans.LockWait, fivespans.Holder, "lock: orders"},
		{"lock.wait orders", fivespans.Holder, "lock: orders"},
		{fivespans.Recv, fivespans.Sender, "chan recv: jobs"},
		{"chan.recv jobs", fivespans.Sender, "chan recv: jobs"},
	} {
		sp := byName[w.waiter]
		if sp == nil {
			continue
		}
		by := rec.Did.Spans[w.by]
		var longest spans.Stretch
		for _, s := range rt.Of(sp.ID).Stretches {
			if s.End-s.Start > longest.End-longest.Start {
				longest = s
			}
		}
		if longest.End-longest.Start < slow || longest.Label != w.label ||
			longest.ByGoroutine != by.Goroutine || longest.BySpan != spans.SpanID(by.ID) {
			t.Errorf("%s: longest stretch %q of %d ns ended by goroutine %d in span %v; want %q of at least %d ns ended by goroutine %d in %s (%v)",
				w.waiter, longest.Label, longest.End-longest.Start, longest.ByGoroutine, longest.BySpan,
				w.label, slow, by.Goroutine, w.by, by.ID)
		}
	}
}

// With the SDK's span file, the spans are matched by ID and their states
// put on the span file's clock: within each span's own interval.
func TestJoinSpanFile(t *testing.T) {
	rec := record(t)
	tr, err := exectrace.Read(bytes.NewReader(rec.Exec), "five.trace", 0)
	if err != nil {
		t.Fatal(err)
	}
	set, err := spans.Read(bytes.NewReader(rec.Spans), "five.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	rt, matched := tr.Join(set)
	if matched != set.Len() {
		t.Errorf("matched %d of the span file's %d spans", matched, set.Len())
	}
	err = set.Each(func(x *spans.Trace) error {
		for i := range x.Spans {
			sp := &x.Spans[i]
			r := rt.Of(sp.ID)
			if r == nil {
				t.Errorf("%s: no states", sp.Name)
				continue
			}
			for _, s := range r.Stretches {
				if s.Start < sp.Start || s.End > sp.End || s.End <= s.Start {
					t.Errorf("%s [%d, %d]: stretch %s [%d, %d] outside it", sp.Name, sp.Start, sp.End, s.Label, s.Start, s.End)
					break
				}
			}
			if want, ok := fivespans.Want[sp.Name]; ok {
				st := r.States()
				if got := st.Dominant().String(); got != want {
					t.Errorf("%s: dominant state %s, want %s", sp.Name, got, want)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// What is not an execution trace, or breaks before its first complete
// part, fails with a parse error; no marker at all reads as no spans.
func TestReadErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		err  error
	}{
		{"empty", "", flame.ErrFormat},
		{"not a trace", "main;work 1\n", flame.ErrFormat},
		{"old format", "go 1.21 trace\x00\x00\x00", flame.ErrFormat},
		{"header only", "go 1.26 trace\x00\x00\x00", flame.ErrEmpty},
		{"header and junk", "go 1.26 trace\x00\x00\x00\x05\xff\xff\xff\xff\xff\xff\x01", flame.ErrCorrupt},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := exectrace.Read(bytes.NewReader([]byte(tt.in)), "x.trace", 0)
			var pe *flame.ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tt.err) || tr != nil {
				t.Fatalf("got %v, %v; want a parse error with %v", tr, err, tt.err)
			}
		})
	}
}

// A trace taken with go test -trace, of a test that runs the workload, is
// read as one written by runtime/trace.Start: the markers give the spans and
// their states.
func TestGoTestTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a test binary")
	}
	goBin, err := exec.LookPath(filepath.Join(runtime.GOROOT(), "bin", "go"))
	if err != nil {
		t.Skip("no go command:", err)
	}
	out := filepath.Join(t.TempDir(), "test.trace")
	cmd := exec.Command(goBin, "test", "-count=1", "-run", "^TestRun$", "-trace", out, "./fivespans")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test -trace: %v\n%s", err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := exectrace.Read(f, "test.trace", 0)
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := tr.Join(nil)
	byName := map[string]*exectrace.Span{}
	for i := range tr.Spans {
		byName[tr.Spans[i].Name] = &tr.Spans[i]
	}
	for name, want := range fivespans.Want {
		sp := byName[name]
		if sp == nil {
			t.Errorf("%s: not in the trace", name)
			continue
		}
		if st := rt.Of(sp.ID).States(); st.Dominant().String() != want {
			t.Errorf("%s: dominant state %v, want %s (%v)", name, st.Dominant(), want, st)
		}
	}
	if w, h := byName[fivespans.LockWait], byName[fivespans.Holder]; w != nil && h != nil {
		released := false
		for _, s := range rt.Of(w.ID).Stretches {
			released = released || s.State == spans.StateLock && s.BySpan == h.ID && s.ByGoroutine == h.Goroutine
		}
		if !released {
			t.Errorf("%s: no lock wait released by %s: %+v", fivespans.LockWait, fivespans.Holder, rt.Of(w.ID).Stretches)
		}
	}
}
