// Package batch is tracekit's span processor: a bounded queue in front of an
// exporter that never blocks the code being traced, counts every span it
// could not deliver, and keeps Shutdown inside its context's deadline.
//
// It exists beside the SDK's BatchSpanProcessor because that one keeps its
// drop counter private and lets its export goroutine outlive a Shutdown whose
// deadline passed; tracekit promises both an observable drop count and a
// bounded Shutdown.
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
	// OnError receives every failed export; nil drops them.
	OnError func(error)
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
		c.OnError = func(error) {}
	}
	return c
}

// Stats counts what happened to the sampled spans the processor was given.
// Once Shutdown has returned, Exported+Dropped+Failed equals every span given.
type Stats struct {
	Exported uint64 // delivered to the exporter without error
	Dropped  uint64 // refused because the queue was full or the processor stopped
	Failed   uint64 // handed to the exporter, which returned an error
	Pending  uint64 // accepted and not yet exported
	// LastError is the most recent export error, or nil.
	LastError error
}

// Processor queues ended, sampled spans and exports them in batches from one
// goroutine. It implements sdktrace.SpanProcessor and is safe for concurrent
// use.
//
// Invariant: OnEnd never blocks; a span either enters the queue (pending+1)
// or is counted dropped. Every pending span later becomes exported, failed or
// dropped, exactly once, in the export goroutine or in Shutdown after that
// goroutine is gone.
type Processor struct {
	exp  sdktrace.SpanExporter
	cfg  Config
	name string

	queue   chan sdktrace.ReadOnlySpan
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

	exported, dropped, failed, pending atomic.Uint64
	lastErr                            atomic.Pointer[error]
}

type flushRequest struct {
	ctx   context.Context
	reply chan error
}

// New starts a processor in front of exp. name describes the destination in
// errors (for example "otlp http/protobuf http://localhost:4318").
func New(exp sdktrace.SpanExporter, name string, cfg Config) *Processor {
	cfg = cfg.withDefaults()
	p := &Processor{
		exp:     exp,
		cfg:     cfg,
		name:    name,
		queue:   make(chan sdktrace.ReadOnlySpan, cfg.MaxQueueSize),
		flushes: make(chan flushRequest),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	p.abortCtx, p.abort = context.WithCancel(context.Background())
	go p.run()
	return p
}

// OnStart does nothing; spans are queued when they end.
func (p *Processor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues s if it is sampled. It never blocks: when the queue is full the
// span is dropped and counted.
func (p *Processor) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	if p.stopped.Load() {
		p.dropped.Add(1)
		return
	}
	select {
	case p.queue <- s:
		p.pending.Add(1)
	default:
		p.dropped.Add(1)
	}
}

// Stats returns the counters. Safe to call at any time.
func (p *Processor) Stats() Stats {
	st := Stats{
		Exported: p.exported.Load(),
		Dropped:  p.dropped.Load(),
		Failed:   p.failed.Load(),
		Pending:  p.pending.Load(),
	}
	if e := p.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	return st
}

func (p *Processor) run() {
	defer close(p.done)
	batch := make([]sdktrace.ReadOnlySpan, 0, p.cfg.MaxExportBatchSize)
	timer := time.NewTimer(p.cfg.ScheduleDelay)
	defer timer.Stop()
	exportNow := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, p.cfg.ExportTimeout)
		defer cancel()
		err := p.export(ctx, batch)
		clear(batch)
		batch = batch[:0]
		return err
	}
	for {
		select {
		case s := <-p.queue:
			batch = append(batch, s)
			if len(batch) >= p.cfg.MaxExportBatchSize {
				exportNow(p.abortCtx)
				timer.Reset(p.cfg.ScheduleDelay)
			}
		case <-timer.C:
			if len(batch) > 0 {
				exportNow(p.abortCtx)
			}
			timer.Reset(p.cfg.ScheduleDelay)
		case req := <-p.flushes:
			var errs []error
			for n := len(p.queue); n > 0 || len(batch) > 0; {
				for ; n > 0 && len(batch) < p.cfg.MaxExportBatchSize; n-- {
					batch = append(batch, <-p.queue)
				}
				errs = append(errs, exportNow(req.ctx))
			}
			req.reply <- errors.Join(errs...)
		case <-p.stop:
			p.drain(batch)
			p.expErr = p.exp.Shutdown(p.stopCtx)
			return
		}
	}
}

