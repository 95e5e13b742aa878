package tracekit

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/gostack"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

// TaskState says whether a task is running or blocked in tracekit.
type TaskState string

const (
	// TaskRunning: the task is not blocked in a tracekit lock or channel
	// operation (it may still be blocked elsewhere; its stack tells).
	TaskRunning TaskState = "running"
	// TaskWaiting: the task is waiting for a tracekit lock or channel;
	// [TaskInfo.WaitingOn] says which and [TaskInfo.WaitingSince] since when.
	TaskWaiting TaskState = "waiting"
)

// TaskInfo describes one running task started by [Go] or [Group.Go], as
// [Snapshot] saw it.
type TaskInfo struct {
	ID     uint64 // [Task.ID]: process-unique, in start order
	Name   string // the name the task was started with
	Parent uint64 // the ID of the task whose context started it, 0 if none
	// SpawnFunction, SpawnFile and SpawnLine are where Go (or Group.Go)
	// was called.
	SpawnFunction string
	SpawnFile     string
	SpawnLine     int
	Start         time.Time
	TraceID       trace.TraceID // zero when the task is not traced
	SpanID        trace.SpanID
	State         TaskState
	// WaitingOn names what a waiting task is blocked on, e.g.
	// `lock "orders"` or `receive from "jobs"`; empty while running.
	WaitingOn    string
	WaitingSince time.Time
	// HeldBy is, for a task waiting on a tracekit lock, the ID of the task
	// holding the lock for writing; HeldByGoroutine is the holder's
	// goroutine ID when it is not a tracked task. Both are 0 when the lock
	// recorded no holder (readers hold it, or it was taken while no Kit
	// ran; see [WithHangTimeout]).
	HeldBy          uint64
	HeldByGoroutine uint64

	lock tasks.Lock // the lock waited on, which tells locks that share a name apart
	// Goroutine is the runtime's ID of the task's goroutine and Stack its
	// stack; both are filled in only by [SnapshotStacks].
	Goroutine uint64
	Stack     string
}

// SpawnSite returns "function (file:line)" of where the task was started,
// or "" when unknown.
func (ti *TaskInfo) SpawnSite() string {
	if ti.SpawnFunction == "" {
		return ""
	}
	return fmt.Sprintf("%s (%s:%d)", ti.SpawnFunction, ti.SpawnFile, ti.SpawnLine)
}

// Snapshot returns the tasks started by [Go] and [Group.Go] that are
// running now, sorted by ID. A task is listed from the moment its goroutine
// starts until just before [Task.Wait] returns. It takes each registry shard's lock briefly
// and reads no stacks, so it is cheap enough to poll. Safe for concurrent
// use.
func Snapshot() []TaskInfo {
	ts := tasks.Append(nil)
	slices.SortFunc(ts, func(a, b *tasks.Record) int { return cmp.Compare(a.ID, b.ID) })
	out := make([]TaskInfo, len(ts))
	var byGoid map[uint64]uint64 // goroutine ID → task ID, made when first needed
	for i, r := range ts {
		out[i] = infoOf(r)
		if w := r.Waiting(); w != nil && w.Lock != nil {
			out[i].lock = w.Lock
			h := w.Lock.Holder()
			if h == 0 {
				continue
			}
			if byGoid == nil {
				byGoid = tasks.IDsByGoid()
			}
			if id, ok := byGoid[h]; ok {
				out[i].HeldBy = id
			} else {
				out[i].HeldByGoroutine = h
			}
		}
	}
	return out
}

// SnapshotStacks is [Snapshot] with each task's goroutine ID and stack,
// read from a dump of every goroutine (which stops the world briefly and
// costs in proportion to the number of goroutines).
func SnapshotStacks() ([]TaskInfo, error) {
	gs, err := gostack.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("tracekit: read goroutines: %w", err)
	}
	byTask := tasks.Goroutines(gs)
	infos := Snapshot()
	for i := range infos {
		if g, ok := byTask[infos[i].ID]; ok {
			infos[i].Goroutine = g.ID
			infos[i].Stack = tasks.StackText(g)
		}
	}
	return infos, nil
}

// infoOf describes r.
func infoOf(r *tasks.Record) TaskInfo {
	i := r.Info()
	ti := TaskInfo{ID: i.ID, Name: i.Name, Parent: i.Parent, SpawnFunction: i.SpawnFunction, SpawnFile: i.SpawnFile,
		SpawnLine: i.SpawnLine, Start: i.Start, TraceID: i.TraceID, SpanID: i.SpanID, State: TaskRunning,
		WaitingOn: i.WaitingOn, WaitingSince: i.WaitingSince}
	if ti.WaitingOn != "" {
		ti.State = TaskWaiting
	}
	return ti
}
