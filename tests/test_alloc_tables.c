/* The allocation tracker's tables, path by path, with exact values: thousands of blocks live on one
   thread (the young cache and the old table behind it), blocks freed by another thread than the one
   that allocated them (site figures, remote frees of young and old blocks), double frees noticed on
   another thread than the first free (large blocks: tests/test_alloc_reuse.c), the peak across
   threads (never below the live total), the held blocks of a finished thread given back to the C library, also when
   another key's destructor frees them late, and a finished thread's frees forgotten; a young entry
   replaced by a new block at its address (the old one freed untracked); the bookkeeping of
   100,000 live blocks stays within 32 bytes a block (the profiler's own count, exact). */
#ifndef _DEFAULT_SOURCE /* a system header comes before cprof.h in this file (the Makefile defines it too) */
#define _DEFAULT_SOURCE
#endif
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h> /* mallinfo2; before cprof.h, like every header that declares malloc */
#endif
#define CPROF_WRAP_MALLOC
#include "../cprof.h"
#include "check.h"
#include <pthread.h>

enum { MANY = 5000, KEPT_EVERY = 10, REMOTE = 4000, REMOTE_FREED = 1000 };

static const cprof_alloc_site *site_at(const cprof_profile *p, int line) {
    const cprof_alloc_site *found = NULL;
    for (size_t i = 0; i < p->alloc_site_count; i++)
        if (p->alloc_sites[i].line == (uint32_t)line && strcmp(p->alloc_sites[i].file, __FILE__) == 0) {
            CHECK(found == NULL); /* one thread, one scope: one row */
            found = &p->alloc_sites[i];
        }
    return found;
}

static const cprof_alloc_site *problem_at(const cprof_profile *p, int line) {
    for (size_t i = 0; i < p->free_problem_count; i++)
        if (p->free_problems[i].line == (uint32_t)line) return &p->free_problems[i];
    return NULL;
}

/* A permutation of 0..n-1 from a fixed linear congruential sequence: frees in an order unlike the
   allocations', so that blocks leave the young cache and the old table from everywhere. */
static void shuffle(unsigned *order, unsigned n) {
    uint32_t state = 12345;
    for (unsigned i = 0; i < n; i++) order[i] = i;
    for (unsigned i = n - 1; i > 0; i--) {
        state = state * 1664525u + 1013904223u;
        unsigned j = state % (i + 1), swap = order[i];
        order[i] = order[j];
        order[j] = swap;
    }
}

/* MANY blocks live at once on one thread, freed in shuffled order but every KEPT_EVERY-th. */
static void *many[MANY];
static int many_line;

static void many_live(void) {
    static unsigned order[MANY];
    CPROF_SCOPE("many_live");
    for (unsigned i = 0; i < MANY; i++) {
        many_line = __LINE__ + 1;
        many[i] = malloc(i % 100 + 1);
    }
    shuffle(order, MANY);
    for (unsigned i = 0; i < MANY; i++)
        if (order[i] % KEPT_EVERY) free(many[order[i]]);
}

static void check_many_live(void) {
    uint64_t bytes = 0, kept = 0, kept_bytes = 0;
    for (unsigned i = 0; i < MANY; i++) {
        bytes += i % 100 + 1;
        if (i % KEPT_EVERY == 0) kept++, kept_bytes += i % 100 + 1;
    }
    cprof_profile *p = cprof_capture();
    const cprof_alloc_site *s = site_at(p, many_line);
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_U64(s->count, MANY);
        CHECK_EQ_U64(s->bytes, bytes);
        CHECK_EQ_U64(s->live_count, kept);
        CHECK_EQ_U64(s->live_bytes, kept_bytes);
        CHECK_EQ_U64(s->peak_live_bytes, bytes); /* all were live before the first free */
    }
    CHECK_EQ_U64(p->allocs.unknown_frees, 0);
    CHECK_EQ_U64(p->allocs.double_frees, 0);
    cprof_profile_free(p);
    for (unsigned i = 0; i < MANY; i += KEPT_EVERY) free(many[i]);
    p = cprof_capture();
    s = site_at(p, many_line);
    CHECK(s && s->live_count == 0 && s->live_bytes == 0);
    CHECK_EQ_U64(p->allocs.unknown_frees, 0);
    cprof_profile_free(p);
}

/* A thread allocates REMOTE blocks (more than its young cache's 2,048 slots hold, so many are in its old table);
   the main thread frees REMOTE_FREED of them after the thread has finished. */
static void *remote[REMOTE];
static int remote_line;

