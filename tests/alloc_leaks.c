/* A program with known leaks of every kind, for check-alloc-valgrind: what cprof's leak check reports
   (at exit, CPROF_OUT) must equal valgrind --leak-check=full in each category, bytes and blocks:
       definitely lost  2,712 + 48 + 40 = 2,800 bytes in 8 blocks
       indirectly lost  32 + 24 + 40    =    96 bytes in 3 blocks
       possibly lost    64 + 56         =   120 bytes in 2 blocks (the 56 reached only from the 64)
       still reachable  100 + 200 + 16  =   316 bytes in 3 blocks
   The blocks freed are larger than 1 KB, which the tracker gives back at once (smaller ones it holds a
   while to recognise double frees: valgrind would see those as still reachable). Pointers are made and
   dropped in functions of their own, and the stack below main is cleared, so that no old copy of one
   stays on the stack, where valgrind looks at exit. */
#define CPROF_WRAP_MALLOC
#define CPROF_IMPLEMENTATION
#include "../cprof.h"

typedef struct node {
    struct node *next;
    char payload[8];
} node;

static void *kept;              /* still reachable: a list from a global */
static char *middle;            /* possibly lost: a pointer into the middle of its block only */
static __thread void *per_thread; /* still reachable, from thread-local storage */

static void load(void) {
    CPROF_SCOPE();
    for (int i = 1; i <= 3; i++) (void)malloc(100 * (size_t)i); /* 3 blocks, 600 bytes */
    free(malloc(5000));
}

static char *name(const char *text) {
    CPROF_SCOPE();
    return strdup(text);
}

static node *new_node(size_t size, node *next) {
    node *n = (node *)calloc(1, size);
    n->next = next;
    return n;
}

static void lose_some(void) {
    (void)name("leaked copy");                 /* 12 bytes */
    (void)calloc(4, 25);                       /* 100 bytes */
    char *grown = (char *)realloc(NULL, 10);
    grown = (char *)realloc(grown, 2000);      /* 2000 bytes */
    (void)grown;
    void *freed = malloc(3000);                /* freed: not a leak */
    free(freed);
    (void)new_node(48, new_node(32, new_node(24, NULL))); /* 48 lost, 32 and 24 indirectly lost */
    node *d = new_node(40, NULL), *e = new_node(40, d); /* a cycle: the first of the two (in address */
    d->next = e;                                        /* order) is lost, the other indirectly */
}

static void keep_some(void) {
    kept = new_node(100, new_node(200, NULL));
    middle = (char *)calloc(1, 64) + 16;
    *(void **)(middle - 16) = malloc(56); /* a start pointer, but from a possibly lost block: possibly lost */
    per_thread = malloc(16);
}

static void clear_stack(void) {
    volatile char scratch[16384];
    for (size_t i = 0; i < sizeof scratch; i++) scratch[i] = 0;
}

int main(void) {
    load();
    lose_some();
    keep_some();
    clear_stack();
    return 0;
}
