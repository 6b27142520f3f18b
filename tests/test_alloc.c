/* Allocation tracking (CPROF_WRAP_MALLOC): per-site and per-scope figures, leaks, temporaries, the
   size histogram, the peak, invalid frees, each wrapper's edge cases, the JSON round trip, the report,
   `cprof leaks`, the flame graph metrics and CPROF_TRACK_ALLOCS. Exact values throughout. */
#define CPROF_WRAP_MALLOC
#include "../cprof.h"
#define CHECK_ALLOCATOR_RETURNS_NULL /* a huge realloc fails with NULL under the sanitizers too */
#include "check.h"
#include <errno.h>
#include <stdint.h>

static const cprof_alloc_site *site_at(const cprof_profile *p, int line) {
    for (size_t i = 0; i < p->alloc_site_count; i++)
        if (p->alloc_sites[i].line == (uint32_t)line && strcmp(p->alloc_sites[i].file, __FILE__) == 0)
            return &p->alloc_sites[i];
    return NULL;
}

static const cprof_alloc_site *problem_at(const cprof_profile *p, int line) {
    for (size_t i = 0; i < p->free_problem_count; i++)
        if (p->free_problems[i].line == (uint32_t)line) return &p->free_problems[i];
    return NULL;
}

static const char *scope_of(const cprof_profile *p, const cprof_alloc_site *s) {
    if (!s || s->node == CPROF_NONE || p->nodes[s->node].site == CPROF_NONE) return "(no scope)";
    return p->sites[p->nodes[s->node].site].name;
}

static void *blocks[8];
static int three_line, two_line, temp_line, temp_b_line, unknown_line, double_alloc_line, double_free_line, peak_line;

static void three_sizes(void) {
    CPROF_SCOPE();
    for (int i = 0; i < 3; i++) {
        three_line = __LINE__ + 1;
        blocks[i] = malloc(100 * (size_t)(i + 1));
    }
}

static void inner(void) {
    CPROF_SCOPE();
    blocks[5] = malloc(7);
}

/* 100 and 200 bytes at one site, the first freed: one leak of 200 bytes. Inner allocates 7 more. */
static void outer(void) {
    CPROF_SCOPE();
    for (int i = 0; i < 2; i++) {
        two_line = __LINE__ + 1;
        blocks[3 + i] = malloc(100 * (size_t)(i + 1));
    }
    free(blocks[3]);
    inner();
}

/* heaptrack's temporaries: a is not (b came between), b and c are. */
static void temporaries(void) {
    CPROF_SCOPE();
    for (int i = 0; i < 3; i++) {
        temp_line = __LINE__ + 1;
        void *a = malloc(16);
        if (i == 0) {
            temp_b_line = __LINE__ + 1;
            void *b = malloc(16);
            free(a);
            free(b);
        } else {
            free(a);
        }
    }
}

static void invalid_frees(void) {
    CPROF_SCOPE();
    for (int i = 0; i < 3; i++) {
        void *foreign = (malloc)(10); /* not through the tracker, like getline's buffer */
        unknown_line = __LINE__ + 1;
        free(foreign);
    }
    double_alloc_line = __LINE__ + 1;
    void *d = malloc(24);
    free(d);
    double_free_line = __LINE__ + 1;
    free(d); /* would abort the program in the C library: not passed on */
}

static void peak_here(void) {
    CPROF_SCOPE();
    peak_line = __LINE__ + 1;
    void *big = malloc((size_t)10 << 20);
    free(big);
}

static int evaluations;
static cprof_alloc_counts tracked_counts;
static cprof_alloc_counts *counts_target(void) { evaluations++; return &tracked_counts; }
static const char *block_name(void) { evaluations++; return "test block"; }

/* struct members named like the C library's functions: declarations and (obj->free)(p) are left alone. */
typedef struct allocator {
    void *(*malloc)(size_t size);
    void (*free)(void *block);
} allocator;

