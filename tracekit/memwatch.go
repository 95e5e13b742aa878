package tracekit

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/cgroup"
	"github.com/tracekit-go/tracekit/internal/env"
)

// Defaults of the memory watch.
const (
	// DefaultMemoryFraction is the share of the memory limit past which
	// memory use is reported ([WithMemoryFraction],
	// TRACEKIT_MEMORY_FRACTION).
	DefaultMemoryFraction = 0.8
	// DefaultMemoryInterval is how often the memory watch samples
	// ([WithMemoryInterval], TRACEKIT_MEMORY_INTERVAL).
	DefaultMemoryInterval = 10 * time.Second
	// DefaultMemoryGrowthSamples is how many consecutive samples the live
	// heap must rise in before growth is reported ([WithMemoryGrowth],
	// TRACEKIT_MEMORY_GROWTH_SAMPLES).
	DefaultMemoryGrowthSamples = 10
	// DefaultMemoryGrowthMin is the least the live heap must have grown
	// over such a run, in bytes ([WithMemoryGrowth]); a run must also have
	// added a tenth of the live heap it started from.
	DefaultMemoryGrowthMin = 16 << 20
)

// memoryRearm is how far below the fraction (as a share of the limit)
// memory use must fall before the limit warning can be made again, so that
// use hovering around the threshold makes one report, not one per crossing.
const memoryRearm = 0.05

// maxRootSpans bounds the local root spans the memory watch keeps track of.
const maxRootSpans = 1024

// WithMemoryWatch turns the memory watch on or off, overriding
// TRACEKIT_MEMORY_WATCH. Default on, for a Kit that installs the globals.
//
// The watch samples the Go runtime every [DefaultMemoryInterval] (see
// [WithMemoryInterval]) and makes a [ReportMemory] when
//   - the memory the runtime holds from the operating system (what
//     GOMEMLIMIT counts: runtime/metrics /memory/classes/total:bytes minus
//     /memory/classes/heap/released:bytes) passes a fraction of the memory
//     limit ([WithMemoryFraction]). The limit is GOMEMLIMIT (or
//     debug.SetMemoryLimit) when set, else the cgroup v2 memory.max (or
//     cgroup v1 memory.limit_in_bytes) of the process's cgroup and of its
//     ancestors, the smallest; [MemoryUsage]
//     says which (against a cgroup limit, memory outside the Go runtime,
//     such as cgo allocations and the page cache, is not counted). With no
//     limit only the growth check runs. The warning is
//     made again only after use has fallen 5 points of the limit below the
//     fraction;
//   - the live heap after GC rose in each of [DefaultMemoryGrowthSamples]
//     consecutive samples in which a GC completed, by at least
//     [DefaultMemoryGrowthMin] and a tenth of where it started (see
//     [WithMemoryGrowth]). Samples without a completed GC are skipped. The
//     warning is made again when the live heap has doubled since it, or,
//     after growth has stopped (as many samples without a rise, or a fall
//     below where the growing run began), for a new run.
//
// A report goes to the [WithReportHandler] handler, to slog at WARN, and
// as a "tracekit.report" event on the active local root span of the Kit's
// tracer provider that started first: the longest-running request is the
// likeliest to hold the memory (the event is exported when that span ends).
// With no active root span there is no event.
//
// One sample reads runtime/metrics (no stop-the-world): under a
// microsecond and no allocation with GOMEMLIMIT set, a fifteenth of
// runtime.ReadMemStats; reading the cgroup files when it is not set adds
// some 20µs (BenchmarkMemorySample). Tracking the root spans adds a map
// insert and delete under a mutex to each local root span (0.1-0.3µs,
// beside 1-3µs to start and end the span) and two field reads to other
// spans (about 30ns), without allocating (BenchmarkRootSpans).
func WithMemoryWatch(on bool) Option {
	return optionFunc(func(c *config) { c.memWatch = &on })
}

// WithMemoryFraction sets the share of the memory limit (from 0 to 1) past
// which memory use is reported, overriding TRACEKIT_MEMORY_FRACTION.
// Default [DefaultMemoryFraction] (0.8); 0 turns the limit check off. A
// value outside [0, 1] is reported to the error handler and ignored.
func WithMemoryFraction(f float64) Option {
	return optionFunc(func(c *config) { c.memFraction = &f })
}

