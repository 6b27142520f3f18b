/* The cprof tool in a program that called setlocale(LC_ALL, ""): run under a decimal-comma locale,
   every output must be the bytes of tests/golden (check-locale). <locale.h> comes first, as in a user's
   file. Verbs of its own: "probe" prints 0.5 with the C library's printf (0,5 shows the locale took
   effect); "resave IN OUT" loads a profile and saves it again (strtod and the
   profile file's doubles). */
#include <locale.h>
#include <string.h>
#define CPROF_IMPLEMENTATION
#define CPROF_MAIN
#define main cprof_tool_main
#include "../cprof.h"
#undef main

int main(int argc, char **argv) {
    if (!setlocale(LC_ALL, "")) {
        fprintf(stderr, "locale_tool: the locale of the environment is not installed\n");
        return 3;
    }
    if (argc == 2 && strcmp(argv[1], "probe") == 0) return printf("%.1f\n", 0.5) < 0; /* the C library's own */
    if (argc == 4 && strcmp(argv[1], "resave") == 0) {
        cprof_profile *profile;
        if (cprof_load(argv[2], &profile) != 0) return fprintf(stderr, "%s\n", cprof_error()), 1;
        int failed = cprof_save(profile, argv[3]);
        cprof_profile_free(profile);
        return failed ? 1 : 0;
    }
    return cprof_tool_main(argc, argv);
}
