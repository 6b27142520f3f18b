/* perf_event counters per scope. Software events (page faults, task clock, context switches) work on
   this project's machines and go through the same table, open, read and accumulation as hardware ones;
   hardware events answer ENOENT there, which exercises the "unavailable" path. Each live scenario runs
   in a child process (the selection is chosen once per process); the arithmetic is checked on
   profiles built with exact numbers. */
#include "../cprof.h"
#include "check.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

enum { PAGES = 256 };

/* Touches PAGES fresh pages: at least PAGES page faults in this scope. */
static void touch_pages(void) {
    CPROF_SCOPE();
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *memory = (char *)mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return;
    for (size_t i = 0; i < PAGES; i++) memory[i * page] = (char)i;
    munmap(memory, PAGES * page);
}

static void compute(void) {
    CPROF_SCOPE();
    for (int i = 0; i < 10000; i++) check_sink = check_sink + (uint64_t)i;
}

static void nap(void) {
    CPROF_SCOPE();
    usleep(2000); /* sleeping switches this thread out */
}

static void workload(void) {
    CPROF_SCOPE();
    compute();
    touch_pages();
    compute();
    for (int i = 0; i < 3; i++) nap();
}

/* Open perf_event file descriptors of this process. */
static int perf_fds(void) {
    int count = 0;
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *entry;
    char path[300], target[256];
    while (dir && (entry = readdir(dir)) != NULL) {
        snprintf(path, sizeof path, "/proc/self/fd/%s", entry->d_name);
        ssize_t length = readlink(path, target, sizeof target - 1);
        if (length > 0) {
            target[length] = '\0';
            count += strstr(target, "perf_event") != NULL;
        }
    }
    if (dir) closedir(dir);
    return count;
}

static int occurrences(const char *text, const char *part) {
    int count = 0;
    for (const char *at = strstr(text, part); at; at = strstr(at + 1, part)) count++;
    return count;
}

static uint64_t counter_of(const cprof_profile *p, const char *path, const char *counter, int self) {
    const cprof_node *node = find_node(p, 0, path);
    uint32_t k = cprof_counter_find(p, counter);
    if (!node || k == CPROF_NONE) return UINT64_MAX;
    cprof_counter_value v = cprof_node_counter(p, (uint32_t)(node - p->nodes), k);
    return self ? v.self : v.total;
}

/* Whether the machine itself can count an event: the test's own perf_event_open, independent of cprof's. */
static int machine_has(uint32_t type, uint64_t config) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = type;
    attr.config = config;
    attr.exclude_kernel = 1;
    long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0UL);
    if (fd >= 0) close((int)fd);
    return fd >= 0;
}

static void *thread_touching(void *unused) {
    (void)unused;
    touch_pages();
    return NULL;
}

