package tracekit

import (
	"io"
	"runtime/trace"
	"testing"
)

// BenchmarkGoExecTrace is tracekit.Go and Wait while an execution trace
// records (trace=on) and while none does (trace=off), beside a plain go
// statement around a raw SDK span under the same two conditions: the
// runtime's own tracing cost of a goroutine's life. Compare trace=on with
// trace=off per benchmark with benchstat (-col /trace); the README quotes
// the ratios. cpu-ns/op is the process's CPU time (every thread's: the
// exporter's, the trace writer's) per operation, which a machine busy with
// other work disturbs less than the wall time.
func BenchmarkGoExecTrace(b *testing.B) {
	for _, on := range []bool{false, true} {
		cond := "trace=off"
		if on {
			cond = "trace=on"
		}
		b.Run(cond+"/baseline=go+span", func(b *testing.B) {
			ctx, tracer := benchProvider(b)
			startTrace(b, on)
			b.ReportAllocs()
			defer cpuPerOp(b)()
			for b.Loop() {
				goWithSpan(ctx, tracer)
			}
		})
		b.Run(cond+"/tracekit.Go", func(b *testing.B) {
			ctx, _ := benchProvider(b)
			startTrace(b, on)
			b.ReportAllocs()
			defer cpuPerOp(b)()
			for b.Loop() {
				_ = Go(ctx, "work", nothing).Wait()
			}
		})
	}
}

// startTrace starts an execution trace into io.Discard for the rest of the
// benchmark when on is set; it skips the benchmark if one already records
// (go test -trace).
func startTrace(b *testing.B, on bool) {
	b.Helper()
	if trace.IsEnabled() {
		b.Skip("an execution trace is already recording")
	}
	if !on {
		return
	}
	if err := trace.Start(io.Discard); err != nil {
		b.Skip(err)
	}
	b.Cleanup(trace.Stop)
}

// cpuPerOp starts counting the process's CPU time; the function it returns
// reports it per operation as cpu-ns/op. Where it cannot be read, nothing
// is reported.
func cpuPerOp(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
