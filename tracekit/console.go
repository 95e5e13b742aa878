package tracekit

import (
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/env"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

//go:embed console
var consoleFiles embed.FS

var consoleTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"dur": func(d time.Duration) string {
		switch {
		case d >= time.Second:
			return d.Round(10 * time.Millisecond).String()
		case d >= time.Millisecond:
			return d.Round(10 * time.Microsecond).String()
		}
		return d.String()
	},
	"bytes": formatBytes,
	"pct": func(used, limit uint64) string {
		return strconv.FormatFloat(100*float64(used)/float64(limit), 'f', 0, 64) + "%"
	},
}).ParseFS(consoleFiles, "console/*.html", "console/*.css"))

// ConsoleOption configures [Handler].
type ConsoleOption interface{ applyConsole(*consoleConfig) }

type consoleConfig struct {
	traceURL     string
	refresh      time.Duration
	blockedAfter time.Duration
	blockedSet   bool // WithBlockedWarning was given
	now          func() time.Time
}

type consoleOptionFunc func(*consoleConfig)

func (f consoleOptionFunc) applyConsole(c *consoleConfig) { f(c) }

// WithTraceURL makes each traced task link to its trace in a trace viewer:
// {trace_id} and {span_id} in template are replaced with the task's IDs in
// hex, e.g. "http://localhost:16686/trace/{trace_id}" for Jaeger. The
// default comes from TRACEKIT_TRACE_URL; without either there is no link.
// A template that is not an http or https URL containing {trace_id} is
// ignored.
func WithTraceURL(template string) ConsoleOption {
	return consoleOptionFunc(func(c *consoleConfig) { c.traceURL = template })
}

// WithRefresh sets how often the console's pages reload themselves
// (default 2s); zero or less turns reloading off.
func WithRefresh(d time.Duration) ConsoleOption {
	return consoleOptionFunc(func(c *consoleConfig) { c.refresh = d })
}

// WithBlockedWarning sets how long a task may wait on a lock or channel
// before the console warns about it, overriding the running Kit's
// [WithBlockedLint] threshold. Default: the Kit's threshold while a Kit
// with the globals runs, 1s otherwise; 0 turns the warning off.
func WithBlockedWarning(d time.Duration) ConsoleOption {
	return consoleOptionFunc(func(c *consoleConfig) { c.blockedAfter, c.blockedSet = d, true })
}

// consoleLintConfig is what the console warns about while no Kit's lint
// sweep runs: a task blocked for 1s, a lock waited on for
// [DefaultLockHeldLint], a task whose parent has ended (at once), and the
// spawn-growth lint's defaults, sampled as the console is viewed.
func consoleLintConfig() lintConfig {
	lc := defaultLintConfig()
	lc.interval = 0
	lc.blocked = time.Second
	lc.orphan, lc.orphanOn = 0, true
	return lc
}

// linter returns the lints the console shows: the running Kit's sweep's,
// with its thresholds and what it has seen (update false: the sweep keeps
// the state), or else the console's own; d names lock holders.
func (c *console) linter() (l *linter, cfg lintConfig, d *detector, update bool) {
	l, d, update = c.own, activeDetector.Load(), true
	if s := activeLint.Load(); s != nil {
		l, d, update = s.l, s.d, false
	}
	cfg = l.cfg
	if c.cfg.blockedSet {
		cfg.blocked = c.cfg.blockedAfter
	}
	return l, cfg, d, update
}

// warnings runs the task lints for the console.
func (c *console) warnings(now time.Time) map[uint64][]string {
	ts := tasks.Append(nil)
	l, cfg, d, update := c.linter()
	return lintWarnings(l.pass(cfg, now, ts, d, update))
}

