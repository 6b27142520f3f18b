/* The analyzer's verdicts against the measurement (issue 22): the bound against the wall time when the
   scopes recorded less of it (and against the recorded time when threads recorded more), functions too
   short to judge by their scopes, and findings with the same advice grouped in the text. */
#include "../cprof.h"
#include "check.h"
#include <math.h>

static const char *analysis_text(const cprof_findings *f) {
    static char text[1 << 16];
    cprof_analysis_format(f, text, sizeof text);
    return text;
}

static const char *analysis_json(const cprof_findings *f) {
    static char text[1 << 16];
    FILE *out = tmpfile();
    if (!out) return "";
    cprof_analysis_json_write(f, out);
    rewind(out);
    size_t length = fread(text, 1, sizeof text - 1, out);
    text[length] = '\0';
    fclose(out);
    return text;
}

static cprof_findings *analyze(const cprof_profile *p) {
    cprof_analyze_options o = cprof_analyze_defaults();
    o.settings = NULL;
    o.budgets = NULL;
    return cprof_analyze(p, &o);
}

static const cprof_finding *finding(const cprof_findings *f, int category, const char *function) {
    for (size_t i = 0; f && i < f->count; i++)
        if (f->items[i].category == category && strcmp(f->items[i].function, function) == 0) return &f->items[i];
    return NULL;
}

static int near(double x, double expected) { return fabs(x - expected) < 1e-9 * (fabs(expected) + 1.0); }

/* The run: three manual scopes cover 591 ms of a 0.85 s run. parse's 255 ms are 43.1% of the
   recorded time (1 / (1 - 255/591) = 1.76x promised before) but 30% of the run: at most 1 / 0.7 = 1.43x. */
static void test_bound_against_wall(void) {
    static const char *const three[] = {"parse 1 255000000", "load 1 200000000", "emit 1 136000000", NULL};
    cprof_profile *p = build_profile(three);
    p->wall_ns = 850000000;
    cprof_findings *f = analyze(p);
    CHECK_EQ_U64(f->base_ns, 850000000);
    CHECK_EQ_U64(f->run_ns, 591000000);
    const cprof_finding *x = finding(f, CPROF_CATEGORY_SLOW_FUNCTION, "parse");
    CHECK(x != NULL);
    if (x) {
        CHECK(near(x->share, 255.0 / 850.0));
        CHECK(near(x->speedup_bound, 1.0 / (1.0 - 255.0 / 850.0))); /* 1.428571... */
        CHECK(x->severity == CPROF_SEVERITY_HIGH);                   /* 43.1% of the recorded time: the rule's measure */
    }
    const char *text = analysis_text(f);
    CHECK_CONTAINS(text, "Scopes cover 69.5% of the wall time (591.00 ms of 850.00 ms): each bound is against the wall time\n"
                         "Issues Found: 3\n");
    CHECK_CONTAINS(text, "Bound: making parse free would speed the run up at most 1.43x "
                         "(it is 43.1% of the recorded time, 30.0% of the wall time)\n");
    const char *json = analysis_json(f);
    CHECK(cprof__test_json_valid(json, strlen(json)));
    CHECK_CONTAINS(json, "\"base\": \"wall\", \"base_ns\": 850000000, \"run_ns\": 591000000, \"wall_ns\": 850000000,");
    cprof_findings_free(f);

    /* scopes covering 95% of the wall time: the wall is still the base, the header says nothing */
    p->wall_ns = 622000000;
    f = analyze(p);
    CHECK_EQ_U64(f->base_ns, 622000000);
    x = finding(f, CPROF_CATEGORY_SLOW_FUNCTION, "parse");
    CHECK(x && near(x->share, 255.0 / 622.0));
    CHECK(strstr(analysis_text(f), "Scopes cover") == NULL);
    cprof_findings_free(f);
    cprof_profile_free(p);
}

/* Two threads busy at once record more than the wall time: the recorded time stays the base. */
static void test_bound_with_threads(void) {
    static const char *const work[] = {"work 1 800000000", " inner 1 600000000", NULL};
    cprof_profile *p = build_profile(work);
    p->wall_ns = 500000000; /* as if a second thread had recorded beside it */
    cprof_findings *f = analyze(p);
    CHECK_EQ_U64(f->base_ns, 800000000);
    const cprof_finding *x = finding(f, CPROF_CATEGORY_SLOW_FUNCTION, "inner");
    CHECK(x && near(x->share, 0.75) && near(x->speedup_bound, 4.0));
    CHECK_CONTAINS(analysis_text(f), "at most 4.00x (it is 75.0% of the recorded time)\n");
    CHECK(strstr(analysis_text(f), "wall time") == NULL);
    CHECK_CONTAINS(analysis_json(f), "\"base\": \"recorded\", \"base_ns\": 800000000,");
    cprof_findings_free(f);
    cprof_profile_free(p);
}

/* 1,000,000 calls of 50 ns: mostly the scopes' own cost, not judged (and counted); 100,000 calls of
   10 µs are judged; one call of 100 ns in a tiny program too. */
