/* The before/after comparison: the seed figures (speedup 2.0, -50%), new and removed functions, the
   text report, the CI verdict, one run a side (no test: a time counts only when its share of the run
   moves by a factor beyond --single-run-threshold in a function of at least --single-run-min-share),
   several runs per side (Welch's t-test on the runs' shares, Benjamini-Hochberg over the tests, the
   --min-share floor) on planted profiles, a function counted in one run and timed in another (compared
   inside its caller), two snapshots of the same work (no significant change), the statistics on fixed
   samples, cprof_noise_write and the differential flame graph's colours. With `--samples DIR` it writes before.json,
   after.json and run files for the Makefile's check of the `cprof diff` tool. */
#include "../cprof.h"
#include "check.h"
#include <math.h>
#include <stdlib.h>

#define CHECK_NEAR(a, b, tolerance) CHECK((a) > (b) - (tolerance) && (a) < (b) + (tolerance))

static const char *const seed_before[] = {"main 1 1000000000", " optimized 100 1000000000", NULL};
static const char *const seed_after[] = {"main 1 500000000", " optimized 100 500000000", NULL};

/* optimized gets faster, slower doubles, steady stays, old goes and fresh comes. */
static const char *const mixed_before[] = {"main 1 1000000000", " old 5 50000000",     " optimized 100 650000000",
                                           " slower 10 100000000", " steady 20 200000000", NULL};
static const char *const mixed_after[] = {"main 1 800000000",   " fresh 3 30000000",    " optimized 100 370000000",
                                          " slower 10 200000000", " steady 20 200000000", NULL};

static const char *report_of(const cprof_comparison *c) {
    static char text[1 << 15];
    size_t length = cprof_comparison_format(c, text, sizeof text);
    CHECK(length < sizeof text);
    return text;
}

/* The first data line after the line that starts with `title`. */
static const char *first_row(const char *report, const char *title) {
    static char row[512];
    const char *at = strstr(report, title);
    row[0] = '\0';
    if (!at) return row;
    at = strchr(at, '\n');
    if (at) at = strchr(at + 1, '\n'); /* skip the column header */
    if (!at) return row;
    const char *end = strchr(at + 1, '\n');
    snprintf(row, sizeof row, "%.*s", (int)(end ? end - at - 1 : (long)strlen(at + 1)), at + 1);
    return row;
}

/* One run a side with --single-run-threshold=30: a measured change beyond 30% counts, untested. */
static cprof_compare_options single_run_options(void) {
    cprof_compare_options o = cprof_compare_defaults();
    o.single_run_threshold_pct = 30.0;
    return o;
}

/* The whole run twice as fast: every time halved, no share moved. A time counts only when its share
   of the run moved the same way (a machine-wide slowdown moves every time and no share), so nothing
   counts; the figures are still there. */
static void test_seed(void) {
    cprof_profile *before = build_profile(seed_before), *after = build_profile(seed_after);
    cprof_compare_options options = single_run_options();
    cprof_comparison *c = cprof_compare(before, after, &options);
    CHECK(c != NULL);
    CHECK(c->speedup == 2.0);
    const cprof_change *o = cprof_comparison_find(c, "optimized", "total time");
    CHECK(o && o->before == 1e9 && o->after == 5e8 && o->change_pct == -50.0 && o->verdict == CPROF_UNCHANGED);
    CHECK(o && o->share_before == 100.0 && o->share_after == 100.0);
    CHECK(o && isnan(o->p_value)); /* one run a side: no test */
    const char *report = report_of(c);
    CHECK_CONTAINS(report, "Wall time: 1.000 s -> 500.00 ms   speedup 2.00x (before / after)");
    CHECK_CONTAINS(report, "by a factor beyond 30% either way (--single-run-threshold: 100 is 2x slower or faster), a self time's "
                           "share of the run in a function holding at least 10% of it on both sides (--single-run-min-share): "
                           "one run a side gives no test");
    CHECK_CONTAINS(report, "\nA time counts only when its share of the run's recorded time moved the same way: a machine-wide "
                           "slowdown moves every time and no share.\n");
    CHECK_CONTAINS(report, "REGRESSIONS, largest first (time lost) (0)");
    CHECK_EQ_U64(c->regressed + c->improved + c->within_noise, 0);
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_ANY), 0);
    cprof_comparison_free(c);
    cprof_profile_free(before);
    cprof_profile_free(after);
}