// lintSummary says what the console warns about, for the list page.
func (c *console) lintSummary() []string {
	_, cfg, _, _ := c.linter()
	var out []string
	if cfg.blocked > 0 {
		out = append(out, fmt.Sprintf("blocked ≥ %v", cfg.blocked))
	}
	if cfg.held > 0 {
		out = append(out, fmt.Sprintf("lock waited on ≥ %v", cfg.held))
	}
	switch {
	case cfg.orphanOn && cfg.orphan > 0:
		out = append(out, fmt.Sprintf("parent ended ≥ %v ago", cfg.orphan))
	case cfg.orphanOn:
		out = append(out, "parent ended")
	}
	if cfg.growthSamples > 0 {
		out = append(out, fmt.Sprintf("spawn growth over %d samples %v apart", cfg.growthSamples, cfg.growthEvery))
	}
	return out
}

func validTraceURL(t string) error {
	u, err := url.Parse(t)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("an http or https URL")
	}
	if !strings.Contains(t, "{trace_id}") {
		return fmt.Errorf("a URL containing {trace_id}")
	}
	return nil
}

// Handler returns the live console: an HTML page listing the running tasks
// started by [Go] and [Group.Go], like tokio-console's task list (ID, name,
// state, total time, what it waits on, spawn site, warnings), sortable by
// any column and reloading itself, with a page per task that adds its
// goroutine's stack and a link to its trace. Mount it under a path of its
// own, e.g. mux.Handle("/debug/tracekit/", tracekit.Handler()): its links
// are relative query strings.
//
// Queries: sort=id|name|state|total|waiting|site|warnings and desc=1 order
// the list; task=ID shows one task; format=json returns the same data as
// JSON ({"time":..., "memory":{...}, "lints":[...], "tasks":[...],
// "reports":[...], "reports_total":N}, or one task with task=ID; "lints"
// says what the warnings are about, with what thresholds). A task that has
// ended is answered with 410 Gone and a page saying so (its parent, its
// goroutine, the kept reports about it) while the leak check's record of
// ended tasks still holds it, with 404 otherwise.
//
// The list page's header has a memory line: memory in use as GOMEMLIMIT
// counts it, against the limit the memory watch would use (GOMEMLIMIT, else
// the cgroup's memory.max), the live heap, and the goroutine and tracked
// task counts, all from runtime/metrics without stopping the world. Below
// the tasks, "Recent reports" lists the last 50 [Report]s the running
// Kit's detectors made, of every kind, newest first: time, kind, message,
// the lock or channel, spawn site and tasks concerned (linked while they
// run), and a link to the trace they were made in. Without a Kit started
// with the globals there are no reports, and the panel says so.
//
// Warnings are the task lints the running [Kit] reports (see
// [WithLintInterval]), with the Kit's thresholds: a task waiting on a lock
// or channel for longer than [WithBlockedLint] (or [WithBlockedWarning]), a
// lock some task has waited on for [WithLockHeldLint] (on the waiters, and
// on the holder when it is known), a task still running
// [WithOrphanLint] after its parent task ended, and every task of a spawn
// site whose live task count keeps rising ([WithSpawnGrowthLint]). With no
// Kit's sweep running, the console uses its own defaults: blocked for 1s,
// a lock waited on for [DefaultLockHeldLint], a parent that has ended at
// once, and spawn growth sampled as the console is viewed.
//
// Task names and everything else shown are escaped; the page loads no
// external assets. The trace link template comes from [WithTraceURL] or
// TRACEKIT_TRACE_URL (a bad value is logged through slog.Default and
// ignored). The handler is safe for concurrent use; the list reads the
// registry only ([Snapshot]), a task page also dumps goroutines.
func Handler(opts ...ConsoleOption) http.Handler {
	cfg := consoleConfig{refresh: 2 * time.Second, now: time.Now}
	if v, ok := env.String(env.TraceURL); ok {
		if err := validTraceURL(v); err != nil {
			slog.Default().Warn((&env.Error{Name: env.TraceURL, Value: v, Reason: "want " + err.Error()}).Error())
		} else {
			cfg.traceURL = v
		}
	}
	for _, o := range opts {
		o.applyConsole(&cfg)
	}
	if cfg.traceURL != "" && validTraceURL(cfg.traceURL) != nil {
		slog.Default().Warn("tracekit: ignoring trace URL template " + strconv.Quote(cfg.traceURL))
		cfg.traceURL = ""
	}
	return &console{cfg: cfg, own: newLinter(consoleLintConfig())}
}

