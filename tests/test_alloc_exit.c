/* Allocation tracking across fork() (the child keeps working, even when another thread held a table
   lock at the fork) and after the report at exit (frees in a later atexit handler are counted, do not
   crash, and a capture after them has no false leak). */
#define CPROF_WRAP_MALLOC
#include "../cprof.h"
#include "check.h"
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int stop; /* atomic */
static void *late_block;

static void *allocating(void *unused) {
    (void)unused;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) free(malloc(48));
    return NULL;
}

/* The child: allocates and frees, captures, and says by its exit status whether the figures hold. */
static int child_checks(void) {
    cprof_alloc_counts before = cprof_thread_allocs();
    void *kept[100];
    for (int i = 0; i < 100; i++) kept[i] = malloc(10);
    for (int i = 0; i < 100; i++) free(kept[i]);
    cprof_alloc_counts after = cprof_thread_allocs();
    cprof_profile *p = cprof_capture();
    int ok = after.allocations - before.allocations == 100 && after.frees - before.frees == 100 && p &&
             p->allocs.unknown_frees == 0 && p->allocs.double_frees == 0;
    cprof_profile_free(p);
    return ok ? 0 : 3;
}

static void test_fork(void) {
#ifdef CHECK_FORK_UNSAFE_ALLOCATOR
    printf("skipped: fork while another thread allocates, under a sanitizer (its allocator is not fork-safe)\n");
    return;
#endif
    pthread_t thread;
    pthread_create(&thread, NULL, allocating, NULL);
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            int result = child_checks();
            /* The child has a copy of the helper thread's block in flight, which nothing there will free;
               under valgrind that is a leak. Exec (no leak check) when the checks passed. */
            if (result == 0) execl("/bin/true", "true", (char *)NULL);
            _exit(result);
        }
        int status = -1;
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(thread, NULL);
}

/* Runs after cprof's own exit handler (registered before it, by a constructor that runs first). */
static void free_after_the_report(void) {
    free(late_block);
    cprof_profile *p = cprof_capture();
    int ok = p && p->allocs.live_blocks == 0 && p->allocs.unknown_frees == 0;
    cprof_profile_free(p);
    _exit(ok ? 0 : 4);
}

__attribute__((constructor(101))) static void register_early(void) {
    if (getenv("ALLOC_EXIT_CHILD")) atexit(free_after_the_report);
}

int main(int argc, char **argv) {
    (void)argc;
    if (getenv("ALLOC_EXIT_CHILD")) {
        late_block = malloc(333);
        return 0; /* exit: CPROF_OUT writes the report (the block is live), then the late free */
    }
    test_fork();
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ALLOC_EXIT_CHILD", "1", 1);
        setenv("CPROF_OUT", "build/test_alloc_exit", 1);
        execv(argv[0], argv); /* not /proc/self/exe: under valgrind that is valgrind itself */
        _exit(5);
    }
    int status = -1;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ_U64(WEXITSTATUS(status), 0);
    cprof_profile *report = NULL;
    CHECK_EQ_U64(cprof_load("build/test_alloc_exit.json", &report), 0);
    if (report) {
        CHECK_EQ_U64(report->allocs.live_blocks, 1); /* at the report, the block was still live */
        CHECK_EQ_U64(report->allocs.live_bytes, 333);
    }
    cprof_profile_free(report);
    CHECK_DONE();
}
