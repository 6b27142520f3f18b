/* flamegraph_write - the time cprof_flamegraph_write takes for live profiles of 1,000, 10,000 and
   100,000 call-tree nodes, with the default 0.1 % width threshold and with every frame drawn
   (min_width_pct = 0). Medians of REPS writes to /dev/null; the baseline is the text report of the
   same profile with every node shown, measured in the same run. Linear growth shows as a constant
   time per node. */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include <stdlib.h>
#include "bench.h"

enum { REPS = 7, CHILDREN = 99 };

static size_t site_outer; /* for site_name */
static const char *site_name(size_t i) { return i == 0 ? "root" : i <= site_outer ? "outer_%zu" : "inner_%zu"; }

/* A tree of about `nodes` nodes: one root scope, nodes / 100 children, each with 99 children of its
   own, called 1 to 7 times so that the widths differ. Site records are made at run time. */
static cprof_profile *record_tree(size_t nodes) {
    size_t outer = nodes / (CHILDREN + 1), count = 1 + outer + CHILDREN;
    site_outer = outer;
    cprof_site *sites = bench_sites(count, site_name);
    cprof_reset();
    uint32_t root = cprof__enter(&sites[0]);
    for (size_t o = 1; o <= outer; o++) {
        uint32_t token = cprof__enter(&sites[o]);
        for (size_t i = outer + 1; i < count; i++)
            for (size_t k = 0; k <= (o + i) % 7; k++) cprof__exit(cprof__enter(&sites[i]));
        cprof__exit(token);
    }
    cprof__exit(root);
    return cprof_capture(); /* the sites stay allocated: the live tree still points at them */
}

typedef struct timing {
    double svg_ns, svg_all_ns, report_ns;
    long svg_bytes, svg_all_bytes;
} timing;

static double median_ns(int (*write)(const cprof_profile *, FILE *, const void *), const cprof_profile *p,
                        const void *options, FILE *out, long *bytes) {
    double times[REPS];
    for (int r = 0; r < REPS; r++) {
        rewind(out);
        uint64_t start = cprof__monotonic_ns();
        write(p, out, options);
        fflush(out);
        times[r] = (double)(cprof__monotonic_ns() - start);
    }
    FILE *sized = tmpfile(); /* /dev/null does not count: the size comes from one more write */
    write(p, sized, options);
    *bytes = sized ? ftell(sized) : 0;
    if (sized) fclose(sized);
    qsort(times, REPS, sizeof *times, compare_doubles);
    return times[REPS / 2];
}

static int write_svg(const cprof_profile *p, FILE *out, const void *o) {
    return cprof_flamegraph_write(p, out, (const cprof_flamegraph_options *)o);
}
static int write_report(const cprof_profile *p, FILE *out, const void *o) {
    return cprof_report_write(p, out, (const cprof_report_options *)o);
}

int main(void) {
    FILE *out = fopen("/dev/null", "wb");
    if (!out) return 1;
    cprof_flamegraph_options all = cprof_flamegraph_defaults();
    all.min_width_pct = 0;
    cprof_report_options report = cprof_report_defaults();
    report.tree_min_pct = 0;
    printf("flamegraph_write: median of %d writes to /dev/null; baseline: the text report with every node\n", REPS);
    printf("     nodes  default (0.1%%)  per node      SVG     every frame  per node      SVG    report  SVG/report\n");
    double first_per_node = 0;
    for (size_t nodes = 1000; nodes <= 100000; nodes *= 10) {
        cprof_profile *p = record_tree(nodes);
        timing t;
        t.svg_ns = median_ns(write_svg, p, NULL, out, &t.svg_bytes);
        t.svg_all_ns = median_ns(write_svg, p, &all, out, &t.svg_all_bytes);
        long report_bytes;
        t.report_ns = median_ns(write_report, p, &report, out, &report_bytes);
        double n = (double)p->node_count, per_node = t.svg_all_ns / n;
        if (!first_per_node) first_per_node = per_node;
        printf("%10zu  %11.2f ms  %6.0f ns  %6ld KB  %11.2f ms  %6.0f ns  %6ld KB  %6.2f ms  %8.2fx\n", p->node_count,
               t.svg_ns / 1e6, t.svg_ns / n, t.svg_bytes / 1024, t.svg_all_ns / 1e6, per_node, t.svg_all_bytes / 1024,
               t.report_ns / 1e6, t.svg_all_ns / t.report_ns);
        if (nodes == 100000)
            printf("growth: every-frame time per node at 100k nodes = %.2fx the time per node at 1k\n",
                   per_node / first_per_node);
        cprof_profile_free(p);
    }
    fclose(out);
    return 0;
}