// WithMemoryInterval sets how often the memory watch samples, overriding
// TRACEKIT_MEMORY_INTERVAL. Default [DefaultMemoryInterval] (10s); a value
// of 0 or less keeps the default.
func WithMemoryInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.memInterval = &d })
}

// WithMemoryGrowth sets how many consecutive samples with a completed GC
// the live heap must rise in, and by how many bytes at least over the run,
// before growth is reported; samples overrides
// TRACEKIT_MEMORY_GROWTH_SAMPLES. Defaults [DefaultMemoryGrowthSamples]
// (10) and [DefaultMemoryGrowthMin] (16 MiB); samples 0 turns the growth
// check off. A run must also add a tenth of the live heap it started from,
// so that the usual ups and downs of a steady service never qualify.
func WithMemoryGrowth(samples int, minBytes uint64) Option {
	return optionFunc(func(c *config) {
		c.memGrowthSamples = &samples
		c.memGrowthMin = &minBytes
	})
}

// MemoryCause says which check of the memory watch made a [ReportMemory].
type MemoryCause int

const (
	// MemoryNearLimit: memory use passed the fraction of the limit.
	MemoryNearLimit MemoryCause = iota + 1
	// MemoryGrowing: the live heap kept rising across samples.
	MemoryGrowing
)

func (c MemoryCause) String() string {
	switch c {
	case MemoryNearLimit:
		return "near-limit"
	case MemoryGrowing:
		return "growing"
	}
	return fmt.Sprintf("MemoryCause(%d)", int(c))
}

// MemoryLimitKind says where the memory limit came from.
type MemoryLimitKind int

const (
	// MemoryLimitNone: neither GOMEMLIMIT nor a cgroup limits the process.
	MemoryLimitNone MemoryLimitKind = iota
	// MemoryLimitGo: the Go runtime's limit, GOMEMLIMIT or
	// debug.SetMemoryLimit.
	MemoryLimitGo
	// MemoryLimitCgroup: a cgroup v2 memory.max or cgroup v1
	// memory.limit_in_bytes file.
	MemoryLimitCgroup
)

func (k MemoryLimitKind) String() string {
	switch k {
	case MemoryLimitNone:
		return "none"
	case MemoryLimitGo:
		return "GOMEMLIMIT"
	case MemoryLimitCgroup:
		return "cgroup"
	}
	return fmt.Sprintf("MemoryLimitKind(%d)", int(k))
}

// MemoryUsage is what the memory watch saw when it made a [ReportMemory]
// ([Report.Memory]).
type MemoryUsage struct {
	Cause MemoryCause
	// Used is the memory the Go runtime holds from the operating system,
	// what GOMEMLIMIT counts: every runtime memory class except heap
	// memory released to the OS.
	Used uint64
	// Limit is the memory limit in bytes, 0 when there is none.
	Limit     uint64
	LimitKind MemoryLimitKind
	// LimitSource names where the limit was read: the runtime metric for
	// GOMEMLIMIT, the path of the memory.max (v2) or
	// memory.limit_in_bytes (v1) file for a cgroup.
	LimitSource string
	// Fraction is the share of the limit past which use is reported.
	Fraction float64
	// LiveHeap is the heap that survived the last GC
	// (runtime/metrics /gc/heap/live:bytes).
	LiveHeap uint64
	// GrowthFrom is, for MemoryGrowing, the live heap when the rising run
	// began, and GrowthSamples the number of rises in the run.
	GrowthFrom    uint64
	GrowthSamples int
}

// memConfig is the resolved configuration of a memory watch.
type memConfig struct {
	interval      time.Duration
	fraction      float64 // 0: no limit check
	growthSamples int     // 0: no growth check
	growthMin     uint64
}