static void edge_cases(void) {
    cprof_alloc_counts before = cprof_thread_allocs(), after;
    /* calloc overflow: NULL, ENOMEM, nothing recorded */
    errno = 0;
    CHECK(calloc(SIZE_MAX / 2, 3) == NULL);
    CHECK_EQ_U64(errno, ENOMEM);
    after = cprof_thread_allocs();
    CHECK_EQ_U64(after.allocations, before.allocations);
    /* calloc records count * size */
    char *zeros = (char *)calloc(4, 25);
    CHECK(zeros && zeros[99] == 0);
    after = cprof_thread_allocs();
    CHECK_EQ_U64(after.bytes - before.bytes, 100);
    free(zeros);
    /* strndup: min(strnlen, n) + 1 */
    before = cprof_thread_allocs();
    char *cut = strndup("abcdef", 3), *whole = strndup("ab", 10), *copy = strdup("hello");
    CHECK_EQ_STR(cut, "abc");
    CHECK_EQ_STR(whole, "ab");
    CHECK_EQ_STR(copy, "hello");
    after = cprof_thread_allocs();
    CHECK_EQ_U64(after.bytes - before.bytes, 4 + 3 + 6);
    free(cut);
    free(whole);
    free(copy);
#if !defined(_WIN32) /* neither is in the Windows C library; cprof does not wrap them there */
    /* posix_memalign: records on success only, returns the error code; aligned_alloc likewise */
    void *aligned = NULL;
    before = cprof_thread_allocs();
    CHECK_EQ_U64(posix_memalign(&aligned, 3, 64), EINVAL);
    CHECK(aligned == NULL);
    CHECK_EQ_U64(posix_memalign(&aligned, 256, 64), 0);
    CHECK(aligned && ((uintptr_t)aligned & 255) == 0);
    void *aligned2 = aligned_alloc(64, 128);
    CHECK(aligned2 && ((uintptr_t)aligned2 & 63) == 0);
    CHECK(aligned_alloc(64, SIZE_MAX / 2) == NULL); /* odd alignments: tests/test_alloc_aligned.c */
    after = cprof_thread_allocs();
    CHECK_EQ_U64(after.allocations - before.allocations, 2);
    CHECK_EQ_U64(after.bytes - before.bytes, 64 + 128);
    free(aligned);
    free(aligned2);
#endif
    /* realloc: NULL = malloc; growth moves the bytes; failure keeps the old block; (p, 0) frees it */
    before = cprof_thread_allocs();
    char *r = (char *)realloc(NULL, 10);
    CHECK(r != NULL);
    memcpy(r, "012345678", 10);
    r = (char *)realloc(r, 1000);
    CHECK_EQ_STR(r, "012345678");
    CHECK(realloc(r, SIZE_MAX / 2) == NULL); /* fails: r stays live */
    after = cprof_thread_allocs();
    CHECK_EQ_U64(after.allocations - before.allocations, 2);
    CHECK_EQ_U64(after.frees - before.frees, 1);
    CHECK_EQ_U64(after.bytes - before.bytes, 1010);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->allocs.live_blocks, 1); /* r: edge_cases runs first */
    cprof_profile_free(p);
    void *gone = realloc(r, 0); /* glibc frees and returns NULL */
    if (gone) free(gone);
    after = cprof_thread_allocs();
    CHECK_EQ_U64(after.frees - before.frees, 2);
    CHECK_EQ_U64(after.freed_bytes - before.freed_bytes, 1010);
    /* reallocarray checks count * size too */
    errno = 0;
    CHECK(reallocarray(NULL, SIZE_MAX / 2, 3) == NULL);
    CHECK_EQ_U64(errno, ENOMEM);
    void *array = reallocarray(NULL, 10, 8);
    CHECK(array != NULL);
    free(array);
    /* free(NULL) does nothing; malloc_usable_size is the C library's own (no header in front) */
    before = cprof_thread_allocs();
    free(NULL);
    after = cprof_thread_allocs();
    CHECK_EQ_U64(after.frees, before.frees);
    /* members named malloc/free, and the parenthesised escape: not tracked */
    allocator library = {malloc, free};
    before = cprof_thread_allocs();
    void *m = (library.malloc)(32);
    (library.free)(m);
    void *escaped = (malloc)(8);
    (free)(escaped);
    after = cprof_thread_allocs();
    CHECK_EQ_U64(after.allocations, before.allocations);
    CHECK_EQ_U64(after.frees, before.frees);
}

static void track_block(void) {
    evaluations = 0;
    CPROF_TRACK_ALLOCS_INTO(counts_target()) {
        void *a = malloc(5), *b = malloc(7);
        free(a);
        (void)b;
        blocks[6] = b;
    }
    CHECK_EQ_U64(evaluations, 1);
    CHECK_EQ_U64(tracked_counts.allocations, 2);
    CHECK_EQ_U64(tracked_counts.bytes, 12);
    CHECK_EQ_U64(tracked_counts.frees, 1);
    CHECK_EQ_U64(tracked_counts.freed_bytes, 5);
    CPROF_TRACK_ALLOCS(block_name()) { free(blocks[6]); }
    CHECK_EQ_U64(evaluations, 2);
}

