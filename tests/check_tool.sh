#!/usr/bin/env bash
# The cprof tool as a user runs it: on a real profile written by CPROF_OUT, every command's output,
# exit status and error format. Usage: tests/check_tool.sh BUILD_DIR
set -u
build=$1
tool=$build/cprof
dir=$build/check/tool
rm -rf "$dir" && mkdir -p "$dir"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_status() { # expected command...
  local want=$1; shift
  "$@" > "$dir/out" 2> "$dir/err"; local got=$?
  [ "$got" = "$want" ] || fail "'$*' exited $got, expected $want: $(head -c 300 "$dir/err")"
}

CPROF_OUT=$dir/p "$build/wordfreq" > /dev/null || fail "wordfreq with CPROF_OUT"
for suffix in txt json folded svg; do [ -s "$dir/p.$suffix" ] || fail "CPROF_OUT wrote no p.$suffix"; done

# the saved profile reproduces the live run's outputs to the byte
# (p.txt is the report, a blank line, then the analysis)
expect_status 0 "$tool" report "$dir/p.json"; cp "$dir/out" "$dir/report-and-analysis"
expect_status 0 "$tool" analyze "$dir/p.json"; { echo; cat "$dir/out"; } >> "$dir/report-and-analysis"
cmp -s "$dir/report-and-analysis" "$dir/p.txt" || fail "report and analysis of the JSON differ from the live p.txt"
expect_status 0 "$tool" folded "$dir/p.json"; cmp -s "$dir/out" "$dir/p.folded" || fail "folded of the JSON differs from the live one"
expect_status 0 "$tool" flamegraph "$dir/p.json"; cmp -s "$dir/out" "$dir/p.svg" || fail "flamegraph of the JSON differs from the live one"
expect_status 0 "$tool" stats "$dir/p.json"
head -1 "$dir/out" | grep -qx "$(printf 'function\tcalls\ttotal_ns\tself_ns\tavg_ns\tmin_ns\tmax_ns\tpct_total\tpct_self\tfile\tline')" || fail "stats header"
[ "$(wc -l < "$dir/out")" = 7 ] || fail "stats: expected 6 functions and a header, got $(wc -l < "$dir/out") lines"
grep -q "$(printf '^find_word\t200000\t')" "$dir/out" || fail "stats: find_word row"
expect_status 0 "$tool" report --min-pct=0 --max-functions=2 "$dir/p.json"
grep -q '^  ... 4 more functions$' "$dir/out" || fail "report --max-functions=2"
grep -q 'sort_words$' "$dir/out" || fail "report --min-pct=0 shows every node"
expect_status 0 "$tool" folded --threads "$dir/p.json"; grep -q '^\[thread main\];main;count_words;count_word;find_word [0-9]*$' "$dir/out" || fail "folded --threads"
# the writing verbs: -o FILE writes what stdout gets; -o without a file is bad usage, an unwritable file bad input
for verb in folded pprof callgrind speedscope; do
  expect_status 0 "$tool" "$verb" "$dir/p.json"; cp "$dir/out" "$dir/$verb.stdout"
  expect_status 0 "$tool" "$verb" -o "$dir/$verb.file" "$dir/p.json"; cmp -s "$dir/$verb.file" "$dir/$verb.stdout" || fail "$verb -o FILE"
  [ -s "$dir/out" ] && fail "$verb -o FILE also wrote to stdout"
  expect_status 2 "$tool" "$verb" "$dir/p.json" -o
  expect_status 1 "$tool" "$verb" -o "$dir/no-such-dir/x" "$dir/p.json"
done
expect_status 0 "$tool" pprof -o "$dir/p.pb.gz" "$dir/p.json"; gunzip -c "$dir/p.pb.gz" | cmp -s - "$dir/pprof.stdout" || fail "pprof -o X.gz: not gzip of the protobuf"
expect_status 0 "$tool" folded --metric=calls "$dir/p.json"; grep -q '^main;count_words;count_word;find_word 200000$' "$dir/out" || fail "folded --metric=calls"
# folded grammar: each line splits at its last space into a stack and a positive integer
awk '{ n = $NF; sub(/ [0-9]+$/, ""); if (n !~ /^[1-9][0-9]*$/ || $0 == "" || $0 ~ /;;|^;|;$/) { bad++ } } END { exit bad > 0 }' "$dir/p.folded" || fail "folded grammar"

# a counter as the flame graph's metric: its self values, from a profile that counted it
CPROF_COUNTERS=page-faults,cache-misses CPROF_OUT=$dir/c "$build/wordfreq" > /dev/null || fail "wordfreq with counters"
expect_status 0 "$tool" flamegraph --metric=page-faults "$dir/c.json"
grep -q 'metric page-faults, total [0-9]' "$dir/out" || fail "flamegraph --metric=page-faults subtitle"
xmllint --noout "$dir/out" || fail "counter flame graph is not well-formed"
if grep -q '"name": "cache-misses", "available": 0' "$dir/c.json"; then # requested, unavailable (no PMU)
  expect_status 1 "$tool" flamegraph --metric=cache-misses "$dir/c.json"
  grep -q 'the profile has no counted "cache-misses"' "$dir/err" || fail "uncounted metric message"
