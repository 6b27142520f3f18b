/* CPU sampling (cprof_sample_start): samples land under the scope that was open, named from the ELF
   symbol tables, as frames marked sampled whose time is samples x the period; every sample counted is
   either in the tree or counted as dropped; the JSON, the report, the flame graph and the folded
   stacks show them; a program's own SIGPROF handler wins (installed before sampling starts: it does not
   start; after: the next capture stops it); each thread has one source of signals, a perf event on its
   task clock or else a CPU-time timer (both fallbacks tested: no file descriptor left, no timer either),
   closed or deleted at its exit while its samples stay, also when it is merged into "exited threads"; a fork() child samples its thread; cprof_sample_stop stops; cprof_reset forgets the samples. Structure and exact counts only: the shares measured
   against the truth are bench/sample_shares.sh's (timing is not asserted here). */
#include "../cprof.h"
#include "check.h"
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <time.h>
#include <unistd.h>

enum { HZ = 5000, FEED_STACKS = 2000, FEED_KEPT = 1536 /* 3/4 of the table's 2048 slots */ };


static double thread_cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* pthread_join with the sampling signal blocked under ThreadSanitizer (clang 14), which runs a handler at
   once inside pthread_join's freeing of the thread's TLS, holding its own lock, and deadlocks there. */
static int join(pthread_t thread, void **result) {
    sigset_t profiling, before;
    sigemptyset(&profiling);
    sigaddset(&profiling, SIGPROF);
    if (CHECK_THREAD_SANITIZER) pthread_sigmask(SIG_BLOCK, &profiling, &before);
    int status = pthread_join(thread, result);
    if (CHECK_THREAD_SANITIZER) pthread_sigmask(SIG_SETMASK, &before, NULL);
    return status;
}

/* Not inlined and not a tail call, so that each keeps a frame of its own on the stack (the Makefile
   compiles this test with -fno-omit-frame-pointer). */
__attribute__((noinline)) void busy_a(double seconds) {
    unsigned long sink = 0; /* in a register: nothing a sanitizer instruments */
    double end = thread_cpu_seconds() + seconds;
    do {
        for (int i = 0; i < 200000; i++) {
            sink += (unsigned long)i * 7u;
            __asm__ __volatile__("" : "+r"(sink));
        }
    } while (thread_cpu_seconds() < end);
    __asm__ __volatile__("" ::: "memory");
}

__attribute__((noinline)) void busy_b(double seconds) {
    unsigned long sink = 0;
    busy_a(0); /* one round at least, then its own loop */
    double end = thread_cpu_seconds() + seconds;
    do {
        for (int i = 0; i < 200000; i++) {
            sink += (unsigned long)i * 3u;
            __asm__ __volatile__("" : "+r"(sink));
        }
    } while (thread_cpu_seconds() < end);
    __asm__ __volatile__("" ::: "memory");
}

__attribute__((noinline)) static void run_outer(double seconds) {
    CPROF_SCOPE("outer");
    busy_a(0.5 * seconds);
    busy_b(0.5 * seconds);
    __asm__ __volatile__("" ::: "memory");
}

/* Scopes entered and left as fast as possible while the signals come: they land inside cprof's own
   entry and exit. Counts must stay exact and every sample must hang under one of these scopes. */
__attribute__((noinline)) static void stress(double seconds, uint64_t *rounds) {
    volatile unsigned long sink = 0;
    (void)sink;
    double end = thread_cpu_seconds() + seconds;
    CPROF_SCOPE("stress");
    do {
        for (int i = 0; i < 1000; i++) {
            CPROF_SCOPE("stress inner");
            CPROF_BEGIN("stress begin");
            sink += (unsigned long)i;
            CPROF_END();
        }
        (*rounds)++;
    } while (thread_cpu_seconds() < end);
}

/* The process's POSIX timers, from the kernel's list (/proc/self/timers): every one (tid 0), or those
   that signal the thread tid ("notify: signal/tid.N"). */
static int timers_of(long tid) {
    FILE *f = fopen("/proc/self/timers", "r");
    char line[256], wanted[64];
    int count = 0;
    if (!f) return -1;
    snprintf(wanted, sizeof wanted, "notify: signal/tid.%ld\n", tid);
    while (fgets(line, sizeof line, f))
        count += tid ? strcmp(line, wanted) == 0 : strncmp(line, "ID: ", 4) == 0;
    fclose(f);
    return count;
}

