#!/bin/bash
# bench/diff_noise.sh - does `cprof diff` cry wolf on a real program on a loaded machine, and does it
# still catch a real slowdown? examples/minivm.c's automatic build (447 functions, build/minivm-auto) at
# SCALE 4 (a few seconds a run on the loaded machine), every call timed (CPROF_AUTO_MIN_NS=0: the
# counted-or-timed decision is the same in every run), with a slowdown planted in apply_binary (about
# 15% of the run's recorded time, self) by MINIVM_SLOW_SPINS.
#
#   1. calibrate: apply_binary's share of the run's recorded (raw: CPROF_COMPENSATE=0, as the comparison
#      tests it) time without and with 400 spins, interleaved, gives the spins for +10% and +100% (2x)
#      of apply_binary's self time.
#   2. runs: BASE runs of the build as is, SLOW of the +10% build and SLOW of the 2x build, interleaved
#      (base, +10%, 2x, base, ...), so that the machine's load drifts over all of them alike.
#   3. comparisons, 20 of each (cprof diff's exit status: 0 passed, 1 failed the gate):
#      same build, one run a side:        base[2i] vs base[2i+1]                  want >= 19 exit 0
#      same build, 5 runs a side:         10 distinct base runs drawn per pair   want >= 19 exit 0
#      +10% of apply_binary, 5 a side:    5 base runs vs 5 +10% runs, drawn      want >= 19 exit 1
#      2x of apply_binary, one a side:    base[i] vs 2x[i]                       want >= 19 exit 1
#      and 2x with 5 a side. A comparison that fails on another function than apply_binary is "wrong".
#      The 5-a-side pairs draw from pools of runs (a fixed seed per pair), so pairs share runs.
#   4. cprof diff --noise on 10 base runs: the single-run threshold it suggests, and the one-run-a-side
#      comparisons again with it.
#   5. the default automatic mode (CPROF_AUTO_MIN_NS unset: each run decides which functions are too
#      short to time): the same-build comparisons again on AUTO runs.
#
#   6. benchmark comparisons (bench, bench-compare): bench/diff_bench's five benchmarks timed in turn
#      (cprof_bench_group), work/c slowed 10% and 2x (BENCH_SLOW_PCT), the same comparisons. In the
#      environment, BENCH_ALONE=1 times each benchmark to completion before the next (cprof_bench_run, the
#      former way) and BENCH_LOAD=N plants N noise sources while the runs are taken (diff_bench --load: busy
#      and idle in turn for a random 50 ms to 1 s each, the two states of a shared core).
#
# Usage, from the repository's root:  nice bench/diff_noise.sh [runs|compare|all|bench|bench-compare] [BASE [SLOW [SCALE [AUTO]]]]
#   DIFF_NOISE_SPINS="TEN TWICE" takes these spins for +10% and 2x instead of calibrating them (the
#   calibration runs at scale 1, where a spin is a smaller part of the run; the compare step prints what
#   the plants did to apply_binary's recorded self time).
#   BASE 40, SLOW 20, SCALE 4, AUTO 20. "compare" reuses the runs in build/diff_noise/ (after a change to cprof).
set -eu
cd "$(dirname "$0")/.."
WHAT=${1:-all}
BASE=${2:-40}
SLOW=${3:-20}
SCALE=${4:-4}
AUTO=${5:-20}
OUT=${DIFF_NOISE_OUT:-build/diff_noise} # another directory of runs: DIFF_NOISE_OUT=DIR bench/diff_noise.sh bench-compare
VM=${DIFF_NOISE_VM:-build/minivm-auto} # another build of minivm (already built): DIFF_NOISE_VM=PATH
CPROF=${DIFF_NOISE_CPROF:-build/cprof}   # another build of the tool to compare with
mkdir -p "$OUT"
[ -n "${DIFF_NOISE_VM:-}" ] || make -s $VM >/dev/null
make -s build/cprof >/dev/null

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# apply_binary's self ns per call in a profile.
per_call() { $CPROF stats "$1" | awk -F'\t' '$1 == "apply_binary" { printf "%.3f\n", $4 / $2 }'; }

