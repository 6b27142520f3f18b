/* test_bench - the benchmark API: exact statistics of fixed samples, the growth fit, iteration
   counting, the order of a parameter sweep, the rounds of a group timed in turn, the JSON round trip
   of "benchmarks", the text (comparison and scaling) and the comparison of saved runs, of benchmarks
   timed alone and in a group. */
#include "../cprof.h"
#include "check.h"
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#define CHECK_NEAR(a, b, tolerance) CHECK(fabs((double)(a) - (double)(b)) <= (tolerance))

static void test_statistics(void) {
    const double samples[] = {10, 12, 11, 13, 12, 100, 11, 12, 9, 1};
    cprof_bench_stats s = cprof_bench_statistics(samples, 10);
    CHECK_EQ_U64(s.count, 10);
    CHECK(s.median_ns == 11.5);
    CHECK_NEAR(s.mean_ns, 19.1, 1e-12);
    CHECK(s.min_ns == 1 && s.max_ns == 100);
    CHECK_NEAR(s.stddev_ns, 28.6296272339609, 1e-9);
    CHECK(s.mad_ns == 1.0); /* |x - 11.5| sorted: 0.5 x5, 1.5, 1.5, 2.5, 10.5, 88.5 */
    CHECK(s.q1_ns == 10.25 && s.q3_ns == 12);
    CHECK_EQ_U64(s.outliers_low, 1);  /* 1 < 10.25 - 2.625 */
    CHECK_EQ_U64(s.outliers_high, 1); /* 100 > 12 + 2.625 */
    const double odd[] = {5, 1, 3};
    s = cprof_bench_statistics(odd, 3);
    CHECK(s.median_ns == 3 && s.mad_ns == 2 && s.stddev_ns == 2 && s.outliers_low + s.outliers_high == 0);
    s = cprof_bench_statistics(odd, 1);
    CHECK(s.median_ns == 5 && s.stddev_ns == 0 && s.mad_ns == 0);
    s = cprof_bench_statistics(NULL, 0);
    CHECK(s.count == 0 && s.median_ns == 0);
}

static void test_growth(void) {
    const double n[] = {1000, 10000, 100000, 1000000};
    const double noise[] = {1.06, 0.95, 1.03, 0.98};
    double linear[4], quadratic[4], constant[4];
    for (int i = 0; i < 4; i++) {
        linear[i] = 2.5 * n[i] * noise[i];
        quadratic[i] = 0.01 * n[i] * n[i] * noise[i];
        constant[i] = 40 * noise[i];
    }
    CHECK_NEAR(cprof_bench_growth(n, linear, 4), 1.0, 0.1);
    CHECK_NEAR(cprof_bench_growth(n, quadratic, 4), 2.0, 0.1);
    CHECK_NEAR(cprof_bench_growth(n, constant, 4), 0.0, 0.1);
    CHECK(cprof_bench_growth(n, linear, 1) == 0); /* one point: no fit */
    const double same_n[] = {10, 10};
    CHECK(cprof_bench_growth(same_n, linear, 2) == 0);
}

/* --- running -------------------------------------------------------------------------------------- */
static uint64_t body_calls;
static uint64_t seen_n[16];
static size_t seen_count;
static volatile uint64_t sink;

static void counting_body(cprof_bench *b) {
    body_calls++;
    if (seen_count == 0 || seen_n[seen_count - 1] != b->n) seen_n[seen_count++ % 16] = b->n;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < b->n; i++) sum += i;
    sink = sum;
    b->items = b->n;
    b->bytes = b->n * 8;
}

static cprof_bench_options quick(void) {
    cprof_bench_options o = cprof_bench_defaults();
    CHECK(o.min_time_s == 0.5 && o.warmup_s == 0.05 && o.min_samples == 10 && o.target_samples == 50);
    o.min_time_s = 0.02;
    o.warmup_s = 0.002;
    o.min_samples = 7;
    o.target_samples = 20;
    return o;
}