// drain exports what is left when Shutdown was called, within its context.
// What cannot be exported before the deadline is counted failed.
func (p *Processor) drain(batch []sdktrace.ReadOnlySpan) {
	ctx := p.stopCtx
	for {
		for len(batch) < p.cfg.MaxExportBatchSize {
			select {
			case s := <-p.queue:
				batch = append(batch, s)
				continue
			default:
			}
			break
		}
		if len(batch) == 0 {
			return
		}
		if ctx.Err() != nil {
			p.lose(len(batch), ctx.Err())
		} else {
			p.export(ctx, batch)
		}
		clear(batch)
		batch = batch[:0]
	}
}

func (p *Processor) export(ctx context.Context, batch []sdktrace.ReadOnlySpan) error {
	if len(batch) == 0 {
		return nil
	}
	err := p.exp.ExportSpans(ctx, batch)
	if err != nil {
		p.lose(len(batch), err)
		err = fmt.Errorf("tracekit: export %d spans to %s: %w", len(batch), p.name, err)
		p.cfg.OnError(err)
		return err
	}
	p.exported.Add(uint64(len(batch)))
	p.pending.Add(^uint64(len(batch) - 1))
	return nil
}

func (p *Processor) lose(n int, err error) {
	p.failed.Add(uint64(n))
	p.pending.Add(^uint64(n - 1))
	p.lastErr.Store(&err)
}

// ForceFlush exports every span queued before the call, then flushes the
// exporter if it can be flushed. It returns ctx's error if ctx ends first.
func (p *Processor) ForceFlush(ctx context.Context) error {
	if p.stopped.Load() {
		return nil
	}
	req := flushRequest{ctx: ctx, reply: make(chan error, 1)}
	select {
	case p.flushes <- req:
	case <-p.done:
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
	if f, ok := p.exp.(interface{ ForceFlush(context.Context) error }); ok {
		err = errors.Join(err, f.ForceFlush(ctx))
	}
	return err
}

// Shutdown stops accepting spans, exports what is queued and shuts the
// exporter down, all within ctx: when ctx ends first, exports under way are
// canceled and Shutdown returns at once. It is safe to call more than once;
// later calls return the first call's result. If spans could not be
// delivered the error says how many, where they were going and why.
func (p *Processor) Shutdown(ctx context.Context) error {
	p.stopOnce.Do(func() {
		p.stopCtx = ctx
		p.stopped.Store(true)
		close(p.stop)
		var errs []error
		select {
		case <-p.done:
			// Spans that raced with the stop are still in the queue.
			for left := len(p.queue); left > 0; left-- {
				<-p.queue
				p.pending.Add(^uint64(0))
				p.dropped.Add(1)
			}
			if p.expErr != nil {
				errs = append(errs, fmt.Errorf("tracekit: shutdown exporter %s: %w", p.name, p.expErr))
			}
		case <-ctx.Done():
			p.abort()
		}
		st := p.Stats()
		if lost := st.Failed + st.Pending; lost > 0 {
			var cause error
			switch {
			case ctx.Err() != nil && st.LastError == nil:
				cause = fmt.Errorf("no export finished before the shutdown deadline (endpoint unreachable or too slow): %w", ctx.Err())
			case ctx.Err() != nil:
				cause = fmt.Errorf("shutdown deadline passed (%w); last export error: %w", ctx.Err(), st.LastError)
			default:
				cause = st.LastError
			}
			errs = append(errs, fmt.Errorf("tracekit: %d spans could not be exported to %s: %w", lost, p.name, cause))
		}
		p.stopErr = errors.Join(errs...)
	})
	return p.stopErr
}
