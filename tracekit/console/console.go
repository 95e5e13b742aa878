package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"runtime/pprof"
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
	"css":    styleSheet,
	"script": script,
	// Whole seconds, rounded up, and milliseconds, of a reload interval.
	"secs":  func(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) },
	"ms":    func(d time.Duration) int64 { return d.Milliseconds() },
	"minus": func(a, b int) int { return a - b },
}).ParseFS(files, "templates/*.html"))

// DefaultRefresh is how often the console's pages reload themselves.
const DefaultRefresh = 2 * time.Second

// Option configures [Handler].
type Option interface{ apply(*config) }

type config struct {
	traceURL  string
	refresh   time.Duration
	noRefresh bool
	hosts     []string // allowed besides IP literals and localhost
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

// WithRefresh sets how often the pages reload themselves: at most this
// often, less often while making them takes long (ten times what the last
// snapshot of the tasks cost), and not while hidden in a background tab.
// Default [DefaultRefresh].
func WithRefresh(d time.Duration) Option {
	return optionFunc(func(c *config) { c.refresh, c.noRefresh = d, false })
}

// WithoutRefresh keeps the pages from reloading themselves.
func WithoutRefresh() Option {
	return optionFunc(func(c *config) { c.noRefresh = true })
}

// WithAllowedHosts makes the console answer requests for hosts (names as
// the browser sends them in the Host header, without the port; "*" for
// any) besides IP literals, localhost and names under .localhost, which it
// always answers. It refuses others with 403, so that a web page whose
// name is made to resolve to this machine (DNS rebinding) cannot read it.
// Overrides TRACEKIT_CONSOLE_HOSTS (comma-separated).
func WithAllowedHosts(hosts ...string) Option {
	return optionFunc(func(c *config) {
		c.hosts = nil
		for _, h := range hosts {
			if h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), "."); h != "" {
				c.hosts = append(c.hosts, h)
			}
		}
	})
}

