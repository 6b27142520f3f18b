/* The analyzer: each rule on a profile that plants exactly its problem (built with known numbers, or
   recorded live), the seed figures, a balanced program without false alarms, the text to the
   character, the JSON, settings and budgets, a saved and loaded profile, and CPROF_OUT's prefix.txt. */
#include "../cprof.h"
#include "check.h"
#include <stdlib.h>
#include <sys/wait.h>
#include <math.h>
#include <unistd.h>

/* The analysis as text (static storage, overwritten by the next call). */
static const char *analysis_text(const cprof_findings *f) {
    static char text[1 << 16];
    cprof_analysis_format(f, text, sizeof text);
    return text;
}

/* Defaults without the environment, so that the caller's CPROF_ANALYZE or CPROF_BUDGET cannot change a result. */
static cprof_analyze_options plain_options(void) {
    cprof_analyze_options o = cprof_analyze_defaults();
    o.settings = NULL;
    o.budgets = NULL;
    return o;
}

static cprof_findings *analyze(const cprof_profile *p) {
    cprof_analyze_options o = plain_options();
    return cprof_analyze(p, &o);
}

/* The first finding of `category` about `function`, or NULL. */
static const cprof_finding *finding(const cprof_findings *f, int category, const char *function) {
    for (size_t i = 0; f && i < f->count; i++)
        if (f->items[i].category == category && strcmp(f->items[i].function, function) == 0) return &f->items[i];
    return NULL;
}

static size_t count_at_least(const cprof_findings *f, int severity) {
    size_t n = 0;
    for (size_t i = 0; i < f->count; i++) n += f->items[i].severity >= severity;
    return n;
}

static void test_seed_figures(void) {
    static const char *const two[] = {"slow 1 10000000000", "fast 1 100000000", NULL};
    cprof_profile *p = build_profile(two);
    cprof_findings *f = analyze(p);
    const cprof_finding *x = finding(f, CPROF_CATEGORY_SLOW_FUNCTION, "slow");
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ_U64(x->severity, CPROF_SEVERITY_CRITICAL);
        CHECK_EQ_U64(x->self_ns, 10000000000ull);
        CHECK(x->share > 0.990 && x->share < 0.991);       /* 10 / 10.1 */
        CHECK(x->speedup_bound > 100.9 && x->speedup_bound < 101.1); /* 1 / (1 - 10/10.1) = 101 */
        CHECK_EQ_STR(x->file, "synthetic.c");
        CHECK_EQ_U64(x->line, 1);
    }
    CHECK(finding(f, CPROF_CATEGORY_SLOW_FUNCTION, "fast") == NULL); /* 1% of the run */
    CHECK_EQ_U64(f->count, 1);
    CHECK_CONTAINS(f->bottleneck, "slow (synthetic.c:1), 99.0% of the run in itself (10.000 s); heaviest path: slow");
    cprof_findings_free(f);
    cprof_profile_free(p);

    /* An automatic scope's site has no line (0): the analysis names its file alone, as the report does */
    p = build_profile(two);
    for (size_t i = 0; i < p->site_count; i++)
        if (strcmp(p->sites[i].name, "slow") == 0) ((cprof_site_info *)(uintptr_t)&p->sites[i])->line = 0;
    f = analyze(p);
    CHECK_CONTAINS(f->bottleneck, "slow (synthetic.c), 99.0% of the run in itself");
    CHECK_CONTAINS(analysis_text(f), "  1. SlowFunction: slow (synthetic.c)\n");
    cprof_findings_free(f);
    cprof_profile_free(p);

    static const char *const one[] = {"single 1 100000000000", NULL};
    p = build_profile(one);
    f = analyze(p);
    CHECK(f->count >= 1);
    if (f->count) {
        CHECK_EQ_U64(f->items[0].severity, CPROF_SEVERITY_CRITICAL);
        CHECK_EQ_STR(f->items[0].function, "single");
        CHECK(isinf(f->items[0].speedup_bound)); /* the run is all of it */
    }
    CHECK_CONTAINS(analysis_text(f), "Bound: the run is all single; making it free would remove the whole run\n");
    cprof_findings_free(f);
    cprof_profile_free(p);
}

