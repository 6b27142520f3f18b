/* check.h - the tests' own checks and profile helpers. Include after cprof.h.
   CHECK(cond), CHECK_EQ_U64(a, b), CHECK_EQ_STR(a, b), CHECK_CONTAINS(text, part) print file:line and
   both values on failure and keep going; CHECK_DONE() ends main with the verdict. */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                              \
    do {                                                                         \
        check_count++;                                                           \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                    \
        }                                                                        \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                                        \
    do {                                                                                          \
        unsigned long long check_a = (unsigned long long)(a), check_b = (unsigned long long)(b); \
        check_count++;                                                                            \
        if (check_a != check_b) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK_EQ_U64(%s, %s) failed: %llu != %llu\n", __FILE__,       \
                    __LINE__, #a, #b, check_a, check_b);                                          \
            check_failures++;                                                                     \
        }                                                                                         \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                      \
    do {                                                                                        \
        const char *check_a = (a), *check_b = (b);                                              \
        check_count++;                                                                          \
        if (!check_a || !check_b || strcmp(check_a, check_b) != 0) {                            \
            fprintf(stderr, "%s:%d: CHECK_EQ_STR(%s, %s) failed: \"%s\" != \"%s\"\n", __FILE__, \
                    __LINE__, #a, #b, check_a ? check_a : "(null)", check_b ? check_b : "(null)"); \
            check_failures++;                                                                   \
        }                                                                                       \
    } while (0)

#define CHECK_CONTAINS(text, part)                                                                  \
    do {                                                                                            \
        const char *check_t = (text), *check_p = (part);                                            \
        check_count++;                                                                              \
        if (!check_t || !strstr(check_t, check_p)) {                                                \
            fprintf(stderr, "%s:%d: \"%s\" not found in:\n%s\n", __FILE__, __LINE__, check_p,       \
                    check_t ? check_t : "(null)");                                                  \
            check_failures++;                                                                       \
        }                                                                                           \
    } while (0)

#define CHECK_DONE()                                                                            \
    do {                                                                                        \
        if (check_failures) fprintf(stderr, "%d of %d checks failed\n", check_failures, check_count); \
        return check_failures ? 1 : 0;                                                          \
    } while (0)

/* The sanitizers' own allocators (clang 14's ASan and TSan) do not keep their locks over fork(): a child
   forked while another thread allocates can wait for ever inside calloc, whatever the program does. */
#if defined(__SANITIZE_THREAD__)
#define CHECK_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CHECK_THREAD_SANITIZER 1
#endif
#endif
#ifndef CHECK_THREAD_SANITIZER
#define CHECK_THREAD_SANITIZER 0
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CHECK_FORK_UNSAFE_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CHECK_FORK_UNSAFE_ALLOCATOR 1
#endif
#endif

/* CHECK_ALLOCATOR_RETURNS_NULL defined before this header: the sanitizers' allocators return NULL for
   a size or alignment they reject, as a C library does, instead of ending the program. */
#ifdef CHECK_ALLOCATOR_RETURNS_NULL
#ifdef __cplusplus
extern "C" {
#endif
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "allocator_may_return_null=1"; }
#ifdef __cplusplus
}
#endif
#endif

#ifdef CPROF_H
#define CHECK_HELPER static __attribute__((unused))
/* The node reached from thread `thread`'s root by a path of names separated by '/', e.g.
   "outer/inner"; NULL when there is none. */
CHECK_HELPER const cprof_node *find_node(const cprof_profile *p, size_t thread, const char *path) {
    if (thread >= p->thread_count) return NULL;
    uint32_t at = p->threads[thread].root;
    while (*path) {
        const char *slash = strchr(path, '/');
        size_t length = slash ? (size_t)(slash - path) : strlen(path);
        uint32_t child = p->nodes[at].first_child;
        while (child != CPROF_NONE) {
            const char *name = p->sites[p->nodes[child].site].name;
            if (strlen(name) == length && strncmp(name, path, length) == 0) break;
            child = p->nodes[child].next_sibling;
        }
        if (child == CPROF_NONE) return NULL;
        at = child;
        path += length + (slash ? 1 : 0);
    }
    return &p->nodes[at];
}

