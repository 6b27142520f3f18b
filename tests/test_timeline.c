/* The timeline (CPROF_TIMELINE, cprof_timeline_enable, CPROF_FRAME): the buffer's memory exactly bounded
   while a thread records 10x its capacity, the flight recorder keeping the most recent N events in order
   (also when a racing reset left its counts out of step), the environment's values; then a planted run of
   1,000 frames (exact nanoseconds, no timer), one of them slow: the frame statistics equal the ones
   computed here from the planted durations, the analyzer's Spike names that frame and scope, the JSON
   round trip keeps the events, the trace is valid JSON with the frames. The "first N" policy is in
   test_timeline_first.c (the choice is once per process). */
#include "../cprof.h"
#include "check.h"
#include <math.h>

enum { CAPACITY = 64 };

static volatile int sink;
static void scope_a(void) { CPROF_SCOPE("a"); sink++; }
static void scope_b(void) { CPROF_SCOPE("b"); sink++; }

static void check_environment(void) {
    uint32_t out[2];
    cprof__test_env_timeline("4096", out);
    CHECK(out[0] == 4096 && out[1] == CPROF_TIMELINE_RECENT);
    cprof__test_env_timeline("100,first", out);
    CHECK(out[0] == 100 && out[1] == CPROF_TIMELINE_FIRST);
    cprof__test_env_timeline("100,recent", out);
    CHECK(out[0] == 100 && out[1] == CPROF_TIMELINE_RECENT);
    const char *bad[] = {"0", "", "-5", "12x", "100,last", "99999999999", NULL};
    for (int i = 0; bad[i]; i++) {
        cprof__test_env_timeline(bad[i], out);
        CHECK_EQ_U64(out[0], 0); /* off (the bad ones say so on stderr) */
    }
}

/* 10x the capacity: the memory does not move, the capture holds the last CAPACITY events, in order. */
static void check_bounded(void) {
    size_t event_bytes = 0, before = cprof_memory_bytes();
    size_t buffer = cprof__test_timeline_bytes(CAPACITY, &event_bytes);
    CHECK(event_bytes <= 16);
    CHECK_EQ_U64(cprof_timeline_enable(CAPACITY, CPROF_TIMELINE_RECENT), 0);
    CHECK_EQ_U64(cprof_memory_bytes() - before, buffer); /* the one thread's buffer, nothing else */
    CHECK(cprof_timeline_enable(CAPACITY, CPROF_TIMELINE_FIRST) == -1); /* chosen once */
    scope_a(); /* the nodes, made once */
    scope_b();
    cprof_reset();
    size_t recording = cprof_memory_bytes();
    for (int i = 0; i < CAPACITY / 2; i++) scope_a(); /* CAPACITY events */
    CHECK_EQ_U64(cprof_memory_bytes(), recording);
    for (int i = 0; i < 9 * CAPACITY / 2; i++) scope_b(); /* 10x in all */
    CHECK_EQ_U64(cprof_memory_bytes(), recording);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->timeline_capacity, CAPACITY);
    CHECK_EQ_U64(p->timeline_policy, CPROF_TIMELINE_RECENT);
    CHECK_EQ_U64(p->event_count, CAPACITY);
    CHECK_EQ_U64(p->events_dropped, 10 * CAPACITY - CAPACITY);
    const cprof_node *b = find_node(p, 0, "b");
    CHECK(b != NULL);
    for (size_t i = 0; b && i < p->event_count; i++) {
        const cprof_event *e = &p->events[i];
        CHECK_EQ_U64(e->kind, i % 2 ? CPROF_EVENT_EXIT : CPROF_EVENT_ENTER);
        CHECK_EQ_U64(e->ref, (uint64_t)(b - p->nodes)); /* the last ones are all b's */
        CHECK_EQ_U64(e->thread, 0);
        if (i) CHECK(e->time_ns >= p->events[i - 1].time_ns);
    }
    CHECK_CONTAINS(report_text(p, NULL), "timeline: 64 events kept (the most recent 64 per thread), 576 not kept");
    cprof_profile_free(p);
    /* frames marked live: counted, and in the timeline with their numbers */
    cprof_reset();
    for (int i = 0; i < 3; i++) {
        CPROF_FRAME();
        scope_a();
    }
    p = cprof_capture();
    CHECK_EQ_U64(p->frames.marks, 3);
    CHECK_EQ_U64(p->frames.count, 2);
    CHECK_EQ_U64(p->event_count, 9);
    CHECK(p->event_count == 9 && p->events[6].kind == CPROF_EVENT_FRAME && p->events[6].ref == 3);
    cprof_profile_free(p);
}

