/* The second file: declarations only, included twice. */
#include "../cprof.h"
#include "../cprof.h"

static void b_work(void) { CPROF_SCOPE(); }

void twice_b_work(int n);
void twice_b_work(int n) {
    CPROF_SCOPE();
    for (int i = 0; i < n; i++) b_work();
}
