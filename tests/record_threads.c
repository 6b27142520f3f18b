/* A program without cprof for tests/check_record.sh: `cprof record` must sample every thread it starts
   and a fork() child, and an exec'd image is not recorded. Each thread spins in a function of its own
   for 100 ms of its own CPU time, one thread at a time: the timers count CPU time, but the kernel
   sends a thread's signal late when the thread waits for a CPU (several periods in one signal, and the
   periods after the last signal before the thread ends are lost), so a thread must run long enough to
   be sampled at all on a loaded machine. Modes:
     record_threads            three threads one after the other (work_one, work_two, work_three),
                               main_work, then a fork() child
                               (child_work) that exits normally; prints "threads done"
     record_threads exec       execs itself as "record_threads after-exec"
     record_threads after-exec prints "LD_PRELOAD=..." as it sees it */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double thread_cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static __attribute__((noinline)) void spin(double seconds) {
    double end = thread_cpu_seconds() + seconds;
    volatile unsigned long sink = 0;
    while (thread_cpu_seconds() < end)
        for (int i = 0; i < 10000; i++) sink += (unsigned long)i;
}

__attribute__((noinline)) void work_one(void) { spin(0.1); __asm__ __volatile__("" ::: "memory"); }
__attribute__((noinline)) void work_two(void) { spin(0.1); __asm__ __volatile__("" ::: "memory"); }
__attribute__((noinline)) void work_three(void) { spin(0.1); __asm__ __volatile__("" ::: "memory"); }
__attribute__((noinline)) void main_work(void) { spin(0.1); __asm__ __volatile__("" ::: "memory"); }
__attribute__((noinline)) void child_work(void) { spin(0.1); __asm__ __volatile__("" ::: "memory"); }

static void (*const works[3])(void) = {work_one, work_two, work_three};
static int indexes[3] = {0, 1, 2};

static void *run(void *index) {
    works[*(int *)index]();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
        const char *preload = getenv("LD_PRELOAD");
        printf("LD_PRELOAD=%s\n", preload ? preload : "");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        spin(0.02);
        execl(argv[0], argv[0], "after-exec", (char *)NULL);
        perror("execl");
        return 1;
    }
    for (int i = 0; i < 3; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, run, &indexes[i]) != 0 || pthread_join(thread, NULL) != 0) return 1;
    }
    main_work();
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        child_work();
        exit(0); /* a normal exit: the child writes its own files */
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    printf("threads done\n");
    return 0;
}
