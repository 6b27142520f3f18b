/* A user's implementation file that includes stb_sprintf, with its implementation, after cprof.h:
   both compile side by side, and neither's names leak into the other (check-hygiene). */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#define STB_SPRINTF_IMPLEMENTATION
#include <stb/stb_sprintf.h>
#include <string.h>

static int user_format(char *out, int size, double value) {
    CPROF_SCOPE();
    return stbsp_snprintf(out, size, "%.2f|%d", value, 1234567);
}

int main(void) {
    char text[64];
    user_format(text, (int)sizeof text, 2.5);
    cprof_profile *p = cprof_capture();
    int calls_ok = p->function_count == 1 && p->functions[0].calls == 1;
    cprof_profile_free(p);
    if (strcmp(text, "2.50|1234567") != 0 || !calls_ok) {
        fprintf(stderr, "stb_after: \"%s\", calls_ok %d\n", text, calls_ok);
        return 1;
    }
    return 0;
}
