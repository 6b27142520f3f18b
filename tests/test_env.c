/* The environment, read once at start: CPROF=0, CPROF_TIMER=clock, CPROF_OUT=prefix. The test runs
   itself again as a child with each setting. */
#include "../cprof.h"
#include "check.h"
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* 2 µs of work: an empty scope's self time is about 0 once cprof's own cost is subtracted, and the
   folded stacks list only paths with self time. */
static void work(void) { CPROF_SCOPE(); busy_wait_ns(2000); }

static int child(const char *mode) {
    for (int i = 0; i < 7; i++) work();
    cprof_profile *p = cprof_capture();
    if (strcmp(mode, "off") == 0) {
        CHECK(!cprof_is_enabled());
        cprof_enable(); /* CPROF=0 wins over the program */
        CHECK(!cprof_is_enabled());
        work();
        CHECK_EQ_U64(p->function_count, 0);
        CHECK_EQ_U64(p->thread_count, 0);
    } else if (strcmp(mode, "clock") == 0) {
        CHECK_EQ_STR(p->timer, "clock_gettime");
        CHECK(p->timer_hz == 1e9);
        CHECK_EQ_U64(function_calls(p, "work"), 7);
        CHECK_CONTAINS(report_text(p, NULL), "timer clock_gettime (CLOCK_MONOTONIC, ns)");
    } else if (strcmp(mode, "default") == 0) {
#if defined(__x86_64__)
        CHECK_EQ_STR(p->timer, "rdtsc");
        CHECK(p->timer_hz > 1e8 && p->timer_hz < 1e11);
#endif
        CHECK_EQ_U64(function_calls(p, "work"), 7);
    }
    cprof_profile_free(p);
    CHECK_DONE();
}

/* Runs this program as a child with one environment variable set; returns its exit status. */
static int run_child(const char *self, const char *mode, const char *variable, const char *value) {
    pid_t pid = fork();
    if (pid == 0) {
        if (variable) setenv(variable, value, 1);
        execl(self, self, mode, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Like run_child, with the child's stderr in `err_path`; returns the exit status. */
static int run_child_stderr(const char *self, const char *mode, const char *variable, const char *value,
                            const char *err_path) {
    fflush(stderr);
    int saved = dup(2);
    FILE *err = freopen(err_path, "w", stderr);
    int status = err ? run_child(self, mode, variable, value) : 128;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    return status;
}

/* Every value cprof does not understand gets one line on stderr; the values it does, none. */
static void check_warnings(const char *self) {
    char err_path[128], *long_prefix = (char *)malloc(4200);
    snprintf(err_path, sizeof err_path, "/tmp/cprof_test_env_%ld.err", (long)getpid());
    CHECK_EQ_U64(run_child_stderr(self, "default", "CPROF", "garbage", err_path), 0);
    CHECK_EQ_STR(read_text_file(err_path),
                 "cprof: CPROF=garbage: not understood (0 turns recording off, 1 leaves it on); recording stays on\n");
    CHECK_EQ_U64(run_child_stderr(self, "default", "CPROF_TIMER", "foo", err_path), 0);
    CHECK_EQ_STR(read_text_file(err_path), "cprof: CPROF_TIMER=foo: not understood (the one choice is clock); using the default timer\n");
    memset(long_prefix, 'x', 4080);
    memcpy(long_prefix, "/tmp/", 5);
    long_prefix[4080] = '\0';
    CHECK_EQ_U64(run_child_stderr(self, "default", "CPROF_OUT", long_prefix, err_path), 0);
    CHECK_CONTAINS(read_text_file(err_path), "...: 4080 bytes, longer than the 4079 a prefix may have; no files are written\n");
    CHECK_EQ_U64(run_child_stderr(self, "default", "CPROF", "1", err_path), 0);
    CHECK_EQ_STR(read_text_file(err_path), "");
    CHECK_EQ_U64(run_child_stderr(self, "clock", "CPROF_TIMER", "clock", err_path), 0);
    CHECK_EQ_STR(read_text_file(err_path), "");
    CHECK_EQ_U64(run_child_stderr(self, "off", "CPROF", "0", err_path), 0);
    CHECK_EQ_STR(read_text_file(err_path), "");
    remove(err_path);
    free(long_prefix);
}

int main(int argc, char **argv) {
    if (argc > 1) return child(argv[1]);
    check_warnings(argv[0]);
    CHECK_EQ_U64(run_child(argv[0], "off", "CPROF", "0"), 0);
    CHECK_EQ_U64(run_child(argv[0], "clock", "CPROF_TIMER", "clock"), 0);
    CHECK_EQ_U64(run_child(argv[0], "default", NULL, NULL), 0);

    char prefix[256], path[300];
    snprintf(prefix, sizeof prefix, "/tmp/cprof_test_env_%ld", (long)getpid());
    snprintf(path, sizeof path, "%s.txt", prefix);
    remove(path);
    CHECK_EQ_U64(run_child(argv[0], "write", "CPROF_OUT", prefix), 0);
    const char *text = read_text_file(path);
    CHECK(text != NULL);
    if (text) {
        CHECK_CONTAINS(text, "cprof " CPROF_VERSION " report: ");
        CHECK_CONTAINS(text, "Functions, by self time");
        CHECK_CONTAINS(text, "  work  (");
        CHECK_CONTAINS(text, "             7  ");
    }
    /* and the profile, the collapsed stacks and the flame graph beside it */
    char other[320];
    snprintf(other, sizeof other, "%s.json", prefix);
    cprof_profile *saved = NULL;
    CHECK_EQ_U64(cprof_load(other, &saved), 0);
    CHECK_EQ_U64(function_calls(saved, "work"), 7);
    cprof_profile_free(saved);
    remove(other);
    snprintf(other, sizeof other, "%s.folded", prefix);
    text = read_text_file(other);
    CHECK(text && strncmp(text, "work ", 5) == 0);
    remove(other);
    snprintf(other, sizeof other, "%s.svg", prefix);
    text = read_text_file(other);
    CHECK(text && strstr(text, "<svg") != NULL);
    remove(other);
    /* an existing file is replaced whole, and no temporary file is left behind */
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("old contents that are longer than nothing", f);
        fclose(f);
    }
    CHECK_EQ_U64(run_child(argv[0], "write", "CPROF_OUT", prefix), 0);
    text = read_text_file(path);
    CHECK(text && strncmp(text, "cprof ", 6) == 0);
    char command[400];
    snprintf(command, sizeof command, "ls %s.txt.tmp.* >/dev/null 2>&1", prefix);
    CHECK(system(command) != 0);
    remove(path);
    /* CPROF=0 writes nothing */
    CHECK_EQ_U64(run_child(argv[0], "off", "CPROF", "0"), 0);
    setenv("CPROF", "0", 1);
    CHECK_EQ_U64(run_child(argv[0], "off", "CPROF_OUT", prefix), 0);
    unsetenv("CPROF");
    CHECK(read_text_file(path) == NULL);
    CHECK_DONE();
}
