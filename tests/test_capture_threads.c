/* Captures while threads start, name themselves, record and exit (the later ones merged into the exited
   threads' tree): the capture holds the registry lock only to copy the list of threads, then walks their
   trees without it. Race-free under TSan, and every count exact once the threads are joined. */
#include "../cprof.h"
#include "check.h"
#include <pthread.h>

enum { WAVES = 20, PER_WAVE = 6, CALLS = 300 };

static void step(void) { CPROF_SCOPE(); }

static void *worker(void *argument) {
    char name[32];
    snprintf(name, sizeof name, "worker %d", (int)(intptr_t)argument);
    cprof_thread_name(name);
    CPROF_SCOPE("worker");
    for (int i = 0; i < CALLS; i++) step();
    return NULL;
}

static int capturing = 1;
static uint64_t captures;

/* Captures in a loop; each sees some workers, never a torn tree: a worker's node never has more than
   CALLS calls (the merged exited threads' nodes add up many). */
static void *capturer(void *unused) {
    (void)unused;
    while (__atomic_load_n(&capturing, __ATOMIC_ACQUIRE)) {
        cprof_profile *p = cprof_capture();
        for (size_t i = 0; p && i < p->node_count; i++)
            if (p->nodes[i].site != CPROF_NONE && strcmp(p->sites[p->nodes[i].site].name, "step") == 0 &&
                strncmp(p->threads[p->nodes[i].thread].name, "worker ", 7) == 0)
                CHECK(p->nodes[i].calls <= CALLS);
        cprof_profile_free(p);
        captures++;
    }
    return NULL;
}

int main(void) {
    pthread_t capture_thread;
    pthread_create(&capture_thread, NULL, capturer, NULL);
    for (int wave = 0; wave < WAVES; wave++) {
        pthread_t threads[PER_WAVE];
        for (int t = 0; t < PER_WAVE; t++) pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)(wave * PER_WAVE + t));
        for (int t = 0; t < PER_WAVE; t++) pthread_join(threads[t], NULL);
    }
    __atomic_store_n(&capturing, 0, __ATOMIC_RELEASE);
    pthread_join(capture_thread, NULL);
    CHECK(captures > 0);

    cprof_profile *p = cprof_capture();
    /* main, the first 64 workers to exit, the later ones merged (the capturer records nothing) */
    CHECK_EQ_U64(p->thread_count, 1 + 64 + 1);
    uint64_t step_calls = 0, worker_calls = 0, named = 0;
    for (size_t i = 0; i < p->node_count; i++) {
        if (p->nodes[i].site == CPROF_NONE) continue;
        const char *name = p->sites[p->nodes[i].site].name;
        if (strcmp(name, "step") == 0) step_calls += p->nodes[i].calls;
        if (strcmp(name, "worker") == 0) worker_calls += p->nodes[i].calls;
    }
    for (size_t t = 0; t < p->thread_count; t++) named += strncmp(p->threads[t].name, "worker ", 7) == 0;
    CHECK_EQ_U64(step_calls, (uint64_t)WAVES * PER_WAVE * CALLS);
    CHECK_EQ_U64(worker_calls, (uint64_t)WAVES * PER_WAVE);
    CHECK_EQ_U64(named, 64);
    CHECK_EQ_STR(p->threads[p->thread_count - 1].name, "exited threads (56 merged)");
    cprof_profile_free(p);
    CHECK_DONE();
}
