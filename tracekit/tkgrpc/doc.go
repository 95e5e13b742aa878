// Package tkgrpc makes each gRPC call a tracekit task: server interceptors
// that bind the goroutine gRPC runs a unary call or a stream on to a task
// for the length of the handler (see tracekit.Bind and tracekit.Do). While
// the call runs, the console and inspect.Tasks list it by method, its lock
// and channel waits are children of the call's span, and detector reports
// found on it carry the call's trace.
//
// With otelgrpc's server stats handler, the task reuses otelgrpc's span
// and no second span is made; without it, each call gets a server span of
// its own. See the example of [UnaryServerInterceptor].
package tkgrpc
