#!/bin/sh
# collectorbin.sh prints the path of the OpenTelemetry Collector the
# end-to-end tests use (./collector: otelcol v0.165.0 with the components
# deploy/otel-collector.yaml names), building it first when the cache does
# not hold one yet (a few minutes the first time; see buildtool.sh).
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
exec sh "$here/buildtool.sh" collector . otelcol-v0.165.0-file
