package detect

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// defaultMaxEdges bounds the lock-order graph. With two stacks of up to
// stackDepth frames per edge that is at most about 10 MB.
const defaultMaxEdges = 20000

// orderGraph is the lock-order ("happens-before") graph of lock-order
// detection. An edge a→b means some goroutine acquired b while holding a;
// the first time both a→b and b→a exist the pair is reported.
//
// Identity is per lock instance: each lock gets a number from lockIDs the
// first time it is used, stored in the lock itself, so a freed lock whose
// memory is reused by a new one is a new node. Memory is bounded: when the
// graph reaches maxEdges edges it is cleared and starts again (an
// inversion whose two halves straddle a reset is missed), and a goroutine's
// held list exists only while it holds locks.
type orderGraph struct {
	d        *Detector
	maxEdges int

	mu       sync.RWMutex
	edges    map[[2]uint64]*edge
	next     map[uint64][]uint64 // adjacency of edges, for cycles longer than two
	reported map[[2]uint64]bool  // pairs (low id first) already reported
	resets   int

	// goroutines maps a goroutine key to its *heldList. Entries are kept
	// when a goroutine's list empties (the runtime reuses goroutine
	// descriptors, so there are about as many keys as the peak number of
	// goroutines), which keeps the uncontended path free of allocations.
	goroutines sync.Map
	// recent caches goroutines' lists by a hash of their key, so that
	// most lookups are one load: a list found there whose key is not the
	// caller's is a collision, and the map decides.
	recent [listCache]atomic.Pointer[heldList]
}

// listCache is the size of orderGraph.recent, a power of two.
const listCache = 512

// heldList is what one goroutine holds. Only that goroutine appends; a
// release may come from another goroutine (a lock handed over), and reports
// read it, hence the mutex, which is otherwise uncontended.
type heldList struct {
	mu    sync.Mutex
	locks []heldLock
	// gid is the runtime ID of the goroutine the list belongs to (0 until
	// known). The key of a list is a goroutine descriptor, which the runtime
	// reuses once its goroutine ends: a goroutine that finds another's
	// non-empty list under its key (locks its ended owner still held, to be
	// unlocked by someone else) gets a fresh one.
	gid atomic.Uint64
	key uintptr // the goroutine key it is filed under
}

type edge struct {
	fromName, toName string
	from, to         []uintptr // where from was acquired (if known); where to was acquired while from was held
}

// heldLock is one lock a goroutine holds. stack is where it was acquired,
// recorded only when that was worth the cost: a contended acquisition, or
// one that added an edge to the graph. site is the return address of the
// lock method that took it (goid.CallerPC, a load), so that an uncontended
// acquisition, which may become the first half of an edge later, still
// says where it was made.
type heldLock struct {
	id    uint64
	name  string
	read  bool
	site  uintptr
	stack []uintptr
}

// where returns where h was acquired: its stack, else its site, else nil.
func (h heldLock) where() []uintptr {
	if len(h.stack) > 0 {
		return h.stack
	}
	if h.site != 0 {
		return []uintptr{h.site}
	}
	return nil
}

func newOrderGraph(d *Detector, maxEdges int) *orderGraph {
	return &orderGraph{d: d, maxEdges: maxEdges, edges: make(map[[2]uint64]*edge), next: make(map[uint64][]uint64), reported: make(map[[2]uint64]bool)}
}

func (o *orderGraph) list() *heldList {
	g := goid.Key()
	slot := &o.recent[(g>>9^g>>13)&(listCache-1)]
	hl := slot.Load()
	if hl == nil || hl.key != g {
		v, ok := o.goroutines.Load(g)
		if !ok {
			v, _ = o.goroutines.LoadOrStore(g, &heldList{key: g})
		}
		hl = v.(*heldList)
		slot.Store(hl)
	}
	if !goid.FastID() {
		return hl
	}
	if id := goid.Current(); hl.gid.Load() != id {
		hl.mu.Lock()
		inherited := len(hl.locks) > 0
		hl.mu.Unlock()
		if inherited {
			// The locks stay in the old list, where their owner pointers
			// (Lock.owner) find them when they are unlocked.
			hl = &heldList{key: g}
			o.goroutines.Store(g, hl)
			slot.Store(hl)
		}
		hl.gid.Store(id)
	}
	return hl
}

