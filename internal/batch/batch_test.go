package batch

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// recording is an exporter that stores what it gets, optionally failing or
// blocking until its context ends.
type recording struct {
	mu       sync.Mutex
	batches  [][]string
	fail     error
	block    bool
	shutdown int
}

func (r *recording) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if r.block {
		<-ctx.Done()
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	var names []string
	for _, s := range spans {
		names = append(names, s.Name())
	}
	r.batches = append(r.batches, names)
	return nil
}

func (r *recording) Shutdown(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shutdown++
	return nil
}

func (r *recording) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.batches {
		n += len(b)
	}
	return n
}

func spans(n int) []sdktrace.ReadOnlySpan {
	stubs := make(tracetest.SpanStubs, n)
	for i := range stubs {
		stubs[i].Name = "s"
		stubs[i].SpanContext = sampledContext()
	}
	return stubs.Snapshots()
}

func TestExportsOnScheduleDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := &recording{}
		p := New(exp, Config{ScheduleDelay: time.Second})
		for _, s := range spans(3) {
			p.OnEnd(s)
		}
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		if n := exp.count(); n != 0 {
			t.Fatalf("exported %d spans before the delay", n)
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if n := exp.count(); n != 3 {
			t.Fatalf("exported %d spans after the delay, want 3", n)
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestExportsFullBatchAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := &recording{}
		p := New(exp, Config{MaxExportBatchSize: 4, ScheduleDelay: time.Hour})
		for _, s := range spans(9) {
			p.OnEnd(s)
		}
		synctest.Wait()
		if n := exp.count(); n != 8 {
			t.Fatalf("exported %d spans without waiting, want two full batches of 4", n)
		}
		if err := p.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := exp.count(); n != 9 {
			t.Fatalf("exported %d after ForceFlush, want 9", n)
		}
		_ = p.Shutdown(context.Background())
	})
}

// Items short of a batch wait in the queue: Offer does not wake the export
// goroutine for each one.
func TestPartialBatchWaitsInQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := &recording{}
		p := New(exp, Config{MaxExportBatchSize: 4, ScheduleDelay: time.Hour})
		for _, s := range spans(7) {
			p.OnEnd(s)
		}
		synctest.Wait()
		if n, queued := exp.count(), len(p.queue); n != 4 || queued != 3 {
			t.Fatalf("exported %d and %d still queued, want one batch of 4 exported and 3 queued", n, queued)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := exp.count(); n != 7 {
			t.Fatalf("exported %d after the delay, want 7", n)
		}
		_ = p.Shutdown(context.Background())
	})
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := &recording{block: true}
		p := New(exp, Config{MaxQueueSize: 10, MaxExportBatchSize: 5, ExportTimeout: time.Minute})
		for _, s := range spans(100) {
			p.OnEnd(s) // must never block
		}
		st := p.Stats()
		if st.Pending > 10+5 || st.Dropped < 100-15 || st.Exported+st.Dropped+st.Failed+st.Pending != 100 {
			t.Fatalf("stats %+v: want at most queue+batch pending, the rest dropped, 100 in all", st)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		err := p.Shutdown(ctx)
		if time.Since(start) > 2*time.Second {
			t.Errorf("Shutdown took %v, past its deadline", time.Since(start))
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown error = %v, want the deadline", err)
		}
		st = p.Stats()
		if st.Exported+st.Dropped+st.Failed+st.Pending != 100 || st.Pending == 0 || st.Failed != 0 {
			t.Errorf("after Shutdown: %+v, want every span accounted for, the undelivered ones pending", st)
		}
		synctest.Wait() // the aborted export goroutine ends
		if after := p.Stats(); after != st {
			t.Errorf("Stats changed after Shutdown returned: %+v, then %+v", st, after)
		}
		if err2 := p.Shutdown(context.Background()); err2 != err {
			t.Errorf("second Shutdown = %v, want the first's %v", err2, err)
		}
	})
}

