package detect

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"testing/synctest"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracekit-go/tracekit/internal/cgroup"
	"github.com/tracekit-go/tracekit/internal/kittest"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

const mib = 1 << 20

// fakeMem is a sampling function whose next reading the test sets.
type fakeMem struct {
	mu sync.Mutex
	s  memSample
	n  int // readings taken
}

func (f *fakeMem) sample() memSample {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return f.s
}

func (f *fakeMem) set(s memSample) {
	f.mu.Lock()
	f.s = s
	f.mu.Unlock()
}

// memTest runs a memory watch on synthetic samples inside a synctest
// bubble: step sets the next reading and advances the fake clock by one
// interval, so the watch takes exactly that reading.
type memTest struct {
	t   *testing.T
	w   *MemWatch
	det *Detector
	rep *kittest.Reports
	mem *fakeMem
	gc  uint64
	err []error
}

// startMemTest starts the watch with first as its initial reading. Call it
// inside the bubble and stop it before the bubble ends.
func startMemTest(t *testing.T, cfg MemConfig, first memSample, setup func(*MemWatch)) *memTest {
	t.Helper()
	mt := &memTest{t: t, mem: &fakeMem{}}
	// A slow threshold of 1s makes the detector's clock tick every 100ms
	// of the bubble's time, not every millisecond.
	mt.det, mt.rep = testDetector(Config{Slow: time.Second, OnError: func(err error) { mt.err = append(mt.err, err) }})
	mt.w = &MemWatch{cfg: cfg, sample: mt.mem.sample}
	if setup != nil {
		setup(mt.w)
	}
	mt.mem.set(first)
	mt.w.Start(mt.det)
	synctest.Wait()
	return mt
}

func (mt *memTest) step(s memSample) {
	mt.mem.set(s)
	time.Sleep(mt.w.cfg.Interval)
	synctest.Wait()
}

// live returns a sample after a new GC with the given live heap.
func (mt *memTest) live(bytes uint64) memSample {
	mt.gc++
	return memSample{total: bytes * 2, live: bytes, gcCycles: mt.gc, goLimit: math.MaxInt64}
}

func (mt *memTest) stop() {
	mt.w.Stop()
	mt.det.Close()
}

func (mt *memTest) memReports() []inspect.Report {
	var out []inspect.Report
	for _, r := range mt.rep.All() {
		if r.Kind != inspect.KindMemory || r.Memory == nil {
			mt.t.Fatalf("report %v without memory numbers", r.Kind)
		}
		out = append(out, r)
	}
	return out
}

var testMemConfig = MemConfig{Interval: 10 * time.Second, Fraction: DefaultMemoryFraction,
	GrowthSamples: DefaultMemoryGrowthSamples, GrowthMin: DefaultMemoryGrowthMin}

func withLimit(used uint64, limit int64) memSample {
	return memSample{total: used + 50*mib, released: 50 * mib, goLimit: limit}
}

func TestMemoryLimitOncePerEpisode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 1000 * mib
		mt := startMemTest(t, testMemConfig, withLimit(500*mib, limit), nil)
		defer mt.stop()
		steps := []struct {
			used uint64
			want int // reports so far
		}{
			{700 * mib, 0},
			{810 * mib, 1}, // crosses 80%
			{950 * mib, 1}, // stays above: no repeat
			{790 * mib, 1}, // below 80% but above the re-arm point (75%)
			{820 * mib, 1}, // so this is the same episode
			{740 * mib, 1}, // below 75%: re-armed
			{760 * mib, 1},
			{801 * mib, 2}, // a new episode
		}
		for i, s := range steps {
			mt.step(withLimit(s.used, limit))
			if got := len(mt.memReports()); got != s.want {
				t.Fatalf("step %d (%d MiB used): %d reports, want %d", i, s.used/mib, got, s.want)
			}
		}
		r := mt.memReports()[0]
		u := r.Memory
		if u.Cause != inspect.MemoryNearLimit || u.Used != 810*mib || u.Limit != limit || u.LimitKind != inspect.MemoryLimitGo ||
			u.LimitSource != goMemLimitSource || u.Fraction != 0.8 {
			t.Errorf("memory = %+v", *u)
		}
		if want := "memory in use 810 MiB is 81% of the GOMEMLIMIT 1000 MiB (warns at 80%)"; r.Message != want {
			t.Errorf("message = %q, want %q", r.Message, want)
		}
		if log := mt.rep.Logged(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "kind=memory") {
			t.Errorf("slog got %q", log)
		}
	})
}

