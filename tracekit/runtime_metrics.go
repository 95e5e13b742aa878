package tracekit

import (
	"context"
	"runtime/metrics"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Runtime metrics read from runtime/metrics on each collection, named after
// the OpenTelemetry semantic conventions for Go where they define one
// (go.memory.*, go.goroutine.count, go.processor.limit, go.config.gogc) and
// under tracekit.* where they do not. Reading runtime/metrics does not stop
// the world.
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

// registerRuntimeMetrics creates the runtime instruments on m.
func registerRuntimeMetrics(m metric.Meter) error {
	var (
		used, limit, goal, goroutines, procs, gogc, states metric.Int64ObservableUpDownCounter
		allocated, allocations, created, cycles            metric.Int64ObservableCounter
		mutexWait                                          metric.Float64ObservableCounter
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
	if err == nil {
		mutexWait, err = m.Float64ObservableCounter("tracekit.sync.mutex.wait", metric.WithUnit("s"),
			metric.WithDescription("Time goroutines have spent blocked on sync.Mutex and sync.RWMutex, approximately."))
	}
	if err != nil {
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
