/* Fan-out: one parent with 5,000 distinct children (an interpreter's dispatch loop). Past a few
   children the recorder finds them through a table; every count stays exact, recursion and nesting
   under the many children included. (Its cost per entry is bench/scope_fanout.c's business.) */
#include "../cprof.h"
#include "check.h"

enum { CHILDREN = 5000, ROUNDS = 3 };

static cprof_site sites[CHILDREN];
static char names[CHILDREN][16];

static const cprof_node *child_named(const cprof_profile *p, const cprof_node *parent, const char *name) {
    for (uint32_t c = parent->first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling)
        if (strcmp(p->sites[p->nodes[c].site].name, name) == 0) return &p->nodes[c];
    return NULL;
}

int main(void) {
    make_sites(sites, names[0], sizeof names[0], CHILDREN, "op %04d", "dispatch", "test_fanout.c");
    {
        CPROF_SCOPE("dispatch loop");
        for (int round = 0; round < ROUNDS; round++) {
            for (int i = 0; i < CHILDREN; i++) { /* op i runs (i % 3) + 1 times a round, in a scattered order */
                int op = (i * 1237) % CHILDREN; /* 1237 is prime to 5,000: each op once */
                for (int k = 0; k <= op % 3; k++) {
                    uint32_t token = cprof__enter(&sites[op]);
                    if (op % 100 == 0) { /* a nested op under some: its own subtree */
                        uint32_t inner = cprof__enter(&sites[(op + 1) % CHILDREN]);
                        cprof__exit(inner);
                    }
                    cprof__exit(token);
                }
            }
        }
        /* the recorder's table holds them (the sibling list still does, for the capture) */
        size_t table_slots = 0;
        CHECK_EQ_U64(cprof__test_children(1, &table_slots), CHILDREN);
        CHECK(table_slots >= 2 * CHILDREN);
    }
    cprof_profile *p = cprof_capture();
    const cprof_node *root = &p->nodes[p->threads[0].root];
    const cprof_node *loop = child_named(p, root, "dispatch loop");
    CHECK(loop != NULL);
    if (!loop) CHECK_DONE();
    CHECK_EQ_U64(loop->calls, 1);
    uint64_t children = 0, wrong = 0;
    const char *previous = "";
    for (uint32_t c = loop->first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling) {
        const cprof_node *node = &p->nodes[c];
        int op = (int)p->sites[node->site].line - 1;
        children++;
        if (node->calls != (uint64_t)ROUNDS * (uint64_t)(op % 3 + 1)) wrong++;
        if (strcmp(previous, p->sites[node->site].name) >= 0) wrong++; /* sorted by name, each once */
        previous = p->sites[node->site].name;
        if (op % 100 == 0) {
            const cprof_node *inner = child_named(p, node, names[(op + 1) % CHILDREN]);
            if (!inner || inner->calls != node->calls) wrong++;
        } else if (node->first_child != CPROF_NONE) {
            wrong++;
        }
    }
    CHECK_EQ_U64(children, CHILDREN);
    CHECK_EQ_U64(wrong, 0);
    CHECK_EQ_U64(p->dropped_scopes, 0);
    cprof_profile_free(p);
    CHECK_DONE();
}
