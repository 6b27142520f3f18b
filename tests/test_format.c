/* cprof's own printf (>>format) and its strtod in the C locale: exact digits of a double, ties rounded
   away from zero, the same bytes as the C library everywhere else (checked against it on random values:
   this test runs in the C locale), snprintf's contract; numbers read with '.' only. */
#include "../cprof.h"
#include "check.h"
#include <float.h>
#include <math.h>

static const char *format(const char *spec, double value) {
    static char out[512];
    cprof__test_format(out, sizeof out, spec, value);
    return out;
}

static void known_values(void) {
    CHECK_EQ_STR(format("%.1f", 12.25), "12.3"); /* a tie: away from zero (the C library: 12.2) */
    CHECK_EQ_STR(format("%.2f", 0.125), "0.13");
    CHECK_EQ_STR(format("%.0f", -5148.5), "-5149");
    CHECK_EQ_STR(format("%.0f", 0.5), "1");
    CHECK_EQ_STR(format("%.3g", 1005.0), "1.01e+03");
    CHECK_EQ_STR(format("%.2f", 1638972.115), "1638972.11"); /* stored below the tie: stb_sprintf says .12 */
    CHECK_EQ_STR(format("%.2f", 9.995), "9.99");              /* 9.99499999... */
    CHECK_EQ_STR(format("%.2f", 9.9999), "10.00");
    CHECK_EQ_STR(format("%.1f", 99.96), "100.0");
    CHECK_EQ_STR(format("%.0f", 0.4), "0");
    CHECK_EQ_STR(format("%.2f", 0.004), "0.00");
    CHECK_EQ_STR(format("%.2f", 0.005), "0.01"); /* 0.005000000000000000104 */
    CHECK_EQ_STR(format("%g", 100000.0), "100000");
    CHECK_EQ_STR(format("%g", 1e6), "1e+06");
    CHECK_EQ_STR(format("%g", 0.0001), "0.0001");
    CHECK_EQ_STR(format("%g", 0.00001), "1e-05");
    CHECK_EQ_STR(format("%g", 0.0), "0");
    CHECK_EQ_STR(format("%.17g", 0.1), "0.10000000000000001");
    CHECK_EQ_STR(format("%.17g", 5e-324), "4.9406564584124654e-324");
    CHECK_EQ_STR(format("%.17g", DBL_MAX), "1.7976931348623157e+308");
    CHECK_EQ_STR(format("%e", 0.0), "0.000000e+00");
    CHECK_EQ_STR(format("%.1f", -0.0), "-0.0");
    CHECK_EQ_STR(format("%+8.1f%%", 3.25), "    +3.3%");
    CHECK_EQ_STR(format("%-8.2g|", 525.0), "5.3e+02 |");
    CHECK_EQ_STR(format("%6.1f", INFINITY), "   inf");
    CHECK_EQ_STR(format("%f", -NAN), "-nan");
    char big[400];
    snprintf(big, sizeof big, "%.0f", DBL_MAX); /* every digit of 2^1024 - 2^971 */
    CHECK_EQ_STR(format("%.0f", DBL_MAX), big);
}

/* Whether the conversion's rounding digit is exactly a 5 followed by nothing: all 801 significant digits
   (%.800e), more than a double's exact expansion has, from the C library. */
static int is_tie(const char *spec, double value) {
    static char all[1000];
    snprintf(all, sizeof all, "%.800e", fabs(value));
    char digits[810];
    size_t n = 0;
    for (const char *c = all; *c && *c != 'e'; c++)
        if (*c != '.') digits[n++] = *c;
    int exponent = atoi(strchr(all, 'e') + 1);
    const char *dot = strchr(spec, '.');
    int precision = dot ? atoi(dot + 1) : 6;
    char conversion = (char)(spec[strlen(spec) - 1] | 0x20);
    int kept = conversion == 'f' ? exponent + 1 + precision : conversion == 'e' ? precision + 1 : precision ? precision : 1;
    if (kept < 0 || (size_t)kept >= n || digits[kept] != '5') return 0;
    for (size_t i = (size_t)kept + 1; i < n; i++)
        if (digits[i] != '0') return 0;
    return 1;
}

/* Random bit patterns (a tenth under valgrind): a tie at a few decimals needs a double with few significant bits, so these
   agree with the C library's exact conversion digit for digit. */
