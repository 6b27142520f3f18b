#!/usr/bin/env bash
# Each export held against the program that reads it, with totals equal to cprof's own (the sums of
# `cprof folded --metric=M`, every call path's own value): go tool pprof (-raw and -top), callgrind_annotate,
# speedscope's file-format schema from its npm package. Usage: tests/check_exports.sh BUILD pprof|callgrind|speedscope
# (speedscope: NODE_PATH holds ajv and speedscope). Prints a SKIP line and succeeds when the consumer is missing.
set -u
build=$1
consumer=$2
tool=$build/cprof
dir=$build/check/exports-$consumer
rm -rf "$dir" && mkdir -p "$dir"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
c=tests/corpus
# counters (wordfreq-counters), allocations (alloc-leaks), several threads (threads), hostile names
profiles="$c/wordfreq-counters.json $c/alloc-leaks.json $c/threads.json $c/hostile-names.json"

folded_total() { # profile metric: cprof's total of the metric
  "$tool" folded --metric="$2" "$1" | awk '{ s += $NF } END { printf "%d\n", s }'
}

check_pprof() {
  command -v go > /dev/null 2>&1 || { echo "SKIP: go tool pprof needs Debian's golang-go"; return; }
  export PPROF_TMPDIR=$dir HOME=$dir
  for p in $profiles; do
    n=$(basename "$p" .json)
    "$tool" pprof -o "$dir/$n.pb.gz" "$p" || fail "cprof pprof $p"
    go tool pprof -raw "$dir/$n.pb.gz" > "$dir/$n.raw" 2> "$dir/$n.err" || fail "go tool pprof -raw $n: $(cat "$dir/$n.err")"
    # the samples' columns summed: "type/unit total" per sample type
    awk '/^Samples:/ { s = 1; next } /^Locations/ { s = 0 }
         s && !types { types = NF; for (i = 1; i <= NF; i++) { name[i] = $i; sub(/\/.*/, "", name[i]) } next }
         s && /^ *[0-9][0-9 ]*: / { for (i = 1; i <= types; i++) sum[i] += $i }
         END { for (i = 1; i <= types; i++) printf "%s %d\n", name[i], sum[i] }' "$dir/$n.raw" > "$dir/$n.sums"
    [ -s "$dir/$n.sums" ] || fail "$n: no sample types in go tool pprof -raw"
    while read -r metric total; do
      want=$(folded_total "$p" "$metric")
      [ "$total" = "$want" ] || fail "$n: pprof's $metric total $total, cprof's $want"
      unit=; [ "$metric" = time ] && unit=-unit=ns
      top=$(go tool pprof -top -sample_index="$metric" $unit "$dir/$n.pb.gz" 2> /dev/null |
            sed -n 's/.*Total samples = \([0-9]*\).*/\1/p')
      [ "$top" = "$want" ] || fail "$n: go tool pprof -top -sample_index=$metric: total '$top', cprof's $want"
    done < "$dir/$n.sums"
    grep -q '^time/nanoseconds\[dflt\]' "$dir/$n.raw" || fail "$n: time is not the default sample type"
    echo "pprof $n: $(tr '\n' ' ' < "$dir/$n.sums")"
  done
  grep -q 'thread:\[worker 0\]' "$dir/threads.raw" || fail "threads: no thread label in go tool pprof -raw"
  # README's push to Pyroscope (its Connect API, JSON): the body is valid JSON and its rawProfile, decoded,
  # is the pprof file to the byte, which go tool pprof reads
  printf '{"series": [{"labels": [{"name": "__name__", "value": "cprof"}, {"name": "service_name", "value": "wordfreq"}], "samples": [{"ID": "%s", "rawProfile": "%s"}]}]}' \
    "$(cat /proc/sys/kernel/random/uuid)" "$(base64 -w 0 "$dir/threads.pb.gz")" > "$dir/push.json"
  python3 -c 'import base64, json, sys; body = json.load(open(sys.argv[1])); sys.stdout.buffer.write(base64.b64decode(body["series"][0]["samples"][0]["rawProfile"]))' \
    "$dir/push.json" > "$dir/push.pb.gz" || fail "the Pyroscope push body is not JSON with a base64 rawProfile"
  cmp -s "$dir/push.pb.gz" "$dir/threads.pb.gz" || fail "the Pyroscope push body's rawProfile is not the pprof file"
  go tool pprof -raw "$dir/push.pb.gz" > /dev/null 2>&1 || fail "go tool pprof cannot read the Pyroscope push body's profile"
  grep -q ' count_words examples/wordfreq.c:63' "$dir/wordfreq-counters.raw" || fail "wordfreq: no location with file and line"
}

