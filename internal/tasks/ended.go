package tasks

import (
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/goid"
)

// ended is the one record of ended tasks: what the console's page of an
// ended task shows (name, spawn site, when it ran, its result, its span)
// and what the leak checks' lineage follows (the goroutine the task ran on,
// the goroutine its chain began in, its parent), for the last
// EndedShards*endedPerShard tasks to end (about 1 MiB). It is sharded by
// task ID, each shard a ring written under its lock as the task ends, so
// recording costs one uncontended lock in the ending task's goroutine.
var ended [EndedShards]struct {
	mu   sync.Mutex
	next int
	ring [endedPerShard]Ended
	_    [40]byte
}

const (
	// EndedShards and endedPerShard size the ring: EndedShards*endedPerShard
	// tasks are kept.
	EndedShards   = 16
	endedPerShard = 512
	// EndedKept is how many ended tasks the ring keeps.
	EndedKept = EndedShards * endedPerShard
)

// Ended is a task that has ended, as the ring keeps it. A failed task's
// error is kept as text (formatted as it ends, which only failed tasks
// pay for), so that the ring holds on to nothing the error refers to.
type Ended struct {
	Task, Parent uint64
	// Goroutine is the ID of the goroutine the task ran on and Origin the
	// goroutine its chain of tasks began in; both are 0 where goroutine
	// IDs are not read cheaply (then the lineage does not use the record).
	// Goroutine is 0 too for a bound task, whose goroutine lives on.
	Goroutine, Origin uint64
	Name              string
	Site              *Site
	start             int64 // unix nanoseconds
	Duration          time.Duration
	Result            string // "ok", "error", "panic" or "goexit"
	Text              string // the error or panic value, at most maxResultText bytes
	TraceID           trace.TraceID
	SpanID            trace.SpanID
}

// Start is when the task started.
func (e *Ended) Start() time.Time { return time.Unix(0, e.start) }

// maxResultText bounds the error text an ended task's record keeps.
const maxResultText = 1 << 10

// End records that r's function has ended with result ("ok", "error",
// "panic" or "goexit") and text (the error or panic value); it runs on r's
// goroutine, which ends with it.
func (r *Record) End(result, text string) { r.end(result, text, true) }

// EndCall is End for a task bound to a goroutine for the length of a call
// (BindOver): the goroutine lives on, and the record does not name it.
func (r *Record) EndCall(result, text string) { r.end(result, text, false) }

func (r *Record) end(result, text string, goroutineEnds bool) {
	e := Ended{Task: r.ID, Parent: r.Parent, Origin: r.Origin, Name: r.Name, Site: r.Site,
		start: r.Start.UnixNano(), Duration: time.Since(r.Start), Result: result,
		TraceID: r.SC.TraceID(), SpanID: r.SC.SpanID()}
	if r.Origin != 0 && goroutineEnds { // goroutine IDs are cheap here
		e.Goroutine = goid.ID()
	}
	if len(text) > maxResultText {
		text = strings.ToValidUTF8(text[:maxResultText], "") + "…"
	}
	e.Text = text
	sh := &ended[r.ID%EndedShards]
	sh.mu.Lock()
	sh.ring[sh.next] = e
	sh.next = (sh.next + 1) % endedPerShard
	sh.mu.Unlock()
}

// FindEnded returns the kept record of the ended task with ID id.
func FindEnded(id uint64) (Ended, bool) {
	sh := &ended[id%EndedShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, e := range sh.ring {
		if e.Task == id && e.Task != 0 {
			return e, true
		}
	}
	return Ended{}, false
}

// EndedByGoroutine returns goroutine ID → record for the ended tasks still
// in the ring whose goroutine is known.
func EndedByGoroutine() map[uint64]Ended {
	out := map[uint64]Ended{}
	for i := range ended {
		sh := &ended[i]
		sh.mu.Lock()
		for _, e := range sh.ring {
			if e.Goroutine != 0 {
				out[e.Goroutine] = e
			}
		}
		sh.mu.Unlock()
	}
	return out
}
