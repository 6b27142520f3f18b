/* Memory over time and the allocator's overhead: the peak's moment and what each site held then, the
   bounded series (its points in time order, the last one the capture's, the largest point the peak
   when every change is published), the merge when the series is full (bounded, the spike kept), the
   per-site slack from malloc_usable_size, glibc's view of its heap, the figures through the JSON, and the
   Fragmentation finding on a heap left full of holes. Exact values; nothing depends on timing. */
#include <malloc.h> /* malloc_usable_size: the test's own reading of a block's slack (before cprof.h) */
#define CPROF_WRAP_MALLOC
#include "../cprof.h"
#include "check.h"

#if defined(CHECK_FORK_UNSAFE_ALLOCATOR) /* ASan's or TSan's allocator answers for malloc_usable_size */
#define SANITIZER_ALLOCATOR 1
#else
#define SANITIZER_ALLOCATOR 0
#endif

enum { BLOCK = 65536, KEPT = 16, GROWN = 64, SMALL = 1000 };

static const cprof_alloc_site *site_at(const cprof_profile *p, int line) {
    for (size_t i = 0; i < p->alloc_site_count; i++)
        if (p->alloc_sites[i].line == (uint32_t)line && strstr(p->alloc_sites[i].file, "test_alloc_memory")) return &p->alloc_sites[i];
    return NULL;
}

static int kept_line, grown_line, later_line, small_line;
static void *kept[KEPT], *grown[GROWN], *later[KEPT * 2];
static char *small[SMALL];

/* 1 MiB kept, 4 MiB more (the peak: 5 MiB), the 4 MiB freed, 2 MiB at another site (below the peak). */
static void peak_phases(void) {
    for (int i = 0; i < KEPT; i++) { kept_line = __LINE__; kept[i] = malloc(BLOCK); }
    for (int i = 0; i < GROWN; i++) { grown_line = __LINE__; grown[i] = malloc(BLOCK); }
    for (int i = 0; i < GROWN; i++) free(grown[i]);
    for (int i = 0; i < KEPT * 2; i++) { later_line = __LINE__; later[i] = malloc(BLOCK); }
}

static uint64_t expected_slack, usable_24; /* blocks whose usable size was 24 */

static void small_requests(void) {
    for (int i = 0; i < SMALL; i++) {
        small_line = __LINE__; small[i] = (char *)malloc(1);
        size_t usable = (malloc_usable_size)(small[i]); /* the C library's answer, read by the test */
        expected_slack += usable - 1;
        usable_24 += usable == 24;
    }
}

