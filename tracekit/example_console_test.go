package tracekit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tracekit-go/tracekit/tracekit"
)

// Snapshot lists the tasks running now: here one waiting for a signal.
func ExampleSnapshot() {
	release := make(chan struct{})
	task := tracekit.Go(context.Background(), "wait for release", func(context.Context) error {
		<-release
		return nil
	})
	// A task is listed once its goroutine has started.
	for {
		listed := false
		for _, ti := range tracekit.Snapshot() {
			if ti.ID == task.ID() {
				fmt.Printf("%s: %s, started by %s\n", ti.Name, ti.State, ti.SpawnFunction)
				listed = true
			}
		}
		if listed {
			break
		}
	}
	close(release)
	_ = task.Wait()
	// Output:
	// wait for release: running, started by github.com/tracekit-go/tracekit/tracekit_test.ExampleSnapshot
}

// Handler serves the console; ?format=json gives its data to programs.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("/debug/tracekit/", tracekit.Handler(
		tracekit.WithTraceURL("http://localhost:16686/trace/{trace_id}"), // Jaeger's trace page
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

// While a Kit runs, the console lists its detectors' latest reports, newest
// first: here a lock-order inversion, read back as JSON.
func ExampleHandler_reports() {
	kit, err := tracekit.Start(context.Background(),
		tracekit.WithTracesExporter(tracekit.ExporterNone),
		tracekit.WithMetricsExporter(tracekit.ExporterNone),
		tracekit.WithDeadlockDetection(true), // lock-order reports (default off; TRACEKIT_DEADLOCK=1)
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer kit.Shutdown(context.Background())
	srv := httptest.NewServer(tracekit.Handler())
	defer srv.Close()

	var accounts, ledger tracekit.Mutex
	accounts.SetName("accounts")
	ledger.SetName("ledger")
	accounts.Lock()
	ledger.Lock()
	ledger.Unlock()
	accounts.Unlock()
	ledger.Lock()
	accounts.Lock() // the other order: reported
	accounts.Unlock()
	ledger.Unlock()

	resp, err := http.Get(srv.URL + "?format=json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var page struct {
		Reports []struct {
			Kind      string `json:"kind"`
			Lock      string `json:"lock"`
			OtherLock string `json:"other_lock"`
		} `json:"reports"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range page.Reports {
		fmt.Println(r.Kind, r.Lock, r.OtherLock)
	}
	// Output: lock-order accounts ledger
}
