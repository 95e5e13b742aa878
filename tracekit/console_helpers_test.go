package tracekit

import ()

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