static void *allocate_remote(void *argument) {
    (void)argument;
    CPROF_SCOPE("allocate_remote");
    for (int i = 0; i < REMOTE; i++) {
        remote_line = __LINE__ + 1;
        remote[i] = malloc((size_t)i + 1);
    }
    return NULL;
}

static void check_remote_frees(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, allocate_remote, NULL);
    pthread_join(thread, NULL);
    uint64_t freed_bytes = 0, bytes = (uint64_t)REMOTE * (REMOTE + 1) / 2;
    for (int i = 0; i < REMOTE; i += REMOTE / REMOTE_FREED) { /* spread over young and old */
        free(remote[i]);
        freed_bytes += (uint64_t)i + 1;
    }
    cprof_profile *p = cprof_capture();
    const cprof_alloc_site *s = site_at(p, remote_line);
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_U64(s->count, REMOTE);
        CHECK_EQ_U64(s->live_count, REMOTE - REMOTE_FREED);
        CHECK_EQ_U64(s->live_bytes, bytes - freed_bytes);
        CHECK_EQ_U64(s->peak_live_bytes, bytes);
        CHECK_EQ_STR(p->sites[p->nodes[s->node].site].name, "allocate_remote");
    }
    CHECK_EQ_U64(p->allocs.unknown_frees, 0);
    cprof_profile_free(p);
    for (int i = 0; i < REMOTE; i++)
        if (i % (REMOTE / REMOTE_FREED)) free(remote[i]);
    p = cprof_capture();
    s = site_at(p, remote_line);
    CHECK(s && s->live_count == 0 && s->live_bytes == 0);
    cprof_profile_free(p);
}

/* Freed first on another thread, then again here: a double free, not passed on. */
static void *shared_block;
static int shared_line, second_free_line;

static void *free_shared(void *argument) {
    (void)argument;
    free(shared_block);
    return NULL;
}

static void check_double_free_across_threads(void) {
    pthread_t thread;
    shared_line = __LINE__ + 1;
    shared_block = malloc(40);
    pthread_create(&thread, NULL, free_shared, NULL);
    pthread_join(thread, NULL);
    second_free_line = __LINE__ + 1;
    free(shared_block);
    cprof_profile *p = cprof_capture();
    const cprof_alloc_site *twice = problem_at(p, second_free_line);
    CHECK(twice != NULL);
    if (twice) {
        CHECK_EQ_U64(twice->kind, CPROF_FREE_DOUBLE);
        CHECK_EQ_U64(twice->count, 1);
        CHECK_EQ_U64(twice->bytes, 40);
        CHECK(twice->origin < p->alloc_site_count && p->alloc_sites[twice->origin].line == (uint32_t)shared_line);
    }
    CHECK_EQ_U64(p->allocs.double_frees, 1);
    cprof_profile_free(p);
}

/* The peak across threads: 3 MiB here and 5 MiB on another thread live at once. Changes this large
   reach the shared total at once, so the peak is exact. */
static void *allocate_five(void *argument) {
    void *block = malloc((size_t)5 << 20);
    free(block);
    return argument;
}

static void check_peak_across_threads(void) {
    cprof_profile *before = cprof_capture();
    void *three = malloc((size_t)3 << 20);
    pthread_t thread;
    pthread_create(&thread, NULL, allocate_five, NULL);
    pthread_join(thread, NULL);
    free(three);
    cprof_profile *p = cprof_capture();
    CHECK(before->allocs.peak_live_bytes < ((uint64_t)8 << 20));
    CHECK_EQ_U64(p->allocs.peak_live_bytes, before->allocs.live_bytes + ((uint64_t)8 << 20));
    CHECK_EQ_U64(p->allocs.live_bytes, before->allocs.live_bytes);
    cprof_profile_free(before);
    cprof_profile_free(p);
}

/* Runs 200 threads of `body` one after another and checks that what they leave in use besides the
   tracker's own memory is at most 64 held blocks of 1,000 bytes (in the C library's 1,008-byte chunks),
   and the arenas' own records: 200 * 8 * 1,016 bytes were the blocks held for ever. */
