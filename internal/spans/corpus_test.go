package spans

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracekit-go/tracekit/internal/flame"
)

// The corpus (testdata/corpus, see its PROVENANCE) holds traces from
// Jaeger's, the Jaeger UI's and opentelemetry-proto's fixtures. Expected
// span counts, wall times and repeated ids are read off the files with
// encoding/json by refRead, independently of the decoder.

func corpusFile(t *testing.T, name string) []byte {
	return mustRead(t, filepath.Join("testdata", "corpus", name))
}

// refTrace is one trace as refRead finds it.
type refTrace struct {
	spans      int
	start, end int64 // earliest start and latest end, Unix nanoseconds
	copies     int   // spans identical to an earlier one
	shared     int   // spans whose id an earlier, different span has
	seen       map[string][]string
}

func (r *refTrace) add(id string, span any, start, end int64) {
	canon, _ := json.Marshal(span) // map keys sorted: equal spans, equal text
	if r.spans == 0 || start < r.start {
		r.start = start
	}
	r.end = max(r.end, end)
	r.spans++
	if prev, ok := r.seen[id]; ok {
		if slices.Contains(prev, string(canon)) {
			r.copies++
			r.spans--
			return
		}
		r.shared++
	}
	r.seen[id] = append(r.seen[id], string(canon))
}

// refRead reads OTLP JSON (lines, pretty, arrays) and Jaeger JSON (API
// responses, bare traces, the UI's {"data": trace}) with encoding/json.
func refRead(t *testing.T, b []byte) map[string]*refTrace {
	t.Helper()
	out := map[string]*refTrace{}
	trace := func(id string) *refTrace {
		id = strings.ToLower(id)
		id = strings.Repeat("0", 32-len(id)) + id
		if out[id] == nil {
			out[id] = &refTrace{seen: map[string][]string{}}
		}
		return out[id]
	}
	num := func(v any) int64 {
		switch x := v.(type) {
		case string:
			n, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		case float64:
			return int64(x)
		}
		t.Fatalf("not a number: %v", v)
		return 0
	}
	var value func(v any)
	jaegerTrace := func(tr map[string]any) {
		for _, s := range tr["spans"].([]any) {
			sm := s.(map[string]any)
			start := num(sm["startTime"]) * 1000
			trace(sm["traceID"].(string)).add(sm["spanID"].(string), sm, start, start+num(sm["duration"])*1000)
		}
	}
	value = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				value(e)
			}
		case map[string]any:
			if _, ok := x["spans"]; ok {
				jaegerTrace(x)
			}
			switch d := x["data"].(type) {
			case []any:
				for _, tr := range d {
					jaegerTrace(tr.(map[string]any))
				}
			case map[string]any:
				jaegerTrace(d)
			}
			rss, _ := x["resourceSpans"].([]any)
			for _, rs := range rss {
				for _, ss := range rs.(map[string]any)["scopeSpans"].([]any) {
					for _, s := range ss.(map[string]any)["spans"].([]any) {
						sm := s.(map[string]any)
						trace(sm["traceId"].(string)).add(strings.ToLower(sm["spanId"].(string)), sm, num(sm["startTimeUnixNano"]), num(sm["endTimeUnixNano"]))
					}
				}
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))))
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		value(v)
	}
	return out
}

var traceCorpus = []string{
	"jaeger-ui-traceWithSingleChildLongerThanParentAndStartsAfterParent.json",
	"jaeger-ui-traceWithOverlappingChildrenLongerThanParent.json",
	"jaeger-ui-spanLongerAsParent.json",
	"jaeger-ui-TraceFlamegraph-testTrace.json",
	"jaeger-ui-otlp2jaeger-in.json",
	"jaeger-ui-otlp2jaeger-multi-in.json.txt",
	"jaeger-ui-otlp2jaeger-multi-in-combined.json",
	"jaeger-ui_01.json",
	"opentelemetry-proto-trace.json",
}

