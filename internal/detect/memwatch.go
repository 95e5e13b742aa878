package detect

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/cgroup"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

// Defaults of the memory watch.
const (
	// DefaultMemoryFraction is the share of the memory limit past which
	// memory use is reported.
	DefaultMemoryFraction = 0.8
	// DefaultMemoryInterval is how often the memory watch samples.
	DefaultMemoryInterval = 10 * time.Second
	// DefaultMemoryGrowthSamples is how many consecutive samples the live
	// heap must rise in before growth is reported.
	DefaultMemoryGrowthSamples = 10
	// DefaultMemoryGrowthMin is the least the live heap must have grown
	// over such a run, in bytes; a run must also have added a tenth of the
	// live heap it started from.
	DefaultMemoryGrowthMin = 16 << 20
)

// memoryRearm is how far below the fraction (as a share of the limit)
// memory use must fall before the limit warning can be made again, so that
// use hovering around the threshold makes one report, not one per crossing.
const memoryRearm = 0.05

// MemConfig is the resolved configuration of a memory watch.
type MemConfig struct {
	Interval      time.Duration
	Fraction      float64 // 0: no limit check
	GrowthSamples int     // 0: no growth check
	GrowthMin     uint64
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
	kind   inspect.MemoryLimitKind
	source string
}

// goMemLimitSource names where a GOMEMLIMIT limit is read.
const goMemLimitSource = "runtime/metrics /gc/gomemlimit:bytes"

