/* counter_overhead - what one CPROF_SCOPE costs with perf_event counters off, with one and with three
   software counters on, against two raw reads of the same timer measured in the same process.
   Counters are chosen once per process, so each configuration runs in a child started with its own
   CPROF_COUNTERS. Each figure is the median of REPS runs; cost = time per call minus the same
   function without instrumentation. */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"
#include <sys/wait.h>

enum { REPS = 7 };

/* The child: one configuration, one line. */
static int measure(const char *label, int calls) {
    scoped(); /* the node exists (and the thread's group is open) before timing */
    double plain_ns[REPS], timer_ns[REPS], scope_ns[REPS];
    for (int r = 0; r < REPS; r++) { /* interleaved, so that a slow moment hits every variant alike */
        plain_ns[r] = per_call_ns(plain, calls);
        timer_ns[r] = per_call_ns(two_timer_reads, calls);
        scope_ns[r] = per_call_ns(scoped, calls);
    }
    double base = median(plain_ns, REPS);
    double timer_cost = median(timer_ns, REPS) - base, scope_cost = median(scope_ns, REPS) - base;
    cprof_profile *p = cprof_capture();
    size_t counting = 0;
    for (size_t k = 0; p && k < p->counter_count; k++) counting += p->counters[k].available;
    printf("  %-34s %9.2f ns  ratio %7.2fx two timer reads (%.2f ns)  [%zu counting, %s]\n", label, scope_cost,
           scope_cost / timer_cost, timer_cost, counting, p && p->counter_reader[0] ? p->counter_reader : "-");
    cprof_profile_free(p);
    return 0;
}

static int run(const char *self, const char *label, const char *counters, const char *calls) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (counters) setenv("CPROF_COUNTERS", counters, 1);
        else unsetenv("CPROF_COUNTERS");
        execl(self, self, label, calls, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc > 2) return measure(argv[1], atoi(argv[2]));
    printf("counter_overhead: timer %s, median of %d runs; cost per scope\n", cprof__timer_state.name, REPS);
    int failed = run(argv[0], "counters off", NULL, "2000000");
    failed |= run(argv[0], "page-faults", "page-faults", "20000");
    failed |= run(argv[0], "page-faults,task-clock,minor-faults", "page-faults,task-clock,minor-faults", "20000");
    return failed;
}
