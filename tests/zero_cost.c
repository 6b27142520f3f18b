/* Compiled twice with CPROF_DISABLE, with and without the macros: the code must be the same. */
#define CPROF_DISABLE
#include "../cprof.h"

int zero_cost_work(const int *values, int count);
int zero_cost_work(const int *values, int count) {
#ifdef WITH_SCOPE
    CPROF_SCOPE();
    CPROF_BEGIN("sum");
#endif
    int sum = 0;
#ifdef WITH_SCOPE
    cprof_alloc_counts counts;
    CPROF_TRACK_ALLOCS("loop")
    CPROF_TRACK_ALLOCS_INTO(&counts)
#endif
    for (int i = 0; i < count; i++) sum += values[i] * 3;
#ifdef WITH_SCOPE
    CPROF_END();
#endif
    return sum;
}