// memConfigFrom applies the defaults, the environment and the options;
// ok is false when the watch is off.
func memConfigFrom(cfg *config) (mc memConfig, ok bool) {
	on := true
	if cfg.memWatch != nil {
		on = *cfg.memWatch
	} else if v, set, err := env.Flag(env.MemoryWatch); err != nil {
		cfg.onError(err)
	} else if set {
		on = v
	}
	if !on {
		return memConfig{}, false
	}
	mc = memConfig{interval: DefaultMemoryInterval, fraction: DefaultMemoryFraction,
		growthSamples: DefaultMemoryGrowthSamples, growthMin: DefaultMemoryGrowthMin}
	switch f := cfg.memFraction; {
	case f != nil && *f >= 0 && *f <= 1:
		mc.fraction = *f
	case f != nil:
		cfg.onError(fmt.Errorf("tracekit: ignoring WithMemoryFraction(%v): want a fraction from 0 to 1", *f))
	default:
		if v, set, err := env.Fraction(env.MemoryFraction); err != nil {
			cfg.onError(err)
		} else if set {
			mc.fraction = v
		}
	}
	switch d := cfg.memInterval; {
	case d != nil:
		if *d > 0 {
			mc.interval = *d
		}
	default:
		if v, set, err := env.Duration(env.MemoryInterval); err != nil {
			cfg.onError(err)
		} else if set && v <= 0 {
			cfg.onError(&env.Error{Name: env.MemoryInterval, Value: os.Getenv(env.MemoryInterval), Reason: "want a positive Go duration such as 10s"})
		} else if set {
			mc.interval = v
		}
	}
	if cfg.memGrowthSamples != nil {
		mc.growthSamples = max(*cfg.memGrowthSamples, 0)
		mc.growthMin = *cfg.memGrowthMin
	} else if v, set, err := env.Count(env.MemoryGrowthSamples); err != nil {
		cfg.onError(err)
	} else if set {
		mc.growthSamples = v
	}
	return mc, true
}

// memSample is one reading of the runtime's memory.
type memSample struct {
	total    uint64 // /memory/classes/total:bytes
	released uint64 // /memory/classes/heap/released:bytes
	live     uint64 // /gc/heap/live:bytes, as of the last completed GC
	gcCycles uint64 // /gc/cycles/total:gc-cycles
	goLimit  int64  // /gc/gomemlimit:bytes; math.MaxInt64 when unset
}

// used is what GOMEMLIMIT counts.
func (s memSample) used() uint64 {
	if s.released > s.total {
		return 0
	}
	return s.total - s.released
}

// memMetricNames are read by runtimeSampler, in memSample's field order.
var memMetricNames = [...]string{
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/gc/heap/live:bytes",
	"/gc/cycles/total:gc-cycles",
	"/gc/gomemlimit:bytes",
}

// runtimeSampler returns a function that reads a memSample from
// runtime/metrics into a buffer of its own. It is not safe for concurrent
// use: the watch goroutine alone calls it.
func runtimeSampler() func() memSample {
	buf := make([]metrics.Sample, len(memMetricNames))
	for i, n := range memMetricNames {
		buf[i].Name = n
	}
	u := func(i int) uint64 {
		if buf[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return buf[i].Value.Uint64()
	}
	return func() memSample {
		metrics.Read(buf)
		s := memSample{total: u(0), released: u(1), live: u(2), gcCycles: u(3), goLimit: math.MaxInt64}
		if v := u(4); v < math.MaxInt64 {
			s.goLimit = int64(v)
		}
		return s
	}
}

// memLimit is a memory limit and where it came from.
type memLimit struct {
	bytes  uint64 // 0: none
	kind   MemoryLimitKind
	source string
}

// goMemLimitSource names where a GOMEMLIMIT limit is read.
const goMemLimitSource = "runtime/metrics /gc/gomemlimit:bytes"

// memWatch samples memory on a goroutine of its own and reports through
// the Kit's detector. Its state belongs to that goroutine; start and stop
// may be called from any goroutine.
type memWatch struct {
	cfg    memConfig
	roots  *rootSpans
	sample func() memSample
	// cgroupFS is the file system the cgroup files are read from (the
	// root directory; a fstest.MapFS in tests). nil: no cgroup limit.
	cgroupFS fs.FS

	det     *detector
	quit    chan struct{}
	done    chan struct{}
	started bool
	stopper sync.Once

	// Owned by the watch goroutine.
	cgroupFiles []string // memory.max / memory.limit_in_bytes candidates, innermost first, relative to cgroupFS
	cgroupErr   bool     // a cgroup error was reported: not again
	overLimit   bool     // the limit warning was made and not re-armed

	haveGC   bool
	lastGC   uint64
	lastLive uint64
	lastAt   time.Time // when the last sample with a completed GC was taken
	run      int       // consecutive rises of the live heap
	runFrom  uint64    // live heap before the first rise of the run
	runStart time.Time
	flat     int // consecutive samples without a rise
	grew     bool
	grewFrom uint64 // runFrom of the reported run
	grewAt   uint64 // live heap at the last growth report
}

// newMemWatch makes the memory watch the configuration asks for, or nil
// when it is off or the Kit installs no globals (and so has no detector).
func newMemWatch(cfg *config) *memWatch {
	if cfg.noGlobals {
		return nil
	}
	mc, ok := memConfigFrom(cfg)
	if !ok {
		return nil
	}
	return &memWatch{cfg: mc, roots: newRootSpans(), sample: runtimeSampler(), cgroupFS: os.DirFS("/")}
}

// start runs the watch, reporting through det. Safe on a nil watch.
func (w *memWatch) start(det *detector) {
	if w == nil || det == nil {
		return
	}
	w.det = det
	w.quit, w.done = make(chan struct{}), make(chan struct{})
	w.started = true
	go w.loop()
}

// stop ends the watch and waits for its goroutine. Safe on a nil watch,
// one never started, and twice.
func (w *memWatch) stop() {
	if w == nil || !w.started {
		return
	}
	w.stopper.Do(func() {
		close(w.quit)
		<-w.done
	})
}

func (w *memWatch) loop() {
	defer close(w.done)
	w.findCgroup()
	w.check(w.sample())
	t := time.NewTicker(w.cfg.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.check(w.sample())
		case <-w.quit:
			return
		}
	}
}

