/* CPROF_DISABLE: every macro expands to nothing, the functions still link and return empty results. (Linked
   against the implementation compiled without it: the same program, see check-disable-same-implementation.) */
#define CPROF_DISABLE
#include "../cprof.h"
#include "check.h"

static int counted;
static int side_effect(void) { return ++counted; }

static int f(int x) {
    CPROF_SCOPE();
    CPROF_SCOPE("named");
    CPROF_BEGIN("section");
    CPROF_END();
    return x + 1;
}

int main(void) {
    CHECK_EQ_U64(f(1), 2);
    if (side_effect()) CPROF_BEGIN("in an if without braces");
    else CPROF_END();
    CHECK_EQ_U64(counted, 1);
    cprof_profile *p = cprof_capture();
    CHECK(p != NULL);
    CHECK_EQ_U64(p->function_count, 0);
    CHECK_EQ_U64(p->node_count, 1); /* the main thread's empty root */
    CHECK_CONTAINS(report_text(p, NULL), "No scopes were recorded.");
    cprof_profile_free(p);
    CHECK_EQ_U64(cprof_report_print(stdout), 0);
    CHECK_DONE();
}
