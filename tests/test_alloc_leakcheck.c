/* The leak check on request (cprof_leak_check): blocks reached from a global, thread-local storage and
   the stack are still reachable; a block pointed to only in its middle is possibly lost; a block with no
   pointer is definitely lost, and what only it points to indirectly lost. The figures survive the JSON,
   the report prints them, and the analyzer's Leak findings are about lost blocks only. A plain capture
   classifies nothing. The lost blocks' addresses are kept XORed (a pointer the check cannot see), so
   that the test frees everything before it ends. */
#define CPROF_WRAP_MALLOC
#include "../cprof.h"
#include "check.h"
#include <stdint.h>
#include <stdlib.h>

typedef struct link {
    struct link *next;
} link;

static link *from_global;          /* 100 B -> 200 B: still reachable */
static char *into_middle;          /* 64 B, pointed to at +8: possibly lost */
static __thread void *from_tls;    /* 17 B: still reachable */
static uintptr_t hidden[2];        /* the lost blocks (24 B -> 40 B), XORed */
static const uintptr_t key = (uintptr_t)0x5a5a5a5a5a5a5a5aull;

static link *new_link(size_t size, link *next) {
    link *l = (link *)calloc(1, size);
    l->next = next;
    return l;
}

__attribute__((noinline)) static void lose_two(void) {
    link *inner = new_link(40, NULL), *outer = new_link(24, inner);
    hidden[0] = (uintptr_t)outer ^ key;
    hidden[1] = (uintptr_t)inner ^ key;
}

__attribute__((noinline)) static void keep_some(void) {
    from_global = new_link(100, new_link(200, NULL));
    into_middle = (char *)calloc(1, 64) + 8;
    from_tls = malloc(17);
}

/* Overwrites the stack below the caller, where lose_two's frame held the lost addresses. */
__attribute__((noinline)) static void clear_stack(void) {
    volatile char scratch[8192];
    for (size_t i = 0; i < sizeof scratch; i++) scratch[i] = 0;
}

static const cprof_alloc_site *site_of_size(const cprof_profile *p, uint64_t max_bytes) {
    for (size_t i = 0; i < p->alloc_site_count; i++)
        if (p->alloc_sites[i].max_bytes == max_bytes) return &p->alloc_sites[i];
    return NULL;
}

static void check_totals(const cprof_alloc_totals *a, uint64_t reachable_blocks, uint64_t reachable_bytes) {
    CHECK_EQ_U64(a->leak_checked, 1);
    CHECK_EQ_U64(a->leak_scan_failed, 0);
    CHECK_EQ_U64(a->lost_blocks, 1);
    CHECK_EQ_U64(a->lost_bytes, 24);
    CHECK_EQ_U64(a->indirect_blocks, 1);
    CHECK_EQ_U64(a->indirect_bytes, 40);
    CHECK_EQ_U64(a->possible_blocks, 1);
    CHECK_EQ_U64(a->possible_bytes, 64);
    CHECK_EQ_U64(a->reachable_blocks, reachable_blocks);
    CHECK_EQ_U64(a->reachable_bytes, reachable_bytes);
}

static void check_sites(const cprof_profile *p) {
    const cprof_alloc_site *middle = site_of_size(p, 64), *tls = site_of_size(p, 17);
    CHECK(middle && tls);
    if (middle) CHECK_EQ_U64(middle->possible_count, 1);
    if (tls) CHECK_EQ_U64(tls->lost_count + tls->indirect_count + tls->possible_count, 0);
    uint64_t lost = 0, indirect = 0;
    for (size_t i = 0; i < p->alloc_site_count; i++) /* new_link's one site holds both lost blocks */
        lost += p->alloc_sites[i].lost_bytes, indirect += p->alloc_sites[i].indirect_bytes;
    CHECK_EQ_U64(lost, 24);
    CHECK_EQ_U64(indirect, 40);
}

/* Leak findings: one for new_link's site (its lost blocks: 64 B in 2, not its 364 B live), a Low one for
   the possibly lost block, none for the still reachable. */
static void check_findings(const cprof_profile *p) {
    cprof_findings *f = cprof_analyze(p, NULL);
    CHECK(f != NULL);
    int leaks = 0;
    for (size_t i = 0; f && i < f->count; i++) {
        const cprof_finding *x = &f->items[i];
        if (x->category != CPROF_CATEGORY_LEAK) continue;
        leaks++;
        if (x->bytes == 64 && x->count == 1) CHECK_EQ_U64(x->severity, CPROF_SEVERITY_LOW);
        else CHECK(x->bytes == 64 && x->count == 2);
    }
    CHECK_EQ_U64(leaks, 2);
    cprof_findings_free(f);
}

static void check_report(const cprof_profile *p) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    CHECK(out != NULL);
    if (!out) return;
    cprof_leaks_write(p, out);
    fclose(out);
    CHECK_CONTAINS(text, "Leaks: 1 blocks, 24 B definitely lost\n");
    CHECK_CONTAINS(text, "  indirectly lost: 1 blocks, 40 B\n");
    CHECK_CONTAINS(text, "  possibly lost:   1 blocks, 64 B\n");
    CHECK_CONTAINS(text, "  still reachable: 4 blocks, 350 B (in use at capture, not a leak)\n");
    free(text);
}

static void check_saved(const cprof_profile *p) {
    cprof_profile *loaded = NULL;
    CHECK_EQ_U64(cprof_save(p, "build/test_alloc_leakcheck.json"), 0);
    CHECK_EQ_U64(cprof_load("build/test_alloc_leakcheck.json", &loaded), 0);
    if (!loaded) return;
    check_totals(&loaded->allocs, 4, 350);
    check_sites(loaded);
    cprof_profile_free(loaded);
}

int main(void) {
    lose_two();
    keep_some();
    clear_stack();
    void *volatile on_stack = malloc(33); /* still reachable while this frame holds it */
    cprof_profile *p = cprof_leak_check();
    CHECK(p != NULL);
    if (p) {
        check_totals(&p->allocs, 4, 350);
        check_sites(p);
        check_findings(p);
        check_report(p);
        check_saved(p);
    }
    cprof_profile_free(p);
    free(on_stack);
    p = cprof_leak_check();
    if (p) check_totals(&p->allocs, 3, 317);
    cprof_profile_free(p);
    p = cprof_capture(); /* no leak check: nothing classified */
    if (p) CHECK_EQ_U64(p->allocs.leak_checked + p->allocs.lost_blocks + p->allocs.reachable_blocks, 0);
    cprof_profile_free(p);
    free((void *)(hidden[0] ^ key));
    free((void *)(hidden[1] ^ key));
    free(from_global->next);
    free(from_global);
    free(into_middle - 8);
    free(from_tls);
    CHECK_DONE();
}
