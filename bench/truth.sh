#!/bin/bash
# bench/truth.sh - how true is cprof's automatic profile of an interpreter? A shell script, not C like the
# other benchmarks, because it drives builds and other profilers: gprof, perf and callgrind.
#
# examples/minivm.c (a bytecode VM with several hundred small functions) built four ways, each with the
# Makefile's flags plus -g (which changes no code, and gives callgrind its file names):
#   plain  -O2 -DCPROF_DISABLE                                   the program as it runs in production
#   floor  -O2 -finstrument-functions, hooks that do nothing     what the compiler's instrumentation costs
#                                                                by itself: no profiler can go below it
#   auto   -O2 -finstrument-functions ... -DCPROF_AUTO          every function recorded by cprof, run three
#          ways: default (functions too short to time are counted), CPROF_AUTO_MIN_NS=0 (every call timed),
#          and CPROF=0 (recording off)
#   gprof  -O2 -pg -DCPROF_DISABLE                               gcc's own instrumentation, for scale
#   clang  clang -O2, plain, and with -finstrument-functions-after-inlining (only the calls that remain
#          after inlining are instrumented): empty hooks, and -DCPROF_AUTO run default, CPROF_AUTO_MIN_NS=0
#          and CPROF=0, against clang's own plain build; its shares against perf on clang's plain build
# and measured four ways:
#   1. CPU time (user+system, /usr/bin/time) of RUNS runs of each, interleaved; medians, and ratios to
#      the plain build of the same run.
#   2. Self-time shares: perf's sampling of the plain build (cpu-clock, 2000 Hz, no call graphs) against
#      cprof's pct_self from the auto build, and gprof's flat profile: the top 10 functions by perf's share,
#      then the functions cprof reports that perf never sees (gcc inlined them into their callers).
#   3. Call counts: callgrind and cprof in the same run of the auto build at SMALL_SCALE; how many
#      functions agree exactly, and the ones that do not. Then the same with -fno-inline added, where
#      every call cprof records is a call instruction callgrind can count.
#
# Usage, from the repository's root:  nice bench/truth.sh [RUNS [SCALE [SMALL_SCALE]]]
#   RUNS 5, SCALE minivm's default (about 1 s of CPU for the plain build), SMALL_SCALE 1.
# Needs gcc, perf, gprof (binutils) and valgrind; a missing one is installed with apt-get.
# Files go to build/truth/.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-5}
SCALE=${2:-}
SMALL_SCALE=${3:-1}
OUT=build/truth
mkdir -p "$OUT"

# --- tools --------------------------------------------------------------------------------------------
install_missing() {
    local missing="" sudo=""
    command -v perf >/dev/null 2>&1 || missing="$missing linux-perf"
    command -v gprof >/dev/null 2>&1 || missing="$missing binutils"
    command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"
    [ -x /usr/bin/time ] || missing="$missing time"
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "installing:$missing"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
}

# --- builds -------------------------------------------------------------------------------------------
build_all() {
    local cc="gcc -std=c99 -O2 -g -Wall -Wextra -Wpedantic -Werror -Wshadow"
    local auto="-finstrument-functions -finstrument-functions-exclude-file-list=cprof.h,stb_sprintf.h -DCPROF_AUTO"
    make -s build/cprof
    $cc -DCPROF_DISABLE examples/minivm.c -o $OUT/minivm -lpthread -lm
    printf '%s\n' '/* bench/truth.sh: -finstrument-functions hooks that do nothing */' \
        'void __cyg_profile_func_enter(void *f, void *c) __attribute__((no_instrument_function));' \
        'void __cyg_profile_func_exit(void *f, void *c) __attribute__((no_instrument_function));' \
        'void __cyg_profile_func_enter(void *f, void *c) { (void)f, (void)c; }' \
        'void __cyg_profile_func_exit(void *f, void *c) { (void)f, (void)c; }' > $OUT/empty_hooks.c
    $cc -finstrument-functions -DCPROF_DISABLE examples/minivm.c $OUT/empty_hooks.c -o $OUT/minivm-floor -lpthread -lm
    $cc $auto examples/minivm.c -o $OUT/minivm-auto -lpthread -lm
    $cc -pg -DCPROF_DISABLE examples/minivm.c -o $OUT/minivm-pg -lpthread -lm
    $cc -fno-inline $auto examples/minivm.c -o $OUT/minivm-auto-noinline -lpthread -lm
    local clang="clang -std=c99 -O2 -g -Wall -Wextra -Werror"
    $clang -DCPROF_DISABLE examples/minivm.c -o $OUT/minivm-clang -lpthread -lm
    $clang -finstrument-functions-after-inlining -DCPROF_AUTO examples/minivm.c -o $OUT/minivm-clang-after -lpthread -lm
    $clang -finstrument-functions-after-inlining -DCPROF_DISABLE examples/minivm.c $OUT/empty_hooks.c \
        -o $OUT/minivm-clang-floor -lpthread -lm
}

