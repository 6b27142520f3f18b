/* cprof_enable, cprof_disable, cprof_reset, thread names, the profiler's own memory. */
#include "../cprof.h"
#include "check.h"

static void f(void) { CPROF_SCOPE(); }

static void g(void) {
    CPROF_SCOPE();
    f();
}

int main(void) {
    CHECK(cprof_is_enabled());
    f();
    cprof_disable();
    CHECK(!cprof_is_enabled());
    f();
    f();
    cprof_enable();
    CHECK(cprof_is_enabled());
    f();
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(function_calls(p, "f"), 2); /* the two while disabled are not counted */
    cprof_profile_free(p);

    /* a scope open when recording stops still closes normally */
    {
        CPROF_SCOPE("spans the switch");
        cprof_disable();
        f();
    }
    cprof_enable();
    p = cprof_capture();
    CHECK_EQ_U64(node_calls(p, 0, "spans the switch"), 1);
    CHECK(find_node(p, 0, "spans the switch/f") == NULL);
    CHECK_EQ_U64(p->message_count, 0);
    cprof_profile_free(p);

    cprof_reset();
    p = cprof_capture();
    CHECK_EQ_U64(p->function_count, 0);
    CHECK_EQ_U64(p->run_ns, 0);
    CHECK_CONTAINS(report_text(p, NULL), "No scopes were recorded.");
    cprof_profile_free(p);
    g();
    g();
    p = cprof_capture();
    CHECK_EQ_U64(function_calls(p, "g"), 2);
    CHECK_EQ_U64(node_calls(p, 0, "g/f"), 2);
    CHECK_EQ_U64(function_calls(p, "f"), 2);
    CHECK_EQ_U64(p->function_count, 2); /* reset keeps the tree's shape but a node with no calls is no function */
    cprof_profile_free(p);

    /* memory grows with distinct call paths, not with calls */
    size_t before = cprof_memory_bytes();
    for (int i = 0; i < 100000; i++) g();
    CHECK_EQ_U64(cprof_memory_bytes(), before);
    CHECK(before > 0);

    /* thread names: set, and truncated with a message when too long */
    cprof_thread_name("renamed");
    char long_name[100];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    p = cprof_capture();
    CHECK_EQ_STR(p->threads[0].name, "renamed");
    cprof_profile_free(p);
    cprof_thread_name(long_name);
    p = cprof_capture();
    CHECK_EQ_U64(strlen(p->threads[0].name), 63);
    CHECK_EQ_U64(p->message_count, 1);
    if (p->message_count) CHECK_CONTAINS(p->messages[0].text, "truncated to 63 bytes");
    cprof_profile_free(p);
    CHECK_DONE();
}
