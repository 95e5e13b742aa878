package console

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// startKit runs the SDK with its detectors installed, exporting nothing,
// until the test ends.
func startKit(t *testing.T, opts ...sdk.Option) *sdk.Kit {
	t.Helper()
	kit, err := sdk.Start(context.Background(), append([]sdk.Option{sdk.WithTracesExporter(sdk.ExporterNone),
		sdk.WithMetricsExporter(sdk.ExporterNone), sdk.WithoutMemoryWatch()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kit.Shutdown(context.Background()) })
	return kit
}

func taskByID(ts []inspect.Task, id uint64) (inspect.Task, bool) {
	for _, ti := range ts {
		if ti.ID == id {
			return ti, true
		}
	}
	return inspect.Task{}, false
}

// waitFor polls the running tasks until ok accepts them, or fails the test.
func waitFor(t *testing.T, what string, ok func([]inspect.Task) bool) {
	t.Helper()
	var s []inspect.Task
	if !testwait.For(time.Minute, func() bool { s = inspect.Tasks(); return ok(s) }) {
		t.Fatalf("%s: never seen in %+v", what, s)
	}
}

// consoleFixture runs, under a running SDK with a hang timeout of 1ms, a
// parent task that receives from a channel nobody sends on, and its child,
// left running after the parent ends, blocked on a lock. Both have hostile
// names.
type consoleFixture struct {
	parent, child *tracekit.Task
	traceID       string
	stop          func()
}

func newConsoleFixture(t *testing.T) *consoleFixture {
	t.Helper()
	kit := startKit(t, sdk.WithHangTimeout(time.Millisecond), sdk.WithoutLints())
	ctx, root := kit.TracerProvider().Tracer("test").Start(context.Background(), "root")
	var mu tracekit.Mutex
	mu.SetName("orders")
	mu.Lock()
	jobs := tracekit.NewChan[int]("jobs", 0)
	childc := make(chan *tracekit.Task, 1)
	parent := tracekit.Go(ctx, `<script>alert("p")</script>`, func(ctx context.Context) error {
		childc <- tracekit.Go(ctx, "child & <b>bold</b>", func(context.Context) error {
			mu.Lock()
			mu.Unlock()
			return nil
		})
		_, err := jobs.Recv(ctx)
		return err
	})
	f := &consoleFixture{parent: parent, child: <-childc, traceID: root.SpanContext().TraceID().String()}
	waitFor(t, "fixture tasks waiting", func(s []inspect.Task) bool {
		p, ok1 := taskByID(s, parent.ID())
		c, ok2 := taskByID(s, f.child.ID())
		past := func(ti inspect.Task) bool { // past the hang timeout
			return ti.State() == inspect.TaskWaiting && time.Since(ti.WaitingSince) > 2*time.Millisecond
		}
		return ok1 && ok2 && (!goid.Fast || past(p) && (!locksTracked || past(c)))
	})
	f.stop = func() {
		jobs.Close()
		_ = parent.Wait()
		mu.Unlock()
		_ = f.child.Wait()
		root.End()
	}
	return f
}

func TestConsole(t *testing.T) {
	// Made first: tasks started from then on label their goroutines, so
	// their pages find their stacks.
	h := Handler(WithTraceURL("http://localhost:16686/trace/{trace_id}?uiFind={span_id}"), WithRefresh(3*time.Second))
	f := newConsoleFixture(t)
	defer f.stop()
	pid, cid := strconv.FormatUint(f.parent.ID(), 10), strconv.FormatUint(f.child.ID(), 10)

	t.Run("list", func(t *testing.T) {
		code, page := kittest.Get(t, h, "/debug/tracekit/")
		if code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		for _, bad := range []string{"<script>alert", "<b>bold"} {
			if strings.Contains(page, bad) {
				t.Errorf("page contains unescaped %q", bad)
			}
		}
		want := []string{
			`&lt;script&gt;alert(&#34;p&#34;)&lt;/script&gt;`, `child &amp; &lt;b&gt;bold&lt;/b&gt;`,
			`<meta http-equiv="refresh" content="3">`, `href="?task=` + cid + `"`,
			`href="?sort=name"`, "newConsoleFixture", "console_test.go:",
		}
		if goid.Fast {
			want = append(want, `receive from &#34;jobs&#34;`, "⚠ waiting ", ", past the hang timeout 1ms")
		}
		if goid.Fast && locksTracked {
			want = append(want, `lock &#34;orders&#34;`)
		}
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("page lacks %q", w)
			}
		}
		// The child's parent runs and the parent has none.
		if strings.Contains(page, "⚠ parent task") {
			t.Error("parent-ended warning while the parent runs")
		}
	})

	t.Run("json", func(t *testing.T) {
		code, body := kittest.Get(t, h, "/?format=json&sort=name&desc=1")
		if code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if strings.Contains(body, "<script>") {
			t.Error("JSON carries an unescaped <script>")
		}
		var got struct {
			Tasks []consoleTask `json:"tasks"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		var names []string
		byID := map[uint64]consoleTask{}
		for _, ct := range got.Tasks {
			names = append(names, ct.Name)
			byID[ct.ID] = ct
		}
		for i := 1; i < len(names); i++ {
			if names[i-1] < names[i] {
				t.Errorf("sort=name&desc=1: %q before %q", names[i-1], names[i])
			}
		}
		c, ok := byID[f.child.ID()]
		if !ok {
			t.Fatalf("child missing from %s", body)
		}
		if c.Parent != f.parent.ID() || c.TraceID != f.traceID || c.SpanID != f.child.SpanContext().SpanID().String() ||
			c.TraceURL != "http://localhost:16686/trace/"+f.traceID+"?uiFind="+c.SpanID || c.TotalSeconds <= 0 || !strings.Contains(c.SpawnSite, "newConsoleFixture") {
			t.Errorf("child = %+v", c)
		}
		if goid.Fast && locksTracked && (c.State != inspect.TaskWaiting || c.WaitingOn != `lock "orders"` || c.WaitingSince == nil || len(c.Warnings) != 1) {
			t.Errorf("child's wait = %q %q since %v, warnings %q", c.State, c.WaitingOn, c.WaitingSince, c.Warnings)
		}
	})

	t.Run("task", func(t *testing.T) {
		code, page := kittest.Get(t, h, "/?task="+cid)
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, page)
		}
		for _, w := range []string{
			`Task ` + cid + `: child &amp; &lt;b&gt;bold&lt;/b&gt;`, `href="?task=` + pid + `"`, f.traceID,
			`href="http://localhost:16686/trace/` + f.traceID + `?uiFind=`, "(*Mutex).Lock", "newConsoleFixture",
		} {
			if !strings.Contains(page, w) {
				t.Errorf("task page lacks %q", w)
			}
		}
		code, body := kittest.Get(t, h, "/?task="+cid+"&format=json")
		var ct consoleTask
		if code != http.StatusOK || json.Unmarshal([]byte(body), &ct) != nil || ct.ID != f.child.ID() || ct.Goroutine == 0 || ct.Stack == "" {
			t.Errorf("task JSON: %d %s", code, body)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			method, target string
			code           int
		}{
			{http.MethodGet, "/?task=x", http.StatusBadRequest},
			{http.MethodGet, "/?task=999999999999", http.StatusNotFound},
			{http.MethodPost, "/", http.StatusMethodNotAllowed},
		} {
			rr := httptest.NewRecorder()
			req := httptest.NewRequest(tc.method, tc.target, nil)
			req.Host = "127.0.0.1"
			h.ServeHTTP(rr, req)
			if rr.Code != tc.code {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.target, rr.Code, tc.code)
			}
		}
	})
}

