package spans

import (
	"bytes"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/tracekit-go/tracekit/internal/flame"
)

func TestSpanCPU(t *testing.T) {
	fn := &profile.Function{ID: 1, Name: "main.work"}
	loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: fn}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Function:   []*profile.Function{fn},
		Location:   []*profile.Location{loc},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{loc}, Value: []int64{1, 10_000_000}, Label: map[string][]string{"span_id": {"0000000000000002"}}},
			{Location: []*profile.Location{loc}, Value: []int64{2, 20_000_000}, Label: map[string][]string{"span_id": {"0000000000000002"}, "span_name": {"A"}}},
			{Location: []*profile.Location{loc}, Value: []int64{1, 5_000_000}, Label: map[string][]string{"span_id": {"0000000000000001"}}},
			{Location: []*profile.Location{loc}, Value: []int64{1, 7_000_000}},                                                // no span
			{Location: []*profile.Location{loc}, Value: []int64{1, 1_000_000}, Label: map[string][]string{"span_id": {"zz"}}}, // unusable
		},
	}
	// Round-trip through the wire format, as a profile file would arrive.
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	cpu, err := ReadSpanCPU(p, "cpu")
	if err != nil {
		t.Fatal(err)
	}
	if cpu.Total != 43_000_000 || cpu.NoSpan != 8_000_000 || cpu.Spans() != 2 || cpu.Unit != "nanoseconds" {
		t.Errorf("total %d, no span %d, spans %d, unit %s", cpu.Total, cpu.NoSpan, cpu.Spans(), cpu.Unit)
	}
	if _, err := ReadSpanCPU(p, "alloc_space"); err == nil {
		t.Error("missing sample type accepted")
	}
	// Two traces with the same shape: span 2 (A) ran 30 ms on CPU, span 1
	// (R) 5 ms; the second trace's spans have no samples.
	agg := NewAggregator(WithSpanCPU(cpu))
	agg.Add(Assemble([]Span{sp(1, 0, "R", 0, 100e6), sp(2, 1, "A", 0, 50e6)}))
	other := []Span{sp(3, 0, "R", 0, 100e6), sp(4, 3, "A", 0, 50e6)}
	agg.Add(Assemble(other))
	got := map[string]int64{}
	agg.Tree().Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
		if n != flame.Root {
			got[agg.Tree().Name(n)] = agg.CPU(n)
		}
		return true
	})
	if got["svc: R"] != 5_000_000 || got["svc: A"] != 30_000_000 {
		t.Errorf("CPU by frame %v", got)
	}
}
