package tracekit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/env"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

// Defaults of the task lints, the checks a background sweep of the task
// registry makes while a [Kit] runs (see [WithLintInterval]). The console
// ([Handler]) shows the same lints.
const (
	// DefaultLintInterval is how often the lints sweep the registry
	// ([WithLintInterval], TRACEKIT_LINT_INTERVAL).
	DefaultLintInterval = time.Second
	// DefaultBlockedLint is how long a task may wait on a tracekit lock or
	// channel before a [ReportBlocked] is made ([WithBlockedLint],
	// TRACEKIT_LINT_BLOCKED). Idle workers waiting for jobs on a channel
	// are blocked too, so the default is well above a normal wait.
	DefaultBlockedLint = 10 * time.Second
	// DefaultLockHeldLint is how long a task may wait on a lock before the
	// lock is reported as held too long ([WithLockHeldLint],
	// TRACEKIT_LINT_LOCK_HELD); it is [DefaultLongHold], so that a hold
	// reported while it lasts and one reported at release are long by the
	// same measure.
	DefaultLockHeldLint = DefaultLongHold
	// DefaultOrphanGrace is how long a task may outlive the task that
	// started it before a [ReportOrphanTask] is made ([WithOrphanLint],
	// TRACEKIT_LINT_ORPHAN_GRACE).
	DefaultOrphanGrace = 30 * time.Second
	// DefaultGrowthSamples, DefaultGrowthInterval and DefaultGrowthMinRise
	// configure the spawn-growth lint ([WithSpawnGrowthLint]): 12 samples
	// 5s apart, a minute of history, and a net rise of at least 10 tasks.
	DefaultGrowthSamples  = 12
	DefaultGrowthInterval = 5 * time.Second
	DefaultGrowthMinRise  = 10
)

// lintSettings are the lint options given to [Start]; nil means not set.
type lintSettings struct {
	interval, blocked, held, orphan, growthEvery *time.Duration
	growthSamples, growthMinRise                 *int
}

// WithLintInterval sets how often a background sweep of the task registry
// runs the task lints, overriding TRACEKIT_LINT_INTERVAL. Default
// [DefaultLintInterval] (1s); 0 turns the sweep off. The sweep runs while
// the Kit that installed the globals runs (not for a Kit started
// [WithoutGlobals]) and stops in [Kit.Shutdown]. It reads the registry
// only, never goroutine stacks, and makes each report once per episode:
// once per wait ([ReportBlocked]), once per stretch of time a lock stays
// held with tasks waiting on it ([ReportLongHold]), once per task
// ([ReportOrphanTask]) and once per growth episode ([ReportSpawnGrowth]).
// Reports go where the detectors' go ([WithReportHandler], a
// "tracekit.report" event on the affected task's span, slog WARN). A sweep
// costs about 30 µs per 1,000 live tasks and allocates nothing in the
// steady state (BenchmarkLintSweep: about 0.37 ms for 10,000, a tenth of
// a [Snapshot] of them).
func WithLintInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lint.interval = &d })
}

// WithBlockedLint sets how long a tracked task ([Go], [Group.Go]) may wait
// on a tracekit lock or channel before a [ReportBlocked] is made (once per
// wait, while it still waits), overriding TRACEKIT_LINT_BLOCKED. Default
// [DefaultBlockedLint] (10s); 0 turns the lint off. The hang timeout
// ([WithHangTimeout]) covers every goroutine, tracked or not, with a full
// goroutine dump; this lint is the cheap, earlier warning about tasks.
// A worker that idles until work arrives should wait on the plain channel
// ([Chan.C]) rather than [Recv], so that idling is not a wait.
func WithBlockedLint(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lint.blocked = &d })
}

