/* compensate - does own-cost compensation give the right self-time shares? A synthetic program with
   known work: two busy loops (crunch, mix), a parser with a busy part that calls a tiny function
   100,000 times (parse, token), a walker that only calls a tinier one 200,000 times (walk, visit). The
   truth: the same functions without scopes, each timed alone (a parent's self = its plain time minus
   its callees' plain time; the loop and call instruction of a callee count in its caller, where a
   profiler sees them: measured as the same loop calling an empty function). Then the instrumented program, captured: the compensated self shares (the
   profile's self_ns) and the raw ones (from raw_total_ns, the same run). Each share is the median of
   RUNS runs; "error" sums |share - truth| over the functions: the baseline is the truth, 0 is perfect. */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"

/* REPEAT: the workload this many times per run, so that a run lasts tens of ms and one time slice lost
   to another process on a shared machine is a small part of it */
enum { RUNS = 7, FUNCTIONS = 6, TOKENS = 100000, VISITS = 200000, CRUNCHES = 5, REPEAT = 20 };
static const char *const names[FUNCTIONS] = {"crunch", "mix", "parse", "token", "walk", "visit"};

NOINLINE static void spin(int n) {
    for (int i = 0; i < n; i++) sink += (uint64_t)i;
}

/* The workload twice: with scopes (S = CPROF_SCOPE) and without (S = nothing). */
#define NO_SCOPE(name)
#define WORKLOAD(suffix, S)                                                              \
    NOINLINE static void crunch_##suffix(void) { S("crunch"); spin(400000); }          \
    NOINLINE static void mix_##suffix(void) { S("mix"); spin(600000); }                \
    NOINLINE static void token_##suffix(void) { S("token"); spin(8); }                 \
    NOINLINE static void visit_##suffix(void) { S("visit"); sink++; }                  \
    NOINLINE static void parse_##suffix(void) {                                        \
        S("parse");                                                                    \
        spin(300000);                                                                  \
        for (int i = 0; i < TOKENS; i++) token_##suffix();                             \
    }                                                                                  \
    NOINLINE static void walk_##suffix(void) {                                         \
        S("walk");                                                                     \
        for (int i = 0; i < VISITS; i++) visit_##suffix();                             \
    }                                                                                  \
    NOINLINE static void program_##suffix(void) {                                      \
        for (int r = 0; r < REPEAT; r++) {                                             \
            for (int i = 0; i < CRUNCHES; i++) crunch_##suffix();                      \
            mix_##suffix();                                                            \
            parse_##suffix();                                                          \
            walk_##suffix();                                                           \
        }                                                                              \
    }
WORKLOAD(plain, NO_SCOPE)
WORKLOAD(scoped, CPROF_SCOPE)

/* The truth, in ns of self time per function (the order of `names`). */
static void truth(double self[FUNCTIONS]) {
    double t0 = now_ns();
    for (int i = 0; i < CRUNCHES * REPEAT; i++) crunch_plain();
    double t1 = now_ns();
    for (int r = 0; r < REPEAT; r++) mix_plain();
    double t2 = now_ns();
    for (int r = 0; r < REPEAT; r++) parse_plain();
    double t3 = now_ns();
    for (int i = 0; i < TOKENS * REPEAT; i++) token_plain();
    double t4 = now_ns();
    for (int r = 0; r < REPEAT; r++) walk_plain();
    double t5 = now_ns();
    for (int i = 0; i < VISITS * REPEAT; i++) visit_plain();
    double t6 = now_ns();
    for (int i = 0; i < TOKENS * REPEAT; i++) plain();
    double t7 = now_ns();
    for (int i = 0; i < VISITS * REPEAT; i++) plain();
    double t8 = now_ns();
    /* The loop and the call instruction run in the caller: a profiler can only see them there (an
       empty function's calls in the same loop measure them), so the truth puts them there too. */
    double token_calls = t7 - t6, visit_calls = t8 - t7;
    self[0] = t1 - t0, self[1] = t2 - t1, self[3] = t4 - t3 - token_calls, self[5] = t6 - t5 - visit_calls;
    self[2] = (t3 - t2) - self[3];
    self[4] = (t5 - t4) - self[5];
    for (int f = 0; f < FUNCTIONS; f++) if (self[f] < 0) self[f] = 0;
}

/* The captured run: compensated and raw self time per function. */
static void measured(double compensated[FUNCTIONS], double raw[FUNCTIONS]) {
    cprof_reset();
    program_scoped();
    cprof_profile *p = cprof_capture();
    for (int f = 0; f < FUNCTIONS; f++) compensated[f] = raw[f] = 0;
    for (size_t i = 0; i < p->node_count; i++) {
        const cprof_node *n = &p->nodes[i];
        if (n->site == CPROF_NONE) continue;
        double raw_self = (double)n->raw_total_ns;
        for (uint32_t c = n->first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling)
            raw_self -= (double)p->nodes[c].raw_total_ns;
        for (int f = 0; f < FUNCTIONS; f++) {
            if (strcmp(p->sites[n->site].name, names[f]) != 0) continue;
            compensated[f] += (double)n->self_ns;
            raw[f] += raw_self > 0 ? raw_self : 0;
        }
    }
    static int said;
    if (p->compensation.applied && !said++)
        printf("  run: %llu scopes, %.1f ns inside + %.1f ns outside each\n", (unsigned long long)p->compensation.scopes,
               p->compensation.inside_ns, p->compensation.outside_ns);
    cprof_profile_free(p);
}

/* In place: each value's share of their sum, in percent; returns the sum. */
static double to_shares(double *values) {
    double sum = 0;
    for (int f = 0; f < FUNCTIONS; f++) sum += values[f];
    for (int f = 0; f < FUNCTIONS; f++) values[f] = sum > 0 ? 100.0 * values[f] / sum : 0;
    return sum;
}

int main(void) {
    double runs[3][FUNCTIONS][RUNS], share[3][FUNCTIONS]; /* truth, compensated, raw */
    double ratio[2][RUNS];                                /* recorded time / the truth's */
    for (int r = 0; r < RUNS; r++) {
        double t[FUNCTIONS], c[FUNCTIONS], w[FUNCTIONS];
        truth(t);
        measured(c, w);
        double truth_ns = to_shares(t);
        ratio[0][r] = to_shares(c) / truth_ns;
        ratio[1][r] = to_shares(w) / truth_ns;
        for (int f = 0; f < FUNCTIONS; f++) runs[0][f][r] = t[f], runs[1][f][r] = c[f], runs[2][f][r] = w[f];
    }
    for (int k = 0; k < 3; k++)
        for (int f = 0; f < FUNCTIONS; f++) share[k][f] = median(runs[k][f], RUNS);
    printf("\nself-time shares, medians of %d runs (truth: the functions without scopes, timed alone)\n", RUNS);
    printf("  function      truth  compensated          raw\n");
    double error[2] = {0, 0};
    for (int f = 0; f < FUNCTIONS; f++) {
        printf("  %-8s   %6.1f%%  %10.1f%%  %10.1f%%\n", names[f], share[0][f], share[1][f], share[2][f]);
        error[0] += fabs(share[1][f] - share[0][f]);
        error[1] += fabs(share[2][f] - share[0][f]);
    }
    printf("  error (sum of |share - truth|): compensated %.1f points, raw %.1f points\n", error[0], error[1]);
    printf("  recorded time / truth: compensated %.2fx, raw %.2fx\n", median(ratio[0], RUNS), median(ratio[1], RUNS));
    return 0;
}
