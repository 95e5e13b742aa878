package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/exporters/file"
	"github.com/tracekit-go/tracekit/internal/testwait"
)

// These tests prove that exporters/file writes what the OpenTelemetry
// Collector writes and reads: its lines are read back field for field by the
// Collector's pdata (ptrace.JSONUnmarshaler, unknown fields disallowed), and
// they are byte for byte what pdata's ptrace.JSONMarshaler (the Collector's
// file exporter) writes for the same spans, whether the Collector got them
// through OTLP from the SDK's own exporter or they were built in pdata by
// hand.

// strict rejects any field name pdata does not know, so a misspelt field
// fails instead of being skipped.
var strict = ptrace.JSONUnmarshaler{DisallowUnknownFields: true}

var (
	remoteTrace = trace.TraceID{0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7}
	remoteSpan  = trace.SpanID{0, 0, 0, 0, 0, 0, 0, 0x2a}
	linkedSpan  = trace.SpanID{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
)

// allAttributes has one attribute of every type the SDK knows, arrays of
// each scalar type, and the doubles JSON numbers cannot express.
func allAttributes() []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("s", "text with \"quotes\", \\, \n, \t, \x00, é and 😀"),
		attribute.String("s.empty", ""),
		attribute.Bool("b", true),
		attribute.Bool("b.false", false),
		attribute.Int64("i", math.MinInt64),
		attribute.Int64("i.max", math.MaxInt64),
		attribute.Float64("d", 3.25),
		attribute.Float64("d.nan", math.NaN()),
		attribute.Float64("d.inf", math.Inf(1)),
		attribute.Float64("d.neginf", math.Inf(-1)),
		attribute.Float64("d.tiny", 5e-324),
		attribute.Float64("d.huge", 1.5e300),
		attribute.Float64("d.negzero", math.Copysign(0, -1)),
		attribute.BoolSlice("bs", []bool{true, false, true}),
		attribute.Int64Slice("is", []int64{0, -1, math.MaxInt64}),
		attribute.Float64Slice("ds", []float64{1.5, math.NaN(), math.Inf(1), -0.001}),
		attribute.StringSlice("ss", []string{"x", "", "z\n"}),
		attribute.StringSlice("ss.empty", nil),
		attribute.ByteSlice("by", []byte{0, 0xff, 'a', '\n'}),
		attribute.ByteSlice("by.empty", []byte{}),
		attribute.Slice("mixed", attribute.BoolValue(true), attribute.Float64Value(math.NaN()),
			attribute.Int64SliceValue([]int64{7}), attribute.Value{}),
		attribute.Map("m", attribute.String("k", "v"), attribute.Map("inner", attribute.Int("n", 1))),
		attribute.Map("m.empty"),
		{Key: "empty", Value: attribute.Value{}},
	}
}

