// Package otlp builds OTLP trace, metric and log exporters from options and the
// standard OTEL_EXPORTER_OTLP_* environment, over gRPC or HTTP/protobuf, for
// Jaeger, an OpenTelemetry Collector or any OTLP backend. Its trace exporter
// names its destination in every error, so "connection refused" always says
// where.
//
// sdk.Start uses it when OTEL_TRACES_EXPORTER is otlp (the default); use
// it directly to hand an exporter to your own TracerProvider. See the Example.
package otlp
