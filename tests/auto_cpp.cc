// Automatic instrumentation of C++ (compiled with -finstrument-functions by the Makefile's
// check-auto-cpp-* targets): methods, templates and static functions get their demangled names;
// an exception through instrumented functions leaves the tree consistent; CPROF_SCOPE's guard object,
// instrumented here too, is never recorded itself.
#define CPROF_IMPLEMENTATION
#define CPROF_AUTO
#include "../cprof.h"
#include "check.h"
#include <stdexcept>

#define NOINLINE __attribute__((noinline))
static volatile double sink;

namespace shapes {
struct circle {
    double radius;
    NOINLINE double area() const { return 3.0 * radius * radius; }
    NOINLINE static circle unit() { return circle{1.0}; }
};
template <typename T> NOINLINE T doubled(T x) { return x + x; }
} // namespace shapes

NOINLINE static void thrower() { throw std::runtime_error("thrown"); }
NOINLINE static void middle() {
    thrower();
    sink = 1; // never reached
}
NOINLINE static int catcher() {
    try {
        middle();
    } catch (const std::runtime_error &) {
        return 1;
    }
    return 0;
}
NOINLINE static void with_manual_scope() {
    CPROF_SCOPE("manual");
    sink = shapes::doubled(2.5);
}

int main() {
    shapes::circle c = shapes::circle::unit();
    for (int i = 0; i < 3; i++) sink = c.area();
    sink = shapes::doubled(2) + shapes::doubled(3);
    CHECK_EQ_U64(catcher(), 1);
    CHECK_EQ_U64(catcher(), 1);
    with_manual_scope();

    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(node_calls(p, 0, "main/shapes::circle::unit()"), 1);
    CHECK_EQ_U64(node_calls(p, 0, "main/shapes::circle::area() const"), 3);
    CHECK_EQ_U64(node_calls(p, 0, "main/int shapes::doubled<int>(int)"), 2);
    CHECK_EQ_U64(node_calls(p, 0, "main/with_manual_scope()/manual/double shapes::doubled<double>(double)"), 1);
    // the exception: thrower and middle are closed while unwinding (gcc calls the exit hook then;
    // under clang the hook of catcher's return closes them)
    CHECK_EQ_U64(node_calls(p, 0, "main/catcher()/middle()/thrower()"), 2);
    CHECK_EQ_U64(find_node(p, 0, "main/catcher()/middle()/thrower()")->open, 0);
    CHECK_EQ_U64(find_node(p, 0, "main/catcher()")->open, 0);
    for (size_t i = 0; i < p->function_count; i++) {
        CHECK(strncmp(p->functions[i].name, "cprof", 5) != 0);
        CHECK(strncmp(p->functions[i].name, "_Z", 2) != 0); // everything demangled
    }
    CHECK_EQ_U64(p->message_count, 1); // main still open, nothing else
    if (check_failures) cprof_report_write(p, stderr, NULL);
    cprof_profile_free(p);
    CHECK_DONE();
}