// MemWatch samples memory on a goroutine of its own and reports through a
// detector. Its state belongs to that goroutine; Start and Stop may be
// called from any goroutine.
type MemWatch struct {
	cfg MemConfig
	// roots returns the span a report goes on (the oldest active local
	// root span), or nil.
	roots  func() trace.Span
	sample func() memSample
	// cgroupFS is the file system the cgroup files are read from (the
	// root directory; a fstest.MapFS in tests). nil: no cgroup limit.
	cgroupFS fs.FS

	det     *Detector
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

// NewMemWatch makes a memory watch; roots, if not nil, returns the span
// its reports go on.
func NewMemWatch(cfg MemConfig, roots func() trace.Span) *MemWatch {
	return &MemWatch{cfg: cfg, roots: roots, sample: runtimeSampler(), cgroupFS: os.DirFS("/")}
}

// Start runs the watch, reporting through det. Safe on a nil watch.
func (w *MemWatch) Start(det *Detector) {
	if w == nil || det == nil {
		return
	}
	w.det = det
	w.quit, w.done = make(chan struct{}), make(chan struct{})
	w.started = true
	go w.loop()
}

// Stop ends the watch and waits for its goroutine. Safe on a nil watch,
// one never started, and twice.
func (w *MemWatch) Stop() {
	if w == nil || !w.started {
		return
	}
	w.stopper.Do(func() {
		close(w.quit)
		<-w.done
	})
}

// Running reports whether the watch's goroutine runs.
func (w *MemWatch) Running() bool {
	if w == nil || !w.started {
		return false
	}
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

func (w *MemWatch) loop() {
	defer close(w.done)
	w.findCgroup()
	w.check(w.sample())
	t := time.NewTicker(w.cfg.Interval)
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
func (w *MemWatch) findCgroup() {
	if w.cgroupFS == nil || w.cfg.Fraction == 0 {
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
func (w *MemWatch) cgroupError(err error) {
	if !w.cgroupErr {
		w.cgroupErr = true
		w.det.Error(fmt.Errorf("tracekit: memory watch: %w", err))
	}
}

// limit is GOMEMLIMIT when set, else the smallest cgroup limit.
func (w *MemWatch) limit(s memSample) memLimit {
	if s.goLimit > 0 && s.goLimit < math.MaxInt64 {
		return memLimit{bytes: uint64(s.goLimit), kind: inspect.MemoryLimitGo, source: goMemLimitSource}
	}
	n, source, errs := cgroup.Limit(w.cgroupFS, w.cgroupFiles)
	for _, err := range errs {
		w.cgroupError(err)
	}
	if n == 0 {
		return memLimit{}
	}
	return memLimit{bytes: n, kind: inspect.MemoryLimitCgroup, source: source}
}

// check runs both checks on one sample.
func (w *MemWatch) check(s memSample) {
	if w.cfg.Fraction > 0 {
		w.checkLimit(s)
	}
	if w.cfg.GrowthSamples > 0 {
		w.checkGrowth(s)
	}
}

func (w *MemWatch) checkLimit(s memSample) {
	lim := w.limit(s)
	if lim.bytes == 0 {
		return
	}
	used := float64(s.used())
	frac := w.cfg.Fraction
	switch {
	case !w.overLimit && used >= frac*float64(lim.bytes):
		w.overLimit = true
		what := "GOMEMLIMIT"
		if lim.kind == inspect.MemoryLimitCgroup {
			what = "cgroup memory limit (" + lim.source + ")"
		}
		w.report(fmt.Sprintf("memory in use %s is %.0f%% of the %s %s (warns at %.0f%%)",
			formatBytes(s.used()), 100*used/float64(lim.bytes), what, formatBytes(lim.bytes), 100*frac),
			inspect.MemoryUsage{Cause: inspect.MemoryNearLimit, Used: s.used(), Limit: lim.bytes, LimitKind: lim.kind,
				LimitSource: lim.source, Fraction: frac, LiveHeap: s.live})
	case w.overLimit && used < (frac-min(memoryRearm, frac/2))*float64(lim.bytes):
		w.overLimit = false
	}
}

// checkGrowth looks at the live heap of samples in which a GC completed.
func (w *MemWatch) checkGrowth(s memSample) {
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
	n := w.cfg.GrowthSamples
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
	case !w.grew && w.run >= n && s.live-w.runFrom >= max(w.cfg.GrowthMin, w.runFrom/10):
		w.grew, w.grewFrom = true, w.runFrom
		msg = fmt.Sprintf("live heap after GC rose in %d consecutive samples, from %s to %s in %v",
			w.run, formatBytes(w.runFrom), formatBytes(s.live), roundDuration(now.Sub(w.runStart)))
	default:
		return
	}
	w.grewAt = s.live
	lim := w.limit(s)
	w.report(msg, inspect.MemoryUsage{Cause: inspect.MemoryGrowing, Used: s.used(), Limit: lim.bytes, LimitKind: lim.kind,
		LimitSource: lim.source, Fraction: w.cfg.Fraction, LiveHeap: s.live, GrowthFrom: w.grewFrom, GrowthSamples: w.run})
}

// report emits a ReportMemory on the oldest active local root span.
func (w *MemWatch) report(msg string, u inspect.MemoryUsage) {
	ctx := context.Background()
	if w.roots != nil {
		if sp := w.roots(); sp != nil {
			ctx = trace.ContextWithSpan(ctx, sp)
		}
	}
	w.det.Emit(ctx, inspect.Report{Kind: inspect.KindMemory, Message: msg, Memory: &u})
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

// MemoryReading is one reading of memory, as the console's memory line
// shows it.
type MemoryReading struct {
	Used        uint64 // what GOMEMLIMIT counts
	Limit       uint64 // GOMEMLIMIT when set, else the cgroup's; 0: none
	LimitKind   inspect.MemoryLimitKind
	LimitSource string
	LiveHeap    uint64
}

// MemoryReader reads memory as the memory watch does (runtime/metrics,
// and the cgroup files found once), without stopping the world. Its
// methods are safe for concurrent use.
type MemoryReader struct {
	mu sync.Mutex
	w  *MemWatch // never started: its sampler and limit lookup
}

// Read samples memory now. The first call finds the cgroup files; errors
// are dropped (a running watch reports them).
func (r *MemoryReader) Read() MemoryReading {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w == nil {
		r.w = &MemWatch{cfg: MemConfig{Fraction: DefaultMemoryFraction}, sample: runtimeSampler(), cgroupFS: os.DirFS("/"), det: &Detector{}}
		r.w.findCgroup()
	}
	s := r.w.sample()
	lim := r.w.limit(s)
	return MemoryReading{Used: s.used(), Limit: lim.bytes, LimitKind: lim.kind, LimitSource: lim.source, LiveHeap: s.live}
}

// FormatBytes prints n in binary units with three significant digits or
// so: "812 B", "1.50 KiB", "96.0 MiB", "1.25 GiB".
func FormatBytes(n uint64) string { return formatBytes(n) }
