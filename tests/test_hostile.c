/* Hostile text in every string of a profile and in the options: every writer escapes it for its format
   (SVG, JSON, text report, analysis, stats, folded, leaks, diff, bench, error messages), and a live
   report equals the report of its saved profile. With `--samples DIR` it writes the hostile SVGs that
   tests/flamegraph_browser.cjs opens in Chromium. */
#include "../cprof.h"
#include "check.h"
#include <stdlib.h>

/* The hostile text as a JSON string's content: markup that would run a script, the end of a CDATA
   section, an attribute, quotes, terminal escapes (clear screen, window title, bell), CR LF, a tab,
   DEL, C1 controls (CSI, NEL), ';' (the folded separator) and a backslash. */
#define HOSTILE "</text><script>document.documentElement.setAttribute('pwned','x')</script><text>]]>" \
                "\\\"onload=\\\"alert(1)\\\" ' \\u001b[2J\\u001b]0;t\\u0007\\r\\nx\\tend\\u007f\\u009b\\u0085;a\\\\b"
#define METRIC "metric x</text><script>document.documentElement.setAttribute('pwned','metric')</script><text>"

/* Every string field of format 1.0 holds HOSTILE (@; with a distinct prefix where names must differ)
   and the first counter is named METRIC (~). */
static const char hostile_template[] =
    "{\"format\": \"cprof profile\", \"version\": \"1.0\", \"program\": \"/bin/@\",\n"
    "\"start_unix_ns\": 1, \"wall_ns\": 1000000, \"run_ns\": 1000000, \"timer\": \"@\", \"timer_hz\": 1e9,\n"
    "\"dropped_scopes\": 0, \"messages_dropped\": 0, \"profiler_bytes\": 0, \"counter_reader\": \"@\",\n"
    "\"counters\": [{\"name\": \"~\", \"available\": 1, \"reason\": \"\", \"running_ratio\": 1},\n"
    "  {\"name\": \"c@\", \"available\": 0, \"reason\": \"@\", \"running_ratio\": 0}],\n"
    "\"threads\": [{\"id\": 1, \"name\": \"t1@\", \"root\": 0, \"exited\": 0},\n"
    "  {\"id\": 2, \"name\": \"t2@\", \"root\": 3, \"exited\": 1}],\n"
    "\"sites\": [{\"name\": \"a@\", \"function\": \"f@\", \"file\": \"@.c\", \"line\": 1},\n"
    "  {\"name\": \"b@\", \"function\": \"g@\", \"file\": \"@.c\", \"line\": 2}],\n"
    "\"nodes\": [{\"site\": null, \"parent\": null, \"calls\": 0, \"total_ns\": 600000, \"min_ns\": 0, \"max_ns\": 0, \"open\": 0, \"sum_sq_ns2\": 0, \"alloc_count\": 0, \"alloc_bytes\": 0, \"counters\": [0, 0]},\n"
    "  {\"site\": 0, \"parent\": 0, \"calls\": 2, \"total_ns\": 600000, \"min_ns\": 200000, \"max_ns\": 400000, \"open\": 0, \"sum_sq_ns2\": 2e11, \"alloc_count\": 1, \"alloc_bytes\": 100, \"counters\": [50, 0]},\n"
    "  {\"site\": 1, \"parent\": 1, \"calls\": 3, \"total_ns\": 300000, \"min_ns\": 100000, \"max_ns\": 100000, \"open\": 0, \"sum_sq_ns2\": 3e10, \"alloc_count\": 0, \"alloc_bytes\": 0, \"counters\": [20, 0]},\n"
    "  {\"site\": null, \"parent\": null, \"calls\": 0, \"total_ns\": 400000, \"min_ns\": 0, \"max_ns\": 0, \"open\": 0, \"sum_sq_ns2\": 0, \"alloc_count\": 0, \"alloc_bytes\": 0, \"counters\": [0, 0]},\n"
    "  {\"site\": 1, \"parent\": 3, \"calls\": 1, \"total_ns\": 400000, \"min_ns\": 400000, \"max_ns\": 400000, \"open\": 1, \"sum_sq_ns2\": 1.6e11, \"alloc_count\": 0, \"alloc_bytes\": 0, \"counters\": [30, 0]}],\n"
    "\"allocations\": {\"allocations\": 1, \"frees\": 0, \"bytes_allocated\": 100, \"bytes_freed\": 0, \"live_blocks\": 1, "
    "\"live_bytes\": 100, \"peak_live_bytes\": 100, \"temporary\": 0, \"unknown_frees\": 1, \"double_frees\": 0, \"peak_node\": 1,\n"
    "  \"size_histogram\": [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],\n"
    "  \"sites\": [{\"file\": \"@.c\", \"function\": \"h@\", \"line\": 3, \"kind\": 0, \"node\": 1, \"origin\": null, "
    "\"count\": 1, \"bytes\": 100, \"live_count\": 1, \"live_bytes\": 100, \"peak_live_bytes\": 100, \"temporary\": 0, \"max_bytes\": 100}],\n"
    "  \"free_problems\": [{\"file\": \"@.c\", \"function\": \"k@\", \"line\": 4, \"kind\": 1, \"node\": 2, \"origin\": 0, "
    "\"count\": 1, \"bytes\": 0, \"live_count\": 0, \"live_bytes\": 0, \"peak_live_bytes\": 0, \"temporary\": 0, \"max_bytes\": 0}]},\n"
    "\"functions\": [],\n"
    "\"messages\": [{\"file\": \"@.c\", \"line\": 5, \"text\": \"@\"}],\n"
    "\"benchmarks\": [\n"
    "  {\"name\": \"task@/one@\", \"n\": 10, \"items\": 1, \"bytes\": 1, \"warmup_iterations\": 1, \"iterations\": 3, \"batch\": 1,\n"
    "   \"median_ns\": 10, \"mean_ns\": 10, \"stddev_ns\": 0, \"mad_ns\": 0, \"outliers\": 0, \"samples_ns\": [10, 10, 10]},\n"
    "  {\"name\": \"task@/two@\", \"n\": 10, \"items\": 1, \"bytes\": 1, \"warmup_iterations\": 1, \"iterations\": 3, \"batch\": 1,\n"
    "   \"median_ns\": 20, \"mean_ns\": 20, \"stddev_ns\": 0, \"mad_ns\": 0, \"outliers\": 0, \"samples_ns\": [20, 20, 20]},\n"
    "  {\"name\": \"task@/one@\", \"n\": 100, \"items\": 1, \"bytes\": 1, \"warmup_iterations\": 1, \"iterations\": 3, \"batch\": 1,\n"
    "   \"median_ns\": 100, \"mean_ns\": 100, \"stddev_ns\": 0, \"mad_ns\": 0, \"outliers\": 0, \"samples_ns\": [100, 100, 100]}]}\n";