static void check_sites(const cprof_profile *p) {
    const cprof_alloc_site *three = site_at(p, three_line), *two = site_at(p, two_line);
    CHECK(three && two);
    if (!three || !two) return;
    CHECK_EQ_U64(three->count, 3);
    CHECK_EQ_U64(three->bytes, 600);
    CHECK_EQ_U64(three->bytes / three->count, 200);
    CHECK_EQ_U64(three->live_count, 3);
    CHECK_EQ_U64(three->live_bytes, 600);
    CHECK_EQ_U64(three->peak_live_bytes, 600);
    CHECK_EQ_U64(three->max_bytes, 300);
    CHECK_EQ_STR(three->function, "three_sizes");
    CHECK_EQ_STR(scope_of(p, three), "three_sizes");
    CHECK_EQ_U64(two->count, 2);
    CHECK_EQ_U64(two->live_count, 1);
    CHECK_EQ_U64(two->live_bytes, 200);
    CHECK_EQ_U64(two->peak_live_bytes, 300);
    CHECK_EQ_STR(scope_of(p, two), "outer");
    /* per scope: self and inclusive */
    const cprof_node *o = find_node(p, 0, "outer"), *i = find_node(p, 0, "outer/inner");
    CHECK(o && i);
    if (o && i) {
        CHECK_EQ_U64(o->alloc_self_count, 2);
        CHECK_EQ_U64(o->alloc_self_bytes, 300);
        CHECK_EQ_U64(o->alloc_count, 3);
        CHECK_EQ_U64(o->alloc_bytes, 307);
        CHECK_EQ_U64(i->alloc_self_bytes, 7);
    }
    const cprof_alloc_site *temp = site_at(p, temp_line);
    CHECK(temp != NULL);
    if (temp) {
        CHECK_EQ_U64(temp->count, 3);
        CHECK_EQ_U64(temp->temporary, 2);
    }
    const cprof_alloc_site *temp_b = site_at(p, temp_b_line);
    CHECK(temp_b && temp_b->temporary == 1);
}

static void check_problems(const cprof_profile *p) {
    const cprof_alloc_site *unknown = problem_at(p, unknown_line), *twice = problem_at(p, double_free_line);
    CHECK(unknown && twice);
    if (!unknown || !twice) return;
    CHECK_EQ_U64(unknown->kind, CPROF_FREE_UNKNOWN);
    CHECK_EQ_U64(unknown->count, 3); /* one entry, counted: no error storm */
    CHECK_EQ_STR(scope_of(p, unknown), "invalid_frees");
    CHECK_EQ_U64(twice->kind, CPROF_FREE_DOUBLE);
    CHECK_EQ_U64(twice->count, 1);
    CHECK_EQ_U64(twice->bytes, 24);
    CHECK(twice->origin < p->alloc_site_count && p->alloc_sites[twice->origin].line == (uint32_t)double_alloc_line);
    CHECK_EQ_U64(p->allocs.unknown_frees, 3);
    CHECK_EQ_U64(p->allocs.double_frees, 1);
    int message = 0;
    for (size_t i = 0; i < p->message_count; i++) message |= strstr(p->messages[i].text, "double free") != NULL;
    CHECK(message);
}

static void check_round_trip(const cprof_profile *p) {
    const char *path = "build/test_alloc_round_trip.json";
    cprof_profile *q = NULL;
    CHECK_EQ_U64(cprof_save(p, path), 0);
    CHECK_EQ_U64(cprof_load(path, &q), 0);
    if (!q) return;
    CHECK(memcmp(&p->allocs, &q->allocs, sizeof p->allocs) == 0);
    CHECK_EQ_U64(q->alloc_site_count, p->alloc_site_count);
    CHECK_EQ_U64(q->free_problem_count, p->free_problem_count);
    for (size_t i = 0; i < p->alloc_site_count && i < q->alloc_site_count; i++) {
        const cprof_alloc_site *a = &p->alloc_sites[i], *b = &q->alloc_sites[i];
        CHECK(a->count == b->count && a->bytes == b->bytes && a->live_count == b->live_count &&
              a->live_bytes == b->live_bytes && a->peak_live_bytes == b->peak_live_bytes &&
              a->temporary == b->temporary && a->node == b->node && a->line == b->line && a->origin == b->origin &&
              a->max_bytes == b->max_bytes);
        CHECK_EQ_STR(a->file, b->file);
        CHECK_EQ_STR(a->function, b->function);
    }
    for (size_t i = 0; i < p->free_problem_count && i < q->free_problem_count; i++)
        CHECK(p->free_problems[i].origin == q->free_problems[i].origin &&
              p->free_problems[i].count == q->free_problems[i].count && p->free_problems[i].kind == q->free_problems[i].kind);
    for (size_t i = 0; i < p->node_count && i < q->node_count; i++)
        CHECK(p->nodes[i].alloc_count == q->nodes[i].alloc_count && p->nodes[i].alloc_self_bytes == q->nodes[i].alloc_self_bytes);
    static char first[1 << 16];
    snprintf(first, sizeof first, "%s", report_text(p, NULL));
    CHECK_EQ_STR(report_text(q, NULL), first);
    cprof_profile_free(q);
    /* a file without allocations (an older file, or no tracking) still loads */
    static const char *const lines[] = {"main 1 100", NULL};
    cprof_profile *plain = build_profile(lines);
    CHECK_EQ_U64(cprof_save(plain, path), 0);
    cprof_profile_free(plain);
    CHECK_EQ_U64(cprof_load(path, &q), 0);
    if (q) {
        CHECK_EQ_U64(q->allocs.tracked, 0);
        CHECK_EQ_U64(q->alloc_site_count, 0);
        CHECK(strstr(report_text(q, NULL), "Allocations") == NULL);
    }
    cprof_profile_free(q);
}

