/* analyze - the time cprof_analyze takes for live profiles of about 1,000, 10,000 and 100,000 call-tree
   nodes: with the default thresholds, and with every rule made to fire on every function (the worst
   case: each function a hot loop whose busiest caller is looked up, each a slow function). Medians of
   REPS analyses; the baseline is the text report of the same profile with every node shown, measured in
   the same run. */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"

enum { REPS = 7, FANOUT = 10 };

/* root > group_g (10) > part_p (10) > leaf_l (nodes / 100): every leaf name under 100 parents, called
   1 to 5 times. Site records are made at run time and stay allocated (the live tree points at them). */
static size_t site_fanout; /* for site_name */
static const char *site_name(size_t i) {
    return i == 0 ? "root" : i <= site_fanout ? "group_%zu" : i <= 2 * site_fanout ? "part_%zu" : "leaf_%zu";
}

static cprof_profile *record_tree(size_t nodes) {
    size_t leaves = nodes / (FANOUT * FANOUT), count = 1 + 2 * FANOUT + leaves;
    site_fanout = FANOUT;
    cprof_site *sites = bench_sites(count, site_name);
    cprof_reset();
    uint32_t root = cprof__enter(&sites[0]);
    for (size_t g = 1; g <= FANOUT; g++) {
        uint32_t group = cprof__enter(&sites[g]);
        for (size_t q = FANOUT + 1; q <= 2 * FANOUT; q++) {
            uint32_t part = cprof__enter(&sites[q]);
            for (size_t l = 2 * FANOUT + 1; l < count; l++)
                for (size_t k = 0; k <= (g + q + l) % 5; k++) cprof__exit(cprof__enter(&sites[l]));
            cprof__exit(part);
        }
        cprof__exit(group);
    }
    cprof__exit(root);
    return cprof_capture();
}

static double analyze_ns(const cprof_profile *p, const cprof_analyze_options *o, size_t *findings) {
    double times[REPS];
    for (int r = 0; r < REPS; r++) {
        double start = now_ns();
        cprof_findings *f = cprof_analyze(p, o);
        times[r] = now_ns() - start;
        *findings = f ? f->count : 0;
        cprof_findings_free(f);
    }
    return median(times, REPS);
}

static double report_ns(const cprof_profile *p, FILE *out) {
    cprof_report_options o = cprof_report_defaults();
    o.tree_min_pct = 0;
    double times[REPS];
    for (int r = 0; r < REPS; r++) {
        rewind(out);
        double start = now_ns();
        cprof_report_write(p, out, &o);
        fflush(out);
        times[r] = now_ns() - start;
    }
    return median(times, REPS);
}

int main(void) {

    FILE *out = fopen("/dev/null", "wb");
    if (!out) return 1;
    cprof_analyze_options defaults = cprof_analyze_defaults(), every = defaults;
    defaults.settings = defaults.budgets = every.settings = every.budgets = NULL;
    every.slow_medium_pct = every.hot_loop_calls = every.hot_loop_pct = 0;
    every.hot_loop_avg_ns = 1e18;
    printf("analyze: median of %d analyses; baseline: the text report with every node, same profile, same run\n", REPS);
    printf("     nodes   default  findings  per node    every rule  findings  per node      report  default/report  every/report\n");
    size_t sizes[] = {1000, 10000, 100000};
    for (int s = 0; s < 3; s++) {
        cprof_profile *p = record_tree(sizes[s]);
        size_t found_default, found_every;
        double d = analyze_ns(p, &defaults, &found_default), e = analyze_ns(p, &every, &found_every);
        double r = report_ns(p, out);
        double n = (double)p->node_count;
        printf("%10zu %7.2f ms %9zu %6.1f ns %10.2f ms %9zu %6.1f ns %8.2f ms %14.3fx %12.3fx\n", p->node_count, d / 1e6,
               found_default, d / n, e / 1e6, found_every, e / n, r / 1e6, d / r, e / r);
        cprof_profile_free(p);
    }
    fclose(out);
    return 0;
}