/* page-faults in one scope, its siblings near zero; cache-misses available or with its reason. */
static int child_live(void) {
    int before = perf_fds();
    int available = cprof_counters_enable("page-faults,cache-misses,task-clock,context-switches");
    int has_cache_misses = machine_has(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES);
    CHECK_EQ_U64(available, has_cache_misses ? 4 : 3);
    CHECK_EQ_U64(perf_fds(), before); /* the probe closes what it opened; the group opens on first record */
    CHECK_EQ_U64(cprof_counters_enable("cycles"), (uint64_t)-1); /* chosen once */
    compute(); /* the main thread's first scope since counters were chosen: opens its group */
    CHECK_EQ_U64(perf_fds(), before + available);
    workload();
    pthread_t thread;
    pthread_create(&thread, NULL, thread_touching, NULL);
    pthread_join(thread, NULL);
    CHECK_EQ_U64(perf_fds(), before + available); /* the thread's group closed when it ended */

    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->counter_count, 4);
    CHECK_EQ_STR(p->counters[0].name, "page-faults");
    CHECK_EQ_U64(p->counters[0].available, 1);
    CHECK_EQ_STR(p->counters[0].reason, "");
    CHECK_EQ_STR(p->counter_reader, "read"); /* software events cannot be read with rdpmc */
    CHECK(p->counters[0].running_ratio > 0.0 && p->counters[0].running_ratio <= 1.0);
    CHECK(counter_of(p, "workload/touch_pages", "page-faults", 0) >= PAGES);
    /* compute touches no new memory; ThreadSanitizer's shadow of cprof's mmap'd storage faults on its first
       touch (3 here), which the kernel counts in whichever scope is open */
    CHECK(counter_of(p, "workload/compute", "page-faults", 0) <= (CHECK_THREAD_SANITIZER ? 8 : 2));
    CHECK(counter_of(p, "workload/nap", "page-faults", 0) <= 8);
    CHECK(counter_of(p, "workload", "page-faults", 0) >= counter_of(p, "workload/touch_pages", "page-faults", 0));
    CHECK(counter_of(p, "workload", "page-faults", 1) <= 16); /* self: the children's faults are not its own */
    CHECK(counter_of(p, "workload/compute", "task-clock", 0) > 0);
    CHECK(counter_of(p, "workload/nap", "context-switches", 0) >= 3);
    CHECK_EQ_U64(counter_of(p, "workload/compute", "context-switches", 0) <= 1, 1);
    /* the other thread's faults are in its own tree, not in main's */
    CHECK_EQ_U64(p->thread_count, 2);
    const cprof_node *other = p->thread_count == 2 ? find_node(p, 1, "touch_pages") : NULL;
    CHECK(other != NULL);
    if (other) CHECK(cprof_node_counter(p, (uint32_t)(other - p->nodes), 0).total >= PAGES);
    /* per function: touch_pages is merged over both threads */
    uint32_t f = 0;
    while (f < p->function_count && strcmp(p->functions[f].name, "touch_pages") != 0) f++;
    CHECK(cprof_function_counter(p, f, 0).self >= 2 * PAGES);

    const cprof_counter_info *cache = &p->counters[cprof_counter_find(p, "cache-misses")];
    const char *report = report_text(p, NULL);
    if (has_cache_misses) {
        CHECK_EQ_U64(cache->available, 1);
    } else {
        CHECK_EQ_U64(cache->available, 0);
        CHECK(strlen(cache->reason) > 10);
        CHECK_CONTAINS(cache->reason, "ENOENT");
        CHECK_EQ_U64(occurrences(report, "counters unavailable: cache-misses: "), 1);
        CHECK_EQ_U64(occurrences(report, cache->reason), 1); /* said once, at the top */
        CHECK(strstr(report, "counters unavailable") < strstr(report, "Functions, by self time"));
    }
    CHECK_CONTAINS(report, "counters: page-faults task-clock context-switches");
    CHECK_CONTAINS(report, "Counters per function (self; same order as above)");
    CHECK_CONTAINS(report, "(whole run, inclusive)");
    cprof_profile_free(p);

    cprof_reset(); /* counter values are cleared with the times */
    p = cprof_capture();
    CHECK_EQ_U64(p->counters[0].total, 0);
    cprof_profile_free(p);
    CHECK_DONE();
}

/* Counters off: nothing opened, nothing allocated per node, nothing in the profile or the report. */
static int child_off(void) {
    workload();
    CHECK_EQ_U64(cprof__test_thread_counting(), 0); /* no group open, no values on the first scope */
    CHECK_EQ_U64(perf_fds(), 0);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->counter_count, 0);
    CHECK(p->counters == NULL && p->node_counters == NULL && p->function_counters == NULL);
    CHECK_EQ_STR(p->counter_reader, "");
    CHECK_EQ_U64(cprof_node_counter(p, 1, 0).total, 0);
    CHECK_EQ_U64(cprof_counter_find(p, "page-faults"), CPROF_NONE);
    const char *report = report_text(p, NULL);
    CHECK(strstr(report, "\ncounters") == NULL && strstr(report, "Counters per function") == NULL);
    cprof_profile_free(p);
    CHECK_DONE();
}

