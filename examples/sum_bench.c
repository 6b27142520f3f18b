/* sum_bench - the benchmark API on two small tasks: three ways to sum an array (n = 1,000 to 100,000)
   and two ways to sort one (n = 250 to 2,000). Prints each benchmark's statistics, the implementations
   of each task fastest first, and how each scales with n.
       sum_bench                 the table; default minimum time 0.5 s per benchmark
       sum_bench --quick         0.05 s per benchmark (for the test)
       sum_bench FILE.json       also save the results: `cprof diff old.json new.json` compares two runs */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include <stdlib.h>
#include <string.h>

static double *numbers; /* 100,000 values, filled once */
static volatile double result; /* keeps each sum alive */

static void sum_loop(cprof_bench *b) {
    double sum = 0;
    for (uint64_t i = 0; i < b->n; i++) sum += numbers[i];
    result = sum;
    b->items = b->n;
    b->bytes = b->n * sizeof(double);
}

/* Four accumulators: the additions no longer wait for each other. */
static void sum_unrolled(cprof_bench *b) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    uint64_t i = 0;
    for (; i + 4 <= b->n; i += 4) s0 += numbers[i], s1 += numbers[i + 1], s2 += numbers[i + 2], s3 += numbers[i + 3];
    for (; i < b->n; i++) s0 += numbers[i];
    result = (s0 + s1) + (s2 + s3);
    b->items = b->n;
    b->bytes = b->n * sizeof(double);
}

/* Pairwise: the sum of the two halves' sums, recursively; rounding errors grow with log n, not n. */
static double pairwise(const double *x, uint64_t n) {
    if (n <= 8) {
        double sum = 0;
        for (uint64_t i = 0; i < n; i++) sum += x[i];
        return sum;
    }
    return pairwise(x, n / 2) + pairwise(x + n / 2, n - n / 2);
}

static void sum_pairwise(cprof_bench *b) {
    result = pairwise(numbers, b->n);
    b->items = b->n;
    b->bytes = b->n * sizeof(double);
}

static double sort_buffer[2000];

static void sort_insertion(cprof_bench *b) {
    memcpy(sort_buffer, numbers, b->n * sizeof(double));
    for (uint64_t i = 1; i < b->n; i++) {
        double value = sort_buffer[i];
        uint64_t j = i;
        for (; j > 0 && sort_buffer[j - 1] > value; j--) sort_buffer[j] = sort_buffer[j - 1];
        sort_buffer[j] = value;
    }
    b->items = b->n;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void sort_qsort(cprof_bench *b) {
    memcpy(sort_buffer, numbers, b->n * sizeof(double));
    qsort(sort_buffer, b->n, sizeof(double), compare);
    b->items = b->n;
}

int main(int argc, char **argv) {
    cprof_bench_options options = cprof_bench_defaults();
    const char *save = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) options.min_time_s = 0.05, options.warmup_s = 0.005;
        else save = argv[i];
    }
    numbers = (double *)malloc(100000 * sizeof(double));
    if (!numbers) return 1;
    srand(1);
    for (int i = 0; i < 100000; i++) numbers[i] = rand() / (double)RAND_MAX;

    const uint64_t sum_sizes[] = {1000, 10000, 100000}, sort_sizes[] = {250, 500, 1000, 2000};
    cprof_bench_sweep("sum/loop", sum_loop, NULL, sum_sizes, 3, &options);
    cprof_bench_sweep("sum/unrolled", sum_unrolled, NULL, sum_sizes, 3, &options);
    cprof_bench_sweep("sum/pairwise", sum_pairwise, NULL, sum_sizes, 3, &options);
    cprof_bench_sweep("sort/insertion", sort_insertion, NULL, sort_sizes, 4, &options);
    cprof_bench_sweep("sort/qsort", sort_qsort, NULL, sort_sizes, 4, &options);

    cprof_profile *profile = cprof_capture();
    int failed = cprof_bench_write(profile, stdout) != 0;
    if (save && cprof_save(profile, save) != 0) {
        fprintf(stderr, "sum_bench: %s\n", cprof_error());
        failed = 1;
    }
    cprof_profile_free(profile);
    free(numbers);
    return failed;
}
