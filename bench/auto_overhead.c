/* auto_overhead - what one automatically instrumented call costs (CPROF_AUTO with
   -finstrument-functions, which the Makefile adds for this program), against the same empty
   function without instrumentation and with a manual CPROF_SCOPE instead. An empty function is
   counted, not timed, after its first 1,000 calls by default (CPROF_AUTO_MIN_NS); the program runs
   itself again with CPROF_AUTO_MIN_NS=0 (every call timed) and with CPROF=0 (recording off) for the
   automatic figures of those two.
   Only auto_empty() and excluded_empty() are instrumented: everything else here is marked
   no_instrument_function, which is what compiling it without -finstrument-functions gives.
   Each figure is the median of REPS runs of CALLS calls, the variants interleaved; "cost" is the time
   per call minus that of the uninstrumented function. */
#define CPROF_IMPLEMENTATION
#define CPROF_AUTO
#include "../cprof.h"
#include <stdlib.h>

enum { REPS = 7, CALLS = 5000000 };

#define NOINLINE __attribute__((noinline))
#define PLAIN __attribute__((noinline, no_instrument_function)) /* as without -finstrument-functions */

PLAIN static void plain_empty(void) { __asm__ __volatile__("" ::: "memory"); }
PLAIN static void manual_empty(void) {
    CPROF_SCOPE();
    __asm__ __volatile__("" ::: "memory");
}
NOINLINE static void auto_empty(void) { __asm__ __volatile__("" ::: "memory"); }
NOINLINE static void excluded_empty(void) { __asm__ __volatile__("" ::: "memory"); } /* CPROF_AUTO_EXCLUDE */

PLAIN static double per_call_ns(void (*body)(void), int calls) {
    double start = (double)cprof__monotonic_ns();
    for (int i = 0; i < calls; i++) body();
    return ((double)cprof__monotonic_ns() - start) / calls;
}

PLAIN static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

PLAIN static double median(double *values, int count) {
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    return values[count / 2];
}

/* Before the first hook runs, so that the exclusion is read in time; a user's setting wins. */
__attribute__((constructor(101), no_instrument_function)) static void exclude_one(void) {
    setenv("CPROF_AUTO_EXCLUDE", "^excluded_", 0);
}

/* The automatic figure of this program run again with `setting` in its environment; -1 when it failed. */
PLAIN static double automatic_with(const char *self, const char *setting) {
    char command[4200];
    snprintf(command, sizeof command, "%s '%s' --automatic-only", setting, self);
    FILE *child = popen(command, "r");
    double ns = -1;
    if (!child || fscanf(child, "%lf", &ns) != 1) ns = -1;
    if (child) pclose(child);
    return ns;
}

PLAIN static double automatic_only(void) {
    double ns[REPS];
    auto_empty();
    for (int r = 0; r < REPS; r++) ns[r] = per_call_ns(auto_empty, CALLS);
    return median(ns, REPS);
}

PLAIN int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--automatic-only") == 0) {
        printf("%.3f\n", automatic_only());
        return 0;
    }
    void (*variants[4])(void) = {plain_empty, manual_empty, auto_empty, excluded_empty};
    double ns[4][REPS];
    for (int v = 0; v < 4; v++) variants[v](); /* names resolved and nodes made before timing */
    for (int r = 0; r < REPS; r++)
        for (int v = 0; v < 4; v++) ns[v][r] = per_call_ns(variants[v], CALLS);
    double plain = median(ns[0], REPS), manual = median(ns[1], REPS);
    double automatic = median(ns[2], REPS), excluded = median(ns[3], REPS);
    cprof_profile *p = cprof_capture(); /* proof that the hooks recorded what was timed */
    uint64_t auto_calls = 0, excluded_calls = 0;
    for (size_t i = 0; p && i < p->function_count; i++) {
        if (strcmp(p->functions[i].name, "auto_empty") == 0) auto_calls = p->functions[i].calls;
        if (strcmp(p->functions[i].name, "excluded_empty") == 0) excluded_calls = p->functions[i].calls;
    }
    printf("auto_overhead: timer %s, median of %d runs of %d calls\n", cprof__timer_state.name, REPS, CALLS);
    printf("  empty function, not instrumented     %6.2f ns per call\n", plain);
    printf("  with a manual CPROF_SCOPE            %6.2f ns per call, cost %6.2f ns  (baseline)\n", manual,
           manual - plain);
    double timed = automatic_with(argv[0], "CPROF_AUTO_MIN_NS=0"), off = automatic_with(argv[0], "CPROF=0");
    printf("  -finstrument-functions + CPROF_AUTO  %6.2f ns per call, cost %6.2f ns  ratio %.2fx manual scope"
           " (counted, not timed)\n", automatic, automatic - plain, (automatic - plain) / (manual - plain));
    printf("  the same, CPROF_AUTO_MIN_NS=0        %6.2f ns per call, cost %6.2f ns  ratio %.2fx manual scope"
           " (every call timed)\n", timed, timed - plain, (timed - plain) / (manual - plain));
    printf("  the same, CPROF=0                    %6.2f ns per call, cost %6.2f ns\n", off, off - plain);
    printf("  the same, excluded at run time       %6.2f ns per call, cost %6.2f ns\n", excluded, excluded - plain);
    printf("  recorded: auto_empty %llu calls, excluded_empty %llu calls\n", (unsigned long long)auto_calls,
           (unsigned long long)excluded_calls);
    cprof_profile_free(p);
    return 0;
}
