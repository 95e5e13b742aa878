package sdk

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/testwait"
)

// TestNoBackend starts a Kit whose OTLP endpoint has nothing listening and
// checks the promises made for that case: tracing goes on without waiting
// for the exporter, memory stays bounded by the queue, the drops are counted,
// and Shutdown keeps its deadline with an error that names the endpoint and
// counts every span.
func TestNoBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("exports to a closed port until deadlines pass")
	}
	for _, proto := range []string{"grpc", "http/protobuf"} {
		t.Run(strings.ReplaceAll(proto, "/", "-"), func(t *testing.T) {
			addr := closedPort(t)
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+addr)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", proto)
			t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "256")
			t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "20")
			t.Setenv("OTEL_METRICS_EXPORTER", "none")
			var e errs
			kit := startKit(t, WithErrorHandler(e.handle))
			tracer := testTracer(kit)

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			const spans = 100_000
			done := make(chan struct{})
			go func() {
				defer close(done)
				payload := strings.Repeat("x", 512) // about 100 MB if every span were kept
				for i := 0; i < spans; i++ {
					_, s := tracer.Start(context.Background(), "work")
					s.SetAttributes(attribute.Key(semconv.CancelCause).String(payload))
					s.End()
				}
			}()
			select {
			case <-done:
			case <-time.After(testwait.Scale(2 * time.Minute)):
				t.Fatal("recording spans blocked while the exporter could not connect")
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 32<<20 {
				t.Errorf("heap grew by %d MiB for %d spans; the queue should bound it", grew>>20, spans)
			}
			st := kit.Stats()
			if st.Pending > 2*256 || st.Dropped == 0 || st.Exported != 0 { // queue + the batch in flight
				t.Errorf("Stats = %+v: want at most queue+batch (512) pending, drops counted, nothing exported", st)
			}

			const deadline = time.Second
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			began := time.Now()
			err := kit.Shutdown(ctx)
			t.Logf("Shutdown error: %v", err)
			// Bounded by the deadline; the slack is for a busy machine.
			if took := time.Since(began); took > deadline+testwait.Scale(5*time.Second) {
				t.Errorf("Shutdown took %v with a %v deadline", took, deadline)
			}
			var se *ShutdownError
			if !errors.As(err, &se) {
				t.Fatalf("Shutdown = %v, want a *ShutdownError: nothing was delivered", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, addr) || !(strings.Contains(msg, "connection refused") || strings.Contains(msg, "deadline exceeded")) {
				t.Errorf("Shutdown error does not say the endpoint was unreachable:\n%s", msg)
			}
			// Every span is accounted for as Shutdown returns, the drops
			// in its message too.
			st = kit.Stats()
			if total := st.Exported + st.Dropped + st.Failed + st.Pending; total != spans {
				t.Errorf("Stats = %+v: %d accounted for, want %d", st, total, spans)
			}
			if want := fmt.Sprintf("%d dropped (queue full)", st.Dropped); !strings.Contains(msg, want) {
				t.Errorf("Shutdown error does not say %q:\n%s", want, msg)
			}
		})
	}
}
