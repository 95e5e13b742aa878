package console

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// snapshot is every running task at one moment, which the requests within
// its reuse window share (see budget). It keeps the registry's records and
// what each waited on, and the warnings; a page converts only its own rows
// into consoleTasks, so that a page of 100,000 tasks costs its rows, not
// the registry.
type snapshot struct {
	at    time.Time
	recs  []*tasks.Record // sorted by ID
	waits []*tasks.Wait   // recs[i] waited on waits[i], nil while it ran
	// byGoid maps goroutine IDs to task IDs; nil when no task waited on a
	// lock with a recorded holder.
	byGoid map[uint64]uint64
	lints  map[uint64][]string // the lints' warnings, by task ID
	hang   time.Duration       // waits past it are warned about; 0: none
	// held lists, by holder task ID, the locks that tasks have waited on
	// past the hang timeout.
	held     map[uint64][]heldLock
	reported map[uint64]bool // the tasks the kept reports name
	waiting  int
	// resources are what tasks wait on, the longest wait first, at most
	// maxResources; resourcesTotal counts them all.
	resources      []consoleResource
	resourcesTotal int

	mu     sync.Mutex
	orders map[string][]int32 // positions in recs, by sort key, ascending
}

// heldLock is a lock a task holds that others have waited on past the hang
// timeout.
type heldLock struct {
	name    string // as the waiters say it, without "read "
	waiters int
	first   uint64 // the first waiter's ID
	longest time.Duration
}

const (
	maxResources = 100 // rows of the waited-on view
	maxWaiters   = 20  // waiters listed per row
)

// takeSnapshot reads the registry. reported holds the task IDs the kept
// reports name.
func (c *console) takeSnapshot(reported map[uint64]bool) *snapshot {
	now := c.cfg.now()
	recs := tasks.Append(nil)
	slices.SortFunc(recs, func(a, b *tasks.Record) int { return cmp.Compare(a.ID, b.ID) })
	s := &snapshot{at: now, recs: recs, waits: make([]*tasks.Wait, len(recs)), reported: reported,
		hang: hangTimeout(), orders: map[string][]int32{}}
	needHolders := false
	for i, r := range recs {
		w := r.Waiting()
		s.waits[i] = w
		if w != nil {
			s.waiting++
			if w.Lock != nil && w.Lock.Holder() != 0 {
				needHolders = true
			}
		}
	}
	if needHolders {
		s.byGoid = tasks.IDsByGoid()
	}
	l, update := c.linter()
	s.lints = l.Warnings(now, recs, update)
	s.held = map[uint64][]heldLock{}
	s.resources, s.resourcesTotal = s.waitedOn()
	return s
}

// find returns the position of task id, or -1.
func (s *snapshot) find(id uint64) int {
	i, ok := slices.BinarySearchFunc(s.recs, id, func(r *tasks.Record, id uint64) int { return cmp.Compare(r.ID, id) })
	if !ok {
		return -1
	}
	return i
}

func (s *snapshot) has(id uint64) bool { return s.find(id) >= 0 }

// holders is the goroutine-to-task map tasks.EntryOf asks for.
func (s *snapshot) holders() map[uint64]uint64 { return s.byGoid }

// holder returns the holder of the lock w waits on: a task, or else a
// goroutine; zero for none or a channel.
func (s *snapshot) holder(w *tasks.Wait) (task, goroutine uint64) {
	if w == nil || w.Lock == nil {
		return 0, 0
	}
	h := w.Lock.Holder()
	if h == 0 {
		return 0, 0
	}
	if id, ok := s.byGoid[h]; ok {
		return id, 0
	}
	return 0, h
}

// waitingOn says what w waits on, as the tasks do: lock "orders".
func waitingOn(w *tasks.Wait) string { return w.What + " " + strconv.Quote(w.Name) }