// newConfig applies the environment, then opts, then the defaults.
func newConfig(opts []Option) config {
	var c config
	c.hosts = env.List(env.ConsoleHosts)
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
// (what each waits on, who holds it, its warnings), the most interesting
// first and a page at a time, a page per task with its stack and trace
// link, the latest detector reports and a memory line; format=json gives
// the same data as JSON. Mount it under a path of its own, e.g.
// mux.Handle("/debug/tracekit/", console.Handler()): its links are
// relative. It is safe for concurrent use.
//
// Its costly work is budgeted (at most about a tenth of one core, one
// computation at a time; requests over the budget get 503 with
// Retry-After), it never stops the world for long, and it answers only
// requests for IP literals, localhost and [WithAllowedHosts] that no other
// site's page made. From the first call on, every task started labels its
// goroutine (pprof label tracekit_task) so that its page finds its stack.
func Handler(opts ...Option) http.Handler {
	tasks.SetGoroutineLabeler(labelGoroutine, pprof.SetGoroutineLabels)
	return &console{cfg: newConfig(opts), own: detect.NewLinter(ownLints()), budget: newBudget()}
}

type console struct {
	cfg    config
	own    *detect.Linter      // the lints' state while no detector's sweep runs
	mem    detect.MemoryReader // samples the memory line
	budget *budget
	list   cached[*snapshot]     // every running task
	stacks cached[*stackProfile] // the goroutine profile
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

	SpawnSite     string   `json:"spawn_site,omitempty"`
	SpawnFunction string   `json:"spawn_function,omitempty"`
	SpawnFile     string   `json:"spawn_file,omitempty"`
	SpawnLine     int      `json:"spawn_line,omitempty"`
	TraceID       string   `json:"trace_id,omitempty"`
	SpanID        string   `json:"span_id,omitempty"`
	TraceURL      string   `json:"trace_url,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`
	// On the task's page only: its goroutine, its stack (or why it is not
	// known) from the goroutine profile taken at StackTime, and the kept
	// reports about it.
	Goroutine uint64          `json:"goroutine,omitempty"`
	Stack     string          `json:"stack,omitempty"`
	StackNote string          `json:"stack_note,omitempty"`
	StackTime *time.Time      `json:"stack_time,omitempty"`
	Reports   []consoleReport `json:"reports,omitempty"`
}

// consoleResource is a lock or channel that tasks wait on, like a row of
// tokio-console's resources view: what it is, who waits, for how long at
// most, and, for a lock, who holds it.
type consoleResource struct {
	WaitingOn      string        `json:"waiting_on"`    // as the tasks say it: lock "orders", receive from "jobs"
	Waiters        []uint64      `json:"waiters"`       // task IDs, longest wait first, the first 20
	WaitersTotal   int           `json:"waiters_total"` // how many wait
	Longest        time.Duration `json:"-"`
	LongestSeconds float64       `json:"longest_wait_seconds"`
	// The lock's holder when recorded (see consoleTask.HeldBy).
	HeldBy          uint64 `json:"held_by,omitempty"`
	HeldByGoroutine uint64 `json:"held_by_goroutine,omitempty"`
}

// consoleColumns are the list's columns: query name and heading.
var consoleColumns = []struct{ Key, Title string }{
	{"id", "ID"}, {"name", "Name"}, {"state", "State"}, {"total", "Total"},
	{"waiting", "Waiting on"}, {"site", "Spawn site"}, {"warnings", "Warnings"},
}

// The list's pages: defaultLimit tasks unless the limit parameter says
// otherwise, up to maxLimit (400–600 KiB of HTML or JSON per 1,000 tasks).
const (
	defaultLimit = 1000
	maxLimit     = 10000
)

func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secure(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !hostAllowed(r.Host, c.cfg.hosts) {
		http.Error(w, "tracekit console: host "+strconv.Quote(r.Host)+" is not allowed: it answers IP literals and localhost, and the hosts of console.WithAllowedHosts or "+env.ConsoleHosts, http.StatusForbidden)
		return
	}
	if crossSite(r) {
		http.Error(w, "tracekit console: refused a request made by another site's page; open the console directly", http.StatusForbidden)
		return
	}
	arrived := time.Now()
	q := r.URL.Query()
	asJSON := q.Get("format") == "json"
	if id := q.Get("task"); id != "" {
		c.serveTask(w, r.Context(), id, asJSON, arrived)
		return
	}
	c.serveList(w, r.Context(), q, asJSON)
}

// refused answers a request the budget refused, or whose client left.
func refused(w http.ResponseWriter, err error) {
	var busy *busyError
	if errors.As(err, &busy) {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(time.Second, busy.Retry+time.Second-1)/time.Second)))
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	http.Error(w, "tracekit console: "+err.Error(), http.StatusServiceUnavailable)
}

// refresh is how often a page reloads itself: the configured interval, or
// longer while the console's work takes long (costShare times what the
// snapshot it shows cost); 0 for never.
func (c *console) refresh(cost time.Duration) time.Duration {
	if c.cfg.refresh <= 0 {
		return 0
	}
	return max(c.cfg.refresh, (costShare * cost).Round(100*time.Millisecond))
}

// snapshot returns the running tasks, as recent as the budget allows;
// fresh says whether a reused snapshot will do.
func (c *console) snapshot(ctx context.Context, fresh func(*snapshot, time.Time) bool) (*snapshot, time.Duration, error) {
	return c.list.get(ctx, c.budget, fresh, func() *snapshot {
		reported := map[uint64]bool{}
		if d := detect.Active(); d != nil {
			kept, _ := d.Recent()
			for _, k := range kept {
				for _, t := range k.Tasks {
					reported[t.ID] = true
				}
			}
		}
		return c.takeSnapshot(reported)
	})
}

