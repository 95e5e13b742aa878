package detect

import (
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// RecentKept is how many of its latest reports a detector keeps for the
// console.
const RecentKept = 50

// recentTasks bounds the tasks a kept report names.
const recentTasks = 8

// reportRing keeps the last RecentKept reports a detector made,
// trimmed to what the console shows (no stacks, no goroutine dump), so the
// ring stays small. The zero value is ready; it is safe for concurrent use.
type reportRing struct {
	mu    sync.Mutex
	total int // reports ever added
	ring  [RecentKept]Kept
}

// Kept is a report as the ring of recent reports keeps it.
type Kept struct {
	Time      time.Time
	Kind      inspect.Kind
	Message   string
	Lock      string
	Channel   string
	Other     string
	SpawnSite string
	Tasks     []KeptTask
	MoreTasks int // tasks of the report left out of Tasks
	Span      trace.SpanContext
	TraceFile string
}

// KeptTask is a task a kept report names.
type KeptTask struct {
	ID   uint64
	Name string
}

func (q *reportRing) add(r *inspect.Report) {
	k := Kept{
		Time: r.Time, Kind: r.Kind, Message: r.Message, Lock: r.Lock, Channel: r.Channel, Other: r.Other,
		SpawnSite: r.SpawnSite, Span: r.SpanContext, TraceFile: r.TraceFile,
	}
	n := min(len(r.Tasks), recentTasks)
	k.Tasks = make([]KeptTask, n)
	for i := range n {
		k.Tasks[i] = KeptTask{r.Tasks[i].ID, r.Tasks[i].Name}
	}
	k.MoreTasks = len(r.Tasks) - n
	q.mu.Lock()
	q.ring[q.total%RecentKept] = k
	q.total++
	q.mu.Unlock()
}

// list returns the kept reports, newest first, and how many were ever
// added.
func (q *reportRing) list() ([]Kept, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(q.total, RecentKept)
	out := make([]Kept, n)
	for i := range n {
		out[i] = q.ring[(q.total-1-i)%RecentKept]
	}
	return out, q.total
}

// Recent returns the last reports the detector made, newest first, and
// how many it made in all.
func (d *Detector) Recent() ([]Kept, int) { return d.recent.list() }
