/* Signals: a handler that opens scopes interrupts a thread that is itself entering and exiting many
   distinct scopes (so that nodes are being made when the signals arrive). The program must finish (a
   watchdog fails it rather than letting it hang), every scope of the thread keeps its exact count, and
   each handler run is either recorded or counted as dropped, never lost. */
#include "../cprof.h"
#include "check.h"
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

enum { SITES = 2000, ROUNDS = 40, WATCHDOG_SECONDS = 120 };

static cprof_site sites[SITES], round_sites[ROUNDS];
static char site_names[SITES][16];
static volatile sig_atomic_t handler_runs;
static volatile sig_atomic_t errno_changed;
static int worker_done, worker_ready;

/* Async-signal-safe itself: it only opens two scopes and counts. */
static void on_signal(int signal_number) {
    (void)signal_number;
    int saved = errno;
    {
        CPROF_SCOPE("in handler");
        CPROF_BEGIN("inner handler scope");
        CPROF_END();
    }
    if (errno != saved) errno_changed = 1;
    handler_runs = handler_runs + 1;
}

static void on_watchdog(int signal_number) {
    (void)signal_number;
    static const char text[] = "test_signals: still running after the watchdog's time: hung\n";
    if (write(2, text, sizeof text - 1) < 0) _exit(2);
    _exit(1);
}

/* Every round enters every site once under a parent of its own (so that nodes are made all along),
   each with a malloc inside (so that the signal often lands in the C library's allocator, where a
   second allocation from the handler would deadlock). */
static void *worker(void *unused) {
    (void)unused;
    cprof_thread_name("worker"); /* its recorder exists before any signal (see Limitations) */
    __atomic_store_n(&worker_ready, 1, __ATOMIC_RELEASE);
    for (int round = 0; round < ROUNDS; round++) {
        uint32_t round_token = cprof__enter(&round_sites[round]);
        for (int i = 0; i < SITES; i++) {
            uint32_t token = cprof__enter(&sites[i]);
            free(malloc((size_t)(16 + i % 512)));
            cprof__exit(token);
        }
        cprof__exit(round_token);
    }
    __atomic_store_n(&worker_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

int main(void) {
    signal(SIGALRM, on_watchdog);
    alarm(WATCHDOG_SECONDS);
    make_sites(sites, site_names[0], sizeof site_names[0], SITES, "site %d", "worker", "test_signals.c");
    for (int r = 0; r < ROUNDS; r++) {
        round_sites[r].name = "round";
        round_sites[r].function = "worker";
        round_sites[r].file = "rounds.c";
        round_sites[r].line = r + 1;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);

    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    uint64_t sent = 0;
    while (!__atomic_load_n(&worker_ready, __ATOMIC_ACQUIRE)) sched_yield();
    while (!__atomic_load_n(&worker_done, __ATOMIC_ACQUIRE)) {
        pthread_kill(thread, SIGUSR1);
        sent++;
        if (sent % 16 == 0) sched_yield();
    }
    pthread_join(thread, NULL);

    cprof_profile *p = cprof_capture();
    uint32_t worker_index = 1;
    CHECK_EQ_STR(p->threads[worker_index].name, "worker");
    for (int i = 0; i < SITES; i++) {
        uint64_t calls = 0;
        for (size_t n = 0; n < p->node_count; n++)
            if (p->nodes[n].site != CPROF_NONE && p->sites[p->nodes[n].site].line == (uint32_t)(i + 1) &&
                strcmp(p->sites[p->nodes[n].site].file, "test_signals.c") == 0)
                calls += p->nodes[n].calls;
        if (calls != ROUNDS) CHECK_EQ_U64(calls, ROUNDS); /* one line per wrong site, not 3,000 checks */
    }
    CHECK_EQ_U64(function_calls(p, "round"), ROUNDS);
    uint64_t recorded = function_calls(p, "in handler");
    printf("signals: %llu sent, %d handled, %llu recorded, %llu scopes dropped (the thread was inside cprof)\n",
           (unsigned long long)sent, (int)handler_runs, (unsigned long long)recorded,
           (unsigned long long)p->signal_scopes_dropped);
    CHECK(handler_runs > 0);
    /* Each run opens two scopes: both are recorded, or both dropped (the second begins inside the first). */
    CHECK_EQ_U64(function_calls(p, "inner handler scope"), recorded);
    CHECK_EQ_U64(2 * recorded + p->signal_scopes_dropped, 2 * (uint64_t)handler_runs);
    CHECK_EQ_U64(p->dropped_scopes, 0);
    CHECK(!errno_changed);

    /* The count reaches the text report and the profile file, and loads back. */
    char report[4096];
    cprof_report_options options = cprof_report_defaults();
    options.tree_min_pct = 100;
    cprof_report_format(p, report, sizeof report, &options);
    if (p->signal_scopes_dropped) CHECK_CONTAINS(report, "opened in signal handlers were not recorded");
    char path[] = "/tmp/cprof_test_signals_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(cprof_save(p, path) == 0);
    cprof_profile *loaded = NULL;
    CHECK(cprof_load(path, &loaded) == 0);
    CHECK_EQ_U64(loaded ? loaded->signal_scopes_dropped : 1, p->signal_scopes_dropped);
    remove(path);
    cprof_profile_free(loaded);
    cprof_profile_free(p);
    CHECK_DONE();
}
