package spans

import (
	"encoding/base64"
	"math"
	"strconv"

	"github.com/tracekit-go/tracekit/internal/semconv"
)

// resourceSpansList reads the resourceSpans array of an OTLP request.
func (d *decoder) resourceSpansList() {
	s := &d.sc
	if !s.open('[', "'[' opening resourceSpans") {
		return
	}
	for first := true; s.more(']', &first); {
		d.resourceSpans()
	}
}

// resourceSpans reads one ResourceSpans. Its spans need the resource's
// service.name; when scopeSpans come before the resource (field order is
// free in JSON) they are skipped on the first pass and read afterwards.
func (d *decoder) resourceSpans() {
	s := &d.sc
	if !s.open('{', "'{' opening a ResourceSpans") {
		return
	}
	service := ""
	seenResource := false
	var deferred []int
	for first := true; s.more('}', &first); {
		switch string(s.key()) {
		case "resource":
			service = d.resource()
			seenResource = true
		case "scopeSpans", "scope_spans", "instrumentationLibrarySpans", "instrumentation_library_spans":
			if seenResource {
				d.scopeSpansList(service)
			} else {
				deferred = append(deferred, s.pos)
				s.skip()
			}
		default:
			s.skip()
		}
	}
	if len(deferred) > 0 {
		end, depth := s.pos, s.depth
		for _, at := range deferred {
			s.pos = at
			d.scopeSpansList(service)
		}
		s.pos, s.depth = end, depth
	}
}

// resource reads a Resource and returns its service.name.
func (d *decoder) resource() string {
	s := &d.sc
	service := ""
	if !s.open('{', "'{' opening a Resource") {
		return service
	}
	for first := true; s.more('}', &first); {
		if string(s.key()) != "attributes" {
			s.skip()
			continue
		}
		if !s.open('[', "'[' opening attributes") {
			continue
		}
		for first := true; s.more(']', &first); {
			if !s.open('{', "'{' opening a KeyValue") {
				continue
			}
			isService := false
			val := ""
			hasVal := false
			for first := true; s.more('}', &first); {
				switch string(s.key()) {
				case "key":
					isService = !s.null() && string(s.str()) == "service.name"
				case "value":
					val, hasVal = d.anyString()
				default:
					s.skip()
				}
			}
			if isService && hasVal {
				service = val
			}
		}
	}
	return service
}

// anyString reads an AnyValue and returns it as a string when it is one.
func (d *decoder) anyString() (string, bool) {
	s := &d.sc
	if !s.open('{', "'{' opening an AnyValue") {
		return "", false
	}
	v, ok := "", false
	for first := true; s.more('}', &first); {
		switch string(s.key()) {
		case "stringValue", "string_value":
			if s.null() {
				continue
			}
			v, ok = d.str(s.str()), true
		default:
			s.skip()
		}
	}
	return v, ok
}

func (d *decoder) scopeSpansList(service string) {
	s := &d.sc
	if !s.open('[', "'[' opening scopeSpans") {
		return
	}
	for first := true; s.more(']', &first); {
		if !s.open('{', "'{' opening a ScopeSpans") {
			continue
		}
		for first := true; s.more('}', &first); {
			switch string(s.key()) {
			case "spans":
				if !s.open('[', "'[' opening spans") {
					continue
				}
				for first := true; s.more(']', &first); {
					d.span(service)
				}
			default:
				s.skip()
			}
		}
	}
}

// span reads one OTLP Span into the value's output.
func (d *decoder) span(service string) {
	s := &d.sc
	if !s.open('{', "'{' opening a Span") {
		return
	}
	d.out = append(d.out, Span{Service: service})
	sp := &d.out[len(d.out)-1]
	attrStart := len(d.attrs)
	for first := true; s.more('}', &first); {
		switch string(s.key()) {
		case "traceId", "trace_id":
			d.id(sp.TraceID[:], "a trace id of 32 hex digits")
		case "spanId", "span_id":
			d.id(sp.ID[:], "a span id of 16 hex digits")
		case "parentSpanId", "parent_span_id":
			d.id(sp.Parent[:], "a parent span id of 16 hex digits")
		case "name":
			if !s.null() {
				sp.Name = d.str(s.str())
			}
		case "startTimeUnixNano", "start_time_unix_nano":
			sp.Start = s.time()
		case "endTimeUnixNano", "end_time_unix_nano":
			sp.End = s.time()
		case "attributes":
			sp.Kind = ""
			d.attrs = d.attrs[:attrStart]
			d.spanAttributes(sp)
		case "status":
			d.status(sp)
		default:
			s.skip()
		}
	}
	if d.cfg.attrs {
		sp.Attrs = d.attrs[attrStart:len(d.attrs):len(d.attrs)]
	}
	if !d.keep(sp) {
		d.out = d.out[:len(d.out)-1]
		d.attrs = d.attrs[:attrStart]
	}
}

// id reads a hex id of exactly 2*len(dst) digits; an empty string is the
// zero id (a root span's parent).
func (d *decoder) id(dst []byte, what string) {
	s := &d.sc
	if s.null() {
		clear(dst)
		return
	}
	start := s.pos
	b := s.str()
	if (len(b) != 0 && len(b) != 2*len(dst)) || !hexID(dst, b) {
		s.pos = start
		s.fail(what)
	}
}

