package file

import (
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	traceA = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	traceB = trace.TraceID{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10}
	spanA1 = trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	spanA2 = trace.SpanID{0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8}
	spanA3 = trace.SpanID{0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8}
	spanB1 = trace.SpanID{0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8}
	spanB0 = trace.SpanID{0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8}

	t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
)

func spanContext(t *testing.T, tid trace.TraceID, sid trace.SpanID, remote bool, state string) trace.SpanContext {
	t.Helper()
	ts, err := trace.ParseTraceState(state)
	if err != nil {
		t.Fatal(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    tid,
		SpanID:     sid,
		TraceFlags: trace.FlagsSampled,
		TraceState: ts,
		Remote:     remote,
	})
}

// allTypes holds one attribute of every attribute.Type, with the awkward
// values (NaN, infinities, exponents, control characters, invalid UTF-8)
// the encoder must get right.
func allTypes() []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("str", "héllo \"wörld\"\n\t\\ \x01 \u2028 😀"),
		attribute.String("str.invalid", "a\xffb\xc3"),
		attribute.String("str.empty", ""),
		attribute.Bool("bool.true", true),
		attribute.Bool("bool.false", false),
		attribute.Int64("int", -9223372036854775808),
		attribute.Int64("int.max", math.MaxInt64),
		attribute.Int("int.zero", 0),
		attribute.Float64("double", 1.5),
		attribute.Float64("double.nan", math.NaN()),
		attribute.Float64("double.inf", math.Inf(1)),
		attribute.Float64("double.neginf", math.Inf(-1)),
		attribute.Float64("double.tiny", 1e-7),
		attribute.Float64("double.huge", 1e21),
		attribute.Float64("double.third", 1.0/3),
		attribute.Float64("double.zero", 0),
		attribute.BoolSlice("bools", []bool{true, false}),
		attribute.Int64Slice("ints", []int64{1, -2, math.MaxInt64}),
		attribute.Float64Slice("doubles", []float64{0.25, math.NaN(), math.Inf(-1)}),
		attribute.StringSlice("strs", []string{"a", "", "c\"d"}),
		attribute.StringSlice("strs.empty", []string{}),
		attribute.ByteSlice("bytes", []byte{0, 1, 2, 0xfe, 0xff}),
		attribute.ByteSlice("bytes.empty", nil),
		attribute.Slice("mixed", attribute.IntValue(1), attribute.StringValue("two"), attribute.Value{}),
		attribute.Map("map",
			attribute.String("k", "v"),
			attribute.Map("nested", attribute.Float64("f", 2.5)),
		),
		attribute.Map("map.empty"),
		{Key: "empty", Value: attribute.Value{}},
	}
}

// fixtureSpans returns a deterministic batch covering every field: two
// resources (one with a schema URL), three scopes (one with attributes),
// parents local and remote, trace state, every kind, every status, events
// and links with dropped counts, and a span with nothing but ids.
func fixtureSpans(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	resA := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "svc-a"),
		attribute.Int("service.instance.num", 7),
	)
	resB := resource.NewSchemaless(attribute.String("service.name", "svc-b"))
	scope1 := instrumentation.Scope{Name: "tracekit/one", Version: "v1.2.3", SchemaURL: "https://example.com/scope"}
	scope2 := instrumentation.Scope{
		Name:       "tracekit/two",
		Attributes: attribute.NewSet(attribute.Bool("scope.attr", true)),
	}

	root := spanContext(t, traceA, spanA1, false, "vendor=value,other=x")
	stubs := []tracetest.SpanStub{
		{
			Name:                 "root",
			SpanContext:          root,
			SpanKind:             trace.SpanKindServer,
			StartTime:            t0,
			EndTime:              t0.Add(1500 * time.Millisecond),
			Attributes:           allTypes(),
			DroppedAttributes:    3,
			Status:               sdktrace.Status{Code: codes.Ok},
			Resource:             resA,
			InstrumentationScope: scope1,
			Events: []sdktrace.Event{
				{Name: "started", Time: t0.Add(time.Millisecond), Attributes: []attribute.KeyValue{attribute.Int("n", 1)}, DroppedAttributeCount: 2},
				{Name: "bare", Time: t0.Add(2 * time.Millisecond)},
			},
			DroppedEvents: 4,
			Links: []sdktrace.Link{
				{
					SpanContext:           spanContext(t, traceB, spanB0, true, "k=v"),
					Attributes:            []attribute.KeyValue{attribute.String("link.kind", "follows")},
					DroppedAttributeCount: 1,
				},
				{SpanContext: spanContext(t, traceA, spanA3, false, "")},
			},
			DroppedLinks: 5,
		},
		{
			Name:                 "child",
			SpanContext:          spanContext(t, traceA, spanA2, false, ""),
			Parent:               root,
			SpanKind:             trace.SpanKindClient,
			StartTime:            t0.Add(10 * time.Millisecond),
			EndTime:              t0.Add(20 * time.Millisecond),
			Status:               sdktrace.Status{Code: codes.Error, Description: "boom: \"bad\""},
			Resource:             resA,
			InstrumentationScope: scope2,
		},
		{
			Name:                 "remote-child",
			SpanContext:          spanContext(t, traceB, spanB1, false, ""),
			Parent:               spanContext(t, traceB, spanB0, true, ""),
			SpanKind:             trace.SpanKindConsumer,
			StartTime:            t0.Add(30 * time.Millisecond),
			EndTime:              t0.Add(40 * time.Millisecond),
			Resource:             resB,
			InstrumentationScope: scope1,
		},
		{
			Name:                 "grandchild",
			SpanContext:          spanContext(t, traceA, spanA3, false, ""),
			Parent:               spanContext(t, traceA, spanA2, false, ""),
			SpanKind:             trace.SpanKindProducer,
			StartTime:            t0.Add(12 * time.Millisecond),
			EndTime:              t0.Add(13 * time.Millisecond),
			Resource:             resA,
			InstrumentationScope: scope1,
		},
		{
			// Nothing but ids: no name, kind, times, scope or resource.
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceB, SpanID: spanA1}),
		},
	}
	out := make([]sdktrace.ReadOnlySpan, 0, len(stubs)+1)
	for i, s := range stubs {
		out = append(out, s.Snapshot())
		if i == 1 {
			out = append(out, nil) // nil spans are skipped
		}
	}
	return out
}
