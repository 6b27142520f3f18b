/* The flame graph SVG: exact geometry on profiles with known numbers, the width threshold, the
   metrics, colours, XML escaping of hostile names, a live capture with threads, CPROF_OUT=prefix.svg,
   a 100,000-node profile and the tool's arguments. With `--samples DIR` it writes the SVGs that the
   Makefile's checks validate with xmllint and open in Chromium. */
#include "../cprof.h"
#include "check.h"
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static char *svg_of(const cprof_profile *p, const cprof_flamegraph_options *options) {
    FILE *f = tmpfile();
    if (!f) return NULL;
    CHECK_EQ_U64(cprof_flamegraph_write(p, f, options), 0);
    long length = ftell(f);
    rewind(f);
    char *text = (char *)malloc((size_t)length + 1);
    size_t got = fread(text, 1, (size_t)length, f);
    text[got] = '\0';
    fclose(f);
    return text;
}

typedef struct frame {
    double x, y, width;
    char label[256];
    char details[512]; /* the tooltip's second line */
} frame;

/* How many frames are named `name`; the first is stored in *out. */
static int find_frame(const char *svg, const char *name, frame *out) {
    int found = 0;
    const char *tag = "<g class=\"f\"><title>";
    for (const char *at = strstr(svg, tag); at; at = strstr(at + 1, tag)) {
        const char *title = at + strlen(tag);
        if (strncmp(title, name, strlen(name)) != 0 || title[strlen(name)] != '\n') continue;
        if (found++ || !out) continue;
        const char *details = title + strlen(name) + 1, *end = strstr(details, "</title>");
        snprintf(out->details, sizeof out->details, "%.*s", (int)(end - details), details);
        sscanf(strstr(at, "<rect "), "<rect x=\"%lf\" y=\"%lf\" width=\"%lf\"", &out->x, &out->y, &out->width);
        const char *label = strchr(strstr(at, "<text "), '>') + 1;
        snprintf(out->label, sizeof out->label, "%.*s", (int)(strstr(label, "</text>") - label), label);
    }
    return found;
}

static size_t count_of(const char *text, const char *part) {
    size_t n = 0;
    for (const char *at = strstr(text, part); at; at = strstr(at + 1, part)) n++;
    return n;
}

static double svg_height(const char *svg) {
    double height = 0;
    const char *at = strstr(svg, "height=\"");
    if (at) sscanf(at, "height=\"%lf\"", &height);
    return height;
}

#define CHECK_NEAR(a, b, tolerance) CHECK((a) > (b) - (tolerance) && (a) < (b) + (tolerance))

static const char *const known_tree[] = {"main 1 100000000", " fast 100 10000000", " slow 10 80000000", NULL};

/* main 100 ms -> fast 10 ms, slow 80 ms: one frame per node plus the root, widths to the pixel */
static void test_known_tree(void) {
    cprof_profile *p = build_profile(known_tree);
    char *svg = svg_of(p, NULL);
    frame all, main_frame, fast, slow;
    CHECK_EQ_U64(count_of(svg, "<g class=\"f\">"), 4);
    CHECK_EQ_U64(find_frame(svg, "all", &all), 1);
    CHECK_EQ_U64(find_frame(svg, "main", &main_frame), 1);
    CHECK_EQ_U64(find_frame(svg, "fast", &fast), 1);
    CHECK_EQ_U64(find_frame(svg, "slow", &slow), 1);
    CHECK(all.x == 10 && all.width == 1180 && main_frame.x == 10 && main_frame.width == 1180);
    CHECK(fast.x == 10 && fast.width == 118);   /* 10 % of 1180 px, first: children by name */
    CHECK(slow.x == 128 && slow.width == 944);  /* 80 % */
    CHECK(all.y == 88 && main_frame.y == 72 && fast.y == 56 && slow.y == 56); /* the root at the bottom */
    CHECK(svg_height(svg) == 56 + 3 * 16 + 30);
    CHECK_EQ_STR(slow.details, "(synthetic.c:3) time total 80.00 ms, self 80.00 ms, 10 calls, 80.00%");
    CHECK_EQ_STR(main_frame.details, "(synthetic.c:1) time total 100.00 ms, self 10.00 ms, 1 call, 100.00%");
    CHECK_EQ_STR(all.details, "(synthetic) time total 100.00 ms, self 0 ns, 0 calls, 100.00%");
    CHECK_EQ_STR(slow.label, "slow");
    CHECK_CONTAINS(svg, ">Flame graph: synthetic</text>");
    CHECK_CONTAINS(svg, ">metric time, total 100.00 ms</text>");
    /* self-contained: inline style and script, nothing fetched */
    CHECK_CONTAINS(svg, "<style><![CDATA[");
    CHECK_CONTAINS(svg, "<script type=\"text/ecmascript\"><![CDATA[\n");
    CHECK_EQ_U64(count_of(svg, "]]>"), 2);
    CHECK_EQ_U64(count_of(svg, "http"), 1); /* the SVG namespace only */
    CHECK(strstr(svg, "href") == NULL && strstr(svg, "@import") == NULL && strstr(svg, "url(") == NULL);
    free(svg);

    /* inverted: an icicle, the root on top */
    cprof_flamegraph_options options = cprof_flamegraph_defaults();
    options.inverted = 1;
    svg = svg_of(p, &options);
    CHECK(find_frame(svg, "all", &all) == 1 && all.y == 56);
    CHECK(find_frame(svg, "slow", &slow) == 1 && slow.y == 88 && slow.width == 944);
    free(svg);
    /* the width and the title are options; the title is escaped */
    options = cprof_flamegraph_defaults();
    options.width = 600;
    options.title = "before & after";
    svg = svg_of(p, &options);
    CHECK(find_frame(svg, "slow", &slow) == 1 && slow.x == 68 && slow.width == 464);
    CHECK_CONTAINS(svg, "width=\"600\"");
    CHECK_CONTAINS(svg, ">before &amp; after</text>");
    free(svg);
    cprof_profile_free(p);
}

