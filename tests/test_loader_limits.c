/* The loader's limits and the writers' bounds: a call tree deeper than the limit is refused with its
   position, one at the limit is written in space linear in its nodes; small maxima, duplicate members,
   nesting, huge numbers and files that are not regular files. */
#include "../cprof.h"
#include "check.h"
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The deepest call tree cprof reads (README, Limitations). */
#define TREE_DEPTH_LIMIT 2048

/* A profile whose call tree is one chain `depth` deep; names all different, or all "f". */
static char *chain_profile(uint32_t depth, int distinct) {
    size_t capacity = 400 + (size_t)depth * 300, length = 0;
    char *text = (char *)malloc(capacity);
    length += (size_t)snprintf(text + length, capacity - length,
                               "{\"format\": \"cprof profile\", \"version\": \"1.0\", \"program\": \"x\", \"start_unix_ns\": 0, "
                               "\"wall_ns\": 1, \"timer\": \"clock_gettime\", \"timer_hz\": 1e9, \"dropped_scopes\": 0, "
                               "\"messages_dropped\": 0, \"profiler_bytes\": 0,\n\"threads\": [{\"id\": 1, \"name\": \"main\", "
                               "\"root\": 0, \"exited\": 0}],\n\"sites\": [");
    for (uint32_t i = 0; i < (distinct ? depth : 1); i++)
        length += (size_t)snprintf(text + length, capacity - length, "%s{\"name\": \"f%u\", \"function\": \"f\", "
                                   "\"file\": \"a.c\", \"line\": 1}", i ? ",\n" : "", (unsigned)i);
    length += (size_t)snprintf(text + length, capacity - length, "],\n\"nodes\": [{\"site\": null, \"parent\": null, "
                               "\"calls\": 0, \"total_ns\": 0, \"min_ns\": 0, \"max_ns\": 0, \"open\": 0, \"sum_sq_ns2\": 0}");
    for (uint32_t i = 0; i < depth; i++)
        length += (size_t)snprintf(text + length, capacity - length, ",\n{\"site\": %u, \"parent\": %u, \"calls\": 1, "
                                   "\"total_ns\": %u, \"min_ns\": 1, \"max_ns\": 1, \"open\": 0, \"sum_sq_ns2\": 1}",
                                   distinct ? (unsigned)i : 0u, (unsigned)i, (unsigned)(depth - i));
    snprintf(text + length, capacity - length, "],\n\"messages\": []}\n");
    return text;
}

/* Loading `text` fails with "bad.json:LINE:COL: ..." containing `what`; returns LINE. */
static unsigned expect_refused(const char *text, const char *what) {
    cprof_profile *p = (cprof_profile *)1;
    unsigned line = 0, column = 0;
    CHECK_EQ_U64(cprof_load_string(text, strlen(text), "bad.json", &p), (uint64_t)-1);
    CHECK(p == NULL);
    CHECK_CONTAINS(cprof_error(), what);
    CHECK_EQ_U64(sscanf(cprof_error(), "bad.json:%u:%u: ", &line, &column), 2);
    CHECK(line >= 1 && column >= 1);
    return line;
}

static void test_depth(void) {
    /* 100,000 deep: refused at the first node beyond the limit (nodes[i] is on line 4 + i) */
    char *deep = chain_profile(100000, 0);
    CHECK_EQ_U64(expect_refused(deep, "nodes[2049]: deeper than 2048 levels"), 4 + 2049);
    free(deep);
    /* at the limit: loads, and the report's lines stop growing (the depth is shown instead) */
    char *text = chain_profile(TREE_DEPTH_LIMIT, 1);
    cprof_profile *p = NULL;
    CHECK_EQ_U64(cprof_load_string(text, strlen(text), "limit.json", &p), 0);
    if (p) {
        char *report = (char *)malloc(1 << 24);
        cprof_report_options all = cprof_report_defaults();
        all.tree_min_pct = 0; /* every node */
        size_t length = cprof_report_format(p, report, 1 << 24, &all);
        CHECK(length < (size_t)400 * p->node_count); /* a function row and a tree line a node */
        CHECK_CONTAINS(report, "  [2048] f2047\n");
        CHECK_CONTAINS(report, "                                                              f31\n");
        CHECK_EQ_U64(p->function_count, TREE_DEPTH_LIMIT);
        free(report);
        /* the flame graph draws every level */
        cprof_flamegraph_options every = cprof_flamegraph_defaults();
        every.min_width_pct = 0; /* every frame, however narrow */
        char *svg = NULL;
        size_t svg_length = 0;
        FILE *out = open_memstream(&svg, &svg_length);
        CHECK_EQ_U64(cprof_flamegraph_write(p, out, &every), 0);
        fclose(out);
        CHECK(svg && strstr(svg, "f2047") != NULL && strstr(svg, "levels cut") == NULL);
        free(svg);
        cprof_profile_free(p);
    }
    free(text);
}