static void test_empty(void) {
    static const char *const none[] = {NULL};
    cprof_profile *p = build_profile(none);
    cprof_findings *f = analyze(p);
    CHECK_EQ_U64(f->count, 0);
    CHECK_EQ_STR(f->bottleneck, "");
    const char *text = analysis_text(f);
    CHECK(strncmp(text, "Performance Analysis: no scopes recorded\nNo issues found\n", 56) == 0);
    cprof_findings_free(f);
    cprof_profile_free(p);
    /* Calls and no time: every scope shorter than its own cost, compensated to 0 (not "no scopes") */
    static const char *const untimed[] = {"tiny 1000 0", NULL};
    p = build_profile(untimed);
    f = analyze(p);
    CHECK_EQ_STR(f->bottleneck, "");
    CHECK_EQ_U64(f->calls, 1000);
    CHECK_CONTAINS(analysis_text(f), "Performance Analysis: no time left to judge: 1000 calls recorded, and their time "
                                     "was all cprof's own cost");
    cprof_findings_free(f);
    cprof_profile_free(p);
    CHECK(cprof_analyze(NULL, NULL) == NULL);
    cprof_findings_free(NULL);
    CHECK_EQ_U64(cprof_analysis_format(NULL, NULL, 0), 0);
}

/* The whole text of a small analysis, to the character. */
static void test_text(void) {
    static const char *const tree[] = {"main 1 1000000000", " parse 10 600000000", " load 1 100000000", NULL};
    cprof_profile *p = build_profile(tree);
    cprof_findings *f = analyze(p);
    CHECK_EQ_STR(analysis_text(f),
                 "Performance Analysis: bottleneck parse (synthetic.c:2), 60.0% of the run in itself (600.00 ms); heaviest path: main > parse\n"
                 "Issues Found: 2\n"
                 "\n"
                 "Critical (1)\n"
                 "  1. SlowFunction: parse (synthetic.c:2)\n"
                 "     60.0% of the run in itself (over 50%): 600.00 ms of 1.000 s, 10 calls, 60.00 ms per call\n"
                 "     Fix: Make parse itself cheaper: a better algorithm or data structure (a hash table instead of a linear "
                 "search, sorting once instead of scanning each time), less work per call, or fewer calls (the call tree "
                 "shows who calls it).\n"
                 "     Bound: making parse free would speed the run up at most 2.50x (it is 60.0% of the recorded time)\n"
                 "\n"
                 "High (1)\n"
                 "  2. SlowFunction: main (synthetic.c:1)\n"
                 "     30.0% of the run in itself (over 20%): 300.00 ms of 1.000 s, 1 call, 1.000 s per call\n"
                 "     Fix: Make main itself cheaper: a better algorithm or data structure (a hash table instead of a linear "
                 "search, sorting once instead of scanning each time), less work per call, or fewer calls (the call tree "
                 "shows who calls it).\n"
                 "     Bound: making main free would speed the run up at most 1.43x (it is 30.0% of the recorded time)\n"
                 "\n"
                 "Not checked:\n"
                 "  CacheMisses: no cache-misses counter in this profile (record with CPROF_COUNTERS=default)\n"
                 "  FrequentAllocation, ExcessiveAllocation, LargeAllocation, TemporaryAllocations, Leak, Fragmentation: no allocation "
                 "data in this profile (build with CPROF_WRAP_MALLOC)\n");
    /* load is exactly 10%: the rule is "over 10%" */
    CHECK(finding(f, CPROF_CATEGORY_SLOW_FUNCTION, "load") == NULL);
    cprof_findings_free(f);
    cprof_profile_free(p);
}

