/* CPU sampling under fire: four threads enter and leave scopes (CPROF_SCOPE, CPROF_BEGIN/END, nested)
   as fast as they can while sampling runs at its highest rate and a shooter thread sends the sampling
   signal to them (pthread_kill) after random pauses, so that signals land at random points of cprof's
   own entry and exit; the main thread captures meanwhile. Exact counts must hold, every capture must be
   well formed (sampled frames without calls, a parent's samples at least its children's), and every
   sample of a worker must hang under its root or one of its scopes. Run in every configuration of the
   matrix, so under ASan+UBSan, TSan and valgrind too. Nothing here depends on timing: how many signals
   land where is random, the assertions are not. */
#include "../cprof.h"
#include "check.h"
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

enum { WORKERS = 4, HZ = 100000 };

/* Rounds per worker: 200,000; a fifth under TSan, a fiftieth under valgrind (it runs one thread at a time). */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifdef UNDER_TSAN
enum { ROUNDS = 40000 };
#else
enum { ROUNDS = 200000 };
#endif
static int rounds;
static pthread_t workers[WORKERS];
static int go;         /* the shooter is ready: the workers start (atomic) */
static int finished;   /* workers done with their rounds (atomic) */
static int shooter_done; /* the shooter sends no more (atomic) */
static uint64_t signals_sent;

static void *work(void *index) {
    char name[32];
    snprintf(name, sizeof name, "stress %d", (int)(intptr_t)index);
    cprof_thread_name(name);
    volatile unsigned sink = 0;
    (void)sink;
    while (!__atomic_load_n(&go, __ATOMIC_SEQ_CST)) {}
    for (int i = 0; i < rounds; i++) {
        CPROF_SCOPE("stress outer");
        {
            CPROF_SCOPE("stress inner");
            sink += (unsigned)i;
        }
        CPROF_BEGIN("stress begin");
        sink ^= (unsigned)i;
        CPROF_END();
    }
    __atomic_fetch_add(&finished, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&shooter_done, __ATOMIC_SEQ_CST)) {} /* no signal may target an exited thread */
    return NULL;
}

/* xorshift: the pauses and the targets; seeded, but where a signal lands depends on the scheduler. */
static uint32_t next_random(uint32_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

static void *shoot(void *unused) {
    (void)unused;
    uint32_t state = 2463534242u;
    volatile uint32_t sink = 0;
    (void)sink;
    __atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < WORKERS) {
        uint32_t pause = next_random(&state) % 20000u;
        for (uint32_t i = 0; i < pause; i++) sink += i;
        if (pthread_kill(workers[next_random(&state) % WORKERS], SIGPROF) == 0) signals_sent++;
    }
    __atomic_store_n(&shooter_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static int scope_named(const cprof_profile *p, uint32_t node) {
    const char *name = p->sites[p->nodes[node].site].name;
    return strcmp(name, "stress outer") == 0 || strcmp(name, "stress inner") == 0 || strcmp(name, "stress begin") == 0;
}

/* A capture taken at any moment: sampled frames have no calls and at least their children's samples;
   a worker's sampled frames start under its root or one of its three scopes. */
static void check_capture(const cprof_profile *p) {
    uint64_t top = 0;
    for (uint32_t i = 0; i < p->node_count; i++) {
        const cprof_node *n = &p->nodes[i];
        uint64_t children = 0;
        for (uint32_t c = n->first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling)
            if (p->nodes[c].sampled) children += p->nodes[c].samples;
        if (!n->sampled) {
            top += n->samples + children;
            continue;
        }
        CHECK_EQ_U64(n->calls, 0);
        CHECK(n->samples >= children);
        uint32_t parent = n->parent;
        if (parent != CPROF_NONE && !p->nodes[parent].sampled && p->nodes[parent].site != CPROF_NONE &&
            strncmp(p->threads[n->thread].name, "stress ", 7) == 0)
            CHECK(scope_named(p, parent));
    }
    CHECK_EQ_U64(top, p->samples);
}

static uint64_t calls_of(const cprof_profile *p, const char *name) {
    uint64_t calls = 0;
    for (uint32_t i = 0; i < p->node_count; i++)
        if (!p->nodes[i].sampled && p->nodes[i].site != CPROF_NONE && strcmp(p->sites[p->nodes[i].site].name, name) == 0)
            calls += p->nodes[i].calls;
    return calls;
}

int main(void) {
    int under_valgrind = getenv("CHECK_UNDER_VALGRIND") != NULL;
    rounds = under_valgrind ? ROUNDS / 50 : ROUNDS;
    /* Under valgrind a signal's delivery and handler take more than a 100 kHz period (10 us) of the
       thread's CPU time, so with a perf event re-armed after each handler a thread did nothing else (no
       progress in 10 minutes); at 10 kHz the test takes about a second there. */
    CHECK(cprof_sample_start(under_valgrind ? HZ / 10 : HZ) == 0);
    pthread_t shooter;
    for (int i = 0; i < WORKERS; i++) CHECK(pthread_create(&workers[i], NULL, work, (void *)(intptr_t)i) == 0);
    CHECK(pthread_create(&shooter, NULL, shoot, NULL) == 0);
    int captures = 0;
    while (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < WORKERS && captures < 20) {
        cprof_profile *p = cprof_capture(); /* the threads' trees change meanwhile */
        CHECK(p != NULL);
        if (p) check_capture(p);
        cprof_profile_free(p);
        captures++;
    }
    /* ThreadSanitizer (clang 14) runs a signal's handler at once inside pthread_join, where glibc frees
       the thread's TLS through TSan's free holding TSan's own lock, and the handler waits for that lock
       for good: the main thread keeps the signal blocked while it joins (a program's choice; the signal
       comes when it is unblocked). */
    sigset_t profiling, before;
    sigemptyset(&profiling);
    sigaddset(&profiling, SIGPROF);
    if (CHECK_THREAD_SANITIZER) pthread_sigmask(SIG_BLOCK, &profiling, &before);
    CHECK(pthread_join(shooter, NULL) == 0);
    for (int i = 0; i < WORKERS; i++) CHECK(pthread_join(workers[i], NULL) == 0);
    if (CHECK_THREAD_SANITIZER) pthread_sigmask(SIG_SETMASK, &before, NULL);
    cprof_sample_stop();

    cprof_profile *p = cprof_capture();
    check_capture(p);
    CHECK_EQ_U64(calls_of(p, "stress outer"), (uint64_t)WORKERS * (uint64_t)rounds);
    CHECK_EQ_U64(calls_of(p, "stress inner"), (uint64_t)WORKERS * (uint64_t)rounds);
    CHECK_EQ_U64(calls_of(p, "stress begin"), (uint64_t)WORKERS * (uint64_t)rounds);
    CHECK_EQ_U64(p->signal_scopes_dropped, 0);
    CHECK(signals_sent > 0);
    CHECK(p->samples + p->samples_dropped > 0);
    for (uint32_t i = 0; i < p->node_count; i++) /* no scope left open, none recorded twice */
        if (!p->nodes[i].sampled) CHECK_EQ_U64(p->nodes[i].open, 0);
    printf("%d captures meanwhile, %llu signals sent, %llu samples in the tree, %llu dropped\n", captures,
           (unsigned long long)signals_sent, (unsigned long long)p->samples, (unsigned long long)p->samples_dropped);
    cprof_profile_free(p);
    CHECK_DONE();
}
