/* The profile file: exact text, exact round trip, folded stacks and stats to the byte, and every kind
   of bad input refused with FILE:LINE:COL and no crash. */
#include "../cprof.h"
#include "check.h"
#include <stdlib.h>
#include <unistd.h>

/* What a writer wrote, as a string to free(): json_of in check.h, and: */
static char *folded_of(const cprof_profile *p, int thread_frames) {
    char *text;
    size_t length;
    FILE *out = text_stream_open(&text, &length);
    cprof_folded_options o = cprof_folded_defaults();
    o.thread_frames = thread_frames;
    CHECK_EQ_U64(cprof_folded_write(p, out, &o), 0);
    return text_stream_close(out, &text, &length);
}

/* Loading `text` fails, and the error starts with "name:LINE:COL: " and contains `what`. */
static void expect_error(const char *text, const char *what) {
    cprof_profile *p = (cprof_profile *)1;
    CHECK_EQ_U64(cprof_load_string(text, strlen(text), "bad.json", &p), (uint64_t)-1);
    CHECK(p == NULL);
    CHECK_CONTAINS(cprof_error(), what);
    unsigned line = 0, column = 0;
    CHECK_EQ_U64(sscanf(cprof_error(), "bad.json:%u:%u: ", &line, &column), 2);
    CHECK(line >= 1 && column >= 1);
}

/* Each level does 2 µs of work of its own: an empty scope's self time is about 0 once cprof's own cost
   is subtracted, and a folded line needs self time. */
static void recursive(int n) {
    CPROF_SCOPE("rec;ursive\nname");
    busy_wait_ns(2000);
    if (n) recursive(n - 1);
}

