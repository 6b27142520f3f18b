/* The other file compiles cprof's implementation. */
#define CPROF_IMPLEMENTATION
#include <cprof.h>

long work(int n);

long work(int n) {
    CPROF_SCOPE();
    long sum = 0;
    for (int i = 0; i < n; i++) sum += i;
    return sum;
}
