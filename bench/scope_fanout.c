/* scope_fanout - what entering a scope costs under a parent with 1, 10, 100 and 1,000 distinct
   children, entered in turn (an interpreter's dispatch loop, an event loop). Each figure is the median
   of REPS runs of CALLS scopes (enter and exit) minus an empty loop, against two raw reads of the same
   timer measured in the same run; "vs 1 child" should stay flat (within 2x) up to 1,000 children. */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"

enum { REPS = 7, CALLS = 2000000, MAX_CHILDREN = 1000 };
static const int fanouts[] = {1, 10, 100, 1000};
#define FANOUTS (int)(sizeof fanouts / sizeof fanouts[0])

static cprof_site *sites[FANOUTS];
static cprof_site parents[FANOUTS];

static const char *child_name(size_t i) { (void)i; return "c%zu"; } /* fits bench_sites' 24 bytes */

/* CALLS scopes under parent `f`, its children in turn; ns per scope. */
NOINLINE static double per_scope_ns(int f) {
    int children = fanouts[f];
    uint32_t parent = cprof__enter(&parents[f]);
    double start = now_ns();
    for (int i = 0, child = 0; i < CALLS; i++) {
        cprof__exit(cprof__enter(&sites[f][child]));
        if (++child == children) child = 0;
    }
    double ns = (now_ns() - start) / CALLS;
    cprof__exit(parent);
    return ns;
}

int main(void) {
    double cost[FANOUTS][REPS], timer_ns[REPS], plain_ns[REPS];
    for (int f = 0; f < FANOUTS; f++) {
        sites[f] = bench_sites((size_t)fanouts[f], child_name);
        parents[f].name = "parent";
        parents[f].function = "bench";
        parents[f].file = "scope_fanout.c";
        parents[f].line = f;
        (void)per_scope_ns(f); /* every child exists before timing */
    }
    for (int r = 0; r < REPS; r++) { /* interleaved, so that a slow moment hits every variant alike */
        plain_ns[r] = per_call_ns(plain, CALLS);
        timer_ns[r] = per_call_ns(two_timer_reads, CALLS) - plain_ns[r];
        for (int f = 0; f < FANOUTS; f++) cost[f][r] = per_scope_ns(f) - plain_ns[r];
    }
    double timer_cost = median(timer_ns, REPS);
    double one_child = median(cost[0], REPS);
    printf("scope_fanout: timer %s, median of %d runs of %d scopes\n", cprof__timer_state.name, REPS, CALLS);
    printf("  two raw timer reads            %7.2f ns  (baseline)\n", timer_cost);
    for (int f = 0; f < FANOUTS; f++) {
        double c = f ? median(cost[f], REPS) : one_child;
        printf("  scope among %4d children      %7.2f ns  ratio %.2fx two timer reads, %.2fx vs 1 child\n", fanouts[f], c,
               c / timer_cost, c / one_child);
    }
    cprof_profile *p = cprof_capture();
    cprof_profile_free(p);
    return 0;
}
