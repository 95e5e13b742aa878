package tracekit

import "github.com/tracekit-go/tracekit/internal/goid"

// TasksKnowTheirGoroutine says a goroutine can find the task it runs (the
// fast goroutine key exists on this platform): without it, a task blocked
// in a plain Lock or Recv cannot be shown waiting, and a lock's holder task
// cannot be named. For the external tests.
const TasksKnowTheirGoroutine = goid.Fast

// TaskLineageKept says tasks record the goroutine their chain began in
// (the goroutine ID reader exists): leaks through ended tasks are
// attributed. For the external tests.
func TaskLineageKept() bool { return goid.FastID() }
