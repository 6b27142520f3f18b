#!/usr/bin/env bash
# cprof built for another platform and run on this machine through an emulator, then its profiles read
# by the Linux tool. Usage: tests/check_platform.sh arm64|windows BUILD_DIR LINUX_TOOL
#   arm64    aarch64-linux-gnu-gcc, run under qemu-aarch64 (QEMU_LD_PREFIX=/usr/aarch64-linux-gnu)
#   windows  x86_64-w64-mingw32-gcc, run under Wine (one wineserver for the whole leg, its prefix in
#            BUILD_DIR/wine, WINEDEBUG=-all)
# Steps: a subset of tests/test_*.c against the implementation compiled for the platform (tests that
# fork, exec themselves or run for long under emulation are left to the native matrix); the tool on
# tests/corpus, compared to the byte with tests/golden; examples/wordfreq with CPROF_OUT, whose profile
# the Linux tool reports, diffs against a Linux run and flame-graphs; on arm64 also the automatic
# instrumentation test (the ELF reader on a dlopen'd library). Prints SKIP and succeeds when the
# cross compiler or the emulator is missing. Each step prints its seconds.
set -u
platform=$1
build=$2
linux_tool=$3
dir=$build/check/$platform
warnings="-Wall -Wextra -Wpedantic -Werror -Wshadow"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
step() { local now; now=$(date +%s.%N); printf '  (%.1f s)\n%s\n' "$(echo "$now - $step_start" | bc)" "$*"; step_start=$now; }

case $platform in
arm64)
  cc="aarch64-linux-gnu-gcc -std=c11 -O1"
  libs="-lpthread -lm"
  exe=""
  export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
  run() { qemu-aarch64 "$@"; }
  needs="aarch64-linux-gnu-gcc qemu-aarch64"
  tests="test_scope test_threads test_capture_threads test_alloc test_alloc_threads test_json test_report
         test_compare test_derive test_bench test_control test_unbalanced test_hostile test_fanout test_disable
         test_analyze_verdicts"
  timer=cntvct clock=clock_gettime
  ;;
windows)
  # winpthreads for the tests' own threads only (cprof uses Win32 threads); static, so Wine needs no DLL
  # stb_sprintf from Debian's libstb-dev, seen through a directory of its own (not all of /usr/include)
  cc="x86_64-w64-mingw32-gcc -std=c11 -O1 -I$build/check/mingw-include"
  libs="-static -lpthread -lm"
  exe=".exe"
  export WINEPREFIX=$PWD/$build/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  run() { wine "$@"; }
  needs="x86_64-w64-mingw32-gcc wine wineserver"
  tests="test_scope test_threads test_capture_threads test_alloc test_alloc_threads test_json test_report
         test_compare test_derive test_bench test_control test_unbalanced test_hostile test_disable
         test_analyze_verdicts"
  timer=rdtsc/qpc clock=qpc
  ;;
*) echo "usage: $0 arm64|windows BUILD_DIR LINUX_TOOL"; exit 2 ;;
esac
for n in $needs; do
  command -v "$n" > /dev/null 2>&1 || { echo "SKIP: $platform needs $n (make deps installs it)"; exit 0; }
done
step_start=$(date +%s.%N)
rm -rf "$dir" && mkdir -p "$dir"
if [ "$platform" = windows ]; then
  mkdir -p "$build/check/mingw-include" && ln -sfn /usr/include/stb "$build/check/mingw-include/stb"
  mkdir -p "$WINEPREFIX"
  wineserver -p 2> /dev/null # one persistent server for every wine below; ended at the end of the leg
  trap 'wineserver -k 2> /dev/null' EXIT
  wine cmd /c exit 0 > /dev/null 2>&1 # the prefix is created once (first time: about 10 s)
fi

step "the implementation, the tool and the tests compiled for $platform"
$cc $warnings -DCPROF_IMPLEMENTATION -DCPROF_TESTING -x c -c cprof.h -o "$dir/cprof.o" || fail "implementation"
$cc $warnings -DCPROF_IMPLEMENTATION -DCPROF_MAIN -x c cprof.h -o "$dir/cprof$exe" $libs || fail "tool"
# wordfreq at a tenth of its words (its find_word is quadratic on purpose): 20,000 calls, a second or less
$cc $warnings -DWORDFREQ_WORDS=20000 examples/wordfreq.c -o "$dir/wordfreq$exe" $libs || fail "wordfreq"
gcc -std=c11 -O1 $warnings -DWORDFREQ_WORDS=20000 examples/wordfreq.c -o "$dir/wordfreq-linux" -lpthread -lm || fail "wordfreq for Linux"
for t in $tests; do
  $cc $warnings -DCPROF_TESTING -D_DEFAULT_SOURCE tests/$t.c "$dir/cprof.o" -o "$dir/$t$exe" $libs || fail "compile $t"
