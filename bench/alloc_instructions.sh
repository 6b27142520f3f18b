#!/usr/bin/env bash
# bench/alloc_instructions.sh - what tracking a malloc+free pair costs in instructions (callgrind's Ir), not in
# time: bench/alloc_pairs (200,000 pairs of mixed sizes, 8 blocks live) plain and tracked, the difference per
# pair, split into cprof's own functions, malloc_usable_size (the slack) and the C library's malloc and free.
# Exact on a loaded machine where timings are not. With OTHER.h (another cprof.h, e.g.
# `git show main:cprof.h > /tmp/main.h`) the same for it, side by side. With --mixed, also the mixed workload
# that bench/alloc_vs_heaptrack.sh times (bench/alloc_live_memory --workload: 4,000,000 allocations of 16 to
# 4,111 bytes, 1,000 live at a time, 40,000 kept; a few minutes under callgrind), per allocation, with the
# calls that took a thread's lock (cprof__young_evict: a full young set; cprof__take_from: a block not in
# the young cache). Usage: bench/alloc_instructions.sh [--mixed] [OTHER.h]
set -eu
cd "$(dirname "$0")/.."
OUT=build/alloc_instructions
MIXED=0
if [ "${1:-}" = --mixed ]; then MIXED=1; shift; fi
mkdir -p "$OUT/this/bench" "$OUT/other/bench"
command -v valgrind >/dev/null || { echo "needs valgrind (callgrind)"; exit 1; }

# The difference between program.plain.out and program.tracked.out, per event: label dir program events
difference() {
  local dir=$1/$2 program=$3 events=$4
  for mode in plain tracked; do
    callgrind_annotate --threshold=100 "$dir/$program.$mode.out" > "$dir/$program.$mode.txt"
  done
  awk -v label="$2" -v events="$events" -v program="$program" '
    function ir(line) { gsub(",", "", line); split(line, f, " "); return f[1] + 0 }
    FNR == 1 { file++ }
    /PROGRAM TOTALS/ { total[file] = ir($0) }
    /:cprof__/ { if (file == 2) own += ir($0) }
    /:malloc_usable_size/ { if (file == 2) usable += ir($0) }
    /malloc\.c:|arena\.c:/ && !/malloc_usable_size/ { libc[file] += ir($0) }
    END {
      printf "%-6s %-11s tracked - plain: %6.1f instructions per %s: cprof %6.1f, malloc_usable_size %5.1f, the C library %+6.1f\n",
        label, program, (total[2] - total[1]) / events, program == "alloc_pairs" ? "pair" : "allocation", own / events,
        usable / events, (libc[2] - libc[1]) / events
    }' "$dir/$program.plain.txt" "$dir/$program.tracked.txt"
}

# How many times the tracked run called each function that takes a thread's lock, from callgrind's own
# file (names are compressed there: "(id) name" the first time, "(id)" after): dir program
lock_calls() {
  awk '
    /^c?fn=\(/ { id = $0; sub(/^c?fn=/, "", id); sub(/\).*/, ")", id)
                 rest = $0; sub(/^c?fn=\([0-9]+\) ?/, "", rest); if (rest != "") name[id] = rest }
    /^cfn=/ { callee = id }
    /^calls=/ { split($0, f, /[= ]/); calls[name[callee]] += f[2] }
    END {
      printf "       lock taken:"
      for (k = 1; k <= 2; k++) {
        fn = k == 1 ? "cprof__young_evict" : "cprof__take_from"
        seen = 0; for (i in name) if (name[i] == fn) seen = 1
        if (seen) printf " %s %d calls", fn, calls[fn]; else printf " %s (inlined or absent)", fn
      }
      printf "\n"
    }' "$1/$2.tracked.out"
}

measure() { # label header
  local dir=$OUT/$1
  cp "$2" "$dir/cprof.h"; cp bench/alloc_pairs.c bench/alloc_live_memory.c bench/bench.h "$dir/bench/"
  gcc -std=c11 -O2 "$dir/bench/alloc_pairs.c" -o "$dir/alloc_pairs" -lpthread -lm -ldl
  for mode in plain tracked; do
    valgrind --tool=callgrind --callgrind-out-file="$dir/alloc_pairs.$mode.out" "$dir/alloc_pairs" $mode > /dev/null 2>&1
  done
  difference "$OUT" "$1" alloc_pairs 200000
  [ $MIXED = 1 ] || return 0
  gcc -std=c11 -O2 "$dir/bench/alloc_live_memory.c" -o "$dir/alloc_live_memory" -lpthread -lm -ldl
  for mode in plain tracked; do
    CPROF_OUT= valgrind --tool=callgrind --callgrind-out-file="$dir/mixed.$mode.out" "$dir/alloc_live_memory" \
      --workload $mode > /dev/null 2>&1
  done
  difference "$OUT" "$1" mixed 4000000
  lock_calls "$dir" mixed
}

echo "alloc_instructions: bench/alloc_pairs under callgrind, 200,000 malloc+free pairs of 16 to 4,111 bytes"
measure this cprof.h
if [ $# -ge 1 ]; then measure other "$1"; fi
