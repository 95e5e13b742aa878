// Package file is tracekit's zero-infrastructure span output: spans as
// OTLP JSON lines.
//
// Every batch the SDK exports becomes one line holding one
// ExportTraceServiceRequest in protobuf JSON: exactly what the OpenTelemetry
// Collector's file exporter writes, so the Collector's otlpjsonfile receiver,
// its ptrace.JSONUnmarshaler and jq read the file as they read the
// Collector's. [New] appends to a file; [NewWriter] writes to any io.Writer;
// [AppendRequest] is the encoder on its own.
//
// The file is written for crash safety rather than speed: a batch reaches the
// file in a single write, and a file left ending in a partial line by a crash
// is repaired by starting the next record on a new line. [WithSyncEveryExport]
// adds an fsync after every batch.
//
// Register the exporter with a TracerProvider like any other exporter; see
// the package Example, and ExampleNew for a file.
//
// Rotating pprof files are package exporters/profiles.
package file
