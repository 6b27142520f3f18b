/* Threads: each records into its own tree; a capture merges them all, exited ones included. */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "check.h"
#include <pthread.h>

static void work(void) { CPROF_SCOPE(); }

static void only_in_worker(void) { CPROF_SCOPE(); work(); }

typedef struct job {
    int index;
    int calls;
    pthread_t thread;
} job;

static void *worker(void *argument) {
    job *j = (job *)argument;
    char name[32];
    snprintf(name, sizeof name, "worker %d", j->index);
    cprof_thread_name(name);
    CPROF_SCOPE("worker loop");
    for (int i = 0; i < j->calls; i++) work();
    only_in_worker();
    return NULL;
}

int main(void) {
    enum { WORKERS = 4 };
    job jobs[WORKERS];
    for (int i = 0; i < 5; i++) work(); /* the main thread's own calls */
    for (int i = 0; i < WORKERS; i++) {
        jobs[i].index = i;
        jobs[i].calls = 1000 * (i + 1);
        pthread_create(&jobs[i].thread, NULL, worker, &jobs[i]);
    }
    for (int i = 0; i < WORKERS; i++) pthread_join(jobs[i].thread, NULL);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->thread_count, 1 + WORKERS);
    CHECK_EQ_STR(p->threads[0].name, "main");
    CHECK_EQ_U64(p->threads[0].exited, 0);
    CHECK_EQ_U64(node_calls(p, 0, "work"), 5);
    CHECK(find_node(p, 0, "worker loop") == NULL);
    uint64_t expected_work = 5;
    for (size_t t = 1; t < p->thread_count; t++) {
        /* threads register in the order they first record, which is not the creation order */
        int index = -1;
        sscanf(p->threads[t].name, "worker %d", &index);
        CHECK(index >= 0 && index < WORKERS);
        if (index < 0 || index >= WORKERS) continue;
        CHECK_EQ_U64(p->threads[t].exited, 1);
        CHECK(p->threads[t].id != p->threads[0].id);
        CHECK_EQ_U64(node_calls(p, t, "worker loop"), 1);
        CHECK_EQ_U64(node_calls(p, t, "worker loop/work"), (uint64_t)jobs[index].calls);
        CHECK_EQ_U64(node_calls(p, t, "worker loop/only_in_worker/work"), 1);
        CHECK(find_node(p, t, "work") == NULL);
        expected_work += (uint64_t)jobs[index].calls + 1;
        /* every node of this thread's tree says so */
        for (uint32_t n = p->threads[t].root; n < p->node_count && (n == p->threads[t].root || p->nodes[n].depth > 0); n++)
            CHECK_EQ_U64(p->nodes[n].thread, t);
    }
    CHECK_EQ_U64(function_calls(p, "work"), expected_work);
    CHECK_EQ_U64(function_calls(p, "worker loop"), WORKERS);
    uint64_t sum = 0;
    for (size_t t = 0; t < p->thread_count; t++) sum += p->threads[t].total_ns;
    CHECK_EQ_U64(p->run_ns, sum);
    const char *report = report_text(p, NULL);
    CHECK_CONTAINS(report, "5 threads");
    CHECK_CONTAINS(report, "thread worker 3 (id ");
    CHECK_CONTAINS(report, ", exited");
    cprof_profile_free(p);

    /* a capture while other threads record: no crash, no race (ThreadSanitizer runs this too) */
    for (int i = 0; i < WORKERS; i++) {
        jobs[i].calls = 20000;
        pthread_create(&jobs[i].thread, NULL, worker, &jobs[i]);
    }
    for (int k = 0; k < 20; k++) {
        p = cprof_capture();
        CHECK(p != NULL);
        cprof_profile_free(p);
        if (k == 10) cprof_reset();
    }
    for (int i = 0; i < WORKERS; i++) pthread_join(jobs[i].thread, NULL);
    CHECK_DONE();
}