/* a -> b -> c: three levels above the root; the image is exactly as tall as that */
static void test_depth(void) {
    static const char *const chain[] = {"a 1 3000", " b 1 2000", "  c 1 1000", NULL};
    cprof_profile *p = build_profile(chain);
    char *svg = svg_of(p, NULL);
    frame all, a, c;
    CHECK(find_frame(svg, "all", &all) == 1 && find_frame(svg, "a", &a) == 1 && find_frame(svg, "c", &c) == 1);
    CHECK(svg_height(svg) == 56 + 4 * 16 + 30);
    CHECK(c.y == 56 && a.y == 56 + 2 * 16 && all.y == 56 + 3 * 16);
    CHECK(c.width == 393.33); /* 1180 / 3 */
    CHECK_CONTAINS(svg, "var cprof = {width: 1200, pad: 10.0, fh: 16.0, y0: 104.0, cw: 7.25, match: 'rgb(230,0,230)'};");
    free(svg);
    cprof_profile_free(p);
}

/* Frames below min_width_pct are not drawn, their time stays in the parent; 0 draws them all. */
static void test_threshold(void) {
    static const char *const tree[] = {"main 1 100000000", " big 1 99950000", " tiny 1 50000", "  tinier 1 40000", NULL};
    cprof_profile *p = build_profile(tree);
    char *svg = svg_of(p, NULL);
    frame main_frame, big, tiny;
    CHECK_EQ_U64(count_of(svg, "<g class=\"f\">"), 3);
    CHECK_EQ_U64(find_frame(svg, "tiny", NULL), 0);
    CHECK_EQ_U64(find_frame(svg, "tinier", NULL), 0);
    CHECK(find_frame(svg, "main", &main_frame) == 1 && main_frame.width == 1180);
    CHECK(find_frame(svg, "big", &big) == 1 && big.width == 1179.41);
    CHECK_CONTAINS(svg, ", 1 call path narrower than 0.10% not drawn (counted in their parents)</text>");
    CHECK(svg_height(svg) == 56 + 3 * 16 + 30);
    free(svg);
    cprof_flamegraph_options options = cprof_flamegraph_defaults();
    options.min_width_pct = 0;
    svg = svg_of(p, &options);
    CHECK_EQ_U64(count_of(svg, "<g class=\"f\">"), 5);
    CHECK(find_frame(svg, "tiny", &tiny) == 1 && tiny.width == 0.59 && tiny.label[0] == '\0');
    CHECK(strstr(svg, "not drawn") == NULL);
    free(svg);
    cprof_profile_free(p);
}

