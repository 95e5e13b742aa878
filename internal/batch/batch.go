// Package batch is tracekit's export queue: a bounded queue in front of an
// exporter that never blocks the code being observed, counts every item it
// could not deliver, and keeps Shutdown inside its context's deadline.
// [Processor] puts it in front of a span exporter; the SDK puts a [Queue] in
// front of its log exporters too.
//
// It exists beside the OpenTelemetry SDK's batch processors because they keep
// their drop counters private and report what they lose only to a global
// logger; tracekit promises an observable count of what became of every span
// and record, and a Shutdown that says it.
package batch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Defaults follow the OpenTelemetry specification's batch span processor.
const (
	DefaultMaxQueueSize       = 2048
	DefaultMaxExportBatchSize = 512
	DefaultScheduleDelay      = 5 * time.Second
	DefaultExportTimeout      = 30 * time.Second
)

// Config sets the queue bounds and timing. Zero fields take the defaults.
type Config struct {
	MaxQueueSize       int
	MaxExportBatchSize int
	ScheduleDelay      time.Duration
	ExportTimeout      time.Duration
	// OnError receives every failed export with the number of items it
	// held, except those that end after a Shutdown whose deadline passed;
	// nil drops them.
	OnError func(items int, err error)
}

func (c Config) withDefaults() Config {
	if c.MaxQueueSize <= 0 {
		c.MaxQueueSize = DefaultMaxQueueSize
	}
	if c.MaxExportBatchSize <= 0 {
		c.MaxExportBatchSize = DefaultMaxExportBatchSize
	}
	if c.MaxExportBatchSize > c.MaxQueueSize {
		c.MaxExportBatchSize = c.MaxQueueSize
	}
	if c.ScheduleDelay <= 0 {
		c.ScheduleDelay = DefaultScheduleDelay
	}
	if c.ExportTimeout <= 0 {
		c.ExportTimeout = DefaultExportTimeout
	}
	if c.OnError == nil {
		c.OnError = func(int, error) {}
	}
	return c
}

// Stats counts what happened to the items a queue was given.
// Exported+Dropped+Failed+Pending is every item given, at any moment; once
// Shutdown has returned the counts no longer change.
type Stats struct {
	Exported uint64 // delivered to the exporter without error
	Dropped  uint64 // refused because the queue was full or the queue stopped
	Failed   uint64 // handed to the exporter, which returned an error
	// Pending were accepted and are not yet exported; after a Shutdown
	// whose deadline passed, they are what it left undelivered (in the
	// queue, or in an export that had not answered).
	Pending uint64
	// LastError is the most recent export error, or nil.
	LastError error
}

// Exporter is what a [Queue] exports to.
type Exporter[T any] interface {
	// Export delivers items; it must honour ctx.
	Export(ctx context.Context, items []T) error
	// Shutdown flushes and releases the exporter, within ctx.
	Shutdown(ctx context.Context) error
}

// Queue queues items and exports them in batches from one goroutine. Its
// methods are safe for concurrent use.
//
// Invariant: Offer never blocks; it either queues an item and counts it
// sent, or counts it dropped — one atomic add either way, as on the hot
// path of every span that ends. Every sent item later becomes exported,
// failed or discarded (dropped after the stop), exactly once, in the export
// goroutine or in Shutdown after that goroutine is gone — unless Shutdown's
// deadline passes first: then the counts are frozen, and what was queued or
// being exported stays pending. Pending is never stored: it is what the
// other counts leave of the items sent.
type Queue[T any] struct {
	exp Exporter[T]
	cfg Config

	queue   chan T
	full    chan struct{} // a batch's worth is queued; Offer wakes run only then
	flushes chan flushRequest
	stop    chan struct{} // closed by Shutdown
	done    chan struct{} // closed when the export goroutine has returned

	// abort cancels every export under way; Shutdown calls it when its
	// deadline passes so that the export goroutine ends promptly.
	abortCtx context.Context
	abort    context.CancelFunc

	stopped  atomic.Bool
	stopOnce sync.Once
	stopCtx  context.Context // set before stop is closed
	stopErr  error
	expErr   error // the exporter's Shutdown result, written before done is closed

	sent, dropped atomic.Uint64 // counted by Offer

	mu                          sync.Mutex // guards what follows
	exported, failed, discarded uint64
	lastErr                     error
	frozen                      bool // Shutdown's deadline passed
}

