/* Automatic instrumentation (CPROF_AUTO), compiled with -finstrument-functions by the Makefile's
   check-auto-c-* targets, run with CPROF_AUTO_EXCLUDE='^skipped_':
       auto_main PLUGIN.so STRIPPED_PLUGIN.so [DEBUG_PLUGIN.so]   every check below
       auto_main --bad-regex                       run with an invalid CPROF_AUTO_EXCLUDE
   (DEBUG_PLUGIN.so: a stripped copy whose debug file is in CPROF_DEBUG_DIR.) Static functions,
   recursion, a dlopen'd library (with and without .symtab, stripped with a debug file), manual scopes
   beside automatic ones, run-time exclusion, the depth cap, a longjmp, threads, and that the profiler never
   records its own functions although this file (with the implementation) is instrumented. */
#define _DEFAULT_SOURCE /* a program of POSIX: dlopen, strdup, clocks */
#define CPROF_IMPLEMENTATION
#define CPROF_AUTO
#include "../cprof.h"
#include "check.h"
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
static __thread volatile int sink; /* per thread: the threads call leaf() too */

NOINLINE static void leaf(void) { sink = sink + 1; }
NOINLINE static void twice(void) {
    leaf();
    leaf();
}
NOINLINE static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
NOINLINE static void phases(void) {
    {
        CPROF_SCOPE("parse phase");
        leaf();
    }
    CPROF_SCOPE("emit phase");
    twice();
}
NOINLINE static void skipped_helper(void) { leaf(); } /* excluded at run time */
NOINLINE static void deep(int n) {
    if (n > 1) deep(n - 1);
    sink = sink + 1; /* not a tail call */
}

static jmp_buf jump;
NOINLINE static void jumper(void) { longjmp(jump, 1); }
NOINLINE static void jump_caller(void) {
    jumper();
    leaf(); /* never reached */
}
NOINLINE static void jump_test(void) {
    if (!setjmp(jump)) jump_caller();
}

static void *thread_body(void *unused) {
    for (int i = 0; i < 100; i++) leaf();
    return unused;
}

/* Calls the plugin's exported function, which calls its static one n times. */
static int call_plugin(const char *path, int n) {
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        return -1;
    }
    int (*sum_squares)(int) = NULL;
    void *symbol = dlsym(library, "plugin_sum_squares");
    memcpy(&sum_squares, &symbol, sizeof symbol);
    return sum_squares ? sum_squares(n) : -1;
}

static void check_names(const cprof_profile *p) {
    static const char *const expected[] = {"main", "leaf", "twice", "fib", "phases", "parse phase", "emit phase",
                                           "deep", "jump_test", "jump_caller", "jumper", "thread_body",
                                           "call_plugin", "plugin_sum_squares", "plugin_square"};
    size_t count = sizeof expected / sizeof expected[0], stripped = 0;
    for (size_t i = 0; i < p->function_count; i++) {
        const char *name = p->functions[i].name;
        int known = 0;
        for (size_t k = 0; k < count; k++) known |= strcmp(name, expected[k]) == 0;
        if (strncmp(name, "auto_plugin_stripped.so+0x", 26) == 0) {
            known = 1;
            stripped++;
            CHECK_EQ_U64(p->functions[i].calls, 3);
        }
        if (!known) fprintf(stderr, "unexpected function in the profile: %s\n", name);
        CHECK(known);
    }
    CHECK_EQ_U64(p->function_count, count + 1);
    CHECK_EQ_U64(stripped, 1);
}