// acquire records that the calling goroutine took lock id without waiting
// (the common path), at site, and checks the edges from the locks it
// already holds. It returns the goroutine's list for release.
func (o *orderGraph) acquire(ctx context.Context, id uint64, name string, read, tried bool, site uintptr) *heldList {
	hl := o.list()
	hl.mu.Lock()
	var stack []uintptr
	if len(hl.locks) > 0 && !tried && !o.known(hl.locks, id) {
		held := append([]heldLock(nil), hl.locks...)
		hl.mu.Unlock()
		stack = callers(0)
		o.check(ctx, held, id, name, read, stack)
		hl.mu.Lock()
	}
	hl.locks = append(hl.locks, heldLock{id: id, name: name, read: read, site: site, stack: stack})
	hl.mu.Unlock()
	return hl
}

// known reports whether every edge from held to id is in the graph already.
func (o *orderGraph) known(held []heldLock, id uint64) bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	for _, h := range held {
		if _, ok := o.edges[[2]uint64{h.id, id}]; !ok {
			return false
		}
	}
	return true
}

// before runs on the slow path, before the goroutine blocks for lock id: it
// reports a recursive acquisition or a read-to-write upgrade (which would
// block forever) and any inversion the new edges close. It returns the
// acquisition stack for after.
func (o *orderGraph) before(ctx context.Context, id uint64, name string, read bool) []uintptr {
	stack := callers(0)
	hl := o.list()
	hl.mu.Lock()
	held := append([]heldLock(nil), hl.locks...)
	hl.mu.Unlock()
	if len(held) > 0 {
		o.check(ctx, held, id, name, read, stack)
	}
	return stack
}

// after records that the calling goroutine now holds lock id, acquired on
// the slow path.
func (o *orderGraph) after(id uint64, name string, read bool, stack []uintptr) *heldList {
	hl := o.list()
	hl.mu.Lock()
	hl.locks = append(hl.locks, heldLock{id: id, name: name, read: read, stack: stack})
	hl.mu.Unlock()
	return hl
}

// check adds the edges held→id and reports what they reveal.
func (o *orderGraph) check(ctx context.Context, held []heldLock, id uint64, name string, read bool, stack []uintptr) {
	var reports []inspect.Report
	o.mu.Lock()
	for _, h := range held {
		if h.id == id {
			if read && h.read {
				continue // recursive read locking; only risky with a writer queued
			}
			key := [2]uint64{id, id}
			if o.reported[key] {
				continue
			}
			o.reported[key] = true
			first := h.where()
			msg := fmt.Sprintf("recursive locking: %q is already held by this goroutine", name)
			if h.read && !read {
				msg = fmt.Sprintf("read lock upgraded to write lock: %q is read-locked by this goroutine, which now asks for the write lock", name)
			}
			msg += places("taken at", first, "asked for again at", stack)
			reports = append(reports, inspect.Report{Kind: inspect.KindRecursiveLock, Message: msg, Lock: name,
				Stacks: nonEmpty(
					inspect.Stack{Label: fmt.Sprintf("%q acquired here first", name), PC: first},
					inspect.Stack{Label: fmt.Sprintf("%q requested again here", name), PC: stack},
				)})
			continue
		}
		key := [2]uint64{h.id, id}
		if _, ok := o.edges[key]; ok {
			continue
		}
		if len(o.edges) >= o.maxEdges {
			clear(o.edges)
			clear(o.next)
			o.resets++
		}
		o.edges[key] = &edge{fromName: h.name, toName: name, from: h.where(), to: stack}
		o.next[h.id] = append(o.next[h.id], id)
		rev, ok := o.edges[[2]uint64{id, h.id}]
		if !ok {
			if r, found := o.cycle(h, id, name, stack); found {
				reports = append(reports, r)
			}
			continue
		}
		pair := [2]uint64{min(id, h.id), max(id, h.id)}
		if o.reported[pair] {
			continue
		}
		o.reported[pair] = true
		held := h.where()
		reports = append(reports, inspect.Report{
			Kind: inspect.KindLockOrder,
			Message: fmt.Sprintf("lock order inversion: %s then %s here, %s then %s earlier; two goroutines taking these paths at once deadlock",
				at(h.name, held), at(name, stack), at(rev.fromName, rev.from), at(rev.toName, rev.to)),
			Lock:  name,
			Other: h.name,
			Stacks: nonEmpty(
				inspect.Stack{Label: fmt.Sprintf("earlier: %q acquired here", rev.fromName), PC: rev.from},
				inspect.Stack{Label: fmt.Sprintf("earlier: %q acquired here while %q was held", rev.toName, rev.fromName), PC: rev.to},
				inspect.Stack{Label: fmt.Sprintf("now: %q acquired here", h.name), PC: held},
				inspect.Stack{Label: fmt.Sprintf("now: %q requested here while %q is held", name, h.name), PC: stack},
			),
		})
	}
	if len(o.reported) > o.maxEdges {
		clear(o.reported)
	}
	o.mu.Unlock()
	for _, r := range reports {
		o.d.Emit(ctx, r)
	}
}

