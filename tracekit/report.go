package tracekit

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// ReportKind says what a detector found.
type ReportKind int

const (
	// ReportLockOrder: two locks were taken in opposite orders on two code
	// paths (A then B on one, B then A on another). The program may never
	// have deadlocked, but it can. Requires lock-order detection
	// ([WithDeadlockDetection] or TRACEKIT_DEADLOCK=1).
	ReportLockOrder ReportKind = iota + 1
	// ReportRecursiveLock: a goroutine asked for a lock it already holds
	// (Lock twice on a [Mutex], or Lock while holding the read lock of the
	// same [RWMutex]). The goroutine will block forever. Requires lock-order
	// detection.
	ReportRecursiveLock
	// ReportLockTimeout: a lock or channel wait lasted longer than the hang
	// timeout ([WithHangTimeout], TRACEKIT_HANG_TIMEOUT). The wait goes on;
	// the report is made once per wait.
	ReportLockTimeout
	// ReportLongHold: a lock was held longer than the long-hold threshold
	// ([WithLongHold], TRACEKIT_LONG_HOLD). Reported when it is released,
	// and by the task lints while it lasts when a task has waited on it
	// for [WithLockHeldLint]: see there for how the two relate.
	ReportLongHold
	// ReportMemory: the heap passed a fraction of the memory limit, or kept
	// growing across consecutive samples; see [WithMemoryWatch]. Made once
	// per episode, not on every sample.
	ReportMemory
	// ReportBlocked: a tracked task ([Go], [Group.Go]) has been waiting on
	// a tracekit lock or channel for longer than the blocked threshold, and
	// still waits ([WithBlockedLint], TRACEKIT_LINT_BLOCKED). Made once per
	// wait.
	ReportBlocked
	// ReportSpawnGrowth: the number of live tasks started at one spawn site
	// kept rising across consecutive samples: a leak in progress
	// ([WithSpawnGrowthLint]). Made once per episode.
	ReportSpawnGrowth
	// ReportOrphanTask: a tracked task is still running well after the task
	// that started it ended ([WithOrphanLint],
	// TRACEKIT_LINT_ORPHAN_GRACE). Made once per task.
	ReportOrphanTask
)

func (k ReportKind) String() string {
	switch k {
	case ReportLockOrder:
		return "lock-order"
	case ReportRecursiveLock:
		return "recursive-lock"
	case ReportLockTimeout:
		return "lock-timeout"
	case ReportLongHold:
		return "long-hold"
	case ReportMemory:
		return "memory"
	case ReportBlocked:
		return "blocked"
	case ReportSpawnGrowth:
		return "spawn-growth"
	case ReportOrphanTask:
		return "orphan-task"
	}
	return fmt.Sprintf("ReportKind(%d)", int(k))
}

// Report is what a detector found. It goes to the handler set with
// [WithReportHandler], becomes a "tracekit.report" event on the span that
// was current where it was found (when there is one), and is logged at WARN
// level through slog.Default().
type Report struct {
	Kind ReportKind
	// Message is one line a human can read, e.g. `lock order inversion:
	// "accounts" then "ledger" here, "ledger" then "accounts" earlier`.
	Message string
	// Lock is the name of the lock or channel the report is about.
	Lock string
	// Other is, for ReportLockOrder, the other lock of the pair.
	Other string
	// Duration is the wait (ReportLockTimeout) or hold (ReportLongHold).
	Duration time.Duration
	// Stacks are the goroutine stacks involved, each with a label saying
	// what it is (e.g. "waiter", "holder acquired the lock here").
	Stacks []Stack
	// SpanContext is the span that was current where the problem was
	// found; invalid when there was none.
	SpanContext trace.SpanContext
	// TraceFile is the runtime/trace file written for this report by the
	// flight recorder ([WithFlightRecorder]), or "".
	TraceFile string
	// Goroutines is, for ReportLockTimeout, every goroutine's stack when the
	// report was made, as runtime.Stack prints them (at most 1 MiB): it
	// shows where the holder is stuck now. [Report.String] leaves it out.
	Goroutines []byte
	// Time is when the report was made.
	Time time.Time
	// Tasks are, for the task lints, the tasks concerned: the blocked task
	// (ReportBlocked), the orphan (ReportOrphanTask), the newest tasks of
	// the spawn site, newest first and at most 5 (ReportSpawnGrowth), or
	// for a lock still held (ReportLongHold made by the lint) its holders,
	// when known, then the tasks waiting on it, longest first; for
	// ReportLockTimeout with lock-order detection on, the tasks holding the
	// lock, each with its Goroutine and the Stack it had when the report
	// was made.
	Tasks []TaskInfo
	// SpawnSite is, for ReportSpawnGrowth, the spawn site as
	// [TaskInfo.SpawnSite] spells it, and Count its live tasks.
	SpawnSite string
	Count     int
	// Memory is, for ReportMemory, what the memory watch saw; nil for the
	// other kinds.
	Memory *MemoryUsage

	// channel marks a report whose Lock names a channel: it is logged as
	// "chan" and tagged tracekit.chan.name.
	channel bool
}

// IsChannel reports whether [Report.Lock] names a channel rather than a
// lock (a hang or a blocked task while sending or receiving).
func (r Report) IsChannel() bool { return r.channel }

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
func writeTaskLine(b *strings.Builder, ti *TaskInfo) {
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

// callers captures the stack of the calling goroutine, skipping skip frames
// above the caller of callers and then tracekit's own lock and channel
// frames, so that the stack starts in the user's code.
func callers(skip int) []uintptr {
	var pcs [stackDepth]uintptr
	n := runtime.Callers(skip+2, pcs[:])
	i := 0
	for ; i < n-1; i++ {
		f := runtime.FuncForPC(pcs[i] - 1)
		if f == nil || !isSyncFrame(f.Name()) {
			break
		}
	}
	return append([]uintptr(nil), pcs[i:n]...)
}

// stackDepth bounds every captured stack.
const stackDepth = 32

// callerFunc names the first function on the stack that is not part of
// tracekit's locks and channels, for labelling unnamed ones.
func callerFunc(skip int) string {
	var pcs [16]uintptr
	n := runtime.Callers(skip+2, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !isSyncFrame(f.Function) || !more {
			return f.Function
		}
	}
}

// isSyncFrame reports whether fn is one of tracekit's lock or channel
// functions (which a user's stack has between its own code and the runtime).
func isSyncFrame(fn string) bool {
	rest, ok := strings.CutPrefix(fn, "github.com/tracekit-go/tracekit/tracekit.")
	if !ok {
		return false
	}
	for _, p := range []string{"(*Mutex)", "(*RWMutex)", "(*rlocker)", "(*lockMeta)", "(*detector)", "(*orderGraph)", "(*Chan[", "Send[", "Recv[", "send[", "recv["} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

// allGoroutines dumps every goroutine's stack, up to maxDump bytes.
func allGoroutines() []byte {
	const maxDump = 1 << 20
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= maxDump {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}
