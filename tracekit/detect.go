package tracekit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	rtrace "runtime/trace"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/goid"
	"github.com/tracekit-go/tracekit/internal/gostack"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

// Defaults of the lock and channel thresholds.
const (
	// DefaultSlowThreshold is the wait or hold past which a lock or channel
	// operation gets a span ([WithSlowThreshold], TRACEKIT_SLOW).
	DefaultSlowThreshold = 10 * time.Millisecond
	// DefaultHangTimeout is the wait past which a [ReportLockTimeout] is made
	// ([WithHangTimeout], TRACEKIT_HANG_TIMEOUT).
	DefaultHangTimeout = 30 * time.Second
	// DefaultLongHold is the hold past which a [ReportLongHold] is made
	// ([WithLongHold], TRACEKIT_LONG_HOLD).
	DefaultLongHold = time.Second
)

// activeDetector is the detector of the running Kit, which the zero values
// of [Mutex] and [RWMutex], and [Send] and [Recv], report to. Start sets it
// (unless WithoutGlobals), Shutdown clears it. While it is nil the locks are
// plain sync locks plus one atomic load.
//
// This is the one piece of package state, and it is not a setting: tests
// that need a detector make their own with newDetector and pin it to a lock
// (lockMeta.det) or pass it to send/recv, so no test stores here except
// through Start.
var activeDetector atomic.Pointer[detector]

// detectorConfig is what a detector needs from Start's configuration.
type detectorConfig struct {
	slow      time.Duration // 0: no spans
	hang      time.Duration // 0: no hang reports
	longHold  time.Duration // 0: no long-hold reports
	order     bool          // lock-order detection
	onReport  func(Report)
	flightDir string // "" : no flight recorder
	maxEdges  int    // lock-order graph bound; 0: defaultMaxEdges
	meter     metric.Meter
	onError   func(error)
	logger    *slog.Logger // nil: slog.Default()
}

// detector holds a Kit's lock and channel instrumentation: thresholds, the
// coarse clock, metrics, the lock-order graph and the report sinks. Its
// methods are safe for concurrent use.
type detector struct {
	cfg   detectorConfig
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

	waitHist metric.Float64Histogram
	holdHist metric.Float64Histogram
	chanHist metric.Float64Histogram
	reg      metric.Registration
	names    sync.Map // lock name -> *lockStats

	flight *rtrace.FlightRecorder
	dumps  atomic.Int64

	recent reportRing // the last reports, for the console (console.go)
}

// sampleEvery: one uncontended acquisition in sampleEvery reads the precise
// clock at Lock and Unlock and records its hold in the tracekit.lock.hold
// histogram. Counting is done under the lock itself, so the sample is
// systematic per lock and unbiased by duration.
const sampleEvery = 64

