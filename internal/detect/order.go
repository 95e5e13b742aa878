package detect

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

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

// heldList is what one goroutine holds. Its write holds (own) are touched
// by that goroutine only, with no lock, so that the common acquisition and
// release cost no atomic operation; what reports need of a write hold they
// read from the lock itself (Lock.holder, site, stk). A write hold that
// another goroutine releases stays in own until the owner next acquires a
// lock and finds the lock's release count moved on. Read holds (locks)
// can be released by any goroutine and are under mu.
type heldList struct {
	mu    sync.Mutex
	locks []heldLock   // read holds
	reads atomic.Int32 // len(locks), for the owner to read without mu
	// gid is the runtime ID of the goroutine the list belongs to (0 until
	// known). The key of a list is a goroutine descriptor, which the runtime
	// reuses once its goroutine ends: a goroutine that finds another's list
	// under its key gets a fresh one.
	gid atomic.Uint64
	key uintptr // the goroutine key it is filed under

	own  []ownHold
	nOwn uintptr // len(own), for size; read with goid.LoadWord
	// stale counts the write holds in own that other goroutines released
	// and the owner has not pruned yet, for size.
	stale atomic.Int32
}

// ownHold is a write hold in its owner's list: over once l.rel is no
// longer rel. Its name and stack are the lock's (heldLock makes them).
type ownHold struct {
	l    *Lock
	rel  uintptr
	id   uint64
	site uintptr
}

// live reports whether the hold has not been released since.
func (oh *ownHold) live() bool { return goid.LoadWord(&oh.l.rel) == oh.rel }

// heldLock returns the hold as the graph's checks take it.
func (oh *ownHold) heldLock() heldLock {
	h := heldLock{id: oh.id, name: oh.l.state().nameFor(), site: oh.site}
	if st := oh.l.stk.Load(); st != nil && st.rel == oh.rel {
		h.stack = st.pcs
	}
	return h
}

// held returns the goroutine's holds, write and read, for the graph.
func (hl *heldList) held() []heldLock {
	var out []heldLock
	for i := range hl.own {
		if hl.own[i].live() {
			out = append(out, hl.own[i].heldLock())
		}
	}
	if hl.reads.Load() > 0 {
		hl.mu.Lock()
		out = append(out, hl.locks...)
		hl.mu.Unlock()
	}
	return out
}

// knownFrom reports whether the graph has every edge from the goroutine's
// holds (pruned already) to id, without copying them.
func (o *orderGraph) knownFrom(hl *heldList, id uint64) bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	for i := range hl.own {
		if _, ok := o.edges[[2]uint64{hl.own[i].id, id}]; !ok {
			return false
		}
	}
	if hl.reads.Load() == 0 {
		return true
	}
	hl.mu.Lock()
	defer hl.mu.Unlock()
	for _, h := range hl.locks {
		if _, ok := o.edges[[2]uint64{h.id, id}]; !ok {
			return false
		}
	}
	return true
}

// prune drops the write holds that other goroutines released.
func (hl *heldList) prune() {
	j := 0
	for i := range hl.own {
		if hl.own[i].live() {
			hl.own[j] = hl.own[i]
			j++
		}
	}
	if n := len(hl.own) - j; n > 0 {
		clear(hl.own[j:])
		hl.own = hl.own[:j]
		hl.nOwn = uintptr(j)
		hl.stale.Add(int32(-n))
	}
}

// push records a write hold of l; the owner calls it.
func (hl *heldList) push(l *Lock, id uint64, site uintptr) {
	hl.own = append(hl.own, ownHold{l: l, rel: l.rel, id: id, site: site})
	hl.nOwn = uintptr(len(hl.own))
}