static void test_mixed(void) {
    cprof_profile *before = build_profile(mixed_before), *after = build_profile(mixed_after);
    cprof_compare_options options = single_run_options();
    cprof_comparison *c = cprof_compare(before, after, &options);
    const cprof_change *slower = cprof_comparison_find(c, "slower", "self time");
    CHECK(slower && slower->change_pct == 100.0 && slower->verdict == CPROF_REGRESSED);
    CHECK_EQ_U64(cprof_comparison_find(c, "steady", "self time")->verdict, CPROF_UNCHANGED);
    CHECK_EQ_U64(cprof_comparison_find(c, "slower", "calls")->verdict, CPROF_UNCHANGED);
    CHECK(cprof_comparison_find(c, "nothing", "self time") == NULL);
    CHECK(cprof_comparison_find(c, "slower", "no such metric") == NULL);
    CHECK_EQ_U64(c->function_count, 6);
    CHECK_EQ_STR(c->functions[0].name, "fresh"); /* by name */
    CHECK_EQ_U64(c->functions[0].presence, CPROF_NEW);
    CHECK_EQ_STR(c->functions[2].name, "old");
    CHECK_EQ_U64(c->functions[2].presence, CPROF_REMOVED);
    CHECK_EQ_U64(c->functions[2].metrics[0].verdict, CPROF_UNCHANGED); /* listed as removed, not as a change */
    /* Improvements by time saved, not by percent: optimized saved 280 ms (-43%), main's self 0 -> 0. */
    const char *report = report_of(c);
    CHECK_CONTAINS(first_row(report, "Improvements"), "  optimized  self time");
    CHECK_CONTAINS(first_row(report, "!! REGRESSIONS"), "!! slower     self time         100.00 ms   200.00 ms   +100.0%        -");
    CHECK_CONTAINS(report, "\nNew functions (only after) (1)\n  fresh      total 30.00 ms, 3 calls\n");
    CHECK_CONTAINS(report, "\nRemoved functions (only before) (1)\n  old        total 50.00 ms, 5 calls\n");
    CHECK_CONTAINS(report, "\n!! 1 significant regression\n"); /* slower's self time (a total never counts on one run a side) */
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_TIME), 1);
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_ANY), 1);
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_ALLOC), 0);
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_NONE), 0);
    cprof_comparison_free(c);
    /* A threshold above the change: nothing counts. */
    cprof_compare_options o = single_run_options();
    o.threshold_pct = 150.0;
    c = cprof_compare(before, after, &o);
    CHECK_EQ_U64(c->regressed + c->improved + c->within_noise, 0);
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_ANY), 0);
    cprof_comparison_free(c);
    cprof_profile_free(before);
    cprof_profile_free(after);
}

/* One run a side with the defaults (--single-run-threshold=50, --single-run-min-share=10): no test; a
   self time counts when its share of the run moved by a factor of 1.5 either way, in a function holding
   at least 10% of the run on both sides, and the time moved the same way beyond the threshold (a total
   time, which any moment lost anywhere below it moves, never counts on one run a side).
   slower: 100 -> 200 ms, its share 10% -> 25% (factor 150%): REGRESSED. optimized: 650 -> 370 ms, its
   share 65% -> 46.25% (factor 40.5%): within noise. steady: 200 ms both, its share 20% -> 25%: the time
   did not move, unchanged. With --single-run-threshold=0 nothing measured counts, and the report says why. */
static void test_single_run_default(void) {
    cprof_profile *before = build_profile(mixed_before), *after = build_profile(mixed_after);
    cprof_comparison *c = cprof_compare(before, after, NULL);
    const cprof_change *w = cprof_comparison_find(c, "slower", "total time");
    CHECK(w && w->change_pct == 100.0 && isnan(w->p_value) && w->verdict == CPROF_WITHIN_NOISE); /* a total */
    CHECK(w && w->share_before == 10.0 && w->share_after == 25.0);
    CHECK_EQ_U64(cprof_comparison_find(c, "slower", "self time")->verdict, CPROF_REGRESSED);
    const cprof_change *o = cprof_comparison_find(c, "optimized", "self time");
    CHECK(o && o->verdict == CPROF_WITHIN_NOISE);
    CHECK_NEAR(o->share_after, 46.25, 1e-9);
    CHECK_EQ_U64(cprof_comparison_find(c, "steady", "self time")->verdict, CPROF_UNCHANGED);
    CHECK_EQ_U64(c->regressed, 1); /* slower's self time */
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_TIME), 1);
    cprof_comparison_free(c);
    /* --single-run-min-share=30: slower (10% before) is too small to count on one run a side. */
    cprof_compare_options options = cprof_compare_defaults();
    options.single_run_min_share_pct = 30.0;
    c = cprof_compare(before, after, &options);
    CHECK_EQ_U64(cprof_comparison_find(c, "slower", "self time")->verdict, CPROF_WITHIN_NOISE);
    cprof_comparison_free(c);
    /* The threshold is a factor either way: optimized's share moved by 40.5%, beyond 40, not beyond 41. */
    options = cprof_compare_defaults();
    options.single_run_threshold_pct = 40.0;
    c = cprof_compare(before, after, &options);
    CHECK_EQ_U64(cprof_comparison_find(c, "optimized", "self time")->verdict, CPROF_IMPROVED);
    cprof_comparison_free(c);
    options.single_run_threshold_pct = 41.0;
    c = cprof_compare(before, after, &options);
    CHECK_EQ_U64(cprof_comparison_find(c, "optimized", "self time")->verdict, CPROF_WITHIN_NOISE);
    cprof_comparison_free(c);
    options.single_run_threshold_pct = 0.0;
    c = cprof_compare(before, after, &options);
    CHECK_EQ_U64(c->regressed + c->improved, 0);
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_ANY), 0);
    const char *report = report_of(c);
    CHECK_CONTAINS(report, "never: one run a side cannot tell a change from the machine's noise. Several runs a side "
                           "(B1 B2 ... -- A1 A2 ...) give a real test; cprof diff --noise suggests a --single-run-threshold.");
    CHECK_CONTAINS(report, "~ within noise: beyond the threshold, but not told apart from noise (4)");
    cprof_comparison_free(c);
    cprof_profile_free(before);
    cprof_profile_free(after);
}

/* A function that automatic instrumentation counted in one run (its time in its caller's self) and
   timed in another is compared inside its caller: caller's self is 200 + 400 ms in the first run and
   600 ms in the second, unchanged; leaf's own times are left out; the report says so. With one run a
   side such a caller's self time does not count. */
