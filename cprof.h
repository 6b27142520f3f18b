/* cprof.h - a header-only profiler for C and C++ - v0.1.0
   Exact per-function statistics and a call tree, at a cost close to two clock reads.
   License: MIT, see the end of this file.

   QUICK START
       #define CPROF_IMPLEMENTATION      // in exactly one .c file, before the include
       #include "cprof.h"
       void parse(void) { CPROF_SCOPE(); ... }          // timed, named "parse"
       then either call cprof_report_print(stdout), or run with CPROF_OUT=prof to get prof.txt at exit.

   SWITCHES (define before including; "all" = the same in every file that includes cprof.h)
       macro                  default  where  effect
       CPROF_IMPLEMENTATION   off      one    compile the implementation in this file
       CPROF_DISABLE          off      all    every CPROF_* macro expands to nothing; the functions still
                                              link and return empty results
       CPROF_NO_STB_SPRINTF   off      impl   format with the C library's vsnprintf instead of stb_sprintf
                                              (Debian libstb-dev, <stb/stb_sprintf.h>)
       CPROF_AUTO             off      impl   define the -finstrument-functions hooks: automatic
                                              instrumentation (see AUTOMATIC INSTRUMENTATION)
       CPROF_NO_MANUAL_SCOPES off      file   CPROF_SCOPE/BEGIN/END in this file expand to nothing while
                                              recording stays on: profile a manually instrumented
                                              program with automatic scopes only

   ENVIRONMENT (read once, when the program starts)
       CPROF=0            record nothing: scopes cost one branch, captures are empty, no CPROF_OUT files,
                          cprof_enable() does not override it
       CPROF_TIMER=clock  time with clock_gettime(CLOCK_MONOTONIC) instead of the CPU's counter
       CPROF_OUT=prefix   at normal exit write prefix.txt (the text report), replacing it atomically
       CPROF_AUTO_EXCLUDE=regex   automatic scopes whose function name matches this POSIX extended
                          regular expression are not recorded (decided once per function); an invalid
                          expression excludes nothing and says so on stderr and in the report

   MACROS
       CPROF_SCOPE()          time the rest of the enclosing block; named after the function
       CPROF_SCOPE("name")    the same with an explicit name (a string literal)
                              The scope ends on every way out of the block (return, break, continue, goto)
                              through the GCC/Clang cleanup attribute in C, an RAII object in C++.
       CPROF_BEGIN("name")    open a scope that CPROF_END() closes; for compilers without the cleanup
       CPROF_END()            attribute and for sections that cross blocks. An unbalanced END, a BEGIN
                              left open when its enclosing scope ends, or a scope open at capture is
                              recorded as a message with file:line; the tree stays consistent.

   FUNCTIONS (all thread-safe)
       cprof_profile *cprof_capture(void)
           Snapshot of everything recorded so far, all threads merged (exited threads included) into
           one immutable cprof_profile. Scopes still open are included with their time so far and
           listed as messages. Never NULL (an empty profile when recording is off). Free it with
           cprof_profile_free().
       void cprof_profile_free(cprof_profile *profile)         NULL is allowed.
       int  cprof_report_write(const cprof_profile *, FILE *, const cprof_report_options *)
           The text report; options NULL = cprof_report_defaults(). 0 on success, -1 on a write error.
       size_t cprof_report_format(const cprof_profile *, char *buffer, size_t size,
                                  const cprof_report_options *)
           The same report into a buffer, with snprintf's contract: returns the full length, writes at
           most size bytes including the terminating NUL.
       int  cprof_report_print(FILE *out)                       capture, write, free.
       cprof_report_options cprof_report_defaults(void)
           tree_min_pct = 0.5 (call-tree nodes below this share of the run are hidden and counted),
           max_functions = 0 (all rows).
       void cprof_enable(void), cprof_disable(void); int cprof_is_enabled(void)
           Start or stop recording on every thread (scopes already open still close normally).
       void cprof_reset(void)
           Forget every count, keep the tree's shape; the wall clock restarts. Meant for a quiet
           moment: a thread recording during a reset may keep a count from just before it.
       void cprof_thread_name(const char *name)
           Name the calling thread in reports (default: "main", then "thread-2", "thread-3"...).
           Longer than 63 bytes is truncated and a message says so.
       size_t cprof_memory_bytes(void)
           Memory the profiler itself holds now (recorders and nodes), in bytes.

   AUTOMATIC INSTRUMENTATION
       cc -O2 -finstrument-functions -DCPROF_AUTO prog.c -lpthread -lm    (prog.c has CPROF_IMPLEMENTATION)
       Every function compiled with -finstrument-functions becomes a scope in the same call tree as the
       CPROF_SCOPEs, which keep working beside it. Names: the ELF symbol table of the executable or
       shared object (.symtab, static functions included; .dynsym when stripped), C++ demangled through
       the C++ runtime's __cxa_demangle when the program has it; else "module+0xoffset". Resolved once
       per function; its first call pays the lookup, counted in its caller's time. A function
       excluded by CPROF_AUTO_EXCLUDE costs a table lookup per call. Calls deeper than 512 levels are
       counted as dropped. The file with CPROF_AUTO may itself be instrumented: cprof never records
       its own functions. Shared libraries loaded with dlopen need the hooks exported: link with
       -rdynamic. See README.md for the compiler's exclude options.

   PERCENTAGES
       "% of run" is a share of the recorded time: the sum, over threads, of the time spent inside
       each thread's outermost scopes. With main() wrapped in CPROF_SCOPE() that is the wall time.

   CONTENTS (grep for the tag)
       >>declarations  >>platform  >>timer  >>recorder  >>auto  >>capture  >>derive  >>text  >>report  >>output
*/
#ifndef CPROF_H
#define CPROF_H

/* A strict -std=c99 hides clock_gettime and friends; the implementation needs them. This only has an
   effect when cprof.h comes before every system header in the implementation file. */
#if defined(CPROF_IMPLEMENTATION) && defined(__STRICT_ANSI__) && !defined(_GNU_SOURCE) && \
    !defined(_DEFAULT_SOURCE) && !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE)
#define _DEFAULT_SOURCE 1
#endif

/* ==================================================================================================
   >>declarations: the public API
   ================================================================================================== */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CPROF_VERSION "0.1.0"
#define CPROF_NONE UINT32_MAX /* "no index" in the profile's arrays */

#ifdef __cplusplus
extern "C" {
#endif

/* One call site of CPROF_SCOPE / CPROF_BEGIN: a static record, so a tree lookup compares pointers. */
typedef struct cprof_site {
    const char *name;     /* "" when the scope is named after its function */
    const char *function; /* __func__ */
    const char *file;
    int line;
    int kind;             /* CPROF__KIND_* */
} cprof_site;

enum { CPROF__KIND_SCOPE = 0, CPROF__KIND_BEGIN = 1, CPROF__KIND_END = 2, CPROF__KIND_AUTO = 3 };

/* --- the profile: an immutable snapshot, the one data model every writer reads --- */
typedef struct cprof_site_info {
    const char *name; /* the scope's name: explicit, or its function */
    const char *function;
    const char *file;
    uint32_t line;
} cprof_site_info;

/* Nodes are stored per thread in depth-first order; children follow their parent, sorted by name. */
typedef struct cprof_node {
    uint32_t site;         /* index into sites; CPROF_NONE for a thread's root */
    uint32_t parent;       /* index into nodes; CPROF_NONE for a thread's root */
    uint32_t first_child;  /* CPROF_NONE when a leaf */
    uint32_t next_sibling; /* CPROF_NONE for the last child */
    uint32_t thread;       /* index into threads */
    uint32_t depth;        /* 0 for a thread's root */
    uint32_t open;         /* invocations still running at capture (time so far included) */
    uint32_t reserved;
    uint64_t calls;
    uint64_t total_ns; /* inclusive */
    uint64_t self_ns;  /* total minus the children's totals */
    uint64_t min_ns;   /* shortest completed call (0 when none completed) */
    uint64_t max_ns;
    double sum_sq_ns2; /* sum of squared durations of completed calls: per-call spread */
} cprof_node;

typedef struct cprof_function { /* all nodes with the same name merged */
    const char *name;
    uint32_t site;     /* the first site with this name, for file:line */
    uint32_t reserved;
    uint64_t calls;
    uint64_t total_ns; /* recursion counted once: nodes under a node of the same name are skipped */
    uint64_t self_ns;
    uint64_t avg_ns;   /* total_ns / calls */
    uint64_t min_ns;
    uint64_t max_ns;
    double pct_total;  /* of the run (see PERCENTAGES) */
    double pct_self;
} cprof_function;

typedef struct cprof_thread_info {
    uint64_t id;      /* the OS thread id */
    const char *name;
    uint32_t root;    /* index of the thread's root node */
    uint32_t exited;  /* 1 when the thread had ended before the capture */
    uint64_t total_ns;
} cprof_thread_info;

typedef struct cprof_message { /* a problem noticed while recording, with the place it concerns */
    const char *file;
    uint32_t line;
    const char *text;
} cprof_message;

typedef struct cprof_profile {
    uint32_t format_major, format_minor;
    const char *program;
    int64_t start_unix_ns; /* when recording started (or was last reset), Unix time */
    uint64_t wall_ns;      /* from then to the capture */
    uint64_t run_ns;       /* recorded time: the base of every percentage */
    const char *timer;     /* "rdtsc", "cntvct" or "clock_gettime" */
    double timer_hz;       /* ticks per second, calibrated against CLOCK_MONOTONIC */
    uint64_t dropped_scopes;   /* scope entries not recorded (past the depth or node limit) */
    uint64_t messages_dropped; /* messages past the kept ones */
    uint64_t profiler_bytes;   /* the profiler's own memory at capture */
    size_t thread_count;
    cprof_thread_info *threads;
    size_t site_count;
    cprof_site_info *sites;
    size_t node_count;
    cprof_node *nodes;
    size_t function_count;
    cprof_function *functions; /* sorted by self time, largest first */
    size_t message_count;
    cprof_message *messages;
    struct cprof__strings *strings; /* private: owns every string above */
} cprof_profile;

typedef struct cprof_report_options {
    double tree_min_pct;    /* hide call-tree nodes below this share of the run (0 shows all) */
    uint32_t max_functions; /* rows of the function table (0 = all) */
} cprof_report_options;

cprof_profile *cprof_capture(void);
void cprof_profile_free(cprof_profile *profile);
cprof_report_options cprof_report_defaults(void);
int cprof_report_write(const cprof_profile *profile, FILE *out, const cprof_report_options *options);
size_t cprof_report_format(const cprof_profile *profile, char *buffer, size_t size,
                           const cprof_report_options *options);
int cprof_report_print(FILE *out);
void cprof_enable(void);
void cprof_disable(void);
int cprof_is_enabled(void);
void cprof_reset(void);
void cprof_thread_name(const char *name);
size_t cprof_memory_bytes(void);

/* private, used by the macros */
uint32_t cprof__enter(const cprof_site *site);
void cprof__exit(uint32_t token);
void cprof__scope_cleanup(const uint32_t *token);
void cprof__end(const cprof_site *site);

#ifdef __cplusplus
} /* extern "C" */
#endif

/* --- the macros --- */
#define CPROF__CAT2(a, b) a##b
#define CPROF__CAT(a, b) CPROF__CAT2(a, b)
#ifdef __COUNTER__
#define CPROF__UNIQUE(prefix) CPROF__CAT(prefix, __COUNTER__)
#else
#define CPROF__UNIQUE(prefix) CPROF__CAT(prefix, __LINE__)
#endif

/* The name is pasted after "" so that CPROF_SCOPE() gives "" (named after the function) and a
   non-literal name is a compile error instead of a dangling pointer in a static record. */