static int bad_regex(void) {
    skipped_helper();
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(function_calls(p, "skipped_helper"), 1); /* nothing excluded */
    CHECK_CONTAINS(report_text(p, NULL), "CPROF_AUTO_EXCLUDE=\"(\" is not an extended regular expression");
    cprof_profile_free(p);
    CHECK_DONE();
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--bad-regex") == 0) return bad_regex();
    if (argc < 3 || argc > 4 || !getenv("CPROF_AUTO_EXCLUDE") || strcmp(getenv("CPROF_AUTO_EXCLUDE"), "^skipped_") != 0) {
        fprintf(stderr, "usage: CPROF_AUTO_EXCLUDE='^skipped_' %s PLUGIN.so STRIPPED_PLUGIN.so [DEBUG_PLUGIN.so]\n"
                        "  DEBUG_PLUGIN.so: a stripped copy whose debug file is in CPROF_DEBUG_DIR/.build-id\n", argv[0]);
        return 2;
    }
    int with_debug = argc == 4;
    for (int i = 0; i < 3; i++) twice();
    CHECK_EQ_U64(fib(10), 55);
    phases();
    for (int i = 0; i < 4; i++) skipped_helper();
    deep(1100); /* deeper than the recorder (512 levels) and the hooks' stack (1024 calls) */
    jump_test();
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, thread_body, NULL);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    CHECK_EQ_U64(call_plugin(argv[1], 5), 55);
    CHECK_EQ_U64(call_plugin(argv[2], 3), 14);
    if (with_debug) CHECK_EQ_U64(call_plugin(argv[3], 2), 5);

    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(node_calls(p, 0, "main"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "main/twice"), 3);
    CHECK_EQ_U64(node_calls(p, 0, "main/twice/leaf"), 6);
    /* recursion: 177 calls, the total counted once (the outermost call's) */
    CHECK_EQ_U64(function_calls(p, "fib"), 177);
    CHECK_EQ_U64(node_calls(p, 0, "main/fib/fib/fib"), 4);
    CHECK_EQ_U64(find_function(p, "fib")->total_ns, find_node(p, 0, "main/fib")->total_ns);
    /* manual scopes inside an automatic one, automatic ones inside manual ones */
    CHECK_EQ_U64(node_calls(p, 0, "main/phases/parse phase/leaf"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "main/phases/emit phase/twice/leaf"), 2);
    /* excluded: skipped_helper's calls are its caller's */
    CHECK_EQ_U64(function_calls(p, "skipped_helper"), 0);
    CHECK_EQ_U64(node_calls(p, 0, "main/leaf"), 4);
    /* the depth cap: deep() at levels 2..1101, recorded down to level 512 */
    CHECK_EQ_U64(function_calls(p, "deep"), 511);
    CHECK_EQ_U64(p->dropped_scopes, 1101 - 512);
    CHECK_CONTAINS(report_text(p, NULL), "589 scope entries were not recorded");
    /* longjmp: the calls it skipped are closed when jump_test returns */
    CHECK_EQ_U64(node_calls(p, 0, "main/jump_test/jump_caller/jumper"), 1);
    CHECK(find_node(p, 0, "main/jump_test/jump_caller/jumper/leaf") == NULL);
    CHECK_EQ_U64(find_node(p, 0, "main/jump_test/jump_caller/jumper")->open, 0);
    /* threads: each its own tree */
    CHECK_EQ_U64(p->thread_count, 3);
    CHECK_EQ_U64(node_calls(p, 1, "thread_body/leaf") + node_calls(p, 2, "thread_body/leaf"), 200);
    /* a dlopen'd library: the static function from .symtab; a stripped copy: the exported name from
       .dynsym and the static one as file+offset; a stripped copy with a debug file: both named from the
       debug file's .symtab (a function is its name: the copies' calls add up) */
    CHECK_EQ_U64(node_calls(p, 0, "main/call_plugin"), 2 + with_debug);
    CHECK_EQ_U64(function_calls(p, "plugin_sum_squares"), 2 + with_debug); /* one call in each copy */
    CHECK_EQ_U64(function_calls(p, "plugin_square"), 5 + 2 * with_debug);
    CHECK_EQ_STR(p->sites[find_function(p, "plugin_square")->site].file, "auto_plugin.so");
    CHECK_EQ_U64(function_calls(p, "leaf"), 6 + 1 + 2 + 4 + 200);
    CHECK_EQ_U64(find_function(p, "leaf")->site != CPROF_NONE, 1);
    CHECK_CONTAINS(report_text(p, NULL), " leaf  (auto_main)\n");
    check_names(p); /* and nothing of the profiler's own, although its code is instrumented here */
    if (check_failures) cprof_report_write(p, stderr, NULL);
    cprof_profile_free(p);
    CHECK_DONE();
}