static void test_counted_in_one_run(void) {
    static const char *const timed[] = {"main 1 1000000000", " caller 10 600000000", "  leaf 1000 400000000", NULL};
    static const char *const counted[] = {"main 1 1000000000", " caller 10 600000000", "  leaf 1000 0", NULL};
    cprof_profile *before = build_profile(timed), *after = build_profile(counted);
    after->nodes[3].counted_calls = 1000; /* the root, main, caller, leaf */
    CHECK_EQ_U64(cprof__test_derive(after), 0);
    cprof_comparison *c = cprof_compare(before, after, NULL);
    const cprof_change *caller = cprof_comparison_find(c, "caller", "self time");
    CHECK(caller && caller->before == 6e8 && caller->after == 6e8 && caller->verdict == CPROF_UNCHANGED);
    CHECK(caller && caller->share_before == 60.0 && caller->share_after == 60.0);
    const cprof_change *leaf = cprof_comparison_find(c, "leaf", "self time");
    CHECK(leaf && leaf->before == 0.0 && leaf->after == 0.0 && leaf->verdict == CPROF_UNCHANGED);
    CHECK_EQ_U64(c->mixed_counted, 1);
    CHECK_EQ_U64(c->regressed + c->improved + c->within_noise, 0);
    CHECK_CONTAINS(report_of(c), "Counted in some runs, timed in others: 1 automatic function (CPROF_AUTO_MIN_NS "
                                 "decides in each run from the first calls): compared inside its callers' self time, "
                                 "which one run a side does not judge");
    cprof_comparison_free(c);
    /* One run a side, the caller's self time (its own and leaf's) 600 -> 900 ms, its share 60% -> 90%:
       a factor of 1.5, which counts for another function (test_single_run_default), but the caller holds
       leaf's own cost, timed in one run and counted in the other: within noise. */
    static const char *const slower[] = {"main 1 1000000000", " caller 10 900000000", "  leaf 1000 0", NULL};
    cprof_profile *slow = build_profile(slower);
    slow->nodes[3].counted_calls = 1000;
    CHECK_EQ_U64(cprof__test_derive(slow), 0);
    c = cprof_compare(before, slow, NULL);
    caller = cprof_comparison_find(c, "caller", "self time");
    CHECK(caller && caller->share_before == 60.0 && caller->share_after == 90.0);
    CHECK(caller && caller->verdict == CPROF_WITHIN_NOISE);
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_TIME), 0);
    cprof_comparison_free(c);
    cprof_profile_free(slow);
    /* Counted in both: nothing to fold. */
    c = cprof_compare(after, after, NULL);
    CHECK_EQ_U64(c->mixed_counted, 0);
    cprof_comparison_free(c);
    cprof_profile_free(before);
    cprof_profile_free(after);
}

/* Statistics on fixed samples. Reference values computed independently (tests/compare_reference.py:
   Student's t density integrated numerically; Benjamini-Hochberg from its definition). */
static void test_statistics(void) {
    double x[3], y[3], one[3]; /* {n, mean, variance} */
    cprof__test_sample_of(10, 50.0, 10 * 25.0 + 9 * 4.0, x); /* mean 5, variance 4 */
    cprof__test_sample_of(12, 78.0, 12 * 42.25 + 11 * 9.0, y); /* mean 6.5, variance 9 */
    CHECK_NEAR(x[1], 5.0, 1e-12);
    CHECK_NEAR(x[2], 4.0, 1e-12);
    CHECK_NEAR(cprof__test_welch_p(x, y), 0.1778398484325528, 1e-9);
    const double a[3] = {100, 1000.0, 2500.0}, b[3] = {80, 1010.0, 3600.0};
    CHECK_NEAR(cprof__test_welch_p(a, b), 0.233842440022917, 1e-9);
    cprof__test_sample_of(1, 5.0, 25.0, one);
    CHECK(isnan(cprof__test_welch_p(one, y)));
    /* Benjamini-Hochberg (tests/compare_reference.py: the definition, min over ranks j >= i of m p(j) / j). */
    double p[] = {0.01, 0.04, 0.03, 0.005, 0.5, 0.2, 0.03};
    const double adjusted[] = {0.035, 0.056, 0.0525, 0.035, 0.5, 0.23333333333333336, 0.0525};
    cprof__test_benjamini_hochberg(p, 7);
    for (int i = 0; i < 7; i++) CHECK_NEAR(p[i], adjusted[i], 1e-12);
    /* The moderated t-test (tests/compare_reference.py: digamma and trigamma by finite differences of
       lgamma, trigamma's inverse by bisection). Variances that spread more than chance: a finite prior,
       and a function's variance drawn toward it; no more than chance: d0 infinite, the prior's alone. */
    const double spread[5] = {0.001, 0.02, 0.005, 0.1, 0.012}, alike[5] = {0.01, 0.02, 0.015, 0.03, 0.012};
    double prior[2];
    CHECK_EQ_U64(cprof__test_moderation_prior(spread, 5, 8.0, prior), 0);
    CHECK_NEAR(prior[0], 1.473469883467262, 1e-5);
    CHECK_NEAR(prior[1], 0.005231509025486264, 1e-8);
    CHECK_NEAR(cprof__test_moderated_p(0.1, 0.01, 8.0, 5, 5, prior, 40.0), 0.1330551265351792, 1e-6);
    CHECK_EQ_U64(cprof__test_moderation_prior(alike, 5, 8.0, prior), 0);
    CHECK(isinf(prior[0]));
    CHECK_NEAR(prior[1], 0.018332418817526997, 1e-9);
    CHECK_NEAR(cprof__test_moderated_p(0.1, 0.01, 8.0, 5, 5, prior, 40.0), 0.24981031983227792, 1e-6);
    const double two[3] = {0.01, 0.0, 0.02}; /* a variance of 0 is left out: two are too few */
    CHECK_EQ_U64(cprof__test_moderation_prior(two, 3, 8.0, prior), (uint64_t)-1);
}

