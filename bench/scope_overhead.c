/* scope_overhead - what one CPROF_SCOPE costs, against two raw reads of the same timer.
   Each figure is the median of REPS runs of CALLS calls; "cost" is time per call minus the time per
   call of the same function without instrumentation. Also prints the profiler's memory per tree node
   and per thread, and shows that it does not grow with the number of calls. */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"
#include <pthread.h>

enum { REPS = 7, CALLS = 5000000, THREADS = 4 };

NOINLINE static void nest8(int level) {
    CPROF_SCOPE();
    if (level < 8) nest8(level + 1);
}
NOINLINE static void nest8_plain(int level) {
    __asm__ __volatile__("" ::: "memory");
    if (level < 8) nest8_plain(level + 1);
}

static double per_nest_ns(void (*body)(int), int calls) {
    double start = now_ns();
    for (int i = 0; i < calls; i++) body(1);
    return (now_ns() - start) / calls;
}

typedef struct figures {
    double plain, timer, scope, nest8, nest8_plain;
} figures;

static figures measure(int calls) {
    double plain_ns[REPS], timer_ns[REPS], scope_ns[REPS], nest_ns[REPS], nest_plain_ns[REPS];
    for (int r = 0; r < REPS; r++) { /* interleaved, so that a slow moment hits every variant alike */
        plain_ns[r] = per_call_ns(plain, calls);
        timer_ns[r] = per_call_ns(two_timer_reads, calls);
        scope_ns[r] = per_call_ns(scoped, calls);
        nest_ns[r] = per_nest_ns(nest8, calls / 8);
        nest_plain_ns[r] = per_nest_ns(nest8_plain, calls / 8);
    }
    figures f;
    f.plain = median(plain_ns, REPS);
    f.timer = median(timer_ns, REPS);
    f.scope = median(scope_ns, REPS);
    f.nest8 = median(nest_ns, REPS);
    f.nest8_plain = median(nest_plain_ns, REPS);
    return f;
}

static figures thread_results[THREADS];
static void *thread_main(void *slot) {
    *(figures *)slot = measure(CALLS / 4);
    return NULL;
}

int main(void) {
    scoped(); /* the node exists before timing: the figure is for a scope already seen */
    nest8(1);
    figures f = measure(CALLS);
    double timer_cost = f.timer - f.plain;
    double scope_cost = f.scope - f.plain;
    double nest_cost = (f.nest8 - f.nest8_plain) / 8;
    printf("scope_overhead: timer %s, median of %d runs of %d calls\n", cprof__timer_state.name, REPS, CALLS);
    printf("  empty function call            %6.2f ns\n", f.plain);
    printf("  two raw timer reads            %6.2f ns  (baseline)\n", timer_cost);
    printf("  CPROF_SCOPE, 1 deep            %6.2f ns  ratio %.2fx two timer reads\n", scope_cost, scope_cost / timer_cost);
    printf("  CPROF_SCOPE, 8 deep (each)     %6.2f ns  ratio %.2fx\n", nest_cost, nest_cost / timer_cost);

    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, thread_main, &thread_results[t]);
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
    double ratios[THREADS];
    for (int t = 0; t < THREADS; t++)
        ratios[t] = (thread_results[t].scope - thread_results[t].plain) / (thread_results[t].timer - thread_results[t].plain);
    printf("  CPROF_SCOPE, %d threads at once ratio %.2fx (median over threads; %ld cores)\n", THREADS,
           median(ratios, THREADS), sysconf(_SC_NPROCESSORS_ONLN));

    cprof_reset();
    size_t before = cprof_memory_bytes();
    for (int i = 0; i < 10; i++) scoped();
    size_t after10 = cprof_memory_bytes();
    for (int i = 0; i < 10000000; i++) scoped();
    size_t after10m = cprof_memory_bytes();
    printf("memory: %zu bytes per tree node, %zu bytes per thread (recorder) + node blocks of 64, 128, 256... nodes\n",
           sizeof(cprof__rnode), sizeof(cprof__recorder));
    printf("memory: %zu bytes in all now; after 10 calls of one scope +%zu bytes, after 10,000,000 more +%zu bytes\n",
           after10m, after10 - before, after10m - after10);
    cprof_profile *p = cprof_capture();
    cprof_profile_free(p);
    return 0;
}