func TestMemoryFractionOffAndNoLimit(t *testing.T) {
	tests := []struct {
		name  string
		cfg   MemConfig
		limit int64
	}{
		{"fraction 0", MemConfig{Interval: time.Second, Fraction: 0}, 100 * mib},
		{"no limit", MemConfig{Interval: time.Second, Fraction: 0.5}, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mt := startMemTest(t, tt.cfg, withLimit(99*mib, tt.limit), nil)
				defer mt.stop()
				for range 5 {
					mt.step(withLimit(4096*mib, tt.limit))
				}
				if r := mt.memReports(); len(r) != 0 {
					t.Errorf("reports %v", r)
				}
			})
		})
	}
}

func TestMemoryGrowth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mt := startMemTest(t, testMemConfig, memSample{goLimit: math.MaxInt64}, nil)
		defer mt.stop()
		mt.step(mt.live(100 * mib))
		// Nine rises are not enough, whatever their size.
		for i := range 9 {
			mt.step(mt.live(uint64(104+4*i) * mib))
		}
		// A sample without a completed GC neither counts nor breaks the run.
		mt.step(memSample{live: 136 * mib, gcCycles: mt.gc, goLimit: math.MaxInt64})
		if n := len(mt.memReports()); n != 0 {
			t.Fatalf("%d reports after 9 rises", n)
		}
		mt.step(mt.live(140 * mib))
		reps := mt.memReports()
		if len(reps) != 1 {
			t.Fatalf("%d reports after 10 rises, want 1", len(reps))
		}
		u := reps[0].Memory
		if u.Cause != inspect.MemoryGrowing || u.LiveHeap != 140*mib || u.GrowthFrom != 100*mib || u.GrowthSamples != 10 ||
			u.LimitKind != inspect.MemoryLimitNone || u.Limit != 0 {
			t.Errorf("memory = %+v", *u)
		}
		if want := "live heap after GC rose in 10 consecutive samples, from 100 MiB to 140 MiB in 1m50s"; reps[0].Message != want {
			t.Errorf("message = %q, want %q", reps[0].Message, want)
		}
		// Still growing: the same episode until the live heap doubles.
		for live := uint64(144); live < 280; live += 4 {
			mt.step(mt.live(live * mib))
		}
		if n := len(mt.memReports()); n != 1 {
			t.Fatalf("%d reports while the same growth went on, want 1", n)
		}
		mt.step(mt.live(280 * mib))
		reps = mt.memReports()
		if len(reps) != 2 || !strings.Contains(reps[1].Message, "doubled") {
			t.Fatalf("after doubling: %d reports, last %q", len(reps), reps[len(reps)-1].Message)
		}
		// Growth stops (ten samples without a rise); a new run is a new
		// episode.
		for range 10 {
			mt.step(mt.live(270 * mib))
		}
		for i := range 10 {
			mt.step(mt.live(uint64(272+2*i) * mib))
		}
		if n := len(mt.memReports()); n != 2 {
			t.Fatalf("%d reports: the new run has not yet added a tenth of 270 MiB", n)
		}
		for i := range 4 {
			mt.step(mt.live(uint64(292+2*i) * mib))
		}
		if n := len(mt.memReports()); n != 3 {
			t.Fatalf("%d reports after a new run of 14 rises by 28 MiB, want 3", n)
		}
	})
}

func TestMemoryGrowthFallRearms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testMemConfig
		cfg.GrowthSamples = 3
		mt := startMemTest(t, cfg, memSample{goLimit: math.MaxInt64}, nil)
		defer mt.stop()
		for _, live := range []uint64{100, 110, 120, 130} {
			mt.step(mt.live(live * mib))
		}
		if n := len(mt.memReports()); n != 1 {
			t.Fatalf("%d reports, want 1", n)
		}
		// Freed below where the run began: the episode is over at once.
		for _, live := range []uint64{90, 100, 110, 120} {
			mt.step(mt.live(live * mib))
		}
		if n := len(mt.memReports()); n != 2 {
			t.Fatalf("%d reports, want 2", n)
		}
	})
}