static void against_the_c_library(void) {
    static const char *specs[] = {"%.0f", "%.1f", "%.2f", "%.3f", "%.4f", "%e", "%.3e", "%g", "%.3g", "%.17g", "%+08.2f", "%G"};
    uint64_t state = 88172645463325252u;
    int compared = 0, differed = 0, ties = 0, rounds = getenv("CHECK_UNDER_VALGRIND") ? 2000 : 20000;
    for (int i = 0; i < rounds; i++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        double value;
        uint64_t bits = i % 2 ? state : (state >> 12) | ((uint64_t)(1023 + (int)(state % 40) - 20) << 52);
        memcpy(&value, &bits, sizeof value);
        if (!isfinite(value)) continue;
        for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
            char expected[512], got[512];
            snprintf(expected, sizeof expected, specs[s], value);
            cprof__test_format(got, sizeof got, specs[s], value);
            compared++;
            if (strcmp(expected, got) == 0) continue;
            /* a tie, which the C library rounds to even and cprof away from zero (random values with
               few fraction bits have them) */
            if (is_tie(specs[s], value)) {
                ties++;
                continue;
            }
            if (differed++ < 5) fprintf(stderr, "%s of %.25g: the C library %s, cprof %s\n", specs[s], value, expected, got);
        }
    }
    printf("%d conversions compared with the C library's, %d of them ties\n", compared, ties);
    CHECK(compared > rounds * 10);
    CHECK(ties < compared / 1000);
    CHECK_EQ_U64(differed, 0);
}

static void integers_and_strings(void) {
    static const char *specs[] = {"%d", "%5d", "%-5d|", "%05d", "%+d", "% d", "%.3d", "%x", "%04x", "%#x", "%o", "%#o", "%X", "%8.3d"};
    uint64_t state = 7;
    for (int i = 0; i < 2000; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        int value = (int)(state >> 33) * (i % 2 ? -1 : 1) >> (i % 31);
        for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
            char expected[64], got[64];
            snprintf(expected, sizeof expected, specs[s], value);
            cprof__test_format(got, sizeof got, specs[s], value);
            CHECK_EQ_STR(got, expected);
        }
    }
    char out[96];
    unsigned long long u = 18446744073709551615u;
    cprof__test_format(out, sizeof out, "%llu|%lld|%zu|%-6s|%.3s|%c|%%|%*d|%-*d|%.*s|%ld", u, -9223372036854775807ll, /* not LLONG_MIN: stb_sprintf negates it (undefined) */
                       (size_t)42, "ab", "abcdef", 'x', 5, 7, 4, 3, 2, "xyz", -5l);
    CHECK_EQ_STR(out, "18446744073709551615|-9223372036854775807|42|ab    |abc|x|%|    7|3   |xy|-5");
    char small[8];
    CHECK_EQ_U64(cprof__test_format(small, sizeof small, "%s-%d", "abcdefgh", 12), 11); /* the full length */
    CHECK_EQ_STR(small, "abcdefg");
    CHECK_EQ_U64(cprof__test_format(NULL, 0, "%.1f", 2.5), 3);
}

static void reading(void) {
    char *end;
    const char *text = "1.5";
    CHECK(cprof__test_strtod_c(text, &end) == 1.5 && end == text + 3);
    text = "1,5";
    CHECK(cprof__test_strtod_c(text, &end) == 1.0 && end == text + 1); /* ',' is no decimal point here */
    text = " -2.5e3x";
    CHECK(cprof__test_strtod_c(text, &end) == -2500.0 && end == text + 7);
    text = "2.5e";
    CHECK(cprof__test_strtod_c(text, &end) == 2.5 && end == text + 3);
    text = ".5";
    CHECK(cprof__test_strtod_c(text, &end) == 0.5 && end == text + 2);
    text = "0x1.8p1";
    CHECK(cprof__test_strtod_c(text, &end) == 3.0 && end == text + 7);
    text = "inf";
    CHECK(isinf(cprof__test_strtod_c(text, &end)) && end == text + 3);
    text = "nan";
    CHECK(isnan(cprof__test_strtod_c(text, NULL)));
    text = "-x";
    CHECK(cprof__test_strtod_c(text, &end) == 0 && end == text);
    text = ".";
    CHECK(cprof__test_strtod_c(text, &end) == 0 && end == text);
    char long_number[300] = "0.";
    memset(long_number + 2, '0', 250);
    strcpy(long_number + 252, "15e250"); /* 0.(250 zeros)15e250 = 0.15: longer than the small copy */
    CHECK(cprof__test_strtod_c(long_number, &end) == 0.15 && end == long_number + strlen(long_number));
    /* every double written with %.17g reads back as itself */
    uint64_t state = 99;
    int exact = 1;
    for (int i = 0; i < 5000; i++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        double value, back;
        memcpy(&value, &state, sizeof value);
        if (!isfinite(value)) continue;
        char out[40];
        cprof__test_format(out, sizeof out, "%.17g", value);
        back = cprof__test_strtod_c(out, NULL);
        exact &= memcmp(&back, &value, sizeof value) == 0;
    }
    CHECK(exact);
}

int main(void) {
    known_values();
    against_the_c_library();
    integers_and_strings();
    reading();
    CHECK_DONE();
}
