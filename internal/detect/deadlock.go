package detect

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/tracekit-go/tracekit/internal/gostack"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// Deadlocks: when a wait reaches the hang timeout, the detector follows
// the waits from the waiting task to the tasks that can end it (the
// holders of the lock it waits for; for a read lock with no writer holding
// it, the tasks queued to write-lock it; for a channel, the only task seen
// on its other side) and from them, while they wait too, to theirs. A path
// back to the first task is a cycle of tasks that can never wake: one
// report names them all, and the hang reports of its waits are not made.
// The walk is done twice and must find the same waits both times, so that
// a wait that ended meanwhile is not taken for a deadlock.

// blocker is a task that can end a wait, and how.
type blocker struct {
	task *tasks.Record
	// how is the end of a sentence that starts with what the waiter waits
	// for: "which task 8 "refund" took at bank/transfer.go:30".
	how    string
	label  string    // the label of the stack where
	where  []uintptr // where the blocker took the lock, nil if not known
	queued bool      // a writer queued for the lock: where is its wait, shown as its own step
}

// step is one wait of a cycle: task waits (w) for something that b holds.
type step struct {
	task *tasks.Record
	w    *tasks.Wait
	b    blocker
}

// deadlock looks for a cycle of waits through w, the wait of task rec, and
// makes its report. gs is a goroutine dump, for the tasks' stacks.
func (d *Detector) deadlock(rec *tasks.Record, w *tasks.Wait, gs []gostack.Goroutine) (inspect.Report, bool) {
	byGoid := tasks.RecordsByGoid()
	if len(byGoid) == 0 {
		return inspect.Report{}, false
	}
	cycle := d.findCycle(rec, w, byGoid)
	if cycle == nil || !slices.Equal(waitsOf(cycle), waitsOf(d.findCycle(rec, w, tasks.RecordsByGoid()))) {
		return inspect.Report{}, false
	}
	for _, s := range cycle {
		s.w.Covered.Store(true)
	}
	return d.deadlockReport(cycle, gs), true
}

func waitsOf(cycle []step) []*tasks.Wait {
	out := make([]*tasks.Wait, len(cycle))
	for i, s := range cycle {
		out[i] = s.w
	}
	return out
}

// findCycle returns the waits of a cycle from task rec, waiting on w, back
// to rec, or nil. byGoid maps goroutine IDs to the running tasks.
func (d *Detector) findCycle(rec *tasks.Record, w *tasks.Wait, byGoid map[uint64]*tasks.Record) []step {
	if rec.Waiting() != w {
		return nil
	}
	all := make([]*tasks.Record, 0, len(byGoid))
	goidOf := make(map[*tasks.Record]uint64, len(byGoid))
	for g, r := range byGoid {
		all = append(all, r)
		goidOf[r] = g
	}
	seen := map[*tasks.Record]bool{rec: true}
	var path []step
	var walk func(r *tasks.Record, w *tasks.Wait) bool
	walk = func(r *tasks.Record, w *tasks.Wait) bool {
		for _, b := range d.blockers(r, w, byGoid, all) {
			if b.task == rec {
				path = append(path, step{r, w, b})
				return true
			}
			if seen[b.task] {
				continue
			}
			seen[b.task] = true
			bw := b.task.Waiting()
			if bw == nil {
				continue // it runs, and may yet let go
			}
			path = append(path, step{r, w, b})
			if walk(b.task, bw) {
				return true
			}
			path = path[:len(path)-1]
		}
		return false
	}
	if walk(rec, w) {
		return path
	}
	return nil
}