// An export that outlives a Shutdown whose deadline passed changes nothing
// Shutdown said: its spans stay pending, and its error is not reported.
func TestLateExportIsNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		exp := &stubborn{release: release, err: errors.New("late")}
		var reported atomic.Int32
		p := New(exp, Config{MaxExportBatchSize: 3, OnError: func(int, error) { reported.Add(1) }})
		for _, s := range spans(3) {
			p.OnEnd(s)
		}
		synctest.Wait() // the full batch is being exported
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want the deadline", err)
		}
		st := p.Stats()
		close(release)
		synctest.Wait()
		if after := p.Stats(); after != st || st.Pending != 3 || reported.Load() != 0 {
			t.Errorf("Stats %+v then %+v, %d errors reported; want 3 pending throughout and nothing reported", st, after, reported.Load())
		}
	})
}

// stubborn ignores its context: its exports end when release is closed.
type stubborn struct {
	release chan struct{}
	err     error
}

func (s *stubborn) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	<-s.release
	return s.err
}

func (s *stubborn) Shutdown(context.Context) error { return nil }

func TestExportErrorIsCountedAndReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		refused := errors.New("connection refused")
		var reported []int
		var mu sync.Mutex
		p := New(&recording{fail: refused}, Config{OnError: func(n int, err error) {
			mu.Lock()
			if errors.Is(err, refused) {
				reported = append(reported, n)
			}
			mu.Unlock()
		}})
		for _, s := range spans(5) {
			p.OnEnd(s)
		}
		err := p.ForceFlush(context.Background())
		if !errors.Is(err, refused) {
			t.Fatalf("ForceFlush = %v, want %v", err, refused)
		}
		st := p.Stats()
		if st.Failed != 5 || st.Pending != 0 || !errors.Is(st.LastError, refused) {
			t.Errorf("stats = %+v, want 5 failed with the error", st)
		}
		mu.Lock()
		if len(reported) != 1 || reported[0] != 5 {
			t.Errorf("reported batches of %v spans, want one of 5", reported)
		}
		mu.Unlock()
		if err := p.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown = %v; the exporter shut down cleanly, the loss is in Stats", err)
		}
		if st := p.Stats(); st.Failed != 5 {
			t.Errorf("after Shutdown: %+v, want the 5 failed kept", st)
		}
	})
}

func TestShutdownTwiceAndAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := &recording{}
		p := New(exp, Config{})
		for _, s := range spans(2) {
			p.OnEnd(s)
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if exp.count() != 2 || exp.shutdown != 1 {
			t.Errorf("exported %d, exporter shut down %d times; want 2 and 1", exp.count(), exp.shutdown)
		}
		p.OnEnd(spans(1)[0])
		if st := p.Stats(); st.Dropped != 1 {
			t.Errorf("span after shutdown: stats %+v, want it dropped", st)
		}
		if err := p.ForceFlush(context.Background()); err != nil {
			t.Errorf("ForceFlush after Shutdown = %v", err)
		}
	})
}

func TestUnsampledSpansAreIgnored(t *testing.T) {
	exp := &recording{}
	p := New(exp, Config{})
	stub := tracetest.SpanStub{Name: "unsampled"}
	p.OnEnd(stub.Snapshot())
	_ = p.Shutdown(context.Background())
	if st := p.Stats(); st != (Stats{}) || exp.count() != 0 {
		t.Errorf("unsampled span was handled: %+v", st)
	}
}

// A ForceFlush whose export does not answer ends when Shutdown gives up,
// not at the export timeout.
func TestShutdownEndsFlushUnderWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(&recording{block: true}, Config{ExportTimeout: time.Hour})
		p.OnEnd(spans(1)[0])
		flushed := make(chan error, 1)
		go func() { flushed <- p.ForceFlush(context.Background()) }()
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
		synctest.Wait()
		select {
		case err := <-flushed:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("ForceFlush = %v, want it canceled", err)
			}
		default:
			t.Fatal("ForceFlush still waits for its export after Shutdown gave up")
		}
	})
}

// discard takes every batch and keeps nothing.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkOnEnd measures what ending a sampled span costs the traced
// code: one span handed to the queue, which an export goroutine drains.
func BenchmarkOnEnd(b *testing.B) {
	p := New(discard{}, Config{})
	b.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	s := spans(1)[0]
	b.ReportAllocs()
	for b.Loop() {
		p.OnEnd(s)
	}
}
