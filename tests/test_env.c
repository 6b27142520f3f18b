/* The environment, read once at start: CPROF=0, CPROF_TIMER=clock, CPROF_OUT=prefix. The test runs
   itself again as a child with each setting. */
#include "../cprof.h"
#include "check.h"
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void work(void) { CPROF_SCOPE(); }

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

int main(int argc, char **argv) {
    if (argc > 1) return child(argv[1]);
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
