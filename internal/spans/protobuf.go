package spans

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/semconv"
)

// framing is how OTLP protobuf requests are laid out in an input.
type framing uint8

const (
	notProto framing = iota
	rawProto         // one request holding the whole input
	fixed32          // each request preceded by its length, 4 bytes big-endian
	varint32         // each request preceded by its length as a varint
)

// protoFraming finds how head, the first bytes of an input, holds OTLP
// protobuf, or reports notProto. A request (ExportTraceServiceRequest or
// TracesData: the same fields) starts with field 1, resource_spans,
// length-delimited (0x0a), and a ResourceSpans starts with one of its
// length-delimited fields 1 to 3 (resource, scope_spans, schema_url) or is
// empty. A pprof profile also starts with 0x0a, but its first field, a
// sample type, starts with varint fields: that is how the two are told
// apart. The raw request is tried first (it starts with 0x0a, which a
// 4-byte length of any request under 160 MiB does not), then a 4-byte
// length, then a varint length.
func protoFraming(head []byte) framing {
	if startsRequest(head, -1) {
		return rawProto
	}
	if len(head) >= 5 {
		if n := binary.BigEndian.Uint32(head); n > 0 && startsRequest(head[4:], int64(n)) {
			return fixed32
		}
	}
	if n, k := binary.Uvarint(head); k > 0 && n > 0 && startsRequest(head[k:], int64(n)) {
		return varint32
	}
	return notProto
}

