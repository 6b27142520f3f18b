/* A program with known leaks, for check-alloc-valgrind: what cprof reports as leaks must equal what
   valgrind --leak-check=full reports as "definitely lost" (bytes and blocks). */
#define CPROF_WRAP_MALLOC
#define CPROF_IMPLEMENTATION
#include "../cprof.h"

static void load(void) {
    CPROF_SCOPE();
    for (int i = 1; i <= 3; i++) (void)malloc(100 * (size_t)i); /* 3 blocks, 600 bytes */
    free(malloc(50));
}

static char *name(const char *text) {
    CPROF_SCOPE();
    return strdup(text);
}

int main(void) {
    load();
    (void)name("leaked copy");                 /* 12 bytes */
    (void)calloc(4, 25);                       /* 100 bytes */
    char *grown = (char *)realloc(NULL, 10);
    grown = (char *)realloc(grown, 2000);      /* 2000 bytes */
    (void)grown;
    void *kept = malloc(77);                   /* freed: not a leak */
    free(kept);
    return 0;
}
