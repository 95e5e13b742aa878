package e2e

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tracekit-go/tracekit/e2e/internal/browser"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/console"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

var updateConsoleScreenshot = flag.Bool("console.screenshot", false, "rewrite docs/images/console.png from the browser test")

// TestConsoleInBrowser serves tracekit's console from a program with a
// deliberately blocked task (waiting on a lock another task holds) and a
// leaking one (receiving from a channel nobody sends on), and a lock-order
// inversion, loads it in headless Chromium, and checks what a user sees:
// both tasks with their waits and warnings, sorting, the memory line, the
// detectors' reports (the inversion with its trace link, the hang on the
// lock naming its holder), the task page with its stack and trace link, a
// list a page at a time, and that the pages' Content-Security-Policy lets
// their own style and script run (the script reloads the page) and nothing
// else.
func TestConsoleInBrowser(t *testing.T) {
	ctx := browser.Start(t, 1300, 520)
	// A memory limit for the console's memory line to show.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(512 << 20))

	kit, err := sdk.Start(context.Background(),
		sdk.WithServiceName("console-e2e"),
		sdk.WithFilePath(filepath.Join(t.TempDir(), "spans.jsonl")),
		sdk.WithDeadlockDetection(),
		sdk.WithHangTimeout(time.Second), // the console warns about waits past it too
	) // with the globals: the Kit's detector is what shows waits and reports in the console
	if err != nil {
		t.Fatal(err)
	}
	defer kit.Shutdown(context.Background())
	// The console first: tasks started from then on label their
	// goroutines, so that their pages find their stacks.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/tracekit/", console.Handler(
		console.WithTraceURL("http://localhost:16686/trace/{trace_id}"),
		console.WithRefresh(time.Second),
	))
	// The same console without the reload, for reading a page that does not
	// change under the test.
	mux.Handle("/still/debug/tracekit/", http.StripPrefix("/still", console.Handler(
		console.WithTraceURL("http://localhost:16686/trace/{trace_id}"),
		console.WithoutRefresh(),
	)))
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String() + "/debug/tracekit/"

	tctx, root := kit.TracerProvider().Tracer(tracekit.ScopeName).Start(context.Background(), "handle order")
	defer root.End()

	var orders tracekit.Mutex
	orders.SetName("orders")
	jobs := tracekit.NewChan[int]("jobs", 0)
	locked, release := make(chan struct{}), make(chan struct{})
	holder := tracekit.Go(tctx, "hold orders", func(context.Context) error {
		orders.Lock()
		close(locked)
		<-release
		orders.Unlock()
		return nil
	})
	<-locked
	// Two locks taken in both orders, one after the other: no deadlock
	// this time, but the Kit reports the inversion.
	var accounts, ledger tracekit.Mutex
	accounts.SetName("accounts")
	ledger.SetName("<b>ledger</b>")
	inverter := tracekit.Go(tctx, "transfer", func(context.Context) error {
		accounts.Lock()
		ledger.Lock()
		ledger.Unlock()
		accounts.Unlock()
		ledger.Lock()
		accounts.Lock()
		accounts.Unlock()
		ledger.Unlock()
		return nil
	})
	if err := inverter.Wait(); err != nil {
		t.Fatal(err)
	}
	blocked := tracekit.Go(tctx, "update <order> 42", func(context.Context) error {
		orders.Lock()
		orders.Unlock()
		return nil
	})
	leaking := tracekit.Go(tctx, "wait for job", func(ctx context.Context) error {
		_, err := jobs.Recv(ctx)
		return err
	})
	defer func() {
		close(release)
		jobs.Close()
		for _, tk := range []*tracekit.Task{holder, blocked, leaking} {
			_ = tk.Wait()
		}
	}()

	// Every page records what its Content-Security-Policy blocks, before
	// its own script runs (a script the browser adds is not subject to it).
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.cspViolations = [];
			document.addEventListener("securitypolicyviolation", e => window.cspViolations.push(e.violatedDirective));`,
	}); err != nil {
		t.Fatal(err)
	}

	// The page reloads itself every second: wait until a reload shows the
	// blocked task's wait past the Kit's hang timeout (1s), warned about and
	// naming the holder, and the hang report on the lock. Each look reads
	// one fully loaded document; one caught mid-reload reads as nothing yet.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"?sort=warnings&desc=1")); err != nil {
		t.Fatal(err)
	}
	const rowJS = `(() => {
		if (document.readyState !== "complete") return "";
		const r = [...document.querySelectorAll("#tasks tbody tr")].find(r => r.textContent.includes("update <order> 42"));
		const rep = [...document.querySelectorAll('#reports tr[data-kind="hang"]')].find(r => r.textContent.includes("orders"));
		return r && rep ? r.innerText : "";
	})()`
	var row string
	if !testwait.For(time.Minute, func() bool {
		row, _ = chromedp.Run(ctx, chromedp.Evaluate[string](rowJS))
		return strings.Contains(row, "past the hang timeout 1s") && strings.Contains(row, "held by task")
	}) {
		body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("the reloading page never showed the blocked task warned about with the hang report: row %q; page (err %v):\n%s", row, err, body)
	}
	// Its script runs under the policy, and reloads it: the script says
	// how often, and the document is a new one before long.
	if note := eval[string](t, ctx, `document.getElementById("reload").textContent`); note != "reloads every 1.0 s, not while hidden" {
		t.Errorf("the reload note %q is not the script's", note)
	}
	origin := eval[float64](t, ctx, `performance.timeOrigin`)
	if !testwait.For(time.Minute, func() bool {
		o, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.timeOrigin`))
		return err == nil && o != origin
	}) {
		t.Error("the page never reloaded itself")
	}
	// The rest is read from the page that does not reload.
	still := "http://" + ln.Addr().String() + "/still/debug/tracekit/"
	if err := chromedp.Do(ctx, chromedp.Navigate(still+"?sort=warnings&desc=1")); err != nil {
		t.Fatal(err)
	}
	// The policy let the page's style and script in, and nothing was
	// blocked; a script element added to the page is.
	if bg := eval[string](t, ctx, `getComputedStyle(document.querySelector("#tasks th")).backgroundColor`); bg != "rgb(238, 240, 244)" {
		t.Errorf("the style sheet did not apply: a heading's background is %q", bg)
	}
	if v := eval[[]string](t, ctx, `window.cspViolations`); len(v) != 0 {
		t.Errorf("the policy blocked %q in the console's own page", v)
	}
	if injected := eval[bool](t, ctx, `(() => {
		const s = document.createElement("script");
		s.textContent = "window.injected = true";
		document.body.appendChild(s);
		return window.injected === true;
	})()`); injected {
		t.Error("an inline script added to the page ran")
	}
	if !testwait.For(time.Minute, func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.cspViolations`))
		return err == nil && len(v) > 0 && strings.HasPrefix(v[0], "script-src")
	}) {
		t.Error("the policy did not report the added script")
	}
	resp, err := http.Get(still)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'sha256-") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: Content-Security-Policy %q, X-Content-Type-Options %q", csp, resp.Header.Get("X-Content-Type-Options"))
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(still+"?sort=warnings&desc=1")); err != nil {
		t.Fatal(err)
	}
	row = eval[string](t, ctx, `[...document.querySelectorAll("#tasks tbody tr")].find(r => r.textContent.includes("update <order> 42")).innerText`)
	for _, want := range []string{"waiting", `lock "orders"`, "console_browser_test.go:", `on lock "orders", past the hang timeout 1s, held by task`} {
		if !strings.Contains(row, want) {
			t.Errorf("blocked task's row %q lacks %q", row, want)
		}
	}
	leakRow := eval[string](t, ctx, `[...document.querySelectorAll("#tasks tbody tr")].find(r => r.textContent.includes("wait for job")).innerText`)
	if !strings.Contains(leakRow, `receive from "jobs"`) || !strings.Contains(leakRow, "past the hang timeout") {
		t.Errorf("leaking task's row %q", leakRow)
	}
	// The waiting row and the waited-on table both name the holder, with a
	// link to its page.
	holderID := eval[string](t, ctx, `[...document.querySelectorAll("#tasks tbody tr")].find(r => r.textContent.includes("hold orders")).cells[0].innerText`)
	lockRow := eval[string](t, ctx, `(() => { const r = [...document.querySelectorAll("#resources tbody tr")].find(r => r.textContent.includes('lock "orders"')); return r ? r.innerText : ""; })()`)
	if holderID == "" || !strings.Contains(lockRow, "task "+holderID) || !strings.Contains(row, "held by task "+holderID) {
		t.Errorf("the holder, task %q, is not named in the waited-on row %q and the waiter's row %q", holderID, lockRow, row)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#resources a.held-by").length`); n != 1 {
		t.Errorf("%d holder links in the waited-on table, want 1", n)
	}
	// Sorted by warnings, most first: the running holder comes last.
	names := eval[[]string](t, ctx, `[...document.querySelectorAll("#tasks tbody tr td:nth-child(2)")].map(td => td.innerText)`)
	if len(names) < 3 || names[len(names)-1] != "hold orders" {
		t.Errorf("tasks sorted by warnings: %q", names)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#tasks script, #tasks b").length`); n != 0 {
		t.Errorf("a task name became %d elements", n)
	}
	if mem := eval[string](t, ctx, `document.getElementById("memory").innerText`); !strings.Contains(mem, "in use") ||
		!strings.Contains(mem, "of 512 MiB (") || !strings.Contains(mem, "GOMEMLIMIT limit") ||
		!strings.Contains(mem, "live heap") || !strings.Contains(mem, "goroutines") {
		t.Errorf("memory line %q", mem)
	}

	// The reports panel: the inversion, with a link to the trace it was
	// made in, and the hang on the lock, naming the holder with a link to
	// its page.
	reportRow := func(kind string) string {
		return eval[string](t, ctx, `(() => { const r = [...document.querySelectorAll('#reports tr[data-kind="`+kind+`"]')].find(r => r.textContent.includes("orders") || r.textContent.includes("accounts")); return r ? r.innerText : ""; })()`)
	}
	if row := reportRow("lock-order"); !strings.Contains(row, `"accounts"`) || !strings.Contains(row, `"<b>ledger</b>"`) || !strings.Contains(row, "lock order inversion") {
		t.Errorf("lock-order report row %q", row)
	}
	if link := eval[string](t, ctx, `document.querySelector('#reports tr[data-kind="lock-order"] a.report-trace').href`); link != "http://localhost:16686/trace/"+root.SpanContext().TraceID().String() {
		t.Errorf("lock-order report's trace link %q", link)
	}
	if row := reportRow("hang"); !strings.Contains(row, `"orders"`) || !strings.Contains(row, "hold orders") {
		t.Errorf("hang report row %q", row)
	}
	holderHref := eval[string](t, ctx, `[...document.querySelectorAll('#reports tr[data-kind="hang"] a')].map(a => a.getAttribute("href")).join(" ")`)
	if !strings.Contains(holderHref, "?task="+strconv.FormatUint(holder.ID(), 10)) {
		t.Errorf("hang report's task links %q lack the holder's page", holderHref)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#reports b, #reports script").length`); n != 0 {
		t.Errorf("a report's lock name became %d elements", n)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 1000 {
		t.Fatalf("screenshot of %d bytes", len(png))
	}
	dst := filepath.Join(t.TempDir(), "console.png")
	if *updateConsoleScreenshot {
		dst = filepath.Join("..", "docs", "images", "console.png")
		os.MkdirAll(filepath.Dir(dst), 0o755)
	}
	if err := os.WriteFile(dst, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", dst)

	// The task page, reached by clicking the name.
	eval[bool](t, ctx, `(() => {
		[...document.querySelectorAll("#tasks a")].find(a => a.textContent === "update <order> 42").click();
		return true;
	})()`)
	if !testwait.For(time.Minute, func() bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && document.getElementById("stack") !== null`))
		return err == nil && ok
	}) {
		t.Fatal("the task page never showed a stack")
	}
	stack := eval[string](t, ctx, `document.getElementById("stack").innerText`)
	if !strings.Contains(stack, "(*Mutex).Lock") {
		t.Errorf("task page stack:\n%s", stack)
	}
	link := eval[string](t, ctx, `document.getElementById("trace-link").href`)
	if want := "http://localhost:16686/trace/" + root.SpanContext().TraceID().String(); link != want {
		t.Errorf("trace link %q, want %q", link, want)
	}

	// Two tasks a page, by ID: the next page follows on.
	if err := chromedp.Do(ctx, chromedp.Navigate(still+"?sort=id&limit=2")); err != nil {
		t.Fatal(err)
	}
	paging := eval[string](t, ctx, `document.getElementById("paging").innerText`)
	firstIDs := eval[[]string](t, ctx, `[...document.querySelectorAll("#tasks tbody tr")].map(r => r.cells[0].innerText)`)
	if !strings.HasPrefix(paging, "Showing 1–2 of ") || len(firstIDs) != 2 {
		t.Fatalf("first page: %q with rows %q", paging, firstIDs)
	}
	eval[bool](t, ctx, `(document.getElementById("next").click(), true)`)
	var nextIDs []string
	if !testwait.For(time.Minute, func() bool {
		p, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === "complete" && document.getElementById("paging") ? document.getElementById("paging").innerText : ""`))
		if err != nil || !strings.HasPrefix(p, "Showing 3–") {
			return false
		}
		nextIDs = eval[[]string](t, ctx, `[...document.querySelectorAll("#tasks tbody tr")].map(r => r.cells[0].innerText)`)
		return true
	}) {
		t.Fatal("the next page never came")
	}
	a, _ := strconv.Atoi(firstIDs[1])
	b, _ := strconv.Atoi(nextIDs[0])
	if len(nextIDs) == 0 || b <= a {
		t.Errorf("the next page's tasks %q do not follow the first's %q", nextIDs, firstIDs)
	}
	if prev := eval[string](t, ctx, `document.getElementById("previous").getAttribute("href")`); prev != "?limit=2&sort=id" {
		t.Errorf("previous page link %q", prev)
	}
}

