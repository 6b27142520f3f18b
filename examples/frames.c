/* frames.c - a game loop for the timeline: 600 frames of update and render, a worker thread streaming
   assets meanwhile, and every 200th frame loading a level (a stutter). Run it with the timeline on:
       CPROF_TIMELINE=65536 CPROF_OUT=frames ./frames
       cprof trace frames.json > frames-trace.json     then open it in ui.perfetto.dev
   frames.txt has the frame times (median, p90, p99, the slowest frames: 200, 400, 600) and a Spike for
   update naming one of those frames and load_level inside it (on a busy machine, preempted calls spike
   too). */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include <pthread.h>
#include <stdio.h>

static volatile unsigned long long sink;

static void work(unsigned long long iterations) { /* stands for real work: a fixed number of steps */
    for (unsigned long long i = 0; i < iterations; i++) sink += i ^ (sink >> 3);
}

static void load_level(void) { CPROF_SCOPE(); work(8000000); }
static void physics(void) { CPROF_SCOPE(); work(20000); }
static void update(int frame) {
    CPROF_SCOPE();
    physics();
    if (frame % 200 == 199) load_level();
}
static void render(void) { CPROF_SCOPE(); work(30000); }

static volatile int done;
static void *stream_assets(void *unused) {
    (void)unused;
    cprof_thread_name("streamer");
    while (!__atomic_load_n(&done, __ATOMIC_RELAXED)) {
        CPROF_SCOPE("decompress");
        work(50000);
    }
    return NULL;
}

int main(void) {
    pthread_t streamer;
    pthread_create(&streamer, NULL, stream_assets, NULL);
    for (int frame = 0; frame < 600; frame++) {
        CPROF_FRAME();
        update(frame);
        render();
    }
    CPROF_FRAME();
    __atomic_store_n(&done, 1, __ATOMIC_RELAXED);
    pthread_join(streamer, NULL);
    printf("600 frames (sink %llu)\n", sink & 1);
    return 0;
}