func TestConsoleParentEnded(t *testing.T) {
	release := make(chan struct{})
	childc := make(chan *tracekit.Task, 1)
	parent := tracekit.Go(context.Background(), "parent", func(ctx context.Context) error {
		childc <- tracekit.Go(ctx, "orphan", func(context.Context) error { <-release; return nil })
		return nil
	})
	_ = parent.Wait()
	child := <-childc
	defer func() { close(release); _ = child.Wait() }()
	waitFor(t, "orphan listed", func(s []inspect.Task) bool { _, ok := taskByID(s, child.ID()); return ok })
	_, page := kittest.Get(t, Handler(), "/")
	if !strings.Contains(page, "⚠ parent task "+strconv.FormatUint(parent.ID(), 10)+" has ended") {
		t.Errorf("no parent-ended warning:\n%s", page)
	}
}

func TestConsoleTraceURLFromEnv(t *testing.T) {
	tk := tracekit.Go(context.Background(), "x", func(context.Context) error { return nil })
	_ = tk.Wait()
	for _, tc := range []struct{ env, opt, want string }{
		{"http://jaeger:16686/trace/{trace_id}", "", "http://jaeger:16686/trace/"},
		{"ftp://jaeger/{trace_id}", "", ""},                                 // not http: reported and ignored
		{"http://jaeger:16686/search", "", ""},                              // no {trace_id}
		{"http://env/{trace_id}", "https://opt/{trace_id}", "https://opt/"}, // the option wins
	} {
		t.Setenv("TRACEKIT_TRACE_URL", tc.env)
		var opts []Option
		if tc.opt != "" {
			opts = append(opts, WithTraceURL(tc.opt))
		}
		c := Handler(opts...).(*console)
		if got := c.cfg.traceURL; !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("env %q option %q: template %q, want %q…", tc.env, tc.opt, got, tc.want)
		}
	}
}

