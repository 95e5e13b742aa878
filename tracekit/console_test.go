package tracekit

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// consoleFixture runs a parent task that receives from a channel nobody
// sends on, and its child, left running after the parent ends, blocked on a
// lock. Both have hostile names.
type consoleFixture struct {
	parent, child *Task
	traceID       string
	stop          func()
}

func newConsoleFixture(t *testing.T) *consoleFixture {
	t.Helper()
	d, _ := testDetector(detectorConfig{}, nil)
	rec := newRecorder(t)
	ctx, root := rec.root(context.Background())
	mu := detectedMutex(d, "orders")
	mu.Lock()
	jobs := make(chan int)
	childc := make(chan *Task, 1)
	parent := Go(ctx, `<script>alert("p")</script>`, func(ctx context.Context) error {
		childc <- Go(ctx, "child & <b>bold</b>", func(context.Context) error {
			mu.Lock()
			mu.Unlock()
			return nil
		})
		_, err := recv(ctx, d, "jobs", jobs)
		return err
	})
	f := &consoleFixture{parent: parent, child: <-childc, traceID: root.SpanContext().TraceID().String()}
	waitFor(t, "fixture tasks waiting", func(s []TaskInfo) bool {
		p, ok1 := taskByID(s, parent.ID())
		c, ok2 := taskByID(s, f.child.ID())
		return ok1 && ok2 && (!fastGoroutineKey || p.State == TaskWaiting && (!locksTracked || c.State == TaskWaiting))
	})
	f.stop = func() {
		close(jobs)
		_ = parent.Wait()
		mu.Unlock()
		_ = f.child.Wait()
		root.End()
		d.close()
	}
	return f
}

func get(t *testing.T, h http.Handler, target string) (int, string) {
	t.Helper()
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, target, nil))
	body, _ := io.ReadAll(rr.Result().Body)
	return rr.Code, string(body)
}

func TestConsole(t *testing.T) {
	f := newConsoleFixture(t)
	defer f.stop()
	h := Handler(WithTraceURL("http://localhost:16686/trace/{trace_id}?uiFind={span_id}"), WithBlockedWarning(time.Nanosecond), WithRefresh(3*time.Second))
	pid, cid := strconv.FormatUint(f.parent.ID(), 10), strconv.FormatUint(f.child.ID(), 10)

	t.Run("list", func(t *testing.T) {
		code, page := get(t, h, "/debug/tracekit/")
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
		if fastGoroutineKey {
			want = append(want, `receive from &#34;jobs&#34;`, "⚠ blocked for")
		}
		if fastGoroutineKey && locksTracked {
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
		code, body := get(t, h, "/?format=json&sort=name&desc=1")
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
		if fastGoroutineKey && locksTracked && (c.State != TaskWaiting || c.WaitingOn != `lock "orders"` || c.WaitingSince == nil || len(c.Warnings) != 1) {
			t.Errorf("child's wait = %q %q since %v, warnings %q", c.State, c.WaitingOn, c.WaitingSince, c.Warnings)
		}
	})

	t.Run("task", func(t *testing.T) {
		code, page := get(t, h, "/?task="+cid)
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
		code, body := get(t, h, "/?task="+cid+"&format=json")
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
			h.ServeHTTP(rr, httptest.NewRequest(tc.method, tc.target, nil))
			if rr.Code != tc.code {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.target, rr.Code, tc.code)
			}
		}
	})
}

func TestConsoleParentEnded(t *testing.T) {
	release := make(chan struct{})
	childc := make(chan *Task, 1)
	parent := Go(context.Background(), "parent", func(ctx context.Context) error {
		childc <- Go(ctx, "orphan", func(context.Context) error { <-release; return nil })
		return nil
	})
	_ = parent.Wait()
	child := <-childc
	defer func() { close(release); _ = child.Wait() }()
	waitFor(t, "orphan listed", func(s []TaskInfo) bool { _, ok := taskByID(s, child.ID()); return ok })
	_, page := get(t, Handler(), "/")
	if !strings.Contains(page, "⚠ parent task "+strconv.FormatUint(parent.ID(), 10)+" has ended") {
		t.Errorf("no parent-ended warning:\n%s", page)
	}
}

func TestConsoleTraceURLFromEnv(t *testing.T) {
	tk := Go(context.Background(), "x", func(context.Context) error { return nil })
	_ = tk.Wait()
	for _, tc := range []struct{ env, opt, want string }{
		{"http://jaeger:16686/trace/{trace_id}", "", "http://jaeger:16686/trace/"},
		{"ftp://jaeger/{trace_id}", "", ""},                                 // not http: reported and ignored
		{"http://jaeger:16686/search", "", ""},                              // no {trace_id}
		{"http://env/{trace_id}", "https://opt/{trace_id}", "https://opt/"}, // the option wins
	} {
		t.Setenv("TRACEKIT_TRACE_URL", tc.env)
		var opts []ConsoleOption
		if tc.opt != "" {
			opts = append(opts, WithTraceURL(tc.opt))
		}
		c := Handler(opts...).(*console)
		if got := c.cfg.traceURL; !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("env %q option %q: template %q, want %q…", tc.env, tc.opt, got, tc.want)
		}
	}
}

// TestConsoleLints shows the task lints in the console with no Kit
// running: the console's own thresholds, and spawn growth sampled as the
// page is viewed.
func TestConsoleLints(t *testing.T) {
	if !fastGoroutineKey || !locksTracked {
		t.Skip("waits are not listed here")
	}
	synctest.Test(t, func(t *testing.T) {
		d, _ := testDetector(detectorConfig{}, nil)
		defer d.close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		mu := detectedMutex(d, "orders")
		mu.Lock()
		waiter := Go(ctx, "waiter", func(ctx context.Context) error {
			if err := mu.LockContext(ctx); err != nil {
				return err
			}
			mu.Unlock()
			return nil
		})
		release := make(chan struct{})
		var leaked []*Task
		h := Handler(WithRefresh(0))
		var page string
		for range 13 {
			for range 3 {
				leaked = append(leaked, spawnLeak(ctx, release))
			}
			time.Sleep(5 * time.Second)
			synctest.Wait()
			_, page = get(t, h, "/")
		}
		for _, w := range []string{
			"⚠ blocked for 1m5s on lock &#34;orders&#34;",
			"⚠ lock &#34;orders&#34; held for at least 1m5s",
			"⚠ spawn site growing: 39 live tasks, up from 6 in 55s",
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
