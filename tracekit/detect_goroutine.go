package tracekit

import (
	"sync"
	"unsafe"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/goid"
)

// liveTasks is the registry of running tasks, keyed by the goroutine each
// runs on. It serves two readers: a plain Lock that turns out slow finds the
// span of the task on its goroutine there (so the fast path carries no
// context), and [Snapshot], the console and the leak report list what is
// running. Tasks register at start and remove themselves when they end; the
// table holds only running tasks. Where identifying a goroutine is slow
// (goid.Fast is false) a task is keyed by its own address instead:
// it is still listed, but a goroutine cannot find its task.
var liveTasks [64]struct {
	mu sync.Mutex
	m  map[uintptr]*Task
	_  [40]byte // keep shards on separate cache lines
}

func spanShard(g uintptr) int { return int((g >> 6) % uintptr(len(liveTasks))) }

// bindGoroutine records t as the task of the calling goroutine and returns
// the key to pass to unbindGoroutine.
func bindGoroutine(t *Task) uintptr {
	var g uintptr
	if goid.Fast {
		g = goid.Key()
	} else {
		g = uintptr(unsafe.Pointer(t))
	}
	sh := &liveTasks[spanShard(g)]
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = make(map[uintptr]*Task)
	}
	sh.m[g] = t
	sh.mu.Unlock()
	return g
}

func unbindGoroutine(g uintptr) {
	if g == 0 {
		return
	}
	sh := &liveTasks[spanShard(g)]
	sh.mu.Lock()
	delete(sh.m, g)
	sh.mu.Unlock()
}

// goroutineTask returns the task running on the calling goroutine, or nil.
func goroutineTask() *Task {
	if !goid.Fast {
		return nil
	}
	return taskOnGoroutine(goid.Key())
}

// taskOnGoroutine returns the task registered for goroutine key g, or nil.
func taskOnGoroutine(g uintptr) *Task {
	sh := &liveTasks[spanShard(g)]
	sh.mu.Lock()
	t := sh.m[g]
	sh.mu.Unlock()
	return t
}

// eachTaskGoid calls fn with the goroutine ID and task of each running
// task until fn returns false, reading the ID in each registered
// goroutine's descriptor: a pass over the registry, for reports, not fast
// paths. It calls nothing where goroutine IDs cannot be read cheaply.
func eachTaskGoid(fn func(id uint64, t *Task) bool) {
	off := goid.Offset()
	if !goid.Fast || off == 0 {
		return
	}
	for i := range liveTasks {
		sh := &liveTasks[i]
		sh.mu.Lock()
		for g, t := range sh.m {
			if !fn(goid.WordAt(g, off), t) {
				sh.mu.Unlock()
				return
			}
		}
		sh.mu.Unlock()
	}
}

// taskByGoid returns the running task whose goroutine has the runtime ID
// id, or nil.
func taskByGoid(id uint64) (found *Task) {
	eachTaskGoid(func(g uint64, t *Task) bool {
		if g == id {
			found = t
		}
		return found == nil
	})
	return found
}

// taskIDsByGoid maps the goroutine ID of every running task to the task's
// ID.
func taskIDsByGoid() map[uint64]uint64 {
	out := map[uint64]uint64{}
	eachTaskGoid(func(g uint64, t *Task) bool {
		out[g] = t.id
		return true
	})
	return out
}

// goroutineSpan returns the span of the task running on the calling
// goroutine, or nil.
func goroutineSpan() trace.Span {
	if t := goroutineTask(); t != nil && t.sc.IsValid() {
		return t.span
	}
	return nil
}

// liveTaskList returns every registered task, in no order.
func liveTaskList() []*Task { return appendLiveTasks(nil) }
