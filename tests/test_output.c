/* CPROF_OUT's set of files stays consistent: all four are written to temporaries before any is
   renamed, a failed write replaces nothing and leaves no temporary, and temporaries left by a killed
   run (a dead PID) are removed by the next run. The test runs itself again as a child. */
#include "../cprof.h"
#include "check.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const suffixes[] = {".txt", ".json", ".folded", ".svg"};

/* 2 µs of work: an empty scope's self time is about 0 once cprof's own cost is subtracted, and the
   folded stacks (one of the four files checked) list only paths with self time. */
static void work(void) { CPROF_SCOPE(); busy_wait_ns(2000); }

/* Runs this program as a child with CPROF_OUT=prefix; file_limit > 0: RLIMIT_FSIZE, with SIGXFSZ
   ignored so that a write past it fails with EFBIG instead of killing the child. */
static int run_writer(const char *self, const char *prefix, rlim_t file_limit) {
    pid_t pid = fork();
    if (pid == 0) {
        setenv("CPROF_OUT", prefix, 1);
        if (file_limit) {
            struct rlimit limit = {file_limit, file_limit};
            signal(SIGXFSZ, SIG_IGN); /* kept across exec */
            setrlimit(RLIMIT_FSIZE, &limit);
        }
        execl(self, self, "child", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* A PID that no longer exists: a child that has exited and been waited for. */
static pid_t dead_pid(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    waitpid(pid, NULL, 0);
    return pid;
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) fputs(text, f), fclose(f);
}

/* How many "PREFIX*.tmp.*" files there are. */
static int count_temporaries(const char *prefix) {
    char command[400];
    snprintf(command, sizeof command, "ls %s*.tmp.* 2>/dev/null | wc -l", prefix);
    FILE *p = popen(command, "r");
    int count = -1;
    if (p && fscanf(p, "%d", &count) != 1) count = -1;
    if (p) pclose(p);
    return count;
}

int main(int argc, char **argv) {
    char prefix[256], path[300], stale[320], live[320];
    if (argc > 1) {
        for (int i = 0; i < 5; i++) work();
        return 0;
    }
    snprintf(prefix, sizeof prefix, "/tmp/cprof_test_output_%ld", (long)getpid());

    /* a killed run's temporary (dead PID) is removed; one of a live process is not; the set is whole */
    snprintf(stale, sizeof stale, "%s.json.tmp.%ld", prefix, (long)dead_pid());
    snprintf(live, sizeof live, "%s.svg.tmp.%ld", prefix, (long)getpid());
    write_text(stale, "half a profile");
    write_text(live, "someone else's file being written");
    CHECK_EQ_U64(run_writer(argv[0], prefix, 0), 0);
    CHECK(!file_exists(stale));
    CHECK(file_exists(live));
    remove(live);
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s%s", prefix, suffixes[k]);
        const char *text = read_text_file(path);
        CHECK(text != NULL && text[0] != '\0');
    }
    CHECK_EQ_U64(count_temporaries(prefix), 0);

    /* a write that fails (the flame graph, written last, is larger than the 4 KB file size limit;
       the report, profile and folded stacks are not) replaces none of the
       previous set and leaves no temporary */
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s%s", prefix, suffixes[k]);
        write_text(path, "the previous run");
    }
    CHECK_EQ_U64(run_writer(argv[0], prefix, 4096), 0);
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s%s", prefix, suffixes[k]);
        CHECK_EQ_STR(read_text_file(path), "the previous run");
        remove(path);
    }
    CHECK_EQ_U64(count_temporaries(prefix), 0);
    CHECK_DONE();
}