/* tiny: 1,100,000 calls of 300 ns; "b" calls it 700,000 times over two paths, "a" 400,000. */
static void test_hot_loop(void) {
    static const char *const tree[] = {
        "main 1 1000000000",
        " a 1 200000000",
        "  tiny 400000 120000000",
        " b 1 150000000",
        "  tiny 500000 150000000",
        " c 1 150000000",
        "  b 1 100000000",
        "   tiny 200000 60000000",
        NULL,
    };
    cprof_profile *p = build_profile(tree);
    cprof_findings *f = analyze(p);
    const cprof_finding *x = finding(f, CPROF_CATEGORY_HOT_LOOP, "tiny");
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ_STR(x->caller, "b");
        CHECK_EQ_U64(x->calls, 1100000);
        CHECK_EQ_U64(x->avg_ns, 300);
        CHECK_EQ_U64(x->severity, CPROF_SEVERITY_HIGH); /* 33% of the run */
        CHECK_CONTAINS(x->description, "1,100,000 calls of 300 ns each on average, 330.00 ms in all (33.0% of the run); "
                                       "700,000 of them from b");
        CHECK_CONTAINS(x->recommendation, "Call tiny less often from b: hoist");
    }
    CHECK_EQ_U64(f->count, count_at_least(f, CPROF_SEVERITY_LOW));
    /* a, b and c are called once each: never a hot loop */
    CHECK(finding(f, CPROF_CATEGORY_HOT_LOOP, "b") == NULL);
    cprof_findings_free(f);

    /* the thresholds are the options': 1,100,000 calls are not "very many" at 2,000,000 */
    cprof_analyze_options o = plain_options();
    o.hot_loop_calls = 2000000;
    f = cprof_analyze(p, &o);
    CHECK(finding(f, CPROF_CATEGORY_HOT_LOOP, "tiny") == NULL);
    cprof_findings_free(f);
    cprof_profile_free(p);
}

static uint64_t recurse(int depth) {
    CPROF_SCOPE();
    return depth > 1 ? recurse(depth - 1) + 1 : 1;
}

static void test_deep_stack_live(void) {
    cprof_reset();
    check_sink = recurse(150);
    cprof_profile *p = cprof_capture();
    cprof_findings *f = analyze(p);
    const cprof_finding *x = finding(f, CPROF_CATEGORY_DEEP_CALL_STACK, "recurse");
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ_U64(x->depth, 150);
        CHECK_EQ_U64(x->severity, CPROF_SEVERITY_MEDIUM);
        CHECK_CONTAINS(x->description, "a call path 150 scopes deep (limit 100); recurse is 150 of them (recursion)");
    }
    cprof_findings_free(f);
    cprof_profile_free(p);

    /* past the recorder's depth limit: runaway, High, and the dropped entries are said */
    cprof_reset();
    check_sink = recurse(600);
    p = cprof_capture();
    f = analyze(p);
    x = finding(f, CPROF_CATEGORY_DEEP_CALL_STACK, "recurse");
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ_U64(x->severity, CPROF_SEVERITY_HIGH);
        CHECK_EQ_U64(x->depth, 512); /* the recorder's depth limit (README, Limitations) */
        CHECK_CONTAINS(x->description, "; 88 scope entries deeper than 512 levels were not recorded");
    }
    cprof_findings_free(f);
    cprof_profile_free(p);

    /* 99 levels: under the default limit; the limit set through settings (as CPROF_ANALYZE would) */
    cprof_reset();
    check_sink = recurse(99);
    p = cprof_capture();
    f = analyze(p);
    CHECK(finding(f, CPROF_CATEGORY_DEEP_CALL_STACK, "recurse") == NULL);
    cprof_findings_free(f);
    cprof_analyze_options o = plain_options();
    o.settings = "deep_stack_depth=50";
    f = cprof_analyze(p, &o);
    CHECK(finding(f, CPROF_CATEGORY_DEEP_CALL_STACK, "recurse") != NULL);
    cprof_findings_free(f);
    cprof_profile_free(p);
}

/* Gives the built profile the counters `names` (all available unless `reason`) with the self values of
   each function in `values` (one row per function name, in `functions`). */
static void add_counters(cprof_profile *p, const char *const *names, size_t count, const char *reason,
                         const char *const *functions, const uint64_t (*values)[3], size_t rows) {
    cprof__test_grow(p, &p->counters, count, sizeof *p->counters);
    cprof__test_grow(p, &p->function_counters, p->function_count * count,
                sizeof *p->function_counters);
    p->counter_count = count;
    memset(p->function_counters, 0, p->function_count * count * sizeof *p->function_counters);
    for (size_t k = 0; k < count; k++) {
        memset(&p->counters[k], 0, sizeof p->counters[k]);
        p->counters[k].name = names[k];
        p->counters[k].available = reason == NULL;
        p->counters[k].reason = reason ? reason : "";
        p->counters[k].running_ratio = reason ? 0.0 : 1.0;
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t f = 0; f < p->function_count; f++)
            if (strcmp(p->functions[f].name, functions[r]) == 0)
                for (size_t k = 0; k < count; k++) p->function_counters[f * count + k].total = p->function_counters[f * count + k].self = values[r][k];
}