func (c *console) serveList(w http.ResponseWriter, ctx context.Context, q url.Values, asJSON bool) {
	key, desc := q.Get("sort"), q.Get("desc") == "1"
	if !slices.Contains(sortKeys, key) {
		key = ""
	}
	limit, offset := defaultLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			http.Error(w, fmt.Sprintf("limit: want 1 to %d tasks, got %q", maxLimit, v), http.StatusBadRequest)
			return
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			http.Error(w, "offset: want a count of tasks to skip, got "+strconv.Quote(v), http.StatusBadRequest)
			return
		}
		offset = n
	}
	s, cost, err := c.snapshot(ctx, func(*snapshot, time.Time) bool { return true })
	if err != nil {
		refused(w, err)
		return
	}
	order := s.order(key)
	from, to := min(offset, len(order)), min(offset+limit, len(order))
	page := make([]consoleTask, 0, to-from)
	for k := from; k < to; k++ {
		i := k
		if desc {
			i = len(order) - 1 - k
		}
		page = append(page, c.task(s, int(order[i])))
	}
	reports, total, haveKit := c.reports(0, func(ids map[uint64]bool) {
		for id := range ids {
			ids[id] = s.has(id)
		}
	})
	mem := c.memory(len(s.recs))
	if asJSON {
		out := struct {
			Time            time.Time         `json:"time"`
			SnapshotSeconds float64           `json:"snapshot_seconds"`
			Memory          consoleMemory     `json:"memory"`
			Lints           []string          `json:"lints"`
			Total           int               `json:"total"`
			Waiting         int               `json:"waiting"`
			Sort            string            `json:"sort,omitempty"`
			Desc            bool              `json:"desc,omitempty"`
			Offset          int               `json:"offset"`
			Limit           int               `json:"limit"`
			Tasks           []consoleTask     `json:"tasks"`
			WaitedOn        []consoleResource `json:"waited_on"`
			WaitedOnTotal   int               `json:"waited_on_total"`
			Reports         []consoleReport   `json:"reports"`
			ReportsTotal    int               `json:"reports_total"`
			ReportsNote     string            `json:"reports_note,omitempty"`
		}{Time: s.at, SnapshotSeconds: cost.Seconds(), Memory: mem, Lints: c.lintSummary(),
			Total: len(s.recs), Waiting: s.waiting, Sort: key, Desc: desc, Offset: offset, Limit: limit,
			Tasks: page, WaitedOn: s.resources, WaitedOnTotal: s.resourcesTotal,
			Reports: reports, ReportsTotal: total}
		if !haveKit {
			out.ReportsNote = reportsNeedKit
		}
		writeJSON(w, out)
		return
	}
	link := func(key string, desc bool, offset int) string {
		v := url.Values{}
		if key != "" {
			v.Set("sort", key)
		}
		if desc {
			v.Set("desc", "1")
		}
		if offset > 0 {
			v.Set("offset", strconv.Itoa(offset))
		}
		if limit != defaultLimit {
			v.Set("limit", strconv.Itoa(limit))
		}
		return "?" + v.Encode()
	}
	type column struct {
		Title, Href, Mark string
	}
	var cols []column
	for _, col := range consoleColumns {
		h := column{Title: col.Title, Href: link(col.Key, false, 0)}
		if col.Key == key {
			h.Mark = "▲"
			if desc {
				h.Mark = "▼"
			} else {
				h.Href = link(col.Key, true, 0)
			}
		}
		cols = append(cols, h)
	}
	pages := map[string]string{}
	if from > 0 {
		pages["First"] = link(key, desc, 0)
		pages["Previous"] = link(key, desc, max(0, from-limit))
	}
	if to < len(order) {
		pages["Next"] = link(key, desc, to)
		pages["Last"] = link(key, desc, (len(order)-1)/limit*limit)
	}
	c.render(w, "list.html", map[string]any{
		"Tasks": page, "Total": len(s.recs), "From": from + 1, "To": to, "Pages": pages, "Sorted": key != "",
		"Columns": cols, "Waiting": s.waiting, "Now": s.at, "Cost": cost, "Lints": c.lintSummary(),
		"WaitedOn": s.resources, "WaitedOnTotal": s.resourcesTotal, "Refresh": c.refresh(cost),
		"Memory": mem, "Reports": reports, "ReportsTotal": total, "ReportsKept": detect.RecentKept,
		"HaveKit": haveKit, "ReportsNeedKit": reportsNeedKit,
	})
}

