/* scope_api - what one CPROF_SCOPE costs, measured through the benchmark API (cprof_bench_run): the
   same three bodies as scope_overhead (an empty call, two raw timer reads, an empty scope), compared
   as implementations of one task. Each iteration also pays the API's indirect call, the same for all
   three, so "cost" subtracts the empty call's median, and the ratio is against the two timer reads of
   the same run. Saved with BENCH_OUT=file.json, so that `cprof diff` compares two builds. */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
static volatile uint64_t sink;

NOINLINE static void plain(cprof_bench *b) {
    (void)b;
    __asm__ __volatile__("" ::: "memory");
}
NOINLINE static void two_timer_reads(cprof_bench *b) {
    (void)b;
    uint64_t start = cprof__ticks();
    __asm__ __volatile__("" ::: "memory");
    sink = cprof__ticks() - start;
}
NOINLINE static void scoped(cprof_bench *b) {
    (void)b;
    CPROF_SCOPE();
    __asm__ __volatile__("" ::: "memory");
}

static double median_of(const cprof_profile *p, const char *name) {
    for (size_t i = 0; i < p->benchmark_count; i++)
        if (strcmp(p->benchmarks[i].name, name) == 0) return p->benchmarks[i].stats.median_ns;
    return 0;
}

int main(void) {
    cprof_bench_run("call/empty", plain, NULL, NULL);
    cprof_bench_run("call/two timer reads", two_timer_reads, NULL, NULL);
    cprof_bench_run("call/CPROF_SCOPE", scoped, NULL, NULL);
    cprof_profile *p = cprof_capture();
    printf("scope_api: through cprof_bench_run, default options (0.5 s per benchmark)\n");
    cprof_bench_write(p, stdout);
    double empty = median_of(p, "call/empty"), timer = median_of(p, "call/two timer reads") - empty;
    double scope = median_of(p, "call/CPROF_SCOPE") - empty;
    printf("\n  two raw timer reads  %6.2f ns  (baseline)\n  CPROF_SCOPE, 1 deep  %6.2f ns  ratio %.2fx two timer reads\n",
           timer, scope, timer > 0 ? scope / timer : 0);
    const char *out = getenv("BENCH_OUT");
    if (out && cprof_save(p, out) != 0) fprintf(stderr, "scope_api: %s\n", cprof_error());
    cprof_profile_free(p);
    return 0;
}
