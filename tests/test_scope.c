/* Scopes: names, call counts, tree shape, every way out of a block, recursion, timing, depth limit. */
#include "../cprof.h"
#include "check.h"

static void leaf(void) { CPROF_SCOPE(); }

static void named(void) { CPROF_SCOPE("load config"); }

static void outer(void) {
    CPROF_SCOPE();
    leaf();
    leaf();
}

static int early_return(int x) {
    CPROF_SCOPE();
    if (x > 0) return x;
    leaf();
    return 0;
}

static void loop_exits(void) {
    for (int i = 0; i < 4; i++) {
        CPROF_SCOPE("loop body");
        if (i == 1) continue;
        if (i == 3) break;
        leaf();
    }
}

static void goto_out(void) {
    {
        CPROF_SCOPE("block left by goto");
        goto done;
    }
done:
    leaf();
}

static int fib(int n) {
    CPROF_SCOPE();
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static void deep(int n) {
    CPROF_SCOPE();
    if (n > 1) deep(n - 1);
}

static void sleeper(void) {
    CPROF_SCOPE();
    busy_wait_ns(10 * 1000 * 1000);
}

static void parent_of_sleeper(void) {
    CPROF_SCOPE();
    sleeper();
}

static void two_on_one_line(void) { CPROF_SCOPE("first"); CPROF_SCOPE("second"); }

int main(void) {
    cprof_reset();
    for (int i = 0; i < 3; i++) leaf();
    named();
    outer();
    early_return(1);
    early_return(0);
    loop_exits();
    goto_out();
    two_on_one_line();
    cprof_profile *p = cprof_capture();
    CHECK(p != NULL);
    CHECK_EQ_U64(p->thread_count, 1);
    CHECK_EQ_STR(p->threads[0].name, "main");
    CHECK_EQ_U64(node_calls(p, 0, "load config"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "outer"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "outer/leaf"), 2);
    CHECK_EQ_U64(node_calls(p, 0, "early_return"), 2);
    CHECK_EQ_U64(node_calls(p, 0, "early_return/leaf"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "loop body"), 4);     /* entered for i = 0, 1, 2, 3 */
    CHECK_EQ_U64(node_calls(p, 0, "loop body/leaf"), 2); /* i = 0 and 2 */
    CHECK_EQ_U64(node_calls(p, 0, "block left by goto"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "leaf"), 3 + 1); /* the goto's leaf is under main: the block had ended */
    CHECK(find_node(p, 0, "block left by goto/leaf") == NULL);
    CHECK_EQ_U64(node_calls(p, 0, "first/second"), 1);
    CHECK_EQ_U64(function_calls(p, "leaf"), 3 + 2 + 1 + 2 + 1);
    CHECK_EQ_U64(p->message_count, 0); /* every scope closed */
    /* the call-site record: file and line of the explicit name, function of the unnamed one */
    const cprof_node *config = find_node(p, 0, "load config");
    CHECK(config != NULL);
    if (config) {
        CHECK_EQ_STR(p->sites[config->site].function, "named");
        CHECK(strstr(p->sites[config->site].file, "test_scope.c") != NULL);
        CHECK_EQ_U64(p->sites[config->site].line, 7);
    }
    /* children are ordered by name */
    const cprof_node *root = &p->nodes[p->threads[0].root];
    const char *previous = "";
    for (uint32_t c = root->first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling) {
        CHECK(strcmp(previous, p->sites[p->nodes[c].site].name) <= 0);
        previous = p->sites[p->nodes[c].site].name;
    }
    /* tree links agree with the depth-first order; a scope's calls nest inside its parent's, so its
       children's times fit in its own, and its self time is what is left */
    for (size_t i = 0; i < p->node_count; i++) {
        const cprof_node *n = &p->nodes[i];
        if (n->parent != CPROF_NONE) {
            CHECK(n->parent < i);
            CHECK_EQ_U64(n->depth, p->nodes[n->parent].depth + 1);
        }
        uint64_t children_ns = 0;
        for (uint32_t c = n->first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling) children_ns += p->nodes[c].total_ns;
        CHECK(children_ns <= n->total_ns);
        CHECK_EQ_U64(n->self_ns, n->total_ns - children_ns);
        CHECK(n->calls == 0 || n->min_ns <= n->max_ns);
    }
    cprof_profile_free(p);

    /* recursion: fib(10) makes 177 calls; the function's total counts the outermost call once */
    cprof_reset();
    fib(10);
    p = cprof_capture();
    CHECK_EQ_U64(function_calls(p, "fib"), 177);
    const cprof_node *top = find_node(p, 0, "fib");
    const cprof_function *fn = find_function(p, "fib");
    CHECK(top && fn);
    if (top && fn) {
        CHECK_EQ_U64(fn->total_ns, top->total_ns);
        CHECK_EQ_U64(fn->avg_ns, top->total_ns / 177);
        CHECK_EQ_U64(fn->self_ns, top->total_ns); /* every level's self time, summed: all of it is fib's */
        /* the only root holds the whole run; the own-cost compensation may leave nothing of so short a
           run (177 calls of a few ns each), and then every share is 0 */
        if (p->run_ns) CHECK(fn->pct_total > 99.9 && fn->pct_total < 100.1);
        else CHECK(fn->pct_total == 0.0 && top->raw_total_ns > 0);
    }
    CHECK_EQ_U64(node_calls(p, 0, "fib/fib"), 2);
    CHECK_EQ_U64(node_calls(p, 0, "fib/fib/fib"), 4);
    cprof_profile_free(p);

    /* timing: 10 ms of busy CPU measures at least 10 ms, within the run; the parent's self time
       excludes it (no upper bound: a loaded machine may stretch any of it). The lower bound allows 1%:
       the counter's rate is measured against the clock over this short run, and the own-cost
       compensation takes a few ns */
    cprof_reset();
    parent_of_sleeper();
    p = cprof_capture();
    const cprof_node *s = find_node(p, 0, "parent_of_sleeper/sleeper");
    const cprof_node *ps = find_node(p, 0, "parent_of_sleeper");
    CHECK(s && ps);
    if (s && ps) {
        CHECK(s->total_ns >= 9900000u);
        CHECK(ps->total_ns >= s->total_ns);
        CHECK(ps->total_ns <= p->wall_ns);
        CHECK_EQ_U64(ps->self_ns, ps->total_ns - s->total_ns);
        CHECK_EQ_U64(s->min_ns, s->max_ns);
        CHECK_EQ_U64(s->min_ns, s->total_ns);
    }
    CHECK(p->wall_ns >= 9900000u);
    cprof_profile_free(p);

    /* depth limit: 600 nested calls record 512 levels and count the rest as dropped */
    cprof_reset();
    deep(600);
    p = cprof_capture();
    CHECK_EQ_U64(p->dropped_scopes, 600 - 512);
    CHECK_EQ_U64(function_calls(p, "deep"), 512);
    CHECK_CONTAINS(report_text(p, NULL), "88 scope entries were not recorded");
    cprof_profile_free(p);
    CHECK_DONE();
}