CHECK_HELPER const cprof_function *find_function(const cprof_profile *p, const char *name) {
    for (size_t i = 0; i < p->function_count; i++)
        if (strcmp(p->functions[i].name, name) == 0) return &p->functions[i];
    return NULL;
}

CHECK_HELPER uint64_t node_calls(const cprof_profile *p, size_t thread, const char *path) {
    const cprof_node *node = find_node(p, thread, path);
    return node ? node->calls : 0;
}

CHECK_HELPER uint64_t function_calls(const cprof_profile *p, const char *name) {
    const cprof_function *fn = find_function(p, name);
    return fn ? fn->calls : 0;
}

/* The report of a profile as a string (static storage, overwritten by the next call). */
CHECK_HELPER const char *report_text(const cprof_profile *p, const cprof_report_options *options) {
    static char text[1 << 16];
    cprof_report_format(p, text, sizeof text, options);
    return text;
}

/* A whole (small) file as a string (static storage, overwritten by the next call); NULL when it cannot
   be opened. */
CHECK_HELPER char *read_text_file(const char *path) {
    static char text[1 << 17];
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

/* `text` with its first `from` replaced by `to`, in a new malloc'ed string (a copy when `from` is
   missing, which is a failed check). */
CHECK_HELPER char *replace(const char *text, const char *from, const char *to) {
    const char *at = strstr(text, from);
    CHECK(at != NULL);
    if (!at) return strdup(text);
    size_t head = (size_t)(at - text), length = strlen(text) - strlen(from) + strlen(to);
    char *out = (char *)malloc(length + 1);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

/* `count` call sites named by `format` (one %d: 0, 1, ...), in `names` (name_bytes each), in function
   `function` of `file` at lines 1 to count: sites for cprof__enter without a CPROF_SCOPE of their own. */
CHECK_HELPER void make_sites(cprof_site *sites, char *names, size_t name_bytes, int count, const char *format,
                             const char *function, const char *file) {
    for (int i = 0; i < count; i++) {
        snprintf(names + (size_t)i * name_bytes, name_bytes, format, i);
        sites[i].name = names + (size_t)i * name_bytes;
        sites[i].function = function;
        sites[i].file = file;
        sites[i].line = i + 1;
    }
}

/* Keeps the optimiser from removing work the tests time. */
static volatile uint64_t check_sink;

/* Spins for `ns` of the thread's CPU time: a scope around it records at least that (its wall time less
   the time the thread was preempted, which cprof leaves out, is never less than the CPU time it used;
   a wait on the wall clock, preempted on a loaded machine, would record less). On Windows, whose
   thread CPU time moves in 15.6 ms steps and where nothing is left out, the wall clock. */
#if defined(_WIN32)
#define CHECK_BUSY_CLOCK CLOCK_MONOTONIC
#else
#define CHECK_BUSY_CLOCK CLOCK_THREAD_CPUTIME_ID
#endif
CHECK_HELPER void busy_wait_ns(uint64_t ns) {
    struct timespec start, now;
    clock_gettime(CHECK_BUSY_CLOCK, &start);
    do {
        clock_gettime(CHECK_BUSY_CLOCK, &now);
        check_sink = check_sink + 1;
    } while ((uint64_t)(now.tv_sec - start.tv_sec) * 1000000000u + (uint64_t)now.tv_nsec - (uint64_t)start.tv_nsec < ns);
}

#ifdef CPROF_TESTING
/* A profile with known numbers, built without recording: one line per node, "name calls total_ns
   [sum_sq_ns2]", indented by one space per level below the thread's root (the first line is at depth
   1). Each node's min and max are its average; without sum_sq_ns2 every call took the average (no
   spread). Uses the implementation's private builders (cprof__test_*, CPROF_TESTING). */
CHECK_HELPER cprof_profile *build_profile(const char *const *lines) {
    cprof_profile *p = cprof__test_profile_new();
    cprof__test_grow(p, &p->threads, 1, sizeof *p->threads);
    p->thread_count = 1;
    p->threads[0].name = "main";
    p->threads[0].id = 1;
    p->program = "synthetic";
    p->timer = "clock_gettime";
    p->timer_hz = 1e9;
    cprof__test_add_node(p); /* the thread's root */
    uint32_t last_at_depth[64];
    last_at_depth[0] = 0;
    uint32_t last_child_of[4096];
    for (int i = 0; i < 4096; i++) last_child_of[i] = CPROF_NONE;
    for (int i = 0; lines[i]; i++) {
        uint32_t depth = 1;
        const char *line = lines[i];
        while (*line == ' ') { depth++; line++; }
        char name[128];
        unsigned long long calls, total;
        double sum_sq = -1.0;
        sscanf(line, "%127s %llu %llu %lf", name, &calls, &total, &sum_sq);
        cprof__test_grow(p, &p->sites, p->site_count + 1, sizeof *p->sites);
        cprof_site_info *site = &p->sites[p->site_count];
        site->name = cprof__test_string(p, name);
        site->function = site->name;
        site->file = "synthetic.c";
        site->line = (uint32_t)i + 1;
        site->automatic = 0;
        cprof_node *node = cprof__test_add_node(p);
        uint32_t index = (uint32_t)p->node_count - 1;
        node->site = (uint32_t)p->site_count++;
        node->depth = depth;
        node->parent = last_at_depth[depth - 1];
        node->calls = calls;
        node->total_ns = total;
        node->min_ns = node->max_ns = calls ? total / calls : 0;
        node->sum_sq_ns2 = sum_sq >= 0 ? sum_sq : (double)calls * (double)node->min_ns * (double)node->min_ns;
        if (last_child_of[node->parent] == CPROF_NONE) p->nodes[node->parent].first_child = index;
        else p->nodes[last_child_of[node->parent]].next_sibling = index;
        last_child_of[node->parent] = index;
        last_at_depth[depth] = index;
    }
    p->wall_ns = p->nodes[0].total_ns;
    cprof__test_derive(p);
    p->wall_ns = p->run_ns;
    return p;
}

/* A stream whose bytes become a string to free() at text_stream_close: open_memstream, or on Windows
   (which has none) a temporary file read back. */
CHECK_HELPER FILE *text_stream_open(char **text, size_t *length) {
    *text = NULL;
    *length = 0;
#if defined(_WIN32)
    return tmpfile();
#else
    return open_memstream(text, length);
#endif
}

CHECK_HELPER char *text_stream_close(FILE *out, char **text, size_t *length) {
#if defined(_WIN32)
    long size = ftell(out);
    rewind(out);
    *text = (char *)calloc((size_t)size + 1, 1);
    *length = fread(*text, 1, (size_t)size, out);
#else
    (void)length; /* open_memstream sets it at fclose */
#endif
    fclose(out);
    return *text;
}

/* The profile's JSON, as a string to free(). */
CHECK_HELPER char *json_of(const cprof_profile *p) {
    char *text;
    size_t length;
    FILE *out = text_stream_open(&text, &length);
    CHECK_EQ_U64(cprof_json_write(p, out), 0);
    return text_stream_close(out, &text, &length);
}

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0: the tests' own reading of RFC 3629 (no
   overlong form, no surrogate, nothing above U+10FFFF), independent of cprof's. */
CHECK_HELPER size_t check_utf8_length(const unsigned char *s, const unsigned char *end) {
    if (s[0] < 0x80) return 1;
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (n == 0 || s[0] > 0xF4 || (size_t)(end - s) < n) return 0;
    unsigned long code = s[0] & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        code = code << 6 | (s[i] & 0x3Fu);
    }
    static const unsigned long smallest[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[n] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
    return n;
}

/* 1 when text holds nothing a terminal acts on: no C0 control but newline (and tab when tab_allowed),
   no DEL, no C1 control (U+0080-U+009F); and it is valid UTF-8. */
CHECK_HELPER int check_terminal_safe(const char *text, int tab_allowed) {
    const unsigned char *s = (const unsigned char *)text, *end = s + strlen(text);
    while (s < end) {
        size_t n = check_utf8_length(s, end);
        if (n == 0 || (s[0] < 0x20 && s[0] != '\n' && !(tab_allowed && s[0] == '\t')) || s[0] == 0x7F) return 0;
        if (n == 2 && s[0] == 0xC2 && s[1] < 0xA0) return 0;
        s += n;
    }
    return 1;
}
#endif
#endif
#endif
