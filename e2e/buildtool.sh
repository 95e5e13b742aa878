#!/bin/sh
# buildtool.sh DIR PACKAGE NAME prints the path of a cached binary NAME built
# from PACKAGE in the tool module in ./DIR (a go.mod of its own, because these
# programs pin other OpenTelemetry versions than tracekit does), building it
# first when the cache does not hold one yet.
#
# Environment:
#   TRACEKIT_CACHE   cache directory (default: ${XDG_CACHE_HOME:-$HOME/.cache}/tracekit)
#
# Progress goes to stderr; stdout carries the path alone.
set -eu

if [ $# -ne 3 ]; then
	echo "usage: buildtool.sh DIR PACKAGE NAME" >&2
	exit 2
fi
dir=$1
pkg=$2
name=$3

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
cache=${TRACEKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tracekit}
bin=$cache/$name

if [ -x "$bin" ]; then
	printf '%s\n' "$bin"
	exit 0
fi

mkdir -p "$cache"
# The temporary file lives in the cache directory so that the final mv is a
# rename within one file system, hence atomic: an interrupted build never
# leaves a partial binary under the final name.
tmp=$(mktemp "$cache/.$name.XXXXXX")
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "buildtool: building $name into $bin (this takes several minutes the first time)" >&2
start=$(date +%s)
(cd "$here/$dir" && go build -o "$tmp" "$pkg") >&2
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
echo "buildtool: built $name in $(($(date +%s) - start))s" >&2
printf '%s\n' "$bin"