// recordSpans runs a small instrumented program under two TracerProviders
// (two resources, three scopes) and returns its spans in the order they
// ended. If exp is not nil both providers also export to it synchronously,
// one span per ExportSpans call, and both are shut down, so exp is shut down
// twice.
func recordSpans(t *testing.T, exp sdktrace.SpanExporter) []sdktrace.ReadOnlySpan {
	t.Helper()
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	provider := func(res *resource.Resource, extra ...sdktrace.TracerProviderOption) *sdktrace.TracerProvider {
		opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSpanProcessor(rec)}
		if exp != nil {
			opts = append(opts, sdktrace.WithSyncer(exp))
		}
		return sdktrace.NewTracerProvider(append(opts, extra...)...)
	}
	tpA := provider(resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "checkout"),
		attribute.String("service.version", "1.2.3"),
		attribute.Int("host.cpus", 2),
	))
	limits := sdktrace.NewSpanLimits()
	limits.AttributeCountLimit = 2
	limits.EventCountLimit = 1
	limits.LinkCountLimit = 1
	limits.AttributePerEventCountLimit = 1
	limits.AttributePerLinkCountLimit = 1
	tpB := provider(resource.NewSchemaless(attribute.String("service.name", "billing")),
		sdktrace.WithSpanLimits(limits))

	web := tpA.Tracer("tracekit/e2e/web", trace.WithInstrumentationVersion("v0.9.0"),
		trace.WithSchemaURL("https://opentelemetry.io/schemas/1.24.0"),
		trace.WithInstrumentationAttributes(attribute.String("scope.kind", "http")))
	db := tpA.Tracer("tracekit/e2e/db")
	worker := tpB.Tracer("tracekit/e2e/worker", trace.WithInstrumentationVersion("v2"))

	ctx, root := web.Start(ctx, "GET /checkout", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", "GET")))
	cctx, query := db.Start(ctx, "SELECT cart", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(allAttributes()...))
	query.AddEvent("rows", trace.WithAttributes(attribute.Int("count", 3), attribute.Float64("ratio", math.NaN())))
	_, inner := db.Start(cctx, "decode rows")
	inner.RecordError(errors.New("corrupt row 7"))
	inner.SetStatus(codes.Error, "decode failed")
	inner.End()
	query.SetStatus(codes.Ok, "ignored: only errors keep a description")
	query.End()

	_, send := web.Start(ctx, "enqueue", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithLinks(trace.Link{
			SpanContext: query.SpanContext(),
			Attributes:  []attribute.KeyValue{attribute.String("link.reason", "caused-by")},
		}))
	send.End()
	root.End()

	// The worker continues a trace that arrived from another process.
	ts, err := trace.ParseTraceState("vendor=opaque,tk=1")
	if err != nil {
		t.Fatal(err)
	}
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: remoteTrace, SpanID: remoteSpan, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true,
	})
	linked := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: remoteTrace, SpanID: linkedSpan, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	_, consume := worker.Start(trace.ContextWithRemoteSpanContext(context.Background(), remote), "consume",
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.Int("a", 1), attribute.Int("b", 2), attribute.Int("dropped", 3)),
		trace.WithLinks(
			trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.Int("x", 1), attribute.Int("y", 2)}},
			trace.Link{SpanContext: root.SpanContext()},
		),
	)
	consume.AddEvent("first", trace.WithAttributes(attribute.Bool("kept", true), attribute.Bool("dropped", true)))
	consume.AddEvent("second")
	consume.End()

	if exp != nil {
		for _, tp := range []*sdktrace.TracerProvider{tpA, tpB} {
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	spans := rec.Ended()
	if len(spans) != 5 {
		t.Fatalf("recorded %d spans, want 5", len(spans))
	}
	return spans
}

// readLines reads a file of OTLP JSON lines with the Collector's unmarshaler.
func readLines(t *testing.T, path string) []ptrace.Traces {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []ptrace.Traces
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for n := 1; sc.Scan(); n++ {
		td, err := strict.UnmarshalTraces(sc.Bytes())
		if err != nil {
			t.Fatalf("%s:%d: pdata cannot read the line: %v", path, n, err)
		}
		out = append(out, td)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// located is a span as pdata read it, with the resource and scope it was
// filed under.
type located struct {
	span              ptrace.Span
	resource          pcommon.Resource
	resourceSchemaURL string
	scope             pcommon.InstrumentationScope
	scopeSchemaURL    string
}

func index(tds ...ptrace.Traces) map[trace.SpanID]located {
	m := make(map[trace.SpanID]located)
	for _, td := range tds {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					m[trace.SpanID(s.SpanID())] = located{s, rs.Resource(), rs.SchemaUrl(), ss.Scope(), ss.SchemaUrl()}
				}
			}
		}
	}
	return m
}

func TestFileCompatRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "traces.jsonl")
	exp, err := file.New(path)
	if err != nil {
		t.Fatal(err)
	}
	spans := recordSpans(t, exp)

	lines := readLines(t, path)
	if len(lines) != len(spans) {
		t.Fatalf("%d lines, want one per span (%d)", len(lines), len(spans))
	}
	got := index(lines...)
	for _, want := range spans {
		t.Run(want.Name(), func(t *testing.T) {
			l, ok := got[want.SpanContext().SpanID()]
			if !ok {
				t.Fatalf("span %s not in the file", want.SpanContext().SpanID())
			}
			checkSpan(t, want, l)
		})
	}

	// One batch of all spans is one line: two resources in the order of
	// their first span, each with its scopes in order of first span.
	batchPath := filepath.Join(dir, "batch.jsonl")
	bexp, err := file.New(batchPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := bexp.ExportSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	if err := bexp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	batch := readLines(t, batchPath)
	if len(batch) != 1 {
		t.Fatalf("batch file has %d lines, want 1", len(batch))
	}
	td := batch[0]
	if td.SpanCount() != len(spans) {
		t.Errorf("batch holds %d spans, want %d", td.SpanCount(), len(spans))
	}
	var layout []string
	for _, rs := range td.ResourceSpans().All() {
		name, _ := rs.Resource().Attributes().Get("service.name")
		for _, ss := range rs.ScopeSpans().All() {
			layout = append(layout, fmt.Sprintf("%s/%s:%d", name.Str(), ss.Scope().Name(), ss.Spans().Len()))
		}
	}
	// Spans end in the order decode rows, SELECT cart (db), enqueue,
	// GET /checkout (web), consume (worker).
	wantLayout := []string{"checkout/tracekit/e2e/db:2", "checkout/tracekit/e2e/web:2", "billing/tracekit/e2e/worker:1"}
	if fmt.Sprint(layout) != fmt.Sprint(wantLayout) {
		t.Errorf("batch layout %v, want %v", layout, wantLayout)
	}
	for _, want := range spans {
		l, ok := index(td)[want.SpanContext().SpanID()]
		if !ok {
			t.Errorf("span %q missing from the batch", want.Name())
			continue
		}
		checkSpan(t, want, l)
	}
}

// checkSpan compares every field of a span the SDK recorded with what pdata
// read from the file.
func checkSpan(t *testing.T, want sdktrace.ReadOnlySpan, got located) {
	t.Helper()
	s := got.span
	sc := want.SpanContext()
	parent := want.Parent()
	eq := func(field string, g, w any) {
		t.Helper()
		if g != w {
			t.Errorf("%s: got %v, want %v", field, g, w)
		}
	}
	eq("traceId", trace.TraceID(s.TraceID()), sc.TraceID())
	eq("spanId", trace.SpanID(s.SpanID()), sc.SpanID())
	if parent.SpanID().IsValid() {
		eq("parentSpanId", trace.SpanID(s.ParentSpanID()), parent.SpanID())
	} else {
		eq("parentSpanId empty", s.ParentSpanID().IsEmpty(), true)
	}
	eq("traceState", s.TraceState().AsRaw(), sc.TraceState().String())
	eq("flags", s.Flags(), wantFlags(sc.TraceFlags(), parent.IsRemote()))
	eq("name", s.Name(), want.Name())
	eq("kind", s.Kind(), map[trace.SpanKind]ptrace.SpanKind{
		trace.SpanKindInternal: ptrace.SpanKindInternal,
		trace.SpanKindServer:   ptrace.SpanKindServer,
		trace.SpanKindClient:   ptrace.SpanKindClient,
		trace.SpanKindProducer: ptrace.SpanKindProducer,
		trace.SpanKindConsumer: ptrace.SpanKindConsumer,
	}[want.SpanKind()])
	eq("startTimeUnixNano", s.StartTimestamp(), pcommon.NewTimestampFromTime(want.StartTime()))
	eq("endTimeUnixNano", s.EndTimestamp(), pcommon.NewTimestampFromTime(want.EndTime()))
	checkAttrs(t, "attributes", want.Attributes(), s.Attributes())
	eq("droppedAttributesCount", s.DroppedAttributesCount(), uint32(want.DroppedAttributes()))
	eq("droppedEventsCount", s.DroppedEventsCount(), uint32(want.DroppedEvents()))
	eq("droppedLinksCount", s.DroppedLinksCount(), uint32(want.DroppedLinks()))

	eq("events", s.Events().Len(), len(want.Events()))
	for i, we := range want.Events() {
		if i >= s.Events().Len() {
			break
		}
		ge := s.Events().At(i)
		eq("event name", ge.Name(), we.Name)
		eq("event time", ge.Timestamp(), pcommon.NewTimestampFromTime(we.Time))
		checkAttrs(t, "event "+we.Name, we.Attributes, ge.Attributes())
		eq("event droppedAttributesCount", ge.DroppedAttributesCount(), uint32(we.DroppedAttributeCount))
	}
	eq("links", s.Links().Len(), len(want.Links()))
	for i, wl := range want.Links() {
		if i >= s.Links().Len() {
			break
		}
		gl := s.Links().At(i)
		eq("link traceId", trace.TraceID(gl.TraceID()), wl.SpanContext.TraceID())
		eq("link spanId", trace.SpanID(gl.SpanID()), wl.SpanContext.SpanID())
		eq("link traceState", gl.TraceState().AsRaw(), wl.SpanContext.TraceState().String())
		eq("link flags", gl.Flags(), wantFlags(wl.SpanContext.TraceFlags(), wl.SpanContext.IsRemote()))
		checkAttrs(t, "link", wl.Attributes, gl.Attributes())
		eq("link droppedAttributesCount", gl.DroppedAttributesCount(), uint32(wl.DroppedAttributeCount))
	}
	eq("status code", s.Status().Code(), map[codes.Code]ptrace.StatusCode{
		codes.Unset: ptrace.StatusCodeUnset,
		codes.Ok:    ptrace.StatusCodeOk,
		codes.Error: ptrace.StatusCodeError,
	}[want.Status().Code])
	eq("status message", s.Status().Message(), want.Status().Description)

	checkAttrs(t, "resource", want.Resource().Attributes(), got.resource.Attributes())
	name, _ := got.resource.Attributes().Get("service.name")
	wantName, _ := want.Resource().Set().Value("service.name")
	eq("service.name", name.Str(), wantName.AsString())
	eq("resource schemaUrl", got.resourceSchemaURL, want.Resource().SchemaURL())
	scope := want.InstrumentationScope()
	eq("scope name", got.scope.Name(), scope.Name)
	eq("scope version", got.scope.Version(), scope.Version)
	checkAttrs(t, "scope", scope.Attributes.ToSlice(), got.scope.Attributes())
	eq("scope schemaUrl", got.scopeSchemaURL, scope.SchemaURL)
}

