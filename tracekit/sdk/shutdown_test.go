package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tracekit-go/tracekit/exporters/otlp"
	"github.com/tracekit-go/tracekit/internal/errsum"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
)

// With spans going to a silent OTLP endpoint and to a file, metrics and
// logs to the silent endpoint and profiles to a directory, Shutdown keeps
// its deadline and still delivers everything the file and the profile
// directory can take: the exporters shut down side by side. Its error
// counts, per exporter, what was delivered and what is still pending.
func TestShutdownSideBySide(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spans.jsonl")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+kittest.SilentEndpoint(t))
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp,file")
	t.Setenv("OTEL_METRICS_EXPORTER", "otlp")
	t.Setenv("OTEL_LOGS_EXPORTER", "otlp")
	t.Setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "4")
	t.Setenv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "2")
	t.Setenv("TRACEKIT_FILE_PATH", path)
	t.Setenv("TRACEKIT_PROFILE_DIR", filepath.Join(dir, "profiles"))
	if err := os.Mkdir(filepath.Join(dir, "profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	kit := startKit(t, WithErrorHandler(func(error) {}))
	const tasks = 50
	for range tasks {
		runTask(t, kit, "work") // a root span and a task span each
	}
	logger := slog.New(tracekit.LogHandler(slog.NewTextHandler(io.Discard, nil), tracekit.WithLoggerProvider(kit.LoggerProvider())))
	const records = 20
	for range records {
		logger.Info("lost in the silence")
	}

	const deadline = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	began := time.Now()
	err := kit.Shutdown(ctx)
	took := time.Since(began)
	t.Logf("Shutdown took %v:\n%v", took, err)
	if took > deadline+testwait.Scale(5*time.Second) {
		t.Errorf("Shutdown took %v with a %v deadline", took, deadline)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want it to match context.DeadlineExceeded", err)
	}
	var se *ShutdownError
	if !errors.As(err, &se) {
		t.Fatalf("Shutdown = %v, want a *ShutdownError", err)
	}

	results := map[string]ExporterResult{}
	for _, r := range se.Exporters {
		results[r.Signal+" "+strings.Fields(r.Destination)[0]] = r
	}
	file, silent := results["traces file"], results["traces otlp"]
	if file.Stats.Exported != 2*tasks || file.lost() != 0 || file.Err != nil {
		t.Errorf("file exporter: %+v, want all %d spans exported and a clean shutdown", file, 2*tasks)
	}
	if st := silent.Stats; st.Exported != 0 || st.Exported+st.Dropped+st.Failed+st.Pending != 2*tasks || st.Pending == 0 {
		t.Errorf("OTLP span exporter: %+v, want the %d spans accounted for, the undelivered ones pending", st, 2*tasks)
	}
	if st := results["logs otlp"].Stats; st.Exported+st.Dropped+st.Failed+st.Pending != records || st.Dropped < records-4-2 {
		t.Errorf("OTLP log exporter: %+v, want %d records accounted for, all but queue and batch dropped", st, records)
	}
	if r := results["metrics otlp"]; !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Errorf("OTLP metric exporter: %+v, want the deadline as its error", r)
	}
	if r := results["profiles pprof"]; r.Err != nil || r.Destination == "" {
		t.Errorf("profiles: %+v, want a clean shutdown", r)
	}
	msg := err.Error()
	for _, want := range []string{
		fmt.Sprintf("traces to file %s: %d exported, 0 dropped, 0 failed, 0 still pending", path, 2*tasks),
		fmt.Sprintf("%d still pending", silent.Stats.Pending),
		"logs to otlp", "metrics to otlp",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("Shutdown error does not say %q:\n%s", want, msg)
		}
	}
	if st := kit.Stats(); st.Exported+st.Dropped+st.Failed+st.Pending != 4*tasks {
		t.Errorf("Stats = %+v, want all %d spans handed to the two exporters accounted for", st, 4*tasks)
	}

	if n := kittest.SpansInFile(t, path); n != 2*tasks {
		t.Errorf("the file holds %d spans, want %d", n, 2*tasks)
	}
	if open := openFiles(t, path); open {
		t.Error("the span file is still open after Shutdown")
	}
	if entries, err := os.ReadDir(filepath.Join(dir, "profiles")); err != nil || len(entries) == 0 {
		t.Errorf("no profiles written by Shutdown (%v)", err)
	}
}