static void test_peak_and_series(void) {
    peak_phases();
    small_requests();
    cprof_profile *p = cprof_capture();
    const cprof_alloc_site *k = site_at(p, kept_line), *g = site_at(p, grown_line), *l = site_at(p, later_line);
    CHECK(k && g && l);
    if (!k || !g || !l) { cprof_profile_free(p); return; }
    CHECK_EQ_U64(p->allocs.peak_live_bytes, (uint64_t)(KEPT + GROWN) * BLOCK);
    CHECK_EQ_U64(k->at_peak_bytes, (uint64_t)KEPT * BLOCK);
    CHECK_EQ_U64(k->at_peak_count, KEPT);
    CHECK_EQ_U64(g->at_peak_bytes, (uint64_t)GROWN * BLOCK);
    CHECK_EQ_U64(g->at_peak_count, GROWN);
    CHECK_EQ_U64(l->at_peak_bytes, 0);
    CHECK_EQ_U64(g->live_bytes, 0);
    CHECK(p->allocs.peak_ns > 0 && p->allocs.peak_ns <= p->wall_ns);
    /* The series: in time order, the capture's point last, each point's sites at most its total. */
    CHECK(p->memory_point_count >= 2 && p->memory_point_count <= 257);
    uint64_t highest = 0, highest_ns = 0, previous = 0;
    for (size_t i = 0; i < p->memory_point_count; i++) {
        const cprof_memory_point *m = &p->memory_points[i];
        uint64_t sum = 0;
        CHECK(m->time_ns >= previous);
        previous = m->time_ns;
        CHECK(m->share_count <= CPROF_MEMORY_POINT_SITES);
        for (uint32_t s = 0; s < m->share_count; s++) sum += p->memory_shares[m->first_share + s].bytes;
        CHECK(sum <= m->live_bytes);
        if (m->live_bytes > highest) highest = m->live_bytes, highest_ns = m->time_ns;
    }
    /* A point at least every 64 KiB of change published (a thread's first 64 KiB may wait): the highest
       point is within a step of the peak (the peak itself is exact, above). */
    CHECK(highest <= p->allocs.peak_live_bytes && highest + 65536 >= p->allocs.peak_live_bytes);
    CHECK(highest_ns <= p->wall_ns);
    const cprof_memory_point *last = &p->memory_points[p->memory_point_count - 1];
    CHECK_EQ_U64(last->time_ns, p->wall_ns);
    CHECK_EQ_U64(last->live_bytes, p->allocs.live_bytes);
    CHECK(last->share_count >= 2);
    if (last->share_count >= 2) CHECK_EQ_U64(p->memory_shares[last->first_share].bytes, (uint64_t)KEPT * 2 * BLOCK);
    /* The slack of 1-byte requests, as the test reads it: on x86-64 glibc malloc_usable_size answers 24
       (ASan and valgrind: the request itself). */
    const cprof_alloc_site *sm = site_at(p, small_line);
    CHECK(sm != NULL);
    if (sm) {
        CHECK_EQ_U64(sm->slack_bytes, expected_slack);
        CHECK_EQ_U64(sm->count, SMALL);
    }
#if defined(__GLIBC__) && defined(__x86_64__)
    if (!getenv("CHECK_UNDER_VALGRIND") && !SANITIZER_ALLOCATOR) { /* glibc's own allocator */
        /* 24 (a 32-byte chunk), but a block cut from a free chunk too small to split keeps all of it: most */
        CHECK(usable_24 >= SMALL * 9 / 10);
        CHECK(p->allocs.heap_at_capture.measured);
        CHECK(p->allocs.heap_at_peak.measured);
        uint64_t peak = (uint64_t)(KEPT + GROWN) * BLOCK; /* read within an eighth (and a step) of it */
        CHECK(p->allocs.heap_at_peak.in_use_bytes + p->allocs.heap_at_peak.mmap_bytes >= peak - peak / 9 - 65536);
    }
#endif
    CHECK(p->allocs.slack_bytes >= expected_slack);
    /* Through the JSON and back: the same figures. */
    char *text = json_of(p);
    cprof_profile *q = NULL;
    CHECK_EQ_U64(cprof_load_string(text, strlen(text), "memory.json", &q), 0);
    (free)(text);
    CHECK(q != NULL);
    if (q) {
        CHECK_EQ_U64(q->allocs.peak_ns, p->allocs.peak_ns);
        CHECK_EQ_U64(q->allocs.slack_bytes, p->allocs.slack_bytes);
        CHECK_EQ_U64(q->allocs.heap_at_peak.free_bytes, p->allocs.heap_at_peak.free_bytes);
        CHECK_EQ_U64(q->allocs.heap_at_capture.measured, p->allocs.heap_at_capture.measured);
        CHECK_EQ_U64(q->memory_point_count, p->memory_point_count);
        CHECK_EQ_U64(q->memory_share_count, p->memory_share_count);
        for (size_t i = 0; i < q->memory_share_count && i < p->memory_share_count; i++) {
            CHECK_EQ_U64(q->memory_shares[i].site, p->memory_shares[i].site);
            CHECK_EQ_U64(q->memory_shares[i].bytes, p->memory_shares[i].bytes);
        }
        const cprof_alloc_site *gq = site_at(q, grown_line);
        CHECK(gq && gq->at_peak_bytes == g->at_peak_bytes && gq->slack_bytes == g->slack_bytes);
        /* Two runs merged: the slack summed, what a site held at the peak the peak's run's (not summed). */
        const cprof_profile *runs[2] = {p, q};
        cprof_profile *merged = cprof_merge(runs, 2, NULL);
        CHECK(merged != NULL);
        const cprof_alloc_site *gm = merged ? site_at(merged, grown_line) : NULL;
        CHECK(gm != NULL);
        if (gm) {
            CHECK_EQ_U64(gm->at_peak_bytes, g->at_peak_bytes);
            CHECK_EQ_U64(gm->slack_bytes, 2 * g->slack_bytes);
            CHECK_EQ_U64(merged->allocs.slack_bytes, 2 * p->allocs.slack_bytes);
            CHECK_EQ_U64(merged->allocs.peak_ns, p->allocs.peak_ns);
        }
        cprof_profile_free(merged);
        cprof_profile_free(q);
    }
    cprof_profile_free(p);
    for (int i = 0; i < KEPT; i++) free(kept[i]);
    for (int i = 0; i < KEPT * 2; i++) free(later[i]);
    for (int i = 0; i < SMALL; i++) free(small[i]);
}

/* 1,000 times up by 1 MiB and down: more points than the series holds, so neighbours merge (the steps
   double) until the swings no longer make points. Bounded, and the spike kept. */
static void test_bounded(void) {
    for (int i = 0; i < 1000; i++) free(malloc(1 << 20));
    cprof_profile *p = cprof_capture();
    CHECK(p->memory_point_count >= 128 && p->memory_point_count <= 257);
    uint64_t highest = 0;
    for (size_t i = 0; i < p->memory_point_count; i++)
        if (p->memory_points[i].live_bytes > highest) highest = p->memory_points[i].live_bytes;
    CHECK(highest + 65536 >= p->allocs.peak_live_bytes); /* the first test's peak: merges keep the larger of two */
    cprof_profile_free(p);
}

