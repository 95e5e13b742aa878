package tasks

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/tracekit-go/tracekit/internal/gostack"
)

// Entry is a running task as Snapshot saw it.
type Entry struct {
	Info
	// Lock is the lock the task waits on, nil while it runs or waits on a
	// channel: it tells locks that share a name apart.
	Lock Lock
}

// Snapshot describes the running tasks, sorted by ID, each with the holder
// of the lock it waits on when one is recorded. It reads no stacks.
func Snapshot() []Entry {
	rs := Append(nil)
	slices.SortFunc(rs, func(a, b *Record) int { return cmp.Compare(a.ID, b.ID) })
	out := make([]Entry, len(rs))
	var byGoid map[uint64]uint64 // goroutine ID → task ID, made when first needed
	for i, r := range rs {
		w := r.Waiting()
		out[i] = Entry{Info: r.info(w)}
		if w == nil || w.Lock == nil {
			continue
		}
		out[i].Lock = w.Lock
		h := w.Lock.Holder()
		if h == 0 {
			continue
		}
		if byGoid == nil {
			byGoid = IDsByGoid()
		}
		if id, ok := byGoid[h]; ok {
			out[i].HeldBy = id
		} else {
			out[i].HeldByGoroutine = h
		}
	}
	return out
}

// SnapshotStacks is Snapshot with each task's goroutine ID and stack, read
// from a dump of every goroutine (which stops the world briefly).
func SnapshotStacks() ([]Entry, error) {
	gs, err := gostack.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("tracekit: read goroutines: %w", err)
	}
	byTask := Goroutines(gs)
	es := Snapshot()
	for i := range es {
		if g, ok := byTask[es[i].ID]; ok {
			es[i].Goroutine = g.ID
			es[i].Stack = StackText(g)
		}
	}
	return es, nil
}