/* --metric=calls: a frame is its node's calls plus its children's frames */
static void test_metric_calls(void) {
    static const char *const tree[] = {"main 1 100000000", " fast 100 10000000", " slow 10 80000000",
                                       "  helper 1000 30000000", NULL};
    cprof_profile *p = build_profile(tree);
    cprof_flamegraph_options options = cprof_flamegraph_defaults();
    options.metric = "calls";
    char *svg = svg_of(p, &options);
    frame fast, slow, helper;
    CHECK(find_frame(svg, "fast", &fast) == 1 && find_frame(svg, "slow", &slow) == 1 &&
          find_frame(svg, "helper", &helper) == 1);
    CHECK_NEAR(fast.width, 1180.0 * 100 / 1111, 0.006);
    CHECK_NEAR(slow.width, 1180.0 * 1010 / 1111, 0.006);
    CHECK_NEAR(helper.width, 1180.0 * 1000 / 1111, 0.006);
    CHECK_EQ_STR(slow.details, "(synthetic.c:3) calls total 1,010, self 10, 10 calls, 90.91%");
    CHECK_CONTAINS(svg, ">metric calls, total 1,111</text>");
    free(svg);
    options.metric = "no-such-metric";
    CHECK_EQ_U64(cprof_flamegraph_write(p, stdout, &options), (uint64_t)-1);
    CHECK_EQ_U64(cprof_flamegraph_write(NULL, stdout, NULL), (uint64_t)-1);
    CHECK_EQ_U64(cprof_flamegraph_write(p, NULL, NULL), (uint64_t)-1);
    cprof_profile_free(p);
}

/* Same name, same colour, in every graph; different names spread over the warm hues. */
static void test_colors(void) {
    int a[3], b[3];
    cprof__test_flame_color("parse", a);
    cprof__test_flame_color("parse", b);
    CHECK(a[0] == b[0] && a[1] == b[1] && a[2] == b[2]);
    cprof_profile *p = build_profile(known_tree);
    static const char *const other[] = {"x 1 5", " slow 1 3", NULL};
    cprof_profile *q = build_profile(other);
    char *first = svg_of(p, NULL), *second = svg_of(q, NULL);
    char fill[64];
    snprintf(fill, sizeof fill, "fill=\"rgb(%d,%d,%d)\"", a[0], a[1], a[2]);
    cprof__test_flame_color("slow", a);
    snprintf(fill, sizeof fill, "fill=\"rgb(%d,%d,%d)\"/><text", a[0], a[1], a[2]);
    CHECK_EQ_U64(count_of(first, fill), 1);
    CHECK_EQ_U64(count_of(second, fill), 1);
    free(first);
    free(second);
    cprof_profile_free(p);
    cprof_profile_free(q);
    /* 600 names: every colour warm (red the largest channel, blue the smallest), every sixth of the
       hue range (0-55 degrees) used by at least a tenth of them, and almost no two alike */
    int buckets[6] = {0}, distinct = 0;
    static int seen[600][3];
    for (int i = 0; i < 600; i++) {
        char name[32];
        snprintf(name, sizeof name, "function_%d", i);
        cprof__test_flame_color(name, seen[i]);
        int r = seen[i][0], g = seen[i][1], bl = seen[i][2];
        CHECK(r >= g && g >= bl && r >= 200);
        double hue = 60.0 * (g - bl) / (double)(r - bl);
        buckets[hue >= 55 ? 5 : (int)(hue / (55.0 / 6))]++;
        int repeated = 0;
        for (int j = 0; j < i && !repeated; j++)
            repeated = seen[j][0] == r && seen[j][1] == g && seen[j][2] == bl;
        distinct += !repeated;
    }
    for (int k = 0; k < 6; k++) CHECK(buckets[k] >= 60);
    CHECK(distinct >= 590);
}

/* Names that would break XML: markup, quotes, control characters, invalid UTF-8, a CDATA end */
static const char hostile_name[] = "a<b>&\"c\" 'd' \x01\x1f\x7f\n\xff\xc3(]]>\xed\xa0\x80 \xef\xbf\xbe \xc2\xb5s";
static const char hostile_escaped[] =
    "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos; \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD(]]&gt;"
    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xc2\xb5s";

static cprof_profile *hostile_profile(void) {
    cprof_profile *p = build_profile(known_tree);
    p->sites[2].name = cprof__test_string(p, hostile_name); /* "slow" */
    p->sites[2].file = cprof__test_string(p, "dir/<x>&.c");
    p->program = cprof__test_string(p, "./a&b<c>");
    return p;
}

