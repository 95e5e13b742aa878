// Package semconv is the attribute convention tracekit writes: every
// attribute key, value, event name and pprof label, defined once and read
// by the writers (package tracekit, the detectors, the SDK setup) and by
// flamegen's decoders alike. docs/attributes.md is the same list for readers
// outside Go; a test keeps the two in step. The constants are plain strings
// so that decoders need no OpenTelemetry package to use them.
package semconv

// ScopeName is the instrumentation scope of every span and instrument
// tracekit creates.
const ScopeName = "github.com/tracekit-go/tracekit"

// Span attributes.
const (
	// Kind says what operation a span stands for; its values are the
	// Kind* constants.
	Kind = "tracekit.kind"
	// Group is the name of the group a task belongs to.
	Group = "tracekit.group"
	// GroupLimit is the concurrency bound of a group, when it has one.
	GroupLimit = "tracekit.group.limit"
	// Panic is true on a span whose function panicked.
	Panic = "tracekit.panic"
	// Canceled is true on a task span whose context was done when its
	// function returned, and CancelCause holds context.Cause of it.
	Canceled    = "tracekit.canceled"
	CancelCause = "tracekit.cancel.cause"
	// LockName is the name of a lock on its spans, metrics and reports,
	// and LockMode "write" or "read" on its spans.
	LockName = "tracekit.lock.name"
	LockMode = "tracekit.lock.mode"
	// ChanName is the name of a channel on its spans, metrics and reports.
	ChanName = "tracekit.chan.name"
	// WaitNS is how long a lock or channel operation waited, in
	// nanoseconds; HoldNS how long a lock was held.
	WaitNS = "tracekit.wait.ns"
	HoldNS = "tracekit.hold.ns"
	// FlightFile names the flight recorder's snapshot of the execution
	// trace that a span slower than the slow-span threshold asked for; on
	// a report's event, the one the report asked for.
	FlightFile = "tracekit.flight.file"
	// ProfileID marks a span whose goroutine carried its pprof labels: its
	// value is the span's own ID, the LabelSpanID its CPU samples carry.
	ProfileID = "pyroscope.profile.id"
)

// Values of [Kind].
const (
	KindGoroutine = "goroutine" // a task: the goroutine's whole life
	KindGroup     = "group"     // a group, from its creation to the end of its Wait
	KindFunction  = "function"  // a function call traced with tracekit.Span
	KindTask      = "task"      // a task bound to its caller's goroutine by tracekit.Do, for the call
	KindLockWait  = "lock.wait" // a lock acquisition that waited past the slow threshold
	KindLockHold  = "lock.hold" // a write hold past the slow threshold
	KindChanSend  = "chan.send" // a channel send blocked past the slow threshold
	KindChanRecv  = "chan.recv"
)

// The span event a detector's report becomes, and its attributes.
const (
	ReportEvent   = "tracekit.report"
	ReportKind    = "tracekit.report.kind"
	ReportMessage = "message"
	ReportStacks  = "stacks"
	// ReportTasks lists the IDs of the tasks a report is about.
	ReportTasks = "tracekit.report.tasks"
	// SpawnSite is the spawn site of a spawn-growth report, "function
	// (file:line)", and TaskCount its live tasks.
	SpawnSite = "tracekit.spawn.site"
	TaskCount = "tracekit.task.count"
	// A memory report's numbers: bytes in use, the limit in bytes (absent
	// when there is none), where the limit was read, and the live heap.
	MemoryUsed        = "tracekit.memory.used"
	MemoryLimit       = "tracekit.memory.limit"
	MemoryLimitSource = "tracekit.memory.limit.source"
	MemoryLiveHeap    = "tracekit.memory.live_heap"
)

// Values of [ReportKind].
const (
	ReportLockOrder     = "lock-order"
	ReportRecursiveLock = "recursive-lock"
	ReportHang          = "hang"
	ReportLongHold      = "long-hold"
	ReportMemory        = "memory"
	ReportSpawnGrowth   = "spawn-growth"
	ReportOrphanTask    = "orphan-task"
	ReportDeadlock      = "deadlock"
)

// Logs.
const (
	// LogLevel is on every span event made from a log record: its slog
	// level, such as ERROR.
	LogLevel = "tracekit.log.level"
	// LogTraceID and LogSpanID are the slog keys of the trace and span IDs
	// added to a record logged under a span.
	LogTraceID = "trace_id"
	LogSpanID  = "span_id"
)

// The pprof labels that tie CPU samples to spans: the names Grafana's span
// profiles read.
const (
	LabelSpanID   = "span_id"   // the innermost sampled span's ID, in hex
	LabelSpanName = "span_name" // its name
	LabelTraceID  = "trace_id"  // its trace ID, in hex
)

// LabelTaskID is the pprof label a task's goroutine carries once a console
// exists: the task's ID, in decimal, by which the console finds the task's
// stack in a goroutine profile.
const LabelTaskID = "tracekit_task"

// Metric attributes.
const (
	// TaskName labels tracekit.task.count with the tasks' name.
	TaskName = "tracekit.task.name"
	// Outcome labels tracekit.export.spans.
	Outcome = "outcome"
)
