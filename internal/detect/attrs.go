package detect

import (
	"context"
	"math"
	"reflect"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// The keys the detectors write most, as attribute keys.
const (
	keyLockName    = attribute.Key(semconv.LockName)
	keyLockMode    = attribute.Key(semconv.LockMode)
	keyChanName    = attribute.Key(semconv.ChanName)
	keyWaitNS      = attribute.Key(semconv.WaitNS)
	keyHoldNS      = attribute.Key(semconv.HoldNS)
	keyReportTasks = attribute.Key(semconv.ReportTasks)
	keySpawnSite   = attribute.Key(semconv.SpawnSite)
	keyTaskCount   = attribute.Key(semconv.TaskCount)
	keyFlightFile  = attribute.Key(semconv.FlightFile)
	keyCanceled    = attribute.Key(semconv.Canceled)
	keyCancelCause = attribute.Key(semconv.CancelCause)
)

// reportAttrs are the structured attributes of a report beyond its kind,
// message and stacks, for its span event.
func reportAttrs(r *inspect.Report) []attribute.KeyValue {
	var out []attribute.KeyValue
	if r.Channel != "" {
		out = append(out, keyChanName.String(r.Channel))
	}
	if r.Lock != "" {
		out = append(out, keyLockName.String(r.Lock))
	}
	if len(r.Tasks) > 0 {
		ids := make([]int64, len(r.Tasks))
		for i := range r.Tasks {
			ids[i] = int64(r.Tasks[i].ID)
		}
		out = append(out, keyReportTasks.Int64Slice(ids))
	}
	if r.SpawnSite != "" {
		out = append(out, keySpawnSite.String(r.SpawnSite), keyTaskCount.Int(r.Count))
	}
	if m := r.Memory; m != nil {
		out = append(out, attribute.Int64(semconv.MemoryUsed, int64(min(m.Used, math.MaxInt64))),
			attribute.Int64(semconv.MemoryLiveHeap, int64(min(m.LiveHeap, math.MaxInt64))))
		if m.Limit > 0 {
			out = append(out, attribute.Int64(semconv.MemoryLimit, int64(min(m.Limit, math.MaxInt64))),
				attribute.String(semconv.MemoryLimitSource, m.LimitSource))
		}
	}
	return out
}

type cachedTracer struct {
	tp     trace.TracerProvider
	tracer trace.Tracer
}

var lastTracer atomic.Pointer[cachedTracer]

// Tracer returns the tracer for spans that start under ctx: that of the
// provider of ctx's span when it is valid and of this process, so a setup
// that did not install the globals still traces everything below its
// spans, otherwise the global provider's (a remote parent, extracted from
// a request, has only a no-op provider). The last tracer is cached, for
// providers of a comparable type.
func Tracer(ctx context.Context) trace.Tracer {
	var tp trace.TracerProvider
	if span := trace.SpanFromContext(ctx); span.SpanContext().IsValid() && !span.SpanContext().IsRemote() {
		tp = span.TracerProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if c := lastTracer.Load(); c != nil && c.tp == tp {
		return c.tracer
	}
	t := tp.Tracer(semconv.ScopeName)
	if reflect.TypeOf(tp).Comparable() {
		lastTracer.Store(&cachedTracer{tp: tp, tracer: t})
	}
	return t
}