# --- 1. CPU time --------------------------------------------------------------------------------------
# cpu_seconds RUN: one run (in $OUT, where gprof writes gmon.out and cprof its profile); prints user+system.
# RUN is a build, or auto-all / auto-off: the auto build with every call timed / with recording off.
cpu_seconds() {
    local build=$1
    (cd $OUT && case $1 in
            minivm-auto) export CPROF_OUT=auto ;;
            minivm-clang-after) export CPROF_OUT=clang-after ;;
            auto-all) export CPROF_OUT=auto-all CPROF_AUTO_MIN_NS=0; build=minivm-auto ;;
            auto-off) export CPROF=0; build=minivm-auto ;;
            clang-all) export CPROF_OUT=clang-all CPROF_AUTO_MIN_NS=0; build=minivm-clang-after ;;
            clang-off) export CPROF=0; build=minivm-clang-after ;;
        esac &&
        /usr/bin/time -f '%U %S' -o time.txt ./"$build" $SCALE > "$1.out")
    awk '{ printf "%.3f\n", $1 + $2 }' $OUT/time.txt
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

measure_times() {
    : > $OUT/times.tsv
    for run in $(seq "$RUNS"); do
        for run in $RUN_NAMES; do
            printf '%s\t%s\n' $run "$(cpu_seconds $run)" >> $OUT/times.tsv
        done
    done
    for run in $RUN_NAMES; do
        cmp -s $OUT/minivm.out $OUT/$run.out || { echo "$run printed another line than the plain build" >&2; exit 1; }
    done
    echo "CPU time, median of $RUNS runs each (user+system), $(cat $OUT/minivm.out)"
    for run in $RUN_NAMES; do
        printf '%s\t%s\n' $run "$(awk -v r=$run '$1 == r { print $2 }' $OUT/times.tsv | median)"
    done | awk -F'\t' '
        BEGIN { what["minivm"] = "plain  (-DCPROF_DISABLE)"; what["minivm-floor"] = "floor  (empty hooks)"
                what["minivm-auto"] = "auto   (cprof, default)"; what["auto-all"] = "auto   (CPROF_AUTO_MIN_NS=0)"
                what["auto-off"] = "auto   (CPROF=0)"; what["minivm-pg"] = "gprof  (-pg)"
                what["minivm-clang"] = "clang  plain"; what["minivm-clang-after"] = "clang  after inlining (default)"
                what["minivm-clang-floor"] = "clang  after inlining, empty hooks"; what["clang-all"] = "clang  after inlining, MIN_NS=0"
                what["clang-off"] = "clang  after inlining, CPROF=0" }
        $1 == "minivm" { plain = $2 } $1 == "minivm-floor" { floor = $2 } $1 == "minivm-clang" { clang_plain = $2 }
        $1 ~ /clang/ { printf "  %-30s %7.3f s   %6.2fx clang plain\n", what[$1], $2, $2 / clang_plain; next }
        { printf "  %-30s %7.3f s   %6.2fx plain", what[$1], $2, $2 / plain
          if (floor) printf "   %5.2fx floor", $2 / floor
          printf "\n" }'
    printf '  functions cprof saw called: gcc auto %s, clang after inlining %s\n' \
        "$(build/cprof stats $OUT/auto.json | awk -F'\t' 'NR > 1 && $2 > 0' | wc -l)" \
        "$(build/cprof stats $OUT/clang-after.json | awk -F'\t' 'NR > 1 && $2 > 0' | wc -l)"
    for run in $RUN_NAMES; do
        printf '  every run of %-14s %s\n' "$run:" "$(awk -v r=$run '$1 == r { printf "%s ", $2 }' $OUT/times.tsv)"
    done
}
RUN_NAMES="minivm minivm-floor minivm-auto auto-all auto-off minivm-pg minivm-clang minivm-clang-floor minivm-clang-after clang-all clang-off"

# --- 2. self-time shares ------------------------------------------------------------------------------
# Each tool's shares as "name<TAB>percent", the compiler's clone suffixes (.isra.0, .part.0, .constprop.0,
# .cold) dropped and the pieces of one function added up.
strip_clones() { awk -F'\t' '{ sub(/\.(isra|part|constprop|cold|lto_priv)[.0-9a-z]*$/, "", $1); s[$1] += $2 } END { for (f in s) printf "%s\t%.2f\n", f, s[f] }'; }