// TestConsoleLints shows the warnings with no SDK running: waits past the
// default hang timeout, and spawn growth sampled as the page is viewed.
func TestConsoleLints(t *testing.T) {
	if !goid.Fast || !locksTracked {
		t.Skip("waits are not listed here")
	}
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu tracekit.Mutex
		mu.SetName("orders")
		mu.Lock()
		waiter := tracekit.Go(ctx, "waiter", func(ctx context.Context) error {
			if err := mu.LockContext(ctx); err != nil {
				return err
			}
			mu.Unlock()
			return nil
		})
		release := make(chan struct{})
		var leaked []*tracekit.Task
		h := Handler(WithoutRefresh())
		var page string
		for range 13 {
			for range 3 {
				leaked = append(leaked, spawnLeak(ctx, release))
			}
			time.Sleep(5 * time.Second)
			synctest.Wait()
			_, page = kittest.Get(t, h, "/")
		}
		for _, w := range []string{
			"⚠ waiting 1m5s on lock &#34;orders&#34;, past the hang timeout 30s",
			"⚠ spawn site growing: 39 live tasks, up from 6 in 55s",
			"waiting ≥ 30s (hang timeout)",
		} {
			if !strings.Contains(page, w) {
				t.Errorf("page lacks %q:\n%s", w, page)
			}
		}
		if n := strings.Count(page, "spawn site growing"); n != len(leaked) {
			t.Errorf("%d tasks carry the growth warning, want every one of the site's %d", n, len(leaked))
		}
		mu.Unlock()
		close(release)
		for _, tk := range append(leaked, waiter) {
			_ = tk.Wait()
		}
	})
}

// holdInTask starts a task named name that locks mu and holds it until
// release is closed, and returns it once it holds it.
func holdInTask(ctx context.Context, name string, mu *tracekit.Mutex, release chan struct{}) *tracekit.Task {
	locked := make(chan struct{})
	t := tracekit.Go(ctx, name, func(context.Context) error {
		mu.Lock()
		close(locked)
		<-release
		mu.Unlock()
		return nil
	})
	<-locked
	return t
}

// spawnLeak starts tasks from a spawn site of its own.
func spawnLeak(ctx context.Context, release chan struct{}) *tracekit.Task {
	return tracekit.Go(ctx, "leak", func(context.Context) error { <-release; return nil })
}

