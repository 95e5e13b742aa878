package file

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// fuzzValue is an AnyValue as encoding/json sees it.
type fuzzValue struct {
	StringValue *string         `json:"stringValue"`
	IntValue    *string         `json:"intValue"`
	DoubleValue json.RawMessage `json:"doubleValue"`
	BytesValue  *string         `json:"bytesValue"`
	ArrayValue  *struct {
		Values []fuzzValue `json:"values"`
	} `json:"arrayValue"`
}

type fuzzKV struct {
	Key   string    `json:"key"`
	Value fuzzValue `json:"value"`
}

type fuzzRequest struct {
	ResourceSpans []struct {
		Resource struct {
			Attributes []fuzzKV `json:"attributes"`
		} `json:"resource"`
		ScopeSpans []struct {
			Scope struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"scope"`
			Spans []struct {
				Name       string   `json:"name"`
				TraceState string   `json:"traceState"`
				Attributes []fuzzKV `json:"attributes"`
				Events     []struct {
					Name string `json:"name"`
				} `json:"events"`
				Status struct {
					Message string `json:"message"`
				} `json:"status"`
			} `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
}

// FuzzAppendRequest checks that whatever strings, numbers and bytes spans
// carry, the encoding is one line of valid JSON from which encoding/json
// reads back the same values (strings with invalid UTF-8 replaced byte by
// byte with U+FFFD, as Go's []rune conversion does).
func FuzzAppendRequest(f *testing.F) {
	f.Add("span", "key", "value", int64(42), 1.5, []byte("bytes"), "scope")
	f.Add("", "", "", int64(0), 0.0, []byte(nil), "")
	f.Add("line\nbreak", "quote\"", "back\\slash\ttab\x00nul\x1f", int64(math.MinInt64), math.NaN(), []byte{0xff, 0}, "\u2028")
	f.Add("\xff\xfe", "\xc3", "é😀\xed\xa0\x80", int64(math.MaxInt64), math.Inf(1), []byte{}, "<&>")
	f.Add("a", "b", "c", int64(-1), math.Inf(-1), []byte("x"), "s")
	f.Add("tiny", "k", "v", int64(7), 1e-7, []byte("yz"), "v")
	f.Add("huge", "k", "v", int64(7), -1.7976931348623157e308, []byte("xyz"), "v")
	f.Add("negzero", "k", "v", int64(7), math.Copysign(0, -1), []byte("xyz"), "v")

	f.Fuzz(func(t *testing.T, name, key, sval string, ival int64, fval float64, bval []byte, scope string) {
		ts, err := trace.ParseTraceState("k=" + keepTraceStateChars(sval))
		if err != nil {
			ts = trace.TraceState{}
		}
		sc := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    trace.TraceID{1},
			SpanID:     trace.SpanID{2},
			TraceState: ts,
		})
		stub := tracetest.SpanStub{
			Name:        name,
			SpanContext: sc,
			StartTime:   time.Unix(0, ival),
			EndTime:     time.Unix(0, ival).Add(time.Second),
			Attributes: []attribute.KeyValue{
				attribute.String(key, sval),
				attribute.Int64("i", ival),
				attribute.Float64("f", fval),
				attribute.ByteSlice("b", bval),
				attribute.StringSlice("ss", []string{sval, name}),
			},
			Events:               []sdktrace.Event{{Name: sval}},
			Status:               sdktrace.Status{Code: codes.Error, Description: name},
			Resource:             resource.NewSchemaless(attribute.String("r", sval)),
			InstrumentationScope: instrumentation.Scope{Name: scope, Version: key},
		}
		out := AppendRequest(nil, []sdktrace.ReadOnlySpan{stub.Snapshot()})

		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %q", out)
		}
		if !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		if i := bytes.IndexFunc(out, func(r rune) bool { return r < 0x20 }); i >= 0 {
			t.Fatalf("raw control character at %d, the output must be a single line: %q", i, out)
		}

		var req fuzzRequest
		if err := json.Unmarshal(out, &req); err != nil {
			t.Fatal(err)
		}
		if len(req.ResourceSpans) != 1 || len(req.ResourceSpans[0].ScopeSpans) != 1 ||
			len(req.ResourceSpans[0].ScopeSpans[0].Spans) != 1 {
			t.Fatalf("want exactly one span: %s", out)
		}
		rs := req.ResourceSpans[0]
		ss := rs.ScopeSpans[0]
		span := ss.Spans[0]
		valid := func(s string) string { return string([]rune(s)) }
		eq := func(what, got, want string) {
			t.Helper()
			if got != want {
				t.Errorf("%s: got %q, want %q", what, got, want)
			}
		}
		eq("span name", span.Name, valid(name))
		eq("status message", span.Status.Message, valid(name))
		eq("trace state", span.TraceState, ts.String())
		eq("scope name", ss.Scope.Name, valid(scope))
		eq("scope version", ss.Scope.Version, valid(key))
		if len(span.Events) != 1 {
			t.Fatalf("%d events", len(span.Events))
		}
		eq("event name", span.Events[0].Name, valid(sval))
		if len(rs.Resource.Attributes) != 1 || rs.Resource.Attributes[0].Value.StringValue == nil {
			t.Fatalf("resource attributes: %s", out)
		}
		eq("resource attribute", *rs.Resource.Attributes[0].Value.StringValue, valid(sval))

		attrs := span.Attributes
		if len(attrs) != 5 {
			t.Fatalf("%d attributes, want 5", len(attrs))
		}
		eq("attribute key", attrs[0].Key, valid(key))
		if v := attrs[0].Value.StringValue; v == nil {
			t.Errorf("string attribute has no stringValue")
		} else {
			eq("string attribute", *v, valid(sval))
		}
		if v := attrs[1].Value.IntValue; v == nil {
			t.Errorf("int attribute has no intValue")
		} else {
			eq("int attribute", *v, strconv.FormatInt(ival, 10))
		}
		checkDouble(t, attrs[2].Value.DoubleValue, fval)
		if v := attrs[3].Value.BytesValue; v == nil {
			t.Errorf("bytes attribute has no bytesValue")
		} else if b, err := base64.StdEncoding.DecodeString(*v); err != nil || !bytes.Equal(b, bval) {
			t.Errorf("bytes attribute: %q decodes to %x, %v; want %x", *v, b, err, bval)
		}
		if a := attrs[4].Value.ArrayValue; a == nil || len(a.Values) != 2 ||
			a.Values[0].StringValue == nil || a.Values[1].StringValue == nil {
			t.Errorf("string slice attribute: %s", out)
		} else {
			eq("slice[0]", *a.Values[0].StringValue, valid(sval))
			eq("slice[1]", *a.Values[1].StringValue, valid(name))
		}
	})
}

// checkDouble checks a protobuf JSON double: a JSON number that parses back
// to exactly want, or the string protobuf JSON uses for NaN and ±Inf.
func checkDouble(t *testing.T, raw json.RawMessage, want float64) {
	t.Helper()
	var special string
	switch {
	case math.IsNaN(want):
		special = `"NaN"`
	case math.IsInf(want, 1):
		special = `"Infinity"`
	case math.IsInf(want, -1):
		special = `"-Infinity"`
	}
	if special != "" {
		if string(raw) != special {
			t.Errorf("double %v encoded as %s, want %s", want, raw, special)
		}
		return
	}
	var got float64
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("double %v encoded as %s: %v", want, raw, err)
	}
	if math.Float64bits(got) != math.Float64bits(want) {
		t.Errorf("double %v encoded as %s, which parses as %v", want, raw, got)
	}
}

// keepTraceStateChars reduces s to characters a W3C tracestate value may
// hold, so that fuzzed input reaches the trace state field.
func keepTraceStateChars(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < 32; i++ {
		if c := s[i]; c > 0x20 && c < 0x7f && c != ',' && c != '=' {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "v"
	}
	return string(b)
}
