/* cprof for the callgrind comparison, compiled WITHOUT -finstrument-functions: it defines the hooks
   and, at exit, writes one line per function, "calls<TAB>name", to the file named by $AUTO_COUNTS. */
#define CPROF_IMPLEMENTATION
#define CPROF_AUTO
#include "../cprof.h"
#include <stdlib.h>

static void write_counts(void) {
    const char *path = getenv("AUTO_COUNTS");
    cprof_profile *p = cprof_capture();
    FILE *out = path && p ? fopen(path, "w") : NULL;
    if (!out) {
        fprintf(stderr, "auto_counts: cannot write the counts (AUTO_COUNTS=%s)\n", path ? path : "");
        exit(1);
    }
    for (size_t i = 0; i < p->function_count; i++)
        fprintf(out, "%llu\t%s\n", (unsigned long long)p->functions[i].calls, p->functions[i].name);
    fclose(out);
    cprof_profile_free(p);
}

__attribute__((constructor)) static void register_writer(void) { atexit(write_counts); }
