// Package gen makes synthetic traces for the span decoders' tests and
// benchmarks: services with nested, parallel spans, lock waits and channel
// blocks, written as OTLP JSON lines the way tracekit's file exporter writes
// them, or as a Jaeger API response. Output is deterministic for a seed.
package gen

import (
	"bufio"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"strconv"
)

// Span is one generated span.
type Span struct {
	TraceID    [16]byte
	SpanID     [8]byte
	Parent     [8]byte
	Service    string
	Name       string
	Start, End int64
	Kind       string // tracekit.kind, or ""
	Error      bool
	Function   string
	Line       int
}

var services = []string{"frontend", "checkout", "pricing", "inventory", "payments"}

var ops = []string{"GET /users/%d", "POST /orders", "db.query", "cache.get", "render", "fetch-prices",
	"reserve-stock", "lookup-currency", "charge", "validate", "encode", "publish"}

// Traces returns n traces of about spansPer spans each. Each trace has a
// root span; below it, spans fan out with some children running in
// parallel (goroutines), and some leaves are lock waits or channel blocks.
func Traces(seed uint64, n, spansPer int) [][]Span {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([][]Span, n)
	base := int64(1_764_000_000_000_000_000)
	for t := range out {
		var tid [16]byte
		for i := range tid {
			tid[i] = byte(rng.Uint32())
		}
		start := base + int64(t)*3_000_000 + rng.Int64N(1_000_000)
		dur := 1_000_000 + rng.Int64N(50_000_000)
		tr := make([]Span, 0, spansPer)
		root := Span{TraceID: tid, Service: "frontend", Name: "GET /users/" + strconv.Itoa(rng.IntN(1000)),
			Start: start, End: start + dur, Kind: "", Function: "main.handle", Line: 42}
		for i := range root.SpanID {
			root.SpanID[i] = byte(rng.Uint32())
		}
		tr = append(tr, root)
		for len(tr) < spansPer {
			p := tr[rng.IntN(len(tr))]
			if p.Kind == "lock.wait" || p.Kind == "chan.send" || p.Kind == "chan.recv" || p.End-p.Start < 10 {
				p = tr[0]
			}
			pd := p.End - p.Start
			s := p.Start + rng.Int64N(pd/2+1)
			e := s + 1 + rng.Int64N(p.End-s)
			c := Span{TraceID: tid, Parent: p.SpanID, Start: s, End: e, Function: "main.work", Line: 10 + rng.IntN(200)}
			c.Service = p.Service
			if rng.IntN(4) == 0 {
				c.Service = services[rng.IntN(len(services))]
			}
			switch r := rng.IntN(20); {
			case r < 2:
				c.Kind, c.Name = "lock.wait", "lock cart.mu"
			case r < 3:
				c.Kind, c.Name = "chan.recv", "recv results"
			case r < 8:
				c.Kind, c.Name = "goroutine", ops[rng.IntN(len(ops))]
			default:
				c.Name = ops[rng.IntN(len(ops))]
			}
			if c.Name == "GET /users/%d" {
				c.Name = "GET /users/" + strconv.Itoa(rng.IntN(1000))
			}
			c.Error = rng.IntN(50) == 0
			for i := range c.SpanID {
				c.SpanID[i] = byte(rng.Uint32())
			}
			tr = append(tr, c)
		}
		out[t] = tr
	}
	return out
}

// WriteOTLP writes the traces as OTLP JSON lines, batch spans to a line,
// spans of consecutive traces interleaved as a batching exporter mixes
// them, one ResourceSpans per service in each line.
func WriteOTLP(w io.Writer, traces [][]Span, batch int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var all []Span
	// Interleave: round-robin over groups of 8 traces.
	for g := 0; g < len(traces); g += 8 {
		grp := traces[g:min(g+8, len(traces))]
		for i := 0; ; i++ {
			any := false
			for _, tr := range grp {
				if i < len(tr) {
					all = append(all, tr[i])
					any = true
				}
			}
			if !any {
				break
			}
		}
	}
	var line []byte
	for len(all) > 0 {
		n := min(batch, len(all))
		line = appendRequest(line[:0], all[:n])
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
		all = all[n:]
	}
	return bw.Flush()
}

func appendRequest(dst []byte, spans []Span) []byte {
	var order []string
	by := map[string][]Span{}
	for _, s := range spans {
		if _, ok := by[s.Service]; !ok {
			order = append(order, s.Service)
		}
		by[s.Service] = append(by[s.Service], s)
	}
	dst = append(dst, `{"resourceSpans":[`...)
	for i, svc := range order {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"node-1"}},{"key":"service.name","value":{"stringValue":"`...)
		dst = append(dst, svc...)
		dst = append(dst, `"}},{"key":"telemetry.sdk.language","value":{"stringValue":"go"}}]},"scopeSpans":[{"scope":{"name":"github.com/tracekit-go/tracekit","version":"v0.1.0"},"spans":[`...)
		for j, s := range by[svc] {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendSpan(dst, &s)
		}
		dst = append(dst, `]}]}`...)
	}
	return append(dst, `]}`...)
}

