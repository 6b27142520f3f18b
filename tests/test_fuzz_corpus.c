/* The loader's and the writers' fuzz target. Built by `make fuzz` (the loader) and `make fuzz-writers`
   (the same target with tests/hostile.dict: hostile strings inside profiles) with clang
   -fsanitize=fuzzer,address (CPROF_FUZZING, and CPROF_IMPLEMENTATION there); in the test matrix its main()
   feeds every file of tests/corpus through the same function, so each input the fuzzer ever kept stays a
   regression test. Besides crashes it stops on a broken property: a writer that fails, a text output a
   terminal would act on, an SVG with a script or CDATA end that is not cprof's, a JSON file that does not
   save again to the same bytes, an error without its position. */
#include "../cprof.h"
#include "check.h"
#include <dirent.h>
#include <stdlib.h>

/* A property of the output; the fuzzer aborts on the first that does not hold, the test counts them. */
static void expect(int holds, const char *what, const char *output) {
    check_count++;
    if (holds) return;
    fprintf(stderr, "broken: %s\n%s\n", what, output ? output : "");
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

/* What a public writer wrote (malloc'ed, to free), and whether it returned success (`*ok`). */
static char *written(const cprof_profile *p, int kind, int *ok) {
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out) return NULL;
    cprof_report_options o = cprof_report_defaults();
    cprof_folded_options threads = cprof_folded_defaults();
    o.tree_min_pct = 0;
    threads.thread_frames = 1;
    int status = 0;
    if (kind == 0) status = cprof_report_write(p, out, &o);
    if (kind == 1) status = cprof_stats_write(p, out);
    if (kind == 2 || kind == 3) status = cprof_folded_write(p, out, kind == 3 ? &threads : NULL);
    if (kind == 4) status = cprof_leaks_write(p, out);
    if (kind == 5) status = cprof_bench_write(p, out);
    if (kind == 6) {
        cprof_findings *f = cprof_analyze(p, NULL);
        status = f ? cprof_analysis_write(f, out) : -1;
        cprof_findings_free(f);
    }
    if (kind == 7) {
        cprof_comparison *c = cprof_compare(p, p, NULL);
        status = c ? cprof_comparison_write(c, out) : -1;
        cprof_comparison_free(c);
    }
    if (kind == 8) status = cprof_bench_compare_write(p, p, out, NULL) < 0 ? -1 : 0;
    if (kind == 9) status = cprof_json_write(p, out);
    if (kind == 10) status = cprof_callgrind_write(p, out);
    if (kind == 11) status = cprof_speedscope_write(p, out);
    if (kind == 12) status = cprof_pprof_write(p, out, 1); /* binary: only its status */
    fclose(out);
    *ok = status == 0;
    return text;
}

/* Every text output: written, terminal-safe (the TSV may hold tabs). kinds as in written(). */
static void write_texts(const cprof_profile *p) {
    static const char *const names[] = {"report", "stats", "folded", "folded --threads", "leaks", "bench",
                                        "analysis", "diff", "bench diff", "json", "callgrind", "speedscope"};
    for (int kind = 0; kind <= 11; kind++) {
        int ok = 0;
        if (kind == 9) continue; /* the JSON has its own checks */
        char *text = written(p, kind, &ok);
        expect(ok && text && check_terminal_safe(text, kind == 1), names[kind], text);
        free(text);
    }
    int ok = 0;
    free(written(p, 12, &ok));
    expect(ok, "pprof", NULL);
}

/* The flame graph, also with a counter of the profile as the metric and a scope's name as the title. */
static void write_svg(const cprof_profile *p) {
    cprof_flamegraph_options o = cprof_flamegraph_defaults();
    for (int pass = 0; pass < 2; pass++) {
        char *text = NULL;
        size_t length = 0;
        FILE *out = open_memstream(&text, &length);
        if (pass == 1 && p->counter_count) o.metric = p->counters[0].name;
        if (pass == 1 && p->site_count) o.title = p->sites[0].name;
        int status = out ? cprof_flamegraph_write(p, out, &o) : -1;
        if (out) fclose(out);
        if (status == 0 || pass == 0)
            expect(status == 0 && occurrences(text, "<script") == 1 && occurrences(text, "]]>") == 2 &&
                   check_terminal_safe(text, 0), "svg", text);
        free(text);
    }
}

