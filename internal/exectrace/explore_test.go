package exectrace_test

import (
	"bytes"
	"testing"

	"github.com/tracekit-go/tracekit/internal/exectrace"
)

func TestExplore(t *testing.T) {
	exec, sf := record(t)
	t.Logf("exec %d bytes, spans %d bytes", len(exec), len(sf))
	tr, err := exectrace.Read(bytes.NewReader(exec), "x")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("events %d warnings %v wall %v", tr.Events, tr.Warnings, tr.HasWall)
	rt, _ := tr.Join(nil)
	for _, sp := range tr.Spans {
		r := rt.Of(sp.ID)
		st := r.States()
		t.Logf("%-16s g%d %v dom=%v %v", sp.Name, sp.Goroutine, sp.End-sp.Start, st.Dominant(), st)
		for _, s := range r.Stretches {
			if s.State != 0 && s.End-s.Start > 1e6 {
				t.Logf("    %v %s by g%d %v", s.End-s.Start, s.Label, s.ByGoroutine, s.BySpan)
			}
		}
	}
}