static void test_iteration_counting(void) {
    cprof_bench_options o = quick();
    cprof_bench_clear();
    body_calls = 0;
    seen_count = 0;
    CHECK(cprof_bench_run("count/one", counting_body, NULL, &o) == 0);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->benchmark_count, 1);
    if (p->benchmark_count == 1) {
        const cprof_benchmark *r = &p->benchmarks[0];
        CHECK_EQ_STR(r->name, "count/one");
        CHECK_EQ_U64(r->n, 0);
        CHECK_EQ_U64(body_calls, r->warmup_iterations + r->iterations);
        CHECK_EQ_U64(r->iterations, r->batch * r->sample_count);
        CHECK(r->sample_count >= 7);
        CHECK(r->warmup_iterations >= r->batch); /* the batch was found while warming up */
        double timed_ns = 0;
        for (size_t i = 0; i < r->sample_count; i++) timed_ns += r->samples_ns[i] * (double)r->batch;
        CHECK(timed_ns >= 0.999 * 0.02e9);
        CHECK_EQ_U64(r->stats.count, r->sample_count);
        CHECK(r->stats.min_ns <= r->stats.median_ns && r->stats.median_ns <= r->stats.max_ns);
    }
    cprof_profile_free(p);
}

static void test_sweep_order(void) {
    cprof_bench_options o = quick();
    const uint64_t sizes[] = {300, 10, 2000};
    cprof_bench_clear();
    seen_count = 0;
    CHECK(cprof_bench_sweep("sum/loop", counting_body, NULL, sizes, 3, &o) == 0);
    CHECK_EQ_U64(seen_count, 3);
    for (size_t i = 0; i < 3; i++) CHECK_EQ_U64(seen_n[i], sizes[i]);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->benchmark_count, 3);
    for (size_t i = 0; i < 3 && i < p->benchmark_count; i++) {
        CHECK_EQ_STR(p->benchmarks[i].name, "sum/loop");
        CHECK_EQ_U64(p->benchmarks[i].n, sizes[i]);
        CHECK_EQ_U64(p->benchmarks[i].items, sizes[i]);
        CHECK_EQ_U64(p->benchmarks[i].bytes, sizes[i] * 8);
    }
    cprof_profile_free(p);
    CHECK(cprof_bench_run(NULL, counting_body, NULL, &o) == -1);
    CHECK(cprof_bench_run("x", NULL, NULL, &o) == -1);
    cprof_bench_clear();
    p = cprof_capture();
    CHECK_EQ_U64(p->benchmark_count, 0);
    cprof_profile_free(p);
}

/* --- a group timed in turn: the body records which member ran, call by call (as runs of calls) ----- */
enum { MAX_STRETCHES = 8192 };
static int stretch_member[MAX_STRETCHES]; /* consecutive calls of one member: who, how many */
static uint64_t stretch_calls[MAX_STRETCHES];
static size_t stretch_count;
static int stretches_overflowed, recording = 1;

static void record_call(int member) {
    if (!recording) return;
    if (stretch_count && stretch_member[stretch_count - 1] == member) stretch_calls[stretch_count - 1]++;
    else if (stretch_count < MAX_STRETCHES) stretch_member[stretch_count] = member, stretch_calls[stretch_count++] = 1;
    else stretches_overflowed = 1;
}

static void recording_body(cprof_bench *b) {
    int member = *(const int *)b->user;
    record_call(member);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < 200; i++) sum += i * (uint64_t)member;
    sink = sum;
    b->items = (uint64_t)member + 1;
}

typedef struct calls_reader { size_t at; uint64_t left; } calls_reader; /* a position in the stretches */

/* Takes `calls` calls of `member` from the recorded order; 0 when the order holds something else there. */
static int take_calls(calls_reader *reader, int member, uint64_t calls) {
    while (calls) {
        if (reader->at >= stretch_count || stretch_member[reader->at] != member) return 0;
        if (!reader->left) reader->left = stretch_calls[reader->at];
        uint64_t taken = calls < reader->left ? calls : reader->left;
        calls -= taken, reader->left -= taken;
        if (!reader->left) reader->at++;
    }
    return 1;
}

