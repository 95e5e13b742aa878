package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/testwait"
)

// guideProgram returns a Go file of the troubleshooting guide: the code
// block inside the <details> element summarised "NAME.go (summary)".
func guideProgram(t *testing.T, summary string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<details><summary>\\w+\\.go \\(" + regexp.QuoteMeta(summary) + "\\)</summary>\n+```go\n(.*?)\n```").FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/troubleshooting.md: no Go file (%s) in a <details> element", summary)
	}
	return string(m[1]) + "\n"
}

// buildGuideProgram builds src as the main package of a module that
// requires this repository's tracekit, and returns the binary.
func buildGuideProgram(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module guide\n\ngo 1.26\n\nrequire github.com/tracekit-go/tracekit v0.0.0\n\nreplace github.com/tracekit-go/tracekit => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"main.go": []byte(src), "go.mod": []byte(gomod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "prog")
	build := exec.Command("go", "build", "-mod=mod", "-o", bin, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the guide's program: %v\n%s", err, out)
	}
	return bin
}

// TestGuideHangingTest runs the guide's checkout_test.go as printed and
// checks that it fails the way the guide shows: within its timeout, naming
// the refresh task and what it waits on, with the goroutine dump.
func TestGuideHangingTest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on the guide's test")
	}
	src := guideProgram(t, "the same bug in a test")
	dir := t.TempDir()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module checkout\n\ngo 1.26\n\nrequire github.com/tracekit-go/tracekit v0.0.0\n\nreplace github.com/tracekit-go/tracekit => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"checkout_test.go": []byte(src), "go.mod": []byte(gomod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-mod=mod", "-count=1", ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the guide's hanging test passed:\n%s", out)
	}
	// It fails at its 2s timeout, not later (a loaded machine adds a little).
	if m := regexp.MustCompile(`--- FAIL: TestCheckout \((\d+\.\d+)s\)`).FindSubmatch(out); m == nil {
		t.Errorf("go test output lacks TestCheckout's failure:\n%s", out)
	} else if d, _ := time.ParseDuration(string(m[1]) + "s"); d < 2*time.Second || d > 2*time.Second+testwait.Scale(20*time.Second) {
		t.Errorf("TestCheckout failed after %v, want its 2s timeout", d)
	}
	for _, want := range []string{
		"tracekittest: the test did not finish within 2s; tracked tasks still running:",
		`"refresh-prices": waiting on receive from "checkout.(*cache).refreshLoop"`,
		"goroutines at that moment, grouped by stack:",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("go test output lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`checkout\.\(\*cache\)\.refreshLoop\n\s+\S*/checkout_test\.go:22\n`).Match(out) {
		t.Errorf("the goroutine dump lacks refreshLoop at checkout_test.go:22:\n%s", out)
	}
}

