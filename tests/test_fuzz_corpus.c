/* The loader's and the writers' fuzz target. Built by `make fuzz` (the loader) and `make fuzz-writers`
   (the same target with tests/hostile.dict: hostile strings inside profiles) with clang
   -fsanitize=fuzzer,address (CPROF_FUZZING); in the test matrix its main() feeds every file of
   tests/corpus through the same function, so each input the fuzzer ever kept stays a regression test.
   Besides crashes it stops on a broken escape: a text output a terminal would act on, an SVG with a
   script or CDATA end that is not cprof's, a JSON file that does not save again to the same bytes. */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "check.h"
#include <dirent.h>
#include <stdlib.h>

/* A property of the output; the fuzzer aborts on the first that does not hold, the test counts them. */
static void expect(int holds, const char *what, const cprof__buf *output) {
    check_count++;
    if (holds) return;
    fprintf(stderr, "broken: %s\n%s\n", what, output && output->data ? output->data : "");
    check_failures++;
#ifdef CPROF_FUZZING
    abort();
#endif
}

static size_t occurrences(const char *text, const char *part) {
    size_t count = 0;
    for (const char *at = text ? strstr(text, part) : NULL; at; at = strstr(at + 1, part)) count++;
    return count;
}

/* One text output: built, checked, freed. kind: 0 report, 1 stats, 2 folded, 3 folded with threads,
   4 leaks, 5 bench, 6 analysis, 7 diff, 8 bench diff. */
static void write_text(const cprof_profile *p, int kind) {
    static const char *const names[] = {"report", "stats", "folded", "folded --threads", "leaks", "bench",
                                        "analysis", "diff", "bench diff"};
    cprof__buf b;
    memset(&b, 0, sizeof b);
    cprof_report_options o = cprof_report_defaults();
    cprof_folded_options threads = cprof_folded_defaults();
    o.tree_min_pct = 0;
    threads.thread_frames = 1;
    if (kind == 0) cprof__report_build(&b, p, &o);
    if (kind == 1) cprof__stats_build(&b, p);
    if (kind == 2 || kind == 3) cprof__folded_build(&b, p, kind == 3 ? &threads : NULL);
    if (kind == 4) cprof__report_leaks(&b, p);
    if (kind == 5) cprof__bench_build(&b, p);
    if (kind == 6) {
        cprof_findings *f = cprof_analyze(p, NULL);
        if (f) cprof__analysis_build(&b, f);
        cprof_findings_free(f);
    }
    if (kind == 7) {
        cprof_comparison *c = cprof_compare(p, p, NULL);
        if (c) cprof__comparison_build(&b, c);
        cprof_comparison_free(c);
    }
    if (kind == 8) cprof__bench_compare_build(&b, p, p, 5.0, 0.05);
    expect(!b.data || check_terminal_safe(b.data, kind == 1), names[kind], &b);
    cprof__buf_free(&b);
}

/* The flame graph, also with a counter of the profile as the metric and a scope's name as the title. */
static void write_svg(const cprof_profile *p) {
    cprof_flamegraph_options o = cprof_flamegraph_defaults();
    for (int pass = 0; pass < 2; pass++) {
        cprof__buf b;
        memset(&b, 0, sizeof b);
        if (pass == 1 && p->counter_count) o.metric = p->counters[0].name;
        if (pass == 1 && p->site_count) o.title = p->sites[0].name;
        if (cprof__flamegraph_build(&b, NULL, p, &o) == 0)
            expect(occurrences(b.data, "<script") == 1 && occurrences(b.data, "]]>") == 2 &&
                   check_terminal_safe(b.data, 0), "svg", &b);
        cprof__buf_free(&b);
    }
}

/* save -> load -> save: the same bytes. */
static void write_json_again(const cprof_profile *p) {
    cprof__buf first, second;
    cprof_profile *again = NULL;
    memset(&first, 0, sizeof first);
    memset(&second, 0, sizeof second);
    cprof__json_build(&first, p);
    expect(first.data && cprof_load_string(first.data, first.length, "saved", &again) == 0, "json loads again", &first);
    if (again) cprof__json_build(&second, again);
    expect(!again || (first.length == second.length && memcmp(first.data, second.data, first.length) == 0),
           "json saves again to the same bytes", &second);
    expect(!first.data || check_terminal_safe(first.data, 0), "json", &first);
    cprof_profile_free(again);
    cprof__buf_free(&first);
    cprof__buf_free(&second);
}

/* Load, and when the input is a valid profile, run every writer over it. */
static int load_and_write(const uint8_t *data, size_t size) {
    cprof_profile *p = NULL;
    if (cprof_load_string((const char *)data, size, "fuzz", &p) != 0) {
        expect(check_terminal_safe(cprof_error(), 0) && !strchr(cprof_error(), '\n'), cprof_error(), NULL);
        return 0;
    }
    for (int kind = 0; kind <= 8; kind++) write_text(p, kind);
    write_svg(p);
    write_json_again(p);
    cprof_profile_free(p);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load_and_write(data, size);
    return 0;
}

#ifndef CPROF_FUZZING
int main(void) {
    DIR *dir = opendir("tests/corpus");
    int files = 0, valid = 0;
    if (!dir) {
        fprintf(stderr, "tests/corpus: cannot open (run from the repository's top)\n");
        return 1;
    }
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char path[600];
        size_t length, capacity;
        snprintf(path, sizeof path, "tests/corpus/%s", e->d_name);
        char *text = cprof__read_file(path, &length, &capacity);
        if (!text) continue;
        valid += load_and_write((const uint8_t *)text, length);
        files++;
        cprof__release(text, capacity);
    }
    closedir(dir);
    printf("%d corpus files, %d valid profiles among them, %d of %d properties broken\n", files, valid, check_failures,
           check_count);
    return files >= 5 && valid >= 3 && !check_failures ? 0 : 1;
}
#endif