// wantFlags is OTLP's span flags field: the W3C trace flags, a bit saying
// that remoteness is known, and a bit for a remote parent or link.
func wantFlags(tf trace.TraceFlags, remote bool) uint32 {
	f := uint32(tf) | 0x100
	if remote {
		f |= 0x200
	}
	return f
}

// checkAttrs compares attributes in order, with their types.
func checkAttrs(t *testing.T, where string, want []attribute.KeyValue, got pcommon.Map) {
	t.Helper()
	if got.Len() != len(want) {
		t.Errorf("%s: %d attributes, want %d: %v", where, got.Len(), len(want), got.AsRaw())
		return
	}
	i := 0
	for k, v := range got.All() {
		if k != string(want[i].Key) {
			t.Errorf("%s: attribute %d is %q, want %q", where, i, k, want[i].Key)
		}
		checkValue(t, where+"."+k, want[i].Value, v)
		i++
	}
}

func checkValue(t *testing.T, where string, want attribute.Value, got pcommon.Value) {
	t.Helper()
	typ := func(w pcommon.ValueType) bool {
		t.Helper()
		if got.Type() != w {
			t.Errorf("%s: type %v, want %v", where, got.Type(), w)
			return false
		}
		return true
	}
	elems := func(n int) bool {
		t.Helper()
		if !typ(pcommon.ValueTypeSlice) {
			return false
		}
		if got.Slice().Len() != n {
			t.Errorf("%s: %d elements, want %d", where, got.Slice().Len(), n)
			return false
		}
		return true
	}
	mismatch := func(g, w any) {
		t.Helper()
		if g != w {
			t.Errorf("%s: got %v, want %v", where, g, w)
		}
	}
	switch want.Type() {
	case attribute.BOOL:
		if typ(pcommon.ValueTypeBool) {
			mismatch(got.Bool(), want.AsBool())
		}
	case attribute.INT64:
		if typ(pcommon.ValueTypeInt) {
			mismatch(got.Int(), want.AsInt64())
		}
	case attribute.FLOAT64:
		if typ(pcommon.ValueTypeDouble) {
			g, w := got.Double(), want.AsFloat64()
			if math.IsNaN(w) != math.IsNaN(g) || (!math.IsNaN(w) && math.Float64bits(g) != math.Float64bits(w)) {
				t.Errorf("%s: got %v, want %v", where, g, w)
			}
		}
	case attribute.STRING:
		if typ(pcommon.ValueTypeStr) {
			mismatch(got.Str(), want.AsString())
		}
	case attribute.BYTESLICE:
		if typ(pcommon.ValueTypeBytes) && !bytes.Equal(got.Bytes().AsRaw(), want.AsByteSlice()) {
			t.Errorf("%s: got %x, want %x", where, got.Bytes().AsRaw(), want.AsByteSlice())
		}
	case attribute.BOOLSLICE:
		if w := want.AsBoolSlice(); elems(len(w)) {
			for i, b := range w {
				checkValue(t, fmt.Sprintf("%s[%d]", where, i), attribute.BoolValue(b), got.Slice().At(i))
			}
		}
	case attribute.INT64SLICE:
		if w := want.AsInt64Slice(); elems(len(w)) {
			for i, n := range w {
				checkValue(t, fmt.Sprintf("%s[%d]", where, i), attribute.Int64Value(n), got.Slice().At(i))
			}
		}
	case attribute.FLOAT64SLICE:
		if w := want.AsFloat64Slice(); elems(len(w)) {
			for i, f := range w {
				checkValue(t, fmt.Sprintf("%s[%d]", where, i), attribute.Float64Value(f), got.Slice().At(i))
			}
		}
	case attribute.STRINGSLICE:
		if w := want.AsStringSlice(); elems(len(w)) {
			for i, s := range w {
				checkValue(t, fmt.Sprintf("%s[%d]", where, i), attribute.StringValue(s), got.Slice().At(i))
			}
		}
	case attribute.SLICE:
		if w := want.AsSlice(); elems(len(w)) {
			for i, v := range w {
				checkValue(t, fmt.Sprintf("%s[%d]", where, i), v, got.Slice().At(i))
			}
		}
	case attribute.MAP:
		if typ(pcommon.ValueTypeMap) {
			checkAttrs(t, where, want.AsMap(), got.Map())
		}
	case attribute.EMPTY:
		typ(pcommon.ValueTypeEmpty)
	default:
		t.Errorf("%s: attribute type %v not covered by this test", where, want.Type())
	}
}

