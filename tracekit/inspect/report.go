package inspect

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/semconv"
)

// Kind says what a detector found. Its values are the tracekit.report.kind
// attribute of the report's span event.
type Kind string

const (
	// KindLockOrder: two locks were taken in opposite orders on two code
	// paths (A then B on one, B then A on another), or a cycle of three or
	// more. The program may never have deadlocked, but it can. Needs
	// lock-order detection.
	KindLockOrder Kind = semconv.ReportLockOrder
	// KindRecursiveLock: a goroutine asked for a lock it already holds
	// (Lock twice on a Mutex, or Lock while holding the read lock of the
	// same RWMutex). The goroutine will block forever. Needs lock-order
	// detection.
	KindRecursiveLock Kind = semconv.ReportRecursiveLock
	// KindHang: a lock or channel wait has lasted longer than the hang
	// timeout and goes on; made once per wait, naming the lock's holder.
	KindHang Kind = semconv.ReportHang
	// KindDeadlock: tasks wait on each other in a cycle (each holds a lock
	// the next waits for, or is the only task seen on the other side of
	// the channel it waits on), found when one of the waits reaches the
	// hang timeout. Made once per cycle, instead of a hang report for each
	// of its waits; it names every task, lock and place.
	KindDeadlock Kind = semconv.ReportDeadlock
	// KindLongHold: a lock held longer than the long-hold threshold was
	// released; made once per such hold, at its release.
	KindLongHold Kind = semconv.ReportLongHold
	// KindMemory: memory in use passed a share of the memory limit, or the
	// live heap kept growing; made once per episode.
	KindMemory Kind = semconv.ReportMemory
	// KindSpawnGrowth: the live tasks of one spawn site kept rising across
	// samples, a leak in progress; made once per episode.
	KindSpawnGrowth Kind = semconv.ReportSpawnGrowth
	// KindOrphanTask: a task is still running well after the task that
	// started it ended; made once per task.
	KindOrphanTask Kind = semconv.ReportOrphanTask
)

// Report is what a detector found. It goes to the report handler of the
// running setup (package sdk), becomes a "tracekit.report" event on the
// span that was current where it was found, and is logged at WARN level
// through slog.Default().
type Report struct {
	Kind Kind
	// Message is one line a human can read, which places the acquisitions
	// and waits it names, e.g. `lock order inversion: "ledger"
	// (bank/bank.go:19) then "accounts" (bank/bank.go:21) here, ...`.
	Message string
	// Lock is the name of the lock the report is about, Channel the name
	// of the channel (a hang in a send or receive); at most one is set.
	Lock    string
	Channel string
	// Other is, for KindLockOrder, the other lock of the pair.
	Other string
	// Duration is the wait (KindHang, and for KindDeadlock the wait that
	// reached the hang timeout), the hold (KindLongHold), the time
	// since the parent ended (KindOrphanTask) or the time the growth
	// samples span (KindSpawnGrowth).
	Duration time.Duration
	// Stacks are the goroutine stacks involved, each with a label saying
	// what it is (e.g. "waiter", "holder acquired the lock here").
	Stacks []Stack
	// SpanContext is the span that was current where the problem was
	// found; invalid when there was none.
	SpanContext trace.SpanContext
	// TraceFile is the flight recorder's snapshot of the execution trace
	// that the report asked for, or "" when the recorder is off. It is
	// written in the background, and appears whole once written.
	TraceFile string
	// Goroutines is, for KindHang and KindDeadlock, every goroutine's
	// stack when the report was made, as runtime.Stack prints them (at
	// most 1 MiB): it shows where the holder is stuck now. [Report.String]
	// leaves it out.
	Goroutines []byte
	// Time is when the report was made.
	Time time.Time
	// Tasks are the tasks concerned: for KindHang on a lock, the tasks
	// holding it, each with its Goroutine and the Stack it had then; the
	// tasks of the cycle, in its order (KindDeadlock); the
	// orphan (KindOrphanTask); the newest tasks of the spawn site, newest
	// first and at most 5 (KindSpawnGrowth).
	Tasks []Task
	// SpawnSite is, for KindSpawnGrowth, the spawn site as
	// [Task.SpawnSite] spells it, and Count its live tasks.
	SpawnSite string
	Count     int
	// Memory is, for KindMemory, what the memory watch saw.
	Memory *MemoryUsage
}

// String formats the report with its stacks and its tasks, for logs and
// terminals.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tracekit %s: %s\n", r.Kind, r.Message)
	if r.TraceFile != "" {
		fmt.Fprintf(&b, "execution trace: %s\n", r.TraceFile)
	}
	for _, s := range r.Stacks {
		b.WriteString("\n")
		b.WriteString(s.String())
	}
	if len(r.Tasks) > 0 {
		b.WriteString("\ntasks:\n")
		for i := range r.Tasks {
			writeTaskLine(&b, &r.Tasks[i])
		}
	}
	return b.String()
}

// writeTaskLine writes one line about a task of a report: its ID and name,
// what it waits on, where it was started and its trace.
func writeTaskLine(b *strings.Builder, ti *Task) {
	fmt.Fprintf(b, "  task %d %q", ti.ID, ti.Name)
	if ti.WaitingOn != "" {
		fmt.Fprintf(b, ", waiting on %s since %s", ti.WaitingOn, ti.WaitingSince.Format("15:04:05.000"))
	}
	if site := ti.SpawnSite(); site != "" {
		fmt.Fprintf(b, ", started at %s", site)
	}
	if ti.TraceID.IsValid() {
		fmt.Fprintf(b, ", trace %s", ti.TraceID)
	}
	b.WriteString("\n")
	if ti.Stack != "" {
		fmt.Fprintf(b, "  goroutine %d is now at:\n", ti.Goroutine)
		for _, line := range strings.Split(strings.TrimRight(ti.Stack, "\n"), "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
}

// Stack is a goroutine stack captured by a detector.
type Stack struct {
	// Label says whose stack it is and where it was taken.
	Label string
	// PC holds the program counters, innermost first, as runtime.Callers
	// returns them.
	PC []uintptr
}

// Frames resolves the program counters.
func (s Stack) Frames() []runtime.Frame {
	var out []runtime.Frame
	if len(s.PC) == 0 {
		return nil
	}
	frames := runtime.CallersFrames(s.PC)
	for {
		f, more := frames.Next()
		out = append(out, f)
		if !more {
			return out
		}
	}
}

// MarshalJSON encodes the stack as its label and its frames, each with its
// function, file and line, so that a report encoded as JSON shows places
// rather than program counters.
func (s Stack) MarshalJSON() ([]byte, error) {
	type frame struct {
		Function string `json:"function"`
		File     string `json:"file"`
		Line     int    `json:"line"`
	}
	out := struct {
		Label  string  `json:"label"`
		Frames []frame `json:"frames"`
	}{Label: s.Label, Frames: []frame{}}
	for _, f := range s.Frames() {
		out.Frames = append(out.Frames, frame{f.Function, f.File, f.Line})
	}
	return json.Marshal(out)
}

// String prints the label and one "function\n\tfile:line" pair per frame,
// the way a goroutine dump does.
func (s Stack) String() string {
	var b strings.Builder
	b.WriteString(s.Label)
	b.WriteString(":\n")
	for _, f := range s.Frames() {
		fmt.Fprintf(&b, "%s\n\t%s:%d\n", f.Function, f.File, f.Line)
	}
	return b.String()
}
