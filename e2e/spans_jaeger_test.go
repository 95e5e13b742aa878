package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracekit-go/tracekit/e2e/internal/jaeger"
	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// TestSpansFromJaeger runs the instrumented program against a real Jaeger,
// reads its trace back over Jaeger's HTTP query API exactly as a user's
// "Download JSON" would give it, and checks what the span decoder, trace
// assembly and analyses make of it.
func TestSpansFromJaeger(t *testing.T) {
	bin := jaeger.Binary(t)
	prog := buildProgram(t)

	ctx, srv := startJaeger(t, bin)

	const service = "e2e-spans"
	res := runTracedProg(ctx, t, prog, service, "grpc", "http://"+srv.OTLPGRPCEndpoint())
	const nspans = 6
	if _, err := srv.TraceWithSpans(ctx, res.TraceID, nspans); err != nil {
		t.Fatal(err)
	}
	body := httpGet(ctx, t, srv.QueryURL()+"/api/traces/"+res.TraceID)

	id, ok := spans.ParseTraceID(res.TraceID)
	if !ok {
		t.Fatalf("trace id %q", res.TraceID)
	}
	set, err := spans.Read(bytes.NewReader(body), "/api/traces/"+res.TraceID, spans.WithAttributes())
	if err != nil {
		t.Fatalf("decode Jaeger response: %v\n%s", err, body)
	}
	if set.NumTraces() != 1 || set.TraceID(0) != id || set.Len() != nspans {
		t.Fatalf("%d traces (%v), %d spans; want trace %s with %d spans", set.NumTraces(), set.TraceID(0), set.Len(), id, nspans)
	}
	tr := set.Trace(0)
	if tr.Warnings.Any() {
		t.Errorf("warnings on a clean trace: %s", tr.Warnings)
	}

	// The tree, by name.
	byName := map[string]int32{}
	for i, s := range tr.Spans {
		byName[s.Name] = int32(i)
		if s.Service != service {
			t.Errorf("%s: service %q, want %q", s.Name, s.Service, service)
		}
	}
	parentOf := func(name string) string {
		p := tr.Parent[byName[name]]
		if p == spans.None {
			return ""
		}
		return tr.Spans[p].Name
	}
	for child, parent := range map[string]string{
		"checkout": "", "workers": "checkout", "fetch-prices": "workers", "reserve-stock": "workers",
		"lookup-currency": "fetch-prices", "explode": "checkout",
	} {
		if got := parentOf(child); got != parent {
			t.Errorf("%s: parent %q, want %q", child, got, parent)
		}
	}
	if roots := tr.Roots(); len(roots) != 1 || tr.Spans[roots[0]].Name != "checkout" {
		t.Errorf("roots %v, want checkout alone", roots)
	}
	if !tr.Spans[byName["explode"]].Error() || tr.Spans[byName["reserve-stock"]].Error() {
		t.Error("error status: want explode only")
	}
	for name, class := range map[string]spans.Class{"checkout": spans.ClassWork, "workers": spans.ClassGroup,
		"fetch-prices": spans.ClassGoroutine, "explode": spans.ClassGoroutine} {
		if got := spans.ClassOf(tr.Spans[byName[name]].Kind); got != class {
			t.Errorf("%s: class %v, want %v", name, got, class)
		}
	}
	var lineAttr bool
	for _, a := range tr.Spans[byName["fetch-prices"]].Attrs {
		lineAttr = lineAttr || (a.Key == "code.line.number" && a.Value != "")
	}
	if !lineAttr {
		t.Errorf("fetch-prices attributes %v lack code.line.number", tr.Spans[byName["fetch-prices"]].Attrs)
	}

	// Wall-clock attribution against a brute-force reading: Jaeger keeps
	// microseconds, so sweeping the trace one microsecond at a time and
	// splitting each among the active children (exact rationals) is the
	// definition itself.
	agg := spans.NewAggregator()
	agg.Add(tr)
	tree := agg.Tree()
	root := tr.Spans[byName["checkout"]]
	if tree.Total() != root.Duration() || tr.Wall() != root.Duration() {
		t.Errorf("root %d, wall %d, want checkout's duration %d", tree.Total(), tr.Wall(), root.Duration())
	}
	want := spans.WallSweep(tr, 1000) // Jaeger's times are whole microseconds
	tree.Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
		path := strings.Join(tree.Stack(n), ";")
		w, ok := want[path]
		if !ok {
			t.Errorf("frame %s not in the trace", path)
			return true
		}
		// Exact up to the largest-remainder rounding: under 1 ns.
		diff := new(big.Rat).Sub(new(big.Rat).SetInt64(tree.Value(n)), w)
		if diff.Abs(diff).Cmp(big.NewRat(1, 1)) >= 0 {
			f, _ := w.Float64()
			t.Errorf("%s: %d ns, want %.3f", path, tree.Value(n), f)
		}
		delete(want, path)
		return true
	})
	if len(want) > 0 {
		t.Errorf("frames missing from the tree: %v", want)
	}
	if got := tree.Stack(firstLeaf(tree, "lookup-currency")); strings.Join(got, ";") !=
		service+": checkout;"+service+": workers;"+service+": fetch-prices;"+service+": lookup-currency" {
		t.Errorf("lookup-currency stack %q", got)
	}

	// Critical path: explode ran last, after the group; the walk covers the
	// whole trace.
	cp := spans.CriticalPath(tr)
	var covered int64
	on := map[string]bool{}
	for _, s := range cp {
		covered += s.End - s.Start
		on[tr.Spans[s.Span].Name] = true
	}
	if covered != tr.Wall() || !on["explode"] || !on["checkout"] {
		t.Errorf("critical path covers %d of %d ns, through %v", covered, tr.Wall(), on)
	}

	// Flame chart: fetch-prices and reserve-stock ran in parallel (the
	// group's limit is 2), so they take different rows, both below workers.
	ch := spans.Layout(tr)
	rows := map[string]int32{}
	for _, b := range ch.Bars {
		rows[tr.Spans[b.Span].Name] = b.Row
	}
	fp, rs := tr.Spans[byName["fetch-prices"]], tr.Spans[byName["reserve-stock"]]
	if fp.Start < rs.End && rs.Start < fp.End && rows["fetch-prices"] == rows["reserve-stock"] {
		t.Errorf("overlapping siblings share row %d", rows["fetch-prices"])
	}
	if rows["fetch-prices"] <= rows["workers"] || rows["lookup-currency"] <= rows["fetch-prices"] {
		t.Errorf("rows %v: children must be below their parents", rows)
	}

	// The query client: a search by service (what --service uses) and a
	// fetch by id both return the same trace; a missing trace is an error
	// naming Jaeger's answer.
	found, err := spans.ReadJaeger(ctx, nil, srv.QueryURL(), spans.JaegerQuery{Service: service, Lookback: time.Hour, Limit: 20}, spans.WithTrace(id))
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if found.NumTraces() != 1 || found.Len() != nspans {
		t.Errorf("search found %d traces, %d spans", found.NumTraces(), found.Len())
	}
	byID, err := spans.ReadJaeger(ctx, nil, srv.QueryURL(), spans.JaegerQuery{Trace: res.TraceID})
	if err != nil || byID.Len() != nspans {
		t.Errorf("fetch by id: %v", err)
	}
	if _, err := spans.ReadJaeger(ctx, nil, srv.QueryURL(), spans.JaegerQuery{Trace: "0123456789abcdef0123456789abcdef"}); !errors.Is(err, spans.ErrJaegerQuery) {
		t.Errorf("missing trace: %v, want ErrJaegerQuery", err)
	}
}

