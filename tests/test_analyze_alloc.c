/* The analyzer's allocation rules (FrequentAllocation, ExcessiveAllocation, LargeAllocation,
   TemporaryAllocations, Leak): each planted in a live program built with CPROF_WRAP_MALLOC, the issue's
   seed figure, the severities on built profiles with exact numbers, a loaded profile, and a balanced
   program that allocates a little without an alarm. */
#define CPROF_WRAP_MALLOC
#include "../cprof.h"
#include "check.h"
#include <unistd.h>

static cprof_findings *analyze(const cprof_profile *p) {
    cprof_analyze_options o = cprof_analyze_defaults();
    o.settings = NULL;
    o.budgets = NULL;
    return cprof_analyze(p, &o);
}

/* The finding of `category` at line `line` of this file, or NULL. */
static const cprof_finding *finding_at(const cprof_findings *f, int category, int line) {
    for (size_t i = 0; f && i < f->count; i++)
        if (f->items[i].category == category && f->items[i].line == (uint32_t)line) return &f->items[i];
    return NULL;
}

static size_t count_in(const cprof_findings *f, int category) {
    size_t n = 0;
    for (size_t i = 0; i < f->count; i++) n += f->items[i].category == category;
    return n;
}

static void *kept[10000];
static void *leaked_small, *leaked_big;
static int frequent_line, temporary_line, excessive_line, large_line, leak_small_line, leak_big_line, balanced_line;

/* The seed: 10,000 allocations of 100 bytes at one site. */
static void many_small(void) {
    CPROF_SCOPE();
    for (int i = 0; i < 10000; i++) {
        frequent_line = __LINE__ + 1;
        kept[i] = malloc(100);
    }
    for (int i = 0; i < 10000; i++) free(kept[i]);
}

static void scratch(void) {
    CPROF_SCOPE();
    for (int i = 0; i < 2000; i++) {
        temporary_line = __LINE__ + 1;
        char *line = (char *)malloc(64);
        if (line) line[0] = (char)i, check_sink += (uint64_t)line[0];
        free(line);
    }
}

static void copy_everything(void) {
    CPROF_SCOPE();
    for (int i = 0; i < 64; i++) {
        excessive_line = __LINE__ + 1;
        kept[i] = malloc(65536);
    }
    for (int i = 0; i < 64; i++) free(kept[i]);
}

static void load_whole_file(void) {
    CPROF_SCOPE();
    large_line = __LINE__ + 1;
    void *whole = malloc((size_t)32 << 20);
    free(whole);
}

static void open_cache(void) {
    CPROF_SCOPE();
    leak_small_line = __LINE__ + 1;
    leaked_small = malloc(5000);
    leak_big_line = __LINE__ + 1;
    leaked_big = malloc((size_t)2 << 20);
}

