/* The cheap automatic mode and one function, one scope (CPROF_AUTO), compiled with -finstrument-functions
   by the Makefile's check-auto-c-* targets and run three ways:
       CPROF_AUTO_MIN_NS=1000000000 auto_counted counted   every function is counted after its first
                                                           1,000 timed calls (all average under 1 s)
       CPROF_AUTO_MIN_NS=0 auto_counted timed              every call timed
       CPROF=0 auto_counted off                            the hooks do nothing
       CPROF_AUTO_MIN_NS=5000 auto_counted capped          a function with one 10 ms call among its
                                                           first 1,000 is still counted; then its calls
                                                           turn 10 ms long: its timed calls count at the cap
   The thresholds are extreme on purpose: which functions are counted then does not depend on how fast
   this machine is. Checked: call counts exact in every mode (with two threads as well), how many calls
   were counted and how many of those were timed (one in a random gap), a counted node's time at least
   its children's, the report's marks, the JSON round trip,
   the compensation's account of each kind, and that an unnamed CPROF_SCOPE() in an instrumented
   function is that function's node (a named one stays a child). */
#define _DEFAULT_SOURCE /* check.h's helpers use POSIX clocks */
#define CPROF_IMPLEMENTATION
#define CPROF_AUTO
#define CPROF_TESTING /* check.h's json_of */
#include "../cprof.h"
#include "check.h"
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
static __thread volatile int sink;

NOINLINE static void leaf(void) { sink = sink + 1; }
NOINLINE static void middle(void) {
    leaf();
    leaf();
}
NOINLINE static void scoped(void) { /* its unnamed scope is its automatic one: one node, 1,500 calls */
    CPROF_SCOPE();
    sink = sink + 1;
}
NOINLINE static void named(void) { /* a named scope stays a child */
    CPROF_SCOPE("inner part");
    sink = sink + 1;
}
static jmp_buf jump;
NOINLINE static void jumper(void) { /* counted after 1,000 calls; its exit hook never runs */
    leaf();
    longjmp(jump, 1);
}
NOINLINE static void jump_caller(void) {
    if (!setjmp(jump)) jumper();
}

static int stretch; /* "capped": the next call of stretched() or learner() busy-waits 10 ms */
NOINLINE static void stretched(void) {
    if (stretch) busy_wait_ns(10 * 1000 * 1000);
    else sink = sink + 1;
}
NOINLINE static void learner(void) {
    if (stretch) busy_wait_ns(10 * 1000 * 1000);
    else sink = sink + 1;
}

NOINLINE static void recurse(int levels) { /* recursive: timed always, however short its deepest calls */
    sink = sink + 1;
    if (levels > 0) recurse(levels - 1);
}

NOINLINE static void run(void) {
    for (int i = 0; i < 300; i++) recurse(5);
    for (int i = 0; i < 3000; i++) middle();
    for (int i = 0; i < 1500; i++) scoped(), named();
    for (int i = 0; i < 1200; i++) jump_caller();
}

static void *thread_body(void *unused) {
    for (int i = 0; i < 3000; i++) middle();
    return unused;
}

static const cprof_function *function_named(const cprof_profile *p, const char *name) {
    for (size_t f = 0; f < p->function_count; f++)
        if (strcmp(p->functions[f].name, name) == 0) return &p->functions[f];
    return NULL;
}

static void check_counts(const cprof_profile *p) {
    const char *names[] = {"leaf", "middle", "scoped", "named", "inner part", "jumper", "jump_caller", "recurse"};
    const uint64_t calls[] = {6000 + 1200, 3000, 1500, 1500, 1500, 1200, 1200, 1800};
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        const cprof_function *fn = function_named(p, names[i]);
        CHECK(fn != NULL);
        if (fn) CHECK_EQ_U64(fn->calls, calls[i]);
    }
    const cprof_node *scoped_node = find_node(p, 0, "main/run/scoped");
    CHECK(scoped_node && scoped_node->first_child == CPROF_NONE); /* no second "scoped" below it */
    CHECK(find_node(p, 0, "main/run/named/inner part") != NULL);
    CHECK(find_node(p, 0, "main/run/middle/leaf") != NULL);
    CHECK(find_node(p, 0, "main/run/jump_caller/jumper/leaf") != NULL);
}

/* Every calibrated figure, and the account of the calls of each kind. */
static void check_compensation(const cprof_profile *p, int counted) {
    const cprof_compensation *c = &p->compensation;
    uint64_t calls = 0, counted_calls = 0, automatic = 0;
    for (size_t i = 0; i < p->node_count; i++) {
        const cprof_node *n = &p->nodes[i];
        if (n->site == CPROF_NONE) continue;
        calls += n->calls;
        counted_calls += n->counted_calls;
        if (p->sites[n->site].automatic) automatic += n->calls - n->counted_calls;
        else CHECK_EQ_U64(n->counted_calls, 0);
    }
    CHECK(c->applied);
    CHECK_EQ_U64(c->scopes, calls);
    CHECK_EQ_U64(c->counted_scopes, counted_calls);
    CHECK_EQ_U64(c->auto_scopes, automatic);
    CHECK(c->auto_inside_ns > 0 && c->auto_outside_ns >= 0 && c->counted_ns >= 0);
    CHECK(counted ? counted_calls > 0 : counted_calls == 0);
}

