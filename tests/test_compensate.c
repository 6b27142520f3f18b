/* Own-cost compensation: the arithmetic to the nanosecond on planted trees (each scope call loses
   `inside` from its own total and `inside + outside` from every ancestor's), clamping, the raw totals
   kept, the JSON round trip (a loaded profile is not compensated again), the report's line,
   CPROF_COMPENSATE=0 and a bad value (the test runs itself again as a child), and the live calibration's
   structure. No timing tolerance on shares: the machine is noisy. */
#include "../cprof.h"
#include "check.h"
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef CHECK_FORK_UNSAFE_ALLOCATOR /* ASan or TSan */
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static volatile int sink;
static void leaf(void) { CPROF_SCOPE(); sink++; }
static void work(void) { CPROF_SCOPE(); for (int i = 0; i < 1000; i++) leaf(); }

/* A parent called once with 1,000 calls of a child: the example of the issue, inside 10 ns, outside 5 ns. */
static void check_arithmetic(void) {
    static const char *const lines[] = {"parent 1 100000", " child 1000 50000", " other 10 2000", NULL};
    cprof_profile *p = build_profile(lines);
    CHECK_EQ_U64(cprof__test_compensate(p, 10.0, 5.0), 0);
    const cprof_node *parent = find_node(p, 0, "parent"), *child = find_node(p, 0, "parent/child"),
                     *other = find_node(p, 0, "parent/other");
    CHECK(parent && child && other);
    if (!parent || !child || !other) return;
    CHECK_EQ_U64(child->total_ns, 50000 - 1000 * 10);                  /* 40,000 */
    CHECK_EQ_U64(child->raw_total_ns, 50000);
    CHECK_EQ_U64(child->self_ns, 40000);
    CHECK_EQ_U64(child->min_ns, 50 - 10); /* min and max lose inside: a leaf has nothing below */
    CHECK_EQ_U64(other->total_ns, 2000 - 10 * 10);
    CHECK_EQ_U64(parent->total_ns, 100000 - 1 * 10 - 1010 * (10 + 5)); /* 84,840 */
    CHECK_EQ_U64(parent->raw_total_ns, 100000);
    CHECK_EQ_U64(parent->self_ns, 84840 - 40000 - 1900);
    CHECK_EQ_U64(parent->min_ns, 84840); /* one call: its share is the whole cost */
    CHECK_EQ_U64(p->run_ns, 84840);
    CHECK_EQ_U64(p->nodes[p->threads[0].root].raw_total_ns, 100000);
    CHECK_EQ_U64(p->compensation.applied, 1);
    CHECK_EQ_U64(p->compensation.scopes, 1011);
    CHECK_EQ_U64(p->compensation.subtracted_ns, 100000 - 84840);
    CHECK(p->compensation.inside_ns == 10.0 && p->compensation.outside_ns == 5.0);
    const cprof_function *f = find_function(p, "parent");
    CHECK(f && f->total_ns == 84840 && f->self_ns == 42940);
    CHECK_CONTAINS(report_text(p, NULL), "own cost subtracted: 1,011 scopes x (10.0 ns inside + 5.0 ns outside) = "
                                         "15.2 µs (15.2% of the recorded time); CPROF_COMPENSATE=0 shows raw times\n");
    cprof_profile_free(p);
}

/* Three levels: a grandparent loses its grandchildren's calls too. */
static void check_depth(void) {
    static const char *const lines[] = {"a 2 1000000", " b 20 500000", "  c 200 100000", NULL};
    cprof_profile *p = build_profile(lines);
    CHECK_EQ_U64(cprof__test_compensate(p, 3.0, 2.0), 0);
    CHECK_EQ_U64(find_node(p, 0, "a/b/c")->total_ns, 100000 - 200 * 3);
    CHECK_EQ_U64(find_node(p, 0, "a/b")->total_ns, 500000 - 20 * 3 - 200 * 5);
    CHECK_EQ_U64(find_node(p, 0, "a")->total_ns, 1000000 - 2 * 3 - 220 * 5);
    CHECK_EQ_U64(find_node(p, 0, "a/b")->min_ns, 25000 - (3 + 10 * 5)); /* per call: inside + 10 calls below */
    cprof_profile_free(p);
}