/* Three members: each warmed up alone, in the order given; then rounds of one batch of each (a
   permutation per round, not always the same one), as many rounds as every member has samples. */
static void test_group_rounds(void) {
    static const int ids[3] = {0, 1, 2};
    const cprof_bench_entry entries[3] = {{"group/x", recording_body, (void *)&ids[0], 0},
                                          {"group/y", recording_body, (void *)&ids[1], 7},
                                          {"group/z", recording_body, (void *)&ids[2], 0}};
    cprof_bench_options o = quick();
    cprof_bench_clear();
    stretch_count = 0;
    CHECK(cprof_bench_group(entries, 3, &o) == 0);
    /* The rounds fill a time: under valgrind on a loaded machine a batch sized in a stall can be one
       call, and thousands of rounds outgrow the record; then the rounds recorded whole are checked. */
    int overflowed = stretches_overflowed;
    size_t first_group_stretches = stretch_count;
    recording = 0; /* the second group's calls would continue the first's last stretch */
    cprof_bench_run("alone", counting_body, NULL, &o);
    CHECK(cprof_bench_group(entries, 2, &o) == 0);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->benchmark_count, 6);
    if (p->benchmark_count != 6) return;
    const cprof_benchmark *r = p->benchmarks;
    CHECK_EQ_STR(r[1].name, "group/y");
    CHECK_EQ_U64(r[1].n, 7);
    CHECK(r[0].group == 1 && r[1].group == 1 && r[2].group == 1 && r[3].group == 0 && r[4].group == 2 && r[5].group == 2);
    calls_reader reader = {0, 0};
    for (int m = 0; m < 3; m++) {
        CHECK_EQ_U64(r[m].items, (uint64_t)m + 1);
        CHECK_EQ_U64(r[m].sample_count, r[0].sample_count); /* every member in every round */
        CHECK_EQ_U64(r[m].iterations, r[m].batch * r[m].sample_count);
        CHECK(take_calls(&reader, m, r[m].warmup_iterations));
    }
    CHECK(r[0].sample_count >= 7);
    int first_order[3] = {-1, -1, -1}, orders_differ = 0;
    for (size_t round = 0; round < r[0].sample_count; round++) {
        if (overflowed && reader.at + 3 > stretch_count) break; /* the record ends before this round */
        int seen = 0;
        for (int place = 0; place < 3; place++) {
            int m = reader.at < stretch_count ? stretch_member[reader.at] : -1;
            CHECK(m >= 0 && m < 3 && !(seen & (1 << m)));
            if (m < 0 || m > 2 || (seen & (1 << m))) return;
            seen |= 1 << m;
            CHECK(take_calls(&reader, m, r[m].batch));
            if (round == 0) first_order[place] = m;
            else orders_differ |= first_order[place] != m;
        }
    }
    if (!overflowed) CHECK_EQ_U64(reader.at, first_group_stretches); /* nothing after the last round */
    CHECK(orders_differ);
    cprof_profile_free(p);
    CHECK(cprof_bench_group(NULL, 3, &o) == -1);
    CHECK(cprof_bench_group(entries, 0, &o) == -1);
    const cprof_bench_entry nameless[1] = {{NULL, recording_body, NULL, 0}};
    CHECK(cprof_bench_group(nameless, 1, &o) == -1);
    cprof_bench_clear();
}

/* --- synthetic runs: known samples, no timing ------------------------------------------------------- */
static void add(cprof_profile *p, const char *name, uint64_t n, double base, double step, size_t count) {
    cprof_benchmark *r = cprof__test_bench_append(p, name);
    r->n = n;
    r->batch = 4;
    r->sample_count = count;
    r->iterations = 4 * count;
    r->warmup_iterations = 12;
    r->items = n;
    r->samples_ns = (double *)cprof__test_alloc(count * sizeof(double));
    for (size_t i = 0; i < count; i++) r->samples_ns[i] = base + step * (double)i;
    r->stats = cprof_bench_statistics(r->samples_ns, count);
}