/* The hostile profile; a site also gets bytes that are not UTF-8 (a JSON file cannot carry them). */
static cprof_profile *hostile_profile(void) {
    static char json[16384];
    size_t length = 0;
    for (const char *t = hostile_template; *t && length + 512 < sizeof json; t++) {
        const char *part = *t == '@' ? HOSTILE : *t == '~' ? METRIC : NULL;
        if (part) memcpy(json + length, part, strlen(part)), length += strlen(part);
        else json[length++] = *t;
    }
    cprof_profile *p = NULL;
    if (cprof_load_string(json, length, "hostile.json", &p) != 0) {
        fprintf(stderr, "hostile.json: %s\n", cprof_error());
        return NULL;
    }
    p->sites[1].file = cprof__test_string(p, "bad\xff\xc3(\xed\xa0\x80\xf8.c");
    return p;
}

/* The same with every counter value 0: the flame graph of a counter draws no frame and says so. */
static cprof_profile *uncounted_profile(void) {
    cprof_profile *p = hostile_profile();
    for (size_t i = 0; p && i < p->node_count * p->counter_count; i++) p->node_counters[i].total = p->node_counters[i].self = 0;
    return p;
}

/* What a writer wrote into a FILE, as one string (free() it). */
typedef int (*writer)(const cprof_profile *, FILE *);
static char *read_back(FILE *f) {
    long size = ftell(f);
    char *text = (char *)calloc(1, size > 0 ? (size_t)size + 1 : 1);
    rewind(f);
    if (size > 0 && fread(text, 1, (size_t)size, f) != (size_t)size) text[0] = '\0';
    fclose(f);
    return text;
}