#define CPROF__SITE(var, kind, ...) \
    static const cprof_site var = {"" __VA_ARGS__, __func__, __FILE__, __LINE__, kind}

#if defined(CPROF_DISABLE) || defined(CPROF_NO_MANUAL_SCOPES)
#define CPROF_SCOPE(...)
#define CPROF_BEGIN(...) ((void)0)
#define CPROF_END() ((void)0)
#else
#define CPROF_SCOPE(...) CPROF__SCOPE_AT(CPROF__UNIQUE(cprof__site_), __VA_ARGS__)
#define CPROF__SCOPE_AT(site, ...) CPROF__SCOPE_AT2(site, CPROF__CAT(site, _guard), __VA_ARGS__)
#if defined(__cplusplus)
struct cprof__scope_guard {
    uint32_t token;
    explicit cprof__scope_guard(const cprof_site *site) : token(cprof__enter(site)) {}
    ~cprof__scope_guard() { cprof__exit(token); }
    cprof__scope_guard(const cprof__scope_guard &) = delete;
    cprof__scope_guard &operator=(const cprof__scope_guard &) = delete;
};
#define CPROF__SCOPE_AT2(site, guard, ...)                  \
    CPROF__SITE(site, CPROF__KIND_SCOPE, __VA_ARGS__);      \
    cprof__scope_guard guard(&site)
#elif defined(__GNUC__)
#define CPROF__SCOPE_AT2(site, guard, ...)                  \
    CPROF__SITE(site, CPROF__KIND_SCOPE, __VA_ARGS__);      \
    __attribute__((cleanup(cprof__scope_cleanup), unused)) uint32_t guard = cprof__enter(&site)
#else
#define CPROF__SCOPE_AT2(site, guard, ...) \
    CPROF_SCOPE_needs_the_GCC_or_Clang_cleanup_attribute_or_Cplusplus__use_CPROF_BEGIN_and_CPROF_END
#endif
#define CPROF_BEGIN(...)                                                 \
    do {                                                                 \
        CPROF__SITE(cprof__begin_site, CPROF__KIND_BEGIN, __VA_ARGS__); \
        (void)cprof__enter(&cprof__begin_site);                          \
    } while (0)
#define CPROF_END()                                              \
    do {                                                         \
        CPROF__SITE(cprof__end_site, CPROF__KIND_END, "");       \
        cprof__end(&cprof__end_site);                            \
    } while (0)
#endif /* CPROF_DISABLE || CPROF_NO_MANUAL_SCOPES */

#endif /* CPROF_H */

/* ==================================================================================================
   The implementation
   ================================================================================================== */
#if defined(CPROF_IMPLEMENTATION) && !defined(CPROF__IMPLEMENTATION_DONE)
#define CPROF__IMPLEMENTATION_DONE

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

/* ==================================================================================================
   >>platform: detected once here; functions below pick one small helper per concern
   ================================================================================================== */
#if defined(__x86_64__) || defined(_M_X64)
#define CPROF__X86_64 1
#elif defined(__aarch64__)
#define CPROF__AARCH64 1
#endif
#if defined(__linux__)
#define CPROF__LINUX 1
#include <sys/syscall.h>
#endif
#if !defined(CLOCK_MONOTONIC)
#error "cprof: CLOCK_MONOTONIC is hidden: include cprof.h before any system header in the file that defines CPROF_IMPLEMENTATION, or compile with -D_DEFAULT_SOURCE"
#endif
#if defined(__GNUC__)
#define CPROF__LIKELY(x) __builtin_expect(!!(x), 1)
#define CPROF__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CPROF__THREAD_LOCAL __thread
/* Relaxed atomics compile to plain moves on x86-64 and AArch64: the owner thread writes its own
   tree with them so that a capture on another thread may read it without a lock or a data race. */
#define CPROF__LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define CPROF__STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define CPROF__LOAD_ACQUIRE(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define CPROF__STORE_RELEASE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define CPROF__ADD(x, v) __atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)
#define CPROF__LOAD_DOUBLE(x, out) __atomic_load(&(x), &(out), __ATOMIC_RELAXED)
#define CPROF__STORE_DOUBLE(x, v) __atomic_store(&(x), &(v), __ATOMIC_RELAXED)
#define CPROF__UNUSED __attribute__((unused))
#else
#define CPROF__LIKELY(x) (x)
#define CPROF__UNLIKELY(x) (x)
#define CPROF__THREAD_LOCAL _Thread_local
#define CPROF__LOAD(x) (x)
#define CPROF__STORE(x, v) ((x) = (v))
#define CPROF__LOAD_ACQUIRE(x) (x)
#define CPROF__STORE_RELEASE(x, v) ((x) = (v))
#define CPROF__ADD(x, v) ((x) += (v))
#define CPROF__LOAD_DOUBLE(x, out) ((out) = (x))
#define CPROF__STORE_DOUBLE(x, v) ((x) = (v))
#define CPROF__UNUSED
#endif

/* The profiler never profiles itself, even when this file is compiled with -finstrument-functions
   (see >>auto): clang marks every function from here to the end of the implementation; gcc has no
   such pragma, so the functions on the scope's hot path are declared here with the attribute (gcc
   and clang take it from an earlier declaration), and the hooks ignore calls made while they run. */
#if defined(__GNUC__)
#define CPROF__NO_INSTRUMENT __attribute__((no_instrument_function))
#else
#define CPROF__NO_INSTRUMENT
#endif
#if defined(__clang__)
#pragma clang attribute push(__attribute__((no_instrument_function)), apply_to = function)
#endif
struct cprof__recorder;
static uint64_t cprof__monotonic_ns(void) CPROF__NO_INSTRUMENT;
static inline uint64_t cprof__cpu_counter(void) CPROF__NO_INSTRUMENT;
static inline uint64_t cprof__ticks(void) CPROF__NO_INSTRUMENT;
static struct cprof__recorder *cprof__recorder_get(void) CPROF__NO_INSTRUMENT;
static void cprof__frame_close(struct cprof__recorder *r, uint32_t depth, uint64_t now) CPROF__NO_INSTRUMENT;
static size_t cprof__pointer_hash(const void *pointer) CPROF__NO_INSTRUMENT;
uint32_t cprof__enter(const cprof_site *site) CPROF__NO_INSTRUMENT;
void cprof__exit(uint32_t token) CPROF__NO_INSTRUMENT;

#ifndef CPROF_NO_STB_SPRINTF
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#define STB_SPRINTF_IMPLEMENTATION
#define STB_SPRINTF_STATIC
#define STB_SPRINTF_NOUNALIGNED /* no misaligned stores: UndefinedBehaviorSanitizer stays quiet */
#define STB_SPRINTF_DECORATE(name) cprof__stb_##name
#include <stb/stb_sprintf.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#define cprof__vsnprintf cprof__stb_vsnprintf
#define CPROF__FORMAT_SIZE(size) ((int)(size)) /* stb_sprintf takes an int */
#else
#define cprof__vsnprintf vsnprintf
#define CPROF__FORMAT_SIZE(size) (size)
#endif

static int cprof__snprintf(char *buffer, size_t size, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int length = cprof__vsnprintf(buffer, CPROF__FORMAT_SIZE(size), format, args);
    va_end(args);
    return length;
}

/* A second file defining CPROF_IMPLEMENTATION makes the link fail on this name, which says why. */
extern int cprof_IMPLEMENTATION_is_defined_in_more_than_one_file;
int cprof_IMPLEMENTATION_is_defined_in_more_than_one_file = 1;

/* The profiler's own memory. The parenthesised names are never rewritten by a user's macros. */
static size_t cprof__own_bytes;

static void *cprof__alloc(size_t size) {
    void *p = (calloc)(1, size);
    if (p) CPROF__ADD(cprof__own_bytes, size);
    return p;
}

static void cprof__release(void *p, size_t size) {
    if (!p) return;
    CPROF__ADD(cprof__own_bytes, (size_t)0 - size);
    (free)(p);
}

static uint64_t cprof__monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t cprof__unix_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

static uint64_t cprof__thread_id(void) {
#if defined(CPROF__LINUX)
    return (uint64_t)syscall(SYS_gettid);
#else
    return (uint64_t)(uintptr_t)pthread_self();
#endif
}

/* ==================================================================================================
   >>timer: the CPU's counter where there is one (calibrated against CLOCK_MONOTONIC), else the clock
   ================================================================================================== */
