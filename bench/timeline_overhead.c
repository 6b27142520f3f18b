/* timeline_overhead - what the timeline (CPROF_TIMELINE) adds to one CPROF_SCOPE, against two raw reads of
   the same timer: the scope with the timeline off (its one branch), on as a flight recorder (a ring that
   wraps: the steady state), and on keeping the first N (full: the event is only counted). Off and on are
   the same process and the same code: the thread's buffer pointer is set aside for "off" (what a thread
   without a timeline has: NULL).

   The method, made for a shared and loaded machine (2 cores, other jobs running), where one long run per
   variant measures the machine's mood more than the code:
   - many short rounds (DEFAULT_ROUNDS, BATCH calls per variant each, about a quarter of a millisecond);
     in each round every variant runs once, in an order rotated from round to round, so that no variant
     always follows the one that filled the cache;
   - each batch is timed in the thread's CPU time (CLOCK_THREAD_CPUTIME_ID: the time it ran, so neither
     another process's slice nor the hypervisor's steal is counted) and, for comparison, in wall time;
   - a round's ratio is its variant's cost over its two timer reads' cost, both from that round ("cost" =
     time per call minus that of the same empty function without instrumentation, from that round too): a
     slow stretch of the machine slows both alike and cancels out (one that does not slow them alike
     stays visible: a second mode of the ratios, in the IQR and the share of rounds at or under 1.3x);
   - a round in which the thread was switched out against its will (getrusage RUSAGE_THREAD, ru_nivcsw)
     is set aside, counted and run again: it ran after another process had the caches and branch
     predictors;
   - the thread is pinned to the CPU it started on (no migration to a cold cache); --no-pin leaves it free;
   - the figures are the median over the kept rounds and the interquartile range (IQR, the middle half of
     the rounds): a spread wider than the difference between two variants says the run cannot tell them
     apart. The timeline's own cost is the difference on - off within each round, its median and IQR.
     The load average before and after is printed with them.
   Usage: timeline_overhead [--no-pin] [ROUNDS] */
#define _GNU_SOURCE /* sched_setaffinity, sched_getcpu, RUSAGE_THREAD */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"
#include <sched.h>
#include <sys/resource.h>

static const double TARGET = 1.3; /* the bound for the scope with the timeline on */
enum { BATCH = 10000, DEFAULT_ROUNDS = 1001, WARMUP_ROUNDS = 20, CAPACITY = 1 << 16 };
enum { PLAIN, TIMER, OFF, RING, FULL, VARIANTS };
static const char *const variant_name[VARIANTS] = {
    "empty function call", "two raw timer reads", "CPROF_SCOPE, timeline off", "CPROF_SCOPE, timeline on (ring)",
    "CPROF_SCOPE, timeline on (first, full)"};

static cprof__recorder *recorder;
static cprof__timeline *ring, *first;

static double thread_cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static long involuntary_switches(void) {
    struct rusage u;
    getrusage(RUSAGE_THREAD, &u);
    return u.ru_nivcsw;
}

/* One batch of one variant: per call, in CPU time and wall time. */
static void run_batch(int variant, double *cpu_ns, double *wall_ns) {
    void (*body)(void) = variant == PLAIN ? plain : variant == TIMER ? two_timer_reads : scoped;
    recorder->timeline = variant == RING ? ring : variant == FULL ? first : NULL;
    double cpu = thread_cpu_ns(), wall = now_ns();
    for (int i = 0; i < BATCH; i++) body();
    *wall_ns = (now_ns() - wall) / BATCH;
    *cpu_ns = (thread_cpu_ns() - cpu) / BATCH;
    recorder->timeline = ring;
}

typedef struct spread {
    double median, q1, q3;
} spread;

static spread spread_of(double *values, int count) {
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    spread s = {values[count / 2], values[count / 4], values[(3 * count) / 4]};
    return s;
}

static void print_load(const char *when) {
    double load[3];
    if (getloadavg(load, 3) == 3) printf("  load average %s: %.2f %.2f %.2f\n", when, load[0], load[1], load[2]);
}

