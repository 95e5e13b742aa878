package detect

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/flight"
	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/gostack"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/internal/tracelog"
	"github.com/tracekit-go/tracekit/internal/xtrace"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// Defaults of the lock and channel thresholds.
const (
	// DefaultSlow is the wait or hold past which a lock or channel
	// operation gets a span.
	DefaultSlow = 10 * time.Millisecond
	// DefaultHang is the wait past which a hang is reported.
	DefaultHang = 30 * time.Second
	// DefaultLongHold is the hold past which a long hold is reported.
	DefaultLongHold = time.Second
)

// active is the detector that the zero values of tracekit's locks, and its
// channel helpers, report to: package sdk installs it (unless told not to)
// and removes it at shutdown. While it is nil the locks are plain sync
// locks plus one atomic load.
//
// This is the one piece of package state, and it is not a setting: tests
// that need a detector make their own with New and pin it to a lock
// (Lock.Det) or pass it to the channel helpers.
var active atomic.Pointer[Detector]

// Current returns the detector tracekit's channel helpers and unpinned
// locks use: the installed one, the stand-in of missing.go, or nil.
func Current() *Detector { return active.Load() }

// Active returns the installed detector, or nil (also while the stand-in
// of missing.go waits to warn).
func Active() *Detector {
	if d := active.Load(); d != nil && !d.missing {
		return d
	}
	return nil
}

// Install makes d the detector tracekit's locks and channels report to.
func Install(d *Detector) { active.Store(d) }

// Uninstall removes d, if it is the installed detector.
func Uninstall(d *Detector) { active.CompareAndSwap(d, nil) }

// Config is what a detector needs, resolved: a zero threshold turns its
// mechanism off.
type Config struct {
	Slow     time.Duration // spans of slow lock and channel operations
	Hang     time.Duration // hang reports
	LongHold time.Duration // long-hold reports
	Order    bool          // lock-order detection
	OnReport func(inspect.Report)
	// Flight configures the flight recorder that every report, and every
	// span of tracekit's slower than SlowSpan, snapshots; with Flight.Dir
	// "" there is none. OnError defaults to the detector's.
	Flight   flight.Config
	SlowSpan time.Duration // 0: spans never snapshot
	MaxEdges int           // lock-order graph bound; 0: defaultMaxEdges
	Meter    metric.Meter
	OnError  func(error)
	Logger   *slog.Logger // nil: slog.Default()
}

// Detector holds the lock and channel instrumentation of a running setup:
// thresholds, the coarse clock, metrics, the lock-order graph and the
// report sinks. Its methods are safe for concurrent use.
type Detector struct {
	cfg   Config
	epoch time.Time // clock origin; times are nanoseconds since epoch, +1

	// coarse is the clock the lock fast path reads to time holds: a
	// goroutine refreshes it every tick, so reading it costs one atomic load
	// instead of a clock read (about 40 ns here, four times sync.Mutex's
	// Lock+Unlock). Holds are therefore known to ±tick; see sampleEvery for
	// the exact ones that feed the histogram.
	coarse atomic.Int64
	// clockState says whether the clock ticks (clockUsed, clockUnused) or
	// sleeps (clockIdle) after idleTicks ticks with no lock read it: an idle
	// process costs no wake-ups. It shares coarse's cache line, which the
	// clock writes every tick anyway.
	clockState atomic.Int32
	tick       time.Duration
	idleTicks  int
	wake       chan struct{}
	quit       chan struct{}
	done       chan struct{}
	stop       sync.Once

	order *orderGraph // nil when lock-order detection is off
	// holdFloor is the shortest hold a release must record: the lower of
	// the positive Slow and LongHold thresholds, or math.MaxInt64 for none
	// (every constructor sets it).
	holdFloor int64

	waitHist metric.Float64Histogram
	holdHist metric.Float64Histogram
	chanHist metric.Float64Histogram
	reg      metric.Registration
	names    sync.Map // lock name -> *lockStats

	flight   *flight.Recorder // nil when off
	slowSpan time.Duration    // 0 when off, or when there is no flight recorder

	recent reportRing                // the last reports, for the console
	lints  atomic.Pointer[lintSweep] // the lint sweep, once started
	peers  peerBook                  // who was seen on each side of a channel
	cycles sync.Mutex                // held while a wait is checked for a deadlock

	missing bool // the stand-in of missing.go
}