static void check_counted(const cprof_profile *p) {
    CHECK_EQ_U64(p->auto_min_ns, 1000000000);
    /* the calls after each function's first 1,000 (one thread) took the counted path; of those, the first
       and then one after each gap of 32 to 95 were timed: their time is scaled to every call */
    const char *names[] = {"leaf", "middle", "scoped", "named", "jumper", "jump_caller"};
    const uint64_t after_learning[] = {6200, 2000, 500, 500, 200, 200};
    uint64_t counted_path = 0, counted = 0;
    for (size_t i = 0; i < sizeof after_learning / sizeof after_learning[0]; i++) {
        const cprof_function *fn = function_named(p, names[i]);
        CHECK(fn && fn->counted_calls <= after_learning[i]);
        if (fn) counted += fn->counted_calls;
        counted_path += after_learning[i];
    }
    uint64_t timed = counted_path - counted;
    const cprof_function *recursive = function_named(p, "recurse");
    CHECK(recursive && recursive->counted_calls == 0); /* its first 1,000 calls to end were its deepest */
    CHECK(timed >= counted_path / 96 && timed <= counted_path / 32 + 1);
    for (size_t i = 0; i < p->node_count; i++) { /* a counted node's time is at least its children's */
        const cprof_node *n = &p->nodes[i];
        uint64_t children = 0;
        for (uint32_t c = n->first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling) children += p->nodes[c].total_ns;
        if (n->counted_calls) CHECK(n->total_ns >= children);
    }
    char *report = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&report, &size);
    cprof_report_write(p, f, NULL);
    fclose(f);
    CHECK_CONTAINS(report, "counted, not timed: ");
    CHECK_CONTAINS(report, "  leaf  (auto_counted)  counted, time estimated\n");
    CHECK_CONTAINS(report, "counted x ");
    free(report);
    /* saved and loaded: the same counts and marks */
    char *json = json_of(p);
    cprof_profile *loaded = NULL;
    CHECK_EQ_U64(cprof_load_string(json, strlen(json), "saved", &loaded), 0);
    if (loaded) {
        const cprof_function *a = function_named(p, "leaf"), *b = function_named(loaded, "leaf");
        CHECK(a && b && a->counted_calls == b->counted_calls && a->calls == b->calls);
        CHECK_EQ_U64(loaded->auto_min_ns, p->auto_min_ns);
        CHECK_EQ_U64(loaded->compensation.counted_scopes, p->compensation.counted_scopes);
        char *again = json_of(loaded);
        CHECK_EQ_STR(again, json);
        free(again);
        cprof_profile_free(loaded);
    }
    free(json);
}

/* learner's first 1,000 calls are quick but one, 10 ms long: 10 us a call on average, over the
   threshold of 5 us, had that call counted in full; it counts 64 x 5 us, so learner is found short and
   counted. stretched is counted after 1,000 quick calls. The reset then leaves their decisions and
   clears their figures (a learning call preempted on a loaded machine would otherwise be the largest):
   learner's next 100 calls are counted, and stretched makes 100 calls of 10 ms, one or more of them
   timed (a gap is at most 95), each counting at most 64 x the threshold (its node has too few timed
   calls for an average), times two for the busy wait it calls: 640 us instead of its 10 ms. */
static void check_capped(void) {
    for (int i = 0; i < 1100; i++) {
        stretch = i == 500;
        learner();
    }
    stretch = 0;
    for (int i = 0; i < 1100; i++) stretched();
    cprof_reset();
    for (int i = 0; i < 100; i++) learner();
    stretch = 1;
    for (int i = 0; i < 100; i++) stretched();
    cprof_profile *p = cprof_capture();
    const cprof_function *learned = p ? function_named(p, "learner") : NULL;
    const cprof_function *fn = p ? function_named(p, "stretched") : NULL;
    CHECK(learned && fn);
    if (learned) {
        CHECK_EQ_U64(learned->calls, 100);
        CHECK(learned->counted_calls > 0); /* 0 had the 10 ms call decided alone */
    }
    if (fn) {
        CHECK_EQ_U64(fn->calls, 100);
        CHECK(fn->counted_calls >= 4 && fn->counted_calls < 100); /* one or more timed */
        CHECK(fn->max_ns < 8000000u); /* without the cap: 10 ms or more */
    }
    cprof_profile_free(p);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "capped") == 0) {
        check_capped();
        CHECK_DONE();
    }
    run();
    if (strcmp(mode, "off") == 0) {
        cprof_profile *p = cprof_capture();
        CHECK(p != NULL);
        if (p) CHECK_EQ_U64(p->node_count, 0);
        cprof_profile_free(p);
        CHECK_DONE();
    }
    cprof_profile *p = cprof_capture();
    CHECK(p != NULL);
    if (!p) CHECK_DONE();
    check_counts(p);
    check_compensation(p, strcmp(mode, "counted") == 0);
    if (strcmp(mode, "counted") == 0) check_counted(p);
    else CHECK_EQ_U64(p->auto_min_ns, 0);
    cprof_profile_free(p);

    /* Two threads learning and counting the same functions: every call still counted once. */
    cprof_reset();
    pthread_t thread;
    pthread_create(&thread, NULL, thread_body, NULL);
    thread_body(NULL);
    pthread_join(thread, NULL);
    p = cprof_capture();
    const cprof_function *leaf_fn = p ? function_named(p, "leaf") : NULL;
    CHECK(leaf_fn != NULL);
    if (leaf_fn) CHECK_EQ_U64(leaf_fn->calls, 12000);
    cprof_profile_free(p);
    CHECK_DONE();
}