static void test_live_and_loaded(void) {
    many_small();
    scratch();
    copy_everything();
    cprof_profile *p = cprof_capture();
    cprof_findings *f = analyze(p);
    CHECK(f->not_checked[CPROF_CATEGORY_FREQUENT_ALLOCATION] == NULL);
    const cprof_finding *x = finding_at(f, CPROF_CATEGORY_FREQUENT_ALLOCATION, frequent_line);
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ_STR(x->function, "many_small");
        CHECK_EQ_STR(x->scope, "many_small");
        CHECK_EQ_U64(x->count, 10000);
        CHECK_EQ_U64(x->bytes, 1000000);
        CHECK_EQ_U64(x->severity, CPROF_SEVERITY_LOW);
        CHECK_CONTAINS(x->description, "10,000 allocations of 100 bytes on average (1,000,000 B) at tests/test_analyze_alloc.c:");
        CHECK_CONTAINS(x->recommendation, "a pool or an arena");
        CHECK(x->share > 0 && x->share < 1);
    }
    CHECK_EQ_U64(count_in(f, CPROF_CATEGORY_FREQUENT_ALLOCATION), 1);
    x = finding_at(f, CPROF_CATEGORY_TEMPORARY_ALLOCATIONS, temporary_line);
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ_STR(x->function, "scratch");
        CHECK_CONTAINS(x->description, "2,000 of 2,000 allocations (100.0%) at tests/test_analyze_alloc.c:");
    }
    CHECK(finding_at(f, CPROF_CATEGORY_FREQUENT_ALLOCATION, temporary_line) == NULL); /* 2,000: not many */
    CHECK(finding_at(f, CPROF_CATEGORY_TEMPORARY_ALLOCATIONS, frequent_line) == NULL); /* all kept, then freed */
    x = finding_at(f, CPROF_CATEGORY_EXCESSIVE_ALLOCATION, excessive_line);
    CHECK(x != NULL);
    if (x) CHECK_EQ_U64(x->bytes, 64 * 65536);
    CHECK_EQ_U64(count_in(f, CPROF_CATEGORY_EXCESSIVE_ALLOCATION), 1);
    CHECK_EQ_U64(count_in(f, CPROF_CATEGORY_LARGE_ALLOCATION), 0);
    CHECK_EQ_U64(count_in(f, CPROF_CATEGORY_LEAK), 0);
    cprof_findings_free(f);
    cprof_profile_free(p);

    load_whole_file();
    open_cache();
    p = cprof_capture();
    f = analyze(p);
    x = finding_at(f, CPROF_CATEGORY_LARGE_ALLOCATION, large_line);
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ_STR(x->function, "load_whole_file");
        CHECK_EQ_U64(x->severity, CPROF_SEVERITY_MEDIUM);
        CHECK_CONTAINS(x->description, "an allocation of 33554432 bytes at ");
        CHECK_CONTAINS(x->description, "(the largest of 1 there, 33,554,432 B in all)");
    }
    const cprof_finding *big = finding_at(f, CPROF_CATEGORY_LEAK, leak_big_line);
    const cprof_finding *small = finding_at(f, CPROF_CATEGORY_LEAK, leak_small_line);
    CHECK(big && small);
    if (big && small) {
        CHECK_EQ_U64(big->severity, CPROF_SEVERITY_HIGH);
        CHECK_EQ_U64(small->severity, CPROF_SEVERITY_LOW);
        CHECK_EQ_U64(big->bytes, (size_t)2 << 20);
        CHECK_EQ_U64(small->count, 1);
        CHECK_EQ_STR(small->scope, "open_cache");
        CHECK_CONTAINS(small->description, "1 block (5,000 B) allocated at tests/test_analyze_alloc.c:");
        CHECK(small->share == 0.0 && small->speedup_bound == 1.0); /* memory, not time */
    }
    char text[1 << 15];
    cprof_analysis_format(f, text, sizeof text);
    CHECK_CONTAINS(text, "     Cost: 5,000 B of memory held until the program ends, not time\n");
    CHECK_CONTAINS(text, "     Bound: the allocations run in the own time of load_whole_file (");

    /* the same findings from the profile saved and loaded */
    char path[128];
    snprintf(path, sizeof path, "/tmp/cprof_test_analyze_alloc_%ld.json", (long)getpid());
    CHECK_EQ_U64(cprof_save(p, path), 0);
    cprof_profile *loaded = NULL;
    CHECK_EQ_U64(cprof_load(path, &loaded), 0);
    remove(path);
    if (loaded) {
        cprof_findings *g = analyze(loaded);
        static char again[1 << 15];
        cprof_analysis_format(g, again, sizeof again);
        CHECK_EQ_STR(again, text);
        cprof_findings_free(g);
        cprof_profile_free(loaded);
    }
    cprof_findings_free(f);
    cprof_profile_free(p);
}

/* A built profile with one scope, "work", and allocation sites with exact figures inside it. */
typedef struct planted_site {
    int line;
    uint64_t count, bytes, live_count, live_bytes, temporary;
    uint64_t max_bytes; /* 0: the average */
} planted_site;

static cprof_profile *with_sites(const planted_site *sites, size_t count) {
    static const char *const tree[] = {"main 1 1000000000", " work 1 400000000", NULL};
    cprof_profile *p = build_profile(tree);
    cprof__test_grow(p, &p->alloc_sites, count, sizeof *p->alloc_sites);
    p->alloc_site_count = count;
    p->allocs.tracked = 1;
    for (size_t i = 0; i < count; i++) {
        cprof_alloc_site *s = &p->alloc_sites[i];
        memset(s, 0, sizeof *s);
        s->file = "work.c";
        s->function = "work";
        s->line = (uint32_t)sites[i].line;
        s->node = 2; /* main is node 1, work node 2 */
        s->origin = CPROF_NONE;
        s->count = sites[i].count;
        s->bytes = sites[i].bytes;
        s->live_count = sites[i].live_count;
        s->live_bytes = sites[i].live_bytes;
        s->temporary = sites[i].temporary;
        s->max_bytes = sites[i].max_bytes ? sites[i].max_bytes : sites[i].count ? sites[i].bytes / sites[i].count : 0;
        p->allocs.allocations += s->count;
        p->allocs.bytes_allocated += s->bytes;
    }
    return p;
}