// cycle looks for a path id ⇝ h.id in the graph, which with the new edge
// h.id→id closes a cycle of three or more locks (the two-lock case is the
// reverse edge). It is called only for new edges, under o.mu.
func (o *orderGraph) cycle(h heldLock, id uint64, name string, stack []uintptr) (inspect.Report, bool) {
	path := o.path(id, h.id)
	if len(path) < 3 {
		return inspect.Report{}, false
	}
	key := [2]uint64{min(id, h.id), max(id, h.id)}
	if o.reported[key] {
		return inspect.Report{}, false
	}
	o.reported[key] = true
	held := h.where()
	names := []string{fmt.Sprintf("%q", h.name)}
	steps := []string{fmt.Sprintf("%s then %s here", at(h.name, held), at(name, stack))}
	var stacks []inspect.Stack
	for i := 0; i+1 < len(path); i++ {
		e := o.edges[[2]uint64{path[i], path[i+1]}]
		if i == 0 {
			names = append(names, fmt.Sprintf("%q", e.fromName))
		}
		names = append(names, fmt.Sprintf("%q", e.toName))
		steps = append(steps, fmt.Sprintf("%s then %s earlier", at(e.fromName, e.from), at(e.toName, e.to)))
		stacks = append(stacks,
			inspect.Stack{Label: fmt.Sprintf("earlier: %q acquired here", e.fromName), PC: e.from},
			inspect.Stack{Label: fmt.Sprintf("earlier: %q acquired here while %q was held", e.toName, e.fromName), PC: e.to})
	}
	stacks = append(stacks,
		inspect.Stack{Label: fmt.Sprintf("now: %q acquired here", h.name), PC: held},
		inspect.Stack{Label: fmt.Sprintf("now: %q requested here while %q is held", name, h.name), PC: stack})
	return inspect.Report{
		Kind: inspect.KindLockOrder,
		Message: fmt.Sprintf("lock order cycle: %s: %s; goroutines taking these paths at once deadlock",
			strings.Join(names, " then "), strings.Join(steps, ", ")),
		Lock:   name,
		Other:  h.name,
		Stacks: nonEmpty(stacks...),
	}, true
}

// at names a lock and, when known, where pcs say it was taken:
// "accounts" (bank/transfer.go:42).
func at(name string, pcs []uintptr) string {
	if p := place(pcs); p != "" {
		return fmt.Sprintf("%q (%s)", name, p)
	}
	return fmt.Sprintf("%q", name)
}