/* Several runs a side: work's shares of the runs compared with the moderated t-test on their logarithms
   (the runs are the independent unit), next to rest (100 ms in every run). work 100-104 ms before, 80-84
   after: its share 100 w / (w + 100). Reference: tests/compare_reference.py, "runs": work's p (self and
   total alike) 6.920481058253917e-22, rest's 1.7253668107657764e-20; five tests (main's total, p 1):
   work's ranks 1-2 of 5, adjusted 5 p / 2. rest's time did not move: unchanged. */
static void test_runs(void) {
    char lines[5][2][3][64];
    const char *text[5][2][4];
    cprof_profile *before[5], *after[5];
    for (int r = 0; r < 5; r++) {
        for (int s = 0; s < 2; s++) {
            int work_ms = (s ? 80 : 100) + r; /* 100-104 ms, then 80-84 */
            snprintf(lines[r][s][0], 64, "main 1 %d", (work_ms + 100) * 1000000);
            snprintf(lines[r][s][1], 64, " work 100 %d", work_ms * 1000000);
            snprintf(lines[r][s][2], 64, " rest 100 100000000");
            for (int l = 0; l < 3; l++) text[r][s][l] = lines[r][s][l];
            text[r][s][3] = NULL;
        }
        before[r] = build_profile(text[r][0]);
        after[r] = build_profile(text[r][1]);
    }
    cprof_comparison *c = cprof_compare_runs((const cprof_profile *const *)before, 5,
                                             (const cprof_profile *const *)after, 5, NULL);
    const cprof_change *w = cprof_comparison_find(c, "work", "total time");
    CHECK(w && w->before == 102e6 && w->after == 82e6); /* medians */
    CHECK_NEAR(w->share_before, 100.0 * 102 / 202, 1e-9);
    CHECK_NEAR(w->p_value / (6.920481058253917e-22 * 5 / 2), 1.0, 1e-4);
    CHECK_EQ_U64(c->tests, 5);
    CHECK_EQ_U64(w->verdict, CPROF_IMPROVED);
    CHECK_EQ_U64(cprof_comparison_find(c, "rest", "self time")->verdict, CPROF_UNCHANGED);
    CHECK_NEAR(c->speedup, 202.0 / 182.0, 1e-12);
    CHECK_CONTAINS(report_of(c), "Runs: 5 before, 5 after.");
    CHECK_CONTAINS(report_of(c), "when the moderated t-test on the logarithms of the runs' shares (a counter's: Welch's t-test on its values) gives p < 0.05 adjusted for the 5 tests (Benjamini-Hochberg).");
    cprof_comparison_free(c);
    /* One run on one side: no spread there, no test, within noise. */
    c = cprof_compare_runs((const cprof_profile *const *)before, 1, (const cprof_profile *const *)after, 5, NULL);
    w = cprof_comparison_find(c, "work", "total time");
    CHECK(w && isnan(w->p_value) && w->verdict == CPROF_WITHIN_NOISE);
    cprof_comparison_free(c);
    CHECK(cprof_compare_runs((const cprof_profile *const *)before, 0, (const cprof_profile *const *)after, 1, NULL) == NULL);
    CHECK(cprof_compare(before[0], NULL, NULL) == NULL);
    for (int r = 0; r < 5; r++) {
        cprof_profile_free(before[r]);
        cprof_profile_free(after[r]);
    }
}

/* A planted run: main 1000 ms, then `count` children of 10 calls each, their totals in ms. */
static cprof_profile *planted(const char *const *names, const double *ms, size_t count) {
    char lines[64][64];
    const char *text[65];
    snprintf(lines[0], 64, "main 1 1000000000");
    text[0] = lines[0];
    for (size_t i = 0; i < count && i < 63; i++) {
        snprintf(lines[i + 1], 64, " %s 10 %.0f", names[i], ms[i] * 1e6);
        text[i + 1] = lines[i + 1];
    }
    text[count < 63 ? count + 1 : 64] = NULL;
    return build_profile(text);
}

/* Five runs a side: `one` at 100, 102, ... ms before and 106, 108, ... after (its shares of the 1 s run
   tested: Welch's p = 0.0170716812337937, tests/compare_reference.py: welch(5, 10.4, 0.1, 5, 11, 0.1) as
   welch(5, 104, 10, 5, 110, 10), the t the same), next to `extra`
   functions of 40 ms that do not change. */