/* Files of this process only: the test matrix runs several configurations at once. */
static const char *keep_dir; /* argv[1]: where the two compared runs are kept for the tool's check */
static const char *path_of(const char *name) {
    static char paths[8][256];
    static int next;
    char *path = paths[next++ % 8];
    if (keep_dir && strncmp(name, "run_", 4) == 0) snprintf(path, 256, "%s/%s.json", keep_dir, name);
    else snprintf(path, 256, "build/test_bench-%ld-%s.json", (long)getpid(), name);
    return path;
}

static char *file_text(const char *path) {
    static char text[1 << 16];
    FILE *f = fopen(path, "rb");
    size_t length = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[length] = '\0';
    return text;
}

/* What was written to a temporary file, which is closed. */
static const char *read_back(FILE *f) {
    static char text[1 << 16];
    rewind(f);
    size_t length = fread(text, 1, sizeof text - 1, f);
    text[length] = '\0';
    fclose(f);
    return text;
}

static const char *written(int (*write)(const cprof_profile *, FILE *), const cprof_profile *p) {
    FILE *f = tmpfile();
    CHECK(write(p, f) == 0);
    return read_back(f);
}

static void test_text(void) {
    cprof_profile *p = cprof__test_profile_new();
    p->timer = "clock_gettime";
    add(p, "sum/loop", 1000, 2000, 10, 11);       /* 2 ns per n */
    add(p, "sum/unrolled", 1000, 1000, 10, 11);   /* twice as fast */
    add(p, "sum/loop", 10000, 20000, 10, 11);
    add(p, "sum/loop", 100000, 200000, 10, 11);
    add(p, "alone", 0, 5, 0.5, 9);
    const char *text = written(cprof_bench_write, p);
    CHECK_CONTAINS(text, "Benchmarks: 5 (timer clock_gettime; times per iteration)");
    CHECK_CONTAINS(text, "Compared: sum, n = 1,000 (fastest first)\n"
                         "  sum/unrolled                1.1 µs   fastest\n"
                         "  sum/loop                    2.0 µs   1.95x slower\n");
    CHECK_CONTAINS(text, "  sum/loop: 2.05 ns/n at 1,000, 2.00 ns/n at 10,000, 2.00 ns/n at 100,000; time grows as n^0.99 (O(n))\n");
    CHECK_CONTAINS(text, "  alone                              -   7.00 ns");
    CHECK_CONTAINS(text, "  sum/loop                     100,000  200.1 µs  200.1 µs  200.0 µs  200.1 µs   33.2 ns   30.0 ns"
                         "        0            11 x 4  500 M items/s\n"); /* 100,000 items in 200.05 µs */
    CHECK(strstr(text, "Compared: alone") == NULL);
    cprof_profile_free(p);
}

