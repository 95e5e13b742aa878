package e2e

import (
	"context"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

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
// lock naming its holder), and the task page with its stack and trace link.
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
	// The rest is read from the page that does not reload.
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+ln.Addr().String()+"/still/debug/tracekit/?sort=warnings&desc=1")); err != nil {
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
}