/* The process's perf events that signal the thread tid (fcntl F_GETOWN_EX, Linux's 16), or every one
   (tid 0): the file descriptors whose link reads anon_inode:[perf_event]. Their count, and the first
   one's descriptor in *first (-1 when none). */
static int perf_events_scan(long tid, int *first) {
    DIR *d = opendir("/proc/self/fd");
    int count = 0;
    *first = -1;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[300], link[64];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n <= 0) continue;
        link[n] = '\0';
        if (strcmp(link, "anon_inode:[perf_event]") != 0) continue;
        struct { int type; int pid; } owner = {0, 0};
        /* a sampling event signals its thread (F_GETOWN_EX); a thread's ring of context switches
           (>>preemption) signals no one and is not counted */
        if (fcntl(atoi(e->d_name), 16, &owner) != 0 || owner.pid == 0 || (tid != 0 && owner.pid != tid)) continue;
        if (count++ == 0) *first = atoi(e->d_name);
    }
    closedir(d);
    return count;
}

static int events_of(long tid) { /* how many */
    int first;
    return perf_events_scan(tid, &first);
}

static int event_fd_of(long tid) { /* which: the descriptor, or -1 */
    int first;
    perf_events_scan(tid, &first);
    return first;
}


/* Whether this process may open a perf event on its own task clock (else cprof samples by timers). */
static int perf_events_work(void) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.disabled = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0UL);
    if (fd < 0) return 0;
    close((int)fd);
    return 1;
}

/* What samples the thread: a perf event when the process may open one, else a CPU-time timer. */
static int sources_of(long tid) { return tid ? timers_of(tid) + events_of(tid) : timers_of(0) + events_of(0); }

static long worker_tid;
static int worker_timers, worker_events; /* the worker's timers and perf events while it runs */

static void *worker(void *unused) {
    (void)unused;
    cprof_thread_name("worker");
    worker_tid = (long)syscall(SYS_gettid);
    worker_timers = timers_of(worker_tid);
    worker_events = events_of(worker_tid);
    run_outer(0.15);
    return NULL;
}

/* Fake stacks built from two real addresses: stack i has 11 frames, frame k busy_a or busy_b by bit k. */
static void *feeder(void *unused) {
    (void)unused;
    cprof_thread_name("feeder");
    uintptr_t a = (uintptr_t)&busy_a + 2, b = (uintptr_t)&busy_b + 2, pcs[11];
    for (int i = 0; i < FEED_STACKS; i++) {
        for (int k = 0; k < 11; k++) pcs[k] = (i >> k) & 1 ? b : a;
        if (cprof__test_sample_count(pcs, 11, 1) != 0) return (void *)1;
    }
    return NULL;
}

static int sampled_child(const cprof_profile *p, uint32_t node, const char *name, uint64_t *samples) {
    for (uint32_t c = p->nodes[node].first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling)
        if (p->nodes[c].sampled && strncmp(p->sites[p->nodes[c].site].name, name, strlen(name)) == 0) {
            *samples = p->nodes[c].samples;
            return 1;
        }
    return 0;
}

static uint32_t scope_node(const cprof_profile *p, uint32_t thread, const char *name) {
    for (uint32_t i = 0; i < p->node_count; i++)
        if (p->nodes[i].thread == thread && p->nodes[i].site != CPROF_NONE && !p->nodes[i].sampled &&
            strcmp(p->sites[p->nodes[i].site].name, name) == 0)
            return i;
    return CPROF_NONE;
}

static uint32_t thread_named(const cprof_profile *p, const char *name) {
    for (uint32_t t = 0; t < p->thread_count; t++)
        if (strcmp(p->threads[t].name, name) == 0) return t;
    return CPROF_NONE;
}

/* Every sampled node: no calls, time = samples x period, at least its children's samples; the samples
   of the sampled frames right under scopes or roots and the scopes' own samples add up to the
   profile's count exactly. */