func firstLeaf(tree *flame.Tree, suffix string) flame.NodeID {
	found := flame.Root
	tree.Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
		if found == flame.Root && strings.HasSuffix(tree.Name(n), ": "+suffix) {
			found = n
		}
		return true
	})
	return found
}

func httpGet(ctx context.Context, t *testing.T, u string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %s: %s", u, err, resp.Status, body)
	}
	return body
}

// TestSpansFromCollectorJSON decodes what the OpenTelemetry Collector's own
// marshalers (its file exporter's formats) write, JSON and protobuf, and
// checks every field the analyses use.
func TestSpansFromCollectorJSON(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "cart")
	rs.Resource().Attributes().PutInt("process.pid", 42)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("tracekit")
	tid := pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	base := time.Unix(1_764_000_000, 0)
	add := func(id, parent byte, name string, from, to time.Duration, kind string, errored bool) {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, id})
		if parent != 0 {
			s.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, parent})
		}
		s.SetName(name)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(base.Add(from)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(base.Add(to)))
		if kind != "" {
			s.Attributes().PutStr("tracekit.kind", kind)
		}
		s.Attributes().PutInt("code.line.number", 7)
		s.Attributes().PutEmptySlice("tags").AppendEmpty().SetStr("a")
		if errored {
			s.Status().SetCode(ptrace.StatusCodeError)
			s.Status().SetMessage("out of stock")
		}
	}
	add(1, 0, "POST /cart/991", 0, 100*time.Millisecond, "", false)
	add(2, 1, "lock cart.mu", 10*time.Millisecond, 30*time.Millisecond, "lock.wait", false)
	add(3, 1, "recv stock", 20*time.Millisecond, 60*time.Millisecond, "chan.recv", true)

	var lines bytes.Buffer
	var m ptrace.JSONMarshaler
	for range 2 { // the same batch twice: every span a duplicate the second time
		b, err := m.MarshalTraces(td)
		if err != nil {
			t.Fatal(err)
		}
		lines.Write(b)
		lines.WriteByte('\n')
	}
	set, err := spans.Read(&lines, "collector.jsonl", spans.WithAttributes())
	if err != nil {
		t.Fatal(err)
	}
	tr := set.Trace(0)
	if tr.Warnings != (spans.Warnings{Duplicates: 3}) {
		t.Errorf("warnings %+v, want 3 duplicates", tr.Warnings)
	}
	var got []string
	for _, s := range tr.Spans {
		got = append(got, s.Service+"|"+s.Name+"|"+s.Parent.String()+"|"+s.Kind+"|"+s.Message+"|"+
			time.Duration(s.Duration()).String()+"|"+spans.ClassOf(s.Kind).String())
	}
	wantSpans := []string{
		"cart|POST /cart/991|0000000000000000|||100ms|work",
		"cart|lock cart.mu|0000000000000001|lock.wait||20ms|lock wait",
		"cart|recv stock|0000000000000001|chan.recv|out of stock|40ms|channel block",
	}
	if !slices.Equal(got, wantSpans) {
		t.Errorf("spans\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantSpans, "\n"))
	}
	// The same data as protobuf, as an OTLP/HTTP body and as the file
	// exporter's proto format (each request after its 4-byte length).
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	framed := binary.BigEndian.AppendUint32(nil, uint32(len(pb)))
	framed = append(framed, pb...)
	for name, in := range map[string][]byte{"body.pb": pb, "collector.pb": framed} {
		set, err := spans.Read(bytes.NewReader(in), name, spans.WithAttributes())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got2 []string
		for _, s := range set.Trace(0).Spans {
			got2 = append(got2, s.Service+"|"+s.Name+"|"+s.Parent.String()+"|"+s.Kind+"|"+s.Message+"|"+
				time.Duration(s.Duration()).String()+"|"+spans.ClassOf(s.Kind).String())
		}
		if !slices.Equal(got2, wantSpans) {
			t.Errorf("%s: spans\n%s", name, strings.Join(got2, "\n"))
		}
	}
	if a := tr.Spans[0].Attrs; len(a) != 2 || a[0] != (spans.Attr{Key: "code.line.number", Value: "7"}) || a[1].Value != `["a"]` {
		t.Errorf("attributes %v", a)
	}
	// [0,10) root; [10,20) lock; [20,30) lock and recv 5 ms each;
	// [30,60) recv; [60,100) root: root 50, lock 15, recv 35 (ms).
	agg := spans.NewAggregator(spans.WithGroupIDs())
	agg.Add(tr)
	tree := agg.Tree()
	vals := map[string]int64{}
	tree.Walk(flame.Alphabetical, func(n flame.NodeID, _ int) bool {
		vals[strings.Join(tree.Stack(n), ";")] = tree.Self(n) / 1e6
		return true
	})
	wantVals := map[string]int64{"": 0, "cart: POST /cart/{id}": 50,
		"cart: POST /cart/{id};cart: lock cart.mu": 15, "cart: POST /cart/{id};cart: recv stock": 35}
	if !mapsEqual(vals, wantVals) {
		t.Errorf("self times (ms) %v, want %v", vals, wantVals)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
