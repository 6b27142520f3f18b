/* CPROF_OUT in a fork() child that exits normally: the child writes prefix.PID.* (not its parent's
   prefix.*), holding only the thread that forked (what it recorded before the fork, and after), not
   copies of the parent's other threads; the parent's files are its own. This program runs itself
   again with CPROF_OUT set (it is read when the program starts); that run starts a thread, forks,
   and writes the child's process id for the checks. */
#include "../cprof.h"
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define PREFIX "build/test_fork_out"

static int helper_ready, helper_may_end; /* atomics */

static void *helper(void *argument) {
    CPROF_SCOPE("helper_work");
    __atomic_store_n(&helper_ready, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&helper_may_end, __ATOMIC_ACQUIRE)) sched_yield();
    return argument;
}

static void before_fork(void) { CPROF_SCOPE("before_fork"); }
static void in_child(void) { CPROF_SCOPE("in_child"); }

/* The run with CPROF_OUT: a second thread is inside a scope while the main thread forks. */
static int forking_run(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, helper, NULL);
    before_fork();
    while (!__atomic_load_n(&helper_ready, __ATOMIC_ACQUIRE)) sched_yield();
    pid_t pid = fork();
    if (pid == 0) {
        in_child();
        exit(0); /* a normal exit: CPROF_OUT's files */
    }
    int status = -1;
    int ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    __atomic_store_n(&helper_may_end, 1, __ATOMIC_RELEASE);
    pthread_join(thread, NULL);
    FILE *f = fopen(PREFIX ".child", "w");
    ok = ok && f && fprintf(f, "%ld\n", (long)pid) > 0;
    if (f) ok = fclose(f) == 0 && ok;
    return ok ? 0 : 3;
}

static int has_function(const cprof_profile *p, const char *name) {
    for (size_t i = 0; i < p->function_count; i++)
        if (strcmp(p->functions[i].name, name) == 0) return 1;
    return 0;
}

int main(int argc, char **argv) {
    (void)argc;
    if (getenv("FORK_OUT_RUN")) return forking_run();
    remove(PREFIX ".json");
    remove(PREFIX ".child");
    pid_t pid = fork();
    if (pid == 0) {
        setenv("FORK_OUT_RUN", "1", 1);
        setenv("CPROF_OUT", PREFIX, 1);
        execv(argv[0], argv); /* not /proc/self/exe: under valgrind that is valgrind itself */
        _exit(5);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    long child = 0;
    FILE *f = fopen(PREFIX ".child", "r");
    CHECK(f && fscanf(f, "%ld", &child) == 1 && child > 0);
    if (f) fclose(f);
    char path[256];
    snprintf(path, sizeof path, PREFIX ".%ld.json", child);
    cprof_profile *parent = NULL, *forked = NULL;
    CHECK_EQ_U64(cprof_load(PREFIX ".json", &parent), 0);
    CHECK_EQ_U64(cprof_load(path, &forked), 0);
    if (parent) { /* both threads, not the child's scope */
        CHECK_EQ_U64(parent->thread_count, 2);
        CHECK(has_function(parent, "before_fork") && has_function(parent, "helper_work"));
        CHECK(!has_function(parent, "in_child"));
    }
    if (forked) { /* the forking thread only: its scopes before and after the fork */
        CHECK_EQ_U64(forked->thread_count, 1);
        CHECK(has_function(forked, "before_fork") && has_function(forked, "in_child"));
        CHECK(!has_function(forked, "helper_work"));
    }
    cprof_profile_free(parent);
    cprof_profile_free(forked);
    for (const char *suffix = ".json\0.txt\0.folded\0.svg\0"; *suffix; suffix += strlen(suffix) + 1) {
        snprintf(path, sizeof path, PREFIX ".%ld%s", child, suffix);
        CHECK(access(path, R_OK) == 0);
        remove(path); /* one set per run, not one per process id */
    }
    CHECK_DONE();
}