static void check_sampled_nodes(const cprof_profile *p) {
    uint64_t top = 0;
    for (uint32_t i = 0; i < p->node_count; i++) {
        const cprof_node *n = &p->nodes[i];
        if (!n->sampled) top += n->samples;
        if (!n->sampled) continue;
        uint64_t children = 0;
        for (uint32_t c = n->first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling) {
            CHECK(p->nodes[c].sampled);
            children += p->nodes[c].samples;
        }
        CHECK_EQ_U64(n->calls, 0);
        CHECK(n->samples > 0 && n->samples >= children);
        CHECK_EQ_U64(n->total_ns, n->samples * (1000000000u / HZ));
        if (!p->nodes[n->parent].sampled) top += n->samples;
    }
    CHECK_EQ_U64(top, p->samples);
}

static volatile sig_atomic_t own_signals;
static void on_own_signal(int signal_number) {
    (void)signal_number;
    own_signals++;
}

static void check_own_handler_wins(void) {
    struct sigaction own, old;
    memset(&own, 0, sizeof own);
    own.sa_handler = on_own_signal;
    sigaction(SIGPROF, &own, &old);
    CHECK(cprof_sample_start(HZ) == -1);
    cprof_profile *p = cprof_capture();
    int said = 0;
    for (size_t i = 0; i < p->message_count; i++) said |= strstr(p->messages[i].text, "handles signal") != NULL;
    CHECK(said);
    CHECK_EQ_U64(p->sample_hz, 0);
    cprof_profile_free(p);
    sigaction(SIGPROF, &old, NULL);
}

/* A thread that waits in a scope (its sampling set up) until told to end. */
static int scoped_state; /* 1: the thread's scope entered (its sampling set up); 2: it may end */
static long scoped_tid;

static void *scoped_thread(void *unused) {
    (void)unused;
    CPROF_SCOPE("fallback thread");
    scoped_tid = (long)syscall(SYS_gettid);
    __atomic_store_n(&scoped_state, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&scoped_state, __ATOMIC_ACQUIRE) != 2) sched_yield();
    return NULL;
}

/* A fork() child: its timer or event is new (timers are not inherited; the parent's events are closed)
   and its thread is sampled. */
static void check_fork_child_samples(void) {
#ifdef CHECK_FORK_UNSAFE_ALLOCATOR
    return;
#endif
    if (getenv("CHECK_UNDER_VALGRIND")) return; /* valgrind does not deliver the child's timer signals */
    /* another sampled thread, in a scope while the process forks: the child inherits its perf event's
       descriptor and must close it (the child's one thread has its own) */
    pthread_t other;
    scoped_state = 0;
    CHECK(pthread_create(&other, NULL, scoped_thread, NULL) == 0);
    while (__atomic_load_n(&scoped_state, __ATOMIC_ACQUIRE) != 1) sched_yield();
    int parent_events = events_of(0);
    pid_t child = fork();
    if (child == 0) {
        if (events_of(0) != (perf_events_work() ? 1 : 0)) _exit(2);
        /* 30 ms of CPU at a time until a sample lands, at most 2 s: on a loaded machine the kernel may
           send a thread's first signal late (see the README's note on late signals). */
        for (int round = 0; round < 66; round++) {
            { CPROF_SCOPE("child"); busy_a(0.03); }
            cprof_profile *p = cprof_capture();
            uint32_t node = scope_node(p, 0, "child");
            uint64_t samples = 0;
            int sampled = node != CPROF_NONE && sampled_child(p, node, "busy_a", &samples) && samples > 0;
            cprof_profile_free(p);
            if (sampled) _exit(0);
        }
        _exit(1);
    }
    int status = -1;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ_U64(parent_events, perf_events_work() ? 2 : 0);
    __atomic_store_n(&scoped_state, 2, __ATOMIC_RELEASE);
    CHECK(join(other, NULL) == 0);
}

/* A program that closes a descriptor cprof holds (closefrom, a daemon's start) and reuses the number for
   a file of its own: when the thread ends, cprof sees the number is no longer its event and leaves the
   program's file open. */
static void check_reused_descriptor(void) {
    if (!perf_events_work()) return; /* sampled by timers: no descriptor */
    pthread_t other;
    __atomic_store_n(&scoped_state, 0, __ATOMIC_RELEASE);
    CHECK(pthread_create(&other, NULL, scoped_thread, NULL) == 0);
    while (__atomic_load_n(&scoped_state, __ATOMIC_ACQUIRE) != 1) sched_yield();
    int fd = event_fd_of(scoped_tid), pipe_ends[2];
    CHECK(fd >= 0 && pipe(pipe_ends) == 0);
    if (fd >= 0) {
        close(fd);
        CHECK(dup2(pipe_ends[0], fd) == fd); /* the program's file now has the event's number */
    }
    __atomic_store_n(&scoped_state, 2, __ATOMIC_RELEASE);
    CHECK(join(other, NULL) == 0); /* its exit stops its sampling */
    CHECK(fd >= 0 && fcntl(fd, F_GETFD) != -1);
    CHECK(write(pipe_ends[1], "x", 1) == 1);
    char byte = 0;
    CHECK(fd >= 0 && read(fd, &byte, 1) == 1 && byte == 'x');
    if (fd >= 0) close(fd);
    close(pipe_ends[0]);
    close(pipe_ends[1]);
}

