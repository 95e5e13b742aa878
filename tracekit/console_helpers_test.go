package tracekit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The console's JSON, as far as the registry's tests read it.
type consolePage struct {
	Tasks    []consoleTask     `json:"tasks"`
	WaitedOn []consoleResource `json:"waited_on"`
}

type consoleTask struct {
	ID              uint64   `json:"id"`
	Name            string   `json:"name"`
	State           string   `json:"state"`
	WaitingOn       string   `json:"waiting_on"`
	HeldBy          uint64   `json:"held_by"`
	HeldByGoroutine uint64   `json:"held_by_goroutine"`
	Warnings        []string `json:"warnings"`
	Stack           string   `json:"stack"`
}

type consoleResource struct {
	WaitingOn       string   `json:"waiting_on"`
	Waiters         []uint64 `json:"waiters"`
	LongestSeconds  float64  `json:"longest_wait_seconds"`
	HeldBy          uint64   `json:"held_by"`
	HeldByGoroutine uint64   `json:"held_by_goroutine"`
}

func get(t *testing.T, h http.Handler, target string) (int, string) {
	t.Helper()
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, target, nil))
	body, _ := io.ReadAll(rr.Result().Body)
	return rr.Code, string(body)
}

func getJSON(t *testing.T, h http.Handler, target string, v any) {
	t.Helper()
	code, body := get(t, h, target)
	if code != http.StatusOK {
		t.Fatalf("%s: status %d: %s", target, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%s: %v\n%s", target, err, body)
	}
}
