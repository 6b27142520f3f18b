/* alloc_overhead - what CPROF_WRAP_MALLOC costs: malloc+free pairs of mixed sizes (16 to 4,111 bytes,
   a few blocks live at once, as a program's small temporary buffers are), tracked against the plain C
   library pair measured in the same run, on 1 thread and on 4 threads at once. Each figure is the
   median of REPS runs, in ns per pair; the ratio is tracked / plain. */
#define CPROF_WRAP_MALLOC
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"
#include <pthread.h>

enum { REPS = 9, PAIRS = 200000, LIVE = 8, THREADS = 4 };

static size_t size_of(unsigned i) { return 16 + (i * 2654435761u >> 20) % 4096; }

/* PAIRS pairs; LIVE blocks are kept so that each free is of a block allocated a few pairs before. */
static void plain_pairs(void) {
    void *live[LIVE] = {0};
    for (unsigned i = 0; i < PAIRS; i++) {
        (free)(live[i % LIVE]);
        live[i % LIVE] = (malloc)(size_of(i));
        sink += (uintptr_t)live[i % LIVE] & 1;
    }
    for (int k = 0; k < LIVE; k++) (free)(live[k]);
}

static void tracked_pairs(void) {
    CPROF_SCOPE();
    void *live[LIVE] = {0};
    for (unsigned i = 0; i < PAIRS; i++) {
        free(live[i % LIVE]);
        live[i % LIVE] = malloc(size_of(i));
        sink += (uintptr_t)live[i % LIVE] & 1;
    }
    for (int k = 0; k < LIVE; k++) free(live[k]);
}

typedef struct job {
    void (*body)(void);
} job;

static void *run_body(void *argument) {
    ((job *)argument)->body();
    return NULL;
}

/* ns per pair: `threads` threads each doing PAIRS pairs at once (wall time / PAIRS). */
static double pair_ns(void (*body)(void), int threads) {
    pthread_t ids[THREADS];
    job work = {body};
    double start = now_ns();
    if (threads == 1) body();
    else {
        for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, run_body, &work);
        for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    }
    return (now_ns() - start) / PAIRS;
}

static void measure(int threads) {
    double plain_ns[REPS], tracked_ns[REPS];
    for (int r = 0; r < REPS; r++) { /* interleaved, so that a noisy moment hits both */
        plain_ns[r] = pair_ns(plain_pairs, threads);
        tracked_ns[r] = pair_ns(tracked_pairs, threads);
    }
    double plain = median(plain_ns, REPS), tracked = median(tracked_ns, REPS);
    printf("  %d thread%s: plain %7.1f ns per pair, tracked %7.1f ns per pair, ratio %.2fx\n", threads,
           threads == 1 ? " " : "s", plain, tracked, tracked / plain);
}

int main(void) {
    printf("alloc_overhead: malloc+free pairs of 16 to 4,111 bytes, %d pairs per thread, median of %d runs\n",
           PAIRS, REPS);
    measure(1);
    measure(THREADS);
    cprof_profile *p = cprof_capture();
    printf("  tracked %llu allocations; the tracker's memory: %llu bytes (profiler total)\n",
           (unsigned long long)p->allocs.allocations, (unsigned long long)p->profiler_bytes);
    cprof_profile_free(p);
    (void)plain;
    (void)two_timer_reads;
    (void)scoped;
    (void)per_call_ns;
    return 0;
}