/* A cost larger than the time: 0, and a parent never below its children's compensated totals. */
static void check_clamping(void) {
    static const char *const lines[] = {"parent 1 1000", " child 100 5000", " tiny 100 50", NULL};
    cprof_profile *p = build_profile(lines);
    CHECK_EQ_U64(cprof__test_compensate(p, 20.0, 10.0), 0);
    CHECK_EQ_U64(find_node(p, 0, "parent/tiny")->total_ns, 0);
    CHECK_EQ_U64(find_node(p, 0, "parent/tiny")->min_ns, 0);
    CHECK_EQ_U64(find_node(p, 0, "parent/tiny")->raw_total_ns, 50);
    CHECK_EQ_U64(find_node(p, 0, "parent/child")->total_ns, 5000 - 2000);
    CHECK_EQ_U64(find_node(p, 0, "parent")->total_ns, 3000); /* 1,000 - 6,020 clamps to the children's 3,000 */
    CHECK_EQ_U64(find_node(p, 0, "parent")->self_ns, 0);
    CHECK_EQ_U64(p->compensation.subtracted_ns, 0); /* the recorded time did not shrink: 1,000 -> 3,000 */
    /* one call: its min and max are the raised total (they were 0 beside a total of 3,000) */
    CHECK_EQ_U64(find_node(p, 0, "parent")->min_ns, 3000);
    CHECK_EQ_U64(find_node(p, 0, "parent")->max_ns, 3000);
    cprof_profile_free(p);

    /* A longest call never longer than all the calls: 10 calls of 100 ns in all, the longest 95 (planted),
       20 ns inside each: the total clamps to 0, and so does the longest (75 before) */
    static const char *const spiky[] = {"spiky 10 100", NULL};
    p = build_profile(spiky);
    cprof_node *n = (cprof_node *)(uintptr_t)find_node(p, 0, "spiky");
    if (n) n->max_ns = 95, n->min_ns = 1;
    CHECK_EQ_U64(cprof__test_compensate(p, 20.0, 10.0), 0);
    CHECK(n && n->total_ns == 0 && n->max_ns == 0 && n->min_ns == 0);
    cprof_profile_free(p);
}

/* Automatic scopes cost their own calibrated figures, and a counted node (CPROF_AUTO_MIN_NS) has its
   children's time and costs its ancestors a counted call's figure per counted call: main (manual) over
   a (automatic, 100 timed calls) over b (automatic, 1,000 calls of which 800 counted). */
static void check_kinds(void) {
    /* b: 1,000 calls, 799 counted, its 201 timed ones took 41.4 us, the longest 1.2 us; c: all 300 counted,
       d timed under it */
    static const char *const lines[] = {"main 1 1000000", " a 100 500000", "  b 1000 41400", "  c 300 0", "   d 300 30000", NULL};
    cprof_profile *p = build_profile(lines);
    for (size_t s = 1; s < p->site_count; s++) p->sites[s].automatic = 1; /* all but main */
    cprof_node *b_node = (cprof_node *)find_node(p, 0, "main/a/b"), *c_node = (cprof_node *)find_node(p, 0, "main/a/c");
    CHECK(b_node && c_node);
    if (!b_node || !c_node) return;
    b_node->counted_calls = 799;
    b_node->max_ns = 1200;
    c_node->counted_calls = 300;
    p->auto_min_ns = 200;
    const double figures[5] = {10.0, 5.0, 20.0, 30.0, 4.0};
    CHECK_EQ_U64(cprof__test_compensate_kinds(p, figures), 0);
    const cprof_node *a = find_node(p, 0, "main/a"), *b = find_node(p, 0, "main/a/b"), *c = find_node(p, 0, "main/a/c"),
                     *d = find_node(p, 0, "main/a/c/d"), *main_node = find_node(p, 0, "main");
    CHECK(a && b && c && d && main_node);
    if (!a || !b || !c || !d || !main_node) return;
    CHECK_EQ_U64(b->raw_total_ns, (41400 - 1200) * 1000 / 200); /* the other timed calls scaled to all calls */
    CHECK_EQ_U64(b->total_ns, 201000 - 1000 * 20);     /* less every call's inside part */
    CHECK_EQ_U64(d->total_ns, 30000 - 300 * 20);
    CHECK_EQ_U64(c->total_ns, d->total_ns);            /* none timed: its children's time */
    CHECK_EQ_U64(a->total_ns, 500000 - 100 * 20 - ((201 * 50 + 799 * 4) + 300 * 4 + 300 * 50)); /* 468,554 */
    CHECK_EQ_U64(main_node->total_ns, 1000000 - 10 - (100 * 50 + 201 * 50 + 799 * 4 + 300 * 4 + 300 * 50)); /* 965,544 */
    CHECK_EQ_U64(p->compensation.scopes, 1701);
    CHECK_EQ_U64(p->compensation.auto_scopes, 601);
    CHECK_EQ_U64(p->compensation.counted_scopes, 1099);
    CHECK_EQ_U64(p->compensation.subtracted_ns, 1000000 - 965544);
    const cprof_function *f = find_function(p, "b");
    CHECK(f && f->counted_calls == 799 && f->calls == 1000 && f->self_ns == 181000);
    f = find_function(p, "c");
    CHECK(f && f->counted_calls == 300 && f->self_ns == 0);
    cprof_report_options every_node = cprof_report_defaults();
    every_node.tree_min_pct = 0;
    const char *text = report_text(p, &every_node);
    CHECK_CONTAINS(text, "own cost subtracted: 1 manual scopes x (10.0 ns inside + 5.0 ns outside), 601 automatic x "
                         "(20.0 ns inside + 30.0 ns outside), 1,099 counted x 4.0 ns = 34.5 µs (3.4% of the recorded "
                         "time); CPROF_COMPENSATE=0 shows raw times\n");
    CHECK_CONTAINS(text, "counted, not timed: 2 functions that averaged under 200 ns a call (CPROF_AUTO_MIN_NS; 0 times "
                         "every call): their calls are exact; one in about 64 is timed, and their time is estimated from those\n");
    CHECK_CONTAINS(text, "  b  (synthetic.c:3)  counted, time estimated\n");
    CHECK_CONTAINS(text, "  c  (synthetic.c:4)  counted, not timed\n");
    CHECK_CONTAINS(text, "b  (counted, time estimated)\n");
    CHECK_CONTAINS(text, "c  (counted, not timed)\n");
    cprof_profile_free(p);
}

