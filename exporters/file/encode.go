package file

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// OTLP enum and flag values. OTLP numbers status codes differently from
// go.opentelemetry.io/otel/codes (there Error is 1 and Ok is 2), so they are
// mapped explicitly rather than converted.
const (
	statusCodeOK    = 1
	statusCodeError = 2

	// The bits OTLP defines above the W3C trace flags: whether the parent's
	// remoteness is known, and whether it is remote. The SDK always knows.
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// AppendRequest appends spans to dst as one OTLP/JSON
// ExportTraceServiceRequest object and returns the extended slice. It writes
// no trailing newline.
//
// The encoding is the one the OpenTelemetry Collector's ptrace.JSONMarshaler
// produces (and its file exporter writes): camelCase field names in the same
// order, trace and span ids as lowercase hex, enums as numbers, 64-bit
// integers as decimal strings, bytes as standard base64, NaN and ±Inf
// doubles as the strings "NaN", "Infinity" and "-Infinity", and empty fields
// left out the way protobuf JSON leaves them out. Spans are grouped by
// resource and then by instrumentation scope, each group in the order of its
// first span, and spans keep their order within a group, so the output is a
// deterministic function of the input.
//
// Strings are escaped so that the result is always valid JSON on a single
// line: quotation marks, backslashes and control characters are escaped, and
// each byte of invalid UTF-8 becomes \ufffd, so that every line is valid
// UTF-8 (the Collector copies such bytes through unchanged). Span and link
// fields are filled in as the OpenTelemetry OTLP exporters fill them in,
// including the parent-is-remote bits of the span flags, except that a
// link's trace state is kept where those exporters drop it. Nil spans are
// skipped; an empty batch encodes as {}.
//
// AppendRequest keeps no state and is safe for concurrent use.
func AppendRequest(dst []byte, spans []sdktrace.ReadOnlySpan) []byte {
	groups := groupSpans(spans)
	dst = append(dst, '{')
	if len(groups) > 0 {
		dst = append(dst, `"resourceSpans":[`...)
		for i := range groups {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendResourceSpans(dst, &groups[i])
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

type resourceGroup struct {
	res    *resource.Resource
	scopes []scopeGroup
}

type scopeGroup struct {
	scope instrumentation.Scope
	spans []sdktrace.ReadOnlySpan
}

// Resources with the same attributes but different schema URLs are kept
// apart, since the schema URL is a field of each ResourceSpans.
type resourceKey struct {
	attrs     attribute.Distinct
	schemaURL string
}

type scopeKey struct {
	resource  int
	name      string
	version   string
	schemaURL string
	attrs     attribute.Distinct
}

// groupSpans sorts spans into resources and scopes in order of first
// appearance.
func groupSpans(spans []sdktrace.ReadOnlySpan) []resourceGroup {
	var (
		groups []resourceGroup
		rIndex map[resourceKey]int
		sIndex map[scopeKey]int
	)
	for _, s := range spans {
		if s == nil {
			continue
		}
		if rIndex == nil {
			rIndex = make(map[resourceKey]int)
			sIndex = make(map[scopeKey]int)
		}
		res := s.Resource()
		rk := resourceKey{attrs: res.Equivalent(), schemaURL: res.SchemaURL()}
		ri, ok := rIndex[rk]
		if !ok {
			ri = len(groups)
			rIndex[rk] = ri
			groups = append(groups, resourceGroup{res: res})
		}
		sc := s.InstrumentationScope()
		sk := scopeKey{
			resource:  ri,
			name:      sc.Name,
			version:   sc.Version,
			schemaURL: sc.SchemaURL,
			attrs:     sc.Attributes.Equivalent(),
		}
		g := &groups[ri]
		si, ok := sIndex[sk]
		if !ok {
			si = len(g.scopes)
			sIndex[sk] = si
			g.scopes = append(g.scopes, scopeGroup{scope: sc})
		}
		g.scopes[si].spans = append(g.scopes[si].spans, s)
	}
	return groups
}

// appendKey appends a field name (a constant that needs no escaping),
// preceded by a comma unless it is the first field of its object.
func appendKey(dst []byte, first bool, name string) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
}

func appendResourceSpans(dst []byte, g *resourceGroup) []byte {
	dst = append(dst, `{"resource":{`...)
	if it := g.res.Iter(); it.Len() > 0 {
		dst = appendKey(dst, true, "attributes")
		dst = appendIterator(dst, it)
	}
	dst = append(dst, '}')
	dst = appendKey(dst, false, "scopeSpans")
	dst = append(dst, '[')
	for i := range g.scopes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendScopeSpans(dst, &g.scopes[i])
	}
	dst = append(dst, ']')
	if u := g.res.SchemaURL(); u != "" {
		dst = appendKey(dst, false, "schemaUrl")
		dst = appendString(dst, u)
	}
	return append(dst, '}')
}

func appendScopeSpans(dst []byte, g *scopeGroup) []byte {
	dst = append(dst, `{"scope":{`...)
	first := true
	if g.scope.Name != "" {
		dst = appendKey(dst, first, "name")
		dst = appendString(dst, g.scope.Name)
		first = false
	}
	if g.scope.Version != "" {
		dst = appendKey(dst, first, "version")
		dst = appendString(dst, g.scope.Version)
		first = false
	}
	if it := g.scope.Attributes.Iter(); it.Len() > 0 {
		dst = appendKey(dst, first, "attributes")
		dst = appendIterator(dst, it)
	}
	dst = append(dst, '}')
	dst = appendKey(dst, false, "spans")
	dst = append(dst, '[')
	for i, s := range g.spans {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendSpan(dst, s)
	}
	dst = append(dst, ']')
	if g.scope.SchemaURL != "" {
		dst = appendKey(dst, false, "schemaUrl")
		dst = appendString(dst, g.scope.SchemaURL)
	}
	return append(dst, '}')
}

func appendSpan(dst []byte, s sdktrace.ReadOnlySpan) []byte {
	sc := s.SpanContext()
	parent := s.Parent()
	dst = append(dst, '{')
	dst, first := appendSpanContext(dst, sc)
	if psid := parent.SpanID(); psid.IsValid() {
		dst = appendKey(dst, first, "parentSpanId")
		dst = appendHex(dst, psid[:])
		first = false
	}
	dst = appendKey(dst, first, "flags")
	dst = strconv.AppendUint(dst, uint64(spanFlags(sc.TraceFlags(), parent.IsRemote())), 10)
	if name := s.Name(); name != "" {
		dst = appendKey(dst, false, "name")
		dst = appendString(dst, name)
	}
	if k := spanKind(s.SpanKind()); k != 0 {
		dst = appendKey(dst, false, "kind")
		dst = strconv.AppendInt(dst, int64(k), 10)
	}
	dst = appendTime(dst, "startTimeUnixNano", s.StartTime())
	dst = appendTime(dst, "endTimeUnixNano", s.EndTime())
	if attrs := s.Attributes(); len(attrs) > 0 {
		dst = appendKey(dst, false, "attributes")
		dst = appendKeyValues(dst, attrs)
	}
	dst = appendCount(dst, "droppedAttributesCount", s.DroppedAttributes())
	dst = appendList(dst, "events", s.Events(), appendEvent)
	dst = appendCount(dst, "droppedEventsCount", s.DroppedEvents())
	dst = appendList(dst, "links", s.Links(), appendLink)
	dst = appendCount(dst, "droppedLinksCount", s.DroppedLinks())
	dst = appendKey(dst, false, "status")
	dst = appendStatus(dst, s.Status())
	return append(dst, '}')
}

func appendEvent(dst []byte, e *sdktrace.Event) []byte {
	dst = append(dst, '{')
	first := true
	if ns := unixNano(e.Time); ns != 0 {
		dst = appendKey(dst, first, "timeUnixNano")
		dst = appendQuotedUint(dst, ns)
		first = false
	}
	if e.Name != "" {
		dst = appendKey(dst, first, "name")
		dst = appendString(dst, e.Name)
		first = false
	}
	if len(e.Attributes) > 0 {
		dst = appendKey(dst, first, "attributes")
		dst = appendKeyValues(dst, e.Attributes)
		first = false
	}
	if n := clampUint32(e.DroppedAttributeCount); n != 0 {
		dst = appendKey(dst, first, "droppedAttributesCount")
		dst = strconv.AppendUint(dst, uint64(n), 10)
	}
	return append(dst, '}')
}

// appendList writes a non-first field key holding items as a JSON array,
// each encoded by each; nothing when items is empty, as protobuf JSON omits
// empty repeated fields.
func appendList[T any](dst []byte, key string, items []T, each func([]byte, *T) []byte) []byte {
	if len(items) == 0 {
		return dst
	}
	dst = appendKey(dst, false, key)
	dst = append(dst, '[')
	for i := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = each(dst, &items[i])
	}
	return append(dst, ']')
}

// appendSpanContext writes the traceId, spanId and traceState fields of sc
// that are set, as the first fields of an object, and reports whether it
// wrote none (so the next field needs no comma).
func appendSpanContext(dst []byte, sc trace.SpanContext) ([]byte, bool) {
	first := true
	if tid := sc.TraceID(); tid.IsValid() {
		dst = appendKey(dst, first, "traceId")
		dst = appendHex(dst, tid[:])
		first = false
	}
	if sid := sc.SpanID(); sid.IsValid() {
		dst = appendKey(dst, first, "spanId")
		dst = appendHex(dst, sid[:])
		first = false
	}
	if ts := sc.TraceState().String(); ts != "" {
		dst = appendKey(dst, first, "traceState")
		dst = appendString(dst, ts)
		first = false
	}
	return dst, first
}

func appendLink(dst []byte, l *sdktrace.Link) []byte {
	sc := l.SpanContext
	dst = append(dst, '{')
	dst, first := appendSpanContext(dst, sc)
	if len(l.Attributes) > 0 {
		dst = appendKey(dst, first, "attributes")
		dst = appendKeyValues(dst, l.Attributes)
		first = false
	}
	if n := clampUint32(l.DroppedAttributeCount); n != 0 {
		dst = appendKey(dst, first, "droppedAttributesCount")
		dst = strconv.AppendUint(dst, uint64(n), 10)
		first = false
	}
	dst = appendKey(dst, first, "flags")
	dst = strconv.AppendUint(dst, uint64(spanFlags(sc.TraceFlags(), sc.IsRemote())), 10)
	return append(dst, '}')
}

func appendStatus(dst []byte, st sdktrace.Status) []byte {
	dst = append(dst, '{')
	first := true
	if st.Description != "" {
		dst = appendKey(dst, first, "message")
		dst = appendString(dst, st.Description)
		first = false
	}
	var code int
	switch st.Code {
	case codes.Ok:
		code = statusCodeOK
	case codes.Error:
		code = statusCodeError
	}
	if code != 0 {
		dst = appendKey(dst, first, "code")
		dst = strconv.AppendInt(dst, int64(code), 10)
	}
	return append(dst, '}')
}

func spanFlags(tf trace.TraceFlags, remote bool) uint32 {
	f := uint32(tf) | flagHasIsRemote
	if remote {
		f |= flagIsRemote
	}
	return f
}

// spanKind maps to OTLP's numbering, which happens to match the API's for
// every defined kind; anything else is unspecified.
func spanKind(k trace.SpanKind) int {
	switch k {
	case trace.SpanKindInternal, trace.SpanKindServer, trace.SpanKindClient,
		trace.SpanKindProducer, trace.SpanKindConsumer:
		return int(k)
	default:
		return 0
	}
}

// unixNano returns t in nanoseconds since the epoch, or 0 for times before
// it (including the zero time.Time), as OTLP's fixed64 fields require.
func unixNano(t time.Time) uint64 {
	return uint64(max(0, t.UnixNano()))
}

func appendTime(dst []byte, name string, t time.Time) []byte {
	ns := unixNano(t)
	if ns == 0 {
		return dst
	}
	dst = appendKey(dst, false, name)
	return appendQuotedUint(dst, ns)
}

func appendCount(dst []byte, name string, n int) []byte {
	c := clampUint32(n)
	if c == 0 {
		return dst
	}
	dst = appendKey(dst, false, name)
	return strconv.AppendUint(dst, uint64(c), 10)
}

func clampUint32(n int) uint32 {
	switch {
	case n <= 0:
		return 0
	case int64(n) > math.MaxUint32:
		return math.MaxUint32
	default:
		return uint32(n)
	}
}

func appendQuotedUint(dst []byte, v uint64) []byte {
	dst = append(dst, '"')
	dst = strconv.AppendUint(dst, v, 10)
	return append(dst, '"')
}

func appendHex(dst []byte, id []byte) []byte {
	dst = append(dst, '"')
	dst = hex.AppendEncode(dst, id)
	return append(dst, '"')
}

func appendKeyValues(dst []byte, kvs []attribute.KeyValue) []byte {
	dst = append(dst, '[')
	for i, kv := range kvs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendKeyValue(dst, kv)
	}
	return append(dst, ']')
}