// sampleEvery: one uncontended acquisition in sampleEvery reads the precise
// clock at Lock and Unlock and records its hold in the tracekit.lock.hold
// histogram. Counting is done under the lock itself, so the sample is
// systematic per lock and unbiased by duration.
const sampleEvery = 256

// New makes a detector and starts its clock. Stop it with Close.
func New(cfg Config) *Detector {
	if cfg.MaxEdges <= 0 {
		cfg.MaxEdges = defaultMaxEdges
	}
	d := &Detector{cfg: cfg, epoch: time.Now(), wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	if cfg.Order {
		d.order = newOrderGraph(d, cfg.MaxEdges)
	}
	d.holdFloor = math.MaxInt64
	for _, t := range []time.Duration{cfg.Slow, cfg.LongHold} {
		if t > 0 {
			d.holdFloor = min(d.holdFloor, int64(t))
		}
	}
	goid.Offset() // locks record their holder's goroutine ID: find it now, not in a Lock
	d.tick = min(max(cfg.Slow/5, time.Millisecond), 100*time.Millisecond)
	d.idleTicks = max(int(clockIdleAfter/d.tick), 1)
	d.coarse.Store(d.Now())
	d.clockState.Store(clockUsed)
	if cfg.Meter != nil {
		d.instruments()
	}
	if cfg.Flight.Dir != "" {
		fc := cfg.Flight
		if fc.OnError == nil {
			fc.OnError = d.Error
		}
		if fr, err := flight.Start(fc); err != nil {
			d.Error(fmt.Errorf("tracekit: %w", err))
		} else {
			d.flight, d.slowSpan = fr, max(cfg.SlowSpan, 0)
		}
	}
	go d.clock()
	return d
}

// The coarse clock's states. A lock that reads the clock marks it used; each
// tick marks it unused, and after idleTicks unused ticks in a row it goes
// idle and stops ticking until a lock wakes it.
const (
	clockIdle int32 = iota
	clockUsed
	clockUnused

	clockIdleAfter = time.Second
)

// coarseNow returns the coarse clock, waking it first if it sleeps. While
// it ticks, a lock that has seen it used since the last tick pays one
// atomic load more than reading it.
func (d *Detector) coarseNow() int64 {
	if d.clockState.Load() != clockUsed {
		d.touchClock()
	}
	return d.coarse.Load()
}

// touchClock marks the clock used and, if it slept, sets it to the precise
// time and wakes it. Only the first lock after a tick gets here.
func (d *Detector) touchClock() {
	if d.clockState.Swap(clockUsed) == clockIdle {
		if d.missing {
			d.warnMissing()
		}
		d.coarse.Store(d.Now())
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

func (d *Detector) clock() {
	defer close(d.done)
	t := time.NewTicker(d.tick)
	defer t.Stop()
	unused := 0
	for {
		select {
		case <-t.C:
		case <-d.quit:
			return
		}
		d.coarse.Store(d.Now())
		if d.clockState.CompareAndSwap(clockUsed, clockUnused) {
			unused = 0
			continue
		}
		if unused++; unused < d.idleTicks || !d.clockState.CompareAndSwap(clockUnused, clockIdle) {
			continue
		}
		// Idle: nothing has read the clock for idleTicks ticks. A lock that
		// reads it now finds clockIdle and wakes it (touchClock).
		t.Stop()
		select {
		case <-d.wake:
		case <-d.quit:
			return
		}
		unused = 0
		t.Reset(d.tick)
	}
}

// Close stops the clock and the flight recorder, once the snapshots asked
// for are written. Safe to call twice.
func (d *Detector) Close() {
	d.stop.Do(func() {
		if s := d.lints.Load(); s != nil {
			s.stop()
		}
		close(d.quit)
		<-d.done
		if d.reg != nil {
			_ = d.reg.Unregister()
		}
		if d.flight != nil {
			d.flight.Close()
		}
	})
}

// Now is the precise clock: nanoseconds since the detector started, never
// 0.
func (d *Detector) Now() int64 { return int64(time.Since(d.epoch)) + 1 }

func (d *Detector) wall(ns int64) time.Time { return d.epoch.Add(time.Duration(ns - 1)) }

func (d *Detector) Error(err error) {
	if d.cfg.OnError != nil {
		d.cfg.OnError(err)
	}
}

var latencyBuckets = metric.WithExplicitBucketBoundaries(1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10)

func (d *Detector) instruments() {
	m := d.cfg.Meter
	var errs [4]error
	d.waitHist, errs[0] = m.Float64Histogram("tracekit.lock.wait",
		metric.WithDescription("Time contended lock acquisitions waited."), metric.WithUnit("s"), latencyBuckets)
	d.holdHist, errs[1] = m.Float64Histogram("tracekit.lock.hold",
		metric.WithDescription("Time locks were held, for a systematic sample of 1 in 256 acquisitions per lock."), metric.WithUnit("s"), latencyBuckets)
	d.chanHist, errs[2] = m.Float64Histogram("tracekit.chan.wait",
		metric.WithDescription("Time channel operations that could not complete at once were blocked."), metric.WithUnit("s"), latencyBuckets)
	acq, err := m.Int64ObservableCounter("tracekit.lock.acquisitions",
		metric.WithDescription("Lock acquisitions, by lock and whether they had to wait."), metric.WithUnit("{acquisition}"))
	errs[3] = err
	for _, err := range errs {
		if err != nil {
			d.Error(fmt.Errorf("tracekit: lock metrics: %w", err))
			return
		}
	}
	d.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		d.names.Range(func(_, v any) bool {
			s := v.(*lockStats)
			all, contended := s.acquired.Load(), s.contended.Load()
			o.ObserveInt64(acq, max(all-contended, 0), s.uncontendedAttr)
			o.ObserveInt64(acq, contended, s.contendedAttr)
			return true
		})
		return nil
	}, acq)
	if err != nil {
		d.Error(fmt.Errorf("tracekit: lock metrics: %w", err))
	}
}

// lockStats is the per-name aggregate of one detector.
type lockStats struct {
	d         *Detector
	name      string
	attrs     []metric.RecordOption // made once: a variadic call would allocate the slice
	acquired  atomic.Int64
	contended atomic.Int64

	uncontendedAttr, contendedAttr metric.ObserveOption
}

func (d *Detector) stats(name string) *lockStats {
	if v, ok := d.names.Load(name); ok {
		return v.(*lockStats)
	}
	set := attribute.NewSet(keyLockName.String(name))
	s := &lockStats{d: d, name: name, attrs: []metric.RecordOption{metric.WithAttributeSet(set)},
		uncontendedAttr: metric.WithAttributes(keyLockName.String(name), attribute.Bool("contended", false)),
		contendedAttr:   metric.WithAttributes(keyLockName.String(name), attribute.Bool("contended", true)),
	}
	v, _ := d.names.LoadOrStore(name, s)
	return v.(*lockStats)
}

func (d *Detector) recordWait(ctx context.Context, s *lockStats, ns int64) {
	if d.waitHist != nil {
		d.waitHist.Record(ctx, float64(ns)/1e9, s.attrs...)
	}
}

// recordCanceledWait records, in the wait histogram, a lock wait that its
// context ended: with the lock's attribute and tracekit.canceled.
func (d *Detector) recordCanceledWait(ctx context.Context, name attribute.KeyValue, ns int64) {
	if d.waitHist != nil {
		d.waitHist.Record(ctx, float64(ns)/1e9, metric.WithAttributes(name, keyCanceled.Bool(true)))
	}
}

func (d *Detector) recordHold(s *lockStats, ns int64) {
	if d.holdHist != nil {
		d.holdHist.Record(context.Background(), float64(ns)/1e9, s.attrs...)
	}
}

// span records a finished slow operation as a span under ctx's span, or
// under the span of the tracekit task running on this goroutine. With
// neither there is no trace to attach to and nothing is recorded. err is
// ctx.Err() when the context ended the operation: the span's status is an
// error saying so, and it carries tracekit.canceled and the cause.
func (d *Detector) span(ctx context.Context, kind, name string, startNS, endNS int64, err error, attrs ...attribute.KeyValue) {
	parent := SpanFor(ctx)
	if !parent.SpanContext().IsValid() {
		return
	}
	attrs = append(attrs, attribute.String(semconv.Kind, kind))
	if err != nil {
		attrs = append(attrs, keyCanceled.Bool(true))
		if cause := context.Cause(ctx); cause != nil && cause != err {
			attrs = append(attrs, keyCancelCause.String(cause.Error()))
		}
	}
	ctx = trace.ContextWithSpan(ctx, parent)
	startNS = d.notBeforeSpan(ctx, startNS)
	start, end := d.spanTimes(parent, startNS, endNS)
	full := kind + " " + name
	_, sp := Tracer(ctx).Start(ctx, full,
		trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	if xtrace.Enabled() && sp.IsRecording() {
		// One marker, now, on the goroutine that waited (or held): a
		// reader puts the span's start its duration before it.
		sc := sp.SpanContext()
		xtrace.Done(ctx, sc.TraceID(), sc.SpanID(), parent.SpanContext().SpanID(), kind, full, time.Duration(d.Now()-startNS))
	}
	if err != nil {
		sp.SetStatus(codes.Error, err.Error())
	}
	d.SpanEnding(sp, time.Duration(endNS-startNS))
	sp.End(trace.WithTimestamp(end))
}

// spanTimes returns the times of startNS and endNS for a span below
// parent, counted from the parent's start when it says it (the SDK's
// spans do, and end at their start plus the monotonic time since). Exporters
// send wall clock readings, and a time.Time's wall and monotonic readings
// are taken one after the other: counted from the detector's epoch
// instead, a child that starts after its parent on the monotonic clock can
// start a microsecond before it on the wall clock.
func (d *Detector) spanTimes(parent trace.Span, startNS, endNS int64) (start, end time.Time) {
	if ps, ok := parent.(interface{ StartTime() time.Time }); ok {
		if pst := ps.StartTime(); !pst.IsZero() {
			base := int64(pst.Sub(d.epoch)) + 1 // pst on the detector's clock
			return pst.Add(time.Duration(startNS - base)), pst.Add(time.Duration(endNS - base))
		}
	}
	return d.wall(startNS), d.wall(endNS)
}

// notBeforeSpan returns startNS, or the start of the span the operation
// belongs to (ctx's, else the task's on this goroutine) if that is later.
// A hold's start comes from the coarse clock, a tick early or more when
// its refresh lags: it never begins before its task, which may have
// started since the clock's last refresh.
func (d *Detector) notBeforeSpan(ctx context.Context, startNS int64) int64 {
	if ps, ok := SpanFor(ctx).(interface{ StartTime() time.Time }); ok {
		if pst := ps.StartTime(); !pst.IsZero() && d.wall(startNS).Before(pst) {
			return int64(pst.Sub(d.epoch)) + 1
		}
	}
	return startNS
}

// SpanFor returns ctx's span if it is valid, else the span of the tracekit
// task running on this goroutine, else an invalid span.
func SpanFor(ctx context.Context) trace.Span {
	if sp := trace.SpanFromContext(ctx); sp.SpanContext().IsValid() {
		return sp
	}
	if sp := tasks.CurrentSpan(); sp != nil {
		return sp
	}
	return trace.SpanFromContext(ctx)
}

// Emit delivers a report: to the handler, as an event on the span of ctx
// (or of the task running on this goroutine), as a slog WARN record
// carrying that span's trace_id and span_id, and to the ring of recent
// reports the console shows.
func (d *Detector) Emit(ctx context.Context, r inspect.Report) {
	r.Time = time.Now()
	if d.flight != nil {
		r.TraceFile, _ = d.flight.Snapshot(string(r.Kind))
	}
	sp := SpanFor(ctx)
	r.SpanContext = sp.SpanContext()
	if sp.IsRecording() {
		attrs := append([]attribute.KeyValue{
			attribute.String(semconv.ReportKind, string(r.Kind)),
			attribute.String(semconv.ReportMessage, r.Message),
			attribute.String(semconv.ReportStacks, stacksText(r.Stacks)),
		}, reportAttrs(&r)...)
		if r.TraceFile != "" {
			attrs = append(attrs, keyFlightFile.String(r.TraceFile))
		}
		sp.AddEvent(semconv.ReportEvent, trace.WithAttributes(attrs...))
	}
	args := []any{"kind", string(r.Kind)}
	if r.Channel != "" {
		args = append(args, "chan", r.Channel)
	}
	if r.Lock != "" {
		args = append(args, "lock", r.Lock)
	}
	if r.Other != "" {
		args = append(args, "other", r.Other)
	}
	if r.TraceFile != "" {
		args = append(args, "trace_file", r.TraceFile)
	}
	if r.SpawnSite != "" {
		args = append(args, "spawn_site", r.SpawnSite, "tasks", r.Count)
	}
	if m := r.Memory; m != nil {
		args = append(args, "used", m.Used, "live_heap", m.LiveHeap)
		if m.Limit > 0 {
			args = append(args, "limit", m.Limit, "limit_source", m.LimitSource)
		}
	}
	// Through the trace-carrying handler: the record names the trace and
	// span the report happened in.
	tracelog.Logger(d.cfg.Logger).WarnContext(trace.ContextWithSpan(ctx, sp), "tracekit: "+r.Message, args...)
	d.recent.add(&r)
	if d.cfg.OnReport != nil {
		d.cfg.OnReport(r)
	}
}

func stacksText(stacks []inspect.Stack) string {
	var s string
	for i, st := range stacks {
		if i > 0 {
			s += "\n"
		}
		s += st.String()
	}
	return s
}

// Waiting is a wait in progress on the slow path of a lock or channel
// operation: what the registry shows the waiting task blocked on, and the
// timer that reports the wait if it outlives the hang timeout. End it when
// the wait ends.
type Waiting struct {
	rec   *tasks.Record
	timer *time.Timer
}

// BeginWait starts a wait that began at startNS (d.Now()): what is "lock",
// "read lock", "send on" or "receive from", name the lock's or channel's;
// lock is the lock waited on (nil for a channel), and queued says the wait
// is in the sync lock's own queue (a plain Lock, not a LockContext); ch is
// the channel's address (0 for a lock); holder, if not nil, says who holds
// the lock. stack is the waiter's stack when the caller has taken it
// already; else, while hang reports are on, it is taken now.
func (d *Detector) BeginWait(ctx context.Context, what, name string, lock *Lock, queued bool, ch uintptr, startNS int64, stack []uintptr, holder func() HolderSet) Waiting {
	if stack == nil && d.cfg.Hang > 0 {
		stack = callers(0)
	}
	if d.missing {
		d.warnMissing()
	}
	var w *tasks.Wait
	rec := tasks.Current()
	if rec != nil {
		w = &tasks.Wait{What: what, Name: name, Since: time.Now(), Chan: ch, Queued: queued, Stack: stack}
		if lock != nil {
			w.Lock = lock
		}
		rec.StartWait(w) // the registry shows what the task waits on
		if ch != 0 {
			d.peers.note(ch, isSend(what), rec.ID)
		}
	}
	if d.cfg.Hang <= 0 {
		return Waiting{rec: rec}
	}
	// The report runs on the timer's goroutine: find the waiter's span now
	// (the context for it is made only if the wait hangs).
	span := SpanFor(ctx)
	timer := time.AfterFunc(d.cfg.Hang, func() {
		d.hang(trace.ContextWithSpan(ctx, span), rec, w, what, name, startNS, stack, holder)
	})
	return Waiting{rec: rec, timer: timer}
}

// End ends the wait.
func (w Waiting) End() {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.rec.EndWait()
}

// hang reports a wait that has lasted the hang timeout: as part of a
// deadlock when the tasks it waits on wait, in turn, on it, else on its
// own, naming the lock's holder. rec and w are the waiting task and its
// wait, nil for a goroutine that is not a task; a wait a deadlock report
// has named already is not reported again.
func (d *Detector) hang(ctx context.Context, rec *tasks.Record, w *tasks.Wait, what, name string, startNS int64, waiter []uintptr, holder func() HolderSet) {
	if w != nil && w.Covered.Load() {
		return
	}
	wait := time.Duration(d.Now() - startNS)
	dump := AllGoroutines()
	gs, err := gostack.Parse(dump)
	if err != nil {
		gs = nil
	}
	if w != nil {
		// One wait of a cycle at a time, so that two of its waits timing
		// out together make one report.
		d.cycles.Lock()
		covered := w.Covered.Load()
		r, found := inspect.Report{}, false
		if !covered {
			r, found = d.deadlock(rec, w, gs)
		}
		d.cycles.Unlock()
		if covered {
			return
		}
		if found {
			r.Duration, r.Goroutines = wait, dump
			d.Emit(ctx, r)
			return
		}
	}
	stacks := []inspect.Stack{{Label: "waiter (" + what + " " + name + ")", PC: waiter}}
	msg := fmt.Sprintf("%s %q has waited %v (hang timeout %v)", what, name, wait.Round(time.Millisecond), d.cfg.Hang)
	var infos []inspect.Task
	if holder != nil {
		h := holder()
		stacks = append(stacks, h.Stacks...)
		infos = holderInfos(h.Tasks, gs)
		msg += "; " + h.Text(infos, gs)
	}
	r := inspect.Report{
		Kind:       inspect.KindHang,
		Message:    msg,
		Duration:   wait,
		Stacks:     stacks,
		Tasks:      infos,
		Goroutines: dump,
	}
	if isChannelWait(what) {
		r.Channel = name
	} else {
		r.Lock = name
	}
	d.Emit(ctx, r)
}

// isChannelWait says whether a wait (tasks.Wait.What) is on a channel.
func isChannelWait(what string) bool { return what == "send on" || what == "receive from" }

// isSend says whether a channel wait is a send.
func isSend(what string) bool { return what == "send on" }

// HangTimeout is the wait past which hangs are reported; 0 when off.
func (d *Detector) HangTimeout() time.Duration { return d.cfg.Hang }

// holderInfos describes the holder tasks, each with its goroutine and the
// stack it has now, read from the goroutine dump gs.
func holderInfos(ts []*tasks.Record, gs []gostack.Goroutine) []inspect.Task {
	if len(ts) == 0 {
		return nil
	}
	byTask := tasks.Goroutines(gs)
	out := make([]inspect.Task, len(ts))
	for i, t := range ts {
		out[i] = inspect.Task(t.Info())
		if g, ok := byTask[t.ID]; ok {
			out[i].Goroutine = g.ID
			out[i].Stack = tasks.StackText(g)
		}
	}
	return out
}

// text says who holds the lock, for a hang report's message; infos are the
// holder tasks as holderInfos described them, gs the goroutine dump, which
// tells an untracked holder from one that has exited (nil: no dump).
func (h HolderSet) Text(infos []inspect.Task, gs []gostack.Goroutine) string {
	var parts []string
	for _, ti := range infos {
		s := fmt.Sprintf("held by task %d %q", ti.ID, ti.Name)
		if ti.Goroutine != 0 {
			s += fmt.Sprintf(" (goroutine %d)", ti.Goroutine)
		}
		parts = append(parts, s)
	}
	if h.Untracked > 0 {
		parts = append(parts, fmt.Sprintf("held by %d goroutine(s) that are not tracked tasks (start them with tracekit.Go to have them named)", h.Untracked))
	}
	for _, id := range h.Goroutines {
		// Without a dump (it did not parse) nothing says the holder exited.
		i := slices.IndexFunc(gs, func(g gostack.Goroutine) bool { return g.ID == id })
		switch {
		case i >= 0:
			s := fmt.Sprintf("held by goroutine %d, which is not a tracked task", id)
			if f, ok := userFrameOf(&gs[i]); ok {
				s += ", now in " + f
			}
			parts = append(parts, s)
		case gs == nil:
			parts = append(parts, fmt.Sprintf("held by goroutine %d, which is not a tracked task", id))
		default:
			parts = append(parts, fmt.Sprintf("held by goroutine %d, which has exited without unlocking it", id))
		}
	}
	if len(parts) == 0 {
		return "no holder recorded (readers of an RWMutex, which lock-order detection names, or a lock taken while no detector ran)"
	}
	s := strings.Join(parts, ", ")
	if h.Unknown > 0 {
		s += "; where it was acquired was not recorded"
	}
	return s
}

// userFrameOf names the innermost frame of g outside the runtime and
// tracekit's locks and channels, as "function (dir/file.go:line)": where
// the goroutine is in its own code.
func userFrameOf(g *gostack.Goroutine) (string, bool) {
	for _, f := range g.Frames {
		if isStdFunc(f.Func) || isSyncFrame(f.Func) {
			continue
		}
		return fmt.Sprintf("%s (%s:%d)", f.Func, shortFile(f.File), f.Line), true
	}
	return "", false
}
