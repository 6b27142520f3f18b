/* The loader's fuzz target. Built by `make fuzz` with clang -fsanitize=fuzzer,address (CPROF_FUZZING,
   and CPROF_IMPLEMENTATION there); in the test matrix its main() feeds every file of tests/corpus
   through the same function, so each input the fuzzer ever kept stays a regression test. */
#include "../cprof.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* The profile saved as text (malloc'ed, to free), or NULL when writing failed. */
static char *saved(const cprof_profile *p, size_t *length) {
    char *text = NULL;
    FILE *out = open_memstream(&text, length);
    if (!out) return NULL;
    int failed = cprof_json_write(p, out);
    fclose(out);
    if (!failed) return text;
    free(text);
    return NULL;
}

/* Every writer over a profile succeeds. */
static int write_all(const cprof_profile *p) {
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out) return 0;
    cprof_report_options o = cprof_report_defaults();
    o.tree_min_pct = 0;
    int failed = cprof_report_write(p, out, &o) != 0;
    failed |= (cprof_json_write(p, out) != 0) << 1;
    failed |= (cprof_folded_write(p, out, NULL) != 0) << 2;
    failed |= (cprof_stats_write(p, out) != 0) << 3;
    failed |= (cprof_flamegraph_write(p, out, NULL) != 0) << 4;
    fclose(out);
    free(text);
    if (failed) fprintf(stderr, "a writer failed (bits %d: report json folded stats flamegraph)\n", failed);
    return !failed;
}

/* Load; 0 when the input is not a profile. A profile must survive every writer, and save -> load ->
   save must give the same bytes; -1 (after a message) when it does not, else 1. */
static int load_and_write(const uint8_t *data, size_t size, const char *name) {
    cprof_profile *p = NULL, *again = NULL;
    if (cprof_load_string((const char *)data, size, name, &p) != 0) return 0;
    size_t length1 = 0, length2 = 0;
    char *first = saved(p, &length1);
    int ok = write_all(p) && first && cprof_load_string(first, length1, "saved", &again) == 0;
    if (!ok) fprintf(stderr, "%s: saving or loading the saved text failed: %s\n", name, cprof_error());
    char *second = ok ? saved(again, &length2) : NULL;
    if (ok && (!second || length1 != length2 || memcmp(first, second, length1) != 0)) {
        fprintf(stderr, "%s: save -> load -> save changed the text\n", name);
        ok = 0;
    }
    free(first);
    free(second);
    cprof_profile_free(again);
    cprof_profile_free(p);
    return ok ? 1 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (load_and_write(data, size, "fuzz") < 0) abort();
    return 0;
}

#ifndef CPROF_FUZZING
/* A whole file (malloc'ed, to free); NULL when it cannot be read. */
static char *read_all(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    *length = 0;
    for (size_t capacity = 0, got = 1; f && got > 0;) {
        char *grown = (char *)realloc(text, capacity += 65536);
        if (!grown) break;
        text = grown;
        got = fread(text + *length, 1, capacity - *length, f);
        *length += got;
    }
    if (f) fclose(f);
    return text;
}

/* Every corpus file is either a profile that keeps its invariants (load_and_write) or refused with
   "FILE:LINE:COL: what" naming the file; there are some of each. */
int main(void) {
    DIR *dir = opendir("tests/corpus");
    int files = 0, valid = 0, refused = 0, failures = 0;
    if (!dir) {
        fprintf(stderr, "tests/corpus: cannot open (run from the repository's top)\n");
        return 1;
    }
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char path[600], where[640];
        size_t length;
        snprintf(path, sizeof path, "tests/corpus/%s", e->d_name);
        char *text = read_all(path, &length);
        files++;
        int result = text ? load_and_write((const uint8_t *)text, length, path) : -1;
        free(text);
        unsigned line = 0, column = 0;
        int position = 0;
        snprintf(where, sizeof where, "%s:%%u:%%u: %%n", path);
        if (result == 1) valid++;
        else if (result == 0 && sscanf(cprof_error(), where, &line, &column, &position) == 2 && line >= 1 &&
                 column >= 1 && position > 0 && cprof_error()[position] != '\0')
            refused++;
        else {
            fprintf(stderr, "%s: FAIL (%s)\n", path, result < 0 ? "see above" : cprof_error());
            failures++;
        }
    }
    closedir(dir);
    printf("%d corpus files: %d valid profiles, %d refused with FILE:LINE:COL\n", files, valid, refused);
    return failures == 0 && valid >= 3 && refused >= 2 && valid + refused == files ? 0 : 1;
}
#endif
