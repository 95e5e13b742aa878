package tracekit

import (
	"context"
	"fmt"
	"sync"
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
	d        *detector
	maxEdges int

	mu       sync.Mutex
	edges    map[[2]uint64]*edge
	reported map[[2]uint64]bool // pairs (low id first) already reported
	resets   int

	held [64]heldShard
}

type edge struct {
	fromName, toName string
	from, to         []uintptr // where from was acquired; where to was acquired while from was held
}

type heldShard struct {
	mu sync.Mutex
	m  map[uintptr][]heldLock
	_  [40]byte
}

// heldLock is one lock a goroutine holds.
type heldLock struct {
	id    uint64
	name  string
	read  bool
	stack []uintptr
}

func newOrderGraph(d *detector, maxEdges int) *orderGraph {
	return &orderGraph{d: d, maxEdges: maxEdges, edges: make(map[[2]uint64]*edge), reported: make(map[[2]uint64]bool)}
}

func (o *orderGraph) shard(g uintptr) *heldShard { return &o.held[(g>>6)%uintptr(len(o.held))] }

// before runs on the acquiring goroutine before it blocks for lock id. It
// reports a recursive acquisition or a read-to-write upgrade (which would
// block forever) and any inversion the new edges close. It returns the
// acquisition stack for after.
func (o *orderGraph) before(ctx context.Context, id uint64, name string, read bool) []uintptr {
	stack := callers(2)
	g := goroutineKey()
	sh := o.shard(g)
	sh.mu.Lock()
	held := append([]heldLock(nil), sh.m[g]...)
	sh.mu.Unlock()
	if len(held) == 0 {
		return stack
	}
	var reports []Report
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
			msg := fmt.Sprintf("recursive locking: %q is already held by this goroutine", name)
			if h.read && !read {
				msg = fmt.Sprintf("read lock upgraded to write lock: %q is read-locked by this goroutine, which now asks for the write lock", name)
			}
			reports = append(reports, Report{Kind: ReportRecursiveLock, Message: msg, Lock: name,
				Stacks: []Stack{
					{Label: fmt.Sprintf("%q acquired here first", name), PC: h.stack},
					{Label: fmt.Sprintf("%q requested again here", name), PC: stack},
				}})
			continue
		}
		key := [2]uint64{h.id, id}
		if _, ok := o.edges[key]; ok {
			continue
		}
		if len(o.edges) >= o.maxEdges {
			clear(o.edges)
			o.resets++
		}
		o.edges[key] = &edge{fromName: h.name, toName: name, from: h.stack, to: stack}
		rev, ok := o.edges[[2]uint64{id, h.id}]
		if !ok {
			continue
		}
		pair := [2]uint64{min(id, h.id), max(id, h.id)}
		if o.reported[pair] {
			continue
		}
		o.reported[pair] = true
		reports = append(reports, Report{
			Kind: ReportLockOrder,
			Message: fmt.Sprintf("lock order inversion: %q then %q here, %q then %q earlier; two goroutines taking these paths at once deadlock",
				h.name, name, rev.fromName, rev.toName),
			Lock:  name,
			Other: h.name,
			Stacks: []Stack{
				{Label: fmt.Sprintf("earlier: %q acquired here", rev.fromName), PC: rev.from},
				{Label: fmt.Sprintf("earlier: then %q acquired here", rev.toName), PC: rev.to},
				{Label: fmt.Sprintf("now: %q acquired here", h.name), PC: h.stack},
				{Label: fmt.Sprintf("now: then %q requested here", name), PC: stack},
			},
		})
	}
	if len(o.reported) > o.maxEdges {
		clear(o.reported)
	}
	o.mu.Unlock()
	for _, r := range reports {
		o.d.emit(ctx, r)
	}
	return stack
}

// tried records a TryLock that succeeded: the lock is now held, so later
// blocking acquisitions order after it, but a TryLock never blocks and so
// adds no edge itself.
func (o *orderGraph) tried(id uint64, name string, read bool) uintptr {
	return o.after(id, name, read, callers(2))
}

// after records that the calling goroutine now holds lock id. It returns
// the goroutine's key for release.
func (o *orderGraph) after(id uint64, name string, read bool, stack []uintptr) uintptr {
	g := goroutineKey()
	sh := o.shard(g)
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = make(map[uintptr][]heldLock)
	}
	sh.m[g] = append(sh.m[g], heldLock{id: id, name: name, read: read, stack: stack})
	sh.mu.Unlock()
	return g
}

// release forgets one hold of lock id by goroutine g (the acquirer, which
// need not be the caller: a lock may be unlocked by another goroutine). If
// g is 0 or does not hold it, the calling goroutine and then every
// goroutine is searched.
func (o *orderGraph) release(id uint64, g uintptr) {
	if g != 0 && o.releaseFrom(id, g) {
		return
	}
	if o.releaseFrom(id, goroutineKey()) {
		return
	}
	for i := range o.held {
		sh := &o.held[i]
		sh.mu.Lock()
		for g, list := range sh.m {
			if j := indexHeld(list, id); j >= 0 {
				sh.m[g] = removeHeld(list, j)
				if len(sh.m[g]) == 0 {
					delete(sh.m, g)
				}
				sh.mu.Unlock()
				return
			}
		}
		sh.mu.Unlock()
	}
}

func (o *orderGraph) releaseFrom(id uint64, g uintptr) bool {
	sh := o.shard(g)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	list := sh.m[g]
	j := indexHeld(list, id)
	if j < 0 {
		return false
	}
	if list = removeHeld(list, j); len(list) == 0 {
		delete(sh.m, g)
	} else {
		sh.m[g] = list
	}
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

// holderStacks returns where the current holders of lock id acquired it.
func (o *orderGraph) holderStacks(id uint64, name string) []Stack {
	var out []Stack
	for i := range o.held {
		sh := &o.held[i]
		sh.mu.Lock()
		for _, list := range sh.m {
			for _, h := range list {
				if h.id == id {
					label := fmt.Sprintf("holder acquired %q here", name)
					if h.read {
						label = fmt.Sprintf("reader acquired %q here", name)
					}
					out = append(out, Stack{Label: label, PC: h.stack})
				}
			}
		}
		sh.mu.Unlock()
	}
	return out
}

// size reports the number of edges and goroutines with held locks, for
// tests of the memory bound.
func (o *orderGraph) size() (edges, goroutines int) {
	o.mu.Lock()
	edges = len(o.edges)
	o.mu.Unlock()
	for i := range o.held {
		sh := &o.held[i]
		sh.mu.Lock()
		goroutines += len(sh.m)
		sh.mu.Unlock()
	}
	return edges, goroutines
}
