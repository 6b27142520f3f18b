#!/bin/sh
# CPU sampling's shares against the truth (60/30/10% of scope "outer"), 1 and 4 threads, at 1 kHz over
# 2 s of CPU per thread. Usage: bench/sample_shares.sh [CPU_SECONDS_PER_THREAD]
set -e
cd "$(dirname "$0")/.."
mkdir -p build/bench
gcc -std=c11 -D_DEFAULT_SOURCE -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror bench/sample_shares.c -o build/bench/sample_shares -lpthread -lm
status=0
for threads in 1 4; do
  CPROF_SAMPLE=1000 ./build/bench/sample_shares "$threads" "${1:-2}" || status=1
done
exit $status
