/* Many short-lived threads: past the first 64 exited ones, a thread's tree is merged into one
   "exited threads" pseudo-thread at its exit and its recorder is used again by a later thread. The
   profiler's memory stays bounded, and every count is exact. */
#include "../cprof.h"
#include "check.h"
#include <pthread.h>
#include <stdlib.h>

enum { AT_ONCE = 8, KEPT = 64 };
static int THREADS = 10000; /* 1,000 under valgrind (CHECK_UNDER_VALGRIND, set by the Makefile): still far past KEPT */

static void step(void) { CPROF_SCOPE(); }

static void *job(void *argument) {
    CPROF_SCOPE("job");
    for (int i = 0; i < 3; i++) step();
    if ((intptr_t)argument % 2) { /* half of them take a path of their own */
        CPROF_SCOPE("odd job");
        step();
    }
    return NULL;
}

static void run_threads(int from, int to) {
    for (int first = from; first < to; first += AT_ONCE) {
        pthread_t threads[AT_ONCE];
        for (int t = 0; t < AT_ONCE; t++) pthread_create(&threads[t], NULL, job, (void *)(intptr_t)(first + t));
        for (int t = 0; t < AT_ONCE; t++) pthread_join(threads[t], NULL);
    }
}

int main(void) {
    if (getenv("CHECK_UNDER_VALGRIND")) THREADS = 1000;
    step();
    run_threads(0, 400); /* the kept ones, the merged tree and the spare recorders exist from here */
    size_t bytes_after_400 = cprof_memory_bytes();
    run_threads(400, THREADS);
    size_t bytes_after_all = cprof_memory_bytes();
    printf("profiler memory: %zu bytes after 400 threads, %zu after %d\n", bytes_after_400, bytes_after_all, THREADS);
    /* Spare recorders are as many as threads ever ran at once (AT_ONCE): the first 400 threads may have
       overlapped less than later ones, so up to AT_ONCE more recorders (each with its first node block)
       may appear, never one per thread (before: about 19 KB more per thread, 180 MB for 10,000). */
    size_t recorder_bytes = cprof__test_recorder_bytes();
    CHECK(bytes_after_all <= bytes_after_400 + AT_ONCE * recorder_bytes);

    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->thread_count, 1 + KEPT + 1); /* main, the kept, the merged */
    const cprof_thread_info *merged = &p->threads[p->thread_count - 1];
    char merged_name[64];
    snprintf(merged_name, sizeof merged_name, "exited threads (%d merged)", THREADS - KEPT);
    CHECK_EQ_STR(merged->name, merged_name);
    CHECK_EQ_U64(merged->exited, 1);
    CHECK_EQ_U64(function_calls(p, "job"), THREADS);
    CHECK_EQ_U64(function_calls(p, "odd job"), THREADS / 2);
    CHECK_EQ_U64(function_calls(p, "step"), 1 + 3 * THREADS + THREADS / 2);
    /* the merged tree: job once under its root, with step and odd job below */
    uint32_t first = p->nodes[merged->root].first_child;
    CHECK(first != CPROF_NONE && p->nodes[first].next_sibling == CPROF_NONE);
    if (first != CPROF_NONE) CHECK_EQ_U64(p->nodes[first].calls, THREADS - KEPT);
    CHECK_EQ_U64(p->dropped_scopes, 0);
    cprof_profile_free(p);
    CHECK_DONE();
}
