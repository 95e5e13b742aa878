// Package tkhttp makes each HTTP request a tracekit task: an [http.Handler]
// middleware that binds the goroutine net/http runs the request on to a
// task for the length of the handler (see tracekit.Bind and tracekit.Do).
// While the request runs, the console and inspect.Tasks list it by route,
// its lock and channel waits are children of the request's span, and
// detector reports found on it carry the request's trace.
//
// Put it inside otelhttp: the task then reuses otelhttp's server span, and
// no second span is made. Without otelhttp it starts a server span of its
// own. See the example of [Handler].
package tkhttp