done

if [ "$platform" = windows ]; then
  # clang for the same target, compiled only (Debian's clang has no MinGW runtime to link with). No C++
  # here: Debian's gcc-mingw-w64-x86-64 has no g++, and clang finds no MinGW libstdc++ headers.
  if command -v clang > /dev/null 2>&1; then
    clang --target=x86_64-w64-mingw32 -std=c11 $warnings -I"$build/check/mingw-include" -DCPROF_IMPLEMENTATION -DCPROF_MAIN \
      -x c -c cprof.h -o "$dir/cprof-clang.o" || fail "clang --target=x86_64-w64-mingw32"
  else echo "(clang is missing: the clang compile for Windows is left out)"; fi
fi

step "the tests under the emulator"
for t in $tests; do
  if run "$dir/$t$exe" > "$dir/$t.log" 2>&1; then echo "ok $t"; else fail "$t:"; tail -20 "$dir/$t.log"; fi
done

step "the tool on tests/corpus, compared with tests/golden"
compare() { # golden-name args...: stdout, exit status and stderr as tests/check_golden.sh records them
  local name=$1; shift
  { run "$dir/cprof$exe" "$@" 2> "$dir/err"; echo "exit $?"; sed 's/^/stderr: /' "$dir/err"; } > "$dir/golden-$name"
  cmp -s "$dir/golden-$name" "tests/golden/$name" || { fail "cprof $* differs from tests/golden/$name:"; diff "tests/golden/$name" "$dir/golden-$name" | head -10; }
}
compared=0
for n in wordfreq threads alloc-leaks hostile-names sum-bench truncated; do
  compare "$n.report" report "tests/corpus/$n.json"; compared=$((compared + 1))
  [ "$n" = truncated ] && continue
  for verb in stats folded svg analyze; do
    case $verb in svg) args="flamegraph";; *) args=$verb;; esac
    compare "$n.$verb" $args "tests/corpus/$n.json"; compared=$((compared + 1))
  done
done
compare diff-threads diff --threshold=1 --fail-on=time tests/corpus/wordfreq.json tests/corpus/threads.json
compare diff-bench diff tests/corpus/sum-bench.json tests/corpus/sum-bench.json
echo "$((compared + 2)) outputs compared"

step "a profile written on $platform, read on Linux"
CPROF_OUT=$dir/wordfreq run "$dir/wordfreq$exe" > "$dir/wordfreq.out" 2>&1 || fail "wordfreq with CPROF_OUT: $(head -5 "$dir/wordfreq.out")"
for suffix in txt json folded svg; do [ -s "$dir/wordfreq.$suffix" ] || fail "CPROF_OUT wrote no wordfreq.$suffix"; done
ls "$dir" | grep -q '\.tmp\.' && fail "a temporary file was left: $(ls "$dir" | grep '\.tmp\.')"
"$linux_tool" report "$dir/wordfreq.json" > "$dir/linux-report.txt" || fail "the Linux tool does not load the $platform profile"
grep -q "^wall time .* timer $timer " "$dir/linux-report.txt" || fail "the profile's timer is not $timer: $(sed -n 2p "$dir/linux-report.txt")"
case $platform in # the frequency: stated (a whole number of Hz), or measured against QPC
  arm64) grep -Eq '"timer_hz": [1-9][0-9]*,' "$dir/wordfreq.json" && grep -q '(stated by cntfrq_el0)$' "$dir/linux-report.txt" \
           || fail "the counter's frequency is not cntfrq_el0's: $(grep -o '"timer_hz": [^,]*' "$dir/wordfreq.json")" ;;
  windows) grep -q '(calibrated against QueryPerformanceCounter)$' "$dir/linux-report.txt" || fail "rdtsc's reference is not QPC" ;;