// startsRequest reports whether b starts like a request of size bytes (-1:
// unknown): a resource_spans field whose length fits, whose content starts
// like a ResourceSpans. It looks at no more than the first fields, so that
// a head cut anywhere is judged the same.
func startsRequest(b []byte, size int64) bool {
	if len(b) < 2 || b[0] != 0x0a {
		return false
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 {
		return false
	}
	if size >= 0 && int64(n)+int64(1+k) > size {
		return false
	}
	inner := b[1+k:]
	if n == 0 {
		// An empty ResourceSpans: the next field must be another one, or
		// the request must end.
		if size >= 0 && size == int64(1+k) {
			return true
		}
		return len(inner) > 0 && inner[0] == 0x0a
	}
	if len(inner) == 0 {
		return true // the input ends right after the length
	}
	switch inner[0] {
	case 0x0a, 0x12, 0x1a:
		return true
	}
	return false
}

// protobuf decodes OTLP protobuf laid out as f.
func (d *decoder) protobuf(br *bufio.Reader, f framing) error {
	if f == rawProto {
		msg, err := io.ReadAll(io.LimitReader(br, int64(d.cfg.maxValue)+1))
		if err != nil {
			return d.readErr(err, 0, 0)
		}
		if len(msg) > d.cfg.maxValue {
			return &flame.ParseError{Input: d.name, Err: flame.ErrTooLarge,
				Expected: "an OTLP protobuf request of at most " + strconv.Itoa(d.cfg.maxValue) + " bytes"}
		}
		return d.protoRequest(msg, 0)
	}
	var (
		off int64
		msg []byte
	)
	for {
		var n uint64
		var k int
		if f == fixed32 {
			var size [4]byte
			if _, err := io.ReadFull(br, size[:]); err == io.EOF {
				return nil
			} else if err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) {
					return &flame.ParseError{Input: d.name, Offset: off, Err: flame.ErrCorrupt,
						Expected: "a 4-byte request length"}
				}
				return d.readErr(err, 0, off)
			}
			n, k = uint64(binary.BigEndian.Uint32(size[:])), 4
		} else {
			var err error
			c := &countingReader{r: br}
			n, err = binary.ReadUvarint(c)
			k = c.n
			if err == io.EOF {
				return nil
			} else if err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) || k > 0 {
					return &flame.ParseError{Input: d.name, Offset: off, Err: flame.ErrCorrupt,
						Expected: "a varint request length"}
				}
				return d.readErr(err, 0, off)
			}
		}
		if n > uint64(d.cfg.maxValue) {
			return &flame.ParseError{Input: d.name, Offset: off, Err: flame.ErrTooLarge,
				Expected: fmt.Sprintf("a request length of at most %d bytes, not %d", d.cfg.maxValue, n)}
		}
		if cap(msg) < int(n) {
			msg = make([]byte, n)
		}
		msg = msg[:n]
		if _, err := io.ReadFull(br, msg); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
				return &flame.ParseError{Input: d.name, Offset: off + int64(k), Err: flame.ErrCorrupt,
					Expected: fmt.Sprintf("a request of %d bytes", n)}
			}
			return d.readErr(err, 0, off+int64(k))
		}
		if err := d.protoRequest(msg, off+int64(k)); err != nil {
			return err
		}
		off += int64(k) + int64(n)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ByteReader
	n int
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (d *decoder) protoRequest(msg []byte, off int64) error {
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(msg, &req); err != nil {
		return &flame.ParseError{Input: d.name, Offset: off, Err: fmt.Errorf("%w: %v", flame.ErrCorrupt, err),
			Expected: "an OTLP ExportTraceServiceRequest"}
	}
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				if sv, ok := kv.GetValue().GetValue().(*commonpb.AnyValue_StringValue); ok {
					service = d.str([]byte(sv.StringValue))
				}
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, ps := range ss.GetSpans() {
				sp := Span{Service: service, Name: d.str([]byte(ps.GetName()))}
				for _, id := range []struct {
					dst  []byte
					src  []byte
					what string
				}{
					{sp.TraceID[:], ps.GetTraceId(), "a 16-byte trace id"},
					{sp.ID[:], ps.GetSpanId(), "an 8-byte span id"},
					{sp.Parent[:], ps.GetParentSpanId(), "an empty or 8-byte parent span id"},
				} {
					if len(id.src) != 0 && len(id.src) != len(id.dst) {
						return &flame.ParseError{Input: d.name, Offset: off, Err: flame.ErrCorrupt, Expected: id.what}
					}
					copy(id.dst, id.src)
				}
				start, end := ps.GetStartTimeUnixNano(), ps.GetEndTimeUnixNano()
				if start > math.MaxInt64 || end > math.MaxInt64 {
					return &flame.ParseError{Input: d.name, Offset: off, Err: flame.ErrCorrupt, Expected: "times before the year 2262"}
				}
				sp.Start, sp.End = int64(start), int64(end)
				if c := ps.GetStatus().GetCode(); c >= 0 && c <= 2 {
					sp.Status = Status(c)
				}
				if m := ps.GetStatus().GetMessage(); m != "" {
					sp.Message = d.str([]byte(m))
				}
				attrStart := len(d.attrs)
				for _, kv := range ps.GetAttributes() {
					if kv.GetKey() == semconv.Kind {
						sp.Kind = ""
						if sv, ok := kv.GetValue().GetValue().(*commonpb.AnyValue_StringValue); ok {
							sp.Kind = d.str([]byte(sv.StringValue))
						}
					}
					if d.cfg.attrs {
						d.attrs = append(d.attrs, Attr{Key: d.str([]byte(kv.GetKey())), Value: string(appendAny(nil, kv.GetValue(), true))})
					}
				}
				if d.cfg.attrs {
					sp.Attrs = d.attrs[attrStart:len(d.attrs):len(d.attrs)]
				}
				if !d.keep(&sp) {
					continue
				}
				if err := d.fn(&sp); err != nil {
					return err
				}
			}
		}
	}
	d.attrs = d.attrs[:0]
	return nil
}

// appendAny renders a protobuf AnyValue as the JSON decoder renders one.
func appendAny(dst []byte, v *commonpb.AnyValue, top bool) []byte {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		if top {
			return append(dst, x.StringValue...)
		}
		return strconv.AppendQuote(dst, x.StringValue)
	case *commonpb.AnyValue_BoolValue:
		return strconv.AppendBool(dst, x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return strconv.AppendInt(dst, x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return appendFloat(dst, x.DoubleValue)
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.AppendEncode(dst, x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		dst = append(dst, '[')
		for i, e := range x.ArrayValue.GetValues() {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendAny(dst, e, false)
		}
		return append(dst, ']')
	case *commonpb.AnyValue_KvlistValue:
		dst = append(dst, '{')
		for i, kv := range x.KvlistValue.GetValues() {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = append(dst, kv.GetKey()...)
			dst = append(dst, ": "...)
			dst = appendAny(dst, kv.GetValue(), false)
		}
		return append(dst, '}')
	}
	return dst
}
