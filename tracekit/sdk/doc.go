// Package sdk sets up everything tracekit records for a service in one call:
// [Start] builds the OpenTelemetry tracer, meter and logger providers and
// their exporters from the standard OTEL_* environment (or options),
// profiling with span labels, the runtime metrics, and the detectors that
// tracekit's locks and channels report to (lock order, hangs, long holds,
// the task lints, the memory watch), with a flight recorder that keeps the
// last seconds of the execution trace for every report and slow span if
// asked ([WithFlightRecorder]); it installs them globally, as
// otel.SetTracerProvider does, and [Kit.Shutdown] flushes and stops them.
//
//	kit, err := sdk.Start(ctx, sdk.WithServiceName("checkout"))
//	if err != nil { ... }
//	defer func() {
//		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//		defer cancel()
//		kit.Shutdown(ctx) // bounded; its error says what was lost, per exporter
//	}()
//
// Options resolve in one place: the environment first, then the options,
// then the defaults for whatever neither set. A threshold of zero means
// its default; turning something off is a WithoutX option or, in the
// environment, the value off. See the Example.
package sdk