/* cprof_reset(): every thread's samples and the dropped ones are forgotten (sampling is stopped here);
   samples counted after it are reported alone, exactly. */
static void check_reset_forgets_samples(void) {
    cprof_reset();
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->samples, 0);
    CHECK_EQ_U64(p->samples_dropped, 0);
    uint32_t sampled = 0;
    for (uint32_t i = 0; i < p->node_count; i++) sampled += p->nodes[i].sampled || p->nodes[i].samples;
    CHECK_EQ_U64(sampled, 0);
    cprof_profile_free(p);
    uintptr_t pcs[2] = {(uintptr_t)&busy_a + 2, (uintptr_t)&busy_b + 2};
    {
        CPROF_SCOPE("after reset");
        CHECK(cprof__test_sample_count(pcs, 2, 3) == 0);
        CHECK(cprof__test_sample_count(pcs, 2, 4) == 0);
    }
    p = cprof_capture();
    CHECK_EQ_U64(p->samples, 7);
    uint32_t scope = scope_node(p, 0, "after reset");
    uint64_t samples = 0;
    CHECK(scope != CPROF_NONE && sampled_child(p, scope, "busy_a", &samples) && samples == 7); /* the leaf: the stack lacks the scope's function */
    cprof_profile_free(p);
}

/* Samples taken in cprof's own code (here in cprof_capture) are left out of the tree and counted apart;
   each function's own samples (a scope's own, a sampled frame's self) are listed by the report. */
__attribute__((noinline)) static void check_own_samples(void) {
    cprof_reset();
    uintptr_t in_busy_a[1] = {(uintptr_t)&busy_a + 2};
    uintptr_t in_cprof[2] = {(uintptr_t)&cprof_capture + 2, (uintptr_t)&busy_a + 2};
    uintptr_t in_scope[1] = {(uintptr_t)&check_own_samples + 2};
    {
        CPROF_SCOPE("own samples");
        CHECK(cprof__test_sample_count(in_busy_a, 1, 3) == 0);
        CHECK(cprof__test_sample_count(in_cprof, 2, 4) == 0);
        CHECK(cprof__test_sample_count(in_scope, 1, 2) == 0);
    }
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->samples, 5);
    CHECK_EQ_U64(p->samples_profiler, 4);
    uint32_t scope = scope_node(p, 0, "own samples");
    uint64_t samples = 0;
#if !defined(__cplusplus)
    CHECK(scope != CPROF_NONE && p->nodes[scope].samples == 2);
    CHECK(scope != CPROF_NONE && sampled_child(p, scope, "busy_a", &samples) && samples == 3);
#else
    (void)samples, (void)scope;
#endif
    const char *text = report_text(p, NULL);
#if !defined(__cplusplus) /* C++'s sampled frames are demangled: busy_a(double), and the scope's function is
                             then not recognised on the stack (its samples become a sampled frame) */
    CHECK_CONTAINS(text, "CPU samples in each function's own code (5 samples; 4 in cprof's own code left out)\n"
                         "       samples    %self  function\n"
                         "             3    60.0%  busy_a\n"
                         "             2    40.0%  own samples\n");
#else
    CHECK_CONTAINS(text, "CPU samples in each function's own code (5 samples; 4 in cprof's own code left out)\n");
#endif
    char *json = json_of(p);
    CHECK_CONTAINS(json, "\"profiler\": 4}");
    cprof_profile *loaded = NULL;
    CHECK_EQ_U64(cprof_load_string(json, strlen(json), "own.json", &loaded), 0);
    if (loaded) CHECK_EQ_U64(loaded->samples_profiler, 4);
    cprof_profile_free(loaded);
    free(json);
    cprof_profile_free(p);
}

