/* preemption - what leaving preempted time out of the scopes (>>preemption) corrects, and what it costs.
   Each round runs this program twice more, CPROF_PREEMPTION=1 (the default) and =0, in turn; each run:
     shared CPU:  a scope that spins 200 ms of its thread's CPU time while a competitor thread spins on
                  the same CPU (both pinned): its recorded time / its CPU time (1.00 is the truth), and
                  the same for the spin alone on a CPU of its own (no competitor);
     thread start: 400 threads started and joined one after another, each opening one scope, against
                  400 that open none: the extra time per thread (the recorder, and with preemption on the
                  perf event and its ring).
   Prints the medians over the rounds. The scope's hot path is bench/scope_overhead's (the same build).
   Usage: build/bench/preemption [ROUNDS, default 7] */
#define _GNU_SOURCE
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { THREADS = 400, MAX_ROUNDS = 51 };

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int shared_cpu;
static volatile int stop;

static void pin(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(shared_cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static void *competitor(void *unused) {
    (void)unused;
    pin();
    while (!stop) __asm__ __volatile__("" ::: "memory");
    return NULL;
}

/* A scope around `cpu` seconds of this thread's CPU; its recorded time / that CPU time. (Both calls' sites
   are one line of one function: the reset keeps the first out of the second's figure.) */
static double recorded_over_cpu(const char *name, double cpu) {
    cprof_site site = {name, "spin", "bench/preemption.c", __LINE__, 0};
    cprof_reset();
    double start = seconds(CLOCK_THREAD_CPUTIME_ID), used;
    uint32_t token = cprof__enter(&site);
    while ((used = seconds(CLOCK_THREAD_CPUTIME_ID) - start) < cpu) __asm__ __volatile__("" ::: "memory");
    cprof__exit(token);
    cprof_profile *p = cprof_capture();
    double recorded = 0;
    for (size_t f = 0; p && f < p->function_count; f++)
        if (strcmp(p->functions[f].name, name) == 0) recorded = 1e-9 * (double)p->functions[f].total_ns;
    cprof_profile_free(p);
    return recorded / used;
}

static void *one_scope(void *unused) {
    (void)unused;
    CPROF_SCOPE("thread");
    return NULL;
}
static void *no_scope(void *unused) { return unused; }

/* ns per thread started and joined. */
static double per_thread_ns(void *(*body)(void *)) {
    double start = now_ns();
    for (int i = 0; i < THREADS; i++) {
        pthread_t thread;
        pthread_create(&thread, NULL, body, NULL);
        pthread_join(thread, NULL);
    }
    return (now_ns() - start) / THREADS;
}

static int run_one(void) {
    shared_cpu = sched_getcpu() >= 0 ? sched_getcpu() : 0;
    pin();
    double alone = recorded_over_cpu("alone", 0.2);
    pthread_t thread;
    pthread_create(&thread, NULL, competitor, NULL);
    double shared = recorded_over_cpu("shared", 0.2);
    stop = 1;
    pthread_join(thread, NULL);
    double with = per_thread_ns(one_scope), without = per_thread_ns(no_scope);
    printf("%.4f %.4f %.0f\n", alone, shared, with - without);
    return 0;
}

/* One run of this program with CPROF_PREEMPTION=mode; its three figures. */
static int run_child(const char *self, const char *mode, double out[3]) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        setenv("CPROF_PREEMPTION", mode, 1);
        execl(self, self, "--one", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char text[256] = {0};
    ssize_t n = read(fds[0], text, sizeof text - 1);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return n > 0 && sscanf(text, "%lf %lf %lf", &out[0], &out[1], &out[2]) == 3 ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--one") == 0) return run_one();
    int rounds = argc > 1 ? atoi(argv[1]) : 7;
    if (rounds < 1 || rounds > MAX_ROUNDS) rounds = 7;
    static double figures[2][3][MAX_ROUNDS];
    const char *modes[2] = {"1", "0"};
    for (int r = 0; r < rounds; r++)
        for (int m = 0; m < 2; m++) {
            double out[3];
            if (run_child(argv[0], modes[m], out) != 0) {
                fprintf(stderr, "preemption: a run failed\n");
                return 1;
            }
            for (int k = 0; k < 3; k++) figures[m][k][r] = out[k];
        }
    printf("preemption: medians of %d rounds, CPROF_PREEMPTION=1 (default) and =0 in turn\n", rounds);
    for (int m = 0; m < 2; m++)
        printf("  CPROF_PREEMPTION=%s  recorded / CPU time: alone %.3f, CPU shared with a spinning thread %.3f;"
               "  a thread's first scope costs %.1f us more\n", modes[m], median(figures[m][0], rounds),
               median(figures[m][1], rounds), median(figures[m][2], rounds) / 1000.0);
    return 0;
}
