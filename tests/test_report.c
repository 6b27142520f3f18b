/* The text report, to the character, on a profile with known numbers. */
#include "../cprof.h"
#include "check.h"

int main(void) {
    static const char *const tree[] = {
        "main 1 100000000",
        " fast 100 10000000",
        " slow 10 80000000",
        "  helper 1000 30000000",
        " tiny 1 100000",
        NULL,
    };
    cprof_profile *p = build_profile(tree);
    CHECK_EQ_U64(p->run_ns, 100000000);
    CHECK_EQ_U64(p->function_count, 5);
    CHECK_EQ_STR(p->functions[0].name, "slow"); /* self 50 ms */
    CHECK_EQ_U64(p->functions[0].self_ns, 50000000);
    CHECK_EQ_STR(p->functions[1].name, "helper");
    CHECK_EQ_STR(p->functions[2].name, "fast");
    CHECK_EQ_STR(p->functions[3].name, "main"); /* self 9.9 ms */
    CHECK_EQ_U64(p->functions[3].self_ns, 100000000 - 80000000 - 10000000 - 100000);
    CHECK_EQ_STR(p->functions[4].name, "tiny");

    const char *text = report_text(p, NULL);
    CHECK_CONTAINS(text, "cprof " CPROF_VERSION " report: synthetic\n"
                         "wall time 100.00 ms, recorded 100.00 ms, 1 thread, timer clock_gettime (CLOCK_MONOTONIC, ns)\n"
                         "\nFunctions, by self time\n");
    CHECK_CONTAINS(text, "\nCall tree (share of the run, inclusive)\n"
                         "      %run       total        self         calls  scope\n");
    CHECK_CONTAINS(text, "         calls       total        self         avg         min         max   %total    %self  function\n"
                         "            10    80.00 ms    50.00 ms     8.00 ms     8.00 ms     8.00 ms    80.0%    50.0%  slow  (synthetic.c:3)\n"
                         "         1,000    30.00 ms    30.00 ms     30.0 µs     30.0 µs     30.0 µs    30.0%    30.0%  helper  (synthetic.c:4)\n"
                         "           100    10.00 ms    10.00 ms    100.0 µs    100.0 µs    100.0 µs    10.0%    10.0%  fast  (synthetic.c:2)\n"
                         "             1   100.00 ms     9.90 ms   100.00 ms   100.00 ms   100.00 ms   100.0%     9.9%  main  (synthetic.c:1)\n"
                         "             1    100.0 µs    100.0 µs    100.0 µs    100.0 µs    100.0 µs     0.1%     0.1%  tiny  (synthetic.c:5)\n");
    CHECK_CONTAINS(text, "  thread main (id 1): 100.00 ms\n"
                         "   100.0%   100.00 ms     9.90 ms             1  main\n"
                         "    10.0%    10.00 ms    10.00 ms           100    fast\n"
                         "    80.0%    80.00 ms    50.00 ms            10    slow\n"
                         "    30.0%    30.00 ms    30.00 ms         1,000      helper\n"
                         "  (1 node below 0.50% of the run not shown)\n");
    /* a threshold of 0 shows every node; max_functions limits the table */
    cprof_report_options options = cprof_report_defaults();
    CHECK(options.tree_min_pct == 0.5);
    options.tree_min_pct = 0;
    options.max_functions = 2;
    text = report_text(p, &options);
    CHECK_CONTAINS(text, "     0.1%    100.0 µs    100.0 µs             1    tiny\n");
    CHECK(strstr(text, "not shown") == NULL);
    CHECK_CONTAINS(text, "  ... 3 more functions\n");
    CHECK(strstr(text, "  fast  (") == NULL);

    /* cprof_report_format follows snprintf: the full length back, a terminated prefix written */
    char small[10];
    size_t full = cprof_report_format(p, small, sizeof small, NULL);
    CHECK_EQ_U64(full, strlen(report_text(p, NULL)));
    CHECK_EQ_STR(small, "cprof 0.1");
    CHECK_EQ_U64(cprof_report_format(p, NULL, 0, NULL), full);

    /* cprof_report_write gives the same text */
    FILE *f = tmpfile();
    CHECK(f && cprof_report_write(p, f, NULL) == 0);
    if (f) {
        CHECK_EQ_U64((uint64_t)ftell(f), full);
        fclose(f);
    }
    cprof_profile_free(p);

    /* number formats */
    char out[32];
    CHECK_EQ_STR(cprof__test_duration(out, 0), "0 ns");
    CHECK_EQ_STR(cprof__test_duration(out, 999), "999 ns");
    CHECK_EQ_STR(cprof__test_duration(out, 1000), "1.0 µs");
    CHECK_EQ_STR(cprof__test_duration(out, 1500000), "1.50 ms");
    CHECK_EQ_STR(cprof__test_duration(out, 2500000000u), "2.500 s");
    CHECK_EQ_STR(cprof__test_count(out, 0), "0");
    CHECK_EQ_STR(cprof__test_count(out, 999), "999");
    CHECK_EQ_STR(cprof__test_count(out, 1000), "1,000");
    CHECK_EQ_STR(cprof__test_count(out, 1234567), "1,234,567");
    CHECK_EQ_U64(cprof__test_display_width("12.0 µs"), 7);
    CHECK_DONE();
}