static cprof_comparison *planted_runs(size_t extra, const cprof_compare_options *options) {
    const char *names[32] = {"one", "tiny"};
    static const char *const steady[] = {"s00", "s01", "s02", "s03", "s04", "s05", "s06", "s07", "s08", "s09",
                                         "s10", "s11", "s12", "s13", "s14", "s15", "s16", "s17", "s18", "s19"};
    double ms[32];
    cprof_profile *runs[10];
    for (size_t i = 0; i < extra; i++) names[2 + i] = steady[i], ms[2 + i] = 40.0;
    for (int r = 0; r < 10; r++) {
        ms[0] = (r < 5 ? 100.0 : 106.0) + 2.0 * (r % 5);
        ms[1] = r < 5 ? 0.01 + 0.001 * r : 0.1 + 0.001 * r; /* 0.001% of the run, ten times slower after */
        runs[r] = planted(names, ms, 2 + extra);
    }
    cprof_comparison *c = cprof_compare_runs((const cprof_profile *const *)runs, 5, (const cprof_profile *const *)runs + 5,
                                             5, options);
    for (int r = 0; r < 10; r++) cprof_profile_free(runs[r]);
    return c;
}

/* The gate's rules on planted runs: the p-values adjusted for the number of tests (Benjamini-Hochberg),
   the family being the functions at least --min-share of the run; a change below the floor never counts. */
static void test_gate_rules(void) {
    /* Tested: main self (it loses what one gains), main total (p 1), one self and total; tiny holds
       0.001% of the run: untested. tests/compare_reference.py, "planted 0": one's p 0.011816443926064436
       (self and total, ranks 1-2 of 4), main self's 0.0295158307292673 (rank 3): one's adjusted
       min(4 p / 2, 4 p_main / 3) = 4 p / 2. */
    cprof_comparison *c = planted_runs(0, NULL);
    const cprof_change *one = cprof_comparison_find(c, "one", "self time");
    CHECK_EQ_U64(c->tests, 4);
    CHECK_NEAR(one->p_value, 0.011816443926064436 * 4.0 / 2.0, 1e-6);
    CHECK_EQ_U64(one->verdict, CPROF_REGRESSED);
    const cprof_change *tiny = cprof_comparison_find(c, "tiny", "self time");
    CHECK(tiny && tiny->change_pct > 700.0 && isnan(tiny->p_value) && tiny->verdict == CPROF_UNCHANGED);
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_TIME), 1);
    cprof_comparison_free(c);
    /* Twenty steady functions more (their shares never move: p 1): 44 tests; "planted 20": one's p
       0.0077256875715944195 (ranks 2-3), main self's 0.0018668499101237677 (rank 1): one's adjusted
       44 p / 3 = 0.11, noise. */
    c = planted_runs(20, NULL);
    one = cprof_comparison_find(c, "one", "self time");
    CHECK_EQ_U64(c->tests, 44);
    CHECK_NEAR(one->p_value, 0.0077256875715944195 * 44.0 / 3.0, 1e-6);
    CHECK_EQ_U64(one->verdict, CPROF_WITHIN_NOISE);
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_ANY), 0);
    cprof_comparison_free(c);
    /* --min-share=0: tiny is tested (and significant: its runs barely spread); one's change (6 ms,
       0.6% of the run) is below --min-share=1, so it does not count however significant. */
    cprof_compare_options o = cprof_compare_defaults();
    o.min_share_pct = 0.0;
    c = planted_runs(0, &o);
    tiny = cprof_comparison_find(c, "tiny", "self time");
    CHECK(tiny && !isnan(tiny->p_value) && tiny->verdict == CPROF_REGRESSED);
    cprof_comparison_free(c);
    o.min_share_pct = 1.0;
    c = planted_runs(0, &o);
    one = cprof_comparison_find(c, "one", "self time");
    CHECK(one && one->change_pct > 5.0 && one->verdict == CPROF_UNCHANGED);
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_ANY), 0);
    cprof_comparison_free(c);
    /* Five runs before, one after (a stored baseline and a new run): no test, so the one-run rule judges
       the after run against the before runs' medians: one 100-108 ms (median 104) -> 400 ms, its share
       10.4% -> 40%, a factor beyond 1.5 in a function of at least 10% on both sides: a regression. */
    const char *names[1] = {"one"};
    cprof_profile *runs[6];
    for (int r = 0; r < 6; r++) {
        double ms[1] = {r < 5 ? 100.0 + 2.0 * r : 400.0};
        runs[r] = planted(names, ms, 1);
    }
    c = cprof_compare_runs((const cprof_profile *const *)runs, 5, (const cprof_profile *const *)runs + 5, 1, NULL);
    one = cprof_comparison_find(c, "one", "self time");
    CHECK(one && isnan(one->p_value) && one->verdict == CPROF_REGRESSED);
    CHECK_EQ_U64(c->tests, 0);
    CHECK_EQ_U64(cprof_comparison_failed(c, CPROF_FAIL_TIME), 1);
    CHECK_CONTAINS(report_of(c), "Runs: 5 before, 1 after. A change counts when it is beyond 5% and at least 0.5% of the "
                                 "run (--min-share), and, for measured metrics (times, counters), by a factor beyond 50%");
    cprof_comparison_free(c);
    for (int r = 0; r < 6; r++) cprof_profile_free(runs[r]);
}

static char *read_all(FILE *f);

/* cprof_noise_write on three runs of one build: every two compared; one's 100, 102, 104 ms of 1 s (its
   share 10.0, 10.2, 10.4%): the largest factor 4% (104 / 100), its change 4 ms is below 0.5% of the run
   (5 ms) at the default floor, counted at --min-share=0.1; tiny never counts. Fewer than two runs: -1. */