static void test_cache_misses(void) {
    static const char *const tree[] = {"main 1 1000000000", " scan 1 600000000", " calc 1 390000000", NULL};
    static const char *const names[] = {"cache-misses", "cache-references", "instructions"};
    static const char *const functions[] = {"scan", "calc"};
    static const uint64_t values[2][3] = {{5000000, 10000000, 100000000}, {1000, 1000000, 1000000000}};
    cprof_profile *p = build_profile(tree);
    add_counters(p, names, 3, NULL, functions, values, 2);
    cprof_findings *f = analyze(p);
    CHECK(f->not_checked[CPROF_CATEGORY_CACHE_MISSES] == NULL);
    const cprof_finding *x = finding(f, CPROF_CATEGORY_CACHE_MISSES, "scan");
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ_U64(x->severity, CPROF_SEVERITY_HIGH); /* 50% misses, 50 MPKI: twice both thresholds, 60% of the run */
        CHECK(x->measure == 50.0);
        CHECK_CONTAINS(x->description, "5,000,000 cache misses in itself, 50.0% of its cache references, 50.0 per 1,000 "
                                       "instructions; 60.0% of the run in itself");
        CHECK_CONTAINS(x->recommendation, "contiguous arrays");
    }
    CHECK(finding(f, CPROF_CATEGORY_CACHE_MISSES, "calc") == NULL); /* 0.1% misses, 0.001 MPKI */
    cprof_findings_free(f);

    /* counters requested but not countable: skipped, with the reason */
    add_counters(p, names, 3, "perf_event_paranoid is 3", functions, values, 2);
    f = analyze(p);
    CHECK(finding(f, CPROF_CATEGORY_CACHE_MISSES, "scan") == NULL);
    CHECK_EQ_STR(f->not_checked[CPROF_CATEGORY_CACHE_MISSES], "cache-misses could not be counted: perf_event_paranoid is 3");
    CHECK_CONTAINS(analysis_text(f), "  CacheMisses: cache-misses could not be counted: perf_event_paranoid is 3\n");
    cprof_findings_free(f);
    cprof_profile_free(p);

    /* no counters at all (a live capture without CPROF_COUNTERS) */
    p = cprof_capture();
    f = analyze(p);
    CHECK_EQ_STR(f->not_checked[CPROF_CATEGORY_CACHE_MISSES], "no cache-misses counter in this profile (record with CPROF_COUNTERS=default)");
    cprof_findings_free(f);
    cprof_profile_free(p);
}

static const char *budget_severity(cprof_profile *p, const char *budgets) {
    cprof_analyze_options o = plain_options();
    o.budgets = budgets;
    cprof_findings *f = cprof_analyze(p, &o);
    const cprof_finding *x = finding(f, CPROF_CATEGORY_BUDGET_EXCEEDED, "query");
    const char *name = x ? cprof_severity_name(x->severity) : "none";
    cprof_findings_free(f);
    return name;
}

