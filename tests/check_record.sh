#!/bin/sh
# cprof record on an unmodified program (examples/minivm.c, cprof compiled out, frame pointers kept):
# the files appear, the report is a sampled one with the interpreter's functions named, the output of
# the program is untouched, and LD_PRELOAD does not reach what the program runs; on
# tests/record_threads.c, every thread and a fork() child are sampled, an exec'd image is not. When perf works, both
# name the same two functions, in the same order, as those with the most self time (robust structure
# only, 19% against the next one's 5%: the shares are bench/sample_vs_perf.sh's). Usage: tests/check_record.sh BUILD_DIR
set -e
build=$1
dir=$build/check/record
mkdir -p "$dir"
rm -f "$dir"/vm.*
gcc -std=c99 -O2 -g -fno-omit-frame-pointer -DCPROF_DISABLE examples/minivm.c -o "$dir/minivm" -lpthread -lm
"$dir/minivm" 20 > "$dir/plain.out"
"$build/cprof" record -F 5000 -o "$dir/vm" -- "$dir/minivm" 20 > "$dir/recorded.out"
cmp "$dir/plain.out" "$dir/recorded.out"
for f in txt json folded svg; do test -s "$dir/vm.$f"; done
grep -q '^CPU sampling at 5000 Hz: [0-9]* samples' "$dir/vm.txt"
grep -q '"sampled": 1' "$dir/vm.json"
top=$("$build/cprof" stats "$dir/vm.json" | awk -F '\t' 'NR == 2 || NR == 3 { printf "%s%s", NR == 3 ? " " : "", $1 }')
echo "cprof record: most self time in $top"
test "$top" = "vm_run apply_binary" # some 47% and 19% of the samples; the next (intern) has 5%
# The analyzer names the function nobody instrumented as the bottleneck.
"$build/cprof" analyze "$dir/vm.json" | head -1 | grep -q 'bottleneck vm_run '
# What the recorded program runs is not recorded: its environment has no LD_PRELOAD of ours.
"$build/cprof" record -o "$dir/env" -- sh -c 'echo "LD_PRELOAD=${LD_PRELOAD:-}"' > "$dir/env.out"
grep -qx 'LD_PRELOAD=' "$dir/env.out"
# Every thread the program starts is sampled (the library wraps pthread_create), and a fork() child
# writes its own files (PREFIX.PID.*) with its thread sampled.
gcc -std=c99 -O2 -g -fno-omit-frame-pointer tests/record_threads.c -o "$dir/record_threads" -lpthread
rm -f "$dir"/threads.*
"$build/cprof" record -F 5000 -o "$dir/threads" -- "$dir/record_threads" > "$dir/threads.out"
grep -qx 'threads done' "$dir/threads.out"
python3 tests/record_threads.py "$dir/threads.json" 4 main=main_work thread-2=work_one thread-3=work_two thread-4=work_three
test "$(ls "$dir"/threads.[0-9]*.json | wc -l)" = 1
python3 tests/record_threads.py "$dir"/threads.[0-9]*.json 1 main=child_work
# exec: the new image is not recorded (no LD_PRELOAD of ours), the old one's samples are not written
# (exec runs no exit code), and the tool says that no profile was written.
rm -f "$dir"/exec.*
"$build/cprof" record -o "$dir/exec" -- "$dir/record_threads" exec > "$dir/exec.out" 2> "$dir/exec.err"
grep -qx 'LD_PRELOAD=' "$dir/exec.out"
test ! -e "$dir/exec.json"
grep -q 'record_threads wrote no profile: .*exec.d another program' "$dir/exec.err"
# Its options are listed by `cprof help record` and `cprof record --help`, as every verb's are.
"$build/cprof" help record | grep -q '^usage: cprof record \[-F HZ\] \[-o PREFIX\] -- PROGRAM ARGS'
"$build/cprof" record --help | grep -q '^  -F HZ '
# Exit status: the program's.
status=0; "$build/cprof" record -o "$dir/status" -- sh -c 'exit 3' || status=$?
test "$status" = 3
# A program that cannot be run: 127, as a shell says, and why (not the text about a missing profile).
status=0; "$build/cprof" record -o "$dir/missing" -- "$dir/no-such-program" 2> "$dir/missing.err" || status=$?
test "$status" = 127
grep -q "cprof: record: cannot run $dir/no-such-program: No such file or directory" "$dir/missing.err"
if grep -q 'wrote no profile' "$dir/missing.err"; then echo "record: a missing program said 'wrote no profile'"; exit 1; fi
if ! command -v perf >/dev/null 2>&1; then echo "SKIP perf comparison: perf is not installed"; exit 0; fi
if ! perf record -q -e cpu-clock -F 5000 -o "$dir/perf.data" "$dir/minivm" 20 > /dev/null 2> "$dir/perf.err"; then
  echo "SKIP perf comparison: perf record -e cpu-clock does not work here: $(tail -1 "$dir/perf.err")"; exit 0
fi
perf_top=$(perf report -i "$dir/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
  awk '/^ *[0-9.]+%/ { printf "%s%s", n ? " " : "", $3; if (++n == 2) exit }')
echo "perf record -e cpu-clock: most self time in $perf_top"
test "$perf_top" = "$top"
