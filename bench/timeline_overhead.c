/* timeline_overhead - what the timeline (CPROF_TIMELINE) adds to one CPROF_SCOPE, against two raw reads of
   the same timer: the scope with the timeline off (its one branch), on as a flight recorder (a ring that
   wraps: the steady state), and on keeping the first N (full: the event is only counted). Each figure is
   the median of REPS runs of CALLS calls, the variants interleaved; "cost" is time per call minus that of
   the same function without instrumentation. Off and on are the same process and the same code: the
   thread's buffer pointer is set aside for "off" (what a thread without a timeline has: NULL). */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"

enum { REPS = 9, CALLS = 4000000, CAPACITY = 1 << 16 };

int main(void) {
    if (cprof_timeline_enable(CAPACITY, CPROF_TIMELINE_RECENT) != 0) {
        fprintf(stderr, "timeline_overhead: the timeline could not be enabled (CPROF=0 or CPROF_TIMELINE set?)\n");
        return 1;
    }
    scoped(); /* the node exists before timing */
    cprof__recorder *r = cprof__this_thread;
    cprof__timeline *ring = r->timeline;
    cprof__timeline *first = cprof__timeline_new(CAPACITY, CPROF_TIMELINE_FIRST);
    double plain_ns[REPS], timer_ns[REPS], off_ns[REPS], ring_ns[REPS], full_ns[REPS];
    for (int k = 0; k < REPS; k++) {
        plain_ns[k] = per_call_ns(plain, CALLS);
        timer_ns[k] = per_call_ns(two_timer_reads, CALLS);
        r->timeline = NULL;
        off_ns[k] = per_call_ns(scoped, CALLS);
        r->timeline = ring;
        ring_ns[k] = per_call_ns(scoped, CALLS);
        r->timeline = first; /* full after its first CAPACITY / 2 calls */
        full_ns[k] = per_call_ns(scoped, CALLS);
        r->timeline = ring;
    }
    double plain_median = median(plain_ns, REPS), timer = median(timer_ns, REPS) - plain_median;
    double off = median(off_ns, REPS) - plain_median, on = median(ring_ns, REPS) - plain_median;
    double full = median(full_ns, REPS) - plain_median;
    printf("timeline_overhead: timer %s, median of %d runs of %d calls, %u events per thread (%zu bytes each)\n",
           cprof__timer_state.name, REPS, CALLS, (unsigned)CAPACITY, sizeof(cprof__timeline_event));
    printf("  two raw timer reads                     %6.2f ns  (baseline)\n", timer);
    printf("  CPROF_SCOPE, timeline off               %6.2f ns  ratio %.2fx two timer reads\n", off, off / timer);
    printf("  CPROF_SCOPE, timeline on (ring)         %6.2f ns  ratio %.2fx, %+.2f ns for its 2 events\n", on,
           on / timer, on - off);
    printf("  CPROF_SCOPE, timeline on (first, full)  %6.2f ns  ratio %.2fx\n", full, full / timer);
    printf("memory: %zu bytes per thread's buffer (%u events), fixed\n",
           sizeof(cprof__timeline) + (size_t)CAPACITY * sizeof(cprof__timeline_event), (unsigned)CAPACITY);
    return 0;
}
