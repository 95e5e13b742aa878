package sdk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tracekit-go/tracekit/exporters/otlp"
	"github.com/tracekit-go/tracekit/internal/batch"
)

// Signals, as [ExportError] and [ExporterResult] name them.
const (
	SignalTraces   = "traces"
	SignalMetrics  = "metrics"
	SignalLogs     = "logs"
	SignalProfiles = "profiles"
)

// ExportError reports an export that failed. The Kit's error handler gets
// the first of a destination's failures at once and then, while they go on,
// one summary per [WithErrorInterval] that counts them and unwraps to the
// last one.
type ExportError struct {
	Signal      string // SignalTraces, SignalMetrics or SignalLogs
	Destination string // for example "otlp grpc localhost:4317" or "file traces.jsonl"
	Items       int    // spans or log records in the export; 0 for metrics
	Err         error
}

func (e *ExportError) Error() string {
	if e.Items == 0 {
		return fmt.Sprintf("tracekit: export %s to %s: %v", e.Signal, e.Destination, e.Err)
	}
	return fmt.Sprintf("tracekit: export %s to %s: %v", items(e.Signal, uint64(e.Items)), e.Destination, e.Err)
}

func (e *ExportError) Unwrap() error { return e.Err }

// items counts what a signal exports: "3 spans", "1 log record".
func items(signal string, n uint64) string {
	unit := "span"
	if signal == SignalLogs {
		unit = "log record"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}

// ShutdownError is what [Kit.Shutdown] returns when data was lost (dropped,
// failed or still pending) or an exporter did not shut down cleanly. It
// lists every exporter with what became of its data; errors.Is sees through
// it to the causes, context.DeadlineExceeded among them when the deadline
// cut the shutdown short.
type ShutdownError struct {
	Exporters []ExporterResult
}

// ExporterResult is what became of one exporter's data by the time
// [Kit.Shutdown] returned.
type ExporterResult struct {
	Signal      string // SignalTraces, SignalMetrics, SignalLogs or SignalProfiles
	Destination string // for example "otlp grpc localhost:4317" or "file traces.jsonl"
	// Stats counts spans (traces) or log records (logs); it is zero for
	// metrics and profiles, which are not counted.
	Stats ExportStats
	// Err says why the exporter did not shut down cleanly, or nil.
	Err error
}

// counted reports whether the exporter's data is counted in Stats.
func (r ExporterResult) counted() bool { return r.Signal == SignalTraces || r.Signal == SignalLogs }

func (r ExporterResult) lost() uint64 { return r.Stats.Dropped + r.Stats.Failed + r.Stats.Pending }

func (e *ShutdownError) Error() string {
	var lostSpans, lostRecords uint64
	failed := 0
	var cause error
	for _, r := range e.Exporters {
		switch r.Signal {
		case SignalTraces:
			lostSpans += r.lost()
		case SignalLogs:
			lostRecords += r.lost()
		}
		if r.Err != nil {
			failed++
		}
		switch {
		case cause != nil:
		case errors.Is(r.Err, context.DeadlineExceeded):
			cause = context.DeadlineExceeded
		case errors.Is(r.Err, context.Canceled):
			cause = context.Canceled
		}
	}
	var head []string
	if lostSpans > 0 {
		head = append(head, items(SignalTraces, lostSpans)+" not delivered")
	}
	if lostRecords > 0 {
		head = append(head, items(SignalLogs, lostRecords)+" not delivered")
	}
	if failed == 1 {
		head = append(head, "1 exporter did not shut down cleanly")
	} else if failed > 1 {
		head = append(head, fmt.Sprintf("%d exporters did not shut down cleanly", failed))
	}
	var b strings.Builder
	b.WriteString("tracekit: shutdown: ")
	b.WriteString(strings.Join(head, ", "))
	if cause != nil {
		fmt.Fprintf(&b, " (%v)", cause)
	}
	for _, r := range e.Exporters {
		if !r.counted() && r.Err == nil {
			continue
		}
		fmt.Fprintf(&b, "\n  %s to %s", r.Signal, r.Destination)
		sep := ": "
		if r.counted() {
			st := r.Stats
			full := ""
			if st.Dropped > 0 {
				full = " (queue full)"
			}
			fmt.Fprintf(&b, ": %d exported, %d dropped%s, %d failed, %d still pending",
				st.Exported, st.Dropped, full, st.Failed, st.Pending)
			sep = "; "
		}
		if r.Err != nil {
			fmt.Fprintf(&b, "%s%v", sep, r.Err)
			sep = "; "
		}
		if r.Stats.LastError != nil && (r.Stats.Failed > 0 || r.Err != nil) {
			fmt.Fprintf(&b, "%slast export error: %v", sep, r.Stats.LastError)
		}
	}
	return b.String()
}

// Unwrap returns each exporter's error and last export error.
func (e *ShutdownError) Unwrap() []error {
	var errs []error
	for _, r := range e.Exporters {
		for _, err := range []error{r.Err, r.Stats.LastError} {
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// part is one exporter as the Kit flushes and shuts it down.
type part struct {
	signal, dest string
	flush        func(context.Context) error // nil: nothing to flush
	shutdown     func(context.Context) error
	stats        func() ExportStats // nil: not counted
}

// parts lists the Kit's exporters: spans, metrics, logs, profiles.
func (k *Kit) parts() []part {
	var ps []part
	for _, q := range k.traces {
		ps = append(ps, part{SignalTraces, q.dest, q.p.ForceFlush, q.p.Shutdown,
			func() ExportStats { return exportStats(q.p.Stats()) }})
	}
	for _, r := range k.readers {
		p := part{signal: SignalMetrics, dest: r.dest, shutdown: r.r.Shutdown}
		if f, ok := r.r.(interface{ ForceFlush(context.Context) error }); ok {
			p.flush = f.ForceFlush
		}
		ps = append(ps, p)
	}
	for _, q := range k.logs.queues {
		ps = append(ps, part{SignalLogs, q.dest, q.q.ForceFlush, q.q.Shutdown,
			func() ExportStats { return exportStats(q.q.Stats()) }})
	}
	return append(ps, k.prof.parts()...)
}

// sideBySide runs f on every part at once, so that none waits for another,
// and returns their errors in order.
func sideBySide(ps []part, f func(part) error) []error {
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { errs[i] = f(p) })
	}
	wg.Wait()
	return errs
}

func exportStats(s batch.Stats) ExportStats {
	return ExportStats{Exported: s.Exported, Dropped: s.Dropped, Failed: s.Failed, Pending: s.Pending, LastError: s.LastError}
}

// shutdownError says what became of every exporter's data, or is nil when
// everything was delivered and every exporter shut down cleanly.
func shutdownError(ps []part, errs []error) error {
	se := &ShutdownError{}
	clean := true
	for i, p := range ps {
		r := ExporterResult{Signal: p.signal, Destination: p.dest, Err: errs[i]}
		if p.stats != nil {
			r.Stats = p.stats()
		}
		clean = clean && r.Err == nil && r.lost() == 0
		se.Exporters = append(se.Exporters, r)
	}
	if clean {
		return nil
	}
	return se
}

// directKey marks the context of an export the Kit asks for (ForceFlush,
// Shutdown), whose error goes back to the caller.
type directKey struct{}

func direct(ctx context.Context) context.Context { return context.WithValue(ctx, directKey{}, true) }

// reportingMetricExporter hands the failures of periodic metric exports to
// the Kit's error path, where they are summarised, instead of to the
// OpenTelemetry global handler, which a periodic reader would log at every
// interval. Exports the Kit asks for return their errors.
type reportingMetricExporter struct {
	sdkmetric.Exporter
	dest   string
	report func(error)
}

func (e *reportingMetricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	err := e.Exporter.Export(ctx, rm)
	if err == nil || ctx.Value(directKey{}) != nil {
		return err
	}
	e.report(&ExportError{Signal: SignalMetrics, Destination: e.dest, Err: err})
	return nil
}

// errorKind groups errors for the summariser: failed exports and stalls by
// destination, anything else by its text.
func errorKind(err error) string {
	var ee *ExportError
	if errors.As(err, &ee) {
		return "export " + ee.Signal + " " + ee.Destination
	}
	var se *otlp.StallError
	if errors.As(err, &se) {
		return "stall " + se.Signal + " " + se.Destination
	}
	return err.Error()
}