static void check_writers(const cprof_profile *p) {
    const char *text = report_text(p, NULL);
    CHECK_CONTAINS(text, "Allocation sites, by bytes");
    CHECK_CONTAINS(text, "           3             600         200      3             600             600           0  ");
    CHECK_CONTAINS(text, "Frees that went wrong");
    CHECK_CONTAINS(text, ": 3 frees of blocks the tracker never saw (passed on)");
    CHECK_CONTAINS(text, ": 1 double frees (not passed on) of blocks allocated at ");
    CHECK_CONTAINS(text, "peak 10,486,");
    CHECK_CONTAINS(text, " in peak_here\n");
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f) return;
    CHECK_EQ_U64(cprof_leaks_write(p, f), 0);
    char leaks[4096] = "";
    rewind(f);
    size_t n = fread(leaks, 1, sizeof leaks - 1, f);
    leaks[n] = '\0';
    CHECK_CONTAINS(leaks, "Leaks: 5 blocks, 807 B still allocated at capture\n");
    CHECK_CONTAINS(leaks, "         3 blocks 600 B  ");
    CHECK_CONTAINS(leaks, "         1 blocks 200 B  ");
    CHECK(strstr(leaks, "600 B") < strstr(leaks, "200 B")); /* largest first */
    rewind(f);
    cprof_flamegraph_options o = cprof_flamegraph_defaults();
    o.metric = "alloc-bytes";
    CHECK_EQ_U64(cprof_flamegraph_write(p, f, &o), 0);
    o.metric = "alloc-count";
    CHECK_EQ_U64(cprof_flamegraph_write(p, f, &o), 0);
    fclose(f);
}

int main(void) {
    edge_cases();
    three_sizes();
    outer();
    temporaries();
    invalid_frees();
    cprof_profile *before = cprof_capture();
    peak_here();
    track_block();
    cprof_profile *p = cprof_capture();
    CHECK(p->allocs.tracked == 1);
    check_sites(p);
    check_problems(p);
    CHECK_EQ_U64(p->allocs.live_blocks, 5); /* 100 200 300, 200, 7 */
    CHECK_EQ_U64(p->allocs.live_bytes, 807);
    CHECK_EQ_U64(p->allocs.peak_live_bytes, before->allocs.live_bytes + ((uint64_t)10 << 20));
    CHECK(p->allocs.peak_node != CPROF_NONE && strcmp(p->sites[p->nodes[p->allocs.peak_node].site].name, "peak_here") == 0);
    CHECK(site_at(p, peak_line) && site_at(p, peak_line)->temporary == 1);
    CHECK_EQ_U64(p->allocs.size_histogram[24], 1); /* 10 MiB: 2^23 to 2^24 - 1 */
    CHECK_EQ_U64(p->allocs.size_histogram[3], 5); /* 4-7 bytes: strndup 4, strdup 6, inner 7, the tracked block 5 and 7 */
    uint64_t histogram_total = 0;
    for (int k = 0; k < CPROF_ALLOC_HISTOGRAM; k++) histogram_total += p->allocs.size_histogram[k];
    CHECK_EQ_U64(histogram_total, p->allocs.allocations);
    check_round_trip(p);
    check_writers(p);
    cprof_profile_free(before);
    cprof_profile_free(p);
    /* freed now: a later capture has no leaks */
    for (int i = 0; i < 6; i++)
        if (i != 3) free(blocks[i]);
    p = cprof_capture();
    CHECK_EQ_U64(p->allocs.live_blocks, 0);
    CHECK_EQ_U64(p->allocs.live_bytes, 0);
    CHECK_EQ_U64(p->allocs.allocations - p->allocs.frees, 0);
    cprof_profile_free(p);
    CHECK_DONE();
}