int main(void) {
    static const char *const tree[] = {"main 1 100000000", " fast 100 10000000", " slow 10 80000000",
                                       "  helper 1000 30000000", NULL};
    cprof_profile *p = build_profile(tree);
    p->sites[1].name = "a\"b\\c\td\x01\xff";
    p->nodes[2].sum_sq_ns2 = 1e12 / 3;
    cprof__test_derive(p); /* the functions take the new name */
    char *text = json_of(p);
    CHECK_CONTAINS(text, "{\n  \"format\": \"cprof profile\",\n  \"version\": \"1.4\",\n  \"program\": \"synthetic\",\n"
                         "  \"start_unix_ns\": 0,\n  \"wall_ns\": 100000000,\n  \"run_ns\": 100000000,\n"
                         "  \"timer\": \"clock_gettime\",\n  \"timer_hz\": 1000000000,\n");
    CHECK_CONTAINS(text, "  \"threads\": [\n    {\"id\": 1, \"name\": \"main\", \"root\": 0, \"exited\": 0}\n  ],\n");
    CHECK_CONTAINS(text, "{\"name\": \"a\\\"b\\\\c\\td\\u0001\xEF\xBF\xBD\", \"function\": \"fast\"");
    CHECK_CONTAINS(text, "    {\"site\": null, \"parent\": null, \"calls\": 0, \"total_ns\": 100000000, \"min_ns\": 0, "
                         "\"max_ns\": 0, \"open\": 0, \"sum_sq_ns2\": 0},\n"
                         "    {\"site\": 0, \"parent\": 0, \"calls\": 1, \"total_ns\": 100000000, \"min_ns\": 100000000, "
                         "\"max_ns\": 100000000, \"open\": 0, \"sum_sq_ns2\": 10000000000000000},\n"
                         "    {\"site\": 1, \"parent\": 1, \"calls\": 100, \"total_ns\": 10000000, \"min_ns\": 100000, "
                         "\"max_ns\": 100000, \"open\": 0, \"sum_sq_ns2\": 333333333333.33331},\n");

    /* round trip: load gives the same numbers, and saving again gives the same bytes */
    cprof_profile *loaded = NULL;
    CHECK_EQ_U64(cprof_load_string(text, strlen(text), "synthetic.json", &loaded), 0);
    CHECK(loaded != NULL);
    if (loaded) {
        char *again = json_of(loaded);
        CHECK_EQ_STR(again, text);
        free(again);
        CHECK_EQ_U64(loaded->node_count, p->node_count);
        for (size_t i = 0; i < p->node_count && i < loaded->node_count; i++) {
            CHECK_EQ_U64(loaded->nodes[i].calls, p->nodes[i].calls);
            CHECK_EQ_U64(loaded->nodes[i].total_ns, p->nodes[i].total_ns);
            CHECK_EQ_U64(loaded->nodes[i].self_ns, p->nodes[i].self_ns);
            CHECK_EQ_U64(loaded->nodes[i].depth, p->nodes[i].depth);
            CHECK_EQ_U64(loaded->nodes[i].first_child, p->nodes[i].first_child);
            CHECK_EQ_U64(loaded->nodes[i].next_sibling, p->nodes[i].next_sibling);
            CHECK(loaded->nodes[i].sum_sq_ns2 == p->nodes[i].sum_sq_ns2);
        }
        CHECK_EQ_STR(report_text(loaded, NULL), report_text(p, NULL));
        cprof_profile_free(loaded);
    }

    /* folded: one line per stack with self time, sorted bytewise; ';' and newlines in names replaced */
    p->sites[1].name = "fast";
    cprof__test_derive(p);
    char *folded = folded_of(p, 0);
    CHECK_EQ_STR(folded, "main 10000000\nmain;fast 10000000\nmain;slow 50000000\nmain;slow;helper 30000000\n");
    free(folded);
    folded = folded_of(p, 1);
    CHECK_EQ_STR(folded, "[thread main];main 10000000\n[thread main];main;fast 10000000\n[thread main];main;slow 50000000\n"
                         "[thread main];main;slow;helper 30000000\n");
    free(folded);

    /* stats: a header and one row per function, in the order of self time */
    FILE *f = tmpfile();
    CHECK(f && cprof_stats_write(p, f) == 0);
    if (f) {
        char stats[2048];
        rewind(f);
        size_t n = fread(stats, 1, sizeof stats - 1, f);
        stats[n] = '\0';
        fclose(f);
        CHECK_EQ_STR(stats,
                     "function\tcalls\ttotal_ns\tself_ns\tavg_ns\tmin_ns\tmax_ns\tpct_total\tpct_self\tfile\tline\n"
                     "slow\t10\t80000000\t50000000\t8000000\t8000000\t8000000\t80.000\t50.000\tsynthetic.c\t3\n"
                     "helper\t1000\t30000000\t30000000\t30000\t30000\t30000\t30.000\t30.000\tsynthetic.c\t4\n"
                     "main\t1\t100000000\t10000000\t100000000\t100000000\t100000000\t100.000\t10.000\tsynthetic.c\t1\n"
                     "fast\t100\t10000000\t10000000\t100000\t100000\t100000\t10.000\t10.000\tsynthetic.c\t2\n");
    }

    /* bad input, each refused with its place */
    expect_error("", "bad.json:1:1: empty file");
    expect_error("   \n  ", "bad.json:2:3: empty file");
    expect_error("[1, 2]", "a profile is a JSON object");
    expect_error("{\"format\": \"cprof profile\", \"version\": \"2.0\"}", "format version 2.0 is not one this cprof reads");
    expect_error("{\"format\": \"something else\", \"version\": \"1.1\"}", "not a cprof profile");
    /* one edit of the good file each, and what the loader must say about it */
    static const char *const edits[][3] = {
        {"\"calls\": 100,", "\"calls\": \"100\",", "nodes[].calls: expected a number"},
        {"\"calls\": 100,", "\"calls\": 18446744073709551616,", "found 18446744073709551616"},
        {"\"calls\": 100,", "\"calls\": -1,", "found -1"},
        {"\"calls\": 100,", "\"calls\": 1.5,", "found 1.5"},
        {"{\"site\": 1, \"parent\": 1,", "{\"site\": 1, \"parent\": 7,", "nodes[].parent: 7 is out of range"},
        {"{\"site\": 1, \"parent\": 1,", "{\"site\": 1, \"parent\": 2,", "nodes[].parent: 2 is out of range"}, /* itself */
        {"{\"site\": 1, \"parent\": 1,", "{\"site\": 9, \"parent\": 1,", "nodes[].site: 9 is out of range"},
        {"\"name\": \"main\", \"root\": 0", "\"name\": \"main\", \"root\": 3", "threads[0].root: 3 is not a root node"},
        {"\"function\": \"fast\"", "\"function\": \"fa\xC3\x28st\"", "invalid UTF-8 in a string"},
        {"\"function\": \"fast\"", "\"function\": \"fa\\u0000st\"", "invalid escape in a string"},
        {"\"function\": \"fast\"", "\"function\": \"fa\\ud800st\"", "invalid escape in a string"},
    };
    char *bad;
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        bad = replace(text, edits[e][0], edits[e][1]);
        expect_error(bad, edits[e][2]);
        free(bad);
    }
    bad = replace(text, "\"sites\": [", "\"unknown_field\": {\"nested\": [1, 2, {\"x\": null}]}, \"sites\": [");
    cprof_profile *tolerant = NULL;
    CHECK_EQ_U64(cprof_load_string(bad, strlen(bad), "future.json", &tolerant), 0); /* unknown fields ignored */
    cprof_profile_free(tolerant);
    free(bad);
    bad = replace(text, "\"version\": \"1.4\"", "\"version\": \"1.7\"");
    CHECK_EQ_U64(cprof_load_string(bad, strlen(bad), "minor.json", &tolerant), 0); /* a newer minor version loads */
    cprof_profile_free(tolerant);
    free(bad);
    {
        enum { DEPTH = 100000 };
        char *deep = (char *)malloc(2 * DEPTH + 1);
        memset(deep, '[', DEPTH);
        memset(deep + DEPTH, ']', DEPTH);
        deep[2 * DEPTH] = '\0';
        expect_error(deep, "nested deeper than 64 levels");
        free(deep);
    }
    /* truncated at every byte: always refused, never a crash */
    size_t length = strlen(text);
    for (size_t cut = 0; cut + 2 < length; cut++) {
        cprof_profile *partial = NULL;
        check_count++;
        if (cprof_load_string(text, cut, "cut.json", &partial) != -1 || partial) {
            fprintf(stderr, "truncated at %zu: accepted\n", cut);
            check_failures++;
        }
    }
    CHECK_EQ_U64(cprof_load("/nonexistent/profile.json", &loaded), (uint64_t)-1);
    CHECK_CONTAINS(cprof_error(), "/nonexistent/profile.json: cannot open: No such file or directory");
    free(text);
    cprof_profile_free(p);

    /* a live profile: save to a file, load, save again: the same bytes; folded grammar and sums */
    cprof_reset();
    recursive(3);
    cprof_profile *live = cprof_capture();
    char path1[64], path2[64];
    snprintf(path1, sizeof path1, "/tmp/cprof_test_json_%d_1.json", (int)getpid());
    snprintf(path2, sizeof path2, "/tmp/cprof_test_json_%d_2.json", (int)getpid());
    CHECK_EQ_U64(cprof_save(live, path1), 0);
    CHECK_EQ_U64(cprof_load(path1, &loaded), 0);
    CHECK_EQ_U64(cprof_save(loaded, path2), 0);
    char *t1 = read_text_file(path1);
    t1 = t1 ? strdup(t1) : NULL;
    const char *t2 = read_text_file(path2);
    CHECK(t1 && t2 && strlen(t1) > 100 && strcmp(t1, t2) == 0);
    free(t1);
    remove(path1);
    remove(path2);
    folded = folded_of(loaded, 0);
    uint64_t sum = 0;
    int lines = 0;
    for (char *line = strtok(folded, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        char *space = strrchr(line, ' ');
        CHECK(space && space > line);
        if (!space) continue;
        char *end;
        unsigned long long value = strtoull(space + 1, &end, 10);
        CHECK(*end == '\0' && value > 0);
        sum += value;
        *space = '\0';
        CHECK(strstr(line, ";;") == NULL && line[0] != ';');
        CHECK(strchr(line, '\n') == NULL);
    }
    CHECK_EQ_U64(lines, 4);
    CHECK_EQ_U64(sum, loaded->run_ns);
    free(folded);
    folded = folded_of(loaded, 0);
    CHECK_CONTAINS(folded, "rec:ursive name;rec:ursive name;rec:ursive name;rec:ursive name ");
    free(folded);
    cprof_profile_free(loaded);
    cprof_profile_free(live);
    CHECK_DONE();
}