type console struct {
	cfg consoleConfig
	own *linter // the lints' state while no Kit's sweep runs

	memMu sync.Mutex
	mem   *memWatch // never started: samples the memory line
}

// consoleTask is one task as the console shows it, in HTML and JSON.
type consoleTask struct {
	ID             uint64        `json:"id"`
	Name           string        `json:"name"`
	Parent         uint64        `json:"parent,omitempty"`
	State          TaskState     `json:"state"`
	Start          time.Time     `json:"start"`
	Total          time.Duration `json:"-"`
	TotalSeconds   float64       `json:"total_seconds"`
	WaitingOn      string        `json:"waiting_on,omitempty"`
	WaitingSince   *time.Time    `json:"waiting_since,omitempty"`
	Waiting        time.Duration `json:"-"`
	WaitingSeconds float64       `json:"waiting_seconds,omitempty"`
	// The holder of the lock waited on, when recorded: a task, or else a
	// goroutine.
	HeldBy          uint64 `json:"held_by,omitempty"`
	HeldByGoroutine uint64 `json:"held_by_goroutine,omitempty"`

	lock          tasks.Lock // the lock waited on, for the waited-on view
	SpawnSite     string     `json:"spawn_site,omitempty"`
	SpawnFunction string     `json:"spawn_function,omitempty"`
	SpawnFile     string     `json:"spawn_file,omitempty"`
	SpawnLine     int        `json:"spawn_line,omitempty"`
	TraceID       string     `json:"trace_id,omitempty"`
	SpanID        string     `json:"span_id,omitempty"`
	TraceURL      string     `json:"trace_url,omitempty"`
	Warnings      []string   `json:"warnings,omitempty"`
	Goroutine     uint64     `json:"goroutine,omitempty"`
	Stack         string     `json:"stack,omitempty"`
	// Reports are the kept reports about the task, on its page only.
	Reports []consoleReport `json:"reports,omitempty"`
}

func (c *console) tasks(infos []TaskInfo, now time.Time) []consoleTask {
	warnings := c.warnings(now)
	out := make([]consoleTask, len(infos))
	for i, ti := range infos {
		ct := consoleTask{
			ID: ti.ID, Name: ti.Name, Parent: ti.Parent, State: ti.State,
			Start: ti.Start, Total: now.Sub(ti.Start),
			WaitingOn: ti.WaitingOn, HeldBy: ti.HeldBy, HeldByGoroutine: ti.HeldByGoroutine, lock: ti.lock,
			SpawnSite: ti.SpawnSite(), SpawnFunction: ti.SpawnFunction, SpawnFile: ti.SpawnFile, SpawnLine: ti.SpawnLine,
			Goroutine: ti.Goroutine, Stack: ti.Stack,
		}
		ct.TotalSeconds = ct.Total.Seconds()
		if ti.State == TaskWaiting {
			since := ti.WaitingSince
			ct.WaitingSince = &since
			ct.Waiting = now.Sub(since)
			ct.WaitingSeconds = ct.Waiting.Seconds()
		}
		ct.Warnings = warnings[ti.ID]
		if ti.TraceID.IsValid() {
			ct.TraceID, ct.SpanID = ti.TraceID.String(), ti.SpanID.String()
			ct.TraceURL = c.traceLink(ct.TraceID, ct.SpanID)
		}
		out[i] = ct
	}
	return out
}

