package spans

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/spans/internal/gen"
)

var benchSpans = flag.Int("spans.bench", 1_000_000, "spans in the generated benchmark input (traces of 20 spans)")

var (
	benchOnce sync.Once
	benchFile string
	benchErr  error
)

// benchInput returns the generated OTLP JSON file, writing it the first
// time. The generator is deterministic, so the file is kept between runs
// in the temporary directory (about 470 MiB for a million spans) under a
// name that says what it holds; a new generator must change benchVersion.
func benchInput(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), "tracekit-spans-bench")
		if benchErr = os.MkdirAll(dir, 0o755); benchErr != nil {
			return
		}
		benchFile = filepath.Join(dir, fmt.Sprintf("traces-%d-v%d.jsonl", *benchSpans, benchVersion))
		if _, err := os.Stat(benchFile); err == nil {
			return
		}
		f, err := os.CreateTemp(dir, "gen-*")
		if err != nil {
			benchErr = err
			return
		}
		defer os.Remove(f.Name())
		traces := gen.Traces(1, *benchSpans/20, 20)
		if err := gen.WriteOTLP(f, traces, 512); err != nil {
			benchErr = err
		}
		if err := f.Close(); err != nil && benchErr == nil {
			benchErr = err
		}
		if benchErr == nil {
			benchErr = os.Rename(f.Name(), benchFile)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFile
}

const benchVersion = 1

// peakHeap samples memory every millisecond while fn runs and reports the
// largest live heap and the largest memory mapped by the runtime (less what
// it returned to the OS), in MB.
func peakHeap(b *testing.B, fn func()) {
	b.Helper()
	debug.FreeOSMemory() // start from what is live, not from earlier garbage
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	var peak, peakTotal uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	go func() {
		defer close(stopped)
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			peakTotal = max(peakTotal, sample[1].Value.Uint64()-sample[2].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peakTotal)/(1<<20), "peak-runtime-MB")
}

// BenchmarkReadFile is the baseline: reading the generated file and doing
// nothing with it.
func BenchmarkReadFile(b *testing.B) {
	path := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, bufio.NewReaderSize(f, 1<<20))
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(n)
	}
}

// BenchmarkDecode decodes the file into a Set.
func BenchmarkDecode(b *testing.B) {
	path := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		peakHeap(b, func() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			set, err := Read(f, path)
			if err != nil {
				b.Fatal(err)
			}
			if set.Len() != *benchSpans/20*20 {
				b.Fatalf("%d spans", set.Len())
			}
		})
	}
}

// BenchmarkAggregate decodes the file and aggregates every trace with
// wall-clock attribution: the whole data side of "flamegen traces.jsonl".
func BenchmarkAggregate(b *testing.B) {
	path := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		peakHeap(b, func() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			set, err := Read(f, path)
			if err != nil {
				b.Fatal(err)
			}
			agg := NewAggregator(WithGroupIDs())
			if err := set.Each(func(t *Trace) error { agg.Add(t); return nil }); err != nil {
				b.Fatal(err)
			}
			if agg.Traces() != *benchSpans/20 {
				b.Fatalf("%d traces", agg.Traces())
			}
		})
	}
}

// stdRequest is the part of an OTLP JSON request the decoder reads, for
// the encoding/json baseline.
type stdRequest struct {
	ResourceSpans []struct {
		Resource struct {
			Attributes []stdKeyValue `json:"attributes"`
		} `json:"resource"`
		ScopeSpans []struct {
			Spans []struct {
				TraceID      string        `json:"traceId"`
				SpanID       string        `json:"spanId"`
				ParentSpanID string        `json:"parentSpanId"`
				Name         string        `json:"name"`
				Start        string        `json:"startTimeUnixNano"`
				End          string        `json:"endTimeUnixNano"`
				Attributes   []stdKeyValue `json:"attributes"`
				Status       struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"status"`
			} `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
}

type stdKeyValue struct {
	Key   string `json:"key"`
	Value struct {
		StringValue *string `json:"stringValue"`
	} `json:"value"`
}

// BenchmarkDecodeEncodingJSON is the other baseline: the same file read
// line by line with encoding/json into structs holding only the fields the
// decoder needs (and no conversion of ids or times).
func BenchmarkDecodeEncodingJSON(b *testing.B) {
	path := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<30)
		n := 0
		for sc.Scan() {
			var req stdRequest
			if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
				b.Fatal(err)
			}
			for _, rs := range req.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					n += len(ss.Spans)
				}
			}
		}
		f.Close()
		if n != *benchSpans/20*20 {
			b.Fatalf("%d spans", n)
		}
	}
}