static void test_round_trip(void) {
    cprof_bench_options o = quick();
    const uint64_t sizes[] = {100, 1000};
    cprof_bench_clear();
    cprof_bench_sweep("sum/loop", counting_body, NULL, sizes, 2, &o);
    cprof_bench_run("sum \"quoted\"/other", counting_body, NULL, &o);
    static const int ids[2] = {0, 1};
    const cprof_bench_entry pair[2] = {{"pair/x", recording_body, (void *)&ids[0], 0}, {"pair/y", recording_body, (void *)&ids[1], 0}};
    CHECK(cprof_bench_group(pair, 2, &o) == 0);
    cprof_profile *p = cprof_capture(), *q = NULL;
    CHECK(cprof_save(p, path_of("trip")) == 0);
    CHECK(cprof_load(path_of("trip"), &q) == 0);
    CHECK(q != NULL);
    if (q) {
        CHECK_EQ_U64(q->benchmark_count, p->benchmark_count);
        for (size_t i = 0; i < p->benchmark_count && i < q->benchmark_count; i++) {
            const cprof_benchmark *a = &p->benchmarks[i], *b = &q->benchmarks[i];
            CHECK_EQ_STR(a->name, b->name);
            CHECK(a->n == b->n && a->items == b->items && a->bytes == b->bytes && a->batch == b->batch &&
                  a->iterations == b->iterations && a->warmup_iterations == b->warmup_iterations && a->group == b->group);
            CHECK_EQ_U64(a->sample_count, b->sample_count);
            CHECK(a->sample_count == b->sample_count &&
                  memcmp(a->samples_ns, b->samples_ns, a->sample_count * sizeof(double)) == 0);
            CHECK(memcmp(&a->stats, &b->stats, sizeof a->stats) == 0);
        }
        char first[1 << 16];
        strcpy(first, file_text(path_of("trip")));
        CHECK(cprof_save(q, path_of("trip2")) == 0);
        CHECK_EQ_STR(file_text(path_of("trip2")), first);
        CHECK_CONTAINS(first, "\"benchmarks\": [\n    {\"name\": \"sum/loop\", \"n\": 100, \"items\": 100, \"bytes\": 800,");
        CHECK_EQ_U64(q->benchmark_count, 5);
        if (q->benchmark_count == 5) CHECK(q->benchmarks[0].group == 0 && q->benchmarks[3].group == 1 && q->benchmarks[4].group == 1);
        const char *group = strstr(first, ", \"group\": 1,\n      \"median_ns\": "); /* 1.3; only in a group */
        CHECK(group != NULL && strstr(group + 1, ", \"group\": 1,\n") != NULL && strstr(first, "\"group\": 0") == NULL);
        CHECK_CONTAINS(first, "\"version\": \"1.4\"");
        /* merged: several runs' samples no longer form rounds, and each run numbers its groups from 1 */
        const cprof_profile *both[2] = {p, q};
        cprof_profile *merged = cprof_merge(both, 2, NULL);
        CHECK(merged && merged->benchmark_count == 5 && merged->benchmarks[3].group == 0 && merged->benchmarks[4].group == 0);
        cprof_profile_free(merged);
    }
    cprof_profile_free(p);
    cprof_profile_free(q);
    /* without benchmarks: no section, and it loads */
    cprof_bench_clear();
    p = cprof_capture();
    CHECK(cprof_save(p, path_of("none")) == 0);
    CHECK(strstr(file_text(path_of("none")), "benchmarks") == NULL);
    CHECK(cprof_load(path_of("none"), &q) == 0 && q && q->benchmark_count == 0);
    cprof_profile_free(p);
    cprof_profile_free(q);
}

/* The saved text of a one-benchmark profile with `from` replaced by `to`, loaded: its result. */
static int load_edited(const char *from, const char *to, const char *name) {
    cprof_profile *p = cprof__test_profile_new(), *q = NULL;
    add(p, "a/b", 0, 5, 1, 3);
    CHECK(cprof_save(p, path_of("edit")) == 0);
    cprof_profile_free(p);
    const char *text = file_text(path_of("edit")), *at = strstr(text, from);
    static char edited[1 << 16];
    CHECK(at != NULL);
    if (!at) return 0;
    snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    int result = cprof_load_string(edited, strlen(edited), name, &q);
    CHECK((result == 0) == (q != NULL));
    cprof_profile_free(q);
    return result;
}

static void test_bad_input(void) {
    CHECK(load_edited("[5, 6, 7]", "[5, 6, 7]", "same.json") == 0);
    CHECK(load_edited("[5, 6, 7]", "[5, \"6\", 7]", "string.json") == -1);
    CHECK_EQ_STR(cprof_error(), "string.json:28:25: benchmarks[].samples_ns: expected numbers");
    CHECK(load_edited("[5, 6, 7]", "[5, -6, 7]", "negative.json") == -1);
    CHECK_EQ_STR(cprof_error(), "negative.json:28:25: benchmarks[].samples_ns: out of range");
    CHECK(load_edited("\"n\": 0", "\"m\": 0", "missing.json") == -1);
    CHECK_CONTAINS(cprof_error(), "benchmarks[]: missing \"n\"");
    CHECK(load_edited("\"benchmarks\": [", "\"benchmarks\": [7, ", "entry.json") == -1);
    CHECK_CONTAINS(cprof_error(), "benchmarks: each entry must be an object");
    CHECK(load_edited("[5, 6, 7]", "[]", "empty.json") == 0);
}