/* A cprof_reset() from another thread can leave the counts out of step with the lap (the thread stores
   its count after the reset cleared it): the events still go inside the buffer, each at the slot its
   number says (number % capacity), so that the capture reads them back in order. */
static void check_counts_out_of_step(void) {
    cprof_reset();
    size_t recording = cprof_memory_bytes();
    cprof__test_timeline_counts(1000, 0); /* 1000 = 15 x 64 + 40: the next lap begins at slot 40 */
    for (int i = 0; i < CAPACITY / 2; i++) scope_b(); /* events 1000 to 1063 */
    CHECK_EQ_U64(cprof_memory_bytes(), recording);
    cprof_profile *p = cprof_capture();
    CHECK_EQ_U64(p->event_count, CAPACITY);
    CHECK_EQ_U64(p->events_dropped, 1000); /* 1,064 counted, 64 kept */
    const cprof_node *b = find_node(p, 0, "b");
    CHECK(b != NULL);
    for (size_t i = 0; b && i < p->event_count; i++) {
        CHECK_EQ_U64(p->events[i].kind, i % 2 ? CPROF_EVENT_EXIT : CPROF_EVENT_ENTER);
        CHECK_EQ_U64(p->events[i].ref, (uint64_t)(b - p->nodes));
        if (i) CHECK(p->events[i].time_ns >= p->events[i - 1].time_ns);
    }
    cprof_profile_free(p);
    cprof_reset();
}

/* --- the planted run --- */
enum { FRAMES = 1000, SLOW_FRAME = 617 };

static uint64_t planted_ns(int frame) { /* update's duration in frame `frame` (1-based) */
    return frame == SLOW_FRAME ? 50000000u : 1000000u + (uint64_t)((frame * 7919) % 1000) * 100u;
}

static void add_event(cprof_profile *p, uint32_t kind, uint64_t ref, uint64_t time_ns) {
    cprof__test_grow(p, &p->events, p->event_count + 1, sizeof *p->events);
    cprof_event *e = &p->events[p->event_count++];
    e->thread = 0;
    e->kind = kind;
    e->ref = ref;
    e->time_ns = time_ns;
}

static int compare_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* The p-quantile of sorted values, linear between order statistics (R's type 7, numpy's default), rounded. */
static uint64_t quantile(const uint64_t *sorted, size_t n, double q) {
    double h = (double)(n - 1) * q;
    size_t below = (size_t)floor(h);
    double value = below + 1 < n ? (double)sorted[below] + (h - (double)below) * (double)(sorted[below + 1] - sorted[below])
                                 : (double)sorted[n - 1];
    return (uint64_t)floor(value + 0.5);
}

/* Each frame: a mark, then "frame_work" (entered 10 ns after it) around "update" (entered 10 ns later, its
   planted duration), the next mark 100 ns after update returns: frame k lasts planted_ns(k) + 100. */
static cprof_profile *planted_profile(uint64_t durations[FRAMES], uint64_t *slow_start) {
    uint64_t work_total = 0, update_total = 0;
    double work_sq = 0, update_sq = 0;
    for (int k = 1; k <= FRAMES; k++) {
        uint64_t u = planted_ns(k);
        update_total += u;
        update_sq += (double)u * (double)u;
        work_total += u + 20;
        work_sq += (double)(u + 20) * (double)(u + 20);
    }
    char line0[128], line1[128];
    snprintf(line0, sizeof line0, "frame_work %d %llu %.17g", FRAMES, (unsigned long long)work_total, work_sq);
    snprintf(line1, sizeof line1, " update %d %llu %.17g", FRAMES, (unsigned long long)update_total, update_sq);
    const char *lines[] = {line0, line1, NULL};
    cprof_profile *p = build_profile(lines);
    const cprof_node *work = find_node(p, 0, "frame_work"), *update = find_node(p, 0, "frame_work/update");
    uint32_t work_index = (uint32_t)(work - p->nodes), update_index = (uint32_t)(update - p->nodes);
    p->timeline_capacity = 8192;
    p->frames.marks = FRAMES + 1;
    uint64_t t = 1000;
    for (int k = 1; k <= FRAMES; k++) {
        uint64_t u = planted_ns(k);
        add_event(p, CPROF_EVENT_FRAME, (uint64_t)k, t);
        add_event(p, CPROF_EVENT_ENTER, work_index, t + 10);
        add_event(p, CPROF_EVENT_ENTER, update_index, t + 20);
        if (k == SLOW_FRAME) *slow_start = t + 20;
        add_event(p, CPROF_EVENT_EXIT, update_index, t + 20 + u);
        add_event(p, CPROF_EVENT_EXIT, work_index, t + 30 + u);
        durations[k - 1] = u + 100;
        t += u + 100;
    }
    add_event(p, CPROF_EVENT_FRAME, FRAMES + 1, t);
    p->wall_ns = t + 1000;
    p->nodes[work_index].max_ns = planted_ns(SLOW_FRAME) + 20;
    p->nodes[update_index].max_ns = planted_ns(SLOW_FRAME);
    cprof__test_derive(p);
    return p;
}