// shapeSpan makes span id (parent -1: none) of a one-trace benchmark shape.
func shapeSpan(id, parent int, s, e int64) Span {
	sp := Span{Name: "x", Service: "s", Start: s, End: e}
	sp.TraceID[0] = 1
	binary.BigEndian.PutUint32(sp.ID[4:], uint32(id+1))
	if parent >= 0 {
		binary.BigEndian.PutUint32(sp.Parent[4:], uint32(parent+1))
	}
	return sp
}

// BenchmarkShapes times wall-clock attribution of one trace of extreme
// shape: n goroutine spans that all overlap, each with a child of its own
// (wide), and a chain of n nested spans (deep).
func BenchmarkShapes(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		wide := []Span{shapeSpan(0, -1, 0, 10*int64(n)+10)}
		for i := 1; i <= n; i++ {
			wide = append(wide, shapeSpan(2*i, 0, int64(i), int64(i)+5*int64(n)), shapeSpan(2*i+1, 2*i, int64(i), int64(i)+1))
		}
		var deep []Span
		for i := range n {
			deep = append(deep, shapeSpan(i, i-1, int64(i), 2*int64(n)-int64(i)))
		}
		for _, shape := range []struct {
			name  string
			spans []Span
		}{{"wide", wide}, {"deep", deep}} {
			tr := Assemble(shape.spans)
			b.Run(fmt.Sprintf("%s-%d", shape.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					NewAggregator().Add(tr)
				}
			})
		}
	}
}

// deepChain is one trace of n spans, each the child of the one before, each
// ending after its parent (async) every third span so that intervals extend.
func deepChain(n int) []Span {
	var spans []Span
	for i := range n {
		end := 2*int64(n) - int64(i)
		if i%3 == 2 {
			end += 5
		}
		spans = append(spans, shapeSpan(i, i-1, int64(i), end))
	}
	return spans
}

// analyse runs everything flamegen does with one trace: assembly, both
// weightings, critical paths, the one-trace layout and the report.
func analyse(spans []Span) {
	tr := Assemble(spans)
	agg, sum, cp := NewAggregator(), NewAggregator(WithWeight(WeightSum)), NewCriticalPaths()
	agg.Add(tr)
	sum.Add(tr)
	cp.Add(tr)
	Layout(tr)
	Report(agg, cp)
}

// A parent chain costs memory in proportion to its length: four times the
// spans allocate about four times the bytes (a quadratic cost would be
// sixteen). Bytes, not time, so that a busy machine cannot fail it.
func TestDeepChainLinear(t *testing.T) {
	alloc := func(n int) uint64 {
		spans := deepChain(n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		analyse(spans)
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := alloc(5000), alloc(20000)
	if ratio := float64(large) / float64(small); ratio > 6 {
		t.Errorf("20,000 spans allocate %.1f times what 5,000 do (%d and %d bytes): not linear", ratio, large, small)
	}
}

// BenchmarkDeepChain analyses a 20,000-deep parent chain, and with
// -spans.deep a longer one (1,000,000 for the README's figure).
func BenchmarkDeepChain(b *testing.B) {
	for _, n := range []int{20000, *benchDeep} {
		spans := deepChain(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				analyse(slices.Clone(spans))
			}
		})
	}
}

var benchDeep = flag.Int("spans.deep", 100_000, "spans in BenchmarkDeepChain's longer chain")
