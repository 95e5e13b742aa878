package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"

	"github.com/tracekit-go/tracekit/internal/flame"
	"github.com/tracekit-go/tracekit/internal/spans"
)

// spanOptions are the flags that shape a flame graph of traces.
type spanOptions struct {
	analysis []spans.AnalysisOption
	quiet    bool
}

func (o *options) spanOptions() (spanOptions, error) {
	var sp spanOptions
	switch o.weight {
	case "wall":
		sp.analysis = append(sp.analysis, spans.WithWeight(spans.WeightWall))
	case "sum":
		sp.analysis = append(sp.analysis, spans.WithWeight(spans.WeightSum))
	default:
		return sp, &UsageError{Msg: fmt.Sprintf("flamegen: --weight %q: expected wall or sum", o.weight)}
	}
	if o.groupIDs {
		sp.analysis = append(sp.analysis, spans.WithGroupIDs())
	}
	sp.quiet = o.quiet
	return sp, nil
}

// sniffTraces reports whether r holds trace data (OTLP or Jaeger JSON,
// gzipped or not) rather than a profile, without consuming it: profiles are
// folded text or protobuf, and neither starts with a JSON object.
func sniffTraces(r io.Reader) (*bufio.Reader, bool) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(64 << 10)
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		// Decompress what the peek holds; a truncated stream still gives
		// its first bytes.
		if zr, err := gzip.NewReader(bytes.NewReader(head)); err == nil {
			var buf [512]byte
			n, _ := io.ReadFull(zr, buf[:])
			head = buf[:n]
		}
	}
	head = bytes.TrimLeft(head, " \t\r\n\ufeff")
	return br, len(head) > 0 && head[0] == '{'
}

// loadTraces aggregates every trace of r into one flame graph of span
// frames ("service: span name"), valued in nanoseconds of wall time.
// Repairs of broken traces are reported on stderr.
func loadTraces(r io.Reader, name string, stderr io.Writer, sp spanOptions) (*flame.Tree, error) {
	set, err := spans.Read(r, name)
	if err != nil {
		return nil, err
	}
	agg := spans.NewAggregator(sp.analysis...)
	if err := set.Each(func(t *spans.Trace) error { agg.Add(t); return nil }); err != nil {
		return nil, err
	}
	if w := agg.Warnings(); w.Any() && !sp.quiet {
		fmt.Fprintf(stderr, "flamegen: %s: repaired: %v\n", name, w)
	}
	return agg.Tree(), nil
}