static void check_bounded_after_threads(const char *what, void *(*body)(void *)) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    size_t before_in_use = mallinfo2().uordblks, before_own = cprof_memory_bytes();
    for (int i = 0; i < 200; i++) {
        pthread_t thread;
        pthread_create(&thread, NULL, body, NULL);
        pthread_join(thread, NULL);
    }
    size_t in_use = mallinfo2().uordblks, own = cprof_memory_bytes();
    if (before_in_use == 0 && in_use == 0) {
        printf("skipped: %s (mallinfo2 reports nothing under this allocator)\n", what);
        return;
    }
    long long user = (long long)(in_use - before_in_use) - (long long)(own - before_own);
    printf("%s: %lld bytes in use after 200 threads, besides the tracker's own\n", what, user);
    CHECK(user < 2 * 64 * 1016);
#else
    printf("skipped: %s (needs glibc's mallinfo2)\n", what);
    (void)body;
#endif
}

/* Threads that free small blocks and finish: the blocks the tracker holds to recognise double frees
   move to one list for every finished thread, of 64, so that 200 threads leave at most 64 held rather
   than 1,600 (glibc's count of bytes in use shows it). */
static void *free_small_blocks(void *argument) {
    void *small[8];
    for (int i = 0; i < 8; i++) small[i] = malloc(1000);
    for (int i = 0; i < 8; i++) free(small[i]);
    return argument;
}

static void check_finished_thread_gives_back(void) {
    check_bounded_after_threads("held blocks of finished threads", free_small_blocks);
}

/* Two threads each keep 40 blocks of 1,000 bytes, each below the step in which a thread adds its
   changes to the shared total: the capture's peak is still at least what is live, and a later
   capture's is not lower. */
static int kept_by_thread, thread_may_end;

static void *keep_blocks(void *argument) {
    void **blocks = (void **)argument;
    for (int i = 0; i < 40; i++) blocks[i] = malloc(1000);
    __atomic_store_n(&kept_by_thread, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&thread_may_end, __ATOMIC_ACQUIRE)) sched_yield();
    return NULL;
}

static void check_peak_not_below_live(void) {
    static void *theirs[40], *mine[40];
    pthread_t thread;
    pthread_create(&thread, NULL, keep_blocks, theirs);
    while (!__atomic_load_n(&kept_by_thread, __ATOMIC_ACQUIRE)) sched_yield();
    for (int i = 0; i < 40; i++) mine[i] = malloc(1000);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->allocs.live_bytes, 80000);
    CHECK_EQ_U64(p->allocs.peak_live_bytes, 80000);
    cprof_profile_free(p);
    __atomic_store_n(&thread_may_end, 1, __ATOMIC_RELEASE);
    pthread_join(thread, NULL);
    for (int i = 0; i < 40; i++) free(theirs[i]), free(mine[i]);
    p = cprof_capture(); /* a peak once seen stays */
    CHECK_EQ_U64(p->allocs.live_bytes, 0);
    CHECK_EQ_U64(p->allocs.peak_live_bytes, 80000);
    cprof_profile_free(p);
}

/* A thread frees a small block and finishes; code that is not tracked (a library) then allocates on
   another thread, probably at that address, and the program frees its blocks in this tracked file:
   frees of blocks the tracker never saw, not double frees. */
static void *freed_then_finished;

static void *free_and_finish(void *argument) {
    void *block = malloc(100);
    free(block);
    freed_then_finished = block;
    return argument;
}

static void *library_blocks_freed_here(void *argument) {
    void *library[64];
    int reused = 0;
    for (int i = 0; i < 64; i++) library[i] = (malloc)(100), reused |= library[i] == freed_then_finished;
    for (int i = 0; i < 64; i++) free(library[i]);
    printf("a library block at the finished thread's freed address: %s\n", reused ? "yes" : "no");
    return argument;
}

static void check_finished_thread_forgets(void) {
    pthread_t thread;
    cprof_profile *before = cprof_capture();
    pthread_create(&thread, NULL, free_and_finish, NULL);
    pthread_join(thread, NULL);
    pthread_create(&thread, NULL, library_blocks_freed_here, NULL);
    pthread_join(thread, NULL);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->allocs.unknown_frees - before->allocs.unknown_frees, 64);
    CHECK_EQ_U64(p->allocs.double_frees, before->allocs.double_frees);
    cprof_profile_free(before);
    cprof_profile_free(p);
}

/* Blocks freed by another key's destructor, which runs after the tracker's own at thread exit: held in
   the finished threads' list too, not for ever by each thread (200 * 8 * 1,000 bytes if they were). */
static pthread_key_t late_key;

static void free_late(void *blocks) {
    for (int i = 0; i < 8; i++) free(((void **)blocks)[i]);
    free(blocks);
}