/* Own cost most of the recorded time: the header warns that the times left are within the calibration's
   error; below the bar it says nothing. */
static void check_own_cost_warning(void) {
    static const char *const lines[] = {"parent 1 100000", " child 1000 30000", NULL};
    cprof_profile *p = build_profile(lines);
    CHECK_EQ_U64(cprof__test_compensate(p, 40.0, 40.0), 0); /* 80,040 of 100,000 ns subtracted */
    CHECK_EQ_U64(p->compensation.subtracted_ns, 80040);
    CHECK_CONTAINS(report_text(p, NULL), "\nwarning: cprof's own cost was 80% of the recorded time: the times left are "
                                         "within the calibration's error of a few ns a call; trust the calls, not the "
                                         "times.");
    cprof_profile_free(p);
    p = build_profile(lines);
    CHECK_EQ_U64(cprof__test_compensate(p, 30.0, 40.0), 0); /* 70,030: 70% */
    CHECK(strstr(report_text(p, NULL), "warning: cprof's own cost") == NULL);
    cprof_profile_free(p);
}

/* Saved and loaded: the raw totals and the compensation kept, nothing subtracted twice, the same bytes. */
static void check_round_trip(void) {
    static const char *const lines[] = {"parent 1 100000", " child 1000 50000", NULL};
    cprof_profile *p = build_profile(lines), *loaded = NULL, *plain = build_profile(lines);
    char *plain_text = json_of(plain);
    CHECK(strstr(plain_text, "raw_total_ns") == NULL && strstr(plain_text, "compensation") == NULL);
    CHECK_EQ_U64(cprof__test_compensate(p, 10.0, 5.0), 0);
    char *text = json_of(p);
    CHECK_CONTAINS(text, "\"compensation\": {\"inside_ns\": 10, \"outside_ns\": 5, \"scopes\": 1001, \"subtracted_ns\": 15010},\n");
    CHECK_CONTAINS(text, "\"total_ns\": 40000, \"min_ns\": 40, \"max_ns\": 40, \"open\": 0, \"sum_sq_ns2\": 2500000, \"raw_total_ns\": 50000");
    CHECK_EQ_U64(cprof_load_string(text, strlen(text), "compensated.json", &loaded), 0);
    if (loaded) {
        CHECK_EQ_U64(find_node(loaded, 0, "parent/child")->total_ns, 40000);
        CHECK_EQ_U64(find_node(loaded, 0, "parent/child")->raw_total_ns, 50000);
        CHECK_EQ_U64(find_node(loaded, 0, "parent")->total_ns, 84990);
        CHECK_EQ_U64(loaded->nodes[loaded->threads[0].root].raw_total_ns, 100000);
        CHECK_EQ_U64(loaded->compensation.applied, 1);
        CHECK_EQ_U64(loaded->compensation.subtracted_ns, 15010);
        char *again = json_of(loaded);
        CHECK_EQ_STR(again, text);
        free(again);
        cprof_profile_free(loaded);
    }
    loaded = NULL; /* a file without it: raw = total, nothing applied */
    CHECK_EQ_U64(cprof_load_string(plain_text, strlen(plain_text), "plain.json", &loaded), 0);
    if (loaded) {
        CHECK_EQ_U64(loaded->compensation.applied, 0);
        CHECK_EQ_U64(find_node(loaded, 0, "parent/child")->raw_total_ns, 50000);
        CHECK(strstr(report_text(loaded, NULL), "own cost") == NULL);
        cprof_profile_free(loaded);
    }
    free(text);
    free(plain_text);
    cprof_profile_free(p);
    cprof_profile_free(plain);
}