// consoleResource is a lock or channel that tasks wait on, like a row of
// tokio-console's resources view: what it is, who waits, for how long at
// most, and, for a lock, who holds it.
type consoleResource struct {
	WaitingOn      string        `json:"waiting_on"` // as the tasks say it: lock "orders", receive from "jobs"
	Waiters        []uint64      `json:"waiters"`    // task IDs, longest wait first
	Longest        time.Duration `json:"-"`
	LongestSeconds float64       `json:"longest_wait_seconds"`
	// The lock's holder when recorded (see consoleTask.HeldBy).
	HeldBy          uint64 `json:"held_by,omitempty"`
	HeldByGoroutine uint64 `json:"held_by_goroutine,omitempty"`
}

// resources groups the waiting tasks by what they wait on, the longest
// wait first: one row per lock, and per channel name (channels that share a
// name share a row).
func resources(ts []consoleTask) []consoleResource {
	type key struct {
		what string
		lock tasks.Lock
	}
	byWhat := map[key]*consoleResource{}
	var out []*consoleResource
	waiting := slices.Clone(ts)
	slices.SortStableFunc(waiting, func(a, b consoleTask) int { return cmp.Compare(b.Waiting, a.Waiting) })
	for _, t := range waiting {
		if t.WaitingOn == "" {
			continue
		}
		k := key{t.WaitingOn, t.lock}
		r := byWhat[k]
		if r == nil {
			r = &consoleResource{WaitingOn: t.WaitingOn, Longest: t.Waiting, LongestSeconds: t.Waiting.Seconds()}
			byWhat[k] = r
			out = append(out, r)
		}
		r.Waiters = append(r.Waiters, t.ID)
		if r.HeldBy == 0 && r.HeldByGoroutine == 0 {
			r.HeldBy, r.HeldByGoroutine = t.HeldBy, t.HeldByGoroutine
		}
	}
	res := make([]consoleResource, len(out))
	for i, r := range out {
		res[i] = *r
	}
	return res
}

// consoleColumns are the list's columns: query name and heading.
var consoleColumns = []struct{ Key, Title string }{
	{"id", "ID"}, {"name", "Name"}, {"state", "State"}, {"total", "Total"},
	{"waiting", "Waiting on"}, {"site", "Spawn site"}, {"warnings", "Warnings"},
}

func sortTasks(ts []consoleTask, key string, desc bool) {
	slices.SortStableFunc(ts, func(a, b consoleTask) int {
		var r int
		switch key {
		case "name":
			r = strings.Compare(a.Name, b.Name)
		case "state":
			r = strings.Compare(string(a.State), string(b.State))
		case "total":
			r = cmp.Compare(a.Total, b.Total)
		case "waiting":
			r = cmp.Or(cmp.Compare(a.Waiting, b.Waiting), strings.Compare(a.WaitingOn, b.WaitingOn))
		case "site":
			r = strings.Compare(a.SpawnSite, b.SpawnSite)
		case "warnings":
			r = cmp.Compare(len(a.Warnings), len(b.Warnings))
		}
		if r == 0 {
			r = cmp.Compare(a.ID, b.ID)
		}
		if desc {
			r = -r
		}
		return r
	})
}