static void test_too_short(void) {
    static const char *const mixed[] = {"main 1 1100000000", " tiny 1000000 50000000", " big 100000 1000000000", NULL};
    cprof_profile *p = build_profile(mixed);
    cprof_findings *f = analyze(p);
    CHECK(finding(f, CPROF_CATEGORY_HOT_LOOP, "tiny") == NULL); /* 4.5% of the run: a HotLoop otherwise */
    CHECK(finding(f, CPROF_CATEGORY_SLOW_FUNCTION, "big") != NULL);
    CHECK_EQ_U64(f->too_short, 1);
    CHECK_EQ_STR(f->too_short_functions, "tiny");
    CHECK_CONTAINS(analysis_text(f), "\nToo short to judge: 1 function averages under 180 ns a call over 1,000 calls or "
                                     "more, much of it the scopes' own cost (sample them, or see their callers): tiny\n");
    CHECK_CONTAINS(analysis_json(f), "\"too_short_to_judge\": 1, \"min_judged_avg_ns\": 180, \"min_judged_calls\": 1000, "
                                     "\"too_short_functions\": \"tiny\",");
    cprof_findings_free(f);
    cprof_profile_free(p);

    static const char *const alone[] = {"main 1 60000000", " tiny 1000000 50000000", NULL};
    p = build_profile(alone);
    f = analyze(p);
    CHECK(finding(f, CPROF_CATEGORY_SLOW_FUNCTION, "tiny") == NULL); /* 83% of the run in itself */
    CHECK(finding(f, CPROF_CATEGORY_HOT_LOOP, "tiny") == NULL);
    CHECK_EQ_U64(f->too_short, 1);
    cprof_findings_free(f);
    /* the threshold is an option, and a key of CPROF_ANALYZE */
    cprof_analyze_options o = cprof_analyze_defaults();
    o.budgets = NULL;
    o.settings = "min_judged_avg_ns=40";
    f = cprof_analyze(p, &o);
    CHECK(finding(f, CPROF_CATEGORY_SLOW_FUNCTION, "tiny") != NULL);
    CHECK_EQ_U64(f->too_short, 0);
    CHECK(strstr(analysis_text(f), "Too short") == NULL);
    CHECK_EQ_STR(f->notes, "");
    cprof_findings_free(f);
    cprof_profile_free(p);

    static const char *const once[] = {"main 1 150", " once 1 100", NULL};
    p = build_profile(once);
    f = analyze(p);
    CHECK(finding(f, CPROF_CATEGORY_SLOW_FUNCTION, "once") != NULL); /* one call: judged */
    CHECK_EQ_U64(f->too_short, 0);
    cprof_findings_free(f);
    cprof_profile_free(p);
}

/* Ten hot loops with the same advice but for their names: one entry in the text, every name in it;
   every finding still in the array. */
static void test_grouped(void) {
    static const char *const ten[] = {
        "main 1 1000000000",   " f0 200000 60000000", " f1 200000 59000000", " f2 200000 58000000",
        " f3 200000 57000000", " f4 200000 56000000", " f5 200000 55000000", " f6 200000 54000000",
        " f7 200000 53000000", " f8 200000 52000000", " f9 200000 51000000", NULL};
    cprof_profile *p = build_profile(ten);
    cprof_findings *f = analyze(p);
    size_t hot = 0;
    for (size_t i = 0; i < f->count; i++) hot += f->items[i].category == CPROF_CATEGORY_HOT_LOOP;
    CHECK_EQ_U64(hot, 10);
    const char *text = analysis_text(f);
    CHECK_CONTAINS(text, "  2. HotLoop: f0 (synthetic.c:2)\n");
    CHECK_CONTAINS(text, "     Fix: Call f0 less often from main: hoist");
    CHECK_CONTAINS(text, "     And 9 more HotLoop findings with the same advice: f1 (synthetic.c:3, from main, 1.06x), "
                         "f2 (synthetic.c:4, from main, 1.06x), f3 (synthetic.c:5, from main, 1.06x), "
                         "f4 (synthetic.c:6, from main, 1.06x), f5 (synthetic.c:7, from main, 1.06x), "
                         "f6 (synthetic.c:8, from main, 1.06x), f7 (synthetic.c:9, from main, 1.06x), "
                         "f8 (synthetic.c:10, from main, 1.05x), f9 (synthetic.c:11, from main, 1.05x)\n");
    CHECK(strstr(text, "HotLoop: f1 ") == NULL);
    CHECK(strstr(text, "  3. ") == NULL); /* main's SlowFunction, then the group */
    CHECK_CONTAINS(text, "Issues Found: 11\n");
    cprof_findings_free(f);
    cprof_profile_free(p);

    /* two with the same advice are both shown in full */
    static const char *const two[] = {"main 1 1000000000", " f0 200000 60000000", " f1 200000 59000000", NULL};
    p = build_profile(two);
    f = analyze(p);
    CHECK_CONTAINS(analysis_text(f), "HotLoop: f1 (synthetic.c:3)\n");
    CHECK(strstr(analysis_text(f), "same advice") == NULL);
    cprof_findings_free(f);
    cprof_profile_free(p);
}

/* A compensated capture: its scopes lost cprof's own cost, which had made the run longer by as much, so
   they are held against the wall time less that cost (here they cover all of it: the base is the
   recorded time, and nothing says they cover less). */
static void test_bound_after_compensation(void) {
    static const char *const tree[] = {"main 1 600000000", " parse 1 300000000", NULL};
    cprof_profile *p = build_profile(tree);
    p->wall_ns = 1000000000; /* 400 ms of it was cprof's own cost, subtracted at capture */
    p->compensation.applied = 1;
    p->compensation.subtracted_ns = 400000000;
    cprof_findings *f = analyze(p);
    CHECK_EQ_U64(f->wall_ns, 600000000);
    CHECK_EQ_U64(f->base_ns, 600000000);
    CHECK(strstr(analysis_text(f), "Scopes cover") == NULL);
    const cprof_finding *x = finding(f, CPROF_CATEGORY_SLOW_FUNCTION, "parse");
    CHECK(x && near(x->speedup_bound, 2.0)); /* half of the run, not 30% of the raw wall time */
    cprof_findings_free(f);
    cprof_profile_free(p);
}

int main(void) {
    test_bound_after_compensation();
    test_bound_against_wall();
    test_bound_with_threads();
    test_too_short();
    test_grouped();
    CHECK_DONE();
}
