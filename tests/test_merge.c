/* cprof_merge (the tool's `cprof merge`): profiles summed per call path. Exact sums on the profiles of
   tests/corpus (real captures: one thread, threads, counters, allocations, benchmarks): N copies merged
   give N times every count and time, the same shape; one profile merged with its threads apart is
   itself to the byte; two different profiles give the sums per function; the result saves and loads. */
#include "../cprof.h"
#include "check.h"

static const char *const corpus[] = {"wordfreq", "threads", "wordfreq-counters", "alloc-leaks", "sum-bench",
                                     "hostile-names", "messages", "empty-profile"};
enum { CORPUS = sizeof corpus / sizeof corpus[0], COPIES = 3 };

static cprof_profile *load(const char *name) {
    char path[256];
    cprof_profile *p = NULL;
    snprintf(path, sizeof path, "tests/corpus/%s.json", name);
    if (cprof_load(path, &p) != 0) fprintf(stderr, "%s\n", cprof_error());
    CHECK(p != NULL);
    return p;
}

/* The profile as its JSON text (malloc'ed). */
static char *saved(const cprof_profile *p) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    CHECK(f && cprof_json_write(p, f) == 0);
    if (f) fclose(f);
    return text;
}

static uint32_t function_named(const cprof_profile *p, const char *name) {
    for (uint32_t f = 0; f < p->function_count; f++)
        if (strcmp(p->functions[f].name, name) == 0) return f;
    return CPROF_NONE;
}

/* Merged N copies of p, threads by name: nodes pair one to one (p's threads each have a name of their
   own in these profiles, or are summed with their namesakes: checked through the roots' totals). */
static void check_copies(const char *name) {
    cprof_profile *p = load(name);
    if (!p) return;
    const cprof_profile *copies[COPIES] = {p, p, p};
    cprof_merge_options apart = cprof_merge_defaults();
    apart.threads_apart = 1;
    cprof_profile *m = cprof_merge(copies, COPIES, NULL), *a = cprof_merge(copies, COPIES, &apart);
    CHECK(m != NULL && a != NULL);
    if (!m || !a) return;
    CHECK_EQ_U64(m->run_ns, COPIES * p->run_ns);
    CHECK_EQ_U64(m->wall_ns, COPIES * p->wall_ns);
    CHECK_EQ_U64(a->run_ns, COPIES * p->run_ns);
    CHECK_EQ_U64(a->thread_count, COPIES * p->thread_count);
    CHECK_EQ_U64(a->node_count, COPIES * p->node_count);
    CHECK_EQ_U64(m->function_count, p->function_count);
    for (uint32_t f = 0; f < p->function_count; f++) {
        const cprof_function *x = &p->functions[f];
        uint32_t g = function_named(m, x->name);
        CHECK(g != CPROF_NONE);
        if (g == CPROF_NONE) continue;
        CHECK_EQ_U64(m->functions[g].calls, COPIES * x->calls);
        CHECK_EQ_U64(m->functions[g].self_ns, COPIES * x->self_ns);
        CHECK_EQ_U64(m->functions[g].total_ns, COPIES * x->total_ns);
        CHECK_EQ_U64(m->functions[g].min_ns, x->min_ns);
        CHECK_EQ_U64(m->functions[g].max_ns, x->max_ns);
        for (uint32_t k = 0; k < p->counter_count; k++) {
            CHECK_EQ_U64(cprof_function_counter(m, g, k).self, COPIES * cprof_function_counter(p, f, k).self);
            CHECK_EQ_U64(cprof_function_counter(m, g, k).total, COPIES * cprof_function_counter(p, f, k).total);
        }
    }
    /* threads apart: run 1's nodes are p's nodes, in p's order, with p's figures */
    for (uint32_t i = 0; i < p->node_count && i < a->node_count; i++) {
        CHECK_EQ_U64(a->nodes[i].calls, p->nodes[i].calls);
        CHECK_EQ_U64(a->nodes[i].total_ns, p->nodes[i].total_ns);
        CHECK_EQ_U64(a->nodes[i].depth, p->nodes[i].depth);
    }
    if (p->thread_count) {
        char expected[128];
        snprintf(expected, sizeof expected, "%s (run 2)", p->threads[0].name);
        CHECK_EQ_STR(a->threads[p->thread_count].name, expected);
    }
    CHECK_EQ_U64(m->counter_count, p->counter_count);
    for (uint32_t k = 0; k < p->counter_count; k++) CHECK_EQ_U64(m->counters[k].total, COPIES * p->counters[k].total);
    CHECK_EQ_U64(m->allocs.allocations, COPIES * p->allocs.allocations);
    CHECK_EQ_U64(m->allocs.bytes_allocated, COPIES * p->allocs.bytes_allocated);
    CHECK_EQ_U64(m->allocs.live_bytes, COPIES * p->allocs.live_bytes);
    CHECK_EQ_U64(m->allocs.peak_live_bytes, p->allocs.peak_live_bytes);
    CHECK_EQ_U64(m->alloc_site_count, p->alloc_site_count);
    for (size_t s = 0; s < p->alloc_site_count && s < m->alloc_site_count; s++) {
        CHECK_EQ_U64(m->alloc_sites[s].count, COPIES * p->alloc_sites[s].count);
        CHECK_EQ_U64(m->alloc_sites[s].bytes, COPIES * p->alloc_sites[s].bytes);
        CHECK_EQ_U64(m->alloc_sites[s].live_bytes, COPIES * p->alloc_sites[s].live_bytes);
        CHECK_EQ_U64(m->alloc_sites[s].line, p->alloc_sites[s].line);
        CHECK_EQ_U64(m->alloc_sites[s].peak_live_bytes, p->alloc_sites[s].peak_live_bytes);
    }
    CHECK_EQ_U64(m->free_problem_count, p->free_problem_count);
    CHECK_EQ_U64(m->benchmark_count, p->benchmark_count);
    for (size_t b = 0; b < p->benchmark_count && b < m->benchmark_count; b++) {
        CHECK_EQ_U64(m->benchmarks[b].sample_count, COPIES * p->benchmarks[b].sample_count);
        CHECK_EQ_U64(m->benchmarks[b].iterations, COPIES * p->benchmarks[b].iterations);
        CHECK(m->benchmarks[b].stats.median_ns == p->benchmarks[b].stats.median_ns);
    }
    /* an ordinary profile: saved, loaded and saved again, the same bytes */
    char *first = saved(m);
    cprof_profile *back = NULL;
    CHECK(first && cprof_load_string(first, strlen(first), "merged", &back) == 0);
    char *second = back ? saved(back) : NULL;
    CHECK(first && second && strcmp(first, second) == 0);
    free(first), free(second);
    cprof_profile_free(back);
    cprof_profile_free(m);
    cprof_profile_free(a);
    cprof_profile_free(p);
}