// newDetector makes a detector and starts its clock. Stop it with stop.
func newDetector(cfg detectorConfig) *detector {
	if cfg.maxEdges <= 0 {
		cfg.maxEdges = defaultMaxEdges
	}
	d := &detector{cfg: cfg, epoch: time.Now(), wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	if cfg.order {
		d.order = newOrderGraph(d, cfg.maxEdges)
	}
	goid.Offset() // locks record their holder's goroutine ID: find it now, not in a Lock
	d.tick = min(max(cfg.slow/5, time.Millisecond), 100*time.Millisecond)
	d.idleTicks = max(int(clockIdleAfter/d.tick), 1)
	d.coarse.Store(d.now())
	d.clockState.Store(clockUsed)
	if cfg.meter != nil {
		d.instruments()
	}
	if cfg.flightDir != "" {
		fr := rtrace.NewFlightRecorder(rtrace.FlightRecorderConfig{MinAge: 10 * time.Second})
		if err := fr.Start(); err != nil {
			d.error(fmt.Errorf("tracekit: flight recorder: %w", err))
		} else {
			d.flight = fr
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
func (d *detector) coarseNow() int64 {
	if d.clockState.Load() != clockUsed {
		d.touchClock()
	}
	return d.coarse.Load()
}

// touchClock marks the clock used and, if it slept, sets it to the precise
// time and wakes it. Only the first lock after a tick gets here.
func (d *detector) touchClock() {
	if d.clockState.Swap(clockUsed) == clockIdle {
		d.coarse.Store(d.now())
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

func (d *detector) clock() {
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
		d.coarse.Store(d.now())
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

// close stops the clock and the flight recorder. Safe to call twice.
func (d *detector) close() {
	d.stop.Do(func() {
		close(d.quit)
		<-d.done
		if d.reg != nil {
			_ = d.reg.Unregister()
		}
		if d.flight != nil {
			d.flight.Stop()
		}
	})
}

// now is the precise clock: nanoseconds since epoch, never 0.
func (d *detector) now() int64 { return int64(time.Since(d.epoch)) + 1 }

func (d *detector) wall(ns int64) time.Time { return d.epoch.Add(time.Duration(ns - 1)) }

func (d *detector) error(err error) {
	if d.cfg.onError != nil {
		d.cfg.onError(err)
	}
}

var latencyBuckets = metric.WithExplicitBucketBoundaries(1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10)

func (d *detector) instruments() {
	m := d.cfg.meter
	var errs [4]error
	d.waitHist, errs[0] = m.Float64Histogram("tracekit.lock.wait",
		metric.WithDescription("Time contended lock acquisitions waited."), metric.WithUnit("s"), latencyBuckets)
	d.holdHist, errs[1] = m.Float64Histogram("tracekit.lock.hold",
		metric.WithDescription("Time locks were held, for a systematic sample of 1 in 64 acquisitions per lock."), metric.WithUnit("s"), latencyBuckets)
	d.chanHist, errs[2] = m.Float64Histogram("tracekit.chan.wait",
		metric.WithDescription("Time channel operations that could not complete at once were blocked."), metric.WithUnit("s"), latencyBuckets)
	acq, err := m.Int64ObservableCounter("tracekit.lock.acquisitions",
		metric.WithDescription("Lock acquisitions, by lock and whether they had to wait."), metric.WithUnit("{acquisition}"))
	errs[3] = err
	for _, err := range errs {
		if err != nil {
			d.error(fmt.Errorf("tracekit: lock metrics: %w", err))
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
		d.error(fmt.Errorf("tracekit: lock metrics: %w", err))
	}
}

// lockStats is the per-name aggregate of one detector.
type lockStats struct {
	d         *detector
	name      string
	attrs     []metric.RecordOption // made once: a variadic call would allocate the slice
	acquired  atomic.Int64
	contended atomic.Int64

	uncontendedAttr, contendedAttr metric.ObserveOption
}

func (d *detector) stats(name string) *lockStats {
	if v, ok := d.names.Load(name); ok {
		return v.(*lockStats)
	}
	set := attribute.NewSet(KeyLockName.String(name))
	s := &lockStats{d: d, name: name, attrs: []metric.RecordOption{metric.WithAttributeSet(set)},
		uncontendedAttr: metric.WithAttributes(KeyLockName.String(name), attribute.Bool("contended", false)),
		contendedAttr:   metric.WithAttributes(KeyLockName.String(name), attribute.Bool("contended", true)),
	}
	v, _ := d.names.LoadOrStore(name, s)
	return v.(*lockStats)
}

func (d *detector) recordWait(ctx context.Context, s *lockStats, ns int64) {
	if d.waitHist != nil {
		d.waitHist.Record(ctx, float64(ns)/1e9, s.attrs...)
	}
}

func (d *detector) recordHold(s *lockStats, ns int64) {
	if d.holdHist != nil {
		d.holdHist.Record(context.Background(), float64(ns)/1e9, s.attrs...)
	}
}

// span records a finished slow operation as a span under ctx's span, or
// under the span of the tracekit task running on this goroutine. With
// neither there is no trace to attach to and nothing is recorded.
func (d *detector) span(ctx context.Context, kind Kind, name string, startNS, endNS int64, attrs ...attribute.KeyValue) {
	parent := spanFor(ctx)
	if !parent.SpanContext().IsValid() {
		return
	}
	ctx = trace.ContextWithSpan(ctx, parent)
	attrs = append(attrs, kind.attr())
	start := d.wall(d.notBeforeSpan(ctx, startNS))
	_, sp := tracerFor(ctx).Start(ctx, string(kind)+" "+name,
		trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	sp.End(trace.WithTimestamp(d.wall(endNS)))
}

// notBeforeSpan returns startNS, or the start of the span the operation
// belongs to (ctx's, else the task's on this goroutine) if that is later.
// A hold's start comes from the coarse clock, a tick early or more when
// its refresh lags: it never begins before its task, which may have
// started since the clock's last refresh.
func (d *detector) notBeforeSpan(ctx context.Context, startNS int64) int64 {
	if ps, ok := spanFor(ctx).(interface{ StartTime() time.Time }); ok {
		if pst := ps.StartTime(); !pst.IsZero() && d.wall(startNS).Before(pst) {
			return int64(pst.Sub(d.epoch)) + 1
		}
	}
	return startNS
}

// spanFor returns ctx's span if it is valid, else the span of the tracekit
// task running on this goroutine, else an invalid span.
func spanFor(ctx context.Context) trace.Span {
	if sp := trace.SpanFromContext(ctx); sp.SpanContext().IsValid() {
		return sp
	}
	if sp := tasks.CurrentSpan(); sp != nil {
		return sp
	}
	return trace.SpanFromContext(ctx)
}

// emit delivers a report: to the handler, as an event on the current span,
// and as a slog WARN record carrying that span's trace_id and span_id.
func (d *detector) emit(ctx context.Context, r Report) {
	r.Time = time.Now()
	if d.flight != nil && r.Kind == ReportLockTimeout {
		r.TraceFile = d.dumpTrace()
	}
	sp := spanFor(ctx)
	r.SpanContext = sp.SpanContext()
	if sp.IsRecording() {
		attrs := append([]attribute.KeyValue{
			KeyReportKind.String(r.Kind.String()),
			attribute.String(semconv.ReportMessage, r.Message),
			attribute.String(semconv.ReportStacks, stacksText(r.Stacks)),
		}, reportAttrs(&r)...)
		sp.AddEvent(semconv.ReportEvent, trace.WithAttributes(attrs...))
	}
	args := []any{"kind", r.Kind.String()}
	if r.Lock != "" && r.channel {
		args = append(args, "chan", r.Lock)
	} else if r.Lock != "" {
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
	TraceLogger(d.cfg.logger).WarnContext(trace.ContextWithSpan(ctx, sp), "tracekit: "+r.Message, args...)
	d.recent.add(&r)
	if d.cfg.onReport != nil {
		d.cfg.onReport(r)
	}
}

func stacksText(stacks []Stack) string {
	var s string
	for i, st := range stacks {
		if i > 0 {
			s += "\n"
		}
		s += st.String()
	}
	return s
}

// dumpTrace writes the flight recorder's window to a new file in the
// configured directory and returns its path, or "" on failure.
func (d *detector) dumpTrace() string {
	n := d.dumps.Add(1)
	path := filepath.Join(d.cfg.flightDir, fmt.Sprintf("tracekit-hang-%d-%d.trace", os.Getpid(), n))
	f, err := os.Create(path)
	if err != nil {
		d.error(fmt.Errorf("tracekit: flight recorder dump: %w", err))
		return ""
	}
	_, err = d.flight.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		d.error(fmt.Errorf("tracekit: flight recorder dump %s: %w", path, err))
		return ""
	}
	return path
}

// hangWatch reports a wait that outlives the hang timeout. The waiter's
// stack is taken when the wait starts (the slow path), and the holder's by
// holder, called only if the timer fires. stop must be called when the wait
// ends; it returns whether the report was made.
type hangWatch struct {
	timer *time.Timer
	fired atomic.Bool
}

func (d *detector) watchHang(ctx context.Context, what, name string, startNS int64, holder func() holderSet) *hangWatch {
	if d.cfg.hang <= 0 {
		return nil
	}
	waiter := callers(2)
	// The report runs on the timer's goroutine: find the waiter's span now.
	ctx = trace.ContextWithSpan(ctx, spanFor(ctx))
	h := &hangWatch{}
	h.timer = time.AfterFunc(d.cfg.hang, func() {
		h.fired.Store(true)
		wait := time.Duration(d.now() - startNS)
		stacks := []Stack{{Label: "waiter (" + what + " " + name + ")", PC: waiter}}
		msg := fmt.Sprintf("%s %q has waited %v (hang timeout %v)", what, name, wait.Round(time.Millisecond), d.cfg.hang)
		dump := allGoroutines()
		var tasks []TaskInfo
		if holder != nil {
			h := holder()
			stacks = append(stacks, h.stacks...)
			gs, err := gostack.Parse(dump)
			if err != nil {
				gs = nil
			}
			tasks = holderInfos(h.tasks, gs)
			msg += "; " + h.text(tasks, gs)
		}
		d.emit(ctx, Report{
			Kind:       ReportLockTimeout,
			Message:    msg,
			Lock:       name,
			Duration:   wait,
			Stacks:     stacks,
			Tasks:      tasks,
			Goroutines: dump,
			channel:    what == "send on" || what == "receive from",
		})
	})
	return h
}

// holderInfos describes the holder tasks, each with its goroutine and the
// stack it has now, read from the goroutine dump gs.
func holderInfos(ts []*tasks.Record, gs []gostack.Goroutine) []TaskInfo {
	if len(ts) == 0 {
		return nil
	}
	byTask := tasks.Goroutines(gs)
	out := make([]TaskInfo, len(ts))
	for i, t := range ts {
		out[i] = infoOf(t)
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
func (h holderSet) text(infos []TaskInfo, gs []gostack.Goroutine) string {
	var parts []string
	for _, ti := range infos {
		s := fmt.Sprintf("held by task %d %q", ti.ID, ti.Name)
		if ti.Goroutine != 0 {
			s += fmt.Sprintf(" (goroutine %d)", ti.Goroutine)
		}
		parts = append(parts, s)
	}
	if h.untracked > 0 {
		parts = append(parts, fmt.Sprintf("held by %d goroutine(s) that are not tracked tasks (Report.Goroutines shows them)", h.untracked))
	}
	for _, id := range h.goroutines {
		// Without a dump (it did not parse) nothing says the holder exited.
		if gs == nil || slices.ContainsFunc(gs, func(g gostack.Goroutine) bool { return g.ID == id }) {
			parts = append(parts, fmt.Sprintf("held by goroutine %d, which is not a tracked task (Report.Goroutines shows it)", id))
		} else {
			parts = append(parts, fmt.Sprintf("held by goroutine %d, which has exited without unlocking it", id))
		}
	}
	if len(parts) == 0 {
		return "no holder recorded (readers of an RWMutex, which lock-order detection names, or a lock taken while no Kit ran)"
	}
	s := strings.Join(parts, ", ")
	if h.unknown > 0 {
		s += "; where it was acquired was not recorded (it did not wait and held no other lock)"
	}
	return s
}

func (h *hangWatch) stop() {
	if h != nil {
		h.timer.Stop()
	}
}

// cancelError is ctx.Err() wrapped with what was being done and the cause.
func cancelError(op string, ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause == nil || cause == err {
		return fmt.Errorf("tracekit: %s: %w", op, err)
	}
	return fmt.Errorf("tracekit: %s: %w (cause: %w)", op, err, cause)
}
