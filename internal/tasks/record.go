package tasks

import (
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Record is a task as the registry keeps it. tracekit's Task holds it as
// its first field, so that the receiver a goroutine dump prints for
// (*Task).run or (*Task).call is the record's address. All fields but the
// wait are set before the task is bound to its goroutine and never change.
type Record struct {
	ID     uint64 // process-unique, in start order
	Name   string
	Parent uint64 // the ID of the task whose context started this one, or 0
	// Origin is the goroutine ID the task's chain of tasks began in: its
	// parent's Origin, or the goroutine that started it. It stays 0 where
	// reading a goroutine ID takes a stack trace.
	Origin uint64
	Site   *Site // where it was started
	Start  time.Time
	Span   trace.Span
	SC     trace.SpanContext

	wait atomic.Pointer[Wait] // what the task is blocked on, nil while it runs
	// prev is the task the goroutine ran before r was bound over it
	// (BindOver), put back by Unbind; written under r's shard lock before
	// r is published, read under it.
	prev *Record
}

// Wait is what a task blocks on; it is published whole and never modified,
// but for Covered.
type Wait struct {
	What  string // "lock", "read lock", "send on" or "receive from"
	Name  string // the lock's or channel's name
	Since time.Time
	Lock  Lock // the lock waited on, nil for a channel
	// Chan is the address of the channel waited on, 0 for a lock: only
	// compared, never dereferenced.
	Chan uintptr
	// Queued says a write-lock wait is in sync.RWMutex's own queue (a
	// plain Lock), where it holds back new readers.
	Queued bool
	// Stack is where the wait began, when the detector recorded it.
	Stack []uintptr
	// Covered is set once a deadlock report has named this wait, so that
	// its own hang report is not made too.
	Covered atomic.Bool
}

// Lock is a lock tasks wait on, as far as the registry needs it: its
// identity (the interface value) and its write holder.
type Lock interface {
	// Holder returns the goroutine ID of the lock's write holder, or 0
	// when none is recorded.
	Holder() uint64
}

// BeginWait marks the task running on this goroutine as waiting and
// returns it, for EndWait; it returns nil when no task runs here. Only the
// slow paths of locks and channels call it.
func BeginWait(what, name string, lock Lock) *Record {
	r := Current()
	if r != nil {
		r.BeginWait(what, name, lock)
	}
	return r
}

// BeginWait marks r waiting on what name from now on; lock is the lock it
// waits on, or nil.
func (r *Record) BeginWait(what, name string, lock Lock) {
	r.wait.Store(&Wait{What: what, Name: name, Since: time.Now(), Lock: lock})
}

// StartWait publishes w as what r waits on from now on; w must not be
// modified afterwards (Covered aside).
func (r *Record) StartWait(w *Wait) { r.wait.Store(w) }

// EndWait marks r running again; r may be nil.
func (r *Record) EndWait() {
	if r != nil {
		r.wait.Store(nil)
	}
}

// Waiting returns what r waits on, or nil while it runs.
func (r *Record) Waiting() *Wait { return r.wait.Load() }

// Info describes a task; its fields are those of inspect.Task, which is
// converted from it.
type Info struct {
	ID              uint64
	Name            string
	Parent          uint64
	SpawnFunction   string
	SpawnFile       string
	SpawnLine       int
	Start           time.Time
	TraceID         trace.TraceID
	SpanID          trace.SpanID
	WaitingOn       string
	WaitingSince    time.Time
	HeldBy          uint64
	HeldByGoroutine uint64
	Goroutine       uint64
	Stack           string
}

// Info describes r as it is now, without the holder of what it waits on
// and without its goroutine.
func (r *Record) Info() Info { return r.info(r.wait.Load()) }

func (r *Record) info(w *Wait) Info {
	ti := Info{
		ID:            r.ID,
		Name:          r.Name,
		Parent:        r.Parent,
		SpawnFunction: r.Site.Function(),
		SpawnFile:     r.Site.File(),
		SpawnLine:     r.Site.Line(),
		Start:         r.Start,
		TraceID:       r.SC.TraceID(),
		SpanID:        r.SC.SpanID(),
	}
	if w != nil {
		ti.WaitingOn = w.What + " " + strconv.Quote(w.Name)
		ti.WaitingSince = w.Since
	}
	return ti
}

// Text names the task for messages: task 7 "flush".
func (r *Record) Text() string {
	return "task " + strconv.FormatUint(r.ID, 10) + " " + strconv.Quote(r.Name)
}
