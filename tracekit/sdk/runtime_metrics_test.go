package sdk

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	otelsemconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/tracekit-go/tracekit/exporters/otlp"
	"github.com/tracekit-go/tracekit/internal/semconv"
	"github.com/tracekit-go/tracekit/internal/tasks"
	"github.com/tracekit-go/tracekit/internal/testwait"
	"github.com/tracekit-go/tracekit/tracekit"
	"github.com/tracekit-go/tracekit/tracekit/inspect"
)

func TestRuntimeMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	if err := registerRuntimeMetrics(mp.Meter(semconv.ScopeName)); err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	for range 5 {
		go func() { <-block }()
	}
	defer close(block)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = m.Data
		}
	}
	value := func(name string, attrs ...attribute.KeyValue) int64 {
		t.Helper()
		sum, ok := got[name].(metricdata.Sum[int64])
		if !ok {
			t.Fatalf("%s: %T, want an int64 sum", name, got[name])
		}
		want := attribute.NewSet(attrs...)
		for _, dp := range sum.DataPoints {
			if dp.Attributes.Equals(&want) {
				return dp.Value
			}
		}
		t.Fatalf("%s has no point with %v", name, attrs)
		return 0
	}
	if n := value("go.goroutine.count"); n < 6 {
		t.Errorf("go.goroutine.count = %d, want at least the 5 blocked goroutines and this one", n)
	}
	if n := value("tracekit.goroutine.state.count", keyGoroutineState.String("waiting")); n < 5 {
		t.Errorf("waiting goroutines = %d, want at least 5", n)
	}
	if n := value("tracekit.goroutine.state.count", keyGoroutineState.String("running")); n < 1 {
		t.Errorf("running goroutines = %d, want at least this one", n)
	}
	for _, name := range []string{"go.memory.used", "go.memory.allocated", "go.memory.allocations", "go.memory.gc.goal", "go.processor.limit", "tracekit.goroutine.created"} {
		if v := value(name); v <= 0 {
			t.Errorf("%s = %d, want > 0", name, v)
		}
	}
	if v := value("go.config.gogc"); v != 100 && v != -1 {
		t.Logf("go.config.gogc = %d (GOGC set in the environment)", v)
	}
	_, hasLimit := got["go.memory.limit"]
	if limited := debug.SetMemoryLimit(-1) != math.MaxInt64; hasLimit != limited {
		t.Errorf("go.memory.limit reported: %t, memory limit set: %t", hasLimit, limited)
	}
	if _, ok := got["tracekit.sync.mutex.wait"].(metricdata.Sum[float64]); !ok {
		t.Errorf("tracekit.sync.mutex.wait missing: %T", got["tracekit.sync.mutex.wait"])
	}
}

// collect reads every metric of reader by name.
func collect(t *testing.T, reader sdkmetric.Reader) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = m.Data
		}
	}
	return got
}

// histogram returns the single point of the named histogram.
func histogram(t *testing.T, got map[string]metricdata.Aggregation, name string) metricdata.HistogramDataPoint[float64] {
	t.Helper()
	h, ok := got[name].(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s: %T, want a float64 histogram", name, got[name])
	}
	if h.Temporality != metricdata.CumulativeTemporality || len(h.DataPoints) != 1 {
		t.Fatalf("%s: %v temporality, %d points; want cumulative, 1", name, h.Temporality, len(h.DataPoints))
	}
	return h.DataPoints[0]
}