// WithLockHeldLint sets how long a task may wait on a tracekit lock before
// the lock is reported as held too long, overriding TRACEKIT_LINT_LOCK_HELD.
// Default [DefaultLockHeldLint] (1s); 0 turns the lint off.
//
// A lock that a task has waited on for d has been held (by one holder or a
// succession of them) for at least d. The lint reports it while it is still
// held, as a [ReportLongHold] whose message says "still held", whose
// Duration is that lower bound and whose Tasks are the holders (first, when
// known) and the waiters, longest first. Each lock records the goroutine
// holding it for writing while a Kit runs, which names a holder that is a
// tracked task ([Go], [Group.Go]); with lock-order detection on
// ([WithDeadlockDetection]), which tracks what each goroutine holds, readers
// are named too, found by the lock's name (so locks that share a name name
// each other's holders). A hold that then ends past the long-hold threshold
// ([WithLongHold]) is reported again at release, with its full length and
// without Tasks: the first report says a hold is going on, the second how
// long it lasted. Holds nobody waits on are reported only at release.
func WithLockHeldLint(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lint.held = &d })
}

// WithOrphanLint sets how long a tracked task may keep running after the
// task that started it ended before a [ReportOrphanTask] is made (once per
// task), overriding TRACEKIT_LINT_ORPHAN_GRACE. Default [DefaultOrphanGrace]
// (30s); 0 turns the lint off. The end of the parent is noticed by the
// sweep, so the report comes up to one sweep interval late. Tasks detached
// on purpose that finish within the grace are never reported.
func WithOrphanLint(grace time.Duration) Option {
	return optionFunc(func(c *config) { c.lint.orphan = &grace })
}

// WithSpawnGrowthLint configures the spawn-growth lint, which looks for a
// leak in progress: every interval it counts the live tasks of each spawn
// site (where [Go] or [Group.Go] was called), and makes a
// [ReportSpawnGrowth] when, across the last samples counts, the count rose
// in at least three quarters of the steps, ends at its highest, and rose
// by at least minRise tasks and 5% in all. A pool that grows for a few
// samples and then stays the same size is not growth. The report is made
// once per episode; the episode ends when the count is no higher than it
// was samples ago. Overrides TRACEKIT_LINT_GROWTH_SAMPLES,
// TRACEKIT_LINT_GROWTH_INTERVAL and TRACEKIT_LINT_GROWTH_MIN_RISE.
// Defaults [DefaultGrowthSamples] (12), [DefaultGrowthInterval] (5s) and
// [DefaultGrowthMinRise] (10); samples 0 turns the lint off, other values
// below 3 count as 3, and an interval shorter than the sweep's is the
// sweep's.
func WithSpawnGrowthLint(samples int, interval time.Duration, minRise int) Option {
	return optionFunc(func(c *config) {
		c.lint.growthSamples, c.lint.growthEvery, c.lint.growthMinRise = &samples, &interval, &minRise
	})
}

// lintConfig holds the lints' thresholds; a zero threshold turns its lint
// off.
type lintConfig struct {
	interval      time.Duration // sweep period
	blocked       time.Duration
	held          time.Duration
	orphan        time.Duration
	orphanOn      bool // orphan 0 with orphanOn: at once (the console's default)
	growthSamples int
	growthEvery   time.Duration
	growthMinRise int
}

// defaultLintConfig is the lints' configuration before the environment
// and the options.
func defaultLintConfig() lintConfig {
	return lintConfig{
		interval: DefaultLintInterval, blocked: DefaultBlockedLint, held: DefaultLockHeldLint,
		orphan: DefaultOrphanGrace, orphanOn: true,
		growthSamples: DefaultGrowthSamples, growthEvery: DefaultGrowthInterval, growthMinRise: DefaultGrowthMinRise,
	}
}