// openFiles reports whether this process holds path open; it skips the
// check where /proc/self/fd does not exist.
func openFiles(t *testing.T, path string) bool {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil || runtime.GOOS != "linux" {
		t.Logf("cannot check open files here: %v", err)
		return false
	}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == path {
			return true
		}
	}
	return false
}

// Spans dropped because the queue was full are counted in Shutdown's
// error, and Stats adds up as Shutdown returns.
func TestShutdownCountsDrops(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+kittest.SilentEndpoint(t))
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "8")
	t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4")
	kit := startKit(t, WithMetricsExporter(ExporterNone), WithErrorHandler(func(error) {}))
	const spans = 200
	for range spans {
		_, s := testTracer(kit).Start(context.Background(), "s")
		s.End()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := kit.Shutdown(ctx)
	st := kit.Stats()
	if st.Exported+st.Dropped+st.Failed+st.Pending != spans || st.Dropped < spans-8-4 {
		t.Errorf("Stats = %+v, want %d spans, all but queue and batch dropped", st, spans)
	}
	if want := fmt.Sprintf("%d dropped (queue full)", st.Dropped); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Shutdown = %v, want it to say %q", err, want)
	}
	if again := kit.Stats(); again != st {
		t.Errorf("Stats changed after Shutdown: %+v, then %+v", st, again)
	}
}