func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	asJSON := q.Get("format") == "json"
	now := c.cfg.now()
	w.Header().Set("Cache-Control", "no-store")
	if id := q.Get("task"); id != "" {
		c.serveTask(w, id, asJSON, now)
		return
	}
	ts := c.tasks(Snapshot(), now)
	key, desc := q.Get("sort"), q.Get("desc") == "1"
	if !slices.ContainsFunc(consoleColumns, func(col struct{ Key, Title string }) bool { return col.Key == key }) {
		key = "id"
	}
	sortTasks(ts, key, desc)
	live := make(map[uint64]bool, len(ts))
	for _, t := range ts {
		live[t.ID] = true
	}
	reports, total, haveKit := c.reports(live, 0)
	mem := c.memory(len(ts))
	if asJSON {
		page := struct {
			Time         time.Time         `json:"time"`
			Memory       consoleMemory     `json:"memory"`
			Lints        []string          `json:"lints"`
			Tasks        []consoleTask     `json:"tasks"`
			WaitedOn     []consoleResource `json:"waited_on"`
			Reports      []consoleReport   `json:"reports"`
			ReportsTotal int               `json:"reports_total"`
			ReportsNote  string            `json:"reports_note,omitempty"`
		}{Time: now, Memory: mem, Lints: c.lintSummary(), Tasks: ts, WaitedOn: resources(ts), Reports: reports, ReportsTotal: total}
		if !haveKit {
			page.ReportsNote = reportsNeedKit
		}
		writeJSON(w, page)
		return
	}
	type column struct {
		Title, Href, Mark string
	}
	var cols []column
	for _, col := range consoleColumns {
		h := column{Title: col.Title, Href: "?sort=" + col.Key}
		if col.Key == key {
			h.Mark = "▲"
			if desc {
				h.Mark = "▼"
			} else {
				h.Href += "&desc=1"
			}
		}
		cols = append(cols, h)
	}
	waiting := 0
	for _, t := range ts {
		if t.State == TaskWaiting {
			waiting++
		}
	}
	c.render(w, "list.html", map[string]any{
		"Tasks": ts, "Columns": cols, "Waiting": waiting, "Now": now, "Lints": c.lintSummary(), "WaitedOn": resources(ts),
		"Refresh": int(c.cfg.refresh.Round(time.Second) / time.Second),
		"Memory":  mem, "Reports": reports, "ReportsTotal": total, "ReportsKept": consoleReportsKept,
		"HaveKit": haveKit, "ReportsNeedKit": reportsNeedKit,
	})
}

// reportsNeedKit is what the console says instead of the reports while no
// Kit with the globals runs.
const reportsNeedKit = "reports need a running Kit: tracekit.Start, without WithoutGlobals"

func (c *console) serveTask(w http.ResponseWriter, idText string, asJSON bool, now time.Time) {
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		http.Error(w, "task: want a task ID, got "+strconv.Quote(idText), http.StatusBadRequest)
		return
	}
	infos, err := SnapshotStacks()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	ts := c.tasks(infos, now)
	live := make(map[uint64]bool, len(ts))
	for _, t := range ts {
		live[t.ID] = true
	}
	reports, _, _ := c.reports(live, id)
	i := slices.IndexFunc(ts, func(t consoleTask) bool { return t.ID == id })
	if i < 0 {
		c.serveEnded(w, id, live, reports, asJSON)
		return
	}
	ts[i].Reports = reports
	if asJSON {
		writeJSON(w, ts[i])
		return
	}
	c.render(w, "task.html", map[string]any{
		"Task": ts[i], "Now": now, "Reports": reports,
		"Refresh": int(c.cfg.refresh.Round(time.Second) / time.Second),
	})
}

// endedTaskJSON is the JSON of a task that has ended, from the record of
// ended tasks, which keeps the last few thousand.
type endedTaskJSON struct {
	ID              uint64          `json:"id"`
	Ended           bool            `json:"ended"`
	Name            string          `json:"name,omitempty"`
	Parent          uint64          `json:"parent,omitempty"`
	Goroutine       uint64          `json:"goroutine,omitempty"`
	SpawnSite       string          `json:"spawn_site,omitempty"`
	Start           *time.Time      `json:"start,omitempty"`
	DurationSeconds float64         `json:"duration_seconds,omitempty"`
	Result          string          `json:"result,omitempty"` // "ok", "error", "panic", "goexit"
	Error           string          `json:"error,omitempty"`
	TraceID         string          `json:"trace_id,omitempty"`
	SpanID          string          `json:"span_id,omitempty"`
	TraceURL        string          `json:"trace_url,omitempty"`
	Reports         []consoleReport `json:"reports,omitempty"`
}