static void *keep_until_exit(void *argument) {
    void **blocks = (void **)malloc(8 * sizeof *blocks);
    for (int i = 0; i < 8; i++) blocks[i] = malloc(1000);
    pthread_setspecific(late_key, blocks);
    return argument;
}

static void check_late_destructor_frees(void) {
    pthread_key_create(&late_key, free_late); /* after the tracker's key: its destructor runs later */
    check_bounded_after_threads("blocks freed by a later destructor", keep_until_exit);
}

/* A thread that used cprof but allocated nothing through the tracker until another key's destructor,
   which runs after the tracker's own: its tracker is made after the thread's exit was seen, and its
   frees go to the finished threads' list too. */
static pthread_key_t first_late_key;

static void allocate_late(void *unused) {
    void *blocks[8];
    (void)unused;
    for (int i = 0; i < 8; i++) blocks[i] = malloc(1000);
    for (int i = 0; i < 8; i++) free(blocks[i]);
}

static void *allocate_only_at_exit(void *argument) {
    (void)cprof_thread_allocs(); /* a recorder, no tracker yet */
    pthread_setspecific(first_late_key, (void *)1);
    return argument;
}

static void check_first_allocation_in_late_destructor(void) {
    pthread_key_create(&first_late_key, allocate_late);
    check_bounded_after_threads("first allocations in a later destructor", allocate_only_at_exit);
}

enum { BOOKKEPT = 100000 };

/* On a thread of its own (fresh tables): the profiler's memory grown by BOOKKEPT live blocks. */
static void *bookkeeping(void *out) {
    static void *blocks[BOOKKEPT];
    free(malloc(1)); /* the thread's recorder and tracker, before counting */
    size_t before = cprof_memory_bytes();
    for (unsigned i = 0; i < BOOKKEPT; i++) blocks[i] = malloc(16 + i % 256);
    *(size_t *)out = cprof_memory_bytes() - before;
    for (unsigned i = 0; i < BOOKKEPT; i++) free(blocks[i]);
    return NULL;
}

/* A block freed where the tracker does not see it ((free)(p), as another file would), whose address the
   C library hands to the thread's next tracked allocation: the new block's entry replaces the old one
   in its young set (on a fresh thread the old one is in its set's first slot, where a lookup would
   find it first), so that the free counts on the new block's site. Checked when the C library hands
   the address back (glibc's per-thread cache does; a sanitizer's or valgrind's quarantine does not). */
static int first_line, second_line, address_reused;

static void *reuse_address(void *argument) {
    static void *others[64];
    int count = 0;
    (void)argument;
    first_line = __LINE__ + 1;
    void *first = malloc(48);
    uintptr_t first_address = (uintptr_t)first;
    (free)(first);
    for (; count < 64 && !address_reused; count++) { /* the C library's next blocks of this size, live */
        second_line = __LINE__ + 1;
        others[count] = malloc(48);
        address_reused = (uintptr_t)others[count] == first_address;
    }
    if (address_reused) free(others[--count]);
    while (count) free(others[--count]);
    return NULL;
}

static void check_same_address_replaced(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, reuse_address, NULL);
    pthread_join(thread, NULL);
    cprof_profile *p = cprof_capture();
    const cprof_alloc_site *first = site_at(p, first_line), *second = site_at(p, second_line);
    CHECK(first && second);
    if (first && second && address_reused) {
        CHECK_EQ_U64(second->live_count, 0);
        CHECK_EQ_U64(first->live_count, 1); /* its free was not seen */
    }
    printf("same address replaced: %s\n", address_reused ? "checked" : "the address was not reused here");
    cprof_profile_free(p);
}

static void check_bookkeeping_per_block(void) {
    pthread_t thread;
    size_t grown = 0;
    pthread_create(&thread, NULL, bookkeeping, &grown);
    pthread_join(thread, NULL);
    printf("bookkeeping: %.1f bytes per live block\n", (double)grown / BOOKKEPT);
    CHECK(grown <= (size_t)32 * BOOKKEPT);
    CHECK(grown >= (size_t)16 * (BOOKKEPT - 2048)); /* an entry per block out of the young cache (2,048 slots) */
}

int main(void) {
    check_peak_not_below_live(); /* first: no earlier peak hides it */
    many_live();
    check_many_live();
    check_remote_frees();
    check_double_free_across_threads();
    check_peak_across_threads();
    check_finished_thread_gives_back();
    check_finished_thread_forgets();
    check_late_destructor_frees();
    check_first_allocation_in_late_destructor();
    check_same_address_replaced();
    check_bookkeeping_per_block();
    CHECK_DONE();
}
