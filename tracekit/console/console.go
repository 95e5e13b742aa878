package console

import (
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracekit-go/tracekit/internal/detect"
	"github.com/tracekit-go/tracekit/internal/env"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

//go:embed templates
var files embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"dur": func(d time.Duration) string {
		switch {
		case d >= time.Second:
			return d.Round(10 * time.Millisecond).String()
		case d >= time.Millisecond:
			return d.Round(10 * time.Microsecond).String()
		}
		return d.String()
	},
	"bytes": detect.FormatBytes,
	"pct": func(used, limit uint64) string {
		return strconv.FormatFloat(100*float64(used)/float64(limit), 'f', 0, 64) + "%"
	},
}).ParseFS(files, "templates/*.html", "templates/*.css"))

// DefaultRefresh is how often the console's pages reload themselves.
const DefaultRefresh = 2 * time.Second

// Option configures [Handler].
type Option interface{ apply(*config) }

type config struct {
	traceURL  string
	refresh   time.Duration
	noRefresh bool
	now       func() time.Time
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTraceURL makes each traced task link to its trace in a trace viewer:
// {trace_id} and {span_id} in template are replaced with the task's IDs in
// hex, e.g. "http://localhost:16686/trace/{trace_id}" for Jaeger.
// Overrides TRACEKIT_TRACE_URL. A template that is not an http or https URL
// containing {trace_id} is logged and ignored.
func WithTraceURL(template string) Option {
	return optionFunc(func(c *config) { c.traceURL = template })
}

// WithRefresh sets how often the pages reload themselves. Default
// [DefaultRefresh].
func WithRefresh(d time.Duration) Option {
	return optionFunc(func(c *config) { c.refresh, c.noRefresh = d, false })
}

// WithoutRefresh keeps the pages from reloading themselves.
func WithoutRefresh() Option {
	return optionFunc(func(c *config) { c.noRefresh = true })
}

// newConfig applies the environment, then opts, then the defaults.
func newConfig(opts []Option) config {
	var c config
	if v, ok := env.String(env.TraceURL); ok {
		if err := validTraceURL(v); err != nil {
			slog.Default().Warn((&env.Error{Name: env.TraceURL, Value: v, Reason: "want " + err.Error()}).Error())
		} else {
			c.traceURL = v
		}
	}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.traceURL != "" && validTraceURL(c.traceURL) != nil {
		slog.Default().Warn("tracekit: ignoring trace URL template " + strconv.Quote(c.traceURL))
		c.traceURL = ""
	}
	if c.refresh <= 0 {
		c.refresh = DefaultRefresh
	}
	if c.noRefresh {
		c.refresh = 0
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// ownLints is what the console warns about while no detector's lint sweep
// runs: a task whose parent has ended (at once), and the spawn-growth
// lint's defaults, sampled as the console is viewed.
func ownLints() detect.LintConfig {
	return detect.LintConfig{OrphanOn: true, GrowthSamples: detect.DefaultGrowthSamples,
		GrowthEvery: detect.DefaultGrowthInterval, GrowthMinRise: detect.DefaultGrowthMinRise}
}

// linter returns the lints the console shows: the running detector's
// sweep's, with its thresholds and what it has seen (update false: the
// sweep keeps the state), or else the console's own.
func (c *console) linter() (l *detect.Linter, update bool) {
	if d := detect.Active(); d != nil {
		if l := d.Linter(); l != nil {
			return l, false
		}
	}
	return c.own, true
}

// hangTimeout is the wait past which the console marks a task: the running
// detector's hang timeout (0 when its hang reports are off), else the
// default.
func hangTimeout() time.Duration {
	if d := detect.Active(); d != nil {
		return d.HangTimeout()
	}
	return detect.DefaultHang
}

// warnings says what the console warns about each task, by task ID: the
// lints' findings, and waits past the hang timeout (on the waiter, and on
// the lock's holder when it is a task).
func (c *console) warnings(now time.Time, es []tasks.Entry) map[uint64][]string {
	l, update := c.linter()
	out := l.Warnings(now, tasks.Append(nil), update)
	hang := hangTimeout()
	if hang <= 0 {
		return out
	}
	for _, e := range es {
		if e.WaitingOn == "" {
			continue
		}
		waited := now.Sub(e.WaitingSince)
		if waited < hang {
			continue
		}
		round := waited.Round(time.Millisecond)
		s := fmt.Sprintf("waiting %v on %s, past the hang timeout %v", round, e.WaitingOn, hang)
		if e.HeldBy != 0 {
			s += fmt.Sprintf(", held by task %d", e.HeldBy)
			out[e.HeldBy] = append(out[e.HeldBy], fmt.Sprintf("holds %s, which task %d has waited %v for", strings.TrimPrefix(e.WaitingOn, "read "), e.ID, round))
		}
		out[e.ID] = append(out[e.ID], s)
	}
	return out
}

// lintSummary says what the console warns about, for the list page.
func (c *console) lintSummary() []string {
	l, _ := c.linter()
	cfg := l.Config()
	var out []string
	if hang := hangTimeout(); hang > 0 {
		out = append(out, fmt.Sprintf("waiting ≥ %v (hang timeout)", hang))
	}
	switch {
	case cfg.OrphanOn && cfg.Orphan > 0:
		out = append(out, fmt.Sprintf("parent ended ≥ %v ago", cfg.Orphan))
	case cfg.OrphanOn:
		out = append(out, "parent ended")
	}
	if cfg.GrowthSamples > 0 {
		out = append(out, fmt.Sprintf("spawn growth over %d samples %v apart", cfg.GrowthSamples, cfg.GrowthEvery))
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

// Handler returns the live console: a page listing the running tasks
// (what each waits on, who holds it, its warnings), a page per task with
// its stack and trace link, the latest detector reports and a memory line;
// format=json gives the same data as JSON. Mount it under a path of its
// own, e.g. mux.Handle("/debug/tracekit/", console.Handler()): its links
// are relative. It is safe for concurrent use.
func Handler(opts ...Option) http.Handler {
	return &console{cfg: newConfig(opts), own: detect.NewLinter(ownLints())}
}

type console struct {
	cfg config
	own *detect.Linter      // the lints' state while no detector's sweep runs
	mem detect.MemoryReader // samples the memory line
}

// consoleTask is one task as the console shows it, in HTML and JSON.
type consoleTask struct {
	ID             uint64            `json:"id"`
	Name           string            `json:"name"`
	Parent         uint64            `json:"parent,omitempty"`
	State          inspect.TaskState `json:"state"`
	Start          time.Time         `json:"start"`
	Total          time.Duration     `json:"-"`
	TotalSeconds   float64           `json:"total_seconds"`
	WaitingOn      string            `json:"waiting_on,omitempty"`
	WaitingSince   *time.Time        `json:"waiting_since,omitempty"`
	Waiting        time.Duration     `json:"-"`
	WaitingSeconds float64           `json:"waiting_seconds,omitempty"`
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

func (c *console) tasks(es []tasks.Entry, now time.Time) []consoleTask {
	warnings := c.warnings(now, es)
	out := make([]consoleTask, len(es))
	for i, e := range es {
		ti := inspect.Task(e.Info)
		ct := consoleTask{
			ID: ti.ID, Name: ti.Name, Parent: ti.Parent, State: ti.State(),
			Start: ti.Start, Total: now.Sub(ti.Start),
			WaitingOn: ti.WaitingOn, HeldBy: ti.HeldBy, HeldByGoroutine: ti.HeldByGoroutine, lock: e.Lock,
			SpawnSite: ti.SpawnSite(), SpawnFunction: ti.SpawnFunction, SpawnFile: ti.SpawnFile, SpawnLine: ti.SpawnLine,
			Goroutine: ti.Goroutine, Stack: ti.Stack,
		}
		ct.TotalSeconds = ct.Total.Seconds()
		if ct.State == inspect.TaskWaiting {
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
	ts := c.tasks(tasks.Snapshot(), now)
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
		if t.State == inspect.TaskWaiting {
			waiting++
		}
	}
	c.render(w, "list.html", map[string]any{
		"Tasks": ts, "Columns": cols, "Waiting": waiting, "Now": now, "Lints": c.lintSummary(), "WaitedOn": resources(ts),
		"Refresh": int(c.cfg.refresh.Round(time.Second) / time.Second),
		"Memory":  mem, "Reports": reports, "ReportsTotal": total, "ReportsKept": detect.RecentKept,
		"HaveKit": haveKit, "ReportsNeedKit": reportsNeedKit,
	})
}

// reportsNeedKit is what the console says instead of the reports while no
// Kit with the globals runs.
const reportsNeedKit = "reports need a running detector: sdk.Start, without WithoutGlobals"

func (c *console) serveTask(w http.ResponseWriter, idText string, asJSON bool, now time.Time) {
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		http.Error(w, "task: want a task ID, got "+strconv.Quote(idText), http.StatusBadRequest)
		return
	}
	es, err := tasks.SnapshotStacks()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	ts := c.tasks(es, now)
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
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
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
	d := detect.Active()
	if d == nil {
		return nil, 0, false
	}
	kept, total := d.Recent()
	rs = make([]consoleReport, 0, len(kept))
	for _, k := range kept {
		if about != 0 && !slices.ContainsFunc(k.Tasks, func(t detect.KeptTask) bool { return t.ID == about }) {
			continue
		}
		cr := consoleReport{
			Time: k.Time, Kind: string(k.Kind), Message: k.Message, Lock: k.Lock, Channel: k.Channel, OtherLock: k.Other,
			SpawnSite: k.SpawnSite, MoreTasks: k.MoreTasks, TraceFile: k.TraceFile,
		}
		for _, t := range k.Tasks {
			cr.Tasks = append(cr.Tasks, consoleReportTask{t.ID, t.Name, live[t.ID]})
		}
		if k.Span.HasTraceID() {
			cr.TraceID, cr.SpanID = k.Span.TraceID().String(), k.Span.SpanID().String()
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

// memory samples memory as the memory watch does, without stopping the
// world.
func (c *console) memory(tasks int) consoleMemory {
	r := c.mem.Read()
	m := consoleMemory{Used: r.Used, LiveHeap: r.LiveHeap, Goroutines: runtime.NumGoroutine(), Tasks: tasks}
	if r.Limit > 0 {
		m.Limit, m.LimitKind, m.LimitSource = r.Limit, r.LimitKind.String(), r.LimitSource
	}
	return m
}
