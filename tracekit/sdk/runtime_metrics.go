package sdk

import (
	"cmp"
	"context"
	"math"
	"runtime/metrics"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
)

// Runtime metrics read from runtime/metrics on each collection, named after
// the OpenTelemetry semantic conventions for Go where they define one
// (go.memory.*, go.goroutine.count, go.processor.limit, go.config.gogc) and
// under tracekit.* where they do not. Reading runtime/metrics does not stop
// the world. The runtime's distributions are not instruments: the metric API
// has no asynchronous histogram, so [NewRuntimeProducer] reports them.
var runtimeSamples = []string{
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/gc/gomemlimit:bytes",
	"/gc/heap/allocs:bytes",
	"/gc/heap/allocs:objects",
	"/gc/heap/goal:bytes",
	"/sched/goroutines:goroutines",
	"/sched/gomaxprocs:threads",
	"/gc/gogc:percent",
	"/sched/goroutines/running:goroutines",
	"/sched/goroutines/runnable:goroutines",
	"/sched/goroutines/waiting:goroutines",
	"/sched/goroutines/not-in-go:goroutines",
	"/sched/goroutines-created:goroutines",
	"/sync/mutex/wait/total:seconds",
	"/gc/cycles/total:gc-cycles",
}

// keyGoroutineState labels tracekit.goroutine.state.count.
const keyGoroutineState = attribute.Key("state")

// keyTaskName labels tracekit.task.count with the name tasks were started
// with; keyOverflow marks the point that sums the names beyond the first
// maxTaskNames, as the OpenTelemetry SDK marks a cardinality overflow.
const (
	keyTaskName = attribute.Key(semconv.TaskName)
	keyOverflow = attribute.Key("otel.metric.overflow")
)

// maxTaskNames bounds the cardinality of tracekit.task.count: the names
// with the most running tasks get a point each, the rest share one.
const maxTaskNames = 100

// registerRuntimeMetrics creates the runtime instruments on m, and the
// task instruments: running tasks by name, tasks started by spawn site.
func registerRuntimeMetrics(m metric.Meter) error {
	var (
		used, limit, goal, goroutines, procs, gogc, states metric.Int64ObservableUpDownCounter
		allocated, allocations, created, cycles            metric.Int64ObservableCounter
		mutexWait                                          metric.Float64ObservableCounter
		running                                            metric.Int64ObservableUpDownCounter
		started                                            metric.Int64ObservableCounter
		err                                                error
	)
	updown := func(dst *metric.Int64ObservableUpDownCounter, name, unit, desc string) {
		if err == nil {
			*dst, err = m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		}
	}
	counter := func(dst *metric.Int64ObservableCounter, name, unit, desc string) {
		if err == nil {
			*dst, err = m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		}
	}
	updown(&used, "go.memory.used", "By", "Memory used by the Go runtime.")
	updown(&limit, "go.memory.limit", "By", "Go runtime memory limit (GOMEMLIMIT), if set.")
	updown(&goal, "go.memory.gc.goal", "By", "Heap size target for the end of the GC cycle.")
	updown(&goroutines, "go.goroutine.count", "{goroutine}", "Count of live goroutines.")
	updown(&procs, "go.processor.limit", "{thread}", "The number of OS threads that can execute user-level Go code simultaneously (GOMAXPROCS).")
	updown(&gogc, "go.config.gogc", "%", "Heap size target percentage (GOGC).")
	updown(&states, "tracekit.goroutine.state.count", "{goroutine}", "Live goroutines by scheduler state: running, runnable, waiting, not_in_go.")
	counter(&allocated, "go.memory.allocated", "By", "Memory allocated to the heap by the application.")
	counter(&allocations, "go.memory.allocations", "{allocation}", "Count of allocations to the heap by the application.")
	counter(&created, "tracekit.goroutine.created", "{goroutine}", "Goroutines created since the program started.")
	counter(&cycles, "tracekit.gc.cycles", "{cycle}", "Completed GC cycles.")
	updown(&running, "tracekit.task.count", "{task}", "Running tasks (tracekit.Go, Group.Go, and the calls of tracekit.Do and Bind), by task name (the 100 names with the most tasks; the rest are summed in one point marked otel.metric.overflow).")
	counter(&started, "tracekit.task.started", "{task}", "Tasks started by tracekit.Go, Group.Go, Do and Bind, by spawn site.")
	if err == nil {
		mutexWait, err = m.Float64ObservableCounter("tracekit.sync.mutex.wait", metric.WithUnit("s"),
			metric.WithDescription("Time goroutines have spent blocked on sync.Mutex and sync.RWMutex, approximately."))
	}
	if err != nil {
		return err
	}
	if _, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		observeTasks(o, running, started)
		return nil
	}, running, started); err != nil {
		return err
	}

	samples := make([]metrics.Sample, len(runtimeSamples))
	for i, name := range runtimeSamples {
		samples[i].Name = name
	}
	stateAttrs := []metric.ObserveOption{
		metric.WithAttributes(keyGoroutineState.String("running")),
		metric.WithAttributes(keyGoroutineState.String("runnable")),
		metric.WithAttributes(keyGoroutineState.String("waiting")),
		metric.WithAttributes(keyGoroutineState.String("not_in_go")),
	}
	u := func(i int) int64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0 // not in this runtime
		}
		return int64(samples[i].Value.Uint64())
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		metrics.Read(samples)
		o.ObserveInt64(used, u(0)-u(1))
		if l := u(2); l > 0 && l < 1<<62 { // math.MaxInt64 means no limit
			o.ObserveInt64(limit, l)
		}
		o.ObserveInt64(allocated, u(3))
		o.ObserveInt64(allocations, u(4))
		o.ObserveInt64(goal, u(5))
		o.ObserveInt64(goroutines, u(6))
		o.ObserveInt64(procs, u(7))
		o.ObserveInt64(gogc, u(8))
		for i, attrs := range stateAttrs {
			o.ObserveInt64(states, u(9+i), attrs)
		}
		o.ObserveInt64(created, u(13))
		if samples[14].Value.Kind() == metrics.KindFloat64 {
			o.ObserveFloat64(mutexWait, samples[14].Value.Float64())
		}
		o.ObserveInt64(cycles, u(15))
		return nil
	}, used, limit, goal, goroutines, procs, gogc, states, allocated, allocations, created, cycles, mutexWait)
	return err
}