perf_shares() {
    perf record -q -e cpu-clock -F 2000 -o $OUT/perf.data $OUT/${1:-minivm} $SCALE > /dev/null 2> $OUT/perf.err
    perf report -i $OUT/perf.data --stdio --no-children --sort symbol 2> /dev/null |
        awk '$2 == "[.]" { sub(/%$/, "", $1); printf "%s\t%s\n", $3, $1 }' | strip_clones
}

cprof_shares() { build/cprof stats $OUT/${1:-auto}.json | awk -F'\t' 'NR > 1 { printf "%s\t%s\n", $1, $9 }' | strip_clones; }

# cprof's self time as perf would see it: the time of each function perf never sees (gcc inlined it into
# its caller in the plain build) given to its nearest caller that perf does see, along cprof's own stacks.
cprof_folded_shares() {
    awk -F'\t' 'FILENAME ~ /perf/ { seen[$1] = 1; next }
        {
            split($0, line, " "); k = split(line[1], frame, ";")
            for (i = k; i > 1 && !(frame[i] in seen); i--) ;
            self[frame[i]] += line[2]; total += line[2]
        }
        END { for (f in self) printf "%s\t%.2f\n", f, 100 * self[f] / total }' $OUT/perf.tsv $OUT/auto.folded | strip_clones
}

gprof_shares() {
    gprof -b -p $OUT/minivm-pg $OUT/gmon.out 2> /dev/null |
        awk '$1 ~ /^[0-9.]+$/ && NF >= 4 { printf "%s\t%s\n", $NF, $1 }' | strip_clones
}

compare_shares() {
    perf_shares | sort -t$'\t' -k2,2gr > $OUT/perf.tsv
    cprof_shares > $OUT/cprof.tsv
    cprof_shares auto-all > $OUT/all.tsv
    cprof_folded_shares > $OUT/folded.tsv
    gprof_shares > $OUT/gprof.tsv
    echo
    echo "Self time, % of the run (scale $SCALE): perf samples the plain build, cprof records the auto build (default;"
    echo "'all': CPROF_AUTO_MIN_NS=0), gprof the -pg build; 'folded' is cprof's with the time of the functions perf never"
    echo "sees given to their nearest caller it sees"
    awk -F'\t' -v OFS='\t' '
        function share(of, f) { return (f in of) ? sprintf("%7.2f%%", of[f]) : "-" }
        function points(of, f, p) { return (f in of) ? sprintf("%+.2f", of[f] - p) : "-" }
        function miss(of, f, p) { d = (f in of) ? of[f] - p : -p; return d < 0 ? -d : d }
        FILENAME ~ /folded/ { folded[$1] = $2; next }
        FILENAME ~ /cprof/ { cprof[$1] = $2; next }
        FILENAME ~ /all/ { all[$1] = $2; next }
        FILENAME ~ /gprof/ { gprof[$1] = $2; next }
        { perf[$1] = $2; order[++n] = $1 }
        END {
            printf "  %-28s %8s %8s %10s %8s %10s %8s %8s\n", "function (top 10 by perf)", "perf", "cprof", "cprof-perf", \
                "folded", "folded-perf", "all", "gprof"
            for (i = 1; i <= 10 && i <= n; i++) {
                f = order[i]
                printf "  %-28s %7.2f%% %8s %10s %8s %10s %8s %8s\n", f, perf[f], share(cprof, f), points(cprof, f, perf[f]),
                    share(folded, f), points(folded, f, perf[f]), share(all, f), share(gprof, f)
                if (i <= 5) {
                    if (miss(cprof, f, perf[f]) > worst) worst = miss(cprof, f, perf[f])
                    if (miss(folded, f, perf[f]) > worst_folded) worst_folded = miss(folded, f, perf[f])
                    if (miss(all, f, perf[f]) > worst_all) worst_all = miss(all, f, perf[f])
                }
            }
            printf "  top 5 by perf, the largest miss: cprof %.2f points, folded %.2f, all %.2f\n", worst, worst_folded, worst_all
            for (f in cprof) if (!(f in perf)) { unseen += cprof[f]; unseen_n++ }
            printf "\n  %d functions of cprof'"'"'s profile never appear in perf'"'"'s (inlined, or too brief to be sampled): %.2f%% of cprof'"'"'s time\n", unseen_n, unseen
        }' $OUT/cprof.tsv $OUT/folded.tsv $OUT/all.tsv $OUT/gprof.tsv $OUT/perf.tsv
    echo "  the largest of them (cprof's self share):"
    awk -F'\t' 'FILENAME ~ /perf/ { seen[$1] = 1; next } !($1 in seen) { printf "%s\t%s\n", $1, $2 }' \
        $OUT/perf.tsv $OUT/cprof.tsv | sort -t$'\t' -k2,2gr | head -10 |
        awk -F'\t' '{ printf "    %-28s %7.2f%%\n", $1, $2 }'
}

