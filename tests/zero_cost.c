/* Compiled twice with CPROF_DISABLE, with and without the scope: the code must be the same. */
#define CPROF_DISABLE
#include "../cprof.h"

int zero_cost_work(const int *values, int count);
int zero_cost_work(const int *values, int count) {
#ifdef WITH_SCOPE
    CPROF_SCOPE();
#endif
    int sum = 0;
    for (int i = 0; i < count; i++) sum += values[i] * 3;
    return sum;
}
