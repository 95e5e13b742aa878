package spans

import (
	"fmt"
	"math"

	"github.com/google/pprof/profile"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/semconv"
)

// SpanCPU is a profile's sample values summed by the span they ran in: the
// span_id pprof label that tracekit (and Grafana's span profiles) put on
// samples taken while a span was the goroutine's current one.
type SpanCPU struct {
	// Unit is the unit of the values ("nanoseconds" for CPU profiles).
	Unit string
	// Total is the value of every sample; NoSpan of those without a
	// usable span_id label.
	Total, NoSpan int64
	bySpan        map[SpanID]int64
	// The samples' stacks, for [WithCPUStacks]: by span, and those
	// without a usable span_id.
	stacks   map[SpanID][]cpuSample
	noSpanSt []cpuSample
}

// cpuSample is one sample's stack (outermost caller first) and value.
type cpuSample struct {
	stack []string
	v     int64
}

// ReadSpanCPU sums p's samples by span_id. sampleType picks the value
// ("cpu", "samples", ...); empty means the profile's default sample type,
// or its last one.
func ReadSpanCPU(p *profile.Profile, sampleType string) (*SpanCPU, error) {
	idx := len(p.SampleType) - 1
	want := sampleType
	if want == "" {
		want = p.DefaultSampleType
	}
	if want != "" {
		idx = -1
		for i, st := range p.SampleType {
			if st.Type == want {
				idx = i
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("profile has no sample type %q", want)
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("profile has no sample types")
	}
	c := &SpanCPU{Unit: p.SampleType[idx].Unit, bySpan: make(map[SpanID]int64), stacks: make(map[SpanID][]cpuSample)}
	for _, s := range p.Sample {
		if idx >= len(s.Value) {
			return nil, fmt.Errorf("sample has %d values, expected %d", len(s.Value), len(p.SampleType))
		}
		v := s.Value[idx]
		if v == 0 {
			continue
		}
		if v < 0 {
			return nil, fmt.Errorf("sample value %d: a delta profile (negative values) cannot be nested under spans", v)
		}
		if c.Total > math.MaxInt64-v {
			return nil, fmt.Errorf("%w: sample values add up past 9223372036854775807", flame.ErrOverflow)
		}
		c.Total += v
		ids := s.Label[semconv.LabelSpanID]
		st := cpuSample{flame.PprofStack(nil, s, false), v}
		var id SpanID
		if len(ids) != 1 || len(ids[0]) != 16 || !hexID(id[:], []byte(ids[0])) || id.IsZero() {
			c.NoSpan += v
			c.noSpanSt = append(c.noSpanSt, st)
			continue
		}
		c.bySpan[id] += v
		c.stacks[id] = append(c.stacks[id], st)
	}
	return c, nil
}

// Of returns the value of the samples that ran in span id.
func (c *SpanCPU) Of(id SpanID) int64 { return c.bySpan[id] }

// Spans returns how many distinct spans have samples.
func (c *SpanCPU) Spans() int { return len(c.bySpan) }
