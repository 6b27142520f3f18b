/* Allocation tracking across fork() (the child keeps working, even when another thread held a table
   lock at the fork), at exit (CPROF_OUT's report comes after the atexit handlers and the program's
   destructors: the blocks they free are not leaks) and after the report (frees are counted, do not
   crash, and a capture after them has no false leak). */
#define CPROF_WRAP_MALLOC
#include "../cprof.h"
#include "check.h"
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int stop; /* atomic */

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

/* The program's own clean-up at exit: an atexit handler and a destructor free a block each, both
   before CPROF_OUT's report; one block stays allocated with no pointer left to it, a real leak (a
   global pointing to it would make it still reachable, and no leak). */
static void *atexit_block, *destructor_block;

/* One function per block: the report's leaks name the function that allocated each. */
static void *allocate_for_atexit(void) { return malloc(333); }
static void *allocate_for_destructor(void) { return malloc(444); }
static void *allocate_leaked(void) { return malloc(555); }

static void free_in_atexit_handler(void) { free(atexit_block); }

/* Registered before cprof starts (a constructor of higher priority), so it runs after every atexit
   handler registered later, cprof's own included if it had one. */
__attribute__((constructor(101))) static void register_early(void) {
    const char *mode = getenv("ALLOC_EXIT_CHILD");
    if (mode && strcmp(mode, "exit") == 0) atexit(free_in_atexit_handler);
}

__attribute__((destructor)) static void free_in_destructor(void) {
    if (getenv("ALLOC_EXIT_CHILD")) free(destructor_block);
}

static int exit_child(void) {
    atexit_block = allocate_for_atexit();
    destructor_block = allocate_for_destructor();
    (void)allocate_leaked();
    return 0; /* exit: the handler, the destructor, then CPROF_OUT's report */
}

/* After the report (here called directly, as it runs last at exit): a free is counted, and a capture
   after it has no false leak. */
static int after_report_child(void) {
    void *late = malloc(333);
    cprof__test_write_outputs_at_exit();
    free(late);
    cprof_profile *p = cprof_capture();
    int ok = p && p->allocs.live_blocks == 0 && p->allocs.unknown_frees == 0;
    cprof_profile_free(p);
    return ok ? 0 : 4;
}

/* Runs this program again with CPROF_OUT=prefix and ALLOC_EXIT_CHILD=mode; its exit status. */
static int run_child(char **argv, const char *mode, const char *prefix) {
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ALLOC_EXIT_CHILD", mode, 1);
        setenv("CPROF_OUT", prefix, 1);
        const char *asan = getenv("ASAN_OPTIONS"); /* the child leaks a block on purpose: LeakSanitizer */
        char options[1024];                         /* would fail it at exit */
        snprintf(options, sizeof options, "%s%sdetect_leaks=0", asan ? asan : "", asan && *asan ? ":" : "");
        setenv("ASAN_OPTIONS", options, 1);
        execv(argv[0], argv); /* not /proc/self/exe: under valgrind that is valgrind itself */
        _exit(5);
    }
    int status = -1;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* CPROF_OUT's leaks: only the block nothing freed, in the profile and in the text report. */
static void check_exit_report(char **argv) {
    remove("build/test_alloc_exit.json");
    remove("build/test_alloc_exit.txt");
    CHECK_EQ_U64(run_child(argv, "exit", "build/test_alloc_exit"), 0);
    cprof_profile *report = NULL;
    CHECK_EQ_U64(cprof_load("build/test_alloc_exit.json", &report), 0);
    if (report) {
        CHECK_EQ_U64(report->allocs.live_blocks, 1);
        CHECK_EQ_U64(report->allocs.live_bytes, 555);
    }
    cprof_profile_free(report);
    char text[65536];
    FILE *f = fopen("build/test_alloc_exit.txt", "rb");
    size_t length = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[length] = '\0';
    const char *leaks = strstr(text, "\nLeaks: ");
    CHECK(leaks != NULL);
    if (!leaks) return;
    CHECK_CONTAINS(leaks, "Leaks: 1 blocks, 555 B");
    CHECK_CONTAINS(leaks, " allocate_leaked, in ");
    CHECK(strstr(leaks, " allocate_for_atexit, in ") == NULL);
    CHECK(strstr(leaks, " allocate_for_destructor, in ") == NULL);
}

int main(int argc, char **argv) {
    (void)argc;
    const char *mode = getenv("ALLOC_EXIT_CHILD");
    if (mode) return strcmp(mode, "exit") == 0 ? exit_child() : after_report_child();
    test_fork();
    check_exit_report(argv);
    CHECK_EQ_U64(run_child(argv, "after", "build/test_alloc_exit_after"), 0);
    CHECK_DONE();
}