fi
expect_status 1 "$tool" flamegraph --metric=page-faults "$dir/p.json" # not requested at all
expect_status 2 "$tool" flamegraph --metric=nope "$dir/p.json"
# the flame graph's options: the defaults spelt out change nothing; each option reaches the SVG; bad ones exit 2
expect_status 0 "$tool" flamegraph --metric=time --min-width=0.1 --width=1200 "$dir/p.json"
cmp -s "$dir/out" "$dir/p.svg" || fail "flamegraph with its default options spelt out differs from the default"
expect_status 0 "$tool" flamegraph --metric=calls --inverted --min-width=0.5 --width=800 --title=T "$dir/p.json"
grep -q '<svg [^>]*width="800"' "$dir/out" || fail "flamegraph --width=800"
grep -q '>T</text>' "$dir/out" || fail "flamegraph --title=T"
grep -q 'metric calls' "$dir/out" || fail "flamegraph --metric=calls"
# inverted: the root ("all") is the top row, at the smallest y of any frame
awk -F'y="' '/<text x="[0-9.]*" y=/ { split($2, v, "\""); if (min == "" || v[1] + 0 < min) min = v[1] + 0 } />all<\/text>/ { split($2, v, "\""); all = v[1] + 0 } END { exit !(all == min) }' "$dir/out" || fail "flamegraph --inverted: all is not on top"
for bad in --width=5 --min-width=x --frobnicate; do expect_status 2 "$tool" flamegraph $bad "$dir/p.json"; done
expect_status 2 "$tool" flamegraph "$dir/p.json" "$dir/p.json" # two profiles
expect_status 2 "$tool" flamegraph --inverted                   # none

expect_status 0 "$tool" --version; grep -q '^cprof 0\.1\.0 (profile format 1\.4)$' "$dir/out" || fail "--version"
expect_status 0 "$tool" help; grep -q '^usage: cprof COMMAND' "$dir/out" || fail "help"
expect_status 2 "$tool"
expect_status 2 "$tool" frobnicate "$dir/p.json"; grep -q "^cprof: unknown command 'frobnicate'" "$dir/err" || fail "unknown command message"
expect_status 2 "$tool" report
expect_status 2 "$tool" report --bogus "$dir/p.json"; grep -q "unknown option '--bogus'" "$dir/err" || fail "unknown option message"
expect_status 2 "$tool" report --min-pct=lots "$dir/p.json"
expect_status 2 "$tool" report "$dir/p.json" "$dir/p.json"
expect_status 1 "$tool" report "$dir/missing.json"; grep -q "^cprof: $dir/missing.json: cannot open: No such file or directory$" "$dir/err" || fail "missing file message"
head -c 1000 "$dir/p.json" > "$dir/cut.json"
expect_status 1 "$tool" report "$dir/cut.json"; grep -Eq "^cprof: $dir/cut.json:[0-9]+:[0-9]+: " "$dir/err" || fail "truncated file message: $(cat "$dir/err")"
: > "$dir/empty.json"
expect_status 1 "$tool" stats "$dir/empty.json"; grep -q "empty.json:1:1: empty file" "$dir/err" || fail "empty file message"
# error messages quote what they read: terminal escapes shown (\x1b), never sent to the terminal
printf '{"format": "\\u001b[2J\\u0007", "version": "1.0"}' > "$dir/esc-format.json"
printf '{"format": "cprof profile", "version": "2\\u001b]0;t\\u0007"}' > "$dir/esc-version.json"
printf '{"format": \033[2J}' > "$dir/esc-char.json"
for f in esc-format esc-version esc-char; do
  expect_status 1 "$tool" report "$dir/$f.json"
  grep -q '\\x1b' "$dir/err" && ! LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$dir/err" || fail "$f: escapes in the message: $(cat -v "$dir/err")"
done
expect_status 2 "$tool" report "--x$(printf '\033')[2J" "$dir/p.json"; grep -q "unknown option '--x\\\\x1b\[2J'" "$dir/err" || fail "option echoed: $(cat -v "$dir/err")"
expect_status 1 "$tool" report /dev/zero; grep -q "^cprof: /dev/zero: not a regular file" "$dir/err" || fail "endless input"
mkfifo "$dir/fifo" && { expect_status 1 timeout 10 "$tool" report "$dir/fifo"; grep -q "fifo: not a regular file" "$dir/err" || fail "a FIFO is refused at once"; }
# "--" ends the options in every verb (before, "--" was taken for the profile's name)
for verb in report stats folded flamegraph analyze leaks bench; do expect_status 0 "$tool" $verb -- "$dir/p.json"; done
expect_status 0 "$tool" diff -- "$dir/p.json" "$dir/p.json"
expect_status 0 "$tool" diff -- "$dir/p.json" -- "$dir/p.json"
if [ -w /dev/full ]; then expect_status 1 sh -c "'$tool' report '$dir/p.json' > /dev/full"; fi