func appendIterator(dst []byte, it attribute.Iterator) []byte {
	dst = append(dst, '[')
	for i := 0; it.Next(); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendKeyValue(dst, it.Attribute())
	}
	return append(dst, ']')
}

func appendKeyValue(dst []byte, kv attribute.KeyValue) []byte {
	dst = append(dst, '{')
	if kv.Key != "" {
		dst = append(dst, `"key":`...)
		dst = appendString(dst, string(kv.Key))
		dst = append(dst, ',')
	}
	dst = append(dst, `"value":`...)
	dst = appendValue(dst, kv.Value)
	return append(dst, '}')
}

// appendValue appends an OTLP AnyValue. Homogeneous slices become an
// ArrayValue of scalars, as the OTLP exporters send them.
func appendValue(dst []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		if v.AsBool() {
			return append(dst, `{"boolValue":true}`...)
		}
		return append(dst, `{"boolValue":false}`...)
	case attribute.INT64:
		dst = append(dst, `{"intValue":"`...)
		dst = strconv.AppendInt(dst, v.AsInt64(), 10)
		return append(dst, `"}`...)
	case attribute.FLOAT64:
		dst = append(dst, `{"doubleValue":`...)
		dst = appendDouble(dst, v.AsFloat64())
		return append(dst, '}')
	case attribute.STRING:
		dst = append(dst, `{"stringValue":`...)
		dst = appendString(dst, v.AsString())
		return append(dst, '}')
	case attribute.BYTESLICE:
		dst = append(dst, `{"bytesValue":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, v.AsByteSlice())
		return append(dst, `"}`...)
	case attribute.BOOLSLICE:
		return appendArray(dst, v.AsBoolSlice(), func(dst []byte, b bool) []byte {
			return appendValue(dst, attribute.BoolValue(b))
		})
	case attribute.INT64SLICE:
		return appendArray(dst, v.AsInt64Slice(), func(dst []byte, n int64) []byte {
			return appendValue(dst, attribute.Int64Value(n))
		})
	case attribute.FLOAT64SLICE:
		return appendArray(dst, v.AsFloat64Slice(), func(dst []byte, f float64) []byte {
			return appendValue(dst, attribute.Float64Value(f))
		})
	case attribute.STRINGSLICE:
		return appendArray(dst, v.AsStringSlice(), func(dst []byte, s string) []byte {
			return appendValue(dst, attribute.StringValue(s))
		})
	case attribute.SLICE:
		return appendArray(dst, v.AsSlice(), appendValue)
	case attribute.MAP:
		dst = append(dst, `{"kvlistValue":{`...)
		if kvs := v.AsMap(); len(kvs) > 0 {
			dst = append(dst, `"values":`...)
			dst = appendKeyValues(dst, kvs)
		}
		return append(dst, `}}`...)
	case attribute.EMPTY:
		return append(dst, `{}`...)
	default:
		// An attribute type newer than this encoder: say so rather than
		// drop the attribute, as the OTLP exporters do.
		return append(dst, `{"stringValue":"INVALID"}`...)
	}
}

func appendArray[T any](dst []byte, vals []T, elem func([]byte, T) []byte) []byte {
	dst = append(dst, `{"arrayValue":{`...)
	if len(vals) > 0 {
		dst = append(dst, `"values":[`...)
		for i, v := range vals {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = elem(dst, v)
		}
		dst = append(dst, ']')
	}
	return append(dst, `}}`...)
}

// appendDouble writes a protobuf JSON double: a number, or one of the
// strings "NaN", "Infinity" and "-Infinity", which JSON numbers cannot
// express. Numbers use the shortest representation that round-trips, in
// plain notation for magnitudes from 1e-6 up to 1e21 and in exponent
// notation outside that range, as the Collector writes them.
func appendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(dst, f, format, -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. It escapes what JSON requires and
// no more, as the Collector does: '"', '\\', and the control characters
// below U+0020 (\n, \r and \t by name, the rest as \u00XX). Each byte that is
// not part of valid UTF-8 is written as \ufffd, so the output is valid
// UTF-8 and valid JSON whatever s holds.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