// places says, in parentheses, where two acquisitions were made, leaving
// out those not known: " (taken at a.go:1, asked for again at a.go:2)".
func places(firstWhat string, first []uintptr, secondWhat string, second []uintptr) string {
	var parts []string
	if p := place(first); p != "" {
		parts = append(parts, firstWhat+" "+p)
	}
	if p := place(second); p != "" {
		parts = append(parts, secondWhat+" "+p)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// path returns the lock ids of a path from one lock to another in the
// graph (breadth first, so the shortest), or nil.
func (o *orderGraph) path(from, to uint64) []uint64 {
	prev := map[uint64]uint64{from: from}
	queue := []uint64{from}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range o.next[n] {
			if _, seen := prev[m]; seen {
				continue
			}
			prev[m] = n
			if m == to {
				var p []uint64
				for x := to; x != from; x = prev[x] {
					p = append(p, x)
				}
				p = append(p, from)
				slices.Reverse(p)
				return p
			}
			queue = append(queue, m)
		}
	}
	return nil
}

// nonEmpty drops the stacks that were not recorded.
func nonEmpty(stacks ...inspect.Stack) []inspect.Stack {
	out := stacks[:0]
	for _, s := range stacks {
		if len(s.PC) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// release forgets one hold of lock id. hl is the acquirer's list when
// known (a lock may be unlocked by another goroutine); otherwise the
// calling goroutine's list is searched. When neither holds it (a read lock
// released by a goroutine that did not take it), which reader's hold ended
// cannot be told: every list forgets the lock, since a hold wrongly kept
// would make false reports, where one wrongly forgotten only misses edges.
func (o *orderGraph) release(id uint64, hl *heldList) {
	if hl != nil && hl.remove(id) {
		return
	}
	if o.list().remove(id) {
		return
	}
	o.goroutines.Range(func(_, v any) bool {
		for v.(*heldList).remove(id) {
		}
		return true
	})
}

func (hl *heldList) remove(id uint64) bool {
	hl.mu.Lock()
	defer hl.mu.Unlock()
	j := indexHeld(hl.locks, id)
	if j < 0 {
		return false
	}
	hl.locks = removeHeld(hl.locks, j)
	return true
}

// indexHeld finds the most recent hold of id.
func indexHeld(list []heldLock, id uint64) int {
	for j := len(list) - 1; j >= 0; j-- {
		if list[j].id == id {
			return j
		}
	}
	return -1
}

func removeHeld(list []heldLock, j int) []heldLock {
	copy(list[j:], list[j+1:])
	list[len(list)-1] = heldLock{}
	return list[:len(list)-1]
}

// HolderSet is what the lock-order graph knows of a lock's holders.
type HolderSet struct {
	Stacks    []inspect.Stack // where they acquired it, when recorded
	Tasks     []*tasks.Record // the holders that are tracked tasks, by ID
	Untracked int             // holders that are not tracked tasks, where goroutine IDs are not read
	// Goroutines are holders known only by goroutine ID: not tracked
	// tasks, or exited with the lock held.
	Goroutines []uint64
	Unknown    int // holders whose acquisition stack was not recorded
}

// empty reports that h knows of no holder.
func (h HolderSet) empty() bool {
	return len(h.Stacks) == 0 && len(h.Tasks) == 0 && h.Untracked == 0 && h.Unknown == 0 && len(h.Goroutines) == 0
}

// holders returns what is known of the current holders of the lock that
// match picks out (by ID, or by name for locks that share one), which
// stacks label name.
func (o *orderGraph) holders(match func(heldLock) bool, name string) HolderSet {
	var out HolderSet
	o.goroutines.Range(func(k, v any) bool {
		hl := v.(*heldList)
		hl.mu.Lock()
		held := false
		for _, h := range hl.locks {
			if !match(h) {
				continue
			}
			held = true
			pcs := h.where()
			if len(pcs) == 0 {
				out.Unknown++
				continue
			}
			label := fmt.Sprintf("holder acquired %q here", name)
			if h.read {
				label = fmt.Sprintf("reader acquired %q here", name)
			}
			out.Stacks = append(out.Stacks, inspect.Stack{Label: label, PC: pcs})
		}
		hl.mu.Unlock()
		if !held {
			return true
		}
		// The list belongs to the goroutine with ID gid, where IDs are
		// read: its descriptor (the key) may since run another goroutine,
		// or none, when the holder has exited with the lock held.
		if gid := hl.gid.Load(); gid != 0 {
			if t := tasks.ByGoid(gid); t != nil {
				out.Tasks = append(out.Tasks, t)
			} else {
				out.Goroutines = append(out.Goroutines, gid)
			}
		} else if t := tasks.OnKey(k.(uintptr)); goid.Fast && t != nil {
			out.Tasks = append(out.Tasks, t)
		} else {
			out.Untracked++
		}
		return true
	})
	slices.SortFunc(out.Tasks, func(a, b *tasks.Record) int { return cmp.Compare(a.ID, b.ID) })
	slices.Sort(out.Goroutines)
	return out
}

// holding is a goroutine's hold of a lock, as its held list records it.
type holding struct {
	gid   uint64 // the goroutine's ID, 0 where IDs are not read
	read  bool
	where []uintptr
}

// holding lists the holds of lock id in the goroutines' held lists.
func (o *orderGraph) holding(id uint64) []holding {
	var out []holding
	o.goroutines.Range(func(_, v any) bool {
		hl := v.(*heldList)
		hl.mu.Lock()
		for _, h := range hl.locks {
			if h.id == id {
				out = append(out, holding{gid: hl.gid.Load(), read: h.read, where: h.where()})
			}
		}
		hl.mu.Unlock()
		return true
	})
	return out
}

// OrderSize reports the number of edges in the lock-order graph and of
// goroutines holding locks, for tests of the memory bound; zeros without
// lock-order detection.
func (d *Detector) OrderSize() (edges, goroutines int) {
	if d.order == nil {
		return 0, 0
	}
	return d.order.size()
}

// OrderHolders returns what lock-order detection knows of l's holders.
func (d *Detector) OrderHolders(l *Lock) HolderSet {
	if d.order == nil {
		return HolderSet{}
	}
	st := l.state()
	return d.order.holders(func(h heldLock) bool { return h.id == st.id }, st.nameFor())
}

// size reports the number of edges and of goroutines holding locks.
func (o *orderGraph) size() (edges, goroutines int) {
	o.mu.RLock()
	edges = len(o.edges)
	o.mu.RUnlock()
	o.goroutines.Range(func(_, v any) bool {
		hl := v.(*heldList)
		hl.mu.Lock()
		if len(hl.locks) > 0 {
			goroutines++
		}
		hl.mu.Unlock()
		return true
	})
	return edges, goroutines
}
