// Package tracekit is the instrumentation API: it adds OpenTelemetry
// tracing to the concurrent parts of a Go program with as little ceremony
// as the standard library, and links nothing but the OpenTelemetry API, so
// library authors can use it freely.
//
// [Go] starts a goroutine under its own span, a child of the span in its
// context, that records where it was started, its error, a panic with its
// stack (returned as a [*PanicError]) and the cause of a cancellation.
// [Group] does the same for a set of goroutines, errgroup style, with an
// optional concurrency limit ([WithLimit]).
//
// [Mutex] and [RWMutex] are drop-ins for the sync types, and [Send], [Recv]
// and [Chan] wrap channel operations (returning [ErrClosed] instead of
// panicking). While a detector runs, their slow waits and long holds become
// spans and metrics, and lock-order inversions, hangs and long holds become
// reports; package tracekit/sdk sets that up, with exporters, in one call,
// as package tracekit/inspect describes what it finds.
//
// [Do] makes the calling goroutine a task for the length of one call, for
// work on goroutines tracekit did not start (HTTP and RPC handlers, a
// library's callbacks), under a span of its own; [Bind] does the same under
// the span already in the context. Packages tracekit/tkhttp and
// tracekit/tkgrpc do it for each request.
//
// [Span] starts a span named after the calling function in one line;
// [LogHandler] makes slog records carry the trace and span they were
// logged in. While a Go execution trace records (runtime/trace, go test
// -trace, a flight recorder), tasks, function spans and lock and channel
// waits mark themselves in it, so that flamegen can say where each span's
// time went on its goroutine.
//
// With no SDK set up, spans go to the global OpenTelemetry tracer provider
// (a no-op until someone installs one) and the locks are sync locks plus
// one atomic load. See the Example.
package tracekit