static void test_escaping(void) {
    cprof_profile *p = hostile_profile();
    cprof_flamegraph_options options = cprof_flamegraph_defaults();
    options.title = "\"quoted\" <title>";
    char *svg = svg_of(p, &options);
    frame f;
    CHECK_EQ_U64(find_frame(svg, hostile_escaped, &f), 1);
    CHECK_EQ_STR(f.details, "(dir/&lt;x&gt;&amp;.c:3) time total 80.00 ms, self 80.00 ms, 10 calls, 80.00%");
    CHECK_CONTAINS(f.label, "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos; ");
    CHECK_CONTAINS(svg, ">&quot;quoted&quot; &lt;title&gt;</text>");
    CHECK_CONTAINS(svg, "<title>all\n(./a&amp;b&lt;c&gt;) ");
    CHECK(strstr(svg, "<b>") == NULL && strstr(svg, "<x>") == NULL && strstr(svg, "\xff") == NULL);
    CHECK_EQ_U64(count_of(svg, "]]>"), 2);
    for (const char *c = svg; *c; c++) CHECK(*c >= 0x20 || *c == '\n' || *c == '\t' || (*c & 0x80));
    free(svg);
    svg = svg_of(p, NULL);
    CHECK_CONTAINS(svg, ">Flame graph: a&amp;b&lt;c&gt;</text>"); /* the default title: the program's name */
    free(svg);
    cprof_profile_free(p);
}

/* Labels keep what fits and end in ".."; fewer than three characters: no label. */
static void test_labels(void) {
    static const char *const tree[] = {"main 1 1000", " a_function_with_a_long_name 1 100", " b 1 10", NULL};
    cprof_profile *p = build_profile(tree);
    char *svg = svg_of(p, NULL);
    frame a, b;
    CHECK(find_frame(svg, "a_function_with_a_long_name", &a) == 1 && a.width == 118);
    CHECK_EQ_STR(a.label, "a_function_wi.."); /* (118 - 6) / 7.25 = 15 characters */
    CHECK(find_frame(svg, "b", &b) == 1 && b.width == 11.8 && b.label[0] == '\0');
    free(svg);
    cprof_profile_free(p);
}

/* A live capture with two threads: the whole, one frame per thread, then each thread's scopes. */
static void inner(void) {
    CPROF_SCOPE();
    busy_wait_ns(3000000);
}
static void outer(void) {
    CPROF_SCOPE();
    busy_wait_ns(1000000);
    inner();
}
static void *worker(void *unused) {
    (void)unused;
    cprof_thread_name("worker");
    outer();
    return NULL;
}

static cprof_profile *live_profile(void) {
    pthread_t thread;
    outer();
    pthread_create(&thread, NULL, worker, NULL);
    pthread_join(thread, NULL);
    return cprof_capture();
}

static void test_live(void) {
    cprof_profile *p = live_profile();
    char *svg = svg_of(p, NULL);
    frame all, main_thread, worker_thread, first_outer, first_inner;
    CHECK_EQ_U64(count_of(svg, "<g class=\"f\">"), 7);
    CHECK(find_frame(svg, "all", &all) == 1 && all.width == 1180);
    CHECK(find_frame(svg, "thread main", &main_thread) == 1 && find_frame(svg, "thread worker", &worker_thread) == 1);
    CHECK_EQ_U64(find_frame(svg, "outer", &first_outer), 2);
    CHECK_EQ_U64(find_frame(svg, "inner", &first_inner), 2);
    /* the threads share the width side by side; outer holds inner. (Each thread spent 3 of its 4 ms
       in inner, but a busy machine stretches any of these waits: no ratio is asserted.) */
    CHECK_NEAR(worker_thread.x, 10 + main_thread.width, 0.02);
    CHECK_NEAR(main_thread.width + worker_thread.width, 1180, 0.02);
    CHECK(first_outer.width < main_thread.width + 0.01 && first_inner.width < first_outer.width);
    CHECK(first_inner.x == first_outer.x && first_outer.x == main_thread.x);
    CHECK(main_thread.y == all.y - 16 && first_outer.y == all.y - 32 && first_inner.y == all.y - 48);
    CHECK(svg_height(svg) == 56 + 4 * 16 + 30);
    CHECK_CONTAINS(first_inner.details, "tests/test_flamegraph.c:");
    free(svg);
    cprof_profile_free(p);
}

/* CPROF_OUT=prefix writes prefix.svg at exit, next to prefix.txt. */
static void test_cprof_out(const char *self) {
    char prefix[256], path[300], command[1024];
    snprintf(prefix, sizeof prefix, "/tmp/cprof_test_flamegraph_%ld", (long)getpid());
    snprintf(path, sizeof path, "%s.svg", prefix);
    remove(path);
    snprintf(command, sizeof command, "CPROF_OUT=%s %s --child", prefix, self);
    CHECK_EQ_U64(system(command), 0);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) return;
    static char svg[1 << 16];
    svg[fread(svg, 1, sizeof svg - 1, f)] = '\0';
    fclose(f);
    CHECK_CONTAINS(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<svg ");
    CHECK_EQ_U64(find_frame(svg, "outer", NULL), 1);
    CHECK_EQ_U64(find_frame(svg, "inner", NULL), 1);
    CHECK_CONTAINS(svg, "</svg>\n");
    remove(path);
    snprintf(path, sizeof path, "%s.txt", prefix);
    remove(path);
}

