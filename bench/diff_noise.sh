#!/bin/bash
# bench/diff_noise.sh - does `cprof diff` cry wolf on a real program on a loaded machine, and does it
# still catch a real slowdown? examples/minivm.c's automatic build (447 functions, build/minivm-auto) at
# SCALE 1 (about 0.6 s a run with every function recorded), with a slowdown planted in apply_binary
# (about 15% of the run in self time) by MINIVM_SLOW_SPINS.
#
#   1. calibrate: apply_binary's self time per call without and with 2000 spins gives the cost of a spin;
#      from it the spins for +10% and +100% (2x) of apply_binary's self time.
#   2. runs: BASE runs of the build as is, BASE of the +10% build and TWICE of the 2x build, interleaved
#      (base, +10%, 2x, base, ...), so that the machine's load drifts over all of them alike.
#   3. comparisons, 20 of each (cprof diff's exit status: 0 passed, 1 failed the gate):
#      same build, one run a side:        base[2i] vs base[2i+1]                  want >= 19 exit 0
#      same build, 5 runs a side:         10 distinct base runs drawn per pair   want >= 19 exit 0
#      +10% of apply_binary, 5 a side:    5 base runs vs 5 +10% runs, drawn      want >= 19 exit 1
#      2x of apply_binary, one a side:    base[i] vs 2x[i]                       want >= 19 exit 1
#      and, to see what several runs buy: 2x, 5 a side (5 of the TWICE 2x runs drawn, 5 base runs), and
#      one run a side with the --single-run-threshold that step 4 suggests.
#      The 5-a-side pairs draw from pools of BASE runs (a fixed seed per pair), so pairs share runs.
#   4. cprof diff --noise on 10 base runs: the threshold it suggests.
#   5. the --min-share floor: the same-build 5-a-side comparisons again at floors from 0 to 2%, with
#      the number of tests the p-values are adjusted for.
#
# Usage, from the repository's root:  nice bench/diff_noise.sh [runs|compare|all] [BASE [TWICE]]
#   BASE 50, TWICE 20. "compare" reuses the runs already in build/diff_noise/ (after a change to cprof).
set -eu
cd "$(dirname "$0")/.."
WHAT=${1:-all}
BASE=${2:-50}
TWICE=${3:-20}
OUT=build/diff_noise
VM=build/minivm-auto
CPROF=build/cprof
mkdir -p "$OUT"
make -s $VM $CPROF >/dev/null

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# apply_binary's self ns per call in a profile.
per_call() { $CPROF stats "$1" | awk -F'\t' '$1 == "apply_binary" { printf "%.3f\n", $4 / $2 }'; }

run() { # run SPINS NAME: one run at scale 1, its profile in $OUT/NAME.json
    MINIVM_SLOW_SPINS=$1 CPROF_OUT=$OUT/$2 $VM 1 > /dev/null
    rm -f $OUT/$2.txt $OUT/$2.folded $OUT/$2.svg
}

calibrate() {
    local i
    for i in 1 2 3 4 5; do run 0 cal0-$i; run 2000 cal1-$i; done
    local zero one
    zero=$(for i in 1 2 3 4 5; do per_call $OUT/cal0-$i.json; done | median)
    one=$(for i in 1 2 3 4 5; do per_call $OUT/cal1-$i.json; done | median)
    awk -v z="$zero" -v o="$one" 'BEGIN {
        per_spin = (o - z) / 2000
        printf "%d %d\n", 0.10 * z / per_spin + 0.5, 1.00 * z / per_spin + 0.5
        printf "apply_binary self per call %.1f ns, %.3f ns per spin\n", z, per_spin > "/dev/stderr" }' > $OUT/spins
    echo "spins: +10% $(cut -d' ' -f1 $OUT/spins), 2x $(cut -d' ' -f2 $OUT/spins)"
}