/* One run a side, with bench_single_run_threshold_pct 30 (`cprof diff --single-run-threshold=30`; without it
   no measured change counts). */
static const char *compared(const cprof_profile *a, const cprof_profile *b, int *result) {
    FILE *f = tmpfile();
    cprof_compare_options o = cprof_compare_defaults();
    o.bench_single_run_threshold_pct = 30.0;
    *result = cprof_bench_compare_write(a, b, f, &o);
    return read_back(f);
}

/* Two saved runs: one benchmark 50% slower with separated samples, one the same, one 10% slower but
   with samples that overlap completely (noise), one only before, one only after. One run a side: the
   samples of a run are not independent, so no test; with the defaults nothing measured counts, with
   --single-run-threshold=30 the +46% does. Then five runs a side: Welch's t-test on the runs' medians. */
static void test_compare(void) {
    cprof_profile *a = cprof__test_profile_new(), *b = cprof__test_profile_new(), *x = NULL, *y = NULL;
    add(a, "sort/quick", 1000, 100, 1, 20);
    add(b, "sort/quick", 1000, 150, 1, 20);
    add(a, "sum/loop", 0, 50, 1, 20);
    add(b, "sum/loop", 0, 50, 1, 20);
    add(a, "noisy", 0, 100, 10, 20);  /* 100..290, median 195 */
    add(b, "noisy", 0, 120, 10, 20);  /* 120..310: +10% of the median, heavily overlapping */
    add(a, "gone", 0, 1, 0, 3);
    add(b, "fresh", 0, 1, 0, 3);
    CHECK(cprof_save(a, path_of("run_a")) == 0 && cprof_save(b, path_of("run_b")) == 0);
    CHECK(cprof_load(path_of("run_a"), &x) == 0 && cprof_load(path_of("run_b"), &y) == 0);
    int result = -2;
    const char *text = compared(x, y, &result);
    CHECK_EQ_U64(result, 1);
    CHECK_CONTAINS(text, "  sort/quick                     1,000  109.5 ns  159.5 ns    +45.7%  p=-        REGRESSED\n");
    CHECK_CONTAINS(text, "  sum/loop                           -   59.5 ns   59.5 ns     +0.0%  p=-        unchanged\n");
    CHECK_CONTAINS(text, "within noise\n");
    CHECK_CONTAINS(text, "  fresh                              -  new\n");
    CHECK_CONTAINS(text, "  gone                               -  removed\n");
    CHECK_CONTAINS(text, "1 regressed\n");
    text = compared(y, x, &result); /* the other way round: an improvement, no regression */
    CHECK_EQ_U64(result, 0);
    CHECK_CONTAINS(text, "improved\n");
    CHECK_CONTAINS(text, "0 regressed\n");
    CHECK(cprof_bench_compare_write(NULL, y, stdout, NULL) == -1);
    FILE *f = tmpfile();
    CHECK(cprof_bench_compare_write(x, y, f, NULL) == 0); /* the defaults: one run a side never counts */
    text = read_back(f);
    CHECK_CONTAINS(text, "never with one run a side: its samples are not independent");
    CHECK_CONTAINS(text, "+45.7%  p=-        within noise\n");
    /* Five runs a side: sort/quick's runs' medians 109.5, 111.5, ... 117.5 -> 159.5 ... 167.5: Welch's
       p = 7.011493713323705e-09 (tests/compare_reference.py: welch(5, 113.5, 10, 5, 163.5, 10)); two tests
       (sum/loop: p 1): adjusted 2p. One run on a side: no spread there, no test. */
    cprof_profile *runs[10];
    for (int r = 0; r < 10; r++) {
        runs[r] = cprof__test_profile_new();
        add(runs[r], "sort/quick", 1000, (r < 5 ? 100 : 150) + 2.0 * (r % 5), 1, 20);
        add(runs[r], "sum/loop", 0, 50, 1, 20);
    }
    f = tmpfile();
    CHECK(cprof_bench_compare_runs_write((const cprof_profile *const *)runs, 5, (const cprof_profile *const *)runs + 5, 5, f, NULL) == 1);
    text = read_back(f);
    CHECK_CONTAINS(text, "  sort/quick                     1,000  113.5 ns  163.5 ns    +44.1%  p=1.4e-08  REGRESSED\n");
    CHECK_CONTAINS(text, "Welch's t-test on the runs' medians gives p < 0.05 adjusted for the 2 tests (Benjamini-Hochberg)");
    f = tmpfile();
    CHECK(cprof_bench_compare_runs_write((const cprof_profile *const *)runs, 5, (const cprof_profile *const *)runs + 5, 1, f, NULL) == 0);
    CHECK_CONTAINS(read_back(f), "p=-        within noise\n");
    for (int r = 0; r < 10; r++) cprof_profile_free(runs[r]);
    cprof_profile_free(a);
    cprof_profile_free(b);
    cprof_profile_free(x);
    cprof_profile_free(y);
}