/* One profile merged alone, threads apart: the same profile, to the byte of its file. */
static void check_identity(const char *name) {
    cprof_profile *p = load(name);
    if (!p) return;
    const cprof_profile *one[1] = {p};
    cprof_merge_options apart = cprof_merge_defaults();
    apart.threads_apart = 1;
    cprof_profile *m = cprof_merge(one, 1, &apart);
    char *x = saved(p), *y = m ? saved(m) : NULL;
    char *version = x ? strstr(x, "\"version\": \"") : NULL, *current = y ? strstr(y, "\"version\": \"") : NULL;
    if (version && current) memcpy(version, current, 16); /* an older file merged is written as the current format */
    CHECK(x && y && strcmp(x, y) == 0);
    if (x && y && strcmp(x, y) != 0) fprintf(stderr, "%s: merged alone differs from itself\n", name);
    free(x), free(y);
    cprof_profile_free(m);
    cprof_profile_free(p);
}

/* Two different programs: each function's calls and self time are the sums of both; paths that only
   one has keep its figures; threads of the same name share one tree. */
static void check_different(void) {
    cprof_profile *w = load("wordfreq"), *t = load("threads");
    if (!w || !t) return;
    const cprof_profile *both[2] = {w, t};
    cprof_profile *m = cprof_merge(both, 2, NULL);
    CHECK(m != NULL);
    if (!m) return;
    CHECK_EQ_U64(m->run_ns, w->run_ns + t->run_ns);
    CHECK_EQ_U64(m->function_count, w->function_count + t->function_count); /* no name in common */
    for (int side = 0; side < 2; side++) {
        const cprof_profile *p = side ? t : w;
        for (uint32_t f = 0; f < p->function_count; f++) {
            uint32_t g = function_named(m, p->functions[f].name);
            CHECK(g != CPROF_NONE);
            if (g == CPROF_NONE) continue;
            CHECK_EQ_U64(m->functions[g].calls, p->functions[f].calls);
            CHECK_EQ_U64(m->functions[g].self_ns, p->functions[f].self_ns);
        }
    }
    /* "main" of both is one thread; t's two "worker 1" threads are one too */
    size_t names = 0;
    for (size_t i = 0; i < m->thread_count; i++) names += strcmp(m->threads[i].name, "main") == 0;
    CHECK_EQ_U64(names, 1);
    CHECK_EQ_U64(m->thread_count, 5); /* main, worker 0..3 */
    cprof_profile_free(m);
    cprof_profile_free(w);
    cprof_profile_free(t);
}

int main(void) {
    for (size_t i = 0; i < CORPUS; i++) check_copies(corpus[i]);
    for (size_t i = 0; i < CORPUS; i++) check_identity(corpus[i]);
    check_different();
    CHECK(cprof_merge(NULL, 0, NULL) == NULL);
    CHECK_DONE();
}