// observeTasks reports the running tasks by name and the tasks started per
// spawn site.
func observeTasks(o metric.Observer, running metric.Int64ObservableUpDownCounter, started metric.Int64ObservableCounter) {
	top, other := tasksByName(maxTaskNames)
	for _, nc := range top {
		o.ObserveInt64(running, nc.n, metric.WithAttributes(keyTaskName.String(nc.name)))
	}
	if other > 0 {
		o.ObserveInt64(running, other, metric.WithAttributes(keyOverflow.Bool(true)))
	}
	// A helper that calls Go and is inlined into several callers has one
	// site per caller, all with the same file and line: observe each
	// attribute set once, with the sum (a second observation would replace
	// the first).
	type siteCount struct {
		where attribute.Set
		n     uint64
	}
	var sites []siteCount
	index := map[attribute.Distinct]int{}
	tasks.EachSite(func(s *tasks.Site) {
		n := s.Started()
		if n == 0 {
			return
		}
		k := s.Where.Equivalent()
		if i, ok := index[k]; ok {
			sites[i].n += n
			return
		}
		index[k] = len(sites)
		sites = append(sites, siteCount{s.Where, n})
	})
	for _, sc := range sites {
		o.ObserveInt64(started, int64(sc.n), metric.WithAttributeSet(sc.where))
	}
}

type nameCount struct {
	name string
	n    int64
}

// tasksByName counts the running tasks by name. It returns at most limit
// names, those with the most tasks (ties in name order), and the number of
// tasks under the other names. It holds each registry shard's lock while it
// counts that shard's tasks.
func tasksByName(limit int) (top []nameCount, other int64) {
	counts := tasks.CountByName()
	top = make([]nameCount, 0, len(counts))
	for name, n := range counts {
		top = append(top, nameCount{name, n})
	}
	if len(top) <= limit {
		return top, 0
	}
	slices.SortFunc(top, func(a, b nameCount) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.name, b.name))
	})
	for _, nc := range top[limit:] {
		other += nc.n
	}
	return top[:limit], other
}