func TestRuntimeProducer(t *testing.T) {
	reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(NewRuntimeProducer()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	before := collect(t, reader)
	for _, name := range []string{"go.schedule.duration", "tracekit.gc.pause.duration", "tracekit.gc.pause.stopping.duration", "tracekit.stw.pause.duration"} {
		dp := histogram(t, before, name)
		if len(dp.Bounds) != len(histogramBounds) || len(dp.BucketCounts) != len(dp.Bounds)+1 {
			t.Fatalf("%s: %d bounds, %d buckets; want %d, %d", name, len(dp.Bounds), len(dp.BucketCounts), len(histogramBounds), len(histogramBounds)+1)
		}
		for i, b := range dp.Bounds {
			// At or just above the round number: the runtime has four
			// buckets per power of two, and 64 ns ones below 1 µs.
			if want := histogramBounds[i]; b < want || b > want*1.3 {
				t.Errorf("%s: bound %d = %g, want in [%g, %g]", name, i, b, want, want*1.3)
			}
		}
		var n uint64
		for _, c := range dp.BucketCounts {
			n += c
		}
		if n != dp.Count {
			t.Errorf("%s: buckets sum to %d, count is %d", name, n, dp.Count)
		}
		if !dp.StartTime.Equal(processStart) || !dp.Time.After(dp.StartTime) {
			t.Errorf("%s: start %v, time %v", name, dp.StartTime, dp.Time)
		}
	}

	// Real scheduling: goroutines that wake one another in turn, each
	// waiting runnable before it runs.
	const hops = 1000
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	for i := range hops {
		ping <- i
		<-pong
	}
	close(ping)
	<-pong
	// Real collections: each has stop-the-world pauses.
	const gcs = 3
	for range gcs {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms) // stops the world, not for the collector

	after := collect(t, reader)
	grew := func(name string, atLeast uint64) {
		t.Helper()
		b, a := histogram(t, before, name), histogram(t, after, name)
		if a.Count < b.Count+atLeast {
			t.Errorf("%s: count %d then %d, want it to grow by at least %d", name, b.Count, a.Count, atLeast)
		}
		if a.Sum <= b.Sum {
			t.Errorf("%s: sum %g then %g, want it to grow", name, b.Sum, a.Sum)
		}
		// The estimated mean is a duration a pause or a wait can have.
		if mean := a.Sum / float64(a.Count); mean <= 0 || mean > 10 {
			t.Errorf("%s: mean %g s", name, mean)
		}
	}
	grew("go.schedule.duration", hops/10)   // the runtime times 1 wake-up in 8 per goroutine
	grew("tracekit.gc.pause.duration", gcs) // two pauses per cycle
	grew("tracekit.gc.pause.stopping.duration", gcs)
	grew("tracekit.stw.pause.duration", 1)
}

// TestRuntimeProducerDelta: a delta producer reports what the runtime
// counted since its previous Produce, over the interval between them.
func TestRuntimeProducerDelta(t *testing.T) {
	cumulative := NewRuntimeProducer()
	delta := NewRuntimeProducer(WithRuntimeTemporality(metricdata.DeltaTemporality))
	produce := func(p sdkmetric.Producer) map[string]metricdata.HistogramDataPoint[float64] {
		t.Helper()
		sms, err := p.Produce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]metricdata.HistogramDataPoint[float64]{}
		for _, m := range sms[0].Metrics {
			h := m.Data.(metricdata.Histogram[float64])
			want := metricdata.CumulativeTemporality
			if p == delta {
				want = metricdata.DeltaTemporality
			}
			if h.Temporality != want {
				t.Errorf("%s: %v, want %v", m.Name, h.Temporality, want)
			}
			out[m.Name] = h.DataPoints[0]
		}
		return out
	}
	const name = "tracekit.gc.pause.duration"
	runtime.GC()
	before := produce(cumulative)[name]
	first := produce(delta)[name]
	after := produce(cumulative)[name]
	// The first delta covers the whole run so far.
	if first.Count < before.Count || first.Count > after.Count || !first.StartTime.Equal(processStart) {
		t.Errorf("first delta: count %d from %v, want %d to %d from the process start", first.Count, first.StartTime, before.Count, after.Count)
	}

	const gcs = 3
	for range gcs {
		runtime.GC()
	}
	second := produce(delta)[name]
	total := produce(cumulative)[name]
	if !second.StartTime.Equal(first.Time) || !second.Time.After(second.StartTime) {
		t.Errorf("second delta from %v to %v, want from the first's time %v", second.StartTime, second.Time, first.Time)
	}
	if second.Count < gcs || first.Count+second.Count > total.Count {
		t.Errorf("second delta counted %d pauses, want at least %d and with the first (%d) at most the total %d", second.Count, gcs, first.Count, total.Count)
	}
	var n uint64
	for i, c := range second.BucketCounts {
		if c > total.BucketCounts[i] {
			t.Errorf("bucket %d: delta %d above the cumulative %d", i, c, total.BucketCounts[i])
		}
		n += c
	}
	if n != second.Count || second.Sum <= 0 || second.Sum > total.Sum {
		t.Errorf("second delta: buckets sum to %d, count %d, sum %g (total sum %g)", n, second.Count, second.Sum, total.Sum)
	}
}