// TestGuideReportPrograms runs the guide's leaking service and its service
// that never lets go of memory, with the environment the guide gives, and
// checks each makes the report the guide shows.
func TestGuideReportPrograms(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs programs")
	}
	for _, c := range []struct {
		summary string
		env     []string
		want    []string
	}{
		{"a service leaking fetch-price tasks",
			[]string{"TRACEKIT_LINT_GROWTH_INTERVAL=250ms", "TRACEKIT_LINT_INTERVAL=250ms"},
			[]string{"WARN tracekit: live tasks started at main.fetch (", "a leak in progress? kind=spawn-growth"}},
		{"a service that never lets go",
			[]string{"GOMEMLIMIT=64MiB", "TRACEKIT_MEMORY_INTERVAL=100ms"},
			[]string{"of the GOMEMLIMIT 64.0 MiB (warns at 80%) kind=memory", "live heap after GC rose in 10 consecutive samples"}},
	} {
		t.Run(c.summary, func(t *testing.T) {
			bin := buildGuideProgram(t, guideProgram(t, c.summary))
			ctx, cancel := context.WithTimeout(context.Background(), testwait.Scale(3*time.Minute))
			defer cancel()
			cmd := exec.CommandContext(ctx, bin)
			cmd.Env = append(append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none"), c.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestGuideStuckRequest builds and runs the troubleshooting guide's stuck
// service exactly as printed (only its port changed to a free one) and checks
// what the guide says it shows with the defaults: a request that hangs, a
// hang report for the lock with a flight-recorder file, naming the refresh
// task as the holder and showing where it is now, and the console listing
// the request's task waiting on the lock the refresh task holds, both
// marked past the hang timeout.
func TestGuideStuckRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	src := guideProgram(t, "the stuck service")
	if !strings.Contains(src, `"127.0.0.1:6060"`) {
		t.Fatal("the guide's program no longer listens on 127.0.0.1:6060, which its commands use")
	}
	port := freePort(t)
	src = strings.Replace(src, `"127.0.0.1:6060"`, `"127.0.0.1:`+port+`"`, 1)

	bin := buildGuideProgram(t, src)

	ctx, cancel := context.WithTimeout(context.Background(), testwait.Scale(3*time.Minute))
	defer cancel()
	tmp := t.TempDir() // the flight recorder writes to os.TempDir()
	var stderr syncBuffer
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "TRACEKIT_HANG_TIMEOUT=1s", "TMPDIR="+tmp)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("program's standard error:\n%s", stderr.String())
		}
	})
	base := "http://127.0.0.1:" + port
	waitHTTP(t, ctx, base+"/debug/tracekit/?format=json")

	// The request hangs: the client gives up, it never gets an answer.
	answered := make(chan error, 1)
	go func() {
		client := &http.Client{Timeout: 8 * time.Second}
		resp, err := client.Post(base+"/checkout", "text/plain", nil)
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()

	type task struct {
		ID        uint64   `json:"id"`
		HeldBy    uint64   `json:"held_by"`
		Name      string   `json:"name"`
		State     string   `json:"state"`
		WaitingOn string   `json:"waiting_on"`
		Warnings  []string `json:"warnings"`
	}
	type resource struct {
		WaitingOn string   `json:"waiting_on"`
		Waiters   []uint64 `json:"waiters"`
		HeldBy    uint64   `json:"held_by"`
	}
	var tasks []task
	deadline := time.Now().Add(testwait.Scale(time.Minute))
	for {
		var page struct {
			Tasks    []task     `json:"tasks"`
			WaitedOn []resource `json:"waited_on"`
		}
		if err := json.Unmarshal([]byte(get(t, ctx, base+"/debug/tracekit/?format=json")), &page); err != nil {
			t.Fatal(err)
		}
		tasks = page.Tasks
		var refresh, fetch, resourced bool
		var refreshID, fetchID uint64
		for _, tk := range tasks {
			switch tk.Name {
			case "refresh-prices":
				refreshID = tk.ID
			case "fetch-price":
				fetchID = tk.ID
			}
		}
		for _, r := range page.WaitedOn {
			resourced = resourced || r.WaitingOn == `lock "price-cache"` && r.HeldBy == refreshID && len(r.Waiters) == 1 && r.Waiters[0] == fetchID
		}
		for _, tk := range tasks {
			warnings := strings.Join(tk.Warnings, "\n")
			refresh = refresh || tk.Name == "refresh-prices" && tk.State == "waiting" && strings.HasPrefix(tk.WaitingOn, "receive from") &&
				strings.Contains(warnings, `holds lock "price-cache"`)
			fetch = fetch || tk.Name == "fetch-price" && tk.WaitingOn == `lock "price-cache"` && tk.HeldBy == refreshID && refreshID != 0 &&
				strings.Contains(warnings, `on lock "price-cache", past the hang timeout 1s, held by task`)
		}
		out := stderr.String()
		if refresh && fetch && resourced && strings.Contains(out, `lock "price-cache" has waited`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console never showed both waits and the lock with its holder and waiter, or no hang report for the lock: %+v", tasks)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case err := <-answered:
		// A client that gave up waiting got no answer either.
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Fatalf("the stuck request answered: %v", err)
		}
	default:
	}

	out := stderr.String()
	for _, want := range []string{"kind=hang lock=price-cache", "tracekit hang: lock \"price-cache\" has waited", "waiter (lock price-cache):", "main.main.func2.1",
		`held by task 1 "refresh-prices" (goroutine `, `goroutine `, ` is now at:`} {
		if !strings.Contains(out, want) {
			t.Errorf("standard error lacks %q", want)
		}
	}
	m := regexp.MustCompile(`execution trace: (\S+)`).FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		t.Fatal("no flight-recorder file named")
	}
	for _, f := range m {
		// Written in the background: at once, or when the cool-down after
		// the previous snapshot ends (10s).
		var st os.FileInfo
		var err error
		testwait.For(time.Minute, func() bool { st, err = os.Stat(f[1]); return err == nil })
		if err != nil || st.Size() == 0 || filepath.Dir(f[1]) != tmp {
			t.Errorf("flight-recorder file %s: %v (want a non-empty file in TMPDIR)", f[1], err)
		}
	}
	if g := get(t, ctx, base+"/debug/pprof/goroutine?debug=2"); !strings.Contains(g, "main.(*cache).refreshLoop") {
		t.Errorf("goroutine dump lacks the refresh goroutine:\n%.2000s", g)
	}
}
