#!/bin/sh
# jaegerbin.sh prints the path of a Jaeger v2 binary for the end-to-end tests,
# building it first when the cache does not hold one yet (about 15 minutes on
# 2 cores the first time; see buildtool.sh).
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
exec sh "$here/buildtool.sh" jaeger github.com/jaegertracing/jaeger/cmd/jaeger jaeger-v1.76.0