static char *output_of(writer w, const cprof_profile *p) {
    FILE *f = tmpfile();
    CHECK_EQ_U64(w(p, f), 0);
    return read_back(f);
}

/* The writer writes the same bytes (NULs included) for both profiles. */
static int same_bytes(writer w, const cprof_profile *x, const cprof_profile *y) {
    char *text[2] = {NULL, NULL};
    size_t length[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        FILE *f = text_stream_open(&text[i], &length[i]);
        CHECK_EQ_U64(w(i ? y : x, f), 0);
        text_stream_close(f, &text[i], &length[i]);
    }
    int same = length[0] == length[1] && length[0] > 0 && memcmp(text[0], text[1], length[0]) == 0;
    free(text[0]);
    free(text[1]);
    return same;
}

static int report_writer(const cprof_profile *p, FILE *f) { return cprof_report_write(p, f, NULL); }
static int folded_writer(const cprof_profile *p, FILE *f) { return cprof_folded_write(p, f, NULL); }
static int folded_threads_writer(const cprof_profile *p, FILE *f) {
    cprof_folded_options o = cprof_folded_defaults();
    o.thread_frames = 1;
    return cprof_folded_write(p, f, &o);
}
static int folded_calls_writer(const cprof_profile *p, FILE *f) {
    cprof_folded_options o = cprof_folded_defaults();
    o.thread_frames = 1;
    o.metric = "calls";
    return cprof_folded_write(p, f, &o);
}
static int pprof_writer(const cprof_profile *p, FILE *f) { return cprof_pprof_write(p, f, 0); }
static int analysis_writer(const cprof_profile *p, FILE *f) {
    cprof_findings *x = cprof_analyze(p, NULL);
    int result = cprof_analysis_write(x, f);
    cprof_findings_free(x);
    return result;
}
static int analysis_json_writer(const cprof_profile *p, FILE *f) {
    cprof_findings *x = cprof_analyze(p, NULL);
    int result = cprof_analysis_json_write(x, f);
    cprof_findings_free(x);
    return result;
}
static int diff_writer(const cprof_profile *p, FILE *f) {
    cprof_comparison *c = cprof_compare(p, p, NULL);
    int result = cprof_comparison_write(c, f);
    cprof_comparison_free(c);
    return result;
}
static int bench_compare_writer(const cprof_profile *p, FILE *f) { return cprof_bench_compare_write(p, p, f, NULL) < 0; }

static size_t count_of(const char *text, const char *part) {
    size_t count = 0;
    for (const char *at = strstr(text, part); at; at = strstr(at + 1, part)) count++;
    return count;
}

/* Tags outside CDATA: none named script but cprof's one, no attribute starting with "on". */
static void check_svg_markup(const char *svg) {
    CHECK_EQ_U64(count_of(svg, "<script"), 1);
    CHECK_EQ_U64(count_of(svg, "]]>"), 2); /* the style's and the script's CDATA sections */
    CHECK(check_terminal_safe(svg, 0));
    CHECK(strstr(svg, "pwned") == NULL || strstr(svg, "setAttribute('pwned'") == NULL);
    for (const char *s = svg; (s = strchr(s, '<')) != NULL; s++) {
        if (strncmp(s, "<![CDATA[", 9) == 0) {
            s = strstr(s, "]]>");
            if (!s) break;
            continue;
        }
        const char *end = strchr(s, '>');
        if (!end) break;
        for (const char *a = s; a < end; a++) /* an attribute name follows a space */
            if (a[0] == ' ' && (a[1] == 'o' || a[1] == 'O') && (a[2] == 'n' || a[2] == 'N')) {
                fprintf(stderr, "on* attribute in: %.*s\n", (int)(end - s + 1), s);
                CHECK(0);
            }
    }
}

