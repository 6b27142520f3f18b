/* The exports other tools read (pprof, callgrind, speedscope) and the folded stacks' metrics, to the
   byte on a small profile; tests/check_exports.sh holds them against the real consumers. */
#include "../cprof.h"
#include "check.h"
#include <stdlib.h>

typedef int (*writer)(const cprof_profile *p, FILE *out);

/* What a writer wrote (binary allowed), its length in *length; free() it. */
static char *written(writer w, const cprof_profile *p, size_t *length) {
    char *text = NULL;
    FILE *out = open_memstream(&text, length);
    CHECK_EQ_U64(w(p, out), 0);
    fclose(out);
    return text;
}

static const char *folded_metric;
static int folded_writer(const cprof_profile *p, FILE *out) {
    cprof_folded_options o = cprof_folded_defaults();
    o.metric = folded_metric;
    return cprof_folded_write(p, out, &o);
}
static int pprof_writer(const cprof_profile *p, FILE *out) { return cprof_pprof_write(p, out, 0); }
static int pprof_gzip_writer(const cprof_profile *p, FILE *out) { return cprof_pprof_write(p, out, 1); }

/* main 1 call 100 ms: fast 100 calls 10 ms, slow 10 calls 80 ms: helper 1000 calls 30 ms. */
static cprof_profile *small_profile(void) {
    static const char *const tree[] = {"main 1 100000000", " fast 100 10000000", " slow 10 80000000",
                                       "  helper 1000 30000000", NULL};
    cprof_profile *p = build_profile(tree);
    p->sites[1].name = "fa;st\x1b"; /* the folded separator and a control character */
    cprof__test_derive(p);
    return p;
}

static void test_folded_metrics(const cprof_profile *p) {
    size_t length;
    folded_metric = "calls";
    char *text = written(folded_writer, p, &length);
    CHECK_EQ_STR(text, "main 1\nmain;fa:st\\x1b 100\nmain;slow 10\nmain;slow;helper 1000\n");
    free(text);
    folded_metric = "alloc-bytes"; /* nothing allocated: no line */
    text = written(folded_writer, p, &length);
    CHECK_EQ_U64(length, 0);
    free(text);
    cprof_folded_options o = cprof_folded_defaults();
    o.metric = "no-such-metric";
    FILE *out = tmpfile();
    CHECK_EQ_U64(cprof_folded_write(p, out, &o), (uint64_t)-1);
    fclose(out);
}

static void test_callgrind(const cprof_profile *p) {
    size_t length;
    char *text = written(cprof_callgrind_write, p, &length);
    CHECK_EQ_STR(text, "# callgrind format\nversion: 1\ncreator: cprof " CPROF_VERSION "\ncmd: synthetic\npositions: line\n"
                       "event: time : time (nanoseconds)\nevents: time\nsummary: 100000000\n\n"
                       "fl=(1) synthetic.c\nfn=(1) main\n1 10000000\n"
                       "cfl=(2) synthetic.c\ncfn=(2) fa;st\\x1b\ncalls=100 2\n1 10000000\n"
                       "cfl=(3) synthetic.c\ncfn=(3) slow\ncalls=10 3\n1 80000000\n\n"
                       "fl=(2)\nfn=(2)\n2 10000000\n\n"
                       "fl=(3)\nfn=(3)\n3 50000000\ncfl=(4) synthetic.c\ncfn=(4) helper\ncalls=1000 4\n3 30000000\n\n"
                       "fl=(4)\nfn=(4)\n4 30000000\n\n");
    free(text);
}

