/* CPROF_BEGIN / CPROF_END, and every way to get them wrong: reported with file:line, tree intact. */
#include "../cprof.h"
#include "check.h"

static void f(void) { CPROF_SCOPE(); }

static void forgets_end(void) {
    CPROF_SCOPE();
    CPROF_BEGIN("never ended"); /* line 9 */
    f();
}

static void end_inside_scope(void) {
    CPROF_BEGIN("outer section");
    {
        CPROF_SCOPE("inner block");
        CPROF_END(); /* line 17: would close the inner block's scope */
    }
    CPROF_END(); /* closes "outer section" */
}

static const cprof_message *message_at(const cprof_profile *p, unsigned line) {
    for (size_t i = 0; i < p->message_count; i++)
        if (p->messages[i].line == line) return &p->messages[i];
    return NULL;
}

int main(void) {
    /* balanced use across statements */
    CPROF_BEGIN("section");
    f();
    f();
    CPROF_END();
    CPROF_BEGIN(); /* unnamed: named after the function */
    CPROF_END();
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(node_calls(p, 0, "section"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "section/f"), 2);
    CHECK_EQ_U64(node_calls(p, 0, "main"), 1);
    CHECK_EQ_U64(p->message_count, 0);
    cprof_profile_free(p);

    cprof_reset();
    CPROF_END(); /* line 44: nothing open */
    forgets_end();
    f(); /* must land at the root again, not under "never ended" */
    end_inside_scope();
    CPROF_BEGIN("open at capture"); /* line 48 */
    p = cprof_capture();
    CHECK_EQ_U64(node_calls(p, 0, "forgets_end"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "forgets_end/never ended"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "forgets_end/never ended/f"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "f"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "outer section/inner block"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "open at capture"), 1);
    const cprof_node *open = find_node(p, 0, "open at capture");
    CHECK(open && open->open == 1);
    const cprof_message *m = message_at(p, 44);
    CHECK(m != NULL);
    if (m) {
        CHECK_CONTAINS(m->file, "test_unbalanced.c");
        CHECK_CONTAINS(m->text, "CPROF_END() in main without an open CPROF_BEGIN");
    }
    m = message_at(p, 9);
    CHECK(m != NULL);
    if (m) CHECK_CONTAINS(m->text, "CPROF_BEGIN(\"never ended\") was not ended before the scope of forgets_end");
    m = message_at(p, 17);
    CHECK(m != NULL);
    if (m) CHECK_CONTAINS(m->text, "would close CPROF_SCOPE of end_inside_scope");
    m = message_at(p, 48);
    CHECK(m != NULL);
    if (m) CHECK_CONTAINS(m->text, "scope open at capture was still open on thread main");
    CHECK_EQ_U64(p->message_count, 4);
    cprof_report_options every_node = cprof_report_defaults();
    every_node.tree_min_pct = 0; /* the open scope's share of the run depends on the machine's load */
    const char *report = report_text(p, &every_node);
    CHECK_CONTAINS(report, "Notes from recording (4):");
    CHECK_CONTAINS(report, "test_unbalanced.c:44: CPROF_END()");
    CHECK_CONTAINS(report, "open at capture  (still open)");
    cprof_profile_free(p);
    CPROF_END();
    p = cprof_capture();
    open = find_node(p, 0, "open at capture");
    CHECK(open && open->open == 0 && open->calls == 1);
    cprof_profile_free(p);
    CHECK_DONE();
}