// processStart stands for the start of the process, from which the
// runtime's distributions count: it is the start time of every cumulative
// histogram point the runtime producer reports.
var processStart = time.Now()

// runtimeHistograms are the runtime/metrics distributions that
// [NewRuntimeProducer] reports as OpenTelemetry histograms.
var runtimeHistograms = []struct{ sample, name, desc string }{
	{"/sched/latencies:seconds", "go.schedule.duration",
		"The time goroutines have spent in the scheduler in a runnable state before actually running."},
	{"/sched/pauses/total/gc:seconds", "tracekit.gc.pause.duration",
		"Stop-the-world pauses of the garbage collector, from deciding to stop the world until it runs again."},
	{"/sched/pauses/stopping/gc:seconds", "tracekit.gc.pause.stopping.duration",
		"The part of each garbage-collector pause spent stopping the world: waiting for every goroutine to reach a safe point."},
	{"/sched/pauses/total/other:seconds", "tracekit.stw.pause.duration",
		"Stop-the-world pauses not caused by the garbage collector (goroutine dumps, runtime.ReadMemStats, starting a trace or a profile)."},
}

// histogramBounds are the bucket boundaries the runtime producer aims at,
// in seconds: 1, 2 and 5 times each power of ten from 100 ns to 10 s. Each
// is moved up to the nearest boundary of the runtime's own, finer buckets,
// so that every runtime bucket falls in exactly one exported bucket.
var histogramBounds = []float64{
	100e-9, 200e-9, 500e-9,
	1e-6, 2e-6, 5e-6, 10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 500e-6,
	1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3, 100e-3, 200e-3, 500e-3,
	1, 2, 5, 10,
}

// NewRuntimeProducer returns an [sdkmetric.Producer] that reports the Go
// runtime's latency distributions (scheduling latency, GC and other
// stop-the-world pauses) as histograms, which the metric API cannot
// observe. [Start] adds one to every metric reader it creates; give one to
// a reader of your own with sdkmetric.WithProducer. docs/attributes.md
// lists the histograms and their buckets. Safe for concurrent use.
func NewRuntimeProducer(opts ...RuntimeProducerOption) sdkmetric.Producer {
	p := &runtimeProducer{
		samples: make([]metrics.Sample, len(runtimeHistograms)),
		layouts: make([]histogramLayout, len(runtimeHistograms)),
	}
	for _, o := range opts {
		o.applyRuntimeProducer(p)
	}
	if p.delta {
		p.prev = make([]metricdata.HistogramDataPoint[float64], len(runtimeHistograms))
	}
	for i, h := range runtimeHistograms {
		p.samples[i].Name = h.sample
	}
	return p
}

// RuntimeProducerOption configures [NewRuntimeProducer].
type RuntimeProducerOption interface {
	applyRuntimeProducer(*runtimeProducer)
}

type runtimeProducerOptionFunc func(*runtimeProducer)

func (f runtimeProducerOptionFunc) applyRuntimeProducer(p *runtimeProducer) { f(p) }

// WithRuntimeTemporality sets the temporality of the runtime producer's
// histograms. Default metricdata.CumulativeTemporality: counts since the
// process started. With metricdata.DeltaTemporality each point holds what
// the runtime counted since the producer's previous Produce, which is why a
// delta producer must serve one reader only.
func WithRuntimeTemporality(t metricdata.Temporality) RuntimeProducerOption {
	return runtimeProducerOptionFunc(func(p *runtimeProducer) { p.delta = t == metricdata.DeltaTemporality })
}

// runtimeProducerFor makes the runtime producer of a reader that exports
// through exp, with the temporality exp asks for histograms.
func runtimeProducerFor(exp sdkmetric.Exporter) sdkmetric.Producer {
	return NewRuntimeProducer(WithRuntimeTemporality(exp.Temporality(sdkmetric.InstrumentKindHistogram)))
}

type runtimeProducer struct {
	delta bool // report deltas; set before first use

	mu      sync.Mutex // guards what follows, which every Produce reuses
	samples []metrics.Sample
	layouts []histogramLayout
	// prev holds, per histogram, the cumulative point the previous
	// Produce read (delta only).
	prev []metricdata.HistogramDataPoint[float64]
}