static void check_frame_statistics(const cprof_profile *p, uint64_t durations[FRAMES]) {
    qsort(durations, FRAMES, sizeof *durations, compare_u64);
    const cprof_frame_stats *f = &p->frames;
    CHECK_EQ_U64(f->thread, 0);
    CHECK_EQ_U64(f->marks, FRAMES + 1);
    CHECK_EQ_U64(f->count, FRAMES);
    CHECK_EQ_U64(f->median_ns, quantile(durations, FRAMES, 0.5));
    CHECK_EQ_U64(f->p90_ns, quantile(durations, FRAMES, 0.9));
    CHECK_EQ_U64(f->p99_ns, quantile(durations, FRAMES, 0.99));
    CHECK_EQ_U64(f->max_ns, durations[FRAMES - 1]);
    CHECK_EQ_U64(f->max_ns, 50000100u);
    CHECK_EQ_U64(f->worst[0], SLOW_FRAME);
    CHECK_EQ_U64(f->worst_ns[0], 50000100u);
    CHECK_EQ_U64(f->worst_ns[1], durations[FRAMES - 2]);
    CHECK(f->worst[1] != 0 && f->worst[1] != SLOW_FRAME);
    CHECK_CONTAINS(report_text(p, NULL), "Frames: 1,001 marked (CPROF_FRAME) on thread main, 1,000 timed in the timeline");
    CHECK_CONTAINS(report_text(p, NULL), "slowest: frame 617 (50.00 ms)");
}

static void check_spike(const cprof_profile *p, uint64_t slow_start) {
    cprof_findings *f = cprof_analyze(p, NULL);
    CHECK(f != NULL);
    size_t spikes = 0;
    const cprof_finding *update = NULL;
    for (size_t i = 0; f && i < f->count; i++) {
        if (f->items[i].category != CPROF_CATEGORY_SPIKE) continue;
        spikes++;
        CHECK_EQ_U64(f->items[i].frame, SLOW_FRAME);
        if (strcmp(f->items[i].function, "update") == 0) update = &f->items[i];
    }
    CHECK_EQ_U64(spikes, 1); /* frame_work's slowest call is update's: left to update */
    CHECK(update != NULL);
    if (update) {
        CHECK_EQ_U64(update->at_ns, slow_start);
        CHECK_EQ_U64(update->max_ns, 50000000u);
        CHECK_EQ_STR(update->thread, "main");
        CHECK_CONTAINS(update->description, "its slowest call took 50.00 ms");
        CHECK_CONTAINS(update->description, "1,000 calls in the timeline, 1 of them at least 5x");
        CHECK_CONTAINS(update->description, "on thread main, in frame 617");
        CHECK_EQ_STR(cprof_category_name(update->category), "Spike");
    }
    char text[1 << 14];
    cprof_analysis_format(f, text, sizeof text);
    CHECK_CONTAINS(text, "Spike: update (synthetic.c:2)");
    CHECK_CONTAINS(text, "Bound: that call brought to its typical time would speed the run up at most");
    cprof_findings_free(f);
}

/* Without a timeline: the same scope found from its max, average and sum of squares, with no moment. */
static void check_spike_statistics(void) {
    static const char *const lines[] = {"steady 1000 1000000000", "jumpy 1000 1049000000", NULL};
    cprof_profile *p = build_profile(lines);
    cprof_node *jumpy = (cprof_node *)find_node(p, 0, "jumpy");
    jumpy->max_ns = 50000000; /* one call of 50 ms among calls of 1 ms */
    jumpy->sum_sq_ns2 = 999.0 * 1e12 + 2.5e15;
    cprof__test_derive(p);
    cprof_findings *f = cprof_analyze(p, NULL);
    size_t spikes = 0;
    for (size_t i = 0; f && i < f->count; i++) {
        const cprof_finding *x = &f->items[i];
        if (x->category != CPROF_CATEGORY_SPIKE) continue;
        spikes++;
        CHECK_EQ_STR(x->function, "jumpy");
        CHECK_EQ_U64(x->frame, 0);
        CHECK_EQ_U64(x->at_ns, 0);
        CHECK_CONTAINS(x->description, "no timeline to say when");
        CHECK_EQ_U64(x->severity, CPROF_SEVERITY_LOW);
    }
    CHECK_EQ_U64(spikes, 1);
    cprof_findings_free(f);
    cprof_profile_free(p);
}