# The same with clang: perf samples clang's plain build, cprof records the build instrumented after
# inlining (default and every call timed). Both see the same functions: what clang inlined is in its caller.
compare_shares_clang() {
    perf_shares minivm-clang | sort -t$'\t' -k2,2gr > $OUT/perf-clang.tsv
    cprof_shares clang-after > $OUT/cprof-clang.tsv
    cprof_shares clang-all > $OUT/all-clang.tsv
    echo
    echo "Self time, % of the run (scale $SCALE), clang: perf samples clang's plain build, cprof records the build"
    echo "instrumented after inlining (default; 'all': CPROF_AUTO_MIN_NS=0)"
    awk -F'\t' '
        function share(of, f) { return (f in of) ? sprintf("%7.2f%%", of[f]) : "-" }
        function miss(of, f, p) { d = (f in of) ? of[f] - p : -p; return d < 0 ? -d : d }
        FILENAME ~ /cprof/ { cprof[$1] = $2; next }
        FILENAME ~ /all/ { all[$1] = $2; next }
        { perf[$1] = $2; order[++n] = $1 }
        END {
            printf "  %-28s %8s %8s %10s %8s %10s\n", "function (top 10 by perf)", "perf", "cprof", "cprof-perf", "all", "all-perf"
            for (i = 1; i <= 10 && i <= n; i++) {
                f = order[i]
                printf "  %-28s %7.2f%% %8s %+10.2f %8s %+10.2f\n", f, perf[f], share(cprof, f), (f in cprof ? cprof[f] : 0) - perf[f],
                    share(all, f), (f in all ? all[f] : 0) - perf[f]
                if (i <= 5) {
                    if (miss(cprof, f, perf[f]) > worst) worst = miss(cprof, f, perf[f])
                    if (miss(all, f, perf[f]) > worst_all) worst_all = miss(all, f, perf[f])
                }
            }
            printf "  top 5 by perf, the largest miss: cprof %.2f points, all %.2f\n", worst, worst_all
        }' $OUT/cprof-clang.tsv $OUT/all-clang.tsv $OUT/perf-clang.tsv
}

# --- 3. call counts -----------------------------------------------------------------------------------
# compare_calls BUILD: cprof's count and callgrind's for every function, in the same run of BUILD.
compare_calls() {
    local build=$1
    (cd $OUT && rm -f $build.callgrind && CPROF_OUT=$build-small timeout 1200 valgrind -q --tool=callgrind \
        --compress-strings=no --compress-pos=no --callgrind-out-file=$build.callgrind ./$build $SMALL_SCALE > /dev/null)
    awk -v file='minivm[.]c$' -f tests/callgrind_calls.awk $OUT/$build.callgrind |
        awk -F'\t' '{ printf "%s\t%s\n", $2, $1 }' | sort > $OUT/$build-callgrind.tsv
    build/cprof stats $OUT/$build-small.json | awk -F'\t' 'NR > 1 && $2 > 0 { printf "%s\t%s\n", $1, $2 }' |
        sort > $OUT/$build-cprof.tsv
    join -t$'\t' -a1 -a2 -e 0 -o 0,1.2,2.2 $OUT/$build-cprof.tsv $OUT/$build-callgrind.tsv > $OUT/$build-calls.tsv
    echo
    echo "Calls, cprof and callgrind in the same run of $build (scale $SMALL_SCALE):"
    awk -F'\t' '
        { n++ }
        $2 == $3 { same++; next }
        $3 == 0 { none++; none_calls += $2; next }
        $2 == 0 { cg_only++; next }
        { differ++; diff[differ] = sprintf("    %-28s cprof %12d  callgrind %12d", $1, $2, $3) }
        END {
            printf "  %d functions in either; %d with exactly the same count\n", n, same
            printf "  %d that callgrind never sees called (inlined everywhere: the hooks run, no call instruction): %d calls in cprof\n", none, none_calls
            printf "  %d that only callgrind sees; %d with different counts (inlined at some call sites)%s\n", cg_only, differ, differ ? ":" : ""
            for (i = 1; i <= differ && i <= 15; i++) print diff[i]
        }' $OUT/$build-calls.tsv
}

install_missing
build_all
[ -n "$SCALE" ] || SCALE=$(sed -n 's/.*DEFAULT_SCALE = \([0-9]*\),.*/\1/p' examples/minivm.c)
measure_times
compare_shares
compare_shares_clang
compare_calls minivm-auto
compare_calls minivm-auto-noinline