/* query: 10 calls of 100 ms each (built profiles have min = max = average). */
static void test_budgets(void) {
    static const char *const tree[] = {"main 1 2000000000", " query 10 1000000000", NULL};
    cprof_profile *p = build_profile(tree);
    CHECK_EQ_STR(budget_severity(p, "query=100ms"), "none");       /* at the budget, not over it */
    CHECK_EQ_STR(budget_severity(p, "query=60ms"), "High");        /* the average is over */
    CHECK_EQ_STR(budget_severity(p, "query=40ms"), "Critical");    /* the slowest is over twice */
    CHECK_EQ_STR(budget_severity(p, "query=49999us"), "Critical");
    CHECK_EQ_STR(budget_severity(p, "query=0.05s"), "High");       /* 100 ms is not over 2 x 50 ms */
    for (size_t i = 0; i < p->function_count; i++)
        if (strcmp(p->functions[i].name, "query") == 0) p->functions[i].max_ns = 150000000; /* one slow call */
    CHECK_EQ_STR(budget_severity(p, "query=120ms"), "Medium");     /* only the slowest is over */
    CHECK_EQ_STR(budget_severity(p, "query=70ms"), "Critical");

    /* cprof_budget(): copied into later captures, not into the analysis of a profile that lacks them */
    CHECK_EQ_U64(cprof_budget("query", 80 * CPROF_MS), 0);
    CHECK_EQ_STR(budget_severity(p, NULL), "none");
    CHECK_EQ_U64(cprof_budget("query", 70 * CPROF_MS), 0); /* replaced, not added */
    CHECK(cprof_budget(NULL, CPROF_MS) == -1);
    CHECK(cprof_budget("", CPROF_MS) == -1);
    CHECK(cprof_budget("other", 0) == -1); /* 0 removes a budget; there is none for "other" */
    cprof_profile *captured = cprof_capture(), *loaded = NULL;
    char path[] = "/tmp/cprof-budgets-XXXXXX";
    close(mkstemp(path));
    CHECK_EQ_U64(cprof_save(captured, path), 0); /* and back: the file keeps them */
    CHECK_EQ_U64(cprof_load(path, &loaded), 0);
    unlink(path);
    for (int i = 0; i < 2; i++) {
        const cprof_profile *q = i ? loaded : captured;
        CHECK_EQ_U64(q ? q->budget_count : 0, 1);
        if (!q || q->budget_count != 1) continue;
        CHECK_EQ_STR(q->budgets[0].name, "query");
        CHECK_EQ_U64(q->budgets[0].budget_ns, 70 * CPROF_MS);
    }
    cprof_profile_free(captured);
    cprof_profile_free(loaded);
    /* the profile's budgets apply, and the options' list wins for the same name */
    p->budgets = (cprof_scope_budget *)calloc(1, sizeof *p->budgets);
    p->budgets[0].name = "query";
    p->budgets[0].budget_ns = 70 * CPROF_MS;
    p->budget_count = 1;
    CHECK_EQ_STR(budget_severity(p, NULL), "Critical");
    CHECK_EQ_STR(budget_severity(p, "query=200ms"), "none");

    cprof_analyze_options o = plain_options();
    cprof_findings *f = cprof_analyze(p, &o);
    const cprof_finding *x = finding(f, CPROF_CATEGORY_BUDGET_EXCEEDED, "query");
    CHECK(x != NULL);
    if (x) {
        CHECK_CONTAINS(x->description, "budget 70.00 ms per call; average 100.00 ms over 10 calls, slowest 150.00 ms (2.1x the budget)");
        CHECK(x->share == 0.5); /* its total, 1 s of 2 s */
        CHECK(x->speedup_bound == 2.0);
    }
    cprof_findings_free(f);

    /* what cannot be read is said, and the rest still applies */
    o.budgets = "x=5,=3ms,nosuch=1ms,query=notanumber,query=80ms";
    o.settings = "slow_high_pct=abc,bogus=1,slow_medium_pct";
    f = cprof_analyze(p, &o);
    CHECK_EQ_STR(f->notes, "CPROF_ANALYZE: 'slow_high_pct=abc': not a number >= 0\n"
                           "CPROF_ANALYZE: 'bogus=1': unknown key (see cprof_analyze_options)\n"
                           "CPROF_ANALYZE: 'slow_medium_pct': expected name=value\n"
                           "CPROF_BUDGET: 'x=5': needs a unit: ns, us, ms or s\n"
                           "CPROF_BUDGET: '=3ms': expected name=value\n"
                           "CPROF_BUDGET: 'query=notanumber': not a duration (100ms, 2.5s, 40us, 800ns)\n"
                           "budget for 'nosuch': no scope of that name in this profile\n");
    x = finding(f, CPROF_CATEGORY_BUDGET_EXCEEDED, "query");
    CHECK(x && x->severity == CPROF_SEVERITY_HIGH); /* 80 ms: the average is over, the slowest under twice */
    CHECK_CONTAINS(analysis_text(f), "\nSettings not understood:\n  CPROF_ANALYZE: 'slow_high_pct=abc': not a number >= 0\n");
    cprof_findings_free(f);
    free(p->budgets);
    p->budgets = NULL;
    p->budget_count = 0;
    CHECK_EQ_U64(cprof_budget("query", 0), 0); /* removed: later captures have none */
    captured = cprof_capture();
    CHECK_EQ_U64(captured->budget_count, 0);
    cprof_profile_free(captured);
    cprof_profile_free(p);
}