// lintFromConfig applies the defaults, the environment and the options; a
// bad environment value goes to cfg.onError and is ignored.
func lintFromConfig(cfg *config) lintConfig {
	lc := defaultLintConfig()
	report := func(err error) {
		if cfg.onError != nil {
			cfg.onError(err)
		}
	}
	dur := func(name string, opt *time.Duration, dst *time.Duration) {
		if opt != nil {
			*dst = max(*opt, 0)
			return
		}
		if v, ok, err := env.Duration(name); err != nil {
			report(err)
		} else if ok {
			*dst = v
		}
	}
	count := func(name string, opt *int, dst *int, least int) {
		if opt != nil {
			*dst = max(*opt, 0)
			return
		}
		if v, ok, err := env.Count(name); err != nil {
			report(err)
		} else if ok && v != 0 && v < least {
			report(&env.Error{Name: name, Value: strconv.Itoa(v), Reason: fmt.Sprintf("want 0 or at least %d", least)})
		} else if ok {
			*dst = v
		}
	}
	s := &cfg.lint
	dur(env.LintInterval, s.interval, &lc.interval)
	dur(env.LintBlocked, s.blocked, &lc.blocked)
	dur(env.LintLockHeld, s.held, &lc.held)
	dur(env.LintOrphanGrace, s.orphan, &lc.orphan)
	lc.orphanOn = lc.orphan > 0
	count(env.LintGrowthSamples, s.growthSamples, &lc.growthSamples, 3)
	if lc.growthSamples > 0 {
		lc.growthSamples = max(lc.growthSamples, 3)
	}
	dur(env.LintGrowthInterval, s.growthEvery, &lc.growthEvery)
	count(env.LintGrowthMinRise, s.growthMinRise, &lc.growthMinRise, 0)
	lc.growthEvery = max(lc.growthEvery, lc.interval)
	return lc
}

// lintFinding is what one lint found in one pass.
type lintFinding struct {
	kind ReportKind
	// task is the task concerned: the blocked task, the orphan, the
	// longest waiter on a held lock, the newest task of a growing site.
	task *tasks.Record
	// dur is the wait (blocked), the longest wait on the lock (held), the
	// time since the parent was seen gone (orphan), or the time the growth
	// samples span.
	dur time.Duration
	// blocked, held: the lock or channel waited on, and how ("lock",
	// "receive from", ...; blocked only).
	lock, what string
	// held: the tasks waiting on the lock, longest first, and the tasks
	// holding it, when known; heldUntracked counts holders that are not
	// tracked tasks, heldGoroutines names such holders (or holders that
	// exited holding it) by goroutine ID when the lock recorded them.
	waiters, holders []*tasks.Record
	heldUntracked    int
	heldGoroutines   []uint64
	// growth: the site, its live tasks now and at the first sample, and
	// the tasks running there now.
	site       *tasks.Site
	count, was int
	siteTasks  []*tasks.Record
	// isNew: the first pass that found this episode.
	isNew bool
}

// linter runs the lints over the task registry and remembers what it has
// reported, so that each episode is reported once. It is shared by the
// sweep and the console; its methods are safe for concurrent use.
type linter struct {
	cfg lintConfig // fixed at creation

	mu         sync.Mutex
	waits      map[*tasks.Wait]struct{}   // blocked waits reported
	heldLocks  map[string]struct{}        // locks reported held, while waited on
	orphans    map[uint64]orphanMark      // tasks seen without their parent
	sites      map[*tasks.Site]*siteTrend // by canonical site
	lastSample time.Time
	// canon maps each spawn site to one canonical *tasks.Site per function,
	// file and line: a function that calls Go and is inlined into several
	// callers has a program counter, hence a *tasks.Site, per caller.
	canon  map[*tasks.Site]*tasks.Site
	byLine map[siteLine]*tasks.Site

	// scratch, reused under mu
	live   map[uint64]struct{}
	next   map[*tasks.Wait]struct{}
	counts map[*tasks.Site]int
}

// siteLine identifies a spawn site by its source position.
type siteLine struct {
	fn, file string
	line     int
}

// canonical returns the one site that stands for s's source position.
func (l *linter) canonical(s *tasks.Site) *tasks.Site {
	if c, ok := l.canon[s]; ok {
		return c
	}
	var k siteLine
	if s != nil {
		k = siteLine{s.Function(), s.File(), s.Line()}
	}
	c, ok := l.byLine[k]
	if !ok {
		c = s
		l.byLine[k] = s
	}
	l.canon[s] = c
	return c
}

// orphanMark is when the lint first saw a task's parent gone.
type orphanMark struct {
	since    time.Time
	reported bool
}

// siteTrend keeps the last samples of one spawn site's live task count.
type siteTrend struct {
	ring     []int // the last samples, oldest at head once full
	head, n  int
	growing  bool // in a growth episode
	reported bool
	from     time.Time // when the first sample of the window was taken
	times    []time.Time
}