// findCgroup finds the cgroup files that may limit the process.
func (w *memWatch) findCgroup() {
	if w.cgroupFS == nil || w.cfg.fraction == 0 {
		return
	}
	files, err := cgroup.MemoryFiles(w.cgroupFS)
	if err != nil {
		w.cgroupError(err)
	}
	w.cgroupFiles = files
}

// cgroupError reports the first error met reading the cgroup files; the
// watch goes on without the limit they would have given.
func (w *memWatch) cgroupError(err error) {
	if !w.cgroupErr {
		w.cgroupErr = true
		w.det.error(fmt.Errorf("tracekit: memory watch: %w", err))
	}
}

// limit is GOMEMLIMIT when set, else the smallest cgroup limit.
func (w *memWatch) limit(s memSample) memLimit {
	if s.goLimit > 0 && s.goLimit < math.MaxInt64 {
		return memLimit{bytes: uint64(s.goLimit), kind: MemoryLimitGo, source: goMemLimitSource}
	}
	n, source, errs := cgroup.Limit(w.cgroupFS, w.cgroupFiles)
	for _, err := range errs {
		w.cgroupError(err)
	}
	if n == 0 {
		return memLimit{}
	}
	return memLimit{bytes: n, kind: MemoryLimitCgroup, source: source}
}

// check runs both checks on one sample.
func (w *memWatch) check(s memSample) {
	if w.cfg.fraction > 0 {
		w.checkLimit(s)
	}
	if w.cfg.growthSamples > 0 {
		w.checkGrowth(s)
	}
}

func (w *memWatch) checkLimit(s memSample) {
	lim := w.limit(s)
	if lim.bytes == 0 {
		return
	}
	used := float64(s.used())
	frac := w.cfg.fraction
	switch {
	case !w.overLimit && used >= frac*float64(lim.bytes):
		w.overLimit = true
		what := "GOMEMLIMIT"
		if lim.kind == MemoryLimitCgroup {
			what = "cgroup memory limit (" + lim.source + ")"
		}
		w.report(fmt.Sprintf("memory in use %s is %.0f%% of the %s %s (warns at %.0f%%)",
			formatBytes(s.used()), 100*used/float64(lim.bytes), what, formatBytes(lim.bytes), 100*frac),
			MemoryUsage{Cause: MemoryNearLimit, Used: s.used(), Limit: lim.bytes, LimitKind: lim.kind,
				LimitSource: lim.source, Fraction: frac, LiveHeap: s.live})
	case w.overLimit && used < (frac-min(memoryRearm, frac/2))*float64(lim.bytes):
		w.overLimit = false
	}
}