// serveEnded answers for a task that is not running: 410 Gone saying it
// ended, with what the records of ended tasks keep of it and the kept
// reports about it, or 404 when neither remembers it.
func (c *console) serveEnded(w http.ResponseWriter, id uint64, live map[uint64]bool, reports []consoleReport, asJSON bool) {
	e, ok := tasks.FindEnded(id)
	if !ok {
		http.Error(w, fmt.Sprintf("task %d is not running", id), http.StatusNotFound)
		return
	}
	start := e.Start()
	et := endedTaskJSON{ID: id, Ended: true, Name: e.Name, Parent: e.Parent, Goroutine: e.Goroutine,
		SpawnSite: e.Site.String(), Start: &start, DurationSeconds: e.Duration.Seconds(),
		Result: e.Result, Error: e.Text, Reports: reports}
	if e.TraceID.IsValid() {
		et.TraceID, et.SpanID = e.TraceID.String(), e.SpanID.String()
		et.TraceURL = c.traceLink(et.TraceID, et.SpanID)
	}
	if asJSON {
		writeJSONStatus(w, http.StatusGone, et)
		return
	}
	c.renderStatus(w, http.StatusGone, "ended.html", map[string]any{"Task": et, "ParentLive": live[et.Parent], "Reports": reports})
}

func (c *console) render(w http.ResponseWriter, name string, data map[string]any) {
	c.renderStatus(w, http.StatusOK, name, data)
}

func (c *console) renderStatus(w http.ResponseWriter, status int, name string, data map[string]any) {
	var b strings.Builder
	if err := consoleTemplates.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "tracekit console: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// consoleReportsKept is how many of the running Kit's latest reports the
// console shows.
const consoleReportsKept = 50

// consoleReportTasks bounds the tasks a kept report names.
const consoleReportTasks = 8

// reportRing keeps the last consoleReportsKept reports a detector made,
// trimmed to what the console shows (no stacks, no goroutine dump), so the
// ring stays small. The zero value is ready; it is safe for concurrent use.
type reportRing struct {
	mu    sync.Mutex
	total int // reports ever added
	ring  [consoleReportsKept]keptReport
}

// keptReport is a report as the ring keeps it.
type keptReport struct {
	time      time.Time
	kind      ReportKind
	message   string
	lock      string
	channel   bool
	other     string
	spawnSite string
	tasks     []keptTask
	moreTasks int // tasks of the report left out of tasks
	span      trace.SpanContext
	traceFile string
}

type keptTask struct {
	id   uint64
	name string
}

func (q *reportRing) add(r *Report) {
	k := keptReport{
		time: r.Time, kind: r.Kind, message: r.Message, lock: r.Lock, channel: r.channel, other: r.Other,
		spawnSite: r.SpawnSite, span: r.SpanContext, traceFile: r.TraceFile,
	}
	n := min(len(r.Tasks), consoleReportTasks)
	k.tasks = make([]keptTask, n)
	for i := range n {
		k.tasks[i] = keptTask{r.Tasks[i].ID, r.Tasks[i].Name}
	}
	k.moreTasks = len(r.Tasks) - n
	q.mu.Lock()
	q.ring[q.total%consoleReportsKept] = k
	q.total++
	q.mu.Unlock()
}

// list returns the kept reports, newest first, and how many were ever
// added.
func (q *reportRing) list() ([]keptReport, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(q.total, consoleReportsKept)
	out := make([]keptReport, n)
	for i := range n {
		out[i] = q.ring[(q.total-1-i)%consoleReportsKept]
	}
	return out, q.total
}

// consoleReport is a report as the console shows it, in HTML and JSON.
type consoleReport struct {
	Time      time.Time           `json:"time"`
	Kind      string              `json:"kind"`
	Message   string              `json:"message"`
	Lock      string              `json:"lock,omitempty"`
	Channel   string              `json:"channel,omitempty"`
	OtherLock string              `json:"other_lock,omitempty"`
	SpawnSite string              `json:"spawn_site,omitempty"`
	Tasks     []consoleReportTask `json:"tasks,omitempty"`
	MoreTasks int                 `json:"more_tasks,omitempty"`
	TraceID   string              `json:"trace_id,omitempty"`
	SpanID    string              `json:"span_id,omitempty"`
	TraceURL  string              `json:"trace_url,omitempty"`
	TraceFile string              `json:"trace_file,omitempty"`
}

// consoleReportTask is a task a report concerns; Live says whether it
// still runs (and so has a page).
type consoleReportTask struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
	Live bool   `json:"live"`
}