/* Severity first, then the bound, largest first. */
static void test_order(void) {
    static const char *const tree[] = {
        "main 1 1000000000", " big 1 550000000", " mid 1 150000000", " midbig 1 250000000", " small 1 40000000", NULL};
    cprof_profile *p = build_profile(tree);
    cprof_analyze_options o = plain_options();
    o.budgets = "small=1ms";
    cprof_findings *f = cprof_analyze(p, &o);
    CHECK_EQ_U64(f->count, 4);
    if (f->count == 4) {
        CHECK_EQ_STR(f->items[0].function, "big");   /* Critical SlowFunction, bound 2.2x */
        CHECK_EQ_STR(f->items[1].function, "small"); /* Critical BudgetExceeded, bound 1.04x */
        CHECK_EQ_STR(f->items[2].function, "midbig");
        CHECK_EQ_STR(f->items[3].function, "mid");
        for (size_t i = 1; i < f->count; i++)
            CHECK(f->items[i - 1].severity > f->items[i].severity ||
                  (f->items[i - 1].severity == f->items[i].severity && f->items[i - 1].speedup_bound >= f->items[i].speedup_bound));
    }
    cprof_findings_free(f);
    cprof_profile_free(p);
}

/* A balanced program: eight steps of equal cost, nothing planted. */
static void step(void) {
    CPROF_SCOPE();
    busy_wait_ns(3000000);
}

static void balanced(void) {
    CPROF_SCOPE();
    for (int i = 0; i < 8; i++) step();
}

/* Twelve stages of equal work. */
#define STAGE(n) static void stage_##n(void) { CPROF_SCOPE(); busy_wait_ns(20000); }
STAGE(a) STAGE(b) STAGE(c) STAGE(d) STAGE(e) STAGE(f) STAGE(g) STAGE(h) STAGE(i) STAGE(j) STAGE(k) STAGE(l)
#undef STAGE

static void pipeline(void) {
    CPROF_SCOPE();
    for (int round = 0; round < 200; round++) {
        stage_a(), stage_b(), stage_c(), stage_d(), stage_e(), stage_f();
        stage_g(), stage_h(), stage_i(), stage_j(), stage_k(), stage_l();
    }
}

/* No Critical or High finding in a balanced program: twelve stages of exactly 1/12 of the run (8.3%
   each: not even Medium), eight of 1/8 (12.5%: Medium). A live run of the same shape is not asserted on
   shares (a loaded machine's preemption makes whichever stage it lands in really slower), only on what
   holds whatever the load: the rules that count calls or depth stay silent. */
static void test_balanced(void) {
    cprof_reset();
    pipeline();
    cprof_profile *p = cprof_capture();
    cprof_findings *f = analyze(p);
    CHECK_EQ_U64(function_calls(p, "stage_a"), 200);
    CHECK_EQ_U64(function_calls(p, "stage_l"), 200);
    CHECK_EQ_U64(function_calls(p, "pipeline"), 1);
    CHECK(finding(f, CPROF_CATEGORY_HOT_LOOP, "stage_a") == NULL);
    CHECK(finding(f, CPROF_CATEGORY_DEEP_CALL_STACK, "pipeline") == NULL);
    cprof_findings_free(f);
    cprof_profile_free(p);

    static const char *const twelve[] = {"pipeline 1 1200000", " a 1 100000", " b 1 100000", " c 1 100000",
                                         " d 1 100000", " e 1 100000", " f 1 100000", " g 1 100000", " h 1 100000",
                                         " i 1 100000", " j 1 100000", " k 1 100000", " l 1 100000", NULL};
    p = build_profile(twelve);
    f = analyze(p);
    CHECK_EQ_U64(f->count, 0);
    cprof_findings_free(f);
    cprof_profile_free(p);
    static const char *const tree[] = {"main 1 800000", " a 1 100000", " b 1 100000", " c 1 100000", " d 1 100000",
                                       " e 1 100000", " f 1 100000", " g 1 100000", " h 1 100000", NULL};
    p = build_profile(tree);
    f = analyze(p);
    CHECK_EQ_U64(count_at_least(f, CPROF_SEVERITY_HIGH), 0);
    CHECK_EQ_U64(f->count, 8); /* each 12.5%: Medium */
    cprof_findings_free(f);
    cprof_profile_free(p);
}