static const cprof_finding *fragmentation(const cprof_findings *f, const char *function) {
    for (size_t i = 0; f && i < f->count; i++)
        if (f->items[i].category == CPROF_CATEGORY_FRAGMENTATION && !strcmp(f->items[i].function, function)) return &f->items[i];
    return NULL;
}

/* A heap left full of holes: 20,000 blocks of 200 B (208-byte chunks on glibc), every other one freed, so
   that no two free chunks touch and none merge. Before the frees no Fragmentation finding about the
   heap; after them one, with nearly all the holes' bytes (glibc's per-thread cache keeps 7 of them as in
   use, the capture's own blocks fill a few). Only where glibc's own allocator answers mallinfo2; elsewhere the heap is not measured. */
static void test_fragmentation(void) {
    enum { HOLED = 20000 };
    static char *blocks[HOLED];
    cprof_analyze_options o = cprof_analyze_defaults();
    o.settings = o.budgets = NULL;
    for (int i = 0; i < HOLED; i++) blocks[i] = (char *)malloc(200);
    cprof_profile *before = cprof_capture();
    for (int i = 0; i < HOLED; i += 2) free(blocks[i]);
    cprof_profile *after = cprof_capture();
    cprof_findings *fb = cprof_analyze(before, &o), *fa = cprof_analyze(after, &o);
    CHECK(fragmentation(fb, "(the heap)") == NULL);
    const cprof_finding *x = fragmentation(fa, "(the heap)");
    if (after->allocs.heap_at_capture.measured) {
        const cprof_heap_info *h = &after->allocs.heap_at_capture;
        CHECK(h->free_bytes - h->releasable_bytes >= (uint64_t)(HOLED / 2) * 208 * 9 / 10); /* the capture's own blocks take a few */
        CHECK(x != NULL);
        if (x) {
            CHECK_EQ_U64(x->bytes, h->free_bytes - h->releasable_bytes);
            CHECK(x->measure >= o.fragmentation_free_pct && x->threshold == o.fragmentation_free_pct);
            CHECK_CONTAINS(x->description, "at capture the C library's heap held ");
        }
        /* a threshold above the share found: no finding */
        o.fragmentation_free_pct = x ? x->measure + 1.0 : 100.0;
        cprof_findings *higher = cprof_analyze(after, &o);
        CHECK(fragmentation(higher, "(the heap)") == NULL);
        cprof_findings_free(higher);
    } else {
        CHECK(x == NULL);
    }
#if defined(__GLIBC__) && defined(__x86_64__)
    if (!getenv("CHECK_UNDER_VALGRIND") && !SANITIZER_ALLOCATOR) CHECK(after->allocs.heap_at_capture.measured);
#endif
    cprof_findings_free(fb);
    cprof_findings_free(fa);
    cprof_profile_free(before);
    cprof_profile_free(after);
    for (int i = 1; i < HOLED; i += 2) free(blocks[i]);
}

/* Fragmentation about a site: 1-byte requests' slack is 23 times the bytes asked for; with the minimum
   lowered under their slack, a Medium finding (over 4 times the share) with the slack's bytes. */
static void test_slack_finding(void) {
    cprof_analyze_options o = cprof_analyze_defaults();
    o.settings = "fragmentation_min_bytes=10000";
    o.budgets = NULL;
    for (int i = 0; i < SMALL; i++) { small_line = __LINE__; small[i] = (char *)malloc(1); }
    cprof_profile *p = cprof_capture();
    cprof_findings *f = cprof_analyze(p, &o);
    const cprof_alloc_site *s = site_at(p, small_line);
    const cprof_finding *x = fragmentation(f, "test_slack_finding");
    CHECK(s != NULL);
    if (s && s->slack_bytes >= 10000) {
        CHECK(x != NULL);
        if (x) {
            CHECK_EQ_U64(x->bytes, s->slack_bytes);
            CHECK_EQ_U64(x->severity, CPROF_SEVERITY_MEDIUM);
            CHECK_EQ_U64(x->line, small_line);
        }
    } else {
        CHECK(x == NULL); /* a sanitizer's or valgrind's allocator: usable = requested */
    }
#if defined(__GLIBC__) && defined(__x86_64__)
    if (!getenv("CHECK_UNDER_VALGRIND") && !SANITIZER_ALLOCATOR) CHECK(x != NULL);
#endif
    cprof_findings_free(f);
    cprof_profile_free(p);
    for (int i = 0; i < SMALL; i++) free(small[i]);
}

int main(void) {
    test_peak_and_series();
    test_bounded();
    test_slack_finding();
    test_fragmentation();
    CHECK_DONE();
}