// statusLog records the status of every response a handler gives, by the
// kind of request the browser said it made (Sec-Fetch-Dest, which browsers
// send only to https and loopback origins) and the host it was made for.
type statusLog struct {
	h  http.Handler
	mu sync.Mutex
	by map[string][]int // "host dest"
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

func (l *statusLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	l.h.ServeHTTP(sw, r)
	host, _, _ := net.SplitHostPort(r.Host)
	key := host + " " + r.Header.Get("Sec-Fetch-Dest")
	l.mu.Lock()
	l.by[key] = append(l.by[key], sw.code)
	l.mu.Unlock()
}

func (l *statusLog) codes(host, dest string) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.by[host+" "+dest])
}

// TestConsoleRefusesOtherSites loads, in headless Chromium, a page of
// another site that makes the browser call the console behind the user's
// back — an image, a frame, a fetch — and a name of another site resolved
// to this machine (DNS rebinding): the console refuses each with 403, while
// a link from that page to the console still opens it.
func TestConsoleRefusesOtherSites(t *testing.T) {
	ctx := browser.Start(t, 1000, 600, chromedp.Flag("host-resolver-rules", "MAP rebound.test 127.0.0.1"))
	log := &statusLog{h: console.Handler(console.WithoutRefresh()), by: map[string][]int{}}
	mux := http.NewServeMux()
	mux.Handle("/debug/tracekit/", log)
	consoleURL := serveOn(t, mux) + "/debug/tracekit/"
	release := make(chan struct{})
	task := tracekit.Go(context.Background(), "busy", func(context.Context) error { <-release; return nil })
	defer func() { close(release); _ = task.Wait() }()
	taskURL := consoleURL + "?task=" + strconv.FormatUint(task.ID(), 10)

	// The other site: localhost is not the same site as 127.0.0.1.
	other := http.NewServeMux()
	other.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><title>another site</title>
<img src="%[1]s">
<iframe src="%[2]s"></iframe>
<a id="link" href="%[2]s">the console</a>
<script>fetch(%[3]q, {mode: "no-cors"}).finally(() => { document.title = "fetched"; });</script>`, taskURL, consoleURL, consoleURL+"?format=json")
	})
	otherURL := strings.Replace(serveOn(t, other), "127.0.0.1", "localhost", 1)
	if err := chromedp.Do(ctx, chromedp.Navigate(otherURL+"/")); err != nil {
		t.Fatal(err)
	}
	if !testwait.For(time.Minute, func() bool {
		return len(log.codes("127.0.0.1", "image")) > 0 && len(log.codes("127.0.0.1", "iframe")) > 0 && len(log.codes("127.0.0.1", "empty")) > 0
	}) {
		t.Fatalf("the other site's requests never came: %v", log.by)
	}
	for _, dest := range []string{"image", "iframe", "empty"} {
		if codes := log.codes("127.0.0.1", dest); !slices.Equal(codes, []int{http.StatusForbidden}) {
			t.Errorf("the other site's %s request: %v, want 403", dest, codes)
		}
	}
	eval[bool](t, ctx, `(document.getElementById("link").click(), true)`)
	if !testwait.For(time.Minute, func() bool {
		title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === "complete" ? document.title : ""`))
		return err == nil && title == "tracekit console: tasks"
	}) || !slices.Equal(log.codes("127.0.0.1", "document"), []int{http.StatusOK}) {
		t.Errorf("following a link from the other site did not open the console: %v", log.by)
	}

	// The rebound name reaches the console, which refuses it.
	rebound := strings.Replace(consoleURL, "127.0.0.1", "rebound.test", 1)
	if err := chromedp.Do(ctx, chromedp.Navigate(rebound)); err != nil {
		t.Fatal(err)
	}
	body := eval[string](t, ctx, `document.body.innerText`)
	if !strings.Contains(body, `host "rebound.test:`) || !strings.Contains(body, "is not allowed") {
		t.Errorf("the console under a rebound name answered:\n%s", body)
	}
	if codes := log.codes("rebound.test", ""); !slices.Equal(codes, []int{http.StatusForbidden}) {
		t.Errorf("requests for rebound.test: %v, want one refused", codes)
	}
}

// serveOn serves h on a loopback port until the test ends and returns its
// base URL.
func serveOn(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
