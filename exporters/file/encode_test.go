package file

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const goldenPath = "testdata/fixture.golden.json"

// TestAppendRequestGolden pins the exact bytes of the encoding. Regenerate
// with: go test ./exporters/file -run Golden -update
func TestAppendRequestGolden(t *testing.T) {
	got := AppendRequest(nil, fixtureSpans(t))
	got = append(got, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encoding differs from %s (run with -update if the change is intended)\ngot:  %s\nwant: %s", goldenPath, got, want)
	}
	if !json.Valid(got) {
		t.Errorf("output is not valid JSON")
	}
	if n := bytes.Count(got, []byte{'\n'}); n != 1 {
		t.Errorf("output has %d newlines, want exactly the final one", n)
	}
}

func TestAppendRequestAppends(t *testing.T) {
	spans := fixtureSpans(t)
	prefix := []byte("prefix:")
	got := AppendRequest(prefix, spans)
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("AppendRequest did not keep dst: %.20q", got)
	}
	if want := AppendRequest(nil, spans); !bytes.Equal(got[len(prefix):], want) {
		t.Errorf("appending to a prefix changed the encoding")
	}
}

func TestAppendRequestEmpty(t *testing.T) {
	for _, spans := range [][]sdktrace.ReadOnlySpan{nil, {}, {nil, nil}} {
		if got := string(AppendRequest(nil, spans)); got != "{}" {
			t.Errorf("AppendRequest(%d spans) = %s, want {}", len(spans), got)
		}
	}
}

// decode parses one request with encoding/json, numbers kept as text.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// at walks v along path: strings index objects, ints index arrays. It
// returns nil where the path leads nowhere.
func at(v any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[p]
		case int:
			a, ok := v.([]any)
			if !ok || p >= len(a) {
				return nil
			}
			v = a[p]
		}
	}
	return v
}

// attrValue finds the value of the attribute key in a list of KeyValues.
func attrValue(list any, key string) any {
	a, _ := list.([]any)
	for _, kv := range a {
		if at(kv, "key") == key {
			return at(kv, "value")
		}
	}
	return nil
}