// collectOTLP sends spans with the SDK's own OTLP/HTTP exporter to a
// loopback server that decodes them exactly as the Collector's OTLP receiver
// does, with pdata.
func collectOTLP(t *testing.T, spans []sdktrace.ReadOnlySpan) ptrace.Traces {
	t.Helper()
	var (
		mu  sync.Mutex
		got []ptrace.Traces
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, req.Traces())
		mu.Unlock()
		resp, err := ptraceotlp.NewExportResponse().MarshalProto()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), testwait.Scale(2*time.Minute))
	defer cancel()
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("collector received %d requests, want 1", len(got))
	}
	return got[0]
}

// sortByService orders resources by service.name. The SDK's OTLP exporter
// groups resources in a map, so its order is random; ours is first
// appearance.
func sortByService(td ptrace.Traces) {
	name := func(rs ptrace.ResourceSpans) string {
		v, _ := rs.Resource().Attributes().Get("service.name")
		return v.Str()
	}
	td.ResourceSpans().Sort(func(a, b ptrace.ResourceSpans) bool { return name(a) < name(b) })
}

func marshal(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFileCompatCollectorPipeline compares our line for a batch with what a
// Collector writes after receiving the same batch from the SDK's OTLP
// exporter: SDK → OTLP/HTTP protobuf → pdata → ptrace.JSONMarshaler, the
// path of every span in a Collector's file exporter output.
func TestFileCompatCollectorPipeline(t *testing.T) {
	spans := recordSpans(t, nil)

	t.Run("all resources, semantically", func(t *testing.T) {
		collector := collectOTLP(t, spans)
		ours, err := strict.UnmarshalTraces(file.AppendRequest(nil, spans))
		if err != nil {
			t.Fatal(err)
		}
		sortByService(collector)
		sortByService(ours)
		// Both are pdata now; equal encodings mean equal contents, NaN
		// included (pdata writes it as "NaN").
		c, o := marshal(t, collector), marshal(t, ours)
		if !bytes.Equal(c, o) {
			t.Errorf("contents differ\ncollector: %s\nours:      %s", c, o)
		}
	})

	t.Run("one resource, byte for byte", func(t *testing.T) {
		var checkout []sdktrace.ReadOnlySpan
		for _, s := range spans {
			if v, _ := s.Resource().Set().Value("service.name"); v.AsString() == "checkout" {
				checkout = append(checkout, s)
			}
		}
		want := marshal(t, collectOTLP(t, checkout))
		got := file.AppendRequest(nil, checkout)
		if !bytes.Equal(got, want) {
			t.Errorf("our line differs from the Collector's\ncollector: %s\nours:      %s\n%s", want, got, firstDiff(got, want))
		}
	})
}

func firstDiff(a, b []byte) string {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			lo := max(0, i-40)
			return fmt.Sprintf("first difference at byte %d: ours …%s… collector …%s…", i, a[lo:min(len(a), i+40)], b[lo:min(len(b), i+40)])
		}
	}
	return fmt.Sprintf("one is a prefix of the other (%d vs %d bytes)", len(a), len(b))
}