/* A member of group 1 with `rounds` samples: base_ns times the machine's state in each round, 1.8 (the
   other core busy) where state_of(round) says so, 1 elsewhere. */
static void add_member(cprof_profile *p, const char *name, double base_ns, size_t rounds, int (*slow_round)(size_t, int),
                       int run) {
    add(p, name, 0, 0, 0, rounds);
    cprof_benchmark *r = &p->benchmarks[p->benchmark_count - 1];
    r->group = 1;
    for (size_t i = 0; i < rounds; i++) r->samples_ns[i] = base_ns * (slow_round(i, run) ? 1.8 : 1.0);
    r->stats = cprof_bench_statistics(r->samples_ns, rounds);
}
static int always_slow(size_t round, int run) { return (void)round, (void)run, 1; }
static int never_slow(size_t round, int run) { return (void)round, (void)run, 0; }
static int every_third_slow(size_t round, int run) { return (round + (size_t)run) % 3 == 0; }

/* Timed in a group: judged relative to the others, round by round. One run a side: before, every round
   in the slow state, after in the fast one, and c twice as slow: the medians say a and b 44% faster and
   c 11% slower; relative to the group, a and b did not change and c doubled (a change of c moves no
   other: per run, the middle of a's ratios to b and c, for two the one nearer 0). */