// A steady service: the live heap after GC goes up and down with the work
// in flight, and warms up slowly (a cache filling to 10 MiB). Nothing is
// reported in a day's samples (8,640 at the default interval) at the
// default settings.
func TestMemorySteadyChurnNoReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testMemConfig
		cfg.Interval = 100 * time.Millisecond // the checks count samples, not seconds
		mt := startMemTest(t, cfg, memSample{goLimit: math.MaxInt64}, nil)
		defer mt.stop()
		rng := rand.New(rand.NewPCG(1, 2))
		base := 200.0 * mib
		for i := range 8640 {
			if i < 50 {
				base += 200 << 10 // warm-up: 50 rises of 200 KiB
			}
			live := base + rng.NormFloat64()*4*mib
			if i < 50 {
				live = base
			}
			if rng.IntN(10) == 0 {
				// No GC in this interval.
				mt.step(memSample{live: mt.lastLive(), gcCycles: mt.gc, goLimit: math.MaxInt64})
				continue
			}
			mt.step(mt.live(uint64(live)))
		}
		if n := mt.mem.n; n != 8641 {
			t.Errorf("%d samples taken, want 8641", n)
		}
		if r := mt.memReports(); len(r) != 0 {
			t.Errorf("steady service: %d reports, first %q", len(r), r[0].Message)
		}
	})
}

func (mt *memTest) lastLive() uint64 {
	mt.mem.mu.Lock()
	defer mt.mem.mu.Unlock()
	return mt.mem.s.live
}

func TestMemoryCgroupLimit(t *testing.T) {
	const mountinfo = "24 1 0:22 / /proc rw - proc proc rw\n" +
		"31 23 0:28 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
	fsys := fstest.MapFS{
		"proc/self/cgroup":                          {Data: []byte("0::/kubepods/pod1/c1\n")},
		"proc/self/mountinfo":                       {Data: []byte(mountinfo)},
		"sys/fs/cgroup/kubepods/pod1/c1/memory.max": {Data: []byte("max\n")},
		"sys/fs/cgroup/kubepods/pod1/memory.max":    {Data: []byte("1048576000\n")},
		"sys/fs/cgroup/kubepods/memory.max":         {Data: []byte("4194304000\n")},
	}
	synctest.Test(t, func(t *testing.T) {
		mt := startMemTest(t, testMemConfig, withLimit(100*mib, math.MaxInt64), func(w *MemWatch) { w.cgroupFS = fsys })
		defer mt.stop()
		mt.step(withLimit(900*mib, math.MaxInt64))
		r := mt.memReports()
		if len(r) != 1 {
			t.Fatalf("%d reports, want 1", len(r))
		}
		u := r[0].Memory
		if u.LimitKind != inspect.MemoryLimitCgroup || u.Limit != 1000*mib || u.LimitSource != "/sys/fs/cgroup/kubepods/pod1/memory.max" {
			t.Errorf("memory = %+v", *u)
		}
		if !strings.Contains(r[0].Message, "cgroup memory limit (/sys/fs/cgroup/kubepods/pod1/memory.max) 1000 MiB") {
			t.Errorf("message %q", r[0].Message)
		}
		// GOMEMLIMIT, when set, wins over the cgroup.
		mt.step(withLimit(100*mib, math.MaxInt64))
		mt.step(withLimit(900*mib, 1000*mib))
		if r := mt.memReports(); len(r) != 2 || r[1].Memory.LimitKind != inspect.MemoryLimitGo {
			t.Errorf("with GOMEMLIMIT: %d reports", len(r))
		}
		if len(mt.err) != 0 {
			t.Errorf("errors %v", mt.err)
		}
	})
}