static void test_noise(void) {
    const char *names[2] = {"one", "tiny"};
    cprof_profile *runs[3];
    for (int r = 0; r < 3; r++) {
        double ms[2] = {100.0 + 2.0 * r, 0.01};
        runs[r] = planted(names, ms, 2);
    }
    cprof_compare_options o = cprof_compare_defaults();
    o.min_share_pct = 0.1;
    FILE *f = tmpfile();
    CHECK_EQ_U64(cprof_noise_write((const cprof_profile *const *)runs, 3, f, &o, 10), 0);
    char *text = read_all(f);
    fclose(f);
    CHECK_CONTAINS(text, "Noise: 3 runs of one build, every two compared as one run a side (3 pairs)\n");
    CHECK_CONTAINS(text, "  function (by self time)                     share largest share factor\n");
    CHECK_CONTAINS(text, "  one                                        10.20%                   4%\n");
    CHECK_CONTAINS(text, "  tiny                                        0.00%    under --min-share\n");
    CHECK_CONTAINS(text, "in functions holding at least 10% of it in both: 4% (one)\n");
    CHECK_CONTAINS(text, "Suggested for one run a side: --single-run-threshold=10 ");
    free(text);
    f = tmpfile(); /* two runs: one pair */
    CHECK_EQ_U64(cprof_noise_write((const cprof_profile *const *)runs, 2, f, &o, 10), 0);
    text = read_all(f);
    fclose(f);
    CHECK_CONTAINS(text, "Noise: 2 runs of one build, every two compared as one run a side (1 pair)\n");
    free(text);
    CHECK(cprof_noise_write((const cprof_profile *const *)runs, 1, stdout, NULL, 10) == -1);
    for (int r = 0; r < 3; r++) cprof_profile_free(runs[r]);
}

static void work(int calls, uint64_t ns) {
    for (int i = 0; i < calls; i++) {
        CPROF_SCOPE("work");
        busy_wait_ns(ns);
    }
}

/* The same work twice in one process, compared: the labels are the snapshots' names. Whether the time
   changed depends on the machine's load, so no verdict on time is asserted here (the planted profiles
   above test those); what holds whatever the load: the same calls, unchanged; both times at least the
   work's busy waits; a snapshot compared with itself changed in nothing. */
static void test_snapshots(void) {
    cprof_reset();
    work(100, 50000);
    cprof_profile *a = cprof_snapshot("first");
    work(100, 50000);
    cprof_profile *b = cprof_snapshot("second");
    CHECK_EQ_STR(a->snapshot, "first");
    CHECK_EQ_U64(function_calls(a, "work"), 100);
    CHECK_EQ_U64(function_calls(b, "work"), 100); /* the snapshot reset the counts */
    cprof_comparison *c = cprof_compare(a, b, NULL);
    const cprof_change *calls = cprof_comparison_find(c, "work", "calls");
    CHECK(calls && calls->before == 100 && calls->after == 100 && calls->change_pct == 0.0 && calls->verdict == CPROF_UNCHANGED);
    const cprof_change *total = cprof_comparison_find(c, "work", "total time");
    CHECK(total && total->before >= 100 * 50000.0 && total->after >= 100 * 50000.0);
    CHECK_CONTAINS(report_of(c), "Comparison: first -> second\n");
    cprof_comparison_free(c);
    c = cprof_compare(a, a, NULL);
    CHECK(c && c->improved == 0 && c->regressed == 0 && cprof_comparison_failed(c, CPROF_FAIL_ANY) == 0);
    total = cprof_comparison_find(c, "work", "total time");
    CHECK(total && total->change_pct == 0.0 && total->verdict == CPROF_UNCHANGED);
    cprof_comparison_free(c);
    cprof_profile_free(a);
    cprof_profile_free(b);
}

static char *read_all(FILE *f) {
    long length = ftell(f);
    rewind(f);
    char *text = (char *)malloc((size_t)length + 1);
    size_t got = fread(text, 1, (size_t)length, f);
    text[got] = '\0';
    return text;
}

/* The fill of the frame named `name` in an SVG: r, g, b; -1 when there is no such frame. */
static int frame_fill(const char *svg, const char *name, int rgb[3], char *details, size_t size) {
    char title[160];
    snprintf(title, sizeof title, "<g class=\"f\"><title>%s\n", name);
    const char *at = strstr(svg, title);
    if (!at) return -1;
    const char *end = strstr(at, "</title>");
    snprintf(details, size, "%.*s", (int)(end - at - strlen(title)), at + strlen(title));
    return sscanf(strstr(at, "fill=\"rgb("), "fill=\"rgb(%d,%d,%d)", &rgb[0], &rgb[1], &rgb[2]) == 3 ? 0 : -1;
}

static const char *const flame_before[] = {"main 1 600000000", " doubled 10 100000000", " halved 10 200000000",
                                           " same 10 100000000", " gone 1 50000000", NULL};
static const char *const flame_after[] = {"main 1 600000000", " doubled 10 200000000", " fresh 1 50000000",
                                          " halved 10 100000000", " same 10 100000000", NULL};