// waitedOn groups the waiting tasks by what they wait on, the longest wait
// first, and records, for each lock holder, the locks its waiters have
// waited on past the hang timeout.
func (s *snapshot) waitedOn() ([]consoleResource, int) {
	type key struct {
		what, name string
		lock       tasks.Lock
	}
	type group struct {
		r       consoleResource
		waiters []int // positions, for the longest waits
		since   time.Time
	}
	groups := map[key]*group{}
	var order []*group
	for i, w := range s.waits {
		if w == nil {
			continue
		}
		k := key{w.What, w.Name, w.Lock}
		g := groups[k]
		if g == nil {
			g = &group{since: w.Since}
			g.r.HeldBy, g.r.HeldByGoroutine = s.holder(w)
			groups[k] = g
			order = append(order, g)
		}
		g.waiters = append(g.waiters, i)
		g.r.WaitersTotal++
		if w.Since.Before(g.since) {
			g.since = w.Since
		}
		if waited := s.at.Sub(w.Since); s.hang > 0 && waited >= s.hang && g.r.HeldBy != 0 {
			s.addHeld(g.r.HeldBy, strings.TrimPrefix(waitingOn(w), "read "), s.recs[i].ID, waited)
		}
	}
	slices.SortStableFunc(order, func(a, b *group) int { return a.since.Compare(b.since) })
	total := len(order)
	order = order[:min(len(order), maxResources)]
	out := make([]consoleResource, len(order))
	for j, g := range order {
		slices.SortStableFunc(g.waiters, func(a, b int) int {
			return cmp.Or(s.waits[a].Since.Compare(s.waits[b].Since), cmp.Compare(s.recs[a].ID, s.recs[b].ID))
		})
		r := g.r
		w := s.waits[g.waiters[0]]
		r.WaitingOn = waitingOn(w)
		r.Longest = s.at.Sub(g.since)
		r.LongestSeconds = r.Longest.Seconds()
		for _, i := range g.waiters[:min(len(g.waiters), maxWaiters)] {
			r.Waiters = append(r.Waiters, s.recs[i].ID)
		}
		out[j] = r
	}
	return out, total
}

func (s *snapshot) addHeld(holder uint64, what string, waiter uint64, waited time.Duration) {
	hs := s.held[holder]
	for i := range hs {
		if hs[i].name == what {
			hs[i].waiters++
			hs[i].longest = max(hs[i].longest, waited)
			return
		}
	}
	s.held[holder] = append(hs, heldLock{name: what, waiters: 1, first: waiter, longest: waited})
}

// pastHang reports whether the task at i has waited past the hang timeout.
func (s *snapshot) pastHang(i int) bool {
	w := s.waits[i]
	return w != nil && s.hang > 0 && s.at.Sub(w.Since) >= s.hang
}

// warningCount is how many warnings the task at i has.
func (s *snapshot) warningCount(i int) int {
	id := s.recs[i].ID
	n := len(s.lints[id]) + len(s.held[id])
	if s.pastHang(i) {
		n++
	}
	return n
}

// warnings says what the console warns about the task at i: the lints'
// findings, a wait past the hang timeout, and the locks it holds that
// others have waited on past it.
func (s *snapshot) warnings(i int) []string {
	id := s.recs[i].ID
	out := slices.Clone(s.lints[id])
	if s.pastHang(i) {
		w := s.waits[i]
		waited := s.at.Sub(w.Since).Round(time.Millisecond)
		msg := fmt.Sprintf("waiting %v on %s, past the hang timeout %v", waited, waitingOn(w), s.hang)
		if task, _ := s.holder(w); task != 0 {
			msg += fmt.Sprintf(", held by task %d", task)
		}
		out = append(out, msg)
	}
	for _, h := range s.held[id] {
		if h.waiters == 1 {
			out = append(out, fmt.Sprintf("holds %s, which task %d has waited %v for", h.name, h.first, h.longest.Round(time.Millisecond)))
		} else {
			out = append(out, fmt.Sprintf("holds %s, which %d tasks have waited up to %v for", h.name, h.waiters, h.longest.Round(time.Millisecond)))
		}
	}
	return out
}

// sortKeys are the orders the list can take: "" is the default, the most
// interesting tasks first.
var sortKeys = []string{"", "id", "name", "state", "total", "waiting", "site", "warnings"}

