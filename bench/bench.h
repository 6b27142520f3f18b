/* bench.h - what the benchmarks share: the baseline bodies and the median. Include after cprof.h
   (with CPROF_IMPLEMENTATION: the baseline reads the profiler's own timer). */
#ifndef BENCH_H
#define BENCH_H
#include <stdlib.h>

#define NOINLINE __attribute__((noinline, unused))
#define BENCH_HELPER static __attribute__((unused)) /* each bench uses some of them */
static volatile uint64_t sink;

/* The baselines: an empty call, and two raw reads of the timer a scope reads. */
NOINLINE static void plain(void) { __asm__ __volatile__("" ::: "memory"); }
NOINLINE static void two_timer_reads(void) {
    uint64_t start = cprof__ticks();
    __asm__ __volatile__("" ::: "memory");
    sink = cprof__ticks() - start;
}
/* The same empty body in one scope. */
NOINLINE static void scoped(void) {
    CPROF_SCOPE();
    __asm__ __volatile__("" ::: "memory");
}

BENCH_HELPER double now_ns(void) { return (double)cprof__monotonic_ns(); }

/* `count` call-site records for building a synthetic call tree, named by `name_of` (the printf format
   for site i, given i). They stay allocated: a live tree points at its sites. */
BENCH_HELPER cprof_site *bench_sites(size_t count, const char *(*name_of)(size_t i)) {
    cprof_site *sites = (cprof_site *)calloc(count, sizeof *sites);
    char (*names)[24] = (char (*)[24])calloc(count, sizeof *names);
    for (size_t i = 0; i < count; i++) {
        snprintf(names[i], sizeof names[i], name_of(i), i);
        sites[i].name = names[i];
        sites[i].function = "bench";
        sites[i].file = "bench.c";
        sites[i].line = (int)i;
    }
    return sites;
}

BENCH_HELPER double per_call_ns(void (*body)(void), int calls) {
    double start = now_ns();
    for (int i = 0; i < calls; i++) body();
    return (now_ns() - start) / calls;
}

BENCH_HELPER int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

BENCH_HELPER double median(double *values, int count) {
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    return values[count / 2];
}
#endif