func newLinter(cfg lintConfig) *linter {
	return &linter{
		cfg:   cfg,
		waits: map[*tasks.Wait]struct{}{}, heldLocks: map[string]struct{}{},
		orphans: map[uint64]orphanMark{}, sites: map[*tasks.Site]*siteTrend{},
		canon: map[*tasks.Site]*tasks.Site{}, byLine: map[siteLine]*tasks.Site{},
		live: map[uint64]struct{}{}, next: map[*tasks.Wait]struct{}{}, counts: map[*tasks.Site]int{},
	}
}

// isLockWait says whether a wait (taskWait.what) is on a lock rather than a
// channel.
func isLockWait(what string) bool { return what == "lock" || what == "read lock" }

// pass runs the lints with cfg's thresholds over ts, the tasks running at
// now. With update it records what it found, so that the next pass marks
// only new episodes isNew, and takes a growth sample when one is due;
// without, it reads the state as the last update left it (a task whose
// parent it has not seen gone before counts as orphaned since now). d, if
// not nil, names the holders of held locks when it tracks lock order.
func (l *linter) pass(cfg lintConfig, now time.Time, ts []*tasks.Record, d *detector, update bool) []lintFinding {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []lintFinding

	// 1. Tasks blocked on a lock or channel; 2. locks waited on too long.
	var heldNames map[string]struct{}
	clear(l.next)
	for _, t := range ts {
		w := t.Waiting()
		if w == nil {
			continue
		}
		waited := now.Sub(w.Since)
		if cfg.blocked > 0 && waited >= cfg.blocked {
			_, seen := l.waits[w]
			out = append(out, lintFinding{kind: ReportBlocked, task: t, dur: waited, lock: w.Name, what: w.What, isNew: !seen})
			l.next[w] = struct{}{}
		}
		if cfg.held > 0 && waited >= cfg.held && isLockWait(w.What) {
			if heldNames == nil {
				heldNames = map[string]struct{}{}
			}
			heldNames[w.Name] = struct{}{}
		}
	}
	if update {
		l.waits, l.next = l.next, l.waits
	}
	if len(heldNames) > 0 {
		out = append(out, l.heldFindings(heldNames, ts, now, d, update)...)
	} else if update {
		clear(l.heldLocks)
	}

	// 4. Tasks that outlive their parent.
	if cfg.orphanOn {
		clear(l.live)
		for _, t := range ts {
			l.live[t.ID] = struct{}{}
		}
		for _, t := range ts {
			if t.Parent == 0 {
				continue
			}
			if _, ok := l.live[t.Parent]; ok {
				continue
			}
			m, ok := l.orphans[t.ID]
			if !ok {
				m.since = now
			}
			if age := now.Sub(m.since); age >= cfg.orphan {
				out = append(out, lintFinding{kind: ReportOrphanTask, task: t, dur: age, isNew: !m.reported})
				m.reported = true
			}
			if update {
				l.orphans[t.ID] = m
			}
		}
		if update {
			for id := range l.orphans {
				if _, ok := l.live[id]; !ok {
					delete(l.orphans, id)
				}
			}
		}
	}

	// 3. Spawn sites whose live task count keeps rising.
	if cfg.growthSamples >= 3 {
		if update && (l.lastSample.IsZero() || now.Sub(l.lastSample) >= cfg.growthEvery-cfg.interval/2) {
			l.sample(cfg, now, ts)
		}
		out = append(out, l.growing(now, ts, update)...)
	}
	return out
}

// heldFindings makes one finding per lock in names, which some task has
// waited on past the held threshold.
func (l *linter) heldFindings(names map[string]struct{}, ts []*tasks.Record, now time.Time, d *detector, update bool) []lintFinding {
	byName := map[string]*lintFinding{}
	for _, t := range ts {
		w := t.Waiting()
		if w == nil || !isLockWait(w.What) {
			continue
		}
		if _, ok := names[w.Name]; !ok {
			continue
		}
		f := byName[w.Name]
		if f == nil {
			f = &lintFinding{kind: ReportLongHold, lock: w.Name}
			byName[w.Name] = f
		}
		f.waiters = append(f.waiters, t)
	}
	out := make([]lintFinding, 0, len(byName))
	for name, f := range byName {
		since := func(t *tasks.Record) time.Time {
			if w := t.Waiting(); w != nil {
				return w.Since
			}
			return now // no longer waiting
		}
		slices.SortFunc(f.waiters, func(a, b *tasks.Record) int { return cmp.Or(since(a).Compare(since(b)), cmp.Compare(a.ID, b.ID)) })
		f.task = f.waiters[0]
		f.dur = now.Sub(since(f.task))
		f.holders, f.heldUntracked, f.heldGoroutines = lockHolders(d, name, f.waiters)
		_, seen := l.heldLocks[name]
		f.isNew = !seen
		out = append(out, *f)
	}
	if update {
		clear(l.heldLocks)
		for name := range byName {
			l.heldLocks[name] = struct{}{}
		}
	}
	slices.SortFunc(out, func(a, b lintFinding) int { return cmp.Compare(a.lock, b.lock) })
	return out
}