// On a cgroup v1 host (or a hybrid one, whose unified hierarchy has no
// memory controller) the limit comes from memory.limit_in_bytes; the
// kernel's "no limit" value is no limit.
func TestMemoryCgroupV1Limit(t *testing.T) {
	const mountinfo = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	fsys := fstest.MapFS{
		"proc/self/cgroup":    {Data: []byte("4:memory:/process_api/73da\n1:cpu:/\n0::/\n")},
		"proc/self/mountinfo": {Data: []byte(mountinfo)},
		"sys/fs/cgroup/memory/process_api/73da/memory.limit_in_bytes": {Data: []byte("9223372036854771712\n")},
		"sys/fs/cgroup/memory/process_api/memory.limit_in_bytes":      {Data: []byte("2147483648\n")},
		"sys/fs/cgroup/memory/memory.limit_in_bytes":                  {Data: []byte("9223372036854771712\n")},
	}
	synctest.Test(t, func(t *testing.T) {
		mt := startMemTest(t, testMemConfig, withLimit(100*mib, math.MaxInt64), func(w *MemWatch) { w.cgroupFS = fsys })
		defer mt.stop()
		mt.step(withLimit(1700*mib, math.MaxInt64))
		r := mt.memReports()
		if len(r) != 1 {
			t.Fatalf("%d reports, want 1", len(r))
		}
		if u := r[0].Memory; u.LimitKind != inspect.MemoryLimitCgroup || u.Limit != 2048*mib || u.LimitSource != "/sys/fs/cgroup/memory/process_api/memory.limit_in_bytes" {
			t.Errorf("memory = %+v", *u)
		}
		if len(mt.err) != 0 {
			t.Errorf("errors %v", mt.err)
		}
	})
}

func TestMemoryCgroupBadFileReportedOnce(t *testing.T) {
	fsys := fstest.MapFS{
		"proc/self/cgroup":         {Data: []byte("0::/\n")},
		"proc/self/mountinfo":      {Data: []byte("31 23 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")},
		"sys/fs/cgroup/memory.max": {Data: []byte("1G\n")},
	}
	synctest.Test(t, func(t *testing.T) {
		mt := startMemTest(t, testMemConfig, withLimit(100*mib, math.MaxInt64), func(w *MemWatch) { w.cgroupFS = fsys })
		defer mt.stop()
		for range 3 {
			mt.step(withLimit(900*mib, math.MaxInt64))
		}
		if len(mt.err) != 1 {
			t.Fatalf("errors %v, want one", mt.err)
		}
		var ce *cgroup.Error
		if !errors.As(mt.err[0], &ce) || ce.Path != "/sys/fs/cgroup/memory.max" || ce.Text != "1G" {
			t.Errorf("error %v", mt.err[0])
		}
		if want := `tracekit: memory watch: /sys/fs/cgroup/memory.max: "1G": want a number of bytes or "max"`; mt.err[0].Error() != want {
			t.Errorf("error %q, want %q", mt.err[0], want)
		}
		if r := mt.memReports(); len(r) != 0 {
			t.Errorf("reports %v without a limit", r)
		}
	})
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1536: "1.50 KiB", 96 * mib: "96.0 MiB",
		810 * mib: "810 MiB", 5 << 30: "5.00 GiB", math.MaxUint64: "16.0 EiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func realWatch(t *testing.T, cfg MemConfig, run func(reports func() []inspect.Report, sampled func())) (gcs uint64) {
	t.Helper()
	det, rep := testDetector(Config{})
	defer det.Close()
	var samples atomic.Int64
	sample := runtimeSampler()
	w := &MemWatch{cfg: cfg, sample: func() memSample { defer samples.Add(1); return sample() }}
	sampled := func() {
		// The sample in progress may have begun before the call: wait for
		// the one after it.
		n := samples.Load()
		if !testwait.For(time.Minute, func() bool { return samples.Load() >= n+2 }) {
			t.Fatal("the memory watch took no sample")
		}
	}
	before := w.sample().gcCycles
	w.Start(det)
	run(rep.All, sampled)
	w.Stop()
	return w.sample().gcCycles - before
}

// A real steady service: workers allocate and drop buffers of every size,
// keeping a bounded working set. A hundred GCs, no growth report.
func TestMemoryWatchRealChurnNoReport(t *testing.T) {
	var reps []inspect.Report
	gcs := realWatch(t, MemConfig{Interval: 2 * time.Millisecond, GrowthSamples: DefaultMemoryGrowthSamples,
		GrowthMin: DefaultMemoryGrowthMin}, func(reports func() []inspect.Report, _ func()) {
		churn(2, 100, testwait.Scale(time.Minute))
		reps = reports()
	})
	if gcs < 100 {
		t.Fatalf("only %d GCs: the test shows nothing", gcs)
	}
	if len(reps) != 0 {
		t.Errorf("%d reports in a steady service (%d GCs), first %q", len(reps), gcs, reps[0].Message)
	}
	t.Logf("%d GCs, no report", gcs)
}