// order returns the positions of the tasks sorted by key, ascending; each
// order is sorted once per snapshot.
func (s *snapshot) order(key string) []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orders[key]; ok {
		return o
	}
	o := make([]int32, len(s.recs))
	for i := range o {
		o[i] = int32(i)
	}
	if key != "id" {
		cmpFn := s.comparer(key)
		slices.SortStableFunc(o, func(a, b int32) int {
			return cmp.Or(cmpFn(int(a), int(b)), cmp.Compare(a, b)) // positions are in ID order
		})
	}
	s.orders[key] = o
	return o
}

// comparer compares the tasks at two positions by key.
func (s *snapshot) comparer(key string) func(a, b int) int {
	waited := func(i int) time.Duration {
		if w := s.waits[i]; w != nil {
			return s.at.Sub(w.Since)
		}
		return 0
	}
	switch key {
	case "name":
		return func(a, b int) int { return strings.Compare(s.recs[a].Name, s.recs[b].Name) }
	case "state":
		state := func(i int) string {
			if s.waits[i] != nil {
				return string(inspect.TaskWaiting)
			}
			return string(inspect.TaskRunning)
		}
		return func(a, b int) int { return strings.Compare(state(a), state(b)) }
	case "total":
		return func(a, b int) int { return s.recs[b].Start.Compare(s.recs[a].Start) }
	case "waiting":
		what := func(i int) string {
			if w := s.waits[i]; w != nil {
				return waitingOn(w)
			}
			return ""
		}
		return func(a, b int) int {
			return cmp.Or(cmp.Compare(waited(a), waited(b)), strings.Compare(what(a), what(b)))
		}
	case "site":
		names := map[*tasks.Site]string{}
		site := func(i int) string {
			st := s.recs[i].Site
			n, ok := names[st]
			if !ok {
				n = st.String()
				names[st] = n
			}
			return n
		}
		return func(a, b int) int { return strings.Compare(site(a), site(b)) }
	case "warnings":
		return func(a, b int) int { return cmp.Compare(s.warningCount(a), s.warningCount(b)) }
	}
	// The most interesting first: named by a report, warned about, waiting
	// longest.
	flag := func(b bool) int {
		if b {
			return 0
		}
		return 1
	}
	return func(a, b int) int {
		return cmp.Or(
			cmp.Compare(flag(s.reported[s.recs[a].ID]), flag(s.reported[s.recs[b].ID])),
			cmp.Compare(flag(s.warningCount(a) > 0), flag(s.warningCount(b) > 0)),
			cmp.Compare(waited(b), waited(a)))
	}
}

// task converts the task at i for a page.
func (c *console) task(s *snapshot, i int) consoleTask {
	r, w := s.recs[i], s.waits[i]
	e := tasks.EntryOf(r, w, s.holders)
	ti := inspect.Task(e.Info)
	ct := consoleTask{
		ID: ti.ID, Name: ti.Name, Parent: ti.Parent, State: ti.State(),
		Start: ti.Start, Total: s.at.Sub(ti.Start),
		WaitingOn: ti.WaitingOn, HeldBy: ti.HeldBy, HeldByGoroutine: ti.HeldByGoroutine,
		SpawnSite: ti.SpawnSite(), SpawnFunction: ti.SpawnFunction, SpawnFile: ti.SpawnFile, SpawnLine: ti.SpawnLine,
	}
	ct.TotalSeconds = ct.Total.Seconds()
	if ct.State == inspect.TaskWaiting {
		since := ti.WaitingSince
		ct.WaitingSince = &since
		ct.Waiting = s.at.Sub(since)
		ct.WaitingSeconds = ct.Waiting.Seconds()
	}
	ct.Warnings = s.warnings(i)
	if ti.TraceID.IsValid() {
		ct.TraceID, ct.SpanID = ti.TraceID.String(), ti.SpanID.String()
		ct.TraceURL = c.traceLink(ct.TraceID, ct.SpanID)
	}
	return ct
}