// lockHolders returns the tracked tasks holding a lock named name, how many
// other goroutines hold one, and the goroutine IDs of holders known only
// by ID. With lock-order detection it asks the lock-order graph, which knows
// every holder of every lock of that name, readers included; otherwise it
// reads the write holder each lock the waiters wait on records.
func lockHolders(d *detector, name string, waiters []*tasks.Record) (tasks []*tasks.Record, untracked int, goroutines []uint64) {
	if d == nil || !goid.Fast {
		return nil, 0, nil
	}
	if d.order != nil {
		if h := d.order.holders(func(h heldLock) bool { return h.name == name }, name); !h.empty() {
			return h.tasks, h.untracked, nil
		}
		// None in any goroutine's held list: a holder that exited, which
		// the locks still record.
	}
	seen := map[*lockMeta]bool{}
	for _, t := range waiters {
		w := t.Waiting()
		if w == nil {
			continue
		}
		lm, _ := w.Lock.(*lockMeta)
		if lm == nil || seen[lm] {
			continue
		}
		seen[lm] = true
		h := lm.holders()
		for _, ht := range h.tasks {
			if !slices.Contains(tasks, ht) {
				tasks = append(tasks, ht)
			}
		}
		goroutines = append(goroutines, h.goroutines...)
	}
	return tasks, 0, goroutines
}

// sample records each spawn site's live task count and starts or ends
// growth episodes.
func (l *linter) sample(cfg lintConfig, now time.Time, ts []*tasks.Record) {
	l.lastSample = now
	clear(l.counts)
	for _, t := range ts {
		if t.Site != nil {
			l.counts[l.canonical(t.Site)]++
		}
	}
	for site := range l.counts {
		if l.sites[site] == nil {
			l.sites[site] = &siteTrend{ring: make([]int, cfg.growthSamples), times: make([]time.Time, cfg.growthSamples)}
		}
	}
	window := make([]int, cfg.growthSamples)
	for site, tr := range l.sites {
		n := l.counts[site]
		tr.ring[tr.head], tr.times[tr.head] = n, now
		tr.head = (tr.head + 1) % len(tr.ring)
		tr.n = min(tr.n+1, len(tr.ring))
		if tr.n < len(tr.ring) {
			continue
		}
		for i := range window {
			window[i] = tr.ring[(tr.head+i)%len(tr.ring)]
		}
		if !slices.ContainsFunc(window, func(c int) bool { return c != 0 }) {
			delete(l.sites, site) // no task there for a whole window
			continue
		}
		tr.from = tr.times[tr.head]
		switch {
		case !tr.growing && rising(window, cfg.growthMinRise):
			tr.growing, tr.reported = true, false
		case tr.growing && window[len(window)-1] <= window[0]:
			tr.growing = false
		}
	}
}

// rising says whether counts, successive samples, show steady growth: up
// in at least three quarters of the steps, ending at the highest count,
// and up by at least minRise and 5% in all.
func rising(counts []int, minRise int) bool {
	steps, ups := len(counts)-1, 0
	for i := 1; i < len(counts); i++ {
		if counts[i] > counts[i-1] {
			ups++
		}
	}
	first, last := counts[0], counts[len(counts)-1]
	return steps >= 2 && ups*4 >= steps*3 && last == slices.Max(counts) &&
		last-first >= max(minRise, 1) && (last-first)*20 >= first
}

