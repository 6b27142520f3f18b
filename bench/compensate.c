/* compensate - does own-cost compensation give the right self-time shares? A synthetic program with
   known work: two busy loops (crunch, mix), a parser with a busy part that calls a tiny function
   100,000 times (parse, token), a walker that only calls a tinier one 200,000 times (walk, visit). The
   truth: the same functions without scopes, each timed alone (a parent's self = its plain time minus
   its callees' plain time; the loop and call instruction of a callee count in its caller, where a
   profiler sees them: measured as the same loop calling an empty function). Then the instrumented
   program, captured: the compensated self shares (the profile's self_ns) and the raw ones (from
   raw_total_ns, the same run). Each share is the median of RUNS runs; "error" sums |share - truth| over
   the functions: the baseline is the truth, 0 is perfect.
   Two kinds of tiny callee, the same program otherwise: "memory" (token adds to a volatile 8 times,
   visit once: each step a load and a store the next step waits for) and "registers" (token 8 steps of
   a multiply chain, visit 2, in registers). The kind decides how much of a scope's inside cost the
   CPU hides behind the callee's own work, which an empty-body calibration cannot know. */
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
/* n steps of a dependent multiply chain kept in a register (the empty asm keeps the compiler from
   folding it) */
NOINLINE static void spin_registers(int n) {
    uint64_t x = (uint64_t)n;
    for (int i = 0; i < n; i++) {
        x = x * 2654435761u + (uint64_t)i;
        __asm__ __volatile__("" : "+r"(x));
    }
    if (x == 1) sink = x;
}

/* The workload four times: with scopes (S = CPROF_SCOPE) and without (S = nothing), with each kind of
   tiny callee (TOKEN and VISIT, their bodies). */
#define NO_SCOPE(name)
#define WORKLOAD(suffix, S, TOKEN, VISIT)                                                \
    NOINLINE static void crunch_##suffix(void) { S("crunch"); spin(400000); }          \
    NOINLINE static void mix_##suffix(void) { S("mix"); spin(600000); }                \
    NOINLINE static void token_##suffix(void) { S("token"); TOKEN; }                   \
    NOINLINE static void visit_##suffix(void) { S("visit"); VISIT; }                   \
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
WORKLOAD(memory_plain, NO_SCOPE, spin(8), sink++)
WORKLOAD(memory_scoped, CPROF_SCOPE, spin(8), sink++)
WORKLOAD(registers_plain, NO_SCOPE, spin_registers(8), spin_registers(2))
WORKLOAD(registers_scoped, CPROF_SCOPE, spin_registers(8), spin_registers(2))

/* One kind of the workload: its functions without scopes, and the program with them. */
typedef struct workload {
    const char *kind;
    void (*crunch)(void), (*mix)(void), (*parse)(void), (*token)(void), (*walk)(void), (*visit)(void);
    void (*program)(void);
} workload;
static const workload workloads[2] = {
    {"memory", crunch_memory_plain, mix_memory_plain, parse_memory_plain, token_memory_plain, walk_memory_plain,
     visit_memory_plain, program_memory_scoped},
    {"registers", crunch_registers_plain, mix_registers_plain, parse_registers_plain, token_registers_plain,
     walk_registers_plain, visit_registers_plain, program_registers_scoped}};

/* The truth, in ns of self time per function (the order of `names`). */
static void truth(const workload *w, double self[FUNCTIONS]) {
    double t0 = now_ns();
    for (int i = 0; i < CRUNCHES * REPEAT; i++) w->crunch();
    double t1 = now_ns();
    for (int r = 0; r < REPEAT; r++) w->mix();
    double t2 = now_ns();
    for (int r = 0; r < REPEAT; r++) w->parse();
    double t3 = now_ns();
    for (int i = 0; i < TOKENS * REPEAT; i++) w->token();
    double t4 = now_ns();
    for (int r = 0; r < REPEAT; r++) w->walk();
    double t5 = now_ns();
    for (int i = 0; i < VISITS * REPEAT; i++) w->visit();
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
static void measured(const workload *w, double compensated[FUNCTIONS], double raw[FUNCTIONS]) {
    cprof_reset();
    w->program();
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
    if (p->compensation.applied && said++ % RUNS == 0)
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

/* The runs of one kind, interleaved with its truth; the table and the errors. */
static void measure(const workload *w) {
    static const double calls[FUNCTIONS] = {CRUNCHES * REPEAT, REPEAT, REPEAT, (double)TOKENS * REPEAT, REPEAT,
                                            (double)VISITS * REPEAT};
    double runs[3][FUNCTIONS][RUNS], share[3][FUNCTIONS]; /* truth, compensated, raw */
    double per_call[3][FUNCTIONS][RUNS];                  /* the same in ns a call */
    double ratio[2][RUNS];                                /* recorded time / the truth's */
    printf("\n%s callees\n", w->kind);
    for (int r = 0; r < RUNS; r++) {
        double t[FUNCTIONS], c[FUNCTIONS], raw[FUNCTIONS];
        truth(w, t);
        measured(w, c, raw);
        for (int f = 0; f < FUNCTIONS; f++)
            per_call[0][f][r] = t[f] / calls[f], per_call[1][f][r] = c[f] / calls[f], per_call[2][f][r] = raw[f] / calls[f];
        double truth_ns = to_shares(t);
        ratio[0][r] = to_shares(c) / truth_ns;
        ratio[1][r] = to_shares(raw) / truth_ns;
        for (int f = 0; f < FUNCTIONS; f++) runs[0][f][r] = t[f], runs[1][f][r] = c[f], runs[2][f][r] = raw[f];
    }
    for (int k = 0; k < 3; k++)
        for (int f = 0; f < FUNCTIONS; f++) share[k][f] = median(runs[k][f], RUNS);
    printf("  self-time shares, medians of %d runs (truth: the functions without scopes, timed alone)\n", RUNS);
    printf("  function      truth  compensated          raw\n");
    double error[2] = {0, 0}, worst[2] = {0, 0};
    for (int f = 0; f < FUNCTIONS; f++) {
        printf("  %-8s   %6.1f%%  %10.1f%%  %10.1f%%\n", names[f], share[0][f], share[1][f], share[2][f]);
        for (int k = 0; k < 2; k++) {
            double miss = fabs(share[k + 1][f] - share[0][f]);
            error[k] += miss;
            if (miss > worst[k]) worst[k] = miss;
        }
    }
    printf("  error (sum of |share - truth|): compensated %.1f points, raw %.1f points\n", error[0], error[1]);
    printf("  largest miss of one function: compensated %.1f points, raw %.1f points\n", worst[0], worst[1]);
    printf("  recorded time / truth: compensated %.2fx, raw %.2fx\n", median(ratio[0], RUNS), median(ratio[1], RUNS));
    printf("  self ns a call (medians): truth, compensated, raw\n");
    for (int f = 3; f < FUNCTIONS; f += 2) /* token, visit */
        printf("    %-8s %8.2f %8.2f %8.2f\n", names[f], median(per_call[0][f], RUNS), median(per_call[1][f], RUNS),
               median(per_call[2][f], RUNS));
    printf("    %-8s %8.2f %8.2f %8.2f   (per visit call)\n", "walk", median(per_call[0][4], RUNS) / VISITS,
           median(per_call[1][4], RUNS) / VISITS, median(per_call[2][4], RUNS) / VISITS);
}

int main(void) {
    for (int k = 0; k < 2; k++) measure(&workloads[k]);
    return 0;
}