/* 70 threads, one after the other, each with 1 sample under its scope: the first 64 exited threads
   are kept apart, later ones merged into "exited threads", their samples with them. None is lost. */
enum { SHORT_THREADS = 70 };

/* A return address of 1 is looked up at address 0, which the process's site maps once took for a free
   slot: when they grew, the site named "0x0" was lost (LeakSanitizer and valgrind's leak check say so).
   Named by its address, under the thread's root with the whole stack. */
static void check_address_zero(void) {
    cprof_reset();
    uintptr_t pcs[2] = {(uintptr_t)&busy_a + 2, 1};
    CHECK(cprof__test_sample_count(pcs, 2, 1) == 0);
    cprof_profile_free(cprof_capture());
    for (uintptr_t round = 0; round < 8; round++) { /* 12,000 new addresses: the maps grow meanwhile */
        cprof_reset();
        for (uintptr_t i = 0; i < 1500; i++) {
            uintptr_t other[2] = {(uintptr_t)&busy_a + 2, 0x10001 + 64 * (round * 1500 + i)};
            CHECK(cprof__test_sample_count(other, 2, 1) == 0);
        }
        cprof_profile_free(cprof_capture());
    }
    cprof_reset();
    CHECK(cprof__test_sample_count(pcs, 2, 2) == 0);
    cprof_profile *p = cprof_capture();
    uint64_t samples = 0;
    CHECK(sampled_child(p, p->threads[0].root, "0x0", &samples) && samples == 2);
    cprof_profile_free(p);
}

static void *short_thread(void *unused) {
    (void)unused;
    uintptr_t pcs[1] = {(uintptr_t)&busy_a + 2};
    CPROF_SCOPE("short thread");
    return cprof__test_sample_count(pcs, 1, 1) == 0 ? NULL : (void *)1;
}

static void check_exited_threads_keep_samples(void) {
    cprof_reset();
    for (int i = 0; i < SHORT_THREADS; i++) {
        pthread_t thread;
        void *failed = (void *)1;
        CHECK(pthread_create(&thread, NULL, short_thread, NULL) == 0 && join(thread, &failed) == 0);
        CHECK(failed == NULL);
    }
    cprof_profile *p = cprof_capture();
    uint64_t under_scopes = 0, merged = 0;
    for (uint32_t i = 0; i < p->node_count; i++) {
        const cprof_node *n = &p->nodes[i];
        if (!n->sampled || p->nodes[n->parent].site == CPROF_NONE ||
            strcmp(p->sites[p->nodes[n->parent].site].name, "short thread") != 0)
            continue;
        under_scopes += n->samples;
        if (strncmp(p->threads[n->thread].name, "exited threads", 14) == 0) merged += n->samples;
    }
    CHECK_EQ_U64(under_scopes, SHORT_THREADS);
    CHECK(merged >= SHORT_THREADS - 64); /* 64 exited threads are kept apart, counting earlier ones */
    CHECK_EQ_U64(p->samples, SHORT_THREADS);
    CHECK_EQ_U64(p->samples_dropped, 0);
    cprof_profile_free(p);
}

/* A thread whose timer cannot be made (no pending signal allowed: timer_create fails with EAGAIN) is
   not sampled, and the capture says so. Starts a thread with no file descriptor free (RLIMIT_NOFILE's
   soft limit at the lowest free one) and, when `no_timer`, RLIMIT_SIGPENDING at 0 too; counts its
   timers and perf events once the limits are back. */
static void thread_under_limits(int no_timer, int *timers, int *events) {
    struct rlimit files, signals, lowered;
    int lowest_free = dup(0);
    CHECK(lowest_free > 0);
    close(lowest_free);
    CHECK(getrlimit(RLIMIT_NOFILE, &files) == 0);
    CHECK(getrlimit(RLIMIT_SIGPENDING, &signals) == 0);
    lowered = files;
    lowered.rlim_cur = (rlim_t)lowest_free;
    CHECK(setrlimit(RLIMIT_NOFILE, &lowered) == 0);
    lowered = signals;
    lowered.rlim_cur = 0;
    if (no_timer) CHECK(setrlimit(RLIMIT_SIGPENDING, &lowered) == 0);
    pthread_t thread;
    __atomic_store_n(&scoped_state, 0, __ATOMIC_RELEASE);
    CHECK(pthread_create(&thread, NULL, scoped_thread, NULL) == 0);
    while (__atomic_load_n(&scoped_state, __ATOMIC_ACQUIRE) != 1) sched_yield();
    CHECK(setrlimit(RLIMIT_NOFILE, &files) == 0);
    CHECK(setrlimit(RLIMIT_SIGPENDING, &signals) == 0);
    *timers = timers_of(scoped_tid), *events = events_of(scoped_tid);
    __atomic_store_n(&scoped_state, 2, __ATOMIC_RELEASE);
    CHECK(join(thread, NULL) == 0);
}