type flushRequest struct {
	ctx   context.Context
	reply chan error
}

// NewQueue starts a queue in front of exp.
func NewQueue[T any](exp Exporter[T], cfg Config) *Queue[T] {
	cfg = cfg.withDefaults()
	q := &Queue[T]{
		exp:     exp,
		cfg:     cfg,
		queue:   make(chan T, cfg.MaxQueueSize),
		full:    make(chan struct{}, 1),
		flushes: make(chan flushRequest),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	q.abortCtx, q.abort = context.WithCancel(context.Background())
	go q.run()
	return q
}

// Offer queues item. It never blocks: when the queue is full or stopped the
// item is dropped and counted. The export goroutine is woken only when a
// full batch is queued, so that most items cost no goroutine wake-up.
func (q *Queue[T]) Offer(item T) {
	if q.stopped.Load() {
		q.dropped.Add(1)
		return
	}
	select {
	case q.queue <- item:
		q.sent.Add(1)
		if len(q.queue) >= q.cfg.MaxExportBatchSize {
			select {
			case q.full <- struct{}{}:
			default:
			}
		}
	default:
		q.dropped.Add(1)
	}
}

// Stats returns the counters. Safe to call at any time; while no Offer is
// under way (after Shutdown, say) they add up exactly to the items offered.
func (q *Queue[T]) Stats() Stats {
	q.mu.Lock()
	st := Stats{Exported: q.exported, Failed: q.failed, LastError: q.lastErr}
	discarded := q.discarded
	q.mu.Unlock()
	st.Dropped = q.dropped.Load() + discarded
	// An item can be exported before the Offer that sent it counts it:
	// such an item is not pending.
	if sent, settled := q.sent.Load(), st.Exported+st.Failed+discarded; sent > settled {
		st.Pending = sent - settled
	}
	return st
}

func (q *Queue[T]) run() {
	defer close(q.done)
	batch := make([]T, 0, q.cfg.MaxExportBatchSize)
	timer := time.NewTimer(q.cfg.ScheduleDelay)
	defer timer.Stop()
	// export exports up to n queued items in batches; with whole, only
	// full batches.
	export := func(ctx context.Context, n int, whole bool) error {
		var errs []error
		for size := q.cfg.MaxExportBatchSize; n > 0 && (!whole || n >= size); {
			for len(batch) < size && n > 0 {
				batch = append(batch, <-q.queue)
				n--
			}
			errs = append(errs, q.exportNow(ctx, batch))
			clear(batch)
			batch = batch[:0]
		}
		return errors.Join(errs...)
	}
	for {
		select {
		case <-q.full:
			if len(q.queue) >= q.cfg.MaxExportBatchSize { // not taken by the timer since
				export(q.abortCtx, len(q.queue), true)
				timer.Reset(q.cfg.ScheduleDelay)
			}
		case <-timer.C:
			export(q.abortCtx, len(q.queue), false)
			timer.Reset(q.cfg.ScheduleDelay)
		case req := <-q.flushes:
			req.reply <- export(req.ctx, len(q.queue), false)
		case <-q.stop:
			q.drain(batch)
			q.expErr = q.exp.Shutdown(q.stopCtx)
			return
		}
	}
}

// exportNow exports batch within ctx and the export timeout; Shutdown's
// deadline ends it too.
func (q *Queue[T]) exportNow(ctx context.Context, batch []T) error {
	ctx, cancel := context.WithTimeout(ctx, q.cfg.ExportTimeout)
	defer cancel()
	defer context.AfterFunc(q.abortCtx, cancel)()
	return q.export(ctx, batch, false)
}

// drain exports what is left when Shutdown was called, within its context.
// What the deadline leaves in the queue stays pending.
func (q *Queue[T]) drain(batch []T) {
	ctx := q.stopCtx
	for ctx.Err() == nil {
		for len(batch) < q.cfg.MaxExportBatchSize {
			select {
			case it := <-q.queue:
				batch = append(batch, it)
				continue
			default:
			}
			break
		}
		if len(batch) == 0 {
			return
		}
		q.export(ctx, batch, true)
		clear(batch)
		batch = batch[:0]
	}
}

// export exports batch and counts the outcome. In the drain, an export
// that Shutdown's deadline ended stays pending, as if Shutdown had frozen
// the counts first (which it may or may not have yet).
func (q *Queue[T]) export(ctx context.Context, batch []T, draining bool) error {
	if len(batch) == 0 {
		return nil
	}
	err := q.exp.Export(ctx, batch)
	n := uint64(len(batch))
	q.mu.Lock()
	frozen := q.frozen || (draining && err != nil && ctx.Err() != nil)
	switch {
	case frozen:
		// Pending: Shutdown's deadline came first.
	case err != nil:
		q.failed += n
		q.lastErr = err
	default:
		q.exported += n
	}
	q.mu.Unlock()
	if err != nil && !frozen {
		q.cfg.OnError(len(batch), err)
	}
	return err
}

// ForceFlush exports every item queued before the call, then flushes the
// exporter if it has a ForceFlush(context.Context) error method. It returns
// ctx's error if ctx ends first.
func (q *Queue[T]) ForceFlush(ctx context.Context) error {
	if q.stopped.Load() {
		return nil
	}
	req := flushRequest{ctx: ctx, reply: make(chan error, 1)}
	select {
	case q.flushes <- req:
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	var err error
	select {
	case err = <-req.reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	if f, ok := q.exp.(interface{ ForceFlush(context.Context) error }); ok {
		err = errors.Join(err, f.ForceFlush(ctx))
	}
	return err
}

// Shutdown stops accepting items, exports what is queued and shuts the
// exporter down, all within ctx. When ctx ends first, exports under way are
// canceled, the counts are frozen with what was not delivered still pending,
// and Shutdown returns at once with ctx's error. Otherwise it returns the
// exporter's Shutdown error, if any. What was lost is in [Queue.Stats]. It
// is safe to call more than once; later calls return the first call's
// result.
func (q *Queue[T]) Shutdown(ctx context.Context) error {
	q.stopOnce.Do(func() {
		q.stopCtx = ctx
		q.stopped.Store(true)
		close(q.stop)
		finished := false
		select {
		case <-q.done:
			finished = true
		case <-ctx.Done():
			select {
			case <-q.done:
				finished = true
			default:
			}
		}
		// What the deadline left undelivered, in the queue or in an
		// export it ended, is pending.
		if !finished || (ctx.Err() != nil && q.Stats().Pending > 0) {
			q.mu.Lock()
			q.frozen = true
			q.mu.Unlock()
			q.abort()
			q.stopErr = fmt.Errorf("shutdown ended before the queue was delivered: %w", ctx.Err())
			if finished && q.expErr != nil {
				q.stopErr = errors.Join(q.stopErr, fmt.Errorf("shutdown exporter: %w", q.expErr))
			}
			return
		}
		// Items offered as the queue stopped may have arrived after the
		// export goroutine emptied it.
		q.mu.Lock()
		for left := len(q.queue); left > 0; left-- {
			<-q.queue
			q.discarded++
		}
		q.mu.Unlock()
		if q.expErr != nil {
			q.stopErr = fmt.Errorf("shutdown exporter: %w", q.expErr)
		}
	})
	return q.stopErr
}

// Processor is a [Queue] of ended, sampled spans in front of a span
// exporter. It implements sdktrace.SpanProcessor.
type Processor struct {
	*Queue[sdktrace.ReadOnlySpan]
}

var _ sdktrace.SpanProcessor = (*Processor)(nil)

// New starts a processor in front of exp.
func New(exp sdktrace.SpanExporter, cfg Config) *Processor {
	return &Processor{NewQueue[sdktrace.ReadOnlySpan](spanExporter{exp}, cfg)}
}

// OnStart does nothing; spans are queued when they end.
func (p *Processor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues s if it is sampled. It never blocks: when the queue is full
// the span is dropped and counted.
func (p *Processor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		p.Offer(s)
	}
}

// spanExporter makes a span exporter an [Exporter].
type spanExporter struct{ sdktrace.SpanExporter }

func (e spanExporter) Export(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	return e.ExportSpans(ctx, spans)
}

func (e spanExporter) ForceFlush(ctx context.Context) error {
	if f, ok := e.SpanExporter.(interface{ ForceFlush(context.Context) error }); ok {
		return f.ForceFlush(ctx)
	}
	return nil
}