func (d *decoder) status(sp *Span) {
	s := &d.sc
	sp.Status, sp.Message = StatusUnset, ""
	if !s.open('{', "'{' opening a Status") {
		return
	}
	for first := true; s.more('}', &first); {
		switch string(s.key()) {
		case "code":
			start := s.pos
			if s.peek() == '"' {
				switch string(s.str()) {
				case "STATUS_CODE_UNSET":
					sp.Status = StatusUnset
				case "STATUS_CODE_OK":
					sp.Status = StatusOK
				case "STATUS_CODE_ERROR":
					sp.Status = StatusError
				default:
					s.pos = start
					s.fail("a status code")
				}
				continue
			}
			c := s.int64()
			if c < 0 || c > 2 {
				s.pos = start
				s.fail("a status code 0, 1 or 2")
			}
			sp.Status = Status(c)
		case "message":
			if !s.null() {
				sp.Message = d.str(s.str())
			}
		default:
			s.skip()
		}
	}
}

// spanAttributes reads a span's attribute list, picking out tracekit.kind
// and, with WithAttributes, rendering every value as text.
func (d *decoder) spanAttributes(sp *Span) {
	s := &d.sc
	if !s.open('[', "'[' opening attributes") {
		return
	}
	for first := true; s.more(']', &first); {
		if !s.open('{', "'{' opening a KeyValue") {
			if d.cfg.attrs {
				d.attrs = append(d.attrs, Attr{})
			}
			continue
		}
		keyStr := ""
		val := ""
		isString := false
		for first := true; s.more('}', &first); {
			switch string(s.key()) {
			case "key":
				keyStr = ""
				if s.null() {
					continue
				}
				key := s.str()
				if d.cfg.attrs || string(key) == semconv.Kind {
					keyStr = d.str(key)
				}
			case "value":
				if d.cfg.attrs {
					var buf []byte
					buf, isString = d.anyValue(nil, true)
					val = string(buf)
				} else {
					val, isString = d.anyString()
				}
			default:
				s.skip()
			}
		}
		if keyStr == semconv.Kind && isString {
			sp.Kind = d.str([]byte(val))
		} else if keyStr == semconv.Kind {
			sp.Kind = ""
		}
		if d.cfg.attrs {
			d.attrs = append(d.attrs, Attr{Key: keyStr, Value: val})
		}
	}
}

// anyValue reads an AnyValue and appends it to dst as text. It reports
// whether the value was a string. Nested strings are quoted, top-level ones
// are not.
func (d *decoder) anyValue(dst []byte, top bool) ([]byte, bool) {
	s := &d.sc
	if !s.open('{', "'{' opening an AnyValue") {
		return dst, false
	}
	mark := len(dst)
	isString := false
	for first := true; s.more('}', &first); {
		k := string(s.key())
		if k != "stringValue" && k != "string_value" && k != "boolValue" && k != "bool_value" &&
			k != "intValue" && k != "int_value" && k != "doubleValue" && k != "double_value" &&
			k != "bytesValue" && k != "bytes_value" && k != "arrayValue" && k != "array_value" &&
			k != "kvlistValue" && k != "kvlist_value" {
			s.skip()
			continue
		}
		dst = dst[:mark] // the last value field wins
		isString = false
		if s.null() {
			continue
		}
		switch k {
		case "stringValue", "string_value":
			str := s.str()
			if top {
				dst = append(dst, str...)
			} else {
				dst = strconv.AppendQuote(dst, string(str))
			}
			isString = true
		case "boolValue", "bool_value":
			dst = strconv.AppendBool(dst, s.bool())
		case "intValue", "int_value":
			dst = strconv.AppendInt(dst, s.int64(), 10)
		case "doubleValue", "double_value":
			dst = appendFloat(dst, s.float())
		case "bytesValue", "bytes_value":
			at := s.pos
			b := s.str()
			if _, err := base64.StdEncoding.DecodeString(string(b)); err != nil {
				s.pos = at
				s.fail("base64 bytes")
			}
			dst = append(dst, b...)
		case "arrayValue", "array_value":
			dst = d.list(dst, "values", '[', ']')
		case "kvlistValue", "kvlist_value":
			dst = d.list(dst, "values", '{', '}')
		}
	}
	return dst, isString
}

// list renders an ArrayValue ("[a, b]") or a KeyValueList ("{k: v}").
func (d *decoder) list(dst []byte, field string, open, close byte) []byte {
	s := &d.sc
	dst = append(dst, open)
	mark := len(dst)
	if !s.open('{', "'{' opening a list value") {
		return append(dst, close)
	}
	for first := true; s.more('}', &first); {
		if string(s.key()) != field {
			s.skip()
			continue
		}
		dst = dst[:mark]
		if !s.open('[', "'[' opening values") {
			continue
		}
		for first := true; s.more(']', &first); {
			if len(dst) > mark {
				dst = append(dst, ", "...)
			}
			if open == '[' {
				dst, _ = d.anyValue(dst, false)
				continue
			}
			dst = d.kv(dst)
		}
	}
	return append(dst, close)
}

// kv renders one KeyValue of a kvlist as "key: value".
func (d *decoder) kv(dst []byte) []byte {
	s := &d.sc
	if !s.open('{', "'{' opening a KeyValue") {
		return append(dst, ": "...)
	}
	var key, val []byte
	var scratch [64]byte
	for first := true; s.more('}', &first); {
		switch string(s.key()) {
		case "key":
			if s.null() {
				key = key[:0]
				continue
			}
			key = append(key[:0], s.str()...)
		case "value":
			val, _ = d.anyValue(scratch[:0], false)
			val = append([]byte(nil), val...)
		default:
			s.skip()
		}
	}
	dst = append(dst, key...)
	dst = append(dst, ": "...)
	return append(dst, val...)
}

func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}