static char *svg_of(const cprof_profile *p, const cprof_flamegraph_options *o) {
    FILE *f = tmpfile();
    CHECK_EQ_U64(cprof_flamegraph_write(p, f, o), 0);
    return read_back(f);
}

static char *diff_svg_of(const cprof_profile *p, const cprof_flamegraph_options *o) {
    FILE *f = tmpfile();
    CHECK_EQ_U64(cprof_diff_flamegraph_write(p, p, f, o, 0), 0);
    return read_back(f);
}

/* The flame graph with the metric and the title given through the API (issue 23: a counter's name
   from the loaded profile as the metric reached the subtitle unescaped), and the differential one. */
static void test_svg(const cprof_profile *p) {
    cprof_flamegraph_options o = cprof_flamegraph_defaults();
    char *svg = svg_of(p, NULL);
    check_svg_markup(svg);
    free(svg);
    o.metric = p->counters[0].name;
    o.title = p->sites[0].name;
    svg = svg_of(p, &o);
    check_svg_markup(svg);
    CHECK_CONTAINS(svg, "metric metric x&lt;/text&gt;&lt;script&gt;");
    free(svg);
    svg = diff_svg_of(p, &o);
    check_svg_markup(svg);
    free(svg);
    cprof_profile *uncounted = uncounted_profile(); /* "Nothing was recorded for the metric ..." */
    if (uncounted) {
        o.metric = uncounted->counters[0].name;
        svg = svg_of(uncounted, &o);
        check_svg_markup(svg);
        CHECK_CONTAINS(svg, "Nothing was recorded for the metric metric x&lt;/text&gt;");
        free(svg);
    }
    cprof_profile_free(uncounted);
}

/* save -> load -> save gives the same bytes, and the file is terminal-safe too (\u escapes). */
static void test_json(const cprof_profile *p) {
    char *first = output_of(cprof_json_write, p);
    cprof_profile *again = NULL;
    CHECK_EQ_U64(cprof_load_string(first, strlen(first), "saved.json", &again), 0);
    if (!again) return;
    char *second = output_of(cprof_json_write, again);
    CHECK_EQ_STR(first, second);
    CHECK(check_terminal_safe(first, 0));
    CHECK_CONTAINS(first, "\\u001b[2J\\u001b]0;t\\u0007\\r\\nx\\tend\\u007f\\u009b\\u0085;a\\\\b");
    free(first);
    free(second);
    cprof_profile_free(again);
}