// reportsNeedKit is what the console says instead of the reports while no
// Kit with the globals runs.
const reportsNeedKit = "reports need a running detector: sdk.Start, without WithoutGlobals"

func (c *console) serveTask(w http.ResponseWriter, ctx context.Context, idText string, asJSON bool, arrived time.Time) {
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		http.Error(w, "task: want a task ID, got "+strconv.Quote(idText), http.StatusBadRequest)
		return
	}
	markRunning := func(ids map[uint64]bool) { tasks.MarkRunning(ids) }
	rec, goroutine := tasks.Find(id)
	var s *snapshot
	var cost time.Duration
	i := -1
	if rec != nil {
		// A snapshot taken after the request came, or one recent enough
		// that has the task.
		if s, cost, err = c.snapshot(ctx, func(s *snapshot, start time.Time) bool { return s.has(id) || !start.Before(arrived) }); err != nil {
			refused(w, err)
			return
		}
		i = s.find(id)
	}
	reports, _, _ := c.reports(id, markRunning)
	if i < 0 {
		c.serveEnded(w, id, reports, asJSON)
		return
	}
	ct := c.task(s, i)
	ct.Goroutine = goroutine
	st, err := c.stackOf(ctx, rec, arrived)
	if err != nil {
		refused(w, err)
		return
	}
	ct.Stack, ct.StackNote = st.Text, st.Note
	if !st.Time.IsZero() {
		ct.StackTime = &st.Time
	}
	ct.Reports = reports
	if asJSON {
		writeJSON(w, ct)
		return
	}
	c.render(w, "task.html", map[string]any{
		"Task": ct, "Now": s.at, "Reports": reports, "Refresh": c.refresh(cost),
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
func (c *console) serveEnded(w http.ResponseWriter, id uint64, reports []consoleReport, asJSON bool) {
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
	parentLive := map[uint64]bool{et.Parent: false}
	tasks.MarkRunning(parentLive)
	c.renderStatus(w, http.StatusGone, "ended.html", map[string]any{"Task": et, "ParentLive": et.Parent != 0 && parentLive[et.Parent], "Reports": reports})
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

// reports returns the running Kit's latest reports, newest first, and how
// many reports the Kit made in all; ok is false when no Kit with the
// globals runs. With about != 0 only the reports concerning that task are
// returned. live marks, among the IDs it is given, the running tasks, whose
// links the reports show.
func (c *console) reports(about uint64, live func(ids map[uint64]bool)) (rs []consoleReport, total int, ok bool) {
	d := detect.Active()
	if d == nil {
		return nil, 0, false
	}
	kept, total := d.Recent()
	rs = make([]consoleReport, 0, len(kept))
	ids := map[uint64]bool{}
	for _, k := range kept {
		if about != 0 && !slices.ContainsFunc(k.Tasks, func(t detect.KeptTask) bool { return t.ID == about }) {
			continue
		}
		cr := consoleReport{
			Time: k.Time, Kind: string(k.Kind), Message: k.Message, Lock: k.Lock, Channel: k.Channel, OtherLock: k.Other,
			SpawnSite: k.SpawnSite, MoreTasks: k.MoreTasks, TraceFile: k.TraceFile,
		}
		for _, t := range k.Tasks {
			cr.Tasks = append(cr.Tasks, consoleReportTask{ID: t.ID, Name: t.Name})
			ids[t.ID] = false
		}
		if k.Span.HasTraceID() {
			cr.TraceID, cr.SpanID = k.Span.TraceID().String(), k.Span.SpanID().String()
			cr.TraceURL = c.traceLink(cr.TraceID, cr.SpanID)
		}
		rs = append(rs, cr)
	}
	live(ids)
	for i := range rs {
		for j := range rs[i].Tasks {
			rs[i].Tasks[j].Live = ids[rs[i].Tasks[j].ID]
		}
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