// An export that a silent endpoint never answers is reported to the Kit's
// error handler while it goes on, long before its timeout.
func TestStallReachesErrorHandler(t *testing.T) {
	stalls := make(chan *otlp.StallError, 8)
	kit := startKit(t, WithTracesExporter(ExporterOTLP), WithMetricsExporter(ExporterNone),
		WithOTLP(otlp.WithEndpoint(kittest.SilentEndpoint(t)), otlp.WithTimeout(time.Hour), otlp.WithStallReport(50*time.Millisecond)),
		WithErrorHandler(func(err error) {
			var se *otlp.StallError
			if errors.As(err, &se) {
				stalls <- se
			}
		}))
	_, s := testTracer(kit).Start(context.Background(), "s")
	s.End()
	flushed := make(chan error, 1)
	go func() { flushed <- kit.ForceFlush(context.Background()) }()
	select {
	case se := <-stalls:
		if se.Signal != SignalTraces || se.Items != 1 {
			t.Errorf("stall report %v, want one of 1 span", se)
		}
	case err := <-flushed:
		t.Fatalf("ForceFlush to a silent endpoint returned (%v) before a stall was reported", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = kit.Shutdown(ctx)
	<-flushed
}

// handled counts what reaches an error handler, and the errors the
// summaries stand for.
type handled struct {
	mu              sync.Mutex
	lines, reported int
	last            error
}

func (h *handled) handle(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines++
	var sum *errsum.Summary
	if errors.As(err, &sum) {
		h.reported += sum.Count
	} else {
		h.reported++
	}
	h.last = err
}

func (h *handled) get() (lines, reported int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lines, h.reported
}

// Against an endpoint that refuses every connection, export errors reach
// the error handler at a bounded rate: the first at once, then one summary
// per interval; the summaries count every failed export.
func TestDeadEndpointErrorsSummarised(t *testing.T) {
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "1")
	t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1") // one failed export per span
	var h handled
	const interval = 100 * time.Millisecond
	kit := startKit(t, WithTracesExporter(ExporterOTLP), WithMetricsExporter(ExporterNone),
		WithOTLP(otlp.WithEndpoint(closedPort(t)), otlp.WithProtocol(otlp.ProtocolHTTPProtobuf)),
		WithErrorInterval(interval), WithErrorHandler(h.handle))
	began := time.Now()
	for n := 0; kit.Stats().Failed < 300; n++ {
		_, s := testTracer(kit).Start(context.Background(), "s")
		s.End()
		if n%50 == 49 {
			if !testwait.For(time.Minute, func() bool { return kit.Stats().Pending == 0 }) {
				t.Fatalf("exports to a closed port did not fail: %+v", kit.Stats())
			}
		}
	}
	elapsed := time.Since(began)
	lines, _ := h.get()
	// One kind of error: the first, then at most one line per interval.
	if bound := 2 + int(elapsed/interval); lines > bound {
		t.Errorf("%d lines in %v for %d failed exports, want at most %d", lines, elapsed, kit.Stats().Failed, bound)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = kit.Shutdown(ctx)
	if _, reported := h.get(); uint64(reported) != kit.Stats().Failed {
		t.Errorf("the lines stand for %d failed exports, want %d", reported, kit.Stats().Failed)
	}
	var ee *ExportError
	if !errors.As(h.last, &ee) || ee.Signal != SignalTraces || !strings.Contains(ee.Destination, "otlp http/protobuf") {
		t.Errorf("last line %v, want a summary of span exports to OTLP", h.last)
	}
}

// A file exporter on a full disk fails every batch; in ten seconds of
// spans the error handler hears of it twice: at once, and in the summary
// at the end of the default interval. Shutdown reports the rest.
func TestFullDiskErrorsSummarised(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	t.Setenv("OTEL_TRACES_EXPORTER", "file")
	t.Setenv("TRACEKIT_FILE_PATH", "/dev/full")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1")
	synctest.Test(t, func(t *testing.T) {
		var h handled
		kit, err := Start(context.Background(), WithoutGlobals(), WithErrorHandler(h.handle))
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		for time.Since(began) < 10*time.Second {
			_, s := testTracer(kit).Start(context.Background(), "s")
			s.End()
			time.Sleep(10 * time.Millisecond)
		}
		synctest.Wait()
		lines, _ := h.get()
		failed := kit.Stats().Failed
		if lines != 2 || failed < 900 {
			t.Errorf("%d lines in 10s for %d failed exports, want 2: the first and one summary", lines, failed)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err = kit.Shutdown(ctx)
		if st := kit.Stats(); st.Failed != 1000 || st.Exported+st.Dropped+st.Pending != 0 {
			t.Errorf("Stats = %+v, want all 1000 spans failed", st)
		}
		if _, reported := h.get(); uint64(reported) != kit.Stats().Failed {
			t.Errorf("the lines stand for %d failed exports, want %d", reported, kit.Stats().Failed)
		}
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "1000 failed") {
			t.Errorf("Shutdown = %v, want it to count 1000 failed with the disk's error", err)
		}
	})
}

// The error interval and the log queue's settings resolve like the others:
// the environment, then the options, then the defaults.
func TestExportSettings(t *testing.T) {
	c, errs := resolve()
	if c.errorInterval != DefaultErrorInterval || c.logBatch.ScheduleDelay != DefaultLogScheduleDelay || len(errs) != 0 {
		t.Errorf("defaults: interval %v, log delay %v, errors %v", c.errorInterval, c.logBatch.ScheduleDelay, errs)
	}
	t.Setenv("TRACEKIT_ERROR_INTERVAL", "2s")
	t.Setenv("OTEL_BLRP_SCHEDULE_DELAY", "300")
	t.Setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "64")
	t.Setenv("OTEL_BLRP_EXPORT_TIMEOUT", "soon")
	c, errs = resolve()
	if c.errorInterval != 2*time.Second || c.logBatch.ScheduleDelay != 300*time.Millisecond || c.logBatch.MaxQueueSize != 64 {
		t.Errorf("environment: interval %v, log queue %+v", c.errorInterval, c.logBatch)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `OTEL_BLRP_EXPORT_TIMEOUT="soon"`) {
		t.Errorf("errors %v, want the bad OTEL_BLRP_EXPORT_TIMEOUT named", errs)
	}
	if c, _ = resolve(WithErrorInterval(time.Minute)); c.errorInterval != time.Minute {
		t.Errorf("option: interval %v, want it to win over the environment", c.errorInterval)
	}
}
