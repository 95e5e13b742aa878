package tracekittest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tracekit-go/tracekit/internal/gostack"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/internal/testname"
)

// Lineage: which goroutine a leaked goroutine descends from.
//
// A goroutine dump says, for every live goroutine, which goroutine ran the
// go statement that created it ("created by F in goroutine N"). That chain
// breaks as soon as a goroutine in it exits. Tasks keep their own chain at
// spawn time so that it survives the end of intermediate tasks:
//
//   - Task.origin is the goroutine ID the task's chain of tasks began in:
//     its parent task's origin when ctx carries one, otherwise the goroutine
//     that called Go (for a task bound to a goroutine by tracekit.Do or
//     Bind, that goroutine itself). It is set before the task's goroutine
//     starts and never changes. Where reading a goroutine ID takes a stack trace (no
//     assembly reader for the architecture) it stays 0 and no task is
//     recorded when it ends: chains then follow live creators only.
//   - When a task ends, its goroutine's ID, origin, task ID and parent
//     task ID go into the record of ended tasks (package
//     internal/tasks), a ring of the last tasks.EndedKept tasks, so that goroutines it created
//     untracked (their dump says "created by ... in goroutine <the
//     task's>") still lead back to the origin after it is gone.
//
// The leak check walks from a leaked goroutine to its creator, from a task
// to its origin (or, when the check runs in a task, up the parent task IDs
// to that task), and from an ended task's goroutine through endedTasks,
// until it reaches the checking goroutine (the leak is the caller's), a
// goroutine without a creator (the leak belongs to someone else), or a
// goroutine that has exited without a record (an untracked goroutine whose
// creator died, or an ended task that aged out of the ring: untraceable).

// lineage answers, for one goroutine dump, whom a goroutine descends from.
type lineage struct {
	self uint64 // the checking goroutine
	// selfTask is the task the checking goroutine runs, if any: tasks
	// started with its context inherit its origin, so they are found
	// through their parents instead.
	selfTask *tasks.Record
	bubble   uint64 // its synctest bubble, 0 outside any
	selfTest string // the test whose code the checking goroutine runs, or ""
	live     map[uint64]*gostack.Goroutine
	tasks    map[uint64]*tasks.Record // live goroutine ID → the task it runs
	ended    map[uint64]tasks.Ended   // goroutine ID of an ended task → its record
	// Task ID → parent task ID, for live and ended tasks; filled only
	// when selfTask is set.
	parents map[uint64]uint64
}

func newLineage(gs []gostack.Goroutine, self uint64) *lineage {
	l := &lineage{
		self:  self,
		live:  make(map[uint64]*gostack.Goroutine, len(gs)),
		tasks: map[uint64]*tasks.Record{},
		ended: tasks.EndedByGoroutine(),
	}
	byAddr := tasks.ByAddr()
	for i := range gs {
		g := &gs[i]
		l.live[g.ID] = g
		if g.ID == self {
			l.bubble = g.Bubble
			if g.HasFunc("testing.tRunner") { // a test's goroutine, not TestMain's
				l.selfTest = testOfStack(g)
			}
		}
		if t := tasks.Of(g, byAddr); t != nil {
			l.tasks[g.ID] = t
		}
	}
	if l.selfTask = l.tasks[self]; l.selfTask != nil {
		l.parents = map[uint64]uint64{}
		for _, e := range l.ended {
			l.parents[e.Task] = e.Parent
		}
		for _, t := range l.tasks {
			l.parents[t.ID] = t.Parent
		}
	}
	return l
}

// parentOf returns the parent task of the task running on goroutine g, or
// 0.
func (l *lineage) parentOf(g uint64) uint64 {
	if t := l.tasks[g]; t != nil {
		return t.Parent
	}
	return 0
}

// underSelf reports whether the task with ID parent is the checking
// goroutine's task or descends from it.
func (l *lineage) underSelf(parent uint64) bool {
	if l.selfTask == nil {
		return false
	}
	for range len(l.parents) + 1 {
		if parent == 0 {
			return false
		}
		if parent == l.selfTask.ID {
			return true
		}
		parent = l.parents[parent]
	}
	return false
}

