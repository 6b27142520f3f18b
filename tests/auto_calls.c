/* The workload of the callgrind comparison (the Makefile's check-auto-callgrind): compiled with
   -finstrument-functions -O0, linked with auto_counts.c (cprof, not instrumented), run under
   valgrind --tool=callgrind. Every function here must have the same call count in both. */
#include <stdlib.h>
#include <string.h>

static volatile unsigned sink;

static unsigned mix(unsigned x) { return x * 2654435761u ^ (x >> 13); }

static int by_value(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

static void sort_some(unsigned count) {
    unsigned *values = (unsigned *)malloc(count * sizeof *values);
    for (unsigned i = 0; i < count; i++) values[i] = mix(i);
    qsort(values, count, sizeof *values, by_value); /* by_value is called back from the C library */
    sink = values[0];
    free(values);
}

static unsigned ackermann(unsigned m, unsigned n) {
    if (m == 0) return n + 1;
    if (n == 0) return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

static int is_odd(unsigned n);
static int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
static int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }

static unsigned square(unsigned x) { return x * x; }
static unsigned cube(unsigned x) { return x * x * x; }

unsigned apply_all(unsigned rounds);
unsigned apply_all(unsigned rounds) {
    static unsigned (*const table[])(unsigned) = {square, cube, mix};
    unsigned total = 0;
    for (unsigned r = 0; r < rounds; r++) total += table[r % 3](r);
    return total;
}

static size_t count_words(const char *text) {
    size_t words = 0;
    for (const char *c = text; *c; c++) words += (c == text || c[-1] == ' ') && *c != ' ';
    return words;
}

int main(void) {
    sort_some(500);
    sink = ackermann(2, 3);
    sink = (unsigned)is_even(25);
    sink = apply_all(100);
    for (int i = 0; i < 7; i++) sink = (unsigned)count_words("the quick brown fox jumps");
    return 0;
}