// histogramLayout maps a runtime histogram's buckets onto exported ones.
// A runtime metric's bucket boundaries never change in a process, so it is
// computed at the first read.
type histogramLayout struct {
	runtimeBounds []float64 // the runtime's boundaries it was made for
	bounds        []float64 // the exported boundaries
	bucket        []int     // runtime bucket i goes into exported bucket bucket[i]
	mid           []float64 // the value that stands for runtime bucket i in the sum
}

func newHistogramLayout(rb []float64) histogramLayout {
	l := histogramLayout{runtimeBounds: slices.Clone(rb)}
	for _, want := range histogramBounds {
		i, _ := slices.BinarySearch(rb, want) // first runtime boundary >= want
		if i >= len(rb) || math.IsInf(rb[i], 1) {
			break
		}
		if n := len(l.bounds); n == 0 || l.bounds[n-1] < rb[i] {
			l.bounds = append(l.bounds, rb[i])
		}
	}
	n := len(rb) - 1 // runtime buckets: [rb[i], rb[i+1])
	l.bucket = make([]int, n)
	l.mid = make([]float64, n)
	for i := range n {
		lo, hi := rb[i], rb[i+1]
		// Exported bucket k is (bounds[k-1], bounds[k]]; the runtime
		// bucket lies in the one whose lower bound is the last boundary
		// <= lo.
		k, found := slices.BinarySearch(l.bounds, lo)
		if found {
			k++
		}
		l.bucket[i] = k
		switch {
		case math.IsInf(lo, -1): // [-Inf, hi)
			l.mid[i] = hi
		case math.IsInf(hi, 1): // [lo, +Inf)
			l.mid[i] = lo
		default:
			l.mid[i] = (lo + hi) / 2
		}
	}
	return l
}

// point turns the runtime's cumulative counts into a histogram point.
func (l *histogramLayout) point(h *metrics.Float64Histogram, now time.Time) metricdata.HistogramDataPoint[float64] {
	dp := metricdata.HistogramDataPoint[float64]{
		StartTime:    processStart,
		Time:         now,
		Bounds:       slices.Clone(l.bounds),
		BucketCounts: make([]uint64, len(l.bounds)+1),
	}
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		dp.BucketCounts[l.bucket[i]] += c
		dp.Count += c
		dp.Sum += float64(c) * l.mid[i]
	}
	return dp
}

// Produce reads the runtime's histograms. It implements [sdkmetric.Producer].
func (p *runtimeProducer) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	metrics.Read(p.samples)
	now := time.Now()
	out := make([]metricdata.Metrics, 0, len(p.samples))
	for i, s := range p.samples {
		if s.Value.Kind() != metrics.KindFloat64Histogram {
			continue // not in this runtime
		}
		h := s.Value.Float64Histogram()
		l := &p.layouts[i]
		if !slices.Equal(l.runtimeBounds, h.Buckets) {
			*l = newHistogramLayout(h.Buckets)
			if p.delta {
				p.prev[i] = metricdata.HistogramDataPoint[float64]{}
			}
		}
		dp, temporality := l.point(h, now), metricdata.CumulativeTemporality
		if p.delta {
			dp, p.prev[i] = since(dp, p.prev[i]), dp
			temporality = metricdata.DeltaTemporality
		}
		out = append(out, metricdata.Metrics{
			Name:        runtimeHistograms[i].name,
			Description: runtimeHistograms[i].desc,
			Unit:        "s",
			Data: metricdata.Histogram[float64]{
				Temporality: temporality,
				DataPoints:  []metricdata.HistogramDataPoint[float64]{dp},
			},
		})
	}
	return []metricdata.ScopeMetrics{{Scope: instrumentation.Scope{Name: semconv.ScopeName}, Metrics: out}}, nil
}

// since returns what cumulative point cur counted after prev, the previous
// cumulative point of the same histogram (the zero point at first).
func since(cur, prev metricdata.HistogramDataPoint[float64]) metricdata.HistogramDataPoint[float64] {
	if prev.Time.IsZero() {
		return cur
	}
	d := cur
	d.StartTime = prev.Time
	d.BucketCounts = slices.Clone(cur.BucketCounts)
	for i := range d.BucketCounts {
		d.BucketCounts[i] -= prev.BucketCounts[i]
	}
	d.Count -= prev.Count
	d.Sum -= prev.Sum
	return d
}