// compact re-encodes a decoded value so tests can state expectations as
// JSON text.
func compact(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAppendRequestStructure(t *testing.T) {
	req := decode(t, AppendRequest(nil, fixtureSpans(t)))
	rs := func(path ...any) any { return at(req, append([]any{"resourceSpans"}, path...)...) }
	// Resource 0 (svc-a) has scope1 (root, grandchild) then scope2 (child);
	// resource 1 (svc-b) has scope1 (remote-child); resource 2 is empty.
	root := []any{0, "scopeSpans", 0, "spans", 0}
	child := []any{0, "scopeSpans", 1, "spans", 0}
	remote := []any{1, "scopeSpans", 0, "spans", 0}
	bare := []any{2, "scopeSpans", 0, "spans", 0}
	p := func(base []any, rest ...any) []any { return append(append([]any{}, base...), rest...) }

	tests := []struct {
		name string
		path []any
		want string // JSON; "" means absent
	}{
		{"resource count", nil, ""},
		{"resource attributes sorted", []any{0, "resource", "attributes", 0}, `{"key":"service.instance.num","value":{"intValue":"7"}}`},
		{"resource schemaUrl", []any{0, "schemaUrl"}, `"https://opentelemetry.io/schemas/1.26.0"`},
		{"schemaless resource", []any{1, "schemaUrl"}, ""},
		{"empty resource", []any{2, "resource"}, `{}`},
		{"empty scope", []any{2, "scopeSpans", 0, "scope"}, `{}`},
		{"scope", []any{0, "scopeSpans", 0, "scope"}, `{"name":"tracekit/one","version":"v1.2.3"}`},
		{"scope schemaUrl", []any{0, "scopeSpans", 0, "schemaUrl"}, `"https://example.com/scope"`},
		{"scope attributes", []any{0, "scopeSpans", 1, "scope"}, `{"attributes":[{"key":"scope.attr","value":{"boolValue":true}}],"name":"tracekit/two"}`},
		{"grouped span order", []any{0, "scopeSpans", 0, "spans", 1, "name"}, `"grandchild"`},
		{"traceId hex", p(root, "traceId"), `"4bf92f3577b34da6a3ce929d0e0e4736"`},
		{"spanId hex with leading zero", p(root, "spanId"), `"00f067aa0ba902b7"`},
		{"traceState", p(root, "traceState"), `"vendor=value,other=x"`},
		{"root has no parent", p(root, "parentSpanId"), ""},
		{"flags local", p(root, "flags"), `257`},
		{"kind server", p(root, "kind"), `2`},
		{"start", p(root, "startTimeUnixNano"), `"1741964966535897932"`},
		{"end", p(root, "endTimeUnixNano"), `"1741964968035897932"`},
		{"dropped attributes", p(root, "droppedAttributesCount"), `3`},
		{"dropped events", p(root, "droppedEventsCount"), `4`},
		{"dropped links", p(root, "droppedLinksCount"), `5`},
		{"status ok", p(root, "status"), `{"code":1}`},
		{"event", p(root, "events", 0), `{"attributes":[{"key":"n","value":{"intValue":"1"}}],"droppedAttributesCount":2,"name":"started","timeUnixNano":"1741964966536897932"}`},
		{"bare event", p(root, "events", 1), `{"name":"bare","timeUnixNano":"1741964966537897932"}`},
		{"remote link", p(root, "links", 0), `{"attributes":[{"key":"link.kind","value":{"stringValue":"follows"}}],"droppedAttributesCount":1,"flags":769,"spanId":"d1d2d3d4d5d6d7d8","traceId":"0102030405060708090a0b0c0d0e0f10","traceState":"k=v"}`},
		{"local link", p(root, "links", 1), `{"flags":257,"spanId":"b1b2b3b4b5b6b7b8","traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}`},
		{"parent", p(child, "parentSpanId"), `"00f067aa0ba902b7"`},
		{"kind client", p(child, "kind"), `3`},
		{"status error", p(child, "status"), `{"code":2,"message":"boom: \"bad\""}`},
		{"no events", p(child, "events"), ""},
		{"no attributes", p(child, "attributes"), ""},
		{"remote parent flags", p(remote, "flags"), `769`},
		{"kind consumer", p(remote, "kind"), `5`},
		{"status unset", p(remote, "status"), `{}`},
		{"bare span", bare, `{"flags":256,"spanId":"00f067aa0ba902b7","status":{},"traceId":"0102030405060708090a0b0c0d0e0f10"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path == nil {
				if n := len(rs().([]any)); n != 3 {
					t.Fatalf("%d resourceSpans, want 3", n)
				}
				return
			}
			got := rs(tt.path...)
			switch {
			case tt.want == "" && got != nil:
				t.Errorf("got %s, want the field absent", compact(t, got))
			case tt.want != "" && got == nil:
				t.Errorf("field absent, want %s", tt.want)
			case tt.want != "" && compact(t, got) != tt.want:
				t.Errorf("got  %s\nwant %s", compact(t, got), tt.want)
			}
		})
	}
}

func TestAppendRequestAttributeTypes(t *testing.T) {
	req := decode(t, AppendRequest(nil, fixtureSpans(t)))
	attrs := at(req, "resourceSpans", 0, "scopeSpans", 0, "spans", 0, "attributes")
	tests := []struct {
		key  string
		want string
	}{
		{"str", `{"stringValue":"héllo \"wörld\"\n\t\\ \u0001 \u2028 😀"}`},
		{"str.invalid", `{"stringValue":"a\ufffdb\ufffd"}`},
		{"str.empty", `{"stringValue":""}`},
		{"bool.true", `{"boolValue":true}`},
		{"bool.false", `{"boolValue":false}`},
		{"int", `{"intValue":"-9223372036854775808"}`},
		{"int.max", `{"intValue":"9223372036854775807"}`},
		{"int.zero", `{"intValue":"0"}`},
		{"double", `{"doubleValue":1.5}`},
		{"double.nan", `{"doubleValue":"NaN"}`},
		{"double.inf", `{"doubleValue":"Infinity"}`},
		{"double.neginf", `{"doubleValue":"-Infinity"}`},
		{"double.tiny", `{"doubleValue":1e-07}`},
		{"double.huge", `{"doubleValue":1e+21}`},
		{"double.third", `{"doubleValue":0.3333333333333333}`},
		{"double.zero", `{"doubleValue":0}`},
		{"bools", `{"arrayValue":{"values":[{"boolValue":true},{"boolValue":false}]}}`},
		{"ints", `{"arrayValue":{"values":[{"intValue":"1"},{"intValue":"-2"},{"intValue":"9223372036854775807"}]}}`},
		{"doubles", `{"arrayValue":{"values":[{"doubleValue":0.25},{"doubleValue":"NaN"},{"doubleValue":"-Infinity"}]}}`},
		{"strs", `{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":""},{"stringValue":"c\"d"}]}}`},
		{"strs.empty", `{"arrayValue":{}}`},
		{"bytes", `{"bytesValue":"AAEC/v8="}`},
		{"bytes.empty", `{"bytesValue":""}`},
		{"mixed", `{"arrayValue":{"values":[{"intValue":"1"},{"stringValue":"two"},{}]}}`},
		{"map", `{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}},{"key":"nested","value":{"kvlistValue":{"values":[{"key":"f","value":{"doubleValue":2.5}}]}}}]}}`},
		{"map.empty", `{"kvlistValue":{}}`},
		{"empty", `{}`},
	}
	if n := len(attrs.([]any)); n != len(tests) {
		t.Errorf("%d attributes, want %d", n, len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got := attrValue(attrs, tt.key)
			if got == nil {
				t.Fatalf("attribute %q missing", tt.key)
			}
			// Compare as parsed JSON, so that the table can spell numbers
			// and escapes the way encoding/json re-encodes them.
			var want any
			dec := json.NewDecoder(strings.NewReader(tt.want))
			dec.UseNumber()
			if err := dec.Decode(&want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %s\nwant %s", compact(t, got), tt.want)
			}
		})
	}
}

func TestAppendDouble(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, `0`},
		{math.Copysign(0, -1), `-0`},
		{1, `1`},
		{-2.5, `-2.5`},
		{1e-6, `0.000001`},
		{9.99e-7, `9.99e-07`},
		{1e20, `100000000000000000000`},
		{1e21, `1e+21`},
		{-1e300, `-1e+300`},
		{math.SmallestNonzeroFloat64, `5e-324`},
		{math.MaxFloat64, `1.7976931348623157e+308`},
		{0.1, `0.1`},
		{math.NaN(), `"NaN"`},
		{math.Inf(1), `"Infinity"`},
		{math.Inf(-1), `"-Infinity"`},
	}
	for _, tt := range tests {
		got := string(appendDouble(nil, tt.in))
		if got != tt.want {
			t.Errorf("appendDouble(%v) = %s, want %s", tt.in, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("appendDouble(%v) = %s is not JSON", tt.in, got)
		}
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"b\`, `"q\"b\\"`},
		{"\n\r\t", `"\n\r\t"`},
		{"\x00\x08\x0c\x1f", `"\u0000\u0008\u000c\u001f"`},
		{"\x7f", "\"\x7f\""},
		{"<&>", `"<&>"`},
		{"é😀", `"é😀"`},
		{"\u2028\u2029", "\"\u2028\u2029\""},
		{"\xff", `"\ufffd"`},
		{"a\xc3", `"a\ufffd"`},                   // truncated sequence
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // surrogate half: one per byte
		{"\xef\xbf\xbd", "\"\ufffd\""},           // a real U+FFFD stays as it is
	}
	for _, tt := range tests {
		got := string(appendString(nil, tt.in))
		if got != tt.want {
			t.Errorf("appendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("appendString(%q) = %s does not parse: %v", tt.in, got, err)
		} else if want := string([]rune(tt.in)); back != want {
			t.Errorf("appendString(%q) parses back as %q, want %q", tt.in, back, want)
		}
	}
}

func TestGroupingKeepsSchemaURLsApart(t *testing.T) {
	spans := fixtureSpans(t)[:1] // root: resource svc-a with a schema URL
	// The same attributes without a schema URL are a different resource.
	stub := tracetest.SpanStubFromReadOnlySpan(spans[0])
	stub.Resource = resource.NewSchemaless(stub.Resource.Attributes()...)
	both := append(spans, stub.Snapshot())
	req := decode(t, AppendRequest(nil, both))
	if n := len(at(req, "resourceSpans").([]any)); n != 2 {
		t.Errorf("%d resourceSpans, want 2", n)
	}
}
