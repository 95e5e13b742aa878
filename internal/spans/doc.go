// Package spans reads trace data and computes what flamegen draws from it.
//
// Inputs: [Decode] streams spans out of OTLP JSON (tracekit's file
// exporter and the OpenTelemetry Collector's file exporter write one
// ExportTraceServiceRequest per line; pretty-printed requests work too) and
// Jaeger JSON (the UI's "Download JSON" and the /api/traces responses),
// gzipped or not, finding the format from the content. It is a purpose-built
// scanner, several times faster than encoding/json, fuzzed against it. OTLP
// protobuf (a request body, the Collector file exporter's length-prefixed
// proto format, varint-delimited requests) is read too; [Sniff] tells trace
// data from profiles by content. [Read] collects the spans into a [Set]
// grouped by trace, and [ReadJaeger] does the same from a live Jaeger's
// query API.
//
// Assembly: [Assemble] (or [Set.Each]) builds each trace's tree and repairs
// what real data gets wrong — missing parents, exact copies of a span, spans
// sharing an id or without one, parent cycles, spans ending before they
// start — counting each repair in [Warnings] instead of failing. Children
// that start before or end after their parent are async work, kept at their
// real time; each span's interval extends over its descendants'.
//
// Analyses, each a layer over an assembled [Trace]:
//   - [Aggregator]: one flame graph over many traces, frames named
//     "service: span name", weighted by wall-clock attribution (each instant
//     of a span split equally among its children active then; the rest is
//     self time) or by span time ([WeightSum]); ids in names can be grouped
//     ([WithGroupIDs], [WithGroupPattern]).
//   - [CriticalPath] and [CriticalPaths]: the chain of spans that set a
//     trace's end time, and how often and how long each frame was on it.
//   - [Layout]: a per-trace flame chart on a time axis, overlapping siblings
//     in separate lanes.
//   - [ClassOf]: lock waits and channel blocks, from tracekit's
//     tracekit.kind attribute, so they can be drawn as off-CPU time (the
//     Aggregator makes them [flame.KindOffCPU] frames).
//   - [ReadSpanCPU], [WithSpanCPU], [WithCPUStacks] and
//     [Aggregator.NestCPU]: a profile whose samples carry span_id labels,
//     summed per frame and its stacks nested under the spans they ran in.
//   - [Report] and [Waits]: the rows of a text report.
//
// See the package Example.
package spans

//go:generate go run ./internal/gen/cmd/gentestdata -dir testdata
