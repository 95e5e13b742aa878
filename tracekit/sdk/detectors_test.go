package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/console"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// A Kit installs its detector for the zero-value locks and removes it on
// Shutdown; one started WithoutGlobals does not.
func TestStartInstallsDetector(t *testing.T) {
	kit, err := Start(context.Background(), WithTracesExporter(ExporterNone), WithMetricsExporter(ExporterNone), WithoutGlobals())
	if err != nil {
		t.Fatal(err)
	}
	if kit.det != nil || detect.Active() != nil {
		t.Error("a Kit started WithoutGlobals made or installed a detector")
	}
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	kit, err = Start(context.Background(), WithTracesExporter(ExporterNone), WithMetricsExporter(ExporterNone))
	if err != nil {
		t.Fatal(err)
	}
	if kit.det == nil || detect.Active() != kit.det || kit.det.Linter() == nil {
		t.Error("Start did not install its detector with its lint sweep")
	}
	for range 2 {
		if err := kit.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if detect.Active() != nil {
		t.Error("Shutdown left its detector installed")
	}
}

// Through Start: the zero-value locks report to the Kit's meter and spans
// go to its tracer provider.
func TestStartLockMetricsAndSpans(t *testing.T) {
	if !locksTracked {
		t.Skip("tracekit_nosync: the locks are plain sync locks")
	}
	if !goid.Fast {
		t.Skip("a goroutine cannot find its task on this platform")
	}
	reader := sdkmetric.NewManualReader()
	exp := &kittest.Keeper{}
	kit, err := Start(context.Background(), WithSpanExporter(exp), WithMetricReader(reader),
		WithSlowThreshold(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer kit.Shutdown(context.Background())
	ctx, root := testTracer(kit).Start(context.Background(), "request")
	var m tracekit.Mutex
	m.SetName("inventory")
	m.Lock()
	task := tracekit.Go(ctx, "reserve", func(ctx context.Context) error {
		if err := m.LockContext(ctx); err != nil {
			return err
		}
		m.Unlock()
		return nil
	})
	// Released once the task has waited past the slow threshold.
	if !testwait.For(time.Minute, func() bool {
		for _, ti := range inspect.Tasks() {
			if ti.ID == task.ID() && ti.State() == inspect.TaskWaiting && time.Since(ti.WaitingSince) > 2*time.Millisecond {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the task never waited on the lock")
	}
	m.Unlock()
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	root.End()
	if n := kittest.HistCount(t, reader, "tracekit.lock.wait", "tracekit.lock.name", "inventory"); n != 1 {
		t.Errorf("tracekit.lock.wait count = %d, want 1", n)
	}
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range exp.Spans() {
		if s.Name() == "lock.wait inventory" && s.Parent().SpanID() == task.SpanContext().SpanID() {
			found = true
		}
	}
	if !found {
		t.Errorf("no lock.wait span under the task's span; have %v", kittest.Names(exp.Spans()))
	}
}

// consoleJSON fetches the console's list as JSON.
func consoleJSON(t *testing.T) (page struct {
	Lints []string `json:"lints"`
	Tasks []struct {
		ID       uint64   `json:"id"`
		Warnings []string `json:"warnings"`
	} `json:"tasks"`
}) {
	t.Helper()
	rr := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/?format=json", nil)
	req.Host = "127.0.0.1" // the console answers loopback and IP hosts
	console.Handler().ServeHTTP(rr, req)
	body, _ := io.ReadAll(rr.Result().Body)
	if rr.Code != http.StatusOK {
		t.Fatalf("console: %d %s", rr.Code, body)
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	return page
}

// "Waited too long" has one threshold and one mechanism: a wait past the
// hang timeout is reported once, naming the lock's holder, and the console
// marks the waiter, and the holder, past the same timeout.
func TestHangIsOneMechanism(t *testing.T) {
	if !locksTracked {
		t.Skip("tracekit_nosync: the locks are plain sync locks")
	}
	if !goid.Fast || !goid.FastID() {
		t.Skip("goroutine IDs cannot be read cheaply on this platform")
	}
	got := make(chan inspect.Report, 16)
	kit, err := Start(context.Background(), WithTracesExporter(ExporterNone), WithMetricsExporter(ExporterNone),
		WithHangTimeout(50*time.Millisecond), WithLintInterval(5*time.Millisecond),
		WithReportHandler(func(r inspect.Report) { got <- r }))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = kit.Shutdown(context.Background()) }()
	var mu tracekit.Mutex
	mu.SetName("orders")
	locked, release := make(chan struct{}), make(chan struct{})
	holder := tracekit.Go(context.Background(), "holder", func(context.Context) error {
		mu.Lock()
		close(locked)
		<-release
		mu.Unlock()
		return nil
	})
	<-locked
	waiter := tracekit.Go(context.Background(), "waiter", func(context.Context) error { mu.Lock(); mu.Unlock(); return nil })
	var r inspect.Report
	select {
	case r = <-got:
	case <-time.After(testwait.Scale(time.Minute)):
		t.Fatal("no hang report")
	}
	if r.Kind != inspect.KindHang || r.Lock != "orders" || len(r.Tasks) != 1 || r.Tasks[0].ID != holder.ID() ||
		!strings.Contains(r.Message, fmt.Sprintf(`held by task %d "holder"`, holder.ID())) {
		t.Errorf("report %v with tasks %+v, want a hang on orders naming the holder", r, r.Tasks)
	}
	page := consoleJSON(t)
	warned := map[uint64]string{}
	for _, ct := range page.Tasks {
		warned[ct.ID] = strings.Join(ct.Warnings, "; ")
	}
	if w := warned[waiter.ID()]; !strings.Contains(w, `on lock "orders", past the hang timeout 50ms, held by task `+fmt.Sprint(holder.ID())) {
		t.Errorf("waiter's warnings %q", w)
	}
	if w := warned[holder.ID()]; !strings.HasPrefix(w, `holds lock "orders", which task `+fmt.Sprint(waiter.ID())+` has waited`) {
		t.Errorf("holder's warnings %q", w)
	}
	if !strings.Contains(strings.Join(page.Lints, "; "), "waiting ≥ 50ms (hang timeout)") {
		t.Errorf("the console does not say the Kit's hang timeout: %v", page.Lints)
	}
	// The one wait has made one report, however many sweeps ran meanwhile.
	close(release)
	_ = holder.Wait()
	_ = waiter.Wait()
	if n := len(got); n != 0 {
		t.Errorf("%d more reports for one wait, want none", n)
	}
}

// The lint sweep starts with the Kit that installs the globals, reports
// through its handler, gives the console its thresholds, and stops on
// Shutdown.
func TestLintKit(t *testing.T) {
	got := make(chan inspect.Report, 16)
	kit, err := Start(context.Background(), WithTracesExporter(ExporterNone), WithMetricsExporter(ExporterNone),
		WithLintInterval(10*time.Millisecond), WithOrphanGrace(20*time.Millisecond),
		WithReportHandler(func(r inspect.Report) {
			select {
			case got <- r:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = kit.Shutdown(context.Background()) }()
	done := make(chan struct{})
	kids := make(chan *tracekit.Task, 1)
	_ = tracekit.Go(context.Background(), "request", func(ctx context.Context) error {
		kids <- tracekit.Go(ctx, "refresh", func(context.Context) error { <-done; return nil })
		return nil
	}).Wait()
	orphan := <-kids
	select {
	case r := <-got:
		if r.Kind != inspect.KindOrphanTask || len(r.Tasks) != 1 || r.Tasks[0].ID != orphan.ID() {
			t.Errorf("report %v", r)
		}
	case <-time.After(testwait.Scale(time.Minute)):
		t.Fatal("no report")
	}
	if lints := strings.Join(consoleJSON(t).Lints, "; "); !strings.Contains(lints, "parent ended ≥ 20ms ago") {
		t.Errorf("the console does not use the Kit's orphan grace: %s", lints)
	}
	close(done)
	_ = orphan.Wait()
	if err := kit.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if detect.Active() != nil {
		t.Error("the detector and its sweep are still installed after Shutdown")
	}
}