/* Folded stacks keep every frame of a chain deeper than the recorder's 512 (600 here: the writer's cost
   is quadratic in the depth, so not at the limit, which would make the test slow under valgrind). */
static void test_folded_depth(void) {
    char *text = chain_profile(600, 1);
    cprof_profile *p = NULL;
    CHECK_EQ_U64(cprof_load_string(text, strlen(text), "chain.json", &p), 0);
    if (p) {
        char *folded = NULL;
        size_t length = 0;
        FILE *out = open_memstream(&folded, &length);
        CHECK_EQ_U64(cprof_folded_write(p, out, NULL), 0);
        fclose(out);
        size_t lines = 0;
        for (size_t i = 0; i < length; i++) lines += folded[i] == '\n';
        CHECK(lines == 600);
        CHECK(folded && strncmp(folded, "f0 1\nf0;f1 1\nf0;f1;f2 1\n", 23) == 0); /* sorted bytewise */
        const char *deepest = folded ? strstr(folded, ";f597;f598;f599 1\n") : NULL;
        while (deepest && deepest > folded && deepest[-1] != '\n') deepest--;
        CHECK(deepest && strncmp(deepest, "f0;f1;f2;", 9) == 0); /* no frame left out */
        free(folded);
        cprof_profile_free(p);
    }
    free(text);
}

/* Recursion counted once, through the linear walk: a -> b -> a -> b, each function's outermost node. */
static void test_recursion_totals(void) {
    static const char *const tree[] = {"a 1 1000", " b 1 800", "  a 1 500", "   b 1 100", " c 1 100", NULL};
    cprof_profile *p = build_profile(tree);
    CHECK(find_function(p, "a") && find_function(p, "a")->total_ns == 1000);
    CHECK(find_function(p, "b") && find_function(p, "b")->total_ns == 800);
    CHECK(find_function(p, "c") && find_function(p, "c")->total_ns == 100);
    cprof_profile_free(p);
}

static void test_fields(void) {
    char *good = chain_profile(2, 0), *bad;
    cprof_profile *p = NULL;
    CHECK_EQ_U64(cprof_load_string(good, strlen(good), "good.json", &p), 0);
    cprof_profile_free(p);
    bad = replace(good, "\"exited\": 0", "\"exited\": 2"); /* 0/1: a digit above the maximum */
    expect_refused(bad, "threads[].exited: expected an integer from 0 to 1, found 2");
    free(bad);
    bad = replace(good, "\"exited\": 0", "\"exited\": 9");
    expect_refused(bad, "threads[].exited: expected an integer from 0 to 1, found 9");
    free(bad);
    bad = replace(good, "\"program\": \"x\",", "\"program\": \"x\", \"program\": \"y\",");
    expect_refused(bad, "duplicate member \"program\"");
    free(bad);
    bad = replace(good, "\"calls\": 0,", "\"calls\": 0, \"calls\": 0,");
    expect_refused(bad, "duplicate member \"calls\"");
    free(bad);
    /* a large object is checked too (sorted, not pairwise) */
    char many[4000] = "{";
    for (int i = 0; i < 100; i++) snprintf(many + strlen(many), sizeof many - strlen(many), "\"k%d\": %d, ", i, i);
    strcat(many, "\"k57\": 0}");
    CHECK_EQ_U64(expect_refused(many, "duplicate member \"k57\""), 1);
    free(good);
    /* nesting: 64 levels are accepted by the parser (then refused as not a profile), 65 are not */
    char nested[200];
    memset(nested, '[', 64), memset(nested + 64, ']', 64), nested[128] = '\0';
    expect_refused(nested, "a profile is a JSON object");
    memset(nested, '[', 65), memset(nested + 65, ']', 65), nested[130] = '\0';
    expect_refused(nested, "nested deeper than 64 levels");
}

