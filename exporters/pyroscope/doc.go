// Package pyroscope runs continuous profiling with the Grafana Pyroscope Go
// client and uploads the profiles to a Pyroscope server (or Grafana Cloud
// Profiles).
//
// [Start] takes the usual PYROSCOPE_* environment (server address,
// application name, basic auth, tenant) and options that win over it. It
// collects CPU, heap and goroutine profiles by default, goroutine leaks when
// the runtime has them, and mutex and block profiles on request
// ([WithProfileTypes] with profiles.Mutex, profiles.Block), with sampling
// rates it sets and puts back. CPU samples carry the pprof labels of the goroutine they were
// taken on; under tracekit with profiling these are span_id, span_name and
// trace_id, which is what Grafana's "profiles for this span" reads.
//
// sdk.Start starts this exporter itself when PYROSCOPE_SERVER_ADDRESS is
// set or sdk.WithProfiling is given sdk.ProfileToPyroscope; use the package directly
// to profile without tracekit's spans. Package pyroscopetest decodes the
// uploads in tests. See the package Example.
package pyroscope