/* A live capture: compensated by default with calibrated figures of the right kind; CPROF_COMPENSATE=0
   ("raw" mode): raw and compensated the same, nothing applied. */
static int child(const char *mode) {
    work();
    cprof_profile *p = cprof_capture();
    const cprof_node *w = find_node(p, 0, "work"), *l = find_node(p, 0, "work/leaf");
    CHECK(w && l);
    if (!w || !l) return 1;
    CHECK_EQ_U64(l->calls, 1000);
    if (strcmp(mode, "raw") == 0) {
        CHECK_EQ_U64(p->compensation.applied, 0);
        CHECK_EQ_U64(w->raw_total_ns, w->total_ns);
        CHECK_EQ_U64(l->raw_total_ns, l->total_ns);
        CHECK(strstr(report_text(p, NULL), "own cost") == NULL);
    } else {
        /* valgrind (its preload) and the sanitizers slow a scope far past 1 µs */
        const char *preload = getenv("LD_PRELOAD");
        int slowed = (preload && strstr(preload, "vgpreload")) || SANITIZED;
        double bound = slowed ? 1e6 : 1000.0;
        CHECK_EQ_U64(p->compensation.applied, 1);
        CHECK(p->compensation.inside_ns > 0 && p->compensation.inside_ns < bound);
        CHECK(p->compensation.outside_ns > 0 && p->compensation.outside_ns < bound);
        CHECK_EQ_U64(p->compensation.scopes, 1001);
        CHECK(l->total_ns <= l->raw_total_ns && w->total_ns <= w->raw_total_ns);
        CHECK(w->raw_total_ns - w->total_ns >= l->raw_total_ns - l->total_ns); /* it loses the leaves' outside too */
        CHECK(w->total_ns >= l->total_ns);
        CHECK_CONTAINS(report_text(p, NULL), "own cost subtracted: 1,001 scopes x (");
    }
    cprof_profile_free(p);
    CHECK_DONE();
}

static int run_child(const char *self, const char *mode, const char *value, const char *err_path) {
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (value) setenv("CPROF_COMPENSATE", value, 1);
        if (err_path && !freopen(err_path, "w", stderr)) _exit(126);
        execl(self, self, mode, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int main(int argc, char **argv) {
    if (argc > 1) return child(argv[1]);
    check_arithmetic();
    check_depth();
    check_clamping();
    check_kinds();
    check_own_cost_warning();
    check_round_trip();
    CHECK_EQ_U64(child("default"), 0);
    CHECK_EQ_U64(run_child(argv[0], "raw", "0", NULL), 0);
    char err_path[128];
    snprintf(err_path, sizeof err_path, "/tmp/cprof_test_compensate_%ld.err", (long)getpid());
    CHECK_EQ_U64(run_child(argv[0], "default", "yes", err_path), 0);
    CHECK_EQ_STR(read_text_file(err_path), "cprof: CPROF_COMPENSATE=yes: not understood (0 shows raw times, 1 subtracts "
                                           "cprof's own cost); compensation stays on\n");
    CHECK_EQ_U64(run_child(argv[0], "default", "1", err_path), 0);
    CHECK_EQ_STR(read_text_file(err_path), "");
    remove(err_path);
    CHECK_DONE();
}