// consolePage is the list's JSON.
type consolePage struct {
	Memory       consoleMemory     `json:"memory"`
	Tasks        []consoleTask     `json:"tasks"`
	WaitedOn     []consoleResource `json:"waited_on"`
	Reports      []consoleReport   `json:"reports"`
	ReportsTotal int               `json:"reports_total"`
	ReportsNote  string            `json:"reports_note"`
}

// TestConsoleReports runs a Kit with lock-order detection and a short hang
// timeout, makes its detectors report a lock-order inversion (between
// locks with hostile names) and a hang, and reads both back from the
// console's reports panel and JSON, newest first, with their tasks and
// trace links.
func TestConsoleReports(t *testing.T) {
	if !locksTracked {
		t.Skip("locks are plain sync locks here")
	}
	if !goid.Fast {
		t.Skip("a goroutine cannot find its task on this platform")
	}
	var (
		mu  sync.Mutex
		got []inspect.Report
	)
	kit := startKit(t, sdk.WithDeadlockDetection(), sdk.WithHangTimeout(50*time.Millisecond), sdk.WithoutLints(),
		sdk.WithReportHandler(func(r inspect.Report) { mu.Lock(); got = append(got, r); mu.Unlock() }))
	reportsOf := func(k inspect.Kind) []inspect.Report {
		mu.Lock()
		defer mu.Unlock()
		var out []inspect.Report
		for _, r := range got {
			if r.Kind == k {
				out = append(out, r)
			}
		}
		return out
	}
	ctx, root := kit.TracerProvider().Tracer("test").Start(context.Background(), "incident")
	defer root.End()

	// The inversion, inside a traced task.
	var a, b tracekit.Mutex
	a.SetName(`<img src=x onerror=alert(1)>`)
	b.SetName("ledger & co")
	inv := tracekit.Go(ctx, "invert <locks>", func(context.Context) error {
		a.Lock()
		b.Lock()
		b.Unlock()
		a.Unlock()
		b.Lock()
		a.Lock()
		a.Unlock()
		b.Unlock()
		return nil
	})
	if err := inv.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := len(reportsOf(inspect.KindLockOrder)); n != 1 {
		t.Fatalf("%d lock-order reports, want 1", n)
	}

	// The hang: a task waits past the hang timeout on a lock another task
	// holds.
	var orders tracekit.Mutex
	orders.SetName("orders")
	release := make(chan struct{})
	holder := holdInTask(ctx, "hold orders", &orders, release)
	waiter := tracekit.Go(ctx, "wait for orders", func(context.Context) error {
		orders.Lock()
		orders.Unlock()
		return nil
	})
	if !testwait.For(time.Minute, func() bool { return len(reportsOf(inspect.KindHang)) > 0 }) {
		t.Fatal("no hang report")
	}
	defer func() { close(release); _ = holder.Wait(); _ = waiter.Wait() }()

	h := Handler(WithTraceURL("http://localhost:16686/trace/{trace_id}"), WithoutRefresh())
	traceID := root.SpanContext().TraceID().String()
	var page consolePage
	kittest.GetJSON(t, h, "/?format=json", &page)
	if page.ReportsNote != "" || page.ReportsTotal != 2 || len(page.Reports) != 2 {
		t.Fatalf("reports: total %d, note %q, %+v", page.ReportsTotal, page.ReportsNote, page.Reports)
	}
	hang, order := page.Reports[0], page.Reports[1] // newest first
	if order.Kind != "lock-order" || order.Lock == "" || order.OtherLock == "" || order.Lock == order.OtherLock ||
		!strings.Contains(order.Message, "<img src=x onerror=alert(1)>") || order.TraceID != traceID ||
		order.TraceURL != "http://localhost:16686/trace/"+traceID || order.Time.IsZero() {
		t.Errorf("lock-order report = %+v", order)
	}
	if hang.Kind != "hang" || hang.Lock != "orders" || hang.Time.Before(order.Time) || hang.TraceID != traceID {
		t.Errorf("hang report = %+v", hang)
	}
	if len(hang.Tasks) != 1 || hang.Tasks[0].ID != holder.ID() || hang.Tasks[0].Name != "hold orders" || !hang.Tasks[0].Live {
		t.Errorf("hang report's tasks = %+v, want the live holder %d", hang.Tasks, holder.ID())
	}

	_, html := kittest.Get(t, h, "/")
	if strings.Contains(html, "<img") {
		t.Error("the list page carries an unescaped <img>")
	}
	for _, w := range []string{
		`<h2 id="recent-reports">Recent reports</h2>`, "The last 2 of 2 reports",
		`<a href="#recent-reports" class="warn">2 recent reports, the latest hang at `,
		`data-kind="lock-order"`, `data-kind="hang"`,
		`&lt;img src=x onerror=alert(1)&gt;`, `ledger &amp; co`,
		`<a href="?task=` + strconv.FormatUint(holder.ID(), 10) + `">task ` + strconv.FormatUint(holder.ID(), 10) + ` hold orders</a>`,
		`href="http://localhost:16686/trace/` + traceID + `" class="report-trace"`,
	} {
		if !strings.Contains(html, w) {
			t.Errorf("list page lacks %q", w)
		}
	}
	if i, j := strings.Index(html, `data-kind="hang"`), strings.Index(html, `data-kind="lock-order"`); i > j {
		t.Error("the older report comes first")
	}

	// The holder's page lists the hang report about it.
	_, taskPage := kittest.Get(t, h, "/?task="+strconv.FormatUint(holder.ID(), 10))
	if !strings.Contains(taskPage, "Reports about this task") || !strings.Contains(taskPage, `data-kind="hang"`) {
		t.Errorf("the holder's page lacks its report:\n%s", taskPage)
	}
	var ct consoleTask
	kittest.GetJSON(t, h, "/?format=json&task="+strconv.FormatUint(holder.ID(), 10), &ct)
	if len(ct.Reports) != 1 || ct.Reports[0].Kind != "hang" {
		t.Errorf("the holder's JSON reports = %+v", ct.Reports)
	}
}