// churn allocates and drops buffers of up to 16 KiB on workers goroutines,
// with a working set of about 1 MiB each, until gcs GCs have completed or
// the time is up.
func churn(workers int, gcs uint64, limit time.Duration) {
	end := runtimeSamplerGCs() + gcs
	deadline := time.Now().Add(limit)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			ring := make([][]byte, 128)
			for i := 0; ; i++ {
				ring[rng.IntN(len(ring))] = make([]byte, 1+rng.IntN(16<<10))
				if i%256 != 0 {
					continue
				}
				if runtimeSamplerGCs() >= end || time.Now().After(deadline) {
					break
				}
			}
			runtime.KeepAlive(ring)
		})
	}
	wg.Wait()
}

// runtimeSamplerGCs reads the completed GC count.
func runtimeSamplerGCs() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A real leak at the default growth settings: 2 MiB held and never
// released between GCs, beside garbage that each GC takes back. The test
// runs the GCs itself: on a busy machine the live heap a concurrent GC
// measures swings by tens of MiB with what is allocated while it marks
// (TestMemoryWatchRealChurnNoReport shows those swings make no report).
func TestMemoryWatchRealLeak(t *testing.T) {
	var (
		reps   []inspect.Report
		leaked [][]byte
	)
	realWatch(t, MemConfig{Interval: time.Millisecond, GrowthSamples: DefaultMemoryGrowthSamples, GrowthMin: DefaultMemoryGrowthMin},
		func(reports func() []inspect.Report, sampled func()) {
			rng := rand.New(rand.NewPCG(1, 2))
			var garbage [][]byte
			for len(reps) == 0 && len(leaked) < 64 {
				leaked = append(leaked, make([]byte, 2*mib))
				for range 64 {
					garbage = append(garbage, make([]byte, rng.IntN(32<<10)))
				}
				garbage = nil
				runtime.GC()
				sampled()
				reps = reports()
			}
			runtime.KeepAlive(garbage)
		})
	runtime.KeepAlive(leaked)
	if len(reps) != 1 || reps[0].Memory.Cause != inspect.MemoryGrowing {
		t.Fatalf("%d growth reports after leaking %d MiB, want 1", len(reps), 2*len(leaked))
	}
	u := reps[0].Memory
	if u.GrowthSamples < DefaultMemoryGrowthSamples || u.LiveHeap-u.GrowthFrom < DefaultMemoryGrowthMin {
		t.Errorf("memory = %+v", *u)
	}
	t.Logf("after leaking %d MiB: %s", 2*len(leaked), reps[0].Message)
}

// A report goes on the span roots returns, as an event; with none there is
// only the report.
func TestMemoryReportOnRootSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	synctest.Test(t, func(t *testing.T) {
		var root trace.Span
		const limit = 100 * mib
		mt := startMemTest(t, MemConfig{Interval: time.Second, Fraction: 0.5}, withLimit(10*mib, limit),
			func(w *MemWatch) { w.roots = func() trace.Span { return root } })
		defer mt.stop()
		mt.step(withLimit(60*mib, limit))
		if r := mt.memReports(); len(r) != 1 || r[0].SpanContext.IsValid() {
			t.Fatalf("reports %v, want one on no span", r)
		}
		mt.step(withLimit(10*mib, limit))
		_, root = tp.Tracer("test").Start(context.Background(), "job")
		mt.step(withLimit(60*mib, limit))
		if r := mt.memReports(); len(r) != 2 || r[1].SpanContext.SpanID() != root.SpanContext().SpanID() {
			t.Fatalf("reports %v, want the second on the root span", r)
		}
		root.End()
	})
	ended := rec.Ended()
	if len(ended) != 1 || len(ended[0].Events()) != 1 || ended[0].Events()[0].Name != "tracekit.report" {
		t.Fatalf("spans %v, want the root with one report event", ended)
	}
}

// The memory line of the console reads what the watch would.
func TestMemoryReader(t *testing.T) {
	var r MemoryReader
	m := r.Read()
	if m.Used == 0 || m.LiveHeap > m.Used {
		t.Errorf("reading %+v", m)
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 40))
	if m := r.Read(); m.Limit != 1<<40 || m.LimitKind != inspect.MemoryLimitGo {
		t.Errorf("with GOMEMLIMIT: %+v", m)
	}
}
