/* fork() while another thread holds the profiler's locks: a thread captures profiles in a loop (the
   registry lock) while the main thread, which has not allocated through the tracker yet, forks. Each
   child allocates and frees through the tracker and captures: none may wait for a lock that the
   thread that held it at the fork is no longer there to release. */
#define CPROF_WRAP_MALLOC
#include "../cprof.h"
#include "check.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

enum { FORKS = 30, SECONDS = 5 }; /* 30 forks, or as many as 5 seconds allow (valgrind), at least 3 */

static int stop;

static void *capture_in_a_loop(void *argument) {
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) cprof_profile_free(cprof_capture());
    return argument;
}

/* The child: one tracked allocation, exactly counted; SIGALRM ends it if it waits for ever. It ends
   by exec, so that a leak check (valgrind) does not count the profile the vanished thread was making. */
static void child(void) {
    alarm(20);
    cprof_alloc_counts before = cprof_thread_allocs();
    free(malloc(10));
    cprof_alloc_counts after = cprof_thread_allocs();
    cprof_profile *p = cprof_capture();
    int ok = p && after.allocations - before.allocations == 1 && after.freed_bytes - before.freed_bytes == 10;
    cprof_profile_free(p);
    if (ok) execl("/bin/true", "true", (char *)NULL);
    _exit(1);
}

int main(void) {
#ifdef CHECK_FORK_UNSAFE_ALLOCATOR
    printf("skipped: fork while another thread allocates, under a sanitizer (its allocator is not fork-safe)\n");
    return 0;
#endif
    pthread_t capturer;
    int finished = 0, hung = 0, forks = 0;
    time_t start = time(NULL);
    pthread_create(&capturer, NULL, capture_in_a_loop, NULL);
    usleep(10000);
    for (; forks < FORKS && (forks < 3 || time(NULL) - start < SECONDS); forks++) {
        int status = 0;
        pid_t pid = fork();
        if (pid == 0) child();
        CHECK(pid > 0);
        if (pid <= 0 || waitpid(pid, &status, 0) != pid) continue;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) finished++;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) hung++;
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(capturer, NULL);
    CHECK_EQ_U64(hung, 0);
    CHECK_EQ_U64(finished, forks);
    printf("%d children forked while another thread captured, each allocated and captured\n", forks);
    CHECK_DONE();
}