// checkGrowth looks at the live heap of samples in which a GC completed.
func (w *memWatch) checkGrowth(s memSample) {
	if s.gcCycles == 0 || (w.haveGC && s.gcCycles == w.lastGC) {
		return // no GC since the last sample: the live heap says nothing new
	}
	now := time.Now()
	if !w.haveGC {
		w.haveGC, w.lastGC, w.lastLive, w.lastAt = true, s.gcCycles, s.live, now
		return
	}
	w.lastGC = s.gcCycles
	prev, prevAt := w.lastLive, w.lastAt
	w.lastLive, w.lastAt = s.live, now
	n := w.cfg.growthSamples
	if s.live > prev {
		if w.run == 0 {
			w.runFrom, w.runStart = prev, prevAt
		}
		w.run++
		w.flat = 0
	} else {
		w.run = 0
		w.flat++
		if w.grew && (w.flat >= n || s.live < w.grewFrom) {
			w.grew = false // growth stopped: the episode is over
		}
	}
	var msg string
	switch {
	case w.grew && s.live >= 2*w.grewAt:
		msg = fmt.Sprintf("live heap after GC has doubled since the last report, to %s", formatBytes(s.live))
	case !w.grew && w.run >= n && s.live-w.runFrom >= max(w.cfg.growthMin, w.runFrom/10):
		w.grew, w.grewFrom = true, w.runFrom
		msg = fmt.Sprintf("live heap after GC rose in %d consecutive samples, from %s to %s in %v",
			w.run, formatBytes(w.runFrom), formatBytes(s.live), roundDuration(now.Sub(w.runStart)))
	default:
		return
	}
	w.grewAt = s.live
	lim := w.limit(s)
	w.report(msg, MemoryUsage{Cause: MemoryGrowing, Used: s.used(), Limit: lim.bytes, LimitKind: lim.kind,
		LimitSource: lim.source, Fraction: w.cfg.fraction, LiveHeap: s.live, GrowthFrom: w.grewFrom, GrowthSamples: w.run})
}

// report emits a ReportMemory on the oldest active local root span.
func (w *memWatch) report(msg string, u MemoryUsage) {
	ctx := context.Background()
	if sp := w.roots.oldest(); sp != nil {
		ctx = trace.ContextWithSpan(ctx, sp)
	}
	w.det.emit(ctx, Report{Kind: ReportMemory, Message: msg, Memory: &u})
}

// roundDuration rounds to seconds, or to milliseconds below a second.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}

// formatBytes prints n in binary units with three significant digits or
// so: "812 B", "1.50 KiB", "96.0 MiB", "1.25 GiB".
func formatBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	f, i := float64(n)/1024, 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	prec := 2
	if f >= 100 {
		prec = 0
	} else if f >= 10 {
		prec = 1
	}
	return strconv.FormatFloat(f, 'f', prec, 64) + " " + units[i:i+1] + "iB"
}

// rootSpans tracks the sampled local root spans of a tracer provider that
// have started and not ended (the first span of a trace in the process, or
// one whose parent came from another process), up to maxRootSpans, so the
// memory watch can put its event on one. Spans with a local parent cost one
// comparison; roots one map insert and delete under a mutex.
type rootSpans struct {
	mu    sync.Mutex
	spans map[trace.SpanID]sdktrace.ReadWriteSpan
}

func newRootSpans() *rootSpans {
	return &rootSpans{spans: make(map[trace.SpanID]sdktrace.ReadWriteSpan)}
}

var _ sdktrace.SpanProcessor = (*rootSpans)(nil)

func (r *rootSpans) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	if isLocal(s.Parent()) || !s.SpanContext().IsSampled() {
		return
	}
	r.mu.Lock()
	if len(r.spans) < maxRootSpans {
		r.spans[s.SpanContext().SpanID()] = s
	}
	r.mu.Unlock()
}

func (r *rootSpans) OnEnd(s sdktrace.ReadOnlySpan) {
	if isLocal(s.Parent()) || !s.SpanContext().IsSampled() {
		return
	}
	r.mu.Lock()
	delete(r.spans, s.SpanContext().SpanID())
	r.mu.Unlock()
}

func (r *rootSpans) Shutdown(context.Context) error   { return nil }
func (r *rootSpans) ForceFlush(context.Context) error { return nil }

// oldest returns the active root span that started first, or nil. Safe on
// a nil tracker.
func (r *rootSpans) oldest() trace.Span {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var best sdktrace.ReadWriteSpan
	for _, s := range r.spans {
		if best == nil || s.StartTime().Before(best.StartTime()) ||
			(s.StartTime().Equal(best.StartTime()) && bytes.Compare(idBytes(s), idBytes(best)) < 0) {
			best = s
		}
	}
	if best == nil {
		return nil
	}
	return best
}

func idBytes(s sdktrace.ReadWriteSpan) []byte {
	id := s.SpanContext().SpanID()
	return id[:]
}