// TestFileCompatHandBuilt builds a request in pdata by hand, marshals it
// with the Collector's ptrace.JSONMarshaler, and checks that our encoding of
// the same span is semantically equal and in fact identical.
func TestFileCompatHandBuilt(t *testing.T) {
	start := time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC)
	tid := trace.TraceID{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff}
	sid := trace.SpanID{0, 0, 0, 0, 0, 0, 0, 1}
	psid := trace.SpanID{0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88}
	ts, err := trace.ParseTraceState("a=1,b=2")
	if err != nil {
		t.Fatal(err)
	}
	stub := tracetest.SpanStub{
		Name: "hand-built",
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, TraceState: ts,
		}),
		Parent:    trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: psid, Remote: true}),
		SpanKind:  trace.SpanKindProducer,
		StartTime: start,
		EndTime:   start.Add(time.Nanosecond),
		Attributes: []attribute.KeyValue{
			attribute.String("s", "x\"\n\u00e9"),
			attribute.Int64("i", -42),
			attribute.Float64("nan", math.NaN()),
			attribute.Float64("inf", math.Inf(1)),
			attribute.Float64("small", 1e-9),
			attribute.Float64Slice("ds", []float64{0.5, math.Inf(-1)}),
			attribute.ByteSlice("by", []byte("hi")),
			attribute.Map("m", attribute.Bool("t", true)),
			attribute.StringSlice("none", nil),
		},
		DroppedAttributes: 1,
		Events: []sdktrace.Event{{
			Name: "ev", Time: start, Attributes: []attribute.KeyValue{attribute.Int("n", 1)}, DroppedAttributeCount: 2,
		}},
		DroppedEvents: 3,
		Links: []sdktrace.Link{{
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: psid, TraceState: ts}),
			Attributes:  []attribute.KeyValue{attribute.String("l", "v")},
		}},
		DroppedLinks: 4,
		Status:       sdktrace.Status{Code: codes.Error, Description: "failed"},
		Resource: resource.NewWithAttributes("https://example.com/resource",
			attribute.String("service.name", "hand"), attribute.Bool("zz", false)),
		InstrumentationScope: instrumentation.Scope{
			Name: "hand/scope", Version: "1.0", SchemaURL: "https://example.com/scope",
			Attributes: attribute.NewSet(attribute.Int("level", 3)),
		},
	}

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl("https://example.com/resource")
	rs.Resource().Attributes().PutStr("service.name", "hand")
	rs.Resource().Attributes().PutBool("zz", false)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.SetSchemaUrl("https://example.com/scope")
	ss.Scope().SetName("hand/scope")
	ss.Scope().SetVersion("1.0")
	ss.Scope().Attributes().PutInt("level", 3)
	sp := ss.Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID(tid))
	sp.SetSpanID(pcommon.SpanID(sid))
	sp.TraceState().FromRaw("a=1,b=2")
	sp.SetParentSpanID(pcommon.SpanID(psid))
	sp.SetFlags(0x301)
	sp.SetName("hand-built")
	sp.SetKind(ptrace.SpanKindProducer)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Nanosecond)))
	a := sp.Attributes()
	a.PutStr("s", "x\"\n\u00e9")
	a.PutInt("i", -42)
	a.PutDouble("nan", math.NaN())
	a.PutDouble("inf", math.Inf(1))
	a.PutDouble("small", 1e-9)
	ds := a.PutEmptySlice("ds")
	ds.AppendEmpty().SetDouble(0.5)
	ds.AppendEmpty().SetDouble(math.Inf(-1))
	a.PutEmptyBytes("by").FromRaw([]byte("hi"))
	a.PutEmptyMap("m").PutBool("t", true)
	a.PutEmptySlice("none")
	sp.SetDroppedAttributesCount(1)
	ev := sp.Events().AppendEmpty()
	ev.SetName("ev")
	ev.SetTimestamp(pcommon.NewTimestampFromTime(start))
	ev.Attributes().PutInt("n", 1)
	ev.SetDroppedAttributesCount(2)
	sp.SetDroppedEventsCount(3)
	ln := sp.Links().AppendEmpty()
	ln.SetTraceID(pcommon.TraceID(tid))
	ln.SetSpanID(pcommon.SpanID(psid))
	ln.TraceState().FromRaw("a=1,b=2")
	ln.Attributes().PutStr("l", "v")
	ln.SetFlags(0x100)
	sp.SetDroppedLinksCount(4)
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Status().SetMessage("failed")

	collector := marshal(t, td)
	ours := file.AppendRequest(nil, []sdktrace.ReadOnlySpan{stub.Snapshot()})

	// Semantically: unmarshal both with pdata and compare what it holds.
	tdOurs, err := strict.UnmarshalTraces(ours)
	if err != nil {
		t.Fatalf("pdata cannot read our line: %v", err)
	}
	tdCollector, err := strict.UnmarshalTraces(collector)
	if err != nil {
		t.Fatal(err)
	}
	if o, c := marshal(t, tdOurs), marshal(t, tdCollector); !bytes.Equal(o, c) {
		t.Errorf("contents differ\ncollector: %s\nours:      %s", c, o)
	}
	nan, _ := tdOurs.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("nan")
	if nan.Type() != pcommon.ValueTypeDouble || !math.IsNaN(nan.Double()) {
		t.Errorf("pdata read the NaN attribute as %v %v", nan.Type(), nan.AsRaw())
	}
	// And the bytes themselves.
	if !bytes.Equal(ours, collector) {
		t.Errorf("our line differs from the Collector's\ncollector: %s\nours:      %s\n%s", collector, ours, firstDiff(ours, collector))
	}
}