static void check_round_trip(const cprof_profile *p) {
    FILE *f = tmpfile();
    CHECK(f && cprof_json_write(p, f) == 0);
    if (!f) return;
    long length = ftell(f);
    char *text = (char *)malloc((size_t)length + 1);
    rewind(f);
    CHECK_EQ_U64(fread(text, 1, (size_t)length, f), (size_t)length);
    fclose(f);
    CHECK_CONTAINS(text, "\"version\": \"1.4\"");
    cprof_profile *back = NULL;
    CHECK_EQ_U64(cprof_load_string(text, (size_t)length, "planted.json", &back), 0);
    if (back) {
        CHECK_EQ_U64(back->event_count, p->event_count);
        CHECK(memcmp(back->events, p->events, p->event_count * sizeof *p->events) == 0);
        CHECK(memcmp(&back->frames, &p->frames, sizeof p->frames) == 0);
        CHECK_EQ_U64(back->timeline_capacity, 8192);
    }
    cprof_profile_free(back);
    /* an event out of order, or naming a node of no thread: refused with the place */
    char *swap = strstr(text, "[0, 2, 1, 1000]");
    CHECK(swap != NULL);
    if (swap) {
        memcpy(swap, "[0, 2, 1, 9000]", 15);
        CHECK(cprof_load_string(text, (size_t)length, "planted.json", &back) == -1);
        CHECK_CONTAINS(cprof_error(), "timeline.events[1]: not in order (by thread, then time)");
        memcpy(swap, "[0, 0, 9, 1000]", 15);
        CHECK(cprof_load_string(text, (size_t)length, "planted.json", &back) == -1);
        CHECK_CONTAINS(cprof_error(), "timeline.events[0]: no such node on that thread");
    }
    free(text);
}

static void check_trace(const cprof_profile *p, uint64_t slow_start) {
    static char text[1 << 20];
    FILE *f = tmpfile();
    CHECK(f && cprof_trace_write(p, f) == 0);
    if (!f) return;
    size_t length = (size_t)ftell(f);
    rewind(f);
    CHECK(length < sizeof text && fread(text, 1, length, f) == length);
    fclose(f);
    text[length < sizeof text ? length : 0] = '\0';
    CHECK(cprof__test_json_valid(text, length));
    CHECK_CONTAINS(text, "{\"ph\": \"M\", \"pid\": 1, \"tid\": 1, \"name\": \"thread_name\", \"args\": {\"name\": \"main\"}}");
    char expected[200];
    snprintf(expected, sizeof expected, "\"name\": \"update\", \"ts\": %llu.%03u, \"dur\": 50000.000, "
             "\"args\": {\"file\": \"synthetic.c\", \"line\": 2, \"frame\": 617}", (unsigned long long)(slow_start / 1000),
             (unsigned)(slow_start % 1000)); /* microseconds, exact */
    CHECK_CONTAINS(text, expected);
    snprintf(expected, sizeof expected, "\"tid\": 2, \"cat\": \"frame\", \"name\": \"frame 617\", \"ts\": %llu.%03u, "
             "\"dur\": 50000.100}", (unsigned long long)((slow_start - 20) / 1000), (unsigned)((slow_start - 20) % 1000));
    CHECK_CONTAINS(text, expected); /* the frames' own track */
    CHECK_CONTAINS(text, "\"name\": \"thread_name\", \"args\": {\"name\": \"frames of main\"}}");
}

int main(void) {
    check_environment();
    check_bounded();
    check_counts_out_of_step();
    uint64_t durations[FRAMES], slow_start = 0;
    cprof_profile *p = planted_profile(durations, &slow_start);
    check_frame_statistics(p, durations);
    check_spike(p, slow_start);
    check_spike_statistics();
    check_round_trip(p);
    check_trace(p, slow_start);
    cprof_profile_free(p);
    CHECK_DONE();
}
