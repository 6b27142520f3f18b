#!/bin/sh
# Splits a shared library as distributions do: the stripped copy OUT and its symbols in a debug file
# DIR/.build-id/xx/rest-of-the-build-id.debug (what CPROF_DEBUG_DIR=DIR makes cprof look in).
# Usage: tests/debug_split.sh LIBRARY OUT DIR   (LIBRARY must have a build ID: Debian's linkers add one)
set -e
library=$1 out=$2 dir=$3
id=$(readelf -n "$library" | awk '/Build ID:/ { print $3 }')
[ -n "$id" ] || { echo "$library has no build ID (link with -Wl,--build-id)" >&2; exit 1; }
prefix=$(echo "$id" | cut -c1-2) rest=$(echo "$id" | cut -c3-)
mkdir -p "$dir/.build-id/$prefix"
objcopy --only-keep-debug "$library" "$dir/.build-id/$prefix/$rest.debug"
strip -o "$out" "$library"