// growing makes one finding per site in a growth episode.
func (l *linter) growing(now time.Time, ts []*tasks.Record, update bool) []lintFinding {
	var out []lintFinding
	for site, tr := range l.sites {
		if !tr.growing {
			continue
		}
		f := lintFinding{kind: ReportSpawnGrowth, site: site, isNew: !tr.reported, dur: now.Sub(tr.from),
			count: tr.ring[(tr.head+len(tr.ring)-1)%len(tr.ring)], was: tr.ring[tr.head]}
		for _, t := range ts {
			if t.Site != nil && l.canonical(t.Site) == site {
				f.siteTasks = append(f.siteTasks, t)
				if f.task == nil || t.ID > f.task.ID {
					f.task = t
				}
			}
		}
		if update {
			tr.reported = true
		}
		if f.task != nil {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b lintFinding) int { return cmp.Compare(a.task.ID, b.task.ID) })
	return out
}

// report turns a finding into the Report the sweep emits; cfg gives the
// thresholds it names.
func (f *lintFinding) report(cfg lintConfig) Report {
	r := Report{Kind: f.kind, Duration: f.dur}
	round := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	switch f.kind {
	case ReportBlocked:
		r.Message = fmt.Sprintf("%s has waited %v on %s %q (blocked threshold %v)", f.task.Text(), round(f.dur), f.what, f.lock, cfg.blocked)
		r.Lock = f.lock
		r.channel = f.what == "send on" || f.what == "receive from"
		r.Tasks = []TaskInfo{infoOf(f.task)}
	case ReportLongHold:
		r.Lock = f.lock
		r.Message = fmt.Sprintf("lock %q is still held after at least %v: %s has waited that long for it (%d waiting); %s",
			f.lock, round(f.dur), f.task.Text(), len(f.waiters), f.holderText())
		for _, t := range f.holders {
			r.Tasks = append(r.Tasks, infoOf(t))
		}
		for _, t := range f.waiters {
			r.Tasks = append(r.Tasks, infoOf(t))
		}
	case ReportOrphanTask:
		r.Message = fmt.Sprintf("%s is still running %v after its parent task %d ended (grace %v)", f.task.Text(), round(f.dur), f.task.Parent, cfg.orphan)
		r.Tasks = []TaskInfo{infoOf(f.task)}
	case ReportSpawnGrowth:
		r.SpawnSite = f.site.String()
		r.Count = f.count
		r.Message = fmt.Sprintf("live tasks started at %s rose from %d to %d over %v (%d samples): a leak in progress?",
			r.SpawnSite, f.was, f.count, round(f.dur), cfg.growthSamples)
		// The newest tasks of the site, newest first.
		site := slices.Clone(f.siteTasks)
		slices.SortFunc(site, func(a, b *tasks.Record) int { return cmp.Compare(b.ID, a.ID) })
		for _, t := range site[:min(len(site), maxReportTasks)] {
			r.Tasks = append(r.Tasks, infoOf(t))
		}
	}
	return r
}

// maxReportTasks bounds the tasks a spawn-growth report lists.
const maxReportTasks = 5

// holderText says who holds a lock, as far as is known.
func (f *lintFinding) holderText() string {
	switch {
	case len(f.holders) == 1 && f.heldUntracked == 0 && len(f.heldGoroutines) == 0:
		return "held by " + f.holders[0].Text()
	case len(f.holders) > 0:
		s := "held by " + f.holders[0].Text()
		if n := len(f.holders) - 1 + f.heldUntracked + len(f.heldGoroutines); n > 0 {
			s += fmt.Sprintf(" and %d other goroutine(s)", n)
		}
		return s
	case f.heldUntracked > 0:
		return "held by a goroutine that is not a tracked task"
	case len(f.heldGoroutines) == 1:
		return fmt.Sprintf("held by goroutine %d, which is not a tracked task", f.heldGoroutines[0])
	case len(f.heldGoroutines) > 1:
		return fmt.Sprintf("held by goroutines %v, which are not tracked tasks", f.heldGoroutines)
	}
	return "holder unknown (a read lock, or taken while no Kit ran; lock-order detection names readers too)"
}

