/* diff_bench - five benchmarks of equal work for bench/diff_noise.sh's benchmark comparisons: does
   `cprof diff` on saved benchmark runs cry wolf on a loaded machine, and does it catch a real slowdown?
   Each body turns an empty loop SPINS times (one body for all five, its turns from b->user, so that
   the five differ in nothing but the planted slowdown); BENCH_SLOW_PCT=P in the environment makes
   work/c's loop P% longer (10 or 100). The five are timed in turn (cprof_bench_group); BENCH_ALONE=1
   runs each to completion before the next (cprof_bench_run), as before the group existed.
       diff_bench [OUT.json] [MIN_TIME_S]    the table; the results saved to OUT.json (default 0.05 s each)
       diff_bench --load                     a planted noise source until killed: busy and idle in turn,
                                             each for a random 50 ms to 1 s (the other core's two states) */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SPINS = 20000 };

static void spin(unsigned long turns) {
    for (volatile unsigned long i = 0; i < turns; i++) continue;
}
static void work(cprof_bench *b) { spin(*(const unsigned long *)b->user), b->items = 1; }

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void planted_load(void) {
    srand((unsigned)time(NULL));
    for (;;) {
        double busy_until = now_s() + 0.05 + 0.95 * rand() / (double)RAND_MAX;
        while (now_s() < busy_until) spin(10000);
        double idle = 0.05 + 0.95 * rand() / (double)RAND_MAX;
        struct timespec pause = {(time_t)idle, (long)((idle - (double)(time_t)idle) * 1e9)};
        nanosleep(&pause, NULL);
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--load") == 0) planted_load(); /* never returns */
    static unsigned long plain = SPINS, slowed = SPINS; /* turns of work/a, b, d, e and of work/c */
    cprof_bench_options options = cprof_bench_defaults();
    const char *slow = getenv("BENCH_SLOW_PCT");
    options.min_time_s = argc > 2 ? atof(argv[2]) : 0.05;
    options.warmup_s = options.min_time_s / 10;
    if (slow) slowed = (unsigned long)(SPINS * (1.0 + atof(slow) / 100.0) + 0.5);
    const cprof_bench_entry group[] = {{"work/a", work, &plain, 0}, {"work/b", work, &plain, 0}, {"work/c", work, &slowed, 0},
                                       {"work/d", work, &plain, 0}, {"work/e", work, &plain, 0}};
    if (getenv("BENCH_ALONE"))
        for (size_t i = 0; i < 5; i++) cprof_bench_run(group[i].name, group[i].body, group[i].user, &options);
    else
        cprof_bench_group(group, 5, &options);
    cprof_profile *profile = cprof_capture();
    int failed = !profile || cprof_bench_write(profile, stdout) != 0;
    if (profile && argc > 1 && cprof_save(profile, argv[1]) != 0) {
        fprintf(stderr, "diff_bench: %s\n", cprof_error());
        failed = 1;
    }
    cprof_profile_free(profile);
    return failed;
}
