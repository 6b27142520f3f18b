#!/bin/sh
# cprof record against perf record -e cpu-clock on examples/minivm.c built without instrumentation
# (cprof compiled out, -fno-omit-frame-pointer): the top 10 functions by self time (perf's order), each
# one's share of the samples from both, and the run's CPU time plain, under cprof record, under perf.
# Usage: bench/sample_vs_perf.sh [RUNS]   (RUNS of each: mean shares, median CPU times; default 3)
set -e
cd "$(dirname "$0")/.."
runs=${1:-3}
command -v perf >/dev/null 2>&1 || { echo "SKIP: perf is not installed"; exit 0; }
make -s build/cprof build/libcprof-sample.so
out=build/bench/sample_vs_perf
mkdir -p "$out"
gcc -std=c99 -O2 -g -fno-omit-frame-pointer -DCPROF_DISABLE examples/minivm.c -o "$out/minivm" -lpthread -lm
perf record -e cpu-clock -F 1000 -o "$out/perf.data" "$out/minivm" > /dev/null 2> "$out/perf.err" ||
  { echo "SKIP: perf record -e cpu-clock does not work here: $(tail -1 "$out/perf.err")"; exit 0; }
# Shares: each tool's self shares averaged over RUNS runs (one run of either moves 2-4 points at ~1,000
# samples), the top 10 in perf's order.
: > "$out/perf.all"; : > "$out/cprof.all"
for i in $(seq "$runs"); do
  perf record -q -e cpu-clock -F 1000 -o "$out/perf.data" "$out/minivm" > /dev/null 2>&1
  perf report -i "$out/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
    awk '/^ *[0-9.]+%/ { sub(/%/, "", $1); print $3 "\t" $1 }' >> "$out/perf.all"
  ./build/cprof record -F 1000 -o "$out/cprof" -- "$out/minivm" > /dev/null 2>&1
  ./build/cprof stats "$out/cprof.json" | awk -F '\t' 'NR > 1 { print $1 "\t" $9 }' >> "$out/cprof.all"
done
mean() { awk -F '\t' -v n="$runs" '{ sum[$1] += $2 } END { for (f in sum) printf "%s\t%.4f\n", f, sum[f] / n }' "$1" | sort -t "$(printf '\t')" -k2,2gr; }
mean "$out/perf.all" > "$out/perf.tsv"
mean "$out/cprof.all" > "$out/cprof.tsv"
echo "top 10 by self time (perf's order): share of the samples, mean of $runs runs each, perf vs cprof record"
awk -F '\t' 'NR == FNR { cprof[$1] = $2; next }
  FNR <= 10 { c = ($1 in cprof) ? cprof[$1] : 0; d = c - $2; if (d < 0) d = -d; if (d > worst) worst = d;
              printf "  %-28s perf %6.2f%%  cprof %6.2f%%  off by %.2f points\n", $1, $2, c, d }
  END { printf "  largest difference: %.2f points (%s)\n", worst, worst <= 3 ? "within 3" : "NOT within 3" }' \
  "$out/cprof.tsv" "$out/perf.tsv"
cpu() { /usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -1 | awk '{ print $1 + $2 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# Overhead: a longer run (scale SCALE, default 350: some 3 s of CPU; the shares above use the default 70) so that a 10 ms tick of CPU time is
# a third of a percent; the three commands interleaved within each round.
scale=${SCALE:-350}
plain=""; recorded=""; perfed=""
for i in $(seq "$runs"); do
  plain="$plain $(cpu "$out/minivm" "$scale")"
  recorded="$recorded $(cpu ./build/cprof record -F 1000 -o "$out/run" -- "$out/minivm" "$scale")"
  perfed="$perfed $(cpu perf record -q -e cpu-clock -F 1000 -o "$out/run.data" "$out/minivm" "$scale")"
done
p=$(echo $plain | tr ' ' '\n' | median); r=$(echo $recorded | tr ' ' '\n' | median); q=$(echo $perfed | tr ' ' '\n' | median)
echo "CPU time at scale $scale, median of $runs: plain $p s, cprof record $r s, perf record $q s"
awk -v p="$p" -v r="$r" -v q="$q" 'BEGIN { printf "overhead: cprof record %+.1f%%, perf record %+.1f%%\n", 100 * (r / p - 1), 100 * (q / p - 1) }'