// pop forgets the owner's write hold of l, on its release by the owner.
// releaseWrite does the common case, the last hold taken, itself.
func (hl *heldList) pop(l *Lock) {
	for i := len(hl.own) - 1; i >= 0; i-- {
		if hl.own[i].l == l {
			copy(hl.own[i:], hl.own[i+1:])
			hl.own[len(hl.own)-1] = ownHold{}
			hl.own = hl.own[:len(hl.own)-1]
			hl.nOwn = uintptr(len(hl.own))
			return
		}
	}
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

// list returns the calling goroutine's list.
func (o *orderGraph) list() *heldList { return o.listOf(goid.KeyID()) }

// listOf returns the list of the calling goroutine, whose key is g and
// whose ID is id (0 where IDs are not read cheaply). Most calls are one
// load from recent.
func (o *orderGraph) listOf(g uintptr, id uint64) *heldList {
	hl := o.recent[listSlot(g)].Load()
	if hl == nil || hl.key != g || hl.gid.Load() != id { // gid stays 0 where id is
		hl = o.listSlow(g, id)
	}
	return hl
}

// listSlot is where recent caches the list of the goroutine with key g.
func listSlot(g uintptr) uintptr { return (g>>9 ^ g>>13) & (listCache - 1) }

// listSlow is listOf's lookup past the cache.
func (o *orderGraph) listSlow(g uintptr, id uint64) *heldList {
	slot := &o.recent[listSlot(g)]
	hl := slot.Load()
	if hl == nil || hl.key != g {
		v, ok := o.goroutines.Load(g)
		if !ok {
			v, _ = o.goroutines.LoadOrStore(g, &heldList{key: g})
		}
		hl = v.(*heldList)
		slot.Store(hl)
	}
	if id != 0 && hl.gid.Load() != id {
		if hl.gid.Load() != 0 {
			// Another goroutine's: what it held, the locks themselves
			// say; its read holds are released through every list.
			hl = &heldList{key: g}
			o.goroutines.Store(g, hl)
			slot.Store(hl)
		}
		hl.gid.Store(id)
	}
	return hl
}

// acquire records that the calling goroutine took lock l (state st)
// without waiting (the common path), at site, and checks the edges from
// the locks it already holds. It returns the goroutine's list for release
// and the goroutine's ID (0 where IDs are not read cheaply).
func (o *orderGraph) acquire(ctx context.Context, l *Lock, st *lockState, read, tried bool, site uintptr) (*heldList, uint64) {
	g, gid := goid.KeyID()
	hl := o.recent[listSlot(g)].Load() // listOf, by hand: too large to inline
	if hl == nil || hl.key != g || hl.gid.Load() != gid {
		hl = o.listSlow(g, gid)
	}
	if !read && len(hl.own) == 0 && hl.reads.Load() == 0 {
		// The common case: a write hold of a goroutine that holds
		// nothing else, so no edge to check (add, inlined).
		l.site = site
		hl.push(l, st.id, site)
		return hl, gid
	}
	if len(hl.own) > 0 {
		hl.prune()
	}
	var stack []uintptr
	if (len(hl.own) > 0 || hl.reads.Load() > 0) && !tried && !o.knownFrom(hl, st.id) {
		stack = callers(0)
		o.check(ctx, hl.held(), st.id, st.nameFor(), read, stack)
	}
	hl.add(l, st, read, site, stack)
	return hl, gid
}

// add records a hold of l (state st): a write hold in the owner's list and
// on the lock, a read hold under mu.
func (hl *heldList) add(l *Lock, st *lockState, read bool, site uintptr, stack []uintptr) {
	if read {
		hl.mu.Lock()
		hl.locks = append(hl.locks, heldLock{id: st.id, name: st.nameFor(), read: true, site: site, stack: stack})
		hl.reads.Store(int32(len(hl.locks)))
		hl.mu.Unlock()
		return
	}
	l.site = site
	if stack != nil {
		l.stk.Store(&heldStack{rel: l.rel, pcs: stack})
	}
	hl.push(l, st.id, site)
}

// heldStack is where a write hold was acquired, kept on the lock for
// reports: the hold's, while the lock's release count is rel.
type heldStack struct {
	rel uintptr
	pcs []uintptr
}

// before runs on the slow path, before the goroutine blocks for lock id: it
// reports a recursive acquisition or a read-to-write upgrade (which would
// block forever) and any inversion the new edges close. It returns the
// acquisition stack for after.
func (o *orderGraph) before(ctx context.Context, id uint64, name string, read bool) []uintptr {
	stack := callers(0)
	hl := o.list()
	hl.prune()
	if held := hl.held(); len(held) > 0 {
		o.check(ctx, held, id, name, read, stack)
	}
	return stack
}

// after records that the calling goroutine now holds lock l (state st),
// acquired on the slow path.
func (o *orderGraph) after(l *Lock, st *lockState, read bool, stack []uintptr) *heldList {
	hl := o.list()
	hl.add(l, st, read, 0, stack)
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

// releaseWrite forgets l's write hold, from the releasing goroutine (the
// caller still holds the lock): the acquirer's list drops it now when the
// acquirer releases it, later otherwise (see heldList).
func (o *orderGraph) releaseWrite(l *Lock) {
	if hl := l.owner; hl != nil {
		if id := goid.Current(); id != 0 && hl.gid.Load() == id { // the owner releases it
			if n := len(hl.own) - 1; n >= 0 && hl.own[n].l == l { // last in, first out
				hl.own[n].l = nil // the rest is plain data
				hl.own = hl.own[:n]
				hl.nOwn = uintptr(n)
			} else {
				hl.pop(l)
			}
		} else {
			hl.stale.Add(1)
		}
	}
	l.owner = nil
	l.rel++
}

// releaseRead forgets one read hold of lock id: the calling goroutine's,
// if it has one. Otherwise which reader's hold ended cannot be told: every
// list forgets the lock, since a hold wrongly kept would make false
// reports, where one wrongly forgotten only misses edges.
func (o *orderGraph) releaseRead(id uint64) {
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
	hl.reads.Store(int32(len(hl.locks)))
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

// writeHold returns what lock l itself says of its write hold, when it is
// write-held under lock-order detection: the holder's goroutine ID (0
// where IDs are not read) and where it was acquired (nil when not
// recorded). The fields are written by the holder and read here with plain
// loads (goid.LoadWord): a hold that changes hands meanwhile can mix the
// two, which a report can bear.
func (l *Lock) writeHold() (held bool, gid uint64, where []uintptr) {
	if goid.LoadWord((*uintptr)(unsafe.Pointer(&l.owner))) == 0 {
		return false, 0, nil
	}
	gid = l.Holder()
	if st := l.stk.Load(); st != nil && st.rel == goid.LoadWord(&l.rel) {
		return true, gid, st.pcs
	}
	if site := goid.LoadWord(&l.site); site != 0 {
		return true, gid, []uintptr{site}
	}
	return true, gid, nil
}

// holders returns what is known of the current holders of lock l, whose
// lock-order identity is id, which stacks label name.
func (o *orderGraph) holders(l *Lock, id uint64, name string) HolderSet {
	var out HolderSet
	addHolder := func(gid uint64, key uintptr) {
		// gid is the holder's ID, where IDs are read: its descriptor (key)
		// may since run another goroutine, or none, when the holder has
		// exited with the lock held.
		switch {
		case gid != 0:
			if t := tasks.ByGoid(gid); t != nil {
				out.Tasks = append(out.Tasks, t)
			} else {
				out.Goroutines = append(out.Goroutines, gid)
			}
		case key != 0 && goid.Fast && tasks.OnKey(key) != nil:
			out.Tasks = append(out.Tasks, tasks.OnKey(key))
		default:
			out.Untracked++
		}
	}
	if held, gid, where := l.writeHold(); held {
		if len(where) == 0 {
			out.Unknown++
		} else {
			out.Stacks = append(out.Stacks, inspect.Stack{Label: fmt.Sprintf("holder acquired %q here", name), PC: where})
		}
		addHolder(gid, 0)
	}
	o.goroutines.Range(func(k, v any) bool {
		hl := v.(*heldList)
		hl.mu.Lock()
		held := false
		for _, h := range hl.locks {
			if h.id != id {
				continue
			}
			held = true
			pcs := h.where()
			if len(pcs) == 0 {
				out.Unknown++
				continue
			}
			out.Stacks = append(out.Stacks, inspect.Stack{Label: fmt.Sprintf("reader acquired %q here", name), PC: pcs})
		}
		hl.mu.Unlock()
		if held {
			addHolder(hl.gid.Load(), k.(uintptr))
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

// holding lists the holds of lock l, whose lock-order identity is id: its
// write hold, as the lock records it, and the read holds in the
// goroutines' held lists.
func (o *orderGraph) holding(l *Lock, id uint64) []holding {
	var out []holding
	if held, gid, where := l.writeHold(); held {
		out = append(out, holding{gid: gid, where: where})
	}
	o.goroutines.Range(func(_, v any) bool {
		hl := v.(*heldList)
		hl.mu.Lock()
		for _, h := range hl.locks {
			if h.id == id {
				out = append(out, holding{gid: hl.gid.Load(), read: true, where: h.where()})
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
	return d.order.holders(l, st.id, st.nameFor())
}

// size reports the number of edges and of goroutines holding locks.
func (o *orderGraph) size() (edges, goroutines int) {
	o.mu.RLock()
	edges = len(o.edges)
	o.mu.RUnlock()
	o.goroutines.Range(func(_, v any) bool {
		hl := v.(*heldList)
		if int64(goid.LoadWord(&hl.nOwn))-int64(hl.stale.Load()) > 0 || hl.reads.Load() > 0 {
			goroutines++
		}
		return true
	})
	return edges, goroutines
}
