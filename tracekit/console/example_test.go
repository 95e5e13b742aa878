package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/console"
	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

// Handler serves the console; ?format=json gives its data to programs.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("/debug/tracekit/", console.Handler(
		console.WithTraceURL("http://localhost:16686/trace/{trace_id}"), // Jaeger's trace page
	))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	release := make(chan struct{})
	task := tracekit.Go(context.Background(), "serve <orders>", func(context.Context) error {
		<-release
		return nil
	})
	defer func() { close(release); _ = task.Wait() }()
	for {
		var page struct {
			Tasks []struct {
				ID    uint64 `json:"id"`
				Name  string `json:"name"`
				State string `json:"state"`
			} `json:"tasks"`
		}
		resp, err := http.Get(srv.URL + "/debug/tracekit/?format=json")
		if err != nil {
			fmt.Println(err)
			return
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, t := range page.Tasks {
			if t.ID == task.ID() {
				fmt.Println(t.Name, t.State)
				return
			}
		}
	}
	// Output:
	// serve <orders> running
}

// While the SDK runs, the console lists its detectors' latest reports, newest
// first: here the orphan lint's report on a task left running after the
// request that started it returned, read back as JSON.
func ExampleHandler_reports() {
	kit, err := sdk.Start(context.Background(),
		sdk.WithTracesExporter(sdk.ExporterNone),
		sdk.WithMetricsExporter(sdk.ExporterNone),
		sdk.WithLintInterval(10*time.Millisecond), // sweep often (default 1s)
		sdk.WithOrphanGrace(50*time.Millisecond),  // default 30s
		sdk.WithoutMemoryWatch(),                  // only the lint reports here
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { // bounded: an exporter that hangs must not hold the exit
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = kit.Shutdown(ctx)
	}()
	srv := httptest.NewServer(console.Handler())
	defer srv.Close()

	done := make(chan struct{})
	refreshc := make(chan *tracekit.Task, 1)
	request := tracekit.Go(context.Background(), "handle request", func(ctx context.Context) error {
		refreshc <- tracekit.Go(ctx, "refresh cache", func(context.Context) error {
			<-done
			return nil
		})
		return nil // returns without waiting for the refresh
	})
	_ = request.Wait()
	refresh := <-refreshc
	defer func() { close(done); _ = refresh.Wait() }()

	for {
		var page struct {
			Reports []struct {
				Kind  string `json:"kind"`
				Tasks []struct {
					ID   uint64 `json:"id"`
					Name string `json:"name"`
					Live bool   `json:"live"`
				} `json:"tasks"`
			} `json:"reports"`
		}
		resp, err := http.Get(srv.URL + "?format=json")
		if err != nil {
			fmt.Println(err)
			return
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			fmt.Println(err)
			return
		}
		if len(page.Reports) > 0 {
			r := page.Reports[0]
			fmt.Println(r.Kind, r.Tasks[0].Name, r.Tasks[0].ID == refresh.ID(), r.Tasks[0].Live)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output: orphan-task refresh cache true true
}

// The console answers requests for IP literals and localhost; behind a name
// of its own, allow the name. A request for any other host is refused, so
// that a page whose name an attacker points at this machine cannot read it.
func ExampleWithAllowedHosts() {
	h := console.Handler(console.WithAllowedHosts("ops.example.internal"))
	for _, host := range []string{"127.0.0.1:6060", "ops.example.internal:6060", "attacker.example:6060"} {
		req := httptest.NewRequest(http.MethodGet, "/?format=json", nil)
		req.Host = host
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		fmt.Println(host, rr.Code)
	}
	// Output:
	// 127.0.0.1:6060 200
	// ops.example.internal:6060 200
	// attacker.example:6060 403
}

// Over a program's thousands of tasks, the list comes a page at a time,
// the most interesting first; the JSON says how many there are.
func ExampleHandler_paging() {
	srv := httptest.NewServer(console.Handler())
	defer srv.Close()
	release := make(chan struct{})
	var ts []*tracekit.Task
	for range 5 {
		ts = append(ts, tracekit.Go(context.Background(), "worker", func(context.Context) error { <-release; return nil }))
	}
	defer func() {
		close(release)
		for _, t := range ts {
			_ = t.Wait()
		}
	}()
	var page struct {
		Total  int `json:"total"`
		Offset int `json:"offset"`
		Limit  int `json:"limit"`
		Tasks  []struct {
			Name string `json:"name"`
		} `json:"tasks"`
	}
	for page.Total < len(ts) { // until all five have started
		if err := getJSON(srv.URL+"?format=json&sort=id&limit=2&offset=2", &page); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(page.Total, "tasks; from", page.Offset, "at most", page.Limit, "of them:", len(page.Tasks))
	// Output: 5 tasks; from 2 at most 2 of them: 2
}

// getJSON decodes the JSON at url into v.
func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
