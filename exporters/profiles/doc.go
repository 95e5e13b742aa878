// Package profiles captures the running program's profiles into a
// directory as rotating gzip pprof files ([Start]): a CPU profile per
// window and snapshots of the other [Type]s asked for, each written under a
// temporary name and renamed, the directory bounded in file count and
// bytes. Under tracekit the CPU samples carry the span_id, span_name and
// trace_id labels of the spans they ran in. [Type] is also the vocabulary
// package exporters/pyroscope takes. See ExampleStart.
package profiles
