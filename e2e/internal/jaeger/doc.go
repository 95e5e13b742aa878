// Package jaeger starts a real Jaeger v2 backend for end-to-end tests and
// reads traces back from it.
//
// [Start] runs a Jaeger binary (see [Binary] and e2e/jaegerbin.sh) with a
// generated configuration: in-memory storage, an OTLP receiver on gRPC and
// HTTP, the query service, and a health check, every one of them on a free
// 127.0.0.1 port so that parallel test runs never collide and nothing is
// reachable from other hosts. The returned [Server] gives the OTLP endpoints to
// export to, and typed views of Jaeger's v1 HTTP query API ([Server.Trace],
// [Server.Services]) plus the raw OTLP-shaped JSON of its v3 API
// ([Server.V3Trace]).
//
// The package is meant for Linux and other Unix systems; [Server.Sockets] is
// implemented on Linux only.
//
// See the package Example for the whole cycle: build, start, export, query,
// stop.
package jaeger