// reports returns the running Kit's latest reports, newest first, marking
// the tasks in live as live, and how many reports the Kit made in all; ok
// is false when no Kit with the globals runs. With about != 0 only the
// reports concerning that task are returned.
func (c *console) reports(live map[uint64]bool, about uint64) (rs []consoleReport, total int, ok bool) {
	d := activeDetector.Load()
	if d == nil {
		return nil, 0, false
	}
	kept, total := d.recent.list()
	rs = make([]consoleReport, 0, len(kept))
	for _, k := range kept {
		if about != 0 && !slices.ContainsFunc(k.tasks, func(t keptTask) bool { return t.id == about }) {
			continue
		}
		cr := consoleReport{
			Time: k.time, Kind: k.kind.String(), Message: k.message, OtherLock: k.other,
			SpawnSite: k.spawnSite, MoreTasks: k.moreTasks, TraceFile: k.traceFile,
		}
		if k.channel {
			cr.Channel = k.lock
		} else {
			cr.Lock = k.lock
		}
		for _, t := range k.tasks {
			cr.Tasks = append(cr.Tasks, consoleReportTask{t.id, t.name, live[t.id]})
		}
		if k.span.HasTraceID() {
			cr.TraceID, cr.SpanID = k.span.TraceID().String(), k.span.SpanID().String()
			cr.TraceURL = c.traceLink(cr.TraceID, cr.SpanID)
		}
		rs = append(rs, cr)
	}
	return rs, total, true
}

// traceLink fills the trace URL template, or returns "" without one.
func (c *console) traceLink(traceID, spanID string) string {
	if c.cfg.traceURL == "" {
		return ""
	}
	return strings.NewReplacer("{trace_id}", traceID, "{span_id}", spanID).Replace(c.cfg.traceURL)
}

// consoleMemory is the list page's memory line.
type consoleMemory struct {
	// Used is what GOMEMLIMIT counts, as the memory watch reads it.
	Used uint64 `json:"used_bytes"`
	// Limit is GOMEMLIMIT when set, else the cgroup's limit; 0: none.
	Limit       uint64 `json:"limit_bytes,omitempty"`
	LimitKind   string `json:"limit_kind,omitempty"`
	LimitSource string `json:"limit_source,omitempty"`
	LiveHeap    uint64 `json:"live_heap_bytes"`
	Goroutines  int    `json:"goroutines"`
	Tasks       int    `json:"tasks"`
}

// memory samples memory as the memory watch does (runtime/metrics, and the
// cgroup files found once), without stopping the world.
func (c *console) memory(tasks int) consoleMemory {
	c.memMu.Lock()
	defer c.memMu.Unlock()
	if c.mem == nil {
		// A watch that is never started: its sampler and limit lookup,
		// with errors dropped (a running watch reports them).
		c.mem = &memWatch{cfg: memConfig{fraction: DefaultMemoryFraction}, sample: runtimeSampler(), cgroupFS: os.DirFS("/"), det: &detector{}}
		c.mem.findCgroup()
	}
	s := c.mem.sample()
	lim := c.mem.limit(s)
	m := consoleMemory{Used: s.used(), LiveHeap: s.live, Goroutines: runtime.NumGoroutine(), Tasks: tasks}
	if lim.bytes > 0 {
		m.Limit, m.LimitKind, m.LimitSource = lim.bytes, lim.kind.String(), lim.source
	}
	return m
}