/* Every text writer: nothing a terminal acts on, the escapes visible, one row per function. */
static void test_text_writers(const cprof_profile *p) {
    static const struct { const char *name; writer w; int tab_allowed; } writers[] = {
        {"report", report_writer, 0},     {"analysis", analysis_writer, 0}, {"stats", cprof_stats_write, 1},
        {"folded", folded_writer, 0},     {"folded --threads", folded_threads_writer, 0},
        {"leaks", cprof_leaks_write, 0},  {"diff", diff_writer, 0},         {"bench", cprof_bench_write, 0},
        {"bench diff", bench_compare_writer, 0}, {"analysis json", analysis_json_writer, 0},
        {"folded --metric=calls", folded_calls_writer, 0}, {"callgrind", cprof_callgrind_write, 0},
        {"speedscope", cprof_speedscope_write, 0}};
    for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++) {
        char *text = output_of(writers[i].w, p);
        if (!check_terminal_safe(text, writers[i].tab_allowed)) fprintf(stderr, "%s is not terminal-safe:\n%s\n", writers[i].name, text);
        CHECK(check_terminal_safe(text, writers[i].tab_allowed));
        CHECK(text[0] != '\0');
        free(text);
    }
    char *report = output_of(report_writer, p);
    CHECK_CONTAINS(report, "\\x1b[2J\\x1b]0;t\\x07\\x0d\\x0ax\\x09end\\x7f\\u009b\\u0085;a\\b");
    CHECK_CONTAINS(report, "bad\xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD.c:2)");
    free(report);
    char *stats = output_of(cprof_stats_write, p); /* every row has the header's tabs */
    size_t lines = 0, tabs = 0;
    for (const char *c = stats; *c; c++) tabs += *c == '\t', lines += *c == '\n';
    CHECK_EQ_U64(lines, 1 + p->function_count);
    CHECK_EQ_U64(tabs, lines * (10 + p->counter_count));
    free(stats);
    char *folded = output_of(folded_threads_writer, p); /* t1;a, t1;a;b, t2;b: the names' ';' became ':' */
    size_t separators[3] = {0, 0, 0}, line = 0;
    for (const char *c = folded; *c && line < 3; c++) {
        if (*c == '\n') line++;
        else separators[line] += *c == ';';
    }
    CHECK_EQ_U64(count_of(folded, "\n"), 3);
    CHECK(separators[0] == 1 && separators[1] == 2 && separators[2] == 1);
    free(folded);
}

/* The loader's messages quote what they read: shown, never sent to the terminal as is. */
static void test_error_messages(void) {
    static const char bad_format[] = "{\"format\": \"\\u001b[2J\\u0007x\", \"version\": \"1.0\"}";
    static const char bad_version[] = "{\"format\": \"cprof profile\", \"version\": \"9\\u001b[2J\\n\"}";
    static const char bad_character[] = "{\"format\": \x1b[2J}";
    const char *inputs[] = {bad_format, bad_version, bad_character};
    for (size_t i = 0; i < 3; i++) {
        cprof_profile *p = NULL;
        CHECK_EQ_U64(cprof_load_string(inputs[i], strlen(inputs[i]), "evil\x1b]0;t\x07.json", &p), (uint64_t)-1);
        CHECK(check_terminal_safe(cprof_error(), 0) && strchr(cprof_error(), '\n') == NULL);
        CHECK_CONTAINS(cprof_error(), "evil\\x1b]0;t\\x07.json");
    }
    CHECK_CONTAINS(cprof_error(), "'\\x1b'");
    char long_name[1200] = "ab"; /* a message longer than cprof_error()'s 511 bytes is cut at a character */
    for (int i = 0; i < 290; i++) strcat(long_name, i % 2 ? "\xc3\xa9" : "\x1b");
    cprof_profile *p = NULL;
    CHECK_EQ_U64(cprof_load_string(bad_character, strlen(bad_character), long_name, &p), (uint64_t)-1);
    CHECK(check_terminal_safe(cprof_error(), 0) && strlen(cprof_error()) > 500 && strlen(cprof_error()) < 512);
}

/* The text escapes: C0 and DEL as \xNN, C1 as \u00NN, invalid UTF-8 as U+FFFD; the width as shown. */
static void test_text_escape(void) {
    char text[128];
    cprof__test_textf(text, sizeof text, "[%-8s|%6s|%.3s]", "a\x1b", "\xc2\x85\xff", "abcdef");
    CHECK_EQ_STR(text, "[a\\x1b   |\\u0085\xEF\xBF\xBD|abc]");
    cprof__test_textf(text, sizeof text, "%d %u %llu %zu %.2f %c %5.1f%% %s", -3, 4u, 5ull, (size_t)6, 1.5, 'x', 12.34, "ok");
    CHECK_EQ_STR(text, "-3 4 5 6 1.50 x  12.3% ok");
    CHECK_EQ_U64(cprof__test_text_width("\x1b\xc2\x9b\xff\xc2\xb5s", 7), 4 + 6 + 1 + 2);
}

/* A live report (and analysis, stats, folded stacks, flame graph) equals that of its saved and loaded profile,
   also for names with control characters and bytes that are not UTF-8 (the README says they are the
   same). */