run() { # run SPINS NAME [SCALE]: one run, every call timed, its profile in $OUT/NAME.json
    CPROF_AUTO_MIN_NS=0 MINIVM_SLOW_SPINS=$1 CPROF_OUT=$OUT/$2 $VM "${3:-$SCALE}" > /dev/null
    rm -f $OUT/$2.txt $OUT/$2.folded $OUT/$2.svg
}

# raw_share PROFILE: apply_binary's self time's share of the run (a profile taken with CPROF_COMPENSATE=0)
raw_share() { $CPROF stats "$1" | awk -F'\t' '$1 == "apply_binary" { s = $4 } NR > 1 { t += $4 } END { printf "%.5f\n", s / t }'; }

# The spins that make apply_binary's recorded (raw) self time 10% and 100% longer, from its share of
# the run without spins (p0) and with CAL spins (p1), interleaved: shares, unlike times, do not move
# with the machine's load. CAL spins add x = (p1 - p0) / (1 - p1) of the run; a factor f needs
# (f - 1) p0 of it.
calibrate() {
    local i cal=400
    if [ -n "${DIFF_NOISE_SPINS:-}" ]; then # "TEN TWICE": the spins chosen, no calibration
        echo "$DIFF_NOISE_SPINS" > $OUT/spins
        echo "spins: +10% $(cut -d' ' -f1 $OUT/spins), 2x $(cut -d' ' -f2 $OUT/spins) (DIFF_NOISE_SPINS)"
        return
    fi
    for i in 1 2 3 4 5; do
        CPROF_COMPENSATE=0 run 0 cal0-$i 1
        CPROF_COMPENSATE=0 run $cal cal1-$i 1
    done
    local zero one
    zero=$(for i in 1 2 3 4 5; do raw_share $OUT/cal0-$i.json; done | median)
    one=$(for i in 1 2 3 4 5; do raw_share $OUT/cal1-$i.json; done | median)
    awk -v p0="$zero" -v p1="$one" -v cal=$cal 'BEGIN {
        x = (p1 - p0) / (1 - p1)
        printf "%d %d\n", cal * 0.10 * p0 / x + 0.5, cal * 1.00 * p0 / x + 0.5
        printf "apply_binary raw self share %.4f without spins, %.4f with %d\n", p0, p1, cal > "/dev/stderr" }' > $OUT/spins
    echo "spins: +10% $(cut -d' ' -f1 $OUT/spins), 2x $(cut -d' ' -f2 $OUT/spins)"
}

