package gen

import (
	"encoding/binary"
	"io"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Request returns the spans as one OTLP ExportTraceServiceRequest with the
// attributes WriteOTLP writes, one ResourceSpans per service.
func Request(spans []Span) *coltracepb.ExportTraceServiceRequest {
	req := &coltracepb.ExportTraceServiceRequest{}
	by := map[string]*tracepb.ScopeSpans{}
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	for _, s := range spans {
		ss, ok := by[s.Service]
		if !ok {
			ss = &tracepb.ScopeSpans{}
			by[s.Service] = ss
			req.ResourceSpans = append(req.ResourceSpans, &tracepb.ResourceSpans{
				Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("host.name", "node-1"), str("service.name", s.Service)}},
				ScopeSpans: []*tracepb.ScopeSpans{ss},
			})
		}
		ps := &tracepb.Span{
			TraceId:           append([]byte(nil), s.TraceID[:]...),
			SpanId:            append([]byte(nil), s.SpanID[:]...),
			Name:              s.Name,
			StartTimeUnixNano: uint64(s.Start),
			EndTimeUnixNano:   uint64(s.End),
			Status:            &tracepb.Status{},
		}
		if s.Parent != [8]byte{} {
			ps.ParentSpanId = append([]byte(nil), s.Parent[:]...)
		}
		if s.Kind != "" {
			ps.Attributes = append(ps.Attributes, str("tracekit.kind", s.Kind))
		}
		ps.Attributes = append(ps.Attributes, str("code.function.name", s.Function),
			str("code.file.path", "/src/shop/internal/service/handler.go"),
			&commonpb.KeyValue{Key: "code.line.number", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(s.Line)}}})
		if s.Error {
			ps.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"}
		}
		ss.Spans = append(ss.Spans, ps)
	}
	return req
}

// WriteProto writes the traces as OTLP protobuf requests of batch spans,
// each preceded by its length (4 bytes, big-endian) as the Collector's file
// exporter writes its proto format; with framed false it writes all spans
// as one raw request instead.
func WriteProto(w io.Writer, traces [][]Span, batch int, framed bool) error {
	var all []Span
	for _, tr := range traces {
		all = append(all, tr...)
	}
	if !framed {
		b, err := proto.Marshal(Request(all))
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	for len(all) > 0 {
		n := min(batch, len(all))
		b, err := proto.Marshal(Request(all[:n]))
		if err != nil {
			return err
		}
		var size [4]byte
		binary.BigEndian.PutUint32(size[:], uint32(len(b)))
		if _, err := w.Write(size[:]); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		all = all[n:]
	}
	return nil
}
