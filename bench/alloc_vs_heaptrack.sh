#!/bin/bash
# bench/alloc_vs_heaptrack.sh - what tracking allocations costs, cprof (CPROF_WRAP_MALLOC) against heaptrack
# (Debian's heaptrack package: an LD_PRELOAD'ed malloc hook streaming to a file), side by side, each against
# the plain run measured in the same round:
#   mixed     bench/alloc_live_memory --workload: 4,000,000 allocations of 16 to 4,111 bytes, 1,000 live at
#             a time and 40,000 kept to the end
#   minivm    examples/minivm.c at its default scale (a bytecode VM whose objects live on a malloc'ed heap)
#             built plain (-DCPROF_DISABLE) and tracked (-DCPROF_WRAP_MALLOC -DCPROF_NO_MANUAL_SCOPES: every
#             allocation of the file, its scopes compiled out)
# heaptrack runs the plain build. Wall time (elapsed) and maximum RSS from /usr/bin/time, RUNS rounds
# interleaved (plain, cprof, heaptrack), medians and ratios to plain. With OTHER.h (another cprof.h, e.g.
# `git show main:cprof.h > /tmp/main.h`), its tracked builds run in each round too, as "cprof-other", for a
# before/after in the same rounds. Usage: nice bench/alloc_vs_heaptrack.sh [RUNS [OTHER.h]]
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-5}
OTHER=${2:-}
OUT=build/alloc_vs_heaptrack
mkdir -p "$OUT"
command -v heaptrack >/dev/null || { echo "needs heaptrack (apt-get install heaptrack)"; exit 1; }
FLAGS="-std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -Wshadow"
gcc $FLAGS bench/alloc_live_memory.c -o $OUT/alloc_live_memory -lpthread -lm
gcc $FLAGS -DCPROF_DISABLE examples/minivm.c -o $OUT/minivm-plain -lpthread -lm
gcc $FLAGS -DCPROF_WRAP_MALLOC -DCPROF_NO_MANUAL_SCOPES examples/minivm.c -o $OUT/minivm-tracked -lpthread -lm
TOOLS="cprof heaptrack"
if [ -n "$OTHER" ]; then # the same sources beside the other header
  mkdir -p $OUT/other/bench $OUT/other/examples
  cp "$OTHER" $OUT/other/cprof.h
  cp bench/alloc_live_memory.c bench/bench.h $OUT/other/bench/; cp examples/minivm.c $OUT/other/examples/
  gcc $FLAGS $OUT/other/bench/alloc_live_memory.c -o $OUT/alloc_live_memory-other -lpthread -lm
  gcc $FLAGS -DCPROF_WRAP_MALLOC -DCPROF_NO_MANUAL_SCOPES $OUT/other/examples/minivm.c -o $OUT/minivm-other -lpthread -lm
  TOOLS="cprof cprof-other heaptrack"
fi

# one run: prints "seconds max_rss_kb"
run() { /usr/bin/time -f '%e %M' -o $OUT/time "$@" > /dev/null 2>&1; cat $OUT/time; }

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() { # name plain-command... -- tracked-command... [-- other-tracked-command...]
  local name=$1; shift
  local plain=() tracked=() other=()
  while [ "$1" != -- ]; do plain+=("$1"); shift; done; shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do tracked+=("$1"); shift; done
  if [ $# -gt 0 ]; then shift; other=("$@"); fi
  : > $OUT/$name.plain; : > $OUT/$name.cprof; : > $OUT/$name.cprof-other; : > $OUT/$name.heaptrack
  for r in $(seq "$RUNS"); do
    run "${plain[@]}" >> $OUT/$name.plain
    run env CPROF_OUT= "${tracked[@]}" >> $OUT/$name.cprof
    if [ -n "$OTHER" ]; then run env CPROF_OUT= "${other[@]}" >> $OUT/$name.cprof-other; fi
    run heaptrack -o $OUT/$name.heaptrack.data "${plain[@]}" >> $OUT/$name.heaptrack
    rm -f $OUT/$name.heaptrack.data*
  done
  local p_s p_kb
  p_s=$(cut -d' ' -f1 $OUT/$name.plain | median); p_kb=$(cut -d' ' -f2 $OUT/$name.plain | median)
  printf '%-8s plain       %7.2f s  %8.1f MB max RSS\n' "$name" "$p_s" "$(echo "$p_kb / 1024" | bc -l)"
  for tool in $TOOLS; do
    local s kb
    s=$(cut -d' ' -f1 $OUT/$name.$tool | median); kb=$(cut -d' ' -f2 $OUT/$name.$tool | median)
    printf '%-8s %-11s %7.2f s  %8.1f MB max RSS   time %.2fx plain, RSS %.2fx plain\n' "$name" "$tool" "$s" \
      "$(echo "$kb / 1024" | bc -l)" "$(echo "$s / $p_s" | bc -l)" "$(echo "$kb / $p_kb" | bc -l)"
  done
}

echo "alloc_vs_heaptrack: medians of $RUNS interleaved rounds ($(nproc) cores; heaptrack $(heaptrack --version 2>&1 | head -1 | awk '{print $NF}'); load average $(cut -d' ' -f1-3 /proc/loadavg) before)"
measure mixed $OUT/alloc_live_memory --workload plain -- $OUT/alloc_live_memory --workload tracked \
  -- $OUT/alloc_live_memory-other --workload tracked
measure minivm $OUT/minivm-plain -- $OUT/minivm-tracked -- $OUT/minivm-other
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) after"
