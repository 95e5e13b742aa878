package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/tracekittest"
)

// With -debug, the live console and pprof are served on their own address
// while the service runs, and the service's workers show in the console.
func TestDebugEndpoints(t *testing.T) {
	defer tracekittest.VerifyNoLeaks(t)
	exportTo(t, "none")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelAfter{want: "never printed", cancel: func() {}}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-workers", "3", "-debug", "127.0.0.1:0", "-log", filepath.Join(t.TempDir(), "log")}, out)
	}()
	console := regexp.MustCompile(`debug: console (http://127\.0\.0\.1:\d+)/debug/tracekit/, profiles (http://127\.0\.0\.1:\d+)/debug/pprof/\n`)
	var base string
	if !testwait.For(time.Minute, func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		m := console.FindStringSubmatch(out.buf.String())
		if m != nil && strings.Contains(out.buf.String(), "listening on") {
			base = m[1]
		}
		return base != ""
	}) {
		t.Fatalf("no debug address printed:\n%s", out.buf.String())
	}

	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v\n%s", path, resp.StatusCode, err, body)
		}
		return string(body)
	}
	var page struct {
		Tasks []struct {
			Name string `json:"name"`
		} `json:"tasks"`
	}
	// The service starts its workers while it starts listening: wait until
	// the console lists all three.
	workers := 0
	testwait.For(time.Minute, func() bool {
		page.Tasks = nil
		if err := json.Unmarshal([]byte(get("/debug/tracekit/?format=json")), &page); err != nil {
			t.Fatal(err)
		}
		workers = 0
		for _, task := range page.Tasks {
			if strings.HasPrefix(task.Name, "order-worker") {
				workers++
			}
		}
		return workers >= 3
	})
	if workers != 3 {
		t.Errorf("console lists %d order workers, want 3: %+v", workers, page.Tasks)
	}
	if html := get("/debug/tracekit/"); !strings.Contains(html, "order-worker") {
		t.Errorf("console page does not list the workers:\n%.500s", html)
	}
	if dump := get("/debug/pprof/goroutine?debug=1"); !strings.Contains(dump, "(*server).work.func1") {
		t.Errorf("goroutine profile lacks the workers:\n%.500s", dump)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, out.buf.String())
	}
	if _, err := http.Get(base + "/debug/tracekit/"); err == nil {
		t.Error("the debug server still answers after the service stopped")
	}
}

func TestDebugBadAddress(t *testing.T) {
	exportTo(t, "none")
	err := run(context.Background(), []string{"-debug", "127.0.0.1:notaport"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-debug") {
		t.Errorf("run with a bad -debug address = %v, want an error naming -debug", err)
	}
}
