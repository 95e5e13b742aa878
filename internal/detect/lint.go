package detect

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// Defaults of the task lints, the checks a background sweep of the task
// registry makes.
const (
	// DefaultLintInterval is how often the lints sweep the registry.
	DefaultLintInterval = time.Second
	// DefaultOrphanGrace is how long a task may outlive the task that
	// started it before it is reported.
	DefaultOrphanGrace = 30 * time.Second
	// DefaultGrowthSamples, DefaultGrowthInterval and DefaultGrowthMinRise
	// configure the spawn-growth lint: 12 samples 5s apart, a minute of
	// history, and a net rise of at least 10 tasks.
	DefaultGrowthSamples  = 12
	DefaultGrowthInterval = 5 * time.Second
	DefaultGrowthMinRise  = 10
)

// LintConfig holds the lints' thresholds, resolved.
type LintConfig struct {
	Interval time.Duration // sweep period; 0: no sweep
	// Orphan is how long a task may outlive its parent; with OrphanOn
	// false the orphan lint is off, and with Orphan 0 it reports at once.
	Orphan   time.Duration
	OrphanOn bool
	// GrowthSamples is the spawn-growth lint's window (0: off, at least 3
	// otherwise), GrowthEvery how often it samples (at least Interval),
	// GrowthMinRise the least rise it reports.
	GrowthSamples int
	GrowthEvery   time.Duration
	GrowthMinRise int
}

// lintFinding is what one lint found in one pass.
type lintFinding struct {
	kind inspect.Kind
	// task is the task concerned: the orphan, the newest task of a growing
	// site.
	task *tasks.Record
	// dur is the time since the parent was seen gone (orphan), or the time
	// the growth samples span.
	dur time.Duration
	// growth: the site, its live tasks now and at the first sample, and
	// the tasks running there now.
	site       *tasks.Site
	count, was int
	siteTasks  []*tasks.Record
	// isNew: the first pass that found this episode.
	isNew bool
}

// Linter runs the lints over the task registry and remembers what it has
// reported, so that each episode is reported once. It is shared by the
// sweep and the console; its methods are safe for concurrent use.
type Linter struct {
	cfg LintConfig // fixed at creation

	mu         sync.Mutex
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
	counts map[*tasks.Site]int
}

// siteLine identifies a spawn site by its source position.
type siteLine struct {
	fn, file string
	line     int
}

