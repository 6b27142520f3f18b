/* CPU sampling against the truth: scope "outer" spends 60/30/10% of its CPU time in three
   un-instrumented functions (busy loops on the thread's CPU clock). Samples at 1 kHz (or CPROF_SAMPLE=HZ;
   bench/sample_shares.sh runs 1 and 4 threads) and prints each function's sampled share of the samples
   under "outer". Usage: sample_shares THREADS CPU_SECONDS_PER_THREAD */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include <pthread.h>
#include <string.h>
#include <time.h>

static double thread_cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The loop in a register, the clock read every ~0.2 ms: little time in the clock's system call. */
__attribute__((noinline)) static void spin(double seconds) {
    unsigned long x = 0;
    double end = thread_cpu_seconds() + seconds;
    do {
        for (int i = 0; i < 200000; i++) {
            x += (unsigned long)i;
            __asm__ __volatile__("" : "+r"(x));
        }
    } while (thread_cpu_seconds() < end);
    __asm__ __volatile__("" ::: "memory");
}
__attribute__((noinline)) void busy_sixty(double s) { spin(0.6 * s); __asm__ __volatile__(""); }
__attribute__((noinline)) void busy_thirty(double s) { spin(0.3 * s); __asm__ __volatile__(""); }
__attribute__((noinline)) void busy_ten(double s) { spin(0.1 * s); __asm__ __volatile__(""); }

static double seconds_per_thread = 2.0;

__attribute__((noinline)) static void run_outer(void) {
    CPROF_SCOPE("outer");
    for (int round = 0; round < 10; round++) { /* interleaved, so that a slow patch of the machine hits all three */
        busy_sixty(seconds_per_thread / 10);
        busy_thirty(seconds_per_thread / 10);
        busy_ten(seconds_per_thread / 10);
    }
    __asm__ __volatile__("" ::: "memory");
}

static void *worker(void *unused) { (void)unused; run_outer(); return NULL; }

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (argc > 2) seconds_per_thread = atof(argv[2]);
    if (threads < 1 || threads > 64) return 2;
    if (!getenv("CPROF_SAMPLE") && cprof_sample_start(1000) != 0) return 2; /* make bench runs it bare */
    pthread_t t[64];
    for (int i = 1; i < threads; i++) pthread_create(&t[i], NULL, worker, NULL);
    run_outer();
    for (int i = 1; i < threads; i++) pthread_join(t[i], NULL);
    cprof_profile *p = cprof_capture();
    const char *names[3] = {"busy_sixty", "busy_thirty", "busy_ten"};
    const double truth[3] = {60, 30, 10};
    uint64_t samples[3] = {0, 0, 0}, all = 0;
    for (size_t i = 0; i < p->node_count; i++) { /* the sampled frames right under "outer", every thread */
        const cprof_node *n = &p->nodes[i];
        const cprof_node *parent = &p->nodes[n->parent]; /* a thread's root has no site: a sample outside "outer" */
        if (!n->sampled || parent->sampled || parent->site == CPROF_NONE || strcmp(p->sites[parent->site].name, "outer"))
            continue;
        all += n->samples;
        for (int k = 0; k < 3; k++)
            if (strcmp(p->sites[n->site].name, names[k]) == 0) samples[k] += n->samples;
    }
    printf("threads %d, %.1f s CPU each, %u Hz: %llu samples under outer (%llu dropped)\n", threads, seconds_per_thread,
           (unsigned)p->sample_hz, (unsigned long long)all, (unsigned long long)p->samples_dropped);
    int worst_ok = 1;
    for (int k = 0; k < 3; k++) {
        double share = all ? 100.0 * (double)samples[k] / (double)all : 0;
        printf("  %-12s truth %4.1f%%  sampled %5.1f%%  off by %4.1f points\n", names[k], truth[k], share,
               share > truth[k] ? share - truth[k] : truth[k] - share);
        if ((share > truth[k] ? share - truth[k] : truth[k] - share) > 3.0) worst_ok = 0;
    }
    printf("  %s\n", worst_ok ? "within 3 points" : "NOT within 3 points");
    cprof_profile_free(p);
    return worst_ok ? 0 : 1;
}