/* CPROF_COUNTERS=cache-misses on a machine without it: unavailable, and no scope pays for it. */
static int child_unavailable(void) {
    int has = machine_has(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES);
    workload();
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->counter_count, 1);
    CHECK_EQ_U64(p->counters[0].available, (uint64_t)has);
    if (!has) {
        CHECK_EQ_U64(cprof__test_thread_counting() & 1, 0); /* nothing to count: the hot path's branch is never taken */
        CHECK_EQ_U64(perf_fds(), 0);
        CHECK_CONTAINS(report_text(p, NULL), "counters unavailable: cache-misses: the CPU offers no such event (ENOENT)");
        CHECK(strstr(report_text(p, NULL), "Counters per function") == NULL);
    }
    CHECK_EQ_U64(function_calls(p, "nap"), 3); /* everything else keeps working */
    cprof_profile_free(p);
    CHECK_DONE();
}

/* The environment: duplicates dropped, an unknown name kept with its reason, "default". */
static int child_environment(const char *mode) {
    compute();
    cprof_profile *p = cprof_capture();
    if (strcmp(mode, "names") == 0) {
        CHECK_EQ_U64(p->counter_count, 2);
        CHECK_EQ_STR(p->counters[1].name, "no-such-event");
        CHECK_EQ_U64(p->counters[1].available, 0);
        CHECK_CONTAINS(p->counters[1].reason, "unknown event; known: cycles instructions");
        CHECK(counter_of(p, "compute", "page-faults", 0) != UINT64_MAX);
        CHECK_EQ_U64(cprof_counters_enable("task-clock"), (uint64_t)-1); /* the environment wins */
        cprof_profile_free(p);
        p = cprof_capture();
        CHECK_CONTAINS(report_text(p, NULL), "cprof_counters_enable(\"task-clock\") ignored: counters were already chosen");
    } else {
        const char *expected[] = {"cycles", "instructions", "cache-references", "cache-misses", "branch-misses", "page-faults"};
        CHECK_EQ_U64(p->counter_count, 6);
        for (size_t k = 0; k < 6 && k < p->counter_count; k++) CHECK_EQ_STR(p->counters[k].name, expected[k]);
    }
    cprof_profile_free(p);
    CHECK_DONE();
}

/* Too many open files: the open fails with EMFILE, which the profile says; recording goes on. */
static int child_emfile(void) {
    struct rlimit limit, original;
    getrlimit(RLIMIT_NOFILE, &limit);
    original = limit;
    int highest = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1) highest = fd;
    limit.rlim_cur = (rlim_t)highest + 1;
    setrlimit(RLIMIT_NOFILE, &limit);
    while (dup(0) >= 0) {} /* fill the gaps below: no descriptor left */
    CHECK_EQ_U64(cprof_counters_enable("page-faults"), 0);
    workload();
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->counters[0].available, 0);
    CHECK_CONTAINS(p->counters[0].reason, "too many open files (EMFILE)");
    CHECK_EQ_U64(function_calls(p, "compute"), 2);
    cprof_profile_free(p);
    for (int fd = highest + 1; fd < 1024; fd++) close(fd); /* the sanitizers need descriptors at exit */
    setrlimit(RLIMIT_NOFILE, &original);
    CHECK_DONE();
}

/* More names than a selection holds: the call returns (it used to deadlock, noting the extra names
   while holding the lock the note takes), the first 16 are kept and the rest named in one message. */
static int child_many(void) {
    alarm(60); /* a deadlock ends the child with SIGALRM: a failure, not a hung test */
    CHECK(cprof_counters_enable("task-clock,e1,e2,e3,e4,e5,e6,e7,e8,e9,e10,e11,e12,e13,e14,e15,e16,e17") >= 0);
    workload();
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->counter_count, 16);
    CHECK_EQ_STR(p->counters[15].name, "e15");
    CHECK_CONTAINS(report_text(p, NULL), "2 counters not used (at most 16): e16, e17");
    CHECK_EQ_U64(function_calls(p, "compute"), 2);
    cprof_profile_free(p);
    CHECK_DONE();
}