static void hostile_scope(void) { CPROF_SCOPE("live\x1b[2J\xff\xfe name\n"); }
static void test_live_equals_loaded(void) {
    cprof_thread_name("main\x07\xc3");
    hostile_scope();
    cprof_profile *live = cprof_capture();
    char *saved = output_of(cprof_json_write, live);
    cprof_profile *loaded = NULL;
    CHECK_EQ_U64(cprof_load_string(saved, strlen(saved), "live.json", &loaded), 0);
    if (loaded) {
        char *a = output_of(report_writer, live), *b = output_of(report_writer, loaded);
        CHECK_EQ_STR(a, b);
        CHECK(check_terminal_safe(a, 0));
        CHECK_CONTAINS(a, "live\\x1b[2J\xEF\xBF\xBD\xEF\xBF\xBD name\\x0a");
        free(a);
        free(b);
        a = output_of(cprof_stats_write, live), b = output_of(cprof_stats_write, loaded);
        CHECK_EQ_STR(a, b);
        free(a);
        free(b);
        a = output_of(folded_threads_writer, live), b = output_of(folded_threads_writer, loaded);
        CHECK_EQ_STR(a, b);
        free(a);
        free(b);
        static const writer exports[] = {folded_calls_writer, cprof_callgrind_write, cprof_speedscope_write};
        for (size_t i = 0; i < sizeof exports / sizeof exports[0]; i++) {
            a = output_of(exports[i], live), b = output_of(exports[i], loaded);
            CHECK_EQ_STR(a, b);
            CHECK_CONTAINS(a, "x1b[2J\xEF\xBF\xBD\xEF\xBF\xBD name"); /* JSON doubles the backslash */
            free(a);
            free(b);
        }
        CHECK(same_bytes(pprof_writer, live, loaded)); /* binary: compared with its length */
        a = output_of(analysis_writer, live), b = output_of(analysis_writer, loaded);
        CHECK_EQ_STR(a, b);
        free(a);
        free(b);
        a = svg_of(live, NULL), b = svg_of(loaded, NULL);
        CHECK_EQ_STR(a, b);
        free(a);
        free(b);
    }
    free(saved);
    cprof_profile_free(loaded);
    cprof_profile_free(live);
}

static void write_file(const char *dir, const char *name, const char *text) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) CHECK_EQ_U64(fputs(text, f) < 0 || fclose(f) != 0, 0);
}

/* The hostile outputs for the browser test and for reading: hostile-*.svg, hostile-report.txt, ... */
static int write_samples(const char *dir, cprof_profile *p) {
    cprof_flamegraph_options o = cprof_flamegraph_defaults();
    char *text = svg_of(p, NULL);
    write_file(dir, "hostile-profile.svg", text);
    free(text);
    o.metric = p->counters[0].name;
    o.title = p->sites[0].name;
    text = svg_of(p, &o);
    write_file(dir, "hostile-options.svg", text);
    free(text);
    text = diff_svg_of(p, &o);
    write_file(dir, "hostile-diff.svg", text);
    free(text);
    cprof_profile *uncounted = uncounted_profile(); /* no frame: the document is only header and footer */
    text = svg_of(uncounted, &o);
    write_file(dir, "hostile-uncounted.svg", text);
    free(text);
    cprof_profile_free(uncounted);
    text = output_of(report_writer, p);
    write_file(dir, "hostile-report.txt", text);
    free(text);
    cprof_profile_free(p);
    CHECK_DONE();
}

int main(int argc, char **argv) {
    cprof_profile *p = hostile_profile();
    CHECK(p != NULL);
    if (!p) CHECK_DONE();
    if (argc > 2 && strcmp(argv[1], "--samples") == 0) return write_samples(argv[2], p);
    test_text_escape();
    test_svg(p);
    test_json(p);
    test_text_writers(p);
    test_error_messages();
    test_live_equals_loaded();
    cprof_profile_free(p);
    CHECK_DONE();
}
