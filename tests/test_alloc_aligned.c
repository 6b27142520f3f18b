/* The aligned allocators through the tracker return what the C library returns, edge cases included
   (an alignment of 0, or not a power of two; size 0; an alignment posix_memalign rejects): the same
   NULL or not, the same errno or error number, and a tracked block only when there is one. */
#define CPROF_WRAP_MALLOC
#include "../cprof.h"
#define CHECK_ALLOCATOR_RETURNS_NULL /* the sanitizers' allocators answer odd alignments as a C library does */
#include "check.h"
#include <errno.h>

#if !defined(__cplusplus)
extern void *(aligned_alloc)(size_t, size_t); /* C11: a C99 build's <stdlib.h> does not declare it */
#endif
/* The C library's own, called through pointers: the compiler does not treat them as the builtins
   (an optimiser may assume a failed builtin allocation leaves errno alone). */
static void *(*volatile library_aligned_alloc)(size_t, size_t) = aligned_alloc;
static int (*volatile library_posix_memalign)(void **, size_t, size_t) = posix_memalign;

static const size_t alignments[] = {0, 1, 2, 3, 4, 8, 12, 16, 24, 48, 64, 4096, (size_t)1 << 20};
static const size_t sizes[] = {0, 1, 10, 4096, SIZE_MAX / 2 - 4096}; /* the last: too large, not negative */
enum { ALIGNMENTS = sizeof alignments / sizeof alignments[0], SIZES = sizeof sizes / sizeof sizes[0] };

static void check_aligned_alloc(size_t alignment, size_t size) {
    errno = 0;
    void *plain = library_aligned_alloc(alignment, size);
    int plain_errno = errno;
    errno = 0;
    cprof_alloc_counts before = cprof_thread_allocs();
    void *tracked = aligned_alloc(alignment, size);
    int tracked_errno = errno;
    cprof_alloc_counts after = cprof_thread_allocs();
    if ((plain == NULL) != (tracked == NULL) || (!plain && plain_errno != tracked_errno))
        printf("aligned_alloc(%zu, %zu): C library %p (errno %d), tracked %p (errno %d)\n", alignment, size, plain,
               plain_errno, tracked, tracked_errno);
    CHECK((plain == NULL) == (tracked == NULL));
    if (!plain && !tracked) CHECK_EQ_U64(tracked_errno, plain_errno);
    CHECK_EQ_U64(after.allocations - before.allocations, tracked != NULL);
    (free)(plain);
    free(tracked);
}

static void check_posix_memalign(size_t alignment, size_t size) {
    void *plain = NULL, *tracked = NULL;
    int plain_result = library_posix_memalign(&plain, alignment, size);
    cprof_alloc_counts before = cprof_thread_allocs();
    int tracked_result = posix_memalign(&tracked, alignment, size);
    cprof_alloc_counts after = cprof_thread_allocs();
    if (plain_result != tracked_result)
        printf("posix_memalign(%zu, %zu): C library %d, tracked %d\n", alignment, size, plain_result, tracked_result);
    CHECK_EQ_U64(tracked_result, plain_result);
    CHECK_EQ_U64(after.allocations - before.allocations, tracked_result == 0 && tracked != NULL);
    if (plain_result == 0) (free)(plain);
    if (tracked_result == 0) free(tracked);
}

int main(void) {
    for (int a = 0; a < ALIGNMENTS; a++)
        for (int s = 0; s < SIZES; s++) {
            check_aligned_alloc(alignments[a], sizes[s]);
            check_posix_memalign(alignments[a], sizes[s]);
        }
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->allocs.unknown_frees, 0);
    CHECK_EQ_U64(p->allocs.live_blocks, 0);
    cprof_profile_free(p);
    CHECK_DONE();
}
