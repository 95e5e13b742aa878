// Package tracekit adds OpenTelemetry tracing to the concurrent parts of a Go
// program with as little ceremony as the standard library.
//
// [Start] sets up tracing and metrics from the standard OTEL_* environment
// (or options) and installs them globally; [Kit.Shutdown] flushes them:
//
//	kit, err := tracekit.Start(ctx, tracekit.WithServiceName("checkout"))
//	if err != nil { ... }
//	defer kit.Shutdown(context.Background())
//
// [Go] starts a goroutine with its own span, a child of the span in its
// context, that records where it was started, its error, a panic with its
// stack (returned as a [*PanicError]) and the cause of a cancellation.
// [Group] does the same for a set of goroutines, errgroup style, with an
// optional concurrency limit.
//
// [Mutex] and [RWMutex] are drop-ins for the sync types whose slow waits and
// long holds become spans and metrics; [Send], [Recv] and [Chan] do the same
// for channel operations and return [ErrClosed] instead of panicking. With
// [WithDeadlockDetection] the locks also report lock-order inversions,
// recursive locking, hangs and long holds as typed [Report] values
// ([WithReportHandler]).
//
// [Span] starts a span named after the calling function in one line;
// [LogHandler] makes slog records carry the trace and span they were logged
// in. [Leaks] finds goroutines that outlived their work (package
// tracekittest wraps it for tests) and names the task each one runs.
// [Snapshot] lists the running tasks with what each waits on, and [Handler]
// serves them as a live console page (see ExampleHandler).
//
// While a Kit runs, a sweep of the running tasks reports tokio-console
// style lints as [Report] values: a task blocked too long
// ([ReportBlocked]), a lock still held that tasks wait on, the tasks of one
// spawn site growing steadily ([ReportSpawnGrowth]) and a task outliving
// its parent ([ReportOrphanTask]); see [WithLintInterval]. The memory watch
// reports memory near the limit or a live heap that keeps growing
// ([ReportMemory], [WithMemoryWatch]). Runtime and task metrics (goroutine
// states, scheduling latency, GC pauses, tasks by name and by spawn site)
// are exported with the other metrics.
//
// [WithProfiling] profiles the process continuously with every CPU sample
// labelled by the span it ran in.
//
// Spans go to an OTLP endpoint (Jaeger, any OpenTelemetry Collector), to a
// local file of OTLP JSON lines (OTEL_TRACES_EXPORTER=file, read back by
// cmd/flamegen), or to the console. Exporting never blocks the traced code.
//
// The attributes tracekit writes are listed beside [KeyKind] and in
// docs/attributes.md. See the Example for a complete program.
package tracekit