static void test_speedscope(const cprof_profile *p) {
    size_t length;
    char *text = written(cprof_speedscope_write, p, &length);
    CHECK_EQ_STR(text, "{\n  \"$schema\": \"https://www.speedscope.app/file-format-schema.json\",\n"
                       "  \"exporter\": \"cprof " CPROF_VERSION "\",\n  \"name\": \"synthetic\",\n  \"activeProfileIndex\": 0,\n"
                       "  \"shared\": {\"frames\": [\n"
                       "    {\"name\": \"main\", \"file\": \"synthetic.c\", \"line\": 1},\n"
                       "    {\"name\": \"fa;st\\\\x1b\", \"file\": \"synthetic.c\", \"line\": 2},\n"
                       "    {\"name\": \"slow\", \"file\": \"synthetic.c\", \"line\": 3},\n"
                       "    {\"name\": \"helper\", \"file\": \"synthetic.c\", \"line\": 4}\n  ]},\n"
                       "  \"profiles\": [\n"
                       "    {\"type\": \"sampled\", \"name\": \"main (thread 1): time\", \"unit\": \"nanoseconds\", "
                       "\"startValue\": 0, \"endValue\": 100000000,\n"
                       "     \"samples\": [[0], [0, 1], [0, 2], [0, 2, 3]],\n"
                       "     \"weights\": [10000000, 10000000, 50000000, 30000000]},\n"
                       "    {\"type\": \"sampled\", \"name\": \"main (thread 1): calls\", \"unit\": \"none\", "
                       "\"startValue\": 0, \"endValue\": 1111,\n"
                       "     \"samples\": [[0], [0, 1], [0, 2], [0, 2, 3]],\n"
                       "     \"weights\": [1, 100, 10, 1000]}\n  ]\n}\n");
    free(text);
}

/* The protobuf bytes of the start: sample_type {type: 4 ("time"), unit: 5}, then {6, 7} ("calls"),
   then the first sample: location_id [1] (main), value [10000000, 1], labels thread and thread_id. */
static void test_pprof(const cprof_profile *p) {
    size_t length, gz_length;
    unsigned char *raw = (unsigned char *)written(pprof_writer, p, &length);
    static const unsigned char start[] = {
        0x0a, 4, 0x08, 4, 0x10, 5, 0x0a, 4, 0x08, 6, 0x10, 7,          /* two ValueTypes */
        0x12, 22, 0x0a, 1, 1, 0x12, 5, 0x80, 0xad, 0xe2, 0x04, 1,     /* Sample: location 1, values 10^7 (varint) and 1 */
        0x1a, 4, 0x08, 1, 0x10, 8, 0x1a, 4, 0x08, 2, 0x18, 1};        /* labels thread = string 8, thread_id = 1 */
    CHECK(length > sizeof start && memcmp(raw, start, sizeof start) == 0);
    /* gzip: header, one stored block holding the raw bytes, CRC-32 and length (RFC 1951/1952) */
    unsigned char *gz = (unsigned char *)written(pprof_gzip_writer, p, &gz_length);
    CHECK_EQ_U64(gz_length, 10 + 5 + length + 8);
    CHECK(gz[0] == 0x1f && gz[1] == 0x8b && gz[2] == 8 && gz[10] == 1);
    CHECK_EQ_U64(gz[11] | gz[12] << 8, length);
    CHECK_EQ_U64((gz[13] | gz[14] << 8) ^ 0xFFFF, length);
    CHECK(memcmp(gz + 15, raw, length) == 0);
    uint32_t size = (uint32_t)gz[gz_length - 4] | (uint32_t)gz[gz_length - 3] << 8 | (uint32_t)gz[gz_length - 2] << 16 |
                    (uint32_t)gz[gz_length - 1] << 24;
    CHECK_EQ_U64(size, length);
    CHECK_EQ_U64(cprof__test_crc32("123456789", 9), 0xCBF43926u); /* the check value of CRC-32/ISO-HDLC */
    free(raw);
    free(gz);
}

int main(void) {
    cprof_profile *p = small_profile();
    test_folded_metrics(p);
    test_callgrind(p);
    test_speedscope(p);
    test_pprof(p);
    cprof_profile_free(p);
    CHECK_DONE();
}
