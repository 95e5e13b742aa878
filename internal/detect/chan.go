package detect

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tracekit-go/tracekit/internal/semconv"
)

// ChanDone records a channel operation of the given kind (semconv.KindChanSend
// or KindChanRecv) that blocked from start (d.Now()) until now: the wait
// histogram, and a span past the slow threshold. err is ctx.Err() when the
// context ended the wait, and marks both.
func (d *Detector) ChanDone(ctx context.Context, kind, name string, start int64, err error) {
	end := d.Now()
	if d.chanHist != nil {
		attrs := []attribute.KeyValue{keyChanName.String(name), attribute.String(semconv.Kind, kind)}
		if err != nil {
			attrs = append(attrs, keyCanceled.Bool(true))
		}
		d.chanHist.Record(ctx, float64(end-start)/1e9, metric.WithAttributes(attrs...))
	}
	if d.cfg.Slow > 0 && end-start >= int64(d.cfg.Slow) {
		d.span(ctx, kind, name, start, end, err, keyChanName.String(name), keyWaitNS.Int64(end-start))
	}
}