static int run_child(const char *self, const char *mode, const char *variable, const char *value) {
    pid_t pid = fork();
    if (pid == 0) {
        if (variable) setenv(variable, value, 1);
        else unsetenv("CPROF_COUNTERS");
        execl(self, self, mode, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* --- the arithmetic, on profiles with exact numbers --- */

/* Gives a built profile counters with these names and, per node (depth-first, after each thread root),
   these inclusive values; then derives again. */
static void give_counters(cprof_profile *p, const char *const *names, size_t count, const uint64_t *totals) {
    cprof__test_grow(p, &p->counters, count, sizeof *p->counters);
    cprof__test_grow(p, &p->node_counters, p->node_count * count, sizeof *p->node_counters);
    p->counter_count = count;
    p->counter_reader = "rdpmc";
    for (size_t k = 0; k < count; k++) {
        p->counters[k].name = names[k];
        p->counters[k].reason = "";
        p->counters[k].available = 1;
        p->counters[k].running_ratio = 1.0;
    }
    for (size_t i = 1; i < p->node_count; i++)
        for (size_t k = 0; k < count; k++) p->node_counters[i * count + k].total = totals[(i - 1) * count + k];
    cprof__test_derive(p);
}

static void test_derived_figures(void) {
    const char *lines[] = {"main 1 1000", " fib 1 600", "  fib 2 400", " copy 4 300", NULL};
    const char *names[] = {"cycles", "instructions", "cache-misses", "cache-references"};
    const uint64_t totals[] = {
        1000, 1500, 70, 400, /* main */
        600, 1200, 10, 100,  /* main/fib */
        400, 800, 8, 80,     /* main/fib/fib */
        300, 200, 50, 200,   /* main/copy */
    };
    cprof_profile *p = build_profile(lines);
    give_counters(p, names, 4, totals);
    /* self = inclusive minus children; the thread's root holds its scopes' sum */
    CHECK_EQ_U64(cprof_node_counter(p, 1, 0).self, 1000 - 600 - 300);
    CHECK_EQ_U64(cprof_node_counter(p, 2, 1).self, 1200 - 800);
    CHECK_EQ_U64(cprof_node_counter(p, 0, 0).total, 1000);
    CHECK_EQ_U64(p->counters[2].total, 70);
    /* per function: recursion counted once in the total, self summed */
    const cprof_function *fib = find_function(p, "fib");
    uint32_t f = (uint32_t)(fib - p->functions);
    CHECK_EQ_U64(cprof_function_counter(p, f, 0).total, 600);
    CHECK_EQ_U64(cprof_function_counter(p, f, 0).self, 200 + 400);
    CHECK_EQ_U64(cprof_function_counter(p, f, 99).total, 0); /* out of range */
    const char *report = report_text(p, NULL);
    CHECK_CONTAINS(report, "counters: cycles instructions cache-misses cache-references (user space; read with rdpmc)");
    CHECK_CONTAINS(report, "  cache-references     IPC   miss%    MPKI  function");
    /* copy: self 300 cycles, 200 instructions, 50 misses of 200 references */
    CHECK_CONTAINS(report, "           300           200            50               200    0.67   25.00  250.00  copy");
    CHECK_CONTAINS(report, "1.50   17.50   46.67  (whole run, inclusive)");
    /* a derived figure needs both inputs: without cycles there is no IPC */
    p->counters[0].available = 0;
    p->counters[0].reason = "the CPU offers no such event (ENOENT)";
    report = report_text(p, NULL);
    CHECK(strstr(report, "IPC") == NULL);
    CHECK_CONTAINS(report, "counters unavailable: cycles: the CPU offers no such event (ENOENT)");
    CHECK_CONTAINS(report, "   miss%    MPKI  function");
    cprof_profile_free(p);
}

/* Multiplexing: differences are scaled by time enabled / time running, and the report says so. */
static void test_multiplexing(void) {
    const char *lines[] = {"main 1 1000", NULL};
    const char *names[] = {"cache-misses"};
    const uint64_t totals[] = {0};
    cprof_profile *p = build_profile(lines);
    give_counters(p, names, 1, totals);
    uint64_t raw[3] = {300, 4000, 1000}; /* 300 counted while running a quarter of the time */
    cprof__test_counters_add_scaled(p, 1, raw, 1);
    CHECK_EQ_U64(p->node_counters[1].total, 1200);
    CHECK(p->counters[0].running_ratio == 0.25);
    cprof__test_derive(p);
    CHECK_CONTAINS(report_text(p, NULL), "counters are estimates: the kernel multiplexed them, counting 25.0% of the time");
    cprof_profile_free(p);
}

static void test_reasons(void) {
    char reason[400];
    CHECK_CONTAINS(cprof__test_counter_reason(reason, sizeof reason, EACCES, 0), "not permitted (EACCES): perf_event_paranoid is ");
    CHECK_CONTAINS(reason, "user-space counting needs it at 2 or lower, or CAP_PERFMON");
    CHECK_CONTAINS(cprof__test_counter_reason(reason, sizeof reason, EACCES, 1), "this kernel-side event needs it at 1 or lower");
    CHECK_CONTAINS(cprof__test_counter_reason(reason, sizeof reason, ENOSYS, 0), "a kernel without perf events, or seccomp");
    CHECK_CONTAINS(cprof__test_counter_reason(reason, sizeof reason, ENFILE, 0), "too many open files (ENFILE)");
    CHECK_CONTAINS(cprof__test_counter_reason(reason, sizeof reason, -1, 0), "counters need Linux perf_event_open");
    CHECK_CONTAINS(cprof__test_counter_reason(reason, sizeof reason, E2BIG, 0), "perf_event_open failed: ");
}

/* The arithmetic of the perf mmap page (rdpmc): the machines here have no user-space counters. */
static void test_mmap_page(void) {
    struct perf_event_mmap_page page;
    uint64_t out[3];
    memset(&page, 0, sizeof page);
    page.index = 1;
    page.pmc_width = 48;
    page.offset = 1000;
    page.time_enabled = 500;
    page.time_running = 400;
    cprof__test_mmap_page_decode(&page, 0xFFFFFFFFFFFFull, 0, out); /* -1 in 48 bits */
    CHECK_EQ_U64(out[0], 999);
    CHECK_EQ_U64(out[1], 500);
    page.cap_user_time = 1;
    page.time_mult = 3;
    page.time_shift = 1;
    page.time_offset = 10;
    cprof__test_mmap_page_decode(&page, 5, 7, out); /* delta = 10 + (7 >> 1) * 3 + ((7 & 1) * 3 >> 1) = 20 */
    CHECK_EQ_U64(out[0], 1005);
    CHECK_EQ_U64(out[1], 520);
    CHECK_EQ_U64(out[2], 420);
    page.index = 0; /* not on a counter right now: the kernel's count; running does not advance */
    cprof__test_mmap_page_decode(&page, 5, 7, out);
    CHECK_EQ_U64(out[0], 1000);
    CHECK_EQ_U64(out[2], 400);
}

int main(int argc, char **argv) {
    /* The threads' rings of context switches (>>preemption, test_preemption) are perf events too: off, so
       that the descriptors counted here are this test's own (children inherit the environment). */
    setenv("CPROF_PREEMPTION", "0", 1);
    if (argc > 1) {
        if (strcmp(argv[1], "live") == 0) return child_live();
        if (strcmp(argv[1], "off") == 0) return child_off();
        if (strcmp(argv[1], "unavailable") == 0) return child_unavailable();
        if (strcmp(argv[1], "emfile") == 0) return child_emfile();
        if (strcmp(argv[1], "many") == 0) return child_many();
        return child_environment(argv[1]);
    }
    CHECK_EQ_U64(run_child(argv[0], "live", NULL, NULL), 0);
    CHECK_EQ_U64(run_child(argv[0], "off", NULL, NULL), 0);
    CHECK_EQ_U64(run_child(argv[0], "unavailable", "CPROF_COUNTERS", "cache-misses"), 0);
    CHECK_EQ_U64(run_child(argv[0], "emfile", NULL, NULL), 0);
    CHECK_EQ_U64(run_child(argv[0], "many", NULL, NULL), 0);
    CHECK_EQ_U64(run_child(argv[0], "names", "CPROF_COUNTERS", " page-faults,no-such-event,page-faults"), 0);
    CHECK_EQ_U64(run_child(argv[0], "default", "CPROF_COUNTERS", "default"), 0);
    test_derived_figures();
    test_multiplexing();
    test_reasons();
    test_mmap_page();
    CHECK_DONE();
}