static int message_said(const char *text) {
    cprof_profile *p = cprof_capture();
    int said = 0;
    for (size_t i = 0; p && i < p->message_count; i++) said |= strstr(p->messages[i].text, text) != NULL;
    cprof_profile_free(p);
    return said;
}

/* No file descriptor left: the thread is sampled by a CPU-time timer instead of a perf event, and the
   capture says so; no timer either (RLIMIT_SIGPENDING 0 as well): it is not sampled, and that is said. */
static void check_fallbacks_said(void) {
    int timers = -1, events = -1;
    CHECK(cprof_sample_start(HZ) == 0);
    thread_under_limits(0, &timers, &events);
    CHECK_EQ_U64(timers, 1);
    CHECK_EQ_U64(events, 0);
    if (perf_events_work()) CHECK(message_said("1 thread sampled by a CPU-time timer"));
    thread_under_limits(1, &timers, &events);
    CHECK_EQ_U64(timers + events, 0);
    cprof_sample_stop();
    CHECK(message_said("1 thread not sampled"));
}

/* The program installs its own handler after sampling started: at the next capture cprof finds its
   handler gone, deletes every timer (none left in the process) and says so; the program's handler gets
   no signal of cprof's after that. */
static void check_replaced_handler_stops_sampling(void) {
    CHECK(cprof_sample_start(HZ) == 0);
    CHECK_EQ_U64(sources_of(0), 1); /* the main thread's: the others have exited */
    struct sigaction own, old;
    memset(&own, 0, sizeof own);
    own.sa_handler = on_own_signal;
    sigaction(SIGPROF, &own, &old);
    busy_a(0.01);
    cprof_profile *p = cprof_capture();
    int said = 0;
    for (size_t i = 0; i < p->message_count; i++)
        said |= strstr(p->messages[i].text, "sampling stopped: the program installed its own handler") != NULL;
    CHECK(said);
    cprof_profile_free(p);
    CHECK_EQ_U64(sources_of(0), 0);
    sig_atomic_t before = own_signals;
    busy_a(0.02);
    CHECK_EQ_U64(own_signals, before);
    CHECK(cprof_sample_start(HZ) == -1); /* the program's handler stays */
    signal(SIGPROF, SIG_IGN);
}

