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
	return Collect(func(e Entry) Entry { return e })
}

// Collect is Snapshot handing each entry to conv, for a caller that keeps
// its own type: one slice is made, of conv's results.
func Collect[T any](conv func(Entry) T) []T {
	rs := Append(nil)
	slices.SortFunc(rs, func(a, b *Record) int { return cmp.Compare(a.ID, b.ID) })
	out := make([]T, len(rs))
	var byGoid map[uint64]uint64 // goroutine ID → task ID, made when first needed
	holders := func() map[uint64]uint64 {
		if byGoid == nil {
			byGoid = IDsByGoid()
		}
		return byGoid
	}
	for i, r := range rs {
		out[i] = conv(EntryOf(r, r.Waiting(), holders))
	}
	return out
}

// EntryOf describes r waiting on w (read from r earlier, nil while it ran),
// with the holder of the lock it waits on found in holders(), a map from
// goroutine ID to task ID as IDsByGoid returns, called only when needed.
func EntryOf(r *Record, w *Wait, holders func() map[uint64]uint64) Entry {
	e := Entry{Info: r.info(w)}
	if w != nil && w.Lock != nil {
		e.Lock = w.Lock
		if h := w.Lock.Holder(); h != 0 {
			if id, ok := holders()[h]; ok {
				e.HeldBy = id
			} else {
				e.HeldByGoroutine = h
			}
		}
	}
	return e
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