runs() {
    calibrate
    local ten twice i start
    read -r ten twice < $OUT/spins
    start=$(date +%s)
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for i in $(seq 1 "$BASE"); do
        run 0 base-$i
        [ "$i" -gt "$SLOW" ] || { run "$ten" slow10-$i; run "$twice" slow2x-$i; }
        [ "$i" -gt "$AUTO" ] || { MINIVM_SLOW_SPINS=0 CPROF_OUT=$OUT/auto-$i $VM "$SCALE" > /dev/null; rm -f $OUT/auto-$i.txt $OUT/auto-$i.folded $OUT/auto-$i.svg; }
    done
    echo "$((BASE + 2 * SLOW + AUTO)) runs in $(( $(date +%s) - start )) s; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# draw SEED K: K distinct base run numbers, a fixed shuffle per seed.
draw() { seq 1 "${3:-$BASE}" | awk -v seed="$1" 'BEGIN { srand(seed) } { print rand() "\t" $1 }' | sort -n | head -n "$2" | cut -f2; }

diff_status() { # diff_status ARGS...: cprof diff's exit status, its report kept in $OUT/last.txt
    local status=0
    $CPROF diff "$@" > $OUT/last.txt || status=$?
    echo $status
}

tally() { # tally NAME WANT STATUSES...: how many of the statuses are WANT
    local name=$1 want=$2 hits=0 s
    shift 2
    for s in "$@"; do [ "$s" != "$want" ] || hits=$((hits + 1)); done
    printf '%-44s %2d of %d exit %d   (statuses: %s)\n' "$name" "$hits" "$#" "$want" "$*"
}

# files PREFIX NUMBERS...: the profiles' paths
files() { local prefix=$1 k; shift; for k in "$@"; do echo $OUT/$prefix-$k.json; done; }

flagged() { # flagged STATUS: the status, or "wrong" when the gate failed on something else than apply_binary
    [ "$1" != 1 ] || grep -q '^!! apply_binary  *self time' $OUT/last.txt || { echo wrong; return; }
    echo "$1"
}

compare() {
    local a=() b=() c=() d=() e=() f=() g=() h=() k=() i picks slow suggested
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
    suggested=$($CPROF diff --noise $(files base $(seq 1 10)) |
                sed -n 's/^Suggested for one run a side: --single-run-threshold=\([0-9]*\).*/\1/p')
    for i in $(seq 0 19); do
        a+=("$(diff_status $OUT/base-$((2 * i + 1)).json $OUT/base-$((2 * i + 2)).json)")
        [ "${a[-1]}" = 0 ] || cp $OUT/last.txt $OUT/false-alarm-single-$i.txt
        picks=($(draw $((i + 1)) 10))
        b+=("$(diff_status $(files base "${picks[@]:0:5}") -- $(files base "${picks[@]:5:5}"))")
        [ "${b[-1]}" = 0 ] || cp $OUT/last.txt $OUT/false-alarm-runs-$i.txt
        picks=($(draw $((i + 101)) 5)) slow=($(draw $((i + 301)) 5 "$SLOW"))
        c+=("$(flagged "$(diff_status $(files base "${picks[@]}") -- $(files slow10 "${slow[@]}"))")")
        [ "${c[-1]}" = 1 ] || cp $OUT/last.txt $OUT/missed-10pct-$i.txt
        d+=("$(flagged "$(diff_status $OUT/base-$((i % BASE + 1)).json $OUT/slow2x-$((i % SLOW + 1)).json)")")
        [ "${d[-1]}" = 1 ] || cp $OUT/last.txt $OUT/missed-2x-$i.txt
        h+=("$(diff_status --single-run-threshold="$suggested" $OUT/base-$((2 * i + 1)).json $OUT/base-$((2 * i + 2)).json)")
        k+=("$(flagged "$(diff_status --single-run-threshold="$suggested" $OUT/base-$((i % BASE + 1)).json $OUT/slow2x-$((i % SLOW + 1)).json)")")
        picks=($(draw $((i + 201)) 5)) slow=($(draw $((i + 401)) 5 "$SLOW"))
        e+=("$(flagged "$(diff_status $(files base "${picks[@]}") -- $(files slow2x "${slow[@]}"))")")
        if [ "$AUTO" -ge 10 ]; then
            [ "$i" -ge "$((AUTO / 2))" ] || f+=("$(diff_status $OUT/auto-$((2 * i + 1)).json $OUT/auto-$((2 * i + 2)).json)")
            picks=($(draw $((i + 501)) 10 "$AUTO"))
            g+=("$(diff_status $(files auto "${picks[@]:0:5}") -- $(files auto "${picks[@]:5:5}"))")
        fi
    done
    tally "same build, 1 run a side" 0 "${a[@]}"
    tally "same build, 5 runs a side" 0 "${b[@]}"
    tally "apply_binary +10%, 5 runs a side" 1 "${c[@]}"
    tally "apply_binary 2x, 1 run a side" 1 "${d[@]}"
    tally "apply_binary 2x, 5 runs a side" 1 "${e[@]}"
    tally "same build, 1 a side, --single-run-threshold=$suggested" 0 "${h[@]}"
    tally "apply_binary 2x, 1 a side, --single-run-threshold=$suggested" 1 "${k[@]}"
    [ "$AUTO" -lt 10 ] || tally "default automatic mode, same build, 1 a side" 0 "${f[@]}"
    [ "$AUTO" -lt 10 ] || tally "default automatic mode, same build, 5 a side" 0 "${g[@]}"
    echo
    echo "apply_binary's share of the run (self, compensated), medians: base $(share base "$BASE"), +10% $(share slow10 "$SLOW"), 2x $(share slow2x "$SLOW")"
    echo "run time (s), median: base $(run_s base "$BASE"), +10% $(run_s slow10 "$SLOW"), 2x $(run_s slow2x "$SLOW")"
    planted_size
    $CPROF diff --noise $(files base $(seq 1 10)) | tail -n 4
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# What the plants did: apply_binary's self time's share of the recorded (raw) time, the mean over the
# runs of each kind, and the growth of its recorded self time that this means (the share p0 -> p1 adds
# x = (p1 - p0) / (1 - p1) of the run, x / p0 of the function).
planted_size() {
    python3 - "$OUT" "$BASE" "$SLOW" <<'PY'
import json, sys
out, base, slow = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def share(path):
    p = json.load(open(path)); nodes = p["nodes"]; sites = p["sites"]
    raw = lambda n: n.get("raw_total_ns", n["total_ns"])
    children = {}
    for n in nodes:
        if n.get("parent") is not None: children[n["parent"]] = children.get(n["parent"], 0) + raw(n)
    run = sum(raw(n) for n in nodes if n.get("parent") is None)
    own = sum(raw(n) - children.get(i, 0) for i, n in enumerate(nodes)
              if n.get("site") is not None and sites[n["site"]]["name"] == "apply_binary")
    return own / run
mean = lambda prefix, count: sum(share("%s/%s-%d.json" % (out, prefix, i)) for i in range(1, count + 1)) / count
p0 = mean("base", base)
line = "apply_binary's share of the recorded (raw) run, mean: base %.4f" % p0
for prefix, label in (("slow10", "+10%"), ("slow2x", "2x")):
    p1 = mean(prefix, slow)
    line += ", %s %.4f (its self time %+.1f%%)" % (label, p1, 100 * (p1 - p0) / (1 - p1) / p0)
print(line)
PY
}

# share PREFIX COUNT: the median over the runs of apply_binary's self time's share of the run (as reported)
share() {
    local k
    for k in $(seq 1 "$2"); do
        $CPROF stats $OUT/$1-$k.json | awk -F'\t' '$1 == "apply_binary" { s = $4 } NR > 1 { t += $4 } END { printf "%.4f\n", t ? s / t : 0 }'
    done | median
}

run_s() { local k; for k in $(seq 1 "$2"); do $CPROF stats $OUT/$1-$k.json | awk -F'\t' '$1 == "main" { printf "%.3f\n", $3 / 1e9 }'; done | median; }

# Benchmark comparisons: bench/diff_bench (five benchmarks of equal work, 0.05 s each), BASE runs as is,
# SLOW with work/c 10% slower and SLOW 2x (BENCH_SLOW_PCT), interleaved; the same comparisons.
BENCH=build/bench/diff_bench
bench_runs() {
    local i
    make -s $BENCH >/dev/null
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)${BENCH_ALONE:+; each benchmark alone (BENCH_ALONE)}"
    local load=() k
    for k in $(seq 1 "${BENCH_LOAD:-0}"); do $BENCH --load & load+=($!); done
    [ ${#load[@]} = 0 ] || echo "planted load: ${#load[@]} x diff_bench --load (pids ${load[*]})"
    for i in $(seq 1 "$BASE"); do
        $BENCH $OUT/bench-base-$i.json > /dev/null
        [ "$i" -gt "$SLOW" ] || { BENCH_SLOW_PCT=10 $BENCH $OUT/bench-slow10-$i.json > /dev/null; BENCH_SLOW_PCT=100 $BENCH $OUT/bench-slow2x-$i.json > /dev/null; }
    done
    for k in "${load[@]}"; do kill "$k"; wait "$k" 2>/dev/null || true; done
    echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

bench_flagged() { # the status, or "wrong" when the gate failed on another benchmark than work/c
    [ "$1" != 1 ] || ! grep -q '^  work/[abde] .*REGRESSED' $OUT/last.txt || { echo wrong; return; }
    [ "$1" != 1 ] || grep -q '^  work/c .*REGRESSED' $OUT/last.txt || { echo wrong; return; }
    echo "$1"
}

bench_compare() {
    local a=() b=() c=() d=() e=() h=() k=() largest=() found=() i picks slow
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
    for i in $(seq 0 19); do
        a+=("$(diff_status $OUT/bench-base-$((2 * i + 1)).json $OUT/bench-base-$((2 * i + 2)).json)")
        [ "${a[-1]}" = 0 ] || cp $OUT/last.txt $OUT/bench-false-alarm-single-$i.txt
        largest+=("$(bench_largest_factor)")
        h+=("$(diff_status --single-run-threshold=50 $OUT/bench-base-$((2 * i + 1)).json $OUT/bench-base-$((2 * i + 2)).json)")
        picks=($(draw $((i + 1)) 10))
        b+=("$(diff_status $(files bench-base "${picks[@]:0:5}") -- $(files bench-base "${picks[@]:5:5}"))")
        picks=($(draw $((i + 101)) 5)) slow=($(draw $((i + 301)) 5 "$SLOW"))
        c+=("$(bench_flagged "$(diff_status $(files bench-base "${picks[@]}") -- $(files bench-slow10 "${slow[@]}"))")")
        d+=("$(bench_flagged "$(diff_status $OUT/bench-base-$((i % BASE + 1)).json $OUT/bench-slow2x-$((i % SLOW + 1)).json)")")
        found+=("$(awk '$1 == "work/c" { for (f = 1; f <= NF; f++) if ($f ~ /%$/) { printf "%.0f\n", $f + 0; exit } }' $OUT/last.txt)")
        k+=("$(bench_flagged "$(diff_status --single-run-threshold=50 $OUT/bench-base-$((i % BASE + 1)).json $OUT/bench-slow2x-$((i % SLOW + 1)).json)")")
        picks=($(draw $((i + 201)) 5)) slow=($(draw $((i + 401)) 5 "$SLOW"))
        e+=("$(bench_flagged "$(diff_status $(files bench-base "${picks[@]}") -- $(files bench-slow2x "${slow[@]}"))")")
    done
    tally "benchmarks: same build, 1 run a side" 0 "${a[@]}"
    tally "benchmarks: same build, 1 a side, threshold 50" 0 "${h[@]}"
    tally "benchmarks: same build, 5 runs a side" 0 "${b[@]}"
    tally "benchmarks: work/c +10%, 5 runs a side" 1 "${c[@]}"
    tally "benchmarks: work/c 2x, 1 run a side" 1 "${d[@]}"
    tally "benchmarks: work/c 2x, 1 a side, threshold 50" 1 "${k[@]}"
    tally "benchmarks: work/c 2x, 5 runs a side" 1 "${e[@]}"
    echo "same build, 1 run a side: the largest change of any benchmark as a factor (100 (larger / smaller - 1)), per pair: ${largest[*]}"
    echo "work/c 2x, 1 run a side: its change (%) per pair: ${found[*]}"
    echo "work/c median per iteration (ns), median of the runs: base $(bench_median base "$BASE"), +10% $(bench_median slow10 "$SLOW"), 2x $(bench_median slow2x "$SLOW")"
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# The largest change in $OUT/last.txt's benchmark rows as a factor either way (what --single-run-threshold is compared to).
bench_largest_factor() {
    sed -n '/^Benchmarks compared/,$p' $OUT/last.txt | awk '$1 ~ /^work\// { for (f = 1; f <= NF; f++) if ($f ~ /%$/) { c = $f + 0; x = c >= 0 ? c : 100 * (100 / (100 + c) - 1); if (x > m) m = x } } END { printf "%.0f\n", m }'
}

bench_median() { local k; for k in $(seq 1 "$2"); do $CPROF bench $OUT/bench-$1-$k.json | awk '$1 == "work/c" { print $3 " " $4 }'; done | awk '{ v = $1; if ($2 == "µs") v *= 1000; if ($2 == "ms") v *= 1e6; print v }' | median; }

case "$WHAT" in
bench) bench_runs; bench_compare ;;
bench-compare) bench_compare ;;
runs) runs ;;
compare) compare ;;
all) runs; compare ;;
*) echo "usage: bench/diff_noise.sh [runs|compare|all|bench|bench-compare] [BASE [SLOW [SCALE [AUTO]]]]" >&2; exit 2 ;;
esac
