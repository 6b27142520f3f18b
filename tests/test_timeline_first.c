/* The timeline's "first N" policy (cprof_timeline_enable(N, CPROF_TIMELINE_FIRST)): the first N events are
   kept, the rest counted, the memory fixed; a second thread gets its own buffer of N and is captured while
   it keeps recording (for the thread sanitizer); each thread's events are in time order and pair up. */
#include "../cprof.h"
#include "check.h"
#include <pthread.h>

enum { CAPACITY = 50 };

static volatile int sink;
static void scope_a(void) { CPROF_SCOPE("a"); sink++; }
static void scope_b(void) { CPROF_SCOPE("b"); sink++; }

static volatile int stop;
static void *worker(void *unused) {
    (void)unused;
    cprof_thread_name("worker");
    for (int i = 0; i < CAPACITY; i++) scope_b(); /* at least 2 x CAPACITY events, whatever the timing */
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) scope_b();
    return NULL;
}

int main(void) {
    size_t event_bytes = 0, buffer = cprof__test_timeline_bytes(CAPACITY, &event_bytes);
    CHECK_EQ_U64(cprof_timeline_enable(CAPACITY, CPROF_TIMELINE_FIRST), 0);
    scope_a();
    cprof_reset();
    size_t recording = cprof_memory_bytes();
    for (int i = 0; i < 5 * CAPACITY; i++) scope_a(); /* 10x the capacity in events */
    CHECK_EQ_U64(cprof_memory_bytes(), recording);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->timeline_policy, CPROF_TIMELINE_FIRST);
    CHECK_EQ_U64(p->event_count, CAPACITY);
    CHECK_EQ_U64(p->events_dropped, 9 * CAPACITY);
    CHECK_CONTAINS(report_text(p, NULL), "timeline: 50 events kept (the first 50 per thread), 450 not kept");
    for (size_t i = 0; i < p->event_count; i++) CHECK_EQ_U64(p->events[i].kind, i % 2);
    cprof_profile_free(p);

    size_t before_thread = cprof_memory_bytes();
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    for (int round = 0; round < 20; round++) { /* captures while the worker records */
        p = cprof_capture();
        CHECK(p != NULL);
        for (size_t i = 1; p && i < p->event_count; i++)
            if (p->events[i].thread == p->events[i - 1].thread) CHECK(p->events[i].time_ns >= p->events[i - 1].time_ns);
        cprof_profile_free(p);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(thread, NULL);
    p = cprof_capture();
    CHECK_EQ_U64(p->thread_count, 2);
    size_t worker_events = 0;
    for (size_t i = 0; i < p->event_count; i++) worker_events += p->events[i].thread == 1;
    CHECK_EQ_U64(worker_events, CAPACITY);
    CHECK(cprof_memory_bytes() - before_thread >= buffer); /* the worker's recorder and its buffer */
    cprof_profile_free(p);
    CHECK_DONE();
}