// Every file of the corpus reads to the traces encoding/json finds in it:
// the same spans per trace, wall time max end − min start, exact copies
// dropped and spans sharing an id kept, and the aggregated graph's root
// equal to the wall time.
func TestTraceCorpus(t *testing.T) {
	for _, file := range traceCorpus {
		t.Run(file, func(t *testing.T) {
			b := corpusFile(t, file)
			want := refRead(t, b)
			for _, in := range [][]byte{b, append([]byte("\xef\xbb\xbf"), b...), gzipped(b)} {
				if !Sniff(in) && !Sniff(gunzipHead(in)) {
					t.Errorf("Sniff: not trace data")
				}
				set, err := Read(bytes.NewReader(in), file)
				if err != nil {
					t.Fatal(err)
				}
				if set.NumTraces() != len(want) {
					t.Fatalf("%d traces, want %d", set.NumTraces(), len(want))
				}
				var wall int64
				agg := NewAggregator()
				for i := range set.NumTraces() {
					tr := set.Trace(i)
					w := want[tr.ID.String()]
					if w == nil {
						t.Fatalf("trace %s not in the file", tr.ID)
					}
					if len(tr.Spans) != w.spans || tr.Wall() != w.end-w.start || tr.Warnings.Duplicates != w.copies || tr.Warnings.SharedIDs != w.shared {
						t.Errorf("trace %s: %d spans, wall %d, %d copies dropped, %d shared ids; want %d, %d, %d, %d",
							tr.ID, len(tr.Spans), tr.Wall(), tr.Warnings.Duplicates, tr.Warnings.SharedIDs, w.spans, w.end-w.start, w.copies, w.shared)
					}
					wall += tr.Wall()
					if err := agg.Add(tr); err != nil {
						t.Fatal(err)
					}
				}
				if agg.Tree().Total() != wall {
					t.Errorf("root %d, want the wall time %d", agg.Tree().Total(), wall)
				}
			}
		})
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func gunzipHead(b []byte) []byte {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	head, _ := io.ReadAll(io.LimitReader(r, 4096))
	return head
}

// The Jaeger UI's fixture of async work: "send" runs [100µs, 140µs], its
// child "async task 1" [200µs, 500µs], all after it (numbers read off the
// file). The wall time is 400µs; the child's bar is at its real time,
// 300µs of it after its parent; in the aggregated graph the parent's frame
// holds the child, and its own 40µs and the 60µs gap are its self time.
func TestAsyncChild(t *testing.T) {
	set, err := Read(bytes.NewReader(corpusFile(t, "jaeger-ui-traceWithSingleChildLongerThanParentAndStartsAfterParent.json")), "async")
	if err != nil {
		t.Fatal(err)
	}
	tr := set.Trace(0)
	if tr.Wall() != 400_000 || tr.Async != 1 || tr.Warnings.Any() {
		t.Errorf("wall %d, %d async, warnings %v", tr.Wall(), tr.Async, tr.Warnings)
	}
	ch := Layout(tr)
	for _, b := range ch.Bars {
		switch tr.Spans[b.Span].Name {
		case "send":
			if b.Start != 100_000 || b.End != 140_000 || b.Before != 0 || b.After != 0 || b.Row != 0 {
				t.Errorf("send: %+v", b)
			}
		case "async task 1":
			if b.Start != 200_000 || b.End != 500_000 || b.After != 300_000 || b.Before != 0 || b.Row != 1 || b.Self != 300_000 {
				t.Errorf("async task 1: %+v", b)
			}
		}
	}
	agg := NewAggregator()
	agg.Add(tr)
	if got, want := folded(agg.Tree()), "total 400000 self 0\nservice-one: send 100000\nservice-one: send;service-two: async task 1 300000"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// The critical path ends in the async child, which set the end time.
	cp := CriticalPath(tr)
	if last := cp[len(cp)-1]; tr.Spans[last.Span].Name != "async task 1" || last.End != 500_000 {
		t.Errorf("critical path ends %+v", last)
	}
}

// Two different spans with one id, and a reference into another trace,
// as Jaeger's converter fixture has them: both spans are kept, the child
// of the shared id goes under the first, and the reference into the span's
// own trace wins over the one into another trace.
func TestJaegerSharedIDs(t *testing.T) {
	set, err := Read(bytes.NewReader(corpusFile(t, "jaeger-ui_01.json")), "ui_01")
	if err != nil {
		t.Fatal(err)
	}
	tr := set.Trace(0)
	if tr.Warnings != (Warnings{SharedIDs: 1}) || len(tr.Spans) != 5 {
		t.Fatalf("%d spans, warnings %+v", len(tr.Spans), tr.Warnings)
	}
	parent := map[string]string{}
	for i, sp := range tr.Spans {
		p := "-"
		if tr.Parent[i] != None {
			p = tr.Spans[tr.Parent[i]].Name
		}
		parent[sp.Name] = p
	}
	want := map[string]string{"test-general-conversion": "-", "some-operation": "test-general-conversion", "reference-test": "test-general-conversion", "preserveParentID-test": "reference-test"}
	for k, v := range want {
		if parent[k] != v {
			t.Errorf("parent of %q is %q, want %q (all: %v)", k, parent[k], v, parent)
		}
	}
}

// OTLP protobuf in every framing, made from the spans of a real OTLP JSON
// file: raw, as the Collector's file exporter frames it (4-byte lengths),
// delimited (varint lengths), each gzipped too, and as the older
// instrumentationLibrarySpans JSON. All read back to the file's spans.
func TestOTLPFramings(t *testing.T) {
	file := "jaeger-ui-otlp2jaeger-multi-in.json.txt"
	b := corpusFile(t, file)
	var want []string
	var reqs []*coltracepb.ExportTraceServiceRequest
	if err := Decode(bytes.NewReader(b), file, func(s *Span) error {
		want = append(want, spanKey(s))
		reqs = append(reqs, request(s))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var raw, fixed, varint bytes.Buffer
	all := &coltracepb.ExportTraceServiceRequest{}
	for _, r := range reqs {
		m, err := proto.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		binary.Write(&fixed, binary.BigEndian, uint32(len(m)))
		fixed.Write(m)
		varint.Write(binary.AppendUvarint(nil, uint64(len(m))))
		varint.Write(m)
		all.ResourceSpans = append(all.ResourceSpans, r.ResourceSpans...)
	}
	m, err := proto.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(m)
	older := bytes.ReplaceAll(b, []byte(`"scopeSpans"`), []byte(`"instrumentationLibrarySpans"`))
	inputs := map[string][]byte{"raw": raw.Bytes(), "4-byte lengths": fixed.Bytes(), "varint lengths": varint.Bytes(), "instrumentationLibrarySpans": older}
	for _, name := range []string{"raw", "4-byte lengths", "varint lengths", "instrumentationLibrarySpans"} {
		inputs[name+", gzipped"] = gzipped(inputs[name])
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			if head := in; !Sniff(head) && !Sniff(gunzipHead(head)) {
				t.Error("Sniff: not trace data")
			}
			var got []string
			if err := Decode(bytes.NewReader(in), name, func(s *Span) error { got = append(got, spanKey(s)); return nil }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("got\n%q\nwant\n%q", got, want)
			}
		})
	}
	// A pprof profile also starts with field 1, length-delimited: it is
	// not taken for traces.
	if Sniff(gunzipHead(mustRead(t, "../flame/testdata/cpu.pprof"))) {
		t.Error("a pprof profile sniffed as traces")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request is one span as an OTLP request.
func request(s *Span) *coltracepb.ExportTraceServiceRequest {
	ps := &tracepb.Span{TraceId: s.TraceID[:], SpanId: s.ID[:], Name: s.Name,
		StartTimeUnixNano: uint64(s.Start), EndTimeUnixNano: uint64(s.End), Status: &tracepb.Status{Code: tracepb.Status_StatusCode(s.Status)}}
	if !s.Parent.IsZero() {
		ps.ParentSpanId = slices.Clone(s.Parent[:])
	}
	ps.TraceId, ps.SpanId = slices.Clone(ps.TraceId), slices.Clone(ps.SpanId)
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name",
			Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s.Service}}}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{ps}}},
	}}}
}

// A gzip stream that decompresses past the limit stops with ErrTooLarge
// after reading about the limit, not the whole stream.
func TestDecompressionLimit(t *testing.T) {
	line := []byte(`{"resourceSpans":[]}` + "\n")
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	for range 1 << 16 {
		w.Write(line)
	}
	w.Close()
	err := Decode(bytes.NewReader(buf.Bytes()), "bomb", func(*Span) error { return nil }, WithMaxDecompressedBytes(1<<20))
	if err == nil || !strings.Contains(err.Error(), "input too large: expected at most 1048576 bytes decompressed") {
		t.Errorf("err = %v", err)
	}
	var pe *flame.ParseError
	if !errors.As(err, &pe) || !errors.Is(err, flame.ErrTooLarge) {
		t.Errorf("%T %v: want a ParseError wrapping ErrTooLarge", err, err)
	}
}