// FuzzFileCompat feeds fuzzed strings and numbers through our encoder and
// the Collector's decoder: pdata must read every line, get back each string
// (invalid UTF-8 replaced with U+FFFD byte by byte), integer and double,
// and, when the input strings are valid UTF-8, re-encode the line to the
// same bytes.
func FuzzFileCompat(f *testing.F) {
	f.Add("name", "value", int64(1), 1.5)
	f.Add("", "", int64(0), 0.0)
	f.Add("\x00\x1f\"\\\n", "\u2028é😀", int64(math.MinInt64), math.NaN())
	f.Add("\xff", "a\xc3", int64(math.MaxInt64), math.Inf(-1))
	f.Add("big", "small", int64(-5), 1e300)
	f.Add("tiny", "neg", int64(5), -1e-300)
	f.Fuzz(func(t *testing.T, name, sval string, ival int64, fval float64) {
		stub := tracetest.SpanStub{
			Name: name,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1},
			}),
			Attributes: []attribute.KeyValue{
				attribute.String(sval, sval),
				attribute.Int64("i", ival),
				attribute.Float64("f", fval),
				attribute.Float64Slice("fs", []float64{fval, -fval}),
			},
			Events:   []sdktrace.Event{{Name: sval}},
			Status:   sdktrace.Status{Code: codes.Error, Description: name},
			Resource: resource.NewSchemaless(attribute.String("service.name", name)),
		}
		line := file.AppendRequest(nil, []sdktrace.ReadOnlySpan{stub.Snapshot()})
		td, err := strict.UnmarshalTraces(line)
		if err != nil {
			t.Fatalf("pdata cannot read %q: %v", line, err)
		}
		s := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		valid := func(s string) string { return string([]rune(s)) }
		if s.Name() != valid(name) || s.Status().Message() != valid(name) || s.Events().At(0).Name() != valid(sval) {
			t.Errorf("strings changed: %q", line)
		}
		want := stub.Attributes
		want[0] = attribute.String(valid(sval), valid(sval))
		checkAttrs(t, "attributes", want, s.Attributes())
		if utf8.ValidString(name) && utf8.ValidString(sval) {
			if again := marshal(t, td); !bytes.Equal(again, line) {
				t.Errorf("pdata re-encodes our line differently\nours: %s\npdata: %s\n%s", line, again, firstDiff(line, again))
			}
		}
	})
}
