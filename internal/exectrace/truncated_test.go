package exectrace_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tracekit-go/tracekit/internal/exectrace"
	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/spans"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A trace cut anywhere reads as a parse error before its first complete
// part, and after it as the spans of the parts read with a warning (that it
// was cut, or that spans were still open at its end); never as a panic or a
// silent partial result.
func TestTruncated(t *testing.T) {
	for _, name := range []string{"testdata/five.trace", "testdata/five-flight.trace"} {
		t.Run(name, func(t *testing.T) {
			full := readFile(t, name)
			whole, err := exectrace.Read(bytes.NewReader(full), name, 0)
			if err != nil {
				t.Fatal(err)
			}
			if whole.Warnings.Cut != "" {
				t.Fatalf("the whole file reads as cut: %v", whole.Warnings)
			}
			partial := 0
			for _, n := range cuts(len(full)) {
				tr, err := exectrace.Read(bytes.NewReader(full[:n]), name, 0)
				if err != nil {
					var pe *flame.ParseError
					if !errors.As(err, &pe) {
						t.Fatalf("cut at %d: %v is not a parse error", n, err)
					}
					continue
				}
				// A cut exactly between two parts reads as a shorter whole
				// trace, but the workload's root span is still open there.
				if !tr.Warnings.Any() && tr.Events != whole.Events {
					t.Errorf("cut at %d of %d: %d of %d events and no warning", n, len(full), tr.Events, whole.Events)
				}
				if tr.Events > whole.Events || len(tr.Spans) > len(whole.Spans) {
					t.Errorf("cut at %d: more than the whole file (%d events, %d spans)", n, tr.Events, len(tr.Spans))
				}
				if tr.Warnings.Cut != "" {
					partial++
				}
				checkJoin(t, tr, nil)
			}
			if partial == 0 {
				t.Error("no cut gave a partial result")
			}
			// Cut inside its first part, the error names where it broke.
			_, err = exectrace.Read(bytes.NewReader(full[:100]), name, 0)
			if err == nil || !strings.Contains(err.Error(), "offset 100: corrupt input") {
				t.Errorf("cut at 100: %v, want corrupt input at offset 100", err)
			}
		})
	}
}

// cuts returns about 200 lengths to cut a file of n bytes at, the last few
// bytes among them.
func cuts(n int) []int {
	var out []int
	for i := range 200 {
		out = append(out, i*n/200)
	}
	return append(out, n-1, n-2, n-16)
}

// checkJoin joins tr with set (nil: its own spans) and checks what a
// consumer of the runtime states relies on: each span's stretches are in
// time order, apart, within the span, and sum to no more than it.
func checkJoin(t testing.TB, tr *exectrace.Trace, set *spans.Set) spans.Runtime {
	t.Helper()
	rt, matched := tr.Join(set)
	if matched != len(rt) {
		t.Errorf("joined %d spans, the runtime holds %d", matched, len(rt))
	}
	bounds := map[spans.SpanID][2]int64{}
	if set == nil {
		for _, sp := range tr.Spans {
			bounds[sp.ID] = [2]int64{sp.Start, sp.End}
		}
	} else {
		set.Each(func(x *spans.Trace) error {
			for _, sp := range x.Spans {
				bounds[sp.ID] = [2]int64{sp.Start, max(sp.End, sp.Start)}
			}
			return nil
		})
	}
	for id, r := range rt {
		b, ok := bounds[id]
		if !ok {
			t.Errorf("span %v joined but not among the spans", id)
			continue
		}
		at := b[0]
		for _, s := range r.Stretches {
			if s.Start < at || s.End <= s.Start || s.End > b[1] || s.State >= spans.NumStates {
				t.Fatalf("span %v [%d, %d]: stretch %+v out of order or outside it", id, b[0], b[1], s)
			}
			at = s.End
		}
	}
	return rt
}

// FuzzJoin reads any bytes as an execution trace and joins what it finds
// with its own spans and with a span file's, then runs every analysis that
// uses the runtime states: none may panic, and the joined states keep their
// invariants.
func FuzzJoin(f *testing.F) {
	for _, name := range []string{"testdata/one.trace", "testdata/five.trace", "testdata/five-flight.trace"} {
		b := readFile(f, name)
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte("go 1.26 trace\x00\x00\x00"))
	set, err := spans.Read(bytes.NewReader(readFile(f, "testdata/five.jsonl")), "five.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := exectrace.Read(bytes.NewReader(b), "fuzz.trace", 1<<20)
		if err != nil {
			var pe *flame.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%v is not a parse error", err)
			}
			return
		}
		_ = tr.Warnings.String()
		for _, s := range []*spans.Set{nil, set} {
			rt := checkJoin(t, tr, s)
			if s == nil {
				s = tr.Set()
			}
			analyse(t, s, rt)
		}
	})
}

// analyse runs the analyses that take runtime states over set.
func analyse(t testing.TB, set *spans.Set, rt spans.Runtime) {
	t.Helper()
	agg := spans.NewAggregator(spans.WithRuntime(rt))
	cp := spans.NewCriticalPaths(spans.WithRuntime(rt))
	err := set.Each(func(x *spans.Trace) error {
		spans.Layout(x, spans.WithRuntime(rt))
		if err := cp.Add(x); err != nil {
			return err
		}
		return agg.Add(x)
	})
	if err != nil {
		return // times that do not add up in int64: refused, as without states
	}
	agg.NestStates()
	for _, r := range spans.Report(agg, cp) {
		if r.States.Total() < 0 {
			t.Fatalf("%v: negative states %v", r.Frame, r.States)
		}
	}
}
