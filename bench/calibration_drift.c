/* calibration_drift - does one scope cost the same from one moment of a run to the next? Own-cost
   compensation subtracts a figure measured once, at start-up (cprof__calibrate: 21 rounds of a parent
   over 200 empty child scopes, medians). This runs that same calibration SAMPLES times, 100 ms apart,
   the CPU kept busy in between (a program that runs, not one that sleeps), and beside each one the
   baseline of the same moment: two raw timer reads and an empty call (per_call_ns over 200,000 calls).
   If the scope's cost moves while the baseline does not, a figure taken once cannot be the cost of the
   whole run; if both move together, the machine's speed moved. */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"

enum { SAMPLES = 50, BASELINE_CALLS = 200000 };

static void busy_for(double ms) {
    double end = now_ns() + ms * 1e6;
    while (now_ns() < end)
        for (int i = 0; i < 1000; i++) sink += (uint64_t)i;
}

static void summary(const char *what, double *values) {
    double sorted[SAMPLES];
    for (int i = 0; i < SAMPLES; i++) sorted[i] = values[i];
    qsort(sorted, SAMPLES, sizeof *sorted, compare_doubles);
    printf("  %-26s %7.2f %7.2f %7.2f %7.2f %7.2f   %.2fx\n", what, sorted[0], sorted[SAMPLES / 10], sorted[SAMPLES / 2],
           sorted[SAMPLES - 1 - SAMPLES / 10], sorted[SAMPLES - 1], sorted[SAMPLES - 1 - SAMPLES / 10] / sorted[SAMPLES / 10]);
}

int main(void) {
    double inside[SAMPLES], outside[SAMPLES], timer[SAMPLES], call[SAMPLES], ratio[SAMPLES];
    double ns_per_tick = 1e9 / cprof__timer_hz();
    if (cprof__g.inside_ticks <= 0) {
        printf("calibration_drift: compensation is off (CPROF_COMPENSATE=0 or CPROF=0): nothing to measure\n");
        return 0;
    }
    busy_for(200);
    for (int s = 0; s < SAMPLES; s++) {
        cprof__calibrate();
        inside[s] = cprof__g.inside_ticks * ns_per_tick;
        outside[s] = cprof__g.outside_ticks * ns_per_tick;
        timer[s] = per_call_ns(two_timer_reads, BASELINE_CALLS);
        call[s] = per_call_ns(plain, BASELINE_CALLS);
        ratio[s] = (inside[s] + outside[s]) / timer[s];
        busy_for(100);
    }
    printf("calibration_drift: the start-up calibration run %d times, 100 ms apart (CPU busy between), ns\n", SAMPLES);
    printf("  %-26s %7s %7s %7s %7s %7s   %s\n", "", "min", "p10", "median", "p90", "max", "p90/p10");
    summary("scope, inside", inside);
    summary("scope, outside", outside);
    summary("baseline: two timer reads", timer);
    summary("baseline: an empty call", call);
    summary("scope / two timer reads", ratio);
    return 0;
}