// blockers returns the tasks that can end wait w of task r.
func (d *Detector) blockers(r *tasks.Record, w *tasks.Wait, byGoid map[uint64]*tasks.Record, all []*tasks.Record) []blocker {
	if w.Chan != 0 {
		send := isSend(w.What)
		id, ok := d.peers.only(w.Chan, !send)
		if !ok || id == r.ID {
			return nil
		}
		side := "receiving from"
		if !send {
			side = "sending on"
		}
		for _, t := range all {
			if t.ID == id {
				return []blocker{{task: t, how: fmt.Sprintf("which only %s has been seen %s", t.Text(), side)}}
			}
		}
		return nil
	}
	l, ok := w.Lock.(*Lock)
	if !ok {
		return nil
	}
	st := l.st.Load()
	if st == nil {
		return nil
	}
	var out []blocker
	add := func(t *tasks.Record, read bool, where []uintptr) {
		if t == nil || slices.ContainsFunc(out, func(b blocker) bool { return b.task == t }) {
			return
		}
		verb, label, holds := "took", fmt.Sprintf("%s acquired %q here", t.Text(), w.Name), "holds"
		if read {
			verb, label, holds = "read-locked", fmt.Sprintf("%s read-locked %q here", t.Text(), w.Name), "holds for reading"
		}
		how := fmt.Sprintf("which %s %s", t.Text(), holds)
		if p := place(where); p != "" {
			how = fmt.Sprintf("which %s %s at %s", t.Text(), verb, p)
		}
		out = append(out, blocker{task: t, how: how, label: label, where: where})
	}
	var held []holding
	if d.order != nil {
		held = d.order.holding(l, st.id)
	}
	writer := l.Holder()
	if writer != 0 {
		var where []uintptr
		for _, h := range held {
			if h.gid == writer && !h.read {
				where = h.where
			}
		}
		add(byGoid[writer], false, where)
	}
	for _, h := range held {
		// Other readers never hold back a reader.
		if h.gid != 0 && h.gid != writer && !(h.read && w.What == "read lock") {
			add(byGoid[h.gid], h.read, h.where)
		}
	}
	if w.What == "read lock" && writer == 0 {
		// Readers queue behind a writer queued for the lock (so that
		// writers are not starved): it, in turn, waits for the readers. A
		// LockContext waits apart, and holds no reader back.
		for _, t := range all {
			if t == r {
				continue
			}
			if tw := t.Waiting(); tw != nil && tw.What == "lock" && tw.Queued && tw.Lock == w.Lock {
				out = append(out, blocker{task: t, how: fmt.Sprintf("queued behind %s, which waits to write-lock it", t.Text()), queued: true})
			}
		}
	}
	return out
}

// deadlockReport describes a cycle of waits.
func (d *Detector) deadlockReport(cycle []step, gs []gostack.Goroutine) inspect.Report {
	var sentences []string
	var stacks []inspect.Stack
	members := make([]*tasks.Record, len(cycle))
	for i, s := range cycle {
		members[i] = s.task
		waitsAt := ""
		if p := place(s.w.Stack); p != "" {
			waitsAt = " at " + p
		}
		var what string
		switch s.w.What {
		case "send on":
			what = fmt.Sprintf("to send on %q", s.w.Name)
		case "receive from":
			what = fmt.Sprintf("to receive from %q", s.w.Name)
		default:
			what = fmt.Sprintf("for %s %q", s.w.What, s.w.Name)
		}
		sentences = append(sentences, fmt.Sprintf("%s waits%s %s, %s", s.task.Text(), waitsAt, what, s.b.how))
		stacks = append(stacks, inspect.Stack{Label: fmt.Sprintf("%s waits %s here", s.task.Text(), what), PC: s.w.Stack})
		if !s.b.queued {
			stacks = append(stacks, inspect.Stack{Label: s.b.label, PC: s.b.where})
		}
	}
	first := cycle[0].w
	r := inspect.Report{
		Kind:    inspect.KindDeadlock,
		Message: fmt.Sprintf("deadlock of %d task(s): %s", len(cycle), strings.Join(sentences, "; ")),
		Stacks:  nonEmpty(stacks...),
		Tasks:   holderInfos(members, gs),
	}
	if isChannelWait(first.What) {
		r.Channel = first.Name
	} else {
		r.Lock = first.Name
	}
	return r
}

// peerBook remembers, per channel and direction, the tasks seen blocked
// on it, so that a wait on the other side knows who could end it when one
// task alone has been seen there. It is bounded: past maxPeerChans
// channels it starts again.
type peerBook struct {
	mu sync.Mutex
	m  map[peerKey]*peerSet
}

const maxPeerChans = 4096

type peerKey struct {
	ch   uintptr
	send bool
}

// peerSet is the first task seen, and whether others were seen too.
type peerSet struct {
	id   uint64
	many bool
}

// note records that task id blocked sending (send) or receiving on ch.
func (p *peerBook) note(ch uintptr, send bool, id uint64) {
	k := peerKey{ch, send}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil || len(p.m) >= maxPeerChans {
		p.m = map[peerKey]*peerSet{}
	}
	s := p.m[k]
	switch {
	case s == nil:
		p.m[k] = &peerSet{id: id}
	case s.id != id:
		s.many = true
	}
}

// only returns the one task seen blocked sending (send) or receiving on
// ch, if exactly one was.
func (p *peerBook) only(ch uintptr, send bool) (uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.m[peerKey{ch, send}]
	if s == nil || s.many {
		return 0, false
	}
	return s.id, true
}