// A task that has ended: its page says so instead of a bare 404, linking
// to its running parent; a task never started is still not found.
func TestConsoleEndedTask(t *testing.T) {
	if !goid.FastID() {
		t.Skip("no task lineage where reading a goroutine ID takes a stack trace")
	}
	parentDone, childc := make(chan struct{}), make(chan *tracekit.Task, 1)
	parent := tracekit.Go(context.Background(), "parent", func(ctx context.Context) error {
		childc <- tracekit.Go(ctx, "short <job>", func(context.Context) error { return nil })
		<-parentDone
		return nil
	})
	child := <-childc
	_ = child.Wait()
	id := strconv.FormatUint(child.ID(), 10)
	h := Handler()
	// The ended record is written as the task's goroutine exits, just
	// after Wait returns.
	var code int
	var page string
	testwait.For(time.Minute, func() bool { code, page = kittest.Get(t, h, "/?task="+id); return code != http.StatusNotFound })
	if code != http.StatusGone || !strings.Contains(page, "Task "+id+" <code>short &lt;job&gt;</code> has ended") ||
		!strings.Contains(page, `<a href="?task=`+strconv.FormatUint(parent.ID(), 10)+`">`) ||
		!strings.Contains(page, `<dd id="result" class="">ok</dd>`) || !strings.Contains(page, "TestConsoleEndedTask.func1 (") {
		t.Errorf("ended task page: %d\n%s", code, page)
	}
	code, body := kittest.Get(t, h, "/?task="+id+"&format=json")
	var et endedTaskJSON
	if code != http.StatusGone || json.Unmarshal([]byte(body), &et) != nil || !et.Ended || et.ID != child.ID() || et.Parent != parent.ID() || et.Goroutine == 0 ||
		et.Name != "short <job>" || et.Result != "ok" || et.Start == nil || et.DurationSeconds <= 0 || !strings.Contains(et.SpawnSite, "console_test.go:") {
		t.Errorf("ended task JSON: %d %s", code, body)
	}
	close(parentDone)
	_ = parent.Wait()
	if code, _ := kittest.Get(t, h, "/?task=999999999998"); code != http.StatusNotFound {
		t.Errorf("a task never started: %d, want 404", code)
	}
}

