/* A two-file program that uses cprof as a library would: this file only includes the header. */
#include <stdio.h>
#include <cprof.h>

long work(int n);

int main(void) {
    long total = 0;
    for (int i = 0; i < 3; i++) {
        CPROF_SCOPE("consumer_loop");
        total += work(1000);
    }
    printf("total %ld\n", total);
    return cprof_report_print(stdout) != 0;
}