int main(int argc, char **argv) {
    int pin = !(argc > 1 && strcmp(argv[1], "--no-pin") == 0);
    int rounds = argc > 1 + !pin ? atoi(argv[1 + !pin]) : DEFAULT_ROUNDS;
    if (rounds < 4) rounds = DEFAULT_ROUNDS;
    if (cprof_timeline_enable(CAPACITY, CPROF_TIMELINE_RECENT) != 0) {
        fprintf(stderr, "timeline_overhead: the timeline could not be enabled (CPROF=0 or CPROF_TIMELINE set?)\n");
        return 1;
    }
    int cpu = sched_getcpu();
    if (pin) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) pin = 0;
    }
    scoped(); /* the node exists before timing */
    recorder = cprof__this_thread;
    ring = recorder->timeline;
    first = cprof__timeline_new(CAPACITY, CPROF_TIMELINE_FIRST);
    double *ratio[VARIANTS], *wall_ratio[VARIANTS], *cost[VARIANTS], *timeline_ns[2], *timeline_ratio[2];
    for (int v = 0; v < VARIANTS; v++) {
        ratio[v] = (double *)calloc((size_t)rounds, sizeof(double));
        wall_ratio[v] = (double *)calloc((size_t)rounds, sizeof(double));
        cost[v] = (double *)calloc((size_t)rounds, sizeof(double));
    }
    for (int k = 0; k < 2; k++) {
        timeline_ns[k] = (double *)calloc((size_t)rounds, sizeof(double));
        timeline_ratio[k] = (double *)calloc((size_t)rounds, sizeof(double));
    }
    print_load("before");
    int kept = 0, preempted = 0;
    /* A preempted round is run again, up to 4 x ROUNDS times in all. */
    for (int round = -WARMUP_ROUNDS; kept < rounds && preempted < 4 * rounds; round++) {
        double cpu_ns[VARIANTS], wall_ns[VARIANTS];
        long switches = involuntary_switches();
        for (int k = 0; k < VARIANTS; k++) {
            int v = (k + (round < 0 ? 0 : round)) % VARIANTS;
            run_batch(v, &cpu_ns[v], &wall_ns[v]);
        }
        if (round < 0) continue;
        if (involuntary_switches() != switches) {
            preempted++;
            continue;
        }
        double timer = cpu_ns[TIMER] - cpu_ns[PLAIN], wall_timer = wall_ns[TIMER] - wall_ns[PLAIN];
        for (int v = 0; v < VARIANTS; v++) {
            cost[v][kept] = cpu_ns[v] - cpu_ns[PLAIN];
            ratio[v][kept] = cost[v][kept] / timer;
            wall_ratio[v][kept] = (wall_ns[v] - wall_ns[PLAIN]) / wall_timer;
        }
        cost[PLAIN][kept] = cpu_ns[PLAIN];
        timeline_ns[0][kept] = cpu_ns[RING] - cpu_ns[OFF];
        timeline_ns[1][kept] = cpu_ns[FULL] - cpu_ns[OFF];
        timeline_ratio[0][kept] = timeline_ns[0][kept] / timer;
        timeline_ratio[1][kept] = timeline_ns[1][kept] / timer;
        kept++;
    }
    if (kept < 4) {
        fprintf(stderr, "timeline_overhead: only %d rounds ran without being preempted\n", kept);
        return 1;
    }
    printf("timeline_overhead: timer %s, %d rounds x %d calls per variant, CPU time, %s\n", cprof__timer_state.name,
           kept, BATCH, pin ? "pinned to one CPU" : "not pinned");
    printf("  %d more rounds set aside (preempted); %u events per thread (%zu bytes each)\n", preempted,
           (unsigned)CAPACITY, sizeof(cprof__timeline_event));
    printf("  per call, median over rounds [IQR]       cost ns               ratio to 2 timer reads   <= %.1fx   wall\n",
           TARGET);
    for (int v = 0; v < VARIANTS; v++) {
        int within = 0;
        for (int k = 0; k < kept; k++) within += ratio[v][k] <= TARGET;
        spread c = spread_of(cost[v], kept), r = spread_of(ratio[v], kept), w = spread_of(wall_ratio[v], kept);
        printf("  %-40s %5.2f [%5.2f-%5.2f]", variant_name[v], c.median, c.q1, c.q3);
        if (v == TIMER) printf("   (baseline)");
        if (v > TIMER)
            printf("   %.2fx [%.2f-%.2f]        %3.0f%%    %.2fx", r.median, r.q1, r.q3, 100.0 * within / kept, w.median);
        printf("\n");
    }
    const char *policy[2] = {"ring", "first-full"};
    for (int k = 0; k < 2; k++) {
        spread ns = spread_of(timeline_ns[k], kept), x = spread_of(timeline_ratio[k], kept);
        printf("  %-47s %-10s %+.2f ns [%+.2f %+.2f] = %+.2fx [%+.2f %+.2f]\n",
               k ? "" : "the timeline's own cost (on - off, same round):", policy[k], ns.median, ns.q1, ns.q3,
               x.median, x.q1, x.q3);
    }
    print_load("after");
    printf("memory: %zu bytes per thread's buffer (%u events), fixed\n",
           sizeof(cprof__timeline) + (size_t)CAPACITY * sizeof(cprof__timeline_event), (unsigned)CAPACITY);
    return 0;
}