/* A live capture and the same profile saved and loaded give the same analysis. */
static void test_live_and_loaded(void) {
    cprof_reset();
    balanced();
    cprof_profile *live = cprof_capture();
    char path[128];
    snprintf(path, sizeof path, "/tmp/cprof_test_analyze_%ld.json", (long)getpid());
    CHECK_EQ_U64(cprof_save(live, path), 0);
    cprof_profile *loaded = NULL;
    CHECK_EQ_U64(cprof_load(path, &loaded), 0);
    remove(path);
    if (!loaded) return;
    cprof_findings *a = analyze(live), *b = analyze(loaded);
    static char first[1 << 16];
    cprof_analysis_format(a, first, sizeof first);
    CHECK_EQ_STR(analysis_text(b), first);
    CHECK_CONTAINS(first, "Performance Analysis: bottleneck step (tests/test_analyze.c:");
    CHECK_CONTAINS(first, "heaviest path: balanced > step\n");
    const cprof_finding *x = finding(a, CPROF_CATEGORY_SLOW_FUNCTION, "step");
    CHECK(x && x->severity == CPROF_SEVERITY_CRITICAL && x->calls == 8);
    cprof_findings_free(a);
    cprof_findings_free(b);
    cprof_profile_free(live);
    cprof_profile_free(loaded);
}

/* The JSON is well-formed (the profile reader's own parser) and names each field. */
static void test_json(void) {
    static const char *const tree[] = {"main 1 1000000000", " pa\"rse 10 600000000", NULL};
    cprof_profile *p = build_profile(tree);
    cprof_analyze_options o = plain_options();
    o.budgets = "nosuch=1ms";
    cprof_findings *f = cprof_analyze(p, &o);
    char path[128];
    snprintf(path, sizeof path, "/tmp/cprof_test_analyze_%ld.out", (long)getpid());
    FILE *out = fopen(path, "w+");
    CHECK(out != NULL);
    if (!out) return;
    CHECK_EQ_U64(cprof_analysis_json_write(f, out), 0);
    static char text[1 << 16];
    rewind(out);
    size_t length = fread(text, 1, sizeof text - 1, out);
    text[length] = '\0';
    fclose(out);
    remove(path);
    CHECK(cprof__test_json_valid(text, length));
    CHECK_CONTAINS(text, "\"issues_found\": 2,");
    CHECK_CONTAINS(text, "{\"severity\": \"Critical\", \"category\": \"SlowFunction\", \"function\": \"pa\\\"rse\", "
                         "\"file\": \"synthetic.c\", \"line\": 2, \"calls\": 10, \"total_ns\": 600000000, \"self_ns\": 600000000, "
                         "\"avg_ns\": 60000000, \"max_ns\": 60000000, \"depth\": 0, \"share\": 0.59999999999999998, "
                         "\"speedup_bound\": 2.5, \"measure\": 60, \"threshold\": 50, \"count\": 0, \"bytes\": 0, \"scope\": \"\", \"caller\": \"\", ");
    CHECK_CONTAINS(text, "\"not_checked\": {\"CacheMisses\": \"no cache-misses counter");
    CHECK_CONTAINS(text, "\"notes\": \"budget for 'nosuch': no scope of that name in this profile\\n\"");
    cprof_findings_free(f);
    cprof_profile_free(p);

    static const char *const one[] = {"single 1 100", NULL};
    p = build_profile(one);
    f = analyze(p);
    out = tmpfile();
    if (out) {
        CHECK_EQ_U64(cprof_analysis_json_write(f, out), 0);
        rewind(out);
        length = fread(text, 1, sizeof text - 1, out);
        text[length] = '\0';
        fclose(out);
        CHECK_CONTAINS(text, "\"speedup_bound\": null,"); /* infinite */
    }
    CHECK(cprof_analysis_json_write(NULL, stdout) == -1);
    cprof_findings_free(f);
    cprof_profile_free(p);
}