func appendSpan(dst []byte, s *Span) []byte {
	dst = append(dst, `{"traceId":"`...)
	dst = hex.AppendEncode(dst, s.TraceID[:])
	dst = append(dst, `","spanId":"`...)
	dst = hex.AppendEncode(dst, s.SpanID[:])
	dst = append(dst, '"')
	if s.Parent != [8]byte{} {
		dst = append(dst, `,"parentSpanId":"`...)
		dst = hex.AppendEncode(dst, s.Parent[:])
		dst = append(dst, '"')
	}
	dst = append(dst, `,"flags":257,"name":`...)
	dst = strconv.AppendQuote(dst, s.Name)
	dst = append(dst, `,"kind":1,"startTimeUnixNano":"`...)
	dst = strconv.AppendInt(dst, s.Start, 10)
	dst = append(dst, `","endTimeUnixNano":"`...)
	dst = strconv.AppendInt(dst, s.End, 10)
	dst = append(dst, `","attributes":[`...)
	if s.Kind != "" {
		dst = append(dst, `{"key":"tracekit.kind","value":{"stringValue":"`...)
		dst = append(dst, s.Kind...)
		dst = append(dst, `"}},`...)
	}
	dst = append(dst, `{"key":"code.function.name","value":{"stringValue":"`...)
	dst = append(dst, s.Function...)
	dst = append(dst, `"}},{"key":"code.file.path","value":{"stringValue":"/src/shop/internal/service/handler.go"}},{"key":"code.line.number","value":{"intValue":"`...)
	dst = strconv.AppendInt(dst, int64(s.Line), 10)
	dst = append(dst, `"}}]`...)
	if s.Error {
		dst = append(dst, `,"status":{"message":"boom","code":2}}`...)
	} else {
		dst = append(dst, `,"status":{}}`...)
	}
	return dst
}

// WriteJaeger writes the traces as a Jaeger /api/traces response.
func WriteJaeger(w io.Writer, traces [][]Span) error {
	bw := bufio.NewWriter(w)
	var b []byte
	b = append(b, `{"data":[`...)
	for ti, tr := range traces {
		if ti > 0 {
			b = append(b, ',')
		}
		procs := map[string]string{}
		var names []string
		b = append(b, `{"traceID":"`...)
		b = hex.AppendEncode(b, tr[0].TraceID[:])
		b = append(b, `","spans":[`...)
		for si, s := range tr {
			if si > 0 {
				b = append(b, ',')
			}
			pid, ok := procs[s.Service]
			if !ok {
				pid = "p" + strconv.Itoa(len(procs)+1)
				procs[s.Service] = pid
				names = append(names, s.Service)
			}
			b = append(b, `{"traceID":"`...)
			b = hex.AppendEncode(b, s.TraceID[:])
			b = append(b, `","spanID":"`...)
			b = hex.AppendEncode(b, s.SpanID[:])
			b = append(b, `","operationName":`...)
			b = strconv.AppendQuote(b, s.Name)
			b = append(b, `,"references":[`...)
			if s.Parent != [8]byte{} {
				b = append(b, `{"refType":"CHILD_OF","traceID":"`...)
				b = hex.AppendEncode(b, s.TraceID[:])
				b = append(b, `","spanID":"`...)
				b = hex.AppendEncode(b, s.Parent[:])
				b = append(b, `"}`...)
			}
			b = append(b, `],"startTime":`...)
			b = strconv.AppendInt(b, s.Start/1000, 10)
			b = append(b, `,"duration":`...)
			b = strconv.AppendInt(b, s.End/1000-s.Start/1000, 10)
			b = append(b, `,"tags":[`...)
			if s.Kind != "" {
				b = append(b, `{"key":"tracekit.kind","type":"string","value":"`...)
				b = append(b, s.Kind...)
				b = append(b, `"},`...)
			}
			b = append(b, `{"key":"code.line.number","type":"int64","value":`...)
			b = strconv.AppendInt(b, int64(s.Line), 10)
			b = append(b, '}')
			if s.Error {
				b = append(b, `,{"key":"error","type":"bool","value":true},{"key":"otel.status_code","type":"string","value":"ERROR"}`...)
			}
			b = append(b, `],"logs":[],"processID":"`...)
			b = append(b, pid...)
			b = append(b, `","warnings":null}`...)
		}
		b = append(b, `],"processes":{`...)
		for i, name := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, procs[name]...)
			b = append(b, `":{"serviceName":`...)
			b = strconv.AppendQuote(b, name)
			b = append(b, `,"tags":[{"key":"host.name","type":"string","value":"node-1"}]}`...)
		}
		b = append(b, `},"warnings":null}`...)
		if _, err := bw.Write(b); err != nil {
			return err
		}
		b = b[:0]
	}
	b = append(b, `],"total":0,"limit":0,"offset":0,"errors":null}`...)
	b = append(b, '\n')
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}
