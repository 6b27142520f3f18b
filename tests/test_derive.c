/* Derived once: each node's function and whether it is nested in its own function (recursion counted
   once), for built, captured and loaded profiles, in one pass however deep the tree. */
#include "../cprof.h"
#include "check.h"
#include <stdlib.h>
#include <unistd.h>

/* Every node's function has the node's name; the nested flag says whether an ancestor has it too. */
static void check_nodes(const cprof_profile *p) {
    for (size_t i = 0; i < p->node_count; i++) {
        const cprof_node *node = &p->nodes[i];
        if (node->site == CPROF_NONE) {
            CHECK_EQ_U64(node->function, CPROF_NONE);
            continue;
        }
        CHECK(node->function < p->function_count);
        if (node->function >= p->function_count) return;
        CHECK_EQ_STR(p->functions[node->function].name, p->sites[node->site].name);
        uint32_t ancestors_alike = 0;
        for (uint32_t up = node->parent; up != CPROF_NONE; up = p->nodes[up].parent)
            ancestors_alike += p->nodes[up].function == node->function;
        CHECK_EQ_U64(node->nested, ancestors_alike > 0);
    }
}

static void test_built(void) {
    static const char *const tree[] = {"main 1 1000", " fib 1 900", "  fib 2 600", "   fib 4 300", "   leaf 4 100",
                                       " leaf 3 50", " other 1 40", "  fib 1 30", NULL};
    cprof_profile *p = build_profile(tree);
    check_nodes(p);
    const cprof_function *fib = find_function(p, "fib");
    CHECK(fib != NULL);
    if (fib) {
        CHECK_EQ_U64(fib->calls, 8);
        CHECK_EQ_U64(fib->total_ns, 930); /* the outermost fibs: 900 under main, 30 under other */
    }
    CHECK_EQ_U64(find_function(p, "leaf")->total_ns, 150);
    uint32_t nested = 0;
    for (size_t i = 0; i < p->node_count; i++) nested += p->nodes[i].nested;
    CHECK_EQ_U64(nested, 2);
    cprof_profile_free(p);
}

static uint32_t depth_left;
static void down_a(void);
static void down_b(void) { CPROF_SCOPE(); if (depth_left--) down_a(); }
static void down_a(void) { CPROF_SCOPE(); if (depth_left--) down_b(); }

/* A live recursion, and the same profile saved and loaded: the same functions, nodes and flags. */
static void test_captured_and_loaded(void) {
    depth_left = 300;
    down_a();
    cprof_profile *p = cprof_capture(), *q = NULL;
    check_nodes(p);
    CHECK_EQ_U64(function_calls(p, "down_a") + function_calls(p, "down_b"), 301);
    char path[] = "/tmp/cprof-derive-XXXXXX";
    close(mkstemp(path));
    CHECK_EQ_U64(cprof_save(p, path), 0);
    CHECK_EQ_U64(cprof_load(path, &q), 0);
    unlink(path);
    if (q) {
        check_nodes(q);
        CHECK_EQ_U64(q->node_count, p->node_count);
        for (size_t i = 0; i < p->node_count && i < q->node_count; i++) {
            CHECK_EQ_U64(q->nodes[i].nested, p->nodes[i].nested);
            CHECK_EQ_STR(q->functions[q->nodes[i].function == CPROF_NONE ? 0 : q->nodes[i].function].name,
                         p->functions[p->nodes[i].function == CPROF_NONE ? 0 : p->nodes[i].function].name);
        }
    }
    cprof_profile_free(p);
    cprof_profile_free(q);
}

/* A chain 2,048 deep (the deepest cprof reads) of two alternating names, loaded: every node but the first two is
   nested, and each function's total is its outermost node's. */
static void test_deep_chain(void) {
    const size_t depth = 2048;
    size_t capacity = 1000 + depth * 200, length = 0;
    char *text = (char *)malloc(capacity);
    length += (size_t)snprintf(text + length, capacity - length,
        "{\"format\": \"cprof profile\", \"version\": \"1.1\", \"program\": \"chain\", \"start_unix_ns\": 0, "
        "\"wall_ns\": %zu, \"run_ns\": 0, \"timer\": \"clock_gettime\", \"timer_hz\": 1000000000, "
        "\"dropped_scopes\": 0, \"messages_dropped\": 0, \"profiler_bytes\": 0, \"counter_reader\": \"\", "
        "\"counters\": [], \"threads\": [{\"id\": 1, \"name\": \"main\", \"root\": 0, \"exited\": 0}], "
        "\"sites\": [{\"name\": \"a\", \"function\": \"a\", \"file\": \"f.c\", \"line\": 1}, "
        "{\"name\": \"b\", \"function\": \"b\", \"file\": \"f.c\", \"line\": 2}], \"nodes\": [\n"
        "{\"site\": null, \"parent\": null, \"calls\": 0, \"total_ns\": 0, \"min_ns\": 0, \"max_ns\": 0, \"open\": 0, \"sum_sq_ns2\": 0}",
        depth * 10);
    for (size_t i = 1; i <= depth; i++)
        length += (size_t)snprintf(text + length, capacity - length,
            ",\n{\"site\": %zu, \"parent\": %zu, \"calls\": 1, \"total_ns\": %zu, \"min_ns\": %zu, \"max_ns\": %zu, "
            "\"open\": 0, \"sum_sq_ns2\": 0}", (i - 1) % 2, i - 1, (depth - i + 1) * 10, (depth - i + 1) * 10,
            (depth - i + 1) * 10);
    length += (size_t)snprintf(text + length, capacity - length, "], \"functions\": [], \"messages\": []}\n");
    cprof_profile *p = NULL;
    CHECK_EQ_U64(cprof_load_string(text, length, "chain.json", &p), 0);
    if (!p) fprintf(stderr, "%s\n", cprof_error());
    free(text);
    if (!p) return;
    uint32_t nested = 0;
    for (size_t i = 0; i < p->node_count; i++) nested += p->nodes[i].nested;
    CHECK_EQ_U64(nested, depth - 2);
    CHECK_EQ_U64(find_function(p, "a")->total_ns, depth * 10);
    CHECK_EQ_U64(find_function(p, "b")->total_ns, (depth - 1) * 10);
    CHECK_EQ_U64(find_function(p, "a")->calls, depth / 2);
    cprof_profile_free(p);
}

int main(void) {
    test_built();
    test_captured_and_loaded();
    test_deep_chain();
    CHECK_DONE();
}