static void test_group_compare(void) {
    cprof_profile *before = cprof__test_profile_new(), *after = cprof__test_profile_new();
    add_member(before, "a", 100, 9, always_slow, 0);
    add_member(before, "b", 200, 9, always_slow, 0);
    add_member(before, "c", 50, 9, always_slow, 0);
    add_member(after, "a", 100, 9, never_slow, 0);
    add_member(after, "b", 200, 9, never_slow, 0);
    add_member(after, "c", 100, 9, never_slow, 0);
    FILE *f = tmpfile();
    CHECK(cprof_bench_compare_write(before, after, f, NULL) == 1); /* the default gate of a group: 50% */
    const char *text = read_back(f);
    CHECK_CONTAINS(text, "Timed in a group (cprof_bench_group) in every run, \"vs its group\": the change is of its time "
                         "relative to the group's others");
    CHECK_CONTAINS(text, "; one run a side, a factor over 50% either way counts\n");
    CHECK_CONTAINS(text, "  a                                  -  180.0 ns  100.0 ns     +0.0%  p=-        unchanged  (vs its group of 3)\n");
    CHECK_CONTAINS(text, "  b                                  -  360.0 ns  200.0 ns     +0.0%  p=-        unchanged  (vs its group of 3)\n");
    CHECK_CONTAINS(text, "  c                                  -   90.0 ns  100.0 ns   +100.0%  p=-        REGRESSED  (vs its group of 3)\n");
    cprof_compare_options o = cprof_compare_defaults();
    CHECK(o.bench_group_single_run_threshold_pct == 50.0 && o.bench_single_run_threshold_pct == 0.0);
    o.bench_group_single_run_threshold_pct = 0; /* no one-run gate: beyond the threshold, within noise */
    f = tmpfile();
    CHECK(cprof_bench_compare_write(before, after, f, &o) == 0);
    text = read_back(f);
    CHECK_CONTAINS(text, "; one run a side, never\n");
    CHECK_CONTAINS(text, "+100.0%  p=-        within noise  (vs its group of 3)\n");
    o.bench_group_single_run_threshold_pct = 101; /* a factor of 2 is 100% */
    f = tmpfile();
    CHECK(cprof_bench_compare_write(before, after, f, &o) == 0);
    (void)read_back(f);
    /* the other way round: c improved, and nothing regressed */
    f = tmpfile();
    CHECK(cprof_bench_compare_write(after, before, f, NULL) == 0);
    CHECK_CONTAINS(read_back(f), "  c                                  -  100.0 ns   90.0 ns    -50.0%  p=-        improved  (vs its group of 3)\n");
    /* c timed alone in after: not in a group in every run, so compared by its medians, as before */
    after->benchmarks[2].group = 0;
    f = tmpfile();
    CHECK(cprof_bench_compare_write(before, after, f, NULL) == 0);
    text = read_back(f);
    CHECK_CONTAINS(text, "  c                                  -   90.0 ns  100.0 ns    +11.1%  p=-        within noise\n");
    CHECK_CONTAINS(text, "  a                                  -  180.0 ns  100.0 ns     +0.0%  p=-        unchanged  (vs its group of 2)\n");
    cprof_profile_free(before);
    cprof_profile_free(after);
    /* Five runs a side, the state changing from round to round and from run to run: c's ratio to a is
       0.5 (1 + 0.02 k) before and 1 + 0.02 k after (run k of a side), so Welch's t-test on the runs' values
       is the test of log(0.5 (1 + 0.02 k)) against log(1 + 0.02 k): p = 3.8606632746610816e-10
       (tests/compare_reference.py), 3 tests: adjusted 1.2e-09; a and b: every run's value 0, p 1. */
    cprof_profile *runs[10];
    for (int r = 0; r < 10; r++) {
        runs[r] = cprof__test_profile_new();
        add_member(runs[r], "a", 100, 11, every_third_slow, r);
        add_member(runs[r], "b", 200, 11, every_third_slow, r);
        add_member(runs[r], "c", (r < 5 ? 50 : 100) * (1 + 0.02 * (r % 5)), 11, every_third_slow, r);
    }
    f = tmpfile();
    CHECK(cprof_bench_compare_runs_write((const cprof_profile *const *)runs, 5, (const cprof_profile *const *)runs + 5, 5, f, NULL) == 1);
    text = read_back(f);
    CHECK_CONTAINS(text, "+100.0%  p=1.2e-09  REGRESSED  (vs its group of 3)\n");
    CHECK_CONTAINS(text, "  a                                  -  100.0 ns  100.0 ns     +0.0%  p=1        unchanged  (vs its group of 3)\n");
    CHECK(strstr(text, "one run a side") == NULL);
    for (int r = 0; r < 10; r++) cprof_profile_free(runs[r]);
}

static void remove_files(void) {
    const char *names[] = {"trip", "trip2", "none", "edit", "run_a", "run_b"};
    for (int i = 0; i < 6; i++)
        if (!keep_dir || strncmp(names[i], "run_", 4) != 0) remove(path_of(names[i]));
}

int main(int argc, char **argv) {
    keep_dir = argc > 1 ? argv[1] : NULL;
    test_statistics();
    test_growth();
    test_iteration_counting();
    test_sweep_order();
    test_group_rounds();
    test_text();
    test_round_trip();
    test_bad_input();
    test_compare();
    test_group_compare();
    cprof_bench_clear();
    remove_files();
    CHECK_DONE();
}
