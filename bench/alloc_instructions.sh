#!/usr/bin/env bash
# bench/alloc_instructions.sh - what tracking a malloc+free pair costs in instructions (callgrind's Ir), not in
# time: bench/alloc_pairs (200,000 pairs of mixed sizes) plain and tracked, the difference per pair, split into
# cprof's own functions, malloc_usable_size (the slack) and the C library's malloc and free. Exact on a loaded
# machine where timings are not. With OTHER.h (another cprof.h, e.g. `git show main:cprof.h > /tmp/main.h`)
# the same for it, side by side. Usage: bench/alloc_instructions.sh [OTHER.h]
set -eu
cd "$(dirname "$0")/.."
OUT=build/alloc_instructions
mkdir -p "$OUT/this/bench" "$OUT/other/bench"
command -v valgrind >/dev/null || { echo "needs valgrind (callgrind)"; exit 1; }

measure() { # label header
  local dir=$OUT/$1
  cp "$2" "$dir/cprof.h"; cp bench/alloc_pairs.c "$dir/bench/"
  gcc -std=c11 -O2 "$dir/bench/alloc_pairs.c" -o "$dir/alloc_pairs" -lpthread -lm -ldl
  for mode in plain tracked; do
    valgrind --tool=callgrind --callgrind-out-file="$dir/$mode.out" "$dir/alloc_pairs" $mode > /dev/null 2>&1
  done
  callgrind_annotate --threshold=100 "$dir/tracked.out" > "$dir/tracked.txt"
  callgrind_annotate --threshold=100 "$dir/plain.out" > "$dir/plain.txt"
  awk -v label="$1" '
    function ir(line) { gsub(",", "", line); split(line, f, " "); return f[1] + 0 }
    FNR == 1 { file++ }
    /PROGRAM TOTALS/ { total[file] = ir($0) }
    /:cprof__/ { if (file == 2) own += ir($0) }
    /:malloc_usable_size/ { if (file == 2) usable += ir($0) }
    /malloc\.c:|arena\.c:/ && !/malloc_usable_size/ { libc[file] += ir($0) }
    END {
      pairs = 200000
      printf "%-6s tracked - plain: %6.1f instructions per pair: cprof %6.1f, malloc_usable_size %5.1f, the C library %+6.1f\n",
        label, (total[2] - total[1]) / pairs, own / pairs, usable / pairs, (libc[2] - libc[1]) / pairs
    }' "$dir/plain.txt" "$dir/tracked.txt"
}

echo "alloc_instructions: bench/alloc_pairs under callgrind, 200,000 malloc+free pairs of 16 to 4,111 bytes"
measure this cprof.h
if [ $# -ge 1 ]; then measure other "$1"; fi
