// C++: the RAII guard closes the scope on every exit, exceptions included; methods and lambdas.
#include "../cprof.h"
#include "check.h"
#include <stdexcept>
#include <string>

struct parser {
    int parse(const std::string &text) {
        CPROF_SCOPE();
        if (text.empty()) throw std::runtime_error("empty");
        return (int)text.size();
    }
};

static void thrower_caller(parser &p) {
    CPROF_SCOPE("caller");
    try {
        p.parse("");
    } catch (const std::exception &) {
    }
}

int main() {
    parser p;
    p.parse("abc");
    thrower_caller(p);
    auto lambda = []() { CPROF_SCOPE("lambda body"); };
    lambda();
    lambda();
    cprof_profile *profile = cprof_capture();
    CHECK_EQ_U64(node_calls(profile, 0, "parse"), 1);
    CHECK_EQ_U64(node_calls(profile, 0, "caller"), 1);
    CHECK_EQ_U64(node_calls(profile, 0, "caller/parse"), 1); // closed by the unwinding
    CHECK_EQ_U64(node_calls(profile, 0, "lambda body"), 2);
    CHECK_EQ_U64(profile->message_count, 0);
    CHECK_EQ_U64(function_calls(profile, "parse"), 2);
    cprof_profile_free(profile);
    CHECK_DONE();
}