static void test_flamegraph(void) {
    cprof_profile *before = build_profile(flame_before), *after = build_profile(flame_after);
    for (int widths = 0; widths < 2; widths++) {
        FILE *f = tmpfile();
        CHECK_EQ_U64(cprof_diff_flamegraph_write(before, after, f, NULL, widths), 0);
        char *svg = read_all(f);
        fclose(f);
        int rgb[3];
        char details[512];
        CHECK(frame_fill(svg, "doubled", rgb, details, sizeof details) == 0);
        CHECK(rgb[0] == 220 && rgb[1] == 20 && rgb[2] == 20); /* the largest change: full red */
        CHECK_CONTAINS(details, "; self before 100.00 ms, after 200.00 ms, +100.00 ms (+100.0%)");
        CHECK(frame_fill(svg, "halved", rgb, details, sizeof details) == 0);
        CHECK(rgb[0] == 20 && rgb[1] == 60 && rgb[2] == 220); /* the same size of change, faster: full blue */
        CHECK_CONTAINS(details, "-100.00 ms (-50.0%)");
        CHECK(frame_fill(svg, "same", rgb, details, sizeof details) == 0);
        CHECK(rgb[0] == 140 && rgb[1] == 140 && rgb[2] == 140); /* unchanged: a neutral grey, 3.2:1 on the background */
        CHECK(frame_fill(svg, "main", rgb, details, sizeof details) == 0);
        CHECK(rgb[0] == 140 && rgb[1] == 140 && rgb[2] == 140); /* self 0 -> 0 */
        CHECK_EQ_U64(frame_fill(svg, widths ? "fresh" : "gone", rgb, details, sizeof details), (uint64_t)-1);
        CHECK(frame_fill(svg, widths ? "gone" : "fresh", rgb, details, sizeof details) == 0);
        if (widths) CHECK(rgb[0] == 150 && rgb[1] == 110 && rgb[2] == 70);
        else CHECK(rgb[0] == 150 && rgb[1] == 70 && rgb[2] == 200);
        /* A border on every frame, white labels on the dark fills (full red and blue), a legend. */
        CHECK_CONTAINS(svg, "fill=\"rgb(220,20,20)\" style=\"stroke:#333;stroke-width:0.6\"/><text x=");
        CHECK_CONTAINS(svg, "\" style=\"fill:#fff\">doubled</text>");
        CHECK_CONTAINS(svg, "<g id=\"legend\"><g class=\"key\">");
        CHECK_CONTAINS(svg, widths ? ">removed</text>" : ">new</text>");
        CHECK_CONTAINS(details, widths ? "removed: not in the after profile" : "new: not in the before profile");
        CHECK_CONTAINS(svg, widths ? "Differential flame graph: before widths" : "Differential flame graph: after widths");
        free(svg);
    }
    CHECK(cprof_diff_flamegraph_write(before, NULL, stdout, NULL, 0) == -1);
    cprof_profile_free(before);
    cprof_profile_free(after);
}

/* Files for the Makefile's check of `cprof diff`: the seed pair, the mixed pair and five runs a side
   (runs-b1..5, runs-a1..5: planted_runs' one, 100-108 ms -> 106-114 ms, and tiny). */
static int write_samples(const char *dir) {
    char path[512];
    const char *names_planted[2] = {"one", "tiny"};
    for (int r = 0; r < 10; r++) {
        double ms[2] = {(r < 5 ? 100.0 : 106.0) + 2.0 * (r % 5), r < 5 ? 0.01 + 0.001 * r : 0.1 + 0.001 * r};
        cprof_profile *p = planted(names_planted, ms, 2);
        snprintf(path, sizeof path, "%s/runs-%c%d.json", dir, r < 5 ? 'b' : 'a', r % 5 + 1);
        if (cprof_save(p, path)) return 1;
        cprof_profile_free(p);
    }
    const char *const *sets[4] = {seed_before, seed_after, mixed_before, mixed_after};
    const char *names[4] = {"seed-before", "seed-after", "before", "after"};
    for (int i = 0; i < 4; i++) {
        cprof_profile *p = build_profile(sets[i]);
        snprintf(path, sizeof path, "%s/%s.json", dir, names[i]);
        if (cprof_save(p, path)) return 1;
        cprof_profile_free(p);
    }
    return 0;
}

/* Allocation metrics, where the profiles tracked allocations: the function's own count and bytes. */
static void test_allocations(void) {
    cprof_profile *before = build_profile(seed_before), *after = build_profile(seed_after);
    before->allocs.tracked = after->allocs.tracked = 1;
    for (size_t i = 1; i < before->node_count; i++) {
        if (strcmp(before->sites[before->nodes[i].site].name, "optimized") != 0) continue;
        before->nodes[i].alloc_self_count = 1000;
        before->nodes[i].alloc_self_bytes = 64000;
    }
    for (size_t i = 1; i < after->node_count; i++) {
        if (strcmp(after->sites[after->nodes[i].site].name, "optimized") != 0) continue;
        after->nodes[i].alloc_self_count = 10;
        after->nodes[i].alloc_self_bytes = 64000 * 2;
    }
    cprof_comparison *c = cprof_compare(before, after, NULL);
    const cprof_change *count = cprof_comparison_find(c, "optimized", "allocations");
    const cprof_change *bytes = cprof_comparison_find(c, "optimized", "allocated bytes");
    CHECK(count && count->before == 1000 && count->after == 10 && count->change_pct == -99.0 && count->verdict == CPROF_IMPROVED);
    CHECK(bytes && bytes->change_pct == 100.0 && bytes->verdict == CPROF_REGRESSED);
    CHECK(cprof_comparison_failed(c, CPROF_FAIL_ALLOC));
    CHECK_CONTAINS(report_of(c), "allocated bytes");
    cprof_comparison_free(c);
    cprof_profile_free(before);
    cprof_profile_free(after);
}

