/* Allocation tracking never changes what the program's allocator sees (issue 23): a block freed in a
   tracked file whose address the C library then hands to untracked code (here (malloc)(n), as
   another file or a library would) and which the tracked file frees again. That free is passed on
   and reported as a possible double free (never withheld: memory in use stays as without cprof);
   a small block, which the tracker holds while it remembers its free, cannot be handed out again,
   so a second free of it is a certain double free, still withheld; realloc of a reused address works. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* a system header comes before cprof.h in this file */
#endif
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h> /* mallinfo2; before cprof.h, like every header that declares malloc */
#endif
#define CPROF_WRAP_MALLOC
#include "../cprof.h"
#include "check.h"

enum { CYCLES = 200000, LARGE = 2000, SMALL = 100 };

static const cprof_alloc_site *problem_at(const cprof_profile *p, int line, uint32_t kind) {
    for (size_t i = 0; i < p->free_problem_count; i++)
        if (p->free_problems[i].line == (uint32_t)line && p->free_problems[i].kind == kind) return &p->free_problems[i];
    return NULL;
}

static uint64_t count_at(const cprof_profile *p, int line, uint32_t kind) {
    const cprof_alloc_site *s = problem_at(p, line, kind);
    return s ? s->count : 0;
}

/* The C library's bytes in use (exact, not timing dependent); 0 where mallinfo2 is missing. */
static long long bytes_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    return (long long)mallinfo2().uordblks;
#else
    return 0;
#endif
}

static int large_free_line, large_alloc_line;
static long reused_large; /* cycles where untracked code got the tracked block's address */

/* A tracked block freed, an untracked one allocated (mostly at the same address), freed tracked. */
static void large_cycles(int tracked) {
    for (int i = 0; i < CYCLES; i++) {
        large_alloc_line = __LINE__ + 1;
        void *mine = tracked ? malloc(LARGE) : (malloc)(LARGE);
        if (tracked) free(mine);
        else (free)(mine);
        void *theirs = (malloc)(LARGE);
        reused_large += tracked && theirs == mine;
        large_free_line = __LINE__ + 1;
        if (tracked) free(theirs);
        else (free)(theirs);
    }
}

static void check_memory_unchanged(void) {
    long long before = bytes_in_use();
    large_cycles(0);
    long long plain = bytes_in_use() - before;
    size_t own_before = cprof_memory_bytes();
    before = bytes_in_use();
    large_cycles(1);
    long long tracked = bytes_in_use() - before - (long long)(cprof_memory_bytes() - own_before);
    printf("bytes in use after %d cycles: %lld plain, %lld tracked (besides the tracker's own); address reused "
           "%ld times\n", CYCLES, plain, tracked, reused_large);
    CHECK(tracked <= plain + plain / 5 + 8 * 1024); /* 1.2x, and at most 8 held blocks of 1 KiB */
    cprof_profile *p = cprof_capture();
    /* Each free of a reused address is a possible double free, passed on; every other one a free of
       a block the tracker never saw. None is certain. */
    CHECK_EQ_U64(count_at(p, large_free_line, 3), reused_large);
    CHECK_EQ_U64(count_at(p, large_free_line, CPROF_FREE_UNKNOWN), CYCLES - reused_large);
    CHECK_EQ_U64(count_at(p, large_free_line, CPROF_FREE_DOUBLE), 0);
    CHECK_EQ_U64(p->allocs.double_frees, 0);
    CHECK_EQ_U64(reused_large, reused_large);
    const cprof_alloc_site *possible = problem_at(p, large_free_line, 3);
    if (possible)
        CHECK(possible->origin < p->alloc_site_count && p->alloc_sites[possible->origin].line == (uint32_t)large_alloc_line);
    cprof_profile_free(p);
}

/* A small block is held while its free is remembered: untracked code never gets its address, so
   nothing of this is a double free of any kind. */
static int small_free_line;

static void check_small_never_reused(void) {
    int reused = 0;
    for (int i = 0; i < 1000; i++) {
        void *mine = malloc(SMALL);
        free(mine);
        void *theirs = (malloc)(SMALL);
        reused += theirs == mine;
        small_free_line = __LINE__ + 1;
        free(theirs);
    }
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(reused, 0);
    CHECK_EQ_U64(count_at(p, small_free_line, CPROF_FREE_UNKNOWN), 1000);
    CHECK(!problem_at(p, small_free_line, 3) && !problem_at(p, small_free_line, CPROF_FREE_DOUBLE));
    cprof_profile_free(p);
}

/* A real double free of a held block: certain, and withheld (the C library would abort). */
static int double_free_line;

static void check_held_double_free_caught(void) {
    char *block = (char *)malloc(SMALL);
    free(block);
    double_free_line = __LINE__ + 1;
    free(block);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(count_at(p, double_free_line, CPROF_FREE_DOUBLE), 1);
    CHECK_EQ_U64(p->allocs.double_frees, 1);
    cprof_profile_free(p);
}

/* realloc of an address that untracked code got after a tracked free: the C library's realloc, as
   without cprof (it used to fail with ENOMEM). */
static void check_realloc_of_reused_address(void) {
    int moved = 0;
    for (int i = 0; i < 100; i++) {
        char *mine = (char *)malloc(LARGE);
        free(mine);
        char *theirs = (char *)(malloc)(LARGE);
        memset(theirs, 'x', LARGE);
        char *grown = (char *)realloc(theirs, 2 * LARGE);
        CHECK(grown != NULL);
        if (!grown) continue;
        moved += grown[0] == 'x' && grown[LARGE - 1] == 'x';
        free(grown);
    }
    CHECK_EQ_U64(moved, 100);
}

/* 4 MiB blocks (the C library maps the first, then serves the size from its heap): an untracked
   block at a tracked block's freed address, freed in this file, goes back to the C library. */
static void check_huge_blocks(void) {
    long long before = bytes_in_use();
    size_t own_before = cprof_memory_bytes();
    for (int i = 0; i < 20; i++) {
        void *mine = malloc((size_t)4 << 20);
        free(mine);
        free((malloc)((size_t)4 << 20));
    }
    CHECK(bytes_in_use() - before - (long long)(cprof_memory_bytes() - own_before) <= 8 * 1024);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->allocs.double_frees, 1); /* check_held_double_free_caught's */
    cprof_profile_free(p);
}

int main(void) {
    check_memory_unchanged();
    check_small_never_reused();
    check_held_double_free_caught();
    check_realloc_of_reused_address();
    check_huge_blocks();
    CHECK_DONE();
}
