/* A shared library that tests/auto_main.c loads with dlopen: one exported function (in .dynsym)
   and one static function (named only by .symtab, which a stripped copy lacks). */
#define NOINLINE __attribute__((noinline))

int plugin_sum_squares(int n);

NOINLINE static int plugin_square(int x) { return x * x; }

NOINLINE int plugin_sum_squares(int n) {
    int sum = 0;
    for (int i = 1; i <= n; i++) sum += plugin_square(i);
    return sum;
}