#if defined(CPROF__X86_64)
#define CPROF__COUNTER_NAME "rdtsc"
static inline uint64_t cprof__cpu_counter(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
/* rdtsc is a usable clock only when it ticks at a constant rate through frequency changes and sleep
   states (CPUID 0x80000007, EDX bit 8, "invariant TSC"). */
static int cprof__cpu_counter_usable(void) {
    uint32_t eax = 0x80000000u, ebx, ecx = 0, edx;
    __asm__ __volatile__("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    if (eax < 0x80000007u) return 0;
    eax = 0x80000007u;
    ecx = 0;
    __asm__ __volatile__("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    return (edx >> 8) & 1u;
}
#elif defined(CPROF__AARCH64)
#define CPROF__COUNTER_NAME "cntvct"
static inline uint64_t cprof__cpu_counter(void) {
    uint64_t v;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
    return v;
}
static int cprof__cpu_counter_usable(void) { return 1; }
#else
#define CPROF__COUNTER_NAME "clock_gettime"
static inline uint64_t cprof__cpu_counter(void) { return cprof__monotonic_ns(); }
static int cprof__cpu_counter_usable(void) { return 0; }
#endif

static struct cprof__timer {
    int use_counter;      /* 1: cprof__cpu_counter, 0: clock_gettime in ns */
    const char *name;
    uint64_t origin_ticks; /* calibration window start */
    uint64_t origin_ns;
} cprof__timer_state;

/* The hot path reads this: one predictable branch, then the counter. */
static inline uint64_t cprof__ticks(void) {
    return CPROF__LIKELY(cprof__timer_state.use_counter) ? cprof__cpu_counter() : cprof__monotonic_ns();
}

static void cprof__timer_init(const char *choice) {
    int want_clock = choice && strcmp(choice, "clock") == 0;
    cprof__timer_state.use_counter = !want_clock && cprof__cpu_counter_usable();
    cprof__timer_state.name = cprof__timer_state.use_counter ? CPROF__COUNTER_NAME : "clock_gettime";
    cprof__timer_state.origin_ns = cprof__monotonic_ns();
    cprof__timer_state.origin_ticks = cprof__ticks();
}

/* Ticks per second, measured over the whole run so far: the longer the window, the smaller the error
   of the two clock reads at its ends. A window shorter than 2 ms is stretched by waiting. */
static double cprof__timer_hz(void) {
    uint64_t ticks, ns;
    if (!cprof__timer_state.use_counter) return 1e9;
    do {
        ns = cprof__monotonic_ns();
        ticks = cprof__ticks();
    } while (ns - cprof__timer_state.origin_ns < 2000000u);
    return (double)(ticks - cprof__timer_state.origin_ticks) * 1e9 / (double)(ns - cprof__timer_state.origin_ns);
}

static uint64_t cprof__ticks_to_ns(uint64_t ticks, double hz) {
    if (hz == 1e9) return ticks;
    return (uint64_t)((double)ticks * (1e9 / hz) + 0.5);
}

/* ==================================================================================================
   >>recorder: per-thread call trees, the registry of threads, scope enter and exit (the hot path)
   ================================================================================================== */
#define CPROF__MAX_DEPTH 512        /* deeper scope entries are counted as dropped, not recorded */
#define CPROF__FIRST_BLOCK_NODES 64 /* node storage grows in blocks of 64, 128, 256, ... nodes */
#define CPROF__MAX_BLOCKS 20        /* 64 * (2^20 - 1): about 67 million nodes per thread */
#define CPROF__MAX_MESSAGES 64
#define CPROF__NAME_BYTES 64

/* A node of a live tree. Only its thread writes it (with relaxed stores); a capture reads it. */
typedef struct cprof__rnode {
    const cprof_site *site;
    struct cprof__rnode *first_child;
    struct cprof__rnode *next_sibling;
    uint64_t calls;
    uint64_t total_ticks;
    uint64_t min_ticks;
    uint64_t max_ticks;
    double sum_sq_ticks2;
    uint32_t capture_index; /* scratch for the capture, which holds the registry lock */
    uint32_t reserved;
} cprof__rnode;

typedef struct cprof__frame {
    cprof__rnode *node;
    uint64_t start_ticks;
    const cprof_site *site;
} cprof__frame;

typedef struct cprof__recorder {
    struct cprof__recorder *next; /* registry list, in creation order */
    uint64_t thread_id;
    uint32_t depth; /* open frames; stack[0] is the root */
    uint32_t exited;
    uint64_t dropped;
    uint64_t node_count;
    uint32_t block_count;
    cprof__rnode root;
    cprof__rnode *blocks[CPROF__MAX_BLOCKS];
    char name[CPROF__NAME_BYTES];
    cprof__frame stack[CPROF__MAX_DEPTH + 1];
} cprof__recorder;

static pthread_once_t cprof__once = PTHREAD_ONCE_INIT;
static pthread_mutex_t cprof__lock = PTHREAD_MUTEX_INITIALIZER; /* the registry and the messages;
                                                                    never taken on the hot path */
static struct cprof__global {
    pthread_key_t exit_key;
    int enabled;
    int forced_off; /* CPROF=0 */
    uint64_t start_ticks;
    int64_t start_unix_ns;
    cprof__recorder *recorders, *last_recorder;
    uint32_t thread_count;
    char out_prefix[4096];
    cprof_message messages[CPROF__MAX_MESSAGES];
    char message_text[CPROF__MAX_MESSAGES][160];
    size_t message_count;
    uint64_t messages_dropped;
} cprof__g;

static CPROF__THREAD_LOCAL cprof__recorder *cprof__this_thread;

static void cprof__init_once(void);
static void cprof__init(void) { pthread_once(&cprof__once, cprof__init_once); }

/* Keeps the first CPROF__MAX_MESSAGES problems and counts the rest. */
static void cprof__message(const char *file, int line, const char *format, ...) {
    va_list args;
    pthread_mutex_lock(&cprof__lock);
    if (cprof__g.message_count < CPROF__MAX_MESSAGES) {
        size_t i = cprof__g.message_count++;
        va_start(args, format);
        cprof__vsnprintf(cprof__g.message_text[i], CPROF__FORMAT_SIZE(sizeof cprof__g.message_text[i]), format, args);
        va_end(args);
        cprof__g.messages[i].file = file ? file : "";
        cprof__g.messages[i].line = (uint32_t)(line > 0 ? line : 0);
        cprof__g.messages[i].text = cprof__g.message_text[i];
    } else {
        cprof__g.messages_dropped++;
    }
    pthread_mutex_unlock(&cprof__lock);
}

static void cprof__node_clear(cprof__rnode *node) {
    CPROF__STORE(node->calls, 0);
    CPROF__STORE(node->total_ticks, 0);
    CPROF__STORE(node->min_ticks, UINT64_MAX);
    CPROF__STORE(node->max_ticks, 0);
    double zero = 0;
    CPROF__STORE_DOUBLE(node->sum_sq_ticks2, zero);
}

static void cprof__thread_exited(void *recorder) {
    CPROF__STORE(((cprof__recorder *)recorder)->exited, 1u);
}

/* Creates the calling thread's recorder and links it into the registry; it outlives the thread so
   that a later capture still sees what the thread recorded. */
static cprof__recorder *cprof__recorder_create(void) {
    cprof__recorder *r = (cprof__recorder *)cprof__alloc(sizeof *r);
    if (!r) return NULL;
    r->thread_id = cprof__thread_id();
    cprof__node_clear(&r->root);
    r->stack[0].node = &r->root;
    pthread_mutex_lock(&cprof__lock);
    cprof__g.thread_count++;
    if (cprof__g.thread_count == 1) strcpy(r->name, "main");
    else cprof__snprintf(r->name, sizeof r->name, "thread-%u", (unsigned)cprof__g.thread_count);
    if (cprof__g.last_recorder) CPROF__STORE_RELEASE(cprof__g.last_recorder->next, r);
    else cprof__g.recorders = r;
    cprof__g.last_recorder = r;
    pthread_mutex_unlock(&cprof__lock);
    pthread_setspecific(cprof__g.exit_key, r);
    cprof__this_thread = r;
    return r;
}

static cprof__recorder *cprof__recorder_get(void) {
    cprof__recorder *r = cprof__this_thread;
    if (CPROF__LIKELY(r != NULL)) return r;
    cprof__init();
    return cprof__recorder_create();
}

/* Node storage: block b holds 64 * 2^b nodes, so the blocks never move and the count of blocks stays
   small however large the tree grows. */
static cprof__rnode *cprof__node_new(cprof__recorder *r) {
    uint64_t index = r->node_count;
    uint64_t capacity = (uint64_t)CPROF__FIRST_BLOCK_NODES * ((1ull << r->block_count) - 1);
    if (index == capacity) {
        if (r->block_count == CPROF__MAX_BLOCKS) return NULL;
        size_t nodes = (size_t)CPROF__FIRST_BLOCK_NODES << r->block_count;
        cprof__rnode *block = (cprof__rnode *)cprof__alloc(nodes * sizeof *block);
        if (!block) return NULL;
        r->blocks[r->block_count++] = block;
        capacity += nodes;
    }
    uint32_t last = r->block_count - 1;
    uint64_t block_start = (uint64_t)CPROF__FIRST_BLOCK_NODES * ((1ull << last) - 1);
    CPROF__STORE(r->node_count, index + 1);
    return &r->blocks[last][index - block_start];
}

/* Cold: the first entry of `site` under `parent`. The node is complete before it is published. */
static cprof__rnode *cprof__node_add(cprof__recorder *r, cprof__rnode *parent, const cprof_site *site) {
    cprof__rnode *node = cprof__node_new(r);
    if (!node) return NULL;
    node->site = site;
    node->capture_index = CPROF_NONE; /* not in any capture yet */
    cprof__node_clear(node);
    node->next_sibling = parent->first_child;
    CPROF__STORE_RELEASE(parent->first_child, node);
    return node;
}

/* The hot path, enter: find the child of the current node for this site (a pointer compare per
   sibling), push a frame, read the timer last so that the bookkeeping is not timed. Returns the
   frame's depth, the token that cprof__exit checks; 0 when nothing was recorded. */
uint32_t cprof__enter(const cprof_site *site) {
    cprof__recorder *r = cprof__recorder_get();
    if (CPROF__UNLIKELY(!r || !CPROF__LOAD(cprof__g.enabled))) return 0;
    uint32_t depth = r->depth;
    cprof__rnode *node = NULL;
    if (CPROF__LIKELY(depth < CPROF__MAX_DEPTH)) {
        cprof__rnode *parent = r->stack[depth].node;
        node = parent->first_child;
        while (node && node->site != site) node = node->next_sibling;
        if (CPROF__UNLIKELY(!node)) node = cprof__node_add(r, parent, site);
    }
    if (CPROF__UNLIKELY(!node)) {
        CPROF__STORE(r->dropped, CPROF__LOAD(r->dropped) + 1);
        return 0;
    }
    cprof__frame *frame = &r->stack[depth + 1];
    CPROF__STORE(frame->node, node);
    CPROF__STORE(frame->site, site);
    CPROF__STORE(node->calls, CPROF__LOAD(node->calls) + 1);
    CPROF__STORE(frame->start_ticks, cprof__ticks());
    CPROF__STORE_RELEASE(r->depth, depth + 1);
    return depth + 1;
}

static void cprof__frame_close(cprof__recorder *r, uint32_t depth, uint64_t now) {
    cprof__frame *frame = &r->stack[depth];
    cprof__rnode *node = frame->node;
    uint64_t elapsed = now - frame->start_ticks;
    double square;
    CPROF__LOAD_DOUBLE(node->sum_sq_ticks2, square); /* every field a reset may write is read atomically */
    square += (double)elapsed * (double)elapsed;
    CPROF__STORE(node->total_ticks, CPROF__LOAD(node->total_ticks) + elapsed);
    CPROF__STORE_DOUBLE(node->sum_sq_ticks2, square);
    if (elapsed < CPROF__LOAD(node->min_ticks)) CPROF__STORE(node->min_ticks, elapsed);
    if (elapsed > CPROF__LOAD(node->max_ticks)) CPROF__STORE(node->max_ticks, elapsed);
    CPROF__STORE_RELEASE(r->depth, depth - 1);
}

/* Frames above `token` are CPROF_BEGINs that were never ended: close them here, say where. */
static void cprof__close_forgotten(cprof__recorder *r, uint32_t token, uint64_t now) {
    const cprof_site *outer = r->stack[token].site;
    while (r->depth > token) {
        const cprof_site *open = r->stack[r->depth].site;
        cprof__message(open->file, open->line,
                       "CPROF_BEGIN(\"%s\") was not ended before the scope of %s (%s:%d) ended; closed there",
                       open->name[0] ? open->name : open->function, outer->function, outer->file, outer->line);
        cprof__frame_close(r, r->depth, now);
    }
}

/* The hot path, exit: read the timer first, then add the elapsed ticks to the frame's node. */
void cprof__exit(uint32_t token) {
    if (token == 0) return;
    uint64_t now = cprof__ticks();
    cprof__recorder *r = cprof__this_thread;
    if (CPROF__UNLIKELY(r->depth != token)) {
        if (r->depth < token) return; /* already closed (a longjmp skipped the cleanups) */
        cprof__close_forgotten(r, token, now);
    }
    cprof__frame_close(r, token, now);
}

void cprof__scope_cleanup(const uint32_t *token) { cprof__exit(*token); }

void cprof__end(const cprof_site *site) {
    uint64_t now = cprof__ticks();
    cprof__recorder *r = cprof__recorder_get();
    if (!r || !CPROF__LOAD(cprof__g.enabled)) return; /* its BEGIN may not have been recorded */
    if (r->depth == 0) {
        cprof__message(site->file, site->line, "CPROF_END() in %s without an open CPROF_BEGIN; ignored",
                       site->function);
        return;
    }
    const cprof_site *top = r->stack[r->depth].site;
    if (top->kind != CPROF__KIND_BEGIN) {
        cprof__message(site->file, site->line,
                       "CPROF_END() in %s would close CPROF_SCOPE of %s (%s:%d), which ends with its block; ignored",
                       site->function, top->function, top->file, top->line);
        return;
    }
    cprof__frame_close(r, r->depth, now);
}

static void cprof__write_outputs_at_exit(void);

static void cprof__init_once(void) {
    const char *on = getenv("CPROF");
    const char *out = getenv("CPROF_OUT");
    cprof__g.forced_off = on && strcmp(on, "0") == 0;
    cprof__timer_init(getenv("CPROF_TIMER"));
    cprof__g.start_ticks = cprof__ticks();
    cprof__g.start_unix_ns = cprof__unix_ns();
    pthread_key_create(&cprof__g.exit_key, cprof__thread_exited);
    if (out && *out && !cprof__g.forced_off && strlen(out) < sizeof cprof__g.out_prefix - 16) {
        strcpy(cprof__g.out_prefix, out);
        atexit(cprof__write_outputs_at_exit);
    }
    CPROF__STORE(cprof__g.enabled, !cprof__g.forced_off);
}

/* Start at program start, on the main thread, so that the wall time covers the run and the main
   thread's recorder is the first. */
__attribute__((constructor)) static void cprof__init_at_startup(void) {
    cprof__init();
    (void)cprof__recorder_get();
}

void cprof_enable(void) {
    cprof__init();
    if (!cprof__g.forced_off) CPROF__STORE(cprof__g.enabled, 1);
}

void cprof_disable(void) {
    cprof__init();
    CPROF__STORE(cprof__g.enabled, 0);
}

int cprof_is_enabled(void) {
    cprof__init();
    return CPROF__LOAD(cprof__g.enabled);
}

size_t cprof_memory_bytes(void) { return CPROF__LOAD(cprof__own_bytes); }

void cprof_thread_name(const char *name) {
    cprof__recorder *r = cprof__recorder_get();
    if (!r || !name) return;
    size_t length = strlen(name);
    if (length >= CPROF__NAME_BYTES)
        cprof__message(NULL, 0, "thread name \"%.40s...\" (%u bytes) truncated to %u bytes", name,
                       (unsigned)length, (unsigned)CPROF__NAME_BYTES - 1);
    pthread_mutex_lock(&cprof__lock); /* a capture may be copying the old name */
    cprof__snprintf(r->name, sizeof r->name, "%s", name);
    pthread_mutex_unlock(&cprof__lock);
}

static void cprof__tree_clear(cprof__rnode *node) {
    for (cprof__rnode *child = CPROF__LOAD_ACQUIRE(node->first_child); child;
         child = CPROF__LOAD(child->next_sibling)) {
        cprof__node_clear(child);
        cprof__tree_clear(child);
    }
}

void cprof_reset(void) {
    cprof__init();
    pthread_mutex_lock(&cprof__lock);
    for (cprof__recorder *r = cprof__g.recorders; r; r = CPROF__LOAD_ACQUIRE(r->next)) {
        cprof__tree_clear(&r->root);
        CPROF__STORE(r->dropped, 0);
    }
    cprof__g.message_count = 0;
    cprof__g.messages_dropped = 0;
    cprof__g.start_ticks = cprof__ticks();
    cprof__g.start_unix_ns = cprof__unix_ns();
    pthread_mutex_unlock(&cprof__lock);
}

/* ==================================================================================================
   >>auto: automatic instrumentation (CPROF_AUTO): the -finstrument-functions hooks. Every
   instrumented function becomes a scope in the same per-thread tree as CPROF_SCOPE, keyed by a site
   record made once per function address; its name comes from the ELF symbol tables.
   ================================================================================================== */
#if defined(CPROF_AUTO)
#include <limits.h>
#include <regex.h>
#if defined(CPROF__LINUX) && defined(__ELF__)
#include <elf.h>
#define CPROF__ELF 1
#endif

#define CPROF__AUTO_STACK (2 * CPROF__MAX_DEPTH) /* open instrumented calls tracked per thread */

/* One instrumented function, made the first time a hook sees its address and kept until exit. */
typedef struct cprof__auto_function {
    cprof_site site; /* name and function: the symbol; file: the module's file name; line 0 */
    const void *address;
    int excluded;    /* by CPROF_AUTO_EXCLUDE, or one of the profiler's own functions */
} cprof__auto_function;

/* Address -> function by open addressing. Written under cprof__auto_lock, read without a lock: an
   entry's function is stored before its address (a release store), and a table about to fill up is
   replaced by a bigger copy while the old one stays valid for readers still probing it. */
typedef struct cprof__auto_table {
    size_t capacity; /* a power of two, at least twice the entries */
    const void **addresses;
    cprof__auto_function **functions;
    struct cprof__auto_table *older;
} cprof__auto_table;

typedef struct cprof__auto_call {
    const void *address;
    uint32_t token; /* from cprof__enter; 0 when not recorded (excluded, recording off, too deep) */
} cprof__auto_call;

/* Per thread, the instrumented calls open now, so that an exit needs no lookup. */
typedef struct cprof__auto_thread {
    struct cprof__auto_thread *next; /* all threads', so that the memory stays reachable */
    uint32_t depth;
    uint64_t overflow; /* open calls beyond the stack: not recorded */
    cprof__auto_call stack[CPROF__AUTO_STACK];
} cprof__auto_thread;

/* A loaded module (the executable or a shared object) with its function symbols sorted by address. */
typedef struct cprof__auto_symbol {
    uintptr_t address; /* where the function is in memory */
    uint64_t size;
    uint32_t name;     /* offset into the module's names */
    uint32_t global;   /* preferred over a local alias at the same address */
} cprof__auto_symbol;

typedef struct cprof__auto_module {
    struct cprof__auto_module *next;
    uintptr_t bias; /* load address minus the addresses in the file: 0 for a non-PIE executable */
    char *path;
    const char *file_name; /* the last part of path */
    char *names;
    size_t path_bytes, names_bytes, symbol_count, symbol_capacity;
    cprof__auto_symbol *symbols;
} cprof__auto_module;

static pthread_mutex_t cprof__auto_lock = PTHREAD_MUTEX_INITIALIZER; /* never taken once a function is known */
static struct cprof__auto_global {
    cprof__auto_table *table;
    size_t count;
    cprof__auto_module *modules;
    cprof__auto_thread *threads;
    int exclude_ready, has_exclude;
    regex_t exclude;
} cprof__auto;

static CPROF__THREAD_LOCAL int cprof__auto_busy; /* 1 while a hook runs: calls it makes are not recorded */
static CPROF__THREAD_LOCAL cprof__auto_thread *cprof__auto_self;

static int cprof__grow(void *array_pointer, size_t *capacity, size_t needed, size_t element_size);

#ifdef __cplusplus
extern "C" {
#endif
void __cyg_profile_func_enter(void *function, void *call_site) CPROF__NO_INSTRUMENT;
void __cyg_profile_func_exit(void *function, void *call_site) CPROF__NO_INSTRUMENT;
#if defined(CPROF__ELF)
/* Bound by symbol name (asm labels), so that no feature macro or header is needed and nothing clashes
   with the system's declarations: glibc declares dl_iterate_phdr only under _GNU_SOURCE, and the C++
   runtime's __cxa_demangle is a weak reference, null in a C program that does not link it. */
struct cprof__module_info {
    uintptr_t bias;
    const char *path;        /* "" for the executable */
    const void *segments;    /* program headers */
    uint16_t segment_count;
};
int cprof__dl_iterate_phdr(int (*callback)(struct cprof__module_info *, size_t, void *), void *data)
    __asm__("dl_iterate_phdr");
char *cprof__cxa_demangle(const char *mangled, char *buffer, size_t *length, int *status)
    __asm__("__cxa_demangle") __attribute__((weak));
#endif
#ifdef __cplusplus
}
#endif

/* --- names: ELF symbol tables, read once per module --- */
#if defined(CPROF__ELF)
#if UINTPTR_MAX > 0xffffffffu
typedef Elf64_Ehdr cprof__elf_header;
typedef Elf64_Shdr cprof__elf_section;
typedef Elf64_Sym cprof__elf_symbol;
typedef Elf64_Phdr cprof__elf_segment;
#define CPROF__ELF_CLASS ELFCLASS64
#define CPROF__ELF_TYPE(info) ELF64_ST_TYPE(info)
#define CPROF__ELF_BIND(info) ELF64_ST_BIND(info)
#else
typedef Elf32_Ehdr cprof__elf_header;
typedef Elf32_Shdr cprof__elf_section;
typedef Elf32_Sym cprof__elf_symbol;
typedef Elf32_Phdr cprof__elf_segment;
#define CPROF__ELF_CLASS ELFCLASS32
#define CPROF__ELF_TYPE(info) ELF32_ST_TYPE(info)
#define CPROF__ELF_BIND(info) ELF32_ST_BIND(info)
#endif

static int cprof__elf_read(FILE *f, uint64_t offset, void *out, size_t size) {
    if (offset > (uint64_t)LONG_MAX || fseek(f, (long)offset, SEEK_SET) != 0) return -1;
    return fread(out, 1, size, f) == size ? 0 : -1;
}

static int cprof__auto_compare_symbols(const void *a, const void *b) {
    const cprof__auto_symbol *x = (const cprof__auto_symbol *)a, *y = (const cprof__auto_symbol *)b;
    if (x->address != y->address) return x->address < y->address ? -1 : 1;
    return (int)y->global - (int)x->global;
}

static void cprof__auto_symbol_add(cprof__auto_module *m, const cprof__elf_symbol *s) {
    int type = CPROF__ELF_TYPE(s->st_info);
    if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s->st_shndx == SHN_UNDEF || s->st_value == 0 ||
        s->st_name >= m->names_bytes - 1)
        return;
    if (cprof__grow(&m->symbols, &m->symbol_capacity, m->symbol_count + 1, sizeof *m->symbols)) return;
    cprof__auto_symbol *symbol = &m->symbols[m->symbol_count++];
    symbol->address = m->bias + (uintptr_t)s->st_value;
    symbol->size = (uint64_t)s->st_size;
    symbol->name = (uint32_t)s->st_name;
    symbol->global = CPROF__ELF_BIND(s->st_info) != STB_LOCAL;
}

/* The function symbols of one symbol table section and its string table. */
static void cprof__auto_symbols_read(cprof__auto_module *m, FILE *f, const cprof__elf_section *table,
                                     const cprof__elf_section *strings) {
    if (strings->sh_size == 0 || strings->sh_size >= UINT32_MAX || table->sh_entsize != sizeof(cprof__elf_symbol))
        return;
    m->names_bytes = (size_t)strings->sh_size + 1; /* + a NUL in case the last name lacks one */
    m->names = (char *)cprof__alloc(m->names_bytes);
    if (!m->names || cprof__elf_read(f, (uint64_t)strings->sh_offset, m->names, m->names_bytes - 1)) {
        cprof__release(m->names, m->names_bytes);
        m->names = NULL;
        return;
    }
    size_t count = (size_t)(table->sh_size / sizeof(cprof__elf_symbol));
    cprof__elf_symbol chunk[128];
    for (size_t done = 0; done < count;) {
        size_t n = count - done < 128 ? count - done : 128;
        if (cprof__elf_read(f, (uint64_t)table->sh_offset + done * sizeof *chunk, chunk, n * sizeof *chunk)) break;
        for (size_t i = 0; i < n; i++) cprof__auto_symbol_add(m, &chunk[i]);
        done += n;
    }
    if (m->symbol_count) qsort(m->symbols, m->symbol_count, sizeof *m->symbols, cprof__auto_compare_symbols);
}

/* .symtab names every function, static ones included; a stripped file has only .dynsym (exported). */
static void cprof__auto_symbols_load(cprof__auto_module *m, const char *file) {
    FILE *f = fopen(file, "rb");
    if (!f) return;
    cprof__elf_header header;
    cprof__elf_section *sections = NULL;
    size_t bytes = 0;
    if (!cprof__elf_read(f, 0, &header, sizeof header) && memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 &&
        header.e_ident[EI_CLASS] == CPROF__ELF_CLASS && header.e_shentsize == sizeof *sections && header.e_shnum) {
        bytes = header.e_shnum * sizeof *sections;
        sections = (cprof__elf_section *)cprof__alloc(bytes);
    }
    if (sections && !cprof__elf_read(f, (uint64_t)header.e_shoff, sections, bytes)) {
        const cprof__elf_section *table = NULL;
        for (int pass = 0; pass < 2 && !table; pass++)
            for (size_t i = 0; i < header.e_shnum && !table; i++)
                if (sections[i].sh_type == (pass == 0 ? SHT_SYMTAB : SHT_DYNSYM)) table = &sections[i];
        if (table && table->sh_link < header.e_shnum) cprof__auto_symbols_read(m, f, table, &sections[table->sh_link]);
    }
    cprof__release(sections, bytes);
    fclose(f);
}

typedef struct cprof__auto_where {
    uintptr_t address, bias;
    const char *path;
    int found;
} cprof__auto_where;

static int cprof__auto_where_callback(struct cprof__module_info *info, size_t size, void *data) {
    cprof__auto_where *where = (cprof__auto_where *)data;
    const cprof__elf_segment *segments = (const cprof__elf_segment *)info->segments;
    (void)size;
    for (uint16_t i = 0; i < info->segment_count; i++) {
        uintptr_t start = info->bias + (uintptr_t)segments[i].p_vaddr;
        if (segments[i].p_type == PT_LOAD && where->address >= start && where->address - start < segments[i].p_memsz) {
            where->bias = info->bias;
            where->path = info->path;
            where->found = 1;
            return 1;
        }
    }
    return 0;
}

/* The module holding `address`, its symbols read on first use; NULL when no module holds it. */
static cprof__auto_module *cprof__auto_module_of(const void *address) {
    cprof__auto_where where;
    memset(&where, 0, sizeof where);
    where.address = (uintptr_t)address;
    cprof__dl_iterate_phdr(cprof__auto_where_callback, &where);
    if (!where.found) return NULL;
    char path[4096];
    const char *file = where.path && where.path[0] ? where.path : "/proc/self/exe";
    cprof__snprintf(path, sizeof path, "%s", file);
    if (file != where.path) { /* the executable: name it by its real path */
        ssize_t length = readlink(file, path, sizeof path - 1);
        if (length > 0) path[length] = '\0';
    }
    cprof__auto_module *m;
    for (m = cprof__auto.modules; m; m = m->next)
        if (m->bias == where.bias && strcmp(m->path, path) == 0) return m;
    m = (cprof__auto_module *)cprof__alloc(sizeof *m);
    if (!m) return NULL;
    m->bias = where.bias;
    m->path_bytes = strlen(path) + 1;
    m->path = (char *)cprof__alloc(m->path_bytes);
    if (!m->path) {
        cprof__release(m, sizeof *m);
        return NULL;
    }
    memcpy(m->path, path, m->path_bytes);
    m->file_name = strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path;
    cprof__auto_symbols_load(m, file);
    m->next = cprof__auto.modules;
    cprof__auto.modules = m;
    return m;
}

/* The symbol at `address`, or the one whose code contains it; NULL when there is none. */
static const char *cprof__auto_symbol_at(const cprof__auto_module *m, uintptr_t address) {
    size_t low = 0, high = m->symbol_count; /* first symbol above address */
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (m->symbols[middle].address <= address) low = middle + 1;
        else high = middle;
    }
    if (low == 0) return NULL;
    size_t i = low - 1;
    uintptr_t start = m->symbols[i].address;
    if (start != address && address - start >= m->symbols[i].size) return NULL;
    while (i > 0 && m->symbols[i - 1].address == start) i--; /* the preferred alias sorts first */
    return m->names + m->symbols[i].name;
}
#endif /* CPROF__ELF */

/* A copy of text that lives until exit (the site records point to it). */
static char *cprof__auto_keep(const char *text) {
    size_t bytes = strlen(text) + 1;
    char *copy = (char *)cprof__alloc(bytes);
    if (copy) memcpy(copy, text, bytes);
    return copy;
}

/* The function's name: its symbol, demangled for C++; else module+0xoffset in the module's file. */
static char *cprof__auto_name(const void *address, const char **module_file) {
    char fallback[64];
    *module_file = "";
#if defined(CPROF__ELF)
    const cprof__auto_module *m = cprof__auto_module_of(address);
    const char *symbol = m ? cprof__auto_symbol_at(m, (uintptr_t)address) : NULL;
    if (m) *module_file = m->file_name;
    if (symbol && strncmp(symbol, "_Z", 2) == 0 && cprof__cxa_demangle) {
        int status = -1;
        char *demangled = cprof__cxa_demangle(symbol, NULL, NULL, &status);
        char *kept = status == 0 && demangled ? cprof__auto_keep(demangled) : NULL;
        (free)(demangled);
        if (kept) return kept;
    }
    if (symbol) return cprof__auto_keep(symbol);
    if (m) {
        cprof__snprintf(fallback, sizeof fallback, "%s+0x%llx", m->file_name,
                        (unsigned long long)((uintptr_t)address - m->bias));
        return cprof__auto_keep(fallback);
    }
#endif
    cprof__snprintf(fallback, sizeof fallback, "0x%llx", (unsigned long long)(uintptr_t)address);
    return cprof__auto_keep(fallback);
}

/* --- run-time exclusion, decided once per function --- */
static void cprof__auto_exclude_init(void) {
    const char *pattern = getenv("CPROF_AUTO_EXCLUDE");
    cprof__auto.exclude_ready = 1;
    if (!pattern || !*pattern) return;
    int error = regcomp(&cprof__auto.exclude, pattern, REG_EXTENDED | REG_NOSUB);
    if (error == 0) {
        cprof__auto.has_exclude = 1;
        return;
    }
    char why[128];
    regerror(error, &cprof__auto.exclude, why, sizeof why);
    cprof__message(NULL, 0, "CPROF_AUTO_EXCLUDE=\"%.60s\" is not an extended regular expression (%s); nothing excluded",
                   pattern, why);
    fprintf(stderr, "cprof: CPROF_AUTO_EXCLUDE=\"%s\" is not an extended regular expression (%s); nothing excluded\n",
            pattern, why);
}

/* Read at program start, before any capture can hold the registry lock that the note about an
   invalid expression takes (an instrumented constructor that runs earlier reads it on first use). */
__attribute__((constructor)) static void cprof__auto_init_at_startup(void) {
    cprof__auto_busy = 1; /* as in a hook: gcc may have instrumented what this calls */
    pthread_mutex_lock(&cprof__auto_lock);
    if (!cprof__auto.exclude_ready) cprof__auto_exclude_init();
    pthread_mutex_unlock(&cprof__auto_lock);
    cprof__auto_busy = 0;
}

/* The profiler's own functions are excluded too: under gcc, a file compiled with
   -finstrument-functions instruments cprof.h and stb_sprintf (clang's pragma leaves them alone). */
static int cprof__auto_excluded(const char *name) {
    if (strncmp(name, "cprof_", 6) == 0 || strncmp(name, "stbsp__", 7) == 0) return 1;
    if (!cprof__auto.exclude_ready) cprof__auto_exclude_init();
    return cprof__auto.has_exclude && regexec(&cprof__auto.exclude, name, 0, NULL, 0) == 0;
}

static cprof__auto_function *cprof__auto_function_new(const void *address) {
    const char *module_file = "";
    char *name = cprof__auto_name(address, &module_file);
    cprof__auto_function *fn = name ? (cprof__auto_function *)cprof__alloc(sizeof *fn) : NULL;
    if (!fn) {
        if (name) cprof__release(name, strlen(name) + 1);
        return NULL;
    }
    fn->site.name = name;
    fn->site.function = name;
    fn->site.file = module_file;
    fn->site.line = 0;
    fn->site.kind = CPROF__KIND_AUTO;
    fn->address = address;
    fn->excluded = cprof__auto_excluded(name);
    return fn;
}

/* --- the address table --- */
static inline const cprof__auto_function *cprof__auto_probe(const cprof__auto_table *table,
                                                            const void *address) CPROF__NO_INSTRUMENT;
static inline const cprof__auto_function *cprof__auto_probe(const cprof__auto_table *table, const void *address) {
    if (CPROF__UNLIKELY(!table)) return NULL;
    size_t mask = table->capacity - 1;
    for (size_t slot = cprof__pointer_hash(address) & mask;; slot = (slot + 1) & mask) {
        const void *key = CPROF__LOAD_ACQUIRE(table->addresses[slot]);
        if (key == address) return table->functions[slot];
        if (!key) return NULL;
    }
}

static void cprof__auto_table_put(cprof__auto_table *table, cprof__auto_function *fn) {
    size_t mask = table->capacity - 1, slot = cprof__pointer_hash(fn->address) & mask;
    while (table->addresses[slot]) slot = (slot + 1) & mask;
    table->functions[slot] = fn;
    CPROF__STORE_RELEASE(table->addresses[slot], fn->address);
}

/* A table of `capacity` slots holding everything `older` holds. */
static cprof__auto_table *cprof__auto_table_new(size_t capacity, cprof__auto_table *older) {
    cprof__auto_table *table = (cprof__auto_table *)cprof__alloc(sizeof *table);
    if (!table) return NULL;
    table->capacity = capacity;
    table->addresses = (const void **)cprof__alloc(capacity * sizeof *table->addresses);
    table->functions = (cprof__auto_function **)cprof__alloc(capacity * sizeof *table->functions);
    if (!table->addresses || !table->functions) {
        cprof__release((void *)table->addresses, capacity * sizeof *table->addresses);
        cprof__release(table->functions, capacity * sizeof *table->functions);
        cprof__release(table, sizeof *table);
        return NULL;
    }
    for (size_t i = 0; older && i < older->capacity; i++)
        if (older->addresses[i]) cprof__auto_table_put(table, older->functions[i]);
    table->older = older;
    return table;
}

/* Cold: the first call of a function (on any thread). NULL only when out of memory. */
static const cprof__auto_function *cprof__auto_add(const void *address) {
    pthread_mutex_lock(&cprof__auto_lock);
    cprof__auto_table *table = cprof__auto.table;
    const cprof__auto_function *known = cprof__auto_probe(table, address); /* another thread's */
    cprof__auto_function *fn = known ? NULL : cprof__auto_function_new(address);
    if (fn && (!table || (cprof__auto.count + 1) * 2 > table->capacity)) {
        table = cprof__auto_table_new(table ? table->capacity * 2 : 256, table);
        if (table) CPROF__STORE_RELEASE(cprof__auto.table, table);
    }
    if (fn && table) {
        cprof__auto_table_put(table, fn);
        cprof__auto.count++;
        known = fn;
    } else if (fn) { /* no memory for the table: forget the function, try again next time */
        cprof__release((void *)fn->site.name, strlen(fn->site.name) + 1);
        cprof__release(fn, sizeof *fn);
    }
    pthread_mutex_unlock(&cprof__auto_lock);
    return known;
}

static inline const cprof__auto_function *cprof__auto_find(const void *address) CPROF__NO_INSTRUMENT;
static inline const cprof__auto_function *cprof__auto_find(const void *address) {
    const cprof__auto_function *fn = cprof__auto_probe(CPROF__LOAD_ACQUIRE(cprof__auto.table), address);
    return CPROF__LIKELY(fn != NULL) ? fn : cprof__auto_add(address);
}

/* --- the hooks --- */
static cprof__auto_thread *cprof__auto_thread_create(void) {
    cprof__init();
    cprof__auto_thread *t = (cprof__auto_thread *)cprof__alloc(sizeof *t);
    if (!t) return NULL;
    pthread_mutex_lock(&cprof__auto_lock);
    t->next = cprof__auto.threads;
    cprof__auto.threads = t;
    pthread_mutex_unlock(&cprof__auto_lock);
    cprof__auto_self = t;
    return t;
}

/* Cold: a call deeper than the thread's stack of open calls is not recorded, only counted. */
static void cprof__auto_overflow(cprof__auto_thread *t, const void *address) {
    const cprof__auto_function *fn = cprof__auto_find(address);
    cprof__recorder *r = cprof__recorder_get();
    t->overflow++;
    if (r && fn && !fn->excluded && CPROF__LOAD(cprof__g.enabled)) CPROF__STORE(r->dropped, CPROF__LOAD(r->dropped) + 1);
}

/* The hot path, enter: a lock-free lookup of the function (an excluded one stops there), then the
   same cprof__enter as a CPROF_SCOPE. The call is remembered so that its exit needs no lookup. */
void __cyg_profile_func_enter(void *function, void *call_site) {
    (void)call_site;
    if (CPROF__UNLIKELY(cprof__auto_busy)) return; /* called from inside a hook */
    cprof__auto_busy = 1;
    cprof__auto_thread *t = cprof__auto_self;
    if (CPROF__UNLIKELY(!t)) t = cprof__auto_thread_create();
    if (CPROF__LIKELY(t && t->depth < CPROF__AUTO_STACK)) {
        const cprof__auto_function *fn = CPROF__LOAD(cprof__g.enabled) ? cprof__auto_find(function) : NULL;
        cprof__auto_call *call = &t->stack[t->depth++];
        call->address = function;
        call->token = fn && !fn->excluded ? cprof__enter(&fn->site) : 0;
    } else if (t) {
        cprof__auto_overflow(t, function);
    }
    cprof__auto_busy = 0;
}

/* Cold: an exit that is not the innermost open call's. The calls above it never saw their exit (a
   longjmp, or an exception under a compiler that does not call the hook while unwinding): close them
   here. An exit without an open call (entered before cprof saw the thread) is ignored. */
static void cprof__auto_unwind(cprof__auto_thread *t, const void *address) {
    uint32_t level = t->depth;
    while (level > 0 && t->stack[level - 1].address != address) level--;
    while (level > 0 && t->depth >= level) {
        uint32_t token = t->stack[--t->depth].token;
        if (token) cprof__exit(token);
    }
}

/* The hot path, exit: pop the call, close its scope. */
void __cyg_profile_func_exit(void *function, void *call_site) {
    (void)call_site;
    cprof__auto_thread *t = cprof__auto_self;
    if (CPROF__UNLIKELY(cprof__auto_busy || !t)) return;
    if (CPROF__UNLIKELY(t->overflow)) {
        t->overflow--;
        return;
    }
    cprof__auto_busy = 1;
    if (CPROF__LIKELY(t->depth && t->stack[t->depth - 1].address == function)) {
        uint32_t token = t->stack[--t->depth].token;
        if (token) cprof__exit(token);
    } else {
        cprof__auto_unwind(t, function);
    }
    cprof__auto_busy = 0;
}
#endif /* CPROF_AUTO */

/* ==================================================================================================
   >>capture: every thread's live tree -> one immutable cprof_profile
   ================================================================================================== */

/* Strings of a profile live in chunks that the profile owns. */
typedef struct cprof__strings {
    struct cprof__strings *next;
    size_t used, size;
    char *data;
} cprof__strings;

static const char *cprof__string_copy(cprof_profile *p, const char *text, size_t length) {
    cprof__strings *chunk = p->strings;
    if (!chunk || chunk->size - chunk->used < length + 1) {
        size_t size = length + 1 > 65536 ? length + 1 : 65536;
        chunk = (cprof__strings *)cprof__alloc(sizeof *chunk + size);
        if (!chunk) return "";
        chunk->data = (char *)(chunk + 1);
        chunk->size = size;
        chunk->next = p->strings;
        p->strings = chunk;
    }
    char *copy = chunk->data + chunk->used;
    memcpy(copy, text, length);
    copy[length] = '\0';
    chunk->used += length + 1;
    return copy;
}

static const char *cprof__string(cprof_profile *p, const char *text) {
    return cprof__string_copy(p, text ? text : "", text ? strlen(text) : 0);
}

/* Grows an array to hold at least `needed` elements; 0 on success. */
static int cprof__grow(void *array_pointer, size_t *capacity, size_t needed, size_t element_size) {
    void **array = (void **)array_pointer;
    if (needed <= *capacity) return 0;
    size_t new_capacity = *capacity ? *capacity * 2 : 16;
    while (new_capacity < needed) new_capacity *= 2;
    void *grown = cprof__alloc(new_capacity * element_size);
    if (!grown) return -1;
    if (*array) memcpy(grown, *array, *capacity * element_size);
    cprof__release(*array, *capacity * element_size);
    *array = grown;
    *capacity = new_capacity;
    return 0;
}

/* A profile's arrays carry their capacity in front of them, so that cprof_profile_free knows the
   size to account for whatever built the profile (capture or the loader). */
typedef struct cprof__arrays {
    size_t threads, sites, nodes, functions, messages;
} cprof__arrays;

static cprof_profile *cprof__profile_new(void) {
    cprof_profile *p = (cprof_profile *)cprof__alloc(sizeof *p + sizeof(cprof__arrays));
    if (!p) return NULL;
    p->format_major = 1;
    p->format_minor = 0;
    p->program = "";
    p->timer = "";
    return p;
}

static cprof__arrays *cprof__capacities(const cprof_profile *p) { return (cprof__arrays *)(void *)(p + 1); }

void cprof_profile_free(cprof_profile *p) {
    if (!p) return;
    cprof__arrays *cap = cprof__capacities(p);
    cprof__release(p->threads, cap->threads * sizeof *p->threads);
    cprof__release(p->sites, cap->sites * sizeof *p->sites);
    cprof__release(p->nodes, cap->nodes * sizeof *p->nodes);
    cprof__release(p->functions, cap->functions * sizeof *p->functions);
    cprof__release(p->messages, cap->messages * sizeof *p->messages);
    while (p->strings) {
        cprof__strings *next = p->strings->next;
        cprof__release(p->strings, sizeof *p->strings + p->strings->size);
        p->strings = next;
    }
    cprof__release(p, sizeof *p + sizeof(cprof__arrays));
}

static cprof_node *cprof__add_node(cprof_profile *p) {
    if (cprof__grow(&p->nodes, &cprof__capacities(p)->nodes, p->node_count + 1, sizeof *p->nodes)) return NULL;
    cprof_node *node = &p->nodes[p->node_count++];
    memset(node, 0, sizeof *node);
    node->site = node->parent = node->first_child = node->next_sibling = CPROF_NONE;
    return node;
}

/* The capture's map from a live site record to its index in the profile (open addressing). */
typedef struct cprof__site_map {
    const cprof_site **keys;
    uint32_t *values;
    size_t capacity, count;
} cprof__site_map;

static size_t cprof__pointer_hash(const void *pointer) {
    uint64_t x = (uint64_t)(uintptr_t)pointer;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x;
}

static int cprof__site_map_grow(cprof__site_map *map) {
    cprof__site_map bigger = {NULL, NULL, map->capacity ? map->capacity * 2 : 64, 0};
    bigger.keys = (const cprof_site **)cprof__alloc(bigger.capacity * sizeof *bigger.keys);
    bigger.values = (uint32_t *)cprof__alloc(bigger.capacity * sizeof *bigger.values);
    if (!bigger.keys || !bigger.values) {
        cprof__release(bigger.keys, bigger.capacity * sizeof *bigger.keys);
        cprof__release(bigger.values, bigger.capacity * sizeof *bigger.values);
        return -1;
    }
    for (size_t i = 0; i < map->capacity; i++) {
        if (!map->keys[i]) continue;
        size_t slot = cprof__pointer_hash(map->keys[i]) & (bigger.capacity - 1);
        while (bigger.keys[slot]) slot = (slot + 1) & (bigger.capacity - 1);
        bigger.keys[slot] = map->keys[i];
        bigger.values[slot] = map->values[i];
    }
    bigger.count = map->count;
    cprof__release(map->keys, map->capacity * sizeof *map->keys);
    cprof__release(map->values, map->capacity * sizeof *map->values);
    *map = bigger;
    return 0;
}

static void cprof__site_map_free(cprof__site_map *map) {
    cprof__release(map->keys, map->capacity * sizeof *map->keys);
    cprof__release(map->values, map->capacity * sizeof *map->values);
}

/* The index of `site` in the profile's site table, adding it on first sight; CPROF_NONE when out
   of memory. */
static uint32_t cprof__site_index(cprof_profile *p, cprof__site_map *map, const cprof_site *site) {
    if ((map->count + 1) * 2 > map->capacity && cprof__site_map_grow(map)) return CPROF_NONE;
    size_t slot = cprof__pointer_hash(site) & (map->capacity - 1);
    while (map->keys[slot] && map->keys[slot] != site) slot = (slot + 1) & (map->capacity - 1);
    if (map->keys[slot]) return map->values[slot];
    if (cprof__grow(&p->sites, &cprof__capacities(p)->sites, p->site_count + 1, sizeof *p->sites))
        return CPROF_NONE;
    cprof_site_info *info = &p->sites[p->site_count];
    info->name = cprof__string(p, site->name[0] ? site->name : site->function);
    info->function = cprof__string(p, site->function);
    info->file = cprof__string(p, site->file);
    info->line = (uint32_t)(site->line > 0 ? site->line : 0);
    map->keys[slot] = site;
    map->values[slot] = (uint32_t)p->site_count;
    map->count++;
    return (uint32_t)p->site_count++;
}

static const char *cprof__site_name(const cprof_site *site) { return site->name[0] ? site->name : site->function; }

/* Children are ordered by name, then file and line, so that two runs line up. */
static int cprof__compare_live_children(const void *a, const void *b) {
    const cprof_site *x = (*(cprof__rnode *const *)a)->site, *y = (*(cprof__rnode *const *)b)->site;
    int order = strcmp(cprof__site_name(x), cprof__site_name(y));
    if (!order) order = strcmp(x->file, y->file);
    if (!order) order = (x->line > y->line) - (x->line < y->line);
    return order;
}

typedef struct cprof__capture_state {
    cprof_profile *profile;
    cprof__site_map sites;
    double hz;
    uint32_t thread;
    int failed;
} cprof__capture_state;

/* Copies one live node's counts; nodes are read with relaxed loads while their thread may run. */
static void cprof__copy_counts(cprof_node *out, const cprof__rnode *live, double hz) {
    uint64_t min_ticks = CPROF__LOAD(live->min_ticks);
    double sum_sq;
    CPROF__LOAD_DOUBLE(live->sum_sq_ticks2, sum_sq);
    double ns_per_tick = 1e9 / hz;
    out->calls = CPROF__LOAD(live->calls);
    out->total_ns = cprof__ticks_to_ns(CPROF__LOAD(live->total_ticks), hz);
    out->min_ns = min_ticks == UINT64_MAX ? 0 : cprof__ticks_to_ns(min_ticks, hz);
    out->max_ns = cprof__ticks_to_ns(CPROF__LOAD(live->max_ticks), hz);
    out->sum_sq_ns2 = sum_sq * ns_per_tick * ns_per_tick;
}

static void cprof__capture_children(cprof__capture_state *c, cprof__rnode *live, uint32_t index, uint32_t depth) {
    size_t count = 0, capacity = 0;
    cprof__rnode **children = NULL;
    for (cprof__rnode *child = CPROF__LOAD_ACQUIRE(live->first_child); child;
         child = CPROF__LOAD(child->next_sibling)) {
        if (cprof__grow(&children, &capacity, count + 1, sizeof *children)) { c->failed = 1; break; }
        children[count++] = child;
    }
    if (count) qsort(children, count, sizeof *children, cprof__compare_live_children);
    uint32_t previous = CPROF_NONE;
    for (size_t i = 0; i < count && !c->failed; i++) {
        uint32_t site = cprof__site_index(c->profile, &c->sites, children[i]->site);
        cprof_node *node = site == CPROF_NONE ? NULL : cprof__add_node(c->profile);
        if (!node) { c->failed = 1; break; }
        uint32_t child_index = (uint32_t)(c->profile->node_count - 1);
        node->site = site;
        node->parent = index;
        node->thread = c->thread;
        node->depth = depth;
        cprof__copy_counts(node, children[i], c->hz);
        children[i]->capture_index = child_index;
        cprof__capture_children(c, children[i], child_index, depth + 1);
        cprof_node *captured = &c->profile->nodes[child_index];
        if (captured->calls == 0 && captured->first_child == CPROF_NONE) { /* not called since a reset */
            children[i]->capture_index = CPROF_NONE;
            c->profile->node_count--;
            continue;
        }
        if (previous == CPROF_NONE) c->profile->nodes[index].first_child = child_index;
        else c->profile->nodes[previous].next_sibling = child_index;
        previous = child_index;
    }
    cprof__release(children, capacity * sizeof *children);
}

/* Scopes still running: their time so far is added, and each is named in a message. */
static void cprof__capture_open_frames(cprof__capture_state *c, cprof__recorder *r, uint32_t first_node,
                                       uint64_t now) {
    cprof_profile *p = c->profile;
    uint32_t depth = CPROF__LOAD_ACQUIRE(r->depth);
    for (uint32_t level = 1; level <= depth && level <= CPROF__MAX_DEPTH; level++) {
        cprof__rnode *live = CPROF__LOAD(r->stack[level].node);
        uint64_t start = CPROF__LOAD(r->stack[level].start_ticks);
        uint32_t index = live ? live->capture_index : CPROF_NONE;
        if (index == CPROF_NONE || index < first_node || index >= p->node_count || start > now) continue;
        p->nodes[index].total_ns += cprof__ticks_to_ns(now - start, c->hz);
        p->nodes[index].open++;
        const cprof_site_info *site = &p->sites[p->nodes[index].site];
        if (p->message_count < CPROF__MAX_MESSAGES &&
            !cprof__grow(&p->messages, &cprof__capacities(p)->messages, p->message_count + 1, sizeof *p->messages)) {
            char text[200];
            cprof__snprintf(text, sizeof text, "scope %s was still open on thread %s at capture; its time so far is included",
                            site->name, r->name);
            cprof_message *m = &p->messages[p->message_count++];
            m->file = site->file;
            m->line = site->line;
            m->text = cprof__string(p, text);
        } else {
            p->messages_dropped++;
        }
    }
}

static void cprof__capture_thread(cprof__capture_state *c, cprof__recorder *r, uint64_t now) {
    cprof_profile *p = c->profile;
    cprof_node *root = cprof__add_node(p);
    cprof_thread_info *thread = NULL;
    if (root && !cprof__grow(&p->threads, &cprof__capacities(p)->threads, p->thread_count + 1, sizeof *p->threads))
        thread = &p->threads[p->thread_count];
    if (!root || !thread) { c->failed = 1; return; }
    uint32_t root_index = (uint32_t)(p->node_count - 1);
    c->thread = (uint32_t)p->thread_count++;
    root->thread = c->thread;
    thread->id = r->thread_id;
    thread->name = cprof__string(p, r->name);
    thread->root = root_index;
    thread->exited = CPROF__LOAD(r->exited);
    r->root.capture_index = root_index;
    p->dropped_scopes += CPROF__LOAD(r->dropped);
    cprof__capture_children(c, &r->root, root_index, 1);
    cprof__capture_open_frames(c, r, root_index, now);
}

static void cprof__capture_messages(cprof_profile *p) {
    for (size_t i = 0; i < cprof__g.message_count; i++) {
        if (cprof__grow(&p->messages, &cprof__capacities(p)->messages, p->message_count + 1, sizeof *p->messages))
            return;
        cprof_message *m = &p->messages[p->message_count++];
        m->file = cprof__string(p, cprof__g.messages[i].file);
        m->line = cprof__g.messages[i].line;
        m->text = cprof__string(p, cprof__g.messages[i].text);
    }
    p->messages_dropped += cprof__g.messages_dropped;
}

static void cprof__program_name(cprof_profile *p) {
#if defined(CPROF__LINUX)
    char path[4096];
    ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
    if (length > 0) {
        p->program = cprof__string_copy(p, path, (size_t)length);
        return;
    }
#endif
    p->program = "";
}

static int cprof__profile_derive(cprof_profile *p);

cprof_profile *cprof_capture(void) {
    cprof__init();
    cprof_profile *p = cprof__profile_new();
    if (!p) return NULL;
    cprof__capture_state c;
    memset(&c, 0, sizeof c);
    c.profile = p;
    cprof__program_name(p);
    pthread_mutex_lock(&cprof__lock);
    uint64_t now = cprof__ticks();
    c.hz = cprof__timer_hz();
    p->timer = cprof__timer_state.name;
    p->timer_hz = c.hz;
    p->start_unix_ns = cprof__g.start_unix_ns;
    p->wall_ns = cprof__ticks_to_ns(now - cprof__g.start_ticks, c.hz);
    if (!cprof__g.forced_off)
        for (cprof__recorder *r = cprof__g.recorders; r && !c.failed; r = CPROF__LOAD_ACQUIRE(r->next))
            cprof__capture_thread(&c, r, now);
    cprof__capture_messages(p);
    pthread_mutex_unlock(&cprof__lock);
    cprof__site_map_free(&c.sites);
    if (c.failed) {
        cprof_profile_free(p);
        return NULL;
    }
    p->profiler_bytes = cprof_memory_bytes();
    if (cprof__profile_derive(p)) {
        cprof_profile_free(p);
        return NULL;
    }
    return p;
}

/* ==================================================================================================
   >>derive: self time, thread totals and per-function statistics, computed once per profile
   ================================================================================================== */

/* Names -> function indexes (open addressing over the profile's strings). */
typedef struct cprof__name_map {
    const char **keys;
    uint32_t *values;
    size_t capacity;
} cprof__name_map;

static size_t cprof__string_hash(const char *text) {
    uint64_t hash = 1469598103934665603ull; /* FNV-1a */
    while (*text) hash = (hash ^ (unsigned char)*text++) * 1099511628211ull;
    return (size_t)hash;
}

static int cprof__name_map_init(cprof__name_map *map, size_t expected) {
    map->capacity = 16;
    while (map->capacity < expected * 2) map->capacity *= 2;
    map->keys = (const char **)cprof__alloc(map->capacity * sizeof *map->keys);
    map->values = (uint32_t *)cprof__alloc(map->capacity * sizeof *map->values);
    return map->keys && map->values ? 0 : -1;
}

static void cprof__name_map_free(cprof__name_map *map) {
    cprof__release(map->keys, map->capacity * sizeof *map->keys);
    cprof__release(map->values, map->capacity * sizeof *map->values);
}

/* The slot of `name`: either where it is or the empty slot where it belongs. Never full: the map
   is made with twice as many slots as keys it will hold. */
static size_t cprof__name_map_slot(const cprof__name_map *map, const char *name) {
    size_t slot = cprof__string_hash(name) & (map->capacity - 1);
    while (map->keys[slot] && strcmp(map->keys[slot], name) != 0) slot = (slot + 1) & (map->capacity - 1);
    return slot;
}

/* Recursion counted once: a node adds to its function's total only when no ancestor belongs to the
   same function (a recursive fib's inner calls are already inside the outermost one). */
static int cprof__has_ancestor_in(const cprof_profile *p, const uint32_t *function_of, uint32_t node) {
    for (uint32_t up = p->nodes[node].parent; up != CPROF_NONE; up = p->nodes[up].parent)
        if (function_of[up] == function_of[node]) return 1;
    return 0;
}

static int cprof__compare_functions(const void *a, const void *b) {
    const cprof_function *x = (const cprof_function *)a, *y = (const cprof_function *)b;
    if (x->self_ns != y->self_ns) return x->self_ns > y->self_ns ? -1 : 1;
    if (x->total_ns != y->total_ns) return x->total_ns > y->total_ns ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void cprof__derive_self_times(cprof_profile *p) {
    for (size_t i = 0; i < p->node_count; i++) {
        cprof_node *node = &p->nodes[i];
        uint64_t children_ns = 0;
        for (uint32_t c = node->first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling)
            children_ns += p->nodes[c].total_ns;
        if (node->site == CPROF_NONE) node->total_ns = children_ns; /* a thread's root: its scopes */
        node->self_ns = node->total_ns > children_ns ? node->total_ns - children_ns : 0;
    }
    p->run_ns = 0;
    for (size_t t = 0; t < p->thread_count; t++) {
        p->threads[t].total_ns = p->nodes[p->threads[t].root].total_ns;
        p->run_ns += p->threads[t].total_ns;
    }
}

/* Gives every node its function's index (CPROF_NONE for thread roots), creating the functions. */
static int cprof__assign_functions(cprof_profile *p, uint32_t *function_of) {
    cprof__name_map map;
    int failed = cprof__name_map_init(&map, p->site_count);
    for (size_t i = 0; i < p->node_count && !failed; i++) {
        const cprof_node *node = &p->nodes[i];
        function_of[i] = CPROF_NONE;
        if (node->site == CPROF_NONE) continue;
        const char *name = p->sites[node->site].name;
        size_t slot = cprof__name_map_slot(&map, name);
        if (!map.keys[slot]) {
            if (cprof__grow(&p->functions, &cprof__capacities(p)->functions, p->function_count + 1,
                            sizeof *p->functions)) {
                failed = 1;
                break;
            }
            cprof_function *fn = &p->functions[p->function_count];
            memset(fn, 0, sizeof *fn);
            fn->name = name;
            fn->site = node->site;
            fn->min_ns = UINT64_MAX;
            map.keys[slot] = name;
            map.values[slot] = (uint32_t)p->function_count++;
        }
        function_of[i] = map.values[slot];
    }
    cprof__name_map_free(&map);
    return failed ? -1 : 0;
}

static void cprof__accumulate_functions(cprof_profile *p, const uint32_t *function_of) {
    for (size_t i = 0; i < p->node_count; i++) {
        const cprof_node *node = &p->nodes[i];
        if (function_of[i] == CPROF_NONE) continue;
        cprof_function *fn = &p->functions[function_of[i]];
        fn->calls += node->calls;
        fn->self_ns += node->self_ns;
        if (!cprof__has_ancestor_in(p, function_of, (uint32_t)i)) fn->total_ns += node->total_ns;
        if (node->calls && node->min_ns < fn->min_ns && (node->min_ns || node->max_ns)) fn->min_ns = node->min_ns;
        if (node->max_ns > fn->max_ns) fn->max_ns = node->max_ns;
    }
    for (size_t f = 0; f < p->function_count; f++) {
        cprof_function *fn = &p->functions[f];
        if (fn->min_ns == UINT64_MAX) fn->min_ns = 0;
        fn->avg_ns = fn->calls ? fn->total_ns / fn->calls : 0;
        fn->pct_total = p->run_ns ? 100.0 * (double)fn->total_ns / (double)p->run_ns : 0.0;
        fn->pct_self = p->run_ns ? 100.0 * (double)fn->self_ns / (double)p->run_ns : 0.0;
    }
}

static int cprof__derive_functions(cprof_profile *p) {
    p->function_count = 0;
    size_t bytes = (p->node_count ? p->node_count : 1) * sizeof(uint32_t);
    uint32_t *function_of = (uint32_t *)cprof__alloc(bytes);
    if (!function_of || cprof__assign_functions(p, function_of)) {
        cprof__release(function_of, bytes);
        return -1;
    }
    cprof__accumulate_functions(p, function_of);
    cprof__release(function_of, bytes);
    if (p->function_count) qsort(p->functions, p->function_count, sizeof *p->functions, cprof__compare_functions);
    return 0;
}

static int cprof__profile_derive(cprof_profile *p) {
    cprof__derive_self_times(p);
    return cprof__derive_functions(p);
}

/* ==================================================================================================
   >>text: a growing buffer that every writer formats into, and the number formats they share
   ================================================================================================== */
typedef struct cprof__buf {
    char *data;
    size_t length, capacity;
    int failed; /* out of memory: the text is incomplete */
} cprof__buf;

static int cprof__buf_reserve(cprof__buf *b, size_t extra) {
    if (b->failed) return -1;
    if (b->length + extra + 1 <= b->capacity) return 0;
    if (cprof__grow(&b->data, &b->capacity, b->length + extra + 1, 1)) {
        b->failed = 1;
        return -1;
    }
    return 0;
}

static void cprof__buf_append(cprof__buf *b, const char *text, size_t length) {
    if (cprof__buf_reserve(b, length)) return;
    memcpy(b->data + b->length, text, length);
    b->length += length;
    b->data[b->length] = '\0';
}

static void cprof__buf_puts(cprof__buf *b, const char *text) { cprof__buf_append(b, text, strlen(text)); }

static void cprof__buf_printf(cprof__buf *b, const char *format, ...) {
    va_list args;
    va_start(args, format);
    char small[256];
    int length = cprof__vsnprintf(small, CPROF__FORMAT_SIZE(sizeof small), format, args);
    va_end(args);
    if (length < 0) return;
    if ((size_t)length < sizeof small) {
        cprof__buf_append(b, small, (size_t)length);
        return;
    }
    if (cprof__buf_reserve(b, (size_t)length)) return;
    va_start(args, format);
    cprof__vsnprintf(b->data + b->length, CPROF__FORMAT_SIZE((size_t)length + 1), format, args);
    va_end(args);
    b->length += (size_t)length;
}

static void cprof__buf_free(cprof__buf *b) {
    cprof__release(b->data, b->capacity);
    memset(b, 0, sizeof *b);
}

/* Characters, not bytes, so that "µs" pads like "ms". */
static size_t cprof__display_width(const char *text) {
    size_t width = 0;
    for (; *text; text++) width += ((unsigned char)*text & 0xC0u) != 0x80u;
    return width;
}

static void cprof__buf_pad_left(cprof__buf *b, const char *text, size_t width) {
    for (size_t w = cprof__display_width(text); w < width; w++) cprof__buf_append(b, " ", 1);
    cprof__buf_puts(b, text);
}

/* A duration in the unit that keeps three or four significant digits: 950 ns, 12.3 µs, 4.56 ms, 2.01 s. */
static const char *cprof__duration(char out[24], uint64_t ns) {
    double value = (double)ns;
    if (ns < 1000u) cprof__snprintf(out, 24, "%llu ns", (unsigned long long)ns);
    else if (ns < 1000000u) cprof__snprintf(out, 24, "%.1f µs", value / 1e3);
    else if (ns < 1000000000u) cprof__snprintf(out, 24, "%.2f ms", value / 1e6);
    else cprof__snprintf(out, 24, "%.3f s", value / 1e9);
    return out;
}

/* 1234567 -> "1,234,567" */
static const char *cprof__count(char out[32], uint64_t value) {
    char digits[24];
    int length = cprof__snprintf(digits, sizeof digits, "%llu", (unsigned long long)value);
    int o = 0;
    for (int i = 0; i < length; i++) {
        if (i > 0 && (length - i) % 3 == 0) out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

/* ==================================================================================================
   >>report: the text report (header, messages, functions by self time, call tree)
   ================================================================================================== */
cprof_report_options cprof_report_defaults(void) {
    cprof_report_options options;
    options.tree_min_pct = 0.5;
    options.max_functions = 0;
    return options;
}

static double cprof__share(uint64_t part, uint64_t whole) {
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void cprof__report_header(cprof__buf *b, const cprof_profile *p) {
    char wall[24], run[24];
    cprof__buf_printf(b, "cprof %s report: %s\n", CPROF_VERSION, p->program[0] ? p->program : "(unknown program)");
    cprof__buf_printf(b, "wall time %s, recorded %s, %u thread%s, timer %s", cprof__duration(wall, p->wall_ns),
                      cprof__duration(run, p->run_ns), (unsigned)p->thread_count, p->thread_count == 1 ? "" : "s",
                      p->timer);
    if (strcmp(p->timer, "clock_gettime") == 0) cprof__buf_puts(b, " (CLOCK_MONOTONIC, ns)\n");
    else cprof__buf_printf(b, " at %.4f GHz (calibrated against CLOCK_MONOTONIC)\n", p->timer_hz / 1e9);
    if (p->dropped_scopes)
        cprof__buf_printf(b, "%llu scope entries were not recorded (deeper than %d levels, or out of memory)\n",
                          (unsigned long long)p->dropped_scopes, CPROF__MAX_DEPTH);
}

static void cprof__report_messages(cprof__buf *b, const cprof_profile *p) {
    if (!p->message_count && !p->messages_dropped) return;
    cprof__buf_printf(b, "\nNotes from recording (%llu):\n",
                      (unsigned long long)(p->message_count + p->messages_dropped));
    for (size_t i = 0; i < p->message_count; i++) {
        const cprof_message *m = &p->messages[i];
        if (m->file[0]) cprof__buf_printf(b, "  %s:%u: %s\n", m->file, (unsigned)m->line, m->text);
        else cprof__buf_printf(b, "  %s\n", m->text);
    }
    if (p->messages_dropped)
        cprof__buf_printf(b, "  ... and %llu more not kept\n", (unsigned long long)p->messages_dropped);
}

static void cprof__report_functions(cprof__buf *b, const cprof_profile *p, const cprof_report_options *o) {
    size_t rows = p->function_count;
    if (o->max_functions && o->max_functions < rows) rows = o->max_functions;
    cprof__buf_puts(b, "\nFunctions, by self time\n");
    cprof__buf_puts(b, "         calls       total        self         avg         min         max   %total    %self  function\n");
    for (size_t i = 0; i < rows; i++) {
        const cprof_function *fn = &p->functions[i];
        const cprof_site_info *site = &p->sites[fn->site];
        char calls[32], t[24];
        cprof__buf_pad_left(b, cprof__count(calls, fn->calls), 14);
        uint64_t times[5] = {fn->total_ns, fn->self_ns, fn->avg_ns, fn->min_ns, fn->max_ns};
        int completed = fn->max_ns > 0; /* min and max exist only for calls that ended */
        for (int k = 0; k < 5; k++) cprof__buf_pad_left(b, k < 3 || completed ? cprof__duration(t, times[k]) : "-", 12);
        cprof__buf_printf(b, "  %6.1f%%  %6.1f%%  %s  (%s", fn->pct_total, fn->pct_self, fn->name, site->file);
        cprof__buf_printf(b, site->line ? ":%u)\n" : ")\n", (unsigned)site->line); /* line 0: an automatic scope */
    }
    if (rows < p->function_count)
        cprof__buf_printf(b, "  ... %llu more functions\n", (unsigned long long)(p->function_count - rows));
}

static void cprof__report_tree_node(cprof__buf *b, const cprof_profile *p, const cprof_node *node) {
    char calls[32], t[24];
    cprof__buf_printf(b, "  %6.1f%%", cprof__share(node->total_ns, p->run_ns));
    cprof__buf_pad_left(b, cprof__duration(t, node->total_ns), 12);
    cprof__buf_pad_left(b, cprof__duration(t, node->self_ns), 12);
    cprof__buf_pad_left(b, cprof__count(calls, node->calls), 14);
    cprof__buf_puts(b, "  ");
    for (uint32_t d = 1; d < node->depth; d++) cprof__buf_puts(b, "  ");
    cprof__buf_puts(b, p->sites[node->site].name);
    if (node->open) cprof__buf_puts(b, "  (still open)");
    cprof__buf_puts(b, "\n");
}

static void cprof__report_tree(cprof__buf *b, const cprof_profile *p, const cprof_report_options *o) {
    cprof__buf_puts(b, "\nCall tree (share of the run, inclusive)\n");
    cprof__buf_puts(b, "      %run       total        self         calls  scope\n");
    for (size_t t = 0; t < p->thread_count; t++) {
        const cprof_thread_info *thread = &p->threads[t];
        char total[24];
        cprof__buf_printf(b, "  thread %s (id %llu)%s: %s\n", thread->name, (unsigned long long)thread->id,
                          thread->exited ? ", exited" : "", cprof__duration(total, thread->total_ns));
        uint64_t hidden = 0;
        size_t end = thread->root + 1;
        while (end < p->node_count && p->nodes[end].depth > 0) end++;
        for (size_t i = thread->root + 1; i < end; i++) {
            const cprof_node *node = &p->nodes[i];
            if (cprof__share(node->total_ns, p->run_ns) < o->tree_min_pct) {
                size_t skip = i + 1; /* the whole subtree: later nodes deeper than this one */
                while (skip < end && p->nodes[skip].depth > node->depth) skip++;
                hidden += skip - i;
                i = skip - 1;
                continue;
            }
            cprof__report_tree_node(b, p, node);
        }
        if (hidden)
            cprof__buf_printf(b, "  (%llu nodes below %.2f%% of the run not shown)\n", (unsigned long long)hidden,
                              o->tree_min_pct);
    }
}

static void cprof__report_build(cprof__buf *b, const cprof_profile *p, const cprof_report_options *options) {
    cprof_report_options o = options ? *options : cprof_report_defaults();
    cprof__report_header(b, p);
    cprof__report_messages(b, p);
    if (!p->function_count) {
        cprof__buf_puts(b, "\nNo scopes were recorded.\n");
        return;
    }
    cprof__report_functions(b, p, &o);
    cprof__report_tree(b, p, &o);
}

int cprof_report_write(const cprof_profile *p, FILE *out, const cprof_report_options *options) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p || !out) return -1;
    cprof__report_build(&b, p, options);
    int failed = b.failed || fwrite(b.data, 1, b.length, out) != b.length;
    cprof__buf_free(&b);
    return failed ? -1 : 0;
}

size_t cprof_report_format(const cprof_profile *p, char *buffer, size_t size, const cprof_report_options *options) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p) return 0;
    cprof__report_build(&b, p, options);
    size_t length = b.length;
    if (buffer && size) {
        size_t copied = length < size - 1 ? length : size - 1;
        if (copied) memcpy(buffer, b.data, copied);
        buffer[copied] = '\0';
    }
    cprof__buf_free(&b);
    return length;
}

int cprof_report_print(FILE *out) {
    cprof_profile *p = cprof_capture();
    int result = p ? cprof_report_write(p, out, NULL) : -1;
    cprof_profile_free(p);
    return result;
}

/* ==================================================================================================
   >>output: CPROF_OUT files at exit, each written to a temporary name and renamed
   ================================================================================================== */
static int cprof__write_file_atomic(const char *path, const cprof__buf *content) {
    char temporary[4200];
    cprof__snprintf(temporary, sizeof temporary, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(temporary, "wb");
    int failed = !f || content->failed;
    if (f) {
        failed |= fwrite(content->data, 1, content->length, f) != content->length;
        failed |= fclose(f) != 0;
    }
    if (!failed && rename(temporary, path) == 0) return 0;
    fprintf(stderr, "cprof: cannot write %s: %s\n", path, strerror(errno));
    remove(temporary);
    return -1;
}

static void cprof__write_outputs_at_exit(void) {
    cprof_profile *p = cprof_capture();
    if (!p) {
        fprintf(stderr, "cprof: out of memory capturing the profile for CPROF_OUT\n");
        return;
    }
    char path[4200];
    cprof__buf report;
    memset(&report, 0, sizeof report);
    cprof__report_build(&report, p, NULL);
    cprof__snprintf(path, sizeof path, "%s.txt", cprof__g.out_prefix);
    cprof__write_file_atomic(path, &report);
    cprof__buf_free(&report);
    cprof_profile_free(p);
}

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif /* CPROF_IMPLEMENTATION */

/*
------------------------------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the cprof authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR
THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------------------------------
*/