// TestRuntimeProducerForExporter: Start's readers take the histogram
// temporality their exporter asks for, as OTLP's does from
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE.
func TestRuntimeProducerForExporter(t *testing.T) {
	for _, tt := range []struct {
		pref string
		want bool // delta
	}{{"", false}, {"cumulative", false}, {"delta", true}, {"lowmemory", true}} {
		t.Run(tt.pref, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", tt.pref)
			exp, err := otlp.NewMetricExporter(context.Background(), otlp.WithEndpoint("127.0.0.1:4318"))
			if err != nil {
				t.Fatal(err)
			}
			defer exp.Shutdown(context.Background())
			if p := runtimeProducerFor(exp).(*runtimeProducer); p.delta != tt.want {
				t.Errorf("delta = %t, want %t", p.delta, tt.want)
			}
		})
	}
}

// TestHistogramLayout places counts in chosen runtime buckets and checks
// where they land and what sum they make.
func TestHistogramLayout(t *testing.T) {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	rb := s[0].Value.Float64Histogram().Buckets
	l := newHistogramLayout(rb)
	// bucketAt is the runtime bucket [rb[i], rb[i+1]) that starts at v.
	bucketAt := func(v float64) int {
		i, ok := slices.BinarySearch(rb, v)
		if !ok {
			t.Fatalf("%g is not a runtime boundary", v)
		}
		return i
	}
	last := len(l.bounds)
	tests := []struct {
		name    string
		runtime int // runtime bucket holding the counts
		want    int // exported bucket
		sum     float64
	}{
		{"negative", 0, 0, 0},
		{"from zero", bucketAt(0), 0, rb[bucketAt(0)+1] / 2},
		{"just below the first bound", bucketAt(l.bounds[0]) - 1, 0, (rb[bucketAt(l.bounds[0])-1] + l.bounds[0]) / 2},
		{"at the first bound", bucketAt(l.bounds[0]), 1, (l.bounds[0] + rb[bucketAt(l.bounds[0])+1]) / 2},
		{"at a middle bound", bucketAt(l.bounds[10]), 11, (l.bounds[10] + rb[bucketAt(l.bounds[10])+1]) / 2},
		{"at the last bound", bucketAt(l.bounds[last-1]), last, (l.bounds[last-1] + rb[bucketAt(l.bounds[last-1])+1]) / 2},
		{"to infinity", len(rb) - 2, last, rb[len(rb)-2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &metrics.Float64Histogram{Buckets: rb, Counts: make([]uint64, len(rb)-1)}
			h.Counts[tt.runtime] = 3
			dp := l.point(h, time.Now())
			if dp.Count != 3 || dp.BucketCounts[tt.want] != 3 {
				t.Errorf("count %d, buckets %v; want 3 in bucket %d", dp.Count, dp.BucketCounts, tt.want)
			}
			if math.Abs(dp.Sum-3*tt.sum) > 1e-9*math.Abs(tt.sum) {
				t.Errorf("sum %g, want %g", dp.Sum, 3*tt.sum)
			}
		})
	}
	// Every runtime bucket lies inside its exported bucket.
	for i, k := range l.bucket {
		lo, hi := rb[i], rb[i+1]
		if k > 0 && lo < l.bounds[k-1] || k < last && hi > l.bounds[k] {
			t.Errorf("runtime bucket [%g, %g) in exported bucket %d", lo, hi, k)
		}
	}
}

// point returns the value of the int64 sum metric name's point with
// exactly attrs, and whether there is one.
func point(t *testing.T, got map[string]metricdata.Aggregation, name string, attrs ...attribute.KeyValue) (int64, bool) {
	t.Helper()
	s, ok := got[name].(metricdata.Sum[int64])
	if !ok {
		if got[name] == nil {
			return 0, false
		}
		t.Fatalf("%s: %T, want an int64 sum", name, got[name])
	}
	want := attribute.NewSet(attrs...)
	for _, dp := range s.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value, true
		}
	}
	return 0, false
}

func TestTaskMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	if err := registerRuntimeMetrics(mp.Meter(semconv.ScopeName)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	release := make(chan struct{})
	block := func(context.Context) error { <-release; return nil }
	nameA, nameB := t.Name()+"/a", t.Name()+"/b"

	before := collect(t, reader)
	var tasks []*tracekit.Task
	_, _, line, _ := runtime.Caller(0)
	goLine := line + 3 // the Go call below
	for range 3 {
		tasks = append(tasks, tracekit.Go(ctx, nameA, block))
	}
	g := tracekit.NewGroup(ctx, "g", tracekit.WithLimit(3))
	groupLine := line + 8 // the g.Go call below
	for range 2 {
		g.Go(nameB, block)
	}
	tryLine := line + 12 // the g.TryGo call below
	for range 2 {
		g.TryGo(nameB, block) // one starts, one is refused: the limit is 3
	}
	want := map[string]int{nameA: 3, nameB: 3}
	waitListed(t, want)

	got := collect(t, reader)
	for name, n := range want {
		if v, _ := point(t, got, "tracekit.task.count", keyTaskName.String(name)); v != int64(n) {
			t.Errorf("tracekit.task.count{%s} = %d, want %d", name, v, n)
		}
	}
	fn := otelsemconv.CodeFunctionName(runtime.FuncForPC(reflect.ValueOf(TestTaskMetrics).Pointer()).Name())
	_, file, _, _ := runtime.Caller(0)
	for _, site := range []struct {
		line int
		n    int64
	}{{goLine, 3}, {groupLine, 2}, {tryLine, 1}} {
		attrs := []attribute.KeyValue{fn, otelsemconv.CodeFilePath(file), otelsemconv.CodeLineNumber(site.line)}
		b, _ := point(t, before, "tracekit.task.started", attrs...) // earlier runs with -count
		a, _ := point(t, got, "tracekit.task.started", attrs...)
		if a-b != site.n {
			t.Errorf("tracekit.task.started at line %d grew by %d, want %d", site.line, a-b, site.n)
		}
	}

	close(release)
	for _, task := range tasks {
		_ = task.Wait()
	}
	_ = g.Wait()
	got = collect(t, reader)
	for name := range want {
		if v, _ := point(t, got, "tracekit.task.count", keyTaskName.String(name)); v != 0 {
			t.Errorf("after the tasks ended: tracekit.task.count{%s} = %d, want none", name, v)
		}
	}
}

// waitListed waits until the registry lists at least the given number of
// tasks of each name (a task is listed once its goroutine runs).
func waitListed(t *testing.T, want map[string]int) {
	t.Helper()
	var n map[string]int
	if !testwait.For(time.Minute, func() bool {
		n = map[string]int{}
		for _, ti := range inspect.Tasks() {
			n[ti.Name]++
		}
		ok := true
		for name, c := range want {
			ok = ok && n[name] >= c
		}
		return ok
	}) {
		t.Fatalf("listed %v, want %v", n, want)
	}
}

// startBlocked starts a task under each of names, all blocked until the
// test or benchmark ends, when they are released and waited for.
func startBlocked(tb testing.TB, names ...string) {
	release := make(chan struct{})
	tasks := make([]*tracekit.Task, 0, len(names))
	for _, name := range names {
		tasks = append(tasks, tracekit.Go(context.Background(), name, func(context.Context) error { <-release; return nil }))
	}
	tb.Cleanup(func() {
		close(release)
		for _, task := range tasks {
			_ = task.Wait()
		}
	})
}

func TestTasksByNameLimit(t *testing.T) {
	var names []string
	want := map[string]int{}
	for i, n := range []int{40, 30, 20, 1, 1, 1, 1, 1} {
		name := fmt.Sprintf("%s/%d", t.Name(), i)
		want[name] = n
		for range n {
			names = append(names, name)
		}
	}
	startBlocked(t, names...)
	waitListed(t, want)

	top, other := tasksByName(3)
	if len(top) != 3 {
		t.Fatalf("%d names, want 3", len(top))
	}
	for i, nc := range top {
		if name := fmt.Sprintf("%s/%d", t.Name(), i); nc.name != name || nc.n != int64(want[name]) {
			t.Errorf("top[%d] = %s: %d, want %s: %d", i, nc.name, nc.n, name, want[name])
		}
	}
	if other < 5 {
		t.Errorf("other = %d, want at least the 5 single tasks", other)
	}
}

// TestTaskCountOverflow: past 100 names, tracekit.task.count has 100 named
// points and one overflow point with the rest.
func TestTaskCountOverflow(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	if err := registerRuntimeMetrics(mp.Meter(semconv.ScopeName)); err != nil {
		t.Fatal(err)
	}
	var names []string
	want := map[string]int{}
	for i := range maxTaskNames + 5 {
		name := fmt.Sprintf("%s/%d", t.Name(), i)
		want[name] = 1
		names = append(names, name)
	}
	startBlocked(t, names...)
	waitListed(t, want)

	sum, ok := collect(t, reader)["tracekit.task.count"].(metricdata.Sum[int64])
	if !ok {
		t.Fatal("no tracekit.task.count")
	}
	var named, overflow int
	var total int64
	for _, dp := range sum.DataPoints {
		total += dp.Value
		if _, ok := dp.Attributes.Value(keyTaskName); ok {
			named++
		}
		if v, ok := dp.Attributes.Value(keyOverflow); ok && v.AsBool() {
			overflow++
			if dp.Value < 5 {
				t.Errorf("overflow point = %d, want at least 5", dp.Value)
			}
		}
	}
	if named != maxTaskNames || overflow != 1 || total < int64(len(names)) {
		t.Errorf("%d named points, %d overflow points, %d tasks; want %d, 1, at least %d", named, overflow, total, maxTaskNames, len(names))
	}
}