// lintWarnings turns findings into the console's warnings, by task ID.
func lintWarnings(fs []lintFinding) map[uint64][]string {
	out := map[uint64][]string{}
	add := func(t *tasks.Record, s string) { out[t.ID] = append(out[t.ID], s) }
	round := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	for i := range fs {
		f := &fs[i]
		switch f.kind {
		case ReportBlocked:
			add(f.task, fmt.Sprintf("blocked for %v on %s %q", round(f.dur), f.what, f.lock))
		case ReportLongHold:
			by := ""
			if len(f.holders) > 0 {
				by = fmt.Sprintf(" by task %d", f.holders[0].ID)
			}
			for _, t := range f.waiters {
				add(t, fmt.Sprintf("lock %q held for at least %v%s", f.lock, round(f.dur), by))
			}
			for _, t := range f.holders {
				add(t, fmt.Sprintf("holds lock %q, which task %d has waited %v for", f.lock, f.task.ID, round(f.dur)))
			}
		case ReportOrphanTask:
			s := fmt.Sprintf("parent task %d has ended", f.task.Parent)
			if f.dur >= time.Second {
				s += fmt.Sprintf(" (seen %v ago)", f.dur.Round(time.Second))
			}
			add(f.task, s)
		case ReportSpawnGrowth:
			// Every task of the site carries it: the leak is the site's.
			s := fmt.Sprintf("spawn site growing: %d live tasks, up from %d in %v", f.count, f.was, f.dur.Round(time.Second))
			for _, t := range f.siteTasks {
				add(t, s)
			}
		}
	}
	return out
}

// lintSweep is the background sweep of a Kit: every interval it runs the
// lints over the registry and emits the new findings through the Kit's
// detector.
type lintSweep struct {
	l    *linter
	d    *detector
	quit chan struct{}
	done chan struct{}
	stop sync.Once
	buf  []*tasks.Record
}

// activeLint is the sweep of the Kit that installed the globals, which the
// console reads; like activeDetector it is set by Start and cleared by
// Shutdown.
var activeLint atomic.Pointer[lintSweep]

// lintSweeps maps each running Kit's detector to its sweep, so that
// Shutdown stops that Kit's sweep even when a later Kit replaced it in
// activeLint.
var lintSweeps sync.Map // *detector -> *lintSweep

func newLintSweep(cfg lintConfig, d *detector) *lintSweep {
	return &lintSweep{l: newLinter(cfg), d: d, quit: make(chan struct{}), done: make(chan struct{})}
}

// startLints starts the Kit's lint sweep, next to its detector.
func (k *Kit) startLints(cfg *config) {
	if k.det == nil {
		return
	}
	lc := lintFromConfig(cfg)
	if lc.interval <= 0 {
		return
	}
	s := newLintSweep(lc, k.det)
	lintSweeps.Store(k.det, s)
	activeLint.Store(s)
	go s.run()
}

// stopLints stops the Kit's lint sweep and waits for it. Safe to call twice.
func (k *Kit) stopLints() {
	if k.det == nil {
		return
	}
	if v, ok := lintSweeps.LoadAndDelete(k.det); ok {
		s := v.(*lintSweep)
		activeLint.CompareAndSwap(s, nil)
		s.close()
	}
}

func (s *lintSweep) run() {
	defer close(s.done)
	t := time.NewTicker(s.l.cfg.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.sweep(time.Now())
		case <-s.quit:
			return
		}
	}
}

func (s *lintSweep) close() {
	s.stop.Do(func() {
		close(s.quit)
		<-s.done
	})
}

// sweep runs the lints once and emits what is new.
func (s *lintSweep) sweep(now time.Time) {
	s.buf = tasks.Append(s.buf[:0])
	fs := s.l.pass(s.l.cfg, now, s.buf, s.d, true)
	for i := range fs {
		f := &fs[i]
		if !f.isNew {
			continue
		}
		ctx := context.Background()
		if f.task != nil && f.task.Span != nil {
			sp := f.task.Span
			if len(f.holders) > 0 && f.holders[0].Span != nil {
				sp = f.holders[0].Span
			}
			ctx = trace.ContextWithSpan(ctx, sp)
		}
		s.d.emit(ctx, f.report(s.l.cfg))
	}
	clear(s.buf) // drop the references to ended tasks
}
