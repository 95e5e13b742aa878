// Command flamegen draws flame graphs from profiles: folded stacks (the
// format of flamegraph.pl's stackcollapse tools, read as flamegraph.pl
// reads them) and pprof profiles (CPU, heap, mutex, block, goroutine, and
// every legacy format go tool pprof reads), read from files, standard input
// or a pprof HTTP endpoint. The format is found from the content, gzipped or
// not. Several profiles given together are merged, as go tool pprof merges
// them.
//
//	flamegen cpu.pprof -o cpu.svg
//	perf script | stackcollapse-perf.pl | flamegen - > perf.svg
//	flamegen --format folded cpu.pprof > cpu.folded
//	flamegen --format top --top 20 heap.pprof
//	flamegen diff before.pprof after.pprof -o diff.svg
//	flamegen http://127.0.0.1:6060/debug/pprof/profile?seconds=10 -o live.svg
//
// Traces (OTLP JSON or protobuf in any framing, Jaeger JSON, or Jaeger's
// query API with --jaeger) are drawn too:
//
//	flamegen traces.jsonl -o spans.svg                 every trace, x = share of wall time
//	flamegen traces.jsonl cpu.pb.gz -o merged.svg      CPU stacks nested under the spans they ran in
//	flamegen --trace ID traces.jsonl -o one.svg        one trace, x = time, critical path marked
//	flamegen --jaeger http://127.0.0.1:16686 --service checkout -o checkout.svg
//	flamegen report --markdown traces.jsonl            slowest sections, waits, critical path, slowest traces
//
// A Go execution trace in which the spans were marked (runtime/trace log
// events of category tracekit.span), alone or after the span file, splits
// each span's time on its goroutine into runtime states (running, runnable,
// syscall, lock, channel, sleep, gc, other) and names who released its
// waits:
//
//	flamegen report traces.jsonl exec.trace            per frame: states, what it waited on most
//	flamegen report --json traces.jsonl exec.trace     the same as JSON: "frame", "states" (state → ns)
//	flamegen --trace ID traces.jsonl exec.trace -o one.svg   a band of states under each span
//	flamegen traces.jsonl exec.trace cpu.pb.gz -o where.svg  (runnable), (lock: NAME)... beside the CPU stacks
//
// The SVG is a single self-contained file that shows the graph without
// script (every frame an element with a flamegraph.pl-style tooltip), and
// with it adds hover details, click to zoom and regular-expression search
// with the matched share; the functions with the most self time are
// outlined. Output is deterministic.
//
// Reads are bounded: --max-size caps what is decompressed, downloaded or
// held whole, and --timeout how long a URL may stay silent. -o replaces its
// file only when the run succeeds; SIGINT and SIGTERM stop a run without
// leaving a temporary file.
//
// Exit status: 0 on success, 2 for bad usage or bad input, an input that
// gives nothing to draw included (the message names the input, the line or
// offset and what was expected), 1 for I/O faults, 128+N when signal N
// stopped the run.
// See [Run] and its Example.
package main
