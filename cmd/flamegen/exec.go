package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tracekit-go/tracekit/internal/exectrace"
	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// spanSource is what the span inputs of a run gave: the spans, the name
// to report them by, and, with an execution trace, what it saw of them.
type spanSource struct {
	set  *spans.Set
	name string
	rt   spans.Runtime // nil without an execution trace
	// next is the input after a span file, opened to see whether it is an
	// execution trace and found not to be: its reader takes it over (a
	// URL is not fetched twice, standard input not read twice).
	next *input
}

// readSpans reads the span inputs that lead a run's inputs, first being
// open already: a span file, a Go execution trace whose marked spans stand
// in for one, or a span file followed by an execution trace. It returns
// the inputs after them (the profiles; the first of them opened already as
// out.next, which the caller must finish) and adds [spans.WithRuntime] to sp
// when there is an execution trace.
func readSpans(src *sources, first *input, rest []string, opts []spans.Option, sp *spanOptions, stderr io.Writer) (spanSource, []string, error) {
	var out spanSource
	out.name = first.name
	var xt *exectrace.Trace
	var err error
	if first.kind == kindExec {
		if xt, err = readExec(first, src.maxSize, sp.quiet, stderr); err != nil {
			return out, nil, err
		}
		out.set = xt.Set()
	} else {
		if out.set, err = spans.Read(first.r, first.name, opts...); err != nil {
			return out, nil, err
		}
		// An execution trace may follow the span file.
		if len(rest) > 0 {
			in, err := src.open(rest[0])
			if err != nil {
				return out, nil, err
			}
			if in.kind != kindExec {
				out.next = in
				return out, rest, nil
			}
			xt, err = readExec(in, src.maxSize, sp.quiet, stderr)
			in.done()
			if err != nil {
				return out, nil, err
			}
			rest = rest[1:]
		}
	}
	if xt == nil {
		return out, rest, nil
	}
	var matched int
	if first.kind == kindExec {
		out.rt, matched = xt.Join(nil)
	} else {
		out.rt, matched = xt.Join(out.set)
		out.name += " + execution trace"
		if matched == 0 && !sp.quiet {
			fmt.Fprintf(stderr, "flamegen: %s: no span of %s is marked in the execution trace: no runtime states\n", first.name, first.name)
		}
	}
	if matched == 0 && first.kind == kindExec {
		return out, nil, &flame.ParseError{Input: first.name, Err: flame.ErrEmpty,
			Expected: "spans marked by tracekit in the execution trace (log events of category tracekit.span)"}
	}
	sp.analysis = append(slices.Clip(sp.analysis), spans.WithRuntime(out.rt))
	sp.rt = out.rt
	return out, rest, nil
}

// readExec reads an execution trace, at most max bytes of it, and reports
// its warnings on stderr.
func readExec(in *input, max int64, quiet bool, stderr io.Writer) (*exectrace.Trace, error) {
	xt, err := exectrace.Read(in.r, in.name, max)
	if err != nil {
		return nil, err
	}
	if w := xt.Warnings; w.Any() && !quiet {
		fmt.Fprintf(stderr, "flamegen: %s: warning: %s\n", in.name, w)
	}
	return xt, nil
}

// statesLine says where a frame's or span's time went, e.g. "running
// 12ms (40%), lock 18ms (60%)", states of no time left out.
func statesLine(st spans.StateTimes) string {
	total := st.Total()
	var parts []string
	for s := range spans.NumStates {
		if v := st[s]; v > 0 {
			parts = append(parts, fmt.Sprintf("%s %s (%s)", s, dur(v), pctOf(v, total)))
		}
	}
	return strings.Join(parts, ", ")
}

// waitLine says what a frame waited on most, and who ended the wait.
func waitLine(w spans.Wait) string {
	s := w.Label + " " + dur(w.Total)
	if w.By != "" {
		s += ", released by " + w.By
		if w.ByTotal < w.Total {
			s += " (" + dur(w.ByTotal) + " of it)"
		}
	}
	return s
}

// statePhrase says what a goroutine in each state was doing, for the
// tooltips of state frames.
var statePhrase = [spans.NumStates]string{
	spans.StateRunning:  "running",
	spans.StateRunnable: "waiting for a P (runnable)",
	spans.StateSyscall:  "in system calls",
	spans.StateLock:     "blocked on a lock",
	spans.StateChannel:  "blocked on a channel",
	spans.StateSleep:    "sleeping",
	spans.StateGC:       "stopped by or assisting the GC",
	spans.StateOther:    "blocked on something else (network, ...)",
}
