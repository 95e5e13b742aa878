#!/bin/sh
# jaegerbin.sh prints the path of a Jaeger v2 binary for the end-to-end tests,
# building it first when the cache does not hold one yet.
#
# The binary is built from the tool module in ./jaeger (its own go.mod, because
# Jaeger pins older OpenTelemetry versions than tracekit does). The first build
# takes about 15 minutes on 2 cores; later calls print the cached path at once.
#
# Environment:
#   TRACEKIT_CACHE   cache directory (default: ${XDG_CACHE_HOME:-$HOME/.cache}/tracekit)
#
# Progress goes to stderr; stdout carries the path alone.
set -eu

version=v1.76.0
pkg=github.com/jaegertracing/jaeger/cmd/jaeger

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
cache=${TRACEKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tracekit}
bin=$cache/jaeger-$version

if [ -x "$bin" ]; then
	printf '%s\n' "$bin"
	exit 0
fi

mkdir -p "$cache"
# The temporary file lives in the cache directory so that the final mv is a
# rename within one file system, hence atomic: an interrupted build never
# leaves a partial binary under the final name.
tmp=$(mktemp "$cache/.jaeger-$version.XXXXXX")
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "jaegerbin: building Jaeger $version into $bin (this takes several minutes the first time)" >&2
start=$(date +%s)
(cd "$here/jaeger" && go build -o "$tmp" "$pkg") >&2
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
echo "jaegerbin: built in $(($(date +%s) - start))s" >&2
printf '%s\n' "$bin"