// An ended task's page says how it ended: its error, or its panic's value,
// and links its trace.
func TestConsoleEndedTaskResult(t *testing.T) {
	h := Handler(WithTraceURL("http://jaeger.local/trace/{trace_id}?uiFind={span_id}"))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, root := tp.Tracer("test").Start(context.Background(), "root")
	defer root.End()
	failed := tracekit.Go(ctx, "charge", func(context.Context) error { return errors.New("card <declined>") })
	panicked := tracekit.Go(ctx, "parse", func(context.Context) error { panic("index out of range") })
	_ = failed.Wait()
	_ = panicked.Wait()
	for _, tc := range []struct {
		task           *tracekit.Task
		result, detail string
	}{{failed, "error", "card <declined>"}, {panicked, "panic", "index out of range"}} {
		id := strconv.FormatUint(tc.task.ID(), 10)
		var et endedTaskJSON
		var code int
		var body string
		if !testwait.For(time.Minute, func() bool {
			code, body = kittest.Get(t, h, "/?task="+id+"&format=json")
			return code == http.StatusGone
		}) {
			t.Fatalf("task %s: %d %s", id, code, body)
		}
		if err := json.Unmarshal([]byte(body), &et); err != nil {
			t.Fatal(err)
		}
		sc := tc.task.SpanContext()
		if et.Result != tc.result || et.Error != tc.detail || et.TraceID != sc.TraceID().String() || et.SpanID != sc.SpanID().String() ||
			et.TraceURL != "http://jaeger.local/trace/"+et.TraceID+"?uiFind="+et.SpanID {
			t.Errorf("task %s JSON = %+v, want result %s %q and its trace", id, et, tc.result, tc.detail)
		}
		_, page := kittest.Get(t, h, "/?task="+id)
		if want := `<dd id="result" class="warn">` + tc.result + `: <code>` + html.EscapeString(tc.detail) + `</code></dd>`; !strings.Contains(page, want) ||
			!strings.Contains(page, `id="trace">`+et.TraceID+`</a>`) {
			t.Errorf("task %s page lacks %s or its trace link:\n%s", id, want, page)
		}
	}
}

// Without a running Kit the panel says reports need one; the memory line
// shows what runtime/metrics and GOMEMLIMIT say.
func TestConsoleNoKitAndMemory(t *testing.T) {
	if detect.Active() != nil {
		t.Skip("an SDK with the globals runs")
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(3 << 30))
	h := Handler(WithoutRefresh())
	var page consolePage
	kittest.GetJSON(t, h, "/?format=json", &page)
	if page.ReportsNote != reportsNeedKit || len(page.Reports) != 0 {
		t.Errorf("without a Kit: note %q, reports %+v", page.ReportsNote, page.Reports)
	}
	m := page.Memory
	if m.Limit != 3<<30 || m.LimitKind != "GOMEMLIMIT" || m.Used == 0 || m.Used > m.Limit || m.Goroutines < 2 || m.Tasks != len(page.Tasks) {
		t.Errorf("memory = %+v with %d tasks", m, len(page.Tasks))
	}
	_, html := kittest.Get(t, h, "/")
	for _, w := range []string{"No reports: " + reportsNeedKit, "of 3.00 GiB (", "% of the GOMEMLIMIT limit)", "goroutines ·"} {
		if !strings.Contains(html, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// The memory line reads runtime/metrics, beside the baseline it avoids:
// runtime.ReadMemStats, which stops the world.
func BenchmarkConsoleMemory(b *testing.B) {
	b.Run("console", func(b *testing.B) {
		c := Handler().(*console)
		b.ReportAllocs()
		for b.Loop() {
			_ = c.memory(0)
		}
	})
	b.Run("ReadMemStats", func(b *testing.B) {
		var ms runtime.MemStats
		b.ReportAllocs()
		for b.Loop() {
			runtime.ReadMemStats(&ms)
		}
	})
}
