/* Allocation tracking from several threads at once: exact totals, blocks freed on another thread than
   the one that allocated them, and realloc racing with other threads' mallocs (the C library may hand
   the old address to another thread before the tracker has updated the table: no lost or phantom block).
   The same place under the same call path on every thread is one allocation site, summed, with each
   thread's share kept (alloc_site_threads, also through the JSON). */
#define CPROF_WRAP_MALLOC
#include "../cprof.h"
#include "check.h"
#include <pthread.h>

enum { THREADS = 4, ROUNDS = 3000, REALLOCS = 4, HANDOFF = 500 };

static void *handed[THREADS][HANDOFF]; /* allocated by thread i, freed by thread (i + 1) % THREADS */
static pthread_barrier_t barrier;

static size_t size_for(int thread, int round, int step) { return (size_t)(16 + ((thread * 131 + round * 17 + step * 29) % 2000)); }

static void churn(int t) {
    CPROF_SCOPE("churn");
    for (int round = 0; round < ROUNDS; round++) {
        char *p = (char *)malloc(size_for(t, round, 0));
        p[0] = (char)round;
        for (int step = 1; step <= REALLOCS; step++) p = (char *)realloc(p, size_for(t, round, step));
        free(p);
    }
}

static void *worker(void *argument) {
    int t = (int)(intptr_t)argument;
    for (int i = 0; i < HANDOFF; i++) handed[t][i] = malloc(64);
    pthread_barrier_wait(&barrier);
    churn(t);
    for (int i = 0; i < HANDOFF; i++) free(handed[(t + 1) % THREADS][i]);
    return NULL;
}

/* Three sites (worker's malloc, churn's malloc and realloc), each one row for the 4 threads, each
   thread's share counted once and the shares summing to the row. */
static void check_merged_sites(const cprof_profile *p) {
    const uint64_t expected[3] = {(uint64_t)THREADS * HANDOFF, (uint64_t)THREADS * ROUNDS, (uint64_t)THREADS * ROUNDS * REALLOCS};
    CHECK_EQ_U64(p->alloc_site_count, 3);
    CHECK_EQ_U64(p->alloc_site_thread_count, 3 * THREADS);
    for (size_t i = 0; i < p->alloc_site_count; i++) {
        const cprof_alloc_site *s = &p->alloc_sites[i];
        int found = 0;
        for (int k = 0; k < 3; k++) found += s->count == expected[k];
        CHECK_EQ_U64(found, 1);
        uint64_t count = 0, bytes = 0, shares = 0, threads_seen = 0;
        for (size_t k = 0; k < p->alloc_site_thread_count; k++) {
            const cprof_alloc_site_thread *t = &p->alloc_site_threads[k];
            if (t->site != i) continue;
            count += t->count, bytes += t->bytes, shares++;
            CHECK(t->thread >= 1 && t->thread < p->thread_count && t->node < p->node_count);
            if (t->thread < 64) threads_seen |= 1ull << t->thread;
            CHECK_EQ_U64(p->nodes[t->node].thread, t->thread);
        }
        CHECK_EQ_U64(shares, THREADS);
        CHECK_EQ_U64(__builtin_popcountll(threads_seen), THREADS);
        CHECK_EQ_U64(count, s->count);
        CHECK_EQ_U64(bytes, s->bytes);
    }
}

static void check_merged_sites_saved(const cprof_profile *p) {
    char *text = json_of(p);
    cprof_profile *loaded = NULL;
    CHECK(text != NULL);
    if (!text) return;
    CHECK_EQ_U64(cprof_load_string(text, strlen(text), "merged.json", &loaded), 0);
    if (loaded) check_merged_sites(loaded);
    cprof_profile_free(loaded);
    free(text);
}

int main(void) {
    pthread_t threads[THREADS];
    cprof_profile *before = cprof_capture();
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (int t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&barrier);
    cprof_profile *p = cprof_capture();
    uint64_t expected_bytes = 0;
    for (int t = 0; t < THREADS; t++)
        for (int round = 0; round < ROUNDS; round++)
            for (int step = 0; step <= REALLOCS; step++) expected_bytes += size_for(t, round, step);
    uint64_t allocations = (uint64_t)THREADS * (HANDOFF + ROUNDS * (1 + REALLOCS));
    CHECK_EQ_U64(p->allocs.allocations - before->allocs.allocations, allocations);
    CHECK_EQ_U64(p->allocs.frees - before->allocs.frees, allocations);
    CHECK_EQ_U64(p->allocs.bytes_allocated - before->allocs.bytes_allocated, expected_bytes + THREADS * HANDOFF * 64);
    CHECK_EQ_U64(p->allocs.bytes_freed - before->allocs.bytes_freed, expected_bytes + THREADS * HANDOFF * 64);
    CHECK_EQ_U64(p->allocs.live_blocks, 0);
    CHECK_EQ_U64(p->allocs.live_bytes, 0);
    CHECK_EQ_U64(p->allocs.unknown_frees, 0);
    CHECK_EQ_U64(p->allocs.double_frees, 0);
    /* every thread's "churn" scope made exactly its own allocations */
    for (size_t t = 1; t < p->thread_count; t++) {
        const cprof_node *churn_node = find_node(p, t, "churn");
        CHECK(churn_node != NULL);
        if (churn_node) CHECK_EQ_U64(churn_node->alloc_self_count, ROUNDS * (1 + REALLOCS));
        CHECK_EQ_U64(p->nodes[p->threads[t].root].alloc_count, HANDOFF + ROUNDS * (1 + REALLOCS));
    }
    check_merged_sites(p);
    check_merged_sites_saved(p);
    cprof_profile_free(before);
    cprof_profile_free(p);
    CHECK_DONE();
}