runs() {
    calibrate
    local ten twice i start
    read -r ten twice < $OUT/spins
    start=$(date +%s)
    for i in $(seq 1 "$BASE"); do
        run 0 base-$i
        run "$ten" slow10-$i
        [ "$i" -gt "$TWICE" ] || run "$twice" slow2x-$i
    done
    echo "$((BASE * 2 + TWICE)) runs in $(( $(date +%s) - start )) s"
    local check=""
    for i in 1 2 3; do check="$check $(per_call $OUT/base-$i.json)/$(per_call $OUT/slow10-$i.json)/$(per_call $OUT/slow2x-$i.json)"; done
    echo "apply_binary self ns per call, base/+10%/2x, first 3 runs:$check"
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

compare() {
    local a=() b=() c=() d=() e=() f=() i picks suggested
    suggested=$($CPROF diff --noise $(for i in $(seq 1 10); do echo $OUT/base-$i.json; done) |
                sed -n 's/^Suggested for one run a side: --single-run-threshold=\([0-9]*\).*/\1/p')
    for i in $(seq 0 19); do
        a+=("$(diff_status $OUT/base-$((2 * i + 1)).json $OUT/base-$((2 * i + 2)).json)")
        [ "${a[-1]}" = 0 ] || cp $OUT/last.txt $OUT/false-alarm-single-$i.txt
        picks=($(draw $((i + 1)) 10))
        b+=("$(diff_status $(for k in 0 1 2 3 4; do echo $OUT/base-${picks[$k]}.json; done) -- \
                           $(for k in 5 6 7 8 9; do echo $OUT/base-${picks[$k]}.json; done))")
        [ "${b[-1]}" = 0 ] || cp $OUT/last.txt $OUT/false-alarm-runs-$i.txt
        picks=($(draw $((i + 101)) 5))
        c+=("$(diff_status $(for k in 0 1 2 3 4; do echo $OUT/base-${picks[$k]}.json; done) -- \
                           $(for k in 0 1 2 3 4; do echo $OUT/slow10-${picks[$k]}.json; done))")
        [ "${c[-1]}" != 1 ] || grep -q '^!! apply_binary  *self time' $OUT/last.txt || c[-1]=wrong
        [ "${c[-1]}" = 1 ] || cp $OUT/last.txt $OUT/missed-10pct-$i.txt
        d+=("$(diff_status $OUT/base-$((i + 1)).json $OUT/slow2x-$((i + 1)).json)")
        [ "${d[-1]}" != 1 ] || grep -q '^!! apply_binary  *self time' $OUT/last.txt || d[-1]=wrong
        [ "${d[-1]}" = 1 ] || cp $OUT/last.txt $OUT/missed-2x-$i.txt
        picks=($(draw $((i + 201)) 5 "$TWICE"))
        e+=("$(diff_status $(for k in 0 1 2 3 4; do echo $OUT/base-${picks[$k]}.json; done) -- \
                           $(for k in 0 1 2 3 4; do echo $OUT/slow2x-${picks[$k]}.json; done))")
        [ "${e[-1]}" != 1 ] || grep -q '^!! apply_binary  *self time' $OUT/last.txt || e[-1]=wrong
        f+=("$(diff_status --single-run-threshold="$suggested" $OUT/base-$((2 * i + 1)).json $OUT/base-$((2 * i + 2)).json)")
    done
    tally "same build, 1 run a side" 0 "${a[@]}"
    tally "same build, 5 runs a side" 0 "${b[@]}"
    tally "apply_binary +10%, 5 runs a side" 1 "${c[@]}"
    tally "apply_binary 2x, 1 run a side" 1 "${d[@]}"
    tally "apply_binary 2x, 5 runs a side" 1 "${e[@]}"
    tally "same build, 1 a side, --single-run-threshold=$suggested" 0 "${f[@]}"
    local floor ok tests
    for floor in 0 0.1 0.25 0.5 1 2; do
        ok=0 tests=""
        for i in $(seq 0 19); do
            picks=($(draw $((i + 1)) 10))
            [ "$(diff_status --min-share=$floor $(for k in 0 1 2 3 4; do echo $OUT/base-${picks[$k]}.json; done) -- \
                 $(for k in 5 6 7 8 9; do echo $OUT/base-${picks[$k]}.json; done))" != 0 ] || ok=$((ok + 1))
            [ "$i" -ge 3 ] || tests="$tests $(sed -n 's/.*adjusted for the \([0-9]*\) tests.*/\1/p' $OUT/last.txt)"
        done
        printf 'same build, 5 runs a side, --min-share=%-4s %2d of 20 exit 0   (tests in the first three:%s)\n' "$floor" "$ok" "$tests"
    done
    echo
    $CPROF diff --noise $(for i in $(seq 1 10); do echo $OUT/base-$i.json; done) | tail -n 4
}

case "$WHAT" in
runs) runs ;;
compare) compare ;;
all) runs; compare ;;
*) echo "usage: bench/diff_noise.sh [runs|compare|all] [BASE [TWICE]]" >&2; exit 2 ;;
esac
