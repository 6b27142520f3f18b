/* Two files share the profiler: this one has the implementation and includes the header twice. */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "../cprof.h"
#include "check.h"

void twice_b_work(int n);

static void a_work(void) { CPROF_SCOPE(); }

int main(void) {
    a_work();
    twice_b_work(3);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(function_calls(p, "a_work"), 1);
    CHECK_EQ_U64(function_calls(p, "b_work"), 3);
    CHECK_EQ_U64(node_calls(p, 0, "twice_b_work/b_work"), 3);
    cprof_profile_free(p);
    CHECK_DONE();
}
