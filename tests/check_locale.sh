#!/usr/bin/env bash
# Outputs under a decimal-comma locale: the cprof tool, in a program that called setlocale(LC_ALL, "")
# (tests/locale_tool.c), built with stb_sprintf and with the built-in formatter, writes every output of
# tests/golden to the byte, and saves each corpus profile to the bytes the C locale saves.
# Usage: tests/check_locale.sh BUILD LOCPATH (LOCPATH holds de_DE.UTF-8, made by localedef).
set -eu
build=$1 locales=$2
dir=$build/check/locale
rm -rf "$dir" && mkdir -p "$dir"
for formatter in stb builtin; do
  flags=""; [ $formatter = builtin ] && flags=-DCPROF_NO_STB_SPRINTF
  gcc -std=c99 -O1 -Wall -Wextra -Wpedantic -Werror -Wshadow $flags tests/locale_tool.c -o "$dir/tool-$formatter" -lpthread -lm
  probe=$(LOCPATH=$locales LC_ALL=de_DE.UTF-8 "$dir/tool-$formatter" probe)
  [ "$probe" = "0,5" ] || { echo "the locale did not take effect: printf wrote $probe"; exit 1; }
  echo "$formatter: the C library writes $probe under de_DE.UTF-8"
  LOCPATH=$locales LC_ALL=de_DE.UTF-8 tests/check_golden.sh "$dir/tool-$formatter"
  for p in tests/corpus/*.json; do
    n=$(basename "$p" .json)
    LC_ALL=C "$dir/tool-$formatter" resave "$p" "$dir/$n.c.json" 2>/dev/null || continue # not a profile
    LOCPATH=$locales LC_ALL=de_DE.UTF-8 "$dir/tool-$formatter" resave "$p" "$dir/$n.de.json"
    cmp "$dir/$n.c.json" "$dir/$n.de.json"
  done
  echo "$formatter: every corpus profile saves to the same bytes under de_DE.UTF-8 and C"
done
