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
)

// isProtobuf reports whether the input starts like OTLP protobuf: a raw
// ExportTraceServiceRequest (field 1, resource_spans, length-delimited: 0x0a)
// or the Collector file exporter's proto format, where every request is
// preceded by its length as a 4-byte big-endian integer (a first byte of 0
// for any request under 16 MiB).
func isProtobuf(head []byte) bool {
	return len(head) > 0 && (head[0] == 0x0a || head[0] == 0x00)
}

// protobuf decodes OTLP protobuf: one raw request holding the whole input,
// or length-prefixed requests one after another.
func (d *decoder) protobuf(br *bufio.Reader) error {
	head, _ := br.Peek(1)
	if head[0] == 0x0a {
		msg, err := io.ReadAll(io.LimitReader(br, int64(d.cfg.maxValue)+1))
		if err != nil {
			return d.readErr(err, 0, 0)
		}
		if len(msg) > d.cfg.maxValue {
			return &flame.ParseError{Input: d.name, Err: flame.ErrCorrupt,
				Expected: "an OTLP protobuf request of at most " + strconv.Itoa(d.cfg.maxValue) + " bytes"}
		}
		return d.protoRequest(msg, 0)
	}
	var (
		off  int64
		size [4]byte
		msg  []byte
	)
	for {
		if _, err := io.ReadFull(br, size[:]); err == io.EOF {
			return nil
		} else if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return &flame.ParseError{Input: d.name, Offset: off, Err: flame.ErrCorrupt,
					Expected: "a 4-byte request length"}
			}
			return d.readErr(err, 0, off)
		}
		n := binary.BigEndian.Uint32(size[:])
		if int64(n) > int64(d.cfg.maxValue) {
			return &flame.ParseError{Input: d.name, Offset: off, Err: flame.ErrCorrupt,
				Expected: fmt.Sprintf("a request length of at most %d bytes, not %d", d.cfg.maxValue, n)}
		}
		if cap(msg) < int(n) {
			msg = make([]byte, n)
		}
		msg = msg[:n]
		if _, err := io.ReadFull(br, msg); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
				return &flame.ParseError{Input: d.name, Offset: off + 4, Err: flame.ErrCorrupt,
					Expected: fmt.Sprintf("a request of %d bytes", n)}
			}
			return d.readErr(err, 0, off+4)
		}
		if err := d.protoRequest(msg, off+4); err != nil {
			return err
		}
		off += 4 + int64(n)
	}
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
					if kv.GetKey() == "tracekit.kind" {
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
