/* alloc_live_memory - the tracker's memory per live block: 1,000,000 blocks of mixed sizes (16 to 271
   bytes) allocated and kept live, plain and tracked, each in a child process of its own; the figure is
   (RSS tracked - RSS plain) / blocks, the median of REPS pairs, and the profiler's own count
   (cprof_memory_bytes) / blocks beside it. Each child touches its blocks (the C library writes a
   header before each), so RSS holds them all.
   `alloc_live_memory --workload plain|tracked` runs the mixed-size workload that bench/alloc_vs_heaptrack.sh
   times, plain under heaptrack too: 4,000,000 allocations of 16 to 4,111 bytes, 1,000 of the newest live
   at any time, and 40,000 of them kept to the end (a program's long-lived data). */
#define CPROF_WRAP_MALLOC
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

enum { REPS = 5, BLOCKS = 1000000 };

static size_t size_of(unsigned i) { return 16 + (i * 2654435761u >> 20) % 256; }

static long rss_kb(void) {
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

/* In a child: the blocks, then "RSS_KB PROFILER_BYTES" on the pipe. */
static void live_blocks(int tracked, int out) {
    void **blocks = (void **)(calloc)(BLOCKS, sizeof *blocks);
    for (unsigned i = 0; i < BLOCKS; i++) {
        blocks[i] = tracked ? malloc(size_of(i)) : (malloc)(size_of(i));
        ((char *)blocks[i])[0] = (char)i;
    }
    char text[64];
    int length = snprintf(text, sizeof text, "%ld %zu\n", rss_kb(), cprof_memory_bytes());
    if (write(out, text, (size_t)length) != length) _exit(2);
    _exit(0);
}

static void measure(int tracked, double *rss_kb_out, double *profiler_bytes) {
    int fds[2];
    if (pipe(fds) != 0) exit(1);
    pid_t pid = fork();
    if (pid == 0) live_blocks(tracked, fds[1]);
    close(fds[1]);
    char text[64] = {0};
    ssize_t length = read(fds[0], text, sizeof text - 1);
    close(fds[0]);
    waitpid(pid, NULL, 0);
    long kb = 0;
    size_t bytes = 0;
    if (length <= 0 || sscanf(text, "%ld %zu", &kb, &bytes) != 2) exit(1);
    *rss_kb_out = (double)kb;
    *profiler_bytes = (double)bytes;
}

enum { WORK_ALLOCATIONS = 4000000, WORK_RING = 1000, WORK_KEPT_EVERY = 100 };

static int workload(int tracked) {
    static void *ring[WORK_RING];
    void **kept = (void **)(calloc)(WORK_ALLOCATIONS / WORK_KEPT_EVERY + 1, sizeof *kept);
    size_t kept_count = 0;
    for (unsigned i = 0; i < WORK_ALLOCATIONS; i++) {
        size_t size = 16 + (i * 2654435761u >> 12) % 4096;
        void *block = tracked ? malloc(size) : (malloc)(size);
        ((char *)block)[0] = (char)i;
        if (i % WORK_KEPT_EVERY == 0) { kept[kept_count++] = block; continue; }
        void **slot = &ring[i % WORK_RING];
        if (tracked) free(*slot);
        else (free)(*slot);
        *slot = block;
    }
    sink += kept_count;
    return 0; /* the kept blocks and the ring stay live until exit, as a program's heap does */
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--workload")) return workload(!strcmp(argv[2], "tracked"));
    double per_block[REPS], own[REPS], plain_mb[REPS], tracked_mb[REPS];
    for (int r = 0; r < REPS; r++) {
        double plain_kb, tracked_kb, unused, profiler;
        measure(0, &plain_kb, &unused);
        measure(1, &tracked_kb, &profiler);
        per_block[r] = (tracked_kb - plain_kb) * 1024.0 / BLOCKS;
        own[r] = profiler / BLOCKS;
        plain_mb[r] = plain_kb / 1024.0, tracked_mb[r] = tracked_kb / 1024.0;
    }
    printf("alloc_live_memory: %d live blocks of 16-271 bytes, median of %d pairs of runs\n", BLOCKS, REPS);
    printf("  RSS plain %.1f MB, tracked %.1f MB: %.1f bytes per live block (the profiler's own count: %.1f)\n",
           median(plain_mb, REPS), median(tracked_mb, REPS), median(per_block, REPS), median(own, REPS));
    return 0;
}