// trace walks from g up its lineage: from an untracked goroutine to its
// creator, from a task to the goroutine its chain of tasks began in, from
// an ended task's goroutine to its recorded origin. It returns how g is
// attributed, the path it walked and, under VerifyTestMain, the test whose
// goroutine the path went through first.
//
// A goroutine whose lineage breaks (Untraceable) but whose stack names a
// test other than the one the checking goroutine runs, by its creator or
// its own code, is that test's: AttributedElsewhere.
func (l *lineage) trace(g *gostack.Goroutine) (attr LeakAttribution, path string, test string) {
	attr, path = l.walk(g, func(id uint64) {
		if test == "" {
			test = testname.Of(id)
		}
	})
	if attr == Untraceable && l.selfTest != "" {
		if t := testOfStack(g); t != "" && t != l.selfTest {
			return AttributedElsewhere, path + " (started in " + t + ")", t
		}
	}
	return attr, path, test
}

// walk is trace; it calls visit with every goroutine ID on the path.
func (l *lineage) walk(g *gostack.Goroutine, visit func(uint64)) (LeakAttribution, string) {
	var path []string
	viaTask, deep := false, false
	seen := map[uint64]bool{}
	// The ancestors of the last running goroutine visited, which a program
	// run with GODEBUG=tracebackancestors=N prints: they continue the chain
	// past creators that have exited.
	var anc []gostack.Ancestor
	for cur := g.ID; ; {
		if seen[cur] {
			// IDs are never reused, so this only guards against a corrupt
			// record.
			return Untraceable, strings.Join(append(path, "a loop"), " ← ")
		}
		seen[cur] = true
		visit(cur)
		var next uint64
		if lg := l.live[cur]; lg != nil {
			anc = lg.Ancestors
			if t := l.tasks[cur]; t != nil {
				if t.Parent != 0 {
					path = append(path, fmt.Sprintf("task #%d %q (goroutine %d, started by task #%d)", t.ID, t.Name, cur, t.Parent))
					deep = true
				} else {
					path = append(path, fmt.Sprintf("task #%d %q (goroutine %d)", t.ID, t.Name, cur))
				}
				next, viaTask = t.Origin, true
				// No lineage kept on this platform, or a task bound to the
				// goroutine its chain began in (tracekit.Do): its creator.
				if next == 0 || next == cur {
					next = lg.CreatorID
				}
				if l.underSelf(t.Parent) {
					next = l.self
				}
			} else {
				path = append(path, fmt.Sprintf("goroutine %d", cur))
				next = lg.CreatorID
			}
		} else if e, ok := l.ended[cur]; ok {
			path = append(path, fmt.Sprintf("task #%d (goroutine %d, ended)", e.Task, cur))
			next, viaTask = e.Origin, true
			if e.Parent != 0 {
				deep = true
			}
			if l.underSelf(e.Parent) {
				next = l.self
			}
		} else if i := slices.IndexFunc(anc, func(a gostack.Ancestor) bool { return a.ID == cur }); i >= 0 {
			path = append(path, fmt.Sprintf("goroutine %d (exited)", cur))
			switch {
			case i+1 < len(anc):
				next = anc[i+1].ID
			case anc[i].CreatedBy.Func == "": // the main goroutine
				next = 0
			default:
				return Untraceable, strings.Join(append(path, "(no more ancestors printed: raise GODEBUG=tracebackancestors)"), " ← ")
			}
		} else if test := testname.Of(cur); test != "" {
			// A test's goroutine that began a chain of tasks (recorded under
			// VerifyTestMain): the chain's start is known.
			path = append(path, fmt.Sprintf("goroutine %d (%s, exited)", cur, test))
			return AttributedElsewhere, strings.Join(path, " ← ")
		} else {
			path = append(path, fmt.Sprintf("goroutine %d (exited, untracked: no record of its creator)", cur))
			return Untraceable, strings.Join(path, " ← ")
		}
		visit(next)
		switch next {
		case l.self:
			path = append(path, fmt.Sprintf("goroutine %d (the checker)", next))
			attr := AttributedThroughGoroutines
			switch {
			case len(path) == 2 && (!deep || l.selfTask != nil && l.parentOf(g.ID) == l.selfTask.ID):
				attr = AttributedDirectly
			case viaTask:
				attr = AttributedThroughTasks
			}
			return attr, strings.Join(path, " ← ")
		case 0:
			return AttributedElsewhere, strings.Join(append(path, "the runtime"), " ← ")
		}
		cur = next
	}
}
