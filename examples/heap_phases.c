/* heap_phases.c - a program whose heap grows and shrinks in phases, for the memory chart: it loads a
   table (2,000 records of 512 B), builds an index over it (4,000 nodes of 1 KiB: the peak, 5,120,000 B),
   drops the index, then fills a cache (3,000 strings of 256 B) and leaks one of its blocks. Run it with
       CPROF_OUT=heap ./heap_phases
       cprof memory heap.json > heap-memory.svg       (open it in a browser)
   heap.txt has the peak, the leak check at exit (1 block of 256 B definitely lost) and the analysis. */
#define CPROF_IMPLEMENTATION
#define CPROF_WRAP_MALLOC
#include "../cprof.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RECORDS = 2000, INDEX_NODES = 4000, CACHED = 3000 };

typedef struct record { char text[512]; } record;
typedef struct index_node { const record *target; char keys[1016]; } index_node;

static record *table[RECORDS];
static index_node *index_nodes[INDEX_NODES];
static char *cache[CACHED];
static volatile unsigned sink;

static void load_table(void) {
    CPROF_SCOPE();
    for (int i = 0; i < RECORDS; i++) {
        table[i] = (record *)malloc(sizeof(record));
        memset(table[i]->text, 'a' + i % 26, sizeof table[i]->text);
    }
}

static void build_index(void) {
    CPROF_SCOPE();
    for (int i = 0; i < INDEX_NODES; i++) {
        index_nodes[i] = (index_node *)malloc(sizeof(index_node));
        index_nodes[i]->target = table[i % RECORDS];
        memset(index_nodes[i]->keys, 0, sizeof index_nodes[i]->keys);
    }
}

static void query(void) { /* reads through the index: the heap stays at its peak meanwhile */
    CPROF_SCOPE();
    for (int round = 0; round < 50; round++)
        for (int i = 0; i < INDEX_NODES; i++) sink += (unsigned)index_nodes[i]->target->text[round];
}

static void drop_index(void) {
    CPROF_SCOPE();
    for (int i = 0; i < INDEX_NODES; i++) free(index_nodes[i]);
}

static void fill_cache(void) {
    CPROF_SCOPE();
    for (int i = 0; i < CACHED; i++) {
        cache[i] = (char *)malloc(256);
        snprintf(cache[i], 256, "entry %d", i);
    }
    cache[0] = NULL; /* its block is lost: no pointer to it remains */
}

int main(void) {
    load_table();
    build_index();
    query();
    drop_index();
    fill_cache();
    printf("sink %u\n", sink);
    for (int i = 0; i < CACHED; i++) free(cache[i]);
    for (int i = 0; i < RECORDS; i++) free(table[i]);
    return 0;
}
