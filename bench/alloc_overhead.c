/* alloc_overhead - what CPROF_WRAP_MALLOC costs: malloc+free pairs, tracked against the plain C library
   pair measured in the same run (interleaved, so that a noisy moment hits both). Each figure is the
   median of REPS runs, in ns per pair (wall time / pairs per thread); the ratio is tracked / plain.
     mixed sizes     16 to 4,111 bytes, a few blocks live at once, as a program's temporary buffers are:
                     on 1 thread, and on 4 threads at once (each its own pairs);
     small sizes     16 to 1,023 bytes, all from the C library's per-thread cache, its cheapest pair;
     across threads  one thread allocates, another frees, in batches (a producer and a consumer): the
                     free takes the owner's lock; the baseline pays the same hand-over. */
#define CPROF_WRAP_MALLOC
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"
#include <pthread.h>

enum { REPS = 9, PAIRS = 200000, LIVE = 8, THREADS = 4, BATCH = 250 };

static unsigned size_limit; /* sizes are 16 to 16 + size_limit - 1 */
static size_t size_of(unsigned i) { return 16 + (i * 2654435761u >> 20) % size_limit; }

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

/* The hand-over: the producer fills a batch of BATCH blocks while the consumer frees the other one,
   so that the two threads meet once per batch rather than once per block. */
static void *batches[2][BATCH];
static unsigned produced, consumed; /* batches */
static int tracked_handover;

static void *produce(void *argument) {
    CPROF_SCOPE();
    for (unsigned b = 0; b < PAIRS / BATCH; b++) {
        while (b - __atomic_load_n(&consumed, __ATOMIC_ACQUIRE) >= 2) sched_yield();
        for (unsigned i = 0; i < BATCH; i++)
            batches[b % 2][i] = tracked_handover ? malloc(size_of(b * BATCH + i)) : (malloc)(size_of(b * BATCH + i));
        __atomic_store_n(&produced, b + 1, __ATOMIC_RELEASE);
    }
    return argument;
}

static void consume(void) {
    for (unsigned b = 0; b < PAIRS / BATCH; b++) {
        while (__atomic_load_n(&produced, __ATOMIC_ACQUIRE) == b) sched_yield();
        for (unsigned i = 0; i < BATCH; i++) {
            if (tracked_handover) free(batches[b % 2][i]);
            else (free)(batches[b % 2][i]);
        }
        __atomic_store_n(&consumed, b + 1, __ATOMIC_RELEASE);
    }
}

static void handover(int tracked) {
    pthread_t producer;
    tracked_handover = tracked;
    produced = consumed = 0;
    pthread_create(&producer, NULL, produce, NULL);
    consume();
    pthread_join(producer, NULL);
}
static void plain_handover(void) { handover(0); }
static void tracked_handover_pairs(void) { handover(1); }

typedef struct job {
    void (*body)(void);
} job;

static void *run_body(void *argument) {
    ((job *)argument)->body();
    return NULL;
}

/* ns per pair: `threads` threads each running `body` at once (wall time / PAIRS). */
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

static void measure(const char *name, void (*plain_body)(void), void (*tracked_body)(void), int threads) {
    double plain_ns[REPS], tracked_ns[REPS];
    for (int r = 0; r < REPS; r++) {
        plain_ns[r] = pair_ns(plain_body, threads);
        tracked_ns[r] = pair_ns(tracked_body, threads);
    }
    double plain_median = median(plain_ns, REPS), tracked = median(tracked_ns, REPS);
    printf("  %-28s plain %7.1f ns per pair, tracked %7.1f ns per pair, ratio %.2fx\n", name, plain_median,
           tracked, tracked / plain_median);
}

int main(void) {
    printf("alloc_overhead: malloc+free pairs, %d pairs per thread, median of %d runs\n", PAIRS, REPS);
    size_limit = 4096;
    measure("mixed sizes, 1 thread:", plain_pairs, tracked_pairs, 1);
    measure("mixed sizes, 4 threads:", plain_pairs, tracked_pairs, THREADS);
    size_limit = 1008;
    measure("small sizes, 1 thread:", plain_pairs, tracked_pairs, 1);
    size_limit = 4096;
    measure("across threads (2):", plain_handover, tracked_handover_pairs, 1);
    cprof_profile *p = cprof_capture();
    printf("  tracked %llu allocations; the profiler's memory: %llu bytes, for %llu threads' recorders\n",
           (unsigned long long)p->allocs.allocations, (unsigned long long)p->profiler_bytes,
           (unsigned long long)p->thread_count);
    cprof_profile_free(p);
    (void)plain;
    (void)two_timer_reads;
    (void)scoped;
    (void)per_call_ns;
    return 0;
}
