package batch

import (
	"context"
	"errors"
	"strings"
	"sync"
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
		p := New(exp, "test", Config{ScheduleDelay: time.Second})
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
		p := New(exp, "test", Config{MaxExportBatchSize: 4, ScheduleDelay: time.Hour})
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

func TestFullQueueDropsAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := &recording{block: true}
		p := New(exp, "blocked", Config{MaxQueueSize: 10, MaxExportBatchSize: 5, ExportTimeout: time.Minute})
		for _, s := range spans(100) {
			p.OnEnd(s) // must never block
		}
		st := p.Stats()
		if st.Pending > 10+5 || st.Dropped < 100-15 {
			t.Fatalf("stats %+v: want at most queue+batch pending and the rest dropped", st)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		err := p.Shutdown(ctx)
		if time.Since(start) > 2*time.Second {
			t.Errorf("Shutdown took %v, past its deadline", time.Since(start))
		}
		if err == nil || !strings.Contains(err.Error(), "could not be exported to blocked") {
			t.Errorf("Shutdown error = %v, want it to say spans were not exported", err)
		}
		synctest.Wait() // the aborted export goroutine ends
		st = p.Stats()
		if st.Exported+st.Dropped+st.Failed != 100 || st.Pending != 0 {
			t.Errorf("after Shutdown: %+v, want every span accounted for", st)
		}
	})
}

func TestExportErrorIsCountedAndReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		refused := errors.New("connection refused")
		var reported []error
		var mu sync.Mutex
		p := New(&recording{fail: refused}, "otlp http://127.0.0.1:1", Config{OnError: func(err error) {
			mu.Lock()
			reported = append(reported, err)
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
		if st.Failed != 5 || !errors.Is(st.LastError, refused) {
			t.Errorf("stats = %+v, want 5 failed with the error", st)
		}
		mu.Lock()
		if len(reported) != 1 || !strings.Contains(reported[0].Error(), "127.0.0.1:1") {
			t.Errorf("reported = %v, want one error naming the destination", reported)
		}
		mu.Unlock()
		err = p.Shutdown(context.Background())
		if !errors.Is(err, refused) || !strings.Contains(err.Error(), "5 spans") {
			t.Errorf("Shutdown = %v, want it to count the lost spans", err)
		}
	})
}

func TestShutdownTwiceAndAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := &recording{}
		p := New(exp, "test", Config{})
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
	p := New(exp, "test", Config{})
	stub := tracetest.SpanStub{Name: "unsampled"}
	p.OnEnd(stub.Snapshot())
	_ = p.Shutdown(context.Background())
	if st := p.Stats(); st.Exported+st.Dropped+st.Failed != 0 || exp.count() != 0 {
		t.Errorf("unsampled span was handled: %+v", st)
	}
}