# the command line's conventions, the same in every verb: --opt value as --opt=value, - for standard input,
# -o FILE (written whole or not at all), cprof help VERB; old spellings unchanged
expect_status 0 "$tool" report --min-pct=0 --max-functions=2 "$dir/p.json"; cp "$dir/out" "$dir/eq"
expect_status 0 "$tool" report --min-pct 0 --max-functions 2 "$dir/p.json"; cmp -s "$dir/out" "$dir/eq" || fail "--opt value differs from --opt=value"
expect_status 0 "$tool" report "$dir/p.json" --max-functions 2 --min-pct 0; cmp -s "$dir/out" "$dir/eq" || fail "options after the profile"
expect_status 2 "$tool" report "$dir/p.json" --min-pct; grep -q "option '--min-pct' needs a value" "$dir/err" || fail "a missing value"
expect_status 2 "$tool" folded --threads=yes "$dir/p.json"; grep -q "takes no value" "$dir/err" || fail "a flag with a value"
expect_status 0 "$tool" flamegraph --width 800 --title T "$dir/p.json"; grep -q '<svg [^>]*width="800"' "$dir/out" || fail "flamegraph --width 800"
for verb in report stats folded flamegraph analyze leaks bench; do
  "$tool" $verb "$dir/p.json" > "$dir/file-$verb" 2>&1
  "$tool" $verb - < "$dir/p.json" > "$dir/stdin-$verb" 2>&1 || fail "$verb - (standard input)"
  cmp -s "$dir/file-$verb" "$dir/stdin-$verb" || fail "$verb -: differs from the file's output"
  rm -f "$dir/o-$verb"
  expect_status 0 "$tool" $verb -o "$dir/o-$verb" "$dir/p.json"; [ -s "$dir/out" ] && fail "$verb -o: wrote to stdout too"
  cmp -s "$dir/file-$verb" "$dir/o-$verb" || fail "$verb -o FILE differs from its stdout"
  expect_status 0 "$tool" $verb "$dir/p.json" --output="$dir/o2-$verb"; cmp -s "$dir/file-$verb" "$dir/o2-$verb" || fail "$verb --output=FILE"
  expect_status 0 "$tool" help $verb; grep -q "^usage: cprof $verb " "$dir/out" && grep -q -- '-o FILE' "$dir/out" || fail "help $verb"
done
expect_status 0 "$tool" report --help; grep -q -- '--max-functions=N' "$dir/out" || fail "report --help lists its options"
expect_status 2 "$tool" help frobnicate
echo keep > "$dir/kept"
expect_status 1 "$tool" report -o "$dir/kept" "$dir/cut.json"; [ "$(cat "$dir/kept")" = keep ] || fail "-o replaced a file after a failed load"
ls "$dir"/kept.tmp.* > /dev/null 2>&1 && fail "-o left a temporary"
expect_status 2 "$tool" diff - - ; grep -q "standard input ('-') given twice" "$dir/err" || fail "- twice"
"$tool" diff "$dir/p.json" "$dir/p.json" > "$dir/diff-stdout"
expect_status 0 "$tool" diff -o "$dir/diff-o" --threshold 5 "$dir/p.json" - < "$dir/p.json"
grep -q 'p.json -> -$' "$dir/diff-o" || fail "diff -o with - : $(head -3 "$dir/diff-o")"
sed 's/-> -$/-> X/' "$dir/diff-o" > "$dir/diff-o-x"; sed 's/-> .*p.json$/-> X/' "$dir/diff-stdout" > "$dir/diff-stdout-x"
cmp -s "$dir/diff-stdout-x" "$dir/diff-o-x" || fail "diff -o FILE with - differs from the files' diff beyond its label"

# merge: N copies are N times every count; the result is a profile every verb reads
expect_status 0 "$tool" merge "$dir/p.json" "$dir/p.json" "$dir/p.json" -o "$dir/m3.json"
expect_status 0 "$tool" stats "$dir/m3.json"
grep -q "$(printf '^find_word\t600000\t')" "$dir/out" || fail "merge: find_word 3 x 200000 calls: $(grep find_word "$dir/out")"
for verb in report stats folded flamegraph analyze leaks bench; do expect_status 0 "$tool" $verb "$dir/m3.json"; done
expect_status 0 "$tool" merge --threads apart "$dir/p.json" - < "$dir/p.json"
grep -q '"name": "main (run 2)"' "$dir/out" || fail "merge --threads apart names the second run's main"
expect_status 2 "$tool" merge --threads=sideways "$dir/p.json"
expect_status 2 "$tool" merge
expect_status 1 "$tool" merge "$dir/p.json" "$dir/cut.json"

# make install puts the header and the tool under PREFIX
make --no-print-directory -s install PREFIX="$dir/prefix" > /dev/null || fail "make install"
[ -f "$dir/prefix/include/cprof.h" ] && [ -x "$dir/prefix/bin/cprof" ] || fail "make install: header or tool missing"

[ $failures = 0 ] && echo "tool checks passed"
exit $failures
