package inspect

import (
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/tasks"
)

// TaskState says whether a task is running or blocked in tracekit.
type TaskState string

const (
	// TaskRunning: the task is not blocked in a tracekit lock or channel
	// operation (it may still be blocked elsewhere; its stack tells).
	TaskRunning TaskState = "running"
	// TaskWaiting: the task waits for a tracekit lock or channel.
	TaskWaiting TaskState = "waiting"
)

// Task describes a task started by tracekit.Go or Group.Go, or a goroutine
// bound to a task by tracekit.Do or Bind, as [Tasks] saw it or as a
// [Report] names it.
type Task struct {
	ID     uint64 // process-unique, in start order (tracekit.Task.ID)
	Name   string
	Parent uint64 // the ID of the task whose context started it, 0 if none
	// SpawnFunction, SpawnFile and SpawnLine are where Go (or Group.Go)
	// was called.
	SpawnFunction string
	SpawnFile     string
	SpawnLine     int
	Start         time.Time
	TraceID       trace.TraceID // zero when the task is not traced
	SpanID        trace.SpanID
	// WaitingOn names what a waiting task is blocked on, e.g.
	// `lock "orders"` or `receive from "jobs"`; empty while it runs.
	WaitingOn    string
	WaitingSince time.Time
	// HeldBy is, for a task waiting on a tracekit lock, the ID of the task
	// holding it for writing; HeldByGoroutine the holder's goroutine ID
	// when it is not a tracked task. Both are 0 when no holder is recorded
	// (readers hold it, or it was taken while no detector ran).
	HeldBy          uint64
	HeldByGoroutine uint64
	// Goroutine is the runtime's ID of the task's goroutine and Stack its
	// stack, when known ([TasksWithStacks]).
	Goroutine uint64
	Stack     string
}

// State says whether the task waits on a tracekit lock or channel.
func (t *Task) State() TaskState {
	if t.WaitingOn != "" {
		return TaskWaiting
	}
	return TaskRunning
}

// SpawnSite returns "function (file:line)" of where the task was started,
// or "" when unknown.
func (t *Task) SpawnSite() string {
	if t.SpawnFunction == "" {
		return ""
	}
	return fmt.Sprintf("%s (%s:%d)", t.SpawnFunction, t.SpawnFile, t.SpawnLine)
}

// Tasks returns the running tasks, sorted by ID: listed from the moment a
// task's goroutine starts until just before its Wait returns (a bound
// task, for the length of its call). It reads no
// stacks, so it is cheap enough to poll.
func Tasks() []Task {
	return tasks.Collect(fromEntry)
}

// TasksWithStacks is [Tasks] with each task's Goroutine and Stack, read
// from a dump of every goroutine (which stops the world briefly and costs
// in proportion to the number of goroutines).
func TasksWithStacks() ([]Task, error) {
	es, err := tasks.SnapshotStacks()
	if err != nil {
		return nil, err
	}
	out := make([]Task, len(es))
	for i := range es {
		out[i] = fromEntry(es[i])
	}
	return out, nil
}

func fromEntry(e tasks.Entry) Task { return Task(e.Info) }