/* CPROF_ANALYZE and CPROF_BUDGET are the defaults' settings and budgets. */
static void test_environment(void) {
    setenv("CPROF_ANALYZE", "slow_medium_pct=5", 1);
    setenv("CPROF_BUDGET", "query=1ms", 1);
    cprof_analyze_options o = cprof_analyze_defaults();
    CHECK_EQ_STR(o.settings, "slow_medium_pct=5");
    CHECK_EQ_STR(o.budgets, "query=1ms");
    static const char *const tree[] = {"main 1 1000000000", " query 1 60000000", NULL};
    cprof_profile *p = build_profile(tree);
    cprof_findings *f = cprof_analyze(p, NULL);
    const cprof_finding *x = finding(f, CPROF_CATEGORY_SLOW_FUNCTION, "query");
    CHECK(x && x->severity == CPROF_SEVERITY_MEDIUM); /* 6% is over 5% */
    x = finding(f, CPROF_CATEGORY_BUDGET_EXCEEDED, "query");
    CHECK(x && x->severity == CPROF_SEVERITY_CRITICAL);
    cprof_findings_free(f);
    cprof_profile_free(p);
    unsetenv("CPROF_ANALYZE");
    unsetenv("CPROF_BUDGET");
}

static void test_categories_named(void) {
    CHECK_EQ_STR(cprof_category_name(CPROF_CATEGORY_SLOW_FUNCTION), "SlowFunction");
    CHECK_EQ_STR(cprof_category_name(CPROF_CATEGORY_TEMPORARY_ALLOCATIONS), "TemporaryAllocations");
    CHECK_EQ_STR(cprof_category_name(CPROF_CATEGORY_LEAK), "Leak");
    CHECK_EQ_STR(cprof_category_name(CPROF_CATEGORY_COUNT), "?");
    CHECK_EQ_STR(cprof_severity_name(CPROF_SEVERITY_CRITICAL), "Critical");
    CHECK_EQ_STR(cprof_severity_name(CPROF_SEVERITY_LOW), "Low");
    CHECK_EQ_STR(cprof_severity_name(0), "?");
}

/* CPROF_OUT: the report, then the analysis, in prefix.txt. */
static void test_cprof_out(const char *self) {
    char prefix[256], path[300];
    snprintf(prefix, sizeof prefix, "/tmp/cprof_test_analyze_%ld", (long)getpid());
    snprintf(path, sizeof path, "%s.txt", prefix);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("CPROF_OUT", prefix, 1);
        execl(self, self, "child", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const char *text = read_text_file(path);
    CHECK(text != NULL);
    if (text) {
        const char *report = strstr(text, "Functions, by self time");
        const char *analysis = strstr(text, "\nPerformance Analysis: bottleneck step (");
        CHECK(report && analysis && report < analysis);
        CHECK_CONTAINS(text, "heaviest path: balanced > step\n"); /* then the scopes' cover when under 90% */
        CHECK_CONTAINS(text, "\nIssues Found: ");
        CHECK_CONTAINS(text, "  1. SlowFunction: step (");
    }
    const char *suffixes[] = {".txt", ".json", ".folded", ".svg"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s%s", prefix, suffixes[i]);
        remove(path);
    }
}

int main(int argc, char **argv) {
    if (argc > 1) { /* the CPROF_OUT child */
        balanced();
        return 0;
    }
    test_seed_figures();
    test_empty();
    test_text();
    test_hot_loop();
    test_deep_stack_live();
    test_cache_misses();
    test_budgets();
    test_order();
    test_balanced();
    test_live_and_loaded();
    test_json();
    test_environment();
    test_categories_named();
    test_cprof_out(argv[0]);
    CHECK_DONE();
}