// canonical returns the one site that stands for s's source position.
func (l *Linter) canonical(s *tasks.Site) *tasks.Site {
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

// NewLinter makes a linter with the thresholds of cfg.
func NewLinter(cfg LintConfig) *Linter {
	return &Linter{
		cfg:     cfg,
		orphans: map[uint64]orphanMark{}, sites: map[*tasks.Site]*siteTrend{},
		canon: map[*tasks.Site]*tasks.Site{}, byLine: map[siteLine]*tasks.Site{},
		live: map[uint64]struct{}{}, counts: map[*tasks.Site]int{},
	}
}

// Config returns the linter's thresholds.
func (l *Linter) Config() LintConfig { return l.cfg }

// pass runs the lints over ts, the tasks running at now. With update it
// records what it found, so that the next pass marks only new episodes
// isNew, and takes a growth sample when one is due; without, it reads the
// state as the last update left it (a task whose parent it has not seen
// gone before counts as orphaned since now).
func (l *Linter) pass(now time.Time, ts []*tasks.Record, update bool) []lintFinding {
	cfg := l.cfg
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []lintFinding

	// Tasks that outlive their parent.
	if cfg.OrphanOn {
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
			if age := now.Sub(m.since); age >= cfg.Orphan {
				out = append(out, lintFinding{kind: inspect.KindOrphanTask, task: t, dur: age, isNew: !m.reported})
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

	// Spawn sites whose live task count keeps rising.
	if cfg.GrowthSamples >= 3 {
		if update && (l.lastSample.IsZero() || now.Sub(l.lastSample) >= cfg.GrowthEvery-cfg.Interval/2) {
			l.sample(now, ts)
		}
		out = append(out, l.growing(now, ts, update)...)
	}
	return out
}

// sample records each spawn site's live task count and starts or ends
// growth episodes.
func (l *Linter) sample(now time.Time, ts []*tasks.Record) {
	cfg := l.cfg
	l.lastSample = now
	clear(l.counts)
	for _, t := range ts {
		if t.Site != nil {
			l.counts[l.canonical(t.Site)]++
		}
	}
	for site := range l.counts {
		if l.sites[site] == nil {
			l.sites[site] = &siteTrend{ring: make([]int, cfg.GrowthSamples), times: make([]time.Time, cfg.GrowthSamples)}
		}
	}
	window := make([]int, cfg.GrowthSamples)
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
		case !tr.growing && rising(window, cfg.GrowthMinRise):
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
func (l *Linter) growing(now time.Time, ts []*tasks.Record, update bool) []lintFinding {
	var out []lintFinding
	for site, tr := range l.sites {
		if !tr.growing {
			continue
		}
		f := lintFinding{kind: inspect.KindSpawnGrowth, site: site, isNew: !tr.reported, dur: now.Sub(tr.from),
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

// report turns a finding into the report the sweep emits; cfg gives the
// thresholds it names.
func (f *lintFinding) report(cfg LintConfig) inspect.Report {
	r := inspect.Report{Kind: f.kind, Duration: f.dur}
	round := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	switch f.kind {
	case inspect.KindOrphanTask:
		r.Message = fmt.Sprintf("%s is still running %v after its parent task %d ended (grace %v)", f.task.Text(), round(f.dur), f.task.Parent, cfg.Orphan)
		r.Tasks = []inspect.Task{inspect.Task(f.task.Info())}
	case inspect.KindSpawnGrowth:
		r.SpawnSite = f.site.String()
		r.Count = f.count
		r.Message = fmt.Sprintf("live tasks started at %s rose from %d to %d over %v (%d samples): a leak in progress?",
			r.SpawnSite, f.was, f.count, round(f.dur), cfg.GrowthSamples)
		// The newest tasks of the site, newest first.
		site := slices.Clone(f.siteTasks)
		slices.SortFunc(site, func(a, b *tasks.Record) int { return cmp.Compare(b.ID, a.ID) })
		for _, t := range site[:min(len(site), maxReportTasks)] {
			r.Tasks = append(r.Tasks, inspect.Task(t.Info()))
		}
	}
	return r
}

// maxReportTasks bounds the tasks a spawn-growth report lists.
const maxReportTasks = 5

// Warnings runs the lints over ts, the tasks running at now, and returns
// what they say about each task, by task ID; update is as for a sweep (a
// linter whose sweep runs is read without updating it).
func (l *Linter) Warnings(now time.Time, ts []*tasks.Record, update bool) map[uint64][]string {
	fs := l.pass(now, ts, update)
	out := map[uint64][]string{}
	add := func(t *tasks.Record, s string) { out[t.ID] = append(out[t.ID], s) }
	for i := range fs {
		f := &fs[i]
		switch f.kind {
		case inspect.KindOrphanTask:
			s := fmt.Sprintf("parent task %d has ended", f.task.Parent)
			if f.dur >= time.Second {
				s += fmt.Sprintf(" (seen %v ago)", f.dur.Round(time.Second))
			}
			add(f.task, s)
		case inspect.KindSpawnGrowth:
			// Every task of the site carries it: the leak is the site's.
			s := fmt.Sprintf("spawn site growing: %d live tasks, up from %d in %v", f.count, f.was, f.dur.Round(time.Second))
			for _, t := range f.siteTasks {
				add(t, s)
			}
		}
	}
	return out
}

// lintSweep is the background sweep of a detector: every interval it runs
// the lints over the registry and emits the new findings.
type lintSweep struct {
	l    *Linter
	d    *Detector
	quit chan struct{}
	done chan struct{}
	buf  []*tasks.Record
}

// StartLints starts the detector's lint sweep, which Close stops; it does
// nothing when cfg.Interval is 0 or a sweep runs already.
func (d *Detector) StartLints(cfg LintConfig) {
	if cfg.Interval <= 0 || d.lints.Load() != nil {
		return
	}
	s := &lintSweep{l: NewLinter(cfg), d: d, quit: make(chan struct{}), done: make(chan struct{})}
	if !d.lints.CompareAndSwap(nil, s) {
		return
	}
	go s.run()
}

// Linter returns the linter of the detector's sweep, or nil when none
// runs.
func (d *Detector) Linter() *Linter {
	if s := d.lints.Load(); s != nil {
		return s.l
	}
	return nil
}

func (s *lintSweep) run() {
	defer close(s.done)
	t := time.NewTicker(s.l.cfg.Interval)
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

// stop ends the sweep and waits for it.
func (s *lintSweep) stop() {
	close(s.quit)
	<-s.done
}

// sweep runs the lints once and emits what is new.
func (s *lintSweep) sweep(now time.Time) {
	s.buf = tasks.Append(s.buf[:0])
	fs := s.l.pass(now, s.buf, true)
	for i := range fs {
		f := &fs[i]
		if !f.isNew {
			continue
		}
		ctx := context.Background()
		if f.task != nil && f.task.Span != nil {
			ctx = trace.ContextWithSpan(ctx, f.task.Span)
		}
		s.d.Emit(ctx, f.report(s.l.cfg))
	}
	clear(s.buf) // drop the references to ended tasks
}
