/* bench.h - what the benchmarks share: the baseline bodies and the median. Include after cprof.h
   (with CPROF_IMPLEMENTATION: the baseline reads the profiler's own timer). */
#ifndef BENCH_H
#define BENCH_H
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
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

static double now_ns(void) { return (double)cprof__monotonic_ns(); }

static double per_call_ns(void (*body)(void), int calls) {
    double start = now_ns();
    for (int i = 0; i < calls; i++) body();
    return (now_ns() - start) / calls;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int count) {
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    return values[count / 2];
}
#endif
