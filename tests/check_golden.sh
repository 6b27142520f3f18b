#!/usr/bin/env bash
# Every verb of the cprof tool on every profile of tests/corpus, compared to the byte with the outputs
# kept in tests/golden (exit status and stderr included). A change of output is then a visible diff in
# the commit that made it. Usage: tests/check_golden.sh TOOL [--update]
set -u
unset CPROF_ANALYZE CPROF_BUDGET
tool=$1
update=${2:-}
golden=tests/golden
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failures=0

run() { # name args...: the tool's stdout, stderr and exit status into one file
  local name=$1; shift
  { "$tool" "$@" 2>"$out/err"; echo "exit $?"; sed 's/^/stderr: /' "$out/err"; } > "$out/$name" 2>&1
  if [ "$update" = --update ]; then cp "$out/$name" "$golden/$name"
  elif ! cmp -s "$out/$name" "$golden/$name"; then
    echo "FAIL: cprof $* differs from $golden/$name:"; diff "$golden/$name" "$out/$name" | head -20
    failures=$((failures + 1))
  fi
}

for p in tests/corpus/*.json; do
  n=$(basename "$p" .json)
  run "$n.report" report "$p"
  grep -q '^exit 1$' "$out/$n.report" && continue # not a profile: the other verbs say the same
  run "$n.report-all" report --min-pct=0 --max-functions=3 "$p"
  run "$n.stats" stats "$p"
  run "$n.folded" folded "$p"
  run "$n.folded-threads" folded --threads "$p"
  run "$n.svg" flamegraph "$p"
  run "$n.leaks" leaks "$p"
  run "$n.analyze" analyze "$p"
  run "$n.analyze-json" analyze --json "$p"
  run "$n.bench" bench "$p"
  run "$n.callgrind" callgrind "$p"
  run "$n.speedscope" speedscope "$p"
  run "$n.pprof" pprof "$p" # binary: profile.proto, uncompressed on stdout
done
c=tests/corpus
run calls.svg flamegraph --metric=calls --inverted --min-width=0 --width=900 --title='calls <&> "x"' $c/wordfreq.json
run page-faults.svg flamegraph --metric=page-faults $c/wordfreq-counters.json
run frames-timeline.trace trace $c/frames-timeline.json
run alloc-bytes.svg flamegraph --metric=alloc-bytes $c/alloc-leaks.json
run alloc-count.svg flamegraph --metric=alloc-count $c/alloc-leaks.json
run heap-phases.memory.svg memory $c/heap-phases.json
run no-series.memory memory $c/wordfreq.json
run calls.folded folded --metric=calls --threads $c/threads.json
run page-faults.folded folded --metric=page-faults -o - $c/wordfreq-counters.json
run alloc-bytes.folded folded --metric=alloc-bytes $c/alloc-leaks.json
run no-counter.folded folded --metric=cache-misses $c/wordfreq.json
run unknown-metric.folded folded --metric=bogus $c/wordfreq.json
run diff-counters diff $c/wordfreq.json $c/wordfreq-counters.json
run diff-threads diff --threshold=1 --fail-on=time $c/wordfreq.json $c/threads.json
run diff-runs diff $c/wordfreq.json $c/wordfreq-counters.json -- $c/wordfreq-counters.json $c/wordfreq.json
run diff-bench diff $c/sum-bench.json $c/sum-bench.json
run diff-bench-group diff $c/bench-group.json $c/bench-group-2x.json
run diff-noise diff --noise $c/wordfreq.json $c/wordfreq-counters.json $c/threads.json
run diff-svg diff --svg "$out/diff.svg" $c/wordfreq.json $c/threads.json
if [ "$update" = --update ]; then cp "$out/diff.svg" "$golden/diff.svg"
elif ! cmp -s "$out/diff.svg" "$golden/diff.svg"; then echo "FAIL: the differential flame graph differs"; failures=$((failures + 1)); fi

[ "$update" = --update ] && { echo "updated $(ls $golden | wc -l) files in $golden"; exit 0; }
[ $failures = 0 ] || { echo "$failures outputs differ from $golden"; exit 1; }
echo "every output equals $golden ($(ls $golden | wc -l) files)"