static int severity_of(const planted_site *sites, size_t count, int category, int line) {
    cprof_profile *p = with_sites(sites, count);
    cprof_findings *f = analyze(p);
    const cprof_finding *x = finding_at(f, category, line);
    int severity = x ? x->severity : 0;
    cprof_findings_free(f);
    cprof_profile_free(p);
    return severity;
}

static void test_severities(void) {
    /* the seed, and the steps: 10x and 100x the count */
    planted_site seed[] = {{1, 10000, 1000000, 0, 0, 0, 0}, {2, 1, 100000000, 0, 0, 0, 0}};
    CHECK_EQ_U64(severity_of(seed, 2, CPROF_CATEGORY_FREQUENT_ALLOCATION, 1), CPROF_SEVERITY_LOW);
    planted_site tenfold[] = {{1, 100000, 10000000, 0, 0, 0, 0}, {2, 1, 100000000, 0, 0, 0, 0}};
    CHECK_EQ_U64(severity_of(tenfold, 2, CPROF_CATEGORY_FREQUENT_ALLOCATION, 1), CPROF_SEVERITY_MEDIUM);
    planted_site hundredfold[] = {{1, 1000000, 100000000, 0, 0, 0, 0}, {2, 1, 100000000, 0, 0, 0, 0}};
    CHECK_EQ_U64(severity_of(hundredfold, 2, CPROF_CATEGORY_FREQUENT_ALLOCATION, 1), CPROF_SEVERITY_HIGH);
    planted_site few[] = {{1, 9999, 999900, 0, 0, 0, 0}};
    CHECK_EQ_U64(severity_of(few, 1, CPROF_CATEGORY_FREQUENT_ALLOCATION, 1), 0);
    planted_site big_blocks[] = {{1, 10000, 20000000, 0, 0, 0, 0}}; /* 2,000 bytes each: not small */
    CHECK_EQ_U64(severity_of(big_blocks, 1, CPROF_CATEGORY_FREQUENT_ALLOCATION, 1), 0);

    /* ExcessiveAllocation: over 25% of all bytes and 1 MiB; High over 50% and 16 MiB */
    planted_site shares[] = {{1, 10, 3000000, 0, 0, 0, 0}, {2, 10, 7000000, 0, 0, 0, 0}, {3, 10, 40000000, 0, 0, 0, 0}};
    CHECK_EQ_U64(severity_of(shares, 3, CPROF_CATEGORY_EXCESSIVE_ALLOCATION, 1), 0);                     /* 6% */
    CHECK_EQ_U64(severity_of(shares, 3, CPROF_CATEGORY_EXCESSIVE_ALLOCATION, 2), 0);                     /* 14% */
    CHECK_EQ_U64(severity_of(shares, 3, CPROF_CATEGORY_EXCESSIVE_ALLOCATION, 3), CPROF_SEVERITY_HIGH);   /* 80% */
    planted_site small_run[] = {{1, 10, 900000, 0, 0, 0, 0}}; /* 100% of under 1 MiB: not excessive */
    CHECK_EQ_U64(severity_of(small_run, 1, CPROF_CATEGORY_EXCESSIVE_ALLOCATION, 1), 0);
    planted_site medium[] = {{1, 10, 4000000, 0, 0, 0, 0}, {2, 10, 6000000, 0, 0, 0, 0}};
    CHECK_EQ_U64(severity_of(medium, 2, CPROF_CATEGORY_EXCESSIVE_ALLOCATION, 1), CPROF_SEVERITY_MEDIUM); /* 40% */

    /* LargeAllocation: a single block of 16 MiB, High at 256 MiB; one huge block among many small ones counts */
    planted_site large[] = {{1, 1, 16777216, 0, 0, 0, 0}, {2, 2, 600000000, 0, 0, 0, 0}, {3, 1, 16777215, 0, 0, 0, 0},
                            {4, 1001, 1000 * 64 + 33554432, 0, 0, 0, 33554432}};
    CHECK_EQ_U64(severity_of(large, 4, CPROF_CATEGORY_LARGE_ALLOCATION, 1), CPROF_SEVERITY_MEDIUM);
    CHECK_EQ_U64(severity_of(large, 4, CPROF_CATEGORY_LARGE_ALLOCATION, 2), CPROF_SEVERITY_HIGH);
    CHECK_EQ_U64(severity_of(large, 4, CPROF_CATEGORY_LARGE_ALLOCATION, 3), 0);
    CHECK_EQ_U64(severity_of(large, 4, CPROF_CATEGORY_LARGE_ALLOCATION, 4), CPROF_SEVERITY_MEDIUM); /* average 33.6 KB */

    /* TemporaryAllocations: 1,000 and half of the site's; Medium at 100,000 */
    planted_site temporary[] = {{1, 2000, 2000, 0, 0, 1000, 0}, {2, 2000, 2000, 0, 0, 999, 0}, {3, 3000, 3000, 0, 0, 1400, 0},
                                {4, 100000, 100000, 0, 0, 100000, 0}};
    CHECK_EQ_U64(severity_of(temporary, 4, CPROF_CATEGORY_TEMPORARY_ALLOCATIONS, 1), CPROF_SEVERITY_LOW);
    CHECK_EQ_U64(severity_of(temporary, 4, CPROF_CATEGORY_TEMPORARY_ALLOCATIONS, 2), 0);
    CHECK_EQ_U64(severity_of(temporary, 4, CPROF_CATEGORY_TEMPORARY_ALLOCATIONS, 3), 0); /* 47% */
    CHECK_EQ_U64(severity_of(temporary, 4, CPROF_CATEGORY_TEMPORARY_ALLOCATIONS, 4), CPROF_SEVERITY_MEDIUM);

    /* Leak: High from 1 MiB, Medium from 64 KiB; largest first */
    planted_site leaks[] = {{1, 5, 500, 1, 100, 0, 0}, {2, 5, 5000000, 2, 2000000, 0, 0}, {3, 1, 65536, 1, 65536, 0, 0}};
    CHECK_EQ_U64(severity_of(leaks, 3, CPROF_CATEGORY_LEAK, 1), CPROF_SEVERITY_LOW);
    CHECK_EQ_U64(severity_of(leaks, 3, CPROF_CATEGORY_LEAK, 2), CPROF_SEVERITY_HIGH);
    CHECK_EQ_U64(severity_of(leaks, 3, CPROF_CATEGORY_LEAK, 3), CPROF_SEVERITY_MEDIUM);
    planted_site two_low[] = {{1, 5, 500, 1, 100, 0, 0}, {2, 5, 500, 3, 300, 0, 0}};
    cprof_profile *p = with_sites(two_low, 2);
    cprof_findings *f = analyze(p);
    CHECK(f->count >= 2);
    if (f->count >= 2) {
        CHECK_EQ_U64(f->items[f->count - 2].line, 2); /* 300 bytes before 100 */
        CHECK_EQ_U64(f->items[f->count - 1].line, 1);
    }
    /* the bound of an allocation finding is its scope's own time: work, 40% of the run */
    cprof_findings_free(f);
    planted_site one[] = {{7, 20000, 2000000, 0, 0, 0, 0}};
    cprof_profile_free(p);
    p = with_sites(one, 1);
    f = analyze(p);
    const cprof_finding *x = finding_at(f, CPROF_CATEGORY_FREQUENT_ALLOCATION, 7);
    CHECK(x && x->share == 0.4 && x->self_ns == 400000000 && x->calls == 1);
    CHECK(x && strcmp(x->scope, "main > work") == 0);

    /* the thresholds through the settings */
    cprof_analyze_options o = cprof_analyze_defaults();
    o.budgets = NULL;
    o.settings = "frequent_alloc_count=30000";
    cprof_findings *g = cprof_analyze(p, &o);
    CHECK(finding_at(g, CPROF_CATEGORY_FREQUENT_ALLOCATION, 7) == NULL);
    CHECK_EQ_STR(g->notes, "");
    cprof_findings_free(g);
    cprof_findings_free(f);
    cprof_profile_free(p);
}

/* A program that allocates a little in each step: no allocation finding at all. */
static void step(int i) {
    CPROF_SCOPE();
    balanced_line = __LINE__ + 1;
    char *buffer = (char *)malloc(256);
    if (buffer) buffer[0] = (char)i;
    kept[i] = buffer;
}

static void test_balanced(void) {
    for (int i = 0; i < 100; i++) step(i);
    for (int i = 0; i < 100; i++) free(kept[i]);
    /* judged on a capture of its own sites only: a fresh profile with just this site */
    cprof_profile *p = cprof_capture();
    cprof_findings *f = analyze(p);
    for (int c = CPROF_CATEGORY_FREQUENT_ALLOCATION; c <= CPROF_CATEGORY_LEAK; c++)
        CHECK(finding_at(f, c, balanced_line) == NULL);
    cprof_findings_free(f);
    cprof_profile_free(p);
}

int main(void) {
    test_live_and_loaded();
    test_severities();
    test_balanced();
    free(leaked_small); /* the planted leaks, now that they have been found (valgrind would report them) */
    free(leaked_big);
    CHECK_DONE();
}