int main(void) {
    check_own_handler_wins();
    pthread_t thread;
    void *fed = (void *)1;
    CHECK(pthread_create(&thread, NULL, feeder, NULL) == 0 && join(thread, &fed) == 0);
    CHECK(fed == NULL);
    CHECK(cprof_sample_start(HZ) == 0);
    CHECK(pthread_create(&thread, NULL, worker, NULL) == 0);
    run_outer(0.15);
    CHECK(join(thread, NULL) == 0);
    /* one source: the perf event where this process may open one (then no timer), else the timer */
    CHECK_EQ_U64(worker_events, perf_events_work() ? 1 : 0);
    CHECK_EQ_U64(worker_timers + worker_events, 1);
    CHECK_EQ_U64(sources_of(worker_tid), 0); /* closed at the thread's exit; its samples stay (below) */
    uint64_t rounds = 0;
    stress(0.05, &rounds);
    check_fork_child_samples();
    check_reused_descriptor();
    cprof_sample_stop();
    { CPROF_SCOPE("after stop"); busy_a(0.02); }

    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->sample_hz, HZ);
    CHECK_EQ_U64(p->samples_dropped, FEED_STACKS - FEED_KEPT);
    check_sampled_nodes(p);
    /* "outer" has its functions under it, named, with samples, on each thread. (A thread gets some 750
       signals from a perf event, some 40 from the timer fallback: the kernel checks CPU timers at its
       tick. A signal that lands in a system call
       made from a function is shown under the vDSO's frame instead, so one function may miss out on a
       thread; both threads together show both.) */
    const char *threads[2] = {"main", "worker"};
    uint64_t a_total = 0, b_total = 0;
    for (int t = 0; t < 2; t++) {
        uint32_t node = scope_node(p, thread_named(p, threads[t]), "outer");
        uint64_t a = 0, b = 0;
        CHECK(node != CPROF_NONE);
        if (node == CPROF_NONE) continue;
        sampled_child(p, node, "busy_a", &a);
        sampled_child(p, node, "busy_b", &b);
        /* TSan holds a signal back until the thread reaches one of its interception points, which in
           this loop are in cprof's scope exits: such samples are cprof's own and left out, and one
           thread may keep none */
        CHECK(CHECK_THREAD_SANITIZER || a + b > 0);
        a_total += a, b_total += b;
    }
    CHECK(a_total > 0 && b_total > 0);
    uint32_t feeder_thread = thread_named(p, "feeder"), feed_total = 0;
    CHECK(feeder_thread != CPROF_NONE);
    for (uint32_t c = feeder_thread == CPROF_NONE ? CPROF_NONE : p->nodes[p->threads[feeder_thread].root].first_child;
         c != CPROF_NONE; c = p->nodes[c].next_sibling)
        feed_total += (uint32_t)p->nodes[c].samples; /* the whole stacks under the root: no scope was open */
    CHECK_EQ_U64(feed_total, FEED_KEPT);
    uint32_t stress_node = scope_node(p, 0, "stress"), inner = scope_node(p, 0, "stress inner");
    CHECK(inner != CPROF_NONE && p->nodes[inner].calls == rounds * 1000);
    CHECK(stress_node != CPROF_NONE && p->nodes[stress_node].calls == 1);
    uint32_t after = scope_node(p, 0, "after stop");
    CHECK(after != CPROF_NONE && p->nodes[after].first_child == CPROF_NONE);

    /* The flame graph: sampled frames say so in their tooltip; the folded stacks run through them. */
    FILE *svg = tmpfile(), *folded = tmpfile();
    static char text[1 << 20]; /* the feeder's 1,536 stacks come first */
    CHECK(svg && folded);
    if (svg && folded) {
        CHECK(cprof_flamegraph_write(p, svg, NULL) == 0 && cprof_folded_write(p, folded, NULL) == 0);
        rewind(svg);
        text[fread(text, 1, sizeof text - 1, svg)] = '\0';
        CHECK_CONTAINS(text, " sample");
        CHECK_CONTAINS(text, "sampled: ");
        rewind(folded);
        text[fread(text, 1, sizeof text - 1, folded)] = '\0';
        CHECK_CONTAINS(text, "outer;busy_");
    }
    if (svg) fclose(svg);
    if (folded) fclose(folded);

    char path[] = "/tmp/cprof_test_sample_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    cprof_profile *loaded = NULL;
    CHECK(cprof_save(p, path) == 0 && cprof_load(path, &loaded) == 0);
    if (loaded) {
        CHECK_EQ_U64(loaded->format_minor, 4);
        CHECK_EQ_U64(loaded->sample_hz, p->sample_hz);
        CHECK_EQ_U64(loaded->samples, p->samples);
        CHECK_EQ_U64(loaded->samples_dropped, p->samples_dropped);
        CHECK_EQ_U64(loaded->node_count, p->node_count);
        for (uint32_t i = 0; i < p->node_count && i < loaded->node_count; i++) {
            CHECK_EQ_U64(loaded->nodes[i].sampled, p->nodes[i].sampled);
            CHECK_EQ_U64(loaded->nodes[i].samples, p->nodes[i].samples);
        }
        char live[4096], again[4096];
        cprof_report_options o = cprof_report_defaults();
        o.max_functions = 8;
        cprof_report_format(p, live, sizeof live, &o);
        cprof_report_format(loaded, again, sizeof again, &o);
        CHECK_CONTAINS(again, "CPU sampling at 5000 Hz");
        CHECK_CONTAINS(again, " smp ");
        CHECK_EQ_STR(strstr(live, "CPU sampling"), strstr(again, "CPU sampling"));
    }
    unlink(path);
    cprof_profile_free(loaded);
    cprof_profile_free(p);
    check_reset_forgets_samples();
    check_own_samples();
    check_address_zero();
    check_exited_threads_keep_samples();
    check_fallbacks_said();
    check_replaced_handler_stops_sampling();
    CHECK_DONE();
}