esac
grep -Eq '^ +20,000 .*  find_word  \(examples/wordfreq.c:[0-9]+\)$' "$dir/linux-report.txt" || fail "find_word's 20,000 calls"
# the live report (the start of wordfreq.txt) and the Linux tool's report of the saved profile: the same bytes
head -c "$(wc -c < "$dir/linux-report.txt")" "$dir/wordfreq.txt" | cmp -s - "$dir/linux-report.txt" || fail "the live $platform report differs from the Linux tool's"
"$linux_tool" folded "$dir/wordfreq.json" | cmp -s - "$dir/wordfreq.folded" || fail "folded differs"
"$linux_tool" flamegraph "$dir/wordfreq.json" | cmp -s - "$dir/wordfreq.svg" || fail "flame graph differs"
CPROF_OUT=$dir/linux "$dir/wordfreq-linux" > /dev/null || fail "the Linux wordfreq"
"$linux_tool" diff --fail-on=none "$dir/linux.json" "$dir/wordfreq.json" > "$dir/diff.txt" || fail "diff Linux -> $platform"
# the same functions on both sides (matched by name and file): none new, none removed
grep -qx 'New functions (only after) (0)' "$dir/diff.txt" && grep -qx 'Removed functions (only before) (0)' "$dir/diff.txt" \
  || fail "the diff does not match the functions of both sides: $(sed -n '/^New functions/,/^~/p' "$dir/diff.txt" | head -12)"
run "$dir/cprof$exe" diff --fail-on=none "$dir/linux.json" "$dir/wordfreq.json" > "$dir/diff-$platform.txt" 2>&1 || fail "diff by the $platform tool"
cmp -s "$dir/diff.txt" "$dir/diff-$platform.txt" || fail "the $platform tool's diff differs from the Linux tool's"

step "the environment on $platform: CPROF_TIMER=clock, CPROF=0, files replaced, stale temporaries removed"
CPROF_TIMER=clock CPROF_OUT=$dir/env run "$dir/wordfreq$exe" > /dev/null 2>&1 || fail "wordfreq with CPROF_TIMER=clock"
"$linux_tool" report "$dir/env.json" | grep -q "^wall time .* timer $clock (" || fail "CPROF_TIMER=clock did not give the $clock timer"
: > "$dir/env.json.tmp.999999" # left by a process that no longer exists: removed by the next run
CPROF_OUT=$dir/env run "$dir/wordfreq$exe" > /dev/null 2> "$dir/env.err" || fail "wordfreq writing over its files"
[ -s "$dir/env.err" ] && fail "stderr: $(head -3 "$dir/env.err")"
"$linux_tool" report "$dir/env.json" | grep -q "^wall time .* timer $timer " || fail "the second run's files did not replace the first's"
[ -e "$dir/env.json.tmp.999999" ] && fail "a stale temporary was not removed"
if [ "$platform" = windows ]; then # counters: unavailable, with the reason, and everything else works
  CPROF_COUNTERS=page-faults CPROF_OUT=$dir/counters run "$dir/wordfreq$exe" > /dev/null 2>&1 || fail "wordfreq with CPROF_COUNTERS"
  "$linux_tool" report "$dir/counters.json" | grep -qx 'counters unavailable: page-faults: counters need Linux perf_event_open' \
    || fail "the counters' reason on Windows"
fi
CPROF=0 CPROF_OUT=$dir/off run "$dir/wordfreq$exe" > /dev/null 2>&1 || fail "wordfreq with CPROF=0"
ls "$dir"/off.* > /dev/null 2>&1 && fail "CPROF=0 wrote files"

if [ "$platform" = arm64 ]; then
  step "automatic instrumentation on arm64: the ELF reader on the program and a dlopen'd library"
  auto="$cc $warnings -finstrument-functions"
  $auto -fPIC -shared tests/auto_plugin.c -o "$dir/auto_plugin.so" || fail "auto_plugin"
  aarch64-linux-gnu-strip -o "$dir/auto_plugin_stripped.so" "$dir/auto_plugin.so"
  $auto -rdynamic tests/auto_main.c -o "$dir/auto_main" $libs || fail "auto_main"
  CPROF_AUTO_EXCLUDE='^skipped_' run "$dir/auto_main" "$dir/auto_plugin.so" "$dir/auto_plugin_stripped.so" > "$dir/auto.log" 2>&1 \
    || { fail "auto_main:"; tail -20 "$dir/auto.log"; }
fi
step "done"
[ $failures = 0 ] || { echo "$failures failures on $platform"; exit 1; }
echo "$platform: every step passed"
