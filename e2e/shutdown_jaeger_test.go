//go:build unix

package e2e

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/e2e/internal/jaeger"
	"github.com/tracekit-go/tracekit/exporters/otlp"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// TestShutdownHungJaeger sends spans to a real Jaeger and to a file, then
// stops Jaeger's process (SIGSTOP): its sockets still take connections and
// requests, and nothing answers. The stalled export is reported while it
// hangs; Shutdown with a 2 s deadline still delivers every span to the file,
// returns near its deadline, and its error counts per exporter what Jaeger
// did not get.
func TestShutdownHungJaeger(t *testing.T) {
	bin := jaeger.Binary(t)
	ctx, srv := startJaeger(t, bin)

	path := filepath.Join(t.TempDir(), "spans.jsonl")
	stalls := make(chan *otlp.StallError, 16)
	kit, err := sdk.Start(ctx, sdk.WithoutGlobals(), sdk.WithServiceName("e2e-shutdown"),
		sdk.WithTracesExporter(sdk.ExporterOTLP, sdk.ExporterFile), sdk.WithFilePath(path),
		sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithOTLP(otlp.WithEndpoint(srv.OTLPHTTPEndpoint()), otlp.WithStallReport(500*time.Millisecond)),
		sdk.WithErrorHandler(func(err error) {
			var se *otlp.StallError
			if errors.As(err, &se) {
				select {
				case stalls <- se:
				default:
				}
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	tracer := kit.TracerProvider().Tracer("e2e")

	// Jaeger answers: a first span arrives.
	_, first := tracer.Start(ctx, "before the hang")
	first.End()
	if err := kit.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.TraceWithSpans(ctx, first.SpanContext().TraceID().String(), 1); err != nil {
		t.Fatalf("the first span did not reach Jaeger: %v", err)
	}

	// Jaeger hangs.
	if err := syscall.Kill(srv.PID(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(srv.PID(), syscall.SIGCONT) }) // before Stop
	const later = 100
	for range later {
		_, s := tracer.Start(ctx, "during the hang")
		s.End()
	}
	const deadline = 2 * time.Second
	sctx, scancel := context.WithTimeout(context.Background(), deadline)
	defer scancel()
	began := time.Now()
	err = kit.Shutdown(sctx)
	took := time.Since(began)
	t.Logf("Shutdown took %v:\n%v", took, err)
	if took > deadline+testwait.Scale(5*time.Second) {
		t.Errorf("Shutdown took %v with a %v deadline", took, deadline)
	}

	var se *sdk.ShutdownError
	if !errors.As(err, &se) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want a *ShutdownError matching context.DeadlineExceeded", err)
	}
	for _, r := range se.Exporters {
		st := r.Stats
		switch {
		case strings.HasPrefix(r.Destination, "file "):
			if st.Exported != later+1 || st.Dropped+st.Failed+st.Pending != 0 || r.Err != nil {
				t.Errorf("%s: %+v, want all %d spans exported and a clean shutdown", r.Destination, r, later+1)
			}
		case strings.HasPrefix(r.Destination, "otlp "):
			if !strings.Contains(r.Destination, strings.TrimPrefix(srv.OTLPHTTPEndpoint(), "http://")) ||
				st.Exported != 1 || st.Pending+st.Failed != later || st.Dropped != 0 {
				t.Errorf("%s: %+v, want the first span exported and the %d later ones pending or failed", r.Destination, st, later)
			}
		default:
			t.Errorf("unexpected exporter %+v", r)
		}
	}
	if got := kittest.SpansInFile(t, path); got != later+1 {
		t.Errorf("the file holds %d spans, want %d", got, later+1)
	}
	select {
	case s := <-stalls:
		if !strings.Contains(s.Destination, strings.TrimPrefix(srv.OTLPHTTPEndpoint(), "http://")) {
			t.Errorf("stall report %v does not name Jaeger's endpoint", s)
		}
	default:
		t.Error("the export Jaeger never answered was not reported as stalled")
	}
}