check_callgrind() {
  command -v callgrind_annotate > /dev/null 2>&1 || { echo "SKIP: callgrind_annotate needs the valgrind package"; return; }
  for p in $profiles; do
    n=$(basename "$p" .json)
    "$tool" callgrind -o "$dir/$n.callgrind" "$p" || fail "cprof callgrind $p"
    callgrind_annotate --threshold=100 "$dir/$n.callgrind" > "$dir/$n.annotate" 2>&1 || fail "callgrind_annotate $n"
    events=$(sed -n 's/^Events recorded: *//p' "$dir/$n.annotate")
    # the program totals and the sum of the functions' rows, per event (numbers without commas and shares)
    totals=$(grep 'PROGRAM TOTALS' "$dir/$n.annotate" | sed 's/([^)]*)//g; s/,//g')
    rows=$(awk '/file:function$/ { s = 1; getline; next } s && /^$/ { exit } s' "$dir/$n.annotate" |
           sed 's/([^)]*)//g; s/,//g' | awk '{ for (i = 1; i < NF; i++) sum[i] += $i; k = NF - 1 }
                                           END { for (i = 1; i <= k; i++) printf "%d ", sum[i] }')
    i=0
    for event in $events; do
      i=$((i + 1))
      metric=$(grep "^event: $event : " "$dir/$n.callgrind" | sed 's/^event: [^ ]* : \(.*\) (.*)$/\1/')
      want=$(folded_total "$p" "$metric")
      got=$(echo "$totals" | awk -v i="$i" '{ print $i }')
      row_sum=$(echo "$rows" | awk -v i="$i" '{ print $i }')
      [ "$got" = "$want" ] && [ "$row_sum" = "$want" ] ||
        fail "$n: callgrind_annotate's $event: totals $got, functions $row_sum; cprof's $want"
    done
    # calls: the callers' "(Nx)" lines add up to every call that has a caller (stacks of two frames or more)
    calls=$(callgrind_annotate --tree=caller --threshold=100 "$dir/$n.callgrind" | sed -n 's/.* (\([0-9,]*\)x) .*/\1/p' |
            tr -d , | awk '{ s += $1 } END { printf "%d\n", s }')
    want=$("$tool" folded --metric=calls "$p" | awk '$0 ~ /;/ { s += $NF } END { printf "%d\n", s }')
    [ "$calls" = "$want" ] || fail "$n: callgrind_annotate's calls $calls, cprof's $want"
    echo "callgrind $n: events $events, totals $(echo $totals | sed 's/ PROGRAM TOTALS//'), calls $calls"
  done
}

check_speedscope() {
  if ! command -v node > /dev/null 2>&1; then echo "SKIP: the speedscope schema check needs node and npm"; return; fi
  for p in $profiles $c/wordfreq.json $c/empty-profile.json; do
    n=$(basename "$p" .json)
    "$tool" speedscope -o "$dir/$n.speedscope.json" "$p" || fail "cprof speedscope $p"
  done
  # a file the schema must refuse (a unit speedscope does not know): the validator does validate
  sed 's/"unit": "none"/"unit": "calls"/' "$dir/wordfreq.speedscope.json" > "$dir/bad-unit.json"
  node tests/speedscope_check.cjs "$dir"/*.speedscope.json > "$dir/totals" || fail "speedscope's schema: $(cat "$dir/totals")"
  node tests/speedscope_check.cjs "$dir/bad-unit.json" > /dev/null 2>&1 && fail "the schema accepted an unknown unit"
  for p in $profiles; do
    n=$(basename "$p" .json)
    for metric in $(awk -v f="$n.speedscope.json" '$1 == f { print $2 }' "$dir/totals" | sort -u); do
      got=$(awk -v f="$n.speedscope.json" -v m="$metric" '$1 == f && $2 == m { s += $3 } END { printf "%d\n", s }' "$dir/totals")
      want=$(folded_total "$p" "$metric")
      [ "$got" = "$want" ] || fail "$n: speedscope's $metric total $got, cprof's $want"
    done
    echo "speedscope $n: $(awk -v f="$n.speedscope.json" '$1 == f { printf "%s=%s ", $2, $3 }' "$dir/totals")"
  done
  grep -q '"name": "worker 0 (thread [0-9]*): time", "unit": "nanoseconds"' "$dir/threads.speedscope.json" ||
    fail "threads: no time profile of its own for worker 0"
}

check_"$consumer"
[ $failures = 0 ] || { echo "$failures failures"; exit 1; }
echo "$consumer: every total equals cprof's"
