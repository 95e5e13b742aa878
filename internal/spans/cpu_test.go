package spans

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
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

// cpuProfile returns a profile of CPU samples (nanoseconds), each with a
// stack (root first, comma-separated) and an optional span_id.
func cpuProfile(t testing.TB, samples []struct {
	stack, span string
	v           int64
}) *SpanCPU {
	t.Helper()
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "cpu", Unit: "nanoseconds"}}}
	fns := map[string]*profile.Location{}
	for _, s := range samples {
		var locs []*profile.Location
		for _, name := range strings.Split(s.stack, ",") {
			loc, ok := fns[name]
			if !ok {
				fn := &profile.Function{ID: uint64(len(fns) + 1), Name: name}
				loc = &profile.Location{ID: fn.ID, Line: []profile.Line{{Function: fn}}}
				fns[name] = loc
				p.Function = append(p.Function, fn)
				p.Location = append(p.Location, loc)
			}
			locs = append([]*profile.Location{loc}, locs...) // leaf first
		}
		ps := &profile.Sample{Location: locs, Value: []int64{s.v}}
		if s.span != "" {
			ps.Label = map[string][]string{"span_id": {s.span}}
		}
		p.Sample = append(p.Sample, ps)
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadSpanCPU(p, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNestCPU(t *testing.T) {
	// R runs 0-100, A 10-50 under it. R's 5 of CPU fit in its self time
	// (60); A's 60 of CPU (parallel goroutines) are scaled into its 40.
	cpu := cpuProfile(t, []struct {
		stack, span string
		v           int64
	}{
		{"main.main,main.serve", "0000000000000001", 5},
		{"main.main,main.work,main.hash", "0000000000000002", 45},
		{"main.main,main.work", "0000000000000002", 15},
		{"runtime.gcBgMarkWorker", "", 7},
		{"main.other", "00000000000000ff", 3}, // a span not in the traces
	})
	for _, w := range []Weight{WeightWall, WeightSum} {
		t.Run(w.String(), func(t *testing.T) {
			agg := NewAggregator(WithWeight(w), WithSpanCPU(cpu), WithCPUStacks())
			agg.Add(Assemble([]Span{sp(1, 0, "R", 0, 100), sp(2, 1, "A", 10, 50)}))
			agg.NestCPU()
			agg.NestCPU() // the second call does nothing
			want := strings.Join([]string{
				"total 110 self 0\n(no span) 0",
				"(no span);main.other 3",
				"(no span);runtime.gcBgMarkWorker 7",
				"svc: R 55",
				"svc: R;main.main 0",
				"svc: R;main.main;main.serve 5",
				"svc: R;svc: A 0",
				"svc: R;svc: A;main.main 0",
				"svc: R;svc: A;main.main;main.work 10",
				"svc: R;svc: A;main.main;main.work;main.hash 30",
			}, "\n")
			tr := agg.Tree()
			if got := folded(tr); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if tr.Total() != 110 {
				t.Errorf("root %d, want 100 of wall time and 10 of CPU outside spans", tr.Total())
			}
			tr.Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
				if n != flame.Root && tr.Self(n) < 0 {
					t.Errorf("%s: negative self %d", tr.Name(n), tr.Self(n))
				}
				if tr.Name(n) == "svc: A" && (agg.CPU(n) != 60 || tr.Kind(n) != flame.KindSpan) {
					t.Errorf("A: CPU %d kind %d", agg.CPU(n), tr.Kind(n))
				}
				if tr.Name(n) == "main.hash" && tr.Kind(n) != flame.KindCPU {
					t.Errorf("main.hash kind %d", tr.Kind(n))
				}
				return true
			})
		})
	}
}

// BenchmarkNestCPU aggregates 1,000 traces of 20 spans with a profile of
// three 8-frame samples per span, nesting the stacks (nest) beside the same
// aggregation with the CPU sums only (sums), the baseline.
func BenchmarkNestCPU(b *testing.B) {
	var traces []*Trace
	var samples []struct {
		stack, span string
		v           int64
	}
	for tr := range 1000 {
		var ss []Span
		for i := range 20 {
			parent := -1
			if i > 0 {
				parent = (i - 1) / 3
			}
			sp := shapeSpan(tr*20+i, -1, int64(i), 100)
			if parent >= 0 {
				sp = shapeSpan(tr*20+i, tr*20+parent, int64(i), 100-int64(i))
			}
			sp.Name = fmt.Sprintf("step %d", i)
			sp.TraceID[1], sp.TraceID[2] = byte(tr), byte(tr>>8)
			ss = append(ss, sp)
			for k := range 3 {
				samples = append(samples, struct {
					stack, span string
					v           int64
				}{fmt.Sprintf("main.main,main.serve,main.handle%d,lib.a,lib.b,lib.c%d,runtime.x,runtime.y%d", i%5, k, i), sp.ID.String(), 1})
			}
		}
		traces = append(traces, Assemble(ss))
	}
	cpu := cpuProfile(b, samples)
	for _, bc := range []struct {
		name string
		opts []AnalysisOption
	}{{"sums", []AnalysisOption{WithSpanCPU(cpu)}}, {"nest", []AnalysisOption{WithSpanCPU(cpu), WithCPUStacks()}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				agg := NewAggregator(bc.opts...)
				for _, t := range traces {
					agg.Add(t)
				}
				agg.NestCPU()
			}
		})
	}
}

// A delta profile cannot be nested under spans, and values past int64 are
// refused.
func TestReadSpanCPUBadValues(t *testing.T) {
	prof := func(vals ...int64) *profile.Profile {
		f := &profile.Function{ID: 1, Name: "main.f"}
		loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: f}}}
		p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "cpu", Unit: "nanoseconds"}},
			Function: []*profile.Function{f}, Location: []*profile.Location{loc}}
		for _, v := range vals {
			p.Sample = append(p.Sample, &profile.Sample{Location: []*profile.Location{loc}, Value: []int64{v}})
		}
		return p
	}
	if _, err := ReadSpanCPU(prof(5, -3), ""); err == nil || !strings.Contains(err.Error(), "delta profile") {
		t.Errorf("negative values: %v", err)
	}
	if _, err := ReadSpanCPU(prof(math.MaxInt64, 1), ""); !errors.Is(err, flame.ErrOverflow) {
		t.Errorf("overflow: %v", err)
	}
}
