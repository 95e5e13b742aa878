package tracekit

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// recentEnded keeps the last tasks to end with what the console's page for
// an ended task shows: name, spawn site, when it ran, its result and its
// span. It is sharded by task ID, each shard a ring written under its lock
// as the task ends, and holds endedShards*recentPerShard tasks (116 KiB);
// the lineage ring (leak_lineage.go) remembers many more tasks, with
// IDs only.
var recentEnded [endedShards]struct {
	mu   sync.Mutex
	next int
	ring [recentPerShard]endedInfo
	_    [40]byte
}

const recentPerShard = 32

// endedInfo is a task that has ended, as recentEnded keeps it. A failed
// task's error is kept as text (formatted as it ends, which only failed
// tasks pay for), so that the ring holds on to nothing the error refers to.
type endedInfo struct {
	info   TaskInfo  // without spawn site, state, wait or goroutine
	site   *callSite // the spawn site, filled into info when read
	dur    time.Duration
	result string // "ok", "error", "panic" or "goexit"
	text   string // the error or panic value, at most maxResultText bytes
}

// maxResultText bounds the error text an ended task's record keeps.
const maxResultText = 1 << 10

// recordRecent remembers t, which has just ended with t.err.
func recordRecent(t *Task) {
	e := endedInfo{info: TaskInfo{ID: t.id, Name: t.name, Parent: t.parent, Start: t.start,
		TraceID: t.sc.TraceID(), SpanID: t.sc.SpanID()}, site: t.site, dur: time.Since(t.start)}
	e.result, e.text = taskResult(t.err)
	if len(e.text) > maxResultText {
		e.text = strings.ToValidUTF8(e.text[:maxResultText], "") + "…"
	}
	sh := &recentEnded[t.id%endedShards]
	sh.mu.Lock()
	sh.ring[sh.next] = e
	sh.next = (sh.next + 1) % recentPerShard
	sh.mu.Unlock()
}

// taskResult says how a task ended: "ok", "error", "panic" or "goexit",
// with the error's text or the panic's value.
func taskResult(err error) (result, text string) {
	if err == nil {
		return "ok", "" // what nearly every task pays: no allocation
	}
	var pe *PanicError
	switch {
	case errors.As(err, &pe):
		return "panic", fmt.Sprint(pe.Value)
	case errors.Is(err, ErrGoexit):
		return "goexit", err.Error()
	}
	return "error", err.Error()
}

// findRecent returns the kept record of the ended task with ID id.
func findRecent(id uint64) (endedInfo, bool) {
	sh := &recentEnded[id%endedShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, e := range sh.ring {
		if e.info.ID == id {
			e.info.setSite(e.site)
			return e, true
		}
	}
	return endedInfo{}, false
}