// TestKitRuntimeHistograms: the readers Start builds carry the runtime
// producer, so its histograms reach the exporter.
func TestKitRuntimeHistograms(t *testing.T) {
	var out bytes.Buffer
	k, err := Start(context.Background(), WithoutGlobals(), WithTracesExporter(ExporterNone),
		WithMetricsExporter(ExporterConsole), WithConsoleWriter(&out))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	task := tracekit.Go(context.Background(), t.Name(), func(context.Context) error { <-release; return nil })
	waitListed(t, map[string]int{t.Name(): 1})
	runtime.GC()
	err = k.Shutdown(context.Background())
	close(release)
	_ = task.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`"go.schedule.duration"`, `"tracekit.gc.pause.duration"`, `"tracekit.task.count"`, `"tracekit.task.started"`, `"go.goroutine.count"`, `"` + t.Name() + `"`} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("console metrics have no %s", name)
		}
	}
}

// BenchmarkTasksByName is the cost of one collection of tracekit.task.count
// with 10,000 running tasks under 200 names, beside listing the same tasks
// (liveTaskList, what Snapshot starts with).
func BenchmarkTasksByName(b *testing.B) {
	const ntasks, names = 10000, 200
	all := make([]string, ntasks)
	for i := range all {
		all[i] = fmt.Sprintf("bench-%d", i%names)
	}
	startBlocked(b, all...)
	for len(tasks.Append(nil)) < ntasks {
		time.Sleep(time.Millisecond)
	}
	b.Run("baseline=list", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = tasks.Append(nil)
		}
	})
	b.Run("by-name", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if top, other := tasksByName(maxTaskNames); len(top) != maxTaskNames || other == 0 {
				b.Fatalf("%d names, %d other", len(top), other)
			}
		}
	})
}

// BenchmarkRuntimeProducer is one collection of the runtime histograms
// beside the runtime/metrics read it starts with.
func BenchmarkRuntimeProducer(b *testing.B) {
	b.Run("baseline=metrics.Read", func(b *testing.B) {
		samples := make([]metrics.Sample, len(runtimeHistograms))
		for i, h := range runtimeHistograms {
			samples[i].Name = h.sample
		}
		b.ReportAllocs()
		for b.Loop() {
			metrics.Read(samples)
		}
	})
	for _, tt := range []struct {
		name string
		t    metricdata.Temporality
	}{{"cumulative", metricdata.CumulativeTemporality}, {"delta", metricdata.DeltaTemporality}} {
		b.Run(tt.name, func(b *testing.B) {
			p := NewRuntimeProducer(WithRuntimeTemporality(tt.t))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Produce(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// startVia is a helper small enough to be inlined into each caller, which
// then gets a spawn site of its own with this same file and line.
func startVia(ctx context.Context, name string, fn func(context.Context) error) *tracekit.Task {
	return tracekit.Go(ctx, name, fn) // the spawn site counted below
}

// Starts through one helper are counted together, however many callers it
// was inlined into.
func TestTaskStartedSumsInlinedSites(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	if err := registerRuntimeMetrics(mp.Meter(semconv.ScopeName)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nothing := func(context.Context) error { return nil }
	pc := reflect.ValueOf(startVia).Pointer()
	file, line := runtime.FuncForPC(pc).FileLine(pc)
	attrs := []attribute.KeyValue{
		otelsemconv.CodeFunctionName(runtime.FuncForPC(pc).Name()),
		otelsemconv.CodeFilePath(file), otelsemconv.CodeLineNumber(line + 1),
	}
	before, _ := point(t, collect(t, reader), "tracekit.task.started", attrs...)
	a := startVia(ctx, "a", nothing) // two call sites of the helper
	b := startVia(ctx, "b", nothing)
	_, _ = a.Wait(), b.Wait()
	after, ok := point(t, collect(t, reader), "tracekit.task.started", attrs...)
	if !ok || after-before != 2 {
		t.Errorf("tracekit.task.started at the helper's line grew by %d (found %v), want 2", after-before, ok)
	}
}
