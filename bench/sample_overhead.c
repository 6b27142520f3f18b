/* What CPU sampling costs the sampled thread, and how much of it is the kernel's: the same work (a
   16-frame deep call chain ending in a busy loop, built with frame pointers) run plain, with the
   mechanism alone (a perf event on the thread's task clock signalling it at the same rate, an empty
   handler that re-arms it: what any signal-based sampler pays) and with cprof_sample_start. Rounds
   interleaved, the order rotated each round; each variant's CPU time over the plain run's of the same
   round, median over the rounds. Usage: sample_overhead [HZ [ROUNDS]]   (default 1000 Hz, 31 rounds) */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { DEPTH = 16, VARIANTS = 3 };
static const char *const variant_names[VARIANTS] = {"plain", "perf event, empty handler", "cprof_sample_start"};

static double thread_cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

NOINLINE static unsigned long spin(unsigned long iterations) {
    unsigned long x = 0;
    for (unsigned long i = 0; i < iterations; i++) {
        x += i;
        __asm__ __volatile__("" : "+r"(x));
    }
    return x;
}

NOINLINE static unsigned long descend(int depth, unsigned long iterations) {
    unsigned long x = depth > 0 ? descend(depth - 1, iterations) : spin(iterations);
    __asm__ __volatile__("" : "+r"(x)); /* not a tail call: every frame stays on the stack */
    return x;
}

/* The mechanism alone, as cprof sets it up (cprof__sample_event_start), on SIGUSR2 so that
   cprof's own SIGPROF handler stays cprof's. */
static int floor_fd = -1;
static volatile long floor_signals;
static void floor_handler(int signal_number, siginfo_t *info, void *context) {
    (void)signal_number, (void)info, (void)context;
    floor_signals++;
    ioctl(floor_fd, PERF_EVENT_IOC_REFRESH, 1);
}

static int floor_start(unsigned hz) {
    struct perf_event_attr attr;
    cprof__sample_event_attr(&attr, hz); /* cprof's own settings */
    floor_fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (floor_fd < 0) return -1;
    struct { int type; int pid; } owner = {0 /* F_OWNER_TID */, (int)syscall(SYS_gettid)};
    if (fcntl(floor_fd, 15 /* F_SETOWN_EX */, &owner) || fcntl(floor_fd, 10 /* F_SETSIG */, SIGUSR2) ||
        fcntl(floor_fd, F_SETFL, 020000 /* O_ASYNC */) || ioctl(floor_fd, PERF_EVENT_IOC_REFRESH, 1))
        return -1;
    return 0;
}

static void floor_stop(void) {
    close(floor_fd);
    floor_fd = -1;
}

/* One variant's CPU seconds for the same work. */
static double run_variant(int variant, unsigned hz, unsigned long iterations, int *failed) {
    if (variant == 1 && floor_start(hz)) *failed = 1;
    if (variant == 2 && cprof_sample_start(hz)) *failed = 1;
    double start = thread_cpu_seconds();
    sink = descend(DEPTH, iterations);
    double seconds = thread_cpu_seconds() - start;
    if (variant == 1) floor_stop();
    if (variant == 2) cprof_sample_stop();
    return seconds;
}

int main(int argc, char **argv) {
    unsigned hz = argc > 1 ? (unsigned)atoi(argv[1]) : 1000u;
    int rounds = argc > 2 ? atoi(argv[2]) : 31;
    if (hz < 1 || hz > 100000 || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "usage: sample_overhead [HZ (1-100000) [ROUNDS (1-1000)]]\n");
        return 2;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = floor_handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGUSR2, &action, NULL);
    double load[3];
    if (getloadavg(load, 3) == 3) printf("  load average before: %.2f %.2f %.2f\n", load[0], load[1], load[2]);

    /* about 0.2 s of CPU per variant and round */
    unsigned long iterations = 1000000;
    for (double t = 0; t < 0.02; iterations *= 2) {
        double start = thread_cpu_seconds();
        sink = descend(DEPTH, iterations);
        t = thread_cpu_seconds() - start;
    }
    iterations *= 5;
    CPROF_SCOPE("sampled work"); /* the thread's recorder: cprof samples recorded threads */
    double *ratio[VARIANTS], seconds[VARIANTS] = {0};
    for (int v = 0; v < VARIANTS; v++) ratio[v] = (double *)calloc((size_t)rounds, sizeof(double));
    int failed = 0;
    for (int round = 0; round < rounds; round++) {
        double cpu[VARIANTS];
        for (int k = 0; k < VARIANTS; k++) {
            int v = (round + k) % VARIANTS;
            cpu[v] = run_variant(v, hz, iterations, &failed);
        }
        for (int v = 0; v < VARIANTS; v++) ratio[v][round] = cpu[v] / cpu[0], seconds[v] += cpu[v];
    }
    if (failed) {
        printf("SKIP: a perf event on the task clock could not be opened here (perf_event_paranoid 3, seccomp?)\n");
        return 0;
    }
    cprof_profile *p = cprof_capture();
    uint64_t samples = p->samples + p->samples_dropped;
    printf("sample_overhead: %u Hz, %d rounds of %.2f s of CPU per variant, a %d-frame deep stack\n", hz, rounds,
           seconds[0] / rounds, DEPTH + 3);
    printf("  CPU time over the plain run's (same round), median [IQR]     signals   cost per signal\n");
    long signals[VARIANTS] = {0, floor_signals, (long)samples};
    for (int v = 0; v < VARIANTS; v++) {
        qsort(ratio[v], (size_t)rounds, sizeof(double), compare_doubles);
        double per_signal = v && signals[v] ? (seconds[v] - seconds[0]) / (double)signals[v] * 1e6 : 0;
        printf("  %-28s %.4fx [%.4f-%.4f] = %+.2f%%", variant_names[v], ratio[v][rounds / 2], ratio[v][rounds / 4],
               ratio[v][rounds * 3 / 4], 100 * (ratio[v][rounds / 2] - 1));
        if (v) printf("  %8ld   %6.1f us", signals[v], per_signal);
        printf("\n");
    }
    printf("  cprof's own part (cprof over the mechanism alone): %+.2f%% of the plain run's CPU\n",
           100 * (ratio[2][rounds / 2] - ratio[1][rounds / 2]));
    if (getloadavg(load, 3) == 3) printf("  load average after: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    cprof_profile_free(p);
    return 0;
}
