/* Preemption (>>preemption, CPROF_PREEMPTION): the time a thread waited for its CPU while another
   thread had it is left out of its open scopes, a voluntary wait (a sleep) stays in, the profile, its
   JSON and the report say how much was left out, a full ring is counted, and a fork() child records its
   own thread's switches, not its parent's; a preemption while no scope was open is not counted as left
   out; CPROF_PREEMPTION=0 keeps the waits; cprof merge sums the figures; cprof diff says when some
   runs kept the waits and others did not.
   The preemption is made, not hoped for: a competitor thread spins on the measured thread's CPU (both
   pinned to it), so the scheduler shares that CPU between them and the measured scope's wall time is
   about twice its CPU time. The checks compare the recorded time with the thread's own CPU time and
   wall time, read around the scope: without the subtraction it holds the whole wall time, with it the
   CPU time, and the bound between them is half the wait, so a loaded machine (more preemptions, all
   subtracted) cannot make it fail. Where perf events are not available the profile must say why, and
   the times stay as they were. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET, sched_getcpu (g++ defines it) */
#endif
#include "../cprof.h"
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int shared_cpu = -1; /* the CPU both threads are pinned to */

static void pin(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(shared_cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static int competitor_stop; /* atomic: read by the competitor while main writes it */

static void *competitor(void *unused) {
    (void)unused;
    pin();
    while (!__atomic_load_n(&competitor_stop, __ATOMIC_RELAXED)) __asm__ __volatile__("" ::: "memory");
    return NULL;
}

/* Spins until the calling thread has used `cpu` seconds of CPU. */
static void spin_cpu(double cpu) {
    double start = seconds(CLOCK_THREAD_CPUTIME_ID);
    while (seconds(CLOCK_THREAD_CPUTIME_ID) - start < cpu) __asm__ __volatile__("" ::: "memory");
}

static void work(void) {
    CPROF_SCOPE("work");
    spin_cpu(0.05);
}

typedef struct measured {
    double wall, cpu; /* around the outer scope, seconds */
} measured;

/* "outer" holds four "work" scopes of 50 ms of CPU each, shared with the competitor, then a 20 ms sleep. */
static measured run_shared(void) {
    pthread_t thread;
    __atomic_store_n(&competitor_stop, 0, __ATOMIC_RELAXED);
    pin();
    pthread_create(&thread, NULL, competitor, NULL);
    measured m;
    double wall = seconds(CLOCK_MONOTONIC), cpu = seconds(CLOCK_THREAD_CPUTIME_ID);
    {
        CPROF_SCOPE("outer");
        for (int i = 0; i < 4; i++) work();
        __atomic_store_n(&competitor_stop, 1, __ATOMIC_RELAXED);
        usleep(20000);
    }
    m.wall = seconds(CLOCK_MONOTONIC) - wall;
    m.cpu = seconds(CLOCK_THREAD_CPUTIME_ID) - cpu;
    pthread_join(thread, NULL);
    return m;
}

/* The measured run: work's time is near its CPU time (the wait left out), outer keeps its sleep. */
static int check_shared(const cprof_profile *p, measured m, int quiet) {
    const cprof_function *work_fn = find_function(p, "work"), *outer = find_function(p, "outer");
    int bad = 0;
    if (!work_fn || !outer) return 1;
    double work_s = 1e-9 * (double)work_fn->total_ns, outer_self = 1e-9 * (double)outer->self_ns;
    double wait = m.wall - m.cpu - 0.02; /* the sleep's 20 ms is not a preemption */
    if (!quiet)
        printf("work %.3f s recorded, %.3f s of CPU in outer (wall %.3f s); outer's self time %.3f s; preempted "
               "%.3f s in %llu\n", work_s, m.cpu, m.wall, outer_self, 1e-9 * (double)p->preemption.preempted_ns,
               (unsigned long long)p->preemption.preemptions);
    bad |= !(wait > 0.05);                     /* the competitor did take the CPU */
    bad |= !(work_s < m.cpu + wait / 2);       /* most of the wait left out */
    bad |= !(work_s > 0.2 * 0.95);             /* and not the work: 4 x 50 ms of CPU */
    bad |= !(outer_self >= 0.02 * 0.99);       /* the sleep stays */
    bad |= !(p->preemption.preemptions > 0 && p->preemption.preempted_ns > (uint64_t)(wait / 2 * 1e9));
    bad |= !(p->preemption.preempted_ns < (uint64_t)((m.wall - m.cpu) * 1e9)); /* no more than was waited */
    return bad;
}

/* A ring holds ~1,000 switches: 3,000 yields to the competitor inside one scope overflow it; the
   kernel's lost record arrives with the next switch after the thread reads the ring, and the yields of
   a second scope bring it. */
static void *yielder(void *unused) {
    (void)unused;
    pin();
    while (!__atomic_load_n(&competitor_stop, __ATOMIC_RELAXED)) sched_yield();
    return NULL;
}

static void overflow_ring(void) {
    pthread_t thread;
    __atomic_store_n(&competitor_stop, 0, __ATOMIC_RELAXED);
    pin();
    pthread_create(&thread, NULL, yielder, NULL);
    {
        CPROF_SCOPE("yields");
        for (int i = 0; i < 3000; i++) sched_yield();
    }
    for (int k = 0; k < 20; k++) {
        CPROF_SCOPE("a few more");
        for (int i = 0; i < 10; i++) sched_yield();
    }
    __atomic_store_n(&competitor_stop, 1, __ATOMIC_RELAXED);
    pthread_join(thread, NULL);
}

/* Preempted while no scope is open, then one scope: nothing was left out of a scope, nothing is counted. */
static int preempted_outside_scopes(void) {
    pthread_t thread;
    cprof_reset();
    __atomic_store_n(&competitor_stop, 0, __ATOMIC_RELAXED);
    pin();
    pthread_create(&thread, NULL, competitor, NULL);
    spin_cpu(0.05);
    __atomic_store_n(&competitor_stop, 1, __ATOMIC_RELAXED);
    pthread_join(thread, NULL);
    { CPROF_SCOPE("after"); }
    cprof_profile *p = cprof_capture();
    int bad = !p || p->preemption.preemptions != 0 || p->preemption.preempted_ns != 0;
    cprof_profile_free(p);
    return bad;
}

/* CPROF_PREEMPTION=0 (this program again, told by its argument): the waits stay in work's time. */
static int keep_waits(void) {
    shared_cpu = sched_getcpu() >= 0 ? sched_getcpu() : 0;
    measured m = run_shared();
    cprof_profile *p = cprof_capture();
    const cprof_function *work_fn = p ? find_function(p, "work") : NULL;
    double wait = m.wall - m.cpu - 0.02;
    int bad = !work_fn || p->preemption.threads != 0 || p->preemption.error != 0 || !(wait > 0.05) ||
              !(1e-9 * (double)work_fn->total_ns > m.cpu + wait / 2);
    cprof_profile_free(p);
    return bad ? 4 : 0;
}

static int run_keeping_waits(const char *self) {
    pid_t pid = fork();
    if (pid == 0) {
        setenv("CPROF_PREEMPTION", "0", 1);
        execl(self, self, "keep", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

/* A fork child: its own thread's switches (its parent, waiting in waitpid, is never preempted). */
static int child_measures_its_own(void) {
    pid_t pid = fork();
    if (pid == 0) {
        cprof_reset();
        measured m = run_shared();
        cprof_profile *p = cprof_capture();
        int bad = !p || check_shared(p, m, 1) || p->preemption.threads != 1; /* its own thread's ring only */
        cprof_profile_free(p);
        _exit(bad ? 3 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "keep") == 0) return keep_waits();
    shared_cpu = sched_getcpu() >= 0 ? sched_getcpu() : 0;
    measured m = run_shared();
    cprof_profile *p = cprof_capture();
    CHECK(p != NULL);
    if (!p) CHECK_DONE();
    char *report = strdup(report_text(p, NULL)), *json = json_of(p);
    cprof_profile *loaded = NULL;
    CHECK(cprof_load_string(json, strlen(json), "preemption.json", &loaded) == 0);
    if (p->preemption.threads == 0) { /* no perf events here: the reason is kept, nothing is subtracted */
        printf("preemption not measured here (errno %d): the fallback is checked\n", (int)p->preemption.error);
        CHECK(p->preemption.error != 0);
        CHECK_EQ_U64(p->preemption.preemptions, 0);
        CHECK(strstr(report, "preempted:") == NULL);
    } else if (getenv("CHECK_UNDER_VALGRIND")) { /* valgrind runs one thread at a time: its switches are its own */
        CHECK_EQ_U64(p->preemption.threads, 1);
    } else {
        CHECK_EQ_U64(p->preemption.threads, 1); /* the competitors record nothing: they open no scope */
        CHECK_EQ_U64(check_shared(p, m, 0), 0);
        CHECK_CONTAINS(report, "preempted: ");
        CHECK_CONTAINS(report, "left out of the scopes' times; CPROF_PREEMPTION=0 keeps it");
        CHECK(loaded && loaded->preemption.preempted_ns == p->preemption.preempted_ns &&
              loaded->preemption.preemptions == p->preemption.preemptions && loaded->preemption.threads == 1);
        CHECK_CONTAINS(json, "\"preemption\": {\"threads\": 1, ");
        const cprof_profile *twice[2] = {p, p};
        cprof_profile *merged = cprof_merge(twice, 2, NULL);
        CHECK(merged && merged->preemption.preempted_ns == 2 * p->preemption.preempted_ns &&
              merged->preemption.preemptions == 2 * p->preemption.preemptions && merged->preemption.threads == 2);
        cprof_profile_free(merged);
        static char compared[1 << 16];
        cprof_comparison *alike = cprof_compare(p, p, NULL);
        CHECK(alike && alike->preemption_kept == 0);
        cprof_comparison_free(alike);
        if (loaded) loaded->preemption.threads = 0; /* as a run with CPROF_PREEMPTION=0 */
        cprof_comparison *mixed = loaded ? cprof_compare(p, loaded, NULL) : NULL;
        CHECK(mixed && mixed->preemption_kept == 1);
        if (mixed) cprof_comparison_format(mixed, compared, sizeof compared);
        CHECK_CONTAINS(compared, "Preempted time: 1 run kept it in the scopes' times (CPROF_PREEMPTION=0");
        cprof_comparison_free(mixed);
        cprof_reset(); /* the sums start again: none is taken before a timed scope's exit */
        cprof_profile *after_reset = cprof_capture();
        CHECK(after_reset && after_reset->preemption.preemptions == 0 && after_reset->preemption.preempted_ns == 0);
        cprof_profile_free(after_reset);
        overflow_ring();
        cprof_profile *full = cprof_capture();
        CHECK(full && full->preemption.lost > 0);
        CHECK_CONTAINS(full ? report_text(full, NULL) : NULL, "records of context switches lost (a thread's ring was full)");
        cprof_profile_free(full);
        CHECK_EQ_U64(preempted_outside_scopes(), 0);
        CHECK_EQ_U64(child_measures_its_own(), 0);
        CHECK_EQ_U64(run_keeping_waits(argv[0]), 0);
    }
    free(report);
    free(json);
    cprof_profile_free(loaded);
    cprof_profile_free(p);
    CHECK_DONE();
}
