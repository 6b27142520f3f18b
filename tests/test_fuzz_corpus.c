/* The loader's fuzz target. Built by `make fuzz` with clang -fsanitize=fuzzer,address (CPROF_FUZZING);
   in the test matrix its main() feeds every file of tests/corpus through the same function, so each
   input the fuzzer ever kept stays a regression test. */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include <dirent.h>
#include <stdlib.h>

/* Load, and when the input is a valid profile, run every writer over it. */
static int load_and_write(const uint8_t *data, size_t size) {
    cprof_profile *p = NULL;
    if (cprof_load_string((const char *)data, size, "fuzz", &p) != 0) return 0;
    cprof__buf b;
    memset(&b, 0, sizeof b);
    cprof_report_options o = cprof_report_defaults();
    o.tree_min_pct = 0;
    cprof__report_build(&b, p, &o);
    cprof__json_build(&b, p);
    cprof__folded_build(&b, p, NULL);
    cprof__stats_build(&b, p);
    cprof__flamegraph_build(&b, NULL, p, NULL);
    cprof__buf_free(&b);
    cprof_profile_free(p);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load_and_write(data, size);
    return 0;
}

#ifndef CPROF_FUZZING
int main(void) {
    DIR *dir = opendir("tests/corpus");
    int files = 0, valid = 0;
    if (!dir) {
        fprintf(stderr, "tests/corpus: cannot open (run from the repository's top)\n");
        return 1;
    }
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char path[600];
        size_t length, capacity;
        snprintf(path, sizeof path, "tests/corpus/%s", e->d_name);
        char *text = cprof__read_file(path, &length, &capacity);
        if (!text) continue;
        valid += load_and_write((const uint8_t *)text, length);
        files++;
        cprof__release(text, capacity);
    }
    closedir(dir);
    printf("%d corpus files, %d valid profiles among them\n", files, valid);
    return files >= 5 && valid >= 3 ? 0 : 1;
}
#endif
