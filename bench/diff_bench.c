/* diff_bench - five benchmarks of equal work for bench/diff_noise.sh's benchmark comparisons: does
   `cprof diff` on saved benchmark runs cry wolf on a loaded machine, and does it catch a real slowdown?
   Each body turns an empty loop SPINS times; BENCH_SLOW_PCT=P in the environment makes work/c's loop P%
   longer (a planted slowdown: 10 or 100). Each benchmark is a fifth of the run.
       diff_bench [OUT.json] [MIN_TIME_S]    the table; the results saved to OUT.json (default 0.05 s each) */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include <stdlib.h>

enum { SPINS = 20000 };
static unsigned long slow_spins = SPINS; /* work/c's */

static void spin(unsigned long turns) {
    for (volatile unsigned long i = 0; i < turns; i++) continue;
}
static void work_plain(cprof_bench *b) { spin(SPINS), b->items = 1; }
static void work_slowed(cprof_bench *b) { spin(slow_spins), b->items = 1; }

int main(int argc, char **argv) {
    cprof_bench_options options = cprof_bench_defaults();
    const char *slow = getenv("BENCH_SLOW_PCT");
    options.min_time_s = argc > 2 ? atof(argv[2]) : 0.05;
    options.warmup_s = options.min_time_s / 10;
    if (slow) slow_spins = (unsigned long)(SPINS * (1.0 + atof(slow) / 100.0) + 0.5);
    cprof_bench_run("work/a", work_plain, NULL, &options);
    cprof_bench_run("work/b", work_plain, NULL, &options);
    cprof_bench_run("work/c", work_slowed, NULL, &options);
    cprof_bench_run("work/d", work_plain, NULL, &options);
    cprof_bench_run("work/e", work_plain, NULL, &options);
    cprof_profile *profile = cprof_capture();
    int failed = !profile || cprof_bench_write(profile, stdout) != 0;
    if (profile && argc > 1 && cprof_save(profile, argv[1]) != 0) {
        fprintf(stderr, "diff_bench: %s\n", cprof_error());
        failed = 1;
    }
    cprof_profile_free(profile);
    return failed;
}
