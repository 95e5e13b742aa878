package tracekit

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/gostack"
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

	lock *lockMeta // the lock waited on, which tells locks that share a name apart
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

// setSite fills in the spawn site from the site's attributes.
func (ti *TaskInfo) setSite(site *callSite) {
	if site != nil && len(site.attrs) >= 4 {
		ti.SpawnFunction = site.attrs[1].Value.AsString()
		ti.SpawnFile = site.attrs[2].Value.AsString()
		ti.SpawnLine = int(site.attrs[3].Value.AsInt64())
	}
}

// taskWait is what a task blocks on; it is published whole through
// Task.wait and never modified.
type taskWait struct {
	what, name string // "lock", `"orders"`
	since      time.Time
	lock       *lockMeta // the lock waited on, for its holder; nil for channels
}

// beginWait marks the task running on this goroutine as waiting on what
// name (what is "lock", "read lock", "send on" or "receive from") and
// returns it, for endWait; it returns nil when no task runs here. Only the
// slow paths of locks and channels call it.
func beginWait(what, name string, lock *lockMeta) *Task {
	t := goroutineTask()
	if t != nil {
		t.beginWait(what, name, lock)
	}
	return t
}

// beginWait marks t waiting on what name from now on; lock is the lock it
// waits on, or nil.
func (t *Task) beginWait(what, name string, lock *lockMeta) {
	t.wait.Store(&taskWait{what: what, name: name, since: time.Now(), lock: lock})
}

// endWait marks t running again; t may be nil.
func (t *Task) endWait() {
	if t != nil {
		t.wait.Store(nil)
	}
}

// Snapshot returns the tasks started by [Go] and [Group.Go] that are
// running now, sorted by ID. A task is listed from the moment its goroutine
// starts until just before [Task.Wait] returns. It takes each registry shard's lock briefly
// and reads no stacks, so it is cheap enough to poll. Safe for concurrent
// use.
func Snapshot() []TaskInfo {
	ts := liveTaskList()
	slices.SortFunc(ts, func(a, b *Task) int { return cmp.Compare(a.id, b.id) })
	out := make([]TaskInfo, len(ts))
	var byGoid map[uint64]uint64 // goroutine ID → task ID, made when first needed
	for i, t := range ts {
		out[i] = t.info()
		if w := t.wait.Load(); w != nil && w.lock != nil {
			out[i].lock = w.lock
			h := loadHolder(w.lock)
			if h == 0 {
				continue
			}
			if byGoid == nil {
				byGoid = taskIDsByGoid()
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
	byTask := taskGoroutines(gs)
	infos := Snapshot()
	for i := range infos {
		if g, ok := byTask[infos[i].ID]; ok {
			infos[i].Goroutine = g.ID
			infos[i].Stack = stackText(g)
		}
	}
	return infos, nil
}

func (t *Task) info() TaskInfo {
	ti := TaskInfo{
		ID:      t.id,
		Name:    t.name,
		Parent:  t.parent,
		Start:   t.start,
		TraceID: t.sc.TraceID(),
		SpanID:  t.sc.SpanID(),
		State:   TaskRunning,
	}
	ti.setSite(t.site)
	if w := t.wait.Load(); w != nil {
		ti.State = TaskWaiting
		ti.WaitingOn = w.what + " " + strconv.Quote(w.name)
		ti.WaitingSince = w.since
	}
	return ti
}

// runFunc is the function every task goroutine runs; in a goroutine dump
// its first argument is the *Task, which ties the goroutine to the
// registry.
const runFunc = "github.com/tracekit-go/tracekit/tracekit.(*Task).run"

// taskGoroutines maps the IDs of running tasks to their goroutines in gs,
// by the receiver pointer the dump prints for (*Task).run.
func taskGoroutines(gs []gostack.Goroutine) map[uint64]*gostack.Goroutine {
	byAddr := map[uint64]*Task{}
	for _, t := range liveTaskList() {
		byAddr[uint64(uintptr(unsafe.Pointer(t)))] = t
	}
	out := map[uint64]*gostack.Goroutine{}
	for i := range gs {
		if t := taskOf(&gs[i], byAddr); t != nil {
			out[t.id] = &gs[i]
		}
	}
	return out
}

// taskOf returns the task whose run frame is in g's stack, or nil.
func taskOf(g *gostack.Goroutine, byAddr map[uint64]*Task) *Task {
	for _, f := range g.Frames {
		if f.Func != runFunc {
			continue
		}
		recv, _, _ := strings.Cut(f.Args, ",")
		addr, err := strconv.ParseUint(recv, 0, 64)
		if err != nil {
			return nil
		}
		return byAddr[addr]
	}
	return nil
}

func stackText(g *gostack.Goroutine) string {
	var b strings.Builder
	_ = gostack.WriteStack(&b, g)
	return b.String()
}