/* A counter's "available" and an allocation site's "kind" are small maxima too. */
static void test_small_maxima(void) {
    char *good = chain_profile(1, 0);
    char *counters = replace(good, "\"profiler_bytes\": 0,", "\"profiler_bytes\": 0, \"counter_reader\": \"\", "
                             "\"counters\": [{\"name\": \"x\", \"available\": 2, \"reason\": \"\", \"running_ratio\": 1}],");
    expect_refused(counters, "counters[].available: expected an integer from 0 to 1, found 2");
    free(counters);
    free(good);
}

/* Huge loaded values reach the writers' conversions without undefined behaviour (UBSan checks it). */
static void test_huge_values(void) {
    char *good = chain_profile(2, 0);
    char *huge = replace(good, "\"wall_ns\": 1,", "\"wall_ns\": 18446744073709551615,");
    cprof_profile *p = NULL, *q = NULL;
    CHECK_EQ_U64(cprof_load_string(huge, strlen(huge), "huge.json", &p), 0);
    CHECK_EQ_U64(cprof_load_string(good, strlen(good), "good.json", &q), 0);
    if (p && q) {
        cprof_comparison *c = cprof_compare(p, q, NULL);
        char text[8192];
        FILE *null = fopen("/dev/null", "w");
        CHECK(c != NULL && null != NULL);
        if (c && null) CHECK_EQ_U64(cprof_comparison_write(c, null), 0); /* "Wall time: ..." */
        if (null) fclose(null);
        cprof_report_format(p, text, sizeof text, NULL);
        CHECK_CONTAINS(text, "wall time 18446744073.710 s");
        cprof_comparison_free(c);
    }
    CHECK_EQ_U64(cprof__test_u64_rounded(1e308), UINT64_MAX);
    CHECK_EQ_U64(cprof__test_u64_rounded(18446744073709551615.0), UINT64_MAX);
    CHECK_EQ_U64(cprof__test_u64_rounded(-1.0), 0);
    CHECK_EQ_U64(cprof__test_u64_rounded(2.5), 3);
    cprof_profile_free(p);
    cprof_profile_free(q);
    free(huge);
    free(good);
}

/* Only regular files are read: a FIFO without a writer must not block, /dev/zero must not be read. */
static void test_files(void) {
    char fifo[64];
    cprof_profile *p = (cprof_profile *)1;
    snprintf(fifo, sizeof fifo, "/tmp/cprof_test_loader_%d.fifo", (int)getpid());
    remove(fifo);
    CHECK_EQ_U64(mkfifo(fifo, 0600), 0);
    CHECK_EQ_U64(cprof_load(fifo, &p), (uint64_t)-1);
    CHECK(p == NULL);
    CHECK_CONTAINS(cprof_error(), ": not a regular file");
    remove(fifo);
    CHECK_EQ_U64(cprof_load("/dev/zero", &p), (uint64_t)-1);
    CHECK_CONTAINS(cprof_error(), "/dev/zero: not a regular file");
    CHECK_EQ_U64(cprof_load("/tmp", &p), (uint64_t)-1);
    CHECK_CONTAINS(cprof_error(), "/tmp: not a regular file");
}

int main(void) {
    test_depth();
    test_folded_depth();
    test_recursion_totals();
    test_fields();
    test_small_maxima();
    test_huge_values();
    test_files();
    CHECK_DONE();
}
