/* alloc_pairs - a fixed count of malloc+free pairs of mixed sizes (16 to 4,111 bytes, 8 blocks live, as
   bench/alloc_overhead's), tracked with "tracked" as the argument, else plain: for counting instructions
   under callgrind (bench/alloc_instructions.sh), where a loaded machine's timing noise does not reach. */
#define CPROF_WRAP_MALLOC
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include <stdio.h>
#include <string.h>

enum { PAIRS = 200000, LIVE = 8 };
static volatile unsigned long sink;
static size_t size_of(unsigned i) { return 16 + (i * 2654435761u >> 20) % 4096; }

int main(int argc, char **argv) {
    void *live[LIVE] = {0};
    int tracked = argc > 1 && strcmp(argv[1], "tracked") == 0;
    for (unsigned i = 0; i < PAIRS; i++) {
        if (tracked) {
            free(live[i % LIVE]);
            live[i % LIVE] = malloc(size_of(i));
        } else {
            (free)(live[i % LIVE]);
            live[i % LIVE] = (malloc)(size_of(i));
        }
        sink += (unsigned long)live[i % LIVE] & 1;
    }
    for (int k = 0; k < LIVE; k++) {
        if (tracked) free(live[k]);
        else (free)(live[k]);
    }
    printf("alloc_pairs: %d malloc+free pairs, %s (count their instructions with bench/alloc_instructions.sh)\n", PAIRS,
           tracked ? "tracked" : "plain");
    return 0;
}