/* The memory chart (`cprof memory`): written when the profile has a series (else refused), with the
   same rules as the flame graph: cprof's one script, no CDATA end of a name's, terminal-safe. */
static void write_memory_svg(const cprof_profile *p) {
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    int status = out ? cprof_memory_chart_write(p, out) : -1;
    if (out) fclose(out);
    if (!p->memory_point_count) expect(status == -1, "memory chart refused without a series", text);
    else expect(status == 0 && occurrences(text, "<script") == 1 && occurrences(text, "]]>") == 2 && check_terminal_safe(text, 0),
                "memory svg", text);
    free(text);
}

/* save -> load -> save: the same bytes, and no raw control character in the file. */
static void write_json_again(const cprof_profile *p) {
    int ok = 0, ok_again = 0;
    cprof_profile *again = NULL;
    char *first = written(p, 9, &ok), *second = NULL;
    expect(ok && first && cprof_load_string(first, strlen(first), "saved", &again) == 0, "json loads again", first);
    if (again) second = written(again, 9, &ok_again);
    expect(!again || (ok_again && second && strcmp(first, second) == 0), "json saves again to the same bytes", second);
    expect(!first || check_terminal_safe(first, 0), "json", first);
    cprof_profile_free(again);
    free(first);
    free(second);
}

/* Load, and when the input is a valid profile, run every writer over it: 1. Else 0, the error checked. */
static int load_and_write(const uint8_t *data, size_t size, const char *name) {
    cprof_profile *p = NULL;
    if (cprof_load_string((const char *)data, size, name, &p) != 0) {
        expect(check_terminal_safe(cprof_error(), 0) && !strchr(cprof_error(), '\n'), cprof_error(), NULL);
        return 0;
    }
    write_texts(p);
    write_svg(p);
    write_memory_svg(p);
    write_json_again(p);
    cprof_profile_free(p);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load_and_write(data, size, "fuzz");
    return 0;
}

#ifndef CPROF_FUZZING
/* A whole file, NUL bytes included (malloc'ed, to free); NULL when it cannot be read. */
static char *read_all(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    *length = 0;
    for (size_t capacity = 0, got = 1; f && got > 0;) {
        char *grown = (char *)realloc(text, capacity += 65536);
        if (!grown) break;
        text = grown;
        got = fread(text + *length, 1, capacity - *length, f);
        *length += got;
    }
    if (f) fclose(f);
    return text;
}

/* "FILE:LINE:COL: what": the error of a refused corpus file names it and a position. */
static int positioned(const char *path) {
    char where[640];
    unsigned line = 0, column = 0;
    int position = 0;
    snprintf(where, sizeof where, "%s:%%u:%%u: %%n", path);
    return sscanf(cprof_error(), where, &line, &column, &position) == 2 && line >= 1 && column >= 1 && position > 0 &&
           cprof_error()[position] != '\0';
}

/* Every corpus file is either a profile that keeps every property above, or refused with its position;
   there are some of each. */
int main(void) {
    DIR *dir = opendir("tests/corpus");
    int files = 0, valid = 0, refused = 0;
    if (!dir) {
        fprintf(stderr, "tests/corpus: cannot open (run from the repository's top)\n");
        return 1;
    }
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char path[600];
        snprintf(path, sizeof path, "tests/corpus/%s", e->d_name);
        size_t length;
        char *text = read_all(path, &length);
        expect(text != NULL, path, NULL);
        if (!text) continue;
        files++;
        if (load_and_write((const uint8_t *)text, length, path)) valid++;
        else if (positioned(path)) refused++;
        else expect(0, "refused without FILE:LINE:COL", cprof_error());
        free(text);
    }
    closedir(dir);
    printf("%d corpus files: %d valid profiles, %d refused with FILE:LINE:COL; %d of %d properties broken\n", files,
           valid, refused, check_failures, check_count);
    return files >= 5 && valid >= 3 && refused >= 2 && !check_failures ? 0 : 1;
}
#endif
