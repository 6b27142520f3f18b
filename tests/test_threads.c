/* Threads: each records into its own tree; a capture merges them all, exited ones included. */
#include "../cprof.h"
#include "check.h"
#include <pthread.h>

/* Some real work (a few hundred ns, on the thread's own stack): an empty scope's time is about the own
   cost that compensation subtracts, so its total may be 0, and the checks below want planted top-level
   scopes with time. */
static void work(void) {
    CPROF_SCOPE();
    for (volatile int i = 0; i < 300; i = i + 1) continue;
}

static void only_in_worker(void) { CPROF_SCOPE(); work(); }

typedef struct job {
    int index;
    int calls;
    pthread_t thread;
} job;

/* Starts the workers, `calls` each, and captures 20 times while they record (ThreadSanitizer runs this
   too), resetting before capture `reset_at` (none when 20 or more): the calls of "work" seen never go
   down between two resets and never exceed what the workers will make. After the join, the total of
   the calls made since the last reset, when none came while they ran. */
static uint64_t capture_while_recording(job *jobs, int workers, int calls, int reset_at);

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
    /* the recorded time is the top-level scopes' (planted above: main's five "work", each worker's
       "worker loop"), every thread's, the exited ones included */
    const cprof_node *main_work = find_node(p, 0, "work");
    uint64_t top_level_ns = main_work ? main_work->total_ns : 0;
    for (size_t t = 1; t < p->thread_count; t++) {
        const cprof_node *loop = find_node(p, t, "worker loop");
        top_level_ns += loop ? loop->total_ns : 0;
        CHECK(loop && loop->total_ns > 0 && p->threads[t].total_ns == loop->total_ns);
    }
    CHECK(main_work && main_work->total_ns > 0);
    CHECK_EQ_U64(p->run_ns, top_level_ns);
    const char *report = report_text(p, NULL);
    CHECK_CONTAINS(report, "5 threads");
    CHECK_CONTAINS(report, "thread worker 3 (id ");
    CHECK_CONTAINS(report, ", exited");
    cprof_profile_free(p);

    /* captures while other threads record: what they see grows, and after the join it is exact */
    cprof_reset();
    CHECK_EQ_U64(capture_while_recording(jobs, WORKERS, 20000, 20), WORKERS * (20000 + 1));
    /* the same with a reset among the captures: no crash, no race, never more than was made */
    cprof_reset();
    CHECK(capture_while_recording(jobs, WORKERS, 20000, 10) <= WORKERS * (20000 + 1));
    CHECK_DONE();
}

static uint64_t capture_while_recording(job *jobs, int workers, int calls, int reset_at) {
    for (int i = 0; i < workers; i++) {
        jobs[i].calls = calls;
        pthread_create(&jobs[i].thread, NULL, worker, &jobs[i]);
    }
    uint64_t seen = 0, most = (uint64_t)workers * (uint64_t)(calls + 1);
    for (int k = 0; k < 20; k++) {
        if (k == reset_at) cprof_reset(), seen = 0;
        cprof_profile *p = cprof_capture();
        CHECK(p != NULL);
        if (!p) continue;
        uint64_t now = function_calls(p, "work");
        CHECK(now >= seen && now <= most);
        seen = now;
        cprof_profile_free(p);
    }
    for (int i = 0; i < workers; i++) pthread_join(jobs[i].thread, NULL);
    cprof_profile *p = cprof_capture();
    uint64_t total = function_calls(p, "work");
    CHECK(total >= seen);
    cprof_profile_free(p);
    return total;
}
