// Package tasks is the registry of tracekit's tasks: the running ones,
// sharded by the goroutine each runs on, what each waits on, the one ring
// of ended tasks (which serves both the console's page of an ended task and
// the leak checks' lineage), the spawn sites, and how a goroutine dump's
// goroutines are tied to their tasks.
package tasks

import (
	"sync"
	"unsafe"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/goid"
)

// live is the registry of running tasks, keyed by the goroutine each runs
// on. It serves two readers: a plain Lock that turns out slow finds the
// span of the task on its goroutine there (so the fast path carries no
// context), and the snapshots, the console, the lints and the leak checks
// list what is running. Tasks register when their goroutine starts and
// remove themselves when they end; the table holds only running tasks.
// Where identifying a goroutine is slow (goid.Fast is false) a task is
// keyed by its own address instead: it is still listed, but a goroutine
// cannot find its task.
var live [64]struct {
	mu sync.Mutex
	m  map[uintptr]*Record
	_  [40]byte // keep shards on separate cache lines
}

func shard(g uintptr) int { return int((g >> 6) % uintptr(len(live))) }

// Bind records r as the task of the calling goroutine, until Unbind.
func (r *Record) Bind() { r.bind(false) }

// BindOver is [Record.Bind] for a task bound to a goroutine for the length
// of a call, which may already run a task: r is listed over it, and that
// one becomes the task of the goroutine again at r's Unbind. Calls on one
// goroutine must unbind in the reverse order of binding.
func (r *Record) BindOver() { r.bind(true) }

func (r *Record) bind(over bool) {
	g := r.key()
	sh := &live[shard(g)]
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = make(map[uintptr]*Record)
	}
	if over {
		r.prev = sh.m[g]
	}
	sh.m[g] = r
	sh.mu.Unlock()
}

// Unbind takes r out of the registry, and puts back the task it was bound
// over, if any. It runs on the goroutine that bound r.
func (r *Record) Unbind() {
	g := r.key()
	sh := &live[shard(g)]
	sh.mu.Lock()
	if r.prev != nil {
		sh.m[g] = r.prev
	} else {
		delete(sh.m, g)
	}
	sh.mu.Unlock()
}

// key is r's registry key on the calling goroutine: the goroutine's, or
// r's own address where goroutines are not told apart cheaply. Computing
// it again costs less than keeping it in every task.
func (r *Record) key() uintptr {
	if goid.Fast {
		return goid.Key()
	}
	return uintptr(unsafe.Pointer(r))
}

// Current returns the task running on the calling goroutine, or nil.
func Current() *Record {
	if !goid.Fast {
		return nil
	}
	return OnKey(goid.Key())
}

// OnKey returns the task registered for goroutine key g (a goid.Key), or
// nil.
func OnKey(g uintptr) *Record {
	sh := &live[shard(g)]
	sh.mu.Lock()
	r := sh.m[g]
	sh.mu.Unlock()
	return r
}

// eachGoid calls fn with the ID of each goroutine that runs a task and the
// task it runs now (the innermost of those bound over each other) until fn
// returns false, reading the ID in each registered goroutine's
// descriptor: a pass over the registry, for reports, not fast paths. It
// calls nothing where goroutine IDs cannot be read cheaply.
func eachGoid(fn func(id uint64, r *Record) bool) {
	off := goid.Offset()
	if !goid.Fast || off == 0 {
		return
	}
	for i := range live {
		sh := &live[i]
		sh.mu.Lock()
		for g, r := range sh.m {
			if !fn(goid.WordAt(g, off), r) {
				sh.mu.Unlock()
				return
			}
		}
		sh.mu.Unlock()
	}
}

// ByGoid returns the running task whose goroutine has the runtime ID id,
// or nil.
func ByGoid(id uint64) (found *Record) {
	eachGoid(func(g uint64, r *Record) bool {
		if g == id {
			found = r
		}
		return found == nil
	})
	return found
}

// IDsByGoid maps the goroutine ID of every running task to the task's ID.
func IDsByGoid() map[uint64]uint64 {
	out := map[uint64]uint64{}
	eachGoid(func(g uint64, r *Record) bool {
		out[g] = r.ID
		return true
	})
	return out
}

// CurrentSpan returns the span of the task running on the calling
// goroutine, or nil.
func CurrentSpan() trace.Span {
	if r := Current(); r != nil && r.SC.IsValid() {
		return r.Span
	}
	return nil
}

// Append appends every running task to buf, in no order: with the task a
// goroutine runs, those it was bound over.
func Append(buf []*Record) []*Record {
	for i := range live {
		sh := &live[i]
		sh.mu.Lock()
		for _, r := range sh.m {
			for ; r != nil; r = r.prev {
				buf = append(buf, r)
			}
		}
		sh.mu.Unlock()
	}
	return buf
}

// CountByName counts the running tasks by name, holding each shard's lock
// while it counts that shard's tasks.
func CountByName() map[string]int64 {
	counts := map[string]int64{}
	for i := range live {
		sh := &live[i]
		sh.mu.Lock()
		for _, r := range sh.m {
			for ; r != nil; r = r.prev {
				counts[r.Name]++
			}
		}
		sh.mu.Unlock()
	}
	return counts
}

// Find returns the running task with ID id and its goroutine's runtime ID
// (0 where it cannot be read cheaply), or nil: a pass over the registry
// that allocates nothing.
func Find(id uint64) (found *Record, goroutine uint64) {
	off := goid.Offset()
	for i := range live {
		sh := &live[i]
		sh.mu.Lock()
		for g, r := range sh.m {
			if r.ID == id {
				found = r
				if goid.Fast && off != 0 {
					goroutine = goid.WordAt(g, off)
				}
				break
			}
		}
		sh.mu.Unlock()
		if found != nil {
			return found, goroutine
		}
	}
	return nil, 0
}

// MarkRunning sets ids[id] to true for every key id of ids that is a
// running task: one pass over the registry.
func MarkRunning(ids map[uint64]bool) {
	if len(ids) == 0 {
		return
	}
	for i := range live {
		sh := &live[i]
		sh.mu.Lock()
		for _, r := range sh.m {
			if _, ok := ids[r.ID]; ok {
				ids[r.ID] = true
			}
		}
		sh.mu.Unlock()
	}
}
