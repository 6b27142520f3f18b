#!/usr/bin/env bash
# The implementation (with CPROF_AUTO, CPROF_WRAP_MALLOC and CPROF_MAIN) compiles without a warning in a
# user's file whatever it includes or defines first, in every dialect: -fsyntax-only, -Wall -Wextra
# -Werror (and -pedantic for the strict C ones). A representative matrix, not the full product (9
# compilers x 10 preludes = 90 compiles, 46 s of CPU here): every prelude with the strictest C of each
# compiler, a few with the others. Then which formatter each stb_sprintf setting picks (gcc -H).
# Usage: tests/check_dialects.sh BUILD
set -u
dir=$1/check/dialects
rm -rf "$dir" && mkdir -p "$dir"
prelude() {
  case $1 in
    none) ;;
    stdio) echo '#include <stdio.h>' ;;
    xopen*) echo "#define _XOPEN_SOURCE ${1#xopen}"; echo '#include <stdio.h>' ;;
    posix*) echo "#define _POSIX_C_SOURCE ${1#posix}L"; echo '#include <stdio.h>' ;;
    gnu) echo '#define _GNU_SOURCE 1'; echo '#include <stdio.h>' ;; # 1: g++ predefines it so
    default) echo '#define _DEFAULT_SOURCE 1'; echo '#include <stdio.h>' ;;
  esac
}
ALL="none stdio xopen500 xopen600 xopen700 posix199309 posix200112 posix200809 gnu default"
for p in $ALL; do
  { prelude $p; printf '#define CPROF_IMPLEMENTATION\n#define CPROF_AUTO\n#define CPROF_WRAP_MALLOC\n#define CPROF_MAIN\n#include "cprof.h"\n'; } > "$dir/$p.c"
done
check() { # "compiler and dialect" preludes...: one line per compile in $dir/results
  local cc=$1; shift
  local out
  for p in "$@"; do
    out="$dir/$p.$(echo "$cc" | tr -c 'a-z0-9' _).out"
    if $cc -Wall -Wextra -Werror -I. -fsyntax-only "$dir/$p.c" > "$out" 2>&1; then echo "ok $cc: $p" >> "$dir/results"
    else { echo "FAIL: $cc after prelude $p:"; prelude $p | sed 's/^/    /'; head -20 "$out"; } >> "$dir/results"; fi
  done
}
# two at a time: the strictest C of each compiler with every prelude in parallel with the rest
( check "gcc -std=c99 -pedantic" $ALL ) &
( check "clang -std=c17 -pedantic" $ALL ) &
wait
check "gcc -std=c11 -DCPROF_NO_STB_SPRINTF" stdio posix199309 xopen600
check "gcc -std=c17" xopen700 posix200112
check "gcc -std=gnu11" none xopen600 posix200809
check "clang -std=c99 -pedantic -DCPROF_NO_STB_SPRINTF" xopen500 posix200809
check "clang -std=gnu99" xopen500 default
check "g++ -x c++ -std=c++11" stdio xopen600 gnu posix199309
check "clang++ -x c++ -std=c++17" stdio posix200112 default
check "g++ -x c++ -std=c++17 -DCPROF_NO_STB_SPRINTF" xopen700
grep -v '^ok ' "$dir/results"
failures=$(grep -c '^FAIL' "$dir/results")
echo "$(grep -c '^ok ' "$dir/results") compiles clean, $failures failed"
# The formatter each setting picks: Debian's header, a copy named by CPROF_STB_SPRINTF_PATH, none.
mkdir -p "$dir/copy" && cp /usr/include/stb/stb_sprintf.h "$dir/copy/stb_sprintf.h"
picked() { gcc -std=c99 -H -I. -fsyntax-only "$@" "$dir/none.c" 2>&1 | grep -o '[^ ]*stb_sprintf\.h' | head -1; }
[ "$(picked)" = /usr/include/stb/stb_sprintf.h ] || { echo "FAIL: not <stb/stb_sprintf.h> by default: $(picked)"; failures=$((failures + 1)); }
[ "$(picked -I"$dir/copy" -DCPROF_STB_SPRINTF_PATH='"stb_sprintf.h"')" = "$dir/copy/stb_sprintf.h" ] ||
  { echo "FAIL: CPROF_STB_SPRINTF_PATH not followed"; failures=$((failures + 1)); }
[ -z "$(picked -DCPROF_NO_STB_SPRINTF)" ] || { echo "FAIL: CPROF_NO_STB_SPRINTF still includes stb_sprintf"; failures=$((failures + 1)); }
echo "formatter choice checked: <stb/stb_sprintf.h>, CPROF_STB_SPRINTF_PATH, CPROF_NO_STB_SPRINTF"
[ $failures = 0 ]