/* 100,000 nodes, recorded live: 100 functions each calling 1,000 others. The SVG stays bounded:
   frames narrower than 0.1 % are left out, so at most 1,000 per level. */
static cprof_profile *wide_profile(void) {
    static cprof_site *sites;
    static char (*names)[16];
    if (!sites) {
        sites = (cprof_site *)calloc(1100, sizeof *sites);
        names = (char (*)[16])calloc(1100, sizeof *names);
        for (int i = 0; i < 1100; i++) {
            snprintf(names[i], sizeof names[i], i < 100 ? "outer_%d" : "inner_%d", i < 100 ? i : i - 100);
            sites[i].name = names[i];
            sites[i].function = "wide";
            sites[i].file = "wide.c";
            sites[i].line = i + 1;
        }
    }
    cprof_reset();
    uint32_t root = cprof__enter(&sites[0]);
    for (int o = 1; o < 100; o++) {
        uint32_t outer_token = cprof__enter(&sites[o]);
        for (int i = 100; i < 1100; i++) cprof__exit(cprof__enter(&sites[i]));
        cprof__exit(outer_token);
    }
    cprof__exit(root);
    return cprof_capture();
}

static void test_wide(void) {
    cprof_profile *p = wide_profile();
    CHECK(p->node_count >= 99 * 1000 + 100);
    cprof_flamegraph_options options = cprof_flamegraph_defaults();
    options.metric = "calls";
    char *svg = svg_of(p, &options);
    CHECK(strlen(svg) < 200000);
    CHECK(count_of(svg, "<g class=\"f\">") < 1000 * 4);
    CHECK_EQ_U64(find_frame(svg, "inner_5", NULL), 0);        /* 1 call of 100,000 */
    CHECK_EQ_U64(find_frame(svg, "outer_5", NULL), 1);        /* 1,001 calls */
    CHECK_CONTAINS(svg, "99000 call paths narrower than 0.10% not drawn");
    free(svg);
    cprof_profile_free(p);
}

/* A profile with nothing in it is still a valid, self-explaining SVG. */
static void test_empty(void) {
    cprof_profile *p = cprof__test_profile_new();
    char *svg = svg_of(p, NULL);
    CHECK_EQ_U64(count_of(svg, "<g class=\"f\">"), 0);
    CHECK_CONTAINS(svg, ">Nothing was recorded for the metric time.</text>");
    CHECK_CONTAINS(svg, "</svg>\n");
    free(svg);
    cprof_profile_free(p);
}

static void write_sample(const char *dir, const char *name, const cprof_profile *p, const cprof_flamegraph_options *o) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.svg", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) CHECK_EQ_U64(cprof_flamegraph_write(p, f, o) | fclose(f), 0);
}

/* The SVGs the Makefile checks with xmllint and opens in Chromium. */
static int write_samples(const char *dir) {
    static const char *const tree[] = {"main 1 100000000", " fast 100 10000000", " slow 10 80000000",
                                       "  a_function_with_a_long_name 1000 3000000", NULL};
    cprof_flamegraph_options options = cprof_flamegraph_defaults();
    cprof_profile *p = build_profile(tree);
    write_sample(dir, "known", p, NULL);
    options.inverted = 1;
    write_sample(dir, "inverted", p, &options);
    options = cprof_flamegraph_defaults();
    options.metric = "calls";
    write_sample(dir, "calls", p, &options);
    cprof_profile_free(p);
    p = hostile_profile();
    write_sample(dir, "hostile", p, NULL);
    cprof_profile_free(p);
    p = cprof__test_profile_new();
    write_sample(dir, "empty", p, NULL);
    cprof_profile_free(p);
    p = live_profile();
    write_sample(dir, "live", p, NULL);
    cprof_profile_free(p);
    p = wide_profile();
    write_sample(dir, "wide", p, NULL);
    cprof_profile_free(p);
    CHECK_DONE();
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "--samples") == 0) return write_samples(argv[2]);
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        outer();
        return 0;
    }
    test_known_tree();
    test_depth();
    test_threshold();
    test_metric_calls();
    test_colors();
    test_escaping();
    test_labels();
    test_live();
    test_cprof_out(argv[0]);
    test_wide();
    test_empty();
    CHECK_DONE();
}