/* Runs whose own cost was 80% or more of their recorded time: the compensated times are noise (f is
   clamped to 0 on both sides here, which alone would be "unchanged"), so a time is judged by its share of
   the recorded run alone. f: 300 of 1,000 us recorded before, 600 of 1,300 after (30% -> 46.2%, a
   factor of 1.54 on one run a side): regressed, its change the share's. */
static void test_shares_only(void) {
    static const char *const before_lines[] = {"main 1 1000000", " f 100 300000", NULL};
    static const char *const after_lines[] = {"main 1 1300000", " f 100 600000", NULL};
    cprof_profile *before = build_profile(before_lines), *after = build_profile(after_lines);
    CHECK_EQ_U64(cprof__test_compensate(before, 4000.0, 4000.0), 0); /* 804,000 of 1,000,000 ns subtracted */
    CHECK_EQ_U64(cprof__test_compensate(after, 6000.0, 6000.0), 0);  /* 1,206,000 of 1,300,000 */
    CHECK(find_function(before, "f")->self_ns == 0 && find_function(after, "f")->self_ns == 0);
    cprof_comparison *c = cprof_compare(before, after, NULL);
    CHECK_EQ_U64(c->shares_only, 2);
    const cprof_change *f = cprof_comparison_find(c, "f", "self time");
    CHECK(f && f->verdict == CPROF_REGRESSED);
    CHECK(f && f->change_pct > 53.8 && f->change_pct < 53.9);
    char text[4096];
    CHECK(cprof_comparison_format(c, text, sizeof text) > 0);
    CHECK_CONTAINS(text, "cprof's own cost was 80% or more of the recorded time in 2 runs: the times left are noise, so "
                         "times are judged by their shares of the recorded run alone (the change column is the share's).\n");
    cprof_comparison_free(c);
    cprof_profile_free(before);
    cprof_profile_free(after);
}

/* Below 60% of own cost, shares are of the compensated times: the own cost differs between runs (a function
   counted in one run and timed in another costs its caller more or less; the calibration moves with the
   load), and in the recorded times it moves whole functions. leaf: 290 us compensated of 980 us before,
   348 of 1,144 after (everything 1.2x slower: 29.6% -> 30.4%, a share that did not move: unchanged); recorded,
   300 of 1,000 and 700 of 1,500 (30% -> 46.7%, a factor of 1.56, which the one-run gate would call a
   regression). */
static void test_compensated_shares(void) {
    static const char *const before_lines[] = {"main 1 1000000", " caller 10 600000", "  leaf 1000 300000", NULL};
    static const char *const after_lines[] = {"main 1 1500000", " caller 10 1050000", "  leaf 1000 700000", NULL};
    cprof_profile *before = build_profile(before_lines), *after = build_profile(after_lines);
    CHECK_EQ_U64(cprof__test_compensate(before, 10.0, 10.0), 0);
    CHECK_EQ_U64(cprof__test_compensate(after, 352.0, 0.0), 0);
    CHECK(find_function(before, "leaf")->self_ns == 290000 && find_function(after, "leaf")->self_ns == 348000);
    cprof_comparison *c = cprof_compare(before, after, NULL);
    CHECK_EQ_U64(c->shares_only, 0);
    const cprof_change *leaf = cprof_comparison_find(c, "leaf", "self time");
    CHECK(leaf && leaf->change_pct > 19.9 && leaf->change_pct < 20.1);
    CHECK(leaf && leaf->share_before > 29.5 && leaf->share_before < 29.7);
    CHECK(leaf && leaf->share_after > 30.3 && leaf->share_after < 30.5);
    CHECK(leaf && leaf->verdict == CPROF_UNCHANGED);
    CHECK_EQ_U64(c->regressed, 0);
    cprof_comparison_free(c);
    /* From 60% of own cost (here 67%: 1,010 of 1,500 us subtracted) the compensated times are what is
       left of a large subtraction: shares of the recorded times again. Everything 1.5x slower as
       recorded (leaf 30% -> 30%): unchanged, where leaf's compensated share went 29.6% -> 91.8%. */
    static const char *const slower_lines[] = {"main 1 1500000", " caller 10 900000", "  leaf 1000 450000", NULL};
    cprof_profile *slower = build_profile(slower_lines);
    CHECK_EQ_U64(cprof__test_compensate(slower, 0.0, 1000.0), 0);
    c = cprof_compare(before, slower, NULL);
    CHECK_EQ_U64(c->shares_only, 0);
    leaf = cprof_comparison_find(c, "leaf", "self time");
    CHECK(leaf && leaf->share_before > 29.9 && leaf->share_before < 30.1);
    CHECK(leaf && leaf->share_after > 29.9 && leaf->share_after < 30.1);
    CHECK(leaf && leaf->verdict == CPROF_UNCHANGED);
    cprof_comparison_free(c);
    cprof_profile_free(slower);
    cprof_profile_free(before);
    cprof_profile_free(after);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--samples") == 0) return write_samples(argv[2]);
    test_seed();
    test_mixed();
    test_single_run_default();
    test_counted_in_one_run();
    test_shares_only();
    test_compensated_shares();
    test_statistics();
    test_runs();
    test_gate_rules();
    test_noise();
    test_snapshots();
    test_flamegraph();
    test_allocations();
    CHECK_DONE();
}
