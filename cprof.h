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
       CPROF_STB_SPRINTF_PATH unset    impl   the stb_sprintf header to use, with quotes or brackets
                                              ("third_party/stb_sprintf.h"); unset: <stb/stb_sprintf.h>
                                              (Debian libstb-dev), else "stb_sprintf.h", where the compiler
                                              has __has_include; else cprof's own formatter. Optional: the
                                              output is the same bytes with or without it, in any locale
       CPROF_NO_STB_SPRINTF   off      impl   never use stb_sprintf: cprof's own formatter does everything
       CPROF_WRAP_MALLOC      off      each   track this file's malloc calloc realloc reallocarray free strdup
                                              strndup aligned_alloc posix_memalign (see ALLOCATIONS)
       CPROF_MAIN             off      impl   with CPROF_IMPLEMENTATION: also compile main() of the cprof tool
       CPROF_AUTO             off      impl   define the -finstrument-functions hooks: automatic
                                              instrumentation (see AUTOMATIC INSTRUMENTATION)
       CPROF_NO_MANUAL_SCOPES off      file   CPROF_SCOPE/BEGIN/END in this file expand to nothing while
                                              recording stays on: profile a manually instrumented
                                              program with automatic scopes only
       CPROF_RECORD_LIBRARY   off      impl   build the library cprof record preloads (make builds it): it
                                              defines pthread_create, so that every thread is sampled

   ENVIRONMENT (read once, when the program starts)
       CPROF=0            record nothing: scopes cost one branch, captures are empty, no CPROF_OUT files,
                          cprof_enable() does not override it (CPROF=1 records, as unset does)
       CPROF_TIMER=clock  time with clock_gettime(CLOCK_MONOTONIC) instead of the CPU's counter
       CPROF_COMPENSATE=0 show raw times. By default (1, empty, unset) each capture subtracts cprof's own
                          cost per scope call, calibrated at start-up (under a millisecond, on a private
                          recorder: a parent around 200 empty scopes, the medians of 21 rounds): `inside`
                          (between a scope's two timer reads) from its own total for each of its calls,
                          `inside + outside` (the rest of entry and exit) from every ancestor's total for
                          each call below it; clamped at 0 and at the children's totals. min/max lose a
                          call's average share, sum_sq_ns2 stays raw; raw_total_ns keeps each total as
                          recorded; profile->compensation says what was subtracted, the report adds a
                          line. Automatic scopes and counted calls (CPROF_AUTO_MIN_NS) have figures of their
                          own, calibrated the same way at the first hook call.
       CPROF_PREEMPTION=0 keep in the scopes' times the time their thread was preempted (ready to run while
                          another thread, of any program, had its CPU). By default (1, empty, unset) it is
                          left out, on Linux 4.17 and later: each recorded thread's context switches are
                          recorded by a perf event (one file descriptor and a 16 KiB ring of locked memory a
                          thread; no perf events: wall clock, and profile->preemption.error says why) and a
                          timed scope's exit moves its open frames' starts past each preemption; voluntary
                          waits (sleep, I/O, locks) stay in. profile->preemption says how much was left
                          out, the report adds a line.
       CPROF_OUT=prefix   at normal exit write prefix.txt (the text report, then the analysis), prefix.json (the profile),
                          prefix.folded (collapsed stacks) and prefix.svg (the flame graph): all four written to
                          temporaries, then renamed, so a failed write replaces none of them; a prefix of 4080
                          bytes or more writes nothing. Written by a destructor of priority 101, after atexit
                          handlers, C++ static objects and the program's destructors of no or higher priority
                          (blocks they free are not leaks). A fork() child that exits normally writes
                          prefix.PID.* (PID: the child's) with only the thread that forked: what it recorded
                          before the fork and in the child
       CPROF_DUMP_SIGNAL=USR1  with CPROF_OUT: each time the signal arrives ("1", USR1, USR2 or HUP), a snapshot
                          set prefix.snapshot-N.{txt,json,folded,svg} (N = 1, 2, ...); the program goes on
       CPROF_INTERVAL=60s with CPROF_OUT: a snapshot set every interval (ms, s, m, h; at least 10ms)
                          With CPROF_OUT set, SIGTERM and SIGINT write its set, then run the action the signal
                          had before (its handler, or the default: the process ends by the signal); an ignored
                          signal stays ignored. Handlers only count and write a byte to a pipe; a thread of
                          cprof's (all signals blocked, started only with CPROF_OUT) writes the files. A handler
                          the program installs later replaces cprof's; a fork() child's signals act as without
                          cprof (see >>dump)
       CPROF_SAMPLE=HZ    CPU sampling from program start, HZ samples per second of each thread's CPU time
                          (1 to 100000; see cprof_sample_start); CPROF_SAMPLE_SIGNAL=N: its signal (SIGPROF)
       CPROF_COUNTERS=a,b perf_event counters per scope (see COUNTERS); "default" (or "1") for the default set.
                          Wins over cprof_counters_enable().
       CPROF_BUDGET=name=100ms,...   time budgets per scope for the analyzer (units ns, us, ms, s); read by
                          cprof_analyze_defaults(), added to the profile's cprof_budget()s (the same name: this one wins)
       CPROF_ANALYZE=key=value,...   the analyzer's thresholds (keys: the fields of cprof_analyze_options, e.g.
                          slow_high_pct=15,hot_loop_calls=50000); read by cprof_analyze_defaults()
       CPROF_TIMELINE=N[,recent|,first]   record each thread's scope entries and exits and its frame marks
                          into a buffer of N events (1 to 67108864), made with the thread's recorder; "recent"
                          (default) keeps the most recent N (a flight recorder), "first" the first N; the rest
                          are counted (profile->events_dropped). See TIMELINE. Wins over cprof_timeline_enable()
       CPROF_DEBUG_DIR=dir   where a stripped library's debug file is looked for by its build ID
                          (dir/.build-id/xx/rest.debug; default /usr/lib/debug): names for automatic scopes
                          and samples in libraries stripped of .symtab
       CPROF_AUTO_EXCLUDE=regex   automatic scopes whose function name matches this POSIX extended
                          regular expression are not recorded (decided once per function); an invalid
                          expression excludes nothing and says so on stderr and in the report
       CPROF_AUTO_MIN_NS=ns   an automatic function whose first 1,000 timed calls averaged less (own cost
                          taken out) is counted, not timed, from then on: exact calls; one call in about 64
                          (a random gap) is still timed and its time is estimated from those; 0 times every
                          call; default 4x the calibrated cost of timing one call. A recursive function is
                          always timed; one stretched call (a time slice lost) counts at most 64x the
                          threshold or the function's average, times one plus the calls it made
       A value of CPROF, CPROF_TIMER, CPROF_OUT, CPROF_COMPENSATE, CPROF_PREEMPTION or CPROF_AUTO_MIN_NS that cprof does not understand or
       cannot use gets one line on stderr ("cprof: NAME=VALUE: ...") and is ignored; an empty value is
       as if unset.

   MACROS
       CPROF_FRAME()          one frame (a game loop's iteration, a request) ends and the next begins: counted
                              per thread; with the timeline on, a mark with the frame's number (see TIMELINE)
       CPROF_SCOPE()          time the rest of the enclosing block; named after the function
       CPROF_SCOPE("name")    the same with an explicit name (a string literal)
                              The scope ends on every way out of the block (return, break, continue, goto)
                              through the GCC/Clang cleanup attribute in C, an RAII object in C++.
       CPROF_BEGIN("name")    open a scope that CPROF_END() closes; for compilers without the cleanup
       CPROF_END()            attribute and for sections that cross blocks. An unbalanced END, a BEGIN
                              left open when its enclosing scope ends, or a scope open at capture is
                              recorded as a message with file:line; the tree stays consistent.
                              In a signal handler: a scope is recorded, unless the signal interrupted
                              cprof itself on that thread (inside a scope's entry or exit); then it is
                              counted (signal_scopes_dropped) and not recorded. errno is kept. The
                              thread's first scope (it allocates the thread's recorder) must not be
                              in a handler.

   FUNCTIONS (all thread-safe)
       cprof_profile *cprof_capture(void)
           Snapshot of everything recorded so far, all threads merged (exited threads included: the
           first 64 to exit by name, later ones merged at exit into one "exited threads (N merged)")
           into one immutable cprof_profile. Scopes still open are included with their time so far and
           listed as messages. Never NULL (an empty profile when recording is off). Free it with
           cprof_profile_free().
       cprof_profile *cprof_leak_check(void)
           cprof_capture() with the leak check (see ALLOCATIONS): each site's live blocks split into
           definitely lost, indirectly lost, possibly lost and still reachable (allocs.leak_checked = 1).
           CPROF_OUT's report at exit makes the same check. Call it while other threads are quiet.
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
       int  cprof_sample_start(unsigned hz), void cprof_sample_stop(void)
           CPU sampling (Linux, x86-64 and AArch64): every recorded thread (the caller at once, the others
           from their first scope) gets a timer on its own CPU clock that signals it hz times per CPU
           second (the kernel checks at its tick: a signal then counts the periods it stands for). The
           handler walks the frame pointers (64 frames, each read inside the thread's stack) and counts
           the stack with the open scope in the thread's table (2048 slots; a stack that finds none is
           counted in samples_dropped). A capture names the frames from the ELF symbol tables (module+
           0xoffset without a symbol) and hangs them under the scope as nodes with sampled = 1, calls 0,
           samples, total = samples x the period: the frames called from the scope's function (the
           whole stack under a thread's root; only the interrupted function when the scope's is not on
           the stack, as in code built without -fno-omit-frame-pointer). A sample in the scope's own
           function is its node's `samples`; one taken in cprof's own code (cprof_*, the hooks) is left
           out and counted in samples_profiler. 0, or -1 (not Linux x86-64/AArch64, CPROF=0, hz out of
           range, or the program has its own handler for the signal: a message says so; a handler the
           program installs later wins: the next capture or new thread deletes every timer and says so).
           fork(): the child's thread gets a new timer. A thread's timer stops at its exit; its samples
           stay (those of threads merged into "exited threads" move there). cprof_reset forgets the
           samples; cprof_sample_stop keeps what was taken. Under cprof record (CPROF_RECORD_LIBRARY)
           every thread started with pthread_create is sampled from its start.
       void cprof_thread_name(const char *name)
           Name the calling thread in reports (default: "main", then "thread-2", "thread-3"...).
           Longer than 63 bytes is truncated and a message says so.
       size_t cprof_memory_bytes(void)
           Memory the profiler itself holds now (recorders and nodes), in bytes.
       int  cprof_save(const cprof_profile *, const char *path)
           The profile as JSON (format 1.4, see PROFILE FILE), written to a temporary name and renamed.
           (CPROF_OUT writes its four files to temporaries first and renames them only when all are
           written; it removes temporaries "PREFIX.*.tmp.PID" left by a process that no longer exists.)
           0, or -1 with cprof_error() set.
       int  cprof_load(const char *path, cprof_profile **out)
       int  cprof_load_string(const char *text, size_t length, const char *name, cprof_profile **out)
           A saved profile back into the type cprof_capture() returns (derived figures computed again).
           0, or -1 with *out = NULL and cprof_error() = "FILE:LINE:COL: what is wrong".
       const char *cprof_error(void)       the calling thread's last save/load error.
       int  cprof_json_write(const cprof_profile *, FILE *)
       int  cprof_folded_write(const cprof_profile *, FILE *, const cprof_folded_options *)
           Collapsed stacks: "frame;frame;frame VALUE" per call path whose own value is not 0, sorted
           bytewise; ';' in names becomes ':', newlines spaces, other text as in TEXT OUTPUT (so the live
           prefix.folded and the folded stacks of its saved JSON are the same bytes). cprof_folded_defaults():
           thread_frames = 0 (threads merged; 1: each stack starts with a frame "[thread NAME]"), metric =
           NULL: VALUE is the path's self time in ns; "calls" its calls, "alloc-bytes" / "alloc-count" the
           bytes / allocations made in it, a counter's name its own events. -1 for a metric p does not have.
       int  cprof_pprof_write(const cprof_profile *, FILE *, int gzipped)
           pprof's profile.proto: sample types time/nanoseconds (the default), calls/count and where present
           alloc-count/count, alloc-bytes/bytes, COUNTER/count; a sample per call path (its own values), a
           function and location per site (name, file, line), labels thread and thread_id. gzipped = 1:
           inside gzip whose deflate blocks are stored, not compressed (pprof reads both forms).
       int  cprof_callgrind_write(const cprof_profile *, FILE *)
           callgrind's format (callgrind_annotate, KCachegrind): events time (ns), alloc_count, alloc_bytes
           and the counters; per call path its own costs, per callee calls=N and the callee's inclusive
           costs; threads merged.
       int  cprof_speedscope_write(const cprof_profile *, FILE *)
           speedscope's JSON file format: a "sampled" profile per thread and metric, weights in real units
           (nanoseconds, bytes, or none for calls, allocations and counter events).
       int  cprof_stats_write(const cprof_profile *, FILE *)
           TSV: function calls total_ns self_ns avg_ns min_ns max_ns pct_total pct_self file line
           (and EVENT_self per counter), one row per function; tabs and newlines in a field become spaces,
           other text as in TEXT OUTPUT.

   PROFILE FILE (JSON, format 1.4; every field documented in README.md)
       Counts and times are 64-bit integers; save -> load -> save gives the same bytes. Another major
       version is refused; unknown fields are ignored; a new minor version only adds optional fields
       (1.4: "preemption" {threads, preempted_ns, preemptions, lost, error}, when it was measured or failed;
       1.3: a benchmark's "group", only when it was timed in one (cprof_bench_group);
       1.2: "sampling" {hz, samples, dropped} and each sampled node's "sampled": 1 and "samples", a
       scope's "samples" when it has some; 1.1: "budgets", the program's cprof_budget()s, "signal_scopes_dropped", and "compensation"
       {inside_ns, outside_ns, scopes, subtracted_ns} with each node's "raw_total_ns", each written only
       when there is one; a loaded profile keeps its compensation as the file says and is never
       compensated again; without it raw_total_ns = total_ns; 1.2: "auto_min_ns", the compensation's
       figures for automatic and counted calls, each site's "auto" and each node's "counted_calls";
       "timeline" {capacity, policy, events_dropped, frame_marks, events: [[thread, kind, ref, time_ns],
       ...]}, only when one was recorded; the loader checks each event's thread, node and order; after a
       leak check "allocations"."leak_check" and each site's lost_/indirect_/possible_ figures, and a
       site's "threads" when several threads used it). Nodes are depth-first with each parent before its
       children.
       The loader refuses call trees deeper than 2048 levels, JSON nested deeper than 64,
       a member name twice in one object, files over 256 MiB and anything but a regular file.
       Strings: '"', '\' and control characters (C0, DEL, C1) escaped (\n, \u001b, \u009b), a
       byte that is not valid UTF-8 written as U+FFFD.

   TEXT OUTPUT (the report, analysis, leaks, diff, bench, stats, folded, cprof_error(), the tool's errors)
       Every string from a profile, an option or a file (names, files, the program, threads, counters,
       labels, messages) is shown so that a terminal only prints it: a C0 control character or DEL as
       \xNN (ESC = \x1b, newline = \x0a), a C1 control as \u00NN, a byte that is not valid UTF-8 as
       U+FFFD (as the JSON file stores it, so a live report and `cprof report` of its JSON are the same);
       a backslash stays as it is. Columns count the characters as shown.

   TOOL (make builds it: cc -DCPROF_IMPLEMENTATION -DCPROF_MAIN -x c cprof.h -o cprof -lpthread -lm)
       cprof report|stats|folded|pprof|callgrind|speedscope|flamegraph|trace|leaks|analyze|bench|diff|merge
       [OPTIONS] P.json..., cprof help [VERB], cprof --version; output on stdout (or -o FILE, written through a
       temporary), errors on stderr; exit 0 ok, 1 bad input, 2 bad usage. Options as --name=value or --name
       value; "--" ends them; "-" is stdin.
       cprof_profile *cprof_merge(const cprof_profile *const *profiles, size_t count, const cprof_merge_options *)
           One profile of several (runs, processes, hosts): per call path calls, times, allocations and
           counters summed (min/max: of all), threads of one name merged (threads_apart = 1: kept apart,
           "NAME (run K)"), counters by name, allocation sites by place and path, benchmarks by name and n
           (samples pooled); derived figures computed again. NULL on no or a NULL input, or without memory.
       int  cprof_flamegraph_write(const cprof_profile *, FILE *, const cprof_flamegraph_options *)
           The call tree as one self-contained SVG (inline style and script, nothing fetched): x = share
           of the metric, y = depth, the root ("all") at the bottom, one frame per thread when there are
           several, children by name, warm colours from a hash of the name. Open it in a browser: hover
           shows name, file:line, total, self, calls and % in a details line; click zooms (Reset Zoom
           undoes it); Search or Ctrl-F highlights a regular expression and shows "Matched: X%" (nested
           matches once; "ic" or Ctrl-I ignores case; Escape clears); the view is kept in the URL
           (file.svg?s=regex&i=1&x=..&y=..). Every string (names, files, the program, threads, the
           options' title and metric) is escaped for XML; each byte of a control character (C0, DEL,
           C1) or of invalid UTF-8 becomes U+FFFD. options NULL = defaults. 0 on success, -1 on a write
           error, an unknown metric, or a NULL profile or file.
       cprof_flamegraph_options cprof_flamegraph_defaults(void)
           metric = "time" (a frame's width is its subtree's time; "calls": the calls in its subtree;
           "alloc-bytes", "alloc-count": the allocations made in it, see ALLOCATIONS),
           inverted = 0 (1: an icicle, the root on top), min_width_pct = 0.1 (narrower frames are not
           drawn, their time stays in the parent, and the subtitle counts them), width = 1200 pixels,
           title = NULL ("Flame graph: " and the program's name).
       int cprof_counters_enable(const char *events)
           Choose perf_event counters ("cache-misses,instructions,..."; NULL, "" or "default" = the default set).
           Once per process: returns how many of the requested events can be counted, or -1 when counters
           were already chosen (CPROF_COUNTERS or an earlier call) or recording is off (CPROF=0).
       cprof_counter_value cprof_node_counter(const cprof_profile *, uint32_t node, uint32_t counter)
       cprof_counter_value cprof_function_counter(const cprof_profile *, uint32_t function, uint32_t counter)
           {total, self} of counter `counter` (an index into profile->counters) for a node or a function;
           {0, 0} when out of range.
       uint32_t cprof_counter_find(const cprof_profile *, const char *name)
           The index of a counter by name in profile->counters, or CPROF_NONE.

   COMPARISON (before and after; the tool's `cprof diff`)
       cprof_comparison *cprof_compare(const cprof_profile *before, const cprof_profile *after,
                                       const cprof_compare_options *)
       cprof_comparison *cprof_compare_runs(const cprof_profile *const *before, size_t before_count,
                                            const cprof_profile *const *after, size_t after_count, options)
           Per function (matched by name) and metric (self time, total time, calls, each counter's self value
           in ns or counts, allocations) the before and after value (several runs: the medians), change_pct
           (negative = better; INFINITY from 0), p_value and a verdict. A change counts (CPROF_REGRESSED /
           CPROF_IMPROVED) when it is beyond threshold_pct (default 5), at least min_share_pct (default 0.5) of
           the metric's whole (the wall time for times, else the sum over the functions), and, for measured
           metrics (times, counters): several runs a side, a test on the runs' values (the runs are the
           independent unit; the calls inside one run are not; a time's values are its shares of the runs'
           compensated time, or of the recorded, raw, time when a run's own cost was 60% or more of it:
           share_before / share_after, percent; a time is tested by the moderated t-test on the logarithms
           of its shares, see >>math, or by Welch's on the shares when one is 0; a counter by Welch's
           t-test) gives p < alpha (0.05) after the
           Benjamini-Hochberg adjustment for the number of tests (`tests`: the measured metrics of functions
           holding at least min_share_pct on a side; the others are untested, p NaN); one run a side, no test:
           a factor beyond single_run_threshold_pct either way (100 (larger / smaller - 1) >= it: 100 is 2x
           slower or faster; default 50; never when 0; cprof_noise_write suggests one), for a time only a self
           time, the factor of its share, in a function holding at least single_run_min_share_pct (10) on both
           sides (a total moves with any moment lost anywhere below it). A time
           counts only when its share moved beyond the threshold the same way (a machine-wide slowdown moves
           every time and no share). A function that automatic instrumentation counted in some runs and
           timed in others (`mixed_counted` of them) is compared inside its callers: its self time goes to
           the nearest caller that is not mixed; its own times are left out (0); with one run a side such a
           caller's self time does not count (it holds their own cost too). A counter counted on one
           side only is unchanged.
           Beyond the threshold but not counting: CPROF_WITHIN_NOISE; else CPROF_UNCHANGED (also below the
           floor). Calls and allocations are exact counts: no test. Functions in one side only are CPROF_NEW /
           CPROF_REMOVED, with verdict CPROF_UNCHANGED. speedup = before wall time / after wall time. NULL on a
           NULL or missing profile, or without memory. options NULL = defaults.
       void cprof_comparison_free(cprof_comparison *)            NULL is allowed.
       cprof_compare_options cprof_compare_defaults(void)
           threshold_pct 5, alpha 0.05, min_share_pct 0.5, single_run_threshold_pct 50, single_run_min_share_pct
           10, bench_single_run_threshold_pct 0, bench_group_single_run_threshold_pct 50, labels NULL.
       int cprof_noise_write(const cprof_profile *const *runs, size_t count, FILE *, const cprof_compare_options *,
                             size_t shown)
           Several runs of one build (`cprof diff --noise`): every two compared as one run a side; the `shown`
           heaviest functions with their share and the largest factor of their self time's share of the run
           (100 (larger / smaller - 1)) that the floor lets count, the largest of a self time's share in
           functions holding single_run_min_share_pct on both sides, and a single_run_threshold_pct above
           it (x 1.25, rounded up to a multiple of 10). 0, or -1 (fewer than 2 runs, a NULL one, no memory, a write error).
       const cprof_change *cprof_comparison_find(const cprof_comparison *, const char *function, const char *metric)
           The change of one function in one metric ("self time", "total time", "calls", a counter), or NULL.
       int cprof_comparison_failed(const cprof_comparison *, int fail_on)
           1 when a change of the kind CPROF_FAIL_TIME / _ALLOC / _ANY (every metric but calls) regressed.
       int cprof_comparison_write(const cprof_comparison *, FILE *); size_t cprof_comparison_format(c, buffer, size)
           The text report: wall times and speedup, improvements then an "!!" block of regressions (self time
           first, then total time, then the rest, each by impact: the change as a share of the run, so time
           saved or lost, not percent), new and removed functions, and the changes "~ within noise".
       int cprof_diff_flamegraph_write(const cprof_profile *before, const cprof_profile *after, FILE *,
                                       const cprof_flamegraph_options *, int before_widths)
           The flame graph of after (before_widths: of before), each frame coloured by the change of its self
           time against the frame with the same call path in the other profile: from a neutral grey
           (unchanged) towards red (slower) or blue (faster) by the change / the largest change of a frame,
           purple new (brown removed, with before_widths); every fill at least 3:1 against the background,
           a dark border, each label black or white (at least 4.5:1), a legend under the title; the tooltip
           adds self before, after and the change. 0, or -1 as the flame graph.
       cprof_profile *cprof_snapshot(const char *name)
           cprof_capture(), then cprof_reset(): compare implementation A with B in one run. profile->snapshot
           holds the name (the comparison's label; not saved in the JSON file).
       cprof_findings *cprof_analyze(const cprof_profile *, const cprof_analyze_options *)
           The problems in a profile (live or loaded), ranked: severity (Critical, High, Medium, Low), then the
           Amdahl bound 1 / (1 - p) of the share p of the run that fixing one could remove (p of base_ns: the wall
           time when the scopes recorded less, else the recorded time). Each finding has its
           category, function, file:line, the function's figures, the rule's measure and threshold, a
           description with the numbers and a recommendation; findings->bottleneck names the largest self time
           and the heaviest path from the root to it; not_checked[category] says why a rule could not run (no
           counters, no allocation data); notes lists settings or budgets that could not be read. options NULL
           = cprof_analyze_defaults(). NULL when out of memory or the profile is NULL. The findings own their
           strings; free them with cprof_findings_free() (NULL allowed).
       cprof_analyze_options cprof_analyze_defaults(void)
           slow_critical_pct 50, slow_high_pct 20, slow_medium_pct 10, hot_loop_calls 100000, hot_loop_avg_ns
           1000, hot_loop_pct 2, deep_stack_depth 100, cache_miss_pct 20, cache_mpki 10, cache_min_pct 5,
           frequent_alloc_count 10000, frequent_alloc_max_bytes 1024, excessive_alloc_pct 25,
           excessive_alloc_bytes 1 MiB, large_alloc_bytes 16 MiB, temporary_alloc_count 1000,
           temporary_alloc_pct 50, leak_high_bytes 1 MiB, min_judged_avg_ns 180, min_judged_calls 1000,
           spike_factor 5, spike_min_ns 1 ms, spike_min_calls 20, fragmentation_free_pct 25,
           fragmentation_slack_pct 25, fragmentation_min_bytes 1 MiB;
           settings = getenv("CPROF_ANALYZE") and budgets = getenv("CPROF_BUDGET"), both applied by
           cprof_analyze over the fields (set them NULL to use the fields as they are).
       int cprof_analysis_write(const cprof_findings *, FILE *)   the text: "Performance Analysis: bottleneck
           ...", then "Issues Found: N" and the findings grouped by severity (3 or more with the same advice as
           one entry), or "No issues found"; then the functions too short to judge, what was not checked.
           0 on success, -1 on a write error.
       size_t cprof_analysis_format(const cprof_findings *, char *buffer, size_t size)   the same into a buffer
           (snprintf's contract).
       int cprof_analysis_json_write(const cprof_findings *, FILE *)   the same as JSON (an infinite bound is null).
       int cprof_budget(const char *name, uint64_t budget_ns)
           A time budget per call for the scope `name` (e.g. 100 * CPROF_MS; CPROF_NS, CPROF_US, CPROF_MS,
           CPROF_SEC are ns multipliers); 0 removes it. 0 on success, -1 for an empty or too long (127 bytes)
           name, a full table (256), or removing a budget that does not exist. The budgets are part of
           each later capture (profile->budgets, saved in the file), and so of its analysis: cprof_analyze
           depends on the profile and its options only.
       const char *cprof_category_name(int), *cprof_severity_name(int)   "SlowFunction"..., "Critical"...

   ANALYZER RULES (thresholds: the fields of cprof_analyze_options; the README has the details)
       SlowFunction    self time > slow_critical_pct of the run: Critical, > slow_high_pct High, > slow_medium_pct Medium
                       (SlowFunction and HotLoop skip a function averaging < min_judged_avg_ns over >= min_judged_calls
                       calls: too short to judge by its scopes; counted in findings->too_short)
       HotLoop         calls >= hot_loop_calls, average <= hot_loop_avg_ns, total >= hot_loop_pct of the run; names
                       the caller that calls it most; High above slow_high_pct of the run, Medium above
                       slow_medium_pct, else Low
       DeepCallStack   a call path >= deep_stack_depth scopes deep; names the function repeated most on it; High
                       at 4x the depth or when scopes were dropped past the recorder's limit, else Medium
       CacheMisses     self time >= cache_min_pct and cache-misses/cache-references >= cache_miss_pct or misses per
                       1,000 instructions >= cache_mpki; High at twice a threshold and self > slow_high_pct, else
                       Medium. Needs the counters; not checked (and said so) without them
       BudgetExceeded  slowest call > 2x the budget: Critical; average > budget: High; slowest > budget: Medium
       FrequentAllocation  >= frequent_alloc_count allocations at one site of <= frequent_alloc_max_bytes on
                       average; High at 100x the count, Medium at 10x, else Low
       ExcessiveAllocation  a site allocating > excessive_alloc_pct of all bytes and >= excessive_alloc_bytes; High
                       over twice the share and 16x the bytes, else Medium
       LargeAllocation a single allocation >= large_alloc_bytes at a site (its largest); High at 16x, else Medium
       TemporaryAllocations  >= temporary_alloc_count blocks freed before the thread's next allocation, and
                       >= temporary_alloc_pct of the site's; Medium at 100x the count, else Low
       Leak            blocks of a site definitely or indirectly lost (leak check; without it: still allocated
                       at capture); High from leak_high_bytes, Medium from 1/16 of it, else Low; only
                       possibly lost: Low; still reachable: no finding
       Fragmentation   the C library's heap (near the peak or at capture) holding >= fragmentation_free_pct of
                       its arenas free between blocks in use (free minus the releasable top), with >=
                       fragmentation_min_bytes both free so and in use: Medium, High at twice the share and
                       16x the bytes; or a site whose slack >= fragmentation_slack_pct of its bytes and >=
                       fragmentation_min_bytes: Low, Medium at 4x the share. Not checked without figures
       Spike           a scope's slowest call >= spike_factor (5) x its typical call and >= spike_min_ns (1 ms)
                       longer, in a scope of >= spike_min_calls (20) calls; typical = the median call in the
                       timeline (then the moment, thread, frame and what else ran are named), else the
                       average (Low: no moment). High at 4x the factor, else Medium. A scope whose spike a
                       child's explains (half its excess or more) is left to the child. finding->at_ns,
                       ->thread, ->frame
                       The allocation rules need CPROF_WRAP_MALLOC; not checked (and said so) without it. Their
                       bound is the own time of the scope the site is in; a leak's is 1 (memory, not time).

   TIMELINE (when it happened, not only how much: CPROF_TIMELINE=N or cprof_timeline_enable)
       int cprof_timeline_enable(uint32_t events_per_thread, int policy)
           policy CPROF_TIMELINE_RECENT (a ring: the oldest event is overwritten) or CPROF_TIMELINE_FIRST (the
           first N kept, the rest counted). Once per process: 0, or -1 when already chosen (CPROF_TIMELINE or an
           earlier call), CPROF=0, N out of 1..67108864 or an unknown policy. Threads that exist get a buffer now,
           new ones with their recorder. Memory: exactly 24 + N x 16 bytes per thread (64-bit; 24 + N x 12 on
           32-bit x86), fixed when made, however many events come. An event: the timer's ticks (absolute) and one
           word, the node's address with the kind in its two low bits (a frame mark: its number << 2).
           Cost: off, one predictable branch per entry and exit; on, per event two stores and the count, one
           more predictable branch (the slot is in the buffer) and no timer read of its own (bench/timeline_overhead).
           A thread merged at its exit into "exited threads" (past the first 64) loses its events; cprof_reset()
           clears them. The capture copies each buffer (in a ring being written, the slots that could be
           overwritten meanwhile are left out) into profile->events (cprof_event: time_ns since the start,
           thread, kind CPROF_EVENT_ENTER / _EXIT / _FRAME, ref = node index or frame number), by thread,
           then time. profile->frames (derived): on the thread with the most marks in the timeline, frame N
           lasts from mark N to mark N + 1: count, median_ns, p90_ns, p99_ns (quantiles interpolated between
           order statistics), max_ns, the 5 slowest frames' numbers and times; marks counts every CPROF_FRAME().
           The report adds a timeline line and the frame statistics; the analyzer's Spike uses the events.
       int cprof_trace_write(const cprof_profile *, FILE *)
           The timeline as Chrome trace events (JSON Object Format; Perfetto UI, chrome://tracing): metadata
           (process_name, thread_name), a complete event "X" per call (ts, dur in microseconds with 3 decimals,
           args file, line, frame; a call whose entry the ring lost begins at the thread's first event with
           args.began_before_timeline, one still running ends at the capture with args.open_at_capture), an
           instant event per frame mark, and each frame as a complete event on a track of its own ("frames of
           THREAD"), so that frame boundaries do not break the scopes' nesting. 0, or -1 on a write error.

   BENCHMARKS (micro-benchmarks with statistics; results travel in the profile)
       int cprof_bench_run(const char *name, cprof_bench_function body, void *user, const cprof_bench_options *)
       int cprof_bench_sweep(const char *name, body, void *user, const uint64_t *n, size_t n_count, options)
           Measure `body` (void body(cprof_bench *b): ONE iteration; b->n is the parameter, b->user the
           pointer given; it may set b->items and b->bytes, processed per iteration, for the throughput).
           The sweep runs it at each n in the order given. Warm-up: the body runs untimed, the batch
           doubling until one batch lasts min_time_s / target_samples and warmup_s has passed; then batches
           are timed (one pair of timer reads per batch) until min_time_s is filled and min_samples taken.
           Each batch gives one sample: its time per iteration. The result is kept in the process (names
           "task/implementation": implementations of one task are compared together) until cprof_capture()
           copies it into profile->benchmarks. 0, or -1 on a NULL name or body, or without memory.
       int cprof_bench_group(const cprof_bench_entry *entries, size_t count, const cprof_bench_options *)
           Benchmarks timed in turn: entries[i] = {name, body, user, n}. Each is warmed up and its batch
           sized as by cprof_bench_run, in the order given; then rounds: one batch of each, in a shuffled
           order (a fixed sequence per program), until every one has min_time_s and min_samples; every
           member takes part in every round, so samples_ns[i] of each is round i. The members see the same
           moments of the machine, which a comparison uses (cprof_bench_compare_runs_write). The results
           are kept as cprof_bench_run's, in the order given, with `group` = the group's number (from 1 in
           the process; cprof_bench_clear starts again). 0, or -1 on NULL entries, a count of 0, a NULL
           name or body, or without memory.
       cprof_bench_options cprof_bench_defaults(void)
           min_time_s 0.5, warmup_s 0.05, min_samples 10, target_samples 50. A slow body still takes
           min_samples samples (10 x 1 s = 10 s).
       void cprof_bench_clear(void)                        forget the benchmarks run so far.
       cprof_bench_stats cprof_bench_statistics(const double *samples_ns, size_t count)
           Pure: count, mean, median (the mean of the middle two for an even count), min, max, stddev (n - 1),
           MAD (median of |x - median|, unscaled), quartiles (linear interpolation) and the outliers beyond
           Tukey's fences (below Q1 - 1.5 IQR, above Q3 + 1.5 IQR). All zero for no samples.
       double cprof_bench_growth(const double *n, const double *time_ns, size_t count)
           Pure: k of time = c n^k, the least-squares slope of log time over log n (0 without two distinct n).
       int cprof_bench_write(const cprof_profile *, FILE *); int cprof_bench_print(FILE *)
           The benchmarks' table (median, mean, min, max, stddev, MAD, outliers, samples x batch,
           throughput at the median); per task and n with several implementations, a comparison fastest
           first ("1.95x slower"); per benchmark run at several n, its time per n and the fitted growth
           ("n^1.02 (O(n))": the O() shown when within 0.15 of 0, 1, 2 or 3). print = capture, write, free.
       int cprof_bench_compare_write(const cprof_profile *before, const cprof_profile *after, FILE *,
                                     const cprof_compare_options *)
       int cprof_bench_compare_runs_write(before[], before_count, after[], after_count, FILE *, options)
           Benchmarks matched by name and n: the change of the median (several runs: the median of the
           runs' medians); REGRESSED or improved when beyond threshold_pct and, several runs a side, Welch's
           t-test on the runs' medians gives p < alpha after Benjamini-Hochberg over the benchmarks, one run a
           side (its samples are not independent: no test), a factor beyond bench_single_run_threshold_pct
           (default 0: never; same-build medians moved 1.8x on the loaded machine). A benchmark timed in a
           group in every run of both sides, with others of its group in every run, is judged relative to
           them ("vs its group of N"): per run and other member, the median over the rounds of log(its time
           / the other's); each other's values measured from their median over the before runs; the run's
           value the middle one over the others (for an even count the one nearer 0), so that a change of
           one member moves no other; the change exp(median after - median before) - 1, Welch's test on the runs'
           values, one run a side a factor beyond bench_group_single_run_threshold_pct (default 50);
           "within noise" when only beyond threshold_pct; new and removed ones listed (the options of cprof
           diff; NULL = defaults; min_share_pct does not apply). Returns how many regressed, -1 on an error. `cprof diff`
           prints this after the functions when the profiles hold benchmarks, and exits 1 on a regression
           (with --fail-on=time or any); `cprof bench P.json` prints cprof_bench_write.

   COUNTERS (Linux perf_event_open; see the README for what each costs and means)
       Events: cycles instructions cache-references cache-misses branches branch-misses L1d-loads L1d-misses
       LLC-loads LLC-misses dTLB-misses (hardware); page-faults minor-faults major-faults task-clock (ns)
       context-switches cpu-migrations (software). Default: cycles,instructions,cache-references,cache-misses,
       branch-misses,page-faults. Each event is tried once when chosen; each thread opens one event group
       on its first scope, user space only (context-switches and cpu-migrations happen in the kernel and
       are counted there, which needs perf_event_paranoid <= 1). Every node gets each counter inclusive
       and self, exactly like time. An event that cannot be counted is listed with its reason
       (profile->counters[k].reason) and costs nothing; when none can, scopes cost what they cost without.
       Multiplexed counters are scaled by time enabled / time running and marked as estimates. Read with
       rdpmc when the kernel allows it for every event of the group, else with one read() per scope end
       and start (about 1.5 µs each in a virtual machine).

   ALLOCATIONS (CPROF_WRAP_MALLOC, defined before the include in each file whose allocations to track)
       The functions above become function-like macros passing file, line and __func__ to cprof__malloc and
       friends; the scope current on the calling thread is recorded too. They are defined at the very end of
       cprof.h, after <stdlib.h> and <string.h>, so include other system headers (<malloc.h>, C++ <cstdlib>)
       before cprof.h. Any NAME( is rewritten, also a member call obj->free(p), which then does not
       compile: write (obj->free)(p). (free)(p) and (malloc)(n) call the C library untracked; so does code in
       other files and libraries. Blocks are the C library's own (no header: alignment and
       malloc_usable_size unchanged); the thread that allocated a block keeps its size and site, the newest
       in a cache only it writes (a free on the same thread takes no lock), older ones in a table behind
       the thread's lock; their memory counts as the profiler's (cprof_memory_bytes).
       Recorded: per allocation site (file:line, function, call path; summed over the threads, each
       thread's share in alloc_site_threads; the peak of a merged row is the sum of the threads') count, bytes,
       live count and bytes at capture (lost or still reachable: the leak check), peak live bytes, temporaries (freed before the thread
       allocated anything else: heaptrack's definition); per node alloc_self_count/bytes and inclusive
       alloc_count/bytes; totals, the peak of live bytes with the scope current then (exact with one thread
       allocating, else within 64 KB per other thread), a power-of-two size histogram. A free of a block
       the tracker never saw (getline's buffer, a library's block) is passed on and counted per site. Each
       thread remembers its last 8 frees (finished threads' last 64 in all). Blocks up to 1 KB are held:
       handed back to the C library only when forgotten, so that meanwhile nobody can receive their
       address, and a second free of one is certainly a double free: counted (CPROF_FREE_DOUBLE) with
       both sites, a message, and NOT passed on (the only free or realloc the tracker withholds).
       A larger block goes back at once, so its address may have been handed out again, maybe to
       untracked code: a free of a remembered one is passed on and counted as a possible double free
       (CPROF_FREE_POSSIBLE_DOUBLE, a message once per site). Not recognised: a double free of a block
       no longer remembered, or of a block that untracked code freed first.
       calloc and reallocarray check count * size for overflow (NULL, ENOMEM, nothing recorded); strndup
       records min(strnlen, n) + 1; aligned_alloc and posix_memalign call the C library's own (the same
       answer to an alignment of 0 or not a power of two) and record only on success; a failed realloc keeps the
       old block; realloc(p, 0) does what the C library does (glibc: frees p, returns NULL). Tracking works after fork() in the child (the
       blocks of the parent's other threads are unknown blocks there) and after the exit report (later
       destructors: a library's, or another of priority 101). CPROF=0 turns it off (calls go straight to the C library); cprof_disable()
       does not; cprof_reset() does not clear it.
       CPROF_TRACK_ALLOCS("name") { ... }   runs the block once, then prints to stderr what the calling
                              thread allocated and freed in it (tracked files only). Leave it only by its end
                              (not return, break or goto).
       CPROF_TRACK_ALLOCS_INTO(cprof_alloc_counts *out) { ... }   the same, stored in *out.
       cprof_alloc_counts cprof_thread_allocs(void)   allocations, bytes, frees, freed_bytes of the calling
                              thread so far.
       int cprof_leaks_write(const cprof_profile *, FILE *)   blocks live at capture by site, lost first.
       Leak check (cprof_leak_check(), and CPROF_OUT at exit), as valgrind memcheck's: the roots (writable
       segments of the executable and libraries, the calling thread's TLS; on request also its stack from
       the caller up and its callee-saved registers) are scanned for aligned words pointing at a live block's
       start (reachable) or inside it (possibly), then the blocks reached, transitively; of the blocks not
       reached, the first of each group is definitely lost, what it reaches indirectly lost. Not scanned:
       other threads' stacks, mmap'd memory, untracked blocks (a block pointed to only from one shows as
       lost); hidden pointers (tagged, XORed) are not seen. Per site lost_count/bytes, indirect_..., possible_...;
       still reachable is the rest of live_count/bytes (allocs.reachable_blocks/bytes).
       Profile: allocs (cprof_alloc_totals), alloc_sites (sorted by bytes), free_problems (kind
       CPROF_FREE_UNKNOWN, CPROF_FREE_DOUBLE or CPROF_FREE_POSSIBLE_DOUBLE, origin = the allocation
       site); flame graph metrics
       "alloc-bytes" and "alloc-count".
       Memory over time (format 1.2): memory_points, a series of the live heap taken as the program runs
       (each point: time_ns, live_bytes, and the largest CPROF_MEMORY_POINT_SITES sites' shares in
       memory_shares), the capture's own point last. A point is taken when the shared live total has moved
       by a step since the last one (checked when a thread publishes its changes, every 64 KB of them) or
       a time step has passed (checked every 4,096 allocations of a thread); when the series holds 256
       points, neighbours merge (the larger total of each pair stays) and both steps double (first: 64 KB,
       1 ms): bounded whatever the run's length. The peak is exact: allocs.peak_ns is when it was reached,
       each site's at_peak_count/at_peak_bytes what it held then (exact when every block is freed by the
       thread that allocated it). Slack: each site's slack_bytes, the usable size beyond the requests
       (malloc_usable_size; _msize on Windows; allocs.usable_known). The C library's view (glibc 2.33+'s
       mallinfo2): allocs.heap_at_peak (read at a new highest point of the series, an eighth above the
       last reading: within an eighth of the peak) and
       heap_at_capture, each arena, mmap'd, in use, free and releasable bytes (measured 0 elsewhere, and
       under ASan or valgrind, whose allocators are not glibc's).
       int cprof_memory_chart_write(const cprof_profile *, FILE *)   the series as one self-contained SVG
       (what `cprof memory` writes): the largest sites stacked (and "other"), the peak marked with its
       bytes and time, axes with units, hover for a point's figures. -1 without a series or on a write error.

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

   CONTENTS (grep for the tag; a section calls only sections above it, but for one function declared
   ahead: cprof__recorder_get, which >>allocs needs from >>scopes)
       >>declarations   the public API
       the implementation (CPROF_IMPLEMENTATION):
       >>platform       detection, system headers and what feature macros hide, atomics, stb_sprintf,
                        the profiler's own memory, the OS's services (POSIX, or Win32 on Windows: clocks,
                        a mutex, thread exit)
       >>format         cprof's own printf: no locale, doubles exact (all of it without stb_sprintf)
       >>base           growing arrays, hashing, the name map, the text buffer, number formats, UTF-8,
                        C-locale numbers, error text, whole files
       >>math           quantiles, Welch's t-test, the moderated t-test, the Benjamini-Hochberg adjustment
       recording:       >>timer  >>recorder  >>counters  >>preemption  >>allocs  >>scopes  >>auto  >>sample
       the profile:     >>profile (storage)  >>bench (benchmarks run into a profile of their own)
                        >>derive (figures computed once)  >>capture (live -> profile)
       writers:         >>report  >>json  >>folded  >>stats  >>export (pprof, callgrind, speedscope)
                        >>trace  >>flamegraph  >>memchart (the memory over time SVG)  >>bench-report
       reading:         >>reader (JSON -> profile)
       on profiles:     >>compare  >>merge  >>analyzer
       at exit, tool:   >>output  >>dump (signals, intervals)  >>testing (CPROF_TESTING)  >>tool (CPROF_MAIN)
       after it:        >>wrap (CPROF_WRAP_MALLOC's macros)
*/
#ifndef CPROF_H
#define CPROF_H

/* ==================================================================================================
   >>declarations: the public API
   ================================================================================================== */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#if defined(CPROF_WRAP_MALLOC) && !defined(CPROF_DISABLE)
/* Everything that declares the wrapped functions comes before the macros (defined at the end of this file). */
#include <stdlib.h>
#include <string.h>
#endif

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
    uint32_t automatic; /* 1: a function the compiler instruments (CPROF_AUTO); its line is 0 */
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
    uint32_t function;     /* derived: index into functions; CPROF_NONE for a thread's root */
    uint32_t nested;       /* derived: 1 when an ancestor is the same function (recursion, counted once) */
    uint32_t sampled;      /* 1: a function seen by CPU sampling (calls 0), not a scope (format 1.2) */
    uint64_t calls;
    uint64_t total_ns; /* inclusive */
    uint64_t self_ns;  /* total minus the children's totals */
    uint64_t min_ns;   /* shortest completed call (0 when none completed) */
    uint64_t max_ns;
    double sum_sq_ns2; /* sum of squared durations of completed calls: per-call spread */
    uint64_t alloc_count, alloc_bytes;           /* >>allocs: allocations made in this subtree (inclusive) */
    uint64_t alloc_self_count, alloc_self_bytes; /* >>allocs: made while this node was the current scope */
    uint64_t raw_total_ns; /* total_ns as recorded, before own-cost compensation (equal when none applied) */
    uint64_t counted_calls; /* of calls, those counted and not timed (CPROF_AUTO_MIN_NS): when not 0, the node's
                               time is its timed calls' scaled to all its calls (one in about 64 is
                               timed), or its children's when none was (format 1.2) */
    uint64_t samples;      /* sampled: samples taken in this function or below it (total_ns = samples x period);
                              a scope: samples taken in its own function while it was the innermost scope */
} cprof_node;

typedef struct cprof_function { /* all nodes with the same name merged */
    const char *name;
    uint32_t site;     /* the first site with this name, for file:line */
    uint32_t sampled;  /* 1: seen only by CPU sampling (its calls are not counted, see SAMPLING) */
    uint64_t calls;
    uint64_t total_ns; /* recursion counted once: nodes under a node of the same name are skipped */
    uint64_t self_ns;
    uint64_t avg_ns;   /* total_ns / calls */
    uint64_t min_ns;
    uint64_t max_ns;
    double pct_total;  /* of the run (see PERCENTAGES) */
    double pct_self;
    uint64_t counted_calls; /* counted, not timed (CPROF_AUTO_MIN_NS): its time estimated from its timed calls */
    uint64_t samples;       /* CPU samples taken in its own code: its scopes' own and its sampled frames' self */
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

/* One requested perf_event counter (see COUNTERS in the doc block). */
typedef struct cprof_counter_info {
    const char *name;     /* as requested: "cache-misses", "page-faults", ... */
    uint32_t available;   /* 1: counted; 0: unavailable, see reason */
    uint32_t reserved;
    const char *reason;   /* why it is unavailable; "" when available */
    double running_ratio; /* time running / time enabled: 1 exact; below 1 the kernel multiplexed the counters and
                             the values are estimates, scaled by its inverse; 0 when unavailable */
    uint64_t total;       /* the whole run: the sum over the threads' roots */
} cprof_counter_info;

typedef struct cprof_counter_value { /* one counter of one node or function */
    uint64_t total;                  /* inclusive (per function: recursion counted once) */
    uint64_t self;                   /* total minus the children's totals */
} cprof_counter_value;

/* >>allocs (CPROF_WRAP_MALLOC): one allocation site, or one place where frees went wrong. An allocation
   site is one file:line and function under one call path (the scopes from the thread's root down),
   summed over the threads that used it (node: the first thread's node of that path; each thread's share
   in alloc_site_threads); the same file:line under two call paths is two sites. Free problems are per
   thread. */
enum { CPROF_ALLOC_SITE = 0, CPROF_FREE_UNKNOWN = 1, CPROF_FREE_DOUBLE = 2, CPROF_FREE_POSSIBLE_DOUBLE = 3 };
typedef struct cprof_alloc_site {
    const char *file;
    const char *function;
    uint32_t line;
    uint32_t kind;    /* CPROF_ALLOC_SITE; in free_problems CPROF_FREE_UNKNOWN, _DOUBLE or _POSSIBLE_DOUBLE */
    uint32_t node;    /* the scope current on the thread (index into nodes: the scope path) */
    uint32_t origin;  /* a (possible) double free: the block's allocation site (index into alloc_sites); else CPROF_NONE */
    uint64_t count;   /* allocations (a free problem: how many times it happened) */
    uint64_t bytes;   /* bytes allocated (a (possible) double free: the bytes of the blocks) */
    uint64_t live_count, live_bytes; /* still allocated at capture (lost or still reachable) */
    uint64_t peak_live_bytes;        /* the most this site had allocated at once */
    uint64_t temporary; /* blocks freed before the thread made any other allocation (heaptrack's definition) */
    uint64_t max_bytes; /* the largest single allocation at this site */
    /* The leak check (cprof_leak_check(), CPROF_OUT at exit): how the live blocks were reached. The rest
       of live_count / live_bytes is still reachable (in use, not a leak). All 0 when not checked. */
    uint64_t lost_count, lost_bytes;         /* definitely lost: no pointer to the block anywhere scanned */
    uint64_t indirect_count, indirect_bytes; /* indirectly lost: pointed to only from lost blocks */
    uint64_t possible_count, possible_bytes; /* possibly lost: reached only through pointers into its middle */
    /* Memory over time (format 1.2): what the site held when the whole heap peaked (allocs.peak_ns); exact
       when each block is freed by the thread that allocated it. */
    uint64_t at_peak_count, at_peak_bytes;
    /* The allocator's overhead (format 1.2): the usable size beyond the request, summed over the site's
       allocations (malloc_usable_size; 0 where the platform has none, see allocs.usable_known). */
    uint64_t slack_bytes;
} cprof_alloc_site;

/* One thread's share of an allocation site that several threads used (profile->alloc_site_threads):
   the site's row sums them. Sites used by one thread have none. */
typedef struct cprof_alloc_site_thread {
    uint32_t site;   /* index into alloc_sites */
    uint32_t thread; /* index into threads */
    uint32_t node;   /* that thread's node of the site's call path */
    uint32_t reserved;
    uint64_t count, bytes, live_count, live_bytes, peak_live_bytes;
} cprof_alloc_site_thread;

/* The C library's view of its heap (glibc's mallinfo2, format 1.2); all 0 when it was not measured
   (another C library, glibc before 2.33, a sanitizer's or valgrind's allocator answers 0s). */
typedef struct cprof_heap_info {
    uint32_t measured;          /* 1 when the figures below come from the allocator */
    uint32_t reserved;
    uint64_t arena_bytes;       /* obtained from the system with sbrk and for the threads' arenas (arena) */
    uint64_t mmap_bytes;        /* in blocks mmap'd one by one (hblkhd) */
    uint64_t in_use_bytes;      /* handed out, inside the arenas (uordblks) */
    uint64_t free_bytes;        /* free inside the arenas (fordblks), including the releasable top */
    uint64_t releasable_bytes;  /* of it, the top of the main arena, which malloc_trim can give back (keepcost) */
} cprof_heap_info;

#define CPROF_ALLOC_HISTOGRAM 65 /* sizes 0, 1, 2-3, 4-7, ..., 2^63 and up */
typedef struct cprof_alloc_totals {
    uint64_t allocations, frees; /* frees of blocks the tracker knew */
    uint64_t bytes_allocated, bytes_freed;
    uint64_t live_blocks, live_bytes; /* at capture */
    uint64_t peak_live_bytes;         /* all threads together */
    uint32_t peak_node;               /* the scope current when the peak was reached; CPROF_NONE when none */
    uint32_t tracked;                 /* 1 when code built with CPROF_WRAP_MALLOC ran */
    uint64_t temporary;
    uint64_t unknown_frees, double_frees; /* double frees: certain ones, not passed on */
    uint64_t possible_double_frees;       /* of an address freed before and not held since: passed on */
    uint64_t size_histogram[CPROF_ALLOC_HISTOGRAM]; /* [0]: size 0; [k]: 2^(k-1) to 2^k - 1 bytes */
    uint32_t leak_checked;            /* 1 when the live blocks were classified (the sites' lost_... figures) */
    uint32_t leak_scan_failed;        /* 1 when the check could not run (out of memory, no roots): all reachable */
    uint64_t lost_blocks, lost_bytes;         /* sums of the sites' figures (see cprof_alloc_site) */
    uint64_t indirect_blocks, indirect_bytes;
    uint64_t possible_blocks, possible_bytes;
    uint64_t reachable_blocks, reachable_bytes; /* live - the three above: in use at the check */
    uint64_t peak_ns;                 /* when the peak was reached, since the profile's start (format 1.2) */
    uint32_t usable_known;            /* 1: the sites' slack_bytes were measured (malloc_usable_size or _msize) */
    uint32_t reserved;
    uint64_t slack_bytes;             /* the sites' slack_bytes summed: the usable size beyond the requests */
    cprof_heap_info heap_at_peak;     /* the allocator's own view near the peak (see cprof_heap_info) */
    cprof_heap_info heap_at_capture;  /* and at capture (at exit for CPROF_OUT's files) */
} cprof_alloc_totals;

/* The live heap over time (>>allocs, format 1.2): points taken as the program ran, when the live total
   had moved by a step or a time step had passed (both double when the series is full and neighbouring
   points merge, so it stays bounded). Each point has its total and the largest sites' shares of it. */
#define CPROF_MEMORY_POINT_SITES 8
typedef struct cprof_memory_point {
    uint64_t time_ns;      /* since the profile's start */
    uint64_t live_bytes;   /* every tracked block live then */
    uint32_t first_share;  /* index into memory_shares */
    uint32_t share_count;  /* at most CPROF_MEMORY_POINT_SITES, largest first; the rest is "other" */
} cprof_memory_point;
typedef struct cprof_memory_share {
    uint32_t site;         /* index into alloc_sites */
    uint32_t reserved;
    uint64_t bytes;        /* its live bytes at the point */
} cprof_memory_share;

/* What the calling thread allocated so far through the tracker (see CPROF_TRACK_ALLOCS). */
typedef struct cprof_alloc_counts {
    uint64_t allocations, bytes, frees, freed_bytes;
} cprof_alloc_counts;

/* A time budget per call for a scope (cprof_budget): the analyzer's BudgetExceeded rule. */
typedef struct cprof_scope_budget {
    const char *name;
    uint64_t budget_ns;
} cprof_scope_budget;

/* Own-cost compensation (see ENVIRONMENT, CPROF_COMPENSATE): what the capture subtracted. */
typedef struct cprof_compensation {
    uint32_t applied;       /* 1: the node times are compensated (raw_total_ns keeps the recorded ones) */
    uint32_t reserved;
    double inside_ns;       /* per scope call, inside its own timed interval (calibrated at start-up) */
    double outside_ns;      /* per scope call, in its parent's time: the rest of entry and exit */
    uint64_t scopes;        /* scope calls compensated: the sum of every node's calls */
    uint64_t subtracted_ns; /* recorded time (run_ns) before minus after */
    /* Automatic scopes (CPROF_AUTO), calibrated apart at the first hook call (format 1.2; 0 when there are
       none: they then cost as manual ones): one timed call's parts, and one counted call's whole cost. */
    double auto_inside_ns, auto_outside_ns, counted_ns;
    uint64_t auto_scopes, counted_scopes; /* of scopes: automatic calls timed, and calls counted only */
} cprof_compensation;

/* Preemption (see ENVIRONMENT, CPROF_PREEMPTION): while a thread was ready to run but another program had
   its CPU, its open scopes' clocks stood still. All zero when not measured (not Linux, CPROF_PREEMPTION=0,
   no perf events, older files). */
typedef struct cprof_preemption {
    uint64_t preempted_ns; /* left out of the scopes' times, summed over the threads */
    uint64_t preemptions;  /* how many times */
    uint64_t lost;         /* records of context switches the kernel could not write (a thread's ring was
                              full; two a switch): the time of any preemption among them stayed in */
    uint32_t threads;      /* threads whose switches were recorded; 0: not measured */
    int32_t error;         /* errno of the first thread that could not record them (0: none failed) */
} cprof_preemption;

/* The timeline (CPROF_TIMELINE=N, cprof_timeline_enable): each thread's scope entries and exits and its
   frame marks (CPROF_FRAME), in time order, bounded per thread (see TIMELINE in the doc block). */
enum { CPROF_EVENT_ENTER = 0, CPROF_EVENT_EXIT = 1, CPROF_EVENT_FRAME = 2 };
enum { CPROF_TIMELINE_RECENT = 0, CPROF_TIMELINE_FIRST = 1 }; /* keep the most recent N events, or the first N */
typedef struct cprof_event {
    uint64_t time_ns; /* since the profile's start (start_unix_ns) */
    uint32_t thread;  /* index into threads */
    uint32_t kind;    /* CPROF_EVENT_* */
    uint64_t ref;     /* ENTER, EXIT: the node (index into nodes); FRAME: the frame's number (1 = the first mark) */
} cprof_event;

#define CPROF_WORST_FRAMES 5
typedef struct cprof_frame_stats { /* derived from the timeline's frame marks (0 without any) */
    uint64_t marks;   /* CPROF_FRAME() calls on every thread, also those not in the timeline (recorded, not derived) */
    uint32_t thread;  /* the thread with the most marks in the timeline (CPROF_NONE: none) */
    uint32_t reserved;
    uint64_t count;   /* frames timed: from one mark to the next, both in the timeline */
    uint64_t median_ns, p90_ns, p99_ns, max_ns; /* quantiles interpolate between order statistics */
    uint64_t worst[CPROF_WORST_FRAMES];    /* the slowest frames' numbers, slowest first (0: none) */
    uint64_t worst_ns[CPROF_WORST_FRAMES];
} cprof_frame_stats;

typedef struct cprof_profile {
    uint32_t format_major, format_minor;
    const char *program;
    int64_t start_unix_ns; /* when recording started (or was last reset), Unix time */
    uint64_t wall_ns;      /* from then to the capture */
    uint64_t run_ns;       /* recorded time: the base of every percentage */
    const char *timer;     /* "rdtsc", "cntvct", "clock_gettime"; on Windows "rdtsc/qpc" or "qpc" */
    double timer_hz;       /* ticks per second: calibrated against the system's clock, or cntfrq_el0 on AArch64 */
    uint64_t dropped_scopes;   /* scope entries not recorded (past the depth or node limit) */
    uint64_t signal_scopes_dropped; /* scopes opened in signal handlers that interrupted cprof itself */
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
    size_t counter_count;                   /* requested counters; 0 when counters are off */
    cprof_counter_info *counters;
    cprof_counter_value *node_counters;     /* [node_count * counter_count]: node i, counter k at i * counter_count + k */
    cprof_counter_value *function_counters; /* [function_count * counter_count], the same way */
    const char *counter_reader;             /* "rdpmc", "read" (a system call per read), "" without counters */
    cprof_alloc_totals allocs;              /* >>allocs: all zero without CPROF_WRAP_MALLOC */
    size_t alloc_site_count;
    cprof_alloc_site *alloc_sites;          /* sorted by bytes allocated, largest first */
    size_t free_problem_count;
    cprof_alloc_site *free_problems;        /* frees of unknown blocks and double frees, per site */
    size_t alloc_site_thread_count;
    cprof_alloc_site_thread *alloc_site_threads; /* each thread's share of a site several threads used, by site */
    size_t memory_point_count;              /* the live heap over time (format 1.2), in time order */
    cprof_memory_point *memory_points;
    size_t memory_share_count;
    cprof_memory_share *memory_shares;      /* the points' largest sites, point by point */
    const char *snapshot;                   /* the name given to cprof_snapshot(); NULL otherwise (not saved) */
    size_t benchmark_count;                 /* >>bench: benchmarks run in this process (or loaded), in run order */
    struct cprof_benchmark *benchmarks;
    size_t budget_count;                    /* the program's cprof_budget()s at capture (format 1.1) */
    cprof_scope_budget *budgets;
    cprof_compensation compensation;        /* all zero when not applied (CPROF_COMPENSATE=0, older files) */
    uint64_t auto_min_ns; /* CPROF_AUTO_MIN_NS in effect: automatic functions that averaged less stopped being
                             timed; 0: every call timed, or no automatic instrumentation (format 1.2) */
    uint32_t timeline_capacity;             /* events kept per thread (format 1.2); 0: no timeline was recorded */
    uint32_t timeline_policy;               /* CPROF_TIMELINE_RECENT or CPROF_TIMELINE_FIRST */
    uint64_t events_dropped;                /* events recorded but not in `events` (overwritten, past the first N) */
    size_t event_count;
    cprof_event *events;                    /* by thread, then in time order */
    cprof_frame_stats frames;               /* derived at capture and load */
    uint32_t sample_hz;                     /* CPU sampling's rate; 0 when the run was not sampled (format 1.2) */
    uint32_t reserved;
    uint64_t samples;                       /* samples in the tree */
    uint64_t samples_dropped;               /* samples taken but not in the tree (see SAMPLING) */
    uint64_t samples_profiler;              /* samples taken in cprof's own code (its hooks, its scopes' entry
                                               and exit), left out of the tree (format 1.2) */
    cprof_preemption preemption;            /* time threads were preempted, left out of the scopes' times (format 1.4) */
} cprof_profile;

typedef struct cprof_report_options {
    double tree_min_pct;    /* hide call-tree nodes below this share of the run (0 shows all) */
    uint32_t max_functions; /* rows of the function table (0 = all) */
} cprof_report_options;

typedef struct cprof_folded_options {
    int thread_frames;  /* 1: each stack starts with a frame "[thread NAME]"; 0: threads merged */
    const char *metric; /* the number after each stack: "time" (NULL; self time in ns), "calls",
                           "alloc-bytes", "alloc-count" or a counter's name (its self count) */
} cprof_folded_options;

/* The flame graph (see cprof_flamegraph_defaults for the defaults). */
typedef struct cprof_flamegraph_options {
    const char *metric;   /* what a frame's width measures: "time" or "calls"; NULL = "time" */
    int inverted;         /* 1: an icicle graph, the root on top */
    double min_width_pct; /* frames narrower than this share of the whole are not drawn */
    uint32_t width;       /* of the image, in pixels */
    const char *title;    /* NULL: "Flame graph: " and the program */
} cprof_flamegraph_options;

/* --- the comparison of two profiles, or of several runs each (>>compare) --- */
typedef struct cprof_compare_options {
    double threshold_pct;     /* smaller changes are unchanged (default 5) */
    double alpha;             /* a measured change is significant when the test's p, adjusted for the number
                                 of tests (Benjamini-Hochberg), is below (default 0.05) */
    double min_share_pct;     /* a change counts only when it is at least this share of the run's whole in its
                                 metric (the wall time for times; default 0.5) */
    double single_run_threshold_pct; /* one run a side (no test is possible): a measured change counts only when
                                 it is a factor beyond this either way (100: 2x slower or 2x faster; for a
                                 time, of its share of the run); default 50 (measured: README); 0: never;
                                 cprof_noise_write suggests one */
    double single_run_min_share_pct; /* one run a side: a time counts only in a function holding at least this
                                 share of the run's recorded time on both sides (default 10) */
    double bench_single_run_threshold_pct; /* the same for benchmarks timed alone (their medians per iteration);
                                 default 0: never (same-build runs here moved a median 1.8x: README) */
    double bench_group_single_run_threshold_pct; /* and for benchmarks timed in a group (cprof_bench_group), of
                                 their time relative to the group's others; default 50 (measured: README);
                                 `cprof diff --single-run-threshold` sets all three */
    const char *before_label; /* the report's names of the sides; NULL: the snapshot's or the program's name */
    const char *after_label;
} cprof_compare_options;

enum { CPROF_METRIC_TIME = 0, CPROF_METRIC_CALLS = 1, CPROF_METRIC_COUNTER = 2, CPROF_METRIC_ALLOC = 3 };
enum { CPROF_UNCHANGED = 0, CPROF_WITHIN_NOISE = 1, CPROF_IMPROVED = 2, CPROF_REGRESSED = 3 };
enum { CPROF_IN_BOTH = 0, CPROF_NEW = 1, CPROF_REMOVED = 2 };
enum { CPROF_FAIL_NONE = 0, CPROF_FAIL_TIME = 1, CPROF_FAIL_ALLOC = 2, CPROF_FAIL_ANY = 3 };

typedef struct cprof_metric_info {
    const char *name; /* "self time", "total time", "calls", or a counter's name (its self value) */
    int kind;         /* CPROF_METRIC_* */
    int measured;     /* 1: noisy, so a test must tell a change from noise; 0: an exact count */
} cprof_metric_info;

typedef struct cprof_change { /* one function, one metric */
    double before, after; /* ns for times; several runs: the median of the runs */
    double change_pct;    /* 100 (after - before) / before: negative = better; INFINITY when before is 0 */
    double share_before, share_after; /* times: the function's share of its run's time, in percent
                             (compensated; raw when a run's own cost was 60% or more of its recorded
                             time; several runs: the median); what is tested */
    double p_value;       /* two-sided p of the test, adjusted for the number of tests (Benjamini-Hochberg);
                             NaN when untested (one run a side, an exact count, no spread, below the floor) */
    int verdict;          /* CPROF_UNCHANGED, CPROF_WITHIN_NOISE, CPROF_IMPROVED, CPROF_REGRESSED */
    int reserved;
} cprof_change;

typedef struct cprof_function_change {
    const char *name;
    int presence;          /* CPROF_IN_BOTH, CPROF_NEW (after only) or CPROF_REMOVED (before only) */
    int reserved;
    cprof_change *metrics; /* [comparison->metric_count] */
} cprof_function_change;

typedef struct cprof_comparison {
    size_t before_runs, after_runs;
    double before_wall_ns, after_wall_ns; /* several runs: the medians */
    double speedup;                       /* before_wall_ns / after_wall_ns (0 when after is 0) */
    cprof_compare_options options;
    const char *before_label, *after_label;
    const char *test;                     /* the test for measured metrics, in words */
    size_t metric_count;
    cprof_metric_info *metrics;
    size_t function_count;
    cprof_function_change *functions;     /* by name */
    size_t improved, regressed, within_noise; /* (function, metric) changes with that verdict */
    size_t tests;                         /* the tests the p-values were adjusted for (heavy enough to count) */
    size_t mixed_counted;                 /* automatic functions counted in some runs and timed in others
                                             (CPROF_AUTO_MIN_NS): compared inside their callers */
    size_t shares_only;                   /* runs whose own cost was 80% or more of their recorded time: their
                                             times are judged by their shares alone, a time's change_pct is
                                             its share's */
    struct cprof_profile *storage;        /* private: owns the names */
    size_t preemption_kept;               /* runs whose times kept the waits of preempted moments (CPROF_PREEMPTION=0,
                                             no perf events, format before 1.4), when other runs left them out */
} cprof_comparison;
/* The analyzer (see ANALYZER in the doc block): a ranked list of problems, each with its evidence. */
#define CPROF_NS 1ull
#define CPROF_US 1000ull
#define CPROF_MS 1000000ull
#define CPROF_SEC 1000000000ull

enum { CPROF_SEVERITY_LOW = 1, CPROF_SEVERITY_MEDIUM = 2, CPROF_SEVERITY_HIGH = 3, CPROF_SEVERITY_CRITICAL = 4 };
enum {
    CPROF_CATEGORY_SLOW_FUNCTION,
    CPROF_CATEGORY_HOT_LOOP,
    CPROF_CATEGORY_DEEP_CALL_STACK,
    CPROF_CATEGORY_CACHE_MISSES,
    CPROF_CATEGORY_BUDGET_EXCEEDED,
    CPROF_CATEGORY_FREQUENT_ALLOCATION,
    CPROF_CATEGORY_EXCESSIVE_ALLOCATION,
    CPROF_CATEGORY_LARGE_ALLOCATION,
    CPROF_CATEGORY_TEMPORARY_ALLOCATIONS,
    CPROF_CATEGORY_LEAK,
    CPROF_CATEGORY_SPIKE,
    CPROF_CATEGORY_FRAGMENTATION,
    CPROF_CATEGORY_COUNT
};

typedef struct cprof_finding {
    int severity;            /* CPROF_SEVERITY_* */
    int category;            /* CPROF_CATEGORY_*; cprof_category_name() gives "SlowFunction"... */
    const char *function;    /* the scope concerned */
    const char *file;
    uint32_t line;
    uint32_t depth;          /* DeepCallStack: the deepest level reached; 0 otherwise */
    uint64_t calls, total_ns, self_ns, avg_ns, max_ns; /* the function's figures (per function, as in the report) */
    double share;            /* p: the share of the base (findings->base_ns: the wall time when the scopes recorded
                                less, else the recorded time) that fixing it could remove, 0..1 */
    double speedup_bound;    /* Amdahl: 1 / (1 - p), the most that making it free speeds the run up (INFINITY at p = 1) */
    double measure;          /* the figure the rule compared with its threshold (a %, a count, ns, a rate) */
    double threshold;        /* that threshold */
    uint64_t count, bytes;   /* allocation findings: the site's allocations and bytes (Leak: lost when the
                                leak check ran, else still allocated) */
    const char *scope;       /* allocation findings: the scope path the site is in ("main > load"); "" otherwise */
    const char *caller;      /* HotLoop: the caller that calls it most; "" otherwise */
    const char *description; /* the evidence, in numbers */
    const char *recommendation;
    const char *thread;      /* Spike: the thread of the slowest call ("" without a timeline) */
    uint64_t at_ns;          /* Spike: when that call began, since the profile's start (0 without a timeline) */
    uint64_t frame;          /* Spike: the frame it began in (CPROF_FRAME; 0: none marked before it) */
} cprof_finding;

typedef struct cprof_findings {
    size_t count;
    cprof_finding *items;    /* by severity, then speedup_bound, largest first */
    const char *bottleneck;  /* the largest self time and the heaviest path to it; "" for an empty profile */
    const char *not_checked[CPROF_CATEGORY_COUNT]; /* why a category was skipped; NULL when it was checked */
    const char *notes;       /* problems with the settings or budgets, one per line; "" when none */
    uint64_t base_ns;        /* the base of every share: max(wall_ns, run_ns) (run_ns when wall_ns is 0) */
    uint64_t run_ns, wall_ns; /* the profile's recorded and wall time */
    uint64_t calls;          /* the scopes' calls: with calls and no recorded time, the time was all cprof's own */
    size_t too_short;        /* functions not judged SlowFunction or HotLoop: avg < min_judged_avg_ns over
                                >= min_judged_calls calls (their time is mostly the scopes' own cost) */
    const char *too_short_functions; /* their names, ", " between, by self time; "" when none */
    double min_judged_avg_ns, min_judged_calls; /* the options applied (for the text) */
    struct cprof__strings *strings; /* private: owns every string above */
    size_t capacity;         /* private */
} cprof_findings;

/* Thresholds of the rules (see cprof_analyze_defaults for the values). */
typedef struct cprof_analyze_options {
    double slow_critical_pct;   /* SlowFunction: self time above this share of the run is Critical, */
    double slow_high_pct;       /* above this High, */
    double slow_medium_pct;     /* above this Medium */
    double hot_loop_calls;      /* HotLoop: at least this many calls, */
    double hot_loop_avg_ns;     /* at most this long on average, */
    double hot_loop_pct;        /* and at least this share of the run (inclusive) */
    double deep_stack_depth;    /* DeepCallStack: a call path at least this deep */
    double cache_miss_pct;      /* CacheMisses: cache-misses / cache-references at least this %, */
    double cache_mpki;          /* or cache misses per 1,000 instructions at least this, */
    double cache_min_pct;       /* in a function with at least this share of the run in itself */
    double frequent_alloc_count;     /* FrequentAllocation: at least this many allocations at one site, */
    double frequent_alloc_max_bytes; /* of at most this many bytes on average */
    double excessive_alloc_pct;      /* ExcessiveAllocation: a site allocating more than this share of all bytes, */
    double excessive_alloc_bytes;    /* and at least this many bytes */
    double large_alloc_bytes;        /* LargeAllocation: a single allocation of at least this many bytes */
    double temporary_alloc_count;    /* TemporaryAllocations: at least this many blocks freed before the next allocation, */
    double temporary_alloc_pct;      /* and at least this share of the site's allocations */
    double leak_high_bytes;          /* Leak: a site still holding this many bytes is High (1/16 of it Medium, less Low) */
    double min_judged_avg_ns;   /* SlowFunction and HotLoop skip a function averaging under this per call */
    double min_judged_calls;    /* over at least this many calls: too short to judge by instrumentation */
    double spike_factor;        /* Spike: a call at least this many times its scope's typical one (the median call in
                                   the timeline; without one, the average) */
    double spike_min_ns;        /* and at least this much longer than it */
    double spike_min_calls;     /* in a scope with at least this many calls (timed in the timeline, when there is one) */
    double fragmentation_free_pct;  /* Fragmentation: free memory held inside the allocator's arenas (the top it can
                                       give back aside) at least this share of them, at the peak or at capture, */
    double fragmentation_slack_pct; /* or a site's slack (usable size beyond the requests) at least this share of its bytes, */
    double fragmentation_min_bytes; /* and at least this many bytes (either) */
    const char *settings;       /* "key=value,..." applied over the fields above (default: CPROF_ANALYZE) */
    const char *budgets;        /* "name=100ms,..." added to cprof_budget()'s (default: CPROF_BUDGET) */
} cprof_analyze_options;

/* --- benchmarks (>>bench) --- */
typedef struct cprof_bench_stats { /* of per-iteration times, in ns (see cprof_bench_statistics) */
    size_t count;                  /* samples */
    double mean_ns, median_ns, min_ns, max_ns;
    double stddev_ns;              /* sample standard deviation (divides by count - 1) */
    double mad_ns;                 /* median absolute deviation from the median, unscaled */
    double q1_ns, q3_ns;           /* quartiles, linear interpolation between order statistics */
    uint32_t outliers_low;         /* samples below Q1 - 1.5 (Q3 - Q1) (Tukey's fences) */
    uint32_t outliers_high;        /* samples above Q3 + 1.5 (Q3 - Q1) */
} cprof_bench_stats;

typedef struct cprof_benchmark {
    const char *name;           /* "task/implementation": benchmarks of one task are compared together */
    uint64_t n;                 /* the parameter (an input size); 0 when the benchmark has none */
    uint64_t items, bytes;      /* processed per iteration, as the body declared; 0 = not declared */
    uint64_t warmup_iterations; /* run before timing */
    uint64_t iterations;        /* timed: sample_count * batch */
    uint64_t batch;             /* iterations per sample: one pair of timer reads per batch */
    size_t sample_count;
    double *samples_ns;         /* time per iteration of each batch, in the order measured */
    cprof_bench_stats stats;    /* of samples_ns; derived at capture and load */
    uint32_t group;             /* the cprof_bench_group it was timed in, numbered from 1 in its process (0: timed
                                   alone); in a group, samples_ns[i] of every member is its batch of round i */
} cprof_benchmark;

typedef struct cprof_bench { /* what a benchmark's body sees; it may set items and bytes */
    const char *name;
    uint64_t n;              /* the parameter of this run (0 without one) */
    void *user;              /* as given to cprof_bench_run / cprof_bench_sweep */
    uint64_t items, bytes;   /* set by the body: processed per iteration, for the throughput */
} cprof_bench;

typedef void (*cprof_bench_function)(cprof_bench *bench); /* one iteration */

typedef struct cprof_bench_entry { /* one member of a group timed in turn (cprof_bench_group) */
    const char *name;              /* "task/implementation", as for cprof_bench_run */
    cprof_bench_function body;
    void *user;
    uint64_t n;                    /* the parameter (0 without one) */
} cprof_bench_entry;

typedef struct cprof_bench_options {
    double min_time_s;       /* timed time to fill (default 0.5 s) */
    double warmup_s;         /* run untimed first, at least this long (default 0.05 s) */
    uint32_t min_samples;    /* at least this many batches, however slow (default 10) */
    uint32_t target_samples; /* batches sized so min_time_s holds about this many (default 50) */
} cprof_bench_options;

cprof_profile *cprof_capture(void);
cprof_profile *cprof_leak_check(void);
void cprof_profile_free(cprof_profile *profile);
int cprof_save(const cprof_profile *profile, const char *path);
int cprof_load(const char *path, cprof_profile **profile);
int cprof_load_string(const char *text, size_t length, const char *name, cprof_profile **profile);
const char *cprof_error(void);
int cprof_json_write(const cprof_profile *profile, FILE *out);
cprof_folded_options cprof_folded_defaults(void);
int cprof_folded_write(const cprof_profile *profile, FILE *out, const cprof_folded_options *options);
int cprof_stats_write(const cprof_profile *profile, FILE *out);
int cprof_pprof_write(const cprof_profile *profile, FILE *out, int gzipped);
int cprof_callgrind_write(const cprof_profile *profile, FILE *out);
int cprof_speedscope_write(const cprof_profile *profile, FILE *out);
cprof_report_options cprof_report_defaults(void);
int cprof_report_write(const cprof_profile *profile, FILE *out, const cprof_report_options *options);
size_t cprof_report_format(const cprof_profile *profile, char *buffer, size_t size,
                           const cprof_report_options *options);
int cprof_report_print(FILE *out);
cprof_flamegraph_options cprof_flamegraph_defaults(void);
int cprof_flamegraph_write(const cprof_profile *profile, FILE *out, const cprof_flamegraph_options *options);
int cprof_memory_chart_write(const cprof_profile *profile, FILE *out);
cprof_analyze_options cprof_analyze_defaults(void);
cprof_findings *cprof_analyze(const cprof_profile *profile, const cprof_analyze_options *options);
void cprof_findings_free(cprof_findings *findings);
int cprof_analysis_write(const cprof_findings *findings, FILE *out);
size_t cprof_analysis_format(const cprof_findings *findings, char *buffer, size_t size);
int cprof_analysis_json_write(const cprof_findings *findings, FILE *out);
int cprof_budget(const char *name, uint64_t budget_ns);
const char *cprof_category_name(int category);
const char *cprof_severity_name(int severity);
void cprof_enable(void);
void cprof_disable(void);
int cprof_is_enabled(void);
void cprof_reset(void);
int cprof_sample_start(unsigned hz);
void cprof_sample_stop(void);
void cprof_thread_name(const char *name);
size_t cprof_memory_bytes(void);
int cprof_counters_enable(const char *events);
cprof_counter_value cprof_node_counter(const cprof_profile *profile, uint32_t node, uint32_t counter);
cprof_counter_value cprof_function_counter(const cprof_profile *profile, uint32_t function, uint32_t counter);
uint32_t cprof_counter_find(const cprof_profile *profile, const char *name);
cprof_alloc_counts cprof_thread_allocs(void);
int cprof_leaks_write(const cprof_profile *profile, FILE *out);
cprof_compare_options cprof_compare_defaults(void);
cprof_comparison *cprof_compare(const cprof_profile *before, const cprof_profile *after,
                                const cprof_compare_options *options);
cprof_comparison *cprof_compare_runs(const cprof_profile *const *before, size_t before_count,
                                     const cprof_profile *const *after, size_t after_count,
                                     const cprof_compare_options *options);
void cprof_comparison_free(cprof_comparison *comparison);
const cprof_change *cprof_comparison_find(const cprof_comparison *comparison, const char *function, const char *metric);
int cprof_comparison_failed(const cprof_comparison *comparison, int fail_on);
int cprof_comparison_write(const cprof_comparison *comparison, FILE *out);
size_t cprof_comparison_format(const cprof_comparison *comparison, char *buffer, size_t size);
int cprof_noise_write(const cprof_profile *const *runs, size_t count, FILE *out, const cprof_compare_options *options,
                      size_t shown);
int cprof_diff_flamegraph_write(const cprof_profile *before, const cprof_profile *after, FILE *out,
                                const cprof_flamegraph_options *options, int before_widths);
cprof_profile *cprof_snapshot(const char *name);
cprof_bench_options cprof_bench_defaults(void);
int cprof_bench_run(const char *name, cprof_bench_function body, void *user, const cprof_bench_options *options);
int cprof_bench_sweep(const char *name, cprof_bench_function body, void *user, const uint64_t *n, size_t n_count,
                      const cprof_bench_options *options);
int cprof_bench_group(const cprof_bench_entry *entries, size_t count, const cprof_bench_options *options);
void cprof_bench_clear(void);
cprof_bench_stats cprof_bench_statistics(const double *samples_ns, size_t count);
double cprof_bench_growth(const double *n, const double *time_ns, size_t count);
int cprof_bench_write(const cprof_profile *profile, FILE *out);
int cprof_bench_print(FILE *out);
int cprof_timeline_enable(uint32_t events_per_thread, int policy);
int cprof_trace_write(const cprof_profile *profile, FILE *out);
int cprof_bench_compare_write(const cprof_profile *before, const cprof_profile *after, FILE *out,
                              const cprof_compare_options *options);
int cprof_bench_compare_runs_write(const cprof_profile *const *before, size_t before_count,
                                   const cprof_profile *const *after, size_t after_count, FILE *out,
                                   const cprof_compare_options *options);

/* --- several profiles merged into one (>>merge; the tool's `cprof merge`) --- */
typedef struct cprof_merge_options {
    int threads_apart; /* 0: threads with the same name merged; 1: each input's threads kept apart */
} cprof_merge_options;
cprof_merge_options cprof_merge_defaults(void);
cprof_profile *cprof_merge(const cprof_profile *const *profiles, size_t count, const cprof_merge_options *options);

/* private, used by the macros */
uint32_t cprof__enter(const cprof_site *site);
void cprof__exit(uint32_t token);
void cprof__scope_cleanup(const uint32_t *token);
void cprof__end(const cprof_site *site);
void cprof__frame_mark(void);
void *cprof__malloc(size_t size, const char *file, int line, const char *function);
void *cprof__calloc(size_t count, size_t size, const char *file, int line, const char *function);
void *cprof__realloc(void *block, size_t size, const char *file, int line, const char *function);
void *cprof__reallocarray(void *block, size_t count, size_t size, const char *file, int line, const char *function);
void cprof__free(void *block, const char *file, int line, const char *function);
char *cprof__strdup(const char *text, const char *file, int line, const char *function);
char *cprof__strndup(const char *text, size_t size, const char *file, int line, const char *function);
void *cprof__aligned_alloc(size_t alignment, size_t size, const char *file, int line, const char *function);
int cprof__posix_memalign(void **out, size_t alignment, size_t size, const char *file, int line, const char *function);
typedef struct cprof__alloc_block_state { /* CPROF_TRACK_ALLOCS */
    cprof_alloc_counts start;
    const char *name;
    cprof_alloc_counts *out;
    int done;
} cprof__alloc_block_state;
cprof__alloc_block_state cprof__track_begin(const char *name, cprof_alloc_counts *out);
void cprof__track_end(cprof__alloc_block_state *state);

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

/* CPROF_TRACK_ALLOCS: the block runs once; at its end what it allocated is printed (name) or stored (out).
   Disabled, the block is an ordinary block (and *out is not written). check-hygiene compares the public
   macros defined with and without CPROF_DISABLE, so that a new macro cannot miss its disabled form. */
#if defined(CPROF_DISABLE)
#define CPROF_TRACK_ALLOCS(name)
#define CPROF_TRACK_ALLOCS_INTO(out)
#else
#define CPROF__TRACK_ALLOCS(state, name, out) \
    for (cprof__alloc_block_state state = cprof__track_begin(name, out); !state.done; cprof__track_end(&state))
#define CPROF_TRACK_ALLOCS(name) CPROF__TRACK_ALLOCS(CPROF__UNIQUE(cprof__track_), name, NULL)
#define CPROF_TRACK_ALLOCS_INTO(out) CPROF__TRACK_ALLOCS(CPROF__UNIQUE(cprof__track_), NULL, out)
#endif

/* CPROF_FRAME(): one frame of a game loop or one request ends and the next begins (see TIMELINE). */
#if defined(CPROF_DISABLE)
#define CPROF_FRAME() ((void)0)
#else
#define CPROF_FRAME() cprof__frame_mark()
#endif

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

#ifdef CPROF_TESTING
/* For cprof's own tests only (tests/, built with -DCPROF_TESTING in every file): NOT part of the API,
   may change or go without notice. Each reaches one private function of the implementation (>>testing),
   so that the tests link against one compiled implementation instead of compiling it themselves. */
#ifdef __cplusplus
extern "C" {
#endif
cprof_profile *cprof__test_profile_new(void);                 /* empty, freed by cprof_profile_free */
int cprof__test_grow(cprof_profile *profile, void *array, size_t needed, size_t element_size); /* &profile->X */
cprof_node *cprof__test_add_node(cprof_profile *profile);     /* appended, zeroed, links CPROF_NONE */
const char *cprof__test_string(cprof_profile *profile, const char *text); /* a copy the profile owns */
int cprof__test_derive(cprof_profile *profile);                /* self times, functions...: again */
void *cprof__test_alloc(size_t bytes);                         /* memory cprof_profile_free may release */
cprof_benchmark *cprof__test_bench_append(cprof_profile *profile, const char *name);
void cprof__test_sample_of(double n, double sum, double sum_sq, double sample[3]); /* {n, mean, variance} */
double cprof__test_welch_p(const double x[3], const double y[3]);
void cprof__test_benjamini_hochberg(double *p_values, size_t count); /* adjusted in place, order kept */
/* the moderated t-test's prior from sample variances on df degrees of freedom: {d0, s0^2}; its p */
int cprof__test_moderation_prior(const double *variances, size_t count, double df, double prior[2]);
double cprof__test_moderated_p(double difference, double variance, double df, size_t n1, size_t n2,
                               const double prior[2], double df_cap);
int cprof__test_json_valid(const char *text, size_t length);   /* 1 when the text parses as JSON */
int cprof__test_thread_counting(void); /* this thread: 1 when it has counters open, +2 when its first scope has values */
void cprof__test_counters_add_scaled(cprof_profile *profile, uint32_t node, const uint64_t *raw, uint32_t depth);
const char *cprof__test_counter_reason(char *out, size_t size, int error, int in_kernel); /* error < 0: no perf */
void cprof__test_mmap_page_decode(const void *perf_event_mmap_page, uint64_t pmc, uint64_t tsc, uint64_t out[3]);
void cprof__test_flame_color(const char *name, int rgb[3]);
uint32_t cprof__test_crc32(const void *data, size_t length); /* CRC-32 of gzip's trailer */
const char *cprof__test_duration(char out[24], uint64_t ns);
const char *cprof__test_count(char out[32], uint64_t value);
size_t cprof__test_display_width(const char *text);
size_t cprof__test_textf(char *out, size_t size, const char *format, ...); /* the text escape's formatter */
size_t cprof__test_text_width(const char *text, size_t length);   /* characters as the text escape shows them */
uint64_t cprof__test_u64_rounded(double value);
int cprof__test_format(char *buffer, size_t size, const char *format, ...); /* cprof's printf (>>format) */
double cprof__test_strtod_c(const char *text, char **end);    /* strtod in the C locale, any locale */
void cprof__test_write_outputs_at_exit(void);                 /* CPROF_OUT's files, now */
/* the calling thread's open scope at `depth`: its children, and its children table's slots (0: none) */
size_t cprof__test_children(uint32_t depth, size_t *table_slots);
size_t cprof__test_recorder_bytes(void);                      /* a recorder and its first node block */
/* the capture's own-cost compensation applied to `profile` with these figures, then derived again */
int cprof__test_compensate(cprof_profile *profile, double inside_ns, double outside_ns);
/* the same with automatic scopes' figures apart: manual inside, outside, automatic inside, outside,
   a counted call's cost (nodes with counted_calls take their children's time first, as at capture) */
int cprof__test_compensate_kinds(cprof_profile *profile, const double figures[5]);
size_t cprof__test_timeline_bytes(uint32_t capacity, size_t *event_bytes); /* a thread's buffer; one event's size */
/* the calling thread's timeline counts set to these, as a cprof_reset() racing its thread can leave them */
void cprof__test_timeline_counts(uint64_t written, uint64_t lap_start);
/* CPROF_TIMELINE's value read: out[0] = events per thread (0: off), out[1] = the policy */
void cprof__test_env_timeline(const char *value, uint32_t out[2]);
/* one sample of `frames` addresses (the leaf first) counted as the signal handler counts it, under the calling
   thread's open scope; the thread's table is made when it has none. -1 without sampling support */
int cprof__test_sample_count(const uintptr_t *pcs, uint32_t frames, uint64_t periods);
#ifdef __cplusplus
} /* extern "C" */
#endif
#endif /* CPROF_TESTING */

#endif /* CPROF_H */

/* ==================================================================================================
   The implementation
   ================================================================================================== */
#if defined(CPROF_IMPLEMENTATION) && !defined(CPROF__IMPLEMENTATION_DONE)
#define CPROF__IMPLEMENTATION_DONE

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#if defined(_WIN32)
#define CPROF__WINDOWS 1
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#define CPROF__DEFINED_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#include <malloc.h> /* _msize: a block's usable size */
#include <process.h>
#ifdef CPROF__DEFINED_LEAN_AND_MEAN
#undef WIN32_LEAN_AND_MEAN
#undef CPROF__DEFINED_LEAN_AND_MEAN
#endif
#if defined(CPROF_AUTO)
#error "cprof: CPROF_AUTO (automatic instrumentation) needs the ELF reader and is not available on Windows; use CPROF_SCOPE / CPROF_BEGIN"
#endif
#else
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <sys/mman.h> /* mmap: the recorder's signal-safe storage */
#endif

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
#include <linux/perf_event.h>
#endif
#if !defined(CPROF__WINDOWS)
/* What a user's file may hide. The implementation compiles after any system header and whatever the file
   defines first (_XOPEN_SOURCE, _POSIX_C_SOURCE, _GNU_SOURCE, _DEFAULT_SOURCE or none, -std=c99 or
   gnu, C or C++): cprof defines no feature macro. What glibc hides under some of them (fdopen, kill,
   readlink, posix_memalign, syscall; clock_gettime without POSIX 1993) is declared here under cprof's
   own names, bound to the C library's symbols by name (asm labels, as >>auto does): a second
   declaration of the system's own name would clash in C++ (its noexcept) and could disagree in C.
   clock_gettime keeps the system's declaration when it is visible (a 32-bit build with 64-bit time
   renames it). Hidden constants take the values of Linux's ABI. */
#define CPROF__STRING2(x) #x
#define CPROF__STRING(x) CPROF__STRING2(x)
#define CPROF__LIBC(name) __asm__(CPROF__STRING(__USER_LABEL_PREFIX__) #name)
#ifdef __cplusplus
extern "C" {
#endif
FILE *cprof__fdopen(int fd, const char *mode) CPROF__LIBC(fdopen);
int cprof__kill(pid_t pid, int signal_number) CPROF__LIBC(kill);
ssize_t cprof__readlink(const char *path, char *buffer, size_t size) CPROF__LIBC(readlink);
int cprof__libc_posix_memalign(void **out, size_t alignment, size_t size) CPROF__LIBC(posix_memalign);
#if defined(__GLIBC__) || defined(CPROF__LINUX) /* glibc, musl, bionic; declared in <malloc.h> only */
size_t cprof__libc_malloc_usable_size(void *block) CPROF__LIBC(malloc_usable_size);
#define CPROF__USABLE_SIZE(block) cprof__libc_malloc_usable_size(block)
#endif
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
struct cprof__mallinfo2 { /* glibc's struct mallinfo2 (2.33 and later), field for field */
    size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
struct cprof__mallinfo2 cprof__libc_mallinfo2(void) CPROF__LIBC(mallinfo2);
#define CPROF__MALLINFO2 1
#endif
#if defined(CPROF__LINUX)
long cprof__syscall(long number, ...) CPROF__LIBC(syscall);
#endif
#if defined(CLOCK_MONOTONIC)
#define cprof__clock_gettime clock_gettime
#define CPROF__CLOCK_MONOTONIC CLOCK_MONOTONIC
#define CPROF__CLOCK_REALTIME CLOCK_REALTIME
#elif defined(CPROF__LINUX)
int cprof__clock_gettime(int clock, struct timespec *now) CPROF__LIBC(clock_gettime);
#define CPROF__CLOCK_MONOTONIC 1
#define CPROF__CLOCK_REALTIME 0
#else
#error "cprof: CLOCK_MONOTONIC is hidden: define _DEFAULT_SOURCE before the first system header of the file that defines CPROF_IMPLEMENTATION"
#endif
#ifdef __cplusplus
}
#endif
#if defined(MAP_ANONYMOUS)
#define CPROF__MAP_ANONYMOUS MAP_ANONYMOUS
#elif defined(MAP_ANON)
#define CPROF__MAP_ANONYMOUS MAP_ANON
#elif defined(CPROF__LINUX) && (defined(__x86_64__) || defined(__aarch64__) || defined(__i386__) || defined(__arm__) || defined(__riscv))
#define CPROF__MAP_ANONYMOUS 0x20 /* asm-generic/mman-common.h */
#else
#error "cprof: MAP_ANONYMOUS is hidden: define _DEFAULT_SOURCE before the first system header of the file that defines CPROF_IMPLEMENTATION"
#endif
#if defined(O_CLOEXEC)
#define CPROF__O_CLOEXEC O_CLOEXEC
#else
#define CPROF__O_CLOEXEC 0 /* the file descriptor is marked close-on-exec just after its open instead */
#endif
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
#define CPROF__COLD __attribute__((noinline, cold)) /* kept out of the hot path's registers and stack */
#define CPROF__INLINE __attribute__((always_inline)) inline /* a short step of a hot path */
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
#define CPROF__COLD
#define CPROF__INLINE
#endif

/* The profiler never profiles itself, even when this file is compiled with -finstrument-functions
   (see >>auto): clang marks every function from here to the end of the implementation; gcc has no
   such pragma, so the functions on the scope's hot path carry CPROF__NO_INSTRUMENT on their
   definitions, and the hooks ignore calls made while they run. */
#if defined(__GNUC__)
#define CPROF__NO_INSTRUMENT __attribute__((no_instrument_function))
#else
#define CPROF__NO_INSTRUMENT
#endif
#if defined(__clang__)
#pragma clang attribute push(__attribute__((no_instrument_function)), apply_to = function)
#endif

/* stb_sprintf where it is found: CPROF_STB_SPRINTF_PATH (a header name with its quotes or brackets),
   else <stb/stb_sprintf.h> (Debian's libstb-dev), else "stb_sprintf.h" on the include path, asked with
   __has_include; without it, or with CPROF_NO_STB_SPRINTF, cprof's own formatter (>>format) does all.
   The output is the same bytes either way: doubles are always converted by >>format. */
#if !defined(CPROF_NO_STB_SPRINTF)
#if defined(CPROF_STB_SPRINTF_PATH)
#define CPROF__STB_SPRINTF CPROF_STB_SPRINTF_PATH
#elif defined(__has_include)
#if __has_include(<stb/stb_sprintf.h>)
#define CPROF__STB_SPRINTF <stb/stb_sprintf.h>
#elif __has_include("stb_sprintf.h")
#define CPROF__STB_SPRINTF "stb_sprintf.h"
#endif
#endif
#endif
#if defined(CPROF__STB_SPRINTF)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare" /* MinGW-w64: its 32-bit long meets an unsigned */
#endif
/* stb_sprintf's own names (its static functions and tables, its macros) are renamed on the way in and
   forgotten on the way out, so that a user's implementation file may include <stb/stb_sprintf.h>,
   with its implementation, after cprof.h; only the cprof__stb_ functions remain. */
#define stbsp__bot cprof__stbsp_bot
#define stbsp__clamp_callback cprof__stbsp_clamp_callback
#define stbsp__comma cprof__stbsp_comma
#define stbsp__context cprof__stbsp_context
#define stbsp__count_clamp_callback cprof__stbsp_count_clamp_callback
#define stbsp__digitpair cprof__stbsp_digitpair
#define stbsp__lead_sign cprof__stbsp_lead_sign
#define stbsp__negbot cprof__stbsp_negbot
#define stbsp__negboterr cprof__stbsp_negboterr
#define stbsp__negtop cprof__stbsp_negtop
#define stbsp__negtoperr cprof__stbsp_negtoperr
#define stbsp__period cprof__stbsp_period
#define stbsp__powten cprof__stbsp_powten
#define stbsp__raise_to_power10 cprof__stbsp_raise_to_power10
#define stbsp__real_to_parts cprof__stbsp_real_to_parts
#define stbsp__real_to_str cprof__stbsp_real_to_str
#define stbsp__strlen_limited cprof__stbsp_strlen_limited
#define stbsp__top cprof__stbsp_top
#define stbsp__toperr cprof__stbsp_toperr
#define STB_SPRINTF_IMPLEMENTATION
#define STB_SPRINTF_STATIC
#define STB_SPRINTF_NOUNALIGNED /* no misaligned stores: UndefinedBehaviorSanitizer stays quiet */
#define STB_SPRINTF_DECORATE(name) cprof__stb_##name
#include CPROF__STB_SPRINTF
enum { CPROF__STB_CHUNK = STB_SPRINTF_MIN }; /* the buffer its callback gets */
#undef stbsp__bot
#undef stbsp__clamp_callback
#undef stbsp__comma
#undef stbsp__context
#undef stbsp__count_clamp_callback
#undef stbsp__digitpair
#undef stbsp__lead_sign
#undef stbsp__negbot
#undef stbsp__negboterr
#undef stbsp__negtop
#undef stbsp__negtoperr
#undef stbsp__period
#undef stbsp__powten
#undef stbsp__raise_to_power10
#undef stbsp__real_to_parts
#undef stbsp__real_to_str
#undef stbsp__strlen_limited
#undef stbsp__top
#undef stbsp__toperr
#undef STB_SPRINTF_IMPLEMENTATION
#undef STB_SPRINTF_STATIC
#undef STB_SPRINTF_NOUNALIGNED
#undef STB_SPRINTF_DECORATE
#undef STB_SPRINTF_H_INCLUDE
#undef STB_SPRINTF_MIN
#undef STB_SPRINTF_MSVC_MODE
#undef STBSP__ASAN
#undef STBSP__ATTRIBUTE_FORMAT
#undef STBSP__HALFWIDTH
#undef STBSP__METRIC_1024
#undef STBSP__METRIC_JEDEC
#undef STBSP__METRIC_NOSPACE
#undef STBSP__NOTUSED
#undef STBSP__PUBLICDEC
#undef STBSP__PUBLICDEF
#undef stbsp__ddtoS64
#undef stbsp__tento19th
#undef stbsp__uintptr
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#endif

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

/* The operating system's services, one small function each: pages, clocks, ids, a mutex, a once-flag,
   a callback at thread exit, replacing a file. POSIX first, then Windows (Win32 only: no pthreads,
   no mmap; MinGW-w64 is tested under Wine, MSVC is written for but not tested). */
#if !defined(CPROF__WINDOWS)
/* Zeroed memory straight from the kernel, for what the scope's path may need to grow (nodes, their
   counter values, child indexes): a signal handler's scope may reach it, and malloc is not
   async-signal-safe while mmap is a plain system call. Keeps errno. */
CPROF__NO_INSTRUMENT static void *cprof__pages_alloc(size_t size) {
    int saved_errno = errno;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | CPROF__MAP_ANONYMOUS, -1, 0);
    errno = saved_errno;
    if (p == MAP_FAILED) return NULL;
    CPROF__ADD(cprof__own_bytes, size);
    return p;
}

static void cprof__pages_release(void *p, size_t size) {
    if (!p) return;
    CPROF__ADD(cprof__own_bytes, (size_t)0 - size);
    munmap(p, size);
}

CPROF__NO_INSTRUMENT static uint64_t cprof__monotonic_ns(void) {
    struct timespec ts;
    cprof__clock_gettime(CPROF__CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t cprof__unix_ns(void) {
    struct timespec ts;
    cprof__clock_gettime(CPROF__CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

static uint64_t cprof__thread_id(void) {
#if defined(CPROF__LINUX)
    return (uint64_t)cprof__syscall(SYS_gettid);
#else
    return (uint64_t)(uintptr_t)pthread_self();
#endif
}

static long cprof__process_id(void) { return (long)getpid(); }
static int cprof__process_gone(long pid) { return cprof__kill((pid_t)pid, 0) != 0 && errno == ESRCH; }
static void cprof__yield(void) { sched_yield(); }

#define CPROF__CLOCK_NAME "clock_gettime"
typedef pthread_mutex_t cprof__mutex;
#define CPROF__MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
static void cprof__mutex_lock(cprof__mutex *m) { pthread_mutex_lock(m); }
static void cprof__mutex_unlock(cprof__mutex *m) { pthread_mutex_unlock(m); }

typedef pthread_once_t cprof__once_flag;
#define CPROF__ONCE_INIT PTHREAD_ONCE_INIT
CPROF__NO_INSTRUMENT static void cprof__once_run(cprof__once_flag *flag, void (*function)(void)) { pthread_once(flag, function); }

#if defined(CPROF__LINUX)
/* glibc's pthread_getattr_np (declared only under _GNU_SOURCE) and POSIX 2001's pthread_attr_getstack
   (hidden by a strict -std=c99), bound by name as >>auto binds dl_iterate_phdr. */
#ifdef __cplusplus
extern "C" {
#endif
int cprof__pthread_getattr_np(pthread_t thread, pthread_attr_t *attributes) __asm__("pthread_getattr_np");
int cprof__pthread_attr_getstack(const pthread_attr_t *attributes, void **stack, size_t *size) __asm__("pthread_attr_getstack");
#ifdef __cplusplus
}
#endif

/* The calling thread's stack, [*low, *high) (the leak scan's root, the sampler's walk bounds); -1 when
   unknown. */
CPROF__UNUSED static int cprof__thread_stack(uintptr_t *low, uintptr_t *high) {
    pthread_attr_t attributes;
    void *base = NULL;
    size_t size = 0;
    if (cprof__pthread_getattr_np(pthread_self(), &attributes) != 0) return -1;
    int failed = cprof__pthread_attr_getstack(&attributes, &base, &size) != 0 || !base;
    pthread_attr_destroy(&attributes);
    if (failed) return -1;
    *low = (uintptr_t)base;
    *high = (uintptr_t)base + size;
    return 0;
}
#endif

/* `on_exit(value)` runs when a thread that set a value ends (a key's destructor). */
typedef pthread_key_t cprof__thread_exit_key;
static void cprof__thread_exit_key_create(cprof__thread_exit_key *key, void (*on_exit)(void *)) {
    pthread_key_create(key, on_exit);
}
static void cprof__thread_exit_set(cprof__thread_exit_key key, void *value) { pthread_setspecific(key, value); }

/* temporary -> path, replacing it in one step; 0, or -1 with errno set. */
static int cprof__replace_file(const char *temporary, const char *path) { return rename(temporary, path); }

#else /* CPROF__WINDOWS */
/* VirtualAlloc gives zeroed pages as mmap does. Keeps errno and the thread's last error. */
CPROF__NO_INSTRUMENT static void *cprof__pages_alloc(size_t size) {
    int saved_errno = errno;
    DWORD saved_error = GetLastError();
    void *p = VirtualAlloc(NULL, size, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    SetLastError(saved_error);
    errno = saved_errno;
    if (!p) return NULL;
    CPROF__ADD(cprof__own_bytes, size);
    return p;
}

static void cprof__pages_release(void *p, size_t size) {
    if (!p) return;
    CPROF__ADD(cprof__own_bytes, (size_t)0 - size);
    VirtualFree(p, 0, MEM_RELEASE);
}

/* QueryPerformanceCounter: Windows' monotonic clock, at a frequency fixed at boot (10 MHz on current
   systems), in ns as CLOCK_MONOTONIC would give it. */
CPROF__NO_INSTRUMENT static uint64_t cprof__monotonic_ns(void) {
    static LARGE_INTEGER frequency;
    LARGE_INTEGER now;
    if (!frequency.QuadPart) QueryPerformanceFrequency(&frequency); /* the same value in every thread */
    QueryPerformanceCounter(&now);
    uint64_t ticks = (uint64_t)now.QuadPart, hz = (uint64_t)frequency.QuadPart;
    return ticks / hz * 1000000000u + ticks % hz * 1000000000u / hz;
}

/* FILETIME: 100 ns units since 1601-01-01, 11644473600 s before the Unix epoch. */
static int64_t cprof__unix_ns(void) {
    FILETIME t;
    GetSystemTimeAsFileTime(&t);
    uint64_t units = ((uint64_t)t.dwHighDateTime << 32) | t.dwLowDateTime;
    return (int64_t)(units - 116444736000000000ull) * 100;
}

static uint64_t cprof__thread_id(void) { return (uint64_t)GetCurrentThreadId(); }
static long cprof__process_id(void) { return (long)GetCurrentProcessId(); }
/* No such process (OpenProcess refuses the id), or one that has ended but is still referenced. */
static int cprof__process_gone(long pid) {
    HANDLE process = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
    if (!process) return GetLastError() == ERROR_INVALID_PARAMETER;
    int ended = WaitForSingleObject(process, 0) == WAIT_OBJECT_0;
    CloseHandle(process);
    return ended;
}
static void cprof__yield(void) { SwitchToThread(); }

#define CPROF__CLOCK_NAME "qpc"
/* A slim reader/writer lock taken exclusively: statically initialised, no destruction needed. */
typedef SRWLOCK cprof__mutex;
#define CPROF__MUTEX_INIT SRWLOCK_INIT
static void cprof__mutex_lock(cprof__mutex *m) { AcquireSRWLockExclusive(m); }
static void cprof__mutex_unlock(cprof__mutex *m) { ReleaseSRWLockExclusive(m); }

typedef INIT_ONCE cprof__once_flag;
#define CPROF__ONCE_INIT INIT_ONCE_STATIC_INIT
typedef struct cprof__once_call {
    void (*function)(void);
} cprof__once_call;
static BOOL CALLBACK cprof__once_callback(PINIT_ONCE flag, PVOID call, PVOID *context) {
    (void)flag, (void)context;
    ((cprof__once_call *)call)->function();
    return TRUE;
}
CPROF__NO_INSTRUMENT static void cprof__once_run(cprof__once_flag *flag, void (*function)(void)) {
    cprof__once_call call = {function};
    InitOnceExecuteOnce(flag, cprof__once_callback, &call, NULL);
}

/* Thread exit: a fiber-local storage slot's callback runs when a thread that set it ends (as a pthread
   key's destructor); FLS needs no DLL and no TLS directory, so it works in a static program too. */
typedef DWORD cprof__thread_exit_key;
static void (*cprof__thread_exit_function)(void *);
static void WINAPI cprof__fls_callback(PVOID value) {
    if (value && cprof__thread_exit_function) cprof__thread_exit_function(value);
}
static void cprof__thread_exit_key_create(cprof__thread_exit_key *key, void (*on_exit)(void *)) {
    cprof__thread_exit_function = on_exit;
    *key = FlsAlloc(cprof__fls_callback);
}
static void cprof__thread_exit_set(cprof__thread_exit_key key, void *value) {
    if (key != FLS_OUT_OF_INDEXES) FlsSetValue(key, value);
}

/* rename() on Windows refuses an existing target; MoveFileEx replaces it in one step. */
static int cprof__replace_file(const char *temporary, const char *path) {
    if (MoveFileExA(temporary, path, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) return 0;
    errno = GetLastError() == ERROR_ACCESS_DENIED ? EACCES : EIO;
    return -1;
}
#endif /* CPROF__WINDOWS */

/* ==================================================================================================
   >>format: cprof's own printf: no locale, no C library formatting, doubles converted exactly. It
   formats everything when stb_sprintf is not found (CPROF_NO_STB_SPRINTF, or no header; see >>platform)
   and the profile file's doubles always. Its output is stb_sprintf's for every conversion cprof uses:
   a double's digits are those of its exact binary value, rounded half away from zero as stb_sprintf
   rounds (12.25 with %.1f is "12.3"; the C library rounds such ties to even: "12.2"); inf and nan are
   written "inf" and "nan" ("INF", "NAN" for %F %E %G; stb_sprintf writes "Inf" and "NaN", which no
   output of cprof reaches: they are written as words first). Precisions above 99 are taken as 99.
   Conversions: d i u x X o c s p (all its hex digits, as stb_sprintf) % f F e E g G; flags - + space # 0;
   width and precision, also *; lengths l ll z j t L, h and hh (stb_sprintf ignores those
   two: cprof never uses them). A conversion it does not know is copied as written.
   ================================================================================================== */
/* A non-negative integer of up to 1,280 bits, little-endian words: a double's exact value as
   numerator / denominator needs at most about 1,150 (2^-1074 scaled by 10^324). */
enum { CPROF__BIG_WORDS = 40 };
typedef struct cprof__big {
    uint32_t word[CPROF__BIG_WORDS];
    int used;
} cprof__big;

static void cprof__big_set(cprof__big *b, uint64_t value) {
    b->word[0] = (uint32_t)value;
    b->word[1] = (uint32_t)(value >> 32);
    b->used = b->word[1] ? 2 : b->word[0] ? 1 : 0;
}

static void cprof__big_multiply(cprof__big *b, uint32_t factor) {
    uint64_t carry = 0;
    for (int i = 0; i < b->used; i++) {
        carry += (uint64_t)b->word[i] * factor;
        b->word[i] = (uint32_t)carry;
        carry >>= 32;
    }
    if (carry && b->used < CPROF__BIG_WORDS) b->word[b->used++] = (uint32_t)carry;
}

/* b * base^exponent, base 2 or 10, in steps of the largest power that fits a word */
static void cprof__big_times_power(cprof__big *b, uint32_t base, int exponent) {
    int step = base == 2 ? 31 : 9;
    for (; exponent >= step; exponent -= step) cprof__big_multiply(b, base == 2 ? 1u << 31 : 1000000000u);
    for (; exponent > 0; exponent--) cprof__big_multiply(b, base);
}

static int cprof__big_compare(const cprof__big *a, const cprof__big *b) {
    if (a->used != b->used) return a->used < b->used ? -1 : 1;
    for (int i = a->used - 1; i >= 0; i--)
        if (a->word[i] != b->word[i]) return a->word[i] < b->word[i] ? -1 : 1;
    return 0;
}

static void cprof__big_subtract(cprof__big *a, const cprof__big *b) { /* a >= b */
    int64_t borrow = 0;
    for (int i = 0; i < a->used; i++) {
        int64_t difference = (int64_t)a->word[i] - (i < b->used ? (int64_t)b->word[i] : 0) - borrow;
        borrow = difference < 0;
        a->word[i] = (uint32_t)(difference + (borrow ? (int64_t)1 << 32 : 0));
    }
    while (a->used > 0 && a->word[a->used - 1] == 0) a->used--;
}

/* The decimal digits of a finite value > 0, exactly, rounded half away from zero: `count` significant
   digits, or (count < 0) those down to 10^-decimals. digits[] gets them as numbers 0-9; returns how
   many, and *power the power of ten of the first (0 digits: it rounded to zero). */
enum { CPROF__MAX_DIGITS = 420 }; /* 309 integer digits + 99 decimals + the rounding carry */
static int cprof__exact_digits(double value, int count, int decimals, unsigned char *digits, int *power) {
    int binary_exponent;
    uint64_t mantissa = (uint64_t)ldexp(frexp(value, &binary_exponent), 53);
    binary_exponent -= 53;
    cprof__big numerator, denominator, limit; /* value = numerator / denominator */
    cprof__big_set(&numerator, mantissa);
    cprof__big_set(&denominator, 1);
    cprof__big_times_power(binary_exponent > 0 ? &numerator : &denominator, 2, binary_exponent > 0 ? binary_exponent : -binary_exponent);
    int exponent = (int)floor(log10(value)); /* maybe one off: corrected below */
    cprof__big_times_power(exponent > 0 ? &denominator : &numerator, 10, exponent > 0 ? exponent : -exponent);
    limit = denominator;
    cprof__big_multiply(&limit, 10);
    if (cprof__big_compare(&numerator, &limit) >= 0) denominator = limit, exponent++;
    if (cprof__big_compare(&numerator, &denominator) < 0) cprof__big_multiply(&numerator, 10), exponent--;
    /* now 1 <= numerator / denominator < 10, the value / 10^exponent */
    int wanted = count >= 0 ? count : exponent + 1 + decimals;
    if (wanted > CPROF__MAX_DIGITS - 1) wanted = CPROF__MAX_DIGITS - 1;
    int n = 0;
    for (; n < wanted; n++) {
        unsigned char digit = 0;
        while (cprof__big_compare(&numerator, &denominator) >= 0) cprof__big_subtract(&numerator, &denominator), digit++;
        digits[n] = digit;
        cprof__big_multiply(&numerator, 10);
    }
    limit = denominator;
    cprof__big_multiply(&limit, 5);
    *power = exponent;
    if (wanted < 0 || cprof__big_compare(&numerator, &limit) < 0) return n; /* the rest is under half a unit */
    int i = n - 1;
    for (; i >= 0 && digits[i] == 9; i--) digits[i] = 0;
    if (i >= 0) {
        digits[i]++;
        return n;
    }
    /* 9.99 -> 10.0: one more digit in front (a fixed count keeps its length) */
    memmove(digits + 1, digits, (size_t)n);
    digits[0] = 1;
    *power = exponent + 1;
    return count >= 0 ? (n > 0 ? n : 1) : n + 1;
}

/* The digit of 10^place in digits[] (whose first is 10^power); 0 outside. */
static char cprof__digit_at(const unsigned char *digits, int n, int power, int place) {
    int i = power - place;
    return (char)('0' + (i >= 0 && i < n ? digits[i] : 0));
}

typedef struct cprof__format_spec {
    int left, plus, space, alternate, zero, width, precision; /* precision -1: none */
    char conversion;
} cprof__format_spec;

/* A double's text without sign or padding into out (at least CPROF__MAX_DIGITS + 16 bytes): %f %e %g. */
static size_t cprof__format_double_body(char *out, double value, const cprof__format_spec *s) {
    char lower = (char)(s->conversion | 0x20);
    int upper = s->conversion != lower, precision = s->precision < 0 ? 6 : s->precision > 99 ? 99 : s->precision;
    size_t o = 0;
    if (isnan(value) || isinf(value)) {
        memcpy(out, isnan(value) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf"), 3);
        return 3;
    }
    unsigned char digits[CPROF__MAX_DIGITS];
    int power = 0, n = 0, decimals = precision, scientific = lower == 'e';
    if (lower == 'g' && precision == 0) precision = 1;
    if (value != 0) n = cprof__exact_digits(value, lower == 'f' ? -1 : lower == 'g' ? precision : precision + 1, decimals, digits, &power);
    if (lower == 'g') { /* scientific when the exponent is below -4 or not below the precision */
        scientific = value != 0 && (power < -4 || power >= precision);
        decimals = scientific ? precision - 1 : precision - 1 - (value != 0 ? power : 0);
    }
    int unit = scientific ? power : 0; /* the place of the digit before the point */
    for (int place = scientific || power < 0 ? unit : power; place >= unit; place--)
        out[o++] = cprof__digit_at(digits, n, power, place);
    size_t point = o;
    if (decimals > 0 || s->alternate) out[o++] = '.';
    for (int i = 1; i <= decimals; i++) out[o++] = cprof__digit_at(digits, n, power, unit - i);
    if (lower == 'g' && !s->alternate) { /* no trailing zeros, nor a point without decimals */
        while (o > point + 1 && out[o - 1] == '0') o--;
        if (o == point + 1) o = point;
    }
    if (scientific) {
        int e = value != 0 ? power : 0;
        out[o++] = upper ? 'E' : 'e';
        out[o++] = e < 0 ? '-' : '+';
        if (e < 0) e = -e;
        if (e >= 100) out[o++] = (char)('0' + e / 100);
        out[o++] = (char)('0' + e / 10 % 10);
        out[o++] = (char)('0' + e % 10);
    }
    return o;
}

/* --- the conversions ----------------------------------------------------------------------------- */
typedef struct cprof__format_out {
    char *buffer;
    size_t size, length; /* length counts every byte, written or not (snprintf's contract) */
    char *chunk;         /* stb_sprintf's buffer, when it writes a conversion */
} cprof__format_out;

static void cprof__format_put(cprof__format_out *out, const char *text, size_t length) {
    for (size_t i = 0; i < length; i++, out->length++)
        if (out->length + 1 < out->size) out->buffer[out->length] = text[i];
}

static void cprof__format_repeat(cprof__format_out *out, char c, size_t count) {
    for (size_t i = 0; i < count; i++) cprof__format_put(out, &c, 1);
}

/* prefix (sign, 0x), zeros, body, padded to the width: spaces on the left, on the right with '-', or
   zeros after the prefix with '0' */
static void cprof__format_field(cprof__format_out *out, const cprof__format_spec *s, const char *prefix,
                                size_t zeros, const char *body, size_t length, int zero_pad) {
    size_t prefix_length = strlen(prefix), used = prefix_length + zeros + length;
    size_t pad = s->width > 0 && (size_t)s->width > used ? (size_t)s->width - used : 0;
    if (!s->left && !zero_pad) cprof__format_repeat(out, ' ', pad);
    cprof__format_put(out, prefix, prefix_length);
    cprof__format_repeat(out, '0', zeros + (!s->left && zero_pad ? pad : 0));
    cprof__format_put(out, body, length);
    if (s->left) cprof__format_repeat(out, ' ', pad);
}

static void cprof__format_integer(cprof__format_out *out, const cprof__format_spec *s, uint64_t magnitude, int negative) {
    char digits[24];
    size_t n = sizeof digits;
    unsigned base = s->conversion == 'o' ? 8 : (s->conversion | 0x20) == 'x' ? 16 : 10;
    const char *symbols = s->conversion == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    for (uint64_t v = magnitude; v; v /= base) digits[--n] = symbols[v % base];
    size_t length = sizeof digits - n, minimum = s->precision < 0 ? 1 : (size_t)s->precision;
    if (s->precision == 0 && magnitude == 0) minimum = 0;
    if (s->alternate && base == 8 && minimum <= length) minimum = length + 1;
    const char *prefix = negative ? "-" : s->plus ? "+" : s->space ? " " : "";
    if (base != 10) prefix = s->alternate && base == 16 && magnitude ? (s->conversion == 'X' ? "0X" : "0x") : "";
    cprof__format_field(out, s, prefix, minimum > length ? minimum - length : 0, digits + n, length, s->zero && s->precision < 0);
}

static void cprof__format_float(cprof__format_out *out, const cprof__format_spec *s, double value) {
    char body[CPROF__MAX_DIGITS + 16];
    int negative = signbit(value) != 0;
    size_t length = cprof__format_double_body(body, negative ? -value : value, s);
    const char *prefix = negative ? "-" : s->plus ? "+" : s->space ? " " : "";
    cprof__format_field(out, s, prefix, 0, body, length, s->zero && isfinite(value));
}

/* Reads flags, width, precision and length from after the '%'; returns the conversion's letter and
   stores in *size the length modifier: 'H' hh, 'h', 'l', 'L' ll (or L), 'z' (z j t), 0 none. */
static const char *cprof__format_parse(const char *f, cprof__format_spec *s, char *size, va_list *args) {
    memset(s, 0, sizeof *s);
    s->precision = -1;
    for (;; f++) {
        if (*f == '-') s->left = 1;
        else if (*f == '+') s->plus = 1;
        else if (*f == ' ') s->space = 1;
        else if (*f == '#') s->alternate = 1;
        else if (*f == '0') s->zero = 1;
        else break;
    }
    if (*f == '*') {
        s->width = va_arg(*args, int), f++;
        if (s->width < 0) s->left = 1, s->width = -s->width;
    }
    for (; *f >= '0' && *f <= '9'; f++) s->width = s->width * 10 + (*f - '0');
    if (*f == '.') {
        f++, s->precision = 0;
        if (*f == '*') s->precision = va_arg(*args, int), f++;
        for (; *f >= '0' && *f <= '9'; f++) s->precision = s->precision * 10 + (*f - '0');
        if (s->precision < 0) s->precision = -1;
    }
    *size = 0;
    if (f[0] == 'h' && f[1] == 'h') *size = 'H', f += 2;
    else if (f[0] == 'l' && f[1] == 'l') *size = 'L', f += 2;
    else if (*f == 'h' || *f == 'l' || *f == 'L') *size = *f == 'L' ? 'L' : *f, f++;
    else if (*f == 'z' || *f == 'j' || *f == 't') *size = 'z', f++;
    s->conversion = *f;
    return f;
}

static int64_t cprof__format_signed_argument(char size, va_list *args) {
    switch (size) {
    case 'H': return (signed char)va_arg(*args, int);
    case 'h': return (short)va_arg(*args, int);
    case 'l': return va_arg(*args, long);
    case 'L': return va_arg(*args, long long);
    case 'z': return (int64_t)va_arg(*args, ptrdiff_t);
    default: return va_arg(*args, int);
    }
}

static uint64_t cprof__format_unsigned_argument(char size, va_list *args) {
    switch (size) {
    case 'H': return (unsigned char)va_arg(*args, unsigned);
    case 'h': return (unsigned short)va_arg(*args, unsigned);
    case 'l': return va_arg(*args, unsigned long);
    case 'L': return va_arg(*args, unsigned long long);
    case 'z': return va_arg(*args, size_t);
    default: return va_arg(*args, unsigned);
    }
}

#if defined(CPROF__STB_SPRINTF)
static char *cprof__format_stb_chunk(const char *text, void *user, int length) {
    cprof__format_out *out = (cprof__format_out *)user;
    cprof__format_put(out, text, (size_t)length);
    return out->chunk;
}

/* An integer, string, character or pointer conversion (percent to end) by stb_sprintf, from the
   arguments as they were before the conversion's own (its * width and precision included); 0 when
   its text is too long to copy. */
static int cprof__format_stb(cprof__format_out *out, const char *percent, const char *end, va_list *args) {
    char spec[64] = {0}, chunk[CPROF__STB_CHUNK]; /* zeroed past the end: stb_sprintf reads 4 bytes at a time */
    size_t length = (size_t)(end - percent) + 1;
    if (length >= sizeof spec) return 0; /* left to the built-in conversion */
    memcpy(spec, percent, length);
    out->chunk = chunk;
    cprof__stb_vsprintfcb(cprof__format_stb_chunk, out, chunk, spec, *args);
    return 1;
}
#endif

/* One conversion, from after its '%'; returns what follows it. With stb_sprintf, it writes every
   conversion but the doubles (the same bytes: check-locale builds both and compares every golden output)
   while this one only takes the arguments. */
static const char *cprof__format_conversion(cprof__format_out *out, const char *percent, va_list *args) {
    cprof__format_spec s;
    char size;
    va_list before;
    va_copy(before, *args);
    const char *f = cprof__format_parse(percent + 1, &s, &size, args);
#if defined(CPROF__STB_SPRINTF)
    cprof__format_out discard = {NULL, 0, 0, NULL};
    if (s.conversion && strchr("diuxXocsp", s.conversion) && cprof__format_stb(out, percent, f, &before)) out = &discard;
#endif
    va_end(before);
    if (s.conversion == 'd' || s.conversion == 'i') {
        int64_t v = cprof__format_signed_argument(size, args);
        cprof__format_integer(out, &s, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
    } else if (s.conversion && strchr("uxXo", s.conversion)) {
        cprof__format_integer(out, &s, cprof__format_unsigned_argument(size, args), 0);
    } else if (s.conversion && strchr("fFeEgG", s.conversion)) {
        cprof__format_float(out, &s, size == 'L' ? (double)va_arg(*args, long double) : va_arg(*args, double));
    } else if (s.conversion == 's') {
        const char *text = va_arg(*args, const char *);
        size_t length = 0;
        if (!text) text = "null"; /* as stb_sprintf */
        while ((s.precision < 0 || length < (size_t)s.precision) && text[length]) length++;
        cprof__format_field(out, &s, "", 0, text, length, 0);
    } else if (s.conversion == 'c') {
        char c = (char)va_arg(*args, int);
        cprof__format_field(out, &s, "", 0, &c, 1, 0);
    } else if (s.conversion == 'p') { /* as stb_sprintf writes it: every hex digit, no 0x */
        s.precision = (int)sizeof(void *) * 2, s.conversion = 'x';
        cprof__format_integer(out, &s, (uint64_t)(uintptr_t)va_arg(*args, void *), 0);
    } else if (s.conversion == '%') {
        cprof__format_put(out, "%", 1);
    } else { /* unknown: copied as written */
        cprof__format_put(out, percent, (size_t)(f - percent) + (*f != '\0'));
    }
    return *f ? f + 1 : f;
}

/* vsnprintf's contract: returns the full length, writes at most size bytes including the NUL. */
static int cprof__format_v(char *buffer, size_t size, const char *format, va_list args) {
    cprof__format_out out = {buffer, size, 0, NULL};
    va_list copy;
    va_copy(copy, args);
    while (*format) {
        const char *percent = strchr(format, '%');
        size_t literal = percent ? (size_t)(percent - format) : strlen(format);
        cprof__format_put(&out, format, literal);
        format += literal;
        if (percent) format = cprof__format_conversion(&out, percent, &copy);
    }
    va_end(copy);
    if (size > 0) buffer[out.length < size ? out.length : size - 1] = '\0';
    return out.length > INT32_MAX ? -1 : (int)out.length;
}

static int cprof__snprintf(char *buffer, size_t size, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int length = cprof__format_v(buffer, size, format, args);
    va_end(args);
    return length;
}

/* ==================================================================================================
   >>base: shared helpers every later section uses: growing arrays, hashing, the name map, the text
   buffer and its writers, number formats, UTF-8, C-locale numbers, error text, whole files
   ================================================================================================== */
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

CPROF__NO_INSTRUMENT static size_t cprof__pointer_hash(const void *pointer) {
    uint64_t x = (uint64_t)(uintptr_t)pointer;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x;
}

static size_t cprof__string_hash(const char *text) {
    uint64_t hash = 1469598103934665603ull; /* FNV-1a */
    while (*text) hash = (hash ^ (unsigned char)*text++) * 1099511628211ull;
    return (size_t)hash;
}

/* Names -> function indexes (open addressing over the profile's strings). */
typedef struct cprof__name_map {
    const char **keys;
    uint32_t *values;
    size_t capacity;
} cprof__name_map;

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

/* Length of the valid UTF-8 sequence at `s` (1 to 4), or 0 when the bytes there are not one. */
static size_t cprof__utf8_length(const unsigned char *s, const unsigned char *end) {
    size_t length;
    uint32_t code;
    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) length = 2, code = s[0] & 0x1Fu;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) length = 3, code = s[0] & 0x0Fu;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) length = 4, code = s[0] & 0x07u;
    else return 0;
    if ((size_t)(end - s) < length) return 0;
    for (size_t i = 1; i < length; i++) {
        if ((s[i] & 0xC0u) != 0x80u) return 0;
        code = (code << 6) | (s[i] & 0x3Fu);
    }
    if ((length == 3 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) || (length == 4 && (code < 0x10000 || code > 0x10FFFF)))
        return 0;
    return length;
}

static void cprof__utf8_put(char **out, uint32_t code) {
    unsigned char *o = (unsigned char *)*out;
    if (code < 0x80) *o++ = (unsigned char)code;
    else if (code < 0x800) *o++ = (unsigned char)(0xC0 | (code >> 6)), *o++ = (unsigned char)(0x80 | (code & 0x3F));
    else if (code < 0x10000)
        *o++ = (unsigned char)(0xE0 | (code >> 12)), *o++ = (unsigned char)(0x80 | ((code >> 6) & 0x3F)),
        *o++ = (unsigned char)(0x80 | (code & 0x3F));
    else
        *o++ = (unsigned char)(0xF0 | (code >> 18)), *o++ = (unsigned char)(0x80 | ((code >> 12) & 0x3F)),
        *o++ = (unsigned char)(0x80 | ((code >> 6) & 0x3F)), *o++ = (unsigned char)(0x80 | (code & 0x3F));
    *out = (char *)o;
}

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
    int length = cprof__format_v(small, sizeof small, format, args);
    va_end(args);
    if (length < 0) return;
    if ((size_t)length < sizeof small) {
        cprof__buf_append(b, small, (size_t)length);
        return;
    }
    if (cprof__buf_reserve(b, (size_t)length)) return;
    va_start(args, format);
    cprof__format_v(b->data + b->length, (size_t)length + 1, format, args);
    va_end(args);
    b->length += (size_t)length;
}

static void cprof__buf_free(cprof__buf *b) {
    cprof__release(b->data, b->capacity);
    memset(b, 0, sizeof *b);
}

/* Copies the text into `buffer` with snprintf's contract (returns the full length, writes at most `size`
   bytes including the NUL) and frees `b`. */
static size_t cprof__buf_to_buffer(cprof__buf *b, char *buffer, size_t size) {
    size_t length = b->length;
    if (buffer && size) {
        size_t copied = length < size - 1 ? length : size - 1;
        if (copied) memcpy(buffer, b->data, copied);
        buffer[copied] = '\0';
    }
    cprof__buf_free(b);
    return length;
}

/* Characters, not bytes, so that "µs" pads like "ms". */
static size_t cprof__display_width(const char *text) {
    size_t width = 0;
    for (; *text; text++) width += ((unsigned char)*text & 0xC0u) != 0x80u;
    return width;
}

/* ---- text for a reader's terminal: every string a text, TSV or folded writer takes from a profile,
   an option or a message enters through cprof__buf_text (directly, through cprof__buf_pad_left, or
   as a %s of cprof__buf_textf) ---- */

/* How the character at s (valid UTF-8 of `length` bytes, 0 when not valid) is shown: NULL as it is,
   else its escape in out: C0 controls and DEL as \x1b, C1 controls (U+0080-U+009F) as \u009b, and a
   byte that is not valid UTF-8 as U+FFFD, exactly as the JSON writer stores it, so that a live report
   and the report of its saved profile are the same. */
static const char *cprof__text_escape(char out[8], const unsigned char *s, size_t length) {
    if (length == 0) return "\xEF\xBF\xBD";
    if (length == 1 && (s[0] < 0x20 || s[0] == 0x7F)) cprof__snprintf(out, 8, "\\x%02x", s[0]);
    else if (length == 2 && s[0] == 0xC2 && s[1] < 0xA0) cprof__snprintf(out, 8, "\\u%04x", s[1]);
    else return NULL;
    return out;
}

/* Appends `length` bytes of text escaped as above; the characters in `as_space` (controls only:
   "\t\n\r" for a TSV field) become a space instead. */
static void cprof__buf_text(cprof__buf *b, const char *text, size_t length, const char *as_space) {
    const unsigned char *s = (const unsigned char *)text, *end = s + length, *kept = s; /* kept..s: as it is */
    char escape[8];
    while (s < end) {
        if (*s >= 0x20 && *s < 0x7F) { /* printable ASCII, the common case */
            s++;
            continue;
        }
        size_t n = cprof__utf8_length(s, end);
        const char *shown = cprof__text_escape(escape, s, n);
        if (!shown) {
            s += n;
            continue;
        }
        if (n == 1 && as_space && strchr(as_space, *s)) shown = " ";
        cprof__buf_append(b, (const char *)kept, (size_t)(s - kept));
        cprof__buf_puts(b, shown);
        s += n ? n : 1;
        kept = s;
    }
    cprof__buf_append(b, (const char *)kept, (size_t)(s - kept));
}

static void cprof__buf_text_string(cprof__buf *b, const char *text) { cprof__buf_text(b, text, strlen(text), NULL); }

/* The width in characters of text as cprof__buf_text shows it (so that escaped names keep columns). */
static size_t cprof__text_width(const char *text, size_t length) {
    const unsigned char *s = (const unsigned char *)text, *end = s + length;
    size_t width = 0;
    char escape[8];
    while (s < end) {
        size_t n = *s >= 0x20 && *s < 0x7F ? 1 : cprof__utf8_length(s, end);
        const char *shown = n == 1 && *s >= 0x20 && *s < 0x7F ? NULL : cprof__text_escape(escape, s, n);
        width += shown ? cprof__display_width(shown) : 1;
        s += n ? n : 1;
    }
    return width;
}

/* A %s of cprof__buf_textf: spec holds its flags, width and precision (any * already a number);
   the width counts characters as shown, the precision bytes of the argument, as printf's. */
static void cprof__buf_text_field(cprof__buf *b, const char *spec, const char *text) {
    const char *dot = strchr(spec, '.');
    size_t length = strlen(text ? text : (text = "(null)"));
    long width = strtol(spec + 1 + strspn(spec + 1, "-+ #0"), NULL, 10);
    int left = strchr(spec, '-') != NULL;
    if (dot && strtoul(dot + 1, NULL, 10) < length) length = strtoul(dot + 1, NULL, 10);
    size_t shown = cprof__text_width(text, length);
    for (; !left && (long)shown < width; shown++) cprof__buf_append(b, " ", 1);
    cprof__buf_text(b, text, length, NULL);
    for (; left && (long)shown < width; shown++) cprof__buf_append(b, " ", 1);
}

/* One conversion of cprof__buf_textf, from its '%' to its letter; returns what follows it. */
static const char *cprof__buf_conversion(cprof__buf *b, const char *percent, va_list *args) {
    size_t span = strspn(percent + 1, "-+ #0123456789.*hlzL"), o = 0;
    char conversion = percent[span + 1];
    char spec[64] = {0}; /* zeroed past the conversion: stb_sprintf reads its format 4 bytes at a time */
    for (size_t i = 0; i <= span + 1 && o < 40; i++) {
        if (percent[i] == '*') o += (size_t)cprof__snprintf(spec + o, 12, "%d", va_arg(*args, int));
        else spec[o++] = percent[i];
    }
    spec[o] = '\0';
    if (conversion == 's') cprof__buf_text_field(b, spec, va_arg(*args, const char *));
    else if (conversion == '%') cprof__buf_append(b, "%", 1);
    else if (strchr("fFeEgGaA", conversion)) cprof__buf_printf(b, spec, va_arg(*args, double));
    else if (strstr(spec, "ll")) cprof__buf_printf(b, spec, va_arg(*args, long long));
    else if (strchr(spec, 'l')) cprof__buf_printf(b, spec, va_arg(*args, long));
    else if (strchr(spec, 'z')) cprof__buf_printf(b, spec, va_arg(*args, size_t));
    else if (conversion == 'p') cprof__buf_printf(b, spec, va_arg(*args, void *));
    else cprof__buf_printf(b, spec, va_arg(*args, int)); /* d i u x o c, also with h or hh */
    return conversion ? percent + span + 2 : percent + span + 1;
}

/* cprof__buf_printf for the text writers: every %s argument (a name, a file, a label, a message, or
   a figure cprof formatted) enters through cprof__buf_text; the other conversions are printf's. */
static void cprof__buf_vtextf(cprof__buf *b, const char *format, va_list *args) {
    while (*format) {
        const char *percent = strchr(format, '%');
        if (!percent) {
            cprof__buf_puts(b, format);
            break;
        }
        cprof__buf_append(b, format, (size_t)(percent - format));
        format = cprof__buf_conversion(b, percent, args);
    }
}

static void cprof__buf_textf(cprof__buf *b, const char *format, ...) {
    va_list args;
    va_start(args, format);
    cprof__buf_vtextf(b, format, &args);
    va_end(args);
}

/* Right-aligned in `width` characters; the text enters through cprof__buf_text. */
static void cprof__buf_pad_left(cprof__buf *b, const char *text, size_t width) {
    for (size_t w = cprof__text_width(text, strlen(text)); w < width; w++) cprof__buf_append(b, " ", 1);
    cprof__buf_text_string(b, text);
}

/* A non-negative double rounded to an integer, saturating: converting a double at or above 2^64 to
   uint64_t is undefined behaviour, and a loaded profile's sums and samples can get there. */
static uint64_t cprof__u64_rounded(double value) {
    if (!(value > 0.0)) return 0; /* also NaN */
    return value + 0.5 >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)(value + 0.5);
}

/* A duration with a fixed number of decimals per unit: 950 ns, 12.3 µs, 4.56 ms, 2.010 s. */
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

/* --- the public writers: every one builds into a buffer, then writes it whole ------------------------ */
static int cprof__buf_to_file(cprof__buf *b, FILE *out) {
    int failed = b->failed || !out || fwrite(b->data, 1, b->length, out) != b->length;
    cprof__buf_free(b);
    return failed ? -1 : 0;
}

static double cprof__share(uint64_t part, uint64_t whole) {
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* 1234 -> "1,234 B" */
static const char *cprof__byte_count(char out[32], uint64_t bytes) {
    char digits[32];
    cprof__snprintf(out, 32, "%s B", cprof__count(digits, bytes));
    return out;
}

static int cprof__is_digit(char c) { return c >= '0' && c <= '9'; }

/* How long the number at text is in the C locale's syntax for strtod: [sign] digits [. digits]
   [e [sign] digits], or hexadecimal with p, or inf / nan (which no locale changes). */
static size_t cprof__number_span(const char *text) {
    size_t i = (text[0] == '+' || text[0] == '-') ? 1 : 0;
    int hex = text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X');
    const char *digits = hex ? "0123456789abcdefABCDEF" : "0123456789";
    if (hex) i += 2;
    while (text[i] && strchr(digits, text[i])) i++;
    if (text[i] == '.') for (i++; text[i] && strchr(digits, text[i]); i++) {}
    if (text[i] && strchr(hex ? "pP" : "eE", text[i])) {
        size_t e = i + 1 + (text[i + 1] == '+' || text[i + 1] == '-');
        if (cprof__is_digit(text[e])) for (i = e; cprof__is_digit(text[i]); i++) {}
    }
    return i;
}

/* strtod in the C locale, whatever setlocale() the program made: "0.5" is a half everywhere, "0,5"
   never is. No locale_t (POSIX 2008, hidden by the feature macros a user's file may set): the number's
   characters (C syntax) are copied with '.' replaced by the locale's decimal point, which the C library
   shows by formatting 0.5, and the C library's exact strtod reads the copy. */
static double cprof__strtod_c(const char *text, char **end) {
    while (*text == ' ' || (*text >= '\t' && *text <= '\r')) text++;
    size_t span = cprof__number_span(text), sign = text[0] == '+' || text[0] == '-';
    if (span <= sign + (text[sign] == '.')) { /* no digits: inf, nan (the same in every locale), or nothing */
        if (strchr("iInN", text[sign]) && text[sign]) return strtod(text, end);
        if (end) *end = (char *)(uintptr_t)text;
        return 0;
    }
    char small[128], point[16] = ".", probe[32];
    const char *dot = (const char *)memchr(text, '.', span);
    size_t at = dot ? (size_t)(dot - text) : span, point_length = 1;
    if (dot) {
        size_t shown = (size_t)snprintf(probe, sizeof probe, "%.1f", 0.5); /* "0", the point, "5" */
        if (shown >= 3 && shown - 2 < sizeof point) point_length = shown - 2, memcpy(point, probe + 1, point_length);
    }
    size_t copy_length = span + point_length - 1;
    char *copy = copy_length < sizeof small ? small : (char *)cprof__alloc(copy_length + 1);
    if (!copy) {
        if (end) *end = (char *)(uintptr_t)text;
        return 0;
    }
    memcpy(copy, text, at);
    if (dot) {
        memcpy(copy + at, point, point_length);
        memcpy(copy + at + point_length, text + at + 1, span - at - 1);
    }
    copy[copy_length] = '\0';
    char *copy_end;
    double value = strtod(copy, &copy_end);
    size_t read = (size_t)(copy_end - copy);
    if (dot && read > at) read -= point_length - 1;
    if (end) *end = (char *)(uintptr_t)(text + read);
    if (copy != small) cprof__release(copy, copy_length + 1);
    return value;
}

/* A double in the profile file: 17 significant digits, enough to read the same double back. */
static void cprof__buf_double(cprof__buf *b, double value) {
    char text[40];
    if (!isfinite(value)) value = 0;
    cprof__snprintf(text, sizeof text, "%.17g", value);
    cprof__buf_puts(b, text);
}

static void cprof__buf_u64(cprof__buf *b, uint64_t value) { cprof__buf_printf(b, "%llu", (unsigned long long)value); }

static void cprof__buf_index(cprof__buf *b, uint32_t index) {
    if (index == CPROF_NONE) cprof__buf_puts(b, "null");
    else cprof__buf_u64(b, index);
}

/* Decimal digits only, at most `max`: 1 on success. (A digit above a small max, such as 2 for a 0/1
   field, must be refused before max - digit is computed: that would wrap.) */
static int cprof__parse_decimal(const char *text, size_t length, uint64_t max, uint64_t *value) {
    *value = 0;
    if (length == 0) return 0;
    for (size_t i = 0; i < length; i++) {
        uint64_t digit = (uint64_t)(text[i] - '0');
        if (!cprof__is_digit(text[i]) || digit > max || *value > (max - digit) / 10) return 0;
        *value = *value * 10 + digit;
    }
    return 1;
}

static CPROF__THREAD_LOCAL char cprof__error_text[512];

const char *cprof_error(void) { return cprof__error_text; }

/* The message quotes what it read (a "format" string, a character, a path): shown as the text report
   shows names (cprof__buf_text), cut at a character's start. */
static void cprof__set_error(const char *format, ...) {
    char raw[sizeof cprof__error_text];
    cprof__buf shown;
    va_list args;
    va_start(args, format);
    cprof__format_v(raw, sizeof raw, format, args);
    va_end(args);
    memset(&shown, 0, sizeof shown);
    cprof__buf_text(&shown, raw, strlen(raw), NULL);
    const char *text = shown.data ? shown.data : "out of memory"; /* never the message unescaped */
    size_t length = shown.data ? shown.length : strlen(text);
    if (length >= sizeof raw) {
        length = sizeof raw - 1;
        while (length && ((unsigned char)text[length] & 0xC0u) == 0x80u) length--;
    }
    memcpy(cprof__error_text, text, length);
    cprof__error_text[length] = '\0';
    cprof__buf_free(&shown);
}

#define CPROF__MAX_FILE_BYTES (256 << 20) /* a profile of 100,000 nodes is about 20 MB */

/* Opens a profile for reading: regular files only, checked before anything is read. A FIFO, a
   terminal or a device such as /dev/zero is refused at once: O_NONBLOCK keeps the open of a FIFO
   without a writer from waiting for ever (it is cleared before reading). NULL with cprof_error() set. */
#if !defined(CPROF__WINDOWS)
static FILE *cprof__open_profile_file(const char *path) {
    struct stat info;
    int fd = open(path, O_RDONLY | O_NONBLOCK | CPROF__O_CLOEXEC);
    if (fd < 0) {
        cprof__set_error("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (!CPROF__O_CLOEXEC) fcntl(fd, F_SETFD, FD_CLOEXEC);
    const char *problem = fstat(fd, &info) != 0 ? strerror(errno)
                          : !S_ISREG(info.st_mode) ? "not a regular file (a profile is read from a file only)"
                          : info.st_size > CPROF__MAX_FILE_BYTES ? "larger than 256 MiB: not a profile" : NULL;
    FILE *f = problem ? NULL : cprof__fdopen(fd, "rb");
    if (!problem && !f) problem = strerror(errno);
    if (problem) {
        cprof__set_error("%s: %s", path, problem);
        close(fd);
        return NULL;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return f;
}
#else
/* Windows: no FIFOs to wait on; a device (NUL, CON) is refused by its type after the open. */
static FILE *cprof__open_profile_file(const char *path) {
    struct _stat64 info;
    FILE *f = fopen(path, "rb");
    if (!f) {
        cprof__set_error("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    const char *problem = _fstat64(_fileno(f), &info) != 0 ? strerror(errno)
                          : (info.st_mode & _S_IFMT) != _S_IFREG ? "not a regular file (a profile is read from a file only)"
                          : info.st_size > CPROF__MAX_FILE_BYTES ? "larger than 256 MiB: not a profile" : NULL;
    if (!problem) return f;
    cprof__set_error("%s: %s", path, problem);
    fclose(f);
    return NULL;
}
#endif

/* Reads a whole file into memory; NULL with cprof_error() set. *capacity is the size to release. */
/* All of `f` (at most CPROF__MAX_FILE_BYTES; `name` in messages); NULL with cprof_error() set. */
static char *cprof__read_stream(FILE *f, const char *name, size_t *length, size_t *capacity) {
    char *text = NULL;
    int failed = 0;
    *length = *capacity = 0;
    for (size_t got = 1; got > 0 && !failed && *length <= CPROF__MAX_FILE_BYTES;) {
        failed = cprof__grow(&text, capacity, *length + 65536, 1);
        got = failed ? 0 : fread(text + *length, 1, *capacity - *length, f);
        *length += got;
    }
    if (*length > CPROF__MAX_FILE_BYTES)
        cprof__set_error("%s: larger than %d MiB: not a profile", name, CPROF__MAX_FILE_BYTES >> 20), failed = 1;
    else if (failed) cprof__set_error("%s: out of memory", name);
    else if (ferror(f)) cprof__set_error("%s: read error: %s", name, strerror(errno)), failed = 1;
    if (!failed) return text;
    cprof__release(text, *capacity);
    return NULL;
}

static char *cprof__read_file(const char *path, size_t *length, size_t *capacity) {
    FILE *f = cprof__open_profile_file(path);
    *length = *capacity = 0;
    if (!f) return NULL;
    char *text = cprof__read_stream(f, path, length, capacity);
    fclose(f);
    return text;
}

/* The temporary name of `path` for this process: "path.tmp.PID". */
static void cprof__temporary_name(char *out, size_t size, const char *path) {
    cprof__snprintf(out, size, "%s.tmp.%ld", path, cprof__process_id());
}

/* `content` into `temporary` (for `path`, in messages); 0, or -1 with cprof_error() set and the
   temporary removed. */
static int cprof__write_temporary(const char *temporary, const char *path, const cprof__buf *content) {
    if (content->failed) {
        cprof__set_error("%s: out of memory", path);
        return -1;
    }
    FILE *f = fopen(temporary, "wb");
    int failed = !f;
    if (f) {
        failed |= fwrite(content->data, 1, content->length, f) != content->length;
        failed |= fclose(f) != 0;
    }
    if (!failed) return 0;
    cprof__set_error("%s: cannot write: %s", path, strerror(errno));
    remove(temporary);
    return -1;
}

static int cprof__write_file_atomic(const char *path, const cprof__buf *content) {
    char temporary[4200];
    cprof__temporary_name(temporary, sizeof temporary, path);
    if (cprof__write_temporary(temporary, path, content)) return -1;
    if (cprof__replace_file(temporary, path) == 0) return 0;
    cprof__set_error("%s: cannot write: %s", path, strerror(errno));
    remove(temporary);
    return -1;
}

/* ==================================================================================================
   >>math: statistics: quantiles and medians, Welch's t-test (through the incomplete beta function),
   the moderated t-test, the Benjamini-Hochberg adjustment of p-values
   ================================================================================================== */
/* --- statistics: arrays in, numbers out ------------------------------------------------------------ */
static int cprof__compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-quantile of sorted values, interpolating linearly between order statistics. */
static double cprof__quantile(const double *sorted, size_t count, double p) {
    double h = (double)(count - 1) * p;
    size_t below = (size_t)h;
    if (below + 1 >= count) return sorted[count - 1];
    return sorted[below] + (h - (double)below) * (sorted[below + 1] - sorted[below]);
}

/* Sorts in place; returns the median. */
static double cprof__median(double *values, size_t count) {
    qsort(values, count, sizeof *values, cprof__compare_doubles);
    return cprof__quantile(values, count, 0.5);
}

/* --- statistics -------------------------------------------------------------------------------- */
/* The continued fraction of the regularized incomplete beta function, evaluated with the modified
   Lentz method; converges quickly for x < (a + 1) / (a + b + 2). */
static double cprof__beta_fraction(double a, double b, double x) {
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    d = 1.0 / (fabs(d) < tiny ? tiny : d);
    double h = d;
    for (int m = 1; m <= 500; m++) {
        for (int half = 0; half < 2; half++) { /* the even, then the odd term of step m */
            double numerator = half == 0 ? m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
                                         : -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
            d = 1.0 + numerator * d;
            c = 1.0 + numerator / c;
            d = 1.0 / (fabs(d) < tiny ? tiny : d);
            if (fabs(c) < tiny) c = tiny;
            h *= d * c;
            if (half == 1 && fabs(d * c - 1.0) < 1e-15) return h;
        }
    }
    return h;
}

/* I_x(a, b), the regularized incomplete beta function. */
static double cprof__incomplete_beta(double a, double b, double x) {
    if (x <= 0.0) return 0.0;
    if (x >= 1.0) return 1.0;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1.0 - x));
    if (x < (a + 1.0) / (a + b + 2.0)) return front * cprof__beta_fraction(a, b, x) / a;
    return 1.0 - front * cprof__beta_fraction(b, a, 1.0 - x) / b;
}

/* Two-sided p-value of Student's t with `df` degrees of freedom: P(|T| >= |t|). */
static double cprof__student_p(double t, double df) {
    return cprof__incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
}

/* A sample summarised by its count, mean and variance. */
typedef struct cprof__sample {
    double n, mean, variance;
} cprof__sample;

/* Welch's t-test (unequal variances): two-sided p that the means differ; NaN below 2 values a side,
   where there is no spread to test against. Two exact, spread-free samples: 0 when they differ. */
static double cprof__welch_p(cprof__sample x, cprof__sample y) {
    if (x.n < 2 || y.n < 2) return NAN;
    double vx = x.variance / x.n, vy = y.variance / y.n, se2 = vx + vy;
    if (!(se2 > 0.0)) return x.mean == y.mean ? 1.0 : 0.0;
    double t = (y.mean - x.mean) / sqrt(se2);
    double df = se2 * se2 / (vx * vx / (x.n - 1.0) + vy * vy / (y.n - 1.0));
    return cprof__student_p(t, df);
}

/* The sample of `count` values (several runs' figures): their count, mean and variance. */
static cprof__sample cprof__sample_of_values(const double *values, size_t count) {
    double sum = 0.0, sum_sq = 0.0;
    for (size_t i = 0; i < count; i++) sum += values[i];
    double mean = count ? sum / (double)count : 0.0;
    for (size_t i = 0; i < count; i++) sum_sq += (values[i] - mean) * (values[i] - mean);
    cprof__sample s;
    s.n = (double)count;
    s.mean = mean;
    s.variance = count > 1 ? sum_sq / (double)(count - 1) : 0.0;
    return s;
}

static int cprof__compare_p_refs(const void *a, const void *b) {
    double x = **(double *const *)a, y = **(double *const *)b;
    return (x > y) - (x < y);
}

/* Benjamini-Hochberg: each of the `count` p-values (pointed to by refs, reordered here) replaced by its
   adjusted value min over j >= rank of (count / j) p_(j), at most 1; "adjusted p < alpha" then keeps
   the false discovery rate at alpha, which, when nothing changed, is the chance of any false alarm. */
static void cprof__benjamini_hochberg(double **refs, size_t count) {
    if (!count) return;
    qsort(refs, count, sizeof *refs, cprof__compare_p_refs);
    double smallest = 1.0;
    for (size_t i = count; i-- > 0;) {
        double adjusted = *refs[i] * (double)count / (double)(i + 1);
        if (adjusted < smallest) smallest = adjusted;
        *refs[i] = smallest;
    }
}

/* --- the moderated t-test: many functions, few runs ------------------------------------------------
   With five runs a side, one function's variance rests on 8 degrees of freedom and one odd run can
   triple it; Student's t with 8 df then needs |t| > 5.5 for the p < 0.05 / 90 that a family of 90 tests
   asks of its first. Smyth's empirical Bayes (Stat. Appl. Genet. Mol. Biol. 3(1), 2004, the "limma"
   method): the variances of all the tested functions, on a log scale, follow a scaled inverse chi-square
   prior whose degrees of freedom d0 and scale s0^2 are estimated from them by moments; each function's
   variance is drawn toward s0^2, s~^2 = (d0 s0^2 + d s^2) / (d0 + d), and its t has d0 + d degrees of
   freedom. Under no change the test keeps its level; an odd run inflates a variance less, and the
   borrowed degrees of freedom shorten the t's tails. */
static double cprof__digamma(double x) {
    double shift = 0.0;
    for (; x < 6.0; x += 1.0) shift -= 1.0 / x; /* psi(x) = psi(x + 1) - 1 / x */
    double f = 1.0 / (x * x);
    return shift + log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

static double cprof__trigamma(double x) {
    double shift = 0.0;
    for (; x < 6.0; x += 1.0) shift += 1.0 / (x * x); /* psi'(x) = psi'(x + 1) + 1 / x^2 */
    double f = 1.0 / (x * x);
    return shift + 1.0 / x + f / 2.0 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f / 30)));
}

static double cprof__tetragamma(double x) {
    double shift = 0.0;
    for (; x < 6.0; x += 1.0) shift -= 2.0 / (x * x * x); /* psi''(x) = psi''(x + 1) - 2 / x^3 */
    double f = 1.0 / (x * x);
    return shift - f - f / x - f * f * (0.5 - f * (1.0 / 6 - f * (1.0 / 6 - f * 3.0 / 10)));
}

/* The x with trigamma(x) = y (y > 0), by Newton's method on 1 / trigamma, which is nearly linear. */
static double cprof__trigamma_inverse(double y) {
    if (y > 1e7) return 1.0 / sqrt(y);
    if (y < 1e-6) return 1.0 / y;
    double x = 0.5 + 1.0 / y;
    for (int i = 0; i < 50; i++) {
        double tri = cprof__trigamma(x), step = tri * (1.0 - tri / y) / cprof__tetragamma(x);
        x += step;
        if (fabs(step) < 1e-12 * x) break;
    }
    return x;
}

/* The prior from `count` sample variances, each on `df` degrees of freedom (those not above 0 left out):
   *prior_df (INFINITY when the variances spread no more than chance alone makes them) and
   *prior_variance. 0 when estimated, -1 with fewer than 3 positive variances. */
CPROF__UNUSED static int cprof__moderation_prior(const double *variances, size_t count, double df,
                                                 double *prior_df, double *prior_variance) {
    double sum = 0.0, sum_sq = 0.0, used = 0.0;
    for (size_t i = 0; i < count; i++)
        if (variances[i] > 0.0) {
            double e = log(variances[i]) - cprof__digamma(df / 2.0) + log(df / 2.0);
            sum += e, sum_sq += e * e, used += 1.0;
        }
    if (used < 3.0) return -1;
    double mean = sum / used, spread = (sum_sq - used * mean * mean) / (used - 1.0) - cprof__trigamma(df / 2.0);
    if (spread > 0.0) {
        *prior_df = 2.0 * cprof__trigamma_inverse(spread);
        *prior_variance = exp(mean + cprof__digamma(*prior_df / 2.0) - log(*prior_df / 2.0));
    } else {
        *prior_df = INFINITY;
        *prior_variance = exp(mean);
    }
    return 0;
}

/* The moderated t's two-sided p: the difference of the means over the drawn-in variance, on d0 + d
   degrees of freedom, at most `df_cap` (all the family's, as a prior cannot know more than its data). */
CPROF__UNUSED static double cprof__moderated_p(double difference, double variance, double df, size_t n1,
                                               size_t n2, double prior_df, double prior_variance, double df_cap) {
    double drawn = isinf(prior_df) ? prior_variance : (prior_df * prior_variance + df * variance) / (prior_df + df);
    double total_df = isinf(prior_df) || prior_df + df > df_cap ? df_cap : prior_df + df;
    if (!(drawn > 0.0)) return difference == 0.0 ? 1.0 : 0.0;
    return cprof__student_p(difference / sqrt(drawn * (1.0 / (double)n1 + 1.0 / (double)n2)), total_df);
}

/* ==================================================================================================
   >>timer: the CPU's counter where there is one (rdtsc calibrated against CLOCK_MONOTONIC; AArch64's
   cntvct_el0 at the frequency cntfrq_el0 states), else the clock
   ================================================================================================== */
#if defined(CPROF__X86_64)
#if defined(CPROF__WINDOWS)
#define CPROF__COUNTER_NAME "rdtsc/qpc" /* calibrated against QueryPerformanceCounter */
#else
#define CPROF__COUNTER_NAME "rdtsc"
#endif
CPROF__NO_INSTRUMENT static inline uint64_t cprof__cpu_counter(void) {
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
CPROF__NO_INSTRUMENT static inline uint64_t cprof__cpu_counter(void) {
    uint64_t v;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
    return v;
}
static int cprof__cpu_counter_usable(void) { return 1; }
/* The architecture states the counter's frequency (cntfrq_el0, set by the firmware), so nothing is
   measured; 0 (a firmware that left it unset) falls back to calibration. */
#define CPROF__COUNTER_STATED_HZ 1
static double cprof__cpu_counter_stated_hz(void) {
    uint64_t hz;
    __asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(hz));
    return (double)hz;
}
#else
#define CPROF__COUNTER_NAME CPROF__CLOCK_NAME
CPROF__NO_INSTRUMENT static inline uint64_t cprof__cpu_counter(void) { return cprof__monotonic_ns(); }
static int cprof__cpu_counter_usable(void) { return 0; }
#endif

static struct cprof__timer {
    int use_counter;      /* 1: cprof__cpu_counter, 0: clock_gettime in ns */
    const char *name;
    uint64_t origin_ticks; /* calibration window start */
    uint64_t origin_ns;
} cprof__timer_state;

/* The hot path reads this: one predictable branch, then the counter. */
CPROF__NO_INSTRUMENT static inline uint64_t cprof__ticks(void) {
    return CPROF__LIKELY(cprof__timer_state.use_counter) ? cprof__cpu_counter() : cprof__monotonic_ns();
}

/* The counter and the clock read at one moment: the clock read between two counter reads, the pair with
   the closest counter reads of a few tries kept. A thread preempted between two plain reads (a few ms on
   a loaded machine) would skew the rate measured over a short run by as much. */
static void cprof__timer_read_pair(uint64_t *ticks, uint64_t *ns) {
    uint64_t best_gap = UINT64_MAX;
    *ticks = *ns = 0;
    for (int try_index = 0; try_index < 8; try_index++) {
        uint64_t before = cprof__ticks(), clock_ns = cprof__monotonic_ns(), after = cprof__ticks();
        if (try_index > 0 && after - before >= best_gap) continue;
        best_gap = after - before;
        *ticks = before + best_gap / 2;
        *ns = clock_ns;
    }
}

static void cprof__timer_init(const char *choice) {
    int want_clock = choice && strcmp(choice, "clock") == 0;
    cprof__timer_state.use_counter = !want_clock && cprof__cpu_counter_usable();
    cprof__timer_state.name = cprof__timer_state.use_counter ? CPROF__COUNTER_NAME : CPROF__CLOCK_NAME;
    cprof__timer_read_pair(&cprof__timer_state.origin_ticks, &cprof__timer_state.origin_ns);
}

/* Ticks per second, measured over the whole run so far: the longer the window, the smaller the error
   of the two clock reads at its ends. A window shorter than 2 ms is stretched by waiting. */
static double cprof__timer_hz(void) {
    uint64_t ticks = 0, ns = 0;
    if (!cprof__timer_state.use_counter) return 1e9;
#if defined(CPROF__COUNTER_STATED_HZ)
    if (cprof__cpu_counter_stated_hz() > 0) return cprof__cpu_counter_stated_hz();
#endif
    do {
        cprof__timer_read_pair(&ticks, &ns);
    } while (ns - cprof__timer_state.origin_ns < 2000000u);
    return (double)(ticks - cprof__timer_state.origin_ticks) * 1e9 / (double)(ns - cprof__timer_state.origin_ns);
}

static uint64_t cprof__ticks_to_ns(uint64_t ticks, double hz) {
    if (hz == 1e9) return ticks;
    return (uint64_t)((double)ticks * (1e9 / hz) + 0.5);
}

/* ==================================================================================================
   >>recorder: the recorder's state: per-thread call trees (nodes keyed by site), the registry of threads,
   messages, node storage. Scope entry and exit come after >>counters and >>allocs, which they call
   ================================================================================================== */
#define CPROF__MAX_DEPTH 512        /* deeper scope entries are counted as dropped, not recorded */
#define CPROF__FIRST_BLOCK_NODES 64 /* node storage grows in blocks of 64, 128, 256, ... nodes */
#define CPROF__MAX_BLOCKS 20        /* 64 * (2^20 - 1): about 67 million nodes per thread */
#define CPROF__MAX_MESSAGES 64
#define CPROF__NAME_BYTES 64
#define CPROF__EXITED_KEPT 64       /* exited threads kept apart in profiles; later ones are merged */

/* A node of a live tree. Only its thread writes it (with relaxed stores); a capture reads it. */
typedef struct cprof__rnode {
    const cprof_site *site;
    struct cprof__rnode *first_child;
    struct cprof__rnode *next_sibling;
    uint64_t calls;
    uint64_t counted_calls; /* calls counted and not timed (>>auto: CPROF_AUTO_MIN_NS); not in `calls` */
    uint64_t total_ticks;
    uint64_t min_ticks;
    uint64_t max_ticks;
    double sum_sq_ticks2;
    uint32_t capture_index; /* scratch for the capture, which holds the registry lock */
    uint32_t child_count;   /* its thread's: past CPROF__CHILD_INDEX_FROM children, child_index finds them */
    struct cprof__child_index *child_index; /* its thread's only; the capture walks the sibling list */
    uint64_t *counter_values; /* >>counters: per selected event, then time enabled and running; NULL when none */
    uint64_t alloc_count, alloc_bytes; /* >>allocs: made while this node was current (its thread writes) */
} cprof__rnode;

/* The timeline (CPROF_TIMELINE): a thread's bounded buffer of events, written by its thread only. An
   event is 16 bytes on a 64-bit machine (12 on 32-bit x86): the scope's own timer read, absolute (a delta
   would save 4 bytes but make every event depend on the one before, which the ring overwrites), and one
   word: the node's address with the kind in its 2 low bits (a node is at least 4-byte aligned), or for a
   frame mark its number shifted left by 2. The capture maps the address to the node's index in the profile. */
typedef struct cprof__timeline_event {
    uint64_t ticks;
    uintptr_t what;
} cprof__timeline_event;

typedef struct cprof__timeline { /* its `capacity` events follow it (cprof__timeline_events) */
    uint64_t written;   /* events recorded since the start or the last reset (also those dropped) */
    uint64_t lap_start; /* a multiple of capacity: event number `written` goes to slot written - lap_start */
    uint32_t capacity;  /* events, fixed when the buffer is made */
    uint32_t policy;    /* CPROF_TIMELINE_RECENT (a ring: the oldest is overwritten) or _FIRST (the rest counted) */
} cprof__timeline;

typedef struct cprof__frame {
    cprof__rnode *node;
    uint64_t start_ticks;
    const cprof_site *site;
} cprof__frame;

/* A frame pushed by cprof__count_enter: counted, never timed (its start is this mark). */
#define CPROF__UNTIMED UINT64_MAX

typedef struct cprof__recorder {
    struct cprof__recorder *next; /* registry list, in creation order */
    uint64_t thread_id;
    uint32_t depth; /* open frames; stack[0] is the root */
    uint32_t exited;
    uint32_t busy;  /* 1 while its thread is inside enter, exit or end: a signal handler's scope then
                       finds the tree half-changed and is dropped (see cprof__enter) */
    /* >>preemption: the kernel's head of this thread's ring of context switches (NULL when not recorded)
       and how far the thread has read it: a timed exit compares the two */
    const volatile uint64_t *switch_head;
    uint64_t switch_seen;
    struct cprof__switches *switches;
    uint64_t dropped;
    uint64_t signal_dropped; /* scopes dropped because they began while busy: in a signal handler */
    unsigned char *storage_next; /* the rest of the current chunk of cprof__recorder_storage */
    size_t storage_left;
    struct cprof__storage_chunk *storage_chunks;
    uint64_t node_count;
    uint32_t block_count;
    cprof__rnode root;
    cprof__rnode *blocks[CPROF__MAX_BLOCKS];
    char name[CPROF__NAME_BYTES];
    cprof__frame stack[CPROF__MAX_DEPTH + 1];
    struct cprof__counter_group *counters; /* >>counters: NULL when this thread counts nothing */
    struct cprof__alloc_thread *allocs;    /* >>allocs: NULL until the thread's first tracked allocation */
    struct cprof__sample_thread *samples;  /* >>sample: NULL until the thread is sampled */
    uintptr_t stack_low, stack_high;       /* >>sample: the thread's stack, for the frame-pointer walk */
    struct cprof__recorder *spare_next;    /* on cprof__g.spare: its thread exited, its tree was merged */
    uint32_t spare;                        /* 1 while on it: a capture skips it */
    cprof__timeline *timeline;             /* NULL when the timeline is off (one branch per enter and exit) */
    uint64_t frame_marks;                  /* CPROF_FRAME() calls on this thread: the frames' numbers */
} cprof__recorder;

static cprof__once_flag cprof__once = CPROF__ONCE_INIT;
static cprof__mutex cprof__lock = CPROF__MUTEX_INIT; /* the registry and the messages;
                                                                    never taken on the hot path */
/* One capture at a time (it writes scratch into the live nodes), and no thread's counters closed during
   one. Taken before cprof__lock, which a capture holds only to copy the registry, so that threads start
   and name themselves while a capture walks their trees. */
static cprof__mutex cprof__capture_lock = CPROF__MUTEX_INIT;
static struct cprof__global {
    cprof__thread_exit_key exit_key;
    int enabled;
    int forced_off; /* CPROF=0 */
    uint64_t start_ticks;
    int64_t start_unix_ns;
    cprof__recorder *recorders, *last_recorder;
    uint32_t thread_count;   /* threads seen: the default names count them */
    uint32_t recorder_count; /* in the registry: threads kept apart, the merged exited ones, spare ones */
    uint32_t exited_kept;    /* exited threads kept apart, at most CPROF__EXITED_KEPT */
    uint64_t exited_merged;  /* exited threads whose trees went into `exited` */
    cprof__recorder *exited; /* the merged exited threads, a pseudo-thread; NULL until the first */
    cprof__recorder *spare;  /* merged threads' recorders, for new threads (linked by `spare_next`) */
    uint64_t signal_dropped_early; /* scopes in handlers while their thread's recorder was being made */
    int compensate;                /* CPROF_COMPENSATE: 1 (default) subtracts the calibrated own cost */
    int preemption;                /* CPROF_PREEMPTION: 1 (default) leaves preempted time out of scopes (>>preemption) */
    uint64_t preempted_ticks, preemptions, preemptions_lost; /* since the start or the last reset, every thread */
    uint32_t preemption_threads, preemption_fds; /* threads whose switches were recorded; rings open now */
    int preemption_error;                        /* the first failure's errno (0: none) */
    double inside_ticks, outside_ticks; /* one manual scope's own cost, calibrated at start-up (>>scopes) */
    double auto_inside_ticks, auto_outside_ticks, counted_ticks; /* the hooks', calibrated at the first (>>auto) */
    uint64_t auto_min_ticks, auto_min_ns; /* CPROF_AUTO_MIN_NS: automatic functions averaging less are counted */
    uint32_t timeline_capacity, timeline_policy; /* CPROF_TIMELINE or cprof_timeline_enable; 0: off */
    char out_prefix[4096];
    cprof_message messages[CPROF__MAX_MESSAGES];
    char message_text[CPROF__MAX_MESSAGES][160];
    size_t message_count;
    uint64_t messages_dropped;
} cprof__g;

static CPROF__THREAD_LOCAL cprof__recorder *cprof__this_thread;

/* Budgets per scope (cprof_budget): the process's table, copied into each capture; the analyzer keeps a
   list of the same kind for the budgets of its options. */
#define CPROF__MAX_BUDGETS 256
#define CPROF__BUDGET_NAME_BYTES 128

typedef struct cprof__budget_entry {
    char name[CPROF__BUDGET_NAME_BYTES];
    uint64_t ns;
} cprof__budget_entry;

static cprof__budget_entry cprof__budgets[CPROF__MAX_BUDGETS]; /* under cprof__lock */
static size_t cprof__budget_count;

/* Adds or replaces `name`'s budget in `list`; 0 on success, -1 when the list is full. */
static int cprof__budget_set(cprof__budget_entry *list, size_t *count, size_t capacity, const char *name,
                             size_t length, uint64_t ns) {
    size_t i = 0;
    while (i < *count && !(strlen(list[i].name) == length && strncmp(list[i].name, name, length) == 0)) i++;
    if (i == *count) {
        if (*count == capacity) return -1;
        memcpy(list[i].name, name, length);
        list[i].name[length] = '\0';
        (*count)++;
    }
    list[i].ns = ns;
    return 0;
}

/* >>sample: the thread's stack bounds (at its recorder's making), its perf event or timer started and
   stopped, its samples forgotten when its tree is merged into "exited threads". */
static void cprof__stack_bounds(cprof__recorder *r);
static void cprof__sample_thread_start(cprof__recorder *r);
static void cprof__sample_thread_stop(cprof__recorder *r);
static void cprof__sample_forget(cprof__recorder *r);
static void cprof__samples_reset(void);
static void cprof__sample_merge_exited(cprof__recorder *into, cprof__recorder *r);
static int cprof__sample_handler_check(void);
#if !defined(CPROF__WINDOWS)
static void cprof__events_fork_child(void);
#endif

/* Defined in >>scopes, after >>counters and >>allocs, which it calls; the allocation tracker needs it
   to find the calling thread's recorder. */
CPROF__NO_INSTRUMENT static cprof__recorder *cprof__recorder_get(void);
static CPROF__THREAD_LOCAL int cprof__recorder_creating; /* a signal handler's scope meanwhile is not recorded */

/* Keeps the first CPROF__MAX_MESSAGES problems and counts the rest. */
static void cprof__message(const char *file, int line, const char *format, ...) {
    va_list args;
    cprof__mutex_lock(&cprof__lock);
    if (cprof__g.message_count < CPROF__MAX_MESSAGES) {
        size_t i = cprof__g.message_count++;
        va_start(args, format);
        cprof__format_v(cprof__g.message_text[i], sizeof cprof__g.message_text[i], format, args);
        va_end(args);
        cprof__g.messages[i].file = file ? file : "";
        cprof__g.messages[i].line = (uint32_t)(line > 0 ? line : 0);
        cprof__g.messages[i].text = cprof__g.message_text[i];
    } else {
        cprof__g.messages_dropped++;
    }
    cprof__mutex_unlock(&cprof__lock);
}

CPROF__NO_INSTRUMENT static void cprof__node_clear(cprof__rnode *node) {
    CPROF__STORE(node->calls, 0);
    CPROF__STORE(node->total_ticks, 0);
    CPROF__STORE(node->min_ticks, UINT64_MAX);
    CPROF__STORE(node->max_ticks, 0);
    double zero = 0;
    CPROF__STORE_DOUBLE(node->sum_sq_ticks2, zero);
    CPROF__STORE(node->alloc_count, 0);
    CPROF__STORE(node->alloc_bytes, 0);
    CPROF__STORE(node->counted_calls, 0);
}

/* The recorder's small allocations that a scope may need (a node's counter values, a child index),
   carved from chunks of pages that live as long as the recorder: no malloc on a signal handler's path.
   Zeroed, 8-byte aligned; NULL when out of memory. Only the recorder's thread calls it. */
#define CPROF__STORAGE_CHUNK_BYTES 65536
typedef struct cprof__storage_chunk {
    struct cprof__storage_chunk *next;
    size_t bytes;
} cprof__storage_chunk;

CPROF__NO_INSTRUMENT static void *cprof__recorder_storage(cprof__recorder *r, size_t bytes) {
    bytes = (bytes + 7) & ~(size_t)7;
    if (bytes > r->storage_left) {
        size_t chunk_bytes = bytes + sizeof(cprof__storage_chunk) > CPROF__STORAGE_CHUNK_BYTES
                                 ? bytes + sizeof(cprof__storage_chunk) : CPROF__STORAGE_CHUNK_BYTES;
        cprof__storage_chunk *chunk = (cprof__storage_chunk *)cprof__pages_alloc(chunk_bytes);
        if (!chunk) return NULL;
        chunk->bytes = chunk_bytes;
        chunk->next = r->storage_chunks;
        r->storage_chunks = chunk;
        r->storage_next = (unsigned char *)(chunk + 1);
        r->storage_left = chunk_bytes - sizeof *chunk;
    }
    void *p = r->storage_next;
    r->storage_next += bytes;
    r->storage_left -= bytes;
    return p;
}

/* Node storage: block b holds 64 * 2^b nodes, so the blocks never move and the count of blocks stays
   small however large the tree grows. */
CPROF__NO_INSTRUMENT static cprof__rnode *cprof__node_new(cprof__recorder *r) {
    uint64_t index = r->node_count;
    uint64_t capacity = (uint64_t)CPROF__FIRST_BLOCK_NODES * ((1ull << r->block_count) - 1);
    if (index == capacity) {
        if (r->block_count == CPROF__MAX_BLOCKS) return NULL;
        size_t nodes = (size_t)CPROF__FIRST_BLOCK_NODES << r->block_count;
        cprof__rnode *block = (cprof__rnode *)cprof__pages_alloc(nodes * sizeof *block);
        if (!block) return NULL;
        r->blocks[r->block_count++] = block;
        capacity += nodes;
    }
    uint32_t last = r->block_count - 1;
    uint64_t block_start = (uint64_t)CPROF__FIRST_BLOCK_NODES * ((1ull << last) - 1);
    CPROF__STORE(r->node_count, index + 1);
    return &r->blocks[last][index - block_start];
}

/* A node with many children finds them by site in a hash table (open addressing, at most half full),
   so that entering a scope costs the same under a parent with 1,000 children as with one (an
   interpreter's dispatch loop, an event loop). Made from the recorder's storage: no malloc on a path a
   signal handler's scope reaches; a grown table leaves the old one in the storage (at most as large). */
#define CPROF__CHILD_INDEX_FROM 8 /* children scanned in the sibling list before a table pays */
typedef struct cprof__child_index {
    uint32_t capacity; /* a power of 2 */
    cprof__rnode *slots[1]; /* [capacity] */
} cprof__child_index;

static void cprof__child_index_put(cprof__child_index *index, cprof__rnode *child) {
    size_t slot = cprof__pointer_hash(child->site) & (index->capacity - 1);
    while (index->slots[slot]) slot = (slot + 1) & (index->capacity - 1);
    index->slots[slot] = child;
}

/* A parent's new child is entered in its table, which is made or doubled as needed. Out of memory,
   the parent keeps the old table (or none) and its children are still found through the list. */
CPROF__NO_INSTRUMENT static void cprof__child_index_add(cprof__recorder *r, cprof__rnode *parent, cprof__rnode *child) {
    cprof__child_index *index = parent->child_index;
    if (!index || (size_t)parent->child_count * 2 > index->capacity) {
        uint32_t capacity = 4 * CPROF__CHILD_INDEX_FROM;
        while ((size_t)parent->child_count * 2 > capacity) capacity *= 2;
        cprof__child_index *bigger = (cprof__child_index *)cprof__recorder_storage(
            r, sizeof *bigger + (capacity - 1) * sizeof bigger->slots[0]);
        if (!bigger) { parent->child_index = NULL; return; }
        bigger->capacity = capacity;
        for (cprof__rnode *c = parent->first_child; c; c = c->next_sibling) cprof__child_index_put(bigger, c);
        parent->child_index = bigger; /* already holds `child`, the list's first */
        return;
    }
    cprof__child_index_put(index, child);
}

/* Not the parent's first child: look in its table, or along its short list. NULL when new. */
CPROF__NO_INSTRUMENT static cprof__rnode *cprof__child_find(const cprof__rnode *parent, const cprof_site *site) {
    const cprof__child_index *index = parent->child_index;
    if (!index) {
        cprof__rnode *node = parent->first_child;
        while (node && node->site != site) node = node->next_sibling;
        return node;
    }
    size_t slot = cprof__pointer_hash(site) & (index->capacity - 1);
    while (index->slots[slot] && index->slots[slot]->site != site) slot = (slot + 1) & (index->capacity - 1);
    return index->slots[slot];
}

/* Cold: the first entry of `site` under `parent`. The node is complete before it is published. */
CPROF__NO_INSTRUMENT static cprof__rnode *cprof__node_add(cprof__recorder *r, cprof__rnode *parent, const cprof_site *site) {
    cprof__rnode *node = cprof__node_new(r);
    if (!node) return NULL;
    node->site = site;
    node->capture_index = CPROF_NONE; /* not in any capture yet */
    cprof__node_clear(node);
    node->first_child = NULL; /* a spare recorder's nodes are used again */
    node->child_count = 0;
    node->child_index = NULL;
    node->counter_values = NULL;
    node->next_sibling = parent->first_child;
    CPROF__STORE_RELEASE(parent->first_child, node);
    if (++parent->child_count > CPROF__CHILD_INDEX_FROM) cprof__child_index_add(r, parent, node);
    return node;
}

/* Removes `name`'s budget; 0 when there was one. */
static int cprof__budget_remove(const char *name) {
    for (size_t i = 0; i < cprof__budget_count; i++) {
        if (strcmp(cprof__budgets[i].name, name) != 0) continue;
        cprof__budgets[i] = cprof__budgets[--cprof__budget_count];
        return 0;
    }
    return -1;
}

int cprof_budget(const char *name, uint64_t budget_ns) {
    if (!name || !*name || strlen(name) >= CPROF__BUDGET_NAME_BYTES) return -1;
    cprof__mutex_lock(&cprof__lock);
    int result = budget_ns ? cprof__budget_set(cprof__budgets, &cprof__budget_count, CPROF__MAX_BUDGETS, name,
                                               strlen(name), budget_ns)
                           : cprof__budget_remove(name);
    cprof__mutex_unlock(&cprof__lock);
    return result;
}

static void cprof__tree_clear(cprof__rnode *node) {
    for (cprof__rnode *child = CPROF__LOAD_ACQUIRE(node->first_child); child;
         child = CPROF__LOAD(child->next_sibling)) {
        cprof__node_clear(child);
        cprof__tree_clear(child);
    }
}

/* ==================================================================================================
   >>counters: perf_event counters per scope: the event table, choosing events, one group per thread,
   one read routine, one accumulation. Hardware and software events take the same path.
   ================================================================================================== */
#define CPROF__MAX_COUNTERS 16     /* events in one selection */
#define CPROF__COUNTER_NAME_BYTES 32
#define CPROF__UNKNOWN_EVENT 1000  /* "errno" of a requested name that is not in the table */
#define CPROF__NOT_LINUX 1001      /* "errno" of every event where there is no perf_event_open */

#if defined(CPROF__LINUX)
#define CPROF__EVENT_HW(config) PERF_TYPE_HARDWARE, PERF_COUNT_HW_##config
#define CPROF__EVENT_SW(config) PERF_TYPE_SOFTWARE, PERF_COUNT_SW_##config
#define CPROF__EVENT_CACHE(cache, result)                                                   \
    PERF_TYPE_HW_CACHE, (PERF_COUNT_HW_CACHE_##cache | (PERF_COUNT_HW_CACHE_OP_READ << 8) | \
                         ((uint64_t)PERF_COUNT_HW_CACHE_RESULT_##result << 16))
#else
#define CPROF__EVENT_HW(config) 0, 0
#define CPROF__EVENT_SW(config) 1, 0
#define CPROF__EVENT_CACHE(cache, result) 3, 0
#endif

/* The one event table. `in_kernel`: the event happens only inside the kernel (a context switch),
   so it is opened with exclude_kernel = 0: with exclude_kernel it would always read 0. Everything else
   counts user space only. */
typedef struct cprof__event {
    const char *name;
    uint32_t type; /* PERF_TYPE_* */
    uint64_t config;
    int in_kernel;
} cprof__event;

static const cprof__event cprof__events[] = {
    {"cycles", CPROF__EVENT_HW(CPU_CYCLES), 0},
    {"instructions", CPROF__EVENT_HW(INSTRUCTIONS), 0},
    {"cache-references", CPROF__EVENT_HW(CACHE_REFERENCES), 0},
    {"cache-misses", CPROF__EVENT_HW(CACHE_MISSES), 0},
    {"branches", CPROF__EVENT_HW(BRANCH_INSTRUCTIONS), 0},
    {"branch-misses", CPROF__EVENT_HW(BRANCH_MISSES), 0},
    {"L1d-loads", CPROF__EVENT_CACHE(L1D, ACCESS), 0},
    {"L1d-misses", CPROF__EVENT_CACHE(L1D, MISS), 0},
    {"LLC-loads", CPROF__EVENT_CACHE(LL, ACCESS), 0},
    {"LLC-misses", CPROF__EVENT_CACHE(LL, MISS), 0},
    {"dTLB-misses", CPROF__EVENT_CACHE(DTLB, MISS), 0},
    {"page-faults", CPROF__EVENT_SW(PAGE_FAULTS), 0},
    {"minor-faults", CPROF__EVENT_SW(PAGE_FAULTS_MIN), 0},
    {"major-faults", CPROF__EVENT_SW(PAGE_FAULTS_MAJ), 0},
    {"task-clock", CPROF__EVENT_SW(TASK_CLOCK), 0},
    {"context-switches", CPROF__EVENT_SW(CONTEXT_SWITCHES), 1},
    {"cpu-migrations", CPROF__EVENT_SW(CPU_MIGRATIONS), 1},
};
#define CPROF__EVENT_COUNT (sizeof cprof__events / sizeof cprof__events[0])
#define CPROF__DEFAULT_COUNTERS "cycles,instructions,cache-references,cache-misses,branch-misses,page-faults"

/* The selection: chosen once (CPROF_COUNTERS, or the first cprof_counters_enable), then read-only. */
static struct cprof__counter_selection {
    int chosen;
    uint32_t count;                    /* events requested */
    uint32_t available;                /* of those, how many the probe could open */
    uint32_t event[CPROF__MAX_COUNTERS]; /* index into cprof__events; CPROF_NONE for an unknown name */
    int error[CPROF__MAX_COUNTERS];    /* 0: available; else the probe's errno, or CPROF__UNKNOWN_EVENT... */
    char name[CPROF__MAX_COUNTERS][CPROF__COUNTER_NAME_BYTES];
    uint32_t ignored_count;            /* names past CPROF__MAX_COUNTERS, noted once the lock is free */
    char ignored[160];                 /* "name, name, ..." of those, as many as fit */
} cprof__selection;

/* One thread's counters: an event group and the counter values at the start of each open frame. */
typedef struct cprof__counter_group {
    int fd[CPROF__MAX_COUNTERS];             /* by selection index; -1 when not counting on this thread */
    uint32_t position[CPROF__MAX_COUNTERS];  /* its place in the group's read() answer */
    uint32_t open_count;
    int use_rdpmc;                           /* every event has a perf mmap page with cap_user_rdpmc */
    void *page[CPROF__MAX_COUNTERS];         /* the mmap pages (rdpmc only) */
    size_t page_bytes, bytes;
    uint8_t started[CPROF__MAX_DEPTH + 1];   /* frame has start values (opened after the group) */
    uint64_t *start;                         /* [(CPROF__MAX_DEPTH + 1) * slots] */
} cprof__counter_group;

/* A recorder's `counters` points here until its thread first records: the group is opened then, on
   the thread it measures. Never written. */
static cprof__counter_group cprof__counters_pending;

/* Values per node and per frame: each selected event, then time enabled and time running in ns. */
static uint32_t cprof__counter_slots(void) { return cprof__selection.count + 2; }

#if defined(CPROF__LINUX)
static void cprof__event_attr(struct perf_event_attr *attr, const cprof__event *event) {
    memset(attr, 0, sizeof *attr);
    attr->size = sizeof *attr;
    attr->type = event->type;
    attr->config = event->config;
    attr->read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    if (!event->in_kernel) attr->exclude_kernel = 1; /* constant stores: -Wconversion accepts them into a bit-field */
    attr->exclude_hv = 1;
}

/* Opens `event` on the calling thread, in the group of `leader` (-1: a new group). The fd, or -errno. */
static int cprof__event_open(const cprof__event *event, int leader) {
    struct perf_event_attr attr;
    cprof__event_attr(&attr, event);
    long fd = cprof__syscall(SYS_perf_event_open, &attr, 0, -1, leader, (unsigned long)PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : (int)fd;
}

static int cprof__perf_event_paranoid(void) {
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    int level = -100;
    if (f) {
        if (fscanf(f, "%d", &level) != 1) level = -100;
        fclose(f);
    }
    return level;
}
#else
static int cprof__event_open(const cprof__event *event, int leader) {
    (void)event;
    (void)leader;
    return -CPROF__NOT_LINUX;
}
static int cprof__perf_event_paranoid(void) { return -100; }
#endif

static uint32_t cprof__event_find(const char *name, size_t length) {
    for (uint32_t i = 0; i < CPROF__EVENT_COUNT; i++)
        if (strlen(cprof__events[i].name) == length && strncmp(cprof__events[i].name, name, length) == 0) return i;
    return CPROF_NONE;
}

/* Adds one requested name to the selection; duplicates are ignored, past the limit is a message. */
static void cprof__selection_add(const char *name, size_t length) {
    struct cprof__counter_selection *s = &cprof__selection;
    for (uint32_t k = 0; k < s->count; k++)
        if (strlen(s->name[k]) == length && strncmp(s->name[k], name, length) == 0) return;
    if (s->count == CPROF__MAX_COUNTERS) { /* under the lock that cprof__message takes: noted later */
        size_t used = strlen(s->ignored);
        cprof__snprintf(s->ignored + used, sizeof s->ignored - used, "%s%.*s", s->ignored_count ? ", " : "",
                        (int)length, name);
        s->ignored_count++;
        return;
    }
    uint32_t k = s->count++;
    size_t kept = length < CPROF__COUNTER_NAME_BYTES ? length : CPROF__COUNTER_NAME_BYTES - 1;
    memcpy(s->name[k], name, kept);
    s->name[k][kept] = '\0';
    s->event[k] = cprof__event_find(name, length);
}

/* Every requested event is opened once, alone, on the calling thread and closed again: whatever fails
   here is unavailable for the whole run, with its reason, and no thread tries it again. */
static void cprof__selection_probe(void) {
    struct cprof__counter_selection *s = &cprof__selection;
    for (uint32_t k = 0; k < s->count; k++) {
        int fd = s->event[k] == CPROF_NONE ? -CPROF__UNKNOWN_EVENT : cprof__event_open(&cprof__events[s->event[k]], -1);
        s->error[k] = fd < 0 ? -fd : 0;
        if (fd >= 0) close(fd);
        s->available += fd >= 0;
    }
}

/* "a,b,c" (spaces allowed; "default" or "" is the default set) -> the selection. Under the lock. */
static void cprof__selection_choose(const char *events) {
    if (!events || !*events || strcmp(events, "default") == 0 || strcmp(events, "1") == 0) events = CPROF__DEFAULT_COUNTERS;
    while (*events) {
        while (*events == ' ' || *events == ',') events++;
        size_t length = strcspn(events, ", ");
        if (length) cprof__selection_add(events, length);
        events += length;
    }
    cprof__selection_probe();
    cprof__selection.chosen = 1;
}

/* After cprof__selection_choose, without the lock: the names past the limit, in one message. */
static void cprof__selection_note_ignored(void) {
    if (cprof__selection.ignored_count)
        cprof__message(NULL, 0, "%u counters not used (at most %d): %s", (unsigned)cprof__selection.ignored_count,
                       CPROF__MAX_COUNTERS, cprof__selection.ignored);
}

/* The counters a recorder starts with: pending when there is anything to count. Under the lock. */
static cprof__counter_group *cprof__counters_for_new_thread(void) {
    return cprof__selection.available ? &cprof__counters_pending : NULL;
}

/* --- reading: one routine for every event, rdpmc where the kernel offers it, else read() --- */
#if defined(CPROF__LINUX) && defined(CPROF__X86_64)
static inline uint64_t cprof__rdpmc(uint32_t counter) {
    uint32_t lo, hi;
    __asm__ __volatile__("rdpmc" : "=a"(lo), "=d"(hi) : "c"(counter));
    return ((uint64_t)hi << 32) | lo;
}
#define CPROF__HAS_RDPMC 1
#endif

#if defined(CPROF__LINUX)
/* The arithmetic of the perf mmap page (linux/perf_event.h): the count is the kernel's offset plus the
   counter's value sign-extended from its width; enabled and running advance by the time since the
   kernel last updated them, computed from the TSC. out = {count, enabled, running}. Without rdpmc
   (AArch64) only the tests call it. */
static CPROF__UNUSED void cprof__mmap_page_decode(const struct perf_event_mmap_page *page, uint64_t pmc, uint64_t tsc,
                                    uint64_t out[3]) {
    uint64_t count = (uint64_t)page->offset, enabled = page->time_enabled, running = page->time_running;
    if (page->index && page->pmc_width && page->pmc_width < 64) {
        uint32_t shift = 64u - page->pmc_width;
        pmc = (uint64_t)((int64_t)(pmc << shift) >> shift);
    }
    if (page->index) count += pmc;
    if (page->cap_user_time) {
        if (page->cap_user_time_short) tsc = page->time_cycles + ((tsc - page->time_cycles) & page->time_mask);
        uint64_t quot = tsc >> page->time_shift, rem = tsc & (((uint64_t)1 << page->time_shift) - 1);
        uint64_t delta = page->time_offset + quot * page->time_mult + ((rem * page->time_mult) >> page->time_shift);
        enabled += delta;
        if (page->index) running += delta;
    }
    out[0] = count;
    out[1] = enabled;
    out[2] = running;
}
#endif

#if defined(CPROF__HAS_RDPMC)
/* One event through its page, under the page's sequence lock. */
static void cprof__mmap_page_read(const volatile struct perf_event_mmap_page *page, uint64_t out[3]) {
    uint32_t sequence;
    do {
        sequence = page->lock;
        __asm__ __volatile__("" ::: "memory");
        uint32_t index = page->index;
        uint64_t pmc = index ? cprof__rdpmc(index - 1) : 0;
        cprof__mmap_page_decode((const struct perf_event_mmap_page *)(uintptr_t)page, pmc, cprof__cpu_counter(), out);
        __asm__ __volatile__("" ::: "memory");
    } while (page->lock != sequence);
}

static int cprof__counters_read_rdpmc(const cprof__counter_group *g, uint64_t *values) {
    uint32_t count = cprof__selection.count;
    int first = 1;
    for (uint32_t k = 0; k < count; k++) {
        uint64_t read[3] = {0, 0, 0};
        if (g->fd[k] >= 0) cprof__mmap_page_read((const volatile struct perf_event_mmap_page *)g->page[k], read);
        values[k] = read[0];
        if (g->fd[k] >= 0 && first) { /* the group is scheduled as one: its times are the leader's */
            values[count] = read[1];
            values[count + 1] = read[2];
            first = 0;
        }
    }
    return 0;
}
#endif

/* The group's values now: values[k] for each selected event (0 when not counting), then time enabled
   and time running. `may_rdpmc` is 0 when reading another thread's group (rdpmc reads this CPU's).
   0 on success, -1 when the group cannot be read (its thread has ended). */
static int cprof__counters_read(const cprof__counter_group *g, uint64_t *values, int may_rdpmc) {
    uint32_t count = cprof__selection.count;
#if defined(CPROF__HAS_RDPMC)
    if (may_rdpmc && g->use_rdpmc) return cprof__counters_read_rdpmc(g, values);
#else
    (void)may_rdpmc;
#endif
    uint64_t answer[3 + CPROF__MAX_COUNTERS]; /* PERF_FORMAT_GROUP: nr, enabled, running, values */
    int leader = -1;
    for (uint32_t k = 0; k < count && leader < 0; k++) leader = g->fd[k];
    if (leader < 0 || read(leader, answer, sizeof answer) < (ssize_t)(3 * sizeof(uint64_t))) return -1;
    for (uint32_t k = 0; k < count; k++)
        values[k] = g->fd[k] >= 0 && g->position[k] < answer[0] ? answer[3 + g->position[k]] : 0;
    values[count] = answer[1];
    values[count + 1] = answer[2];
    return 0;
}

/* --- one group per thread, opened lazily on the thread it measures --- */
#if defined(CPROF__LINUX)
/* rdpmc only when every event of the group offers it: one read() answers for all of them anyway. */
static void cprof__counters_map_pages(cprof__counter_group *g) {
    long page_bytes = sysconf(_SC_PAGESIZE);
    g->page_bytes = page_bytes > 0 ? (size_t)page_bytes : 4096u;
    g->use_rdpmc = 0;
#if defined(CPROF__HAS_RDPMC)
    int all = 1;
    for (uint32_t k = 0; k < cprof__selection.count && all; k++) {
        if (g->fd[k] < 0) continue;
        if (cprof__events[cprof__selection.event[k]].type == PERF_TYPE_SOFTWARE) { all = 0; break; }
        void *page = mmap(NULL, g->page_bytes, PROT_READ, MAP_SHARED, g->fd[k], 0);
        if (page == MAP_FAILED) { all = 0; break; }
        g->page[k] = page;
        const struct perf_event_mmap_page *p = (const struct perf_event_mmap_page *)page;
        all = p->cap_user_rdpmc && p->cap_user_time;
    }
    g->use_rdpmc = all;
    if (all) return;
#endif
    for (uint32_t k = 0; k < cprof__selection.count; k++) {
        if (g->page[k]) munmap(g->page[k], g->page_bytes);
        g->page[k] = NULL;
    }
}
#else
static void cprof__counters_map_pages(cprof__counter_group *g) { g->use_rdpmc = 0; }
#endif

static const char *cprof__counter_reason(char *out, size_t size, int error, int in_kernel);

/* Opens the group of the calling thread: every event the probe found available. An event that fails
   here (too many open files...) is noted with the thread's name and left out. */
static cprof__counter_group *cprof__counters_open(cprof__recorder *r) {
    size_t bytes = sizeof(cprof__counter_group) + (size_t)(CPROF__MAX_DEPTH + 1) * cprof__counter_slots() * sizeof(uint64_t);
    cprof__counter_group *g = (cprof__counter_group *)cprof__pages_alloc(bytes); /* a handler's scope may open it */
    if (!g) return NULL;
    memset(g, 0, bytes); /* its pages now: a first touch of start[] later would be a page fault counted in a scope */
    g->bytes = bytes;
    g->start = (uint64_t *)(void *)(g + 1);
    int leader = -1;
    for (uint32_t k = 0; k < cprof__selection.count; k++) {
        g->fd[k] = -1;
        g->position[k] = CPROF_NONE;
        if (cprof__selection.error[k]) continue;
        const cprof__event *event = &cprof__events[cprof__selection.event[k]];
        int fd = cprof__event_open(event, leader);
        if (fd < 0) {
            char reason[240];
            cprof__message(NULL, 0, "counter %s unavailable on thread %s: %s", event->name, r->name,
                           cprof__counter_reason(reason, sizeof reason, -fd, event->in_kernel));
            continue;
        }
        if (leader < 0) leader = fd;
        g->fd[k] = fd;
        g->position[k] = g->open_count++;
    }
    if (!g->open_count) {
        cprof__pages_release(g, bytes);
        return NULL;
    }
    cprof__counters_map_pages(g);
    return g;
}

/* Closes the fds and pages; the group's memory stays (a capture may still look at it). */
static void cprof__counters_close(cprof__counter_group *g) {
    g->use_rdpmc = 0;
    for (uint32_t k = 0; k < cprof__selection.count; k++) {
#if defined(CPROF__LINUX)
        if (g->page[k]) munmap(g->page[k], g->page_bytes);
#endif
        g->page[k] = NULL;
        if (g->fd[k] >= 0) close(g->fd[k]);
        g->fd[k] = -1;
    }
}

/* A thread ends: its fds are closed under the capture's lock, so that a capture never reads a reused fd. */
static void cprof__counters_thread_exited(cprof__recorder *r) {
    cprof__counter_group *g = CPROF__LOAD(r->counters);
    if (!g || g == &cprof__counters_pending) return;
    cprof__mutex_lock(&cprof__capture_lock);
    cprof__counters_close(g);
    cprof__mutex_unlock(&cprof__capture_lock);
}

/* A merged exited thread's group (closed at its exit) is freed before its recorder becomes a spare. */
static void cprof__counters_release(cprof__recorder *r) {
    cprof__counter_group *g = CPROF__LOAD(r->counters);
    if (g && g != &cprof__counters_pending) cprof__pages_release(g, g->bytes);
    CPROF__STORE(r->counters, (cprof__counter_group *)NULL);
}

/* --- the accumulation, called from the hot path only when the thread has counters --- */

/* A node's values: allocated on its first completed call with counters, by its own thread. */
static uint64_t *cprof__counters_of_node(cprof__recorder *r, cprof__rnode *node) {
    uint64_t *values = node->counter_values;
    if (CPROF__LIKELY(values != NULL)) return values;
    values = (uint64_t *)cprof__recorder_storage(r, cprof__counter_slots() * sizeof *values);
    if (values) CPROF__STORE_RELEASE(node->counter_values, values);
    return values;
}

/* An exited thread's node merged into the exited threads' tree: its counter values are added. */
static void cprof__counters_merge_node(cprof__recorder *into, cprof__rnode *to, const cprof__rnode *from) {
    const uint64_t *more = CPROF__LOAD_ACQUIRE(from->counter_values);
    uint64_t *values = more ? cprof__counters_of_node(into, to) : NULL;
    for (uint32_t s = 0; values && s < cprof__counter_slots(); s++)
        CPROF__STORE(values[s], CPROF__LOAD(values[s]) + CPROF__LOAD(more[s]));
}

/* Scope enter: remember the group's values for the frame at `depth`. Opens the group first when this
   is the thread's first scope since counters were chosen. */
CPROF__COLD static void cprof__counters_start(cprof__recorder *r, uint32_t depth) {
    cprof__counter_group *g = CPROF__LOAD_ACQUIRE(r->counters);
    if (g == &cprof__counters_pending) {
        g = cprof__counters_open(r);
        CPROF__STORE_RELEASE(r->counters, g); /* NULL when nothing opened: no scope pays for it */
        if (!g) return;
    }
    uint32_t slots = cprof__counter_slots();
    uint64_t now[CPROF__MAX_COUNTERS + 2];
    if (cprof__counters_read(g, now, 1)) return;
    for (uint32_t s = 0; s < slots; s++) CPROF__STORE(g->start[depth * slots + s], now[s]);
    CPROF__STORE_RELEASE(g->started[depth], (uint8_t)1); /* a capture reads the start values after this */
}

/* Scope exit: add the difference since the frame's start to its node. */
CPROF__COLD static void cprof__counters_stop(cprof__recorder *r, uint32_t depth) {
    cprof__counter_group *g = CPROF__LOAD(r->counters);
    if (g == &cprof__counters_pending || !g->started[depth]) return;
    CPROF__STORE(g->started[depth], (uint8_t)0);
    uint32_t slots = cprof__counter_slots();
    uint64_t now[CPROF__MAX_COUNTERS + 2];
    if (cprof__counters_read(g, now, 1)) return;
    uint64_t *values = cprof__counters_of_node(r, r->stack[depth].node); /* after the read: its page faults are not the scope's */
    if (!values) return;
    for (uint32_t s = 0; s < slots; s++)
        CPROF__STORE(values[s], CPROF__LOAD(values[s]) + (now[s] - g->start[depth * slots + s]));
}

/* cprof_reset: every node's counter values back to zero. Under the lock. */
static void cprof__counters_clear_tree(cprof__rnode *node) {
    for (cprof__rnode *child = CPROF__LOAD_ACQUIRE(node->first_child); child; child = CPROF__LOAD(child->next_sibling)) {
        uint64_t *values = CPROF__LOAD_ACQUIRE(child->counter_values);
        for (uint32_t s = 0; values && s < cprof__counter_slots(); s++) CPROF__STORE(values[s], (uint64_t)0);
        cprof__counters_clear_tree(child);
    }
}

/* Why an event cannot be counted, in the user's terms. */
static const char *cprof__counter_reason(char *out, size_t size, int error, int in_kernel) {
    int paranoid = cprof__perf_event_paranoid();
    if (error == CPROF__UNKNOWN_EVENT) {
        size_t used = (size_t)cprof__snprintf(out, size, "unknown event; known:");
        for (size_t i = 0; i < CPROF__EVENT_COUNT && used < size; i++)
            used += (size_t)cprof__snprintf(out + used, size - used, " %s", cprof__events[i].name);
    } else if (error == CPROF__NOT_LINUX) {
        cprof__snprintf(out, size, "counters need Linux perf_event_open");
    } else if (error == ENOENT || error == EOPNOTSUPP || error == ENODEV) {
        cprof__snprintf(out, size, "the CPU offers no such event (%s): a virtual machine without a virtual PMU, "
                        "or a CPU without this event", error == ENOENT ? "ENOENT" : error == ENODEV ? "ENODEV" : "EOPNOTSUPP");
    } else if (error == EACCES || error == EPERM) {
        cprof__snprintf(out, size, "not permitted (%s): perf_event_paranoid is %d; %s needs it at %d or lower, or "
                        "CAP_PERFMON (a container or seccomp may also forbid perf_event_open)",
                        error == EACCES ? "EACCES" : "EPERM", paranoid, in_kernel ? "this kernel-side event" : "user-space counting",
                        in_kernel ? 1 : 2);
    } else if (error == EMFILE || error == ENFILE) {
        cprof__snprintf(out, size, "too many open files (%s): raise the limit (ulimit -n)", error == EMFILE ? "EMFILE" : "ENFILE");
    } else if (error == ENOSYS) {
        cprof__snprintf(out, size, "perf_event_open is not available (ENOSYS): a kernel without perf events, or seccomp");
    } else {
        cprof__snprintf(out, size, "perf_event_open failed: %s (errno %d)", strerror(error), error);
    }
    return out;
}

/* ==================================================================================================
   >>preemption: time a thread was ready to run but not running, because another thread (of another
   program, or of its own) had its CPU (it was preempted, or it yielded, or a CPU quota held it back),
   is left out of its scopes' times; without this, a loaded machine's waits land in whatever scope was
   open, and shares move by tens of points between two runs of one build. Each recorded thread has a
   perf event that records its context switches (PERF_RECORD_SWITCH, with the "preempted" mark since
   Linux 4.17) into a small ring the kernel writes; a timed scope's exit compares the ring's head with
   what the thread has read (two loads and a branch) and, when the kernel wrote something, moves the
   start of every open timed frame that began before a preemption by the preemption's length. A
   voluntary switch (a sleep, a blocking read, a lock) stays in the times: that wait is the scope's own
   doing. The timeline keeps the wall-clock times of entries and exits.
   ================================================================================================== */
#if defined(CPROF__LINUX)
#include <sys/resource.h>
#define CPROF__F_DUPFD_CLOEXEC 1030 /* Linux's value; fcntl.h shows it only from POSIX 2008 on */

/* A perf event's kernel id, or 0 (not a perf event, or a kernel before 3.12). */
CPROF__UNUSED static uint64_t cprof__perf_event_id(int fd) {
    uint64_t id = 0;
#if defined(PERF_EVENT_IOC_ID)
    if (cprof__syscall(SYS_ioctl, fd, (unsigned long)PERF_EVENT_IOC_ID, &id) != 0) id = 0;
#else
    (void)fd;
#endif
    return id;
}

/* Moves a descriptor of cprof's to the upper half of RLIMIT_NOFILE's numbers, but not above 4096 (the
   kernel sizes a process's descriptor table, copied at each fork, to its highest), close-on-exec: out
   of the way of a program that assumes small numbers (select's FD_SETSIZE) or closes a range of them.
   Returns the descriptor to use (the same one when it cannot be moved). */
CPROF__UNUSED static int cprof__fd_move_high(int fd) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur <= 64) return fd;
    rlim_t lowest = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur / 2 > 4096 ? 4096 : limit.rlim_cur / 2;
    long high = cprof__syscall(SYS_fcntl, fd, CPROF__F_DUPFD_CLOEXEC, (long)lowest);
    if (high < 0) return fd;
    close(fd);
    return (int)high;
}

/* How many perf event descriptors of one kind (a thread's sampling event, its ring of switches) cprof
   may hold: an eighth of the descriptors the program may have, from 16 to 4096. */
CPROF__UNUSED static uint32_t cprof__perf_fds_allowed(void) {
    struct rlimit limit;
    rlim_t eighth = getrlimit(RLIMIT_NOFILE, &limit) != 0 ? 16 : limit.rlim_cur == RLIM_INFINITY ? 4096 : limit.rlim_cur / 8;
    return eighth < 16 ? 16u : eighth > 4096 ? 4096u : (uint32_t)eighth;
}
#endif

#if defined(CPROF__LINUX) && defined(PERF_RECORD_MISC_SWITCH_OUT) /* Linux 4.3 headers */
#include <sys/utsname.h>
#if defined(PERF_RECORD_MISC_SWITCH_OUT_PREEMPT)
#define CPROF__SWITCH_OUT_PREEMPT PERF_RECORD_MISC_SWITCH_OUT_PREEMPT
#else
#define CPROF__SWITCH_OUT_PREEMPT (1 << 14) /* Linux 4.17's value; older kernels never set it */
#endif
/* The ring's data: 16 KiB (one page where pages are larger), ~500 context switches between two timed
   exits. Its pages are locked memory, charged to the user's perf_event_mlock_kb budget (516 KiB per
   CPU by default, shared by all the user's processes), then to RLIMIT_MEMLOCK: a thread that finds
   both spent records nothing (EPERM, in profile->preemption.error). */
enum { CPROF__SWITCH_RING_BYTES = 16384 };

typedef struct cprof__switches {
    struct perf_event_mmap_page *page; /* then the ring */
    size_t bytes;                      /* mapped */
    int fd;
    uint64_t event_id;  /* PERF_EVENT_IOC_ID: the descriptor is closed only while it is still this event */
    uint64_t out_ns;    /* the last switch out not yet matched by a switch in (CLOCK_MONOTONIC); 0: none */
    int out_preempted;  /* it was a preemption */
    double ticks_per_ns; /* the timer's, taken at the first preemption */
} cprof__switches;

/* Linux 4.17 and later mark a switch out as a preemption; before, every switch looks voluntary and
   nothing would be left out: those kernels are told (ENOTSUP), not silently served. Once, under the lock. */
static int cprof__kernel_marks_preemption(void) {
    static int known = -1;
    struct utsname name;
    unsigned major = 0, minor = 0;
    if (known < 0)
        known = uname(&name) == 0 && sscanf(name.release, "%u.%u", &major, &minor) == 2 &&
                (major > 4 || (major == 4 && minor >= 17));
    return known;
}

/* Starts recording the calling thread's context switches: a software event that counts nothing
   (PERF_COUNT_SW_DUMMY) with context_switch records, each stamped with CLOCK_MONOTONIC; user space
   only, which perf_event_paranoid 2 allows for one's own threads. Under cprof__lock. A failure (no perf
   events, paranoid 3, seccomp, no descriptor or locked memory left) leaves the thread's times as they
   were, wall clock. */
static void cprof__preemption_start(cprof__recorder *r) {
    if (!cprof__g.preemption || r->switches || r->thread_id != cprof__thread_id()) return;
    if (!cprof__kernel_marks_preemption()) {
        cprof__g.preemption_error = ENOTSUP;
        return;
    }
    if (cprof__g.preemption_fds >= cprof__perf_fds_allowed()) {
        if (!cprof__g.preemption_error) cprof__g.preemption_error = EMFILE;
        return;
    }
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_DUMMY;
    attr.context_switch = 1;
    attr.sample_id_all = 1;
    attr.sample_type = PERF_SAMPLE_TIME;
    attr.use_clockid = 1;
    attr.clockid = CPROF__CLOCK_MONOTONIC;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    long opened = cprof__syscall(SYS_perf_event_open, &attr, 0, -1, -1, (unsigned long)PERF_FLAG_FD_CLOEXEC);
    if (opened < 0) {
        if (!cprof__g.preemption_error) cprof__g.preemption_error = errno ? errno : EINVAL;
        return;
    }
    /* Left where the kernel put it, unlike sampling's: moving it high grows the descriptor table, which
       a process with a second thread (cprof's own, with CPROF_OUT) pays with an RCU grace period, 10-20
       ms measured here, at every program's first scope. */
    int fd = (int)opened;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = page * (1 + (page < CPROF__SWITCH_RING_BYTES ? CPROF__SWITCH_RING_BYTES / page : 1));
    void *mapped = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    cprof__switches *s = mapped == MAP_FAILED ? NULL : (cprof__switches *)cprof__alloc(sizeof *s);
    if (!s) {
        if (!cprof__g.preemption_error) cprof__g.preemption_error = mapped == MAP_FAILED ? errno : ENOMEM;
        if (mapped != MAP_FAILED) munmap(mapped, bytes);
        close(fd);
        return;
    }
    s->page = (struct perf_event_mmap_page *)mapped;
    s->bytes = bytes;
    s->fd = fd;
    s->event_id = cprof__perf_event_id(fd);
    r->switches = s;
    r->switch_seen = CPROF__LOAD(s->page->data_head);
    CPROF__STORE_RELEASE(r->switch_head, (const volatile uint64_t *)&s->page->data_head);
    cprof__g.preemption_fds++;
    cprof__g.preemption_threads++;
}

/* Stops it: the descriptor closed (while it is still the event), the ring unmapped unless `mapped` is 0
   (a fork child: the kernel does not copy a perf ring's mapping into a child, VM_DONTCOPY). At the
   thread's exit under cprof__lock; in a fork child, alone. */
static void cprof__preemption_release(cprof__recorder *r, int mapped) {
    cprof__switches *s = r ? r->switches : NULL;
    if (!s) return;
    CPROF__STORE(r->switch_head, (const volatile uint64_t *)NULL);
    r->switches = NULL;
    if (mapped) munmap(s->page, s->bytes);
    if (s->event_id == 0 || cprof__perf_event_id(s->fd) == s->event_id) close(s->fd);
    cprof__release(s, sizeof *s);
    cprof__g.preemption_fds--;
}
static void cprof__preemption_stop(cprof__recorder *r) { cprof__preemption_release(r, 1); }

/* `bytes` of the ring from position `at`, which may wrap past its end. */
CPROF__NO_INSTRUMENT static void cprof__switch_ring_read(const cprof__switches *s, uint64_t at, void *out, size_t bytes) {
    const unsigned char *ring = (const unsigned char *)s->page + s->page->data_offset;
    uint64_t size = s->page->data_size, offset = at % size;
    size_t first = bytes < size - offset ? bytes : (size_t)(size - offset);
    memcpy(out, ring + offset, first);
    memcpy((unsigned char *)out + first, ring, bytes - first);
}

/* One preemption, from out_ns to in_ns (CLOCK_MONOTONIC), taken out of the open timed frames 1..depth:
   each frame's start moves later by the part of the preemption after it began; the innermost frame
   `closing` (a scope exiting at `closing_now`, 0: none) only by the part before its end. The clock and
   the timer are related through the pair read now (`now_ticks`, `now_ns`, once a batch of records);
   a frame's start is never moved past now. The
   sums count what the outermost open timed scope lost: a preemption while none was open is not one. */
CPROF__NO_INSTRUMENT CPROF__COLD static void cprof__preemption_apply(cprof__recorder *r, uint32_t closing, uint64_t closing_now,
                                                uint64_t now_ticks, uint64_t now_ns, uint64_t out_ns, uint64_t in_ns) {
    const cprof__switches *s = r->switches;
    if (in_ns > now_ns || out_ns >= in_ns) return;
    double out_ticks = (double)now_ticks - (double)(now_ns - out_ns) * s->ticks_per_ns;
    double in_ticks = (double)now_ticks - (double)(now_ns - in_ns) * s->ticks_per_ns;
    uint64_t left_out = 0; /* the most any frame lost: what the thread's outermost open scope lost */
    for (uint32_t d = 1; d <= r->depth && d <= CPROF__MAX_DEPTH; d++) {
        cprof__frame *frame = &r->stack[d];
        uint64_t start = CPROF__LOAD(frame->start_ticks);
        if (start == (uint64_t)CPROF__UNTIMED) continue;
        double end = d == closing ? (double)closing_now : (double)now_ticks;
        double from = (double)start > out_ticks ? (double)start : out_ticks, to = in_ticks < end ? in_ticks : end;
        if (to <= from) continue;
        uint64_t moved = start + (uint64_t)(to - from + 0.5), limit = d == closing ? closing_now : now_ticks;
        if (moved > limit) moved = limit;
        CPROF__STORE(frame->start_ticks, moved);
        if (moved - start > left_out) left_out = moved - start;
    }
    if (!left_out) return; /* no timed scope was open: nothing was left out */
    CPROF__ADD(cprof__g.preempted_ticks, left_out);
    CPROF__ADD(cprof__g.preemptions, 1u);
}

/* The kernel wrote switches since the thread last looked: read them in order, pair each switch out with
   the next switch in, and take each preemption out of the open frames. A lost record (the ring was full:
   ~500 switches with no timed exit between) leaves that time in, and is counted. */
CPROF__NO_INSTRUMENT CPROF__COLD static void cprof__preemption_take(cprof__recorder *r, uint32_t closing, uint64_t closing_now) {
    cprof__switches *s = r->switches;
    uint64_t head = CPROF__LOAD_ACQUIRE(s->page->data_head), at = r->switch_seen, now_ticks = 0, now_ns = 0;
    if (s->ticks_per_ns == 0) s->ticks_per_ns = cprof__timer_hz() / 1e9;
    cprof__timer_read_pair(&now_ticks, &now_ns); /* after the head: every record read ended before it */
    while (at < head) {
        struct perf_event_header header;
        uint64_t value[2] = {0, 0}; /* PERF_RECORD_SWITCH: its time; PERF_RECORD_LOST: id, lost */
        cprof__switch_ring_read(s, at, &header, sizeof header);
        if (header.size < sizeof header) break; /* not a record: stop reading (nothing more is taken) */
        cprof__switch_ring_read(s, at + sizeof header, value,
                                header.size - sizeof header < sizeof value ? header.size - sizeof header : sizeof value);
        if (header.type == PERF_RECORD_SWITCH && (header.misc & PERF_RECORD_MISC_SWITCH_OUT)) {
            s->out_ns = value[0];
            s->out_preempted = (header.misc & CPROF__SWITCH_OUT_PREEMPT) != 0;
        } else if (header.type == PERF_RECORD_SWITCH) {
            if (s->out_ns && s->out_preempted)
                cprof__preemption_apply(r, closing, closing_now, now_ticks, now_ns, s->out_ns, value[0]);
            s->out_ns = 0;
        } else if (header.type == PERF_RECORD_LOST) {
            CPROF__ADD(cprof__g.preemptions_lost, value[1]);
            s->out_ns = 0;
        }
        at += header.size;
    }
    CPROF__STORE_RELEASE(s->page->data_tail, head);
    r->switch_seen = head;
}
#else
static void cprof__preemption_start(cprof__recorder *r) { (void)r; }
CPROF__UNUSED static void cprof__preemption_release(cprof__recorder *r, int mapped) { (void)r, (void)mapped; }
static void cprof__preemption_stop(cprof__recorder *r) { (void)r; }
CPROF__NO_INSTRUMENT static void cprof__preemption_take(cprof__recorder *r, uint32_t closing, uint64_t closing_now) {
    (void)r, (void)closing, (void)closing_now;
}
#endif

/* At a timed exit (or before the automatic mode caps a call): when the kernel wrote switches since the
   thread last looked, take its preemptions out of the open frames. Two loads and a branch when it did
   not; one branch when no ring is open. */
CPROF__NO_INSTRUMENT static CPROF__INLINE void cprof__preemption_catch_up(cprof__recorder *r, uint32_t closing, uint64_t now) {
    const volatile uint64_t *switch_head = CPROF__LOAD(r->switch_head);
    if (CPROF__UNLIKELY(switch_head != NULL && *switch_head != r->switch_seen)) cprof__preemption_take(r, closing, now);
}

/* ==================================================================================================
   >>allocs: the allocation tracker behind CPROF_WRAP_MALLOC: the wrappers, each thread's live blocks
   and the per-site counts. Blocks are the C library's own (no header in front: alignment and
   malloc_usable_size stay as they are); the tracker maps each live pointer to its site and size.
   ================================================================================================== */
#define CPROF__YOUNG_SLOTS 2048         /* a thread's newest blocks, by pointer hash: freed without a lock */
#define CPROF__YOUNG_WAYS 4             /* slots a block may take in the young cache: a set of 4 entries of
                                           16 bytes (see cprof__block_add; cprof__young_find is written for 4) */
#define CPROF__FREED_REMEMBERED 8       /* frees each thread remembers, to recognise double frees */
#define CPROF__ORPHANS 64               /* frees remembered for the threads that have finished */
#define CPROF__QUARANTINE_BYTES 1024    /* remembered blocks up to this size are given back only when
                                           forgotten, so that their address cannot be handed out again */
#define CPROF__LIVE_STEP 65536          /* a thread adds its live-byte changes to the shared total once they
                                           reach this much (see cprof__live_changed) */

#if defined(__GNUC__)
#define CPROF__ADD_FETCH(x, v) __atomic_add_fetch(&(x), (v), __ATOMIC_RELAXED)
#define CPROF__FENCE_RELEASE() __atomic_thread_fence(__ATOMIC_RELEASE)
#define CPROF__FENCE_ACQUIRE() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#else
#define CPROF__ADD_FETCH(x, v) ((x) += (v))
#define CPROF__FENCE_RELEASE() ((void)0)
#define CPROF__FENCE_ACQUIRE() ((void)0)
#endif

/* An allocation site (or a place where frees went wrong) of one thread under one scope node. Its
   thread creates it and writes its figures; another thread freeing one of its blocks adds to the
   remote figures. Live = allocated - freed - freed remotely. */
typedef struct cprof__asite {
    const char *file, *function;
    int line;
    uint32_t kind; /* CPROF_ALLOC_SITE, CPROF_FREE_UNKNOWN, CPROF_FREE_DOUBLE, CPROF_FREE_POSSIBLE_DOUBLE */
    const cprof__rnode *node;
    const struct cprof__asite *origin; /* a (possible) double free: where the block was allocated */
    struct cprof__asite *next;         /* the thread's list, newest first */
    uint64_t count, bytes, temporary, max_bytes;   /* written by its thread */
    uint64_t freed_count, freed_bytes, peak_live_bytes; /* written by its thread */
    uint64_t remote_count, remote_bytes;           /* atomic additions by other threads */
    uint64_t slack_bytes;              /* usable size beyond the requests (written by its thread) */
    uint64_t peak_seen;                /* the heap's peak (cprof__a.peak_version) its at_peak_... figures are of */
    uint64_t at_peak_count, at_peak_bytes; /* see cprof__asite_peak_note */
    uint32_t capture_index;            /* scratch for the capture, under the registry lock */
    uint32_t number;                   /* its index in the thread's site_by_number */
} cprof__asite;

typedef struct cprof__block { /* a live block, kept by the thread that allocated it (unpacked) */
    uintptr_t hidden;         /* ~pointer (0 = empty slot): memcheck must not take the table for a
                                 reference, or a leak would be "still reachable" instead of "definitely lost" */
    size_t size;
    cprof__asite *site;       /* one of the owner's sites */
} cprof__block;

/* A live block's entry in either table, in 16 bytes (the bookkeeping of a program with many live
   blocks is mostly these): its size and its site's number on the owner thread packed in one word. A
   block too large (1 TiB) or of a site numbered past 2^24 - 1 on its thread cannot be packed and is not
   tracked (a message says so). No allocation sequence: a free is temporary when its block is the
   thread's newest allocation (cprof__alloc_thread.newest). */
#define CPROF__PACKED_SIZE_BITS 40
#define CPROF__PACKED_SITE_LIMIT ((uint64_t)1 << (64 - CPROF__PACKED_SIZE_BITS))
typedef struct cprof__packed_block {
    uintptr_t hidden;       /* ~pointer (0 = empty slot) */
    uint64_t size_and_site; /* size in the low CPROF__PACKED_SIZE_BITS bits, the site's number above */
} cprof__packed_block;

typedef struct cprof__freed { /* a remembered free (its ~pointer is in freed_at) */
    size_t size;
    const cprof__asite *site; /* where the block was allocated */
    const char *file;         /* where it was freed */
    int line;
} cprof__freed;

/* One thread's tracker. A new block goes into `young`, a set-associative cache by pointer hash that
   only its thread writes, so that the common case (a block freed by the thread that allocated it,
   before newer blocks took every slot of its set) costs no atomic instruction at all. A block whose
   slot is wanted moves to the `old` table under the thread's lock. Another thread freeing one of
   these blocks takes the lock and looks in both. */
typedef struct cprof__alloc_thread {
    /* YOUNG_SLOTS / YOUNG_WAYS sets of YOUNG_WAYS slots; fields are atomics: another thread may read
       them under `lock` */
    cprof__packed_block young[CPROF__YOUNG_SLOTS];
    int lock;             /* guards `old`, moves out of `young`, and other threads' frees of young blocks */
    cprof__packed_block *old; /* older live blocks by pointer (open addressing, at most 3/4 full) */
    size_t old_capacity, old_count;
    struct cprof__asite **site_by_number; /* the thread's sites by number (old blocks name theirs so); grown under `lock` */
    size_t site_numbers;
    uint32_t freed_version; /* odd while the thread changes its remembered frees (a sequence lock) */
    uint32_t freed_next;    /* frees remembered so far; the next one replaces the oldest */
    uintptr_t freed_at[CPROF__FREED_REMEMBERED]; /* ~pointer of each remembered free (0 = none) */
    cprof__freed freed[CPROF__FREED_REMEMBERED];
    void *held[CPROF__FREED_REMEMBERED]; /* the remembered blocks not yet given back; its thread's alone */
    int64_t unpublished;  /* this thread's change of live bytes not yet added to the shared total */
    int ended;            /* its thread is finishing: cprof__allocs_thread_exited ran */
    cprof__asite **slots; /* the thread's sites by key (open addressing, at most half full) */
    size_t capacity, count;
    cprof__asite *sites;  /* every site, newest first; published with release for the capture */
    cprof__asite *last_site; /* the site of the thread's last allocation: a loop allocates at one place */
    struct cprof__alloc_thread *last_owner; /* whose block the thread last freed, when not its own */
    uintptr_t newest;     /* ~pointer of the newest allocation: its free is temporary (no other came before) */
    uint64_t allocations; /* so far (also the clock check's count and the young cache's victim) */
    uint64_t bytes, frees, freed_bytes;
    uint64_t histogram[CPROF_ALLOC_HISTOGRAM];
} cprof__alloc_thread;

/* A thread's lock: held for a few dozen instructions, so a spin (yielding the CPU while another thread
   holds it) costs one atomic exchange where a pthread mutex costs two atomics and two calls. */
static void cprof__spin_lock(int *lock) {
    while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(lock, __ATOMIC_RELAXED)) cprof__yield();
}

static void cprof__spin_unlock(int *lock) { __atomic_store_n(lock, 0, __ATOMIC_RELEASE); }

static cprof__mutex cprof__peak_lock = CPROF__MUTEX_INIT;

/* The frees a finished thread remembered, and those made on it after its tracker's destructor ran
   (other keys' destructors run later): one list for every finished thread, so that what is held stays
   bounded however many threads come and go. */
static cprof__mutex cprof__orphan_lock = CPROF__MUTEX_INIT;
static struct cprof__orphan_frees {
    uint32_t next;
    uintptr_t at[CPROF__ORPHANS]; /* ~pointer (0 = none) */
    cprof__freed freed[CPROF__ORPHANS];
    void *held[CPROF__ORPHANS];
} cprof__orphans;
static struct cprof__alloc_global {
    uint64_t live_bytes; /* the threads' published changes (as int64_t: it may dip below 0 for a moment) */
    uint64_t peak_live_bytes;
    const cprof__rnode *peak_node;
    uint64_t peak_ticks;   /* when the peak was reached */
    uint64_t peak_version; /* how many times the peak rose (see cprof__asite_peak_note) */
    int used; /* a wrapper ran */
} cprof__a;

/* Every thread's tracker, in the registry's order (a thread's is made under the registry lock). */
#define CPROF__EACH_ALLOC_THREAD(r, t)                                                  \
    for (cprof__recorder *r = cprof__g.recorders; r; r = CPROF__LOAD_ACQUIRE(r->next)) \
        for (cprof__alloc_thread *t = CPROF__LOAD_ACQUIRE(r->allocs); t; t = NULL)

#if defined(CPROF__WINDOWS) /* elsewhere, malloc_usable_size where the C library has it (>>platform) */
#define CPROF__USABLE_SIZE(block) _msize(block)
#endif

/* --- memory over time: a bounded series of the live heap, taken as the program runs. A point is due
   when the shared live total has moved by step_bytes since the last point (checked when a thread
   publishes its changes, see cprof__live_changed: every CPROF__LIVE_STEP of a thread's changes) or when
   step_ticks have passed (checked every CPROF__SERIES_TIME_CHECK + 1 allocations of a thread: one AND
   and a branch per allocation). Taking one walks every site: the exact total and the largest sites'
   shares. When the series is full, neighbouring points merge (the larger total of each pair stays, so
   a spike survives) and both steps double: the resolution halves, the memory stays CPROF__SERIES_POINTS
   points whatever the run's length. The allocator's view (cprof_heap_info) is read at a point that is
   the highest so far by an eighth over the last read (mallinfo2 walks every free chunk of every bin:
   read at every new highest, it took 16% of a growing heap's run): within an eighth of the peak. --- */
#define CPROF__SERIES_POINTS 256
#define CPROF__SERIES_STEP_BYTES 65536 /* the first byte step (= CPROF__LIVE_STEP: a thread's check's grain) */
#define CPROF__SERIES_STEP_MS 1        /* the first time step */
#define CPROF__SERIES_TIME_CHECK 4095  /* a thread looks at the clock when its allocation count & this is 0 */

typedef struct cprof__series_point {
    uint64_t ticks, live_bytes;
    const cprof__asite *site[CPROF_MEMORY_POINT_SITES]; /* largest first; NULL past the last */
    uint64_t bytes[CPROF_MEMORY_POINT_SITES];
} cprof__series_point;

static struct cprof__series {
    int busy;                       /* a spin lock: a thread taking a point (others skip theirs), a capture */
    uint32_t count;
    uint64_t step_bytes, step_ticks; /* read by every thread's check; step_ticks 0 before the first point */
    uint64_t last_bytes, last_ticks; /* the last point's */
    uint64_t highest_bytes;         /* the highest point's total */
    uint64_t heap_read_bytes;       /* the total when heap_at_highest was read */
    cprof_heap_info heap_at_highest;
    /* Static (untouched pages cost nothing): a block made from the C library's heap in the middle of
       the program's would change where its later blocks go (glibc did measurably more work a pair). */
    cprof__series_point points[CPROF__SERIES_POINTS];
} cprof__series = {0, 0, CPROF__SERIES_STEP_BYTES, 0, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0, 0}, {{0, 0, {0}, {0}}}};

/* The C library's own view of its heap (glibc's mallinfo2); all 0 where there is none. An allocator
   that is not glibc's (a sanitizer's, valgrind's) answers 0s: not measured either. */
static void cprof__heap_read(cprof_heap_info *out) {
    memset(out, 0, sizeof *out);
#if defined(CPROF__MALLINFO2)
    struct cprof__mallinfo2 m = cprof__libc_mallinfo2();
    if (!m.arena && !m.hblkhd) return;
    out->measured = 1;
    out->arena_bytes = m.arena;
    out->mmap_bytes = m.hblkhd;
    out->in_use_bytes = m.uordblks;
    out->free_bytes = m.fordblks;
    out->releasable_bytes = m.keepcost;
#endif
}

/* A site's live bytes now, read while its threads may count (never below 0). */
static uint64_t cprof__asite_live_bytes(const cprof__asite *s) {
    uint64_t bytes = CPROF__LOAD(s->bytes), gone = CPROF__LOAD(s->freed_bytes) + CPROF__LOAD(s->remote_bytes);
    return bytes > gone ? bytes - gone : 0;
}

/* Keeps `site` among the point's largest sites when it holds more than the smallest kept. */
static void cprof__series_keep(cprof__series_point *point, const cprof__asite *site, uint64_t bytes) {
    int at = CPROF_MEMORY_POINT_SITES;
    while (at > 0 && (!point->site[at - 1] || point->bytes[at - 1] < bytes)) at--;
    if (at == CPROF_MEMORY_POINT_SITES) return;
    for (int k = CPROF_MEMORY_POINT_SITES - 1; k > at; k--) point->site[k] = point->site[k - 1], point->bytes[k] = point->bytes[k - 1];
    point->site[at] = site;
    point->bytes[at] = bytes;
}

/* The total and the largest sites now, walking every thread's sites (as a free of another thread's
   block walks the threads: the registry only grows, a tracker is never freed). */
static void cprof__series_fill(cprof__series_point *point, uint64_t ticks) {
    memset(point, 0, sizeof *point);
    point->ticks = ticks;
    CPROF__EACH_ALLOC_THREAD(r, t)
        for (const cprof__asite *s = CPROF__LOAD_ACQUIRE(t->sites); s; s = s->next) {
            if (s->kind != CPROF_ALLOC_SITE) continue;
            uint64_t live = cprof__asite_live_bytes(s);
            point->live_bytes += live;
            if (live) cprof__series_keep(point, s, live);
        }
}

/* Full: each pair of neighbours becomes its point of the larger total; the steps double. */
static void cprof__series_halve(void) {
    struct cprof__series *q = &cprof__series;
    for (uint32_t i = 0; 2 * i + 1 < q->count; i++) {
        const cprof__series_point *a = &q->points[2 * i], *b = &q->points[2 * i + 1];
        q->points[i] = a->live_bytes > b->live_bytes ? *a : *b;
    }
    q->count /= 2;
    CPROF__STORE(q->step_bytes, q->step_bytes * 2);
    CPROF__STORE(q->step_ticks, q->step_ticks * 2);
}

/* About 1 ms in the timer's ticks, from the calibration window so far (cprof__timer_hz would wait). */
static uint64_t cprof__series_first_step_ticks(void) {
    uint64_t ns = cprof__monotonic_ns() - cprof__timer_state.origin_ns, ticks = cprof__ticks() - cprof__timer_state.origin_ticks;
    if (!cprof__timer_state.use_counter || !ns || !ticks) return CPROF__SERIES_STEP_MS * 1000000u;
    double per_ms = (double)ticks * 1e6 / (double)ns * CPROF__SERIES_STEP_MS;
    return per_ms >= 1 ? (uint64_t)per_ms : 1;
}

/* Cold: a point is due. Skipped when another thread is taking one (the next check retries). */
CPROF__COLD static void cprof__series_take(uint64_t ticks) {
    struct cprof__series *q = &cprof__series;
    if (__atomic_exchange_n(&q->busy, 1, __ATOMIC_ACQUIRE)) return;
    if (!q->step_ticks) CPROF__STORE(q->step_ticks, cprof__series_first_step_ticks());
    if (q->count == CPROF__SERIES_POINTS) cprof__series_halve();
    cprof__series_point *point = &q->points[q->count++];
    cprof__series_fill(point, ticks);
    if (point->live_bytes > q->highest_bytes) q->highest_bytes = point->live_bytes;
    if (point->live_bytes > q->heap_read_bytes + q->heap_read_bytes / 8) { /* a new highest by an eighth */
        q->heap_read_bytes = point->live_bytes;
        cprof__heap_read(&q->heap_at_highest);
    }
    CPROF__STORE(q->last_bytes, point->live_bytes);
    CPROF__STORE(q->last_ticks, ticks);
    __atomic_store_n(&q->busy, 0, __ATOMIC_RELEASE);
}

/* The checks on the hot path: by bytes when a thread publishes, by time every few thousand allocations. */
static CPROF__INLINE void cprof__series_check_bytes(int64_t shared) {
    uint64_t live = shared > 0 ? (uint64_t)shared : 0, last = CPROF__LOAD(cprof__series.last_bytes);
    if ((live > last ? live - last : last - live) >= CPROF__LOAD(cprof__series.step_bytes)) cprof__series_take(cprof__ticks());
}

CPROF__COLD static void cprof__series_check_time(void) {
    uint64_t now = cprof__ticks();
    if (now - CPROF__LOAD(cprof__series.last_ticks) >= CPROF__LOAD(cprof__series.step_ticks)) cprof__series_take(now);
}

/* Before a site's live figures change on its own thread. `peak_version` counts the rises of the heap's
   peak; a site that has not changed since the last rise holds now what it held then. So, when the
   peak rose since the site last looked, its figures now are its figures at the latest peak: kept
   before they change. The capture takes at_peak_... when peak_seen is the latest version, else the
   live figures. One load and a compare per event; exact when every block is freed by the thread that
   allocated it (another thread's free changes the site without this note). */
static CPROF__INLINE void cprof__asite_peak_note(cprof__asite *s) {
    uint64_t version = CPROF__LOAD(cprof__a.peak_version);
    if (CPROF__LIKELY(s->peak_seen == version)) return;
    CPROF__STORE(s->at_peak_count, s->count - s->freed_count - CPROF__LOAD(s->remote_count));
    CPROF__STORE(s->at_peak_bytes, s->bytes - s->freed_bytes - CPROF__LOAD(s->remote_bytes));
    CPROF__STORE(s->peak_seen, version);
}

/* The recorders of the threads a fork() child does not have (kept reachable, not reported). */
#if !defined(CPROF__WINDOWS)
static cprof__recorder *cprof__parent_threads;
#endif

/* The calling thread's tracker; NULL when nothing is tracked (CPROF=0, out of memory). */
static CPROF__INLINE cprof__alloc_thread *cprof__alloc_thread_get(cprof__recorder **recorder) {
    cprof__recorder *r = cprof__recorder_get();
    *recorder = r;
    if (CPROF__UNLIKELY(!r || cprof__g.forced_off)) return NULL;
    if (CPROF__LIKELY(r->allocs != NULL)) return r->allocs;
    CPROF__STORE(cprof__a.used, 1);
    cprof__alloc_thread *t = (cprof__alloc_thread *)cprof__alloc(sizeof *t);
    if (t) t->ended = CPROF__LOAD(r->exited) != 0; /* first allocating in a later key's destructor */
    cprof__mutex_lock(&cprof__lock);
    if (t) CPROF__STORE_RELEASE(r->allocs, t);
    cprof__mutex_unlock(&cprof__lock);
    return t;
}

static size_t cprof__asite_hash(const char *file, int line, const cprof__rnode *node, uint32_t kind,
                                const cprof__asite *origin) {
    uintptr_t key = (uintptr_t)file ^ ((uintptr_t)node * 31u) ^ ((uintptr_t)origin * 7u) ^
                    ((uintptr_t)(unsigned)line << 8) ^ kind;
    return cprof__pointer_hash((const void *)key);
}

static int cprof__asite_slots_grow(cprof__alloc_thread *t) {
    size_t capacity = t->capacity ? t->capacity * 2 : 64;
    cprof__asite **slots = (cprof__asite **)cprof__alloc(capacity * sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < t->capacity; i++) {
        cprof__asite *s = t->slots[i];
        if (!s) continue;
        size_t slot = cprof__asite_hash(s->file, s->line, s->node, s->kind, s->origin) & (capacity - 1);
        while (slots[slot]) slot = (slot + 1) & (capacity - 1);
        slots[slot] = s;
    }
    cprof__release(t->slots, t->capacity * sizeof *t->slots);
    t->slots = slots;
    t->capacity = capacity;
    return 0;
}

/* Gives the new site the next number; the array grows under the thread's lock, since other threads
   read it under that lock (taking one of the thread's old blocks). Its capacity is the next power of 2. */
static int cprof__asite_number(cprof__alloc_thread *t, cprof__asite *s) {
    size_t count = t->site_numbers, capacity = 64;
    while (capacity < count) capacity *= 2;
    s->number = (uint32_t)count;
    if (count >= 64 && count == capacity) {
        cprof__asite **grown = (cprof__asite **)cprof__alloc(2 * capacity * sizeof *grown);
        if (!grown) return -1;
        memcpy(grown, t->site_by_number, count * sizeof *grown);
        cprof__spin_lock(&t->lock);
        cprof__asite **previous = t->site_by_number;
        t->site_by_number = grown;
        cprof__spin_unlock(&t->lock);
        cprof__release(previous, capacity * sizeof *previous);
    } else if (!t->site_by_number) {
        t->site_by_number = (cprof__asite **)cprof__alloc(64 * sizeof *t->site_by_number);
        if (!t->site_by_number) return -1;
    }
    t->site_by_number[count] = s; /* read by others only once an old block names it, under the lock */
    t->site_numbers = count + 1;
    return 0;
}

/* Cold: the first event at this place under this scope on this thread. */
CPROF__COLD static cprof__asite *cprof__asite_add(cprof__alloc_thread *t, const char *file, int line, const char *function,
                                      const cprof__rnode *node, uint32_t kind, const cprof__asite *origin) {
    if ((t->count + 1) * 2 > t->capacity && cprof__asite_slots_grow(t)) return NULL;
    cprof__asite *s = (cprof__asite *)cprof__alloc(sizeof *s);
    if (!s) return NULL;
    s->file = file;
    s->function = function;
    s->line = line;
    s->kind = kind;
    s->node = node;
    s->origin = origin;
    s->capture_index = CPROF_NONE;
    if (cprof__asite_number(t, s)) {
        cprof__release(s, sizeof *s);
        return NULL;
    }
    size_t slot = cprof__asite_hash(file, line, node, kind, origin) & (t->capacity - 1);
    while (t->slots[slot]) slot = (slot + 1) & (t->capacity - 1);
    t->slots[slot] = s;
    t->count++;
    s->next = t->sites;
    CPROF__STORE_RELEASE(t->sites, s);
    return s;
}

/* The site of an event at file:line in the scope current on this thread: for an allocation, the last
   allocation's site when it is the same (a loop allocates at one place; kind and origin need no
   comparing there), else a hash lookup. */
static CPROF__INLINE cprof__asite *cprof__asite_get(cprof__recorder *r, cprof__alloc_thread *t, const char *file, int line,
                                      const char *function, uint32_t kind, const cprof__asite *origin) {
    const cprof__rnode *node = r->stack[r->depth].node;
    cprof__asite *last = t->last_site, *found = NULL;
    if (kind == CPROF_ALLOC_SITE && last && last->line == line && last->node == node && last->file == file &&
        last->function == function)
        return last;
    if (t->capacity) {
        size_t mask = t->capacity - 1;
        for (size_t slot = cprof__asite_hash(file, line, node, kind, origin) & mask; t->slots[slot] && !found;
             slot = (slot + 1) & mask) {
            cprof__asite *s = t->slots[slot];
            if (s->line == line && s->node == node && s->file == file && s->kind == kind && s->origin == origin &&
                s->function == function)
                found = s;
        }
    }
    if (!found) found = cprof__asite_add(t, file, line, function, node, kind, origin);
    if (kind == CPROF_ALLOC_SITE) t->last_site = found;
    return found;
}

/* A block's entry as the tables keep it; -1 when it cannot be packed (see cprof__packed_block). */
static CPROF__INLINE int cprof__block_pack(const cprof__block *b, cprof__packed_block *out) {
    if ((uint64_t)b->size >> CPROF__PACKED_SIZE_BITS || b->site->number >= CPROF__PACKED_SITE_LIMIT) return -1;
    out->hidden = b->hidden;
    out->size_and_site = (uint64_t)b->size | ((uint64_t)b->site->number << CPROF__PACKED_SIZE_BITS);
    return 0;
}

/* An entry unpacked, by t's thread or under t's lock (site_by_number grows under it). */
static CPROF__INLINE void cprof__block_unpack(const cprof__alloc_thread *t, uintptr_t hidden, uint64_t size_and_site,
                                              cprof__block *out) {
    out->hidden = hidden;
    out->size = (size_t)(size_and_site & (((uint64_t)1 << CPROF__PACKED_SIZE_BITS) - 1));
    out->site = t->site_by_number[size_and_site >> CPROF__PACKED_SIZE_BITS];
}

/* A young slot is written with atomics (another thread may read it under the lock); the address goes
   last, with release, so that a reader that sees it sees the size and site. */
static CPROF__INLINE void cprof__young_store(cprof__packed_block *slot, const cprof__packed_block *entry) {
    CPROF__STORE(slot->size_and_site, entry->size_and_site);
    CPROF__STORE_RELEASE(slot->hidden, entry->hidden);
}

/* The young set a block's hash picks: its low bits (the old table's home takes the high ones). */
static CPROF__INLINE cprof__packed_block *cprof__young_set(cprof__alloc_thread *t, size_t hash) {
    return &t->young[(hash & (CPROF__YOUNG_SLOTS / CPROF__YOUNG_WAYS - 1)) * CPROF__YOUNG_WAYS];
}

/* The slot of `hidden` in a young set (0: an empty slot), or NULL. Written out: the loop's counter and
   bounds were half of its instructions (an allocation looks twice, a free once). */
static CPROF__INLINE cprof__packed_block *cprof__young_find(cprof__packed_block *set, uintptr_t hidden) {
    if (CPROF__LOAD_ACQUIRE(set[0].hidden) == hidden) return &set[0];
    if (CPROF__LOAD_ACQUIRE(set[1].hidden) == hidden) return &set[1];
    if (CPROF__LOAD_ACQUIRE(set[2].hidden) == hidden) return &set[2];
    if (CPROF__LOAD_ACQUIRE(set[3].hidden) == hidden) return &set[3];
    return NULL;
}

/* Where a hash's probe starts in the old table: its high 32 bits scaled to the capacity, a multiply and
   a shift (the capacity is any number, and a division by it took a third of a free's time there). */
static size_t cprof__old_home(size_t hash, size_t capacity) {
    uint64_t high = (uint64_t)hash >> (sizeof hash * 8 - 32);
    if ((uint64_t)capacity > 0xFFFFFFFFu) return hash % capacity;
    return (size_t)((high * (uint64_t)capacity) >> 32);
}

/* The old table grows by half (not double) and is kept at most 3/4 full, so that its 16-byte slots
   cost 16 / 0.5 to 16 / 0.75 bytes per block. */
static size_t cprof__old_next(size_t slot, size_t capacity) { return slot + 1 == capacity ? 0 : slot + 1; }

/* How many slots forward from `from` to `to`, wrapping at the end of the table. */
static size_t cprof__old_distance(size_t from, size_t to, size_t capacity) {
    return to >= from ? to - from : to + capacity - from;
}

/* The slot holding `hidden` in t's old table, or the empty slot where its probe ends; under t's lock. */
static size_t cprof__old_slot(const cprof__alloc_thread *t, uintptr_t hidden, size_t hash) {
    size_t slot = cprof__old_home(hash, t->old_capacity);
    while (t->old[slot].hidden && t->old[slot].hidden != hidden) slot = cprof__old_next(slot, t->old_capacity);
    return slot;
}

static int cprof__old_grow(cprof__alloc_thread *t) {
    size_t capacity = t->old_capacity ? t->old_capacity + t->old_capacity / 2 : 64;
    cprof__packed_block *blocks = (cprof__packed_block *)cprof__alloc(capacity * sizeof *blocks);
    if (!blocks) return -1;
    for (size_t i = 0; i < t->old_capacity; i++) {
        if (!t->old[i].hidden) continue;
        size_t slot = cprof__old_home(cprof__pointer_hash((const void *)~t->old[i].hidden), capacity);
        while (blocks[slot].hidden) slot = cprof__old_next(slot, capacity);
        blocks[slot] = t->old[i];
    }
    cprof__release(t->old, t->old_capacity * sizeof *t->old);
    t->old = blocks;
    t->old_capacity = capacity;
    return 0;
}

/* Into t's old table, under its lock. An entry already there for the same address is a block freed
   where the tracker does not see it (a file without CPROF_WRAP_MALLOC): the new one replaces it. */
static int cprof__old_insert(cprof__alloc_thread *t, const cprof__packed_block *entry) {
    if ((t->old_count + 1) * 4 > t->old_capacity * 3 && cprof__old_grow(t)) return -1;
    size_t slot = cprof__old_slot(t, entry->hidden, cprof__pointer_hash((const void *)~entry->hidden));
    if (!t->old[slot].hidden) CPROF__STORE(t->old_count, t->old_count + 1);
    t->old[slot] = *entry;
    return 0;
}

/* Linear probing's deletion: later entries of the run move back into the hole. */
static void cprof__old_delete(cprof__alloc_thread *t, size_t hole) {
    size_t capacity = t->old_capacity;
    t->old[hole].hidden = 0;
    for (size_t at = cprof__old_next(hole, capacity); t->old[at].hidden; at = cprof__old_next(at, capacity)) {
        size_t home = cprof__old_home(cprof__pointer_hash((const void *)~t->old[at].hidden), capacity);
        if (cprof__old_distance(home, at, capacity) < cprof__old_distance(hole, at, capacity)) continue; /* its home lies after the hole */
        t->old[hole] = t->old[at];
        t->old[at].hidden = 0;
        hole = at;
    }
    CPROF__STORE(t->old_count, t->old_count - 1);
}

/* Cold: every slot of the set is taken. The victim (chosen by the allocation count: as good as the
   oldest, and no age to keep) moves to the old table under the lock, and the new entry takes its slot.
   Out of memory for the old table, the older block stays and the new one is not tracked. */
CPROF__COLD static int cprof__young_evict(cprof__alloc_thread *t, cprof__packed_block *slot,
                                          const cprof__packed_block *entry) {
    cprof__packed_block older;
    cprof__spin_lock(&t->lock);
    older.hidden = CPROF__LOAD(slot->hidden); /* another thread may have freed it meanwhile */
    older.size_and_site = CPROF__LOAD(slot->size_and_site);
    int failed = older.hidden && cprof__old_insert(t, &older);
    if (!failed) cprof__young_store(slot, entry);
    cprof__spin_unlock(&t->lock);
    return failed ? -1 : 0;
}

/* A new block of the calling thread: into a free slot of its young set without a lock (or the slot of
   an entry for the same address: a block freed where the tracker does not see it), else in place of
   another, which moves to the old table (the only step of an allocation that takes the lock). The
   acquire pairs with another thread's clearing of a slot, so that its reads of the old entry come
   before this thread's writes of the new one. With 4 ways to a set, bench/alloc_live_memory's mixed
   workload (1,000 blocks live) sends 11% of its allocations and 10% of its frees to the lock; 256
   slots of one way each sent 98% of its frees there (bench/alloc_instructions.sh --mixed). */
static CPROF__INLINE int cprof__block_add(cprof__alloc_thread *t, const cprof__block *b, size_t hash) {
    cprof__packed_block entry, *set = cprof__young_set(t, hash), *slot;
    if (cprof__block_pack(b, &entry)) return -1;
    slot = cprof__young_find(set, b->hidden);
    if (!slot) slot = cprof__young_find(set, 0);
    if (CPROF__LIKELY(slot != NULL)) {
        cprof__young_store(slot, &entry);
        return 0;
    }
    return cprof__young_evict(t, &set[t->allocations % CPROF__YOUNG_WAYS], &entry);
}

/* Live bytes of the whole program and their peak. One total shared by every thread would be a cache
   line written by every allocation of every thread, so each thread adds its changes to the shared
   total only once they reach CPROF__LIVE_STEP (a large block at once). The total a thread sees is the
   shared one plus its own pending change: exact when one thread allocates and frees, and within
   CPROF__LIVE_STEP per other thread when several do. The common cases are inline below; this is the
   rest (publishing, a rising peak). */
static void cprof__live_changed(cprof__alloc_thread *self, int64_t change, const cprof__rnode *node) {
    int64_t pending = self->unpublished + change, shared;
    if (pending >= CPROF__LIVE_STEP || pending <= -CPROF__LIVE_STEP || self->ended) {
        shared = (int64_t)CPROF__ADD_FETCH(cprof__a.live_bytes, (uint64_t)pending);
        pending = 0;
        cprof__series_check_bytes(shared);
    } else if (change > 0) {
        shared = (int64_t)CPROF__LOAD(cprof__a.live_bytes);
    } else {
        shared = 0; /* a free never raises the peak */
    }
    self->unpublished = pending;
    int64_t live = shared + pending;
    if (change <= 0 || live <= (int64_t)CPROF__LOAD(cprof__a.peak_live_bytes)) return;
    cprof__mutex_lock(&cprof__peak_lock); /* only while the peak rises */
    if ((uint64_t)live > cprof__a.peak_live_bytes) {
        CPROF__STORE(cprof__a.peak_live_bytes, (uint64_t)live);
        cprof__a.peak_node = node;
        cprof__a.peak_ticks = cprof__ticks();
        CPROF__STORE(cprof__a.peak_version, cprof__a.peak_version + 1);
    }
    cprof__mutex_unlock(&cprof__peak_lock);
}

/* An allocation's change, the common case inline: nothing to publish yet (the pending change stays
   below CPROF__LIVE_STEP either way) and the peak stays where it is. */
static CPROF__INLINE void cprof__live_allocated(cprof__alloc_thread *self, size_t size, const cprof__rnode *node) {
    int64_t pending = self->unpublished + (int64_t)size;
    if (CPROF__LIKELY(pending < CPROF__LIVE_STEP && !self->ended &&
                      (int64_t)CPROF__LOAD(cprof__a.live_bytes) + pending <= (int64_t)CPROF__LOAD(cprof__a.peak_live_bytes)))
        self->unpublished = pending;
    else
        cprof__live_changed(self, (int64_t)size, node);
}

/* A free's change, the common case inline: it never raises the peak, and the pending change (below
   CPROF__LIVE_STEP either way before it) is published only when it reaches CPROF__LIVE_STEP downwards. */
static CPROF__INLINE void cprof__live_freed(cprof__alloc_thread *self, size_t size) {
    int64_t pending = self->unpublished - (int64_t)size;
    if (CPROF__LIKELY(pending > -CPROF__LIVE_STEP && !self->ended)) self->unpublished = pending;
    else cprof__live_changed(self, -(int64_t)size, NULL);
}

enum { CPROF__TAKEN = 1, CPROF__UNKNOWN = 0, CPROF__FREED_BEFORE = -1 };

/* What a free or realloc looks for, and what it found. */
typedef struct cprof__lookup {
    uintptr_t hidden;
    size_t hash;
    cprof__alloc_thread *owner; /* CPROF__TAKEN: the thread that allocated the block */
    cprof__block block;         /* CPROF__TAKEN: its entry */
    cprof__freed freed;         /* CPROF__FREED_BEFORE: the remembered free */
} cprof__lookup;

/* Takes the block out of t's young set when it is there: by t itself without a lock, by another
   thread under t's lock. The release pairs with the owner's acquire in cprof__block_add. */
static CPROF__INLINE int cprof__young_take(cprof__alloc_thread *t, cprof__lookup *l) {
    cprof__packed_block *slot = cprof__young_find(cprof__young_set(t, l->hash), l->hidden);
    if (!slot) return CPROF__UNKNOWN;
    cprof__block_unpack(t, l->hidden, CPROF__LOAD(slot->size_and_site), &l->block);
    CPROF__STORE_RELEASE(slot->hidden, (uintptr_t)0);
    return CPROF__TAKEN;
}

/* Takes the block out of t's young slot or old table, t's lock held. */
static int cprof__take_locked(cprof__alloc_thread *t, cprof__lookup *l) {
    if (cprof__young_take(t, l)) return CPROF__TAKEN;
    if (!t->old_count) return CPROF__UNKNOWN;
    size_t at = cprof__old_slot(t, l->hidden, l->hash);
    if (t->old[at].hidden != l->hidden) return CPROF__UNKNOWN;
    cprof__block_unpack(t, t->old[at].hidden, t->old[at].size_and_site, &l->block);
    cprof__old_delete(t, at);
    return CPROF__TAKEN;
}

static int cprof__take_from(cprof__alloc_thread *t, cprof__lookup *l) {
    cprof__spin_lock(&t->lock);
    int result = cprof__take_locked(t, l);
    cprof__spin_unlock(&t->lock);
    if (result == CPROF__TAKEN) l->owner = t;
    return result;
}

/* Whether the tracker holds a freed block of this size until it forgets the free (then gives it back
   to the C library): while a free is remembered, its block's address is then nobody else's, and
   another free of it is certainly a double free. A larger block goes back at once, so its address may
   have been handed out again, to tracked code (the tables find the new block) or untracked code. */
static CPROF__INLINE int cprof__held_after_free(size_t size) { return size <= CPROF__QUARANTINE_BYTES; }

/* Keeps `found` as the remembered free of the block looked for, unless one kept already is held:
   the same address may be remembered twice (freed large, then reused for a small block). */
static void cprof__freed_keep(cprof__freed *kept, int *result, const cprof__freed *found) {
    if (*result == CPROF__FREED_BEFORE && cprof__held_after_free(kept->size)) return;
    *kept = *found;
    *result = CPROF__FREED_BEFORE;
}

/* Looks for `hidden` among t's remembered frees: a sequence lock's read, retried while t changes
   them (a few instructions; a fork() child's are never left half changed, see cprof__fork_child). */
static int cprof__remembered_by(const cprof__alloc_thread *t, uintptr_t hidden, cprof__freed *kept) {
    for (;;) {
        uint32_t version = CPROF__LOAD_ACQUIRE(t->freed_version);
        int result = CPROF__UNKNOWN;
        if (version & 1) {
            cprof__yield();
            continue;
        }
        for (int i = 0; i < CPROF__FREED_REMEMBERED; i++) {
            cprof__freed found;
            if (CPROF__LOAD(t->freed_at[i]) != hidden) continue;
            found.size = CPROF__LOAD(t->freed[i].size);
            found.site = CPROF__LOAD(t->freed[i].site);
            found.file = CPROF__LOAD(t->freed[i].file);
            found.line = CPROF__LOAD(t->freed[i].line);
            cprof__freed_keep(kept, &result, &found);
        }
        CPROF__FENCE_ACQUIRE();
        if (CPROF__LOAD(t->freed_version) == version) return result;
    }
}

/* Looks for `hidden` among the finished threads' remembered frees (they are read after the live
   threads', and a finishing thread moves its own here before it clears them). */
static int cprof__remembered_by_finished(uintptr_t hidden, cprof__freed *kept) {
    int result = CPROF__UNKNOWN;
    cprof__mutex_lock(&cprof__orphan_lock);
    for (int i = 0; i < CPROF__ORPHANS; i++)
        if (cprof__orphans.at[i] == hidden) cprof__freed_keep(kept, &result, &cprof__orphans.freed[i]);
    cprof__mutex_unlock(&cprof__orphan_lock);
    return result;
}

/* Looks for the block among every thread's remembered frees, then the finished threads'. A held one
   ends the search: it proves a double free, whatever else remembers the address. */
static int cprof__remembered(cprof__lookup *l) {
    int result = CPROF__UNKNOWN;
    cprof__freed found;
    for (cprof__recorder *r = cprof__g.recorders; r; r = CPROF__LOAD_ACQUIRE(r->next)) {
        cprof__alloc_thread *t = CPROF__LOAD_ACQUIRE(r->allocs);
        if (t && cprof__remembered_by(t, l->hidden, &found)) cprof__freed_keep(&l->freed, &result, &found);
        if (result && cprof__held_after_free(l->freed.size)) return result;
    }
    if (cprof__remembered_by_finished(l->hidden, &found)) cprof__freed_keep(&l->freed, &result, &found);
    return result;
}

/* Remembers a free among the finished threads', under cprof__orphan_lock; returns the block forgotten
   to make room when it was held (the caller gives it back to the C library). */
static void *cprof__orphan_remember(uintptr_t hidden, const cprof__freed *freed, void *held) {
    uint32_t at = cprof__orphans.next++ % CPROF__ORPHANS;
    void *evicted = cprof__orphans.held[at];
    cprof__orphans.at[at] = hidden;
    cprof__orphans.freed[at] = *freed;
    cprof__orphans.held[at] = held;
    return evicted;
}

/* A block not in the calling thread's young cache: from its old table, else from another thread's.
   Only a block in no table is looked for among the remembered frees, since a remembered address not
   held may have been handed out again. */
static int cprof__take_elsewhere(cprof__alloc_thread *self, cprof__lookup *l) {
    int result = CPROF__UNKNOWN;
    if (CPROF__LOAD(self->old_count)) result = cprof__take_from(self, l);
    if (!result && self->last_owner) result = cprof__take_from(self->last_owner, l); /* a consumer's producer */
    for (cprof__recorder *r = result ? NULL : cprof__g.recorders; r && !result; r = CPROF__LOAD_ACQUIRE(r->next)) {
        cprof__alloc_thread *t = CPROF__LOAD_ACQUIRE(r->allocs);
        if (t && t != self && t != self->last_owner) result = cprof__take_from(t, l);
    }
    if (result == CPROF__TAKEN && l->owner != self) self->last_owner = l->owner;
    if (!result) result = cprof__remembered(l);
    return result;
}

/* Takes `block` out of the tracker: from the calling thread's young set without a lock (the common
   case, inline), else elsewhere. */
static CPROF__INLINE int cprof__table_take(cprof__alloc_thread *self, void *block, cprof__lookup *l) {
    l->hidden = ~(uintptr_t)block;
    l->hash = cprof__pointer_hash(block);
    l->owner = self;
    int result = cprof__young_take(self, l);
    if (CPROF__UNLIKELY(!result)) result = cprof__take_elsewhere(self, l);
    if (result == CPROF__TAKEN) cprof__live_freed(self, l->block.size);
    return result;
}

/* A block taken out but not freed after all (a failed realloc) goes back to its owner's old table. */
static int cprof__block_restore(cprof__alloc_thread *self, const cprof__lookup *l) {
    cprof__packed_block entry;
    cprof__block_pack(&l->block, &entry); /* it was packed in a table */
    cprof__spin_lock(&l->owner->lock);
    int failed = cprof__old_insert(l->owner, &entry);
    cprof__spin_unlock(&l->owner->lock);
    if (!failed) cprof__live_changed(self, (int64_t)l->block.size, NULL);
    return failed;
}

/* Remembers a free made by the calling thread, holding the block when `hold`; returns the block
   forgotten to make room when the tracker still held it (the caller gives it back to the C library). */
static CPROF__INLINE void *cprof__remember_freed(cprof__alloc_thread *self, const cprof__block *b, const char *file,
                                                 int line, int hold) {
    uint32_t at = self->freed_next++ % CPROF__FREED_REMEMBERED, version = self->freed_version;
    void *evicted = self->held[at];
    CPROF__STORE(self->freed_version, version + 1);
    CPROF__FENCE_RELEASE();
    CPROF__STORE(self->freed_at[at], b->hidden);
    CPROF__STORE(self->freed[at].size, b->size);
    CPROF__STORE(self->freed[at].site, (const cprof__asite *)b->site);
    CPROF__STORE(self->freed[at].file, file);
    CPROF__STORE(self->freed[at].line, line);
    CPROF__STORE_RELEASE(self->freed_version, version + 2);
    self->held[at] = hold ? (void *)~b->hidden : NULL;
    return evicted;
}

/* A finishing thread's remembered frees, held blocks with them, move to the finished threads' list
   (as a sequence lock's write, so that a reader finds them in one place or the other). Frees made on
   the thread after this go to that list too, and its changes of live bytes to the shared total at once. */
static void cprof__allocs_thread_exited(cprof__recorder *r) {
    cprof__alloc_thread *t = CPROF__LOAD_ACQUIRE(r->allocs);
    void *evicted[CPROF__FREED_REMEMBERED];
    if (!t) return;
    uint32_t version = t->freed_version;
    t->ended = 1;
    CPROF__STORE(t->freed_version, version + 1);
    CPROF__FENCE_RELEASE();
    cprof__mutex_lock(&cprof__orphan_lock);
    for (uint32_t k = 0; k < CPROF__FREED_REMEMBERED; k++) { /* oldest first */
        uint32_t i = (t->freed_next + k) % CPROF__FREED_REMEMBERED;
        evicted[k] = NULL;
        if (!t->freed_at[i]) continue; /* the thread reads what only it writes */
        evicted[k] = cprof__orphan_remember(t->freed_at[i], &t->freed[i], t->held[i]);
        t->held[i] = NULL;
        CPROF__STORE(t->freed_at[i], (uintptr_t)0);
    }
    cprof__mutex_unlock(&cprof__orphan_lock);
    CPROF__STORE_RELEASE(t->freed_version, version + 2);
    for (int k = 0; k < CPROF__FREED_REMEMBERED; k++) (free)(evicted[k]);
    cprof__live_changed(t, 0, NULL); /* publishes what is pending */
}

/* Remembers a free of the calling thread: in its own list, or among the finished threads' when its
   tracker's destructor has run. Returns the block to give back to the C library now, or NULL. */
static CPROF__INLINE void *cprof__remember(cprof__alloc_thread *self, const cprof__block *b, const char *file, int line,
                                           int hold) {
    if (CPROF__LIKELY(!self->ended)) return cprof__remember_freed(self, b, file, line, hold);
    cprof__freed freed;
    freed.size = b->size;
    freed.site = b->site;
    freed.file = file;
    freed.line = line;
    cprof__mutex_lock(&cprof__orphan_lock);
    void *evicted = cprof__orphan_remember(b->hidden, &freed, hold ? (void *)~b->hidden : NULL);
    cprof__mutex_unlock(&cprof__orphan_lock);
    return evicted;
}

static unsigned cprof__size_class(size_t size) { /* 0 for 0, 1 for 1, 2 for 2-3, ... */
#if defined(__GNUC__)
    return size ? (unsigned)(64 - __builtin_clzll((unsigned long long)size)) : 0;
#else
    unsigned k = 0;
    while (size) size >>= 1, k++;
    return k;
#endif
}

/* Counts a new block of `size` at file:line and keeps it among the thread's blocks. */
static void cprof__track_new(void *block, size_t size, const char *file, int line, const char *function) {
    cprof__recorder *r;
    cprof__alloc_thread *t = cprof__alloc_thread_get(&r);
    cprof__asite *site = t ? cprof__asite_get(r, t, file, line, function, CPROF_ALLOC_SITE, NULL) : NULL;
    if (!site) return; /* not tracked: its free will count as a free of an unknown block */
    cprof__rnode *node = r->stack[r->depth].node;
    uint64_t allocations = t->allocations + 1;
    unsigned size_class = cprof__size_class(size);
    CPROF__STORE(t->allocations, allocations);
    CPROF__STORE(t->bytes, t->bytes + size);
    CPROF__STORE(t->histogram[size_class], t->histogram[size_class] + 1);
    cprof__asite_peak_note(site);
    CPROF__STORE(site->count, site->count + 1);
    CPROF__STORE(site->bytes, site->bytes + size);
    if (size > site->max_bytes) CPROF__STORE(site->max_bytes, size);
#if defined(CPROF__USABLE_SIZE)
    size_t usable = CPROF__USABLE_SIZE(block);
    if (usable > size) CPROF__STORE(site->slack_bytes, site->slack_bytes + (usable - size));
#endif
    uint64_t site_live = site->bytes - site->freed_bytes - CPROF__LOAD(site->remote_bytes);
    if (site_live > site->peak_live_bytes) CPROF__STORE(site->peak_live_bytes, site_live);
    CPROF__STORE(node->alloc_count, CPROF__LOAD(node->alloc_count) + 1);
    CPROF__STORE(node->alloc_bytes, CPROF__LOAD(node->alloc_bytes) + size);
    cprof__block entry;
    entry.hidden = ~(uintptr_t)block;
    entry.size = size;
    entry.site = site;
    t->newest = entry.hidden;
    if (cprof__block_add(t, &entry, cprof__pointer_hash(block)))
        cprof__message(file, line, "a block allocated here is not tracked (out of memory, 1 TiB or more, or past "
                                   "16,777,215 sites on the thread)");
    cprof__live_allocated(t, size, node);
    if (CPROF__UNLIKELY(!(allocations & CPROF__SERIES_TIME_CHECK))) cprof__series_check_time();
}

/* Counts the free of a block the tracker took out: on its site (by the owner, or as a remote free), on
   the calling thread; temporary when the thread that allocated it allocated nothing since. */
static CPROF__INLINE void cprof__track_freed(cprof__alloc_thread *self, const cprof__lookup *l) {
    const cprof__block *b = &l->block;
    cprof__asite *site = b->site;
    CPROF__STORE(self->frees, self->frees + 1);
    CPROF__STORE(self->freed_bytes, self->freed_bytes + b->size);
    if (l->owner != self) {
        CPROF__ADD(site->remote_count, 1);
        CPROF__ADD(site->remote_bytes, b->size);
        return;
    }
    cprof__asite_peak_note(site);
    CPROF__STORE(site->freed_count, site->freed_count + 1);
    CPROF__STORE(site->freed_bytes, site->freed_bytes + b->size);
    if (b->hidden == self->newest) CPROF__STORE(site->temporary, site->temporary + 1);
}

/* A free (or realloc) of a block the tracker does not know, or of one it remembers as freed: a double
   free when the tracker still holds the block (the caller does not pass it on), else a possible one
   (passed on: the address may be another block now, allocated where the tracker does not see it). */
static void cprof__track_bad_free(cprof__recorder *r, cprof__alloc_thread *t, const void *block,
                                  const cprof__freed *freed, const char *file, int line, const char *function) {
    int certain = freed && cprof__held_after_free(freed->size);
    uint32_t kind = !freed ? CPROF_FREE_UNKNOWN : certain ? CPROF_FREE_DOUBLE : CPROF_FREE_POSSIBLE_DOUBLE;
    cprof__asite *site = cprof__asite_get(r, t, file, line, function, kind, freed ? freed->site : NULL);
    if (!site) return;
    CPROF__STORE(site->count, site->count + 1);
    if (!freed) return;
    CPROF__STORE(site->bytes, site->bytes + freed->size);
    if (certain)
        cprof__message(file, line, "double free of %p (%llu bytes allocated at %s:%d, freed at %s:%d); not passed on",
                       block, (unsigned long long)freed->size, freed->site->file, freed->site->line, freed->file,
                       freed->line);
    else if (site->count == 1) /* once per site: untracked code reusing the address is common */
        cprof__message(file, line,
                       "possible double free of %p (%llu bytes allocated at %s:%d, freed at %s:%d; the address may "
                       "have been reused where the tracker does not see it); passed on",
                       block, (unsigned long long)freed->size, freed->site->file, freed->site->line, freed->file,
                       freed->line);
}

/* Whether a free the tracker found remembered as freed is withheld from the C library: only when the
   tracker still holds the block, which proves a double free. */
static int cprof__certain_double_free(int state, const cprof__lookup *l) {
    return state == CPROF__FREED_BEFORE && cprof__held_after_free(l->freed.size);
}

void *cprof__malloc(size_t size, const char *file, int line, const char *function) {
    void *block = (malloc)(size);
    if (block) cprof__track_new(block, size, file, line, function);
    return block;
}

void *cprof__calloc(size_t count, size_t size, const char *file, int line, const char *function) {
    if (size && count > SIZE_MAX / size) { /* count * size does not fit: fail as the C library does */
        errno = ENOMEM;
        return NULL;
    }
    void *block = (calloc)(count, size);
    if (block) cprof__track_new(block, count * size, file, line, function);
    return block;
}

void cprof__free(void *block, const char *file, int line, const char *function) {
    cprof__recorder *r;
    cprof__lookup l;
    if (!block) return;
    cprof__alloc_thread *t = cprof__alloc_thread_get(&r);
    if (!t) {
        (free)(block);
        return;
    }
    int state = cprof__table_take(t, block, &l);
    if (state == CPROF__TAKEN) {
        int hold = cprof__held_after_free(l.block.size);
        cprof__track_freed(t, &l);
        void *forgotten = cprof__remember(t, &l.block, file, line, hold);
        if (forgotten) (free)(forgotten);
        if (!hold) (free)(block);
        return;
    }
    cprof__track_bad_free(r, t, block, state == CPROF__FREED_BEFORE ? &l.freed : NULL, file, line, function);
    if (!cprof__certain_double_free(state, &l)) (free)(block); /* maybe someone else's block: give it back */
}

/* The old block leaves the tracker before the C library may hand its address to another thread, and
   comes back if the C library fails. */
void *cprof__realloc(void *block, size_t size, const char *file, int line, const char *function) {
    cprof__recorder *r;
    cprof__lookup l;
    if (!block) return cprof__malloc(size, file, line, function);
    cprof__alloc_thread *t = cprof__alloc_thread_get(&r);
    if (!t) return (realloc)(block, size);
    int state = cprof__table_take(t, block, &l);
    if (state != CPROF__TAKEN)
        cprof__track_bad_free(r, t, block, state == CPROF__FREED_BEFORE ? &l.freed : NULL, file, line, function);
    if (cprof__certain_double_free(state, &l)) { /* the C library would abort or corrupt its heap */
        errno = ENOMEM;
        return NULL;
    }
    void *moved = (realloc)(block, size);
    if (state == CPROF__TAKEN && !moved && size) { /* failed: the old block stays as it was */
        if (cprof__block_restore(t, &l)) cprof__message(file, line, "out of memory: a block is no longer tracked");
        return NULL;
    }
    if (state == CPROF__TAKEN) cprof__track_freed(t, &l); /* realloc(p, 0) may free and return NULL */
    if (moved) cprof__track_new(moved, size, file, line, function);
    return moved;
}

void *cprof__reallocarray(void *block, size_t count, size_t size, const char *file, int line, const char *function) {
    if (size && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return cprof__realloc(block, count * size, file, line, function);
}

/* A tracked copy of the first `length` characters of `text`, and a terminating NUL. */
static char *cprof__text_copy(const char *text, size_t length, const char *file, int line, const char *function) {
    char *copy = (char *)(malloc)(length + 1);
    if (!copy) return NULL;
    memcpy(copy, text, length);
    copy[length] = '\0';
    cprof__track_new(copy, length + 1, file, line, function);
    return copy;
}

char *cprof__strndup(const char *text, size_t size, const char *file, int line, const char *function) {
    const char *end = (const char *)memchr(text, '\0', size);
    return cprof__text_copy(text, end ? (size_t)(end - text) : size, file, line, function);
}

/* strlen, not strndup's memchr with no bound: -D_FORTIFY_SOURCE rejects a bound above any object's size. */
char *cprof__strdup(const char *text, const char *file, int line, const char *function) {
    return cprof__text_copy(text, strlen(text), file, line, function);
}

#if defined(CPROF__WINDOWS)
/* The Windows C library has neither (its _aligned_malloc's blocks need _aligned_free, not free), so
   >>wrap does not rewrite these two names there; called directly, they fail with ENOSYS. */
int cprof__posix_memalign(void **out, size_t alignment, size_t size, const char *file, int line, const char *function) {
    (void)alignment, (void)size, (void)file, (void)line, (void)function;
    *out = NULL;
    return ENOSYS;
}

void *cprof__aligned_alloc(size_t alignment, size_t size, const char *file, int line, const char *function) {
    (void)alignment, (void)size, (void)file, (void)line, (void)function;
    errno = ENOSYS;
    return NULL;
}
#else
int cprof__posix_memalign(void **out, size_t alignment, size_t size, const char *file, int line, const char *function) {
    int result = cprof__libc_posix_memalign(out, alignment, size);
    if (result == 0 && *out) cprof__track_new(*out, size, file, line, function);
    return result;
}

/* The C library's own, whose answer to an alignment that is 0 or not a power of two differs between
   libraries (glibc rounds it up). Declared here too: a C99 build's <stdlib.h> may not (C11). */
void *cprof__aligned_alloc(size_t alignment, size_t size, const char *file, int line, const char *function) {
#if !defined(__cplusplus)
    extern void *(aligned_alloc)(size_t, size_t); /* in parentheses: CPROF_WRAP_MALLOC's macro may exist */
#endif
    void *block = (aligned_alloc)(alignment, size);
    if (block) cprof__track_new(block, size, file, line, function);
    return block;
}
#endif

cprof_alloc_counts cprof_thread_allocs(void) {
    cprof_alloc_counts counts;
    cprof__recorder *r = cprof__recorder_get();
    cprof__alloc_thread *t = r ? r->allocs : NULL;
    memset(&counts, 0, sizeof counts);
    if (!t) return counts;
    counts.allocations = t->allocations;
    counts.bytes = t->bytes;
    counts.frees = t->frees;
    counts.freed_bytes = t->freed_bytes;
    return counts;
}

cprof__alloc_block_state cprof__track_begin(const char *name, cprof_alloc_counts *out) {
    cprof__alloc_block_state state;
    state.start = cprof_thread_allocs();
    state.name = name;
    state.out = out;
    state.done = 0;
    return state;
}

void cprof__track_end(cprof__alloc_block_state *state) {
    cprof_alloc_counts now = cprof_thread_allocs(), made;
    made.allocations = now.allocations - state->start.allocations;
    made.bytes = now.bytes - state->start.bytes;
    made.frees = now.frees - state->start.frees;
    made.freed_bytes = now.freed_bytes - state->start.freed_bytes;
    if (state->out) *state->out = made;
    if (state->name)
        fprintf(stderr, "cprof: %s: %llu allocations, %llu bytes; %llu frees, %llu bytes\n", state->name,
                (unsigned long long)made.allocations, (unsigned long long)made.bytes,
                (unsigned long long)made.frees, (unsigned long long)made.freed_bytes);
    state->done = 1;
}

/* fork(): the child inherits every table as it was, with every lock free. The registry lock keeps
   new trackers from appearing while the locks are taken. Registered when cprof starts, so that no lock
   can be held across a fork() before the handlers exist. */
#if !defined(CPROF__WINDOWS) /* Windows has no fork() */
/* The forking thread's ring of switches, set aside from prepare to the parent's return: in the child
   its mapping is gone, and a timed scope there before cprof's child handler (another library's atfork
   handler) must not read it. */
static const volatile uint64_t *cprof__fork_switch_head;

static void cprof__fork_prepare(void) {
    cprof__mutex_lock(&cprof__capture_lock);
    cprof__mutex_lock(&cprof__lock);
    CPROF__EACH_ALLOC_THREAD(r, t) cprof__spin_lock(&t->lock);
    cprof__mutex_lock(&cprof__orphan_lock);
    cprof__mutex_lock(&cprof__peak_lock);
    cprof__spin_lock(&cprof__series.busy);
    cprof__recorder *self = cprof__this_thread;
    cprof__fork_switch_head = self ? CPROF__LOAD(self->switch_head) : NULL;
    if (self) CPROF__STORE(self->switch_head, (const volatile uint64_t *)NULL);
}

static void cprof__fork_parent(void) {
    cprof__spin_unlock(&cprof__series.busy);
    cprof__mutex_unlock(&cprof__peak_lock);
    cprof__mutex_unlock(&cprof__orphan_lock);
    CPROF__EACH_ALLOC_THREAD(r, t) cprof__spin_unlock(&t->lock);
    cprof__mutex_unlock(&cprof__lock);
    cprof__mutex_unlock(&cprof__capture_lock);
}

static void cprof__fork_in_parent(void) {
    if (cprof__this_thread) CPROF__STORE(cprof__this_thread->switch_head, cprof__fork_switch_head);
    cprof__fork_parent();
}

/* A fork() child reports only the thread that forked (with what it recorded before the fork): the
   others' recorders leave the registry (the merged exited threads and the spares too), their remembered
   frees and held blocks go to the finished threads' list (their live blocks are unknown blocks in the
   child), and CPROF_OUT becomes prefix.PID, so that the child's files do not replace its parent's. */
static void cprof__fork_child_alone(void) {
    cprof__recorder *self = cprof__this_thread, *next;
    for (cprof__recorder *r = cprof__g.recorders; r; r = next) {
        next = r->next;
        if (r == self) continue;
        cprof__allocs_thread_exited(r);
        r->next = cprof__parent_threads;
        cprof__parent_threads = r;
    }
    if (self) self->next = NULL;
    cprof__g.recorders = cprof__g.last_recorder = self;
    cprof__g.spare = NULL; /* they left the registry with the others: a new thread makes its own */
    cprof__g.exited = NULL;
    cprof__g.exited_kept = 0;
    cprof__g.exited_merged = 0;
    if (self && self->allocs) self->allocs->last_owner = NULL;
    size_t length = strlen(cprof__g.out_prefix);
    if (length && length + 12 < sizeof cprof__g.out_prefix) /* "." and the process id */
        cprof__snprintf(cprof__g.out_prefix + length, sizeof cprof__g.out_prefix - length, ".%ld", (long)getpid());
    else
        cprof__g.out_prefix[0] = '\0'; /* a fork of a fork of ... too long: no CPROF_OUT files */
}

/* In the child, the other threads are gone: one caught changing its remembered frees left them
   marked as changing, and they are only ever read from now on. */
static void cprof__fork_child(void) {
    CPROF__EACH_ALLOC_THREAD(r, t) {
        if (t->freed_version & 1) CPROF__STORE(t->freed_version, t->freed_version + 1);
    }
    cprof__fork_parent();
    cprof__events_fork_child(); /* before the other threads' recorders are set apart: it closes their events */
    cprof__fork_child_alone();
}
#endif

/* --- the leak check: the live blocks classified as memcheck does (cprof_leak_check, CPROF_OUT at exit).
   Roots are scanned word by word (aligned): the writable segments (data, bss, GOT) of the executable
   and of every loaded library, the calling thread's thread-local storage of each of them, its stack
   from the caller of cprof_leak_check up, and its callee-saved registers. A word equal to a block's
   start makes it reachable, a word inside it possibly reachable; the contents of every block reached
   are scanned the same way, transitively. Of the blocks never reached, the first in address order of
   each group pointed to only by others is definitely lost, the others indirectly lost. At exit (CPROF_OUT)
   the stack and registers are not scanned: main has returned or exit() was called, so every frame of
   the program has ended (memcheck scans what is left of the stack, where an old pointer may survive
   and make a lost block look reachable). Not scanned:
   other threads' stacks and registers, memory from mmap, and blocks allocated where the tracker does not
   see them (another file, a library): a block whose only pointer lives there shows as lost. A pointer
   kept hidden (tagged, XORed, compressed) is not seen. Costs time proportional to the roots and the live
   heap, and a 32-byte entry per live block while it runs. --- */
#if defined(CPROF__LINUX) && defined(__ELF__) && defined(__GNUC__) && (defined(CPROF__X86_64) || defined(CPROF__AARCH64))
#define CPROF__LEAK_SCAN 1
#include <elf.h>
#include <setjmp.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h> /* client requests: silence memcheck's reports on the scan's own reads */
#endif
#endif
#if defined(__clang__)
#define CPROF__SCAN_RAW __attribute__((noinline, no_sanitize("address", "thread", "memory", "hwaddress")))
#else
#define CPROF__SCAN_RAW __attribute__((noinline, no_sanitize_address, no_sanitize_thread))
#endif

/* glibc's struct dl_phdr_info, bound by symbol name as >>auto does (it is declared only under _GNU_SOURCE). */
struct cprof__loaded_module {
    uintptr_t bias;
    const char *path;
    const Elf64_Phdr *segments;
    uint16_t segment_count;
    unsigned long long adds, subs;
    size_t tls_module;
    void *tls_data; /* the calling thread's copy of the module's thread-local storage; NULL if none yet */
};
int cprof__dl_iterate_modules(int (*callback)(struct cprof__loaded_module *, size_t, void *), void *data)
    __asm__("dl_iterate_phdr");
#endif

enum { CPROF__UNREACHED = 0, CPROF__INDIRECT = 1, CPROF__POSSIBLE = 2, CPROF__REACHABLE = 3 };

typedef struct cprof__leak_roots { /* taken by cprof_leak_check() before any frame that may hold an address */
#if defined(CPROF__LEAK_SCAN)
    jmp_buf registers;
#endif
    uintptr_t stack_low;
    int at_exit; /* every frame of the program has ended: its stack and registers are not scanned */
} cprof__leak_roots;

typedef struct cprof__live_block {
    uintptr_t start;
    size_t size;
    const cprof__asite *site;
    uint32_t state, group; /* group: the first lost block that reached it (CPROF_NONE: none yet) */
} cprof__live_block;

typedef struct cprof__leak_scan {
    cprof__live_block *blocks; /* every live block, by address */
    size_t count, capacity;
    uint32_t *pending;         /* blocks reached whose contents are still to scan */
    size_t pending_count, pending_capacity;
    uint32_t group;            /* while grouping the unreached: the lost block being followed */
    uint32_t from;             /* the state of what is being scanned: REACHABLE (a root) or POSSIBLE */
    int failed;
} cprof__leak_scan;

static void cprof__leak_add_block(cprof__leak_scan *s, uintptr_t hidden, size_t size, const cprof__asite *site) {
    if (!hidden || s->failed) return;
    if (cprof__grow(&s->blocks, &s->capacity, s->count + 1, sizeof *s->blocks)) { s->failed = 1; return; }
    cprof__live_block *b = &s->blocks[s->count++];
    b->start = ~hidden;
    b->size = size;
    b->site = site;
    b->state = CPROF__UNREACHED;
    b->group = CPROF_NONE;
}

static int cprof__compare_live_blocks(const void *a, const void *b) {
    uintptr_t x = ((const cprof__live_block *)a)->start, y = ((const cprof__live_block *)b)->start;
    return (x > y) - (x < y);
}

/* Every thread's live blocks (young slots and old table, each thread under its lock), by address. */
static void cprof__leak_collect(cprof__leak_scan *s) {
    CPROF__EACH_ALLOC_THREAD(r, t) {
        cprof__spin_lock(&t->lock);
        for (size_t i = 0; i < CPROF__YOUNG_SLOTS; i++) {
            cprof__block b;
            uintptr_t hidden = CPROF__LOAD_ACQUIRE(t->young[i].hidden);
            if (!hidden) continue;
            cprof__block_unpack(t, hidden, CPROF__LOAD(t->young[i].size_and_site), &b);
            cprof__leak_add_block(s, b.hidden, b.size, b.site);
        }
        for (size_t i = 0; i < t->old_capacity; i++) {
            cprof__block b;
            if (!t->old[i].hidden) continue;
            cprof__block_unpack(t, t->old[i].hidden, t->old[i].size_and_site, &b);
            cprof__leak_add_block(s, b.hidden, b.size, b.site);
        }
        cprof__spin_unlock(&t->lock);
    }
    if (s->count) qsort(s->blocks, s->count, sizeof *s->blocks, cprof__compare_live_blocks);
}

/* The block `word` points into (its start, or inside it), or CPROF_NONE. A block of size 0 is pointed
   to only by its start. */
static uint32_t cprof__leak_find(const cprof__leak_scan *s, uintptr_t word) {
    size_t low = 0, high = s->count;
    if (!high || word < s->blocks[0].start || word >= s->blocks[high - 1].start + s->blocks[high - 1].size + 1) return CPROF_NONE;
    while (high - low > 1) { /* the last block starting at or below `word` */
        size_t middle = low + (high - low) / 2;
        if (s->blocks[middle].start <= word) low = middle;
        else high = middle;
    }
    const cprof__live_block *b = &s->blocks[low];
    return b->start <= word && (word == b->start || word - b->start < b->size) ? (uint32_t)low : CPROF_NONE;
}

static void cprof__leak_push(cprof__leak_scan *s, uint32_t index) {
    if (cprof__grow(&s->pending, &s->pending_capacity, s->pending_count + 1, sizeof *s->pending)) { s->failed = 1; return; }
    s->pending[s->pending_count++] = index;
}

/* A word found in a root or a reached block: its block becomes reachable (a pointer to its start from a
   root or a reachable block) or possibly reachable (into its middle, or from a possibly reachable
   block: memcheck's "possibly lost" is any chain with an interior pointer in it), and is scanned in
   turn when first reached and again when it becomes reachable (what it points to follows). While
   grouping the unreached blocks (s->group set), it joins the group of the lost block being followed. */
CPROF__UNUSED static void cprof__leak_word(cprof__leak_scan *s, uintptr_t word) {
    uint32_t index = cprof__leak_find(s, word);
    if (index == CPROF_NONE) return;
    cprof__live_block *b = &s->blocks[index];
    if (s->group != CPROF_NONE) {
        if (b->state != CPROF__UNREACHED || index == s->group) return;
        int first = b->group == CPROF_NONE;
        b->state = CPROF__INDIRECT; /* a lost block met earlier joins this group, with what it reached */
        b->group = s->group;
        if (first) cprof__leak_push(s, index);
        return;
    }
    uint32_t state = word == b->start ? s->from : (uint32_t)CPROF__POSSIBLE;
    if (b->state >= state) return;
    b->state = state;
    cprof__leak_push(s, index);
}

#if defined(CPROF__LEAK_SCAN)
/* Reads memory the program owns word by word, the uninitialised and the sanitizers' poisoned parts too:
   no sanitizer instruments it, and memcheck (when its header was found at build time) is told to look away. */
CPROF__SCAN_RAW static void cprof__leak_scan_range(cprof__leak_scan *s, uintptr_t low, uintptr_t high) {
    uintptr_t word_size = sizeof(uintptr_t);
    for (uintptr_t at = (low + word_size - 1) & ~(word_size - 1); at + word_size <= high && !s->failed; at += word_size)
        cprof__leak_word(s, *(const volatile uintptr_t *)at);
}

/* The blocks reached and not scanned yet, until none is left. */
static void cprof__leak_follow(cprof__leak_scan *s) {
    while (s->pending_count && !s->failed) {
        const cprof__live_block *b = &s->blocks[s->pending[--s->pending_count]];
        s->from = b->state;
        cprof__leak_scan_range(s, b->start, b->start + b->size);
    }
}

static int cprof__leak_module(struct cprof__loaded_module *m, size_t size, void *data) {
    cprof__leak_scan *s = (cprof__leak_scan *)data;
    for (uint16_t k = 0; k < m->segment_count; k++) {
        const Elf64_Phdr *segment = &m->segments[k];
        if (segment->p_type == PT_LOAD && (segment->p_flags & PF_W))
            cprof__leak_scan_range(s, m->bias + segment->p_vaddr, m->bias + segment->p_vaddr + segment->p_memsz);
        else if (segment->p_type == PT_TLS && size >= sizeof *m && m->tls_data)
            cprof__leak_scan_range(s, (uintptr_t)m->tls_data, (uintptr_t)m->tls_data + segment->p_memsz);
    }
    return 0;
}

/* The roots: modules' writable segments and this thread's TLS, its registers, its stack. -1 when the
   stack's bounds are unknown. */
static int cprof__leak_scan_roots(cprof__leak_scan *s, const cprof__leak_roots *roots) {
    if (roots->at_exit) {
        cprof__dl_iterate_modules(cprof__leak_module, s);
        return 0;
    }
    uintptr_t stack_low, stack_high;
    if (cprof__thread_stack(&stack_low, &stack_high) || roots->stack_low < stack_low || roots->stack_low > stack_high)
        return -1;
    cprof__dl_iterate_modules(cprof__leak_module, s);
    cprof__leak_scan_range(s, (uintptr_t)&roots->registers, (uintptr_t)(&roots->registers + 1));
    cprof__leak_scan_range(s, roots->stack_low, stack_high);
    return 0;
}

/* Marks every block from the roots, then groups the unreached ones (memcheck's "cliques"). */
static int cprof__leak_mark(cprof__leak_scan *s, const cprof__leak_roots *roots) {
#if defined(VALGRIND_DISABLE_ERROR_REPORTING)
    VALGRIND_DISABLE_ERROR_REPORTING;
#endif
    s->group = CPROF_NONE;
    s->from = CPROF__REACHABLE;
    int failed = cprof__leak_scan_roots(s, roots);
    cprof__leak_follow(s);
    for (size_t i = 0; i < s->count && !failed && !s->failed; i++) {
        if (s->blocks[i].state != CPROF__UNREACHED || s->blocks[i].group != CPROF_NONE) continue;
        s->group = s->blocks[i].group = (uint32_t)i;
        cprof__leak_scan_range(s, s->blocks[i].start, s->blocks[i].start + s->blocks[i].size);
        cprof__leak_follow(s);
    }
#if defined(VALGRIND_ENABLE_ERROR_REPORTING)
    VALGRIND_ENABLE_ERROR_REPORTING;
#endif
    return failed || s->failed ? -1 : 0;
}
#else
static int cprof__leak_mark(cprof__leak_scan *s, const cprof__leak_roots *roots) {
    (void)s, (void)roots;
    return -1;
}
#endif

/* Adds each classified block to its site in the profile (capture_index: the site's sorted position). */
static void cprof__leak_count(cprof_profile *p, const cprof__leak_scan *s) {
    for (size_t i = 0; i < s->count; i++) {
        const cprof__live_block *b = &s->blocks[i];
        uint32_t index = b->site ? b->site->capture_index : CPROF_NONE;
        if (index >= p->alloc_site_count) continue;
        cprof_alloc_site *site = &p->alloc_sites[index];
        if (b->state == CPROF__UNREACHED) site->lost_count++, site->lost_bytes += b->size;
        else if (b->state == CPROF__INDIRECT) site->indirect_count++, site->indirect_bytes += b->size;
        else if (b->state == CPROF__POSSIBLE) site->possible_count++, site->possible_bytes += b->size;
    }
}

/* The leak check of a capture, under the registry lock, after the sites are sorted. Other threads keep
   running: a block they free meanwhile may be read after its free (call it when they are quiet). */
static void cprof__leak_check_capture(cprof_profile *p, const cprof__leak_roots *roots) {
    cprof__leak_scan s;
    memset(&s, 0, sizeof s);
    cprof__leak_collect(&s);
    if (s.failed || cprof__leak_mark(&s, roots)) p->allocs.leak_scan_failed = 1;
    else cprof__leak_count(p, &s);
    p->allocs.leak_checked = 1;
    cprof__release(s.blocks, s.capacity * sizeof *s.blocks);
    cprof__release(s.pending, s.pending_capacity * sizeof *s.pending);
}

/* ==================================================================================================
   >>scopes: a thread's recorder created at its first scope and marked at its exit, start-up from
   the environment, scope enter and exit (the hot path), recording on and off, reset
   ================================================================================================== */
static void cprof__recorder_retire(cprof__recorder *r);

static void cprof__thread_exited(void *recorder) {
    cprof__mutex_lock(&cprof__lock);
    cprof__sample_thread_stop((cprof__recorder *)recorder);
    cprof__preemption_stop((cprof__recorder *)recorder);
    CPROF__STORE(((cprof__recorder *)recorder)->exited, 1u);
    cprof__mutex_unlock(&cprof__lock);
    cprof__counters_thread_exited((cprof__recorder *)recorder);
    cprof__allocs_thread_exited((cprof__recorder *)recorder);
    cprof__recorder_retire((cprof__recorder *)recorder);
}

/* Appends a new recorder to the registry. Under the lock. */
static void cprof__recorder_link(cprof__recorder *r) {
    r->stack[0].node = &r->root;
    cprof__node_clear(&r->root);
    if (cprof__g.last_recorder) CPROF__STORE_RELEASE(cprof__g.last_recorder->next, r);
    else cprof__g.recorders = r;
    cprof__g.last_recorder = r;
    cprof__g.recorder_count++;
}

/* --- the timeline: each thread's bounded buffer of events (CPROF_TIMELINE), made with its recorder or
   when cprof_timeline_enable() is called; its memory is fixed when made: header + capacity x event. --- */
CPROF__NO_INSTRUMENT static CPROF__INLINE cprof__timeline_event *cprof__timeline_events(cprof__timeline *t) {
    return (cprof__timeline_event *)(void *)(t + 1);
}

static cprof__timeline *cprof__timeline_new(uint32_t capacity, uint32_t policy) {
    cprof__timeline *t = (cprof__timeline *)cprof__alloc(sizeof *t + (size_t)capacity * sizeof(cprof__timeline_event));
    if (!t) return NULL;
    t->capacity = capacity;
    t->policy = policy;
    return t;
}

/* Forgets the events (a reset, a spare recorder); a capture meanwhile may see some of them. */
static void cprof__timeline_clear(cprof__timeline *t) {
    if (!t) return;
    CPROF__STORE(t->lap_start, 0);
    CPROF__STORE_RELEASE(t->written, 0);
}

/* Cold: the ring is full, a new lap begins at slot 0 (or, after a reset that raced with its thread, at
   the slot the count says: the slot stays written % capacity, which the capture relies on). */
CPROF__NO_INSTRUMENT CPROF__COLD static void cprof__timeline_lap(cprof__timeline *t, uint64_t written, uint64_t ticks,
                                                                uintptr_t what) {
    uint64_t slot = written % t->capacity;
    CPROF__STORE(t->lap_start, written - slot);
    CPROF__STORE(cprof__timeline_events(t)[slot].ticks, ticks);
    CPROF__STORE(cprof__timeline_events(t)[slot].what, what);
}

/* One event, on the thread's own buffer: two stores and the count, one well-predicted branch (the slot
   is in the lap). Past the capacity: the ring starts a new lap, overwriting its oldest events, or (first
   N) the event is only counted. The slot is checked against the capacity whatever the counts hold, so a
   reset from another thread can never make it write outside the buffer. The count is stored last, with
   release: a capture that reads it then reads complete events. */
CPROF__NO_INSTRUMENT static CPROF__INLINE void cprof__timeline_add(cprof__timeline *t, uint64_t ticks, uintptr_t what) {
    uint64_t written = CPROF__LOAD(t->written);
    uint64_t slot = written - CPROF__LOAD(t->lap_start);
    if (CPROF__LIKELY(slot < t->capacity)) {
        cprof__timeline_event *e = &cprof__timeline_events(t)[slot];
        CPROF__STORE(e->ticks, ticks);
        CPROF__STORE(e->what, what);
    } else if (t->policy == CPROF_TIMELINE_RECENT) {
        cprof__timeline_lap(t, written, ticks, what);
    }
    CPROF__STORE_RELEASE(t->written, written + 1);
}

/* Creates the calling thread's recorder, or takes a spare one (an exited thread's, already merged), and
   links it into the registry; it outlives the thread so that a later capture still sees what the
   thread recorded. */
static cprof__recorder *cprof__recorder_create(void) {
    cprof__mutex_lock(&cprof__lock);
    cprof__recorder *r = cprof__g.spare;
    if (r) {
        cprof__g.spare = r->spare_next;
        CPROF__STORE(r->exited, 0u);
        CPROF__STORE(r->spare, 0u); /* its tree is empty, its nodes free for reuse (see cprof__recorder_retire) */
    } else if ((r = (cprof__recorder *)cprof__alloc(sizeof *r)) != NULL) {
        cprof__recorder_link(r);
    }
    if (r) {
        r->thread_id = cprof__thread_id();
        r->counters = cprof__counters_for_new_thread();
        if (cprof__g.timeline_capacity && !r->timeline) /* a spare recorder keeps its buffer */
            r->timeline = cprof__timeline_new(cprof__g.timeline_capacity, cprof__g.timeline_policy);
        cprof__stack_bounds(r);
        cprof__sample_thread_start(r); /* when sampling: from the thread's first scope */
        cprof__preemption_start(r);
        cprof__g.thread_count++;
        if (cprof__g.thread_count == 1) strcpy(r->name, "main");
        else cprof__snprintf(r->name, sizeof r->name, "thread-%u", (unsigned)cprof__g.thread_count);
    }
    cprof__mutex_unlock(&cprof__lock);
    if (!r) return NULL;
    cprof__thread_exit_set(cprof__g.exit_key, r);
    cprof__this_thread = r;
    return r;
}

static void cprof__init_once(void);
static void cprof__init(void) { cprof__once_run(&cprof__once, cprof__init_once); }

CPROF__NO_INSTRUMENT static cprof__recorder *cprof__recorder_get(void) {
    cprof__recorder *r = cprof__this_thread;
    if (CPROF__LIKELY(r != NULL)) return r;
    if (cprof__recorder_creating) return NULL;
    cprof__recorder_creating = 1;
    cprof__init();
    r = cprof__recorder_create();
    cprof__recorder_creating = 0;
    return r;
}

static void cprof__counters_merge_node(cprof__recorder *into, cprof__rnode *to, const cprof__rnode *from);
static void cprof__counters_release(cprof__recorder *r);
static void cprof__selection_note_ignored(void);

/* A signal handler's scope must not touch the tree while the code it interrupted is changing it: enter,
   exit and end mark the recorder busy around every change (a relaxed store each way, and a compiler-
   only fence so that no change moves outside the mark). A scope that begins while busy can only be in
   a signal handler (or a hook called from cprof itself): it is counted and not recorded. */
#if defined(__GNUC__)
#define CPROF__SIGNAL_FENCE() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#else
#define CPROF__SIGNAL_FENCE() ((void)0)
#endif
#if defined(__GNUC__)
#define CPROF__ACQUIRE_FENCE() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#else
#define CPROF__ACQUIRE_FENCE() ((void)0)
#endif
#define CPROF__BUSY_BEGIN(r) (CPROF__STORE((r)->busy, 1u), CPROF__SIGNAL_FENCE())
#define CPROF__BUSY_END(r) (CPROF__SIGNAL_FENCE(), CPROF__STORE((r)->busy, 0u))

CPROF__NO_INSTRUMENT CPROF__COLD static uint32_t cprof__enter_while_busy(cprof__recorder *r) {
    CPROF__STORE(r->signal_dropped, CPROF__LOAD(r->signal_dropped) + 1);
    return 0;
}

/* Cold: no recorder, or recording off. A scope that begins while its thread's recorder is being made
   is in a signal handler: counted as well (there is no recorder yet to count it on). */
CPROF__NO_INSTRUMENT CPROF__COLD static uint32_t cprof__enter_unrecorded(void) {
    if (cprof__recorder_creating) CPROF__ADD(cprof__g.signal_dropped_early, 1u);
    return 0;
}

/* The current node's child for `site`, made on first entry: one pointer compare for the common case,
   else a table or a short list. NULL (counted as dropped) past the depth limit or out of memory. */
CPROF__NO_INSTRUMENT static CPROF__INLINE cprof__rnode *cprof__node_enter(cprof__recorder *r, uint32_t depth,
                                                                         const cprof_site *site) {
    cprof__rnode *node = NULL;
    if (CPROF__LIKELY(depth < CPROF__MAX_DEPTH)) {
        cprof__rnode *parent = r->stack[depth].node;
        node = parent->first_child;
        if (CPROF__UNLIKELY(!node || node->site != site)) node = cprof__child_find(parent, site);
        if (CPROF__UNLIKELY(!node)) node = cprof__node_add(r, parent, site);
    }
    if (CPROF__UNLIKELY(!node)) CPROF__STORE(r->dropped, CPROF__LOAD(r->dropped) + 1);
    return node;
}

#if defined(CPROF_AUTO)
/* One function, one scope: an unnamed CPROF_SCOPE() directly inside a function the compiler instruments
   is that function's automatic scope, not a child of it (which would count every call twice). Its
   symbol names what __func__ names: "work" for work, "work.constprop.0" for a clone gcc made, and
   "ns::Type<int>::work(int) const" for a demangled C++ member. */
CPROF__NO_INSTRUMENT CPROF__COLD static int cprof__same_function(const char *symbol, const char *func) {
    const char *start = symbol, *end = symbol;
    int angle = 0;
    for (; *end && *end != '(' && !(*end == '.' && angle == 0); end++) {
        if (*end == '<') angle++;
        else if (*end == '>' && angle > 0) angle--;
        else if (angle == 0 && end[0] == ':' && end[1] == ':') start = end + 2;
    }
    const char *template_args = start; /* "work<int>" names work */
    while (template_args < end && *template_args != '<') template_args++;
    size_t length = (size_t)(template_args - start);
    return strlen(func) == length && strncmp(start, func, length) == 0;
}

CPROF__NO_INSTRUMENT static CPROF__INLINE int cprof__is_function_scope(const cprof__recorder *r, uint32_t depth,
                                                                      const cprof_site *site) {
    const cprof_site *open = depth ? r->stack[depth].site : NULL;
    return CPROF__UNLIKELY(site->name[0] == '\0' && open && open->kind == CPROF__KIND_AUTO) &&
           site->kind == CPROF__KIND_SCOPE && cprof__same_function(open->function, site->function);
}
#else
CPROF__NO_INSTRUMENT static CPROF__INLINE int cprof__is_function_scope(const cprof__recorder *r, uint32_t depth,
                                                                      const cprof_site *site) {
    (void)r, (void)depth, (void)site;
    return 0;
}
#endif

/* Both entries: find the node, push a frame. Timed (cprof__enter): count the call in `calls`, start the
   counters, read the timer last so that the bookkeeping is not timed. Counted (cprof__count_enter, for
   >>auto's functions too short to time): count it in `counted_calls`, read nothing; the frame is there
   so that the calls it makes nest under it, and its events are its caller's, as its time is. Returns
   the frame's depth, the token the exit checks; 0 when nothing was recorded (an unnamed scope that is
   its function's automatic scope as well records nothing of its own). */
CPROF__NO_INSTRUMENT static CPROF__INLINE uint32_t cprof__frame_open(const cprof_site *site, int timed) {
    cprof__recorder *r = cprof__recorder_get();
    if (CPROF__UNLIKELY(!r || !CPROF__LOAD(cprof__g.enabled))) return r ? 0 : cprof__enter_unrecorded();
    if (CPROF__UNLIKELY(CPROF__LOAD(r->busy))) return cprof__enter_while_busy(r);
    CPROF__BUSY_BEGIN(r);
    uint32_t depth = r->depth;
    cprof__rnode *node = timed && cprof__is_function_scope(r, depth, site) ? NULL : cprof__node_enter(r, depth, site);
    if (CPROF__UNLIKELY(!node)) {
        CPROF__BUSY_END(r);
        return 0;
    }
    cprof__frame *frame = &r->stack[depth + 1];
    CPROF__STORE(frame->node, node);
    CPROF__STORE(frame->site, site);
    if (timed) {
        CPROF__STORE(node->calls, CPROF__LOAD(node->calls) + 1);
        if (CPROF__UNLIKELY(CPROF__LOAD(r->counters) != NULL)) cprof__counters_start(r, depth + 1); /* off: one branch */
        uint64_t now = cprof__ticks();
        CPROF__STORE(frame->start_ticks, now);
        cprof__timeline *timeline = CPROF__LOAD(r->timeline); /* off: one branch; on, its cost is in the scope's time */
        if (CPROF__UNLIKELY(timeline != NULL)) cprof__timeline_add(timeline, now, (uintptr_t)node | CPROF_EVENT_ENTER);
    } else { /* not in the timeline either: its calls are its caller's time */
        CPROF__STORE(frame->start_ticks, (uint64_t)CPROF__UNTIMED);
        CPROF__STORE(node->counted_calls, CPROF__LOAD(node->counted_calls) + 1);
    }
    CPROF__STORE_RELEASE(r->depth, depth + 1);
    CPROF__BUSY_END(r);
    return depth + 1;
}

/* The hot path, enter. */
CPROF__NO_INSTRUMENT uint32_t cprof__enter(const cprof_site *site) { return cprof__frame_open(site, 1); }

CPROF__NO_INSTRUMENT CPROF__UNUSED static uint32_t cprof__count_enter(const cprof_site *site) {
    return cprof__frame_open(site, 0);
}

CPROF__NO_INSTRUMENT static CPROF__INLINE void cprof__frame_close(cprof__recorder *r, uint32_t depth, uint64_t now) {
    cprof__preemption_catch_up(r, depth, now); /* >>preemption; off: one branch */
    cprof__frame *frame = &r->stack[depth];
    cprof__rnode *node = frame->node;
    uint64_t start = frame->start_ticks; /* later than now only when a preemption moved it after now was read */
    uint64_t elapsed = now > start ? now - start : 0;
    double square;
    CPROF__LOAD_DOUBLE(node->sum_sq_ticks2, square); /* every field a reset may write is read atomically */
    square += (double)elapsed * (double)elapsed;
    CPROF__STORE(node->total_ticks, CPROF__LOAD(node->total_ticks) + elapsed);
    CPROF__STORE_DOUBLE(node->sum_sq_ticks2, square);
    if (elapsed < CPROF__LOAD(node->min_ticks)) CPROF__STORE(node->min_ticks, elapsed);
    if (elapsed > CPROF__LOAD(node->max_ticks)) CPROF__STORE(node->max_ticks, elapsed);
    CPROF__STORE_RELEASE(r->depth, depth - 1);
    cprof__timeline *timeline = CPROF__LOAD(r->timeline); /* off: one branch */
    if (CPROF__UNLIKELY(timeline != NULL)) cprof__timeline_add(timeline, now, (uintptr_t)node | CPROF_EVENT_EXIT);
    /* Last, so that it is a tail call and costs nothing when off but a branch (the frame stays intact). */
    if (CPROF__UNLIKELY(CPROF__LOAD(r->counters) != NULL)) cprof__counters_stop(r, depth);
}

/* Frames above `token` are CPROF_BEGINs that were never ended: close them here, say where. */
static void cprof__close_forgotten(cprof__recorder *r, uint32_t token, uint64_t now) {
    const cprof_site *outer = r->stack[token].site;
    while (r->depth > token) {
        const cprof_site *open = r->stack[r->depth].site;
        if (r->stack[r->depth].start_ticks == CPROF__UNTIMED) { /* a counted call whose exit a longjmp skipped */
            CPROF__STORE_RELEASE(r->depth, r->depth - 1);
            continue;
        }
        cprof__message(open->file, open->line,
                       "CPROF_BEGIN(\"%s\") was not ended before the scope of %s (%s:%d) ended; closed there",
                       open->name[0] ? open->name : open->function, outer->function, outer->file, outer->line);
        cprof__frame_close(r, r->depth, now);
    }
}

/* Cold: the scope to close is not the innermost one. */
CPROF__NO_INSTRUMENT CPROF__COLD static void cprof__exit_unbalanced(cprof__recorder *r, uint32_t token, uint64_t now) {
    if (r->depth < token) return; /* already closed (a longjmp skipped the cleanups) */
    CPROF__BUSY_BEGIN(r);
    cprof__close_forgotten(r, token, now);
    cprof__frame_close(r, token, now);
    CPROF__BUSY_END(r);
}

/* Exit at `now`: add the elapsed ticks to the frame's node. (A signal handler's scope between the depth
   check and the busy mark leaves the depth as it found it.) */
CPROF__NO_INSTRUMENT static CPROF__INLINE void cprof__exit_at(uint32_t token, uint64_t now) {
    cprof__recorder *r = cprof__this_thread;
    if (CPROF__UNLIKELY(r->depth != token)) {
        cprof__exit_unbalanced(r, token, now);
        return;
    }
    CPROF__BUSY_BEGIN(r);
    cprof__frame_close(r, token, now);
    CPROF__BUSY_END(r);
}

/* The hot path, exit: read the timer first. */
CPROF__NO_INSTRUMENT void cprof__exit(uint32_t token) {
    if (token == 0) return;
    cprof__exit_at(token, cprof__ticks());
}

/* The exit of a cprof__count_enter: pop its frame (frames above it that never exited are closed). */
CPROF__NO_INSTRUMENT CPROF__UNUSED static void cprof__count_exit(uint32_t token) {
    cprof__recorder *r = cprof__this_thread;
    if (CPROF__UNLIKELY(r->depth != token)) {
        if (r->depth < token) return; /* already closed */
        CPROF__BUSY_BEGIN(r);
        cprof__close_forgotten(r, token, cprof__ticks());
        CPROF__BUSY_END(r);
    }
    CPROF__BUSY_BEGIN(r);
    CPROF__STORE_RELEASE(r->depth, token - 1);
    CPROF__BUSY_END(r);
}

void cprof__scope_cleanup(const uint32_t *token) { cprof__exit(*token); }

/* CPROF_END proper: close the innermost frame if it is a CPROF_BEGIN's. */
static void cprof__end_top(cprof__recorder *r, const cprof_site *site, uint64_t now) {
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

void cprof__end(const cprof_site *site) {
    uint64_t now = cprof__ticks();
    cprof__recorder *r = cprof__recorder_get();
    if (!r || !CPROF__LOAD(cprof__g.enabled)) return; /* its BEGIN may not have been recorded */
    if (CPROF__LOAD(r->busy)) return; /* in a signal handler: its BEGIN was dropped as well */
    CPROF__BUSY_BEGIN(r);
    cprof__end_top(r, site, now);
    CPROF__BUSY_END(r);
}

/* CPROF_FRAME: counts the thread's frames; with the timeline on, the mark goes into it with its number. */
void cprof__frame_mark(void) {
    uint64_t now = cprof__ticks();
    cprof__recorder *r = cprof__recorder_get();
    if (!r || !CPROF__LOAD(cprof__g.enabled) || CPROF__LOAD(r->busy)) return;
    CPROF__BUSY_BEGIN(r);
    uint64_t number = CPROF__LOAD(r->frame_marks) + 1;
    CPROF__STORE(r->frame_marks, number);
    cprof__timeline *timeline = CPROF__LOAD(r->timeline);
    if (timeline) cprof__timeline_add(timeline, now, (uintptr_t)(number << 2) | CPROF_EVENT_FRAME);
    CPROF__BUSY_END(r);
}

/* --- own-cost calibration: what one manual scope costs, measured once at start-up (cprof__init_once)
   on a private recorder that no capture sees. A parent scope holds K empty child scopes; per round,
   inside = the children's total / K (from the timer read at a child's entry to the one at its exit:
   the part of a scope's cost that lands in its own time) and outside = (the parent's total - the
   empty loop - (K + 1) x inside) / K (the rest of entry and exit, which lands in the parent's time;
   the parent's own inside part is the + 1). The medians of the rounds, so that one preemption cannot
   skew them; clamped at 0. About 4,000 scopes: well under a millisecond. The calls go through
   volatile pointers, as a program's out-of-line calls do (inlined here they would cost less). Automatic
   scopes (the hooks) are not calibrated apart: calling the hooks with an address of the program is not
   safe from here, so they get the manual figures, which leaves their extra cost (the function's
   lookup) in the times. --- */
enum { CPROF__CALIBRATION_CHILDREN = 200, CPROF__CALIBRATION_ROUNDS = 21 };

static const cprof_site cprof__calibration_sites[2] = {
    {"cprof calibration", "cprof__calibrate", "cprof.h", 0, CPROF__KIND_SCOPE},
    {"cprof calibration child", "cprof__calibrate", "cprof.h", 0, CPROF__KIND_SCOPE}};

/* One round on the calibration recorder: figures[0] = inside, figures[1] = outside, in ticks. */
static void cprof__calibration_round(cprof__recorder *r, double figures[2]) {
    uint32_t (*volatile enter)(const cprof_site *) = cprof__enter;
    void (*volatile leave)(const uint32_t *) = cprof__scope_cleanup;
    uint64_t start = cprof__ticks();
    for (int i = 0; i < CPROF__CALIBRATION_CHILDREN; i++) __asm__ __volatile__("" ::: "memory");
    double loop = (double)(cprof__ticks() - start);
    cprof__rnode *parent = r->root.first_child, *child = parent ? parent->first_child : NULL;
    if (parent) cprof__node_clear(parent);
    if (child) cprof__node_clear(child);
    uint32_t outer = enter(&cprof__calibration_sites[0]);
    for (int i = 0; i < CPROF__CALIBRATION_CHILDREN; i++) {
        uint32_t token = enter(&cprof__calibration_sites[1]);
        leave(&token);
    }
    leave(&outer);
    parent = r->root.first_child;
    child = parent ? parent->first_child : NULL;
    if (!child) { figures[0] = figures[1] = 0; return; }
    const double children = (double)CPROF__CALIBRATION_CHILDREN;
    double inside = (double)child->total_ticks / children;
    double outside = ((double)parent->total_ticks - loop - (children + 1) * inside) / children;
    figures[0] = inside;
    figures[1] = outside > 0 ? outside : 0;
}

/* A calibration's private recorder (a thread's is never freed), with its node blocks and storage. */
CPROF__UNUSED static void cprof__calibration_recorder_free(cprof__recorder *r) {
    for (uint32_t b = 0; b < r->block_count; b++)
        cprof__pages_release(r->blocks[b], ((size_t)CPROF__FIRST_BLOCK_NODES << b) * sizeof(cprof__rnode));
    while (r->storage_chunks) {
        cprof__storage_chunk *next = r->storage_chunks->next;
        cprof__pages_release(r->storage_chunks, r->storage_chunks->bytes);
        r->storage_chunks = next;
    }
    cprof__release(r, sizeof *r);
}

/* A calibration's recorder checks a ring of switches at each timed exit as a recorded thread does (its
   own counter, which never moves), so that the check's cost is in the figures. */
CPROF__UNUSED static void cprof__calibration_checks_switches(cprof__recorder *r) {
    if (cprof__g.preemption) r->switch_head = (const volatile uint64_t *)&r->switch_seen;
}

/* Called from cprof__init_once, before anything records (other threads wait in pthread_once): the
   calling thread's recorder is swapped for a private one, recording is on meanwhile. */
CPROF__UNUSED static void cprof__calibrate(void) { /* not in the tool */
    cprof__recorder *r = (cprof__recorder *)cprof__alloc(sizeof *r), *saved = cprof__this_thread;
    if (!r) return;
    r->stack[0].node = &r->root;
    cprof__node_clear(&r->root);
    cprof__calibration_checks_switches(r);
    cprof__this_thread = r;
    CPROF__STORE(cprof__g.enabled, 1);
    double figures[2], inside[CPROF__CALIBRATION_ROUNDS], outside[CPROF__CALIBRATION_ROUNDS];
    cprof__calibration_round(r, figures); /* warm-up: makes the two nodes, fills the caches */
    for (int k = 0; k < CPROF__CALIBRATION_ROUNDS; k++) {
        cprof__calibration_round(r, figures);
        inside[k] = figures[0];
        outside[k] = figures[1];
    }
    CPROF__STORE(cprof__g.enabled, 0);
    cprof__this_thread = saved;
    qsort(inside, CPROF__CALIBRATION_ROUNDS, sizeof *inside, cprof__compare_doubles);
    qsort(outside, CPROF__CALIBRATION_ROUNDS, sizeof *outside, cprof__compare_doubles);
    cprof__g.inside_ticks = inside[CPROF__CALIBRATION_ROUNDS / 2];
    cprof__g.outside_ticks = outside[CPROF__CALIBRATION_ROUNDS / 2];
    cprof__calibration_recorder_free(r);
}

/* --- exited threads: past CPROF__EXITED_KEPT of them, a thread's tree is merged at its exit into one
   pseudo-thread ("exited threads") and its recorder becomes a spare for the next new thread, so that
   the profiler's memory stays bounded however many threads come and go; every count is kept. A thread
   with tracked allocations is kept as it is: the tracker's sites point into its tree. --- */

/* Adds one exited node's counts to the merged tree's node for the same path. */
static void cprof__node_merge(cprof__recorder *into, cprof__rnode *to, const cprof__rnode *from) {
    double square, more;
    CPROF__LOAD_DOUBLE(to->sum_sq_ticks2, square);
    CPROF__LOAD_DOUBLE(from->sum_sq_ticks2, more);
    square += more;
    uint64_t min_ticks = CPROF__LOAD(from->min_ticks), max_ticks = CPROF__LOAD(from->max_ticks);
    CPROF__STORE(to->calls, CPROF__LOAD(to->calls) + CPROF__LOAD(from->calls));
    CPROF__STORE(to->counted_calls, CPROF__LOAD(to->counted_calls) + CPROF__LOAD(from->counted_calls));
    CPROF__STORE(to->total_ticks, CPROF__LOAD(to->total_ticks) + CPROF__LOAD(from->total_ticks));
    CPROF__STORE_DOUBLE(to->sum_sq_ticks2, square);
    if (min_ticks < CPROF__LOAD(to->min_ticks)) CPROF__STORE(to->min_ticks, min_ticks);
    if (max_ticks > CPROF__LOAD(to->max_ticks)) CPROF__STORE(to->max_ticks, max_ticks);
    cprof__counters_merge_node(into, to, from);
}

/* Adds `from`'s subtree under `to`, node by node, matched by site. */
static void cprof__tree_merge(cprof__recorder *into, cprof__rnode *to, const cprof__rnode *from) {
    for (const cprof__rnode *child = CPROF__LOAD_ACQUIRE(from->first_child); child; child = child->next_sibling) {
        cprof__rnode *node = cprof__child_find(to, child->site);
        if (!node) node = cprof__node_add(into, to, child->site);
        if (!node) { /* out of memory: the calls are counted as dropped */
            CPROF__STORE(into->dropped, CPROF__LOAD(into->dropped) + CPROF__LOAD(child->calls));
            continue;
        }
        cprof__node_merge(into, node, child);
        cprof__tree_merge(into, node, child);
    }
}

/* The merged exited threads' pseudo-thread, made on first use. Under the lock. */
static cprof__recorder *cprof__exited_threads(void) {
    cprof__recorder *r = cprof__g.exited;
    if (r || !(r = (cprof__recorder *)cprof__alloc(sizeof *r))) return r;
    r->exited = 1;
    strcpy(r->name, "exited threads");
    cprof__recorder_link(r);
    return cprof__g.exited = r;
}

/* A merged thread's recorder, emptied for the next new thread: its node blocks stay (a new owner
   fills them again), its other storage and its counters' memory go. Under both locks. */
static void cprof__recorder_make_spare(cprof__recorder *r) {
    CPROF__STORE_RELEASE(r->root.first_child, (cprof__rnode *)NULL);
    r->root.child_count = 0;
    r->root.child_index = NULL;
    CPROF__STORE(r->node_count, 0);
    while (r->storage_chunks) {
        cprof__storage_chunk *next = r->storage_chunks->next;
        cprof__pages_release(r->storage_chunks, r->storage_chunks->bytes);
        r->storage_chunks = next;
    }
    r->storage_next = NULL;
    r->storage_left = 0;
    cprof__counters_release(r);
    cprof__sample_forget(r);
    CPROF__STORE(r->depth, 0u);
    CPROF__STORE(r->dropped, 0);
    CPROF__STORE(r->signal_dropped, 0);
    CPROF__STORE(r->frame_marks, 0);
    cprof__timeline_clear(r->timeline); /* its events name nodes a new owner will reuse */
    CPROF__STORE(r->spare, 1u);
    r->spare_next = cprof__g.spare;
    cprof__g.spare = r;
}

/* At the thread's exit (its key's destructor, on the thread): kept apart, or merged and made spare. */
static void cprof__recorder_retire(cprof__recorder *r) {
    if (cprof__this_thread != r || CPROF__LOAD_ACQUIRE(r->allocs)) return;
    cprof__mutex_lock(&cprof__capture_lock); /* no capture walks r or the merged tree meanwhile */
    cprof__mutex_lock(&cprof__lock);
    cprof__recorder *into = NULL;
    if (cprof__g.exited_kept < CPROF__EXITED_KEPT) cprof__g.exited_kept++;
    else into = cprof__exited_threads();
    cprof__mutex_unlock(&cprof__lock);
    if (into) {
        cprof__tree_merge(into, &into->root, &r->root);
        cprof__sample_merge_exited(into, r);
    }
    cprof__mutex_lock(&cprof__lock);
    if (into) {
        CPROF__STORE(into->dropped, CPROF__LOAD(into->dropped) + CPROF__LOAD(r->dropped));
        CPROF__STORE(into->signal_dropped, CPROF__LOAD(into->signal_dropped) + CPROF__LOAD(r->signal_dropped));
        cprof__g.exited_merged++;
        cprof__snprintf(into->name, sizeof into->name, "exited threads (%llu merged)",
                        (unsigned long long)cprof__g.exited_merged);
        cprof__recorder_make_spare(r);
    }
    cprof__mutex_unlock(&cprof__lock);
    cprof__mutex_unlock(&cprof__capture_lock);
    if (into) cprof__this_thread = NULL; /* a scope in a later destructor makes a new recorder */
}

/* --- the environment: a value cprof does not understand gets one line on stderr, and is ignored -------- */
static void cprof__env_warn(const char *name, const char *value, const char *what) {
    size_t length = strlen(value);
    fprintf(stderr, "cprof: %s=%.60s%s: %s\n", name, value, length > 60 ? "..." : "", what);
}

/* CPROF: "0" records nothing; "1" (or empty, or unset) records. */
static int cprof__env_recording_off(const char *value) {
    if (!value || !*value || strcmp(value, "1") == 0) return 0;
    if (strcmp(value, "0") == 0) return 1;
    cprof__env_warn("CPROF", value, "not understood (0 turns recording off, 1 leaves it on); recording stays on");
    return 0;
}

/* CPROF_TIMER: "clock" (clock_gettime); anything else but empty is reported and the default kept. */
static const char *cprof__env_timer(const char *value) {
    if (value && *value && strcmp(value, "clock") != 0)
        cprof__env_warn("CPROF_TIMER", value, "not understood (the one choice is clock); using the default timer");
    return value;
}

/* CPROF_OUT: a prefix that fits (with the longest suffix and a temporary's ".tmp.PID"); 0 after a warning. */
CPROF__UNUSED static int cprof__env_out_fits(const char *value, size_t capacity) { /* not in the tool */
    if (strlen(value) < capacity - 16) return 1;
    char what[120];
    cprof__snprintf(what, sizeof what, "%u bytes, longer than the %u a prefix may have; no files are written",
                    (unsigned)strlen(value), (unsigned)(capacity - 17));
    cprof__env_warn("CPROF_OUT", value, what);
    return 0;
}

/* A switch that is on unless set to "0" (CPROF_COMPENSATE, CPROF_PREEMPTION): "1", empty or unset is on;
   anything else is reported with `meaning` and leaves it on. */
CPROF__UNUSED static int cprof__env_on_unless_0(const char *name, const char *meaning) { /* not in the tool */
    const char *value = getenv(name);
    if (!value || !*value || strcmp(value, "1") == 0) return 1;
    if (strcmp(value, "0") == 0) return 0;
    cprof__env_warn(name, value, meaning);
    return 1;
}

/* CPROF_TIMELINE: "N" or "N,recent" (keep the most recent N events per thread) or "N,first" (the first N);
   N from 1 to CPROF__TIMELINE_MAX. 0 (or empty, or unset) leaves it off; anything else is reported. */
#define CPROF__TIMELINE_MAX (1u << 26) /* 64 Mi events: 1 GiB per thread */
static void cprof__env_timeline(const char *value, uint32_t *capacity, uint32_t *policy) {
    char *end = NULL;
    *capacity = 0;
    *policy = CPROF_TIMELINE_RECENT;
    if (!value || !*value || strcmp(value, "0") == 0) return;
    unsigned long long n = strtoull(value, &end, 10);
    int ok = end != value && value[0] >= '0' && value[0] <= '9' && n >= 1 && n <= CPROF__TIMELINE_MAX;
    if (ok && strcmp(end, ",first") == 0) *policy = CPROF_TIMELINE_FIRST;
    else if (ok && *end && strcmp(end, ",recent") != 0) ok = 0;
    if (ok) *capacity = (uint32_t)n;
    else cprof__env_warn("CPROF_TIMELINE", value, "not understood (N, N,recent or N,first; N from 1 to 67108864 "
                         "events per thread); the timeline stays off");
}
#ifndef CPROF_MAIN
static void cprof__dump_start(void);
#endif

static void cprof__init_once(void) {
#if !defined(CPROF__WINDOWS)
    pthread_atfork(cprof__fork_prepare, cprof__fork_in_parent, cprof__fork_child); /* before any lock is used */
#endif
    const char *out = getenv("CPROF_OUT");
    CPROF__STORE(cprof__g.forced_off, cprof__env_recording_off(getenv("CPROF"))); /* the hooks read it first */
    cprof__timer_init(cprof__env_timer(getenv("CPROF_TIMER")));
#ifndef CPROF_MAIN /* the tool records nothing */
    cprof__g.compensate = !cprof__g.forced_off &&
                          cprof__env_on_unless_0("CPROF_COMPENSATE", "not understood (0 shows raw times, 1 subtracts "
                                                                     "cprof's own cost); compensation stays on");
    cprof__g.preemption = !cprof__g.forced_off &&
                          cprof__env_on_unless_0("CPROF_PREEMPTION", "not understood (0 keeps preempted time in the "
                                                                     "scopes, 1 leaves it out); it stays out");
    if (cprof__g.compensate) cprof__calibrate(); /* after the line above: the exits' check is calibrated */
#endif
    cprof__g.start_ticks = cprof__ticks();
    cprof__g.start_unix_ns = cprof__unix_ns();
    cprof__thread_exit_key_create(&cprof__g.exit_key, cprof__thread_exited);
    const char *counters = getenv("CPROF_COUNTERS");
    if (counters && !cprof__g.forced_off) cprof__selection_choose(counters);
    if (!cprof__g.forced_off)
        cprof__env_timeline(getenv("CPROF_TIMELINE"), &cprof__g.timeline_capacity, &cprof__g.timeline_policy);
    cprof__selection_note_ignored();
#ifndef CPROF_MAIN /* the tool itself writes no profile */
    if (out && *out && !cprof__g.forced_off && cprof__env_out_fits(out, sizeof cprof__g.out_prefix))
        strcpy(cprof__g.out_prefix, out); /* written at exit by cprof__write_outputs_last (>>output) */
    cprof__dump_start(); /* >>dump: SIGINT, SIGTERM, CPROF_DUMP_SIGNAL, CPROF_INTERVAL */
#else
    (void)out;
#endif
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
    cprof__mutex_lock(&cprof__lock); /* a capture may be copying the old name */
    cprof__snprintf(r->name, sizeof r->name, "%s", name);
    cprof__mutex_unlock(&cprof__lock);
}

void cprof_reset(void) {
    cprof__init();
    cprof__mutex_lock(&cprof__lock);
    for (cprof__recorder *r = cprof__g.recorders; r; r = CPROF__LOAD_ACQUIRE(r->next)) {
        cprof__tree_clear(&r->root);
        cprof__counters_clear_tree(&r->root);
        CPROF__STORE(r->dropped, 0);
        CPROF__STORE(r->signal_dropped, 0);
        CPROF__STORE(r->frame_marks, 0);
        cprof__timeline_clear(CPROF__LOAD_ACQUIRE(r->timeline));
    }
    cprof__samples_reset();
    CPROF__STORE(cprof__g.signal_dropped_early, 0);
    CPROF__STORE(cprof__g.preempted_ticks, 0);
    CPROF__STORE(cprof__g.preemptions, 0);
    CPROF__STORE(cprof__g.preemptions_lost, 0);
    cprof__g.message_count = 0;
    cprof__g.messages_dropped = 0;
    cprof__g.start_ticks = cprof__ticks();
    cprof__g.start_unix_ns = cprof__unix_ns();
    cprof__mutex_unlock(&cprof__lock);
}

int cprof_counters_enable(const char *events) {
    cprof__init();
    cprof__mutex_lock(&cprof__lock);
    int chosen = cprof__selection.chosen;
    if (!chosen && !cprof__g.forced_off) {
        cprof__selection_choose(events);
        for (cprof__recorder *r = cprof__g.recorders; r; r = r->next)
            if (!CPROF__LOAD(r->counters)) /* release: the thread then reads the selection */
                CPROF__STORE_RELEASE(r->counters, cprof__counters_for_new_thread());
    }
    int available = (int)cprof__selection.available;
    cprof__mutex_unlock(&cprof__lock);
    if (!chosen) cprof__selection_note_ignored();
    if (chosen) cprof__message(NULL, 0, "cprof_counters_enable(\"%s\") ignored: counters were already chosen", events ? events : "");
    return chosen || cprof__g.forced_off ? -1 : available;
}

int cprof_timeline_enable(uint32_t events_per_thread, int policy) {
    cprof__init();
    if (events_per_thread == 0 || events_per_thread > CPROF__TIMELINE_MAX ||
        (policy != CPROF_TIMELINE_RECENT && policy != CPROF_TIMELINE_FIRST))
        return -1;
    cprof__mutex_lock(&cprof__lock);
    int chosen = cprof__g.timeline_capacity != 0;
    if (!chosen && !cprof__g.forced_off) {
        cprof__g.timeline_capacity = events_per_thread;
        cprof__g.timeline_policy = (uint32_t)policy;
        for (cprof__recorder *r = cprof__g.recorders; r; r = r->next) /* release: the thread then reads it whole */
            if (r != cprof__g.exited && !CPROF__LOAD(r->timeline))
                CPROF__STORE_RELEASE(r->timeline, cprof__timeline_new(events_per_thread, (uint32_t)policy));
    }
    cprof__mutex_unlock(&cprof__lock);
    if (chosen) cprof__message(NULL, 0, "cprof_timeline_enable(%u) ignored: the timeline was already chosen",
                               (unsigned)events_per_thread);
    return chosen || cprof__g.forced_off ? -1 : 0;
}

/* ==================================================================================================
   >>auto: automatic instrumentation (CPROF_AUTO): the -finstrument-functions hooks. Every
   instrumented function becomes a scope in the same per-thread tree as CPROF_SCOPE, keyed by a site
   record made once per function address; its name comes from the ELF symbol tables.
   ================================================================================================== */
#include <limits.h>
#if defined(CPROF__LINUX) && defined(__ELF__)
#include <elf.h>
#define CPROF__ELF 1
#endif

/* --- the ELF reader (automatic instrumentation and >>sample name functions with it) --- */
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

CPROF__UNUSED static cprof__mutex cprof__auto_lock = CPROF__MUTEX_INIT; /* the modules; for >>auto: never taken
                                                                         once a function is known */
CPROF__UNUSED static cprof__auto_module *cprof__elf_modules; /* under cprof__auto_lock */

#ifdef __cplusplus
extern "C" {
#endif
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

/* Where a stripped file's full symbol table is, when the system has it: a separate debug file named by
   the build ID the linker wrote in a note, DIR/.build-id/xx/rest-of-the-id.debug (GDB's layout, where
   Debian's -dbg and -dbgsym packages install them; DIR is /usr/lib/debug, or CPROF_DEBUG_DIR). The
   debug file keeps the addresses of the file it was split from. 0 and the path when there is a note. */
static int cprof__elf_debug_file(FILE *f, const cprof__elf_section *sections, size_t count, char *path, size_t size) {
    for (size_t i = 0; i < count; i++) {
        unsigned char note[512];
        size_t bytes = (size_t)sections[i].sh_size;
        if (sections[i].sh_type != SHT_NOTE || bytes > sizeof note || cprof__elf_read(f, (uint64_t)sections[i].sh_offset, note, bytes))
            continue;
        for (size_t at = 0; at + 12 <= bytes;) { /* name size, description size, type; then both, 4-aligned */
            uint32_t field[3];
            memcpy(field, note + at, sizeof field);
            size_t name_at = at + 12, description_at = name_at + ((field[0] + 3u) & ~3u);
            size_t next = description_at + ((field[1] + 3u) & ~3u);
            if (field[0] > bytes || field[1] > bytes || next > bytes) break;
            if (field[2] == NT_GNU_BUILD_ID && field[0] == 4 && memcmp(note + name_at, "GNU", 4) == 0 &&
                field[1] >= 2 && field[1] <= 64) {
                const char *directory = getenv("CPROF_DEBUG_DIR");
                size_t length = (size_t)cprof__snprintf(path, size, "%s/.build-id/%02x/",
                                                        directory && directory[0] ? directory : "/usr/lib/debug",
                                                        note[description_at]);
                for (uint32_t k = 1; k < field[1] && length + 3 < size; k++)
                    length += (size_t)cprof__snprintf(path + length, size - length, "%02x", note[description_at + k]);
                return length + 7 < size && cprof__snprintf(path + length, size - length, ".debug") == 6 ? 0 : -1;
            }
            at = next;
        }
    }
    return -1;
}

static void cprof__auto_symbols_forget(cprof__auto_module *m) {
    cprof__release(m->names, m->names_bytes);
    cprof__release(m->symbols, m->symbol_capacity * sizeof *m->symbols);
    m->names = NULL, m->symbols = NULL;
    m->names_bytes = m->symbol_count = m->symbol_capacity = 0;
}

/* .symtab names every function, static ones included; a stripped file has only .dynsym (exported), so
   its debug file's .symtab is read instead when there is one (`follow`: not from a debug file again). */
static void cprof__auto_symbols_load_file(cprof__auto_module *m, const char *file, int follow) {
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
        char debug[4096];
        if (table && table->sh_type == SHT_DYNSYM && follow &&
            !cprof__elf_debug_file(f, sections, header.e_shnum, debug, sizeof debug)) {
            cprof__auto_symbols_load_file(m, debug, 0);
            if (m->symbol_count) table = NULL; /* named from the debug file */
            else cprof__auto_symbols_forget(m);
        }
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
        ssize_t length = cprof__readlink(file, path, sizeof path - 1);
        if (length > 0) path[length] = '\0';
    }
    cprof__auto_module *m;
    for (m = cprof__elf_modules; m; m = m->next)
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
    cprof__auto_symbols_load_file(m, file, 1);
    m->next = cprof__elf_modules;
    cprof__elf_modules = m;
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

/* Of a counted function's calls, one in about this many is timed (>>auto, and the report says so). */
enum { CPROF__AUTO_TIMING_GAP = 64 };
/* A call stretched by something else (a time slice given to another process, an interrupt) must not
   decide alone: while a function learns, a call counts at most this many times the threshold
   (cprof__auto_learn); a counted function's timed call, at most this many times the larger of its
   average so far and the threshold (cprof__auto_sampled_exit); either, times one plus the automatic
   calls it made, since a call that makes many calls is long for their sake. */
enum { CPROF__AUTO_LONG_CALL_CAP = 64 };

#if defined(CPROF_AUTO)
#include <regex.h>

#define CPROF__AUTO_STACK (2 * CPROF__MAX_DEPTH) /* open instrumented calls tracked per thread */

/* One instrumented function, made the first time a hook sees its address and kept until exit. Its first
   CPROF__AUTO_LEARN_CALLS timed calls (on any thread) are measured; when they averaged less than
   CPROF_AUTO_MIN_NS after the own cost is taken out, the function is counted from then on and no longer
   timed: the timer reads would cost more than what they measure. */
enum { CPROF__AUTO_LEARN_CALLS = 1000 };
enum { CPROF__AUTO_MIN_COSTS = 4 }; /* CPROF_AUTO_MIN_NS's default: 4 x what timing one call costs */
typedef struct cprof__auto_function {
    const void *address;
    int excluded;    /* by CPROF_AUTO_EXCLUDE, or one of the profiler's own functions */
    int counted;     /* 1 once decided: counted, not timed (read and written atomically, as the next ones) */
    int learning;    /* 1 while its first timed calls are measured */
    int recursive;   /* 1 once a learning call ended inside another call of it: never counted */
    cprof_site site; /* name and function: the symbol; file: the module's file name; line 0 */
    uint64_t learn_calls, learn_ticks, learn_timed_below, learn_counted_below; /* their sums */
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

static const uint32_t cprof__auto_counted_bit = 0x80000000u; /* in a token: from cprof__count_enter */
static const uint32_t cprof__auto_sampled_bit = 0x40000000u; /* a counted function's timed call */
typedef struct cprof__auto_call {
    const void *address;
    uint32_t token;    /* from cprof__enter or cprof__count_enter; 0 when not recorded (excluded, off, too deep) */
    uint32_t learning; /* 1: a timed call of a function still learning; then the fields below are set */
    cprof__auto_function *function;
    uint64_t timed_before, counted_before; /* the thread's automatic entries at this one's: the calls below */
} cprof__auto_call;

/* Per thread, the instrumented calls open now, so that an exit needs no lookup. */
typedef struct cprof__auto_thread {
    struct cprof__auto_thread *next; /* all threads', so that the memory stays reachable */
    uint32_t depth;
    uint64_t overflow; /* open calls beyond the stack: not recorded */
    uint64_t timed_entries, counted_entries;
    uint32_t until_timed; /* counted calls left before the next one is timed (see cprof__auto_timing_gap) */
    uint32_t random;      /* the gaps' xorshift state; never 0 */
    cprof__auto_call stack[CPROF__AUTO_STACK];
} cprof__auto_thread;

static struct cprof__auto_global {
    cprof__auto_table *table;
    size_t count;
    cprof__auto_thread *threads;
    int exclude_ready, has_exclude;
    regex_t exclude;
} cprof__auto;

static CPROF__THREAD_LOCAL int cprof__auto_busy; /* 1 while a hook runs: calls it makes are not recorded */
static CPROF__THREAD_LOCAL cprof__auto_thread *cprof__auto_self;

#ifdef __cplusplus
extern "C" {
#endif
void __cyg_profile_func_enter(void *function, void *call_site) CPROF__NO_INSTRUMENT;
void __cyg_profile_func_exit(void *function, void *call_site) CPROF__NO_INSTRUMENT;
#ifdef __cplusplus
}
#endif


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
    cprof__mutex_lock(&cprof__auto_lock);
    if (!cprof__auto.exclude_ready) cprof__auto_exclude_init();
    cprof__mutex_unlock(&cprof__auto_lock);
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
    fn->learning = cprof__g.auto_min_ticks > 0; /* CPROF_AUTO_MIN_NS=0 times every call */
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

/* Enters fn in the table, grown as needed; -1 when out of memory. Under cprof__auto_lock. */
static int cprof__auto_table_add(cprof__auto_function *fn) {
    cprof__auto_table *table = cprof__auto.table;
    if (!table || (cprof__auto.count + 1) * 2 > table->capacity) {
        table = cprof__auto_table_new(table ? table->capacity * 2 : 256, table);
        if (!table) return -1;
        CPROF__STORE_RELEASE(cprof__auto.table, table);
    }
    cprof__auto_table_put(table, fn);
    cprof__auto.count++;
    return 0;
}

/* Cold: the first call of a function (on any thread). NULL only when out of memory. */
static cprof__auto_function *cprof__auto_add(const void *address) {
    cprof__mutex_lock(&cprof__auto_lock);
    cprof__auto_function *known = (cprof__auto_function *)cprof__auto_probe(cprof__auto.table, address); /* another thread's */
    cprof__auto_function *fn = known ? NULL : cprof__auto_function_new(address);
    if (fn && cprof__auto_table_add(fn) == 0) {
        known = fn;
    } else if (fn) { /* no memory for the table: forget the function, try again next time */
        cprof__release((void *)fn->site.name, strlen(fn->site.name) + 1);
        cprof__release(fn, sizeof *fn);
    }
    cprof__mutex_unlock(&cprof__auto_lock);
    return known;
}

static inline cprof__auto_function *cprof__auto_find(const void *address) CPROF__NO_INSTRUMENT;
static inline cprof__auto_function *cprof__auto_find(const void *address) {
    const cprof__auto_function *fn = cprof__auto_probe(CPROF__LOAD_ACQUIRE(cprof__auto.table), address);
    return CPROF__LIKELY(fn != NULL) ? (cprof__auto_function *)fn : cprof__auto_add(address);
}

/* --- learning: is a function worth timing? --- */

/* The longest a call may count (CPROF__AUTO_LONG_CALL_CAP): 64 x `base` for itself and for each automatic
   call it made, which it is long for the sake of. 0 (no cap) when base is 0: CPROF_AUTO_MIN_NS=0. */
CPROF__NO_INSTRUMENT static uint64_t cprof__auto_long_call_cap(uint64_t base, uint64_t calls_below) {
    return CPROF__AUTO_LONG_CALL_CAP * base * (1 + calls_below);
}

/* Adds one timed call (`ticks` long, with this many automatic calls below it) to fn's first calls; the
   call that completes them decides. Several threads may learn at once: the sums are atomic. One call
   preempted for a few ms among 1,000 of 100 ns would make the function look 40 times longer: a call
   counts at most CPROF__AUTO_LONG_CALL_CAP times the threshold (times one plus the calls below it). */
CPROF__NO_INSTRUMENT static void cprof__auto_learn(cprof__auto_function *fn, uint64_t ticks, uint64_t timed_below, uint64_t counted_below) {
    uint64_t cap = cprof__auto_long_call_cap(cprof__g.auto_min_ticks, timed_below + counted_below);
    CPROF__ADD(fn->learn_ticks, cap && ticks > cap ? cap : ticks);
    CPROF__ADD(fn->learn_timed_below, timed_below);
    CPROF__ADD(fn->learn_counted_below, counted_below);
    if (CPROF__ADD(fn->learn_calls, 1) + 1 != CPROF__AUTO_LEARN_CALLS) return;
    double calls = CPROF__AUTO_LEARN_CALLS;
    double timed_cost = cprof__g.auto_inside_ticks + cprof__g.auto_outside_ticks;
    double own = calls * cprof__g.auto_inside_ticks + (double)CPROF__LOAD(fn->learn_timed_below) * timed_cost +
                 (double)CPROF__LOAD(fn->learn_counted_below) * cprof__g.counted_ticks;
    double average = ((double)CPROF__LOAD(fn->learn_ticks) - own) / calls;
    if (average < (double)cprof__g.auto_min_ticks && !CPROF__LOAD(fn->recursive)) CPROF__STORE(fn->counted, 1);
    CPROF__STORE(fn->learning, 0);
}

/* The exit of a learning call: its duration is needed, so the timer is read here. A call that ends
   inside another call of its function (recursion) marks it never to be counted: a recursive function's
   first calls to end are its deepest and shortest, which say nothing of the outer ones, and a counted
   node of few calls (the outer levels) would have its time guessed from one or two. */
CPROF__NO_INSTRUMENT CPROF__COLD static void cprof__auto_learn_exit(cprof__auto_thread *t, const cprof__auto_call *call) {
    uint64_t now = cprof__ticks();
    for (uint32_t level = 0; level < t->depth && !CPROF__LOAD(call->function->recursive); level++)
        if (t->stack[level].address == call->address) CPROF__STORE(call->function->recursive, 1);
    const cprof__recorder *r = cprof__this_thread;
    uint64_t start = r->depth == call->token ? CPROF__LOAD(r->stack[call->token].start_ticks) : now;
    cprof__exit_at(call->token, now);
    cprof__auto_learn(call->function, now - start, t->timed_entries - call->timed_before,
                      t->counted_entries - call->counted_before);
}

/* --- the hooks --- */
static cprof__auto_thread *cprof__auto_thread_create(void);

/* Counted functions still have one call in CPROF__AUTO_TIMING_GAP (on average) timed, so that the capture
   can estimate their time from a sample of their calls as they are now (a function's first calls are
   not like its later ones: a table fills, a cache warms). The gaps are random, between half and 1.5x
   the mean, so that a loop whose period is the gap's is not always sampled at the same call. */
CPROF__NO_INSTRUMENT static uint32_t cprof__auto_timing_gap(cprof__auto_thread *t) {
    uint32_t x = t->random ? t->random : 0x9e3779b9u;
    x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
    t->random = x;
    return CPROF__AUTO_TIMING_GAP / 2 + x % CPROF__AUTO_TIMING_GAP;
}

/* The exit of a counted function's timed call. Its duration stands for a gap's worth of calls (the
   capture scales it by about 64), so one call stretched by something else (a time slice given to another
   process, an interrupt) would count some 64 times over: a call longer than CPROF__AUTO_LONG_CALL_CAP times
   the function's average so far (or the threshold CPROF_AUTO_MIN_NS, whichever is larger; the threshold
   alone until the node has 16 timed calls), times one plus the calls it made, counts as that cap. A function whose calls all grew long raises its average
   at each capped call, so it catches up. With the timeline on, the call is closed at its real end (the
   timeline shows real times). */
CPROF__NO_INSTRUMENT static void cprof__auto_sampled_exit(const cprof__auto_thread *t, const cprof__auto_call *call) {
    uint32_t token = call->token & ~cprof__auto_sampled_bit;
    uint64_t now = cprof__ticks();
    cprof__recorder *r = cprof__this_thread;
    if (r->depth == token && !CPROF__LOAD(r->timeline)) {
        CPROF__BUSY_BEGIN(r); /* the cap applies to the call's time without its waits */
        cprof__preemption_catch_up(r, token, now);
        CPROF__BUSY_END(r);
        const cprof__frame *frame = &r->stack[token];
        uint64_t before = CPROF__LOAD(frame->node->calls) - 1; /* timed calls before this one */
        /* an average of a few calls (a new node, or just after a reset) may be one capped call itself */
        uint64_t average = before >= 16 ? CPROF__LOAD(frame->node->total_ticks) / before : 0;
        uint64_t below = (t->timed_entries - call->timed_before) + (t->counted_entries - call->counted_before);
        uint64_t cap = cprof__auto_long_call_cap(average > cprof__g.auto_min_ticks ? average : cprof__g.auto_min_ticks, below);
        if (cap && now - frame->start_ticks > cap) now = frame->start_ticks + cap;
    }
    cprof__exit_at(token, now);
}

/* A call of fn begins: counted only, once fn was found too short to time (but for one call in a gap);
   else timed like a CPROF_SCOPE. */
CPROF__NO_INSTRUMENT static CPROF__INLINE uint32_t cprof__auto_open(cprof__auto_thread *t, cprof__auto_call *call, cprof__auto_function *fn) {
    call->learning = 0;
    if (CPROF__LOAD(fn->counted)) {
        if (CPROF__LIKELY(t->until_timed != 0)) {
            t->until_timed--;
            t->counted_entries++;
            uint32_t token = cprof__count_enter(&fn->site);
            return token ? token | cprof__auto_counted_bit : 0;
        }
        t->until_timed = cprof__auto_timing_gap(t); /* this call is timed */
        t->timed_entries++;
        call->timed_before = t->timed_entries; /* for cprof__auto_sampled_exit: the calls it makes */
        call->counted_before = t->counted_entries;
        uint32_t token = cprof__enter(&fn->site);
        return token ? token | cprof__auto_sampled_bit : 0;
    }
    t->timed_entries++;
    if (CPROF__UNLIKELY(CPROF__LOAD(fn->learning))) {
        call->learning = 1;
        call->function = fn;
        call->timed_before = t->timed_entries;
        call->counted_before = t->counted_entries;
    }
    return cprof__enter(&fn->site);
}

CPROF__NO_INSTRUMENT static CPROF__INLINE void cprof__auto_close(cprof__auto_thread *t, const cprof__auto_call *call) {
    uint32_t token = call->token;
    if (!token) return;
    if (token & cprof__auto_counted_bit) cprof__count_exit(token & ~cprof__auto_counted_bit);
    else if (token & cprof__auto_sampled_bit) cprof__auto_sampled_exit(t, call);
    else if (CPROF__LIKELY(!call->learning)) cprof__exit(token);
    else cprof__auto_learn_exit(t, call);
}

/* Cold: a call deeper than the thread's stack of open calls is not recorded, only counted. */
static void cprof__auto_overflow(cprof__auto_thread *t, const void *address) {
    const cprof__auto_function *fn = cprof__auto_find(address);
    cprof__recorder *r = cprof__recorder_get();
    t->overflow++;
    if (r && fn && !fn->excluded && CPROF__LOAD(cprof__g.enabled)) CPROF__STORE(r->dropped, CPROF__LOAD(r->dropped) + 1);
}

/* The hot path, enter: with CPROF=0, one load and a return. Else a lock-free lookup of the function (an
   excluded one stops there), then cprof__auto_open. The call is remembered so that its exit needs no
   lookup. */
void __cyg_profile_func_enter(void *function, void *call_site) {
    (void)call_site;
    if (CPROF__UNLIKELY(CPROF__LOAD(cprof__g.forced_off))) return;
    if (CPROF__UNLIKELY(cprof__auto_busy)) return; /* called from inside a hook */
    cprof__auto_busy = 1;
    cprof__auto_thread *t = cprof__auto_self;
    if (CPROF__UNLIKELY(!t)) t = cprof__auto_thread_create();
    if (CPROF__LIKELY(t && t->depth < CPROF__AUTO_STACK)) {
        cprof__auto_function *fn = CPROF__LOAD(cprof__g.enabled) ? cprof__auto_find(function) : NULL;
        cprof__auto_call *call = &t->stack[t->depth++];
        call->address = function;
        call->token = fn && !fn->excluded ? cprof__auto_open(t, call, fn) : 0;
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
    while (level > 0 && t->depth >= level) cprof__auto_close(t, &t->stack[--t->depth]);
}

/* The hot path, exit: pop the call, close its scope. */
void __cyg_profile_func_exit(void *function, void *call_site) {
    (void)call_site;
    if (CPROF__UNLIKELY(CPROF__LOAD(cprof__g.forced_off))) return;
    cprof__auto_thread *t = cprof__auto_self;
    if (CPROF__UNLIKELY(cprof__auto_busy || !t)) return;
    if (CPROF__UNLIKELY(t->overflow)) {
        t->overflow--;
        return;
    }
    cprof__auto_busy = 1;
    if (CPROF__LIKELY(t->depth && t->stack[t->depth - 1].address == function)) cprof__auto_close(t, &t->stack[--t->depth]);
    else cprof__auto_unwind(t, function);
    cprof__auto_busy = 0;
}

/* --- calibration: what the hooks cost, measured once at the first hook call (start-up calibrates
   manual scopes; the hooks' lookup makes theirs dearer). The real hooks are called, through volatile
   pointers, with addresses of three records of cprof's own (never a function of the program, which
   would be named and entered in the profile): a timed parent over K timed children gives an automatic
   scope's inside and outside parts as for a manual one (see >>scopes), the parent over K counted
   children gives a counted call's cost. On a private recorder and thread, recording on: none of it
   reaches a profile. Medians of 21 rounds, about 8,000 calls: well under a millisecond. --- */
static const char cprof__auto_calibration_addresses[3] = {0, 0, 0};
static cprof__auto_function cprof__auto_calibration_functions[3] = {
    {&cprof__auto_calibration_addresses[0], 0, 0, 0, 0, {"cprof calibration", "cprof calibration", "cprof.h", 0, CPROF__KIND_AUTO}, 0, 0, 0, 0},
    {&cprof__auto_calibration_addresses[1], 0, 0, 0, 0, {"cprof calibration timed", "cprof calibration timed", "cprof.h", 0, CPROF__KIND_AUTO}, 0, 0, 0, 0},
    {&cprof__auto_calibration_addresses[2], 0, 1, 0, 0, {"cprof calibration counted", "cprof calibration counted", "cprof.h", 0, CPROF__KIND_AUTO}, 0, 0, 0, 0}};

/* One round: the parent's and the child's (timed or counted) total ticks, less the empty loop's. */
static void cprof__auto_calibration_round(cprof__recorder *r, int child_kind, double *parent_ticks, double *child_ticks) {
    void (*volatile enter)(void *, void *) = __cyg_profile_func_enter;
    void (*volatile leave)(void *, void *) = __cyg_profile_func_exit;
    void *parent = (void *)(uintptr_t)cprof__auto_calibration_functions[0].address;
    void *child = (void *)(uintptr_t)cprof__auto_calibration_functions[child_kind].address;
    uint64_t start = cprof__ticks();
    for (int i = 0; i < CPROF__CALIBRATION_CHILDREN; i++) __asm__ __volatile__("" ::: "memory");
    double loop = (double)(cprof__ticks() - start);
    cprof__tree_clear(&r->root);
    enter(parent, NULL);
    for (int i = 0; i < CPROF__CALIBRATION_CHILDREN; i++) {
        enter(child, NULL);
        leave(child, NULL);
    }
    leave(parent, NULL);
    cprof__rnode *p = r->root.first_child;
    cprof__rnode *c = p ? cprof__child_find(p, &cprof__auto_calibration_functions[child_kind].site) : NULL;
    *parent_ticks = p ? (double)p->total_ticks - loop : 0;
    *child_ticks = c ? (double)c->total_ticks : 0;
}

/* The median of `count` rounds of one kind: figure(parent ticks, child ticks) per round. */
static double cprof__auto_calibration_median(cprof__recorder *r, int child_kind, double inside) {
    const double children = CPROF__CALIBRATION_CHILDREN;
    double figures[CPROF__CALIBRATION_ROUNDS], parent, child;
    for (int k = 0; k < CPROF__CALIBRATION_ROUNDS; k++) {
        cprof__auto_calibration_round(r, child_kind, &parent, &child);
        if (inside < 0) figures[k] = child / children; /* the timed children's inside part */
        else if (child_kind == 1) figures[k] = (parent - (children + 1) * inside) / children; /* their outside */
        else figures[k] = (parent - inside) / children; /* a counted child's whole cost */
        if (figures[k] < 0) figures[k] = 0;
    }
    qsort(figures, CPROF__CALIBRATION_ROUNDS, sizeof *figures, cprof__compare_doubles);
    return figures[CPROF__CALIBRATION_ROUNDS / 2];
}

/* CPROF_AUTO_MIN_NS: the threshold in ns, or -1 for the default (after a warning when not understood). */
static double cprof__env_auto_min_ns(const char *value) {
    if (!value || !*value) return -1;
    char *end = NULL;
    double ns = cprof__strtod_c(value, &end);
    if (end != value && !*end && ns >= 0 && ns <= 1e9) return ns;
    cprof__env_warn("CPROF_AUTO_MIN_NS", value,
                    "not understood (a time in ns from 0 to 1e9; 0 times every call); using the default");
    return -1;
}

/* Once, at the first hook call of the process, inside the hook (so with the hooks' busy mark, which
   the calibration lifts for its own calls). */
static void cprof__auto_calibrate(void) {
    cprof__recorder *r = (cprof__recorder *)cprof__alloc(sizeof *r), *saved = cprof__this_thread;
    cprof__auto_thread *t = (cprof__auto_thread *)cprof__alloc(sizeof *t), *saved_thread = cprof__auto_self;
    int recording = CPROF__LOAD(cprof__g.enabled);
    cprof__mutex_lock(&cprof__auto_lock);
    int registered = 1;
    for (int i = 0; i < 3; i++) registered = registered && cprof__auto_table_add(&cprof__auto_calibration_functions[i]) == 0;
    cprof__mutex_unlock(&cprof__auto_lock);
    if (r && t && registered && recording) { /* with recording off (cprof_disable() first), the manual figures serve */
        r->stack[0].node = &r->root;
        cprof__node_clear(&r->root);
        cprof__calibration_checks_switches(r);
        cprof__this_thread = r;
        cprof__auto_self = t;
        cprof__auto_busy = 0;
        t->until_timed = UINT32_MAX; /* counted children are all counted here: their figure is a counted call's */
        double parent, child;
        cprof__auto_calibration_round(r, 1, &parent, &child); /* warm-up: makes the nodes, fills the caches */
        cprof__auto_calibration_round(r, 2, &parent, &child);
        double inside = cprof__auto_calibration_median(r, 1, -1);
        cprof__g.auto_outside_ticks = cprof__auto_calibration_median(r, 1, inside);
        cprof__g.counted_ticks = cprof__auto_calibration_median(r, 2, inside);
        cprof__g.auto_inside_ticks = inside;
        cprof__auto_busy = 1;
        cprof__this_thread = saved;
        cprof__auto_self = saved_thread;
    }
    if (r) cprof__calibration_recorder_free(r);
    if (t) cprof__release(t, sizeof *t);
    double cost = cprof__g.auto_inside_ticks + cprof__g.auto_outside_ticks;
    if (cost <= 0) cost = cprof__g.inside_ticks + cprof__g.outside_ticks;
    double min_ns = cprof__env_auto_min_ns(getenv("CPROF_AUTO_MIN_NS"));
    double hz = cprof__timer_hz();
    if (min_ns < 0) min_ns = (double)CPROF__AUTO_MIN_COSTS * cost * 1e9 / hz;
    cprof__g.auto_min_ns = (uint64_t)(min_ns + 0.5);
    cprof__g.auto_min_ticks = (uint64_t)(min_ns * hz / 1e9 + 0.5);
}

static cprof__once_flag cprof__auto_once = CPROF__ONCE_INIT;

static cprof__auto_thread *cprof__auto_thread_create(void) {
    cprof__init();
    cprof__once_run(&cprof__auto_once, cprof__auto_calibrate);
    cprof__auto_thread *t = (cprof__auto_thread *)cprof__alloc(sizeof *t);
    if (!t) return NULL;
    cprof__mutex_lock(&cprof__auto_lock);
    t->next = cprof__auto.threads;
    cprof__auto.threads = t;
    cprof__mutex_unlock(&cprof__auto_lock);
    cprof__auto_self = t;
    return t;
}
#endif /* CPROF_AUTO */

/* ==================================================================================================
   >>sample: CPU sampling (CPROF_SAMPLE=HZ, cprof_sample_start). Each recorded thread has a perf event on its
   task clock (else a timer on its CPU clock) that sends it a signal (SIGPROF, or CPROF_SAMPLE_SIGNAL)
   after each period of its CPU time; the handler walks the frame
   pointers from the interrupted registers and counts the stack, with the scope open at that moment,
   in the thread's fixed table. The capture names the frames (>>capture: cprof__samples_attach).
   ================================================================================================== */
#define CPROF__SAMPLE_FRAMES 64   /* frames kept per sample, the leaf first; deeper ones are cut off */
#define CPROF__SAMPLE_SLOTS 2048  /* distinct (scope, stack) pairs per thread; more are counted as dropped */

/* One distinct stack under one scope node. Written only by its thread's handler: every field before
   `count` turns from 0 to 1 (a release store), so that a capture that sees a count sees the stack. */
typedef struct cprof__sample_slot {
    uint64_t count;
    uint64_t reset_base; /* count at the last cprof_reset(): the capture reports count - reset_base */
    const cprof__rnode *node;
    uint32_t hash, frames;
    uintptr_t pcs[CPROF__SAMPLE_FRAMES]; /* [0]: the interrupted instruction; then return addresses */
} cprof__sample_slot;

typedef struct cprof__sample_thread {
    int event_fd;          /* the perf event (the thread's task clock) that signals it; -1 when none */
    uint64_t event_id;     /* its PERF_EVENT_IOC_ID (0: unknown), checked before closing the number */
    int timer;             /* else the kernel's CPU-time timer id; -1 when none */
    uint32_t used;         /* slots taken */
    uint64_t taken;        /* samples counted in a slot */
    uint64_t dropped_full; /* samples whose stack found no free slot */
    uint64_t dropped_full_base; /* dropped_full at the last cprof_reset() */
    cprof__sample_slot slots[CPROF__SAMPLE_SLOTS];
} cprof__sample_thread;

/* Linux on x86-64 or AArch64, where the file with CPROF_IMPLEMENTATION shows sigaction and the
   registers' names (glibc: _DEFAULT_SOURCE or _GNU_SOURCE, which gnu dialects and most programs have);
   elsewhere cprof_sample_start() returns -1 and CPROF_SAMPLE says why. */
#if defined(CPROF__LINUX) && (defined(CPROF__X86_64) || defined(CPROF__AARCH64)) && defined(SA_SIGINFO) && \
    defined(__USE_MISC)
#define CPROF__SAMPLING 1
#endif

static struct cprof__sample_global {
    uint32_t hz;           /* 0: not sampling */
    uint32_t rate_hz;      /* the last rate started: what the samples taken stand for */
    int signal;            /* SIGPROF unless CPROF_SAMPLE_SIGNAL says otherwise */
    int handler_installed;
    int handler_lost;      /* the program replaced cprof's handler: 1 until a capture says so, then 2 */
    uint64_t dropped_no_thread; /* signals on a thread without a table (its timer was going away) */
    uint64_t dropped_exited;    /* samples of merged exited threads that could not move (out of memory) */
    uint64_t threads_unsampled; /* threads whose timer or table could not be made */
    uint32_t event_fds;         /* perf events open for sampling (each a file descriptor of the program's) */
    uint32_t event_fds_max;     /* at most an eighth of RLIMIT_NOFILE (16 or more); then timers */
    uint64_t threads_by_timer;  /* threads sampled by a CPU-time timer (bound to the kernel's tick) */
    uint64_t threads_by_timer_said;
    uint64_t threads_unsampled_said; /* how many of them a capture's message counted */
#if defined(CPROF__SAMPLING)
    struct sigaction previous;  /* the program's action for the signal before cprof's */
#endif
} cprof__sampler;

/* Set while cprof starts a thread of its own (>>dump's): cprof record's pthread_create leaves it unsampled. */
CPROF__UNUSED static CPROF__THREAD_LOCAL int cprof__starting_own_thread;

#if defined(CPROF__SAMPLING)
#include <ucontext.h>
#include <sys/resource.h>
#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4 /* Linux: deliver to the thread whose id follows sigev_notify */
#endif
/* Linux's values for what fcntl.h shows only under _GNU_SOURCE (asm-generic and x86-64 alike). */
#define CPROF__F_SETSIG 10
#define CPROF__F_SETOWN_EX 15
#define CPROF__F_OWNER_TID 0
#define CPROF__O_ASYNC 020000
#define CPROF__POLL_HUP 6 /* si_code of a signal from a perf event that reached its limit */

/* The interrupted program counter, frame pointer and stack pointer. x86-64's gregs indexes are
   REG_RIP 16, REG_RBP 10, REG_RSP 15 (the names need _GNU_SOURCE); AArch64's frame pointer is x29. */
CPROF__NO_INSTRUMENT static void cprof__sample_registers(const void *context, uintptr_t out[3]) {
    const ucontext_t *uc = (const ucontext_t *)context;
#if defined(CPROF__X86_64)
    out[0] = (uintptr_t)uc->uc_mcontext.gregs[16];
    out[1] = (uintptr_t)uc->uc_mcontext.gregs[10];
    out[2] = (uintptr_t)uc->uc_mcontext.gregs[15];
#else
    out[0] = (uintptr_t)uc->uc_mcontext.pc;
    out[1] = (uintptr_t)uc->uc_mcontext.regs[29];
    out[2] = (uintptr_t)uc->uc_mcontext.sp;
#endif
}

/* The interrupted PC, then the return addresses up the frame-pointer chain. A frame is
   {saved frame pointer, return address}; each must lie in [sp, stack_high) and above the one before,
   so a broken chain (code without frame pointers) ends the walk instead of faulting. */
CPROF__NO_INSTRUMENT static uint32_t cprof__sample_walk(uintptr_t stack_low, uintptr_t stack_high, const void *context,
                                                        uintptr_t *pcs) {
    uintptr_t registers[3];
    cprof__sample_registers(context, registers);
    uintptr_t frame = registers[1], low = registers[2], high = stack_high;
    uint32_t n = 0;
    pcs[n++] = registers[0];
    if (low < stack_low || low >= high) return n; /* on another stack (sigaltstack), or unknown: the PC only */
    while (n < CPROF__SAMPLE_FRAMES && frame >= low && frame % sizeof(uintptr_t) == 0 &&
           frame <= high - 2 * sizeof(uintptr_t)) {
        const uintptr_t *record = (const uintptr_t *)frame;
        uintptr_t next = record[0], return_address = record[1];
        if (return_address < 4096) break; /* page zero holds no code: the chain's end, or garbage */
        pcs[n++] = return_address;
        if (next <= frame) break; /* the chain must climb the stack */
        frame = next;
    }
    return n;
}

CPROF__NO_INSTRUMENT static uint32_t cprof__sample_hash(const cprof__rnode *node, const uintptr_t *pcs, uint32_t n) {
    uint64_t h = (uint64_t)(uintptr_t)node * 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < n; i++) h = (h ^ (uint64_t)pcs[i]) * 0x100000001b3ull;
    return (uint32_t)(h ^ (h >> 32));
}

/* Counts one sample in the table: its slot, or a free one (open addressing); full: counted as dropped. */
CPROF__NO_INSTRUMENT static void cprof__sample_count(cprof__sample_thread *s, const cprof__rnode *node,
                                                     const uintptr_t *pcs, uint32_t n, uint64_t periods) {
    uint32_t hash = cprof__sample_hash(node, pcs, n), mask = CPROF__SAMPLE_SLOTS - 1;
    for (uint32_t probe = 0, slot = hash & mask; probe < CPROF__SAMPLE_SLOTS; probe++, slot = (slot + 1) & mask) {
        cprof__sample_slot *e = &s->slots[slot];
        uint64_t count = CPROF__LOAD(e->count);
        if (count == 0) {
            if (s->used * 4 >= CPROF__SAMPLE_SLOTS * 3) break; /* keep probes short: 3/4 full is full */
            e->node = node, e->hash = hash, e->frames = n;
            for (uint32_t i = 0; i < n; i++) e->pcs[i] = pcs[i];
            s->used++;
            CPROF__STORE_RELEASE(e->count, periods);
            CPROF__STORE(s->taken, s->taken + periods);
            return;
        }
        if (e->hash == hash && e->node == node && e->frames == n && memcmp(e->pcs, pcs, n * sizeof *pcs) == 0) {
            CPROF__STORE(e->count, count + periods);
            CPROF__STORE(s->taken, s->taken + periods);
            return;
        }
    }
    CPROF__STORE(s->dropped_full, s->dropped_full + periods);
}

/* The signal handler: async-signal-safe (no allocation, no lock, no library call but memcmp on the
   table's own memory), errno kept. A sample counts the timer's periods it stands for: the kernel checks
   CPU-time timers at its scheduler tick (often 4 ms), and reports the periods it could not signal
   apart as the overrun. The scope is the one open when the signal came: the recorder's
   depth moves only after its frame is complete (a release store), so stack[depth] is always whole,
   also when the signal interrupts cprof's own enter or exit. */
CPROF__NO_INSTRUMENT static void cprof__sample_handler(int signal_number, siginfo_t *info, void *context) {
    int saved_errno = errno;
    (void)signal_number;
    uint64_t periods = 1u + (info && info->si_code == SI_TIMER && info->si_overrun > 0 ? (uint64_t)info->si_overrun : 0u);
    cprof__recorder *r = cprof__this_thread;
    cprof__sample_thread *s = r ? CPROF__LOAD_ACQUIRE(r->samples) : NULL;
    int event_fd = -1;
    if (info && info->si_code == CPROF__POLL_HUP) { /* from a perf event */
        event_fd = s ? CPROF__LOAD(s->event_fd) : -1;
        if (info->si_fd != event_fd) { /* closed since (sampling stopped): as a deleted timer's signal, gone */
            errno = saved_errno;
            return;
        }
    }
    if (!s) {
        CPROF__ADD(cprof__sampler.dropped_no_thread, periods);
        errno = saved_errno;
        return;
    }
    uintptr_t pcs[CPROF__SAMPLE_FRAMES];
    uint32_t n = cprof__sample_walk(r->stack_low, r->stack_high, context, pcs);
    uint32_t depth = CPROF__LOAD_ACQUIRE(r->depth);
    const cprof__rnode *node = CPROF__LOAD(r->stack[depth <= CPROF__MAX_DEPTH ? depth : 0].node);
    cprof__sample_count(s, node, pcs, n, periods);
    /* The next period starts when this handler is done: its own time is cprof's, not the program's, and
       a handler slower than a period (valgrind at a high rate) cannot take all of the thread's time. */
    if (event_fd >= 0) cprof__syscall(SYS_ioctl, event_fd, (unsigned long)PERF_EVENT_IOC_REFRESH, 1);
    errno = saved_errno;
}

/* The calling thread's stack bounds, noted when its recorder is made; 0 when unknown (then samples
   take only the PC). */
static void cprof__stack_bounds(cprof__recorder *r) {
    uintptr_t low, high;
    if (cprof__thread_stack(&low, &high) == 0) r->stack_low = low, r->stack_high = high;
}

/* The sampling perf event's settings: the thread's task clock, user mode, disabled until armed (bench/
   sample_overhead opens the same event to measure the mechanism alone). */
static void cprof__sample_event_attr(struct perf_event_attr *attr, uint32_t hz) {
    memset(attr, 0, sizeof *attr);
    attr->size = sizeof *attr;
    attr->type = PERF_TYPE_SOFTWARE;
    attr->config = PERF_COUNT_SW_TASK_CLOCK;
    attr->sample_period = 1000000000u / hz;
    attr->disabled = 1;
    attr->exclude_kernel = 1;
    attr->exclude_hv = 1;
}

/* The thread's task clock as a perf event that signals that thread alone (fcntl F_SETOWN_EX) after
   each period, then stops until the handler re-arms it at its end (PERF_EVENT_IOC_REFRESH 1): a high-resolution
   timer, so 1 kHz is 1,000 signals a second, where a CPU-time timer is checked at the kernel's tick
   (250 Hz on many kernels) and one signal then stands for several periods. User time only
   (exclude_kernel, which perf_event_paranoid 2 requires). Each costs a file descriptor (close-on-exec,
   moved to the upper half of RLIMIT_NOFILE's numbers but not above 4096, when it can be), so at most
   an eighth of the limit are open; perf_event_paranoid 3, seccomp or no perf events fall back to the timer. */
static int cprof__sample_event_start(cprof__sample_thread *s, uint64_t thread_id, uint32_t hz) {
    if (cprof__sampler.event_fds >= cprof__sampler.event_fds_max) return -1;
    struct perf_event_attr attr;
    cprof__sample_event_attr(&attr, hz);
    long opened = cprof__syscall(SYS_perf_event_open, &attr, (long)thread_id, -1, -1, (unsigned long)PERF_FLAG_FD_CLOEXEC);
    if (opened < 0) return -1;
    int fd = cprof__fd_move_high((int)opened);
    struct { int type; int pid; } owner = {CPROF__F_OWNER_TID, (int)thread_id};
    if (cprof__syscall(SYS_fcntl, fd, CPROF__F_SETOWN_EX, &owner) != 0 ||
        cprof__syscall(SYS_fcntl, fd, CPROF__F_SETSIG, (long)cprof__sampler.signal) != 0 ||
        cprof__syscall(SYS_fcntl, fd, F_SETFL, (long)CPROF__O_ASYNC) != 0) {
        close(fd);
        return -1;
    }
    s->event_id = cprof__perf_event_id(fd);
    CPROF__STORE(s->event_fd, fd);
    if (cprof__syscall(SYS_ioctl, fd, (unsigned long)PERF_EVENT_IOC_REFRESH, 1) != 0) {
        CPROF__STORE(s->event_fd, -1);
        close(fd);
        return -1;
    }
    cprof__sampler.event_fds++;
    return 0;
}

/* A timer on the thread's CPU clock (Linux: clock id ~tid << 3 | CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED,
   what pthread_getcpuclockid returns) signalling that thread alone (SIGEV_THREAD_ID). Raw system calls:
   glibc's timer_create needs -lrt before 2.34, and its struct sigevent names the thread id only
   under _GNU_SOURCE (the id follows sigev_notify in every layout). */
static int cprof__sample_timer_start(cprof__sample_thread *s, uint64_t thread_id, uint32_t hz) {
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = cprof__sampler.signal;
    int tid = (int)thread_id;
    memcpy((char *)&event.sigev_notify + sizeof event.sigev_notify, &tid, sizeof tid);
    clockid_t clock = (clockid_t)((~(unsigned)tid << 3) | 6u);
    int timer = -1;
    if (syscall(SYS_timer_create, clock, &event, &timer) != 0) return -1;
    struct itimerspec period;
    memset(&period, 0, sizeof period);
    period.it_interval.tv_nsec = period.it_value.tv_nsec = (long)(1000000000u / hz);
    if (syscall(SYS_timer_settime, timer, 0, &period, NULL) != 0) {
        syscall(SYS_timer_delete, timer);
        return -1;
    }
    s->timer = timer;
    return 0;
}

static cprof__sample_thread *cprof__sample_table_new(void) {
    cprof__sample_thread *s = (cprof__sample_thread *)cprof__pages_alloc(sizeof *s);
    if (s) s->event_fd = s->timer = -1;
    return s;
}


/* Starts sampling a live thread (its table made once, kept with its recorder): by a perf event, else
   by a timer. Under cprof__lock. */
static void cprof__sample_thread_start(cprof__recorder *r) {
    uint32_t hz = CPROF__LOAD(cprof__sampler.hz);
    if (!hz || !r || CPROF__LOAD(r->exited) || r == cprof__g.exited || cprof__sample_handler_check()) return;
    cprof__sample_thread *s = r->samples;
    if (s && (s->event_fd >= 0 || s->timer >= 0)) return;
    if (!s) {
        s = cprof__sample_table_new();
        if (!s) {
            CPROF__ADD(cprof__sampler.threads_unsampled, 1u);
            return;
        }
        CPROF__STORE_RELEASE(r->samples, s);
    }
    if (cprof__sample_event_start(s, r->thread_id, hz) == 0) return;
    if (cprof__sample_timer_start(s, r->thread_id, hz)) CPROF__ADD(cprof__sampler.threads_unsampled, 1u);
    else CPROF__ADD(cprof__sampler.threads_by_timer, 1u);
}

/* Closes a thread's perf event, unless the program closed that number itself meanwhile (closefrom, a
   daemon's start) and the number is now one of its own files: then the event is gone already and the
   file is not cprof's to close. */
static void cprof__sample_event_close(const cprof__sample_thread *s, int fd) {
    if (s->event_id == 0 || cprof__perf_event_id(fd) == s->event_id) close(fd);
}

/* Stops the thread's perf event or timer; a signal already on its way finds the table and still counts
   (and, its file descriptor no longer the table's, re-arms nothing). Under cprof__lock. */
static void cprof__sample_thread_stop(cprof__recorder *r) {
    cprof__sample_thread *s = r ? r->samples : NULL;
    if (!s) return;
    int fd = s->event_fd;
    if (fd >= 0) {
        CPROF__STORE(s->event_fd, -1);
        cprof__sample_event_close(s, fd);
        cprof__sampler.event_fds--;
    }
    if (s->timer >= 0) syscall(SYS_timer_delete, s->timer);
    s->timer = -1;
}

/* A program that installs its own handler for the signal after sampling started (sigaction or
   signal()) wins it: cprof cannot see the moment, so at the next capture or new thread it finds its
   handler gone, closes every perf event and deletes every timer (until then the program's handler
   got cprof's signals: a timer's, si_code SI_TIMER, or one from each perf event, POLL_HUP, which only
   cprof's handler re-arms) and stops sampling; the capture says so. Under cprof__lock; 1 when it is lost. */
static int cprof__sample_handler_check(void) {
    if (!cprof__sampler.handler_installed) return cprof__sampler.handler_lost != 0;
    struct sigaction current;
    if (sigaction(cprof__sampler.signal, NULL, &current) != 0 ||
        ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == cprof__sample_handler))
        return 0;
    cprof__sampler.handler_installed = 0;
    cprof__sampler.handler_lost = 1;
    CPROF__STORE(cprof__sampler.hz, 0u);
    for (cprof__recorder *r = cprof__g.recorders; r; r = r->next) cprof__sample_thread_stop(r);
    return 1;
}

/* --- an exited thread merged into "exited threads" (the 65th and later, see cprof__recorder_retire):
   its samples move with its scopes. Each slot is counted again in the pseudo-thread's table under the
   merged node of its scope, found by walking both trees together (the slots sorted by node); a full
   table counts the rest as dropped. Under cprof__capture_lock, after cprof__tree_merge. --- */
typedef struct cprof__sample_by_node {
    const cprof__rnode *node;
    uint32_t slot;
} cprof__sample_by_node;

static int cprof__sample_by_node_order(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)((const cprof__sample_by_node *)a)->node, y = (uintptr_t)((const cprof__sample_by_node *)b)->node;
    return x < y ? -1 : x > y;
}

static void cprof__sample_move(cprof__sample_thread *into, cprof__sample_thread *from, const cprof__sample_by_node *sorted,
                               uint32_t count, const cprof__rnode *from_node, const cprof__rnode *to_node) {
    uint32_t low = 0, high = count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        if ((uintptr_t)sorted[middle].node < (uintptr_t)from_node) low = middle + 1;
        else high = middle;
    }
    for (; low < count && sorted[low].node == from_node; low++) {
        cprof__sample_slot *e = &from->slots[sorted[low].slot];
        uint64_t taken = CPROF__LOAD(e->count);
        cprof__sample_count(into, to_node, e->pcs, e->frames, taken - CPROF__LOAD(e->reset_base));
        CPROF__STORE(e->reset_base, taken); /* moved: cprof__sample_forget does not count it as dropped */
    }
    for (const cprof__rnode *child = from_node->first_child; child; child = child->next_sibling) {
        const cprof__rnode *to_child = cprof__child_find(to_node, child->site);
        if (to_child) cprof__sample_move(into, from, sorted, count, child, to_child);
    }
}

static void cprof__sample_merge_exited(cprof__recorder *into, cprof__recorder *r) {
    cprof__sample_thread *from = r->samples;
    if (!from || !from->used) return;
    if (!into->samples) {
        cprof__sample_thread *s = cprof__sample_table_new();
        if (!s) return; /* the samples stay where they are: counted as dropped */
        CPROF__STORE_RELEASE(into->samples, s);
    }
    cprof__sample_by_node *sorted = (cprof__sample_by_node *)cprof__alloc(from->used * sizeof *sorted);
    if (!sorted) return;
    uint32_t count = 0;
    for (uint32_t i = 0; i < CPROF__SAMPLE_SLOTS && count < from->used; i++)
        if (CPROF__LOAD(from->slots[i].count) > CPROF__LOAD(from->slots[i].reset_base))
            sorted[count].node = from->slots[i].node, sorted[count++].slot = i;
    qsort(sorted, count, sizeof *sorted, cprof__sample_by_node_order);
    cprof__sample_move(into->samples, from, sorted, count, &r->root, &into->root);
    cprof__release(sorted, from->used * sizeof *sorted);
    uint64_t dropped = CPROF__LOAD(from->dropped_full) - CPROF__LOAD(from->dropped_full_base);
    CPROF__STORE(into->samples->dropped_full, CPROF__LOAD(into->samples->dropped_full) + dropped);
    CPROF__STORE(from->dropped_full_base, CPROF__LOAD(from->dropped_full_base) + dropped);
}

/* The program's own handler for the signal wins: sampling then stays off and says why. */
static int cprof__sample_install(void) {
    if (cprof__sampler.handler_installed) return 0;
    struct sigaction action, current;
    if (sigaction(cprof__sampler.signal, NULL, &current) != 0) return -1;
    if (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN) return -1;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = cprof__sample_handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(cprof__sampler.signal, &action, &cprof__sampler.previous) != 0) return -1;
    cprof__sampler.handler_installed = 1;
    return 0;
}
#else
static int cprof__sample_handler_check(void) { return 0; }
static void cprof__sample_merge_exited(cprof__recorder *into, cprof__recorder *r) { (void)into, (void)r; }
static void cprof__stack_bounds(cprof__recorder *r) { (void)r; }
static void cprof__sample_thread_start(cprof__recorder *r) { (void)r; }
static void cprof__sample_thread_stop(cprof__recorder *r) { (void)r; }
#endif /* CPROF__SAMPLING */

#if !defined(CPROF__WINDOWS)
/* fork(): timers are not inherited and the perf events' file descriptors are (sampling's, still
   signalling the parent's threads, and the rings of switches, whose mappings are not): the child stops
   them all (a timer's id is unknown in the child: deleting it fails harmlessly), and its one thread
   (the one that forked) gets its own. */
CPROF__UNUSED static void cprof__events_fork_child(void) {
    for (cprof__recorder *r = cprof__g.recorders; r; r = r->next) {
        cprof__sample_thread_stop(r);
        cprof__preemption_release(r, 0);
    }
    cprof__recorder *self = cprof__this_thread;
    if (!self) return;
    self->thread_id = cprof__thread_id();
    cprof__mutex_lock(&cprof__lock);
    if (self->samples) cprof__sample_thread_start(self);
    cprof__g.preemption_threads = 0; /* the child's own */
    cprof__preemption_start(self);
    cprof__mutex_unlock(&cprof__lock);
}
#endif

/* A merged exited thread's recorder becomes a spare: its samples that did not move into "exited threads"
   (cprof__sample_merge_exited) lose their scopes with it, and are counted as dropped. */
static void cprof__sample_forget(cprof__recorder *r) {
    cprof__sample_thread *s = r->samples;
    if (!s) return;
    for (uint32_t i = 0; i < CPROF__SAMPLE_SLOTS; i++) {
        uint64_t count = CPROF__LOAD(s->slots[i].count);
        if (count > s->slots[i].reset_base) cprof__sampler.dropped_exited += count - s->slots[i].reset_base;
    }
    cprof__sampler.dropped_exited += CPROF__LOAD(s->dropped_full) - s->dropped_full_base;
    memset(s->slots, 0, sizeof s->slots);
    s->used = 0;
    CPROF__STORE(s->taken, 0);
    CPROF__STORE(s->dropped_full, 0);
    s->dropped_full_base = 0;
}

/* cprof_reset(): the samples so far are forgotten. The slots keep their stacks (the handler may be
   counting in one right now, and only it writes a count): each remembers its count at the reset, and a
   capture reports what came after. Under cprof__lock. */
static void cprof__samples_reset(void) {
    for (cprof__recorder *r = cprof__g.recorders; r; r = CPROF__LOAD_ACQUIRE(r->next)) {
        cprof__sample_thread *s = CPROF__LOAD_ACQUIRE(r->samples);
        if (!s) continue;
        for (uint32_t i = 0; i < CPROF__SAMPLE_SLOTS; i++)
            CPROF__STORE(s->slots[i].reset_base, CPROF__LOAD(s->slots[i].count));
        CPROF__STORE(s->dropped_full_base, CPROF__LOAD(s->dropped_full));
    }
    CPROF__STORE(cprof__sampler.dropped_no_thread, 0);
    cprof__sampler.dropped_exited = 0;
}

int cprof_sample_start(unsigned hz) {
    cprof__init();
#if defined(CPROF__SAMPLING)
    if (hz == 0 || hz > 100000 || cprof__g.forced_off) return -1;
    if (!cprof__sampler.signal) cprof__sampler.signal = SIGPROF; /* called before cprof's constructor */
    (void)cprof__recorder_get(); /* the caller is sampled even before its first scope */
    cprof__mutex_lock(&cprof__lock);
    int failed = cprof__sample_install();
    if (!failed) {
        cprof__sampler.handler_lost = 0;
        cprof__sampler.event_fds_max = cprof__perf_fds_allowed();
        CPROF__STORE(cprof__sampler.hz, (uint32_t)hz);
        CPROF__STORE(cprof__sampler.rate_hz, (uint32_t)hz);
        for (cprof__recorder *r = cprof__g.recorders; r; r = r->next)
            if (!CPROF__LOAD(r->spare)) cprof__sample_thread_start(r);
    }
    cprof__mutex_unlock(&cprof__lock);
    if (failed) {
        cprof__message(NULL, 0, "sampling not started: the program handles signal %d itself (CPROF_SAMPLE_SIGNAL=N "
                       "chooses another)", cprof__sampler.signal);
        return -1;
    }
    return 0;
#else
    (void)hz;
    cprof__message(NULL, 0, "sampling not started: it needs Linux on x86-64 or AArch64");
    return -1;
#endif
}

/* Stops every thread's timer; the samples taken stay in the profile. */
void cprof_sample_stop(void) {
    cprof__init();
    cprof__mutex_lock(&cprof__lock);
    CPROF__STORE(cprof__sampler.hz, 0u);
    for (cprof__recorder *r = cprof__g.recorders; r; r = r->next) cprof__sample_thread_stop(r);
    cprof__mutex_unlock(&cprof__lock);
}

/* CPROF_SAMPLE=HZ (and CPROF_SAMPLE_SIGNAL=N) at program start. */
#if !defined(CPROF__SAMPLING)
__attribute__((constructor)) static void cprof__sample_at_startup(void) {
    const char *hz = getenv("CPROF_SAMPLE");
    if (hz && *hz && strcmp(hz, "0") != 0)
        cprof__env_warn("CPROF_SAMPLE", hz, "CPU sampling needs Linux on x86-64 or AArch64 and, in the file with "
                        "CPROF_IMPLEMENTATION, POSIX with the registers' names (_DEFAULT_SOURCE); not sampling");
}
#else
__attribute__((constructor)) static void cprof__sample_at_startup(void) {
    const char *hz = getenv("CPROF_SAMPLE"), *signal_name = getenv("CPROF_SAMPLE_SIGNAL");
    char *end = NULL;
    cprof__sampler.signal = SIGPROF;
    if (signal_name && *signal_name) {
        long number = strtol(signal_name, &end, 10);
        if (*end || number < 1 || number >= 65 || number == SIGKILL || number == SIGSTOP)
            cprof__env_warn("CPROF_SAMPLE_SIGNAL", signal_name, "not a signal number; using SIGPROF");
        else
            cprof__sampler.signal = (int)number;
    }
    if (!hz || !*hz) return;
    long value = strtol(hz, &end, 10);
#if defined(CPROF__SAMPLING)
    if (getenv("CPROF_RECORD")) { /* preloaded by cprof record: this copy of cprof alone samples and writes */
        cprof__init(); /* CPROF_OUT read */
        const char *preload = getenv("CPROF_RECORD_LD_PRELOAD");
        if (preload) setenv("LD_PRELOAD", preload, 1); /* what the program runs is not recorded */
        else unsetenv("LD_PRELOAD");
        unsetenv("CPROF_RECORD_LD_PRELOAD");
        unsetenv("CPROF_RECORD");
        unsetenv("CPROF_OUT"); /* nor written over by a cprof the program has in it (its constructors run later) */
        unsetenv("CPROF_SAMPLE");
    }
#endif
    if (*end || value < 1 || value > 100000) {
        cprof__env_warn("CPROF_SAMPLE", hz, "not a rate from 1 to 100000 (samples per second of CPU); not sampling");
        return;
    }
    if (cprof_sample_start((unsigned)value) != 0)
        cprof__env_warn("CPROF_SAMPLE", hz, "sampling could not start (see the report's messages)");
}
#endif

/* cprof record's library (CPROF_RECORD_LIBRARY): a thread of an unmodified program never enters a scope,
   so nothing would make its recorder and start its timer. The library defines pthread_create, which the
   dynamic linker binds ahead of the C library's (the library is preloaded): the new thread first makes
   its recorder (its timer starts, see cprof__recorder_create), then runs the program's routine; at its
   exit its timer is deleted and its samples kept, as for any recorded thread. Threads made without
   pthread_create (a raw clone) are not sampled. */
#if defined(CPROF_RECORD_LIBRARY) && defined(CPROF__SAMPLING)
#include <dlfcn.h>
typedef int (*cprof__pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

typedef struct cprof__thread_start {
    void *(*routine)(void *);
    void *argument;
} cprof__thread_start;

static void *cprof__sampled_thread(void *start) {
    cprof__thread_start s = *(cprof__thread_start *)start;
    free(start);
    (void)cprof__recorder_get();
    return s.routine(s.argument);
}

int pthread_create(pthread_t *thread, const pthread_attr_t *attributes, void *(*routine)(void *), void *argument) {
    static void *next; /* the C library's pthread_create, found once (every thread finds the same) */
    void *found = __atomic_load_n(&next, __ATOMIC_ACQUIRE);
    if (!found) {
#ifdef RTLD_NEXT
        found = dlsym(RTLD_NEXT, "pthread_create");
#else /* hidden without _GNU_SOURCE; glibc's and musl's value: the objects after this one, in search order */
        found = dlsym((void *)-1l, "pthread_create");
#endif
        if (!found) return EAGAIN;
        __atomic_store_n(&next, found, __ATOMIC_RELEASE);
    }
    cprof__pthread_create_fn create;
    memcpy(&create, &found, sizeof create); /* ISO C has no cast from an object pointer to a function's */
    if (cprof__starting_own_thread) return create(thread, attributes, routine, argument);
    cprof__thread_start *start = (cprof__thread_start *)malloc(sizeof *start);
    if (!start) return create(thread, attributes, routine, argument); /* that thread is not sampled */
    start->routine = routine, start->argument = argument;
    int failed = create(thread, attributes, cprof__sampled_thread, start);
    if (failed) free(start);
    return failed;
}
#endif

/* ==================================================================================================
   >>profile: the profile's storage: its string arena, its arrays and their growth, nodes, freeing
   ================================================================================================== */
/* Strings of a profile live in chunks that the profile owns. */
typedef struct cprof__strings {
    struct cprof__strings *next;
    size_t used, size;
    char *data;
} cprof__strings;

/* A copy of `text` in the chain of chunks `*chain` (a profile's, or the analyzer's findings'). */
static const char *cprof__strings_copy(cprof__strings **chain, const char *text, size_t length) {
    cprof__strings *chunk = *chain;
    if (!chunk || chunk->size - chunk->used < length + 1) {
        size_t size = length + 1 > 65536 ? length + 1 : 65536;
        chunk = (cprof__strings *)cprof__alloc(sizeof *chunk + size);
        if (!chunk) return "";
        chunk->data = (char *)(chunk + 1);
        chunk->size = size;
        chunk->next = *chain;
        *chain = chunk;
    }
    char *copy = chunk->data + chunk->used;
    memcpy(copy, text, length);
    copy[length] = '\0';
    chunk->used += length + 1;
    return copy;
}

static void cprof__strings_free(cprof__strings **chain) {
    while (*chain) {
        cprof__strings *next = (*chain)->next;
        cprof__release(*chain, sizeof **chain + (*chain)->size);
        *chain = next;
    }
}

static const char *cprof__string_copy(cprof_profile *p, const char *text, size_t length) {
    return cprof__strings_copy(&p->strings, text, length);
}

static const char *cprof__string(cprof_profile *p, const char *text) {
    return cprof__string_copy(p, text ? text : "", text ? strlen(text) : 0);
}

/* A profile's arrays carry their capacity in front of them, so that cprof_profile_free knows the
   size to account for whatever built the profile (capture or the loader). */
/* The profile file's format: 1.1 added "budgets"; 1.2 "timeline", the leak check's categories ("leak_check",
   the sites' lost_..., indirect_..., possible_...) and the threads' shares of a site ("threads"), automatic
   instrumentation's counted calls, CPU sampling's samples, and the memory figures ("memory": the live heap
   over time; "peak_ns", the sites' at_peak_..., slack_bytes, "heap_at_peak", "heap_at_capture"); readers
   skip fields they do not know, and this one reads each part when present. 1.3: the benchmarks' "group". */
#define CPROF__FORMAT_MAJOR 1
#define CPROF__FORMAT_MINOR 4

typedef struct cprof__arrays {
    size_t threads, sites, nodes, functions, messages;
    size_t counters, node_counters, function_counters;
    size_t alloc_sites, free_problems, alloc_site_threads;
    size_t benchmarks, budgets;
    size_t events;
    size_t memory_points, memory_shares;
} cprof__arrays;

static cprof_profile *cprof__profile_new(void) {
    cprof_profile *p = (cprof_profile *)cprof__alloc(sizeof *p + sizeof(cprof__arrays));
    if (!p) return NULL;
    p->format_major = CPROF__FORMAT_MAJOR;
    p->format_minor = CPROF__FORMAT_MINOR;
    p->program = "";
    p->timer = "";
    p->counter_reader = "";
    return p;
}

static cprof__arrays *cprof__capacities(const cprof_profile *p) { return (cprof__arrays *)(void *)(p + 1); }

static int cprof__grow_counter_values(size_t *capacity, cprof_counter_value **array, size_t needed) {
    return cprof__grow(array, capacity, needed, sizeof **array);
}

static void cprof__bench_free(cprof_profile *p) {
    for (size_t i = 0; i < p->benchmark_count; i++)
        cprof__release(p->benchmarks[i].samples_ns, p->benchmarks[i].sample_count * sizeof(double));
    cprof__release(p->benchmarks, cprof__capacities(p)->benchmarks * sizeof *p->benchmarks);
    p->benchmarks = NULL;
    p->benchmark_count = 0;
}

void cprof_profile_free(cprof_profile *p) {
    if (!p) return;
    cprof__arrays *cap = cprof__capacities(p);
    cprof__release(p->threads, cap->threads * sizeof *p->threads);
    cprof__release(p->sites, cap->sites * sizeof *p->sites);
    cprof__release(p->nodes, cap->nodes * sizeof *p->nodes);
    cprof__release(p->functions, cap->functions * sizeof *p->functions);
    cprof__release(p->messages, cap->messages * sizeof *p->messages);
    cprof__release(p->counters, cap->counters * sizeof *p->counters);
    cprof__release(p->node_counters, cap->node_counters * sizeof *p->node_counters);
    cprof__release(p->function_counters, cap->function_counters * sizeof *p->function_counters);
    cprof__bench_free(p);
    cprof__release(p->alloc_sites, cap->alloc_sites * sizeof *p->alloc_sites);
    cprof__release(p->free_problems, cap->free_problems * sizeof *p->free_problems);
    cprof__release(p->alloc_site_threads, cap->alloc_site_threads * sizeof *p->alloc_site_threads);
    cprof__release(p->budgets, cap->budgets * sizeof *p->budgets);
    cprof__release(p->events, cap->events * sizeof *p->events);
    cprof__release(p->memory_points, cap->memory_points * sizeof *p->memory_points);
    cprof__release(p->memory_shares, cap->memory_shares * sizeof *p->memory_shares);
    cprof__strings_free(&p->strings);
    cprof__release(p, sizeof *p + sizeof(cprof__arrays));
}

static cprof_node *cprof__add_node(cprof_profile *p) {
    if (cprof__grow(&p->nodes, &cprof__capacities(p)->nodes, p->node_count + 1, sizeof *p->nodes)) return NULL;
    cprof_node *node = &p->nodes[p->node_count++];
    memset(node, 0, sizeof *node);
    node->site = node->parent = node->first_child = node->next_sibling = CPROF_NONE;
    return node;
}

/* ==================================================================================================
   >>bench: micro-benchmarks, the producer: a body is run untimed (warm-up) while its batch grows to
   1/target_samples of the time budget, then timed batch by batch; each run is kept in the process's
   list until a capture copies it (their statistics and growth fits are public)
   ================================================================================================== */
cprof_bench_options cprof_bench_defaults(void) {
    cprof_bench_options options;
    options.min_time_s = 0.5;
    options.warmup_s = 0.05;
    options.min_samples = 10;
    options.target_samples = 50;
    return options;
}

cprof_bench_stats cprof_bench_statistics(const double *samples_ns, size_t count) {
    cprof_bench_stats s;
    memset(&s, 0, sizeof s);
    double *sorted = count ? (double *)cprof__alloc(count * sizeof *sorted) : NULL;
    if (!sorted) return s;
    double sum = 0, squares = 0;
    for (size_t i = 0; i < count; i++) sum += sorted[i] = samples_ns[i];
    s.count = count;
    s.mean_ns = sum / (double)count;
    for (size_t i = 0; i < count; i++) squares += (sorted[i] - s.mean_ns) * (sorted[i] - s.mean_ns);
    s.stddev_ns = count > 1 ? sqrt(squares / (double)(count - 1)) : 0;
    s.median_ns = cprof__median(sorted, count);
    s.min_ns = sorted[0];
    s.max_ns = sorted[count - 1];
    s.q1_ns = cprof__quantile(sorted, count, 0.25);
    s.q3_ns = cprof__quantile(sorted, count, 0.75);
    double fence = 1.5 * (s.q3_ns - s.q1_ns);
    for (size_t i = 0; i < count; i++) {
        s.outliers_low += sorted[i] < s.q1_ns - fence;
        s.outliers_high += sorted[i] > s.q3_ns + fence;
        sorted[i] = fabs(sorted[i] - s.median_ns);
    }
    s.mad_ns = cprof__median(sorted, count);
    cprof__release(sorted, count * sizeof *sorted);
    return s;
}

/* The exponent k of time = c * n^k: the least-squares slope of log(time) over log(n). Points with a
   zero n or time are skipped; 0 when fewer than two distinct n remain. */
double cprof_bench_growth(const double *n, const double *time_ns, size_t count) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0, used = 0;
    for (size_t i = 0; i < count; i++) {
        if (!(n[i] > 0) || !(time_ns[i] > 0)) continue;
        double x = log(n[i]), y = log(time_ns[i]);
        sx += x, sy += y, sxx += x * x, sxy += x * y, used += 1;
    }
    double spread = used * sxx - sx * sx;
    return used >= 2 && spread > 1e-12 * used * sxx ? (used * sxy - sx * sy) / spread : 0;
}

/* --- running ------------------------------------------------------------------------------------------ */
static cprof__mutex cprof__bench_lock = CPROF__MUTEX_INIT;
static cprof_profile *cprof__bench_results; /* the process's benchmarks so far; NULL before the first */

static uint64_t cprof__bench_batch_ticks(cprof_bench_function body, cprof_bench *b, uint64_t batch) {
    uint64_t start = cprof__ticks();
    for (uint64_t i = 0; i < batch; i++) body(b);
    return cprof__ticks() - start;
}

/* Warm-up: run untimed, doubling the batch until one batch lasts batch_ticks, for at least warmup_ticks. */
static uint64_t cprof__bench_warm_up(cprof_bench_function body, cprof_bench *b, cprof_benchmark *r,
                                     uint64_t batch_ticks, uint64_t warmup_ticks) {
    uint64_t batch = 1, spent = 0;
    for (;;) {
        uint64_t ticks = cprof__bench_batch_ticks(body, b, batch);
        r->warmup_iterations += batch;
        spent += ticks;
        if (ticks >= batch_ticks && spent >= warmup_ticks) return batch;
        if (ticks < batch_ticks && batch < UINT64_MAX / 4) batch *= 2;
    }
}

static int cprof__bench_add_sample(cprof_benchmark *r, size_t *capacity, double ns) {
    if (cprof__grow(&r->samples_ns, capacity, r->sample_count + 1, sizeof *r->samples_ns)) return -1;
    r->samples_ns[r->sample_count++] = ns;
    return 0;
}

/* Its warm-up, which sizes the batch; `b` is the body's view of it. */
static void cprof__bench_start(cprof_benchmark *r, cprof_bench_function body, cprof_bench *b,
                               const cprof_bench_options *o) {
    double hz = cprof__timer_hz();
    uint32_t targets = o->target_samples ? o->target_samples : 1;
    uint64_t batch_ticks = (uint64_t)(o->min_time_s * hz) / targets + 1;
    r->batch = cprof__bench_warm_up(body, b, r, batch_ticks, (uint64_t)(o->warmup_s * hz));
}

/* One timed batch: one more sample; -1 when out of memory. `spent` adds up the ticks timed. */
static int cprof__bench_sample(cprof_benchmark *r, size_t *capacity, cprof_bench_function body, cprof_bench *b,
                               uint64_t *spent) {
    uint64_t ticks = cprof__bench_batch_ticks(body, b, r->batch);
    *spent += ticks;
    return cprof__bench_add_sample(r, capacity, (double)ticks * 1e9 / cprof__timer_hz() / (double)r->batch);
}

static int cprof__bench_done(const cprof_benchmark *r, uint64_t spent, const cprof_bench_options *o) {
    return spent >= (uint64_t)(o->min_time_s * cprof__timer_hz()) && r->sample_count >= o->min_samples;
}

/* The figures that follow from the samples and what the body declared. */
static void cprof__bench_finish(cprof_benchmark *r, const cprof_bench *b) {
    r->iterations = r->batch * r->sample_count;
    r->items = b->items;
    r->bytes = b->bytes;
    r->stats = cprof_bench_statistics(r->samples_ns, r->sample_count);
}

/* One benchmark at one n: warm-up, then batches until min_time_s and min_samples are both reached. */
static int cprof__bench_measure(cprof_benchmark *r, size_t *capacity, cprof_bench_function body, cprof_bench *b,
                                const cprof_bench_options *o) {
    uint64_t spent = 0;
    cprof__bench_start(r, body, b, o);
    while (!cprof__bench_done(r, spent, o))
        if (cprof__bench_sample(r, capacity, body, b, &spent)) return -1;
    cprof__bench_finish(r, b);
    return 0;
}

/* Appends a benchmark to p (its name copied into p); NULL when out of memory. */
static cprof_benchmark *cprof__bench_append(cprof_profile *p, const char *name) {
    if (cprof__grow(&p->benchmarks, &cprof__capacities(p)->benchmarks, p->benchmark_count + 1, sizeof *p->benchmarks))
        return NULL;
    cprof_benchmark *r = &p->benchmarks[p->benchmark_count++];
    memset(r, 0, sizeof *r);
    r->name = cprof__string(p, name);
    return r;
}

/* Samples are allocated with their exact size, so that freeing knows it from sample_count. */
static void cprof__bench_shrink(cprof_benchmark *r, size_t capacity) {
    double *exact = r->sample_count ? (double *)cprof__alloc(r->sample_count * sizeof *exact) : NULL;
    if (exact) memcpy(exact, r->samples_ns, r->sample_count * sizeof *exact);
    else r->sample_count = 0;
    cprof__release(r->samples_ns, capacity * sizeof *r->samples_ns);
    r->samples_ns = exact;
}

/* A measured benchmark into the process's list (its samples move there); -1, the result dropped with a
   message, when out of memory. */
static int cprof__bench_keep(cprof_benchmark *r, size_t capacity, const char *name, int failed) {
    cprof__bench_shrink(r, capacity);
    cprof__mutex_lock(&cprof__bench_lock);
    if (!cprof__bench_results) cprof__bench_results = cprof__profile_new();
    cprof_benchmark *kept = failed || !cprof__bench_results ? NULL : cprof__bench_append(cprof__bench_results, name);
    if (kept) {
        r->name = kept->name;
        *kept = *r;
    }
    cprof__mutex_unlock(&cprof__bench_lock);
    if (kept) return 0;
    cprof__release(r->samples_ns, r->sample_count * sizeof *r->samples_ns);
    cprof__message(NULL, 0, "benchmark %s: out of memory, result dropped", name);
    return -1;
}

static int cprof__bench_one(const char *name, uint64_t n, cprof_bench_function body, void *user,
                            const cprof_bench_options *o) {
    cprof_benchmark r;
    size_t capacity = 0;
    cprof_bench b;
    memset(&r, 0, sizeof r);
    b.name = name, b.n = n, b.user = user, b.items = 0, b.bytes = 0;
    r.n = n;
    int failed = cprof__bench_measure(&r, &capacity, body, &b, o);
    return cprof__bench_keep(&r, capacity, name, failed);
}

int cprof_bench_sweep(const char *name, cprof_bench_function body, void *user, const uint64_t *n, size_t n_count,
                      const cprof_bench_options *options) {
    cprof_bench_options o = options ? *options : cprof_bench_defaults();
    int failed = 0;
    if (!name || !body) return -1;
    cprof__init();
    for (size_t i = 0; i < n_count; i++) failed |= cprof__bench_one(name, n[i], body, user, &o);
    return failed ? -1 : 0;
}

int cprof_bench_run(const char *name, cprof_bench_function body, void *user, const cprof_bench_options *options) {
    uint64_t none = 0;
    return cprof_bench_sweep(name, body, user, &none, 1, options);
}

/* --- a group timed in turn: every member warmed up and its batch sized as alone, then rounds of one
   batch of each, in the order given, until every member has min_time_s and min_samples. The members
   see the same moments of the machine (on a shared core, a state can hold a whole benchmark's
   half-second: README), so each round's times compare the members under one state. Every member
   takes part in every round, so sample i of each is round i. ---------------------------------------- */
typedef struct cprof__bench_member {
    cprof_benchmark result;
    size_t capacity; /* of result.samples_ns */
    cprof_bench view; /* what the body sees */
    cprof_bench_function body;
    uint64_t spent;  /* ticks timed */
} cprof__bench_member;

static uint32_t cprof__bench_next_group = 1; /* under cprof__bench_lock; cprof_bench_clear starts again at 1 */

static int cprof__bench_group_done(const cprof__bench_member *members, size_t count, const cprof_bench_options *o) {
    for (size_t i = 0; i < count; i++)
        if (!cprof__bench_done(&members[i].result, members[i].spent, o)) return 0;
    return 1;
}

/* The order of one round: order[] shuffled (Fisher-Yates, splitmix64 from *state). With a fixed order a
   disturbance that recurs once a round (another process's time slices) hits the same member in every
   round; with a fixed order and a planted noise source, 3 of 60 runs had one member 1.4x to 3.7x off
   the others over the whole run (shuffled: 2 of 160; README). */
static void cprof__bench_shuffle(size_t *order, size_t count, uint64_t *state) {
    for (size_t i = count; i > 1; i--) {
        uint64_t x = (*state += 0x9e3779b97f4a7c15ull);
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        x ^= x >> 31;
        size_t j = (size_t)(x % i), kept = order[i - 1];
        order[i - 1] = order[j], order[j] = kept;
    }
}

/* Warm-up of each in turn, then the rounds, each in an order of its own (order: room for count); -1
   when out of memory. */
static int cprof__bench_rounds(cprof__bench_member *members, size_t *order, size_t count, uint32_t group,
                               const cprof_bench_options *o) {
    uint64_t state = group; /* the same orders in every run of a program */
    for (size_t i = 0; i < count; i++) cprof__bench_start(&members[i].result, members[i].body, &members[i].view, o);
    for (size_t i = 0; i < count; i++) order[i] = i;
    while (!cprof__bench_group_done(members, count, o)) {
        cprof__bench_shuffle(order, count, &state);
        for (size_t i = 0; i < count; i++) {
            cprof__bench_member *m = &members[order[i]];
            if (cprof__bench_sample(&m->result, &m->capacity, m->body, &m->view, &m->spent)) return -1;
        }
    }
    for (size_t i = 0; i < count; i++) cprof__bench_finish(&members[i].result, &members[i].view);
    return 0;
}

int cprof_bench_group(const cprof_bench_entry *entries, size_t count, const cprof_bench_options *options) {
    cprof_bench_options o = options ? *options : cprof_bench_defaults();
    if (!entries || !count) return -1;
    for (size_t i = 0; i < count; i++)
        if (!entries[i].name || !entries[i].body) return -1;
    cprof__init();
    cprof__bench_member *members = (cprof__bench_member *)cprof__alloc(count * sizeof *members);
    size_t *order = (size_t *)cprof__alloc(count * sizeof *order);
    if (!members || !order) {
        cprof__release(members, count * sizeof *members);
        cprof__release(order, count * sizeof *order);
        return -1;
    }
    cprof__mutex_lock(&cprof__bench_lock);
    uint32_t group = cprof__bench_next_group++;
    cprof__mutex_unlock(&cprof__bench_lock);
    for (size_t i = 0; i < count; i++) {
        cprof__bench_member *m = &members[i];
        m->body = entries[i].body;
        m->view.name = entries[i].name, m->view.n = entries[i].n, m->view.user = entries[i].user;
        m->result.n = entries[i].n;
        m->result.group = group;
    }
    int failed = cprof__bench_rounds(members, order, count, group, &o);
    for (size_t i = 0; i < count; i++) failed |= cprof__bench_keep(&members[i].result, members[i].capacity, entries[i].name, failed);
    cprof__release(members, count * sizeof *members);
    cprof__release(order, count * sizeof *order);
    return failed ? -1 : 0;
}

void cprof_bench_clear(void) {
    cprof__mutex_lock(&cprof__bench_lock);
    cprof_profile_free(cprof__bench_results);
    cprof__bench_results = NULL;
    cprof__bench_next_group = 1;
    cprof__mutex_unlock(&cprof__bench_lock);
}

/* ==================================================================================================
   >>derive: computed once per profile, captured or loaded: self times, thread totals, per-function
   statistics, the counters' self values and per-function sums, the allocations' inclusive figures
   ================================================================================================== */
/* The deepest call tree a profile may hold (a thread's root is depth 0). The recorder stops at 512
   (CPROF__MAX_DEPTH) and automatic instrumentation tracks 1024 open calls, so 2048 leaves room for
   any recorded or converted profile, while every writer stays linear in the profile's size: the
   loader refuses deeper trees, a folded line has at most this many frames, the flame graph's recursion
   is this deep at most, and the report's indentation stops at CPROF__REPORT_MAX_INDENT. */
#define CPROF__MAX_TREE_DEPTH 2048

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
        if (node->site == CPROF_NONE) { /* a thread's root: its scopes */
            node->total_ns = children_ns;
            node->raw_total_ns = 0;
            for (uint32_t c = node->first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling)
                node->raw_total_ns += p->nodes[c].raw_total_ns;
        }
        node->self_ns = node->total_ns > children_ns ? node->total_ns - children_ns : 0;
    }
    p->run_ns = 0;
    for (size_t t = 0; t < p->thread_count; t++) {
        p->threads[t].total_ns = p->nodes[p->threads[t].root].total_ns;
        p->run_ns += p->threads[t].total_ns;
    }
}

/* Gives every node its function's index (CPROF_NONE for thread roots), creating the functions. */
static int cprof__assign_functions(cprof_profile *p) {
    cprof__name_map map;
    int failed = cprof__name_map_init(&map, p->site_count);
    for (size_t i = 0; i < p->node_count && !failed; i++) {
        cprof_node *node = &p->nodes[i];
        node->function = CPROF_NONE;
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
        node->function = map.values[slot];
    }
    cprof__name_map_free(&map);
    return failed ? -1 : 0;
}

/* Recursion counted once: a node is nested when an ancestor belongs to the same function (a recursive
   fib's inner calls are already inside the outermost one). One pass over the depth-first nodes, with the
   path from the root and how often each function is on it: linear however deep the tree. */
static int cprof__mark_nested(cprof_profile *p) {
    size_t path_bytes = (p->node_count + 1) * sizeof(uint32_t), on_bytes = (p->function_count + 1) * sizeof(uint32_t);
    uint32_t *path = (uint32_t *)cprof__alloc(path_bytes), *on_path = (uint32_t *)cprof__alloc(on_bytes), depth = 0;
    for (size_t i = 0; i < p->node_count && path && on_path; i++) {
        cprof_node *node = &p->nodes[i];
        while (depth && path[depth - 1] != node->parent) { /* leave the subtrees that ended */
            uint32_t f = p->nodes[path[--depth]].function;
            if (f != CPROF_NONE) on_path[f]--;
        }
        node->nested = node->function != CPROF_NONE && on_path[node->function] > 0;
        if (node->function != CPROF_NONE) on_path[node->function]++;
        path[depth++] = (uint32_t)i;
    }
    int failed = !path || !on_path;
    cprof__release(path, path_bytes);
    cprof__release(on_path, on_bytes);
    return failed ? -1 : 0;
}

static void cprof__accumulate_functions(cprof_profile *p) {
    for (size_t i = 0; i < p->node_count; i++) {
        const cprof_node *node = &p->nodes[i];
        if (node->function == CPROF_NONE) continue;
        cprof_function *fn = &p->functions[node->function];
        fn->calls += node->calls;
        fn->counted_calls += node->counted_calls;
        fn->sampled = node->sampled && !fn->calls;
        fn->self_ns += node->self_ns;
        /* own samples: a scope's are its own; a sampled frame's include its sampled callees', which go
           back out of it here (children follow their parent: a sum never goes below 0) */
        fn->samples += node->samples;
        const cprof_node *parent = node->parent != CPROF_NONE ? &p->nodes[node->parent] : NULL;
        if (node->sampled && parent && parent->sampled && parent->function != CPROF_NONE)
            p->functions[parent->function].samples -= node->samples;
        if (!node->nested) fn->total_ns += node->total_ns;
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

/* The functions sorted by self time, largest first, and each node's index following its function. */
static int cprof__sort_functions(cprof_profile *p) {
    typedef struct { cprof_function function; uint32_t before; } ranked;
    size_t bytes = (p->function_count ? p->function_count : 1) * (sizeof(ranked) + sizeof(uint32_t));
    ranked *order = (ranked *)cprof__alloc(bytes);
    if (!order) return -1;
    uint32_t *after = (uint32_t *)(void *)(order + (p->function_count ? p->function_count : 1));
    for (size_t f = 0; f < p->function_count; f++) order[f].function = p->functions[f], order[f].before = (uint32_t)f;
    if (p->function_count) qsort(order, p->function_count, sizeof *order, cprof__compare_functions);
    for (size_t f = 0; f < p->function_count; f++) p->functions[f] = order[f].function, after[order[f].before] = (uint32_t)f;
    for (size_t i = 0; i < p->node_count; i++)
        if (p->nodes[i].function != CPROF_NONE) p->nodes[i].function = after[p->nodes[i].function];
    cprof__release(order, bytes);
    return 0;
}

static int cprof__derive_functions(cprof_profile *p) {
    p->function_count = 0;
    if (cprof__assign_functions(p) || cprof__mark_nested(p)) return -1;
    cprof__accumulate_functions(p);
    return cprof__sort_functions(p);
}

/* Self = inclusive minus the children's inclusive, as for time; a thread's root holds its scopes'. */
static void cprof__derive_counter_self(cprof_profile *p) {
    size_t count = p->counter_count;
    for (size_t i = 0; i < p->node_count; i++) {
        cprof_counter_value *node = &p->node_counters[i * count];
        for (size_t k = 0; k < count; k++) {
            uint64_t children = 0;
            for (uint32_t c = p->nodes[i].first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling)
                children += p->node_counters[c * count + k].total;
            if (p->nodes[i].site == CPROF_NONE) node[k].total = children;
            node[k].self = node[k].total > children ? node[k].total - children : 0;
        }
    }
    for (size_t k = 0; k < count; k++) {
        p->counters[k].total = 0;
        for (size_t t = 0; t < p->thread_count; t++) p->counters[k].total += p->node_counters[p->threads[t].root * count + k].total;
    }
}

/* Per function, as for time: self summed over its nodes, total with recursion counted once. */
static int cprof__derive_counter_functions(cprof_profile *p) {
    size_t count = p->counter_count;
    if (cprof__grow_counter_values(&cprof__capacities(p)->function_counters, &p->function_counters,
                                   (p->function_count ? p->function_count : 1) * count))
        return -1;
    memset(p->function_counters, 0, p->function_count * count * sizeof *p->function_counters);
    for (size_t i = 0; i < p->node_count; i++) {
        const cprof_node *node = &p->nodes[i];
        if (node->function == CPROF_NONE) continue;
        for (size_t k = 0; k < count; k++) {
            cprof_counter_value *fn = &p->function_counters[node->function * count + k];
            fn->self += p->node_counters[i * count + k].self;
            if (!node->nested) fn->total += p->node_counters[i * count + k].total;
        }
    }
    return 0;
}

/* Called by cprof__profile_derive, after the functions exist. */
static int cprof__derive_counters(cprof_profile *p) {
    size_t count = p->counter_count;
    if (!count) return 0;
    if (cprof__grow_counter_values(&cprof__capacities(p)->node_counters, &p->node_counters,
                                   (p->node_count ? p->node_count : 1) * count))
        return -1;
    cprof__derive_counter_self(p);
    return cprof__derive_counter_functions(p);
}

cprof_counter_value cprof_node_counter(const cprof_profile *p, uint32_t node, uint32_t counter) {
    cprof_counter_value none = {0, 0};
    if (!p || counter >= p->counter_count || node >= p->node_count || !p->node_counters) return none;
    return p->node_counters[(size_t)node * p->counter_count + counter];
}

cprof_counter_value cprof_function_counter(const cprof_profile *p, uint32_t function, uint32_t counter) {
    cprof_counter_value none = {0, 0};
    if (!p || counter >= p->counter_count || function >= p->function_count || !p->function_counters) return none;
    return p->function_counters[(size_t)function * p->counter_count + counter];
}

uint32_t cprof_counter_find(const cprof_profile *p, const char *name) {
    for (size_t k = 0; p && name && k < p->counter_count; k++)
        if (strcmp(p->counters[k].name, name) == 0) return (uint32_t)k;
    return CPROF_NONE;
}

/* Inclusive figures: children follow their parent, so one backward pass adds each node to its parent. */
static void cprof__derive_allocs(cprof_profile *p) {
    for (size_t i = 0; i < p->node_count; i++) {
        p->nodes[i].alloc_count = p->nodes[i].alloc_self_count;
        p->nodes[i].alloc_bytes = p->nodes[i].alloc_self_bytes;
    }
    for (size_t i = p->node_count; i-- > 0;) {
        uint32_t parent = p->nodes[i].parent;
        if (parent == CPROF_NONE) continue;
        p->nodes[parent].alloc_count += p->nodes[i].alloc_count;
        p->nodes[parent].alloc_bytes += p->nodes[i].alloc_bytes;
    }
}

/* Frames: on the thread with the most marks in the timeline, frame N lasts from mark N to mark N + 1. */
static uint32_t cprof__frame_thread(const cprof_profile *p) {
    uint32_t best = CPROF_NONE;
    uint64_t best_marks = 0, marks = 0;
    for (size_t i = 0; i < p->event_count; i++) {
        if (i && p->events[i].thread != p->events[i - 1].thread) marks = 0;
        if (p->events[i].kind == CPROF_EVENT_FRAME && ++marks > best_marks) {
            best_marks = marks;
            best = p->events[i].thread;
        }
    }
    return best;
}

/* The slowest frames, slowest first (the lower number first among equals). */
static void cprof__frames_worst(cprof_frame_stats *f, uint64_t number, uint64_t ns) {
    int at = CPROF_WORST_FRAMES;
    while (at > 0 && (!f->worst[at - 1] || ns > f->worst_ns[at - 1])) at--;
    if (at == CPROF_WORST_FRAMES) return;
    memmove(&f->worst[at + 1], &f->worst[at], (size_t)(CPROF_WORST_FRAMES - 1 - at) * sizeof f->worst[0]);
    memmove(&f->worst_ns[at + 1], &f->worst_ns[at], (size_t)(CPROF_WORST_FRAMES - 1 - at) * sizeof f->worst_ns[0]);
    f->worst[at] = number;
    f->worst_ns[at] = ns;
}

static int cprof__derive_frames(cprof_profile *p) {
    cprof_frame_stats *f = &p->frames;
    uint64_t marks = f->marks;
    memset(f, 0, sizeof *f);
    f->marks = marks;
    f->thread = cprof__frame_thread(p);
    if (f->thread == CPROF_NONE) return 0;
    double *durations = (double *)cprof__alloc(p->event_count * sizeof *durations);
    if (!durations) return -1;
    const cprof_event *previous = NULL;
    for (size_t i = 0; i < p->event_count; i++) {
        const cprof_event *e = &p->events[i];
        if (e->thread != f->thread || e->kind != CPROF_EVENT_FRAME) continue;
        if (previous) {
            uint64_t ns = e->time_ns - previous->time_ns;
            durations[f->count++] = (double)ns;
            if (ns > f->max_ns) f->max_ns = ns;
            cprof__frames_worst(f, previous->ref, ns);
        }
        previous = e;
    }
    if (f->count) {
        qsort(durations, (size_t)f->count, sizeof *durations, cprof__compare_doubles);
        f->median_ns = cprof__u64_rounded(cprof__quantile(durations, (size_t)f->count, 0.5));
        f->p90_ns = cprof__u64_rounded(cprof__quantile(durations, (size_t)f->count, 0.9));
        f->p99_ns = cprof__u64_rounded(cprof__quantile(durations, (size_t)f->count, 0.99));
    }
    cprof__release(durations, p->event_count * sizeof *durations);
    return 0;
}

static int cprof__profile_derive(cprof_profile *p) {
    cprof__derive_self_times(p);
    cprof__derive_allocs(p);
    if (cprof__derive_functions(p) || cprof__derive_frames(p)) return -1;
    return cprof__derive_counters(p);
}

/* ==================================================================================================
   >>capture: every thread's live tree -> one immutable cprof_profile, with the counters' values, the
   allocation tracker's sites and totals, the benchmarks run, the messages and the budgets
   ================================================================================================== */
/* The capture's map from a live site record to its index in the profile (open addressing). */
typedef struct cprof__site_map {
    const cprof_site **keys;
    uint32_t *values;
    size_t capacity, count;
} cprof__site_map;

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
    info->automatic = site->kind == CPROF__KIND_AUTO;
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

/* --- >>sample's side of the capture: each thread's counted stacks named with the ELF reader and
   grown into trees of sampled frames under the scope node that was open (cprof__capture_children
   emits them after the node's scope children, so that the order stays depth-first). --- */
enum { CPROF__KIND_SAMPLED = 4 };

/* address -> site, for the process's life (under cprof__capture_lock): the frames' names, read once. */
typedef struct cprof__address_map {
    uintptr_t *keys; /* 0: a free slot */
    uintptr_t *values; /* a site's address, or an index + 1 */
    size_t capacity, count;
    uintptr_t value_of_zero; /* key 0 lives here, since 0 marks a free slot */
} cprof__address_map;

static cprof__address_map cprof__sample_pc_sites;     /* a sampled address -> its function's site */
static cprof__address_map cprof__sample_symbol_sites; /* a symbol's name in its module -> its site */

static uintptr_t *cprof__address_map_slot(cprof__address_map *map, uintptr_t key) {
    if (key == 0) return &map->value_of_zero;
    if ((map->count + 1) * 2 > map->capacity) {
        cprof__address_map bigger = {NULL, NULL, map->capacity ? map->capacity * 2 : 256, map->count, map->value_of_zero};
        bigger.keys = (uintptr_t *)cprof__alloc(bigger.capacity * sizeof *bigger.keys);
        bigger.values = (uintptr_t *)cprof__alloc(bigger.capacity * sizeof *bigger.values);
        if (!bigger.keys || !bigger.values) {
            cprof__release(bigger.keys, bigger.capacity * sizeof *bigger.keys);
            cprof__release(bigger.values, bigger.capacity * sizeof *bigger.values);
            return NULL;
        }
        for (size_t i = 0; i < map->capacity; i++) {
            if (!map->keys[i]) continue;
            size_t slot = cprof__pointer_hash((const void *)map->keys[i]) & (bigger.capacity - 1);
            while (bigger.keys[slot]) slot = (slot + 1) & (bigger.capacity - 1);
            bigger.keys[slot] = map->keys[i];
            bigger.values[slot] = map->values[i];
        }
        cprof__release(map->keys, map->capacity * sizeof *map->keys);
        cprof__release(map->values, map->capacity * sizeof *map->values);
        *map = bigger;
    }
    size_t slot = cprof__pointer_hash((const void *)key) & (map->capacity - 1);
    while (map->keys[slot] && map->keys[slot] != key) slot = (slot + 1) & (map->capacity - 1);
    if (!map->keys[slot]) map->keys[slot] = key, map->count++;
    return &map->values[slot];
}

/* A site for a sampled function, kept until exit: its symbol (demangled), else module+0xoffset, else
   the bare address; file: the module's file name. NULL when out of memory. */
static const cprof_site *cprof__sample_site_new(const char *name, const char *module_file) {
    size_t name_bytes = strlen(name) + 1, file_bytes = strlen(module_file) + 1;
    cprof_site *site = (cprof_site *)cprof__alloc(sizeof *site + name_bytes + file_bytes);
    if (!site) return NULL;
    char *text = (char *)(site + 1);
    memcpy(text, name, name_bytes);
    memcpy(text + name_bytes, module_file, file_bytes);
    site->name = site->function = text;
    site->file = text + name_bytes;
    site->line = 0;
    site->kind = CPROF__KIND_SAMPLED;
    return site;
}

/* The site of the function holding `pc` (a return address is looked up one byte back, in its call). */
static const cprof_site *cprof__sample_site(uintptr_t pc, int is_return_address) {
    uintptr_t address = is_return_address ? pc - 1 : pc;
    uintptr_t *known = cprof__address_map_slot(&cprof__sample_pc_sites, address);
    if (!known || *known) return known ? (const cprof_site *)*known : NULL;
    char fallback[64];
    const char *name = NULL, *module_file = "";
    uintptr_t symbol_key = address;
#if defined(CPROF__ELF)
    cprof__mutex_lock(&cprof__auto_lock);
    const cprof__auto_module *m = cprof__auto_module_of((const void *)address);
    name = m ? cprof__auto_symbol_at(m, address) : NULL;
    cprof__mutex_unlock(&cprof__auto_lock);
    if (m) module_file = m->file_name;
    if (name) symbol_key = (uintptr_t)name; /* one site per symbol, whatever address inside it */
    else if (m) cprof__snprintf(fallback, sizeof fallback, "%s+0x%llx", m->file_name,
                                (unsigned long long)(address - m->bias)), name = fallback;
#endif
    if (!name) cprof__snprintf(fallback, sizeof fallback, "0x%llx", (unsigned long long)address), name = fallback;
    uintptr_t *by_symbol = cprof__address_map_slot(&cprof__sample_symbol_sites, symbol_key);
    if (!by_symbol) return NULL;
    if (!*by_symbol) {
        char *demangled = NULL;
        int status = -1;
#if defined(CPROF__ELF)
        if (strncmp(name, "_Z", 2) == 0 && cprof__cxa_demangle) demangled = cprof__cxa_demangle(name, NULL, NULL, &status);
#endif
        *by_symbol = (uintptr_t)cprof__sample_site_new(status == 0 && demangled ? demangled : name, module_file);
        (free)(demangled);
    }
    /* the pc map may have grown meanwhile: look the slot up again */
    known = cprof__address_map_slot(&cprof__sample_pc_sites, address);
    if (known) *known = *by_symbol;
    return (const cprof_site *)*by_symbol;
}

/* A frame of the sampled trees of one thread: roots hang under a scope node (or the thread's root). */
typedef struct cprof__sample_frame {
    const cprof__rnode *scope; /* the scope node this frame's tree hangs under */
    const cprof_site *site;
    uint32_t first_child, next_sibling;
    uint64_t samples;          /* taken in this frame or in a frame it called */
} cprof__sample_frame;

typedef struct cprof__sample_forest {
    cprof__sample_frame *frames;
    size_t count, capacity;
    cprof__address_map roots; /* scope node -> its index in first_root + 1 */
    uint32_t *first_root;     /* per scope node with samples: its first root frame */
    uint64_t *own_samples;    /* per scope node: samples in the scope's own function (its self time) */
    size_t first_root_capacity, own_capacity, scopes;
    double period_ns;
} cprof__sample_forest;

/* The scope node's entry in first_root and own_samples, made when new; CPROF_NONE when out of memory. */
static uint32_t cprof__sample_scope(cprof__sample_forest *f, const cprof__rnode *scope) {
    uintptr_t *slot = cprof__address_map_slot(&f->roots, (uintptr_t)scope);
    if (!slot) return CPROF_NONE;
    if (!*slot) { /* the map stores an index + 1, so that 0 stays "none" */
        if (cprof__grow(&f->first_root, &f->first_root_capacity, f->scopes + 1, sizeof *f->first_root) ||
            cprof__grow(&f->own_samples, &f->own_capacity, f->scopes + 1, sizeof *f->own_samples))
            return CPROF_NONE;
        f->first_root[f->scopes] = CPROF_NONE;
        f->own_samples[f->scopes] = 0;
        *slot = ++f->scopes;
    }
    return (uint32_t)(*slot - 1);
}

/* The frame under `parent` (CPROF_NONE: a root under `scope`) for `site`, made when new. */
static uint32_t cprof__sample_child(cprof__sample_forest *f, const cprof__rnode *scope, uint32_t parent,
                                    const cprof_site *site) {
    uint32_t *link;
    if (parent == CPROF_NONE) {
        uint32_t entry = cprof__sample_scope(f, scope);
        if (entry == CPROF_NONE) return CPROF_NONE;
        link = &f->first_root[entry];
    } else {
        link = &f->frames[parent].first_child;
    }
    while (*link != CPROF_NONE && f->frames[*link].site != site) link = &f->frames[*link].next_sibling;
    if (*link != CPROF_NONE) return *link;
    int in_frames = f->frames && (uintptr_t)link >= (uintptr_t)f->frames &&
                    (uintptr_t)link < (uintptr_t)f->frames + f->count * sizeof *f->frames;
    size_t offset = in_frames ? (size_t)((uintptr_t)link - (uintptr_t)f->frames) : 0;
    if (cprof__grow(&f->frames, &f->capacity, f->count + 1, sizeof *f->frames)) return CPROF_NONE;
    if (in_frames) link = (uint32_t *)((char *)f->frames + offset); /* the array may have moved */
    cprof__sample_frame *frame = &f->frames[f->count];
    frame->scope = scope;
    frame->site = site;
    frame->first_child = frame->next_sibling = CPROF_NONE;
    frame->samples = 0;
    return *link = (uint32_t)f->count++;
}

/* A function of cprof itself: the hooks of -finstrument-functions and everything named cprof_. A sample
   interrupted there measured the profiler, not the program. */
static int cprof__is_profiler_function(const char *name) {
    return strncmp(name, "cprof_", 6) == 0 || strncmp(name, "__cyg_profile_func_", 19) == 0;
}

/* The frames of one counted stack that belong under its scope: those called from the scope's function
   (its innermost frame of that name), or the whole stack under a thread's root. When the function is
   not on the stack (inlined, or a stack cut short) only the interrupted function is kept; when it is the
   interrupted function, the sample is the scope's own (its node's `samples`). Returns 1, adding
   nothing, when the sample was taken in cprof's own code. */
static int cprof__sample_add(cprof__sample_forest *f, const cprof__rnode *scope, const uintptr_t *pcs,
                              uint32_t n, uint64_t count) {
    const cprof_site *sites[CPROF__SAMPLE_FRAMES];
    uint32_t top = n; /* frames [0, top) go under the scope, the outermost first */
    for (uint32_t i = 0; i < n; i++) {
        sites[i] = cprof__sample_site(pcs[i], i > 0);
        if (!sites[i]) return 0;
    }
    if (n && cprof__is_profiler_function(sites[0]->function)) return 1;
    if (scope->site) {
        const char *function = scope->site->function;
        for (top = 0; top < n && strcmp(sites[top]->function, function) != 0; top++) {}
        if (top == n) top = 1;
    }
    if (top == 0) {
        uint32_t entry = cprof__sample_scope(f, scope);
        if (entry != CPROF_NONE) f->own_samples[entry] += count;
        return 0;
    }
    uint32_t parent = CPROF_NONE;
    while (top-- > 0) {
        parent = cprof__sample_child(f, scope, parent, sites[top]);
        if (parent == CPROF_NONE) return 0;
        f->frames[parent].samples += count;
    }
    return 0;
}

/* The thread's samples as trees of frames, before its nodes are captured. */
static void cprof__sample_forest_build(cprof__sample_forest *f, cprof__recorder *r, cprof_profile *p) {
    cprof__sample_thread *s = CPROF__LOAD_ACQUIRE(r->samples);
    if (!s) return;
    for (uint32_t i = 0; i < CPROF__SAMPLE_SLOTS; i++) {
        const cprof__sample_slot *e = &s->slots[i];
        uint64_t count = CPROF__LOAD_ACQUIRE(e->count);
        if (count <= CPROF__LOAD(e->reset_base)) continue;
        count -= CPROF__LOAD(e->reset_base);
        if (cprof__sample_add(f, e->node, e->pcs, e->frames, count)) p->samples_profiler += count;
        else p->samples += count;
    }
    p->samples_dropped += CPROF__LOAD(s->dropped_full) - CPROF__LOAD(s->dropped_full_base);
}

static void cprof__sample_forest_free(cprof__sample_forest *f) {
    cprof__release(f->frames, f->capacity * sizeof *f->frames);
    cprof__release(f->roots.keys, f->roots.capacity * sizeof *f->roots.keys);
    cprof__release(f->roots.values, f->roots.capacity * sizeof *f->roots.values);
    cprof__release(f->first_root, f->first_root_capacity * sizeof *f->first_root);
    cprof__release(f->own_samples, f->own_capacity * sizeof *f->own_samples);
    memset(f, 0, sizeof *f);
}

typedef struct cprof__capture_state {
    cprof_profile *profile;
    cprof__site_map sites;
    double hz;
    uint32_t thread;
    int failed;
    const char *thread_name; /* the profile's copy of the current thread's name */
    cprof__sample_forest *samples; /* the current thread's sampled frames; NULL when none */
    double sample_period_ns;       /* of the sampling rate; 0 when not sampling */
} cprof__capture_state;

static int cprof__compare_sample_frames(const void *a, const void *b) {
    const cprof__sample_frame *x = *(const cprof__sample_frame *const *)a, *y = *(const cprof__sample_frame *const *)b;
    int order = strcmp(x->site->name, y->site->name);
    return order ? order : strcmp(x->site->file, y->site->file);
}

/* The sampled frames from `first` on (a sibling list) as nodes under `index`, sorted by name, each
   followed by its own; `*previous` is the last child linked so far. Time: samples x the period. */
static void cprof__capture_sampled(cprof__capture_state *c, uint32_t first, uint32_t index, uint32_t depth,
                                   uint32_t *previous) {
    cprof__sample_forest *f = c->samples;
    size_t count = 0, capacity = 0;
    const cprof__sample_frame **frames = NULL;
    for (uint32_t i = first; i != CPROF_NONE; i = f->frames[i].next_sibling) {
        if (cprof__grow((void *)&frames, &capacity, count + 1, sizeof *frames)) { c->failed = 1; break; }
        frames[count++] = &f->frames[i];
    }
    if (count) qsort((void *)frames, count, sizeof *frames, cprof__compare_sample_frames);
    for (size_t i = 0; i < count && !c->failed; i++) {
        uint32_t site = cprof__site_index(c->profile, &c->sites, frames[i]->site);
        cprof_node *node = site == CPROF_NONE ? NULL : cprof__add_node(c->profile);
        if (!node || depth > CPROF__MAX_TREE_DEPTH) { c->failed = !node; break; }
        uint32_t node_index = (uint32_t)(c->profile->node_count - 1);
        node->site = site;
        node->parent = index;
        node->thread = c->thread;
        node->depth = depth;
        node->sampled = 1;
        node->samples = frames[i]->samples;
        node->total_ns = cprof__u64_rounded((double)frames[i]->samples * f->period_ns);
        if (*previous == CPROF_NONE) c->profile->nodes[index].first_child = node_index;
        else c->profile->nodes[*previous].next_sibling = node_index;
        *previous = node_index;
        uint32_t last = CPROF_NONE;
        cprof__capture_sampled(c, frames[i]->first_child, node_index, depth + 1, &last);
    }
    cprof__release((void *)frames, capacity * sizeof *frames);
}

/* The sampled frames that hang under the live node `live` (captured as `index`). */
static void cprof__capture_sampled_under(cprof__capture_state *c, const cprof__rnode *live, uint32_t index,
                                         uint32_t depth, uint32_t *previous) {
    cprof__sample_forest *f = c->samples;
    if (!f || !f->scopes) return;
    uintptr_t *slot = cprof__address_map_slot(&f->roots, (uintptr_t)live);
    if (!slot || !*slot) return;
    c->profile->nodes[index].samples = f->own_samples[*slot - 1];
    cprof__capture_sampled(c, f->first_root[*slot - 1], index, depth, previous);
}

static uint64_t cprof__counter_time[2]; /* capture scratch (under the lock): enabled, running of outermost scopes */

/* Before the threads: one cprof_counter_info per requested event, available or with its reason. */
static void cprof__counters_capture_begin(cprof_profile *p) {
    const struct cprof__counter_selection *s = &cprof__selection;
    cprof__counter_time[0] = cprof__counter_time[1] = 0;
    if (!s->count || cprof__grow(&p->counters, &cprof__capacities(p)->counters, s->count, sizeof *p->counters)) return;
    p->counter_count = s->count;
    p->counter_reader = "read";
    for (cprof__recorder *r = cprof__g.recorders; r; r = CPROF__LOAD_ACQUIRE(r->next)) {
        cprof__counter_group *g = CPROF__LOAD_ACQUIRE(r->counters);
        if (g && g != &cprof__counters_pending && g->use_rdpmc) p->counter_reader = "rdpmc";
    }
    for (uint32_t k = 0; k < s->count; k++) {
        cprof_counter_info *info = &p->counters[k];
        char reason[400] = "";
        if (s->error[k]) {
            int in_kernel = s->event[k] != CPROF_NONE && cprof__events[s->event[k]].in_kernel;
            cprof__counter_reason(reason, sizeof reason, s->error[k], in_kernel);
        }
        info->name = cprof__string(p, s->name[k]);
        info->available = s->error[k] == 0;
        info->reason = cprof__string(p, reason);
        info->running_ratio = info->available ? 1.0 : 0.0;
    }
}

/* Adds one node's (or open frame's) raw differences, scaled by time enabled / time running when the
   kernel multiplexed the group. The ratio of the outermost scopes is the profile's. */
static void cprof__counters_add_scaled(cprof_profile *p, uint32_t index, const uint64_t *raw, uint32_t depth) {
    size_t count = p->counter_count;
    uint64_t enabled = raw[count], running = raw[count + 1];
    double scale = running && running < enabled ? (double)enabled / (double)running : 1.0;
    for (size_t k = 0; k < count; k++)
        p->node_counters[index * count + k].total += scale == 1.0 ? raw[k] : (uint64_t)((double)raw[k] * scale + 0.5);
    if (depth != 1) return;
    cprof__counter_time[0] += enabled;
    cprof__counter_time[1] += running;
    double ratio = cprof__counter_time[0] ? (double)cprof__counter_time[1] / (double)cprof__counter_time[0] : 1.0;
    for (size_t k = 0; k < count; k++)
        if (p->counters[k].available) p->counters[k].running_ratio = ratio > 1.0 ? 1.0 : ratio;
}

/* One live node, right after its time was copied: its counter values (zero when it has none). */
static void cprof__counters_capture_node(cprof_profile *p, uint32_t index, const cprof__rnode *live, uint32_t depth) {
    size_t count = p->counter_count;
    if (!count) return;
    if (cprof__grow_counter_values(&cprof__capacities(p)->node_counters, &p->node_counters, (index + 1) * count)) {
        p->counter_count = 0; /* out of memory: the profile goes without counters rather than with wrong ones */
        return;
    }
    memset(&p->node_counters[index * count], 0, count * sizeof *p->node_counters);
    const uint64_t *values = CPROF__LOAD_ACQUIRE(live->counter_values);
    if (!values) return;
    uint64_t raw[CPROF__MAX_COUNTERS + 2];
    for (size_t s = 0; s < count + 2; s++) raw[s] = CPROF__LOAD(values[s]);
    cprof__counters_add_scaled(p, index, raw, depth);
}

/* Scopes still open at capture: their counts so far, read with read() (the group may belong to
   another thread; rdpmc reads only the calling thread's counters). */
static void cprof__counters_capture_open(cprof_profile *p, cprof__recorder *r, uint32_t first_node) {
    cprof__counter_group *g = CPROF__LOAD_ACQUIRE(r->counters);
    size_t count = p->counter_count, slots = count + 2;
    uint64_t now[CPROF__MAX_COUNTERS + 2], raw[CPROF__MAX_COUNTERS + 2];
    if (!count || !g || g == &cprof__counters_pending || cprof__counters_read(g, now, 0)) return;
    uint32_t depth = CPROF__LOAD_ACQUIRE(r->depth);
    for (uint32_t level = 1; level <= depth && level <= CPROF__MAX_DEPTH; level++) {
        cprof__rnode *live = CPROF__LOAD(r->stack[level].node);
        uint32_t index = live ? live->capture_index : CPROF_NONE;
        if (!CPROF__LOAD_ACQUIRE(g->started[level]) || index == CPROF_NONE || index < first_node || index >= p->node_count)
            continue;
        int valid = 1;
        for (size_t s = 0; s < slots; s++) {
            uint64_t start = CPROF__LOAD(g->start[level * slots + s]);
            valid &= start <= now[s]; /* else the frame was replaced after `now` was read */
            raw[s] = now[s] - start;
        }
        if (valid) cprof__counters_add_scaled(p, index, raw, level);
    }
}

/* A new entry of alloc_sites (problem 0) or free_problems (problem 1); NULL when out of memory. */
static cprof_alloc_site *cprof__alloc_site_new(cprof_profile *p, int problem) {
    cprof_alloc_site **array = problem ? &p->free_problems : &p->alloc_sites;
    size_t *count = problem ? &p->free_problem_count : &p->alloc_site_count;
    size_t *capacity = problem ? &cprof__capacities(p)->free_problems : &cprof__capacities(p)->alloc_sites;
    if (cprof__grow(array, capacity, *count + 1, sizeof **array)) return NULL;
    cprof_alloc_site *site = &(*array)[(*count)++];
    memset(site, 0, sizeof *site);
    site->node = site->origin = CPROF_NONE;
    site->file = site->function = "";
    return site;
}

static uint32_t cprof__captured_node(const cprof_profile *p, const cprof__rnode *node, uint32_t fallback) {
    uint32_t index = node ? node->capture_index : CPROF_NONE;
    return index < p->node_count ? index : fallback;
}

/* Allocated - freed, read while other threads may still count: never below 0. */
static uint64_t cprof__difference(uint64_t total, uint64_t part) { return total > part ? total - part : 0; }

/* One thread's sites of one kind (allocations, or problems) into the profile. */
static int cprof__alloc_capture_sites(cprof_profile *p, cprof__alloc_thread *t, uint32_t root, int problems) {
    for (cprof__asite *s = CPROF__LOAD_ACQUIRE(t->sites); s; s = s->next) {
        if ((s->kind != CPROF_ALLOC_SITE) != problems) continue;
        cprof_alloc_site *out = cprof__alloc_site_new(p, problems);
        if (!out) return -1;
        out->file = cprof__string(p, s->file);
        out->function = cprof__string(p, s->function);
        out->line = (uint32_t)(s->line > 0 ? s->line : 0);
        out->kind = s->kind;
        out->node = cprof__captured_node(p, s->node, root);
        out->count = CPROF__LOAD(s->count);
        out->bytes = CPROF__LOAD(s->bytes);
        out->live_count = cprof__difference(out->count, CPROF__LOAD(s->freed_count) + CPROF__LOAD(s->remote_count));
        out->live_bytes = cprof__difference(out->bytes, CPROF__LOAD(s->freed_bytes) + CPROF__LOAD(s->remote_bytes));
        out->peak_live_bytes = CPROF__LOAD(s->peak_live_bytes);
        out->temporary = CPROF__LOAD(s->temporary);
        out->max_bytes = CPROF__LOAD(s->max_bytes);
        out->slack_bytes = CPROF__LOAD(s->slack_bytes);
        int noted = CPROF__LOAD(s->peak_seen) == CPROF__LOAD(cprof__a.peak_version); /* see cprof__asite_peak_note */
        out->at_peak_count = noted ? CPROF__LOAD(s->at_peak_count) : out->live_count;
        out->at_peak_bytes = noted ? CPROF__LOAD(s->at_peak_bytes) : out->live_bytes;
        if (problems) out->origin = s->origin ? s->origin->capture_index : CPROF_NONE;
        else out->origin = s->capture_index = (uint32_t)(p->alloc_site_count - 1); /* origin: scratch for the sort */
    }
    return 0;
}

/* --- sites merged across threads: one row per file:line, function and call path, summed over the
   threads (the same place used from 4 threads is one row, not 4); each thread's share is kept in
   alloc_site_threads. --- */

/* An open-addressing table of indices with a caller's hash and equality (at most half full). */
typedef struct cprof__index_table {
    uint32_t *slots; /* index + 1; 0 = empty */
    size_t capacity;
} cprof__index_table;

static int cprof__index_table_init(cprof__index_table *t, size_t count) {
    t->capacity = 16;
    while (t->capacity < 2 * count) t->capacity *= 2;
    t->slots = (uint32_t *)cprof__alloc(t->capacity * sizeof *t->slots);
    return t->slots ? 0 : -1;
}

/* The call path of each node: the first node (of any thread) with the same scope sites from its root
   down; every thread's root is the empty path. */
static uint32_t *cprof__node_paths(const cprof_profile *p) {
    uint32_t *path = (uint32_t *)cprof__alloc((p->node_count + 1) * sizeof *path);
    cprof__index_table table;
    if (!path || cprof__index_table_init(&table, p->node_count)) {
        cprof__release(path, (p->node_count + 1) * sizeof *path);
        return NULL;
    }
    uint32_t first_root = CPROF_NONE;
    for (uint32_t depth = 0, more = 1; more; depth++) { /* parents before their children */
        more = 0;
        for (uint32_t n = 0; n < p->node_count; n++) {
            const cprof_node *node = &p->nodes[n];
            if (node->depth != depth) { more |= node->depth > depth; continue; }
            if (node->parent >= p->node_count) { path[n] = first_root == CPROF_NONE ? (first_root = n) : first_root; continue; }
            uint32_t parent = path[node->parent];
            size_t mask = table.capacity - 1, slot = cprof__pointer_hash((const void *)(((uintptr_t)parent << 20) ^ node->site)) & mask;
            for (; table.slots[slot]; slot = (slot + 1) & mask) {
                const cprof_node *other = &p->nodes[table.slots[slot] - 1];
                if (other->site == node->site && path[other->parent] == parent) break;
            }
            if (!table.slots[slot]) table.slots[slot] = n + 1;
            path[n] = table.slots[slot] - 1;
        }
    }
    cprof__release(table.slots, table.capacity * sizeof *table.slots);
    return path;
}

static size_t cprof__alloc_site_key(const cprof_alloc_site *s, const uint32_t *path, size_t nodes) {
    uint32_t node = s->node < nodes ? path[s->node] : CPROF_NONE;
    return cprof__string_hash(s->file) ^ (cprof__string_hash(s->function) * 31u) ^ ((size_t)s->line << 7) ^
           ((size_t)node * 0x9E3779B1u) ^ s->kind;
}

static int cprof__alloc_same_row(const cprof_alloc_site *x, const cprof_alloc_site *y, const uint32_t *path, size_t nodes) {
    uint32_t px = x->node < nodes ? path[x->node] : CPROF_NONE, py = y->node < nodes ? path[y->node] : CPROF_NONE;
    return x->line == y->line && x->kind == y->kind && px == py && !strcmp(x->file, y->file) && !strcmp(x->function, y->function);
}

/* Row `from` added into row `into` (the peak: the sum of the threads' peaks, an upper bound). */
static void cprof__alloc_site_add(cprof_alloc_site *into, const cprof_alloc_site *from) {
    into->count += from->count, into->bytes += from->bytes;
    into->live_count += from->live_count, into->live_bytes += from->live_bytes;
    into->peak_live_bytes += from->peak_live_bytes;
    into->temporary += from->temporary;
    if (from->max_bytes > into->max_bytes) into->max_bytes = from->max_bytes;
    into->at_peak_count += from->at_peak_count, into->at_peak_bytes += from->at_peak_bytes;
    into->slack_bytes += from->slack_bytes;
}

/* One thread's share of merged row `row`, kept in alloc_site_threads. */
static int cprof__alloc_site_thread_add(cprof_profile *p, uint32_t row, const cprof_alloc_site *s) {
    if (cprof__grow(&p->alloc_site_threads, &cprof__capacities(p)->alloc_site_threads, p->alloc_site_thread_count + 1,
                    sizeof *p->alloc_site_threads))
        return -1;
    cprof_alloc_site_thread *t = &p->alloc_site_threads[p->alloc_site_thread_count++];
    memset(t, 0, sizeof *t);
    t->site = row;
    t->node = s->node;
    t->thread = s->node < p->node_count ? p->nodes[s->node].thread : CPROF_NONE;
    t->count = s->count, t->bytes = s->bytes, t->live_count = s->live_count, t->live_bytes = s->live_bytes;
    t->peak_live_bytes = s->peak_live_bytes;
    return 0;
}

/* The rows of one place and call path from several threads become one (the first thread's, its node
   kept), each thread's share noted. On entry a row's `origin` is its index, and each thread site's
   capture_index its row; on return both are the merged row's index. */
static int cprof__alloc_merge_sites(cprof_profile *p) {
    size_t count = p->alloc_site_count, bytes = (count ? count : 1) * sizeof(uint32_t);
    uint32_t *path = cprof__node_paths(p), *row_of = (uint32_t *)cprof__alloc(bytes), *merged = (uint32_t *)cprof__alloc(bytes);
    cprof__index_table table;
    table.slots = NULL, table.capacity = 0;
    int failed = !path || !row_of || !merged || cprof__index_table_init(&table, count);
    for (size_t i = 0; i < count && !failed; i++) { /* each row's first row of the same place and path */
        const cprof_alloc_site *s = &p->alloc_sites[i];
        size_t mask = table.capacity - 1, slot = cprof__alloc_site_key(s, path, p->node_count) & mask;
        while (table.slots[slot] && !cprof__alloc_same_row(&p->alloc_sites[table.slots[slot] - 1], s, path, p->node_count))
            slot = (slot + 1) & mask;
        if (!table.slots[slot]) table.slots[slot] = (uint32_t)i + 1;
        row_of[i] = table.slots[slot] - 1;
        if (row_of[i] != i) merged[row_of[i]] = 1; /* first used here as "has others" */
    }
    for (size_t i = 0; i < count && !failed; i++) /* the threads' shares, before the rows are summed */
        if (merged[row_of[i]]) failed = cprof__alloc_site_thread_add(p, row_of[i], &p->alloc_sites[i]);
    for (size_t i = 0; i < count && !failed; i++)
        if (row_of[i] != i) cprof__alloc_site_add(&p->alloc_sites[row_of[i]], &p->alloc_sites[i]);
    size_t kept = 0;
    for (size_t i = 0; i < count && !failed; i++) {
        if (row_of[i] != i) continue;
        merged[i] = (uint32_t)kept;
        p->alloc_sites[kept] = p->alloc_sites[i];
        p->alloc_sites[kept].origin = (uint32_t)kept;
        kept++;
    }
    if (!failed) {
        p->alloc_site_count = kept;
        for (size_t k = 0; k < p->alloc_site_thread_count; k++) p->alloc_site_threads[k].site = merged[p->alloc_site_threads[k].site];
        CPROF__EACH_ALLOC_THREAD(r, t)
            for (cprof__asite *s = CPROF__LOAD_ACQUIRE(t->sites); s; s = s->next)
                if (s->kind == CPROF_ALLOC_SITE && s->capture_index < count) s->capture_index = merged[row_of[s->capture_index]];
    }
    cprof__release(path, (p->node_count + 1) * sizeof *path);
    cprof__release(row_of, bytes);
    cprof__release(merged, bytes);
    cprof__release(table.slots, table.capacity * sizeof *table.slots);
    return failed ? -1 : 0;
}

static int cprof__compare_alloc_sites(const void *a, const void *b) {
    const cprof_alloc_site *x = (const cprof_alloc_site *)a, *y = (const cprof_alloc_site *)b;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    int order = strcmp(x->file, y->file);
    if (!order) order = (x->line > y->line) - (x->line < y->line);
    return order ? order : (x->node > y->node) - (x->node < y->node);
}

static int cprof__compare_site_threads(const void *a, const void *b) {
    const cprof_alloc_site_thread *x = (const cprof_alloc_site_thread *)a, *y = (const cprof_alloc_site_thread *)b;
    if (x->site != y->site) return x->site < y->site ? -1 : 1;
    return (x->thread > y->thread) - (x->thread < y->thread);
}

/* Merges the threads' rows, then sorts the sites by bytes; each live site learns its new index (for
   double frees' origin and the leak check). */
static int cprof__alloc_sort_sites(cprof_profile *p) {
    if (cprof__alloc_merge_sites(p)) return -1;
    size_t count = p->alloc_site_count, bytes = (count ? count : 1) * sizeof(uint32_t);
    uint32_t *position = (uint32_t *)cprof__alloc(bytes);
    if (!position) return -1;
    if (count) qsort(p->alloc_sites, count, sizeof *p->alloc_sites, cprof__compare_alloc_sites);
    for (size_t i = 0; i < count; i++) {
        position[p->alloc_sites[i].origin] = (uint32_t)i;
        p->alloc_sites[i].origin = CPROF_NONE;
    }
    for (cprof__recorder *r = cprof__g.recorders; r; r = CPROF__LOAD_ACQUIRE(r->next)) {
        cprof__alloc_thread *t = CPROF__LOAD_ACQUIRE(r->allocs);
        for (cprof__asite *s = t ? CPROF__LOAD_ACQUIRE(t->sites) : NULL; s; s = s->next)
            if (s->kind == CPROF_ALLOC_SITE && s->capture_index < count) s->capture_index = position[s->capture_index];
    }
    for (size_t k = 0; k < p->alloc_site_thread_count; k++) p->alloc_site_threads[k].site = position[p->alloc_site_threads[k].site];
    if (p->alloc_site_thread_count)
        qsort(p->alloc_site_threads, p->alloc_site_thread_count, sizeof *p->alloc_site_threads, cprof__compare_site_threads);
    cprof__release(position, bytes);
    return 0;
}

/* What the leak check did not find lost is still reachable (also after loading a profile). */
static void cprof__alloc_reachable(cprof_alloc_totals *a) {
    if (!a->leak_checked) return;
    a->reachable_blocks = cprof__difference(a->live_blocks, a->lost_blocks + a->indirect_blocks + a->possible_blocks);
    a->reachable_bytes = cprof__difference(a->live_bytes, a->lost_bytes + a->indirect_bytes + a->possible_bytes);
}

static void cprof__alloc_capture_totals(cprof_profile *p) {
    cprof_alloc_totals *a = &p->allocs;
    for (cprof__recorder *r = cprof__g.recorders; r; r = CPROF__LOAD_ACQUIRE(r->next)) {
        cprof__alloc_thread *t = CPROF__LOAD_ACQUIRE(r->allocs);
        if (!t) continue;
        a->frees += CPROF__LOAD(t->frees);
        a->bytes_freed += CPROF__LOAD(t->freed_bytes);
        for (int k = 0; k < CPROF_ALLOC_HISTOGRAM; k++) a->size_histogram[k] += CPROF__LOAD(t->histogram[k]);
    }
    for (size_t i = 0; i < p->alloc_site_count; i++) {
        const cprof_alloc_site *s = &p->alloc_sites[i];
        a->allocations += s->count;
        a->bytes_allocated += s->bytes;
        a->live_blocks += s->live_count;
        a->live_bytes += s->live_bytes;
        a->temporary += s->temporary;
        a->slack_bytes += s->slack_bytes;
        a->lost_blocks += s->lost_count, a->lost_bytes += s->lost_bytes;
        a->indirect_blocks += s->indirect_count, a->indirect_bytes += s->indirect_bytes;
        a->possible_blocks += s->possible_count, a->possible_bytes += s->possible_bytes;
    }
    cprof__alloc_reachable(a);
    for (size_t i = 0; i < p->free_problem_count; i++) {
        uint32_t kind = p->free_problems[i].kind;
        if (kind == CPROF_FREE_DOUBLE) a->double_frees += p->free_problems[i].count;
        else if (kind == CPROF_FREE_POSSIBLE_DOUBLE) a->possible_double_frees += p->free_problems[i].count;
        else a->unknown_frees += p->free_problems[i].count;
    }
    cprof__mutex_lock(&cprof__peak_lock);
    if (cprof__a.peak_live_bytes < a->live_bytes) { /* threads' changes below CPROF__LIVE_STEP were not in it */
        CPROF__STORE(cprof__a.peak_live_bytes, a->live_bytes);
        cprof__a.peak_node = NULL; /* reached at some moment no thread saw: now, as far as anyone knows */
        cprof__a.peak_ticks = cprof__ticks();
        CPROF__STORE(cprof__a.peak_version, cprof__a.peak_version + 1);
        for (size_t i = 0; i < p->alloc_site_count; i++)
            p->alloc_sites[i].at_peak_count = p->alloc_sites[i].live_count, p->alloc_sites[i].at_peak_bytes = p->alloc_sites[i].live_bytes;
    }
    a->peak_live_bytes = cprof__a.peak_live_bytes;
    a->peak_node = cprof__captured_node(p, cprof__a.peak_node, CPROF_NONE);
    uint64_t peak_ticks = cprof__a.peak_ticks;
    cprof__mutex_unlock(&cprof__peak_lock);
    a->peak_ns = peak_ticks > cprof__g.start_ticks ? cprof__ticks_to_ns(peak_ticks - cprof__g.start_ticks, p->timer_hz) : 0;
#if defined(CPROF__USABLE_SIZE)
    a->usable_known = 1;
#endif
    cprof__heap_read(&a->heap_at_capture);
}

/* --- memory over time, into the profile (also the loader's) --- */
static cprof_memory_point *cprof__memory_point_add(cprof_profile *p, uint64_t time_ns, uint64_t live_bytes) {
    if (cprof__grow(&p->memory_points, &cprof__capacities(p)->memory_points, p->memory_point_count + 1, sizeof *p->memory_points))
        return NULL;
    cprof_memory_point *point = &p->memory_points[p->memory_point_count++];
    point->time_ns = time_ns;
    point->live_bytes = live_bytes;
    point->first_share = (uint32_t)p->memory_share_count;
    point->share_count = 0;
    return point;
}

/* A site's share of the last point, added to its share there when the site has one (two threads' sites
   of one merged row); -1 when out of memory or the point is full. */
static int cprof__memory_share_add(cprof_profile *p, cprof_memory_point *point, uint32_t site, uint64_t bytes) {
    for (uint32_t k = 0; k < point->share_count; k++)
        if (p->memory_shares[point->first_share + k].site == site) {
            p->memory_shares[point->first_share + k].bytes += bytes;
            return 0;
        }
    if (point->share_count >= CPROF_MEMORY_POINT_SITES ||
        cprof__grow(&p->memory_shares, &cprof__capacities(p)->memory_shares, p->memory_share_count + 1, sizeof *p->memory_shares))
        return -1;
    cprof_memory_share *share = &p->memory_shares[p->memory_share_count++];
    share->site = site;
    share->reserved = 0;
    share->bytes = bytes;
    point->share_count++;
    return 0;
}

/* The point made at capture: the sites' live bytes now, the largest CPROF_MEMORY_POINT_SITES of them. */
static int cprof__memory_point_now(cprof_profile *p) {
    cprof_memory_point *point = cprof__memory_point_add(p, p->wall_ns, p->allocs.live_bytes);
    uint32_t chosen[CPROF_MEMORY_POINT_SITES];
    int count = 0;
    if (!point) return -1;
    for (size_t i = 0; i < p->alloc_site_count; i++) { /* insertion into the largest so far */
        uint64_t live = p->alloc_sites[i].live_bytes;
        int at = count < CPROF_MEMORY_POINT_SITES ? count : CPROF_MEMORY_POINT_SITES;
        while (at > 0 && p->alloc_sites[chosen[at - 1]].live_bytes < live) at--;
        if (!live || at == CPROF_MEMORY_POINT_SITES) continue;
        if (count < CPROF_MEMORY_POINT_SITES) count++;
        for (int k = count - 1; k > at; k--) chosen[k] = chosen[k - 1];
        chosen[at] = (uint32_t)i;
    }
    for (int k = 0; k < count; k++)
        if (cprof__memory_share_add(p, point, chosen[k], p->alloc_sites[chosen[k]].live_bytes)) return -1;
    return 0;
}

/* The series recorded so far (points from before a cprof_reset left out), then the point of now. Each
   thread's site is named by its merged row (capture_index, set by cprof__alloc_sort_sites). */
static int cprof__series_capture(cprof_profile *p) {
    struct cprof__series *q = &cprof__series;
    int failed = 0;
    cprof__spin_lock(&q->busy);
    for (uint32_t i = 0; i < q->count && !failed; i++) {
        const cprof__series_point *from = &q->points[i];
        if (from->ticks < cprof__g.start_ticks) continue;
        cprof_memory_point *point =
            cprof__memory_point_add(p, cprof__ticks_to_ns(from->ticks - cprof__g.start_ticks, p->timer_hz), from->live_bytes);
        failed = !point;
        for (int k = 0; k < CPROF_MEMORY_POINT_SITES && !failed && from->site[k]; k++)
            if (from->site[k]->capture_index < p->alloc_site_count)
                failed = cprof__memory_share_add(p, point, from->site[k]->capture_index, from->bytes[k]);
    }
    p->allocs.heap_at_peak = q->heap_at_highest;
    cprof__spin_unlock(&q->busy);
    return failed || cprof__memory_point_now(p) ? -1 : 0;
}

/* Called by the capture, under the registry lock, after every thread's tree; with the leak check
   when `roots` is set (cprof_leak_check). */
static int cprof__allocs_capture(cprof_profile *p, const cprof__leak_roots *roots) {
    p->allocs.peak_node = CPROF_NONE;
    if (!CPROF__LOAD(cprof__a.used)) return 0;
    p->allocs.tracked = 1;
    for (int problems = 0; problems < 2; problems++) {
        for (cprof__recorder *r = cprof__g.recorders; r; r = CPROF__LOAD_ACQUIRE(r->next)) {
            cprof__alloc_thread *t = CPROF__LOAD_ACQUIRE(r->allocs);
            if (t && cprof__alloc_capture_sites(p, t, cprof__captured_node(p, &r->root, CPROF_NONE), problems)) return -1;
        }
        if (!problems && cprof__alloc_sort_sites(p)) return -1;
    }
    if (roots) cprof__leak_check_capture(p, roots);
    cprof__alloc_capture_totals(p);
    return cprof__series_capture(p);
}

static void cprof__allocs_copy_node(cprof_node *out, const cprof__rnode *live) {
    out->alloc_self_count = CPROF__LOAD(live->alloc_count);
    out->alloc_self_bytes = CPROF__LOAD(live->alloc_bytes);
}

/* A copy of benchmark `from` into p, with its own name and samples; -1 when out of memory. */
static int cprof__bench_copy(cprof_profile *p, const cprof_benchmark *from) {
    cprof_benchmark *r = cprof__bench_append(p, from->name);
    double *samples = from->sample_count ? (double *)cprof__alloc(from->sample_count * sizeof *samples) : NULL;
    if (!r || (from->sample_count && !samples)) {
        cprof__release(samples, from->sample_count * sizeof *samples);
        if (r) p->benchmark_count--;
        return -1;
    }
    const char *name = r->name;
    *r = *from;
    r->name = name;
    r->samples_ns = samples;
    if (samples) memcpy(samples, from->samples_ns, from->sample_count * sizeof *samples);
    return 0;
}

/* Called by cprof_capture(): the process's benchmarks into the new profile. */
static int cprof__bench_capture(cprof_profile *p) {
    int failed = 0;
    cprof__mutex_lock(&cprof__bench_lock);
    for (size_t i = 0; cprof__bench_results && i < cprof__bench_results->benchmark_count && !failed; i++)
        failed = cprof__bench_copy(p, &cprof__bench_results->benchmarks[i]);
    cprof__mutex_unlock(&cprof__bench_lock);
    return failed;
}

/* Copies one live node's counts; nodes are read with relaxed loads while their thread may run. */
static void cprof__copy_counts(cprof_node *out, const cprof__rnode *live, double hz) {
    uint64_t min_ticks = CPROF__LOAD(live->min_ticks);
    double sum_sq;
    CPROF__LOAD_DOUBLE(live->sum_sq_ticks2, sum_sq);
    double ns_per_tick = 1e9 / hz;
    out->counted_calls = CPROF__LOAD(live->counted_calls);
    out->calls = CPROF__LOAD(live->calls) + out->counted_calls;
    cprof__allocs_copy_node(out, live);
    /* a counted node's figures are those of its timed calls until cprof__counted_totals scales them */
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
        cprof__counters_capture_node(c->profile, child_index, children[i], depth);
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
    if (!c->failed) cprof__capture_sampled_under(c, live, index, depth, &previous);
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
                            site->name, c->thread_name);
            cprof_message *m = &p->messages[p->message_count++];
            m->file = site->file;
            m->line = site->line;
            m->text = cprof__string(p, text);
        } else {
            p->messages_dropped++;
        }
    }
}

/* The thread's timeline after its tree (the nodes' capture_index are set): the events still in the buffer,
   oldest first, each node's address mapped to its index. While its thread records, the ring's oldest
   slots may be overwritten during the copy: the events that could have been are left out (counted); the
   next slot to be written is left out while the thread is inside cprof (busy). This relies on the
   thread's stores being seen in order (x86-64; on weakly ordered CPUs one torn event at the oldest end
   of a ring captured while its thread records is possible, never an invalid node). */
static void cprof__capture_timeline(cprof__capture_state *c, cprof__recorder *r, uint32_t first_node) {
    cprof_profile *p = c->profile;
    cprof__timeline *t = CPROF__LOAD_ACQUIRE(r->timeline);
    if (!t) return;
    p->timeline_capacity = t->capacity;
    p->timeline_policy = t->policy;
    p->frames.marks += CPROF__LOAD(r->frame_marks); /* the frame thread's alone, once derived (see >>derive) */
    uint64_t written = CPROF__LOAD_ACQUIRE(t->written), kept = written < t->capacity ? written : t->capacity;
    uint64_t first = t->policy == CPROF_TIMELINE_RECENT ? written - kept : 0; /* the event number of the oldest */
    size_t start = p->event_count;
    if (cprof__grow(&p->events, &cprof__capacities(p)->events, start + (size_t)kept, sizeof *p->events)) {
        c->failed = 1;
        return;
    }
    for (uint64_t k = first; k < first + kept; k++) {
        const cprof__timeline_event *e = &cprof__timeline_events(t)[k % t->capacity];
        uint64_t ticks = CPROF__LOAD(e->ticks);
        uintptr_t what = CPROF__LOAD(e->what);
        if (t->policy == CPROF_TIMELINE_RECENT) { /* rewritten meanwhile, or perhaps being written now: left out */
            CPROF__ACQUIRE_FENCE();
            uint32_t busy = CPROF__LOAD_ACQUIRE(r->busy); /* before the count: its thread clears it after the count */
            uint64_t now_written = CPROF__LOAD_ACQUIRE(t->written);
            if (k + t->capacity < now_written || (k + t->capacity == now_written && busy)) continue;
        }
        uint32_t kind = (uint32_t)(what & 3u);
        uint64_t ref = what >> 2;
        if (kind != CPROF_EVENT_FRAME) {
            const cprof__rnode *node = (const cprof__rnode *)(what & ~(uintptr_t)3u);
            ref = node ? node->capture_index : CPROF_NONE;
            if (ref == CPROF_NONE || ref < first_node || ref >= p->node_count) continue;
        }
        if (ticks < cprof__g.start_ticks) continue; /* from before a reset */
        cprof_event *out = &p->events[p->event_count++];
        out->time_ns = cprof__ticks_to_ns(ticks - cprof__g.start_ticks, c->hz);
        out->thread = c->thread;
        out->kind = kind;
        out->ref = ref;
    }
    p->events_dropped += written - (uint64_t)(p->event_count - start);
}

static void cprof__capture_thread(cprof__capture_state *c, cprof__recorder *r, const char *name, uint64_t now) {
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
    thread->name = c->thread_name = name;
    thread->root = root_index;
    thread->exited = CPROF__LOAD(r->exited);
    r->root.capture_index = root_index;
    cprof__allocs_copy_node(root, &r->root);
    p->dropped_scopes += CPROF__LOAD(r->dropped);
    p->signal_scopes_dropped += CPROF__LOAD(r->signal_dropped);
    cprof__sample_forest samples;
    memset(&samples, 0, sizeof samples);
    samples.period_ns = c->sample_period_ns;
    cprof__sample_forest_build(&samples, r, p);
    c->samples = &samples;
    cprof__capture_children(c, &r->root, root_index, 1);
    cprof__capture_timeline(c, r, root_index);
    c->samples = NULL;
    cprof__sample_forest_free(&samples);
    cprof__capture_open_frames(c, r, root_index, now);
    cprof__counters_capture_open(p, r, root_index);
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

/* The program's budgets, under the lock. */
static void cprof__capture_budgets(cprof_profile *p) {
    if (cprof__grow(&p->budgets, &cprof__capacities(p)->budgets, cprof__budget_count, sizeof *p->budgets)) return;
    for (size_t i = 0; i < cprof__budget_count; i++) {
        p->budgets[i].name = cprof__string(p, cprof__budgets[i].name);
        p->budgets[i].budget_ns = cprof__budgets[i].ns;
    }
    p->budget_count = cprof__budget_count;
}

static void cprof__program_name(cprof_profile *p) {
#if defined(CPROF__LINUX)
    char path[4096];
    ssize_t length = cprof__readlink("/proc/self/exe", path, sizeof path - 1);
    if (length > 0) {
        p->program = cprof__string_copy(p, path, (size_t)length);
        return;
    }
#elif defined(CPROF__WINDOWS)
    char path[4096];
    DWORD length = GetModuleFileNameA(NULL, path, sizeof path);
    if (length > 0 && length < sizeof path) {
        p->program = cprof__string_copy(p, path, (size_t)length);
        return;
    }
#endif
    p->program = "";
}

/* The recorders a capture walks and their names (in the profile's strings), copied under the registry
   lock; recorders are never freed, so the walk needs no lock. */
typedef struct cprof__registry_snapshot {
    cprof__recorder **recorders;
    const char **names;
    size_t count, capacity;
    int failed;
} cprof__registry_snapshot;

static cprof__registry_snapshot cprof__registry_copy(cprof_profile *p) {
    cprof__registry_snapshot s;
    memset(&s, 0, sizeof s);
    if (cprof__g.forced_off) return s;
    s.capacity = cprof__g.recorder_count ? cprof__g.recorder_count : 1;
    s.recorders = (cprof__recorder **)cprof__alloc(s.capacity * sizeof *s.recorders);
    s.names = (const char **)cprof__alloc(s.capacity * sizeof *s.names);
    s.failed = !s.recorders || !s.names;
    for (cprof__recorder *r = cprof__g.recorders; r && !s.failed && s.count < s.capacity; r = r->next) {
        if (CPROF__LOAD(r->spare)) continue; /* an exited thread's, merged; empty until a new thread takes it */
        s.recorders[s.count] = r;
        s.names[s.count++] = cprof__string(p, r->name);
    }
    return s;
}

static void cprof__registry_snapshot_free(cprof__registry_snapshot *s) {
    cprof__release(s->recorders, s->capacity * sizeof *s->recorders);
    cprof__release(s->names, s->capacity * sizeof *s->names);
}

/* A node whose calls were mostly counted (>>auto's counted path) has the figures of its timed calls (its
   first ones, then one in CPROF__AUTO_TIMING_GAP): its total is estimated as their average times all its
   calls, and the sum of squares likewise; never less than its children's time. The longest timed call
   is left out of the average when there are others: one time slice of another process in one timed
   call (a shared machine) would otherwise count gap times over. With no timed call the total is its
   children's time and its own time stays its caller's. Children follow their parent: the last node
   first sees its children done. Recorded figures: before compensation. */
static void cprof__counted_totals(cprof_profile *p) {
    for (size_t i = p->node_count; i-- > 0;) {
        cprof_node *n = &p->nodes[i];
        if (!n->counted_calls) continue;
        uint64_t timed = n->calls - n->counted_calls, children = 0;
        for (uint32_t c = n->first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling) children += p->nodes[c].total_ns;
        double total = (double)n->total_ns, squares = n->sum_sq_ns2, kept = (double)timed;
        if (timed >= 2 && n->max_ns <= n->total_ns) {
            total -= (double)n->max_ns;
            squares -= (double)n->max_ns * (double)n->max_ns;
            kept -= 1;
        }
        double scale = kept > 0 ? (double)n->calls / kept : 0.0;
        n->total_ns = cprof__u64_rounded(total * scale);
        n->sum_sq_ns2 = squares > 0 ? squares * scale : 0.0;
        if (n->total_ns < children) n->total_ns = children;
    }
}

/* What one scope call costs the profile's times, per kind: a manual scope's part inside its own timed
   interval and the rest (outside: in its parent's), the same for an automatic one (the hooks' lookup
   makes it dearer; 0 and 0: as a manual one), and a counted call's whole cost (all of it outside). */
typedef struct cprof__own_cost {
    double inside_ns, outside_ns, auto_inside_ns, auto_outside_ns, counted_ns;
} cprof__own_cost;

/* One node's calls: `inside`, what they cost their own time; `whole`, what they cost their ancestors'. */
static void cprof__node_own_cost(const cprof_profile *p, const cprof_node *n, const cprof__own_cost *cost,
                                 double *inside, double *whole) {
    int automatic = p->sites[n->site].automatic && (cost->auto_inside_ns > 0 || cost->auto_outside_ns > 0);
    double in = automatic ? cost->auto_inside_ns : cost->inside_ns;
    double out = automatic ? cost->auto_outside_ns : cost->outside_ns;
    double timed = (double)(n->calls - n->counted_calls);
    /* a counted node's total is its timed calls' scaled to all its calls (cprof__counted_totals), so is
       their inside part; with none timed, its total is its children's and has no inside part */
    *inside = !n->counted_calls ? timed * in : timed > 0 ? (double)n->calls * in : 0.0;
    *whole = timed * (in + out) + (double)n->counted_calls * cost->counted_ns;
}

/* Own-cost compensation: a node's total loses its own calls' inside part and the whole cost of every
   scope call anywhere below it; clamped at 0, and never below its children's compensated totals (a
   clamped parent keeps the tree consistent: self 0). Self times then follow from derive. min and max
   lose a call's average share (exact when every call has as many below); sum_sq_ns2 stays as recorded
   (the spread of the raw durations). Before derive: a thread's root is derived from its scopes. -1 when
   out of memory. */
static void cprof__compensate_node(cprof_node *n, double inside, double below) {
    n->raw_total_ns = n->total_ns;
    if (n->site == CPROF_NONE) return;
    uint64_t cost = cprof__u64_rounded(inside + below);
    uint64_t per_call = n->calls ? cprof__u64_rounded((inside + below) / (double)n->calls) : 0;
    n->total_ns = n->total_ns > cost ? n->total_ns - cost : 0;
    n->min_ns = n->min_ns > per_call ? n->min_ns - per_call : 0;
    n->max_ns = n->max_ns > per_call ? n->max_ns - per_call : 0;
}

/* A call is never longer than all of them, nor the shortest longer than the longest; a single finished
   call is all of the node's time (each figure loses the average cost, the total is clamped and raised
   to the children's: without this a report showed max 126 ns beside a total of 0). */
static void cprof__compensated_extremes(cprof_node *n) {
    if (n->calls == 1 && !n->open && !n->counted_calls) n->min_ns = n->max_ns = n->total_ns;
    if (n->max_ns > n->total_ns) n->max_ns = n->total_ns;
    if (n->min_ns > n->max_ns) n->min_ns = n->max_ns;
}

/* The compensation's account: the figures, the scope calls of each kind, the time subtracted. */
static void cprof__compensation_account(cprof_profile *p, const cprof__own_cost *cost) {
    cprof_compensation *c = &p->compensation;
    uint64_t raw_run = 0, run = 0;
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < p->node_count; i++) {
        const cprof_node *n = &p->nodes[i];
        if (n->site == CPROF_NONE) continue;
        c->scopes += n->calls;
        c->counted_scopes += n->counted_calls;
        if (p->sites[n->site].automatic) c->auto_scopes += n->calls - n->counted_calls;
        if (n->depth == 1) raw_run += n->raw_total_ns, run += n->total_ns;
    }
    c->applied = 1;
    c->inside_ns = cost->inside_ns;
    c->outside_ns = cost->outside_ns;
    c->auto_inside_ns = cost->auto_inside_ns;
    c->auto_outside_ns = cost->auto_outside_ns;
    c->counted_ns = cost->counted_ns;
    c->subtracted_ns = raw_run > run ? raw_run - run : 0;
}

static int cprof__compensate(cprof_profile *p, const cprof__own_cost *cost) {
    size_t bytes = (p->node_count ? p->node_count : 1) * sizeof(double);
    double *below = (double *)cprof__alloc(bytes), inside, whole;
    if (!below) return -1;
    for (size_t i = p->node_count; i-- > 0;) { /* depth-first: children after their parent */
        const cprof_node *n = &p->nodes[i];
        if (n->parent == CPROF_NONE) continue;
        cprof__node_own_cost(p, n, cost, &inside, &whole);
        below[n->parent] += below[i] + whole;
    }
    for (size_t i = 0; i < p->node_count; i++) {
        cprof_node *n = &p->nodes[i];
        inside = 0;
        if (n->site != CPROF_NONE) cprof__node_own_cost(p, n, cost, &inside, &whole);
        cprof__compensate_node(n, inside, below[i]);
    }
    uint64_t *children = (uint64_t *)(void *)below; /* now: the children's compensated totals */
    memset(children, 0, bytes);
    for (size_t i = p->node_count; i-- > 0;) {
        cprof_node *n = &p->nodes[i];
        if (n->site == CPROF_NONE) continue;
        if (n->total_ns < children[i]) n->total_ns = children[i];
        children[n->parent] += n->total_ns;
        cprof__compensated_extremes(n);
    }
    cprof__release(below, bytes);
    cprof__compensation_account(p, cost);
    return 0;
}

/* The capture's figures: compensated with the calibrations, or raw (CPROF_COMPENSATE=0). */
static int cprof__capture_compensate(cprof_profile *p, double hz) {
    cprof__counted_totals(p);
    if (cprof__g.compensate) {
        double ns = 1e9 / hz;
        cprof__own_cost cost = {cprof__g.inside_ticks * ns, cprof__g.outside_ticks * ns, cprof__g.auto_inside_ticks * ns,
                                cprof__g.auto_outside_ticks * ns, cprof__g.counted_ticks * ns};
        return cprof__compensate(p, &cost);
    }
    for (size_t i = 0; i < p->node_count; i++) p->nodes[i].raw_total_ns = p->nodes[i].total_ns;
    return 0;
}

static cprof_profile *cprof__capture_with(const cprof__leak_roots *roots) {
    cprof__init();
    cprof_profile *p = cprof__profile_new();
    if (!p) return NULL;
    cprof__capture_state c;
    memset(&c, 0, sizeof c);
    c.profile = p;
    cprof__program_name(p);
    cprof__mutex_lock(&cprof__capture_lock);
    cprof__mutex_lock(&cprof__lock);
    uint64_t now = cprof__ticks();
    c.hz = cprof__timer_hz();
    p->timer = cprof__timer_state.name;
    p->timer_hz = c.hz;
    p->start_unix_ns = cprof__g.start_unix_ns;
    p->wall_ns = cprof__ticks_to_ns(now - cprof__g.start_ticks, c.hz);
    p->preemption.preempted_ns = cprof__ticks_to_ns(CPROF__LOAD(cprof__g.preempted_ticks), c.hz);
    p->preemption.preemptions = CPROF__LOAD(cprof__g.preemptions);
    p->preemption.lost = CPROF__LOAD(cprof__g.preemptions_lost);
    p->preemption.threads = cprof__g.preemption_threads;
    p->preemption.error = cprof__g.preemption_error;
    cprof__counters_capture_begin(p);
    cprof__registry_snapshot snapshot = cprof__registry_copy(p);
    p->sample_hz = CPROF__LOAD(cprof__sampler.rate_hz);
    c.sample_period_ns = p->sample_hz ? 1e9 / (double)p->sample_hz : 0;
    p->samples_dropped = CPROF__LOAD(cprof__sampler.dropped_no_thread) + cprof__sampler.dropped_exited;
    int handler_lost = cprof__sample_handler_check() && cprof__sampler.handler_lost == 1;
    if (handler_lost) cprof__sampler.handler_lost = 2;
    uint64_t unsampled = CPROF__LOAD(cprof__sampler.threads_unsampled);
    int unsampled_new = unsampled > cprof__sampler.threads_unsampled_said;
    cprof__sampler.threads_unsampled_said = unsampled;
    uint64_t by_timer = CPROF__LOAD(cprof__sampler.threads_by_timer);
    int by_timer_new = by_timer > cprof__sampler.threads_by_timer_said;
    cprof__sampler.threads_by_timer_said = by_timer;
    cprof__mutex_unlock(&cprof__lock);
    if (unsampled_new)
        cprof__message(NULL, 0, "%llu thread%s not sampled: neither a perf event nor a timer could be made "
                       "(timer_create failed: RLIMIT_SIGPENDING, or the kernel's limit of timers) or out of memory",
                       (unsigned long long)unsampled, unsampled == 1 ? "" : "s");
    if (by_timer_new)
        cprof__message(NULL, 0, "%llu thread%s sampled by a CPU-time timer, which the kernel checks at its tick (one "
                       "signal may stand for several periods: coarser shares): no perf event could be opened "
                       "(perf_event_paranoid 3, seccomp, or file descriptors)",
                       (unsigned long long)by_timer, by_timer == 1 ? "" : "s");
    if (handler_lost)
        cprof__message(NULL, 0, "sampling stopped: the program installed its own handler for signal %d, which got "
                       "cprof's signals until this capture (CPROF_SAMPLE_SIGNAL=N chooses another)", cprof__sampler.signal);
    c.failed = cprof__bench_capture(p) || snapshot.failed;
    for (size_t i = 0; i < snapshot.count && !c.failed; i++) /* the trees, without the registry lock */
        cprof__capture_thread(&c, snapshot.recorders[i], snapshot.names[i], now);
    cprof__registry_snapshot_free(&snapshot);
    cprof__mutex_lock(&cprof__lock);
    if (!c.failed && cprof__allocs_capture(p, roots)) c.failed = 1;
    p->signal_scopes_dropped += CPROF__LOAD(cprof__g.signal_dropped_early);
    cprof__capture_messages(p);
    cprof__capture_budgets(p);
    cprof__mutex_unlock(&cprof__lock);
    cprof__mutex_unlock(&cprof__capture_lock);
    cprof__site_map_free(&c.sites);
    if (c.failed) {
        cprof_profile_free(p);
        return NULL;
    }
    p->profiler_bytes = cprof_memory_bytes();
    p->auto_min_ns = cprof__g.auto_min_ns;
    if (cprof__capture_compensate(p, c.hz) || cprof__profile_derive(p)) {
        cprof_profile_free(p);
        return NULL;
    }
    return p;
}

cprof_profile *cprof_capture(void) { return cprof__capture_with(NULL); }

/* Not inlined: its frame is where the scan of the stack starts, above every frame of the capture, so
   that the block addresses the check itself handles are not taken for the program's pointers. */
CPROF__COLD cprof_profile *cprof_leak_check(void) {
    cprof__leak_roots roots;
    memset(&roots, 0, sizeof roots);
#if defined(CPROF__LEAK_SCAN)
    (void)setjmp(roots.registers); /* the callee-saved registers, which may hold the caller's pointers */
#endif
    roots.stack_low = (uintptr_t)&roots;
    return cprof__capture_with(&roots);
}

/* ==================================================================================================
   >>report: the text report (header, messages, functions by self time, call tree, counters,
   allocations) and the leak report
   ================================================================================================== */
cprof_report_options cprof_report_defaults(void) {
    cprof_report_options options;
    options.tree_min_pct = 0.5;
    options.max_functions = 0;
    return options;
}

/* When cprof's own cost is most of what was recorded, the times left are within the calibration's error
   (a few ns a call against calls that do a few ns of work): the header says so, and what to do. */
enum { CPROF__OWN_COST_WARN_PCT = 80 };
/* cprof diff: shares of the compensated times unless a run's own cost was this much of its recorded time
   or more (cprof__compare_read_shares); chosen on 49 same-build pairs of Lua and minivm (README). */
enum { CPROF__RECORDED_SHARES_PCT = 60 };

/* cprof's own cost, subtracted by compensation, as a share of the time recorded, in percent (0 without). */
static double cprof__own_cost_pct(const cprof_profile *p) {
    const cprof_compensation *c = &p->compensation;
    uint64_t recorded = p->run_ns + c->subtracted_ns;
    return c->applied && recorded ? 100.0 * (double)c->subtracted_ns / (double)recorded : 0.0;
}

static void cprof__report_own_cost_warning(cprof__buf *b, double share) {
    if (share < (double)CPROF__OWN_COST_WARN_PCT) return;
    cprof__buf_printf(b, "warning: cprof's own cost was %.0f%% of the recorded time: the times left are within the "
                         "calibration's error of a few ns a call; trust the calls, not the times. Instrument fewer "
                         "functions (clang's -finstrument-functions-after-inlining, gcc's "
                         "-finstrument-functions-exclude-*), or sample (CPROF_SAMPLE, cprof record)\n", share);
}

static void cprof__report_compensation(cprof__buf *b, const cprof_profile *p) {
    const cprof_compensation *c = &p->compensation;
    if (!c->applied) return;
    char scopes[32], manual[32], automatic[32], counted[32], subtracted[24];
    double share = cprof__own_cost_pct(p);
    cprof__duration(subtracted, c->subtracted_ns);
    if (!c->auto_scopes && !c->counted_scopes) {
        cprof__buf_printf(b, "own cost subtracted: %s scopes x (%.1f ns inside + %.1f ns outside) = %s (%.1f%% of the "
                             "recorded time); CPROF_COMPENSATE=0 shows raw times\n", cprof__count(scopes, c->scopes),
                          c->inside_ns, c->outside_ns, subtracted, share);
        cprof__report_own_cost_warning(b, share);
        return;
    }
    uint64_t manual_scopes = c->scopes - c->auto_scopes - c->counted_scopes;
    cprof__count(manual, manual_scopes);
    cprof__count(automatic, c->auto_scopes);
    cprof__count(counted, c->counted_scopes);
    cprof__buf_puts(b, "own cost subtracted: ");
    if (manual_scopes) /* a program built with automatic instrumentation alone has none */
        cprof__buf_printf(b, "%s manual scopes x (%.1f ns inside + %.1f ns outside), ", manual, c->inside_ns, c->outside_ns);
    cprof__buf_printf(b, "%s automatic x (%.1f ns inside + %.1f ns outside), %s counted x %.1f ns = %s (%.1f%% of the "
                         "recorded time); CPROF_COMPENSATE=0 shows raw times\n", automatic, c->auto_inside_ns,
                      c->auto_outside_ns, counted, c->counted_ns, subtracted, share);
    cprof__report_own_cost_warning(b, share);
}

/* Why a thread's switches could not be recorded (profile->preemption.error). */
static const char *cprof__preemption_reason(int error) {
    switch (error) {
    case EACCES: case EPERM: return "perf_event_open or the ring's locked memory refused (perf_event_paranoid 3, seccomp, "
                                    "perf_event_mlock_kb and RLIMIT_MEMLOCK spent)";
    case ENOSYS: case ENOENT: return "no perf events here";
    case EMFILE: return "cprof's share of the file descriptors (an eighth of RLIMIT_NOFILE) is in use";
    case ENOTSUP: return "Linux before 4.17 does not mark a switch as a preemption";
    default: return "perf_event_open or mmap failed";
    }
}

/* The time threads were preempted, left out of the scopes' times (>>preemption): said when there was
   some, and when some thread's could not be told apart. */
static void cprof__report_preemption(cprof__buf *b, const cprof_profile *p) {
    const cprof_preemption *e = &p->preemption;
    if (e->error)
        cprof__buf_printf(b, "preemption: %s threads' times include the waits of preempted moments: %s (errno %d)\n",
                          e->threads ? "some" : "the", cprof__preemption_reason(e->error), (int)e->error);
    if (!e->preemptions && !e->lost) return;
    char preempted[24], count[32];
    cprof__buf_printf(b, "preempted: %s in %s preemption%s (ready to run while another thread had the CPU), left "
                         "out of the scopes' times; CPROF_PREEMPTION=0 keeps it", cprof__duration(preempted, e->preempted_ns),
                      cprof__count(count, e->preemptions), e->preemptions == 1 ? "" : "s");
    if (e->lost)
        cprof__buf_printf(b, "; %s records of context switches lost (a thread's ring was full): any preemption among "
                             "them stayed in", cprof__count(count, e->lost));
    cprof__buf_puts(b, "\n");
}

/* Automatic functions too short to time (CPROF_AUTO_MIN_NS): how many, and what it means. */
static void cprof__report_counted(cprof__buf *b, const cprof_profile *p) {
    size_t functions = 0;
    for (size_t f = 0; f < p->function_count; f++) functions += p->functions[f].counted_calls > 0;
    if (!functions) return;
    char threshold[24];
    cprof__buf_printf(b, "counted, not timed: %llu functions that averaged under %s a call (CPROF_AUTO_MIN_NS; 0 times "
                         "every call): their calls are exact; one in about %d is timed, and their time is estimated "
                         "from those\n",
                      (unsigned long long)functions, cprof__duration(threshold, p->auto_min_ns), (int)CPROF__AUTO_TIMING_GAP);
}

/* Where a counter timer's frequency came from, by the timer's name in the profile (a profile may come
   from another platform). */
static const char *cprof__timer_reference(const char *timer) {
    if (strcmp(timer, "cntvct") == 0) return "stated by cntfrq_el0";
    if (strcmp(timer, "rdtsc/qpc") == 0) return "calibrated against QueryPerformanceCounter";
    return "calibrated against CLOCK_MONOTONIC";
}

static void cprof__report_header(cprof__buf *b, const cprof_profile *p) {
    char wall[24], run[24];
    cprof__buf_textf(b, "cprof %s report: %s\n", CPROF_VERSION, p->program[0] ? p->program : "(unknown program)");
    cprof__buf_textf(b, "wall time %s, recorded %s, %u thread%s, timer %s", cprof__duration(wall, p->wall_ns),
                      cprof__duration(run, p->run_ns), (unsigned)p->thread_count, p->thread_count == 1 ? "" : "s",
                      p->timer);
    if (strcmp(p->timer, "clock_gettime") == 0) cprof__buf_puts(b, " (CLOCK_MONOTONIC, ns)\n");
    else if (strcmp(p->timer, "qpc") == 0) cprof__buf_puts(b, " (QueryPerformanceCounter, ns)\n");
    else cprof__buf_textf(b, " at %.4f GHz (%s)\n", p->timer_hz / 1e9, cprof__timer_reference(p->timer));
    if (p->dropped_scopes)
        cprof__buf_textf(b, "%llu scope entries were not recorded (deeper than %d levels, or out of memory)\n",
                          (unsigned long long)p->dropped_scopes, CPROF__MAX_DEPTH);
    if (p->signal_scopes_dropped)
        cprof__buf_printf(b, "%llu scopes opened in signal handlers were not recorded (the signal interrupted cprof "
                          "itself)\n", (unsigned long long)p->signal_scopes_dropped);
    if (p->sample_hz) { /* sampled frames: "N smp" in the calls column, "sampled" in the functions' */
        char period[24];
        cprof__buf_printf(b, "CPU sampling at %u Hz: %llu samples of %s of CPU time each in the tree", (unsigned)p->sample_hz,
                          (unsigned long long)p->samples, cprof__duration(period, (uint64_t)(1e9 / p->sample_hz)));
        if (p->samples_dropped) cprof__buf_printf(b, ", %llu dropped", (unsigned long long)p->samples_dropped);
        if (p->samples_profiler)
            cprof__buf_printf(b, ", %llu taken in cprof's own code left out", (unsigned long long)p->samples_profiler);
        cprof__buf_puts(b, "\n");
    }
    cprof__report_compensation(b, p);
    cprof__report_preemption(b, p);
    cprof__report_counted(b, p);
}

/* The timeline's size and, when frames were marked, their times (see TIMELINE). */
static void cprof__report_timeline(cprof__buf *b, const cprof_profile *p) {
    if (!p->timeline_capacity) return;
    char kept[32], dropped[32], capacity[32];
    cprof__buf_printf(b, "timeline: %s events kept (the %s %s per thread), %s not kept; cprof trace shows them\n",
                      cprof__count(kept, p->event_count), p->timeline_policy == CPROF_TIMELINE_FIRST ? "first" : "most recent",
                      cprof__count(capacity, p->timeline_capacity), cprof__count(dropped, p->events_dropped));
    const cprof_frame_stats *f = &p->frames;
    if (!f->marks) return;
    char marks[32], count[32], median[24], p90[24], p99[24], max[24], worst[24];
    cprof__buf_printf(b, "\nFrames: %s marked (CPROF_FRAME)", cprof__count(marks, f->marks));
    if (f->thread != CPROF_NONE && f->thread < p->thread_count) cprof__buf_textf(b, " on thread %s", p->threads[f->thread].name);
    if (!f->count) {
        cprof__buf_puts(b, "; none timed whole in the timeline\n");
        return;
    }
    cprof__buf_printf(b, ", %s timed in the timeline: median %s, p90 %s, p99 %s, max %s\n  slowest:", cprof__count(count, f->count),
                      cprof__duration(median, f->median_ns), cprof__duration(p90, f->p90_ns), cprof__duration(p99, f->p99_ns),
                      cprof__duration(max, f->max_ns));
    for (int k = 0; k < CPROF_WORST_FRAMES && f->worst[k]; k++)
        cprof__buf_printf(b, "%s frame %llu (%s)", k ? "," : "", (unsigned long long)f->worst[k],
                          cprof__duration(worst, f->worst_ns[k]));
    cprof__buf_puts(b, "\n");
}

static void cprof__report_messages(cprof__buf *b, const cprof_profile *p) {
    if (!p->message_count && !p->messages_dropped) return;
    cprof__buf_textf(b, "\nNotes from recording (%llu):\n",
                      (unsigned long long)(p->message_count + p->messages_dropped));
    for (size_t i = 0; i < p->message_count; i++) {
        const cprof_message *m = &p->messages[i];
        if (m->file[0]) cprof__buf_textf(b, "  %s:%u: %s\n", m->file, (unsigned)m->line, m->text);
        else cprof__buf_textf(b, "  %s\n", m->text);
    }
    if (p->messages_dropped)
        cprof__buf_textf(b, "  ... and %llu more not kept\n", (unsigned long long)p->messages_dropped);
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
        cprof__buf_pad_left(b, fn->sampled ? "sampled" : cprof__count(calls, fn->calls), 14);
        uint64_t times[5] = {fn->total_ns, fn->self_ns, fn->avg_ns, fn->min_ns, fn->max_ns};
        int completed = fn->max_ns > 0; /* min and max exist only for calls that ended */
        int timed = fn->calls > fn->counted_calls; /* a function with no call timed has no average of its own */
        for (int k = 0; k < 5; k++)
            cprof__buf_pad_left(b, k < 2 || (k == 2 && timed) || completed ? cprof__duration(t, times[k]) : "-", 12);
        cprof__buf_textf(b, "  %6.1f%%  %6.1f%%  %s  (%s", fn->pct_total, fn->pct_self, fn->name, site->file);
        cprof__buf_textf(b, site->line ? ":%u)" : ")", (unsigned)site->line); /* line 0: an automatic scope */
        cprof__buf_puts(b, !fn->counted_calls ? "\n" : timed ? "  counted, time estimated\n" : "  counted, not timed\n");
    }
    if (rows < p->function_count)
        cprof__buf_textf(b, "  ... %llu more functions\n", (unsigned long long)(p->function_count - rows));
}

static int cprof__compare_own_samples(const void *a, const void *b) {
    const cprof_function *x = *(const cprof_function *const *)a, *y = *(const cprof_function *const *)b;
    if (x->samples != y->samples) return x->samples > y->samples ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* A run with scopes and CPU samples: the functions by the samples taken in their own code, cprof's own
   code left out. Timed scopes carry cprof's cost in their times (compensation takes most of it out, not
   all: a few ns a call, which is a whole function's time when it is called often); samples do not. */
enum { CPROF__OWN_SAMPLES_ROWS = 15 };
static void cprof__report_own_samples(cprof__buf *b, const cprof_profile *p) {
    size_t scopes = 0, rows = 0;
    for (size_t f = 0; f < p->function_count; f++) scopes += p->functions[f].calls > 0;
    if (!p->samples || !scopes) return;
    const cprof_function **order = (const cprof_function **)cprof__alloc(p->function_count * sizeof *order);
    if (!order) return;
    for (size_t f = 0; f < p->function_count; f++)
        if (p->functions[f].samples) order[rows++] = &p->functions[f];
    qsort((void *)order, rows, sizeof *order, cprof__compare_own_samples);
    cprof__buf_printf(b, "\nCPU samples in each function's own code (%llu samples", (unsigned long long)p->samples);
    if (p->samples_profiler)
        cprof__buf_printf(b, "; %llu in cprof's own code left out", (unsigned long long)p->samples_profiler);
    cprof__buf_puts(b, ")\n       samples    %self  function\n");
    for (size_t i = 0; i < rows && i < CPROF__OWN_SAMPLES_ROWS; i++) {
        char count[32];
        cprof__buf_pad_left(b, cprof__count(count, order[i]->samples), 14);
        cprof__buf_textf(b, "  %6.1f%%  %s\n", 100.0 * (double)order[i]->samples / (double)p->samples, order[i]->name);
    }
    if (rows > CPROF__OWN_SAMPLES_ROWS)
        cprof__buf_textf(b, "  ... %llu more functions\n", (unsigned long long)(rows - CPROF__OWN_SAMPLES_ROWS));
    cprof__release((void *)order, p->function_count * sizeof *order);
}

/* Indentation stops at this depth, so that a line costs the same however deep the tree; a deeper
   node shows its depth instead: "[600] name" at the indentation of this level. */
#define CPROF__REPORT_MAX_INDENT 32

static void cprof__report_tree_node(cprof__buf *b, const cprof_profile *p, const cprof_node *node) {
    char calls[32], t[24];
    cprof__buf_textf(b, "  %6.1f%%", cprof__share(node->total_ns, p->run_ns));
    cprof__buf_pad_left(b, cprof__duration(t, node->total_ns), 12);
    cprof__buf_pad_left(b, cprof__duration(t, node->self_ns), 12);
    if (node->sampled) { /* the calls column: its samples */
        cprof__count(calls, node->samples);
        strcat(calls, " smp");
    }
    cprof__buf_pad_left(b, node->sampled ? calls : cprof__count(calls, node->calls), 14);
    cprof__buf_puts(b, "  ");
    for (uint32_t d = 1; d < node->depth && d < CPROF__REPORT_MAX_INDENT; d++) cprof__buf_puts(b, "  ");
    if (node->depth > CPROF__REPORT_MAX_INDENT) cprof__buf_printf(b, "[%u] ", (unsigned)node->depth);
    cprof__buf_text_string(b, p->sites[node->site].name);
    if (node->open) cprof__buf_puts(b, "  (still open)");
    if (node->counted_calls)
        cprof__buf_puts(b, node->calls > node->counted_calls ? "  (counted, time estimated)" : "  (counted, not timed)");
    cprof__buf_puts(b, "\n");
}

static void cprof__report_tree(cprof__buf *b, const cprof_profile *p, const cprof_report_options *o) {
    cprof__buf_puts(b, "\nCall tree (share of the run, inclusive)\n");
    cprof__buf_puts(b, "      %run       total        self         calls  scope\n");
    for (size_t t = 0; t < p->thread_count; t++) {
        const cprof_thread_info *thread = &p->threads[t];
        char total[24];
        cprof__buf_textf(b, "  thread %s (id %llu)%s: %s\n", thread->name, (unsigned long long)thread->id,
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
            cprof__buf_textf(b, "  (%llu %s below %.2f%% of the run not shown)\n", (unsigned long long)hidden,
                              hidden == 1 ? "node" : "nodes", o->tree_min_pct);
    }
}

/* --- the report --- */

/* At the top: what is counted and how, each unavailable reason once (with every counter it concerns),
   and whether the figures are estimates. */
static void cprof__report_counters_header(cprof__buf *b, const cprof_profile *p) {
    size_t available = 0;
    for (size_t k = 0; k < p->counter_count; k++) available += p->counters[k].available;
    if (available) {
        cprof__buf_puts(b, "counters:");
        for (size_t k = 0; k < p->counter_count; k++)
            if (p->counters[k].available) cprof__buf_textf(b, " %s", p->counters[k].name);
        cprof__buf_textf(b, " (user space; read with %s)\n",
                          strcmp(p->counter_reader, "rdpmc") == 0 ? "rdpmc" : "read(), a system call at each scope's start and end");
    }
    for (size_t k = 0; k < p->counter_count; k++) {
        const cprof_counter_info *c = &p->counters[k];
        size_t first = 0;
        while (first < k && (p->counters[first].available || strcmp(p->counters[first].reason, c->reason) != 0)) first++;
        if (c->available || first < k) continue; /* said already, with the first counter of this reason */
        cprof__buf_textf(b, "counters unavailable: %s", c->name);
        for (size_t j = k + 1; j < p->counter_count; j++)
            if (!p->counters[j].available && strcmp(p->counters[j].reason, c->reason) == 0)
                cprof__buf_textf(b, ", %s", p->counters[j].name);
        cprof__buf_textf(b, ": %s\n", c->reason);
    }
    for (size_t k = 0; k < p->counter_count; k++) {
        double ratio = p->counters[k].running_ratio;
        if (!p->counters[k].available || ratio >= 1.0) continue;
        cprof__buf_textf(b, "counters are estimates: the kernel multiplexed them, counting %.1f%% of the time; values "
                          "are scaled by time enabled / time running\n", 100.0 * ratio);
        break;
    }
}

static int cprof__counter_is_ns(const char *name) { return strcmp(name, "task-clock") == 0; }

/* "IPC", "miss%", "MPKI": each only where both of its inputs were counted. */
typedef struct cprof__derived_figure {
    const char *title, *numerator, *denominator;
    double factor;
} cprof__derived_figure;

static const cprof__derived_figure cprof__derived_figures[] = {
    {"IPC", "instructions", "cycles", 1.0},
    {"miss%", "cache-misses", "cache-references", 100.0},
    {"MPKI", "cache-misses", "instructions", 1000.0},
};
#define CPROF__DERIVED_COUNT (sizeof cprof__derived_figures / sizeof cprof__derived_figures[0])

static int cprof__derived_inputs(const cprof_profile *p, size_t d, uint32_t *numerator, uint32_t *denominator) {
    *numerator = cprof_counter_find(p, cprof__derived_figures[d].numerator);
    *denominator = cprof_counter_find(p, cprof__derived_figures[d].denominator);
    return *numerator != CPROF_NONE && *denominator != CPROF_NONE && p->counters[*numerator].available &&
           p->counters[*denominator].available;
}

/* One row: each available counter, then the derived figures, from `values` (self or run totals). */
static void cprof__report_counter_row(cprof__buf *b, const cprof_profile *p, const uint64_t *values) {
    char text[32];
    for (size_t k = 0; k < p->counter_count && k < CPROF__MAX_COUNTERS; k++) {
        if (!p->counters[k].available) continue;
        size_t width = strlen(p->counters[k].name) > 12 ? strlen(p->counters[k].name) + 2 : 14;
        cprof__buf_pad_left(b, cprof__counter_is_ns(p->counters[k].name) ? cprof__duration(text, values[k])
                                                                          : cprof__count(text, values[k]), width);
    }
    for (size_t d = 0; d < CPROF__DERIVED_COUNT; d++) {
        uint32_t n, m;
        if (!cprof__derived_inputs(p, d, &n, &m)) continue;
        if (values[m]) cprof__snprintf(text, sizeof text, "%.2f", cprof__derived_figures[d].factor * (double)values[n] / (double)values[m]);
        else cprof__snprintf(text, sizeof text, "-");
        cprof__buf_pad_left(b, text, 8);
    }
}

/* Per function, in the order of the function table: self counts and the derived figures. */
static void cprof__report_counters(cprof__buf *b, const cprof_profile *p, const cprof_report_options *o) {
    size_t available = 0, rows = p->function_count;
    for (size_t k = 0; k < p->counter_count; k++) available += p->counters[k].available;
    if (!available || !p->function_counters) return;
    if (o->max_functions && o->max_functions < rows) rows = o->max_functions;
    cprof__buf_puts(b, "\nCounters per function (self; same order as above)\n");
    for (size_t k = 0; k < p->counter_count; k++) {
        size_t shown = cprof__text_width(p->counters[k].name, strlen(p->counters[k].name)); /* escapes included */
        if (p->counters[k].available) cprof__buf_pad_left(b, p->counters[k].name, shown > 12 ? shown + 2 : 14);
    }
    for (size_t d = 0; d < CPROF__DERIVED_COUNT; d++) {
        uint32_t n, m;
        if (cprof__derived_inputs(p, d, &n, &m)) cprof__buf_pad_left(b, cprof__derived_figures[d].title, 8);
    }
    cprof__buf_puts(b, "  function\n");
    uint64_t values[CPROF__MAX_COUNTERS];
    for (size_t f = 0; f <= rows; f++) {
        for (size_t k = 0; k < p->counter_count && k < CPROF__MAX_COUNTERS; k++)
            values[k] = f < rows ? p->function_counters[f * p->counter_count + k].self : p->counters[k].total;
        cprof__report_counter_row(b, p, values);
        cprof__buf_textf(b, "  %s\n", f < rows ? p->functions[f].name : "(whole run, inclusive)");
    }
}

/* "parse > read_line", or "(no scope)" for a thread's root. */
static void cprof__buf_scope_path(cprof__buf *b, const cprof_profile *p, uint32_t node) {
    uint32_t path[64], depth = 0;
    for (uint32_t n = node; n < p->node_count && p->nodes[n].site != CPROF_NONE; n = p->nodes[n].parent)
        if (depth < 64) path[depth++] = n;
    if (!depth) cprof__buf_puts(b, "(no scope)");
    if (depth == 64) cprof__buf_puts(b, "... > ");
    while (depth--) cprof__buf_printf(b, "%s%s", p->sites[p->nodes[path[depth]].site].name, depth ? " > " : "");
}

/* The same for a text writer: the names enter through cprof__buf_text. */
static void cprof__buf_text_scope_path(cprof__buf *b, const cprof_profile *p, uint32_t node) {
    cprof__buf path;
    memset(&path, 0, sizeof path);
    cprof__buf_scope_path(&path, p, node);
    b->failed |= path.failed;
    if (path.data) cprof__buf_text(b, path.data, path.length, NULL);
    cprof__buf_free(&path);
}

/* The allocator's view in one line's part: arena, in use, free (releasable at the top). */
static void cprof__report_heap(cprof__buf *b, const char *when, const cprof_heap_info *h) {
    char n1[32], n2[32], n3[32], n4[32];
    if (!h->measured) return;
    cprof__buf_textf(b, "\n  the C library's heap %s: arena %s, in use %s, free %s (%s of it at the top, releasable)", when,
                     cprof__byte_count(n1, h->arena_bytes), cprof__byte_count(n2, h->in_use_bytes),
                     cprof__byte_count(n3, h->free_bytes), cprof__byte_count(n4, h->releasable_bytes));
    if (h->mmap_bytes) cprof__buf_textf(b, ", mmap'd %s", cprof__byte_count(n1, h->mmap_bytes));
}

/* Format 1.2's memory figures (nothing for an older file): when the peak was and the largest sites
   then, the series, the slack, the allocator's view. */
static void cprof__report_memory(cprof__buf *b, const cprof_profile *p) {
    const cprof_alloc_totals *a = &p->allocs;
    char n1[32], n2[32];
    if (a->peak_ns || p->memory_point_count) {
        uint32_t shown[3];
        int count = 0;
        for (size_t i = 0; i < p->alloc_site_count; i++) { /* the three largest at the peak */
            int at = count < 3 ? count : 3;
            while (at > 0 && p->alloc_sites[shown[at - 1]].at_peak_bytes < p->alloc_sites[i].at_peak_bytes) at--;
            if (!p->alloc_sites[i].at_peak_bytes || at == 3) continue;
            if (count < 3) count++;
            for (int k = count - 1; k > at; k--) shown[k] = shown[k - 1];
            shown[at] = (uint32_t)i;
        }
        cprof__buf_textf(b, "\n  at the peak (%s):", cprof__duration(n1, a->peak_ns));
        for (int k = 0; k < count; k++) {
            const cprof_alloc_site *s = &p->alloc_sites[shown[k]];
            cprof__buf_textf(b, "%s %s at %s:%u in ", k ? ";" : "", cprof__byte_count(n2, s->at_peak_bytes), s->file, (unsigned)s->line);
            cprof__buf_text_scope_path(b, p, s->node);
        }
        cprof__buf_textf(b, "\n  memory over time: %s point%s (cprof memory P.json > memory.svg draws them)",
                         cprof__count(n1, p->memory_point_count), p->memory_point_count == 1 ? "" : "s");
    }
    if (a->usable_known)
        cprof__buf_textf(b, "\n  slack (usable size beyond the requests, malloc_usable_size): %s, %.1f%% of the bytes allocated",
                         cprof__byte_count(n1, a->slack_bytes), cprof__share(a->slack_bytes, a->bytes_allocated));
    cprof__report_heap(b, "near the peak", &a->heap_at_peak);
    cprof__report_heap(b, "at capture", &a->heap_at_capture);
}

static void cprof__report_alloc_totals(cprof__buf *b, const cprof_profile *p) {
    const cprof_alloc_totals *a = &p->allocs;
    char n1[32], n2[32], n3[32], n4[32];
    cprof__buf_textf(b, "\nAllocations: %s (%s), frees: %s (%s)\n", cprof__count(n1, a->allocations),
                      cprof__byte_count(n2, a->bytes_allocated), cprof__count(n3, a->frees),
                      cprof__byte_count(n4, a->bytes_freed));
    cprof__buf_textf(b, "  live at capture: %s blocks, %s; peak %s in ", cprof__count(n1, a->live_blocks),
                      cprof__byte_count(n2, a->live_bytes), cprof__byte_count(n3, a->peak_live_bytes));
    cprof__buf_text_scope_path(b, p, a->peak_node);
    cprof__report_memory(b, p);
    cprof__buf_textf(b, "\n  temporary (freed before the thread's next allocation): %s (%.1f%%)\n",
                      cprof__count(n1, a->temporary), cprof__share(a->temporary, a->allocations));
    cprof__buf_puts(b, "  sizes:");
    for (int k = 0; k < CPROF_ALLOC_HISTOGRAM; k++) {
        if (!a->size_histogram[k]) continue;
        if (k < 2) cprof__buf_textf(b, " %d: %s", k, cprof__count(n1, a->size_histogram[k]));
        else cprof__buf_textf(b, " %llu-%llu: %s", 1ull << (k - 1), (2ull << (k - 1)) - 1, cprof__count(n1, a->size_histogram[k]));
    }
    cprof__buf_puts(b, "\n");
}

static void cprof__report_alloc_sites(cprof__buf *b, const cprof_profile *p, uint32_t max_rows) {
    size_t rows = p->alloc_site_count;
    if (max_rows && max_rows < rows) rows = max_rows;
    cprof__buf_puts(b, "\nAllocation sites, by bytes\n");
    cprof__buf_puts(b, "       count           bytes     average   live      live bytes      peak bytes   temporary  site\n");
    for (size_t i = 0; i < rows; i++) {
        const cprof_alloc_site *s = &p->alloc_sites[i];
        char n[32];
        cprof__buf_pad_left(b, cprof__count(n, s->count), 12);
        cprof__buf_pad_left(b, cprof__count(n, s->bytes), 16);
        cprof__buf_pad_left(b, cprof__count(n, s->count ? s->bytes / s->count : 0), 12);
        cprof__buf_pad_left(b, cprof__count(n, s->live_count), 7);
        cprof__buf_pad_left(b, cprof__count(n, s->live_bytes), 16);
        cprof__buf_pad_left(b, cprof__count(n, s->peak_live_bytes), 16);
        cprof__buf_pad_left(b, cprof__count(n, s->temporary), 12);
        cprof__buf_textf(b, "  %s:%u %s, in ", s->file, (unsigned)s->line, s->function);
        cprof__buf_text_scope_path(b, p, s->node);
        cprof__buf_puts(b, "\n");
    }
    if (rows < p->alloc_site_count)
        cprof__buf_textf(b, "  ... %llu more sites\n", (unsigned long long)(p->alloc_site_count - rows));
}

static void cprof__report_free_problems(cprof__buf *b, const cprof_profile *p) {
    if (!p->free_problem_count) return;
    cprof__buf_puts(b, "\nFrees that went wrong\n");
    for (size_t i = 0; i < p->free_problem_count; i++) {
        const cprof_alloc_site *s = &p->free_problems[i];
        char n[32];
        cprof__buf_textf(b, "  %s:%u %s, in ", s->file, (unsigned)s->line, s->function);
        cprof__buf_text_scope_path(b, p, s->node);
        if (s->kind == CPROF_FREE_UNKNOWN) {
            cprof__buf_textf(b, ": %s frees of blocks the tracker never saw (passed on)\n", cprof__count(n, s->count));
            continue;
        }
        if (s->kind == CPROF_FREE_POSSIBLE_DOUBLE)
            cprof__buf_textf(b, ": %s possible double frees (passed on: the address may have been reused)",
                             cprof__count(n, s->count));
        else
            cprof__buf_textf(b, ": %s double frees (not passed on)", cprof__count(n, s->count));
        if (s->origin < p->alloc_site_count)
            cprof__buf_textf(b, " of blocks allocated at %s:%u", p->alloc_sites[s->origin].file,
                              (unsigned)p->alloc_sites[s->origin].line);
        cprof__buf_puts(b, "\n");
    }
}

/* Lost bytes (definitely, then indirectly) first when the leak check ran, else live bytes. */
static int cprof__compare_leaks(const void *a, const void *b) {
    const cprof_alloc_site *x = *(const cprof_alloc_site *const *)a, *y = *(const cprof_alloc_site *const *)b;
    uint64_t lost_x = x->lost_bytes + x->indirect_bytes, lost_y = y->lost_bytes + y->indirect_bytes;
    if (lost_x != lost_y) return lost_x > lost_y ? -1 : 1;
    if (x->live_bytes != y->live_bytes) return x->live_bytes > y->live_bytes ? -1 : 1;
    return cprof__compare_alloc_sites(x, y);
}

static void cprof__report_leak_site(cprof__buf *b, const cprof_profile *p, const cprof_alloc_site *s) {
    char n1[32], n2[32];
    if (p->allocs.leak_checked && !p->allocs.leak_scan_failed) {
        const uint64_t figures[4][2] = {{s->lost_count, s->lost_bytes}, {s->indirect_count, s->indirect_bytes},
                                        {s->possible_count, s->possible_bytes},
                                        {cprof__difference(s->live_count, s->lost_count + s->indirect_count + s->possible_count),
                                         cprof__difference(s->live_bytes, s->lost_bytes + s->indirect_bytes + s->possible_bytes)}};
        for (int k = 0; k < 4; k++) {
            cprof__buf_pad_left(b, cprof__count(n1, figures[k][0]), 9);
            cprof__buf_pad_left(b, cprof__byte_count(n2, figures[k][1]), 13);
        }
        cprof__buf_puts(b, " ");
    } else {
        cprof__buf_pad_left(b, cprof__count(n1, s->live_count), 10);
        cprof__buf_textf(b, " blocks %s", cprof__byte_count(n2, s->live_bytes));
    }
    cprof__buf_textf(b, "  %s:%u %s, in ", s->file, (unsigned)s->line, s->function);
    cprof__buf_text_scope_path(b, p, s->node);
    cprof__buf_puts(b, "\n");
}

/* The heading: without the leak check every live block; with it, lost apart from still reachable. */
static void cprof__report_leak_totals(cprof__buf *b, const cprof_alloc_totals *a) {
    char n1[32], n2[32];
    if (!a->leak_checked || a->leak_scan_failed) {
        cprof__buf_textf(b, "Leaks: %s blocks, %s still allocated at capture%s\n", cprof__count(n1, a->live_blocks),
                          cprof__byte_count(n2, a->live_bytes),
                          a->leak_scan_failed ? " (the leak check could not scan the roots: nothing classified)" : "");
        return;
    }
    cprof__buf_textf(b, "Leaks: %s blocks, %s definitely lost\n", cprof__count(n1, a->lost_blocks), cprof__byte_count(n2, a->lost_bytes));
    cprof__buf_textf(b, "  indirectly lost: %s blocks, %s\n", cprof__count(n1, a->indirect_blocks), cprof__byte_count(n2, a->indirect_bytes));
    cprof__buf_textf(b, "  possibly lost:   %s blocks, %s\n", cprof__count(n1, a->possible_blocks), cprof__byte_count(n2, a->possible_bytes));
    cprof__buf_textf(b, "  still reachable: %s blocks, %s (in use at capture, not a leak)\n", cprof__count(n1, a->reachable_blocks),
                      cprof__byte_count(n2, a->reachable_bytes));
    cprof__buf_puts(b, "   definitely lost     indirectly lost       possibly lost     still reachable  site\n");
}

/* Blocks still allocated at capture, by site: the lost ones first. */
static void cprof__report_leaks(cprof__buf *b, const cprof_profile *p) {
    size_t count = 0, capacity = 0;
    const cprof_alloc_site **leaks = NULL;
    for (size_t i = 0; i < p->alloc_site_count; i++) {
        if (!p->alloc_sites[i].live_count) continue;
        if (cprof__grow(&leaks, &capacity, count + 1, sizeof *leaks)) { b->failed = 1; break; }
        leaks[count++] = &p->alloc_sites[i];
    }
    if (count) qsort(leaks, count, sizeof *leaks, cprof__compare_leaks);
    cprof__report_leak_totals(b, &p->allocs);
    for (size_t i = 0; i < count; i++) cprof__report_leak_site(b, p, leaks[i]);
    cprof__release(leaks, capacity * sizeof *leaks);
}

static void cprof__report_allocs(cprof__buf *b, const cprof_profile *p, const cprof_report_options *o) {
    if (!p->allocs.tracked) return;
    cprof__report_alloc_totals(b, p);
    cprof__report_alloc_sites(b, p, o->max_functions);
    cprof__report_free_problems(b, p);
    cprof__buf_puts(b, "\n");
    cprof__report_leaks(b, p);
}

int cprof_leaks_write(const cprof_profile *p, FILE *out) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p || !out) return -1;
    if (p->allocs.tracked) cprof__report_leaks(&b, p);
    else cprof__buf_puts(&b, "No allocations were tracked (build with CPROF_WRAP_MALLOC).\n");
    return cprof__buf_to_file(&b, out);
}

static void cprof__report_build(cprof__buf *b, const cprof_profile *p, const cprof_report_options *options) {
    cprof_report_options o = options ? *options : cprof_report_defaults();
    cprof__report_header(b, p);
    cprof__report_counters_header(b, p);
    cprof__report_timeline(b, p);
    cprof__report_messages(b, p);
    if (!p->function_count) {
        cprof__buf_puts(b, "\nNo scopes were recorded.\n");
        cprof__report_allocs(b, p, &o);
        return;
    }
    cprof__report_functions(b, p, &o);
    cprof__report_own_samples(b, p);
    cprof__report_counters(b, p, &o);
    cprof__report_tree(b, p, &o);
    cprof__report_allocs(b, p, &o);
}

int cprof_report_write(const cprof_profile *p, FILE *out, const cprof_report_options *options) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p || !out) return -1;
    cprof__report_build(&b, p, options);
    return cprof__buf_to_file(&b, out);
}

size_t cprof_report_format(const cprof_profile *p, char *buffer, size_t size, const cprof_report_options *options) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p) return 0;
    cprof__report_build(&b, p, options);
    return cprof__buf_to_buffer(&b, buffer, size);
}

int cprof_report_print(FILE *out) {
    cprof_profile *p = cprof_capture();
    int result = p ? cprof_report_write(p, out, NULL) : -1;
    cprof_profile_free(p);
    return result;
}

/* ==================================================================================================
   >>json: the profile file (format 1.2). Integers are written as integers, so every count and time
   survives a round trip; the doubles (timer_hz, running_ratio, sum_sq_ns2, the benchmarks' figures and
   samples) are printed with 17 significant digits in the C locale.
   ================================================================================================== */

/* A JSON string: quotes, backslashes and control characters (C0, DEL, C1) escaped; a byte that is
   not valid UTF-8 becomes U+FFFD, so the file is always valid JSON and a second round trip changes nothing. */
static void cprof__buf_json_string(cprof__buf *b, const char *text) {
    const unsigned char *s = (const unsigned char *)text, *end = s + strlen(text);
    cprof__buf_append(b, "\"", 1);
    while (s < end) {
        size_t length = cprof__utf8_length(s, end);
        if (length == 0) {
            cprof__buf_puts(b, "\xEF\xBF\xBD");
            s++;
        } else if (*s == '"' || *s == '\\') {
            cprof__buf_append(b, "\\", 1);
            cprof__buf_append(b, (const char *)s++, 1);
        } else if (*s < 0x20) {
            static const char short_forms[] = "btn\0fr"; /* \b \t \n \v(none) \f \r for 8..13 */
            if (*s >= 8 && *s <= 13 && short_forms[*s - 8]) cprof__buf_printf(b, "\\%c", short_forms[*s - 8]);
            else cprof__buf_printf(b, "\\u%04x", *s);
            s++;
        } else if (*s == 0x7F || (length == 2 && s[0] == 0xC2 && s[1] < 0xA0)) { /* DEL, C1: kept off terminals */
            cprof__buf_printf(b, "\\u%04x", length == 1 ? s[0] : s[1]);
            s += length;
        } else {
            cprof__buf_append(b, (const char *)s, length);
            s += length;
        }
    }
    cprof__buf_append(b, "\"", 1);
}

static void cprof__json_header(cprof__buf *b, const cprof_profile *p) {
    cprof__buf_printf(b, "{\n  \"format\": \"cprof profile\",\n  \"version\": \"%u.%u\",\n", (unsigned)p->format_major,
                      (unsigned)p->format_minor);
    cprof__buf_puts(b, "  \"program\": ");
    cprof__buf_json_string(b, p->program);
    cprof__buf_printf(b, ",\n  \"start_unix_ns\": %lld,\n  \"wall_ns\": %llu,\n  \"run_ns\": %llu,\n  \"timer\": ",
                      (long long)p->start_unix_ns, (unsigned long long)p->wall_ns, (unsigned long long)p->run_ns);
    cprof__buf_json_string(b, p->timer);
    cprof__buf_puts(b, ",\n  \"timer_hz\": ");
    cprof__buf_double(b, p->timer_hz);
    cprof__buf_printf(b, ",\n  \"dropped_scopes\": %llu,\n  \"messages_dropped\": %llu,\n  \"profiler_bytes\": %llu,\n",
                      (unsigned long long)p->dropped_scopes, (unsigned long long)p->messages_dropped,
                      (unsigned long long)p->profiler_bytes);
    if (p->signal_scopes_dropped) /* since 1.1; written only when there were some */
        cprof__buf_printf(b, "  \"signal_scopes_dropped\": %llu,\n", (unsigned long long)p->signal_scopes_dropped);
    if (p->auto_min_ns) /* since 1.2; written only with automatic instrumentation */
        cprof__buf_printf(b, "  \"auto_min_ns\": %llu,\n", (unsigned long long)p->auto_min_ns);
    if (p->sample_hz) { /* since 1.2; written only for a sampled run ("profiler" only when not 0) */
        cprof__buf_printf(b, "  \"sampling\": {\"hz\": %u, \"samples\": %llu, \"dropped\": %llu", (unsigned)p->sample_hz,
                          (unsigned long long)p->samples, (unsigned long long)p->samples_dropped);
        if (p->samples_profiler) cprof__buf_printf(b, ", \"profiler\": %llu", (unsigned long long)p->samples_profiler);
        cprof__buf_puts(b, "},\n");
    }
    const cprof_preemption *e = &p->preemption;
    if (e->threads || e->error) /* since 1.4; written only when measured, or tried and failed */
        cprof__buf_printf(b, "  \"preemption\": {\"threads\": %u, \"preempted_ns\": %llu, \"preemptions\": %llu, "
                          "\"lost\": %llu, \"error\": %d},\n", (unsigned)e->threads, (unsigned long long)e->preempted_ns,
                          (unsigned long long)e->preemptions, (unsigned long long)e->lost, (int)e->error);
    const cprof_compensation *c = &p->compensation;
    if (!c->applied) return; /* since 1.1; written only when applied */
    cprof__buf_puts(b, "  \"compensation\": {\"inside_ns\": ");
    cprof__buf_double(b, c->inside_ns);
    cprof__buf_puts(b, ", \"outside_ns\": ");
    cprof__buf_double(b, c->outside_ns);
    cprof__buf_printf(b, ", \"scopes\": %llu, \"subtracted_ns\": %llu", (unsigned long long)c->scopes,
                      (unsigned long long)c->subtracted_ns);
    if (c->auto_scopes || c->counted_scopes) { /* since 1.2 */
        cprof__buf_puts(b, ", \"auto_inside_ns\": ");
        cprof__buf_double(b, c->auto_inside_ns);
        cprof__buf_puts(b, ", \"auto_outside_ns\": ");
        cprof__buf_double(b, c->auto_outside_ns);
        cprof__buf_puts(b, ", \"counted_ns\": ");
        cprof__buf_double(b, c->counted_ns);
        cprof__buf_printf(b, ", \"auto_scopes\": %llu, \"counted_scopes\": %llu", (unsigned long long)c->auto_scopes,
                          (unsigned long long)c->counted_scopes);
    }
    cprof__buf_puts(b, "},\n");
}

/* Counters: their descriptions here, each node's inclusive values in its "counters" array. */
static void cprof__json_counters(cprof__buf *b, const cprof_profile *p) {
    cprof__buf_puts(b, "  \"counter_reader\": ");
    cprof__buf_json_string(b, p->counter_reader);
    cprof__buf_puts(b, ",\n  \"counters\": [");
    for (size_t k = 0; k < p->counter_count; k++) {
        const cprof_counter_info *c = &p->counters[k];
        cprof__buf_puts(b, k ? ",\n    {\"name\": " : "\n    {\"name\": ");
        cprof__buf_json_string(b, c->name);
        cprof__buf_printf(b, ", \"available\": %u, \"reason\": ", (unsigned)c->available);
        cprof__buf_json_string(b, c->reason);
        cprof__buf_puts(b, ", \"running_ratio\": ");
        cprof__buf_double(b, c->running_ratio);
        cprof__buf_puts(b, "}");
    }
    cprof__buf_puts(b, p->counter_count ? "\n  ],\n" : "],\n");
}

static void cprof__json_threads_and_sites(cprof__buf *b, const cprof_profile *p) {
    cprof__buf_puts(b, "  \"threads\": [");
    for (size_t i = 0; i < p->thread_count; i++) {
        const cprof_thread_info *t = &p->threads[i];
        cprof__buf_printf(b, "%s\n    {\"id\": %llu, \"name\": ", i ? "," : "", (unsigned long long)t->id);
        cprof__buf_json_string(b, t->name);
        cprof__buf_printf(b, ", \"root\": %u, \"exited\": %u}", (unsigned)t->root, (unsigned)t->exited);
    }
    cprof__buf_puts(b, "\n  ],\n  \"sites\": [");
    for (size_t i = 0; i < p->site_count; i++) {
        const cprof_site_info *s = &p->sites[i];
        cprof__buf_puts(b, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
        cprof__buf_json_string(b, s->name);
        cprof__buf_puts(b, ", \"function\": ");
        cprof__buf_json_string(b, s->function);
        cprof__buf_puts(b, ", \"file\": ");
        cprof__buf_json_string(b, s->file);
        cprof__buf_printf(b, ", \"line\": %u", (unsigned)s->line);
        cprof__buf_puts(b, s->automatic ? ", \"auto\": 1}" : "}"); /* since 1.2, only when 1 */
    }
    cprof__buf_puts(b, "\n  ],\n");
}

/* Nodes in depth-first order, one a line; self time, depth and links are derived again on load. */
static void cprof__json_nodes(cprof__buf *b, const cprof_profile *p) {
    cprof__buf_puts(b, "  \"nodes\": [");
    for (size_t i = 0; i < p->node_count; i++) {
        const cprof_node *n = &p->nodes[i];
        cprof__buf_puts(b, i ? ",\n    {\"site\": " : "\n    {\"site\": ");
        cprof__buf_index(b, n->site);
        cprof__buf_puts(b, ", \"parent\": ");
        cprof__buf_index(b, n->parent);
        cprof__buf_printf(b, ", \"calls\": %llu, \"total_ns\": %llu, \"min_ns\": %llu, \"max_ns\": %llu, \"open\": %u, \"sum_sq_ns2\": ",
                          (unsigned long long)n->calls, (unsigned long long)n->total_ns,
                          (unsigned long long)n->min_ns, (unsigned long long)n->max_ns, (unsigned)n->open);
        cprof__buf_double(b, n->sum_sq_ns2);
        if (p->compensation.applied) cprof__buf_printf(b, ", \"raw_total_ns\": %llu", (unsigned long long)n->raw_total_ns);
        if (n->counted_calls) cprof__buf_printf(b, ", \"counted_calls\": %llu", (unsigned long long)n->counted_calls);
        if (n->sampled) cprof__buf_printf(b, ", \"sampled\": 1, \"samples\": %llu", (unsigned long long)n->samples);
        else if (n->samples) cprof__buf_printf(b, ", \"samples\": %llu", (unsigned long long)n->samples);
        if (p->allocs.tracked)
            cprof__buf_printf(b, ", \"alloc_count\": %llu, \"alloc_bytes\": %llu", (unsigned long long)n->alloc_self_count,
                              (unsigned long long)n->alloc_self_bytes);
        for (size_t k = 0; k < p->counter_count; k++) {
            cprof__buf_puts(b, k ? ", " : ", \"counters\": [");
            cprof__buf_u64(b, p->node_counters[i * p->counter_count + k].total);
        }
        cprof__buf_puts(b, p->counter_count ? "]}" : "}");
    }
    cprof__buf_puts(b, "\n  ],\n");
}

/* "timeline" (format 1.2; only when one was recorded): one event a line, [thread, kind, ref, time_ns]. */
static void cprof__json_timeline(cprof__buf *b, const cprof_profile *p) {
    if (!p->timeline_capacity) return;
    cprof__buf_printf(b, "  \"timeline\": {\"capacity\": %u, \"policy\": \"%s\", \"events_dropped\": %llu, "
                         "\"frame_marks\": %llu,\n    \"events\": [",
                      (unsigned)p->timeline_capacity, p->timeline_policy == CPROF_TIMELINE_FIRST ? "first" : "recent",
                      (unsigned long long)p->events_dropped, (unsigned long long)p->frames.marks);
    for (size_t i = 0; i < p->event_count; i++) {
        const cprof_event *e = &p->events[i];
        cprof__buf_printf(b, "%s[%u, %u, %llu, %llu]", i ? ",\n      " : "\n      ", (unsigned)e->thread,
                          (unsigned)e->kind, (unsigned long long)e->ref, (unsigned long long)e->time_ns);
    }
    cprof__buf_puts(b, p->event_count ? "\n    ]},\n" : "]},\n");
}

/* Functions are derived (and ignored on load); they are in the file for scripts. */
static void cprof__json_functions_and_messages(cprof__buf *b, const cprof_profile *p) {
    cprof__buf_puts(b, "  \"functions\": [");
    for (size_t i = 0; i < p->function_count; i++) {
        const cprof_function *f = &p->functions[i];
        cprof__buf_puts(b, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
        cprof__buf_json_string(b, f->name);
        cprof__buf_printf(b, ", \"calls\": %llu, \"total_ns\": %llu, \"self_ns\": %llu, \"avg_ns\": %llu, \"min_ns\": %llu, \"max_ns\": %llu}",
                          (unsigned long long)f->calls, (unsigned long long)f->total_ns, (unsigned long long)f->self_ns,
                          (unsigned long long)f->avg_ns, (unsigned long long)f->min_ns, (unsigned long long)f->max_ns);
    }
    cprof__buf_puts(b, "\n  ],\n  \"messages\": [");
    for (size_t i = 0; i < p->message_count; i++) {
        const cprof_message *m = &p->messages[i];
        cprof__buf_puts(b, i ? ",\n    {\"file\": " : "\n    {\"file\": ");
        cprof__buf_json_string(b, m->file);
        cprof__buf_printf(b, ", \"line\": %u, \"text\": ", (unsigned)m->line);
        cprof__buf_json_string(b, m->text);
        cprof__buf_puts(b, "}");
    }
    cprof__buf_puts(b, "\n  ]");
    if (!p->budget_count) return;
    cprof__buf_puts(b, ",\n  \"budgets\": [");
    for (size_t i = 0; i < p->budget_count; i++) {
        cprof__buf_puts(b, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
        cprof__buf_json_string(b, p->budgets[i].name);
        cprof__buf_printf(b, ", \"budget_ns\": %llu}", (unsigned long long)p->budgets[i].budget_ns);
    }
    cprof__buf_puts(b, "\n  ]");
}

/* A site's "threads": each thread's share when several used it (the shares are sorted by site). */
static void cprof__json_site_threads(cprof__buf *b, const cprof_profile *p, uint32_t site, size_t *cursor) {
    size_t k = *cursor;
    while (k < p->alloc_site_thread_count && p->alloc_site_threads[k].site < site) k++;
    if (k >= p->alloc_site_thread_count || p->alloc_site_threads[k].site != site) { *cursor = k; return; }
    cprof__buf_puts(b, ", \"threads\": [");
    for (size_t first = k; k < p->alloc_site_thread_count && p->alloc_site_threads[k].site == site; k++) {
        const cprof_alloc_site_thread *t = &p->alloc_site_threads[k];
        cprof__buf_puts(b, k == first ? "{\"thread\": " : ", {\"thread\": ");
        cprof__buf_index(b, t->thread);
        cprof__buf_puts(b, ", \"node\": ");
        cprof__buf_index(b, t->node);
        cprof__buf_printf(b, ", \"count\": %llu, \"bytes\": %llu, \"live_count\": %llu, \"live_bytes\": %llu, "
                             "\"peak_live_bytes\": %llu}",
                          (unsigned long long)t->count, (unsigned long long)t->bytes, (unsigned long long)t->live_count,
                          (unsigned long long)t->live_bytes, (unsigned long long)t->peak_live_bytes);
    }
    cprof__buf_puts(b, "]");
    *cursor = k;
}

/* `p` for the sites' threads (NULL for the free problems). */
static void cprof__json_alloc_sites(cprof__buf *b, const char *key, const cprof_alloc_site *sites, size_t count,
                                    int leak_checked, const cprof_profile *p) {
    size_t cursor = 0;
    cprof__buf_printf(b, ",\n    \"%s\": [", key);
    for (size_t i = 0; i < count; i++) {
        const cprof_alloc_site *s = &sites[i];
        cprof__buf_puts(b, i ? ",\n      {\"file\": " : "\n      {\"file\": ");
        cprof__buf_json_string(b, s->file);
        cprof__buf_puts(b, ", \"function\": ");
        cprof__buf_json_string(b, s->function);
        cprof__buf_printf(b, ", \"line\": %u, \"kind\": %u, \"node\": ", (unsigned)s->line, (unsigned)s->kind);
        cprof__buf_index(b, s->node);
        cprof__buf_puts(b, ", \"origin\": ");
        cprof__buf_index(b, s->origin);
        cprof__buf_printf(b, ", \"count\": %llu, \"bytes\": %llu, \"live_count\": %llu, \"live_bytes\": %llu, "
                             "\"peak_live_bytes\": %llu, \"temporary\": %llu, \"max_bytes\": %llu",
                          (unsigned long long)s->count, (unsigned long long)s->bytes, (unsigned long long)s->live_count,
                          (unsigned long long)s->live_bytes, (unsigned long long)s->peak_live_bytes,
                          (unsigned long long)s->temporary, (unsigned long long)s->max_bytes);
        if (leak_checked) /* only then: older files and unchecked profiles have none */
            cprof__buf_printf(b, ", \"lost_count\": %llu, \"lost_bytes\": %llu, \"indirect_count\": %llu, "
                                 "\"indirect_bytes\": %llu, \"possible_count\": %llu, \"possible_bytes\": %llu",
                              (unsigned long long)s->lost_count, (unsigned long long)s->lost_bytes,
                              (unsigned long long)s->indirect_count, (unsigned long long)s->indirect_bytes,
                              (unsigned long long)s->possible_count, (unsigned long long)s->possible_bytes);
        if (p) /* format 1.2: what it held at the heap's peak, its slack */
            cprof__buf_printf(b, ", \"at_peak_count\": %llu, \"at_peak_bytes\": %llu, \"slack_bytes\": %llu",
                              (unsigned long long)s->at_peak_count, (unsigned long long)s->at_peak_bytes,
                              (unsigned long long)s->slack_bytes);
        if (p) cprof__json_site_threads(b, p, (uint32_t)i, &cursor);
        cprof__buf_puts(b, "}");
    }
    cprof__buf_puts(b, count ? "\n    ]" : "]");
}

static void cprof__json_heap(cprof__buf *b, const char *key, const cprof_heap_info *h) {
    if (!h->measured) return;
    cprof__buf_printf(b, ",\n    \"%s\": {\"arena_bytes\": %llu, \"mmap_bytes\": %llu, \"in_use_bytes\": %llu, "
                         "\"free_bytes\": %llu, \"releasable_bytes\": %llu}",
                      key, (unsigned long long)h->arena_bytes, (unsigned long long)h->mmap_bytes,
                      (unsigned long long)h->in_use_bytes, (unsigned long long)h->free_bytes,
                      (unsigned long long)h->releasable_bytes);
}

/* Format 1.2's memory figures: when the peak was, the slack, the allocator's view, the series
   ("memory": one object per point, its largest sites as [site, bytes] pairs). */
static void cprof__json_memory(cprof__buf *b, const cprof_profile *p) {
    const cprof_alloc_totals *a = &p->allocs;
    cprof__buf_printf(b, ",\n    \"peak_ns\": %llu, \"usable_known\": %u, \"slack_bytes\": %llu",
                      (unsigned long long)a->peak_ns, (unsigned)a->usable_known, (unsigned long long)a->slack_bytes);
    cprof__json_heap(b, "heap_at_peak", &a->heap_at_peak);
    cprof__json_heap(b, "heap_at_capture", &a->heap_at_capture);
    cprof__buf_puts(b, ",\n    \"memory\": [");
    for (size_t i = 0; i < p->memory_point_count; i++) {
        const cprof_memory_point *point = &p->memory_points[i];
        cprof__buf_printf(b, "%s{\"time_ns\": %llu, \"live_bytes\": %llu, \"sites\": [", i ? ",\n      " : "\n      ",
                          (unsigned long long)point->time_ns, (unsigned long long)point->live_bytes);
        for (uint32_t k = 0; k < point->share_count; k++) {
            const cprof_memory_share *share = &p->memory_shares[point->first_share + k];
            cprof__buf_printf(b, "%s[%u, %llu]", k ? ", " : "", (unsigned)share->site, (unsigned long long)share->bytes);
        }
        cprof__buf_puts(b, "]}");
    }
    cprof__buf_puts(b, p->memory_point_count ? "\n    ]" : "]");
}

/* >>allocs: the totals, the size histogram, the leak check, the sites (their live figures, lost ones and threads), the free problems. */
static void cprof__json_allocs(cprof__buf *b, const cprof_profile *p) {
    const cprof_alloc_totals *a = &p->allocs;
    if (!a->tracked) return;
    cprof__buf_printf(b, "  \"allocations\": {\"allocations\": %llu, \"frees\": %llu, \"bytes_allocated\": %llu, "
                         "\"bytes_freed\": %llu, \"live_blocks\": %llu, \"live_bytes\": %llu, \"peak_live_bytes\": %llu, "
                         "\"temporary\": %llu, \"unknown_frees\": %llu, \"double_frees\": %llu, "
                         "\"possible_double_frees\": %llu, \"peak_node\": ",
                      (unsigned long long)a->allocations, (unsigned long long)a->frees,
                      (unsigned long long)a->bytes_allocated, (unsigned long long)a->bytes_freed,
                      (unsigned long long)a->live_blocks, (unsigned long long)a->live_bytes,
                      (unsigned long long)a->peak_live_bytes, (unsigned long long)a->temporary,
                      (unsigned long long)a->unknown_frees, (unsigned long long)a->double_frees,
                      (unsigned long long)a->possible_double_frees);
    cprof__buf_index(b, a->peak_node);
    cprof__buf_puts(b, ",\n    \"size_histogram\": [");
    for (int k = 0; k < CPROF_ALLOC_HISTOGRAM; k++)
        cprof__buf_printf(b, "%s%llu", k ? ", " : "", (unsigned long long)a->size_histogram[k]);
    cprof__buf_puts(b, "]");
    if (a->leak_checked) /* the sums and whether the roots could be scanned; reachable = live - the rest */
        cprof__buf_printf(b, ",\n    \"leak_check\": {\"scan_failed\": %u, \"lost_blocks\": %llu, \"lost_bytes\": %llu, "
                             "\"indirect_blocks\": %llu, \"indirect_bytes\": %llu, \"possible_blocks\": %llu, "
                             "\"possible_bytes\": %llu, \"reachable_blocks\": %llu, \"reachable_bytes\": %llu}",
                          (unsigned)a->leak_scan_failed, (unsigned long long)a->lost_blocks, (unsigned long long)a->lost_bytes,
                          (unsigned long long)a->indirect_blocks, (unsigned long long)a->indirect_bytes,
                          (unsigned long long)a->possible_blocks, (unsigned long long)a->possible_bytes,
                          (unsigned long long)a->reachable_blocks, (unsigned long long)a->reachable_bytes);
    cprof__json_memory(b, p);
    cprof__json_alloc_sites(b, "sites", p->alloc_sites, p->alloc_site_count, (int)a->leak_checked, p);
    cprof__json_alloc_sites(b, "free_problems", p->free_problems, p->free_problem_count, 0, NULL);
    cprof__buf_puts(b, "},\n");
}

/* --- the profile file: "benchmarks", written only when there are some; the statistics are written for
   scripts and derived again from the samples on load ------------------------------------------------- */
static void cprof__json_benchmark(cprof__buf *b, const cprof_benchmark *r) {
    cprof__buf_puts(b, "{\"name\": ");
    cprof__buf_json_string(b, r->name);
    cprof__buf_printf(b, ", \"n\": %llu, \"items\": %llu, \"bytes\": %llu, \"warmup_iterations\": %llu, "
                         "\"iterations\": %llu, \"batch\": %llu",
                      (unsigned long long)r->n, (unsigned long long)r->items, (unsigned long long)r->bytes,
                      (unsigned long long)r->warmup_iterations, (unsigned long long)r->iterations,
                      (unsigned long long)r->batch);
    if (r->group) cprof__buf_printf(b, ", \"group\": %u", (unsigned)r->group); /* 1.3; only when timed in a group */
    cprof__buf_puts(b, ",\n      \"median_ns\": ");
    cprof__buf_double(b, r->stats.median_ns);
    cprof__buf_puts(b, ", \"mean_ns\": ");
    cprof__buf_double(b, r->stats.mean_ns);
    cprof__buf_puts(b, ", \"stddev_ns\": ");
    cprof__buf_double(b, r->stats.stddev_ns);
    cprof__buf_puts(b, ", \"mad_ns\": ");
    cprof__buf_double(b, r->stats.mad_ns);
    cprof__buf_printf(b, ", \"outliers\": %u,\n      \"samples_ns\": [",
                      (unsigned)(r->stats.outliers_low + r->stats.outliers_high));
    for (size_t i = 0; i < r->sample_count; i++) {
        if (i) cprof__buf_puts(b, ", ");
        cprof__buf_double(b, r->samples_ns[i]);
    }
    cprof__buf_puts(b, "]}");
}

static void cprof__json_benchmarks(cprof__buf *b, const cprof_profile *p) {
    if (!p->benchmark_count) return;
    cprof__buf_puts(b, ",\n  \"benchmarks\": [");
    for (size_t i = 0; i < p->benchmark_count; i++) {
        cprof__buf_puts(b, i ? ",\n    " : "\n    ");
        cprof__json_benchmark(b, &p->benchmarks[i]);
    }
    cprof__buf_puts(b, "\n  ]");
}

static void cprof__json_build(cprof__buf *b, const cprof_profile *p) {
    cprof__json_header(b, p);
    cprof__json_counters(b, p);
    cprof__json_threads_and_sites(b, p);
    cprof__json_nodes(b, p);
    cprof__json_timeline(b, p);
    cprof__json_allocs(b, p);
    cprof__json_functions_and_messages(b, p);
    cprof__json_benchmarks(b, p);
    cprof__buf_puts(b, "\n}\n");
}

int cprof_json_write(const cprof_profile *p, FILE *out) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p) return -1;
    cprof__json_build(&b, p);
    return cprof__buf_to_file(&b, out);
}

/* ==================================================================================================
   >>folded: collapsed stacks (flamegraph.pl, speedscope): "frame;frame;frame self_ns", sorted bytewise
   ================================================================================================== */
cprof_folded_options cprof_folded_defaults(void) {
    cprof_folded_options options;
    options.thread_frames = 0;
    options.metric = NULL;
    return options;
}

/* A frame name that cannot break the line's grammar: ';' separates frames, the last space the number,
   a newline the lines. Newlines become spaces, other control characters and invalid UTF-8 are shown
   as in the text report (cprof__buf_text). */
static void cprof__buf_frame(cprof__buf *b, const char *name) {
    size_t start = b->length;
    if (!name[0]) name = "?";
    cprof__buf_text(b, name, strlen(name), "\n\r");
    for (size_t i = start; i < b->length; i++)
        if (b->data[i] == ';') b->data[i] = ':';
}

/* What a folded line's number, a flame graph frame's width or an export's value measures. A node
   contributes its own share (self time, its own calls); a flame graph frame is its node's share plus
   its children's frames, so a parent is never narrower than them. */
typedef struct cprof__metric {
    const char *name; /* as in --metric=NAME */
    const char *unit; /* of its values: "nanoseconds", "calls", "bytes", "allocations" */
    uint64_t (*self_value)(const cprof_node *node);
    const char *(*format)(char out[32], uint64_t value);
} cprof__metric;

static uint64_t cprof__metric_self_ns(const cprof_node *node) { return node->self_ns; }
static uint64_t cprof__metric_own_calls(const cprof_node *node) { return node->calls; }
static uint64_t cprof__metric_alloc_bytes(const cprof_node *node) { return node->alloc_self_bytes; }
static uint64_t cprof__metric_alloc_count(const cprof_node *node) { return node->alloc_self_count; }

static const cprof__metric cprof__metrics[] = {
    {"time", "nanoseconds", cprof__metric_self_ns, cprof__duration},
    {"calls", "calls", cprof__metric_own_calls, cprof__count},
    {"alloc-bytes", "bytes", cprof__metric_alloc_bytes, cprof__byte_count},
    {"alloc-count", "allocations", cprof__metric_alloc_count, cprof__count},
};
#define CPROF__METRIC_COUNT (sizeof cprof__metrics / sizeof cprof__metrics[0])

static const cprof__metric *cprof__metric_find(const char *name) {
    if (!name) name = "time";
    for (size_t i = 0; i < CPROF__METRIC_COUNT; i++)
        if (strcmp(cprof__metrics[i].name, name) == 0) return &cprof__metrics[i];
    return NULL;
}

/* A metric of one profile: a row of cprof__metrics, or one of the profile's counters. */
typedef struct cprof__profile_metric {
    const cprof__metric *row; /* NULL for a counter */
    uint32_t counter;         /* index into the profile's counters; CPROF_NONE for a row */
} cprof__profile_metric;

/* The metric called `name` (NULL: time) in p: a row, or a counter the profile counted. -1 when none. */
static int cprof__profile_metric_find(const cprof_profile *p, const char *name, cprof__profile_metric *out) {
    out->row = cprof__metric_find(name);
    out->counter = out->row ? CPROF_NONE : cprof_counter_find(p, name);
    return out->row || (out->counter != CPROF_NONE && p->counters[out->counter].available) ? 0 : -1;
}

/* The metrics p has, in a fixed order: time and calls, the allocations when tracked, each counter
   counted. out holds CPROF__METRIC_COUNT + p->counter_count; returns how many. */
static size_t cprof__profile_metrics(const cprof_profile *p, cprof__profile_metric *out) {
    size_t count = 0;
    for (size_t i = 0; i < CPROF__METRIC_COUNT; i++) {
        if (strncmp(cprof__metrics[i].name, "alloc-", 6) == 0 && !p->allocs.tracked) continue;
        out[count].row = &cprof__metrics[i];
        out[count++].counter = CPROF_NONE;
    }
    for (uint32_t k = 0; k < p->counter_count; k++) {
        if (!p->counters[k].available) continue;
        out[count].row = NULL;
        out[count++].counter = k;
    }
    return count;
}

static const char *cprof__profile_metric_name(const cprof_profile *p, cprof__profile_metric m) {
    return m.row ? m.row->name : p->counters[m.counter].name;
}

static const char *cprof__profile_metric_unit(cprof__profile_metric m) { return m.row ? m.row->unit : "events"; }

/* A node's own value of the metric (0 for a thread's root). */
static uint64_t cprof__profile_metric_self(const cprof_profile *p, cprof__profile_metric m, uint32_t node) {
    if (p->nodes[node].site == CPROF_NONE) return 0;
    return m.row ? m.row->self_value(&p->nodes[node]) : cprof_node_counter(p, node, m.counter).self;
}

typedef struct cprof__stack_line {
    size_t offset; /* of the stack text in the scratch buffer */
    uint64_t value;
} cprof__stack_line;

static const char *cprof__sort_text; /* qsort has no context argument; the folded writer holds the lock */
static int cprof__compare_stack_lines(const void *a, const void *b) {
    const cprof__stack_line *x = (const cprof__stack_line *)a, *y = (const cprof__stack_line *)b;
    return strcmp(cprof__sort_text + x->offset, cprof__sort_text + y->offset);
}

/* The nodes from `node` up to (not including) its thread's root, leaf first, into path (room for
   CPROF__MAX_TREE_DEPTH + 1); returns how many. */
static uint32_t cprof__node_path(const cprof_profile *p, uint32_t node, uint32_t *path) {
    uint32_t depth = 0;
    for (uint32_t at = node; p->nodes[at].site != CPROF_NONE && depth <= CPROF__MAX_TREE_DEPTH; at = p->nodes[at].parent)
        path[depth++] = at;
    return depth;
}

/* The stack of node `index` as "root;...;node" into the scratch buffer, NUL-terminated. */
static void cprof__stack_text(cprof__buf *scratch, const cprof_profile *p, uint32_t index, int thread_frames) {
    uint32_t path[CPROF__MAX_TREE_DEPTH + 1];
    uint32_t depth = cprof__node_path(p, index, path);
    if (thread_frames) { /* "[thread " and "]" around it, so that no function frame looks the same */
        cprof__buf_puts(scratch, "[thread ");
        cprof__buf_frame(scratch, p->threads[p->nodes[index].thread].name);
        cprof__buf_puts(scratch, depth ? "];" : "]");
    }
    while (depth--) {
        cprof__buf_frame(scratch, p->sites[p->nodes[path[depth]].site].name);
        if (depth) cprof__buf_append(scratch, ";", 1);
    }
    cprof__buf_append(scratch, "", 1); /* keep the NUL as a separator */
}

static void cprof__folded_build(cprof__buf *b, const cprof_profile *p, const cprof_folded_options *options) {
    static cprof__mutex sort_lock = CPROF__MUTEX_INIT;
    cprof_folded_options o = options ? *options : cprof_folded_defaults();
    cprof__profile_metric metric;
    cprof__buf scratch;
    memset(&scratch, 0, sizeof scratch);
    cprof__stack_line *lines = NULL;
    size_t count = 0, capacity = 0;
    if (cprof__profile_metric_find(p, o.metric, &metric)) b->failed = 1; /* a metric p does not have */
    for (size_t i = 0; i < p->node_count && !b->failed; i++) {
        uint64_t value = cprof__profile_metric_self(p, metric, (uint32_t)i);
        if (value == 0) continue;
        if (cprof__grow(&lines, &capacity, count + 1, sizeof *lines)) { b->failed = 1; break; }
        lines[count].offset = scratch.length;
        lines[count++].value = value;
        cprof__stack_text(&scratch, p, (uint32_t)i, o.thread_frames);
    }
    b->failed |= scratch.failed;
    if (count && !b->failed) {
        cprof__mutex_lock(&sort_lock);
        cprof__sort_text = scratch.data;
        qsort(lines, count, sizeof *lines, cprof__compare_stack_lines);
        cprof__mutex_unlock(&sort_lock);
    }
    for (size_t i = 0; i < count && !b->failed; i++) { /* equal stacks (threads merged) add up */
        uint64_t value = lines[i].value;
        while (i + 1 < count && strcmp(scratch.data + lines[i].offset, scratch.data + lines[i + 1].offset) == 0)
            value += lines[++i].value;
        cprof__buf_printf(b, "%s %llu\n", scratch.data + lines[i].offset, (unsigned long long)value);
    }
    cprof__release(lines, capacity * sizeof *lines);
    cprof__buf_free(&scratch);
}

int cprof_folded_write(const cprof_profile *p, FILE *out, const cprof_folded_options *options) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p) return -1;
    cprof__folded_build(&b, p, options);
    return cprof__buf_to_file(&b, out);
}

/* ==================================================================================================
   >>stats: one tab-separated row per function, with a header line, for scripts and spreadsheets
   ================================================================================================== */
/* A field: tab, newline and carriage return become spaces, other control characters and invalid UTF-8
   are shown as in the text report (cprof__buf_text). */
static void cprof__buf_tsv_field(cprof__buf *b, const char *text) { cprof__buf_text(b, text, strlen(text), "\t\n\r"); }

static void cprof__stats_build(cprof__buf *b, const cprof_profile *p) {
    cprof__buf_puts(b, "function\tcalls\ttotal_ns\tself_ns\tavg_ns\tmin_ns\tmax_ns\tpct_total\tpct_self\tfile\tline");
    for (size_t k = 0; k < p->counter_count; k++) {
        cprof__buf_puts(b, "\t");
        cprof__buf_tsv_field(b, p->counters[k].name);
        cprof__buf_puts(b, "_self");
    }
    cprof__buf_puts(b, "\n");
    for (size_t i = 0; i < p->function_count; i++) {
        const cprof_function *f = &p->functions[i];
        const cprof_site_info *site = &p->sites[f->site];
        cprof__buf_tsv_field(b, f->name);
        cprof__buf_printf(b, "\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%.3f\t%.3f\t", (unsigned long long)f->calls,
                          (unsigned long long)f->total_ns, (unsigned long long)f->self_ns, (unsigned long long)f->avg_ns,
                          (unsigned long long)f->min_ns, (unsigned long long)f->max_ns, f->pct_total, f->pct_self);
        cprof__buf_tsv_field(b, site->file);
        cprof__buf_printf(b, "\t%u", (unsigned)site->line);
        for (size_t k = 0; k < p->counter_count; k++)
            cprof__buf_printf(b, "\t%llu", (unsigned long long)p->function_counters[i * p->counter_count + k].self);
        cprof__buf_puts(b, "\n");
    }
}

int cprof_stats_write(const cprof_profile *p, FILE *out) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p) return -1;
    cprof__stats_build(&b, p);
    return cprof__buf_to_file(&b, out);
}

/* ==================================================================================================
   >>export: the formats other tools read: pprof's profile.proto (go tool pprof, Pyroscope, Parca),
   callgrind's text format (callgrind_annotate, KCachegrind) and speedscope's JSON. Every name is shown
   as in TEXT OUTPUT, so each tool lists the names cprof's own report does; the values are the
   profile's metrics (cprof__profile_metrics), each node's own share, as in the folded stacks.
   ================================================================================================== */
/* The metrics of p and, per node and metric, the metric summed over the node's subtree (what a
   caller pays for a call). Nodes come after their parent, so one backward pass adds each subtree
   into its parent. */
typedef struct cprof__export {
    const cprof_profile *p;
    cprof__profile_metric *metrics;
    size_t metric_count;
    uint64_t *inclusive; /* [node * metric_count + metric] */
} cprof__export;

static void cprof__export_free(cprof__export *x) {
    cprof__release(x->metrics, (CPROF__METRIC_COUNT + x->p->counter_count) * sizeof *x->metrics);
    cprof__release(x->inclusive, (x->p->node_count ? x->p->node_count : 1) * x->metric_count * sizeof *x->inclusive);
}

static int cprof__export_init(cprof__export *x, const cprof_profile *p) {
    memset(x, 0, sizeof *x);
    x->p = p;
    x->metrics = (cprof__profile_metric *)cprof__alloc((CPROF__METRIC_COUNT + p->counter_count) * sizeof *x->metrics);
    if (!x->metrics) return -1;
    x->metric_count = cprof__profile_metrics(p, x->metrics);
    x->inclusive = (uint64_t *)cprof__alloc((p->node_count ? p->node_count : 1) * x->metric_count * sizeof *x->inclusive);
    if (!x->inclusive) return cprof__export_free(x), -1;
    for (size_t i = 0; i < p->node_count; i++)
        for (size_t k = 0; k < x->metric_count; k++)
            x->inclusive[i * x->metric_count + k] = cprof__profile_metric_self(p, x->metrics[k], (uint32_t)i);
    for (size_t i = p->node_count; i-- > 0;) {
        uint32_t parent = p->nodes[i].parent;
        if (parent == CPROF_NONE) continue;
        for (size_t k = 0; k < x->metric_count; k++)
            x->inclusive[parent * x->metric_count + k] += x->inclusive[i * x->metric_count + k];
    }
    return 0;
}

static uint64_t cprof__export_self(const cprof__export *x, uint32_t node, size_t metric) {
    return cprof__profile_metric_self(x->p, x->metrics[metric], node);
}

/* --- pprof: profile.proto (github.com/google/pprof, proto/profile.proto), written uncompressed or
   as gzip with stored (uncompressed) deflate blocks: pprof reads both, and a real deflate encoder is
   not worth its code here (`gzip -9` compresses the file when size matters) --- */
enum { CPROF__PB_VARINT = 0, CPROF__PB_BYTES = 2 };

static void cprof__pb_varint(cprof__buf *b, uint64_t value) {
    unsigned char bytes[10];
    size_t n = 0;
    do {
        bytes[n++] = (unsigned char)((value & 0x7F) | (value > 0x7F ? 0x80 : 0));
        value >>= 7;
    } while (value);
    cprof__buf_append(b, (const char *)bytes, n);
}

static void cprof__pb_number(cprof__buf *b, uint32_t field, uint64_t value) {
    cprof__pb_varint(b, (uint64_t)field << 3 | CPROF__PB_VARINT);
    cprof__pb_varint(b, value);
}

static void cprof__pb_bytes(cprof__buf *b, uint32_t field, const char *data, size_t length) {
    cprof__pb_varint(b, (uint64_t)field << 3 | CPROF__PB_BYTES);
    cprof__pb_varint(b, length);
    cprof__buf_append(b, data ? data : "", length);
}

/* Appends the message built in `inner` as field `field` of b, and empties inner for the next one. */
static void cprof__pb_message(cprof__buf *b, uint32_t field, cprof__buf *inner) {
    b->failed |= inner->failed;
    cprof__pb_bytes(b, field, inner->data, inner->length);
    inner->length = 0;
}

/* Where each string sits in the string table (written last, in this order): "" and the label keys,
   then two per metric (its name, its unit), one per thread, three per site (name, function, file). */
enum { CPROF__PB_THREAD_KEY = 1, CPROF__PB_THREAD_ID_KEY = 2, CPROF__PB_COMMENT = 3, CPROF__PB_FIRST_METRIC = 4 };

static const char *cprof__pprof_unit(cprof__profile_metric m) {
    const char *unit = cprof__profile_metric_unit(m);
    return strcmp(unit, "nanoseconds") == 0 || strcmp(unit, "bytes") == 0 ? unit : "count";
}

static void cprof__pprof_strings(cprof__buf *b, const cprof__export *x, cprof__buf *text) {
    const cprof_profile *p = x->p;
    cprof__pb_bytes(b, 6, "", 0);
    cprof__pb_bytes(b, 6, "thread", 6);
    cprof__pb_bytes(b, 6, "thread_id", 9);
    cprof__buf_printf(text, "cprof %s: ", CPROF_VERSION);
    cprof__buf_text_string(text, p->program);
    cprof__pb_message(b, 6, text);
    for (size_t k = 0; k < x->metric_count; k++) {
        cprof__buf_text_string(text, cprof__profile_metric_name(p, x->metrics[k]));
        cprof__pb_message(b, 6, text);
        cprof__pb_bytes(b, 6, cprof__pprof_unit(x->metrics[k]), strlen(cprof__pprof_unit(x->metrics[k])));
    }
    for (size_t t = 0; t < p->thread_count; t++) {
        cprof__buf_text_string(text, p->threads[t].name);
        cprof__pb_message(b, 6, text);
    }
    for (size_t s = 0; s < p->site_count; s++) {
        const char *strings[3] = {p->sites[s].name, p->sites[s].function, p->sites[s].file};
        for (int i = 0; i < 3; i++) {
            cprof__buf_text_string(text, strings[i] ? strings[i] : "");
            cprof__pb_message(b, 6, text);
        }
    }
}

/* One Sample per node with a value: its stack leaf first (a location per site), its own values, and
   its thread as the labels thread (the name) and thread_id. */
static void cprof__pprof_sample(cprof__buf *b, const cprof__export *x, uint32_t node, cprof__buf *inner, cprof__buf *packed) {
    const cprof_profile *p = x->p;
    uint32_t path[CPROF__MAX_TREE_DEPTH + 1];
    uint32_t depth = cprof__node_path(p, node, path);
    for (uint32_t i = 0; i < depth; i++) cprof__pb_varint(packed, p->nodes[path[i]].site + 1ull);
    cprof__pb_message(inner, 1, packed);
    for (size_t k = 0; k < x->metric_count; k++) cprof__pb_varint(packed, cprof__export_self(x, node, k));
    cprof__pb_message(inner, 2, packed);
    cprof__pb_number(packed, 1, CPROF__PB_THREAD_KEY);
    cprof__pb_number(packed, 2, CPROF__PB_FIRST_METRIC + 2 * x->metric_count + p->nodes[node].thread);
    cprof__pb_message(inner, 3, packed);
    cprof__pb_number(packed, 1, CPROF__PB_THREAD_ID_KEY);
    cprof__pb_number(packed, 3, p->threads[p->nodes[node].thread].id);
    cprof__pb_message(inner, 3, packed);
    cprof__pb_message(b, 2, inner);
}

/* A Function and a Location per site (id: the site's index + 1). */
static void cprof__pprof_sites(cprof__buf *b, const cprof__export *x, cprof__buf *inner, cprof__buf *line) {
    uint64_t first_site_string = CPROF__PB_FIRST_METRIC + 2 * x->metric_count + x->p->thread_count;
    for (size_t s = 0; s < x->p->site_count; s++) {
        cprof__pb_number(inner, 1, s + 1);
        cprof__pb_number(inner, 2, first_site_string + 3 * s);
        cprof__pb_number(inner, 3, first_site_string + 3 * s + 1);
        cprof__pb_number(inner, 4, first_site_string + 3 * s + 2);
        cprof__pb_number(inner, 5, x->p->sites[s].line);
        cprof__pb_message(b, 5, inner);
        cprof__pb_number(line, 1, s + 1);
        cprof__pb_number(line, 2, x->p->sites[s].line);
        cprof__pb_number(inner, 1, s + 1);
        cprof__pb_message(inner, 4, line);
        cprof__pb_message(b, 4, inner);
    }
}

static void cprof__pprof_build(cprof__buf *b, const cprof__export *x) {
    const cprof_profile *p = x->p;
    cprof__buf inner, packed;
    memset(&inner, 0, sizeof inner);
    memset(&packed, 0, sizeof packed);
    for (size_t k = 0; k < x->metric_count; k++) { /* sample_type: ValueType {type, unit} */
        cprof__pb_number(&inner, 1, CPROF__PB_FIRST_METRIC + 2 * k);
        cprof__pb_number(&inner, 2, CPROF__PB_FIRST_METRIC + 2 * k + 1);
        cprof__pb_message(b, 1, &inner);
    }
    for (uint32_t i = 0; i < p->node_count && !b->failed; i++) {
        int any = 0;
        for (size_t k = 0; k < x->metric_count; k++) any |= cprof__export_self(x, i, k) != 0;
        if (any) cprof__pprof_sample(b, x, i, &inner, &packed);
    }
    cprof__pprof_sites(b, x, &inner, &packed);
    cprof__pprof_strings(b, x, &inner);
    cprof__pb_number(b, 9, (uint64_t)p->start_unix_ns);
    cprof__pb_number(b, 10, p->wall_ns);
    cprof__pb_number(b, 13, CPROF__PB_COMMENT);
    cprof__pb_number(b, 14, CPROF__PB_FIRST_METRIC); /* default_sample_type: time */
    b->failed |= inner.failed | packed.failed;
    cprof__buf_free(&inner);
    cprof__buf_free(&packed);
}

static uint32_t cprof__crc32(uint32_t crc, const unsigned char *s, size_t length) {
    crc = ~crc;
    while (length--) {
        crc ^= *s++;
        for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void cprof__buf_le32(cprof__buf *b, uint32_t value) {
    unsigned char bytes[4] = {(unsigned char)value, (unsigned char)(value >> 8), (unsigned char)(value >> 16),
                              (unsigned char)(value >> 24)};
    cprof__buf_append(b, (const char *)bytes, 4);
}

/* data as a gzip member (RFC 1952) whose deflate stream (RFC 1951) is stored blocks of at most 65535 bytes. */
static void cprof__gzip_stored(cprof__buf *out, const char *data, size_t length) {
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}; /* deflate, no name, no time */
    cprof__buf_append(out, (const char *)header, sizeof header);
    size_t at = 0;
    do {
        size_t n = length - at < 65535 ? length - at : 65535;
        unsigned char block[5] = {(unsigned char)(at + n == length), (unsigned char)n, (unsigned char)(n >> 8),
                                  (unsigned char)~n, (unsigned char)(~n >> 8)}; /* BFINAL, BTYPE 00, LEN, NLEN */
        cprof__buf_append(out, (const char *)block, 5);
        cprof__buf_append(out, data + at, n);
        at += n;
    } while (at < length);
    cprof__buf_le32(out, cprof__crc32(0, (const unsigned char *)data, length));
    cprof__buf_le32(out, (uint32_t)length);
}

int cprof_pprof_write(const cprof_profile *p, FILE *out, int gzipped) {
    cprof__export x;
    cprof__buf b, gz;
    memset(&b, 0, sizeof b);
    memset(&gz, 0, sizeof gz);
    if (!p || cprof__export_init(&x, p)) return -1;
    cprof__pprof_build(&b, &x);
    cprof__export_free(&x);
    if (!gzipped) return cprof__buf_to_file(&b, out);
    cprof__gzip_stored(&gz, b.data ? b.data : "", b.length);
    gz.failed |= b.failed;
    cprof__buf_free(&b);
    return cprof__buf_to_file(&gz, out);
}

/* --- callgrind: valgrind's "Callgrind Format Specification", version 1. One function per site (its
   name and file compressed to "(id)" after their first use, the id the site's index + 1), the
   threads merged: per node its own costs on its site's line, then per child "calls=CALLS LINE" and
   the child's subtree costs. Events: every metric but calls (the calls= lines carry them). --- */

/* An event name: the metric's, each character but a letter, digit or '_' as '_'. */
static void cprof__callgrind_event(cprof__buf *b, const char *name) {
    for (; *name; name++) {
        char c = *name;
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        cprof__buf_append(b, plain ? &c : "_", 1);
    }
}

static int cprof__callgrind_is_event(const cprof__export *x, size_t k) {
    return !(x->metrics[k].row && strcmp(x->metrics[k].row->name, "calls") == 0);
}

/* "fl=(3) tests/a.c" the first time, "fl=(3)" later; named[site] remembers. */
static void cprof__callgrind_name(cprof__buf *b, const char *key, uint32_t site, const char *name, unsigned char *named) {
    cprof__buf_printf(b, "%s=(%u)", key, site + 1);
    if (!*named) {
        cprof__buf_append(b, " ", 1);
        cprof__buf_text_string(b, name && name[0] ? name : "?");
        *named = 1;
    }
    cprof__buf_append(b, "\n", 1);
}

static void cprof__callgrind_costs(cprof__buf *b, const cprof__export *x, uint32_t line, uint32_t node, int inclusive) {
    cprof__buf_printf(b, "%u", line);
    for (size_t k = 0; k < x->metric_count; k++) {
        if (!cprof__callgrind_is_event(x, k)) continue;
        uint64_t value = inclusive ? x->inclusive[node * x->metric_count + k] : cprof__export_self(x, node, k);
        cprof__buf_printf(b, " %llu", (unsigned long long)value);
    }
    cprof__buf_append(b, "\n", 1);
}

static void cprof__callgrind_header(cprof__buf *b, const cprof__export *x) {
    cprof__buf_printf(b, "# callgrind format\nversion: 1\ncreator: cprof %s\ncmd: ", CPROF_VERSION);
    cprof__buf_text_string(b, x->p->program);
    cprof__buf_puts(b, "\npositions: line\n");
    for (size_t k = 0; k < x->metric_count; k++) {
        if (!cprof__callgrind_is_event(x, k)) continue;
        cprof__buf_puts(b, "event: ");
        cprof__callgrind_event(b, cprof__profile_metric_name(x->p, x->metrics[k]));
        cprof__buf_puts(b, " : ");
        cprof__buf_text_string(b, cprof__profile_metric_name(x->p, x->metrics[k]));
        cprof__buf_printf(b, " (%s)\n", cprof__profile_metric_unit(x->metrics[k]));
    }
    cprof__buf_puts(b, "events:");
    for (size_t k = 0; k < x->metric_count; k++) {
        if (!cprof__callgrind_is_event(x, k)) continue;
        cprof__buf_append(b, " ", 1);
        cprof__callgrind_event(b, cprof__profile_metric_name(x->p, x->metrics[k]));
    }
    cprof__buf_puts(b, "\nsummary:");
    for (size_t k = 0; k < x->metric_count; k++) { /* the sum of every node's own costs */
        uint64_t total = 0;
        for (size_t t = 0; t < x->p->thread_count && cprof__callgrind_is_event(x, k); t++)
            total += x->inclusive[x->p->threads[t].root * x->metric_count + k];
        if (cprof__callgrind_is_event(x, k)) cprof__buf_printf(b, " %llu", (unsigned long long)total);
    }
    cprof__buf_puts(b, "\n\n");
}

static void cprof__callgrind_build(cprof__buf *b, const cprof__export *x, unsigned char *named) {
    const cprof_profile *p = x->p;
    unsigned char *file_named = named, *function_named = named + p->site_count;
    cprof__callgrind_header(b, x);
    for (uint32_t i = 0; i < p->node_count && !b->failed; i++) {
        const cprof_node *n = &p->nodes[i];
        if (n->site == CPROF_NONE) continue;
        cprof__callgrind_name(b, "fl", n->site, p->sites[n->site].file, &file_named[n->site]);
        cprof__callgrind_name(b, "fn", n->site, p->sites[n->site].name, &function_named[n->site]);
        cprof__callgrind_costs(b, x, p->sites[n->site].line, i, 0);
        for (uint32_t c = n->first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling) {
            uint32_t site = p->nodes[c].site;
            cprof__callgrind_name(b, "cfl", site, p->sites[site].file, &file_named[site]);
            cprof__callgrind_name(b, "cfn", site, p->sites[site].name, &function_named[site]);
            cprof__buf_printf(b, "calls=%llu %u\n", (unsigned long long)p->nodes[c].calls, p->sites[site].line);
            cprof__callgrind_costs(b, x, p->sites[n->site].line, c, 1);
        }
        cprof__buf_append(b, "\n", 1);
    }
}

int cprof_callgrind_write(const cprof_profile *p, FILE *out) {
    cprof__export x;
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p || cprof__export_init(&x, p)) return -1;
    unsigned char *named = (unsigned char *)cprof__alloc(2 * p->site_count + 1);
    if (named) cprof__callgrind_build(&b, &x, named);
    else b.failed = 1;
    cprof__release(named, 2 * p->site_count + 1);
    cprof__export_free(&x);
    return cprof__buf_to_file(&b, out);
}

/* --- speedscope: its file format (https://www.speedscope.app/file-format-schema.json), a "sampled"
   profile per thread and metric with each call path once, weighted by its own value; units
   nanoseconds, bytes, or none (calls, allocations, counter events) --- */

/* text as a JSON string, shown as in TEXT OUTPUT first (scratch is a work buffer). */
static void cprof__buf_json_text(cprof__buf *b, cprof__buf *scratch, const char *text) {
    scratch->length = 0;
    cprof__buf_text_string(scratch, text ? text : "");
    b->failed |= scratch->failed;
    cprof__buf_json_string(b, scratch->data ? scratch->data : "");
}

static void cprof__speedscope_frames(cprof__buf *b, const cprof_profile *p, cprof__buf *scratch) {
    cprof__buf_puts(b, "  \"shared\": {\"frames\": [");
    for (size_t s = 0; s < p->site_count; s++) {
        cprof__buf_puts(b, s ? ",\n    {\"name\": " : "\n    {\"name\": ");
        cprof__buf_json_text(b, scratch, p->sites[s].name[0] ? p->sites[s].name : "?");
        if (p->sites[s].file && p->sites[s].file[0]) {
            cprof__buf_puts(b, ", \"file\": ");
            cprof__buf_json_text(b, scratch, p->sites[s].file);
        }
        if (p->sites[s].line) cprof__buf_printf(b, ", \"line\": %u", p->sites[s].line);
        cprof__buf_append(b, "}", 1);
    }
    cprof__buf_puts(b, "\n  ]},\n");
}

/* The profile of thread t and metric k, unless the thread has none of it; *first: no comma before it. */
static void cprof__speedscope_profile(cprof__buf *b, const cprof__export *x, uint32_t t, size_t k, cprof__buf *scratch, int *first) {
    const cprof_profile *p = x->p;
    uint64_t total = x->inclusive[p->threads[t].root * x->metric_count + k];
    const char *unit = cprof__profile_metric_unit(x->metrics[k]);
    if (total == 0) return;
    cprof__buf_puts(b, *first ? "\n    " : ",\n    ");
    *first = 0;
    scratch->length = 0;
    cprof__buf_text_string(scratch, p->threads[t].name);
    cprof__buf_printf(scratch, " (thread %llu): ", (unsigned long long)p->threads[t].id);
    cprof__buf_text_string(scratch, cprof__profile_metric_name(p, x->metrics[k]));
    cprof__buf_puts(b, "{\"type\": \"sampled\", \"name\": ");
    b->failed |= scratch->failed;
    cprof__buf_json_string(b, scratch->data ? scratch->data : "");
    cprof__buf_printf(b, ", \"unit\": \"%s\", \"startValue\": 0, \"endValue\": %llu,\n     \"samples\": [",
                      strcmp(unit, "nanoseconds") == 0 || strcmp(unit, "bytes") == 0 ? unit : "none",
                      (unsigned long long)total);
    int any = 0;
    for (uint32_t i = 0; i < p->node_count; i++) {
        if (p->nodes[i].thread != t || cprof__export_self(x, i, k) == 0) continue;
        uint32_t path[CPROF__MAX_TREE_DEPTH + 1], depth = cprof__node_path(p, i, path);
        cprof__buf_puts(b, any++ ? ", [" : "[");
        while (depth--) cprof__buf_printf(b, depth ? "%u, " : "%u", p->nodes[path[depth]].site);
        cprof__buf_append(b, "]", 1);
    }
    cprof__buf_puts(b, "],\n     \"weights\": [");
    any = 0;
    for (uint32_t i = 0; i < p->node_count; i++) {
        uint64_t value = p->nodes[i].thread == t ? cprof__export_self(x, i, k) : 0;
        if (value) cprof__buf_printf(b, any++ ? ", %llu" : "%llu", (unsigned long long)value);
    }
    cprof__buf_puts(b, "]}");
}

int cprof_speedscope_write(const cprof_profile *p, FILE *out) {
    cprof__export x;
    cprof__buf b, scratch;
    memset(&b, 0, sizeof b);
    memset(&scratch, 0, sizeof scratch);
    if (!p || cprof__export_init(&x, p)) return -1;
    cprof__buf_puts(&b, "{\n  \"$schema\": \"https://www.speedscope.app/file-format-schema.json\",\n");
    cprof__buf_printf(&b, "  \"exporter\": \"cprof %s\",\n  \"name\": ", CPROF_VERSION);
    cprof__buf_json_text(&b, &scratch, p->program);
    cprof__buf_puts(&b, ",\n  \"activeProfileIndex\": 0,\n");
    cprof__speedscope_frames(&b, p, &scratch);
    cprof__buf_puts(&b, "  \"profiles\": [");
    int first = 1;
    for (uint32_t t = 0; t < p->thread_count; t++)
        for (size_t k = 0; k < x.metric_count; k++) cprof__speedscope_profile(&b, &x, t, k, &scratch, &first);
    cprof__buf_puts(&b, "\n  ]\n}\n");
    b.failed |= scratch.failed;
    cprof__buf_free(&scratch);
    cprof__export_free(&x);
    return cprof__buf_to_file(&b, out);
}

/* ==================================================================================================
   >>trace: the timeline's events paired into calls (entry to exit), and the Chrome trace event format
   (JSON Object Format: "X" complete events, "M" metadata), which Perfetto UI and chrome://tracing open
   ================================================================================================== */
enum { CPROF__CALL_BEGAN_BEFORE = 1, CPROF__CALL_OPEN = 2 };

/* One call of a scope, from the timeline. */
typedef struct cprof__call {
    uint64_t start_ns, end_ns; /* since the profile's start */
    uint64_t frame;            /* the frame its entry is in: the last mark before it on its thread; 0 before any */
    uint32_t node, thread;
    uint32_t flags;            /* CPROF__CALL_BEGAN_BEFORE: its entry was no longer in the timeline (start_ns is
                                  the thread's first event); CPROF__CALL_OPEN: still running at capture (end_ns is
                                  the capture) */
    uint32_t reserved;
} cprof__call;

typedef struct cprof__calls {
    cprof__call *items; /* in the order the calls ended, by thread */
    size_t count, capacity;
    cprof__call *stack; /* scratch: a thread's open calls */
    size_t depth, stack_capacity;
    int failed;
} cprof__calls;

static void cprof__calls_add(cprof__calls *c, const cprof__call *call) {
    if (cprof__grow(&c->items, &c->capacity, c->count + 1, sizeof *c->items)) c->failed = 1;
    else c->items[c->count++] = *call;
}

/* An exit: the call it ends (and any opened after it that never exited, which end there too); an exit
   whose entry the timeline no longer holds began before the thread's first event. */
static void cprof__calls_exit(cprof__calls *c, const cprof_event *e, uint64_t first_ns) {
    size_t at = c->depth;
    while (at > 0 && c->stack[at - 1].node != (uint32_t)e->ref) at--;
    if (at == 0) {
        if (c->depth) return; /* unbalanced inside open calls: nothing consistent to draw */
        cprof__call call = {first_ns, e->time_ns, 0, (uint32_t)e->ref, e->thread, CPROF__CALL_BEGAN_BEFORE, 0};
        cprof__calls_add(c, &call);
        return;
    }
    while (c->depth >= at) {
        cprof__call *call = &c->stack[--c->depth];
        call->end_ns = e->time_ns;
        cprof__calls_add(c, call);
    }
}

/* A thread's calls still open after its last event: they ran until the capture. */
static void cprof__calls_close_open(cprof__calls *c, uint64_t capture_ns) {
    while (c->depth && !c->failed) {
        cprof__call *open = &c->stack[--c->depth];
        open->end_ns = capture_ns > open->start_ns ? capture_ns : open->start_ns;
        open->flags |= CPROF__CALL_OPEN;
        cprof__calls_add(c, open);
    }
}

/* Pairs each thread's entries and exits; calls still open at the end of a thread's events end at the
   capture (wall_ns). Free with cprof__calls_free. */
static cprof__calls cprof__calls_build(const cprof_profile *p) {
    cprof__calls c;
    memset(&c, 0, sizeof c);
    uint64_t first_ns = 0, frame = 0;
    for (size_t i = 0; i < p->event_count && !c.failed; i++) {
        const cprof_event *e = &p->events[i];
        if (i == 0 || e->thread != p->events[i - 1].thread) {
            cprof__calls_close_open(&c, p->wall_ns); /* the previous thread's */
            first_ns = e->time_ns;
            frame = 0;
        }
        if (e->kind == CPROF_EVENT_FRAME) frame = e->ref;
        else if (e->kind == CPROF_EVENT_EXIT) cprof__calls_exit(&c, e, first_ns);
        else if (cprof__grow(&c.stack, &c.stack_capacity, c.depth + 1, sizeof *c.stack)) c.failed = 1;
        else {
            cprof__call call = {e->time_ns, 0, frame, (uint32_t)e->ref, e->thread, 0, 0};
            c.stack[c.depth++] = call;
        }
    }
    cprof__calls_close_open(&c, p->wall_ns);
    return c;
}

static void cprof__calls_free(cprof__calls *c) {
    cprof__release(c->items, c->capacity * sizeof *c->items);
    cprof__release(c->stack, c->stack_capacity * sizeof *c->stack);
    memset(c, 0, sizeof *c);
}

/* A time in ns as the format's microseconds, exactly: "12.345". */
static void cprof__buf_trace_us(cprof__buf *b, const char *key, uint64_t ns) {
    cprof__buf_printf(b, ", \"%s\": %llu.%03u", key, (unsigned long long)(ns / 1000), (unsigned)(ns % 1000));
}

static void cprof__trace_metadata(cprof__buf *b, const char *what, uint32_t tid, const char *name, const char *suffix) {
    cprof__buf_printf(b, "    {\"ph\": \"M\", \"pid\": 1, \"tid\": %u, \"name\": \"%s\", \"args\": {\"name\": ", (unsigned)tid, what);
    cprof__buf_json_string(b, name);
    cprof__buf_printf(b, "}}%s", suffix);
}

static void cprof__trace_call(cprof__buf *b, const cprof_profile *p, const cprof__call *call) {
    const cprof_site_info *site = &p->sites[p->nodes[call->node].site];
    cprof__buf_printf(b, "    {\"ph\": \"X\", \"pid\": 1, \"tid\": %u, \"cat\": \"scope\", \"name\": ", (unsigned)call->thread + 1);
    cprof__buf_json_string(b, site->name);
    cprof__buf_trace_us(b, "ts", call->start_ns);
    cprof__buf_trace_us(b, "dur", call->end_ns - call->start_ns);
    cprof__buf_puts(b, ", \"args\": {\"file\": ");
    cprof__buf_json_string(b, site->file);
    cprof__buf_printf(b, ", \"line\": %u", (unsigned)site->line);
    if (call->frame) cprof__buf_printf(b, ", \"frame\": %llu", (unsigned long long)call->frame);
    if (call->flags & CPROF__CALL_BEGAN_BEFORE) cprof__buf_puts(b, ", \"began_before_timeline\": true");
    if (call->flags & CPROF__CALL_OPEN) cprof__buf_puts(b, ", \"open_at_capture\": true");
    cprof__buf_puts(b, "}},\n");
}

/* Frames: a mark on the thread (an instant event) and, on a track of their own next to it, each frame as a
   complete event from its mark to the next, so that a frame's boundaries cross the scopes' without breaking
   their nesting. */
static void cprof__trace_frames(cprof__buf *b, const cprof_profile *p) {
    const cprof_event *previous = NULL;
    uint32_t track = (uint32_t)p->thread_count + 1;
    for (size_t i = 0; i < p->event_count; i++) {
        const cprof_event *e = &p->events[i];
        if (e->kind != CPROF_EVENT_FRAME) continue;
        cprof__buf_printf(b, "    {\"ph\": \"i\", \"s\": \"t\", \"pid\": 1, \"tid\": %u, \"cat\": \"frame\", "
                             "\"name\": \"frame %llu\"", (unsigned)e->thread + 1, (unsigned long long)e->ref);
        cprof__buf_trace_us(b, "ts", e->time_ns);
        cprof__buf_puts(b, "},\n");
        if (e->thread != p->frames.thread) continue;
        if (previous) {
            cprof__buf_printf(b, "    {\"ph\": \"X\", \"pid\": 1, \"tid\": %u, \"cat\": \"frame\", \"name\": \"frame %llu\"",
                              (unsigned)track, (unsigned long long)previous->ref);
            cprof__buf_trace_us(b, "ts", previous->time_ns);
            cprof__buf_trace_us(b, "dur", e->time_ns - previous->time_ns);
            cprof__buf_puts(b, "},\n");
        }
        previous = e;
    }
}

static int cprof__trace_build(cprof__buf *b, const cprof_profile *p) {
    cprof__calls calls = cprof__calls_build(p);
    cprof__buf_puts(b, "{\"traceEvents\": [\n");
    cprof__trace_metadata(b, "process_name", 0, p->program[0] ? p->program : "cprof", ",\n");
    for (size_t t = 0; t < p->thread_count; t++)
        cprof__trace_metadata(b, "thread_name", (uint32_t)t + 1, p->threads[t].name, ",\n");
    if (p->frames.thread != CPROF_NONE && p->frames.thread < p->thread_count) {
        char name[CPROF__NAME_BYTES + 16];
        cprof__snprintf(name, sizeof name, "frames of %s", p->threads[p->frames.thread].name);
        cprof__trace_metadata(b, "thread_name", (uint32_t)p->thread_count + 1, name, ",\n");
    }
    for (size_t i = 0; i < calls.count; i++) cprof__trace_call(b, p, &calls.items[i]);
    cprof__trace_frames(b, p);
    /* the last element: no trailing comma (the format's JSON Object Format is strict JSON) */
    cprof__buf_puts(b, "    {\"ph\": \"M\", \"pid\": 1, \"tid\": 0, \"name\": \"process_sort_index\", \"args\": {\"sort_index\": 0}}\n");
    cprof__buf_puts(b, "  ],\n  \"displayTimeUnit\": \"ns\",\n  \"otherData\": {\"generator\": \"cprof " CPROF_VERSION "\", \"program\": ");
    cprof__buf_json_string(b, p->program);
    cprof__buf_printf(b, ", \"start_unix_ns\": \"%lld\", \"timeline_capacity\": \"%u\", \"timeline_policy\": \"%s\", "
                         "\"events_dropped\": \"%llu\"}\n}\n",
                      (long long)p->start_unix_ns, (unsigned)p->timeline_capacity,
                      p->timeline_policy == CPROF_TIMELINE_FIRST ? "first" : "recent", (unsigned long long)p->events_dropped);
    int failed = calls.failed;
    cprof__calls_free(&calls);
    return failed ? -1 : 0;
}

int cprof_trace_write(const cprof_profile *p, FILE *out) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p || !out) return -1;
    if (cprof__trace_build(&b, p)) {
        cprof__buf_free(&b);
        return -1;
    }
    return cprof__buf_to_file(&b, out);
}

/* ==================================================================================================
   >>flamegraph: the call tree as one self-contained, interactive SVG
   ================================================================================================== */
/* Geometry in pixels. Labels use a monospace font whose advance is about 0.6 em, so that a label can
   be cut to fit without measuring it (the same rule in C and in the script). */
#define CPROF__FLAME_PAD 10.0
#define CPROF__FLAME_ROW 16.0     /* one level of the tree: a 15 px frame and a 1 px gap */
#define CPROF__FLAME_TOP 56.0     /* title, subtitle and the controls above the frames */
#define CPROF__FLAME_LEGEND 22.0  /* a legend's row below them (the differential flame graph) */
#define CPROF__FLAME_BOTTOM 30.0  /* the details line below them */
#define CPROF__FLAME_CHAR 7.25    /* width of a character of the 12 px label font */
#define CPROF__FLAME_MAX_LEVELS (CPROF__MAX_TREE_DEPTH + 2) /* "all", a thread, its tree; deeper is cut (and counted) */
#define CPROF__FLAME_MATCH "rgb(230,0,230)"

cprof_flamegraph_options cprof_flamegraph_defaults(void) {
    cprof_flamegraph_options options;
    options.metric = "time";
    options.inverted = 0;
    options.min_width_pct = 0.1;
    options.width = 1200;
    options.title = NULL;
    return options;
}

/* The length of the valid UTF-8 sequence at s that XML 1.0 allows as a character and that is not a
   control character; 0 when the bytes are not one (a stray continuation byte, an overlong form, a
   surrogate, U+FFFE and U+FFFF, C0, DEL and C1 controls). */
static size_t cprof__xml_char_length(const unsigned char *s, size_t left) {
    size_t length = cprof__utf8_length(s, s + left); /* the JSON writer's validation, so both agree */
    if (length == 1 && (s[0] < 0x20 || s[0] == 0x7F)) return 0;
    if (length == 2 && s[0] == 0xC2 && s[1] < 0xA0) return 0; /* C1 controls, as the text writers */
    if (length == 3 && s[0] == 0xEF && s[1] == 0xBF && s[2] >= 0xBE) return 0; /* U+FFFE, U+FFFF */
    return length;
}

/* Appends `length` bytes of text escaped for XML: the markup characters as entities, tab, newline
   and carriage return as spaces, and every byte XML cannot carry (other control characters, invalid
   UTF-8) as U+FFFD, so that no scope name can break the document. */
static void cprof__xml_escape(cprof__buf *b, const char *text, size_t length) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < length) {
        size_t n = cprof__xml_char_length(s + i, length - i);
        const char *entity = s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;" : s[i] == '&' ? "&amp;"
                           : s[i] == '"' ? "&quot;" : s[i] == '\'' ? "&apos;" : NULL;
        if (entity) cprof__buf_puts(b, entity);
        else if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r') cprof__buf_append(b, " ", 1);
        else if (n) cprof__buf_append(b, text + i, n);
        else cprof__buf_puts(b, "\xEF\xBF\xBD"); /* U+FFFD REPLACEMENT CHARACTER */
        i += n ? n : 1;
    }
}

static void cprof__xml_escape_string(cprof__buf *b, const char *text) { cprof__xml_escape(b, text, strlen(text)); }

/* The label that fits a frame `width` pixels wide: the whole name, or its first characters and
   "..", or nothing when fewer than three characters fit. */
static void cprof__flame_label(cprof__buf *b, const char *name, double width) {
    double fit = (width - 6.0) / CPROF__FLAME_CHAR;
    size_t characters = fit > 0 ? (size_t)fit : 0, total = cprof__display_width(name);
    if (characters < 3) return;
    if (total <= characters) {
        cprof__xml_escape_string(b, name);
        return;
    }
    size_t end = 0, kept = 0;
    for (; name[end]; end++) { /* the byte where character number characters - 2 starts */
        if (((unsigned char)name[end] & 0xC0u) != 0x80u && kept++ == characters - 2) break;
    }
    cprof__xml_escape(b, name, end);
    cprof__buf_puts(b, "..");
}

/* The hash of a name as the JSON file stores it (each byte that is not UTF-8 as U+FFFD), so that a
   live profile and its saved file give a frame the same colour. */
static size_t cprof__flame_name_hash(const char *name) {
    const unsigned char *s = (const unsigned char *)name, *end = s + strlen(name);
    while (s < end && cprof__utf8_length(s, end)) s += cprof__utf8_length(s, end);
    if (s == end) return cprof__string_hash(name); /* valid: as it is */
    cprof__buf stored;
    memset(&stored, 0, sizeof stored);
    for (s = (const unsigned char *)name; s < end;) {
        size_t n = cprof__utf8_length(s, end);
        cprof__buf_append(&stored, n ? (const char *)s : "\xEF\xBF\xBD", n ? n : 3);
        s += n ? n : 1;
    }
    size_t hash = cprof__string_hash(stored.data ? stored.data : name);
    cprof__buf_free(&stored);
    return hash;
}

/* A warm colour (red to yellow) chosen by a hash of the name, so that a function has the same
   colour in every graph of every run. The hue spans 0-55 degrees; saturation and lightness vary a
   little so that neighbours with close hues still differ. */
static void cprof__flame_color(const char *name, int rgb[3]) {
    uint64_t mixed = (uint64_t)cprof__flame_name_hash(name); /* FNV-1a barely changes its high bits when */
    mixed = (mixed ^ (mixed >> 29)) * 0xbf58476d1ce4e5b9ull;  /* only the last character differs: mix */
    uint32_t hash = (uint32_t)(mixed ^ (mixed >> 32));
    double hue = 55.0 * (double)((hash >> 16) & 0xFFFFu) / 65535.0;
    double saturation = 0.75 + 0.2 * (double)((hash >> 8) & 0xFFu) / 255.0;
    double lightness = 0.55 + 0.1 * (double)(hash & 0xFFu) / 255.0;
    double chroma = (1.0 - fabs(2.0 * lightness - 1.0)) * saturation;
    double low = lightness - chroma / 2.0;
    double channel[3] = {low + chroma, low + chroma * hue / 60.0, low}; /* hue in [0, 60): red is the top */
    for (int i = 0; i < 3; i++) rgb[i] = (int)(channel[i] * 255.0 + 0.5);
}

typedef struct cprof__flame {
    cprof__buf *out;
    const cprof_profile *p;
    cprof_flamegraph_options o;
    const cprof__metric *metric;
    uint64_t *inclusive;   /* per node: the metric summed over its subtree */
    uint64_t total;        /* the whole: every thread */
    double min_value;      /* frames below this are not drawn */
    double scale;          /* pixels per unit of the metric */
    uint32_t thread_level; /* 1 when each thread has a frame of its own (more than one thread) */
    uint32_t levels;       /* drawn levels: the deepest drawn frame's level + 1 */
    uint64_t frames, hidden, cut;
    FILE *stream;          /* when set, the document is written there in pieces as it grows */
    int stream_failed;
    const struct cprof__flame_painter *paint; /* the differential colouring; NULL otherwise */
    double top;                               /* y of the frames' area: below the title and any legend */
    uint32_t node;                            /* the node being drawn; CPROF_NONE for "all" and a thread */
    uint32_t counter;                         /* the metric is this perf counter's self value; CPROF_NONE: metric */
} cprof__flame;

/* A frame's own value of the metric: a row of cprof__metrics, or a counter of the profile. */
static uint64_t cprof__flame_self(const cprof__flame *f, uint32_t node) {
    if (f->p->nodes[node].site == CPROF_NONE) return 0;
    if (f->counter != CPROF_NONE) return cprof_node_counter(f->p, node, f->counter).self;
    return f->metric->self_value(&f->p->nodes[node]);
}

static const char *cprof__flame_metric_name(const cprof__flame *f) {
    return f->counter != CPROF_NONE ? f->p->counters[f->counter].name : f->metric->name;
}

/* Another colouring of the frames: the differential flame graph (>>compare) sets each frame's colour
   and appends its before and after to the tooltip's details, and draws a legend at y. Its frames get a
   dark border and a label black or white, whichever contrasts more with the fill. */
typedef struct cprof__flame_painter {
    void (*paint_frame)(const void *context, uint32_t node, int rgb[3], cprof__buf *details);
    const void *context;
    void (*legend)(const void *context, cprof__buf *out, double y);
} cprof__flame_painter;

/* WCAG 2 relative luminance of an sRGB colour, 0 (black) to 1 (white). */
static double cprof__luminance(const int rgb[3]) {
    static const double weights[3] = {0.2126, 0.7152, 0.0722};
    double luminance = 0.0;
    for (int i = 0; i < 3; i++) {
        double c = rgb[i] / 255.0;
        luminance += weights[i] * (c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4));
    }
    return luminance;
}

/* White text on this fill: when it contrasts more than black, (1 + 0.05) / (L + 0.05) against
   (L + 0.05) / 0.05. The larger of the two is at least 4.58:1 for every fill. */
static int cprof__label_white(const int rgb[3]) {
    double luminance = cprof__luminance(rgb);
    return 1.05 / (luminance + 0.05) > (luminance + 0.05) / 0.05;
}

/* Hands the text so far to the stream, so that a large graph never sits in memory whole. */
static void cprof__flame_flush(cprof__flame *f) {
    if (!f->stream || !f->out->length) return;
    f->stream_failed |= f->out->failed || fwrite(f->out->data, 1, f->out->length, f->stream) != f->out->length;
    f->out->length = 0;
}

/* Fills inclusive[] for the subtree at `node`; returns the node's value. */
static uint64_t cprof__flame_sum(cprof__flame *f, uint32_t node, uint32_t depth) {
    const cprof_profile *p = f->p;
    uint64_t value = cprof__flame_self(f, node);
    for (uint32_t c = p->nodes[node].first_child; c != CPROF_NONE && c < p->node_count; c = p->nodes[c].next_sibling) {
        if (depth >= CPROF__FLAME_MAX_LEVELS) { f->cut++; break; }
        value += cprof__flame_sum(f, c, depth + 1);
    }
    f->inclusive[node] = value;
    return value;
}

static int cprof__flame_drawn(const cprof__flame *f, uint64_t value) {
    return value > 0 && (double)value >= f->min_value;
}

/* The deepest level at which a frame is drawn, below `node` at `level`; counts the subtrees left out. */
static uint32_t cprof__flame_deepest(cprof__flame *f, uint32_t node, uint32_t level) {
    uint32_t deepest = level;
    if (level >= CPROF__FLAME_MAX_LEVELS) return deepest;
    for (uint32_t c = f->p->nodes[node].first_child; c != CPROF_NONE && c < f->p->node_count;
         c = f->p->nodes[c].next_sibling) {
        if (!cprof__flame_drawn(f, f->inclusive[c])) {
            f->hidden += f->inclusive[c] > 0;
            continue;
        }
        uint32_t below = cprof__flame_deepest(f, c, level + 1);
        if (below > deepest) deepest = below;
    }
    return deepest;
}

static double cprof__flame_y(const cprof__flame *f, uint32_t level) {
    uint32_t row = f->o.inverted ? level : f->levels - 1 - level;
    return f->top + CPROF__FLAME_ROW * row;
}

/* One frame: a group with its tooltip (name, then the details line), its rectangle and its label.
   `file` NULL: no place to show; `line` 0: a file without a line (the program of the root frame). */
static void cprof__flame_frame(cprof__flame *f, const char *name, const char *file, uint32_t line, uint64_t value,
                               uint64_t self, uint64_t calls, double x, uint32_t level) {
    char total_text[32], self_text[32], calls_text[32];
    double width = (double)value * f->scale, y = cprof__flame_y(f, level);
    int rgb[3];
    const cprof_node *node = f->node < f->p->node_count ? &f->p->nodes[f->node] : NULL;
    cprof__flame_color(name, rgb);
    if (node && node->sampled) { /* a frame from CPU sampling: the same hash in the cold family (blue to cyan) */
        int red = rgb[0];
        rgb[0] = rgb[2];
        rgb[2] = red;
    }
    cprof__buf_puts(f->out, "<g class=\"f\"><title>");
    cprof__xml_escape_string(f->out, name);
    cprof__buf_puts(f->out, "\n");
    if (file && file[0]) {
        cprof__buf_puts(f->out, "(");
        cprof__xml_escape_string(f->out, file);
        if (line) cprof__buf_printf(f->out, ":%u", (unsigned)line);
        cprof__buf_puts(f->out, ") ");
    }
    cprof__xml_escape_string(f->out, cprof__flame_metric_name(f)); /* a counter's name from the profile */
    if (node && node->sampled) /* no calls counted: its samples instead */
        cprof__buf_printf(f->out, " total %s, self %s, sampled: %s sample%s, %.2f%%", f->metric->format(total_text, value),
                          f->metric->format(self_text, self), cprof__count(calls_text, node->samples),
                          node->samples == 1 ? "" : "s", 100.0 * (double)value / (double)f->total);
    else
        cprof__buf_printf(f->out, " total %s, self %s, %s call%s, %.2f%%", f->metric->format(total_text, value),
                          f->metric->format(self_text, self), cprof__count(calls_text, calls), calls == 1 ? "" : "s",
                          100.0 * (double)value / (double)f->total);
    if (f->paint) f->paint->paint_frame(f->paint->context, f->node, rgb, f->out);
    cprof__buf_puts(f->out, "</title>");
    cprof__buf_printf(f->out, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"rgb(%d,%d,%d)\"%s/>",
                      x, y, width, CPROF__FLAME_ROW - 1.0, rgb[0], rgb[1], rgb[2],
                      f->paint ? " style=\"stroke:#333;stroke-width:0.6\"" : "");
    cprof__buf_printf(f->out, "<text x=\"%.2f\" y=\"%.1f\"%s>", x + 3.0, y + 11.5,
                      f->paint && cprof__label_white(rgb) ? " style=\"fill:#fff\"" : "");
    cprof__flame_label(f->out, name, width);
    cprof__buf_puts(f->out, "</text></g>\n");
    f->frames++;
    if (f->out->length >= 65536) cprof__flame_flush(f);
}

/* The children's frames of `index`, left to right in the tree's order (by name), from x. */
static void cprof__flame_children(cprof__flame *f, uint32_t index, double x, uint32_t level) {
    const cprof_profile *p = f->p;
    if (level >= CPROF__FLAME_MAX_LEVELS) return;
    for (uint32_t c = p->nodes[index].first_child; c != CPROF_NONE && c < p->node_count; c = p->nodes[c].next_sibling) {
        const cprof_node *node = &p->nodes[c];
        if (cprof__flame_drawn(f, f->inclusive[c])) {
            const cprof_site_info *site = &p->sites[node->site];
            f->node = c;
            cprof__flame_frame(f, site->name, site->file, site->line, f->inclusive[c], cprof__flame_self(f, c),
                               node->calls, x, level);
            cprof__flame_children(f, c, x, level + 1);
        }
        x += (double)f->inclusive[c] * f->scale;
    }
}

/* The script of the SVG (zoom, search, details line, state in the URL); the geometry comes before it
   in a `cprof` object. Written without double quotes and backslashes so that it reads as it runs. One
   string per line: ISO C limits the length of a single string literal. */
static const char *const cprof__flame_script[] = {
    "'use strict';",
    "var frameList = [], zoomed = null, term = null, ignoreCase = false;",
    "var details, matched, resetButton, searchButton, caseButton;",
    "function element(id) { return document.getElementById(id); }",
    "function readFrames() {",
    "  var groups = document.getElementsByClassName('f'), stack = [];",
    "  for (var i = 0; i < groups.length; i++) {",
    "    var g = groups[i], r = g.getElementsByTagName('rect')[0];",
    "    var lines = g.getElementsByTagName('title')[0].textContent.split(String.fromCharCode(10));",
    "    var f = {g: g, rect: r, label: g.getElementsByTagName('text')[0], name: lines[0], info: lines.join(' '),",
    "             x: +r.getAttribute('x'), y: +r.getAttribute('y'), w: +r.getAttribute('width'),",
    "             fill: r.getAttribute('fill'), index: i, end: i, parent: null};",
    "    f.level = Math.round(Math.abs(f.y - cprof.y0) / cprof.fh);",
    "    while (stack.length && stack[stack.length - 1].level >= f.level) stack.pop();",
    "    f.parent = stack.length ? stack[stack.length - 1] : null;",
    "    stack.push(f);",
    "    g.cprofFrame = f;",
    "    frameList.push(f);",
    "  }",
    "  for (var j = frameList.length - 1; j >= 0; j--)",
    "    if (frameList[j].parent && frameList[j].end > frameList[j].parent.end) frameList[j].parent.end = frameList[j].end;",
    "}",
    "function fit(name, width) {",
    "  var n = Math.floor((width - 6) / cprof.cw);",
    "  if (n < 3) return '';",
    "  return name.length <= n ? name : name.slice(0, n - 2) + '..';",
    "}",
    "function place(f, x, w) {",
    "  f.rect.setAttribute('x', x.toFixed(2));",
    "  f.rect.setAttribute('width', w.toFixed(2));",
    "  f.label.setAttribute('x', (x + 3).toFixed(2));",
    "  f.label.textContent = fit(f.name, w);",
    "}",
    "function zoom(f) {",
    "  var full = cprof.width - 2 * cprof.pad, scale = full / f.w, i;",
    "  for (i = 0; i < frameList.length; i++) {",
    "    frameList[i].g.classList.add('hide');",
    "    frameList[i].g.classList.remove('parent');",
    "  }",
    "  for (i = f.index; i <= f.end; i++) {",
    "    var o = frameList[i];",
    "    o.g.classList.remove('hide');",
    "    place(o, cprof.pad + (o.x - f.x) * scale, o.w * scale);",
    "  }",
    "  for (var a = f.parent; a; a = a.parent) {",
    "    a.g.classList.remove('hide');",
    "    a.g.classList.add('parent');",
    "    place(a, cprof.pad, full);",
    "  }",
    "  zoomed = f.parent ? f : null;",
    "  resetButton.classList.toggle('hide', !zoomed);",
    "  save();",
    "}",
    "function unzoom() { if (frameList.length) zoom(frameList[0]); }",
    "function search(text) {",
    "  var re;",
    "  try { re = new RegExp(text, ignoreCase ? 'i' : ''); }",
    "  catch (err) { details.textContent = 'Not a regular expression: ' + text; return; }",
    "  term = text;",
    "  var sum = 0, until = -1;",
    "  for (var i = 0; i < frameList.length; i++) {",
    "    var f = frameList[i], hit = re.test(f.name);",
    "    f.rect.setAttribute('fill', hit ? cprof.match : f.fill);",
    "    f.g.classList.toggle('match', hit);",
    "    if (hit && i > until) { sum += f.w; until = f.end; }",
    "  }",
    "  var whole = frameList.length ? frameList[0].w : 1;",
    "  matched.textContent = 'Matched: ' + (100 * sum / whole).toFixed(1) + '%';",
    "  searchButton.textContent = 'Reset Search';",
    "  save();",
    "}",
    "function clearSearch() {",
    "  term = null;",
    "  for (var i = 0; i < frameList.length; i++) {",
    "    frameList[i].rect.setAttribute('fill', frameList[i].fill);",
    "    frameList[i].g.classList.remove('match');",
    "  }",
    "  matched.textContent = '';",
    "  searchButton.textContent = 'Search';",
    "  save();",
    "}",
    "function ask() {",
    "  var text = prompt('Search for a regular expression (case ' + (ignoreCase ? 'ignored' : 'sensitive') + ')', term || '');",
    "  if (text) search(text);",
    "}",
    "function toggleCase() {",
    "  ignoreCase = !ignoreCase;",
    "  caseButton.classList.toggle('on', ignoreCase);",
    "  if (term !== null) search(term); else save();",
    "}",
    "function save() {",
    "  var q = [];",
    "  if (zoomed) q.push('x=' + zoomed.x, 'y=' + zoomed.y);",
    "  if (term !== null) q.push('s=' + encodeURIComponent(term));",
    "  if (ignoreCase) q.push('i=1');",
    "  try { history.replaceState(null, '', location.pathname + (q.length ? '?' + q.join('&') : '')); } catch (err) {}",
    "}",
    "function restore() {",
    "  var q = new URLSearchParams(location.search);",
    "  if (q.get('i') === '1') { ignoreCase = true; caseButton.classList.add('on'); }",
    "  if (q.has('x') && q.has('y')) {",
    "    var x = +q.get('x'), y = +q.get('y');",
    "    for (var i = 0; i < frameList.length; i++)",
    "      if (Math.abs(frameList[i].x - x) < 0.01 && Math.abs(frameList[i].y - y) < 0.01) { zoom(frameList[i]); break; }",
    "  }",
    "  if (q.get('s')) search(q.get('s'));",
    "}",
    "function frameOf(node) {",
    "  for (; node && node !== document; node = node.parentNode) if (node.cprofFrame) return node.cprofFrame;",
    "  return null;",
    "}",
    "function init() {",
    "  details = element('details'); matched = element('matched'); resetButton = element('reset');",
    "  searchButton = element('search'); caseButton = element('ic');",
    "  readFrames();",
    "  var root = document.documentElement;",
    "  root.addEventListener('mouseover', function (e) { var f = frameOf(e.target); if (f) details.textContent = f.info; });",
    "  root.addEventListener('mouseout', function (e) { if (frameOf(e.target)) details.textContent = ' '; });",
    "  root.addEventListener('click', function (e) {",
    "    var f = frameOf(e.target);",
    "    if (f) zoom(f);",
    "    else if (e.target === resetButton) unzoom();",
    "    else if (e.target === searchButton) { if (term !== null) clearSearch(); else ask(); }",
    "    else if (e.target === caseButton) toggleCase();",
    "  });",
    "  window.addEventListener('keydown', function (e) {",
    "    var key = e.key.toLowerCase();",
    "    if ((e.ctrlKey || e.metaKey) && key === 'f') { e.preventDefault(); ask(); }",
    "    else if ((e.ctrlKey || e.metaKey) && key === 'i') { e.preventDefault(); toggleCase(); }",
    "    else if (key === 'escape') clearSearch();",
    "  });",
    "  restore();",
    "}",
    "init();",
};

static const char cprof__flame_style[] =
    "text { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12px; fill: #000; }\n"
    "#title { font-size: 17px; } #subtitle { fill: #555; }\n"
    ".f rect { stroke: #fff; stroke-width: 0.3; } .f:hover rect { stroke: #000; stroke-width: 1; cursor: pointer; }\n"
    ".f text { pointer-events: none; } .parent { opacity: 0.5; } .hide { display: none; }\n"
    ".ctl { cursor: pointer; fill: #1a4fa0; } .ctl.on { font-weight: bold; fill: #b00; }\n";

/* "2026-01-31 14:05:09 UTC", or "" for a profile without a start time. The civil date is computed
   here (days since 1970 -> year, month, day in the proleptic Gregorian calendar): gmtime_r may be
   hidden by a user's feature macros, and gmtime is not thread-safe. */
static const char *cprof__flame_date(char out[32], int64_t unix_ns) {
    out[0] = '\0';
    if (unix_ns <= 0) return out;
    int64_t seconds = unix_ns / 1000000000, days = seconds / 86400, second_of_day = seconds % 86400;
    int64_t shifted = days + 719468; /* days since 0000-03-01: leap days fall at the end of a year */
    int64_t era = shifted / 146097, day_of_era = shifted % 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153, day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    int64_t month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
    int64_t year = era * 400 + year_of_era + (month <= 2);
    cprof__snprintf(out, 32, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld UTC", (long long)year, (long long)month,
                    (long long)day, (long long)(second_of_day / 3600), (long long)(second_of_day / 60 % 60),
                    (long long)(second_of_day % 60));
    return out;
}

static void cprof__flame_header(cprof__flame *f, double height) {
    const cprof_profile *p = f->p;
    double width = (double)f->o.width, middle = width / 2.0;
    char date[32], total[32];
    cprof__buf_printf(f->out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
                      "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                      "viewBox=\"0 0 %.0f %.0f\">\n<style><![CDATA[\n%s]]></style>\n",
                      width, height, width, height, cprof__flame_style);
    cprof__buf_printf(f->out, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fbfaf4\"/>\n"
                      "<text id=\"title\" x=\"%.1f\" y=\"24\" text-anchor=\"middle\">", middle);
    if (f->o.title) cprof__xml_escape_string(f->out, f->o.title);
    else {
        const char *slash = strrchr(p->program, '/'); /* the program's name; its path is in the root's tooltip */
        cprof__buf_puts(f->out, "Flame graph: ");
        cprof__xml_escape_string(f->out, !p->program[0] ? "(unknown program)" : slash && slash[1] ? slash + 1 : p->program);
    }
    cprof__buf_printf(f->out, "</text>\n<text id=\"subtitle\" x=\"%.1f\" y=\"42\" text-anchor=\"middle\">", middle);
    cprof__flame_date(date, p->start_unix_ns);
    cprof__buf_printf(f->out, "%s%smetric ", date, date[0] ? ", " : "");
    cprof__xml_escape_string(f->out, cprof__flame_metric_name(f)); /* the option, or a counter's name from the profile */
    cprof__buf_printf(f->out, ", total %s", f->metric->format(total, f->total));
    if (f->hidden)
        cprof__buf_printf(f->out, ", %llu call path%s narrower than %.2f%% not drawn (counted in their parents)",
                          (unsigned long long)f->hidden, f->hidden == 1 ? "" : "s", f->o.min_width_pct);
    if (f->cut) cprof__buf_printf(f->out, ", %llu paths deeper than %d levels cut", (unsigned long long)f->cut,
                                  CPROF__FLAME_MAX_LEVELS);
    cprof__buf_printf(f->out, "</text>\n<text id=\"reset\" class=\"ctl hide\" x=\"%.1f\" y=\"24\">Reset Zoom</text>\n"
                      "<text id=\"ic\" class=\"ctl\" x=\"%.1f\" y=\"24\" text-anchor=\"end\">ic</text>\n"
                      "<text id=\"search\" class=\"ctl\" x=\"%.1f\" y=\"24\" text-anchor=\"end\">Search</text>\n",
                      CPROF__FLAME_PAD, width - CPROF__FLAME_PAD - 110.0, width - CPROF__FLAME_PAD);
}

static void cprof__flame_footer(cprof__flame *f, double height) {
    double width = (double)f->o.width;
    cprof__buf_printf(f->out, "<text id=\"details\" x=\"%.1f\" y=\"%.1f\"> </text>\n"
                      "<text id=\"matched\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\"></text>\n",
                      CPROF__FLAME_PAD, height - 10.0, width - CPROF__FLAME_PAD, height - 10.0);
    cprof__buf_printf(f->out, "<script type=\"text/ecmascript\"><![CDATA[\n"
                      "var cprof = {width: %.0f, pad: %.1f, fh: %.1f, y0: %.1f, cw: %.2f, match: '%s'};\n",
                      width, CPROF__FLAME_PAD, CPROF__FLAME_ROW, cprof__flame_y(f, 0), CPROF__FLAME_CHAR,
                      CPROF__FLAME_MATCH);
    for (size_t i = 0; i < sizeof cprof__flame_script / sizeof cprof__flame_script[0]; i++) {
        cprof__buf_puts(f->out, cprof__flame_script[i]);
        cprof__buf_puts(f->out, "\n");
    }
    cprof__buf_puts(f->out, "]]></script>\n</svg>\n");
}

/* The frames: the whole at level 0 ("all", which is the thread's root when there is one thread),
   then one frame per thread when there are several, then the scopes. */
static void cprof__flame_frames(cprof__flame *f) {
    const cprof_profile *p = f->p;
    double x = CPROF__FLAME_PAD;
    char name[128];
    f->node = CPROF_NONE;
    cprof__flame_frame(f, "all", p->program, 0, f->total, 0, 0, x, 0);
    for (size_t t = 0; t < p->thread_count; t++) {
        uint32_t root = p->threads[t].root;
        uint64_t value = f->inclusive[root];
        if (!cprof__flame_drawn(f, value)) {
            x += (double)value * f->scale;
            continue;
        }
        if (f->thread_level) {
            cprof__snprintf(name, sizeof name, "thread %s", p->threads[t].name);
            f->node = CPROF_NONE;
            cprof__flame_frame(f, name, NULL, 0, value, 0, 0, x, 1);
        }
        cprof__flame_children(f, root, x, 1 + f->thread_level);
        x += (double)value * f->scale;
    }
}

/* Sums the metric over the tree and chooses the scale and the number of drawn levels; -1 on an
   unknown metric or without memory. */
static int cprof__flame_prepare(cprof__flame *f, const cprof_profile *p, const cprof_flamegraph_options *options) {
    memset(f, 0, sizeof *f);
    f->p = p;
    f->top = CPROF__FLAME_TOP;
    f->o = options ? *options : cprof_flamegraph_defaults();
    if (f->o.width < 200) f->o.width = 200;
    if (!(f->o.min_width_pct >= 0.0)) f->o.min_width_pct = 0.0; /* negative or NaN */
    f->metric = cprof__metric_find(f->o.metric);
    f->counter = CPROF_NONE;
    if (!f->metric && f->o.metric) { /* a counter the profile has counted: its self values */
        static const cprof__metric counter_metric = {"counter", "events", NULL, cprof__count};
        uint32_t k = cprof_counter_find(p, f->o.metric);
        if (k != CPROF_NONE && p->counters[k].available) f->metric = &counter_metric, f->counter = k;
    }
    f->inclusive = (uint64_t *)cprof__alloc((p->node_count ? p->node_count : 1) * sizeof *f->inclusive);
    if (!f->metric || !f->inclusive) return -1;
    for (size_t t = 0; t < p->thread_count; t++)
        if (p->threads[t].root < p->node_count) f->total += cprof__flame_sum(f, p->threads[t].root, 0);
    f->thread_level = p->thread_count > 1;
    f->min_value = (double)f->total * f->o.min_width_pct / 100.0;
    f->scale = f->total ? ((double)f->o.width - 2.0 * CPROF__FLAME_PAD) / (double)f->total : 0.0;
    uint32_t deepest = 0;
    for (size_t t = 0; t < p->thread_count; t++) {
        uint32_t root = p->threads[t].root;
        if (root >= p->node_count) continue;
        if (!cprof__flame_drawn(f, f->inclusive[root])) {
            f->hidden += f->inclusive[root] > 0;
            continue;
        }
        uint32_t below = cprof__flame_deepest(f, root, f->thread_level);
        if (below > deepest) deepest = below;
    }
    f->levels = deepest + 1;
    return 0;
}

static void cprof__flame_release(cprof__flame *f) {
    cprof__release(f->inclusive, (f->p->node_count ? f->p->node_count : 1) * sizeof *f->inclusive);
    f->inclusive = NULL;
}

/* The whole document into b, or through b to `stream` in pieces when stream is not NULL; `paint`
   colours a differential flame graph (NULL: the ordinary colours). */
static int cprof__flamegraph_paint(cprof__buf *b, FILE *stream, const cprof_profile *p,
                                   const cprof_flamegraph_options *options, const cprof__flame_painter *paint) {
    cprof__flame f;
    if (!p) return -1;
    if (cprof__flame_prepare(&f, p, options)) {
        cprof__flame_release(&f);
        return -1;
    }
    f.paint = paint;
    f.out = b;
    f.stream = stream;
    f.top = CPROF__FLAME_TOP + (paint && paint->legend ? CPROF__FLAME_LEGEND : 0.0);
    double height = f.top + CPROF__FLAME_ROW * f.levels + CPROF__FLAME_BOTTOM;
    cprof__flame_header(&f, height);
    if (paint && paint->legend) paint->legend(paint->context, b, CPROF__FLAME_TOP);
    if (f.total) cprof__flame_frames(&f);
    else {
        cprof__buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">Nothing was recorded for the metric ", CPROF__FLAME_PAD,
                          f.top + 12.0);
        cprof__xml_escape_string(b, cprof__flame_metric_name(&f));
        cprof__buf_puts(b, ".</text>\n");
    }
    cprof__flame_footer(&f, height);
    cprof__flame_flush(&f);
    cprof__flame_release(&f);
    return b->failed || f.stream_failed ? -1 : 0;
}

static int cprof__flamegraph_build(cprof__buf *b, FILE *stream, const cprof_profile *p,
                                   const cprof_flamegraph_options *options) {
    return cprof__flamegraph_paint(b, stream, p, options, NULL);
}

int cprof_flamegraph_write(const cprof_profile *p, FILE *out, const cprof_flamegraph_options *options) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!out) return -1;
    int failed = cprof__flamegraph_build(&b, out, p, options);
    cprof__buf_free(&b);
    return failed ? -1 : 0;
}

/* CPROF_OUT: prefix.svg with the default options. */
static void cprof__flamegraph_build_default(cprof__buf *b, const cprof_profile *p) {
    cprof__flamegraph_build(b, NULL, p, NULL);
}

/* ==================================================================================================
   >>memchart: the live heap over time as one self-contained SVG (`cprof memory`, heaptrack's "consumed"
   chart): stacked areas for the largest sites and "other", the peak marked with its value and time,
   axes with units, a column per point whose hover writes its figures
   ================================================================================================== */
#define CPROF__CHART_SITES 8       /* sites drawn as areas of their own; the rest is "other" */
#define CPROF__CHART_WIDTH 1200.0
#define CPROF__CHART_LEFT 100.0    /* the y axis' labels */
#define CPROF__CHART_RIGHT 20.0
#define CPROF__CHART_TOP 76.0      /* title, subtitle, the allocator's line */
#define CPROF__CHART_HEIGHT 360.0  /* the plot */
#define CPROF__CHART_AXIS 44.0     /* the x axis' labels and title */
#define CPROF__CHART_ROW 18.0      /* a legend row */
#define CPROF__CHART_BOTTOM 30.0   /* the details line */

/* The areas' fills, the largest site first, "other" last. Each has at least 3:1 contrast with the
   background (#fbfaf4, luminance 0.955: a fill's luminance at most 0.285; tests/memory_browser.cjs
   measures it), and a white border separates neighbours. */
static const int cprof__chart_fills[CPROF__CHART_SITES + 1][3] = {
    {31, 100, 170}, {200, 50, 40}, {40, 125, 60}, {130, 80, 170}, {150, 95, 40},
    {190, 40, 130}, {0, 120, 130}, {95, 95, 20}, {120, 120, 120}};

static const char *const cprof__chart_script[] = {
    "var details = document.getElementById('details'), cursor = document.getElementById('cursor');",
    "function show(column) {",
    "  var values = column.getAttribute('data-values').split(';'), text = 'at ' + column.getAttribute('data-time') +",
    "      ': ' + column.getAttribute('data-live') + ' live';",
    "  for (var i = 0; i < values.length; i++) if (values[i] !== '0') text += '; ' + cprofLayers[i] + ' ' + values[i];",
    "  details.textContent = text;",
    "  cursor.setAttribute('x1', column.getAttribute('data-x')); cursor.setAttribute('x2', column.getAttribute('data-x'));",
    "  cursor.setAttribute('class', '');",
    "}",
    "document.documentElement.addEventListener('mouseover', function (e) {",
    "  if (e.target.getAttribute && e.target.getAttribute('class') === 'col') show(e.target);",
    "});",
    "document.documentElement.addEventListener('mouseout', function (e) {",
    "  if (e.target.getAttribute && e.target.getAttribute('class') === 'col') { details.textContent = ' ';",
    "    cursor.setAttribute('class', 'hide'); }",
    "});",
};

static const char cprof__chart_style[] =
    "text { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12px; fill: #000; }\n"
    "#title { font-size: 17px; } #subtitle, #allocator { fill: #444; }\n"
    ".area { stroke: #fff; stroke-width: 0.6; } .col { fill: #000; fill-opacity: 0; cursor: crosshair; }\n"
    ".grid { stroke: #d8d6cc; stroke-width: 1; } .axis { stroke: #000; stroke-width: 1; }\n"
    "#peak line { stroke: #000; stroke-width: 1.2; stroke-dasharray: 4 3; } #peak circle { fill: #000; }\n"
    "#cursor { stroke: #000; stroke-width: 1; pointer-events: none; } .hide { display: none; }\n";

/* The chart's columns: the series' points, with the peak's moment put in time order. */
typedef struct cprof__chart {
    cprof__buf *out;
    const cprof_profile *p;
    uint32_t layers[CPROF__CHART_SITES]; /* sites, by index into alloc_sites */
    uint32_t layer_count;
    size_t columns;
    uint64_t *time_ns, *live;     /* [columns] */
    uint64_t *values;             /* [columns * (layer_count + 1)]: each layer's bytes, then "other" */
    size_t peak_column;           /* SIZE_MAX when the profile has no peak */
    uint64_t end_ns, top_bytes;   /* the axes' ends */
} cprof__chart;

/* A site's bytes in point `m`: its share there, or 0 (then it is in the point's "other"). */
static uint64_t cprof__chart_share(const cprof_profile *p, const cprof_memory_point *m, uint32_t site) {
    for (uint32_t k = 0; k < m->share_count; k++)
        if (p->memory_shares[m->first_share + k].site == site) return p->memory_shares[m->first_share + k].bytes;
    return 0;
}

/* The sites drawn: the largest at the peak or at any point, at most CPROF__CHART_SITES. */
static int cprof__chart_choose(cprof__chart *c) {
    const cprof_profile *p = c->p;
    uint64_t score[CPROF__CHART_SITES];
    size_t bytes = (p->alloc_site_count ? p->alloc_site_count : 1) * sizeof(uint64_t);
    uint64_t *largest = (uint64_t *)cprof__alloc(bytes); /* per site: the most it held at a point or the peak */
    if (!largest) return -1;
    for (size_t i = 0; i < p->alloc_site_count; i++) largest[i] = p->alloc_sites[i].at_peak_bytes;
    for (size_t k = 0; k < p->memory_share_count; k++) {
        const cprof_memory_share *share = &p->memory_shares[k];
        if (share->site < p->alloc_site_count && share->bytes > largest[share->site]) largest[share->site] = share->bytes;
    }
    for (size_t i = 0; i < p->alloc_site_count; i++) {
        uint64_t best = largest[i];
        uint32_t at = c->layer_count;
        while (at > 0 && score[at - 1] < best) at--;
        if (!best || at == CPROF__CHART_SITES) continue;
        if (c->layer_count < CPROF__CHART_SITES) c->layer_count++;
        for (uint32_t k = c->layer_count - 1; k > at; k--) c->layers[k] = c->layers[k - 1], score[k] = score[k - 1];
        c->layers[at] = (uint32_t)i, score[at] = best;
    }
    cprof__release(largest, bytes);
    return 0;
}

/* Column `c`'s figures: from point `m`, or the peak's (m NULL: each site's at_peak_bytes). */
static void cprof__chart_column(cprof__chart *c, size_t column, const cprof_memory_point *m) {
    const cprof_profile *p = c->p;
    uint64_t *values = &c->values[column * (c->layer_count + 1)], sum = 0;
    c->time_ns[column] = m ? m->time_ns : p->allocs.peak_ns;
    c->live[column] = m ? m->live_bytes : p->allocs.peak_live_bytes;
    for (uint32_t k = 0; k < c->layer_count; k++) {
        values[k] = m ? cprof__chart_share(p, m, c->layers[k]) : p->alloc_sites[c->layers[k]].at_peak_bytes;
        sum += values[k];
    }
    values[c->layer_count] = cprof__difference(c->live[column], sum);
    if (c->live[column] > c->top_bytes) c->top_bytes = c->live[column];
    if (sum > c->top_bytes) c->top_bytes = sum;
    if (c->time_ns[column] > c->end_ns) c->end_ns = c->time_ns[column];
}

static int cprof__chart_build(cprof__chart *c) {
    const cprof_profile *p = c->p;
    int has_peak = p->allocs.peak_live_bytes > 0 && p->allocs.peak_ns > 0; /* 0: before a cprof_reset, or unknown */
    if (cprof__chart_choose(c)) return -1;
    c->columns = p->memory_point_count + (size_t)has_peak;
    c->time_ns = (uint64_t *)cprof__alloc(c->columns * sizeof *c->time_ns);
    c->live = (uint64_t *)cprof__alloc(c->columns * sizeof *c->live);
    c->values = (uint64_t *)cprof__alloc(c->columns * (c->layer_count + 1) * sizeof *c->values);
    if (!c->time_ns || !c->live || !c->values) return -1;
    c->peak_column = SIZE_MAX;
    for (size_t m = 0, column = 0; column < c->columns; column++) {
        int peak_now = has_peak && c->peak_column == SIZE_MAX &&
                       (m == p->memory_point_count || p->memory_points[m].time_ns > p->allocs.peak_ns);
        if (peak_now) c->peak_column = column;
        cprof__chart_column(c, column, peak_now ? NULL : &p->memory_points[m++]);
    }
    return 0;
}

/* A step of 1, 2, 2.5 or 5 times a power of ten, about a fifth of `range` (in the axis' unit). */
static double cprof__chart_step(double range) {
    double raw = range > 0 ? range / 5.0 : 1.0, power = pow(10.0, floor(log10(raw))), fraction = raw / power;
    return power * (fraction <= 1.0 ? 1.0 : fraction <= 2.0 ? 2.0 : fraction <= 2.5 ? 2.5 : fraction <= 5.0 ? 5.0 : 10.0);
}

static double cprof__chart_x(const cprof__chart *c, uint64_t ns) {
    double plot = CPROF__CHART_WIDTH - CPROF__CHART_LEFT - CPROF__CHART_RIGHT;
    return CPROF__CHART_LEFT + (c->end_ns ? (double)ns / (double)c->end_ns * plot : 0.0);
}

static double cprof__chart_y(const cprof__chart *c, double bytes) {
    return CPROF__CHART_TOP + CPROF__CHART_HEIGHT - (c->top_bytes ? bytes / (double)c->top_bytes * CPROF__CHART_HEIGHT : 0.0);
}

/* The y axis in binary units (B, KiB, MiB, GiB), its grid, and its top rounded up to a step. */
static void cprof__chart_y_axis(cprof__chart *c) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double unit = 1.0;
    while (u < 4 && (double)c->top_bytes >= unit * 1024.0) unit *= 1024.0, u++;
    double step = cprof__chart_step((double)c->top_bytes / unit), top = step;
    while (top * unit < (double)c->top_bytes) top += step;
    if (top * unit < 1.8e19) c->top_bytes = (uint64_t)(top * unit); /* else as it is (a file's absurd figure) */
    double x0 = CPROF__CHART_LEFT, x1 = CPROF__CHART_WIDTH - CPROF__CHART_RIGHT;
    for (double v = 0.0; v <= top + step / 2.0; v += step) {
        double y = cprof__chart_y(c, v * unit);
        cprof__buf_printf(c->out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g %s</text>\n",
                          x0, y, x1, y, x0 - 6.0, y + 4.0, v, units[u]);
    }
    cprof__buf_printf(c->out, "<text x=\"14\" y=\"%.1f\" transform=\"rotate(-90 14 %.1f)\" text-anchor=\"middle\">"
                      "live heap (tracked blocks)</text>\n",
                      CPROF__CHART_TOP + CPROF__CHART_HEIGHT / 2.0, CPROF__CHART_TOP + CPROF__CHART_HEIGHT / 2.0);
}

/* The x axis: time since the profile's start, in ns, µs, ms or s. */
static void cprof__chart_x_axis(const cprof__chart *c) {
    static const char *const units[] = {"ns", "µs", "ms", "s"};
    int u = 0;
    double unit = 1.0, bottom = CPROF__CHART_TOP + CPROF__CHART_HEIGHT;
    while (u < 3 && (double)c->end_ns >= unit * 1000.0) unit *= 1000.0, u++;
    double step = cprof__chart_step((double)c->end_ns / unit);
    cprof__buf_printf(c->out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", CPROF__CHART_LEFT,
                      bottom, CPROF__CHART_WIDTH - CPROF__CHART_RIGHT, bottom);
    for (double v = 0.0; v * unit <= (double)c->end_ns * 1.0001; v += step) {
        double x = cprof__chart_x(c, (uint64_t)(v * unit + 0.5));
        cprof__buf_printf(c->out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                          x, bottom, x, bottom + 5.0, x, bottom + 18.0, v);
    }
    cprof__buf_printf(c->out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time since the start (%s)</text>\n",
                      (CPROF__CHART_LEFT + CPROF__CHART_WIDTH - CPROF__CHART_RIGHT) / 2.0, bottom + 36.0, units[u]);
}

/* A layer's name: "file:line function" for a site, "other sites" for the rest; escaped for XML, or
   raw (xml 0: for the script, which escapes it its way). */
static void cprof__chart_layer_name(cprof__buf *b, const cprof__chart *c, uint32_t layer, int xml) {
    if (layer == c->layer_count) { cprof__buf_puts(b, "other sites"); return; }
    const cprof_alloc_site *s = &c->p->alloc_sites[c->layers[layer]];
    char name[64];
    cprof__snprintf(name, sizeof name, ":%u ", (unsigned)s->line);
    if (xml) cprof__xml_escape_string(b, s->file);
    else cprof__buf_puts(b, s->file);
    cprof__buf_puts(b, name);
    if (xml) cprof__xml_escape_string(b, s->function);
    else cprof__buf_puts(b, s->function);
}

/* The layers' names as a JavaScript array inside the script's CDATA: JSON strings, with < and > as
   \u003c and \u003e, so that no name can end the CDATA section (]]>) or look like markup. */
static void cprof__chart_layer_names(const cprof__chart *c) {
    cprof__buf_puts(c->out, "var cprofLayers = [");
    for (uint32_t layer = 0; layer <= c->layer_count; layer++) {
        cprof__buf raw, quoted;
        memset(&raw, 0, sizeof raw);
        memset(&quoted, 0, sizeof quoted);
        cprof__chart_layer_name(&raw, c, layer, 0);
        cprof__buf_json_string(&quoted, raw.data ? raw.data : "");
        c->out->failed |= raw.failed | quoted.failed;
        cprof__buf_puts(c->out, layer ? ", " : "");
        for (size_t i = 0; i < quoted.length; i++) {
            if (quoted.data[i] == '<' || quoted.data[i] == '>') cprof__buf_puts(c->out, quoted.data[i] == '<' ? "\\u003c" : "\\u003e");
            else cprof__buf_append(c->out, &quoted.data[i], 1);
        }
        cprof__buf_free(&raw);
        cprof__buf_free(&quoted);
    }
    cprof__buf_puts(c->out, "];\n");
}

/* The stacked areas, the largest site at the bottom: one polygon each, along its top then back along
   its bottom. */
static void cprof__chart_areas(const cprof__chart *c) {
    uint32_t stride = c->layer_count + 1;
    for (uint32_t layer = 0; layer < stride; layer++) {
        const int *rgb = cprof__chart_fills[layer == c->layer_count ? CPROF__CHART_SITES : layer];
        cprof__buf_printf(c->out, "<polygon class=\"area\" data-layer=\"%u\" fill=\"rgb(%d,%d,%d)\" points=\"", layer, rgb[0],
                          rgb[1], rgb[2]);
        for (size_t k = 0; k < 2 * c->columns; k++) { /* along the top, then back along the bottom */
            size_t column = k < c->columns ? k : 2 * c->columns - 1 - k;
            uint64_t below = 0;
            for (uint32_t l = 0; l < layer; l++) below += c->values[column * stride + l];
            double bytes = (double)(below + (k < c->columns ? c->values[column * stride + layer] : 0));
            cprof__buf_printf(c->out, "%s%.2f,%.2f", k ? " " : "", cprof__chart_x(c, c->time_ns[column]), cprof__chart_y(c, bytes));
        }
        cprof__buf_puts(c->out, "\"><title>");
        cprof__chart_layer_name(c->out, c, layer, 1);
        cprof__buf_puts(c->out, "</title></polygon>\n");
    }
}

/* A transparent column per point, from halfway to its left neighbour to halfway to its right one:
   its hover writes the point's figures in the details line (and its title says the same). */
static void cprof__chart_columns(const cprof__chart *c) {
    uint32_t stride = c->layer_count + 1;
    char when[24], bytes[32];
    for (size_t column = 0; column < c->columns; column++) {
        double x = cprof__chart_x(c, c->time_ns[column]);
        double left = column ? (cprof__chart_x(c, c->time_ns[column - 1]) + x) / 2.0 : x - 2.0;
        double right = column + 1 < c->columns ? (x + cprof__chart_x(c, c->time_ns[column + 1])) / 2.0 : x + 2.0;
        if (right - left < 1.0) left = x - 0.5, right = x + 0.5;
        cprof__buf_printf(c->out, "<rect class=\"col\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" data-x=\"%.2f\" "
                          "data-ns=\"%llu\" data-bytes=\"%llu\" data-time=\"%s\" data-live=\"%s\" data-values=\"",
                          left, CPROF__CHART_TOP, right - left, CPROF__CHART_HEIGHT, x, (unsigned long long)c->time_ns[column],
                          (unsigned long long)c->live[column], cprof__duration(when, c->time_ns[column]),
                          cprof__byte_count(bytes, c->live[column]));
        for (uint32_t l = 0; l < stride; l++) {
            cprof__byte_count(bytes, c->values[column * stride + l]);
            cprof__buf_printf(c->out, "%s%s", l ? ";" : "", c->values[column * stride + l] ? bytes : "0");
        }
        cprof__buf_printf(c->out, "\"%s><title>%s: %s live</title></rect>\n", column == c->peak_column ? " id=\"peak-column\"" : "",
                          when, cprof__byte_count(bytes, c->live[column]));
    }
}

/* The peak: a dashed line at its moment, a dot at its total, its value and time written beside. */
static void cprof__chart_peak(const cprof__chart *c) {
    const cprof_profile *p = c->p;
    if (c->peak_column == SIZE_MAX) return;
    char when[24], bytes[32];
    double x = cprof__chart_x(c, p->allocs.peak_ns), y = cprof__chart_y(c, (double)p->allocs.peak_live_bytes);
    int right_side = x < CPROF__CHART_WIDTH * 0.6; /* the label where it fits */
    cprof__buf_printf(c->out, "<g id=\"peak\" data-bytes=\"%llu\" data-ns=\"%llu\" data-x=\"%.2f\" data-y=\"%.2f\">"
                      "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.2f\"/><circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\"/>"
                      "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\">peak %s at %s</text></g>\n",
                      (unsigned long long)p->allocs.peak_live_bytes, (unsigned long long)p->allocs.peak_ns, x, y, x,
                      CPROF__CHART_TOP + CPROF__CHART_HEIGHT, x, y, x, y, right_side ? x + 8.0 : x - 8.0,
                      y < CPROF__CHART_TOP + 14.0 ? CPROF__CHART_TOP + 14.0 : y - 6.0, right_side ? "start" : "end",
                      cprof__byte_count(bytes, p->allocs.peak_live_bytes), cprof__duration(when, p->allocs.peak_ns));
}

/* The allocator's overhead in one line: the slack of the requests, glibc's view near the peak. */
static void cprof__chart_allocator(const cprof__chart *c) {
    const cprof_alloc_totals *a = &c->p->allocs;
    char n1[32], n2[32], n3[32];
    cprof__buf_puts(c->out, "<text id=\"allocator\" x=\"600\" y=\"60\" text-anchor=\"middle\">");
    if (a->usable_known)
        cprof__buf_printf(c->out, "slack (usable size beyond the requests) %s (%.1f%%)",
                          cprof__byte_count(n1, a->slack_bytes), cprof__share(a->slack_bytes, a->bytes_allocated));
    if (a->heap_at_peak.measured)
        cprof__buf_printf(c->out, "%sthe allocator near the peak: arena %s, in use %s, free %s", a->usable_known ? "; " : "",
                          cprof__byte_count(n1, a->heap_at_peak.arena_bytes), cprof__byte_count(n2, a->heap_at_peak.in_use_bytes),
                          cprof__byte_count(n3, a->heap_at_peak.free_bytes));
    cprof__buf_puts(c->out, "</text>\n");
}

static void cprof__chart_header(const cprof__chart *c, double height) {
    const cprof_profile *p = c->p;
    const char *slash = strrchr(p->program, '/');
    char date[32], n1[32], n2[32];
    cprof__buf_printf(c->out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
                      "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                      "viewBox=\"0 0 %.0f %.0f\">\n<style><![CDATA[\n%s]]></style>\n"
                      "<rect width=\"100%%\" height=\"100%%\" fill=\"#fbfaf4\"/>\n"
                      "<text id=\"title\" x=\"600\" y=\"24\" text-anchor=\"middle\">Memory over time: ",
                      CPROF__CHART_WIDTH, height, CPROF__CHART_WIDTH, height, cprof__chart_style);
    cprof__xml_escape_string(c->out, !p->program[0] ? "(unknown program)" : slash && slash[1] ? slash + 1 : p->program);
    cprof__buf_puts(c->out, "</text>\n<text id=\"subtitle\" x=\"600\" y=\"42\" text-anchor=\"middle\">");
    cprof__flame_date(date, p->start_unix_ns);
    cprof__buf_printf(c->out, "%s%speak %s in ", date, date[0] ? ", " : "", cprof__byte_count(n1, p->allocs.peak_live_bytes));
    cprof__buf scope;
    memset(&scope, 0, sizeof scope);
    cprof__buf_scope_path(&scope, p, p->allocs.peak_node);
    c->out->failed |= scope.failed;
    if (scope.data) cprof__xml_escape(c->out, scope.data, scope.length);
    cprof__buf_free(&scope);
    cprof__buf_printf(c->out, "; live at capture %s; %llu points</text>\n", cprof__byte_count(n2, p->allocs.live_bytes),
                      (unsigned long long)p->memory_point_count);
    cprof__chart_allocator(c);
}

/* The legend below the axis, a row per layer: its colour, its name, its bytes at the peak. */
static void cprof__chart_legend(const cprof__chart *c, double y) {
    uint32_t stride = c->layer_count + 1;
    char bytes[32];
    for (uint32_t layer = 0; layer < stride; layer++) {
        const int *rgb = cprof__chart_fills[layer == c->layer_count ? CPROF__CHART_SITES : layer];
        uint64_t at_peak = c->peak_column == SIZE_MAX ? 0 : c->values[c->peak_column * stride + layer];
        double row = y + CPROF__CHART_ROW * (double)layer;
        cprof__buf_printf(c->out, "<g class=\"legend\" data-layer=\"%u\"><rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" "
                          "fill=\"rgb(%d,%d,%d)\"/><text x=\"%.1f\" y=\"%.1f\">",
                          layer, CPROF__CHART_LEFT, row - 10.0, rgb[0], rgb[1], rgb[2], CPROF__CHART_LEFT + 18.0, row);
        cprof__chart_layer_name(c->out, c, layer, 1);
        if (layer < c->layer_count) {
            cprof__buf_puts(c->out, " in ");
            cprof__buf scope;
            memset(&scope, 0, sizeof scope);
            cprof__buf_scope_path(&scope, c->p, c->p->alloc_sites[c->layers[layer]].node);
            c->out->failed |= scope.failed;
            if (scope.data) cprof__xml_escape(c->out, scope.data, scope.length);
            cprof__buf_free(&scope);
        }
        cprof__buf_printf(c->out, ": %s at the peak</text></g>\n", cprof__byte_count(bytes, at_peak));
    }
}

static int cprof__memory_chart_build(cprof__buf *out, const cprof_profile *p) {
    cprof__chart c;
    memset(&c, 0, sizeof c);
    c.out = out;
    c.p = p;
    int failed = cprof__chart_build(&c);
    double legend = CPROF__CHART_TOP + CPROF__CHART_HEIGHT + CPROF__CHART_AXIS + 14.0;
    double height = legend + CPROF__CHART_ROW * (double)(c.layer_count + 1) + CPROF__CHART_BOTTOM;
    if (!failed) {
        cprof__chart_header(&c, height);
        cprof__chart_y_axis(&c);
        cprof__chart_areas(&c);
        cprof__chart_x_axis(&c);
        cprof__chart_peak(&c);
        cprof__buf_printf(out, "<line id=\"cursor\" class=\"hide\" x1=\"0\" y1=\"%.1f\" x2=\"0\" y2=\"%.1f\"/>\n", CPROF__CHART_TOP,
                          CPROF__CHART_TOP + CPROF__CHART_HEIGHT);
        cprof__chart_columns(&c);
        cprof__chart_legend(&c, legend);
        cprof__buf_printf(out, "<text id=\"details\" x=\"%.1f\" y=\"%.1f\"> </text>\n<script type=\"text/ecmascript\"><![CDATA[\n",
                          CPROF__CHART_LEFT, height - 10.0);
        cprof__chart_layer_names(&c);
        for (size_t i = 0; i < sizeof cprof__chart_script / sizeof cprof__chart_script[0]; i++) {
            cprof__buf_puts(out, cprof__chart_script[i]);
            cprof__buf_puts(out, "\n");
        }
        cprof__buf_puts(out, "]]></script>\n</svg>\n");
    }
    cprof__release(c.time_ns, c.columns * sizeof *c.time_ns);
    cprof__release(c.live, c.columns * sizeof *c.live);
    cprof__release(c.values, c.columns * (c.layer_count + 1) * sizeof *c.values);
    return failed || out->failed ? -1 : 0;
}

int cprof_memory_chart_write(const cprof_profile *p, FILE *out) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p || !out || !p->memory_point_count) return -1;
    if (cprof__memory_chart_build(&b, p)) {
        cprof__buf_free(&b);
        return -1;
    }
    return cprof__buf_to_file(&b, out);
}

/* ==================================================================================================
   >>bench-report: the benchmarks' text: statistics per benchmark, the implementations of a task compared,
   growth with n
   ================================================================================================== */
/* --- the text: a table, the comparison of each task's implementations, the scaling of each sweep ---- */
/* A time per iteration with sub-nanosecond digits where they matter: 0.82 ns, 41.3 ns, 12.3 µs. */
static const char *cprof__bench_time(char out[24], double ns) {
    if (ns < 10) cprof__snprintf(out, 24, "%.2f ns", ns);
    else if (ns < 1000) cprof__snprintf(out, 24, "%.1f ns", ns);
    else cprof__duration(out, cprof__u64_rounded(ns));
    return out;
}

/* Per second, with an SI prefix: "1.23 G items/s", "456 MB/s". */
static const char *cprof__bench_rate(char out[32], double per_iteration, double ns, const char *unit) {
    static const char prefixes[] = " kMGTP";
    double rate = ns > 0 ? per_iteration * 1e9 / ns : 0;
    int k = 0;
    while (rate >= 1000 && k < 5) rate /= 1000, k++;
    if (k) cprof__snprintf(out, 32, "%.3g %c%s/s", rate, prefixes[k], unit);
    else cprof__snprintf(out, 32, "%.3g %s/s", rate, unit);
    return out;
}

static void cprof__bench_row(cprof__buf *b, const cprof_benchmark *r) {
    char n[32], times[6][24], rate[32], spread[48];
    const cprof_bench_stats *s = &r->stats;
    cprof__buf_textf(b, "  %-24s %11s", r->name, r->n ? cprof__count(n, r->n) : "-");
    double values[6] = {s->median_ns, s->mean_ns, s->min_ns, s->max_ns, s->stddev_ns, s->mad_ns};
    for (int k = 0; k < 6; k++) {
        cprof__buf_puts(b, " ");
        cprof__buf_pad_left(b, cprof__bench_time(times[k], values[k]), 9);
    }
    cprof__snprintf(spread, sizeof spread, "%u", (unsigned)(s->outliers_low + s->outliers_high));
    cprof__buf_pad_left(b, spread, 9);
    cprof__snprintf(spread, sizeof spread, "%llu x %llu", (unsigned long long)r->sample_count, (unsigned long long)r->batch);
    cprof__buf_puts(b, "  ");
    cprof__buf_pad_left(b, spread, 16);
    if (r->items) cprof__buf_textf(b, "  %s", cprof__bench_rate(rate, (double)r->items, s->median_ns, " items"));
    if (r->bytes) cprof__buf_textf(b, "  %s", cprof__bench_rate(rate, (double)r->bytes, s->median_ns, "B"));
    cprof__buf_puts(b, "\n");
}

/* Length of the task part of a name: up to the last '/', or all of it. */
static size_t cprof__bench_task_length(const char *name) {
    const char *slash = strrchr(name, '/');
    return slash ? (size_t)(slash - name) : strlen(name);
}

/* Implementations of one task at one n are compared together. */
static int cprof__bench_same_task(const cprof_benchmark *a, const cprof_benchmark *b) {
    size_t length = cprof__bench_task_length(a->name);
    return a->n == b->n && length == cprof__bench_task_length(b->name) && strncmp(a->name, b->name, length) == 0;
}

/* Indices of benchmarks by median, fastest first (insertion sort: a handful of implementations; qsort
   would need the profile in a global, which two threads writing tables at once would share). */
static void cprof__bench_sort_by_median(const cprof_profile *p, size_t *order, size_t count) {
    for (size_t i = 1; i < count; i++)
        for (size_t j = i; j > 0 && p->benchmarks[order[j - 1]].stats.median_ns > p->benchmarks[order[j]].stats.median_ns; j--) {
            size_t swap = order[j];
            order[j] = order[j - 1];
            order[j - 1] = swap;
        }
}

/* The implementations of benchmark `first`'s task at its n, fastest first, when there are several. */
static void cprof__bench_comparison(cprof__buf *b, const cprof_profile *p, size_t first, size_t *order) {
    size_t count = 0;
    char n[32], time[24];
    for (size_t i = 0; i < p->benchmark_count; i++) {
        if (i < first && cprof__bench_same_task(&p->benchmarks[i], &p->benchmarks[first])) return; /* done already */
        if (cprof__bench_same_task(&p->benchmarks[i], &p->benchmarks[first])) order[count++] = i;
    }
    if (count < 2) return;
    cprof__bench_sort_by_median(p, order, count);
    const cprof_benchmark *fastest = &p->benchmarks[order[0]];
    cprof__buf_textf(b, "\nCompared: %.*s", (int)cprof__bench_task_length(fastest->name), fastest->name);
    if (fastest->n) cprof__buf_textf(b, ", n = %s", cprof__count(n, fastest->n));
    cprof__buf_puts(b, " (fastest first)\n");
    for (size_t k = 0; k < count; k++) {
        const cprof_benchmark *r = &p->benchmarks[order[k]];
        double ratio = fastest->stats.median_ns > 0 ? r->stats.median_ns / fastest->stats.median_ns : 0;
        cprof__buf_textf(b, "  %-24s ", r->name);
        cprof__buf_pad_left(b, cprof__bench_time(time, r->stats.median_ns), 9);
        if (k == 0) cprof__buf_puts(b, "   fastest\n");
        else cprof__buf_textf(b, "   %.2fx slower\n", ratio);
    }
}

/* "O(n)" when the exponent is within 0.15 of a whole power, else "". */
static const char *cprof__bench_order(double exponent) {
    static const char *const names[] = {"O(1)", "O(n)", "O(n^2)", "O(n^3)"};
    double nearest = floor(exponent + 0.5);
    if (nearest < 0 || nearest > 3 || fabs(exponent - nearest) > 0.15) return "";
    return names[(int)nearest];
}

/* For a benchmark run at several n: time per n at each, and the fitted growth exponent. */
static void cprof__bench_scaling(cprof__buf *b, const cprof_profile *p, size_t first, double *n, double *t) {
    size_t count = 0;
    char time[24], number[32];
    const char *name = p->benchmarks[first].name;
    for (size_t i = 0; i < p->benchmark_count; i++) {
        const cprof_benchmark *r = &p->benchmarks[i];
        if (strcmp(r->name, name) != 0 || !r->n) continue;
        if (i < first) return; /* printed with an earlier one */
        n[count] = (double)r->n;
        t[count++] = r->stats.median_ns;
    }
    if (count < 2) return;
    cprof__buf_textf(b, "  %s:", name);
    for (size_t k = 0; k < count; k++)
        cprof__buf_textf(b, "%s %s/n at %s", k ? "," : "", cprof__bench_time(time, t[k] / n[k]),
                          cprof__count(number, (uint64_t)n[k]));
    double exponent = cprof_bench_growth(n, t, count);
    const char *order = cprof__bench_order(exponent);
    cprof__buf_textf(b, "; time grows as n^%.2f%s%s%s\n", exponent, *order ? " (" : "", order, *order ? ")" : "");
}

static void cprof__bench_build(cprof__buf *b, const cprof_profile *p) {
    size_t count = p->benchmark_count ? p->benchmark_count : 1;
    size_t *order = (size_t *)cprof__alloc(count * sizeof *order);
    double *n = (double *)cprof__alloc(count * sizeof *n), *t = (double *)cprof__alloc(count * sizeof *t);
    if (!order || !n || !t) b->failed = 1;
    cprof__buf_textf(b, "Benchmarks: %zu (timer %s; times per iteration)\n", p->benchmark_count, p->timer);
    if (p->benchmark_count)
        cprof__buf_textf(b, "  %-24s %11s %9s %9s %9s %9s %9s %9s %8s  %16s  %s\n", "name", "n", "median", "mean",
                          "min", "max", "stddev", "MAD", "outliers", "samples x batch", "throughput (median)");
    for (size_t i = 0; i < p->benchmark_count; i++) cprof__bench_row(b, &p->benchmarks[i]);
    for (size_t i = 0; i < p->benchmark_count && !b->failed; i++) cprof__bench_comparison(b, p, i, order);
    int scaling_header = 0;
    for (size_t i = 0; i < p->benchmark_count && !b->failed; i++) {
        size_t before = b->length;
        if (!scaling_header) cprof__buf_puts(b, "\nScaling (median time per n, growth fitted on log-log)\n");
        size_t header_end = b->length;
        cprof__bench_scaling(b, p, i, n, t);
        if (b->length == header_end && !scaling_header) b->length = before, b->data[before] = '\0';
        else scaling_header = 1;
    }
    cprof__release(order, count * sizeof *order);
    cprof__release(n, count * sizeof *n);
    cprof__release(t, count * sizeof *t);
}

int cprof_bench_write(const cprof_profile *p, FILE *out) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p || !out) return -1;
    cprof__bench_build(&b, p);
    return cprof__buf_to_file(&b, out);
}

int cprof_bench_print(FILE *out) {
    cprof_profile *p = cprof_capture();
    int result = cprof_bench_write(p, out);
    cprof_profile_free(p);
    return result;
}

/* ==================================================================================================
   >>reader: the JSON profile loader. A small parser into a flat array of values, then a mapping onto
   cprof_profile that checks every field; any problem gives "FILE:LINE:COL: what is wrong".
   ================================================================================================== */
#define CPROF__JSON_MAX_DEPTH 64

enum { CPROF__JSON_NULL, CPROF__JSON_FALSE, CPROF__JSON_TRUE, CPROF__JSON_NUMBER, CPROF__JSON_STRING,
       CPROF__JSON_ARRAY, CPROF__JSON_OBJECT };

typedef struct cprof__json_value {
    int type;
    uint32_t line, column;
    uint32_t next;  /* the next element or member of the same parent; 0 = none (value 0 is unused) */
    uint32_t first; /* an array's or object's first element or member */
    uint32_t count;
    const char *key; /* the member name, inside an object */
    const char *text; /* a string's decoded bytes (NUL-terminated), or a number's source text */
    size_t length;
} cprof__json_value;

typedef struct cprof__json {
    const char *name; /* the file, for messages */
    const char *at, *end, *line_start;
    uint32_t line;
    cprof__json_value *values;
    size_t count, capacity;
    char *strings; /* decoded strings; never longer than the text they come from, so never grows */
    size_t strings_used;
    int failed;
} cprof__json;

static void cprof__json_fail_at(cprof__json *j, uint32_t line, uint32_t column, const char *format, ...) {
    if (j->failed) return;
    char what[300];
    va_list args;
    va_start(args, format);
    cprof__format_v(what, sizeof what, format, args);
    va_end(args);
    cprof__set_error("%s:%u:%u: %s", j->name, (unsigned)line, (unsigned)column, what);
    j->failed = 1;
}

#define CPROF__JSON_HERE(j) (j)->line, (uint32_t)((j)->at - (j)->line_start + 1)

static void cprof__json_skip_space(cprof__json *j) {
    while (j->at < j->end && (*j->at == ' ' || *j->at == '\t' || *j->at == '\n' || *j->at == '\r')) {
        if (*j->at == '\n') {
            j->line++;
            j->line_start = j->at + 1;
        }
        j->at++;
    }
}

static uint32_t cprof__json_new_value(cprof__json *j, int type) {
    if (j->count == 0) j->count = 1; /* index 0 means "none" */
    if (cprof__grow(&j->values, &j->capacity, j->count + 1, sizeof *j->values)) {
        cprof__json_fail_at(j, CPROF__JSON_HERE(j), "out of memory");
        return 0;
    }
    cprof__json_value *v = &j->values[j->count];
    memset(v, 0, sizeof *v);
    v->type = type;
    v->line = j->line;
    v->column = (uint32_t)(j->at - j->line_start + 1);
    return (uint32_t)j->count++;
}

static int cprof__json_literal(cprof__json *j, const char *word) {
    size_t length = strlen(word);
    if ((size_t)(j->end - j->at) < length || memcmp(j->at, word, length) != 0) return 0;
    j->at += length;
    return 1;
}

/* JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; kept as text, converted on use. */
static uint32_t cprof__json_number(cprof__json *j) {
    uint32_t v = cprof__json_new_value(j, CPROF__JSON_NUMBER);
    const char *start = j->at;
    if (j->at < j->end && *j->at == '-') j->at++;
    if (j->at >= j->end || !cprof__is_digit(*j->at)) goto bad;
    if (*j->at == '0') j->at++;
    else while (j->at < j->end && cprof__is_digit(*j->at)) j->at++;
    if (j->at < j->end && *j->at == '.') {
        j->at++;
        if (j->at >= j->end || !cprof__is_digit(*j->at)) goto bad;
        while (j->at < j->end && cprof__is_digit(*j->at)) j->at++;
    }
    if (j->at < j->end && (*j->at == 'e' || *j->at == 'E')) {
        j->at++;
        if (j->at < j->end && (*j->at == '+' || *j->at == '-')) j->at++;
        if (j->at >= j->end || !cprof__is_digit(*j->at)) goto bad;
        while (j->at < j->end && cprof__is_digit(*j->at)) j->at++;
    }
    if (v) {
        j->values[v].text = start;
        j->values[v].length = (size_t)(j->at - start);
    }
    return v;
bad:
    cprof__json_fail_at(j, CPROF__JSON_HERE(j), "malformed number");
    return 0;
}

static int cprof__json_hex4(cprof__json *j, uint32_t *code) {
    *code = 0;
    if (j->end - j->at < 4) return 0;
    for (int i = 0; i < 4; i++) {
        char c = *j->at++;
        uint32_t digit = cprof__is_digit(c) ? (uint32_t)(c - '0')
                         : (c >= 'a' && c <= 'f') ? (uint32_t)(c - 'a' + 10)
                         : (c >= 'A' && c <= 'F') ? (uint32_t)(c - 'A' + 10) : 16u;
        if (digit == 16) return 0;
        *code = *code * 16 + digit;
    }
    return 1;
}

/* \u and four hex digits, with a surrogate pair for characters above U+FFFF; NUL and lone surrogates are refused. */
static int cprof__json_unicode_escape(cprof__json *j, char **out) {
    uint32_t code, low;
    if (!cprof__json_hex4(j, &code)) return 0;
    if (code >= 0xD800 && code <= 0xDBFF) {
        if (!cprof__json_literal(j, "\\u") || !cprof__json_hex4(j, &low) || low < 0xDC00 || low > 0xDFFF) return 0;
        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    } else if ((code >= 0xDC00 && code <= 0xDFFF) || code == 0) {
        return 0;
    }
    cprof__utf8_put(out, code);
    return 1;
}

static int cprof__json_escape(cprof__json *j, char **out) {
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    char c = *j->at++;
    const char *known = c ? strchr(from, c) : NULL;
    if (c == 'u') return cprof__json_unicode_escape(j, out);
    if (!known) return 0;
    *(*out)++ = to[known - from];
    return 1;
}

/* A string, decoded into the parser's string area; raw bytes must be valid UTF-8 and not control characters. */
static const char *cprof__json_string_text(cprof__json *j, size_t *length) {
    char *out = j->strings + j->strings_used, *start = out;
    j->at++; /* the opening quote */
    while (!j->failed) {
        if (j->at >= j->end) {
            cprof__json_fail_at(j, CPROF__JSON_HERE(j), "unterminated string");
            return NULL;
        }
        unsigned char c = (unsigned char)*j->at;
        if (c == '"') break;
        if (c < 0x20) {
            cprof__json_fail_at(j, CPROF__JSON_HERE(j), "control character 0x%02x in a string", c);
        } else if (c == '\\') {
            uint32_t line = j->line, column = (uint32_t)(j->at - j->line_start + 1);
            j->at++;
            if (j->at >= j->end || !cprof__json_escape(j, &out)) cprof__json_fail_at(j, line, column, "invalid escape in a string");
        } else {
            size_t n = cprof__utf8_length((const unsigned char *)j->at, (const unsigned char *)j->end);
            if (!n) cprof__json_fail_at(j, CPROF__JSON_HERE(j), "invalid UTF-8 in a string");
            memcpy(out, j->at, n);
            out += n;
            j->at += n;
        }
    }
    if (j->failed) return NULL;
    j->at++;
    *out++ = '\0';
    j->strings_used += (size_t)(out - start);
    *length = (size_t)(out - start) - 1;
    return start;
}

static uint32_t cprof__json_value_at(cprof__json *j, uint32_t depth);

static uint32_t cprof__json_string(cprof__json *j) {
    uint32_t v = cprof__json_new_value(j, CPROF__JSON_STRING);
    size_t length = 0;
    const char *text = v ? cprof__json_string_text(j, &length) : NULL;
    if (!text) return 0;
    j->values[v].text = text;
    j->values[v].length = length;
    return v;
}

/* Duplicate member names are refused (which of the two would count is not obvious), at the second.
   Small objects (a profile's have a dozen members) are searched pairwise; larger ones sorted by name,
   so that a hostile object of a million members costs n log n, not n squared. */
typedef struct cprof__json_member_ref {
    const char *key;
    uint32_t value;
} cprof__json_member_ref;

static int cprof__compare_member_refs(const void *a, const void *b) {
    const cprof__json_member_ref *x = (const cprof__json_member_ref *)a, *y = (const cprof__json_member_ref *)b;
    int order = strcmp(x->key, y->key);
    return order ? order : x->value < y->value ? -1 : x->value > y->value;
}

/* The later of two members of object `v` with the same name, or 0. */
static uint32_t cprof__json_duplicate_member(cprof__json *j, uint32_t v) {
    uint32_t count = j->values[v].count, found = 0;
    if (count <= 16) {
        for (uint32_t m = j->values[v].first; m && !found; m = j->values[m].next)
            for (uint32_t n = j->values[m].next; n && !found; n = j->values[n].next)
                if (strcmp(j->values[m].key, j->values[n].key) == 0) found = n;
        return found;
    }
    cprof__json_member_ref *refs = (cprof__json_member_ref *)cprof__alloc(count * sizeof *refs);
    if (!refs) {
        cprof__json_fail_at(j, j->values[v].line, j->values[v].column, "out of memory");
        return 0;
    }
    uint32_t k = 0;
    for (uint32_t m = j->values[v].first; m && k < count; m = j->values[m].next) refs[k].key = j->values[m].key, refs[k++].value = m;
    qsort(refs, k, sizeof *refs, cprof__compare_member_refs);
    for (uint32_t i = 1; i < k; i++)
        if (strcmp(refs[i - 1].key, refs[i].key) == 0 && (!found || refs[i].value < found)) found = refs[i].value;
    cprof__release(refs, count * sizeof *refs);
    return found;
}

/* Arrays and objects: elements linked in order; an object's members carry their key. */
static uint32_t cprof__json_container(cprof__json *j, uint32_t depth, int type) {
    char close = type == CPROF__JSON_ARRAY ? ']' : '}';
    uint32_t v = cprof__json_new_value(j, type), last = 0;
    if (depth >= CPROF__JSON_MAX_DEPTH) { /* the outermost value is at depth 0 */
        cprof__json_fail_at(j, CPROF__JSON_HERE(j), "nested deeper than %d levels", CPROF__JSON_MAX_DEPTH);
        return 0;
    }
    j->at++;
    cprof__json_skip_space(j);
    if (j->at < j->end && *j->at == close) {
        j->at++;
        return v;
    }
    while (v && !j->failed) {
        const char *key = NULL;
        size_t key_length;
        if (type == CPROF__JSON_OBJECT) {
            if (j->at >= j->end || *j->at != '"') {
                cprof__json_fail_at(j, CPROF__JSON_HERE(j), "expected a member name in quotes");
                return 0;
            }
            if (!(key = cprof__json_string_text(j, &key_length))) return 0;
            cprof__json_skip_space(j);
            if (j->at >= j->end || *j->at != ':') {
                cprof__json_fail_at(j, CPROF__JSON_HERE(j), "expected ':' after the member name");
                return 0;
            }
            j->at++;
        }
        uint32_t element = cprof__json_value_at(j, depth + 1);
        if (!element) return 0;
        j->values[element].key = key;
        if (last) j->values[last].next = element;
        else j->values[v].first = element;
        last = element;
        j->values[v].count++;
        cprof__json_skip_space(j);
        if (j->at < j->end && *j->at == ',') {
            j->at++;
            cprof__json_skip_space(j);
            continue;
        }
        if (j->at < j->end && *j->at == close) {
            j->at++;
            uint32_t duplicate = type == CPROF__JSON_OBJECT ? cprof__json_duplicate_member(j, v) : 0;
            if (duplicate)
                cprof__json_fail_at(j, j->values[duplicate].line, j->values[duplicate].column, "duplicate member \"%s\"",
                                    j->values[duplicate].key);
            return j->failed ? 0 : v;
        }
        cprof__json_fail_at(j, CPROF__JSON_HERE(j), j->at >= j->end ? "unexpected end of file" : "expected ',' or '%c'", close);
    }
    return 0;
}

static uint32_t cprof__json_value_at(cprof__json *j, uint32_t depth) {
    cprof__json_skip_space(j);
    if (j->at >= j->end) {
        cprof__json_fail_at(j, CPROF__JSON_HERE(j), j->count <= 1 ? "empty file: expected a JSON value" : "unexpected end of file");
        return 0;
    }
    switch (*j->at) {
    case '{': return cprof__json_container(j, depth, CPROF__JSON_OBJECT);
    case '[': return cprof__json_container(j, depth, CPROF__JSON_ARRAY);
    case '"': return cprof__json_string(j);
    case 't': if (cprof__json_literal(j, "true")) return cprof__json_new_value(j, CPROF__JSON_TRUE); break;
    case 'f': if (cprof__json_literal(j, "false")) return cprof__json_new_value(j, CPROF__JSON_FALSE); break;
    case 'n': if (cprof__json_literal(j, "null")) return cprof__json_new_value(j, CPROF__JSON_NULL); break;
    default: if (*j->at == '-' || cprof__is_digit(*j->at)) return cprof__json_number(j); break;
    }
    cprof__json_fail_at(j, CPROF__JSON_HERE(j), "unexpected character '%c'", *j->at);
    return 0;
}

static uint32_t cprof__json_parse(cprof__json *j, const char *text, size_t length, const char *name) {
    memset(j, 0, sizeof *j);
    j->name = name;
    j->at = j->line_start = text;
    j->end = text + length;
    j->line = 1;
    j->strings = (char *)cprof__alloc(length + 1);
    if (!j->strings) {
        cprof__json_fail_at(j, 1, 1, "out of memory");
        return 0;
    }
    uint32_t root = cprof__json_value_at(j, 0);
    cprof__json_skip_space(j);
    if (root && j->at < j->end) cprof__json_fail_at(j, CPROF__JSON_HERE(j), "unexpected text after the end of the profile");
    return j->failed ? 0 : root;
}

static void cprof__json_free(cprof__json *j, size_t text_length) {
    cprof__release(j->values, j->capacity * sizeof *j->values);
    cprof__release(j->strings, text_length + 1);
}

/* --- typed access, each failure naming the field and its place --------------------------------------- */
static const cprof__json_value *cprof__json_member(const cprof__json *j, uint32_t object, const char *key) {
    if (!object || j->values[object].type != CPROF__JSON_OBJECT) return NULL;
    for (uint32_t m = j->values[object].first; m; m = j->values[m].next)
        if (strcmp(j->values[m].key, key) == 0) return &j->values[m];
    return NULL;
}

static const cprof__json_value *cprof__json_require(cprof__json *j, uint32_t object, const char *key, int type,
                                                    const char *what) {
    static const char *const type_names[] = {"null", "false", "true", "a number", "a string", "an array", "an object"};
    const cprof__json_value *v = cprof__json_member(j, object, key);
    const cprof__json_value *o = &j->values[object];
    if (!v) cprof__json_fail_at(j, o->line, o->column, "%s: missing \"%s\"", what, key);
    else if (v->type != type) cprof__json_fail_at(j, v->line, v->column, "%s.%s: expected %s", what, key, type_names[type]);
    return j->failed ? NULL : v;
}

/* An unsigned integer up to `max`: no sign, no fraction, no exponent, no overflow. */
static uint64_t cprof__json_u64(cprof__json *j, uint32_t object, const char *key, const char *what, uint64_t max) {
    const cprof__json_value *v = cprof__json_require(j, object, key, CPROF__JSON_NUMBER, what);
    uint64_t value = 0;
    if (v && !cprof__parse_decimal(v->text, v->length, max, &value))
        cprof__json_fail_at(j, v->line, v->column, "%s.%s: expected an integer from 0 to %llu, found %.*s", what, key,
                            (unsigned long long)max, (int)(v->length < 40 ? v->length : 40), v->text);
    return j->failed ? 0 : value;
}

static int64_t cprof__json_i64(cprof__json *j, uint32_t object, const char *key, const char *what) {
    const cprof__json_value *v = cprof__json_require(j, object, key, CPROF__JSON_NUMBER, what);
    uint64_t magnitude = 0;
    if (!v) return 0;
    int negative = v->text[0] == '-';
    if (!cprof__parse_decimal(v->text + negative, v->length - (size_t)negative, (uint64_t)INT64_MAX, &magnitude))
        cprof__json_fail_at(j, v->line, v->column, "%s.%s: expected a 64-bit integer, found %.*s", what, key,
                            (int)(v->length < 40 ? v->length : 40), v->text);
    return j->failed ? 0 : negative ? -(int64_t)magnitude : (int64_t)magnitude;
}

/* A non-negative number `v` (member `key` of `what`, for messages). */
static double cprof__json_double_value(cprof__json *j, const cprof__json_value *v, const char *key, const char *what) {
    char text[64];
    if (v->length >= sizeof text) {
        cprof__json_fail_at(j, v->line, v->column, "%s.%s: number too long", what, key);
        return 0;
    }
    memcpy(text, v->text, v->length);
    text[v->length] = '\0';
    double value = cprof__strtod_c(text, NULL);
    if (!isfinite(value) || value < 0) cprof__json_fail_at(j, v->line, v->column, "%s.%s: out of range", what, key);
    return value;
}

static double cprof__json_double(cprof__json *j, uint32_t object, const char *key, const char *what) {
    const cprof__json_value *v = cprof__json_require(j, object, key, CPROF__JSON_NUMBER, what);
    return v ? cprof__json_double_value(j, v, key, what) : 0;
}

static const char *cprof__json_text(cprof__json *j, cprof_profile *p, uint32_t object, const char *key, const char *what) {
    const cprof__json_value *v = cprof__json_require(j, object, key, CPROF__JSON_STRING, what);
    return v ? cprof__string_copy(p, v->text, v->length) : "";
}

/* An index into an array of `limit` elements, or null for "none". */
static uint32_t cprof__json_index(cprof__json *j, uint32_t object, const char *key, const char *what, uint64_t limit) {
    const cprof__json_value *v = cprof__json_member(j, object, key);
    if (v && v->type == CPROF__JSON_NULL) return CPROF_NONE;
    uint64_t index = cprof__json_u64(j, object, key, what, UINT32_MAX - 1);
    if (!j->failed && index >= limit)
        cprof__json_fail_at(j, v->line, v->column, "%s.%s: %llu is out of range (%llu entries)", what, key,
                            (unsigned long long)index, (unsigned long long)limit);
    return j->failed ? CPROF_NONE : (uint32_t)index;
}

/* --- the profile's parts ---------------------------------------------------------------------------- */
/* "compensation" (format 1.1; only when it was applied): kept as the file says, never applied again. */
static void cprof__load_compensation(cprof__json *j, uint32_t root, cprof_profile *p) {
    const cprof__json_value *object = cprof__json_member(j, root, "compensation");
    if (!object || !cprof__json_require(j, root, "compensation", CPROF__JSON_OBJECT, "profile")) return;
    uint32_t o = (uint32_t)(object - j->values);
    cprof_compensation *c = &p->compensation;
    c->inside_ns = cprof__json_double(j, o, "inside_ns", "compensation");
    c->outside_ns = cprof__json_double(j, o, "outside_ns", "compensation");
    c->scopes = cprof__json_u64(j, o, "scopes", "compensation", UINT64_MAX);
    c->subtracted_ns = cprof__json_u64(j, o, "subtracted_ns", "compensation", UINT64_MAX);
    if (cprof__json_member(j, o, "auto_scopes")) { /* since 1.2, with automatic instrumentation */
        c->auto_inside_ns = cprof__json_double(j, o, "auto_inside_ns", "compensation");
        c->auto_outside_ns = cprof__json_double(j, o, "auto_outside_ns", "compensation");
        c->counted_ns = cprof__json_double(j, o, "counted_ns", "compensation");
        c->auto_scopes = cprof__json_u64(j, o, "auto_scopes", "compensation", UINT64_MAX);
        c->counted_scopes = cprof__json_u64(j, o, "counted_scopes", "compensation", UINT64_MAX);
    }
    c->applied = !j->failed;
}

/* "preemption" (format 1.4; only when it was measured or tried): the time left out of the scopes. */
static void cprof__load_preemption(cprof__json *j, uint32_t root, cprof_profile *p) {
    const cprof__json_value *object = cprof__json_member(j, root, "preemption");
    if (!object || !cprof__json_require(j, root, "preemption", CPROF__JSON_OBJECT, "profile")) return;
    uint32_t o = (uint32_t)(object - j->values);
    cprof_preemption *e = &p->preemption;
    e->threads = (uint32_t)cprof__json_u64(j, o, "threads", "preemption", UINT32_MAX);
    e->preempted_ns = cprof__json_u64(j, o, "preempted_ns", "preemption", UINT64_MAX);
    e->preemptions = cprof__json_u64(j, o, "preemptions", "preemption", UINT64_MAX);
    e->lost = cprof__json_u64(j, o, "lost", "preemption", UINT64_MAX);
    e->error = (int32_t)cprof__json_u64(j, o, "error", "preemption", 4095);
}

/* "sampling" (format 1.2; only for a sampled run): the rate, the samples in the tree, those dropped. */
static void cprof__load_sampling(cprof__json *j, uint32_t root, cprof_profile *p) {
    const cprof__json_value *object = cprof__json_member(j, root, "sampling");
    if (!object || !cprof__json_require(j, root, "sampling", CPROF__JSON_OBJECT, "profile")) return;
    uint32_t o = (uint32_t)(object - j->values);
    p->sample_hz = (uint32_t)cprof__json_u64(j, o, "hz", "sampling", 100000);
    p->samples = cprof__json_u64(j, o, "samples", "sampling", UINT64_MAX);
    p->samples_dropped = cprof__json_u64(j, o, "dropped", "sampling", UINT64_MAX);
    if (cprof__json_member(j, o, "profiler")) p->samples_profiler = cprof__json_u64(j, o, "profiler", "sampling", UINT64_MAX);
}

static void cprof__load_header(cprof__json *j, uint32_t root, cprof_profile *p) {
    const cprof__json_value *format = cprof__json_require(j, root, "format", CPROF__JSON_STRING, "profile");
    if (format && strcmp(format->text, "cprof profile") != 0)
        cprof__json_fail_at(j, format->line, format->column, "not a cprof profile (format \"%s\")", format->text);
    const cprof__json_value *version = cprof__json_require(j, root, "version", CPROF__JSON_STRING, "profile");
    if (j->failed) return;
    const char *dot = strchr(version->text, '.');
    uint64_t major = 0, minor = 0;
    if (!dot || !cprof__parse_decimal(version->text, (size_t)(dot - version->text), 999, &major) ||
        !cprof__parse_decimal(dot + 1, strlen(dot + 1), 999, &minor))
        cprof__json_fail_at(j, version->line, version->column, "version \"%s\" is not MAJOR.MINOR", version->text);
    else if (major != CPROF__FORMAT_MAJOR)
        cprof__json_fail_at(j, version->line, version->column,
                            "format version %s is not one this cprof reads (%d.x); use a cprof of that version",
                            version->text, CPROF__FORMAT_MAJOR);
    p->format_major = (uint32_t)major;
    p->format_minor = (uint32_t)minor;
    p->program = cprof__json_text(j, p, root, "program", "profile");
    p->start_unix_ns = cprof__json_i64(j, root, "start_unix_ns", "profile");
    p->wall_ns = cprof__json_u64(j, root, "wall_ns", "profile", UINT64_MAX);
    p->timer = cprof__json_text(j, p, root, "timer", "profile");
    p->timer_hz = cprof__json_double(j, root, "timer_hz", "profile");
    p->dropped_scopes = cprof__json_u64(j, root, "dropped_scopes", "profile", UINT64_MAX);
    if (cprof__json_member(j, root, "signal_scopes_dropped")) /* since 1.1, and only when not 0 */
        p->signal_scopes_dropped = cprof__json_u64(j, root, "signal_scopes_dropped", "profile", UINT64_MAX);
    if (cprof__json_member(j, root, "auto_min_ns")) /* since 1.2 */
        p->auto_min_ns = cprof__json_u64(j, root, "auto_min_ns", "profile", UINT64_MAX);
    p->messages_dropped = cprof__json_u64(j, root, "messages_dropped", "profile", UINT64_MAX);
    p->profiler_bytes = cprof__json_u64(j, root, "profiler_bytes", "profile", UINT64_MAX);
    cprof__load_compensation(j, root, p);
    cprof__load_sampling(j, root, p);
    cprof__load_preemption(j, root, p);
}

/* The elements of array member `key`, each an object; returns the count (0 on error). */
static uint32_t cprof__load_array(cprof__json *j, uint32_t root, const char *key, uint32_t *first) {
    const cprof__json_value *array = cprof__json_require(j, root, key, CPROF__JSON_ARRAY, "profile");
    *first = array ? array->first : 0;
    for (uint32_t e = *first; e && !j->failed; e = j->values[e].next)
        if (j->values[e].type != CPROF__JSON_OBJECT)
            cprof__json_fail_at(j, j->values[e].line, j->values[e].column, "%s: each entry must be an object", key);
    return array && !j->failed ? array->count : 0;
}

static void cprof__load_counters(cprof__json *j, uint32_t root, cprof_profile *p) {
    uint32_t e, count;
    if (!cprof__json_member(j, root, "counters")) return; /* a file from before counters */
    p->counter_reader = cprof__json_text(j, p, root, "counter_reader", "profile");
    count = cprof__load_array(j, root, "counters", &e);
    if (j->failed || !count || cprof__grow(&p->counters, &cprof__capacities(p)->counters, count, sizeof *p->counters)) return;
    for (; e && !j->failed; e = j->values[e].next) {
        cprof_counter_info *c = &p->counters[p->counter_count++];
        memset(c, 0, sizeof *c);
        c->name = cprof__json_text(j, p, e, "name", "counters[]");
        c->available = (uint32_t)cprof__json_u64(j, e, "available", "counters[]", 1);
        c->reason = cprof__json_text(j, p, e, "reason", "counters[]");
        c->running_ratio = cprof__json_double(j, e, "running_ratio", "counters[]");
    }
}

/* A node's "counters": exactly one non-negative integer per counter of the profile. */
static void cprof__load_node_counters(cprof__json *j, uint32_t e, cprof_profile *p, uint32_t index) {
    size_t count = p->counter_count, k = 0;
    if (!count) return;
    const cprof__json_value *array = cprof__json_require(j, e, "counters", CPROF__JSON_ARRAY, "nodes[]");
    if (!array || cprof__grow(&p->node_counters, &cprof__capacities(p)->node_counters, ((size_t)index + 1) * count,
                              sizeof *p->node_counters)) {
        if (!j->failed) cprof__json_fail_at(j, 1, 1, "out of memory");
        return;
    }
    for (uint32_t v = array->first; v && !j->failed; v = j->values[v].next, k++) {
        const cprof__json_value *value = &j->values[v];
        uint64_t number = 0;
        if (k >= count || value->type != CPROF__JSON_NUMBER || !cprof__parse_decimal(value->text, value->length, UINT64_MAX, &number))
            cprof__json_fail_at(j, value->line, value->column, "nodes[%u].counters: expected %u non-negative integers",
                                (unsigned)index, (unsigned)count);
        else
            p->node_counters[(size_t)index * count + k].total = number;
    }
    if (!j->failed && k != count)
        cprof__json_fail_at(j, array->line, array->column, "nodes[%u].counters: expected %u values, found %u",
                            (unsigned)index, (unsigned)count, (unsigned)k);
}

static void cprof__load_sites(cprof__json *j, uint32_t root, cprof_profile *p) {
    uint32_t e, count = cprof__load_array(j, root, "sites", &e);
    if (j->failed || cprof__grow(&p->sites, &cprof__capacities(p)->sites, count, sizeof *p->sites)) return;
    for (; e && !j->failed; e = j->values[e].next) {
        cprof_site_info *s = &p->sites[p->site_count++];
        s->name = cprof__json_text(j, p, e, "name", "sites[]");
        s->function = cprof__json_text(j, p, e, "function", "sites[]");
        s->file = cprof__json_text(j, p, e, "file", "sites[]");
        s->line = (uint32_t)cprof__json_u64(j, e, "line", "sites[]", UINT32_MAX);
        s->automatic = cprof__json_member(j, e, "auto") ? (uint32_t)cprof__json_u64(j, e, "auto", "sites[]", 1) : 0; /* 1.2 */
    }
}

static void cprof__load_threads(cprof__json *j, uint32_t root, cprof_profile *p) {
    uint32_t e, count = cprof__load_array(j, root, "threads", &e);
    if (j->failed || cprof__grow(&p->threads, &cprof__capacities(p)->threads, count, sizeof *p->threads)) return;
    for (; e && !j->failed; e = j->values[e].next) {
        cprof_thread_info *t = &p->threads[p->thread_count++];
        t->id = cprof__json_u64(j, e, "id", "threads[]", UINT64_MAX);
        t->name = cprof__json_text(j, p, e, "name", "threads[]");
        t->root = (uint32_t)cprof__json_u64(j, e, "root", "threads[]", UINT32_MAX - 1);
        t->exited = (uint32_t)cprof__json_u64(j, e, "exited", "threads[]", 1);
    }
}

static void cprof__load_node(cprof__json *j, uint32_t e, cprof_profile *p, uint32_t index) {
    cprof_node *n = &p->nodes[index];
    memset(n, 0, sizeof *n);
    n->site = cprof__json_index(j, e, "site", "nodes[]", p->site_count);
    n->parent = cprof__json_index(j, e, "parent", "nodes[]", index); /* parents come first: no cycle */
    n->first_child = n->next_sibling = CPROF_NONE;
    n->calls = cprof__json_u64(j, e, "calls", "nodes[]", UINT64_MAX);
    n->total_ns = cprof__json_u64(j, e, "total_ns", "nodes[]", UINT64_MAX);
    n->min_ns = cprof__json_u64(j, e, "min_ns", "nodes[]", UINT64_MAX);
    n->max_ns = cprof__json_u64(j, e, "max_ns", "nodes[]", UINT64_MAX);
    n->open = (uint32_t)cprof__json_u64(j, e, "open", "nodes[]", UINT32_MAX);
    n->sum_sq_ns2 = cprof__json_double(j, e, "sum_sq_ns2", "nodes[]");
    n->raw_total_ns = n->total_ns; /* as recorded, unless the file says it was compensated */
    if (cprof__json_member(j, e, "raw_total_ns")) n->raw_total_ns = cprof__json_u64(j, e, "raw_total_ns", "nodes[]", UINT64_MAX);
    if (cprof__json_member(j, e, "counted_calls")) /* since 1.2 */
        n->counted_calls = cprof__json_u64(j, e, "counted_calls", "nodes[]", n->calls);
    if (cprof__json_member(j, e, "sampled")) /* since 1.2: a function seen by CPU sampling */
        n->sampled = (uint32_t)cprof__json_u64(j, e, "sampled", "nodes[]", 1);
    if (cprof__json_member(j, e, "samples")) /* since 1.2: a sampled frame's, or a scope's own samples */
        n->samples = cprof__json_u64(j, e, "samples", "nodes[]", UINT64_MAX);
    if (cprof__json_member(j, e, "alloc_count")) { /* >>allocs; absent in files without tracking */
        n->alloc_self_count = cprof__json_u64(j, e, "alloc_count", "nodes[]", UINT64_MAX);
        n->alloc_self_bytes = cprof__json_u64(j, e, "alloc_bytes", "nodes[]", UINT64_MAX);
    }
    if (!j->failed && (n->site == CPROF_NONE) != (n->parent == CPROF_NONE))
        cprof__json_fail_at(j, j->values[e].line, j->values[e].column,
                            "nodes[%u]: only a thread's root has no site, and it has no parent", (unsigned)index);
}

/* Nodes must be in depth-first order (every subtree contiguous, as the writers expect): a node's
   parent is the node before it or one of that node's ancestors. Links, depth and thread follow. */
static void cprof__link_node(cprof__json *j, uint32_t e, cprof_profile *p, uint32_t index, uint32_t *last_child) {
    cprof_node *n = &p->nodes[index];
    if (n->parent == CPROF_NONE) return;
    uint32_t at = index - 1;
    while (at != CPROF_NONE && at != n->parent) at = p->nodes[at].parent;
    if (at == CPROF_NONE) {
        cprof__json_fail_at(j, j->values[e].line, j->values[e].column,
                            "nodes[%u]: parent %u is not on the path of the node before it (not depth-first order)",
                            (unsigned)index, (unsigned)n->parent);
        return;
    }
    cprof_node *parent = &p->nodes[n->parent];
    n->depth = parent->depth + 1;
    if (n->depth > CPROF__MAX_TREE_DEPTH) { /* the writers' bound, see >>derive */
        cprof__json_fail_at(j, j->values[e].line, j->values[e].column,
                            "nodes[%u]: deeper than %d levels, the deepest call tree cprof reads", (unsigned)index,
                            CPROF__MAX_TREE_DEPTH);
        return;
    }
    n->thread = parent->thread;
    if (last_child[n->parent] == CPROF_NONE) parent->first_child = index;
    else p->nodes[last_child[n->parent]].next_sibling = index;
    last_child[n->parent] = index;
}

static void cprof__load_nodes(cprof__json *j, uint32_t root, cprof_profile *p) {
    uint32_t e, count = cprof__load_array(j, root, "nodes", &e);
    size_t bytes = (size_t)(count ? count : 1) * sizeof(uint32_t);
    uint32_t *last_child = (uint32_t *)cprof__alloc(bytes);
    if (j->failed || !last_child || cprof__grow(&p->nodes, &cprof__capacities(p)->nodes, count, sizeof *p->nodes)) {
        if (!j->failed) cprof__json_fail_at(j, 1, 1, "out of memory");
        cprof__release(last_child, bytes);
        return;
    }
    for (uint32_t index = 0; e && !j->failed; e = j->values[e].next, index++) {
        p->node_count++;
        last_child[index] = CPROF_NONE;
        cprof__load_node(j, e, p, index);
        if (!j->failed) cprof__load_node_counters(j, e, p, index);
        if (!j->failed) cprof__link_node(j, e, p, index, last_child);
    }
    cprof__release(last_child, bytes);
}

/* Every thread's root is a root node, and every root node belongs to exactly one thread. */
static void cprof__check_roots(cprof__json *j, uint32_t root, cprof_profile *p) {
    uint32_t roots = 0;
    for (size_t i = 0; i < p->node_count; i++) roots += p->nodes[i].parent == CPROF_NONE;
    const cprof__json_value *threads = cprof__json_member(j, root, "threads");
    for (size_t t = 0; t < p->thread_count && !j->failed; t++) {
        uint32_t r = p->threads[t].root;
        if (r >= p->node_count || p->nodes[r].parent != CPROF_NONE || (t && r <= p->threads[t - 1].root))
            cprof__json_fail_at(j, threads->line, threads->column,
                                "threads[%u].root: %u is not a root node after the previous thread's", (unsigned)t, (unsigned)r);
        for (uint32_t n = r; n < p->node_count && (n == r || p->nodes[n].parent != CPROF_NONE); n++) p->nodes[n].thread = (uint32_t)t;
    }
    if (!j->failed && roots != p->thread_count)
        cprof__json_fail_at(j, threads->line, threads->column, "%u threads but %u root nodes", (unsigned)p->thread_count,
                            (unsigned)roots);
}

static void cprof__load_messages(cprof__json *j, uint32_t root, cprof_profile *p) {
    uint32_t e, count = cprof__load_array(j, root, "messages", &e);
    if (j->failed || cprof__grow(&p->messages, &cprof__capacities(p)->messages, count, sizeof *p->messages)) return;
    for (; e && !j->failed; e = j->values[e].next) {
        cprof_message *m = &p->messages[p->message_count++];
        m->file = cprof__json_text(j, p, e, "file", "messages[]");
        m->line = (uint32_t)cprof__json_u64(j, e, "line", "messages[]", UINT32_MAX);
        m->text = cprof__json_text(j, p, e, "text", "messages[]");
    }
}

/* "budgets" (format 1.1; absent from older files and from profiles without budgets). */
static void cprof__load_budgets(cprof__json *j, uint32_t root, cprof_profile *p) {
    if (!cprof__json_member(j, root, "budgets")) return;
    uint32_t e, count = cprof__load_array(j, root, "budgets", &e);
    if (j->failed || cprof__grow(&p->budgets, &cprof__capacities(p)->budgets, count, sizeof *p->budgets)) return;
    for (; e && !j->failed; e = j->values[e].next) {
        cprof_scope_budget *budget = &p->budgets[p->budget_count++];
        budget->name = cprof__json_text(j, p, e, "name", "budgets[]");
        budget->budget_ns = cprof__json_u64(j, e, "budget_ns", "budgets[]", UINT64_MAX);
    }
}

/* One timeline event [thread, kind, ref, time_ns], checked against the profile: a node of that thread, in time
   order after the thread's previous event, a kind cprof knows. */
static void cprof__load_event(cprof__json *j, const cprof__json_value *v, cprof_profile *p) {
    uint64_t field[4] = {0, 0, 0, 0};
    static const uint64_t limits[4] = {UINT32_MAX, CPROF_EVENT_FRAME, UINT64_MAX, UINT64_MAX};
    uint32_t k = 0;
    for (uint32_t f = v->type == CPROF__JSON_ARRAY ? v->first : 0; f && !j->failed; f = j->values[f].next, k++)
        if (k >= 4 || j->values[f].type != CPROF__JSON_NUMBER ||
            !cprof__parse_decimal(j->values[f].text, j->values[f].length, limits[k], &field[k])) k = 5;
    cprof_event *e = &p->events[p->event_count];
    const cprof_event *before = p->event_count ? e - 1 : NULL;
    e->thread = (uint32_t)field[0];
    e->kind = (uint32_t)field[1];
    e->ref = field[2];
    e->time_ns = field[3];
    const char *wrong = k != 4 ? "expected [thread, kind, ref, time_ns] with kind 0, 1 or 2"
                      : e->thread >= p->thread_count ? "no such thread"
                      : e->kind != CPROF_EVENT_FRAME && (e->ref >= p->node_count || p->nodes[e->ref].thread != e->thread ||
                                                         p->nodes[e->ref].site == CPROF_NONE) ? "no such node on that thread"
                      : before && (before->thread > e->thread || (before->thread == e->thread && before->time_ns > e->time_ns))
                          ? "not in order (by thread, then time)" : NULL;
    if (wrong) cprof__json_fail_at(j, v->line, v->column, "timeline.events[%u]: %s", (unsigned)p->event_count, wrong);
    else p->event_count++;
}

/* "timeline" (format 1.2; absent from older files and from profiles recorded without one). */
static void cprof__load_timeline(cprof__json *j, uint32_t root, cprof_profile *p) {
    const cprof__json_value *object = cprof__json_member(j, root, "timeline");
    if (!object || !cprof__json_require(j, root, "timeline", CPROF__JSON_OBJECT, "profile")) return;
    uint32_t o = (uint32_t)(object - j->values);
    p->timeline_capacity = (uint32_t)cprof__json_u64(j, o, "capacity", "timeline", UINT32_MAX);
    const cprof__json_value *policy = cprof__json_require(j, o, "policy", CPROF__JSON_STRING, "timeline");
    if (policy && !(policy->length == 5 && memcmp(policy->text, "first", 5) == 0) &&
        !(policy->length == 6 && memcmp(policy->text, "recent", 6) == 0))
        cprof__json_fail_at(j, policy->line, policy->column, "timeline.policy: expected \"recent\" or \"first\"");
    p->timeline_policy = policy && policy->length == 5 ? CPROF_TIMELINE_FIRST : CPROF_TIMELINE_RECENT;
    p->events_dropped = cprof__json_u64(j, o, "events_dropped", "timeline", UINT64_MAX);
    p->frames.marks = cprof__json_u64(j, o, "frame_marks", "timeline", UINT64_MAX);
    const cprof__json_value *events = cprof__json_require(j, o, "events", CPROF__JSON_ARRAY, "timeline");
    if (j->failed || !p->timeline_capacity) {
        if (!j->failed) cprof__json_fail_at(j, object->line, object->column, "timeline.capacity: expected 1 or more");
        return;
    }
    if (cprof__grow(&p->events, &cprof__capacities(p)->events, events->count, sizeof *p->events)) {
        cprof__json_fail_at(j, events->line, events->column, "out of memory");
        return;
    }
    for (uint32_t v = events->first; v && !j->failed; v = j->values[v].next) cprof__load_event(j, &j->values[v], p);
}

/* A site's leak check figures (written only by a profile whose live blocks were classified). */
static void cprof__load_leak_figures(cprof__json *j, uint32_t e, const char *key, cprof_alloc_site *s) {
    static const char *const names[] = {"lost_count", "lost_bytes", "indirect_count", "indirect_bytes", "possible_count",
                                        "possible_bytes"};
    uint64_t *fields[] = {&s->lost_count, &s->lost_bytes, &s->indirect_count, &s->indirect_bytes, &s->possible_count,
                          &s->possible_bytes};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) *fields[i] = cprof__json_u64(j, e, names[i], key, UINT64_MAX);
}

/* "leak_check" in "allocations": absent when the live blocks were not classified. */
static void cprof__load_leak_check(cprof__json *j, uint32_t o, cprof_alloc_totals *a) {
    static const char *const names[] = {"lost_blocks", "lost_bytes", "indirect_blocks", "indirect_bytes", "possible_blocks",
                                        "possible_bytes", "reachable_blocks", "reachable_bytes"};
    uint64_t *fields[] = {&a->lost_blocks, &a->lost_bytes, &a->indirect_blocks, &a->indirect_bytes, &a->possible_blocks,
                          &a->possible_bytes, &a->reachable_blocks, &a->reachable_bytes};
    const cprof__json_value *object = cprof__json_member(j, o, "leak_check");
    if (!object) return;
    uint32_t c = cprof__json_require(j, o, "leak_check", CPROF__JSON_OBJECT, "allocations") ? (uint32_t)(object - j->values) : 0;
    if (!c) return;
    a->leak_checked = 1;
    a->leak_scan_failed = (uint32_t)cprof__json_u64(j, c, "scan_failed", "leak_check", 1);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) *fields[i] = cprof__json_u64(j, c, names[i], "leak_check", UINT64_MAX);
}

/* A site's "threads" (the shares of the threads that used it), for the site just loaded. */
static void cprof__load_site_threads(cprof__json *j, uint32_t e, cprof_profile *p) {
    const cprof__json_value *array = cprof__json_require(j, e, "threads", CPROF__JSON_ARRAY, "sites[]");
    for (uint32_t v = array ? array->first : 0; v && !j->failed; v = j->values[v].next) {
        if (cprof__grow(&p->alloc_site_threads, &cprof__capacities(p)->alloc_site_threads, p->alloc_site_thread_count + 1,
                        sizeof *p->alloc_site_threads)) {
            cprof__json_fail_at(j, 1, 1, "out of memory");
            return;
        }
        cprof_alloc_site_thread *t = &p->alloc_site_threads[p->alloc_site_thread_count++];
        memset(t, 0, sizeof *t);
        t->site = (uint32_t)(p->alloc_site_count - 1);
        t->thread = cprof__json_index(j, v, "thread", "sites[].threads[]", p->thread_count);
        t->node = cprof__json_index(j, v, "node", "sites[].threads[]", p->node_count);
        t->count = cprof__json_u64(j, v, "count", "sites[].threads[]", UINT64_MAX);
        t->bytes = cprof__json_u64(j, v, "bytes", "sites[].threads[]", UINT64_MAX);
        t->live_count = cprof__json_u64(j, v, "live_count", "sites[].threads[]", UINT64_MAX);
        t->live_bytes = cprof__json_u64(j, v, "live_bytes", "sites[].threads[]", UINT64_MAX);
        t->peak_live_bytes = cprof__json_u64(j, v, "peak_live_bytes", "sites[].threads[]", UINT64_MAX);
    }
}

static void cprof__load_alloc_sites(cprof__json *j, uint32_t object, const char *key, cprof_profile *p, int problems) {
    const cprof__json_value *array = cprof__json_require(j, object, key, CPROF__JSON_ARRAY, "allocations");
    for (uint32_t e = array ? array->first : 0; e && !j->failed; e = j->values[e].next) {
        cprof_alloc_site *s = cprof__alloc_site_new(p, problems);
        if (!s) { cprof__json_fail_at(j, 1, 1, "out of memory"); return; }
        s->file = cprof__json_text(j, p, e, "file", key);
        s->function = cprof__json_text(j, p, e, "function", key);
        s->line = (uint32_t)cprof__json_u64(j, e, "line", key, UINT32_MAX);
        s->kind = (uint32_t)cprof__json_u64(j, e, "kind", key, CPROF_FREE_POSSIBLE_DOUBLE);
        s->node = cprof__json_index(j, e, "node", key, p->node_count);
        s->origin = cprof__json_index(j, e, "origin", key, problems ? p->alloc_site_count : 0);
        s->count = cprof__json_u64(j, e, "count", key, UINT64_MAX);
        s->bytes = cprof__json_u64(j, e, "bytes", key, UINT64_MAX);
        s->live_count = cprof__json_u64(j, e, "live_count", key, UINT64_MAX);
        s->live_bytes = cprof__json_u64(j, e, "live_bytes", key, UINT64_MAX);
        s->peak_live_bytes = cprof__json_u64(j, e, "peak_live_bytes", key, UINT64_MAX);
        s->temporary = cprof__json_u64(j, e, "temporary", key, UINT64_MAX);
        if (cprof__json_member(j, e, "max_bytes")) s->max_bytes = cprof__json_u64(j, e, "max_bytes", key, UINT64_MAX);
        if (cprof__json_member(j, e, "lost_count")) cprof__load_leak_figures(j, e, key, s);
        if (cprof__json_member(j, e, "at_peak_bytes")) { /* format 1.2 */
            s->at_peak_count = cprof__json_u64(j, e, "at_peak_count", key, UINT64_MAX);
            s->at_peak_bytes = cprof__json_u64(j, e, "at_peak_bytes", key, UINT64_MAX);
            s->slack_bytes = cprof__json_u64(j, e, "slack_bytes", key, UINT64_MAX);
        }
        if (!problems && cprof__json_member(j, e, "threads")) cprof__load_site_threads(j, e, p);
    }
}

static void cprof__load_heap(cprof__json *j, uint32_t o, const char *key, cprof_heap_info *h) {
    static const char *const names[] = {"arena_bytes", "mmap_bytes", "in_use_bytes", "free_bytes", "releasable_bytes"};
    uint64_t *fields[] = {&h->arena_bytes, &h->mmap_bytes, &h->in_use_bytes, &h->free_bytes, &h->releasable_bytes};
    const cprof__json_value *object = cprof__json_member(j, o, key);
    if (!object || !cprof__json_require(j, o, key, CPROF__JSON_OBJECT, "allocations")) return;
    uint32_t c = (uint32_t)(object - j->values);
    h->measured = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) *fields[i] = cprof__json_u64(j, c, names[i], key, UINT64_MAX);
}

/* One point of "memory": its time, total and [site, bytes] pairs. */
static void cprof__load_memory_point(cprof__json *j, uint32_t e, cprof_profile *p) {
    cprof_memory_point *point = cprof__memory_point_add(p, cprof__json_u64(j, e, "time_ns", "memory[]", UINT64_MAX),
                                                        cprof__json_u64(j, e, "live_bytes", "memory[]", UINT64_MAX));
    const cprof__json_value *sites = cprof__json_require(j, e, "sites", CPROF__JSON_ARRAY, "memory[]");
    if (!point) { cprof__json_fail_at(j, 1, 1, "out of memory"); return; }
    for (uint32_t v = sites ? sites->first : 0; v && !j->failed; v = j->values[v].next) {
        const cprof__json_value *pair = &j->values[v];
        uint64_t site = 0, bytes = 0;
        uint32_t second = pair->type == CPROF__JSON_ARRAY && pair->count == 2 ? j->values[pair->first].next : 0;
        if (!second || j->values[pair->first].type != CPROF__JSON_NUMBER || j->values[second].type != CPROF__JSON_NUMBER ||
            !cprof__parse_decimal(j->values[pair->first].text, j->values[pair->first].length, p->alloc_site_count ? p->alloc_site_count - 1 : 0, &site) ||
            !p->alloc_site_count || !cprof__parse_decimal(j->values[second].text, j->values[second].length, UINT64_MAX, &bytes)) {
            cprof__json_fail_at(j, pair->line, pair->column, "memory[].sites: expected [site, bytes] pairs, a site below %u",
                                (unsigned)p->alloc_site_count);
            return;
        }
        if (cprof__memory_share_add(p, point, (uint32_t)site, bytes)) {
            cprof__json_fail_at(j, pair->line, pair->column, "memory[].sites: more than %d sites in a point, or out of memory",
                                CPROF_MEMORY_POINT_SITES);
            return;
        }
    }
}

/* Format 1.2's memory figures in "allocations" (each part read when present, older files have none). */
static void cprof__load_memory(cprof__json *j, uint32_t o, cprof_profile *p) {
    cprof_alloc_totals *a = &p->allocs;
    if (cprof__json_member(j, o, "peak_ns")) a->peak_ns = cprof__json_u64(j, o, "peak_ns", "allocations", UINT64_MAX);
    if (cprof__json_member(j, o, "usable_known")) a->usable_known = (uint32_t)cprof__json_u64(j, o, "usable_known", "allocations", 1);
    if (cprof__json_member(j, o, "slack_bytes")) a->slack_bytes = cprof__json_u64(j, o, "slack_bytes", "allocations", UINT64_MAX);
    cprof__load_heap(j, o, "heap_at_peak", &a->heap_at_peak);
    cprof__load_heap(j, o, "heap_at_capture", &a->heap_at_capture);
    if (!cprof__json_member(j, o, "memory")) return;
    const cprof__json_value *array = cprof__json_require(j, o, "memory", CPROF__JSON_ARRAY, "allocations");
    for (uint32_t e = array ? array->first : 0; e && !j->failed; e = j->values[e].next) cprof__load_memory_point(j, e, p);
}

/* "allocations" is absent in a profile of a program without CPROF_WRAP_MALLOC. */
static void cprof__load_allocs(cprof__json *j, uint32_t root, cprof_profile *p) {
    static const char *const totals[] = {"allocations", "frees", "bytes_allocated", "bytes_freed", "live_blocks",
                                         "live_bytes", "peak_live_bytes", "temporary", "unknown_frees", "double_frees"};
    cprof_alloc_totals *a = &p->allocs;
    uint64_t *fields[] = {&a->allocations, &a->frees, &a->bytes_allocated, &a->bytes_freed, &a->live_blocks,
                          &a->live_bytes, &a->peak_live_bytes, &a->temporary, &a->unknown_frees, &a->double_frees};
    a->peak_node = CPROF_NONE;
    const cprof__json_value *object = cprof__json_member(j, root, "allocations");
    if (!object) return;
    uint32_t o = cprof__json_require(j, root, "allocations", CPROF__JSON_OBJECT, "profile") ? (uint32_t)(object - j->values) : 0;
    for (size_t i = 0; i < sizeof totals / sizeof totals[0] && o; i++) *fields[i] = cprof__json_u64(j, o, totals[i], "allocations", UINT64_MAX);
    if (o && cprof__json_member(j, o, "possible_double_frees")) /* absent before it existed */
        a->possible_double_frees = cprof__json_u64(j, o, "possible_double_frees", "allocations", UINT64_MAX);
    if (j->failed || !o) return;
    a->tracked = 1;
    cprof__load_leak_check(j, o, a);
    a->peak_node = cprof__json_index(j, o, "peak_node", "allocations", p->node_count);
    const cprof__json_value *histogram = cprof__json_require(j, o, "size_histogram", CPROF__JSON_ARRAY, "allocations");
    uint32_t k = 0;
    for (uint32_t v = histogram ? histogram->first : 0; v && !j->failed; v = j->values[v].next, k++)
        if (k >= CPROF_ALLOC_HISTOGRAM || j->values[v].type != CPROF__JSON_NUMBER ||
            !cprof__parse_decimal(j->values[v].text, j->values[v].length, UINT64_MAX, &a->size_histogram[k]))
            cprof__json_fail_at(j, j->values[v].line, j->values[v].column,
                                "allocations.size_histogram: expected %d non-negative integers", CPROF_ALLOC_HISTOGRAM);
    if (!j->failed && k != CPROF_ALLOC_HISTOGRAM)
        cprof__json_fail_at(j, histogram->line, histogram->column, "allocations.size_histogram: expected %d values, found %u",
                            CPROF_ALLOC_HISTOGRAM, (unsigned)k);
    if (!j->failed) cprof__load_alloc_sites(j, o, "sites", p, 0);
    if (!j->failed) cprof__load_alloc_sites(j, o, "free_problems", p, 1);
    if (!j->failed) cprof__load_memory(j, o, p);
}

static void cprof__load_samples(cprof__json *j, uint32_t e, cprof_benchmark *r) {
    const cprof__json_value *array = cprof__json_require(j, e, "samples_ns", CPROF__JSON_ARRAY, "benchmarks[]");
    if (!array || !array->count) return;
    r->samples_ns = (double *)cprof__alloc(array->count * sizeof *r->samples_ns);
    if (!r->samples_ns) {
        cprof__json_fail_at(j, array->line, array->column, "out of memory");
        return;
    }
    r->sample_count = array->count; /* before any failure, so that the samples are freed with it */
    for (uint32_t v = array->first, k = 0; v && !j->failed; v = j->values[v].next, k++) {
        if (j->values[v].type != CPROF__JSON_NUMBER)
            cprof__json_fail_at(j, j->values[v].line, j->values[v].column, "benchmarks[].samples_ns: expected numbers");
        else
            r->samples_ns[k] = cprof__json_double_value(j, &j->values[v], "samples_ns", "benchmarks[]");
    }
}

static void cprof__load_benchmarks(cprof__json *j, uint32_t root, cprof_profile *p) {
    uint32_t e;
    if (!cprof__json_member(j, root, "benchmarks")) return; /* a profile without benchmarks */
    cprof__load_array(j, root, "benchmarks", &e);
    for (; e && !j->failed; e = j->values[e].next) {
        cprof_benchmark *r = cprof__bench_append(p, "");
        if (!r) {
            cprof__json_fail_at(j, j->values[e].line, j->values[e].column, "out of memory");
            return;
        }
        r->name = cprof__json_text(j, p, e, "name", "benchmarks[]");
        r->n = cprof__json_u64(j, e, "n", "benchmarks[]", UINT64_MAX);
        r->items = cprof__json_u64(j, e, "items", "benchmarks[]", UINT64_MAX);
        r->bytes = cprof__json_u64(j, e, "bytes", "benchmarks[]", UINT64_MAX);
        r->warmup_iterations = cprof__json_u64(j, e, "warmup_iterations", "benchmarks[]", UINT64_MAX);
        r->iterations = cprof__json_u64(j, e, "iterations", "benchmarks[]", UINT64_MAX);
        r->batch = cprof__json_u64(j, e, "batch", "benchmarks[]", UINT64_MAX);
        if (cprof__json_member(j, e, "group")) r->group = (uint32_t)cprof__json_u64(j, e, "group", "benchmarks[]", UINT32_MAX);
        cprof__load_samples(j, e, r);
        r->stats = cprof_bench_statistics(r->samples_ns, r->sample_count);
    }
}

int cprof_load_string(const char *text, size_t length, const char *name, cprof_profile **out) {
    cprof__json j;
    *out = NULL;
    cprof_profile *p = cprof__profile_new();
    uint32_t root = p ? cprof__json_parse(&j, text, length, name ? name : "(string)") : 0;
    if (root && j.values[root].type != CPROF__JSON_OBJECT) cprof__json_fail_at(&j, 1, 1, "a profile is a JSON object");
    if (root && !j.failed) {
        cprof__load_header(&j, root, p);
        if (!j.failed) cprof__load_counters(&j, root, p);
        if (!j.failed) cprof__load_sites(&j, root, p);
        if (!j.failed) cprof__load_threads(&j, root, p);
        if (!j.failed) cprof__load_nodes(&j, root, p);
        if (!j.failed) cprof__check_roots(&j, root, p);
        if (!j.failed) cprof__load_messages(&j, root, p);
        if (!j.failed) cprof__load_budgets(&j, root, p);
        if (!j.failed) cprof__load_timeline(&j, root, p);
        if (!j.failed) cprof__load_allocs(&j, root, p);
        if (!j.failed) cprof__load_benchmarks(&j, root, p);
    }
    int failed = !p || !root || j.failed || cprof__profile_derive(p);
    if (!p) cprof__set_error("%s: out of memory", name ? name : "(string)");
    if (p) cprof__json_free(&j, length);
    if (failed) {
        cprof_profile_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

int cprof_load(const char *path, cprof_profile **out) {
    size_t length, capacity;
    *out = NULL;
    char *text = cprof__read_file(path, &length, &capacity);
    if (!text) return -1;
    int result = cprof_load_string(text, length, path, out);
    cprof__release(text, capacity);
    return result;
}

/* ==================================================================================================
   >>compare: before and after: per function and metric the change, whether it exceeds the threshold,
   the --min-share floor and the noise (several runs a side: the moderated t-test on the runs' log shares
   for times, Welch's t-test for counters, adjusted by
   Benjamini-Hochberg; one run a side: no test), the text report, the CI verdict, the noise of several
   runs of one build, the differential flame graph and in-process snapshots; then the benchmarks of
   runs compared
   ================================================================================================== */
cprof_compare_options cprof_compare_defaults(void) {
    cprof_compare_options options;
    options.threshold_pct = 5.0;
    options.alpha = 0.05;
    options.min_share_pct = 0.5;
    options.single_run_threshold_pct = 50.0;
    options.single_run_min_share_pct = 10.0;
    options.bench_single_run_threshold_pct = 0.0;
    options.bench_group_single_run_threshold_pct = 50.0;
    options.before_label = NULL;
    options.after_label = NULL;
    return options;
}

/* --- building the comparison --------------------------------------------------------------------- */
/* The comparison's own bookkeeping, allocated behind it (like a profile's capacities). */
typedef struct cprof__comparison_private {
    size_t metric_capacity, function_capacity;
    cprof__name_map names; /* function name -> index into functions, while building */
    cprof_change *changes; /* every function's metrics, [function_capacity * metric_capacity] */
    uint8_t *counted;      /* [function]: CPROF__SEEN_COUNTED | CPROF__SEEN_TIMED over every run, both sides */
    uint8_t *counter_sides; /* [metric]: bit 0, a run before counted it; bit 1, a run after */
    int recorded_shares;    /* a run's own cost was CPROF__RECORDED_SHARES_PCT or more: shares of raw times */
} cprof__comparison_private;

/* How automatic instrumentation treated a function in the runs (CPROF_AUTO_MIN_NS): counted (its time in
   its caller's) in some, timed in others, or both: "mixed". */
enum { CPROF__SEEN_COUNTED = 1, CPROF__SEEN_TIMED = 2, CPROF__SEEN_MIXED = 3,
       CPROF__ABSORBS_MIXED = 4 /* a caller that holds a mixed function's self time in some run */ };

static cprof__comparison_private *cprof__comparison_own(const cprof_comparison *c) {
    return (cprof__comparison_private *)(void *)(c + 1);
}

/* One side of the comparison: its runs and, per run, function and metric, the value. */
typedef struct cprof__side {
    const cprof_profile *const *runs;
    size_t count;
    double *values;  /* [(run * function_capacity + function) * metric_capacity + metric] */
    uint8_t *present; /* [function]: in at least one run */
    double *shares;   /* [(run * function_capacity + function) * 2 + (0 self, 1 total)]: of the run's raw time */
    int after;        /* 0: the before side, 1: the after side */
} cprof__side;

enum { CPROF__METRIC_SELF = 0, CPROF__METRIC_TOTAL = 1, CPROF__METRIC_CALLS = 2, CPROF__FIRST_COUNTER = 3 };

static void cprof__compare_add_metric(cprof_comparison *c, const char *name, int kind, int measured) {
    for (size_t k = 0; k < c->metric_count; k++)
        if (strcmp(c->metrics[k].name, name) == 0) return;
    if (c->metric_count == cprof__comparison_own(c)->metric_capacity) return;
    cprof_metric_info *metric = &c->metrics[c->metric_count++];
    metric->name = cprof__string(c->storage, name);
    metric->kind = kind;
    metric->measured = measured;
}

/* Self time, total time and calls, then every counter that some run could count. */
static void cprof__compare_metrics(cprof_comparison *c, const cprof_profile *const *runs, size_t count) {
    cprof__compare_add_metric(c, "self time", CPROF_METRIC_TIME, 1);
    cprof__compare_add_metric(c, "total time", CPROF_METRIC_TIME, 1);
    cprof__compare_add_metric(c, "calls", CPROF_METRIC_CALLS, 0);
    for (size_t r = 0; r < count; r++)
        for (size_t k = 0; k < runs[r]->counter_count; k++)
            if (runs[r]->counters[k].available) cprof__compare_add_metric(c, runs[r]->counters[k].name, CPROF_METRIC_COUNTER, 1);
    for (size_t r = 0; r < count; r++)
        if (runs[r]->allocs.tracked) { /* exact counts, like calls: the threshold alone decides */
            cprof__compare_add_metric(c, "allocations", CPROF_METRIC_ALLOC, 0);
            cprof__compare_add_metric(c, "allocated bytes", CPROF_METRIC_ALLOC, 0);
        }
}

/* The index of the function called `name`, added when new. */
static uint32_t cprof__compare_function(cprof_comparison *c, const char *name) {
    cprof__name_map *map = &cprof__comparison_own(c)->names;
    size_t slot = cprof__name_map_slot(map, name);
    if (!map->keys[slot]) {
        cprof_function_change *fn = &c->functions[c->function_count];
        fn->name = cprof__string(c->storage, name);
        map->keys[slot] = fn->name;
        map->values[slot] = (uint32_t)c->function_count++;
    }
    return map->values[slot];
}

static uint32_t cprof__compare_metric_index(const cprof_comparison *c, const char *name) {
    for (uint32_t k = 0; k < c->metric_count; k++)
        if (strcmp(c->metrics[k].name, name) == 0) return k;
    return CPROF_NONE;
}

/* Each function's own allocations (made while it was the current scope), summed over its nodes. */
static void cprof__compare_read_allocs(cprof_comparison *c, const cprof_profile *p, const uint32_t *index_of,
                                       double *row0) {
    uint32_t count_metric = cprof__compare_metric_index(c, "allocations");
    uint32_t bytes_metric = cprof__compare_metric_index(c, "allocated bytes");
    size_t width = cprof__comparison_own(c)->metric_capacity;
    if (count_metric == CPROF_NONE || bytes_metric == CPROF_NONE || !p->allocs.tracked) return;
    for (size_t i = 0; i < p->node_count; i++) {
        if (p->nodes[i].function == CPROF_NONE) continue;
        double *row = row0 + (size_t)index_of[p->nodes[i].function] * width;
        row[count_metric] += (double)p->nodes[i].alloc_self_count;
        row[bytes_metric] += (double)p->nodes[i].alloc_self_bytes;
    }
}

/* Which functions were counted, which timed, in the runs of a side (before any is read). */
static void cprof__compare_mark_counted(cprof_comparison *c, const cprof__side *side) {
    uint8_t *counted = cprof__comparison_own(c)->counted;
    for (size_t r = 0; r < side->count; r++)
        for (size_t f = 0; f < side->runs[r]->function_count; f++) {
            const cprof_function *fn = &side->runs[r]->functions[f];
            uint32_t u = cprof__compare_function(c, fn->name);
            if (fn->counted_calls) counted[u] |= CPROF__SEEN_COUNTED;
            else if (fn->calls) counted[u] |= CPROF__SEEN_TIMED;
        }
}

/* The function (in the comparison) whose self time a node's counts in: its own, or for a function that
   was counted in some runs and timed in others, the nearest ancestor's that was not; CPROF_NONE when none. */
static uint32_t cprof__compare_self_owner(const cprof_comparison *c, const cprof_profile *p, const uint32_t *index_of,
                                          uint32_t node) {
    const uint8_t *counted = cprof__comparison_own(c)->counted;
    while (node != CPROF_NONE && p->nodes[node].function != CPROF_NONE &&
           counted[index_of[p->nodes[node].function]] == CPROF__SEEN_MIXED)
        node = p->nodes[node].parent;
    return node != CPROF_NONE && p->nodes[node].function != CPROF_NONE ? index_of[p->nodes[node].function] : CPROF_NONE;
}

/* Automatic instrumentation decides in each run which functions are too short to time, from the
   average of their first calls, which the machine's load moves: a function near CPROF_AUTO_MIN_NS is
   counted in one run (its time in its caller's self) and timed in the next (its own self), a "change"
   of 1000x between two runs of one build (bench/diff_noise.sh). Such a function is compared inside its
   callers in every run: each of its nodes' self time goes to the nearest ancestor of another function
   that is not mixed; its own self and total times are left out (0: unchanged). */
static void cprof__compare_fold_mixed(cprof_comparison *c, const cprof_profile *p, const uint32_t *index_of,
                                      double *row0) {
    cprof__comparison_private *own = cprof__comparison_own(c);
    size_t width = own->metric_capacity;
    for (size_t i = 0; i < p->node_count; i++) {
        const cprof_node *n = &p->nodes[i];
        if (n->function == CPROF_NONE || own->counted[index_of[n->function]] != CPROF__SEEN_MIXED) continue;
        uint32_t owner = cprof__compare_self_owner(c, p, index_of, (uint32_t)i);
        if (owner == CPROF_NONE) continue;
        row0[(size_t)owner * width + CPROF__METRIC_SELF] += (double)n->self_ns;
        own->counted[owner] |= CPROF__ABSORBS_MIXED;
    }
    for (size_t f = 0; f < p->function_count; f++)
        if (own->counted[index_of[f]] == CPROF__SEEN_MIXED)
            row0[(size_t)index_of[f] * width + CPROF__METRIC_SELF] = row0[(size_t)index_of[f] * width + CPROF__METRIC_TOTAL] = 0.0;
}

/* Each function's share of the run's time, self and total: the load of a shared machine stretches a
   whole run, which the share cancels. Of the compensated times: the own cost differs between runs even of
   one build (a function counted in one run and timed in another costs its caller more or less; the
   calibration moves with the load), and left in the recorded times it moves whole functions' shares.
   When a run's own cost was CPROF__RECORDED_SHARES_PCT of its recorded time or more, the compensated
   times are what is left of a large subtraction, noisier than the own cost's own changes, and the
   recorded (raw) ones are used; a profile without raw times has its totals. */
static void cprof__compare_read_shares(const cprof_comparison *c, const cprof_profile *p, const uint32_t *index_of,
                                       double *shares) {
    double run = 0.0;
    for (size_t t = 0; t < p->thread_count && cprof__comparison_own(c)->recorded_shares; t++)
        run += (double)p->nodes[p->threads[t].root].raw_total_ns;
    int raw = run > 0;
    for (size_t t = 0; t < p->thread_count && !raw; t++) run += (double)p->nodes[p->threads[t].root].total_ns;
#define CPROF__RECORDED(node) ((double)(raw ? (node)->raw_total_ns : (node)->total_ns))
    for (size_t i = 0; i < p->node_count && run > 0; i++) {
        const cprof_node *n = &p->nodes[i];
        if (n->function == CPROF_NONE) continue;
        double children = 0.0;
        for (uint32_t k = n->first_child; k != CPROF_NONE; k = p->nodes[k].next_sibling) children += CPROF__RECORDED(&p->nodes[k]);
        uint32_t owner = cprof__compare_self_owner(c, p, index_of, (uint32_t)i), u = index_of[n->function];
        if (owner != CPROF_NONE && CPROF__RECORDED(n) > children)
            shares[(size_t)owner * 2] += 100.0 * (CPROF__RECORDED(n) - children) / run;
        if (!n->nested && cprof__comparison_own(c)->counted[u] != CPROF__SEEN_MIXED)
            shares[(size_t)u * 2 + 1] += 100.0 * CPROF__RECORDED(n) / run;
    }
#undef CPROF__RECORDED
}

/* Reads every run of a side into its value table. */
static int cprof__compare_read_side(cprof_comparison *c, cprof__side *side) {
    cprof__comparison_private *own = cprof__comparison_own(c);
    for (size_t r = 0; r < side->count; r++) {
        const cprof_profile *p = side->runs[r];
        double *row0 = side->values + r * own->function_capacity * own->metric_capacity;
        size_t bytes = (p->function_count ? p->function_count : 1) * sizeof(uint32_t);
        uint32_t *index_of = (uint32_t *)cprof__alloc(bytes); /* the profile's function f is the comparison's */
        if (!index_of) return -1;
        for (size_t f = 0; f < p->function_count; f++) {
            const cprof_function *fn = &p->functions[f];
            uint32_t u = index_of[f] = cprof__compare_function(c, fn->name);
            double *row = row0 + (size_t)u * own->metric_capacity;
            side->present[u] = 1;
            row[CPROF__METRIC_SELF] = (double)fn->self_ns;
            row[CPROF__METRIC_TOTAL] = (double)fn->total_ns;
            row[CPROF__METRIC_CALLS] = (double)fn->calls;
            for (uint32_t k = 0; k < p->counter_count; k++) {
                uint32_t metric = cprof__compare_metric_index(c, p->counters[k].name);
                if (metric == CPROF_NONE || !p->counters[k].available) continue;
                row[metric] = (double)cprof_function_counter(p, (uint32_t)f, k).self;
                own->counter_sides[metric] |= (uint8_t)(1u << side->after);
            }
        }
        cprof__compare_read_allocs(c, p, index_of, row0);
        cprof__compare_fold_mixed(c, p, index_of, row0);
        cprof__compare_read_shares(c, p, index_of, side->shares + r * own->function_capacity * 2);
        cprof__release(index_of, bytes);
    }
    return 0;
}

/* The values of function u, metric k in every run of a side, into out[]. */
static void cprof__compare_samples(const cprof_comparison *c, const cprof__side *side, uint32_t u, uint32_t k,
                                   double *out) {
    const cprof__comparison_private *own = cprof__comparison_own(c);
    for (size_t r = 0; r < side->count; r++)
        out[r] = side->values[(r * own->function_capacity + u) * own->metric_capacity + k];
}

/* The verdict on a change of change_pct (negative: better), for the comparison and the benchmarks alike:
   unchanged below the threshold (or when nothing changed); for a measured quantity (a time, a counter),
   within noise unless the test's p-value is below alpha. */
static int cprof__verdict(double change_pct, double p_value, int measured, double threshold_pct, double alpha) {
    if (change_pct == 0.0 || !(fabs(change_pct) >= threshold_pct)) return CPROF_UNCHANGED;
    if (measured && !(p_value < alpha)) return CPROF_WITHIN_NOISE;
    return change_pct < 0 ? CPROF_IMPROVED : CPROF_REGRESSED;
}

/* The shares of function u's self (which 0) or total (1) time in every run of a side, into out[]. */
static void cprof__compare_share_samples(const cprof_comparison *c, const cprof__side *side, uint32_t u, int which,
                                         double *out) {
    for (size_t r = 0; r < side->count; r++) out[r] = side->shares[(r * cprof__comparison_own(c)->function_capacity + u) * 2 + (size_t)which];
}

static double cprof__welch_of(const double *x, size_t nx, const double *y, size_t ny) {
    return cprof__welch_p(cprof__sample_of_values(x, nx), cprof__sample_of_values(y, ny));
}

/* The change of function u in metric k: values, percent, test and verdict. The runs are the independent
   unit: the calls inside one run share its machine's moments (a second of load slows thousands of them
   together), so a test on them is far too sure. Times are tested by their share of the run. */
static void cprof__compare_change(cprof_comparison *c, const cprof__side *before, const cprof__side *after,
                                  uint32_t u, uint32_t k, double *scratch) {
    cprof_change *change = &c->functions[u].metrics[k];
    double *x = scratch, *y = scratch + before->count;
    change->p_value = NAN;
    if (c->metrics[k].kind == CPROF_METRIC_TIME) {
        cprof__compare_share_samples(c, before, u, k == CPROF__METRIC_TOTAL, x);
        cprof__compare_share_samples(c, after, u, k == CPROF__METRIC_TOTAL, y);
        change->share_before = cprof__median(x, before->count);
        change->share_after = cprof__median(y, after->count);
        change->p_value = cprof__welch_of(x, before->count, y, after->count);
    }
    cprof__compare_samples(c, before, u, k, x);
    cprof__compare_samples(c, after, u, k, y);
    if (c->metrics[k].measured && c->metrics[k].kind != CPROF_METRIC_TIME)
        change->p_value = cprof__welch_of(x, before->count, y, after->count);
    change->before = cprof__median(scratch, before->count);
    change->after = cprof__median(scratch + before->count, after->count);
    double delta = change->after - change->before;
    change->change_pct = change->before > 0 ? 100.0 * delta / change->before : delta > 0 ? INFINITY : 0.0;
}

/* What "the whole run" is in metric k: the wall time for times, else the sum over the functions. */
static double cprof__compare_whole(const cprof_comparison *c, uint32_t k) {
    double whole = 0.0;
    if (c->metrics[k].kind == CPROF_METRIC_TIME) whole = c->before_wall_ns > c->after_wall_ns ? c->before_wall_ns : c->after_wall_ns;
    else
        for (size_t u = 0; u < c->function_count; u++) whole += c->functions[u].metrics[k].before;
    return whole > 0.0 ? whole : 1.0;
}

/* Whether a change can count at all: the function is in both and the change is at least min_share_pct
   of the metric's whole (a function holding 0.001% of the run cannot fail a build). */
static int cprof__compare_heavy(const cprof_comparison *c, uint32_t u, uint32_t k, const cprof_change *change,
                                double whole) {
    if (c->functions[u].presence != CPROF_IN_BOTH) return 0;
    if (c->metrics[k].kind == CPROF_METRIC_TIME && c->shares_only) /* by its share */
        return fabs(change->share_after - change->share_before) >= c->options.min_share_pct;
    return fabs(change->after - change->before) >= c->options.min_share_pct / 100.0 * whole;
}

/* Whether a change is one of the tests the p-values are adjusted for: the function is in both and holds
   at least min_share_pct of the whole on a side. Chosen by size, not by the change, so that under no
   change the family does not depend on the tests' outcomes (the "independent filtering" of Bourgon,
   Gentleman and Huber, PNAS 2010). */
static int cprof__compare_tested(const cprof_comparison *c, uint32_t u, uint32_t k, const cprof_change *change,
                                 double whole) {
    if (c->functions[u].presence != CPROF_IN_BOTH) return 0;
    if (c->metrics[k].kind == CPROF_METRIC_TIME && c->shares_only) /* by its share: the
        compensated times are noise (often clamped to 0), see cprof__compare_verdict */
        return (change->share_after > change->share_before ? change->share_after : change->share_before) >=
               c->options.min_share_pct;
    double larger = change->after > change->before ? change->after : change->before;
    return larger >= c->options.min_share_pct / 100.0 * whole;
}

/* The factor between two values as a percentage, the same either way: 100 (larger / smaller - 1), so
   that 2x slower and 2x faster are both 100%; INFINITY from 0 to more. Percent changes are lopsided
   (a speedup never passes -100%), so the single-run threshold and the noise are in these terms. */
static double cprof__factor_pct(double before, double after) {
    double larger = before > after ? before : after, smaller = before > after ? after : before;
    if (larger <= 0.0) return 0.0;
    return smaller > 0.0 ? 100.0 * (larger / smaller - 1.0) : INFINITY;
}

/* A time counts only when its share of the run moved beyond the threshold the same way as the time: a
   machine-wide slowdown moves every time but no share; a large change elsewhere moves every share but
   not the other times. */
static double cprof__share_change_pct(const cprof_change *change) {
    return change->share_before > 0 ? 100.0 * (change->share_after - change->share_before) / change->share_before
                                    : change->share_after > 0 ? INFINITY : 0.0;
}

static int cprof__compare_share_agrees(const cprof_comparison *c, const cprof_change *change) {
    double share_pct = cprof__share_change_pct(change);
    return fabs(share_pct) >= c->options.threshold_pct && (share_pct > 0) == (change->change_pct > 0);
}

/* Whether the runs give a test: several on each side (one run on a side has no spread there; the
   one-run rule below judges it, on the other side's medians). */
static int cprof__compare_tested_runs(const cprof_comparison *c) { return c->before_runs > 1 && c->after_runs > 1; }

/* The verdict of a change that can count. Several runs a side: the test (a time's, on its shares of the
   runs, which must have moved the same way beyond the threshold too). One run a side has no estimate of the run-to-run noise: a
   measured change counts only when it is a factor beyond single_run_threshold_pct either way (0: never)
   and, for a time, only a self time by its share of the run, in a function holding at least
   single_run_min_share_pct of the run on both sides: smaller functions move by much larger factors
   between two runs of one build, times by the machine's load, and a total by any moment lost anywhere
   below it (README, bench/diff_noise.sh). */
static int cprof__compare_verdict(const cprof_comparison *c, uint32_t u, uint32_t k) {
    const cprof_compare_options *o = &c->options;
    const cprof_change *change = &c->functions[u].metrics[k];
    int time = c->metrics[k].kind == CPROF_METRIC_TIME;
    /* When a run's own cost was most of its recorded time, the compensated times are what is left of a
       large subtraction (often clamped to 0): the recorded share, which is what is tested, decides alone. */
    int shares_only = time && c->shares_only; /* then change_pct is the share's (cprof__compare_judge) */
    if (time && !shares_only && !cprof__compare_share_agrees(c, change)) return CPROF_UNCHANGED;
    double change_pct = change->change_pct;
    if (c->metrics[k].kind == CPROF_METRIC_COUNTER && cprof__comparison_own(c)->counter_sides[k] != 3)
        return CPROF_UNCHANGED; /* counted on one side only: nothing to compare */
    if (!c->metrics[k].measured || cprof__compare_tested_runs(c))
        return cprof__verdict(change_pct, change->p_value, c->metrics[k].measured, o->threshold_pct, o->alpha);
    double smaller = change->share_before < change->share_after ? change->share_before : change->share_after;
    /* a caller holding functions counted in one run and timed in the other holds their own cost too, and
       that differs with the decisions: its share moved 0-86% between runs of one build under load */
    int absorbs = time && (cprof__comparison_own(c)->counted[u] & CPROF__ABSORBS_MIXED);
    int beyond = o->single_run_threshold_pct > 0 && (!time || k == CPROF__METRIC_SELF) && !absorbs &&
                 (time ? smaller >= o->single_run_min_share_pct &&
                             cprof__factor_pct(change->share_before, change->share_after) >= o->single_run_threshold_pct
                       : cprof__factor_pct(change->before, change->after) >= o->single_run_threshold_pct);
    return cprof__verdict(change_pct, beyond ? 0.0 : NAN, 1, o->threshold_pct, o->alpha);
}

/* Several runs a side: each tested time's p from the moderated t-test (>>math) on the logarithms of its
   shares of the runs: a change of a share is a factor, and on a log scale a large and a small function
   spread alike, so that their variances can inform each other. A time with a share of 0 in some run
   keeps Welch's p on its shares, as do all when fewer than three of them spread at all. */
static int cprof__compare_moderate(cprof_comparison *c, const cprof__side sides[2]) {
    size_t n1 = sides[0].count, n2 = sides[1].count, slots = (size_t)c->function_count * 2 + 1, features = 0;
    if (n1 < 2 || n2 < 2) return 0; /* one run on a side: no spread there, no test (as Welch's) */
    double df = (double)(n1 + n2 - 2), prior_df = 0.0, prior_variance = 0.0;
    double *variance = (double *)cprof__alloc(slots * sizeof(double));
    double *difference = (double *)cprof__alloc(slots * sizeof(double));
    double *shares = (double *)cprof__alloc((n1 + n2) * sizeof(double));
    int failed = !variance || !difference || !shares;
    for (size_t i = 0; i < slots && !failed; i++) variance[i] = NAN;
    for (uint32_t u = 0; u < c->function_count && !failed; u++)
        for (int which = 0; which < 2; which++) {
            uint32_t k = which ? CPROF__METRIC_TOTAL : CPROF__METRIC_SELF;
            if (!cprof__compare_tested(c, u, k, &c->functions[u].metrics[k], cprof__compare_whole(c, k))) continue;
            cprof__compare_share_samples(c, &sides[0], u, which, shares);
            cprof__compare_share_samples(c, &sides[1], u, which, shares + n1);
            size_t positive = 0;
            for (size_t r = 0; r < n1 + n2; r++) positive += shares[r] > 0.0;
            if (positive < n1 + n2) continue;
            for (size_t r = 0; r < n1 + n2; r++) shares[r] = log(shares[r]);
            cprof__sample x = cprof__sample_of_values(shares, n1), y = cprof__sample_of_values(shares + n1, n2);
            variance[(size_t)u * 2 + (size_t)which] = ((x.n - 1.0) * x.variance + (y.n - 1.0) * y.variance) / df;
            difference[(size_t)u * 2 + (size_t)which] = y.mean - x.mean;
            features++;
        }
    if (!failed && cprof__moderation_prior(variance, slots, df, &prior_df, &prior_variance) == 0) {
        for (uint32_t u = 0; u < c->function_count; u++)
            for (int which = 0; which < 2; which++) {
                size_t i = (size_t)u * 2 + (size_t)which;
                if (isnan(variance[i])) continue;
                c->functions[u].metrics[which ? CPROF__METRIC_TOTAL : CPROF__METRIC_SELF].p_value =
                    cprof__moderated_p(difference[i], variance[i], df, n1, n2, prior_df, prior_variance, df * (double)features);
            }
        c->test = "the moderated t-test on the logarithms of the runs' shares (a counter's: Welch's t-test on its values)";
    }
    cprof__release(variance, slots * sizeof(double));
    cprof__release(difference, slots * sizeof(double));
    cprof__release(shares, (n1 + n2) * sizeof(double));
    return failed ? -1 : 0;
}

/* The floor, the family of tests and the verdicts. Benjamini-Hochberg rather than Holm: when nothing
   changed (a same-build comparison, the false alarm a CI gate must avoid) both keep the chance of any
   false alarm at alpha; when something did change the gate fails anyway, and BH still finds the other
   changes where Holm, bounding every false discovery, loses them among hundreds of tests. The family
   is the measured changes heavy enough to count; the others cannot fail the gate and are untested. */
static int cprof__compare_judge(cprof_comparison *c) {
    size_t capacity = c->function_count * c->metric_count, count = 0;
    double **family = (double **)cprof__alloc((capacity ? capacity : 1) * sizeof *family);
    if (!family) return -1;
    for (uint32_t k = 0; k < c->metric_count; k++) {
        double whole = cprof__compare_whole(c, k);
        for (uint32_t u = 0; u < c->function_count; u++) {
            cprof_change *change = &c->functions[u].metrics[k];
            if (!cprof__compare_tested(c, u, k, change, whole)) change->p_value = NAN;
            if (!isnan(change->p_value)) family[count++] = &change->p_value;
        }
    }
    cprof__benjamini_hochberg(family, count);
    c->tests = count;
    cprof__release(family, (capacity ? capacity : 1) * sizeof *family);
    for (uint32_t k = 0; k < c->metric_count; k++) {
        double whole = cprof__compare_whole(c, k);
        for (uint32_t u = 0; u < c->function_count; u++) {
            cprof_change *change = &c->functions[u].metrics[k];
            if (c->shares_only && c->metrics[k].kind == CPROF_METRIC_TIME) change->change_pct = cprof__share_change_pct(change);
            change->verdict = cprof__compare_heavy(c, u, k, change, whole) ? cprof__compare_verdict(c, u, k) : CPROF_UNCHANGED;
            c->improved += change->verdict == CPROF_IMPROVED;
            c->regressed += change->verdict == CPROF_REGRESSED;
            c->within_noise += change->verdict == CPROF_WITHIN_NOISE;
        }
    }
    return 0;
}

static int cprof__compare_by_name(const void *a, const void *b) {
    return strcmp(((const cprof_function_change *)a)->name, ((const cprof_function_change *)b)->name);
}

/* The tables: names and capacities, every run read, each change computed. */
static int cprof__compare_fill(cprof_comparison *c, cprof__side sides[2]) {
    cprof__comparison_private *own = cprof__comparison_own(c);
    size_t functions = own->function_capacity, metrics = own->metric_capacity;
    double scratch_array[64], *scratch = scratch_array, wall[2] = {0.0, 0.0};
    size_t scratch_bytes = (sides[0].count + sides[1].count) * sizeof(double);
    int failed = cprof__name_map_init(&own->names, functions);
    c->functions = (cprof_function_change *)cprof__alloc(functions * sizeof *c->functions);
    own->changes = (cprof_change *)cprof__alloc(functions * metrics * sizeof(cprof_change));
    own->counted = (uint8_t *)cprof__alloc(functions);
    own->counter_sides = (uint8_t *)cprof__alloc(metrics);
    if (scratch_bytes > sizeof scratch_array) scratch = (double *)cprof__alloc(scratch_bytes);
    failed |= !c->functions || !own->changes || !own->counted || !own->counter_sides || !scratch;
    for (int s = 0; s < 2 && !failed; s++) cprof__compare_mark_counted(c, &sides[s]);
    for (int s = 0; s < 2; s++) /* known before the shares are read: they decide which times they are of */
        for (size_t r = 0; r < sides[s].count; r++) {
            double own_cost = cprof__own_cost_pct(sides[s].runs[r]);
            c->shares_only += own_cost >= (double)CPROF__OWN_COST_WARN_PCT;
            own->recorded_shares |= own_cost >= (double)CPROF__RECORDED_SHARES_PCT;
            c->preemption_kept += sides[s].runs[r]->preemption.threads == 0;
        }
    if (c->preemption_kept == sides[0].count + sides[1].count) c->preemption_kept = 0; /* all alike: nothing to say */
    for (int s = 0; s < 2 && !failed; s++) {
        sides[s].values = (double *)cprof__alloc(sides[s].count * functions * metrics * sizeof(double));
        sides[s].present = (uint8_t *)cprof__alloc(functions);
        sides[s].shares = (double *)cprof__alloc(sides[s].count * functions * 2 * sizeof(double));
        failed |= !sides[s].values || !sides[s].present || !sides[s].shares || cprof__compare_read_side(c, &sides[s]);
        for (size_t r = 0; r < sides[s].count; r++) scratch[r] = (double)sides[s].runs[r]->wall_ns;
        if (!failed) wall[s] = cprof__median(scratch, sides[s].count);
    }
    for (uint32_t u = 0; u < c->function_count && !failed; u++) {
        c->mixed_counted += own->counted[u] == CPROF__SEEN_MIXED;
        c->functions[u].metrics = own->changes + (size_t)u * metrics;
        c->functions[u].presence = !sides[0].present[u] ? CPROF_NEW : !sides[1].present[u] ? CPROF_REMOVED : CPROF_IN_BOTH;
        for (uint32_t k = 0; k < c->metric_count; k++) cprof__compare_change(c, &sides[0], &sides[1], u, k, scratch);
    }
    if (!failed) {
        c->before_wall_ns = wall[0];
        c->after_wall_ns = wall[1];
        c->speedup = wall[1] > 0 ? wall[0] / wall[1] : 0.0;
        failed = cprof__compare_moderate(c, sides) || cprof__compare_judge(c);
    }
    for (int s = 0; s < 2; s++) {
        cprof__release(sides[s].values, sides[s].count * functions * metrics * sizeof(double));
        cprof__release(sides[s].present, functions);
        cprof__release(sides[s].shares, sides[s].count * functions * 2 * sizeof(double));
    }
    if (scratch != scratch_array) cprof__release(scratch, scratch_bytes);
    return failed ? -1 : 0;
}

void cprof_comparison_free(cprof_comparison *c) {
    if (!c) return;
    cprof__comparison_private *own = cprof__comparison_own(c);
    cprof__name_map_free(&own->names);
    cprof__release(own->changes, own->function_capacity * own->metric_capacity * sizeof(cprof_change));
    cprof__release(own->counted, own->function_capacity);
    cprof__release(own->counter_sides, own->metric_capacity);
    cprof__release(c->functions, own->function_capacity * sizeof *c->functions);
    cprof__release(c->metrics, own->metric_capacity * sizeof *c->metrics);
    cprof_profile_free(c->storage);
    cprof__release(c, sizeof *c + sizeof *own);
}

/* The label of a side: the option, else the snapshot's name, else the program's name. */
static const char *cprof__compare_label(cprof_comparison *c, const char *option, const cprof_profile *p,
                                        const char *fallback) {
    const char *slash = strrchr(p->program, '/');
    const char *label = option ? option : p->snapshot ? p->snapshot : p->program[0] ? (slash ? slash + 1 : p->program)
                                                                                    : fallback;
    return cprof__string(c->storage, label);
}

cprof_comparison *cprof_compare_runs(const cprof_profile *const *before, size_t before_count,
                                     const cprof_profile *const *after, size_t after_count,
                                     const cprof_compare_options *options) {
    if (!before || !after || !before_count || !after_count) return NULL;
    for (size_t r = 0; r < before_count + after_count; r++)
        if (!(r < before_count ? before[r] : after[r - before_count])) return NULL;
    cprof_comparison *c = (cprof_comparison *)cprof__alloc(sizeof *c + sizeof(cprof__comparison_private));
    if (!c) return NULL;
    cprof__comparison_private *own = cprof__comparison_own(c);
    c->options = options ? *options : cprof_compare_defaults();
    c->before_runs = before_count;
    c->after_runs = after_count;
    c->storage = cprof__profile_new();
    own->metric_capacity = CPROF__FIRST_COUNTER + 2; /* and the two allocation metrics */
    own->function_capacity = 1;
    for (size_t r = 0; r < before_count + after_count; r++) {
        const cprof_profile *p = r < before_count ? before[r] : after[r - before_count];
        own->metric_capacity += p->counter_count;
        own->function_capacity += p->function_count;
    }
    c->metrics = (cprof_metric_info *)cprof__alloc(own->metric_capacity * sizeof *c->metrics);
    if (!c->storage || !c->metrics) {
        cprof_comparison_free(c);
        return NULL;
    }
    c->before_label = cprof__compare_label(c, c->options.before_label, before[0], "before");
    c->after_label = cprof__compare_label(c, c->options.after_label, after[0], "after");
    c->test = before_count > 1 && after_count > 1 ? "Welch's t-test on the runs' values (a time's: its shares of the runs)"
                                                 : "none: one run on a side";
    cprof__compare_metrics(c, before, before_count);
    cprof__compare_metrics(c, after, after_count);
    cprof__side sides[2];
    memset(sides, 0, sizeof sides);
    sides[0].runs = before;
    sides[0].count = before_count;
    sides[1].runs = after;
    sides[1].count = after_count;
    sides[1].after = 1;
    if (cprof__compare_fill(c, sides)) {
        cprof_comparison_free(c);
        return NULL;
    }
    if (c->function_count) qsort(c->functions, c->function_count, sizeof *c->functions, cprof__compare_by_name);
    return c;
}

cprof_comparison *cprof_compare(const cprof_profile *before, const cprof_profile *after,
                                const cprof_compare_options *options) {
    return cprof_compare_runs(&before, 1, &after, 1, options);
}

const cprof_change *cprof_comparison_find(const cprof_comparison *c, const char *function, const char *metric) {
    if (!c || !function || !metric) return NULL;
    uint32_t k = cprof__compare_metric_index(c, metric);
    for (size_t u = 0; u < c->function_count && k != CPROF_NONE; u++)
        if (strcmp(c->functions[u].name, function) == 0) return &c->functions[u].metrics[k];
    return NULL;
}

/* Whether a metric of this kind counts for --fail-on. Calls never do: they are the workload, not
   its cost. */
static int cprof__compare_gates(int kind, int fail_on) {
    if (kind == CPROF_METRIC_CALLS || fail_on == CPROF_FAIL_NONE) return 0;
    if (fail_on == CPROF_FAIL_ANY) return 1;
    return (fail_on == CPROF_FAIL_TIME && kind == CPROF_METRIC_TIME) ||
           (fail_on == CPROF_FAIL_ALLOC && kind == CPROF_METRIC_ALLOC);
}

int cprof_comparison_failed(const cprof_comparison *c, int fail_on) {
    if (!c) return 0;
    for (size_t u = 0; u < c->function_count; u++)
        for (size_t k = 0; k < c->metric_count; k++)
            if (c->functions[u].metrics[k].verdict == CPROF_REGRESSED && cprof__compare_gates(c->metrics[k].kind, fail_on))
                return 1;
    return 0;
}

cprof_profile *cprof_snapshot(const char *name) {
    cprof_profile *p = cprof_capture();
    if (p && name) p->snapshot = cprof__string(p, name);
    cprof_reset();
    return p;
}

/* --- the text report ----------------------------------------------------------------------------- */
typedef struct cprof__compare_row { /* one change in a list of the report: by metric, then impact */
    uint32_t function, metric;
    double impact; /* the change's size as a share of the run's whole in that metric */
} cprof__compare_row;

static int cprof__compare_by_impact(const void *a, const void *b) {
    const cprof__compare_row *x = (const cprof__compare_row *)a, *y = (const cprof__compare_row *)b;
    /* Self time first: where the time was saved or lost; a caller's total time only repeats it. */
    if (x->metric != y->metric) return x->metric < y->metric ? -1 : 1;
    if (x->impact != y->impact) return x->impact > y->impact ? -1 : 1;
    return x->function < y->function ? -1 : x->function > y->function;
}

/* The changes with this verdict, largest impact first; the caller releases rows (capacity entries). */
static cprof__compare_row *cprof__compare_rows(const cprof_comparison *c, int verdict, size_t *count,
                                               size_t *capacity) {
    cprof__compare_row *rows = NULL;
    *capacity = 0;
    *count = 0;
    for (uint32_t k = 0; k < c->metric_count; k++) {
        double whole = cprof__compare_whole(c, k);
        for (uint32_t u = 0; u < c->function_count; u++) {
            const cprof_change *change = &c->functions[u].metrics[k];
            if (change->verdict != verdict) continue;
            if (cprof__grow(&rows, capacity, *count + 1, sizeof *rows)) break;
            rows[*count].function = u;
            rows[*count].metric = k;
            rows[*count].impact = fabs(change->after - change->before) / whole;
            (*count)++;
        }
    }
    if (*count) qsort(rows, *count, sizeof *rows, cprof__compare_by_impact);
    return rows;
}

/* A value of metric k in its unit: a duration or a count. */
static const char *cprof__compare_value(char out[32], const cprof_comparison *c, uint32_t k, double value) {
    uint64_t whole = cprof__u64_rounded(value);
    return c->metrics[k].kind == CPROF_METRIC_TIME ? cprof__duration(out, whole) : cprof__count(out, whole);
}

static void cprof__compare_percent(char out[24], double pct) {
    if (isinf(pct)) cprof__snprintf(out, 24, "%s", "+inf%");
    else cprof__snprintf(out, 24, "%+.1f%%", pct);
}

static void cprof__compare_p(char out[24], double p) {
    if (isnan(p)) cprof__snprintf(out, 24, "%s", "-");
    else if (p < 0.001) cprof__snprintf(out, 24, "%s", "<0.001");
    else cprof__snprintf(out, 24, "%.3f", p);
}

static size_t cprof__compare_name_width(const cprof_comparison *c) {
    size_t width = 8;
    for (size_t u = 0; u < c->function_count; u++) {
        size_t w = cprof__text_width(c->functions[u].name, strlen(c->functions[u].name)); /* as shown */
        if (w > width) width = w < 40 ? w : 40;
    }
    return width;
}

/* One line of a list: "prefix name  metric  before  after  change  p". */
static void cprof__compare_line(cprof__buf *b, const cprof_comparison *c, const char *prefix, const cprof__compare_row *row) {
    const cprof_change *change = &c->functions[row->function].metrics[row->metric];
    char before[32], after[32], pct[24], p[24];
    size_t width = cprof__compare_name_width(c);
    cprof__buf_puts(b, prefix);
    cprof__buf_text_string(b, c->functions[row->function].name);
    const char *name = c->functions[row->function].name;
    for (size_t w = cprof__text_width(name, strlen(name)); w < width + 2; w++) cprof__buf_puts(b, " ");
    cprof__buf_textf(b, "%-16s", c->metrics[row->metric].name);
    cprof__buf_pad_left(b, cprof__compare_value(before, c, row->metric, change->before), 11);
    cprof__buf_pad_left(b, cprof__compare_value(after, c, row->metric, change->after), 12);
    cprof__compare_percent(pct, change->change_pct);
    cprof__buf_pad_left(b, pct, 10);
    cprof__compare_p(p, change->p_value);
    cprof__buf_pad_left(b, p, 9);
    cprof__buf_puts(b, "\n");
}

static void cprof__compare_header(cprof__buf *b, const cprof_comparison *c) {
    char before[32], after[32];
    cprof__buf_textf(b, "Comparison: %s -> %s\n", c->before_label, c->after_label);
    cprof__duration(before, cprof__u64_rounded(c->before_wall_ns));
    cprof__duration(after, cprof__u64_rounded(c->after_wall_ns));
    cprof__buf_textf(b, "Wall time: %s -> %s   speedup %.2fx (before / after)%s\n", before, after, c->speedup,
                      c->before_runs > 1 || c->after_runs > 1 ? ", medians of the runs" : "");
    const cprof_compare_options *o = &c->options;
    cprof__buf_textf(b, "Runs: %llu before, %llu after. A change counts when it is beyond %g%% and at least %g%% of the "
                      "run (--min-share), and, for measured metrics (times, counters), ", (unsigned long long)c->before_runs,
                      (unsigned long long)c->after_runs, o->threshold_pct, o->min_share_pct);
    if (cprof__compare_tested_runs(c))
        cprof__buf_textf(b, "when %s gives p < %g adjusted for the %llu tests (Benjamini-Hochberg).\n", c->test,
                          o->alpha, (unsigned long long)c->tests);
    else if (o->single_run_threshold_pct > 0)
        cprof__buf_textf(b, "by a factor beyond %g%% either way (--single-run-threshold: 100 is 2x slower or faster), a "
                          "self time's share of the run in a function holding at least %g%% of it on both sides "
                          "(--single-run-min-share): one run a side gives no test; several runs a side (B1 B2 ... -- A1 A2 "
                          "...) do.\n", o->single_run_threshold_pct, o->single_run_min_share_pct);
    else
        cprof__buf_puts(b, "never: one run a side cannot tell a change from the machine's noise. Several runs a side "
                           "(B1 B2 ... -- A1 A2 ...) give a real test; cprof diff --noise suggests a --single-run-threshold.\n");
    cprof__buf_puts(b, "A time counts only when its share of the run's recorded time moved the same way: a machine-wide "
                       "slowdown moves every time and no share.\n");
    if (c->shares_only)
        cprof__buf_textf(b, "cprof's own cost was 80%% or more of the recorded time in %llu run%s: the times left are noise, "
                            "so times are judged by their shares of the recorded run alone (the change column is the "
                            "share's).\n", (unsigned long long)c->shares_only, c->shares_only == 1 ? "" : "s");
    if (c->mixed_counted)
        cprof__buf_textf(b, "Counted in some runs, timed in others: %llu automatic function%s (CPROF_AUTO_MIN_NS decides in "
                          "each run from the first calls): compared inside %s callers' self time, which one run a side "
                          "does not judge (it holds their own cost, which the decisions change); CPROF_AUTO_MIN_NS=0 "
                          "times every call in every run.\n", (unsigned long long)c->mixed_counted,
                          c->mixed_counted == 1 ? "" : "s", c->mixed_counted == 1 ? "its" : "their");
    if (c->preemption_kept)
        cprof__buf_printf(b, "Preempted time: %llu run%s kept it in the scopes' times (CPROF_PREEMPTION=0, no perf events, "
                             "or an older file), the rest left it out: on a loaded machine their times differ by "
                             "those waits.\n", (unsigned long long)c->preemption_kept, c->preemption_kept == 1 ? "" : "s");
}

static void cprof__compare_list(cprof__buf *b, const cprof_comparison *c, int verdict, const char *title,
                                const char *prefix) {
    size_t count, capacity;
    cprof__compare_row *rows = cprof__compare_rows(c, verdict, &count, &capacity);
    size_t width = cprof__compare_name_width(c);
    cprof__buf_textf(b, "\n%s%s (%llu)\n", verdict == CPROF_REGRESSED && count ? "!! " : "", title,
                      (unsigned long long)count);
    if (count) {
        cprof__buf_textf(b, "%s%-*s  %-16s%11s%12s%10s%9s\n", prefix, (int)width, "function", "metric", "before",
                          "after", "change", "p");
    }
    int untested = 0;
    for (size_t i = 0; i < count; i++) {
        cprof__compare_line(b, c, prefix, &rows[i]);
        if (isnan(c->functions[rows[i].function].metrics[rows[i].metric].p_value)) untested = 1; /* not |=: MinGW's
                                                                     isnan under clang is not an int */
    }
    if (!count) cprof__buf_puts(b, "  (none)\n");
    if (untested)
        cprof__buf_textf(b, "%sp -: untested: one run a side, or one run on a side, or an exact count; several runs "
                          "a side (B1 B2 ... -- A1 A2 ...) give a test\n", prefix);
    cprof__release(rows, capacity * sizeof *rows);
}

/* Functions in one side only, with their total time and calls on that side. */
static void cprof__compare_presence(cprof__buf *b, const cprof_comparison *c, int presence, const char *title) {
    size_t count = 0, width = cprof__compare_name_width(c);
    char total[32], calls[32];
    for (size_t u = 0; u < c->function_count; u++) count += c->functions[u].presence == presence;
    cprof__buf_textf(b, "\n%s (%llu)\n", title, (unsigned long long)count);
    for (size_t u = 0; u < c->function_count; u++) {
        const cprof_function_change *fn = &c->functions[u];
        if (fn->presence != presence) continue;
        const cprof_change *t = &fn->metrics[CPROF__METRIC_TOTAL], *n = &fn->metrics[CPROF__METRIC_CALLS];
        int after = presence == CPROF_NEW;
        cprof__buf_textf(b, "  %-*s  total %s, %s call%s\n", (int)width, fn->name,
                          cprof__compare_value(total, c, CPROF__METRIC_TOTAL, after ? t->after : t->before),
                          cprof__compare_value(calls, c, CPROF__METRIC_CALLS, after ? n->after : n->before),
                          (after ? n->after : n->before) == 1.0 ? "" : "s");
    }
    if (!count) cprof__buf_puts(b, "  (none)\n");
}

static void cprof__comparison_build(cprof__buf *b, const cprof_comparison *c) {
    cprof__compare_header(b, c);
    cprof__compare_list(b, c, CPROF_IMPROVED, "Improvements, largest first (time saved)", "  ");
    cprof__compare_list(b, c, CPROF_REGRESSED, "REGRESSIONS, largest first (time lost)", "!! ");
    cprof__compare_presence(b, c, CPROF_NEW, "New functions (only after)");
    cprof__compare_presence(b, c, CPROF_REMOVED, "Removed functions (only before)");
    cprof__compare_list(b, c, CPROF_WITHIN_NOISE, "~ within noise: beyond the threshold, but not told apart from noise",
                        "~ ");
    if (c->regressed) cprof__buf_textf(b, "\n!! %llu significant regression%s\n", (unsigned long long)c->regressed,
                                        c->regressed == 1 ? "" : "s");
}

int cprof_comparison_write(const cprof_comparison *c, FILE *out) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!c || !out) return -1;
    cprof__comparison_build(&b, c);
    return cprof__buf_to_file(&b, out);
}

size_t cprof_comparison_format(const cprof_comparison *c, char *buffer, size_t size) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!c) return 0;
    cprof__comparison_build(&b, c);
    return cprof__buf_to_buffer(&b, buffer, size);
}

/* --- the noise: several runs of one build, every two of them compared as one run a side -------------- */
typedef struct cprof__noise_row { /* one function's largest change between two runs, in self time */
    const char *name;
    double share, largest_pct;    /* its self time's median share of the run (raw); the factor */
} cprof__noise_row;

static int cprof__noise_by_share(const void *a, const void *b) {
    double x = ((const cprof__noise_row *)a)->share, y = ((const cprof__noise_row *)b)->share;
    return (x < y) - (x > y);
}

/* Every pair of runs compared (one run a side): per function the largest factor of its self time's share
   of the run that the floor lets count, and over every function holding at least single_run_min_share_pct
   on both sides the largest, which a one-run-a-side gate must stay above. rows[] has all_runs' functions
   (the comparison of every run with every run). */
static int cprof__noise_pairs(const cprof_profile *const *runs, size_t count, const cprof_compare_options *o,
                              const cprof_comparison *all, cprof__noise_row *rows, double *largest, const char **where) {
    for (size_t i = 0; i < count; i++)
        for (size_t j = i + 1; j < count; j++) {
            cprof_comparison *pair = cprof_compare(runs[i], runs[j], o);
            if (!pair) return -1;
            for (uint32_t k = 0; k <= CPROF__METRIC_TOTAL; k++) {
                double whole = cprof__compare_whole(pair, k);
                for (uint32_t u = 0; u < pair->function_count; u++) {
                    const cprof_change *change = &pair->functions[u].metrics[k];
                    if (!cprof__compare_heavy(pair, u, k, change, whole)) continue;
                    double pct = cprof__factor_pct(change->share_before, change->share_after);
                    double smaller = change->share_before < change->share_after ? change->share_before : change->share_after;
                    size_t r = 0; /* rows[] still in all's order: by name */
                    while (r < all->function_count && strcmp(rows[r].name, pair->functions[u].name) != 0) r++;
                    if (r == all->function_count) continue;
                    if (k == CPROF__METRIC_SELF && pct > *largest && smaller >= o->single_run_min_share_pct)
                        *largest = pct, *where = rows[r].name;
                    if (k == CPROF__METRIC_SELF && pct > rows[r].largest_pct) rows[r].largest_pct = pct;
                }
            }
            cprof_comparison_free(pair);
        }
    return 0;
}

/* `cprof diff --noise`: the text. */
static int cprof__noise_build(cprof__buf *b, const cprof_profile *const *runs, size_t count, const cprof_compare_options *o,
                              size_t shown) {
    for (size_t r = 0; r < count; r++)
        if (!runs[r]) return -1;
    cprof_comparison *all = cprof_compare_runs(runs, count, runs, count, o);
    size_t bytes = (all && all->function_count ? all->function_count : 1) * sizeof(cprof__noise_row);
    cprof__noise_row *rows = all ? (cprof__noise_row *)cprof__alloc(bytes) : NULL;
    double largest = 0.0, wall = all ? all->before_wall_ns : 0.0;
    const char *where = "";
    char text[32];
    if (!rows || count < 2) {
        if (rows) cprof__release(rows, bytes);
        cprof_comparison_free(all);
        return -1;
    }
    for (size_t u = 0; u < all->function_count; u++) {
        rows[u].name = all->functions[u].name;
        rows[u].share = all->functions[u].metrics[CPROF__METRIC_SELF].share_before;
        rows[u].largest_pct = 0.0;
    }
    int failed = cprof__noise_pairs(runs, count, o, all, rows, &largest, &where);
    if (all->function_count) qsort(rows, all->function_count, sizeof *rows, cprof__noise_by_share);
    cprof__buf_textf(b, "Noise: %llu runs of one build, every two compared as one run a side (%llu pair%s)\n",
                      (unsigned long long)count, (unsigned long long)(count * (count - 1) / 2), count == 2 ? "" : "s");
    cprof__buf_textf(b, "Wall time: median %s\n", cprof__duration(text, cprof__u64_rounded(wall)));
    cprof__buf_textf(b, "  %-40s %8s %20s\n", "function (by self time)", "share", "largest share factor");
    for (size_t u = 0; u < all->function_count && u < shown; u++) {
        cprof__buf_textf(b, "  %-40s %7.2f%% ", rows[u].name, rows[u].share);
        if (rows[u].largest_pct > 0) cprof__buf_textf(b, "%19.0f%%\n", rows[u].largest_pct);
        else cprof__buf_textf(b, "%20s\n", "under --min-share"); /* no change between two runs was heavy enough */
    }
    double suggested = 10.0 * ceil(largest * 1.25 / 10.0);
    cprof__buf_textf(b, "Largest factor between two runs of a self time's share of the run, in functions holding at least "
                         "%g%% of it in both: %.0f%% (%s)\n", o->single_run_min_share_pct, largest, where[0] ? where : "none");
    cprof__buf_textf(b, "Suggested for one run a side: --single-run-threshold=%.0f (the largest factor x 1.25, rounded up to "
                         "a multiple of 10)\n", suggested > 0 ? suggested : 10.0);
    cprof__buf_puts(b, "Several runs a side need no such threshold: their test measures this noise itself.\n");
    cprof__release(rows, bytes);
    cprof_comparison_free(all);
    return failed;
}

int cprof_noise_write(const cprof_profile *const *runs, size_t count, FILE *out, const cprof_compare_options *options,
                      size_t shown) {
    cprof__buf b;
    cprof_compare_options o = options ? *options : cprof_compare_defaults();
    memset(&b, 0, sizeof b);
    if (!runs || !out) return -1;
    int failed = cprof__noise_build(&b, runs, count, &o, shown);
    if (failed) cprof__buf_free(&b);
    return failed || cprof__buf_to_file(&b, out) ? -1 : 0;
}

/* --- the differential flame graph ---------------------------------------------------------------- */
/* One profile's widths (the drawn one), each frame coloured by the change of its self time against
   the node at the same call path (by names, thread by thread) in the other profile. */
typedef struct cprof__diff_paint {
    const cprof_profile *drawn, *other;
    int drawn_is_before;
    uint32_t *match; /* per drawn node: the node with the same path in other, or CPROF_NONE */
    double largest;  /* the largest self-time change of a frame in both, ns */
} cprof__diff_paint;

/* The thread of `other` that thread t of `drawn` corresponds to: the same name, else the same place. */
static uint32_t cprof__diff_thread_root(const cprof_profile *drawn, const cprof_profile *other, size_t t) {
    for (size_t o = 0; o < other->thread_count; o++)
        if (strcmp(other->threads[o].name, drawn->threads[t].name) == 0) return other->threads[o].root;
    return t < other->thread_count ? other->threads[t].root : CPROF_NONE;
}

static uint32_t cprof__diff_child(const cprof_profile *p, uint32_t parent, const char *name) {
    for (uint32_t c = p->nodes[parent].first_child; c != CPROF_NONE && c < p->node_count; c = p->nodes[c].next_sibling)
        if (strcmp(p->sites[p->nodes[c].site].name, name) == 0) return c;
    return CPROF_NONE;
}

/* Nodes are stored depth-first, so a parent is matched before its children. */
static int cprof__diff_match(cprof__diff_paint *d) {
    const cprof_profile *p = d->drawn;
    d->match = (uint32_t *)cprof__alloc((p->node_count ? p->node_count : 1) * sizeof *d->match);
    if (!d->match) return -1;
    for (size_t i = 0; i < p->node_count; i++) d->match[i] = CPROF_NONE;
    for (size_t t = 0; t < p->thread_count; t++)
        if (p->threads[t].root < p->node_count) d->match[p->threads[t].root] = cprof__diff_thread_root(p, d->other, t);
    for (size_t i = 0; i < p->node_count; i++) {
        const cprof_node *node = &p->nodes[i];
        if (node->site == CPROF_NONE || node->parent >= i || d->match[node->parent] == CPROF_NONE) continue;
        d->match[i] = cprof__diff_child(d->other, d->match[node->parent], p->sites[node->site].name);
        if (d->match[i] == CPROF_NONE) continue;
        double change = fabs((double)node->self_ns - (double)d->other->nodes[d->match[i]].self_ns);
        if (change > d->largest) d->largest = change;
    }
    return 0;
}

/* The colours: unchanged a neutral grey, slower towards red, faster towards blue, new purple, removed
   brown. Each has at least 3:1 contrast with the background (#fbfaf4, luminance 0.955: a fill's
   luminance at most 0.285); a blend of two of them in sRGB stays below the larger luminance, since
   each channel's luminance is convex. Labels are black or white per frame (cprof__label_white). */
static const int cprof__diff_unchanged[3] = {140, 140, 140}, cprof__diff_slower[3] = {220, 20, 20},
                 cprof__diff_faster[3] = {20, 60, 220}, cprof__diff_new[3] = {150, 70, 200},
                 cprof__diff_removed[3] = {150, 110, 70};

static void cprof__diff_blend(const int to[3], double amount, int rgb[3]) {
    for (int i = 0; i < 3; i++) rgb[i] = (int)(cprof__diff_unchanged[i] + amount * (to[i] - cprof__diff_unchanged[i]) + 0.5);
}

/* The frame of drawn node `node` (CPROF_NONE: "all" or a thread): its colour, and its before, after
   and change appended to the tooltip's details. */
static void cprof__diff_paint_frame(const void *context, uint32_t node, int rgb[3], cprof__buf *details) {
    const cprof__diff_paint *d = (const cprof__diff_paint *)context;
    char before[32], after[32], delta[32];
    if (node == CPROF_NONE || node >= d->drawn->node_count || d->drawn->nodes[node].site == CPROF_NONE) {
        cprof__diff_blend(cprof__diff_unchanged, 0.0, rgb);
        return;
    }
    uint32_t match = d->match[node];
    if (match == CPROF_NONE) { /* new (after only), or removed when the before profile is drawn */
        cprof__diff_blend(d->drawn_is_before ? cprof__diff_removed : cprof__diff_new, 1.0, rgb);
        cprof__buf_puts(details, d->drawn_is_before ? "; removed: not in the after profile" : "; new: not in the before profile");
        return;
    }
    uint64_t mine = d->drawn->nodes[node].self_ns, theirs = d->other->nodes[match].self_ns;
    uint64_t was = d->drawn_is_before ? mine : theirs, now = d->drawn_is_before ? theirs : mine;
    double intensity = d->largest > 0 ? fabs((double)now - (double)was) / d->largest : 0.0;
    cprof__diff_blend(now > was ? cprof__diff_slower : cprof__diff_faster, now == was ? 0.0 : intensity, rgb);
    cprof__duration(delta, now > was ? now - was : was - now);
    cprof__buf_printf(details, "; self before %s, after %s, %s%s", cprof__duration(before, was),
                      cprof__duration(after, now), now >= was ? "+" : "-", delta);
    if (was) cprof__buf_printf(details, " (%+.1f%%)", 100.0 * ((double)now - (double)was) / (double)was);
}

/* The legend: a swatch per colour, in a group of its own (id "legend"). */
static void cprof__diff_legend(const void *context, cprof__buf *out, double y) {
    const cprof__diff_paint *d = (const cprof__diff_paint *)context;
    const int *colours[4] = {cprof__diff_slower, cprof__diff_faster, cprof__diff_unchanged,
                             d->drawn_is_before ? cprof__diff_removed : cprof__diff_new};
    const char *names[4] = {"slower (self time)", "faster", "unchanged", d->drawn_is_before ? "removed" : "new"};
    double x = CPROF__FLAME_PAD;
    cprof__buf_puts(out, "<g id=\"legend\">");
    for (int i = 0; i < 4; i++) {
        cprof__buf_printf(out, "<g class=\"key\"><rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"rgb(%d,%d,%d)\" "
                          "style=\"stroke:#333;stroke-width:0.6\"/><text x=\"%.1f\" y=\"%.1f\">%s</text></g>", x, y + 2.0,
                          colours[i][0], colours[i][1], colours[i][2], x + 19.0, y + 13.5, names[i]);
        x += 19.0 + CPROF__FLAME_CHAR * (double)strlen(names[i]) + 16.0;
    }
    cprof__buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\">the deeper the colour, the larger the change against the "
                      "largest of any frame</text></g>\n", x + 8.0, y + 13.5);
}

int cprof_diff_flamegraph_write(const cprof_profile *before, const cprof_profile *after, FILE *out,
                                const cprof_flamegraph_options *options, int before_widths) {
    cprof__diff_paint paint;
    cprof_flamegraph_options o = options ? *options : cprof_flamegraph_defaults();
    char title[256];
    cprof__buf b;
    memset(&b, 0, sizeof b);
    memset(&paint, 0, sizeof paint);
    if (!before || !after || !out) return -1;
    paint.drawn = before_widths ? before : after;
    paint.other = before_widths ? after : before;
    paint.drawn_is_before = before_widths != 0;
    if (!o.title) {
        cprof__snprintf(title, sizeof title, "Differential flame graph: %s widths, red slower, blue faster, %s",
                        before_widths ? "before" : "after", before_widths ? "grey removed" : "purple new");
        o.title = title;
    }
    cprof__flame_painter painter = {cprof__diff_paint_frame, &paint, cprof__diff_legend};
    int failed = cprof__diff_match(&paint) || cprof__flamegraph_paint(&b, out, paint.drawn, &o, &painter);
    cprof__release(paint.match, (paint.drawn->node_count ? paint.drawn->node_count : 1) * sizeof *paint.match);
    cprof__buf_free(&b);
    return failed ? -1 : 0;
}

/* --- runs compared: per benchmark (name and n) the change of the median, and whether it exceeds the
   threshold and the noise. The samples of one run are not independent (a moment of load slows a run of
   them together), so the test is on the runs: Welch's t-test on each run's median, the p-values adjusted
   for the number of benchmarks (Benjamini-Hochberg); one run a side has no test (--single-run-threshold).
   --min-share does not apply: a benchmark is not a share of a run. ------------------------------------ */
static cprof_benchmark *cprof__bench_find(const cprof_profile *p, const cprof_benchmark *like) {
    for (size_t i = 0; i < p->benchmark_count; i++)
        if (p->benchmarks[i].n == like->n && strcmp(p->benchmarks[i].name, like->name) == 0) return &p->benchmarks[i];
    return NULL;
}

/* Several runs of a side as one: each benchmark (name and n) with the samples of every run. */
static cprof_profile *cprof__bench_pool(const cprof_profile *const *runs, size_t count) {
    cprof_profile *pool = cprof__profile_new();
    for (size_t i = 0; pool && i < count; i++)
        for (size_t k = 0; k < runs[i]->benchmark_count; k++) {
            const cprof_benchmark *from = &runs[i]->benchmarks[k];
            cprof_benchmark *into = cprof__bench_find(pool, from);
            if (!into) {
                if (cprof__bench_copy(pool, from)) goto fail;
                continue;
            }
            size_t capacity = into->sample_count, total = into->sample_count + from->sample_count;
            if (cprof__grow(&into->samples_ns, &capacity, total, sizeof(double))) goto fail;
            memcpy(into->samples_ns + into->sample_count, from->samples_ns, from->sample_count * sizeof(double));
            into->sample_count = total;
            into->iterations += from->iterations;
            cprof__bench_shrink(into, capacity);
            into->stats = cprof_bench_statistics(into->samples_ns, into->sample_count);
        }
    return pool;
fail:
    cprof_profile_free(pool);
    return NULL;
}

typedef struct cprof__bench_change { /* one benchmark of after, against before */
    const cprof_benchmark *like;     /* the after run's (name, n) */
    int in_before;
    size_t partners;                 /* timed in a group: judged against this many others of it; 0: alone */
    double before_ns, after_ns, change_pct, p_value; /* medians of the runs' medians; p adjusted; NaN untested */
    int verdict;
} cprof__bench_change;

/* The runs' medians of the benchmark like `like` into out[]; returns how many runs had it. */
static size_t cprof__bench_medians(const cprof_profile *const *runs, size_t count, const cprof_benchmark *like, double *out) {
    size_t found = 0;
    for (size_t r = 0; r < count; r++) {
        const cprof_benchmark *b = cprof__bench_find(runs[r], like);
        if (b && b->sample_count) out[found++] = b->stats.median_ns;
    }
    return found;
}

/* --- a benchmark timed in a group (cprof_bench_group) in every run is judged against the others of its
   group, which were timed in the same rounds: a state of the machine that slows a round slows all of
   them, and the ratio of two members' times in one round leaves it out. Per run and other member j:
   the median over the rounds of log(time / j's time). Each j's values are measured from their median
   over the before runs, and a run's value is the middle one of these over j (for an even count the one
   nearer 0): a change of one other member moves one of them, not the middle. (Centred on the median of
   both sides, two clusters of five runs put the centre at the edge of one, and the middle nearer 0 then
   halved a 10% change: measured.) The runs' values are what the test compares, as the runs' medians
   are for a benchmark timed alone. ------------------------------------------------------------------ */
static int cprof__bench_same_group(const cprof_profile *run, const cprof_benchmark *like, const cprof_benchmark *other) {
    const cprof_benchmark *k = cprof__bench_find(run, like), *j = cprof__bench_find(run, other);
    return k && j && k != j && k->group && j->group == k->group && k->sample_count && j->sample_count;
}

/* The others of like's group that were in its group in every run, into partners[] (room for runs[0]'s
   benchmark_count); returns how many. */
static size_t cprof__bench_partners(const cprof_profile *const *runs, size_t count, const cprof_benchmark *like,
                                    const cprof_benchmark **partners) {
    size_t found = 0;
    for (size_t i = 0; i < runs[0]->benchmark_count; i++) {
        size_t r = 0;
        while (r < count && cprof__bench_same_group(runs[r], like, &runs[0]->benchmarks[i])) r++;
        if (r == count) partners[found++] = &runs[0]->benchmarks[i];
    }
    return found;
}

/* The median over the rounds of log(k's time / j's time); scratch holds the rounds. 0 without a round. */
static double cprof__bench_log_ratio(const cprof_benchmark *k, const cprof_benchmark *j, double *scratch) {
    size_t rounds = k->sample_count < j->sample_count ? k->sample_count : j->sample_count, used = 0;
    for (size_t i = 0; i < rounds; i++)
        if (k->samples_ns[i] > 0 && j->samples_ns[i] > 0) scratch[used++] = log(k->samples_ns[i] / j->samples_ns[i]);
    return used ? cprof__median(scratch, used) : 0.0;
}

/* Of `count` values (sorted here), the middle one; for an even count the middle one nearer 0. */
static double cprof__middle_nearer_zero(double *values, size_t count) {
    qsort(values, count, sizeof *values, cprof__compare_doubles);
    double low = values[(count - 1) / 2], high = values[count / 2];
    return fabs(low) <= fabs(high) ? low : high;
}

/* Each run's value (above) into out[r]; the first before_count runs are the before side's. -1 without memory. */
static int cprof__bench_relative(const cprof_profile *const *runs, size_t before_count, size_t count,
                                 const cprof_benchmark *like, const cprof_benchmark *const *partners,
                                 size_t partner_count, double *out) {
    size_t room = count > partner_count ? count : partner_count, cells = count * partner_count;
    for (size_t r = 0; r < count; r++) {
        size_t rounds = cprof__bench_find(runs[r], like)->sample_count;
        room = rounds > room ? rounds : room;
    }
    double *ratios = (double *)cprof__alloc(cells * sizeof *ratios), *scratch = (double *)cprof__alloc(room * sizeof *scratch);
    int failed = !ratios || !scratch;
    for (size_t j = 0; j < partner_count && !failed; j++) { /* ratios[j * count + r]: against partner j in run r */
        for (size_t r = 0; r < count; r++)
            ratios[j * count + r] = cprof__bench_log_ratio(cprof__bench_find(runs[r], like),
                                                           cprof__bench_find(runs[r], partners[j]), scratch);
        memcpy(scratch, ratios + j * count, before_count * sizeof *scratch);
        double centre = cprof__median(scratch, before_count);
        for (size_t r = 0; r < count; r++) ratios[j * count + r] -= centre;
    }
    for (size_t r = 0; r < count && !failed; r++) {
        for (size_t j = 0; j < partner_count; j++) scratch[j] = ratios[j * count + r];
        out[r] = cprof__middle_nearer_zero(scratch, partner_count);
    }
    cprof__release(ratios, cells * sizeof *ratios);
    cprof__release(scratch, room * sizeof *scratch);
    return failed ? -1 : 0;
}

/* The change of one benchmark timed alone: of the median of the runs' medians. scratch holds a value per
   run. */
static void cprof__bench_change_alone(cprof__bench_change *change, const cprof_profile *const *runs, size_t before_count,
                                      size_t after_count, double *scratch) {
    size_t x = cprof__bench_medians(runs, before_count, change->like, scratch);
    size_t y = cprof__bench_medians(runs + before_count, after_count, change->like, scratch + x);
    change->p_value = before_count > 1 || after_count > 1 ? cprof__welch_of(scratch, x, scratch + x, y) : NAN;
    change->change_pct = change->before_ns > 0 ? 100 * (change->after_ns - change->before_ns) / change->before_ns : 0.0;
}

/* The change of one benchmark timed in a group in every run: of its value relative to the others. */
static int cprof__bench_change_relative(cprof__bench_change *change, const cprof_profile *const *runs,
                                        size_t before_count, size_t after_count,
                                        const cprof_benchmark *const *partners, double *scratch) {
    if (cprof__bench_relative(runs, before_count, before_count + after_count, change->like, partners,
                              change->partners, scratch))
        return -1;
    double moved = cprof__median(scratch + before_count, after_count) - cprof__median(scratch, before_count);
    change->p_value = before_count > 1 || after_count > 1
                          ? cprof__welch_of(scratch, before_count, scratch + before_count, after_count) : NAN;
    change->change_pct = 100 * (exp(moved) - 1);
    return 0;
}

/* The change of one benchmark; runs[] holds the before runs, then the after runs; scratch a value per run
   and partners room for runs[0]'s benchmarks. -1 without memory. */
static int cprof__bench_change_of(cprof__bench_change *change, const cprof_profile *const *runs, size_t before_count,
                                  size_t after_count, double *scratch, const cprof_benchmark **partners) {
    size_t x = cprof__bench_medians(runs, before_count, change->like, scratch);
    size_t y = cprof__bench_medians(runs + before_count, after_count, change->like, scratch + x);
    change->in_before = x > 0;
    change->before_ns = x ? cprof__median(scratch, x) : 0.0;
    change->after_ns = y ? cprof__median(scratch + x, y) : 0.0;
    change->partners = x == before_count && y == after_count
                           ? cprof__bench_partners(runs, before_count + after_count, change->like, partners) : 0;
    if (!change->partners) {
        cprof__bench_change_alone(change, runs, before_count, after_count, scratch);
        return 0;
    }
    return cprof__bench_change_relative(change, runs, before_count, after_count, partners, scratch);
}

static void cprof__bench_compare_row(cprof__buf *b, const cprof__bench_change *change) {
    static const char *const verdicts[] = {"unchanged", "within noise", "improved", "REGRESSED"};
    char n[32], before[24], after[24], p[24];
    cprof__buf_textf(b, "  %-24s %11s ", change->like->name, change->like->n ? cprof__count(n, change->like->n) : "-");
    cprof__buf_pad_left(b, cprof__bench_time(before, change->before_ns), 9);
    cprof__buf_puts(b, " ");
    cprof__buf_pad_left(b, cprof__bench_time(after, change->after_ns), 9);
    if (isnan(change->p_value)) cprof__snprintf(p, sizeof p, "%s", "-");
    else cprof__snprintf(p, sizeof p, "%.2g", change->p_value);
    double shown = fabs(change->change_pct) < 0.05 ? 0.0 : change->change_pct; /* not "-0.0%" */
    cprof__buf_textf(b, " %+8.1f%%  p=%-8s %s", shown, p, verdicts[change->verdict]);
    if (change->partners) cprof__buf_textf(b, "  (vs its group of %llu)", (unsigned long long)change->partners + 1);
    cprof__buf_puts(b, "\n");
}

static void cprof__bench_compare_header(cprof__buf *b, const cprof_compare_options *o, size_t runs_before,
                                        size_t runs_after, size_t tests, int grouped) {
    cprof__buf_textf(b, "Benchmarks compared (median per iteration; %llu run%s before, %llu after: the median of the runs' "
                         "medians). A change counts when over %.3g%% and %s", (unsigned long long)runs_before,
                      runs_before == 1 ? "" : "s", (unsigned long long)runs_after, o->threshold_pct,
                      grouped ? "(timed alone) " : "");
    if (runs_before > 1 || runs_after > 1)
        cprof__buf_textf(b, "Welch's t-test on the runs' medians gives p < %.3g adjusted for the %llu tests "
                             "(Benjamini-Hochberg)\n", o->alpha, (unsigned long long)tests);
    else if (o->bench_single_run_threshold_pct > 0)
        cprof__buf_textf(b, "a factor over %.3g%% either way (--single-run-threshold): the samples of one run are not "
                             "independent, so no test; several runs a side give one\n", o->bench_single_run_threshold_pct);
    else
        cprof__buf_puts(b, "never with one run a side: its samples are not independent, so no test tells a change "
                           "from the machine's noise; several runs a side give one\n");
    if (grouped) {
        cprof__buf_puts(b, "Timed in a group (cprof_bench_group) in every run, \"vs its group\": the change is of its time "
                           "relative to the group's others, timed in the same rounds (per run the median over the rounds "
                           "of its time over each other's, the middle of these over the others), so the machine's state "
                           "cancels and a change of one member moves no other; the test is on the runs' values");
        if (runs_before > 1 || runs_after > 1) cprof__buf_puts(b, "\n");
        else if (o->bench_group_single_run_threshold_pct > 0)
            cprof__buf_textf(b, "; one run a side, a factor over %.3g%% either way counts\n",
                             o->bench_group_single_run_threshold_pct);
        else cprof__buf_puts(b, "; one run a side, never\n");
    }
    cprof__buf_textf(b, "  %-24s %11s %9s %9s %9s\n", "name", "n", "before", "after", "change");
}

/* Every benchmark of pool_after against the runs (before, then after); the p-values not yet adjusted.
   -1 without memory. */
static int cprof__bench_changes(cprof__bench_change *changes, const cprof_profile *pool_after,
                                const cprof_profile *const *before, size_t before_count,
                                const cprof_profile *const *after, size_t after_count) {
    size_t total = before_count + after_count, room = before[0]->benchmark_count + 1;
    const cprof_profile **runs = (const cprof_profile **)cprof__alloc(total * sizeof *runs);
    const cprof_benchmark **partners = (const cprof_benchmark **)cprof__alloc(room * sizeof *partners);
    double *scratch = (double *)cprof__alloc(total * sizeof *scratch);
    int failed = !runs || !partners || !scratch;
    for (size_t r = 0; r < total && !failed; r++) runs[r] = r < before_count ? before[r] : after[r - before_count];
    for (size_t i = 0; i < pool_after->benchmark_count && !failed; i++) {
        changes[i].like = &pool_after->benchmarks[i];
        failed = cprof__bench_change_of(&changes[i], runs, before_count, after_count, scratch, partners);
    }
    cprof__release(runs, total * sizeof *runs);
    cprof__release(partners, room * sizeof *partners);
    cprof__release(scratch, total * sizeof *scratch);
    return failed ? -1 : 0;
}

/* The verdict; one run a side there is no test, only the factor beyond the threshold of its kind. */
static int cprof__bench_verdict(const cprof__bench_change *change, int one_a_side, const cprof_compare_options *o) {
    double threshold = change->partners ? o->bench_group_single_run_threshold_pct : o->bench_single_run_threshold_pct;
    double factor = change->partners ? cprof__factor_pct(100.0, 100.0 + change->change_pct)
                                     : cprof__factor_pct(change->before_ns, change->after_ns);
    int beyond = one_a_side && threshold > 0 && factor >= threshold;
    return cprof__verdict(change->change_pct, beyond ? 0.0 : change->p_value, 1, o->threshold_pct, o->alpha);
}

/* Every benchmark of after compared; returns how many regressed, -1 without memory. */
static int cprof__bench_compare_build(cprof__buf *b, const cprof_profile *const *before, size_t before_count,
                                      const cprof_profile *const *after, size_t after_count, const cprof_compare_options *o) {
    cprof_profile *pool_before = cprof__bench_pool(before, before_count), *pool_after = cprof__bench_pool(after, after_count);
    size_t count = pool_after ? pool_after->benchmark_count : 0, tests = 0;
    cprof__bench_change *changes = (cprof__bench_change *)cprof__alloc((count ? count : 1) * sizeof *changes);
    double **family = (double **)cprof__alloc((count ? count : 1) * sizeof *family);
    int regressed = pool_before && pool_after && changes && family ? 0 : -1, grouped = 0;
    char n[32];
    if (regressed == 0) regressed = cprof__bench_changes(changes, pool_after, before, before_count, after, after_count);
    for (size_t i = 0; i < count && regressed == 0; i++) {
        if (changes[i].in_before && !isnan(changes[i].p_value)) family[tests++] = &changes[i].p_value;
        grouped |= changes[i].partners > 0;
    }
    if (regressed == 0) {
        cprof__benjamini_hochberg(family, tests);
        cprof__bench_compare_header(b, o, before_count, after_count, tests, grouped);
    }
    for (size_t i = 0; i < count && regressed >= 0; i++) {
        cprof__bench_change *change = &changes[i];
        change->verdict = cprof__bench_verdict(change, before_count == 1 && after_count == 1, o);
        if (!change->in_before) cprof__buf_textf(b, "  %-24s %11s  new\n", change->like->name, change->like->n ? cprof__count(n, change->like->n) : "-");
        else cprof__bench_compare_row(b, change);
        regressed += change->in_before && change->verdict == CPROF_REGRESSED;
    }
    for (size_t i = 0; pool_before && pool_after && regressed >= 0 && i < pool_before->benchmark_count; i++)
        if (!cprof__bench_find(pool_after, &pool_before->benchmarks[i]))
            cprof__buf_textf(b, "  %-24s %11s  removed\n", pool_before->benchmarks[i].name,
                              pool_before->benchmarks[i].n ? cprof__count(n, pool_before->benchmarks[i].n) : "-");
    if (regressed >= 0) cprof__buf_textf(b, "%d regressed\n", regressed);
    cprof__release(changes, (count ? count : 1) * sizeof *changes);
    cprof__release(family, (count ? count : 1) * sizeof *family);
    cprof_profile_free(pool_before);
    cprof_profile_free(pool_after);
    return regressed;
}

int cprof_bench_compare_runs_write(const cprof_profile *const *before, size_t before_count,
                                   const cprof_profile *const *after, size_t after_count, FILE *out,
                                   const cprof_compare_options *options) {
    cprof__buf b;
    cprof_compare_options o = options ? *options : cprof_compare_defaults();
    memset(&b, 0, sizeof b);
    if (!before || !after || !before_count || !after_count || !out) return -1;
    for (size_t r = 0; r < before_count + after_count; r++)
        if (!(r < before_count ? before[r] : after[r - before_count])) return -1;
    int regressed = cprof__bench_compare_build(&b, before, before_count, after, after_count, &o);
    if (regressed < 0) {
        cprof__buf_free(&b);
        return -1;
    }
    return cprof__buf_to_file(&b, out) ? -1 : regressed;
}

int cprof_bench_compare_write(const cprof_profile *before, const cprof_profile *after, FILE *out,
                              const cprof_compare_options *options) {
    return cprof_bench_compare_runs_write(&before, 1, &after, 1, out, options);
}

/* ==================================================================================================
   >>merge: several profiles -> one (cprof merge): the call trees summed path by path, threads merged
   by name or kept apart, counters by name, allocation sites by path and place, benchmarks by name and n
   ================================================================================================== */
/* One node of one input: the unit the tree merge works on. */
typedef struct cprof__merge_source {
    uint32_t input, node;
    uint32_t rank; /* of its output site, while children are merged */
} cprof__merge_source;

typedef struct cprof__merge_state {
    cprof_profile *out;
    const cprof_profile *const *inputs;
    size_t input_count;
    uint32_t **site_of;    /* [input][site]: the output's site */
    uint32_t **counter_of; /* [input][counter]: the output's counter */
    uint32_t **node_of;    /* [input][node]: the output's node (for the allocation sites) */
    cprof__strings *scratch; /* the keys of the maps below */
    int failed;
} cprof__merge_state;

/* An exact key of several strings and numbers: each string with its length in front. */
static const char *cprof__merge_key(cprof__merge_state *m, const char *const *parts, size_t count,
                                    const uint64_t *numbers, size_t number_count) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    for (size_t i = 0; i < count; i++) cprof__buf_printf(&b, "%zu:%s", strlen(parts[i]), parts[i]);
    for (size_t i = 0; i < number_count; i++) cprof__buf_printf(&b, "#%llu", (unsigned long long)numbers[i]);
    m->failed |= b.failed || !b.data;
    const char *key = b.data ? cprof__strings_copy(&m->scratch, b.data, b.length) : "";
    cprof__buf_free(&b);
    return key;
}

/* An array of `count` indexes per input, all CPROF_NONE; NULL when out of memory. */
static uint32_t **cprof__merge_index_arrays(cprof__merge_state *m, size_t (*count_of)(const cprof_profile *)) {
    uint32_t **arrays = (uint32_t **)cprof__alloc(m->input_count * sizeof *arrays);
    for (size_t i = 0; arrays && i < m->input_count; i++) {
        size_t count = count_of(m->inputs[i]) + 1;
        arrays[i] = (uint32_t *)cprof__alloc(count * sizeof **arrays);
        if (arrays[i]) memset(arrays[i], 0xFF, count * sizeof **arrays);
        else m->failed = 1;
    }
    m->failed |= !arrays;
    return arrays;
}

static void cprof__merge_index_arrays_free(cprof__merge_state *m, uint32_t **arrays,
                                           size_t (*count_of)(const cprof_profile *)) {
    for (size_t i = 0; arrays && i < m->input_count; i++)
        cprof__release(arrays[i], (count_of(m->inputs[i]) + 1) * sizeof **arrays);
    cprof__release(arrays, m->input_count * sizeof *arrays);
}

static size_t cprof__merge_site_count(const cprof_profile *p) { return p->site_count; }
static size_t cprof__merge_counter_count(const cprof_profile *p) { return p->counter_count; }
static size_t cprof__merge_node_count(const cprof_profile *p) { return p->node_count; }

static size_t cprof__merge_total(cprof__merge_state *m, size_t (*count_of)(const cprof_profile *)) {
    size_t total = 0;
    for (size_t i = 0; i < m->input_count; i++) total += count_of(m->inputs[i]);
    return total;
}

/* The output's sites: one per distinct (name, function, file, line). */
static void cprof__merge_sites(cprof__merge_state *m) {
    cprof__name_map map;
    cprof_profile *out = m->out;
    m->failed |= cprof__name_map_init(&map, cprof__merge_total(m, cprof__merge_site_count));
    for (size_t i = 0; i < m->input_count && !m->failed; i++) {
        for (size_t s = 0; s < m->inputs[i]->site_count && !m->failed; s++) {
            const cprof_site_info *site = &m->inputs[i]->sites[s];
            const char *parts[] = {site->name, site->function, site->file};
            uint64_t line = site->line;
            const char *key = cprof__merge_key(m, parts, 3, &line, 1);
            size_t slot = cprof__name_map_slot(&map, key);
            if (!map.keys[slot]) {
                if (cprof__grow(&out->sites, &cprof__capacities(out)->sites, out->site_count + 1, sizeof *out->sites)) {
                    m->failed = 1;
                    break;
                }
                cprof_site_info *copy = &out->sites[out->site_count];
                copy->name = cprof__string(out, site->name);
                copy->function = cprof__string(out, site->function);
                copy->file = cprof__string(out, site->file);
                copy->line = site->line;
                copy->automatic = site->automatic;
                map.keys[slot] = key;
                map.values[slot] = (uint32_t)out->site_count++;
            }
            m->site_of[i][s] = map.values[slot];
        }
    }
    cprof__name_map_free(&map);
}

/* The output's counters: one per name; counted when any input counted it, the lowest running ratio
   (the least exact input) kept, a reason kept when no input could count it. */
static void cprof__merge_counters(cprof__merge_state *m) {
    cprof_profile *out = m->out;
    for (size_t i = 0; i < m->input_count && !m->failed; i++) {
        for (size_t k = 0; k < m->inputs[i]->counter_count && !m->failed; k++) {
            const cprof_counter_info *c = &m->inputs[i]->counters[k];
            uint32_t found = cprof_counter_find(out, c->name);
            if (found == CPROF_NONE) {
                if (cprof__grow(&out->counters, &cprof__capacities(out)->counters, out->counter_count + 1,
                                sizeof *out->counters)) {
                    m->failed = 1;
                    break;
                }
                found = (uint32_t)out->counter_count++;
                memset(&out->counters[found], 0, sizeof out->counters[found]);
                out->counters[found].name = cprof__string(out, c->name);
                out->counters[found].reason = cprof__string(out, c->reason);
                out->counters[found].running_ratio = c->available ? c->running_ratio : 0.0;
            }
            cprof_counter_info *o = &out->counters[found];
            if (c->available && (!o->available || c->running_ratio < o->running_ratio)) o->running_ratio = c->running_ratio;
            if (c->available) o->available = 1, o->reason = "";
            m->counter_of[i][k] = found;
        }
    }
}

/* rank[site]: the output's sites in the order of children (name, file, line, then function), so
   that the merged children come out sorted as a capture sorts them. */
typedef struct cprof__merge_ranked {
    const cprof_site_info *site;
    uint32_t index;
} cprof__merge_ranked;

static int cprof__merge_compare_ranked(const void *a, const void *b) {
    const cprof_site_info *x = ((const cprof__merge_ranked *)a)->site, *y = ((const cprof__merge_ranked *)b)->site;
    int order = strcmp(x->name, y->name);
    if (!order) order = strcmp(x->file, y->file);
    if (!order) order = (x->line > y->line) - (x->line < y->line);
    return order ? order : strcmp(x->function, y->function);
}

static uint32_t *cprof__merge_site_ranks(cprof__merge_state *m) {
    size_t count = m->out->site_count + 1;
    cprof__merge_ranked *order = (cprof__merge_ranked *)cprof__alloc(count * sizeof *order);
    uint32_t *rank = (uint32_t *)cprof__alloc(count * sizeof *rank);
    for (size_t s = 0; order && rank && s < m->out->site_count; s++) order[s].site = &m->out->sites[s], order[s].index = (uint32_t)s;
    if (order && rank && m->out->site_count) qsort(order, m->out->site_count, sizeof *order, cprof__merge_compare_ranked);
    for (size_t s = 0; order && rank && s < m->out->site_count; s++) rank[order[s].index] = (uint32_t)s;
    if (!order || !rank) cprof__release(rank, count * sizeof *rank), rank = NULL, m->failed = 1;
    cprof__release(order, count * sizeof *order);
    return rank;
}

/* A new output node (and its counters, zero); CPROF_NONE when out of memory. */
static uint32_t cprof__merge_new_node(cprof__merge_state *m, uint32_t site, uint32_t parent, uint32_t thread, uint32_t depth) {
    cprof_profile *out = m->out;
    cprof_node *node = cprof__add_node(out);
    size_t k = out->counter_count;
    if (!node || (k && cprof__grow_counter_values(&cprof__capacities(out)->node_counters, &out->node_counters,
                                                  out->node_count * k))) {
        m->failed = 1;
        return CPROF_NONE;
    }
    if (k) memset(&out->node_counters[(out->node_count - 1) * k], 0, k * sizeof *out->node_counters);
    node->site = site;
    node->parent = parent;
    node->thread = thread;
    node->depth = depth;
    return (uint32_t)(out->node_count - 1);
}

/* Adds one input node's exact figures to an output node; min and max of the calls that completed. */
static void cprof__merge_node_figures(cprof__merge_state *m, uint32_t index, cprof__merge_source from) {
    const cprof_profile *in = m->inputs[from.input];
    const cprof_node *source = &in->nodes[from.node];
    cprof_node *node = &m->out->nodes[index];
    int had_min = node->min_ns || node->max_ns;
    node->calls += source->calls;
    node->counted_calls += source->counted_calls;
    node->samples += source->samples;
    node->sampled |= source->sampled;
    node->open += source->open;
    node->total_ns += source->total_ns;
    node->raw_total_ns += source->raw_total_ns;
    node->sum_sq_ns2 += source->sum_sq_ns2;
    node->alloc_self_count += source->alloc_self_count;
    node->alloc_self_bytes += source->alloc_self_bytes;
    if ((source->min_ns || source->max_ns) && (!had_min || source->min_ns < node->min_ns)) /* 0 and 0: none completed */
        node->min_ns = source->min_ns;
    if (source->max_ns > node->max_ns) node->max_ns = source->max_ns;
    for (size_t k = 0; k < in->counter_count; k++)
        m->out->node_counters[(size_t)index * m->out->counter_count + m->counter_of[from.input][k]].total +=
            in->node_counters[(size_t)from.node * in->counter_count + k].total;
    m->node_of[from.input][from.node] = index;
}

static int cprof__merge_compare_children(const void *a, const void *b) {
    const cprof__merge_source *x = (const cprof__merge_source *)a, *y = (const cprof__merge_source *)b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    if (x->input != y->input) return x->input < y->input ? -1 : 1;
    return (x->node > y->node) - (x->node < y->node);
}

/* The children of the output node `parent`: every child of every source, those with the same site
   summed into one node, depth-first (each subtree right after its node), in the order of the ranks. */
static void cprof__merge_children(cprof__merge_state *m, const uint32_t *rank, uint32_t parent,
                                  const cprof__merge_source *sources, size_t source_count) {
    size_t count = 0, capacity = 0;
    cprof__merge_source *children = NULL;
    for (size_t s = 0; s < source_count && !m->failed; s++) {
        const cprof_profile *in = m->inputs[sources[s].input];
        for (uint32_t c = in->nodes[sources[s].node].first_child; c != CPROF_NONE; c = in->nodes[c].next_sibling) {
            if (cprof__grow(&children, &capacity, count + 1, sizeof *children)) { m->failed = 1; break; }
            children[count].input = sources[s].input;
            children[count].node = c;
            children[count++].rank = rank[m->site_of[sources[s].input][in->nodes[c].site]];
        }
    }
    if (count) qsort(children, count, sizeof *children, cprof__merge_compare_children);
    uint32_t previous = CPROF_NONE;
    for (size_t first = 0, end; first < count && !m->failed; first = end) {
        for (end = first + 1; end < count && children[end].rank == children[first].rank;) end++;
        const cprof__merge_source *one = &children[first];
        uint32_t site = m->site_of[one->input][m->inputs[one->input]->nodes[one->node].site];
        uint32_t index = cprof__merge_new_node(m, site, parent, m->out->nodes[parent].thread, m->out->nodes[parent].depth + 1);
        if (index == CPROF_NONE) break;
        if (previous == CPROF_NONE) m->out->nodes[parent].first_child = index;
        else m->out->nodes[previous].next_sibling = index;
        previous = index;
        for (size_t c = first; c < end; c++) cprof__merge_node_figures(m, index, children[c]);
        cprof__merge_children(m, rank, index, &children[first], end - first);
    }
    cprof__release(children, capacity * sizeof *children);
}

static size_t cprof__merge_thread_count(const cprof_profile *p) { return p->thread_count; }

/* The output thread of each input thread: one per name (threads_apart 0), or one per input thread,
   named "NAME (run K)" (K = the input's position from 1) when there are several inputs. */
static void cprof__merge_thread_names(cprof__merge_state *m, uint32_t **thread_of, int apart) {
    cprof_profile *out = m->out;
    for (size_t i = 0; i < m->input_count && !m->failed; i++) {
        for (size_t t = 0; t < m->inputs[i]->thread_count && !m->failed; t++) {
            const cprof_thread_info *thread = &m->inputs[i]->threads[t];
            size_t found = apart ? out->thread_count : 0;
            while (found < out->thread_count && strcmp(out->threads[found].name, thread->name) != 0) found++;
            if (found == out->thread_count) {
                if (cprof__grow(&out->threads, &cprof__capacities(out)->threads, out->thread_count + 1, sizeof *out->threads)) {
                    m->failed = 1;
                    break;
                }
                cprof_thread_info *o = &out->threads[out->thread_count++];
                memset(o, 0, sizeof *o);
                char name[600];
                if (apart && m->input_count > 1) cprof__snprintf(name, sizeof name, "%s (run %zu)", thread->name, i + 1);
                o->name = apart && m->input_count > 1 ? cprof__string(out, name) : cprof__string(out, thread->name);
                o->id = thread->id;
                o->exited = 1;
                o->root = CPROF_NONE;
            }
            out->threads[found].exited &= thread->exited;
            thread_of[i][t] = (uint32_t)found;
        }
    }
}

/* Each output thread's root and tree, from the roots of the input threads it gathers. */
static void cprof__merge_threads(cprof__merge_state *m, const uint32_t *rank, int apart) {
    cprof_profile *out = m->out;
    uint32_t **thread_of = cprof__merge_index_arrays(m, cprof__merge_thread_count);
    size_t capacity = cprof__merge_total(m, cprof__merge_thread_count) + 1;
    cprof__merge_source *roots = (cprof__merge_source *)cprof__alloc(capacity * sizeof *roots);
    m->failed |= !roots;
    if (!m->failed) cprof__merge_thread_names(m, thread_of, apart);
    for (uint32_t o = 0; o < out->thread_count && !m->failed; o++) {
        size_t count = 0;
        for (uint32_t i = 0; i < m->input_count; i++)
            for (uint32_t t = 0; t < m->inputs[i]->thread_count; t++)
                if (thread_of[i][t] == o) roots[count].input = i, roots[count].rank = 0, roots[count++].node = m->inputs[i]->threads[t].root;
        uint32_t root = cprof__merge_new_node(m, CPROF_NONE, CPROF_NONE, o, 0);
        if (root == CPROF_NONE) break;
        out->threads[o].root = root;
        for (size_t r = 0; r < count; r++) cprof__merge_node_figures(m, root, roots[r]);
        cprof__merge_children(m, rank, root, roots, count);
    }
    cprof__release(roots, capacity * sizeof *roots);
    cprof__merge_index_arrays_free(m, thread_of, cprof__merge_thread_count);
}

/* The input whose peak the merged profile's is: the first with the largest. */
static size_t cprof__merge_peak_input(const cprof__merge_state *m) {
    size_t peak = 0;
    for (size_t i = 1; i < m->input_count; i++)
        if (m->inputs[i]->allocs.peak_live_bytes > m->inputs[peak]->allocs.peak_live_bytes) peak = i;
    return peak;
}

/* Adds one input's allocation site (or free problem) to the output's with the same place, kind and
   scope path; counts, bytes and slack summed, the peaks and the largest block the largest of any input
   (the inputs ran apart, so their peaks never coincided), what it held at the peak the peak's input's. */
static uint32_t cprof__merge_alloc_site(cprof__merge_state *m, cprof__name_map *map, uint32_t input,
                                        const cprof_alloc_site *site, int problem, const uint32_t *origin_of) {
    uint32_t node = site->node == CPROF_NONE ? CPROF_NONE : m->node_of[input][site->node];
    uint32_t origin = site->origin == CPROF_NONE || !problem ? CPROF_NONE : origin_of[site->origin];
    const char *parts[] = {site->file, site->function};
    const uint64_t numbers[] = {site->line, site->kind, node, origin};
    const char *key = cprof__merge_key(m, parts, 2, numbers, 4);
    size_t slot = cprof__name_map_slot(map, key);
    if (!map->keys[slot]) {
        cprof_alloc_site *o = cprof__alloc_site_new(m->out, problem);
        if (!o) return m->failed = 1, CPROF_NONE;
        o->file = cprof__string(m->out, site->file);
        o->function = cprof__string(m->out, site->function);
        o->line = site->line;
        o->kind = site->kind;
        o->node = node;
        o->origin = origin;
        map->keys[slot] = key;
        map->values[slot] = (uint32_t)((problem ? m->out->free_problem_count : m->out->alloc_site_count) - 1);
    }
    cprof_alloc_site *o = problem ? &m->out->free_problems[map->values[slot]] : &m->out->alloc_sites[map->values[slot]];
    o->count += site->count;
    o->bytes += site->bytes;
    o->live_count += site->live_count;
    o->live_bytes += site->live_bytes;
    o->temporary += site->temporary;
    o->slack_bytes += site->slack_bytes;
    if (input == cprof__merge_peak_input(m)) o->at_peak_count += site->at_peak_count, o->at_peak_bytes += site->at_peak_bytes;
    if (site->peak_live_bytes > o->peak_live_bytes) o->peak_live_bytes = site->peak_live_bytes;
    if (site->max_bytes > o->max_bytes) o->max_bytes = site->max_bytes;
    return map->values[slot];
}

static size_t cprof__merge_alloc_site_count(const cprof_profile *p) { return p->alloc_site_count; }

static void cprof__merge_alloc_totals(cprof__merge_state *m) {
    cprof_alloc_totals *o = &m->out->allocs;
    o->peak_node = CPROF_NONE;
    for (size_t i = 0; i < m->input_count; i++) {
        const cprof_alloc_totals *a = &m->inputs[i]->allocs;
        o->allocations += a->allocations, o->frees += a->frees;
        o->bytes_allocated += a->bytes_allocated, o->bytes_freed += a->bytes_freed;
        o->live_blocks += a->live_blocks, o->live_bytes += a->live_bytes;
        o->temporary += a->temporary, o->unknown_frees += a->unknown_frees;
        o->double_frees += a->double_frees, o->possible_double_frees += a->possible_double_frees;
        o->tracked |= a->tracked;
        o->usable_known |= a->usable_known;
        o->slack_bytes += a->slack_bytes;
        for (size_t k = 0; k < CPROF_ALLOC_HISTOGRAM; k++) o->size_histogram[k] += a->size_histogram[k];
        if (a->peak_live_bytes > o->peak_live_bytes || (i == 0 && a->peak_live_bytes)) {
            o->peak_live_bytes = a->peak_live_bytes;
            o->peak_node = a->peak_node == CPROF_NONE ? CPROF_NONE : m->node_of[i][a->peak_node];
            o->peak_ns = a->peak_ns; /* the peak's own run: the series and the heaps are not merged */
            o->heap_at_peak = a->heap_at_peak;
        }
    }
}

/* The allocation sites sorted as a capture sorts them (by bytes), the free problems' origins following. */
static void cprof__merge_sort_alloc_sites(cprof__merge_state *m) {
    cprof_profile *out = m->out;
    size_t bytes = (out->alloc_site_count + 1) * sizeof(uint32_t);
    uint32_t *after = (uint32_t *)cprof__alloc(bytes);
    if (!after) { m->failed = 1; return; }
    for (size_t s = 0; s < out->alloc_site_count; s++) out->alloc_sites[s].origin = (uint32_t)s; /* scratch */
    if (out->alloc_site_count) qsort(out->alloc_sites, out->alloc_site_count, sizeof *out->alloc_sites, cprof__compare_alloc_sites);
    for (size_t s = 0; s < out->alloc_site_count; s++) after[out->alloc_sites[s].origin] = (uint32_t)s, out->alloc_sites[s].origin = CPROF_NONE;
    for (size_t s = 0; s < out->free_problem_count; s++)
        if (out->free_problems[s].origin != CPROF_NONE) out->free_problems[s].origin = after[out->free_problems[s].origin];
    cprof__release(after, bytes);
}

static void cprof__merge_allocs(cprof__merge_state *m) {
    cprof__name_map sites, problems;
    uint32_t **origin_of = cprof__merge_index_arrays(m, cprof__merge_alloc_site_count);
    size_t problem_total = 0;
    for (size_t i = 0; i < m->input_count; i++) problem_total += m->inputs[i]->free_problem_count;
    m->failed |= cprof__name_map_init(&sites, cprof__merge_total(m, cprof__merge_alloc_site_count));
    m->failed |= cprof__name_map_init(&problems, problem_total);
    for (uint32_t i = 0; i < m->input_count && !m->failed; i++)
        for (size_t s = 0; s < m->inputs[i]->alloc_site_count && !m->failed; s++)
            origin_of[i][s] = cprof__merge_alloc_site(m, &sites, i, &m->inputs[i]->alloc_sites[s], 0, NULL);
    for (uint32_t i = 0; i < m->input_count && !m->failed; i++)
        for (size_t s = 0; s < m->inputs[i]->free_problem_count && !m->failed; s++)
            cprof__merge_alloc_site(m, &problems, i, &m->inputs[i]->free_problems[s], 1, origin_of[i]);
    if (!m->failed) cprof__merge_sort_alloc_sites(m);
    cprof__merge_alloc_totals(m);
    cprof__name_map_free(&sites);
    cprof__name_map_free(&problems);
    cprof__merge_index_arrays_free(m, origin_of, cprof__merge_alloc_site_count);
}

/* Benchmarks with the same name and n become one: their samples together (in input order), the
   iterations summed, the batch of the first; the statistics computed again from all samples. */
static void cprof__merge_benchmarks(cprof__merge_state *m) {
    cprof_profile *out = m->out;
    for (size_t i = 0; i < m->input_count && !m->failed; i++) {
        for (size_t b = 0; b < m->inputs[i]->benchmark_count && !m->failed; b++) {
            const cprof_benchmark *from = &m->inputs[i]->benchmarks[b];
            size_t k = 0;
            while (k < out->benchmark_count && !(out->benchmarks[k].n == from->n && strcmp(out->benchmarks[k].name, from->name) == 0)) k++;
            if (k == out->benchmark_count) {
                m->failed |= cprof__bench_copy(out, from);
                continue;
            }
            cprof_benchmark *r = &out->benchmarks[k];
            size_t count = r->sample_count + from->sample_count;
            double *samples = count ? (double *)cprof__alloc(count * sizeof *samples) : NULL;
            if (count && !samples) { m->failed = 1; break; }
            if (r->sample_count) memcpy(samples, r->samples_ns, r->sample_count * sizeof *samples);
            if (from->sample_count) memcpy(samples + r->sample_count, from->samples_ns, from->sample_count * sizeof *samples);
            cprof__release(r->samples_ns, r->sample_count * sizeof *samples);
            r->samples_ns = samples;
            r->sample_count = count;
            r->iterations += from->iterations;
            r->warmup_iterations += from->warmup_iterations;
        }
    }
    /* The samples of several runs together no longer form rounds, and each input numbers its groups from 1. */
    for (size_t k = 0; k < out->benchmark_count; k++) out->benchmarks[k].group = 0;
    for (size_t k = 0; k < out->benchmark_count; k++)
        out->benchmarks[k].stats = cprof_bench_statistics(out->benchmarks[k].samples_ns, out->benchmarks[k].sample_count);
}

/* The header: the first input's program and timer, the earliest start, wall times and drop counts
   summed (the inputs ran apart: their wall times add up as their recorded times do). */
static void cprof__merge_header(cprof__merge_state *m) {
    cprof_profile *out = m->out;
    const cprof_profile *first = m->inputs[0];
    out->program = cprof__string(out, first->program);
    out->timer = cprof__string(out, first->timer);
    out->counter_reader = cprof__string(out, first->counter_reader);
    out->timer_hz = first->timer_hz;
    out->start_unix_ns = first->start_unix_ns;
    for (size_t i = 0; i < m->input_count; i++) {
        const cprof_profile *in = m->inputs[i];
        if (in->start_unix_ns < out->start_unix_ns) out->start_unix_ns = in->start_unix_ns;
        out->wall_ns += in->wall_ns;
        out->dropped_scopes += in->dropped_scopes;
        out->signal_scopes_dropped += in->signal_scopes_dropped;
        out->messages_dropped += in->messages_dropped;
        out->profiler_bytes += in->profiler_bytes;
        out->preemption.preempted_ns += in->preemption.preempted_ns;
        out->preemption.preemptions += in->preemption.preemptions;
        out->preemption.lost += in->preemption.lost;
        out->preemption.threads += in->preemption.threads;
        if (!out->preemption.error) out->preemption.error = in->preemption.error;
    }
}

/* Messages kept in input order (up to the recorder's limit, the rest counted as dropped); budgets by
   name, the first input's value when two differ. */
static void cprof__merge_messages_and_budgets(cprof__merge_state *m) {
    cprof_profile *out = m->out;
    for (size_t i = 0; i < m->input_count && !m->failed; i++) {
        const cprof_profile *in = m->inputs[i];
        for (size_t k = 0; k < in->message_count && !m->failed; k++) {
            if (out->message_count >= CPROF__MAX_MESSAGES) { out->messages_dropped++; continue; }
            if (cprof__grow(&out->messages, &cprof__capacities(out)->messages, out->message_count + 1, sizeof *out->messages)) {
                m->failed = 1;
                break;
            }
            cprof_message *message = &out->messages[out->message_count++];
            message->file = cprof__string(out, in->messages[k].file);
            message->line = in->messages[k].line;
            message->text = cprof__string(out, in->messages[k].text);
        }
        for (size_t k = 0; k < in->budget_count && !m->failed; k++) {
            size_t found = 0;
            while (found < out->budget_count && strcmp(out->budgets[found].name, in->budgets[k].name) != 0) found++;
            if (found < out->budget_count) continue;
            if (cprof__grow(&out->budgets, &cprof__capacities(out)->budgets, out->budget_count + 1, sizeof *out->budgets)) {
                m->failed = 1;
                break;
            }
            out->budgets[out->budget_count].name = cprof__string(out, in->budgets[k].name);
            out->budgets[out->budget_count++].budget_ns = in->budgets[k].budget_ns;
        }
    }
}

/* Compensation: applied when any input was compensated; the per-call figures averaged over the
   scope calls, the calls and the time subtracted summed. */
static void cprof__merge_compensation(cprof__merge_state *m) {
    cprof_compensation *o = &m->out->compensation;
    double inside = 0.0, outside = 0.0;
    for (size_t i = 0; i < m->input_count; i++) {
        const cprof_compensation *c = &m->inputs[i]->compensation;
        if (!c->applied) continue;
        o->applied = 1;
        o->scopes += c->scopes;
        o->subtracted_ns += c->subtracted_ns;
        inside += c->inside_ns * (double)c->scopes;
        outside += c->outside_ns * (double)c->scopes;
    }
    o->inside_ns = o->scopes ? inside / (double)o->scopes : 0.0;
    o->outside_ns = o->scopes ? outside / (double)o->scopes : 0.0;
}

cprof_merge_options cprof_merge_defaults(void) {
    cprof_merge_options o;
    memset(&o, 0, sizeof o);
    return o;
}

cprof_profile *cprof_merge(const cprof_profile *const *profiles, size_t count, const cprof_merge_options *options) {
    cprof_merge_options o = options ? *options : cprof_merge_defaults();
    cprof__merge_state m;
    memset(&m, 0, sizeof m);
    for (size_t i = 0; i < count; i++)
        if (!profiles || !profiles[i]) return NULL;
    m.out = count ? cprof__profile_new() : NULL;
    if (!m.out) return NULL;
    m.inputs = profiles;
    m.input_count = count;
    m.site_of = cprof__merge_index_arrays(&m, cprof__merge_site_count);
    m.counter_of = cprof__merge_index_arrays(&m, cprof__merge_counter_count);
    m.node_of = cprof__merge_index_arrays(&m, cprof__merge_node_count);
    cprof__merge_header(&m);
    if (!m.failed) cprof__merge_sites(&m);
    if (!m.failed) cprof__merge_counters(&m);
    uint32_t *rank = m.failed ? NULL : cprof__merge_site_ranks(&m);
    if (!m.failed) cprof__merge_threads(&m, rank, o.threads_apart);
    cprof__release(rank, (m.out->site_count + 1) * sizeof *rank);
    if (!m.failed) cprof__merge_allocs(&m);
    if (!m.failed) cprof__merge_benchmarks(&m);
    if (!m.failed) cprof__merge_messages_and_budgets(&m);
    cprof__merge_compensation(&m);
    cprof__merge_index_arrays_free(&m, m.site_of, cprof__merge_site_count);
    cprof__merge_index_arrays_free(&m, m.counter_of, cprof__merge_counter_count);
    cprof__merge_index_arrays_free(&m, m.node_of, cprof__merge_node_count);
    cprof__strings_free(&m.scratch);
    if (m.failed || cprof__profile_derive(m.out)) {
        cprof_profile_free(m.out);
        return NULL;
    }
    return m.out;
}

/* ==================================================================================================
   >>analyzer: a profile -> findings ranked by severity, each with its numbers, a recommendation and the
   most that fixing it could give (Amdahl: 1 / (1 - p) for a share p of the run)
   ================================================================================================== */
static const char *const cprof__category_names[CPROF_CATEGORY_COUNT] = {
    "SlowFunction",       "HotLoop",         "DeepCallStack",        "CacheMisses", "BudgetExceeded",
    "FrequentAllocation", "ExcessiveAllocation", "LargeAllocation", "TemporaryAllocations", "Leak", "Spike",
    "Fragmentation"};

const char *cprof_category_name(int category) {
    return category >= 0 && category < CPROF_CATEGORY_COUNT ? cprof__category_names[category] : "?";
}

const char *cprof_severity_name(int severity) {
    static const char *const names[] = {"?", "Low", "Medium", "High", "Critical"};
    return severity >= CPROF_SEVERITY_LOW && severity <= CPROF_SEVERITY_CRITICAL ? names[severity] : "?";
}

cprof_analyze_options cprof_analyze_defaults(void) {
    cprof_analyze_options o;
    o.slow_critical_pct = 50.0;
    o.slow_high_pct = 20.0;
    o.slow_medium_pct = 10.0;
    o.hot_loop_calls = 100000.0; /* with a scope costing some 20 ns, 100,000 calls are 2 ms of overhead alone */
    o.hot_loop_avg_ns = 1000.0;
    o.hot_loop_pct = 2.0;
    o.deep_stack_depth = 100.0;
    o.cache_miss_pct = 20.0;
    o.cache_mpki = 10.0;
    o.cache_min_pct = 5.0;
    o.frequent_alloc_count = 10000.0;
    o.frequent_alloc_max_bytes = 1024.0;
    o.excessive_alloc_pct = 25.0;
    o.excessive_alloc_bytes = 1048576.0;
    o.large_alloc_bytes = 16777216.0;
    o.temporary_alloc_count = 1000.0;
    o.temporary_alloc_pct = 50.0;
    o.leak_high_bytes = 1048576.0;
    /* An automatic scope costs some 42-54 ns on the machines measured, a manual one some 20 ns; below 4x
       the former a call's measured time is a quarter or more the instrumentation's own. Few calls are
       still judged: their overhead is small in total, and a tiny program's one call is what it is. */
    o.min_judged_avg_ns = 180.0;
    o.min_judged_calls = 1000.0;
    o.spike_factor = 5.0;    /* a frame of 16 ms taking 80: a stutter anyone sees */
    o.spike_min_ns = 1e6;    /* 1 ms longer: below it a slow call is rarely the one a user notices */
    o.spike_min_calls = 20.0;
    o.fragmentation_free_pct = 25.0;  /* a quarter of the heap held free in holes */
    o.fragmentation_slack_pct = 25.0; /* e.g. 24 usable bytes for requests of 17 to 19 */
    o.fragmentation_min_bytes = 1048576.0;
    o.settings = getenv("CPROF_ANALYZE");
    o.budgets = getenv("CPROF_BUDGET");
    return o;
}

/* The keys of CPROF_ANALYZE / options.settings: the fields of cprof_analyze_options, by name. */
typedef struct cprof__analyze_key {
    const char *key;
    size_t offset;
} cprof__analyze_key;

#define CPROF__KEY(field) {#field, offsetof(cprof_analyze_options, field)}
static const cprof__analyze_key cprof__analyze_keys[] = {
    CPROF__KEY(slow_critical_pct), CPROF__KEY(slow_high_pct),    CPROF__KEY(slow_medium_pct),
    CPROF__KEY(hot_loop_calls),    CPROF__KEY(hot_loop_avg_ns),  CPROF__KEY(hot_loop_pct),
    CPROF__KEY(deep_stack_depth),  CPROF__KEY(cache_miss_pct),   CPROF__KEY(cache_mpki),
    CPROF__KEY(cache_min_pct),     CPROF__KEY(frequent_alloc_count), CPROF__KEY(frequent_alloc_max_bytes),
    CPROF__KEY(excessive_alloc_pct), CPROF__KEY(excessive_alloc_bytes), CPROF__KEY(large_alloc_bytes),
    CPROF__KEY(temporary_alloc_count), CPROF__KEY(temporary_alloc_pct), CPROF__KEY(leak_high_bytes),
    CPROF__KEY(min_judged_avg_ns), CPROF__KEY(min_judged_calls), CPROF__KEY(spike_factor),
    CPROF__KEY(spike_min_ns),      CPROF__KEY(spike_min_calls), CPROF__KEY(fragmentation_free_pct),
    CPROF__KEY(fragmentation_slack_pct), CPROF__KEY(fragmentation_min_bytes),
};
#undef CPROF__KEY
#define CPROF__ANALYZE_KEY_COUNT (sizeof cprof__analyze_keys / sizeof cprof__analyze_keys[0])

/* --- the analysis under way --- */
typedef struct cprof__analysis {
    const cprof_profile *p;
    cprof_analyze_options o;
    cprof_findings *out;
    cprof__buf notes;
    cprof__budget_entry budgets[CPROF__MAX_BUDGETS];
    size_t budget_count;
    uint32_t *first_node;  /* nodes grouped by function: function f's are node_of_function[first_node[f] .. first_node[f + 1]) */
    uint32_t *node_of_function;
    int failed; /* out of memory */
} cprof__analysis;

static const char *cprof__analysis_string(cprof__analysis *a, const char *text) {
    return cprof__strings_copy(&a->out->strings, text, strlen(text));
}

/* A formatted string owned by the findings. */
static const char *cprof__analysis_text(cprof__analysis *a, const char *format, ...) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    char small[512];
    va_list args;
    va_start(args, format);
    int length = cprof__format_v(small, sizeof small, format, args);
    va_end(args);
    if (length < 0) return "";
    if ((size_t)length < sizeof small) return cprof__strings_copy(&a->out->strings, small, (size_t)length);
    if (cprof__buf_reserve(&b, (size_t)length)) return "";
    va_start(args, format);
    cprof__format_v(b.data, (size_t)length + 1, format, args);
    va_end(args);
    const char *copy = cprof__strings_copy(&a->out->strings, b.data, (size_t)length);
    cprof__buf_free(&b);
    return copy;
}

/* Calls `take` for each "key=value" item of a comma-separated list; `take` returns NULL or what is wrong,
   which becomes a note naming `what` (the variable or option) and the item. */
static void cprof__each_setting(cprof__analysis *a, const char *list, const char *what,
                                const char *(*take)(cprof__analysis *, const char *, size_t, const char *)) {
    while (list && *list) {
        size_t length = strcspn(list, ",");
        size_t key_length = strcspn(list, "=");
        char value[64];
        const char *problem = NULL;
        if (key_length >= length || key_length == 0) problem = "expected name=value";
        else if (length - key_length - 1 >= sizeof value) problem = "value too long";
        if (!problem) {
            memcpy(value, list + key_length + 1, length - key_length - 1);
            value[length - key_length - 1] = '\0';
            problem = take(a, list, key_length, value);
        }
        if (problem) cprof__buf_printf(&a->notes, "%s: '%.*s': %s\n", what, (int)length, list, problem);
        list += length + (list[length] == ',');
    }
}

static int cprof__read_double(const char *text, double *out, char **end) {
    *out = cprof__strtod_c(text, end);
    return *end != text && isfinite(*out) && *out >= 0;
}

static const char *cprof__take_setting(cprof__analysis *a, const char *key, size_t key_length, const char *value) {
    size_t k = 0;
    while (k < CPROF__ANALYZE_KEY_COUNT && !(strlen(cprof__analyze_keys[k].key) == key_length &&
                                              strncmp(cprof__analyze_keys[k].key, key, key_length) == 0)) k++;
    if (k == CPROF__ANALYZE_KEY_COUNT) return "unknown key (see cprof_analyze_options)";
    double number;
    char *end;
    if (!cprof__read_double(value, &number, &end) || *end) return "not a number >= 0";
    memcpy((char *)&a->o + cprof__analyze_keys[k].offset, &number, sizeof number);
    return NULL;
}

/* "100ms" -> ns; units ns, us (or µs), ms, s. */
static const char *cprof__take_budget(cprof__analysis *a, const char *name, size_t length, const char *value) {
    static const struct { const char *unit; double ns; } units[] = {
        {"ns", 1.0}, {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"ms", 1e6}, {"s", 1e9}};
    double number;
    char *end;
    if (!cprof__read_double(value, &number, &end)) return "not a duration (100ms, 2.5s, 40us, 800ns)";
    size_t u = 0;
    while (u < sizeof units / sizeof units[0] && strcmp(end, units[u].unit) != 0) u++;
    if (u == sizeof units / sizeof units[0]) return "needs a unit: ns, us, ms or s";
    if (number * units[u].ns < 1.0 || number * units[u].ns > 1e18) return "out of range (1 ns to 1e9 s)";
    if (length >= CPROF__BUDGET_NAME_BYTES) return "name too long";
    if (cprof__budget_set(a->budgets, &a->budget_count, CPROF__MAX_BUDGETS, name, length,
                          (uint64_t)(number * units[u].ns + 0.5)))
        return "too many budgets";
    return NULL;
}

/* --- findings --- */
static double cprof__fraction(uint64_t part, uint64_t whole) {
    double p = whole ? (double)part / (double)whole : 0.0;
    return p > 1.0 ? 1.0 : p;
}

/* A new finding, or NULL when out of memory. The caller sets the place and the texts. */
static cprof_finding *cprof__finding_new(cprof__analysis *a, int severity, int category, double share, double measure,
                                         double threshold) {
    cprof_findings *f = a->out;
    if (cprof__grow(&f->items, &f->capacity, f->count + 1, sizeof *f->items)) {
        a->failed = 1;
        return NULL;
    }
    cprof_finding *x = &f->items[f->count++];
    memset(x, 0, sizeof *x);
    x->severity = severity;
    x->category = category;
    x->share = share;
    x->speedup_bound = share < 1.0 ? 1.0 / (1.0 - share) : INFINITY;
    x->measure = measure;
    x->threshold = threshold;
    x->function = x->file = x->scope = x->caller = x->description = x->recommendation = x->thread = "";
    return x;
}

/* A new finding about `fn`, its figures copied. */
static cprof_finding *cprof__finding_add(cprof__analysis *a, int severity, int category, const cprof_function *fn,
                                         double share, double measure, double threshold) {
    cprof_finding *x = cprof__finding_new(a, severity, category, share, measure, threshold);
    if (!x) return NULL;
    const cprof_site_info *site = &a->p->sites[fn->site];
    x->function = cprof__analysis_string(a, fn->name);
    x->file = cprof__analysis_string(a, site->file);
    x->line = site->line;
    x->calls = fn->calls;
    x->total_ns = fn->total_ns;
    x->self_ns = fn->self_ns;
    x->avg_ns = fn->avg_ns;
    x->max_ns = fn->max_ns;
    return x;
}

static int cprof__severity_by_pct(const cprof_analyze_options *o, double pct) {
    if (pct > o->slow_critical_pct) return CPROF_SEVERITY_CRITICAL;
    if (pct > o->slow_high_pct) return CPROF_SEVERITY_HIGH;
    if (pct > o->slow_medium_pct) return CPROF_SEVERITY_MEDIUM;
    return 0;
}

/* Whether fn's time can be judged by its scopes: not when it averages under min_judged_avg_ns over many
   calls, where a good part of each measured call is the scope's own cost (SlowFunction, HotLoop). */
static int cprof__judged(const cprof__analysis *a, const cprof_function *fn) {
    return !((double)fn->avg_ns < a->o.min_judged_avg_ns && (double)fn->calls >= a->o.min_judged_calls);
}

static int cprof__is_hot_loop(const cprof__analysis *a, const cprof_function *fn) {
    return (double)fn->calls >= a->o.hot_loop_calls && (double)fn->avg_ns <= a->o.hot_loop_avg_ns &&
           fn->pct_total >= a->o.hot_loop_pct;
}

/* The functions SlowFunction or HotLoop would report but cprof__judged holds back: counted and named. */
static void cprof__analysis_too_short(cprof__analysis *a) {
    const cprof_profile *p = a->p;
    cprof__buf names;
    memset(&names, 0, sizeof names);
    a->out->too_short_functions = "";
    for (size_t i = 0; i < p->function_count; i++) {
        const cprof_function *fn = &p->functions[i];
        if (cprof__judged(a, fn) || (!cprof__severity_by_pct(&a->o, fn->pct_self) && !cprof__is_hot_loop(a, fn))) continue;
        cprof__buf_printf(&names, "%s%s", a->out->too_short++ ? ", " : "", fn->name);
    }
    if (names.length) a->out->too_short_functions = cprof__analysis_string(a, names.data);
    a->failed |= names.failed;
    cprof__buf_free(&names);
}

/* SlowFunction: a large share of the run in one function's own code. */
static void cprof__rule_slow_functions(cprof__analysis *a) {
    const cprof_profile *p = a->p;
    char self[24], run[24], calls[32], avg[24];
    for (size_t i = 0; i < p->function_count; i++) {
        const cprof_function *fn = &p->functions[i];
        int severity = cprof__severity_by_pct(&a->o, fn->pct_self);
        if (!severity || !cprof__judged(a, fn)) continue;
        double threshold = severity == CPROF_SEVERITY_CRITICAL ? a->o.slow_critical_pct
                           : severity == CPROF_SEVERITY_HIGH  ? a->o.slow_high_pct
                                                              : a->o.slow_medium_pct;
        cprof_finding *x = cprof__finding_add(a, severity, CPROF_CATEGORY_SLOW_FUNCTION, fn,
                                              cprof__fraction(fn->self_ns, a->out->base_ns), fn->pct_self, threshold);
        if (!x) return;
        if (fn->sampled) /* seen by CPU sampling only: no calls counted */
            x->description = cprof__analysis_text(
                a, "%.1f%% of the run in itself (over %.0f%%): %s of %s, estimated from CPU samples (not instrumented)",
                fn->pct_self, threshold, cprof__duration(self, fn->self_ns), cprof__duration(run, p->run_ns));
        else
            x->description = cprof__analysis_text(
                a, "%.1f%% of the run in itself (over %.0f%%): %s of %s, %s call%s, %s per call", fn->pct_self, threshold,
                cprof__duration(self, fn->self_ns), cprof__duration(run, p->run_ns), cprof__count(calls, fn->calls),
                fn->calls == 1 ? "" : "s", cprof__duration(avg, fn->avg_ns));
        x->recommendation = cprof__analysis_text(
            a, "Make %s itself cheaper: a better algorithm or data structure (a hash table instead of a linear "
               "search, sorting once instead of scanning each time), less work per call, or fewer calls "
               "(the call tree shows who calls it).", fn->name);
    }
}

/* Groups the nodes by function (a counting sort), once per analysis, so that a rule looking at every node
   of a function visits only those. */
static int cprof__analysis_group_nodes(cprof__analysis *a) {
    const cprof_profile *p = a->p;
    if (a->first_node) return 0;
    size_t functions_bytes = (p->function_count + 1) * sizeof(uint32_t), nodes_bytes = p->node_count * sizeof(uint32_t) + 1;
    uint32_t *next = (uint32_t *)cprof__alloc(functions_bytes);
    a->first_node = (uint32_t *)cprof__alloc(functions_bytes);
    a->node_of_function = (uint32_t *)cprof__alloc(nodes_bytes);
    int failed = !next || !a->first_node || !a->node_of_function;
    for (size_t i = 0; i < p->node_count && !failed; i++)
        if (p->nodes[i].function != CPROF_NONE) a->first_node[p->nodes[i].function + 1]++;
    for (size_t f = 0; f < p->function_count && !failed; f++) next[f] = a->first_node[f + 1] += a->first_node[f];
    for (size_t f = p->function_count; f-- > 0 && !failed;) next[f] = a->first_node[f];
    for (size_t i = 0; i < p->node_count && !failed; i++)
        if (p->nodes[i].function != CPROF_NONE) a->node_of_function[next[p->nodes[i].function]++] = (uint32_t)i;
    cprof__release(next, functions_bytes);
    a->failed |= failed;
    return failed ? -1 : 0;
}

/* The caller (parent scope's function, or the top level) that calls function `f` most, its calls summed
   over every path of the tree; its calls in *calls. "" when out of memory. */
static const char *cprof__top_caller(cprof__analysis *a, uint32_t f, uint64_t *calls) {
    const cprof_profile *p = a->p;
    const char *best = "";
    *calls = 0;
    if (cprof__analysis_group_nodes(a)) return best;
    size_t bytes = (p->function_count + 1) * sizeof(uint64_t);
    uint64_t *sums = (uint64_t *)cprof__alloc(bytes); /* per calling function; the last one: the top level */
    if (!sums) {
        a->failed = 1;
        return best;
    }
    for (size_t k = a->first_node[f]; k < a->first_node[f + 1]; k++) {
        const cprof_node *node = &p->nodes[a->node_of_function[k]];
        uint32_t caller = p->nodes[node->parent].function;
        sums[caller == CPROF_NONE ? p->function_count : caller] += node->calls;
    }
    for (size_t c = 0; c <= p->function_count; c++) {
        const char *name = c == p->function_count ? "(top level)" : p->functions[c].name;
        if (sums[c] > *calls || (sums[c] && sums[c] == *calls && strcmp(name, best) < 0)) best = name, *calls = sums[c];
    }
    cprof__release(sums, bytes);
    return best;
}

/* HotLoop: very many calls that each do very little: the call and its overhead dominate. */
static void cprof__rule_hot_loops(cprof__analysis *a) {
    const cprof_profile *p = a->p;
    char calls[32], avg[24], total[24], from[32];
    for (size_t i = 0; i < p->function_count; i++) {
        const cprof_function *fn = &p->functions[i];
        if (!cprof__is_hot_loop(a, fn) || !cprof__judged(a, fn)) continue;
        int severity = fn->pct_total > a->o.slow_high_pct ? CPROF_SEVERITY_HIGH
                       : fn->pct_total > a->o.slow_medium_pct ? CPROF_SEVERITY_MEDIUM : CPROF_SEVERITY_LOW;
        uint64_t caller_calls;
        const char *caller = cprof__top_caller(a, (uint32_t)i, &caller_calls);
        cprof_finding *x = cprof__finding_add(a, severity, CPROF_CATEGORY_HOT_LOOP, fn,
                                              cprof__fraction(fn->total_ns, a->out->base_ns), (double)fn->calls, a->o.hot_loop_calls);
        if (!x) return;
        x->caller = cprof__analysis_string(a, caller);
        x->description = cprof__analysis_text(
            a, "%s calls of %s each on average, %s in all (%.1f%% of the run); %s of them from %s",
            cprof__count(calls, fn->calls), cprof__duration(avg, fn->avg_ns), cprof__duration(total, fn->total_ns),
            fn->pct_total, cprof__count(from, caller_calls), caller);
        x->recommendation = cprof__analysis_text(
            a, "Call %s less often from %s: hoist work that does not change out of the loop, batch the calls "
               "(one call for many items), let the compiler inline it (static inline, same file), or cache its results.",
            fn->name, caller);
    }
}

static const cprof_function *cprof__function_named(const cprof_profile *p, const char *name) {
    for (size_t f = 0; f < p->function_count; f++)
        if (strcmp(p->functions[f].name, name) == 0) return &p->functions[f];
    return NULL;
}

/* The function that occurs most often on the path from a thread's root to `node`, and how often (one walk
   up the path with a count per function, however deep a loaded profile is). */
static const char *cprof__most_repeated_on_path(cprof__analysis *a, uint32_t node, uint32_t *times) {
    const cprof_profile *p = a->p;
    const char *best = "";
    *times = 0;
    size_t bytes = (p->function_count ? p->function_count : 1) * sizeof(uint32_t);
    uint32_t *on_path = (uint32_t *)cprof__alloc(bytes);
    if (!on_path) {
        a->failed = 1;
        return best;
    }
    for (uint32_t at = node; p->nodes[at].function != CPROF_NONE; at = p->nodes[at].parent) {
        uint32_t f = p->nodes[at].function;
        const char *name = p->functions[f].name;
        if (++on_path[f] > *times || (on_path[f] == *times && strcmp(name, best) < 0)) best = name, *times = on_path[f];
    }
    cprof__release(on_path, bytes);
    return best;
}

/* DeepCallStack: the deepest call path, and the function that recurses along it. */
static void cprof__rule_deep_stack(cprof__analysis *a) {
    const cprof_profile *p = a->p;
    uint32_t deepest = CPROF_NONE;
    for (size_t i = 0; i < p->node_count; i++)
        if (p->nodes[i].site != CPROF_NONE && (deepest == CPROF_NONE || p->nodes[i].depth > p->nodes[deepest].depth))
            deepest = (uint32_t)i;
    if (deepest == CPROF_NONE || (double)p->nodes[deepest].depth < a->o.deep_stack_depth) return;
    uint32_t depth = p->nodes[deepest].depth, times;
    const char *name = cprof__most_repeated_on_path(a, deepest, &times);
    const cprof_function *fn = cprof__function_named(p, name);
    if (!fn) return;
    int runaway = (double)depth >= 4 * a->o.deep_stack_depth || p->dropped_scopes;
    cprof_finding *x = cprof__finding_add(a, runaway ? CPROF_SEVERITY_HIGH : CPROF_SEVERITY_MEDIUM,
                                          CPROF_CATEGORY_DEEP_CALL_STACK, fn, cprof__fraction(fn->total_ns, a->out->base_ns),
                                          (double)depth, a->o.deep_stack_depth);
    if (!x) return;
    x->depth = depth;
    x->description = cprof__analysis_text(a, "a call path %u scopes deep (limit %.0f); %s is %u of them%s", (unsigned)depth,
                                          a->o.deep_stack_depth, name, (unsigned)times, times > 1 ? " (recursion)" : "");
    if (p->dropped_scopes)
        x->description = cprof__analysis_text(a, "%s; %llu scope entries deeper than %d levels were not recorded",
                                              x->description, (unsigned long long)p->dropped_scopes, CPROF__MAX_DEPTH);
    x->recommendation = cprof__analysis_text(
        a, "Bound the depth of %s: check its base case, turn the recursion into a loop with an explicit stack, "
           "or recurse into the smaller part first; a deep stack risks overflow and loses cache locality.", name);
}

/* An available counter's index, or CPROF_NONE. */
static uint32_t cprof__available_counter(const cprof_profile *p, const char *name) {
    uint32_t k = cprof_counter_find(p, name);
    return k != CPROF_NONE && p->counters[k].available ? k : CPROF_NONE;
}

/* Why CacheMisses cannot be checked on this profile, or NULL when it can. */
static const char *cprof__cache_rule_unavailable(cprof__analysis *a) {
    const cprof_profile *p = a->p;
    uint32_t misses = cprof_counter_find(p, "cache-misses");
    if (misses == CPROF_NONE || !p->function_counters)
        return "no cache-misses counter in this profile (record with CPROF_COUNTERS=default)";
    if (!p->counters[misses].available)
        return cprof__analysis_text(a, "cache-misses could not be counted: %s", p->counters[misses].reason);
    if (cprof__available_counter(p, "cache-references") == CPROF_NONE && cprof__available_counter(p, "instructions") == CPROF_NONE)
        return "cache-misses needs cache-references or instructions beside it for a rate";
    return NULL;
}

/* CacheMisses: a function that spends time in itself and misses the cache often, as a share of its cache
   references (miss%) or per 1,000 instructions (MPKI). */
static void cprof__rule_cache_misses(cprof__analysis *a) {
    const cprof_profile *p = a->p;
    a->out->not_checked[CPROF_CATEGORY_CACHE_MISSES] = cprof__cache_rule_unavailable(a);
    if (a->out->not_checked[CPROF_CATEGORY_CACHE_MISSES]) return;
    uint32_t misses = cprof_counter_find(p, "cache-misses"), references = cprof__available_counter(p, "cache-references");
    uint32_t instructions = cprof__available_counter(p, "instructions");
    char count[32];
    for (uint32_t f = 0; f < p->function_count; f++) {
        const cprof_function *fn = &p->functions[f];
        uint64_t m = cprof_function_counter(p, f, misses).self;
        uint64_t r = references != CPROF_NONE ? cprof_function_counter(p, f, references).self : 0;
        uint64_t n = instructions != CPROF_NONE ? cprof_function_counter(p, f, instructions).self : 0;
        double miss_pct = r ? 100.0 * (double)m / (double)r : -1.0, mpki = n ? 1000.0 * (double)m / (double)n : -1.0;
        int over_pct = miss_pct >= a->o.cache_miss_pct, over_mpki = mpki >= a->o.cache_mpki;
        if (fn->pct_self < a->o.cache_min_pct || !m || (!over_pct && !over_mpki)) continue;
        int twice = miss_pct >= 2 * a->o.cache_miss_pct || mpki >= 2 * a->o.cache_mpki;
        int severity = twice && fn->pct_self > a->o.slow_high_pct ? CPROF_SEVERITY_HIGH : CPROF_SEVERITY_MEDIUM;
        cprof_finding *x = cprof__finding_add(a, severity, CPROF_CATEGORY_CACHE_MISSES, fn, cprof__fraction(fn->self_ns, a->out->base_ns),
                                              over_mpki ? mpki : miss_pct, over_mpki ? a->o.cache_mpki : a->o.cache_miss_pct);
        if (!x) return;
        cprof__buf b;
        memset(&b, 0, sizeof b);
        cprof__buf_printf(&b, "%s cache misses in itself", cprof__count(count, m));
        if (r) cprof__buf_printf(&b, ", %.1f%% of its cache references", miss_pct);
        if (n) cprof__buf_printf(&b, ", %.1f per 1,000 instructions", mpki);
        cprof__buf_printf(&b, "; %.1f%% of the run in itself", fn->pct_self);
        x->description = b.failed ? "" : cprof__analysis_string(a, b.data);
        cprof__buf_free(&b);
        x->recommendation = cprof__analysis_text(
            a, "Make %s's memory accesses dense and predictable: contiguous arrays instead of linked nodes, a structure "
               "of arrays for the fields the loop reads, blocking (tiling) so the working set fits in the cache, and "
               "traversal in memory order so that the prefetcher helps.", fn->name);
    }
}

/* BudgetExceeded: a scope slower than the time the user allowed it. */
static void cprof__rule_budgets(cprof__analysis *a) {
    const cprof_profile *p = a->p;
    char budget[24], avg[24], max[24], calls[32];
    for (size_t i = 0; i < a->budget_count; i++) {
        const cprof__budget_entry *e = &a->budgets[i];
        const cprof_function *fn = cprof__function_named(p, e->name);
        if (!fn) {
            cprof__buf_printf(&a->notes, "budget for '%s': no scope of that name in this profile\n", e->name);
            continue;
        }
        int severity = fn->max_ns > 2 * e->ns ? CPROF_SEVERITY_CRITICAL
                       : fn->avg_ns > e->ns   ? CPROF_SEVERITY_HIGH
                       : fn->max_ns > e->ns   ? CPROF_SEVERITY_MEDIUM : 0;
        if (!severity) continue;
        uint64_t measured = severity == CPROF_SEVERITY_HIGH ? fn->avg_ns : fn->max_ns;
        cprof_finding *x = cprof__finding_add(a, severity, CPROF_CATEGORY_BUDGET_EXCEEDED, fn,
                                              cprof__fraction(fn->total_ns, a->out->base_ns), (double)measured, (double)e->ns);
        if (!x) return;
        x->description = cprof__analysis_text(
            a, "budget %s per call; average %s over %s call%s, slowest %s (%.1fx the budget)", cprof__duration(budget, e->ns),
            cprof__duration(avg, fn->avg_ns), cprof__count(calls, fn->calls), fn->calls == 1 ? "" : "s",
            cprof__duration(max, fn->max_ns),
            (double)fn->max_ns / (double)e->ns);
        x->recommendation = cprof__analysis_text(
            a, "Bring %s under its budget: start with its largest child in the call tree; if only its slowest calls "
               "are over, find what makes them differ (the first call, a cold cache, a lock, a larger input).", fn->name);
    }
}

/* --- Spike: calls far slower than their scope's typical call. From the timeline where there is one (the
   median call, the moment, the thread, the frame, what ran meanwhile), else from each node's average, max
   and sum of squares (no moment). One finding per scope (node), about its slowest call. --- */
typedef struct cprof__timed_call {
    uint64_t ns;
    uint32_t node, call; /* call: index into the cprof__calls */
} cprof__timed_call;

static int cprof__compare_timed_calls(const void *left, const void *right) {
    const cprof__timed_call *x = (const cprof__timed_call *)left, *y = (const cprof__timed_call *)right;
    if (x->node != y->node) return x->node < y->node ? -1 : 1;
    if (x->ns != y->ns) return x->ns < y->ns ? -1 : 1;
    return (x->call > y->call) - (x->call < y->call);
}

/* A new Spike finding about node `n` (its figures), or NULL. */
static cprof_finding *cprof__spike_finding(cprof__analysis *a, uint32_t n, uint64_t slowest_ns, double typical_ns) {
    const cprof_profile *p = a->p;
    const cprof_node *node = &p->nodes[n];
    double ratio = typical_ns > 0 ? (double)slowest_ns / typical_ns : INFINITY;
    int severity = ratio >= 4 * a->o.spike_factor ? CPROF_SEVERITY_HIGH : CPROF_SEVERITY_MEDIUM;
    double excess = (double)slowest_ns - typical_ns;
    double share = a->out->base_ns ? excess / (double)a->out->base_ns : 0.0;
    cprof_finding *x = cprof__finding_new(a, severity, CPROF_CATEGORY_SPIKE, share > 1.0 ? 1.0 : share, ratio,
                                          a->o.spike_factor);
    if (!x) return NULL;
    const cprof_site_info *site = &p->sites[node->site];
    x->function = cprof__analysis_string(a, site->name);
    x->file = cprof__analysis_string(a, site->file);
    x->line = site->line;
    x->calls = node->calls;
    x->total_ns = node->total_ns;
    x->self_ns = node->self_ns;
    x->avg_ns = node->calls ? node->total_ns / node->calls : 0;
    x->max_ns = slowest_ns;
    x->recommendation = cprof__analysis_text(
        a, "Find what made that call of %s differ from the others: open the trace at that moment (cprof trace P.json > "
           "trace.json, then Perfetto UI) and look for a first-time cost (a cold cache, lazy initialisation), a lock "
           "waited on, a larger input, or I/O and page faults inside it.", site->name);
    return x;
}

static int cprof__spike_is(const cprof__analysis *a, uint64_t ns, double typical_ns) {
    return (double)ns >= a->o.spike_factor * typical_ns && (double)ns - typical_ns >= a->o.spike_min_ns;
}

/* What ran during `spike`: its child with the most time on its thread, and on each other thread the call
   that overlapped it most (the innermost among equals). */
static void cprof__spike_context(cprof__buf *b, const cprof_profile *p, const cprof__calls *calls, const cprof__call *spike) {
    const cprof__call *child = NULL;
    char d[24];
    for (size_t i = 0; i < calls->count; i++) {
        const cprof__call *c = &calls->items[i];
        if (c->thread == spike->thread && p->nodes[c->node].parent == spike->node && c->start_ns >= spike->start_ns &&
            c->end_ns <= spike->end_ns && (!child || c->end_ns - c->start_ns > child->end_ns - child->start_ns))
            child = c;
    }
    if (child)
        cprof__buf_printf(b, "; inside it, most in %s (%s)", p->sites[p->nodes[child->node].site].name,
                          cprof__duration(d, child->end_ns - child->start_ns));
    for (uint32_t t = 0; t < p->thread_count; t++) {
        const cprof__call *best = NULL;
        uint64_t best_overlap = 0;
        for (size_t i = 0; i < calls->count && t != spike->thread; i++) {
            const cprof__call *c = &calls->items[i];
            uint64_t from = c->start_ns > spike->start_ns ? c->start_ns : spike->start_ns;
            uint64_t to = c->end_ns < spike->end_ns ? c->end_ns : spike->end_ns;
            if (c->thread != t || to <= from) continue;
            if (!best || to - from > best_overlap ||
                (to - from == best_overlap && p->nodes[c->node].depth > p->nodes[best->node].depth))
                best = c, best_overlap = to - from;
        }
        if (best)
            cprof__buf_printf(b, "; meanwhile thread %s was in %s (%s of it)", p->threads[t].name,
                              p->sites[p->nodes[best->node].site].name, cprof__duration(d, best_overlap));
    }
}

/* Per node, what the rule found: its slowest call and its typical one (0 slowest: no spike). */
typedef struct cprof__spike {
    uint64_t slowest_ns;
    double typical_ns;
    uint32_t call;   /* the slowest call in the cprof__calls (timeline only) */
    uint32_t spikes; /* calls at least spike_factor x the typical one (timeline only) */
    uint64_t timed;  /* calls in the timeline */
} cprof__spike;

/* From the timeline: per node, the calls timed from entry to exit, sorted; the median is the typical call. */
static void cprof__spikes_from_timeline(cprof__analysis *a, const cprof__calls *calls, cprof__spike *found) {
    size_t bytes = (calls->count ? calls->count : 1) * sizeof(cprof__timed_call), count = 0;
    cprof__timed_call *timed = (cprof__timed_call *)cprof__alloc(bytes);
    if (!timed) {
        a->failed = 1;
        return;
    }
    for (size_t i = 0; i < calls->count; i++) {
        const cprof__call *c = &calls->items[i];
        if (c->flags) continue; /* not timed whole */
        cprof__timed_call t = {c->end_ns - c->start_ns, c->node, (uint32_t)i};
        timed[count++] = t;
    }
    if (count) qsort(timed, count, sizeof *timed, cprof__compare_timed_calls);
    for (size_t from = 0, to; from < count; from = to) {
        for (to = from; to < count && timed[to].node == timed[from].node;) to++;
        size_t n = to - from, spikes = 0;
        double typical = ((double)timed[from + (n - 1) / 2].ns + (double)timed[from + n / 2].ns) / 2; /* the median */
        for (size_t k = from; k < to; k++) spikes += (size_t)cprof__spike_is(a, timed[k].ns, typical);
        if ((double)n < a->o.spike_min_calls || !spikes) continue;
        cprof__spike *x = &found[timed[from].node];
        x->slowest_ns = timed[to - 1].ns;
        x->typical_ns = typical;
        x->call = timed[to - 1].call;
        x->spikes = (uint32_t)spikes;
        x->timed = n;
    }
    cprof__release(timed, bytes);
}

/* Without a timeline: a node whose slowest call is far above its average. */
static void cprof__spikes_from_statistics(cprof__analysis *a, cprof__spike *found) {
    const cprof_profile *p = a->p;
    for (uint32_t n = 0; n < p->node_count; n++) {
        const cprof_node *node = &p->nodes[n];
        if (node->site == CPROF_NONE || node->calls < node->open || (double)(node->calls - node->open) < a->o.spike_min_calls)
            continue;
        double mean = (double)node->total_ns / (double)node->calls;
        if (!cprof__spike_is(a, node->max_ns, mean)) continue;
        found[n].slowest_ns = node->max_ns;
        found[n].typical_ns = mean;
    }
}

/* A scope whose spike one of its children's explains (half of its excess or more) is left to the child,
   which names the cause more closely. */
static int cprof__spike_explained(const cprof_profile *p, const cprof__spike *found, uint32_t n) {
    double excess = (double)found[n].slowest_ns - found[n].typical_ns;
    for (uint32_t c = p->nodes[n].first_child; c != CPROF_NONE; c = p->nodes[c].next_sibling)
        if (found[c].slowest_ns && (double)found[c].slowest_ns - found[c].typical_ns >= excess / 2) return 1;
    return 0;
}

static void cprof__spike_describe(cprof__analysis *a, cprof_finding *x, const cprof__calls *calls, const cprof__spike *s) {
    const cprof_profile *p = a->p;
    char slow[24], typical[24], at[24], sd[24], count[32];
    cprof__buf b;
    memset(&b, 0, sizeof b);
    cprof__buf_printf(&b, "its slowest call took %s, %.1fx its %s call (%s", cprof__duration(slow, s->slowest_ns), x->measure,
                      calls ? "median" : "average", cprof__duration(typical, cprof__u64_rounded(s->typical_ns)));
    if (calls) {
        const cprof__call *worst = &calls->items[s->call];
        x->thread = cprof__analysis_string(a, p->threads[worst->thread].name);
        x->at_ns = worst->start_ns;
        x->frame = worst->frame;
        cprof__buf_printf(&b, " over %s calls in the timeline, %u of them at least %.0fx): it began at %s on thread %s",
                          cprof__count(count, s->timed), (unsigned)s->spikes, a->o.spike_factor,
                          cprof__duration(at, worst->start_ns), x->thread);
        if (worst->frame) cprof__buf_printf(&b, ", in frame %llu", (unsigned long long)worst->frame);
        cprof__spike_context(&b, p, calls, worst);
    } else {
        double variance = x->calls ? a->p->nodes[s->call].sum_sq_ns2 / (double)x->calls - s->typical_ns * s->typical_ns : 0;
        cprof__buf_printf(&b, " over %s calls, standard deviation %s); one such call can be the system preempting the "
                              "thread; the profile has no timeline to say when: record with CPROF_TIMELINE=N (and mark "
                              "frames with CPROF_FRAME())", cprof__count(count, x->calls),
                          cprof__duration(sd, cprof__u64_rounded(variance > 0 ? sqrt(variance) : 0)));
    }
    x->description = b.failed ? "" : cprof__analysis_string(a, b.data);
    a->failed |= b.failed;
    cprof__buf_free(&b);
}

/* Spike: from the timeline where there is one, else from the statistics (then Low: no moment, no context). */
static void cprof__rule_spikes(cprof__analysis *a) {
    const cprof_profile *p = a->p;
    size_t bytes = (p->node_count ? p->node_count : 1) * sizeof(cprof__spike);
    cprof__spike *found = (cprof__spike *)cprof__alloc(bytes);
    cprof__calls calls;
    memset(&calls, 0, sizeof calls);
    if (p->event_count) calls = cprof__calls_build(p);
    if (!found || calls.failed) a->failed = 1;
    else if (p->event_count) cprof__spikes_from_timeline(a, &calls, found);
    else cprof__spikes_from_statistics(a, found);
    for (uint32_t n = 0; found && !a->failed && n < p->node_count; n++) {
        if (!found[n].slowest_ns || cprof__spike_explained(p, found, n)) continue;
        if (!p->event_count) found[n].call = n; /* for the description: the node's sum of squares */
        cprof_finding *x = cprof__spike_finding(a, n, found[n].slowest_ns, found[n].typical_ns);
        if (!x) break;
        if (!p->event_count) x->severity = CPROF_SEVERITY_LOW;
        cprof__spike_describe(a, x, p->event_count ? &calls : NULL, &found[n]);
    }
    cprof__release(found, bytes);
    cprof__calls_free(&calls);
}

/* --- allocation rules (the data of CPROF_WRAP_MALLOC) --- */

/* A new finding about allocation site `s`: its place, its scope path, and the figures of that scope. The
   site's allocations run inside its scope's own time, so that self time is the share fixing them could
   remove at most (0 for a leak: it costs memory, not time). */
static cprof_finding *cprof__alloc_finding(cprof__analysis *a, int severity, int category, const cprof_alloc_site *s,
                                           double measure, double threshold) {
    const cprof_profile *p = a->p;
    const cprof_node *node = s->node < p->node_count ? &p->nodes[s->node] : NULL;
    int in_scope = node && node->site != CPROF_NONE;
    int memory = category == CPROF_CATEGORY_LEAK || category == CPROF_CATEGORY_FRAGMENTATION; /* memory, not time */
    double share = in_scope && !memory ? cprof__fraction(node->self_ns, a->out->base_ns) : 0.0;
    cprof_finding *x = cprof__finding_new(a, severity, category, share, measure, threshold);
    if (!x) return NULL;
    x->function = cprof__analysis_string(a, s->function);
    x->file = cprof__analysis_string(a, s->file);
    x->line = s->line;
    x->count = category == CPROF_CATEGORY_LEAK ? s->live_count : s->count;
    x->bytes = category == CPROF_CATEGORY_LEAK ? s->live_bytes : s->bytes;
    if (in_scope) {
        x->calls = node->calls;
        x->total_ns = node->total_ns;
        x->self_ns = node->self_ns;
        x->avg_ns = node->calls ? node->total_ns / node->calls : 0;
        x->max_ns = node->max_ns;
    }
    cprof__buf b;
    memset(&b, 0, sizeof b);
    cprof__buf_scope_path(&b, p, s->node);
    x->scope = b.failed ? "" : cprof__analysis_string(a, b.data);
    cprof__buf_free(&b);
    return x;
}

/* FrequentAllocation: many small allocations at one site. */
static void cprof__rule_frequent(cprof__analysis *a, const cprof_alloc_site *s) {
    double average = s->count ? (double)s->bytes / (double)s->count : 0.0;
    if ((double)s->count < a->o.frequent_alloc_count || average > a->o.frequent_alloc_max_bytes) return;
    int severity = (double)s->count >= 100 * a->o.frequent_alloc_count ? CPROF_SEVERITY_HIGH
                   : (double)s->count >= 10 * a->o.frequent_alloc_count ? CPROF_SEVERITY_MEDIUM : CPROF_SEVERITY_LOW;
    cprof_finding *x = cprof__alloc_finding(a, severity, CPROF_CATEGORY_FREQUENT_ALLOCATION, s, (double)s->count,
                                            a->o.frequent_alloc_count);
    if (!x) return;
    char count[32], bytes[32];
    x->description = cprof__analysis_text(a, "%s allocations of %.0f bytes on average (%s) at %s:%u, in %s", cprof__count(count, s->count),
                                          average, cprof__byte_count(bytes, s->bytes), s->file, (unsigned)s->line, x->scope);
    x->recommendation = cprof__analysis_text(
        a, "Allocate less often in %s: size the container once up front, reuse one buffer across iterations, or "
           "take the blocks from a pool or an arena that is freed all at once.", s->function);
}

/* ExcessiveAllocation: one site allocates a large share of every byte allocated. */
static void cprof__rule_excessive(cprof__analysis *a, const cprof_alloc_site *s) {
    double pct = a->p->allocs.bytes_allocated ? 100.0 * (double)s->bytes / (double)a->p->allocs.bytes_allocated : 0.0;
    if (pct <= a->o.excessive_alloc_pct || (double)s->bytes < a->o.excessive_alloc_bytes) return;
    int high = pct > 2 * a->o.excessive_alloc_pct && (double)s->bytes >= 16 * a->o.excessive_alloc_bytes;
    cprof_finding *x = cprof__alloc_finding(a, high ? CPROF_SEVERITY_HIGH : CPROF_SEVERITY_MEDIUM,
                                            CPROF_CATEGORY_EXCESSIVE_ALLOCATION, s, pct, a->o.excessive_alloc_pct);
    if (!x) return;
    char bytes[32], all[32], count[32];
    x->description = cprof__analysis_text(a, "%s of the %s allocated in the run (%.1f%%), in %s allocations at %s:%u, in %s",
                                          cprof__byte_count(bytes, s->bytes), cprof__byte_count(all, a->p->allocs.bytes_allocated),
                                          pct, cprof__count(count, s->count), s->file, (unsigned)s->line, x->scope);
    x->recommendation = cprof__analysis_text(
        a, "Allocate less memory in %s: keep only what is needed (a smaller element type, no copies), process the "
           "data in chunks instead of whole, and reuse blocks instead of allocating new ones.", s->function);
}

/* LargeAllocation: single huge allocations: the largest block a site allocated. */
static void cprof__rule_large(cprof__analysis *a, const cprof_alloc_site *s) {
    double largest = (double)s->max_bytes;
    if (largest < a->o.large_alloc_bytes) return;
    cprof_finding *x = cprof__alloc_finding(a, largest >= 16 * a->o.large_alloc_bytes ? CPROF_SEVERITY_HIGH : CPROF_SEVERITY_MEDIUM,
                                            CPROF_CATEGORY_LARGE_ALLOCATION, s, largest, a->o.large_alloc_bytes);
    if (!x) return;
    char count[32], bytes[32];
    x->description = cprof__analysis_text(a, "an allocation of %.0f bytes at %s:%u (the largest of %s there, %s in all), in %s",
                                          largest, s->file, (unsigned)s->line, cprof__count(count, s->count),
                                          cprof__byte_count(bytes, s->bytes), x->scope);
    x->recommendation = cprof__analysis_text(
        a, "Avoid holding it all at once in %s: stream or process the data in pieces, map a file instead of reading "
           "it whole, or size the block to what is used.", s->function);
}

/* TemporaryAllocations: blocks freed before the thread allocated anything else (made and dropped in one place). */
static void cprof__rule_temporary(cprof__analysis *a, const cprof_alloc_site *s) {
    double pct = s->count ? 100.0 * (double)s->temporary / (double)s->count : 0.0;
    if ((double)s->temporary < a->o.temporary_alloc_count || pct < a->o.temporary_alloc_pct) return;
    int severity = (double)s->temporary >= 100 * a->o.temporary_alloc_count ? CPROF_SEVERITY_MEDIUM : CPROF_SEVERITY_LOW;
    cprof_finding *x = cprof__alloc_finding(a, severity, CPROF_CATEGORY_TEMPORARY_ALLOCATIONS, s, (double)s->temporary,
                                            a->o.temporary_alloc_count);
    if (!x) return;
    char temporary[32], count[32];
    x->description = cprof__analysis_text(a, "%s of %s allocations (%.1f%%) at %s:%u were freed before the next allocation, in %s",
                                          cprof__count(temporary, s->temporary), cprof__count(count, s->count), pct, s->file,
                                          (unsigned)s->line, x->scope);
    x->recommendation = cprof__analysis_text(
        a, "Keep the block off the heap in %s: a local array (on the stack) for a small fixed size, or one buffer "
           "allocated outside the loop and reused.", s->function);
}

/* Leak: per site, the blocks the leak check found lost (definitely, and indirectly through them), High
   from leak_high_bytes; blocks reached only through pointers into their middle are a Low finding, and
   blocks still reachable none (in use at capture). A profile without the check: every live block. */
static void cprof__rule_leak(cprof__analysis *a, const cprof_alloc_site *s) {
    const cprof_alloc_totals *t = &a->p->allocs;
    int classified = t->leak_checked && !t->leak_scan_failed;
    uint64_t blocks = classified ? s->lost_count + s->indirect_count : s->live_count;
    uint64_t bytes = classified ? s->lost_bytes + s->indirect_bytes : s->live_bytes;
    int possible_only = classified && !blocks && s->possible_count;
    if (possible_only) blocks = s->possible_count, bytes = s->possible_bytes;
    if (!blocks) return;
    int severity = possible_only ? CPROF_SEVERITY_LOW
                   : (double)bytes >= a->o.leak_high_bytes ? CPROF_SEVERITY_HIGH
                   : (double)bytes >= a->o.leak_high_bytes / 16 ? CPROF_SEVERITY_MEDIUM : CPROF_SEVERITY_LOW;
    cprof_finding *x = cprof__alloc_finding(a, severity, CPROF_CATEGORY_LEAK, s, (double)bytes, a->o.leak_high_bytes);
    if (!x) return;
    x->count = blocks; /* the lost ones, not every live block */
    x->bytes = bytes;
    char live[32], amount[32], count[32];
    const char *how = !classified ? "still allocated at capture"
                      : possible_only ? "possibly lost (reached only through pointers into their middle)"
                      : s->indirect_count && !s->lost_count ? "indirectly lost (pointed to only from lost blocks)"
                      : s->indirect_count ? "definitely or indirectly lost"
                                          : "definitely lost (no pointer to them left)";
    x->description = cprof__analysis_text(a, "%s block%s (%s) allocated at %s:%u %s, of %s made there, in %s",
                                          cprof__count(live, blocks), blocks == 1 ? "" : "s",
                                          cprof__byte_count(amount, bytes), s->file, (unsigned)s->line, how,
                                          cprof__count(count, s->count), x->scope);
    x->recommendation = cprof__analysis_text(
        a, "Free what %s allocates here when it is no longer needed: follow each block to its owner and free it "
           "on every path out (errors included), or give the blocks one owner that frees them together.", s->function);
}

/* Fragmentation, per site: the usable size of its blocks beyond the requests (the allocator's rounding
   up to its size classes and alignment) a large share of the bytes it asked for. */
static void cprof__rule_slack(cprof__analysis *a, const cprof_alloc_site *s) {
    double pct = s->bytes ? 100.0 * (double)s->slack_bytes / (double)s->bytes : 0.0;
    if (pct < a->o.fragmentation_slack_pct || (double)s->slack_bytes < a->o.fragmentation_min_bytes) return;
    int severity = pct >= 4 * a->o.fragmentation_slack_pct ? CPROF_SEVERITY_MEDIUM : CPROF_SEVERITY_LOW;
    cprof_finding *x = cprof__alloc_finding(a, severity, CPROF_CATEGORY_FRAGMENTATION, s, pct, a->o.fragmentation_slack_pct);
    if (!x) return;
    x->bytes = s->slack_bytes;
    char slack[32], bytes[32], count[32];
    x->description = cprof__analysis_text(a, "the allocator gave %s beyond the %s asked for (%.1f%%) in %s allocations of %.0f "
                                          "bytes on average at %s:%u, in %s", cprof__byte_count(slack, s->slack_bytes),
                                          cprof__byte_count(bytes, s->bytes), pct, cprof__count(count, s->count),
                                          s->count ? (double)s->bytes / (double)s->count : 0.0, s->file, (unsigned)s->line, x->scope);
    x->recommendation = cprof__analysis_text(
        a, "Make fewer, larger blocks in %s: many tiny blocks each pay the allocator's header and rounding, so keep "
           "them in one array or a pool; or size each request to what the allocator hands out (malloc_usable_size).",
        s->function);
}

/* Fragmentation, for the process: free memory the allocator holds inside its arenas, in holes between
   blocks in use (the top of the main arena, which malloc_trim gives back, aside), a large share of them;
   at the peak or at capture, whichever is larger, with at least fragmentation_min_bytes in use then and
   free in holes. glibc's own figures (mallinfo2); not checked without. */
static void cprof__rule_heap_holes(cprof__analysis *a) {
    const cprof_alloc_totals *t = &a->p->allocs;
    const cprof_heap_info *h = NULL;
    double pct = 0.0;
    const cprof_heap_info *views[2] = {&t->heap_at_peak, &t->heap_at_capture};
    for (int i = 0; i < 2; i++) {
        const cprof_heap_info *v = views[i];
        double holes = (double)cprof__difference(v->free_bytes, v->releasable_bytes);
        double share = v->measured && v->arena_bytes ? 100.0 * holes / (double)v->arena_bytes : 0.0;
        if (v->measured && share > pct && holes >= a->o.fragmentation_min_bytes && (double)v->in_use_bytes >= a->o.fragmentation_min_bytes)
            h = v, pct = share; /* a heap holding little in use (a program that freed all at exit) is not judged */
    }
    if (!h || pct < a->o.fragmentation_free_pct) return;
    uint64_t holes = cprof__difference(h->free_bytes, h->releasable_bytes);
    int high = pct >= 2 * a->o.fragmentation_free_pct && (double)holes >= 16 * a->o.fragmentation_min_bytes;
    cprof_finding *x = cprof__finding_new(a, high ? CPROF_SEVERITY_HIGH : CPROF_SEVERITY_MEDIUM, CPROF_CATEGORY_FRAGMENTATION,
                                          0.0, pct, a->o.fragmentation_free_pct);
    if (!x) return;
    x->function = "(the heap)";
    x->bytes = holes;
    char free_bytes[32], arena[32], used[32];
    x->description = cprof__analysis_text(
        a, "%s the C library's heap held %s free between blocks in use (%.1f%% of its arenas' %s; %s in use)",
        h == &t->heap_at_peak ? "near the peak" : "at capture", cprof__byte_count(free_bytes, holes), pct,
        cprof__byte_count(arena, h->arena_bytes), cprof__byte_count(used, h->in_use_bytes));
    x->recommendation = cprof__analysis_text(
        a, "Keep long-lived blocks apart from short-lived ones: free the temporaries of a phase before the blocks "
           "it keeps are made, or give either kind a pool or an arena of its own; fewer distinct sizes reuse holes "
           "better; malloc_trim(0) after a phase that frees much gives whole free pages back.");
}

static void cprof__rules_allocations(cprof__analysis *a) {
    static const int categories[] = {CPROF_CATEGORY_FREQUENT_ALLOCATION, CPROF_CATEGORY_EXCESSIVE_ALLOCATION,
                                     CPROF_CATEGORY_LARGE_ALLOCATION, CPROF_CATEGORY_TEMPORARY_ALLOCATIONS,
                                     CPROF_CATEGORY_LEAK, CPROF_CATEGORY_FRAGMENTATION};
    if (!a->p->allocs.tracked) {
        for (size_t i = 0; i < sizeof categories / sizeof categories[0]; i++)
            a->out->not_checked[categories[i]] = "no allocation data in this profile (build with CPROF_WRAP_MALLOC)";
        return;
    }
    for (size_t i = 0; i < a->p->alloc_site_count && !a->failed; i++) {
        const cprof_alloc_site *s = &a->p->alloc_sites[i];
        cprof__rule_frequent(a, s);
        cprof__rule_excessive(a, s);
        cprof__rule_large(a, s);
        cprof__rule_temporary(a, s);
        cprof__rule_leak(a, s);
        if (a->p->allocs.usable_known) cprof__rule_slack(a, s);
    }
    if (!a->failed) cprof__rule_heap_holes(a);
    if (!a->p->allocs.usable_known && !a->p->allocs.heap_at_peak.measured && !a->p->allocs.heap_at_capture.measured)
        a->out->not_checked[CPROF_CATEGORY_FRAGMENTATION] = "no allocator figures in this profile (malloc_usable_size, "
                                                            "glibc's mallinfo2; profile format 1.2)";
}

/* Severity first, then the most that fixing it could give, then category and name: the same order every run. */
static int cprof__compare_findings(const void *left, const void *right) {
    const cprof_finding *x = (const cprof_finding *)left, *y = (const cprof_finding *)right;
    if (x->severity != y->severity) return x->severity > y->severity ? -1 : 1;
    if (x->speedup_bound != y->speedup_bound) return x->speedup_bound > y->speedup_bound ? -1 : 1;
    if (x->category != y->category) return x->category < y->category ? -1 : 1;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1; /* leaks: the largest first */
    int by_name = strcmp(x->function, y->function);
    return by_name ? by_name : (x->line > y->line) - (x->line < y->line);
}

/* The first line: the largest self time, and the heaviest path from the root to it. */
static void cprof__analysis_bottleneck(cprof__analysis *a) {
    const cprof_profile *p = a->p;
    a->out->bottleneck = "";
    if (!p->function_count || !p->run_ns) return;
    const cprof_function *fn = &p->functions[0];
    uint32_t heaviest = CPROF_NONE;
    for (size_t i = 0; i < p->node_count; i++) {
        const cprof_node *node = &p->nodes[i];
        if (node->site != CPROF_NONE && strcmp(p->sites[node->site].name, fn->name) == 0 &&
            (heaviest == CPROF_NONE || node->self_ns > p->nodes[heaviest].self_ns)) heaviest = (uint32_t)i;
    }
    char self[24];
    cprof__buf b;
    memset(&b, 0, sizeof b);
    cprof__buf_printf(&b, "%s (%s", fn->name, p->sites[fn->site].file);
    if (p->sites[fn->site].line) cprof__buf_printf(&b, ":%u", (unsigned)p->sites[fn->site].line); /* 0: automatic */
    cprof__buf_printf(&b, "), %.1f%% of the run in itself (%s); heaviest path", fn->pct_self, cprof__duration(self, fn->self_ns));
    if (p->thread_count > 1) cprof__buf_printf(&b, " (thread %s)", p->threads[p->nodes[heaviest].thread].name);
    cprof__buf_puts(&b, ": ");
    cprof__buf_scope_path(&b, p, heaviest);
    a->out->bottleneck = b.failed ? "" : cprof__analysis_string(a, b.data);
    a->failed |= b.failed;
    cprof__buf_free(&b);
}

/* Budgets: the profile's (the program's cprof_budget()s at capture), then options->budgets (a name in
   both: the latter wins). Nothing of the process: the analysis of a profile depends on it and the
   options only. */
static void cprof__analysis_budgets(cprof__analysis *a) {
    for (size_t i = 0; i < a->p->budget_count; i++) {
        const cprof_scope_budget *b = &a->p->budgets[i];
        size_t length = strlen(b->name);
        if (length && length < CPROF__BUDGET_NAME_BYTES && b->budget_ns)
            cprof__budget_set(a->budgets, &a->budget_count, CPROF__MAX_BUDGETS, b->name, length, b->budget_ns);
    }
    cprof__each_setting(a, a->o.budgets, "CPROF_BUDGET", cprof__take_budget);
}

/* The wall time less the own cost the capture subtracted from the scopes and the time they were preempted
   (left out of them, >>preemption): compensation shortens the
   recorded time by cprof's cost, which also lengthened the run; against the raw wall time, scopes that
   cover the whole run would seem to cover part of it. With several threads the cost subtracted is the
   sum of theirs, more than the wall time lost, and the base is then the recorded time anyway. */
static uint64_t cprof__analysis_wall_ns(const cprof_profile *p) {
    uint64_t own = p->compensation.applied ? p->compensation.subtracted_ns : 0;
    own += p->preemption.preempted_ns; /* likewise: scopes preempted for part of the run still cover it */
    return p->wall_ns > own ? p->wall_ns - own : 0;
}

cprof_findings *cprof_analyze(const cprof_profile *profile, const cprof_analyze_options *options) {
    cprof__analysis *a = (cprof__analysis *)cprof__alloc(sizeof *a);
    cprof_findings *f = (cprof_findings *)cprof__alloc(sizeof *f);
    if (!a || !f || !profile) {
        cprof__release(a, sizeof *a);
        cprof__release(f, sizeof *f);
        return NULL;
    }
    memset(a, 0, sizeof *a);
    memset(f, 0, sizeof *f);
    a->p = profile;
    a->out = f;
    a->o = options ? *options : cprof_analyze_defaults();
    cprof__each_setting(a, a->o.settings, "CPROF_ANALYZE", cprof__take_setting);
    cprof__analysis_budgets(a);
    f->run_ns = profile->run_ns;
    for (size_t i = 0; i < profile->function_count; i++) f->calls += profile->functions[i].calls;
    f->wall_ns = cprof__analysis_wall_ns(profile);
    f->base_ns = f->wall_ns > profile->run_ns ? f->wall_ns : profile->run_ns;
    f->min_judged_avg_ns = a->o.min_judged_avg_ns;
    f->min_judged_calls = a->o.min_judged_calls;
    cprof__analysis_bottleneck(a);
    cprof__analysis_too_short(a);
    cprof__rule_slow_functions(a);
    cprof__rule_hot_loops(a);
    cprof__rule_deep_stack(a);
    cprof__rule_cache_misses(a);
    cprof__rule_budgets(a);
    cprof__rule_spikes(a);
    cprof__rules_allocations(a);
    if (f->count) qsort(f->items, f->count, sizeof *f->items, cprof__compare_findings);
    f->notes = a->notes.length ? cprof__analysis_string(a, a->notes.data) : "";
    int failed = a->failed || a->notes.failed;
    cprof__buf_free(&a->notes);
    cprof__release(a->first_node, (profile->function_count + 1) * sizeof(uint32_t));
    cprof__release(a->node_of_function, profile->node_count * sizeof(uint32_t) + 1);
    cprof__release(a, sizeof *a);
    if (failed) {
        cprof_findings_free(f);
        return NULL;
    }
    return f;
}

void cprof_findings_free(cprof_findings *f) {
    if (!f) return;
    cprof__release(f->items, f->capacity * sizeof *f->items);
    cprof__strings_free(&f->strings);
    cprof__release(f, sizeof *f);
}

/* --- the text --- */
/* The share of a finding in words: of the recorded time, and of the wall time when that is the base. */
static void cprof__analysis_share(cprof__buf *b, const cprof_findings *f, const cprof_finding *x) {
    double recorded = f->run_ns ? 100.0 * x->share * (double)f->base_ns / (double)f->run_ns : 0.0;
    cprof__buf_printf(b, "%.1f%% of the recorded time", recorded);
    if (f->base_ns > f->run_ns) cprof__buf_printf(b, ", %.1f%% of the wall time", 100.0 * x->share);
}

static void cprof__analysis_alloc_bound(cprof__buf *b, const cprof_findings *f, const cprof_finding *x) {
    char bytes[32];
    if (x->category == CPROF_CATEGORY_LEAK)
        cprof__buf_textf(b, "     Cost: %s of memory held until the program ends, not time\n", cprof__byte_count(bytes, x->bytes));
    else if (x->category == CPROF_CATEGORY_FRAGMENTATION)
        cprof__buf_textf(b, "     Cost: %s of memory the allocator holds and the program cannot use, not time\n",
                         cprof__byte_count(bytes, x->bytes));
    else if (!x->calls)
        cprof__buf_puts(b, "     Bound: not timed (the allocations are outside every scope)\n");
    else {
        cprof__buf_textf(b, "     Bound: the allocations run in the own time of %s (", x->scope);
        cprof__analysis_share(b, f, x);
        cprof__buf_printf(b, "): making them free would speed the run up at most %.2fx\n", x->speedup_bound);
    }
}

static void cprof__analysis_finding_text(cprof__buf *b, const cprof_findings *f, const cprof_finding *x, size_t number) {
    if (!x->file[0] && x->category == CPROF_CATEGORY_FRAGMENTATION) /* the process's heap: no place */
        cprof__buf_textf(b, "  %u. %s: %s\n", (unsigned)number, cprof_category_name(x->category), x->function);
    else
        cprof__buf_textf(b, x->line ? "  %u. %s: %s (%s:%u)\n" : "  %u. %s: %s (%s)\n", (unsigned)number,
                         cprof_category_name(x->category), x->function, x->file, (unsigned)x->line); /* 0: automatic */
    cprof__buf_textf(b, "     %s\n     Fix: %s\n", x->description, x->recommendation);
    if ((x->category >= CPROF_CATEGORY_FREQUENT_ALLOCATION && x->category <= CPROF_CATEGORY_LEAK) ||
        x->category == CPROF_CATEGORY_FRAGMENTATION) {
        cprof__analysis_alloc_bound(b, f, x);
        return;
    }
    if (x->category == CPROF_CATEGORY_SPIKE) {
        cprof__buf_puts(b, "     Bound: that call brought to its typical time would speed the run up at most ");
        cprof__buf_printf(b, "%.2fx (the excess is ", x->speedup_bound);
        cprof__analysis_share(b, f, x);
        cprof__buf_puts(b, ")\n");
        return;
    }
    if (isinf(x->speedup_bound)) {
        cprof__buf_textf(b, "     Bound: the run is all %s; making it free would remove the whole run\n", x->function);
        return;
    }
    cprof__buf_textf(b, "     Bound: making %s free would speed the run up at most %.2fx (it is ", x->function, x->speedup_bound);
    cprof__analysis_share(b, f, x);
    cprof__buf_puts(b, ")\n");
}

/* Whether `name` (not empty) is at both s and t, the place of one name in two texts. */
static int cprof__names_at(const char *s, const char *name_s, const char *t, const char *name_t) {
    return name_s[0] && name_t[0] && strncmp(s, name_s, strlen(name_s)) == 0 && strncmp(t, name_t, strlen(name_t)) == 0;
}

/* The same severity, category and advice, the recommendations differing only by the function's and the
   caller's names (each name skipped where it stands in both texts at once). */
static int cprof__same_advice(const cprof_finding *x, const cprof_finding *y) {
    if (x->severity != y->severity || x->category != y->category) return 0;
    const char *s = x->recommendation, *t = y->recommendation;
    while (*s || *t) {
        if (cprof__names_at(s, x->function, t, y->function)) s += strlen(x->function), t += strlen(y->function);
        else if (cprof__names_at(s, x->caller, t, y->caller)) s += strlen(x->caller), t += strlen(y->caller);
        else if (*s++ != *t++) return 0;
    }
    return 1;
}

enum { cprof__group_min = 3 }; /* findings with the same advice from which the text shows the first in full only */

/* group[i]: the first finding with i's advice (its leader); size[i] at a leader: the findings it leads. */
static void cprof__analysis_groups(const cprof_findings *f, size_t *group, size_t *size) {
    for (size_t i = 0; i < f->count; i++) {
        size_t k = 0;
        while (k < i && (group[k] != k || !cprof__same_advice(&f->items[k], &f->items[i]))) k++;
        group[i] = k;
        size[i] = 0;
        size[k]++;
    }
}

/* The rest of a group after its leader, on one line: names, places and bounds. */
static void cprof__analysis_group_rest(cprof__buf *b, const cprof_findings *f, const size_t *group, size_t leader) {
    size_t more = 0;
    for (size_t j = leader + 1; j < f->count; j++) more += group[j] == leader;
    cprof__buf_textf(b, "     And %u more %s finding%s with the same advice: ", (unsigned)more,
                     cprof_category_name(f->items[leader].category), more == 1 ? "" : "s");
    size_t said = 0;
    for (size_t j = leader + 1; j < f->count; j++) {
        const cprof_finding *x = &f->items[j];
        if (group[j] != leader) continue;
        cprof__buf_textf(b, x->line ? "%s%s (%s:%u" : "%s%s (%s", said++ ? ", " : "", x->function, x->file, (unsigned)x->line);
        char bytes[32];
        if (x->caller[0]) cprof__buf_textf(b, ", from %s", x->caller);
        if (x->category == CPROF_CATEGORY_LEAK || x->category == CPROF_CATEGORY_FRAGMENTATION)
            cprof__buf_textf(b, ", %s)", cprof__byte_count(bytes, x->bytes));
        else if (isinf(x->speedup_bound)) cprof__buf_puts(b, ")");
        else cprof__buf_printf(b, ", %.2fx)", x->speedup_bound);
    }
    cprof__buf_puts(b, "\n");
}

/* Categories that were not checked, those with the same reason on one line. */
static void cprof__analysis_not_checked(cprof__buf *b, const cprof_findings *f) {
    int said = 0;
    for (int c = 0; c < CPROF_CATEGORY_COUNT; c++) {
        const char *why = f->not_checked[c];
        int first = 1;
        for (int d = 0; d < c && why; d++) first &= !(f->not_checked[d] && strcmp(f->not_checked[d], why) == 0);
        if (!why || !first) continue;
        cprof__buf_puts(b, said++ ? "" : "\nNot checked:\n");
        cprof__buf_textf(b, "  %s", cprof_category_name(c));
        for (int d = c + 1; d < CPROF_CATEGORY_COUNT; d++)
            if (f->not_checked[d] && strcmp(f->not_checked[d], why) == 0) cprof__buf_textf(b, ", %s", cprof_category_name(d));
        cprof__buf_textf(b, ": %s\n", why);
    }
}

static const double cprof__coverage_note_pct = 90.0; /* the header says how much of the wall time the scopes cover below this */

static void cprof__analysis_header(cprof__buf *b, const cprof_findings *f) {
    char run[24], wall[24];
    if (f->bottleneck[0]) cprof__buf_textf(b, "Performance Analysis: bottleneck %s\n", f->bottleneck);
    else if (f->calls)
        cprof__buf_textf(b, "Performance Analysis: no time left to judge: %llu calls recorded, and their time was all "
                            "cprof's own cost (CPROF_COMPENSATE=0 shows raw times; time longer scopes)\n",
                         (unsigned long long)f->calls);
    else cprof__buf_puts(b, "Performance Analysis: no scopes recorded\n");
    if (f->run_ns && f->base_ns > f->run_ns && 100.0 * (double)f->run_ns < cprof__coverage_note_pct * (double)f->wall_ns)
        cprof__buf_printf(b, "Scopes cover %.1f%% of the wall time (%s of %s): each bound is against the wall time\n",
                          100.0 * (double)f->run_ns / (double)f->wall_ns, cprof__duration(run, f->run_ns),
                          cprof__duration(wall, f->wall_ns));
    if (!f->count) cprof__buf_puts(b, "No issues found\n");
    else cprof__buf_textf(b, "Issues Found: %u\n", (unsigned)f->count);
}

/* The findings by severity; cprof__group_min or more with the same advice: the first in full, then the
   others on one line (group NULL: each in full). */
static void cprof__analysis_findings_text(cprof__buf *b, const cprof_findings *f, const size_t *group, const size_t *size) {
    size_t number = 1;
    for (int severity = CPROF_SEVERITY_CRITICAL; severity >= CPROF_SEVERITY_LOW; severity--) {
        size_t in_group = 0;
        for (size_t i = 0; i < f->count; i++) in_group += f->items[i].severity == severity;
        if (!in_group) continue;
        cprof__buf_textf(b, "\n%s (%u)\n", cprof_severity_name(severity), (unsigned)in_group);
        for (size_t i = 0; i < f->count; i++) {
            if (f->items[i].severity != severity) continue;
            int grouped = group && size[group[i]] >= cprof__group_min;
            if (grouped && group[i] != i) continue;
            cprof__analysis_finding_text(b, f, &f->items[i], number++);
            if (grouped) cprof__analysis_group_rest(b, f, group, i);
        }
    }
}

static void cprof__analysis_build(cprof__buf *b, const cprof_findings *f) {
    cprof__analysis_header(b, f);
    size_t bytes = (f->count ? f->count : 1) * sizeof(size_t);
    size_t *group = (size_t *)cprof__alloc(bytes), *size = (size_t *)cprof__alloc(bytes);
    if (group && size) cprof__analysis_groups(f, group, size);
    cprof__analysis_findings_text(b, f, group && size ? group : NULL, size);
    cprof__release(group, bytes);
    cprof__release(size, bytes);
    if (f->too_short) {
        char calls[32];
        cprof__buf_textf(b, "\nToo short to judge: %u function%s average%s under %.0f ns a call over %s calls or more, much "
                            "of it the scopes' own cost (sample them, or see their callers): %s\n",
                         (unsigned)f->too_short, f->too_short == 1 ? "" : "s", f->too_short == 1 ? "s" : "",
                         f->min_judged_avg_ns, cprof__count(calls, (uint64_t)f->min_judged_calls), f->too_short_functions);
    }
    cprof__analysis_not_checked(b, f);
    if (f->notes[0]) {
        cprof__buf_puts(b, "\nSettings not understood:\n");
        for (const char *line = f->notes; *line; line += strcspn(line, "\n") + 1)
            cprof__buf_textf(b, "  %.*s\n", (int)strcspn(line, "\n"), line);
    }
}

int cprof_analysis_write(const cprof_findings *f, FILE *out) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!f || !out) return -1;
    cprof__analysis_build(&b, f);
    return cprof__buf_to_file(&b, out);
}

size_t cprof_analysis_format(const cprof_findings *f, char *buffer, size_t size) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!f) return 0;
    cprof__analysis_build(&b, f);
    return cprof__buf_to_buffer(&b, buffer, size);
}

/* --- JSON: the findings for scripts; an infinite bound is null --- */
static void cprof__json_finding(cprof__buf *b, const cprof_finding *x) {
    cprof__buf_printf(b, "    {\"severity\": \"%s\", \"category\": \"%s\", \"function\": ", cprof_severity_name(x->severity),
                      cprof_category_name(x->category));
    cprof__buf_json_string(b, x->function);
    cprof__buf_puts(b, ", \"file\": ");
    cprof__buf_json_string(b, x->file);
    cprof__buf_printf(b, ", \"line\": %u, \"calls\": %llu, \"total_ns\": %llu, \"self_ns\": %llu, \"avg_ns\": %llu, "
                         "\"max_ns\": %llu, \"depth\": %u, \"share\": ", (unsigned)x->line, (unsigned long long)x->calls,
                      (unsigned long long)x->total_ns, (unsigned long long)x->self_ns, (unsigned long long)x->avg_ns,
                      (unsigned long long)x->max_ns, (unsigned)x->depth);
    cprof__buf_double(b, x->share);
    cprof__buf_puts(b, ", \"speedup_bound\": ");
    if (isinf(x->speedup_bound)) cprof__buf_puts(b, "null");
    else cprof__buf_double(b, x->speedup_bound);
    cprof__buf_puts(b, ", \"measure\": ");
    cprof__buf_double(b, x->measure);
    cprof__buf_puts(b, ", \"threshold\": ");
    cprof__buf_double(b, x->threshold);
    cprof__buf_printf(b, ", \"count\": %llu, \"bytes\": %llu", (unsigned long long)x->count, (unsigned long long)x->bytes);
    if (x->category == CPROF_CATEGORY_SPIKE) {
        cprof__buf_printf(b, ", \"at_ns\": %llu, \"frame\": %llu, \"thread\": ", (unsigned long long)x->at_ns,
                          (unsigned long long)x->frame);
        cprof__buf_json_string(b, x->thread);
    }
    const char *texts[4][2] = {{"scope", x->scope}, {"caller", x->caller}, {"description", x->description},
                               {"recommendation", x->recommendation}};
    for (int t = 0; t < 4; t++) {
        cprof__buf_printf(b, ", \"%s\": ", texts[t][0]);
        cprof__buf_json_string(b, texts[t][1]);
    }
    cprof__buf_puts(b, "}");
}

static void cprof__analysis_json_build(cprof__buf *b, const cprof_findings *f) {
    cprof__buf_puts(b, "{\n  \"bottleneck\": ");
    cprof__buf_json_string(b, f->bottleneck);
    /* base: what every finding's share is of ("wall" when the scopes recorded less than the wall time) */
    cprof__buf_printf(b, ",\n  \"issues_found\": %u,\n  \"base\": \"%s\", \"base_ns\": %llu, \"run_ns\": %llu, "
                         "\"wall_ns\": %llu,\n  \"too_short_to_judge\": %u, \"min_judged_avg_ns\": ",
                      (unsigned)f->count, f->base_ns > f->run_ns ? "wall" : "recorded", (unsigned long long)f->base_ns,
                      (unsigned long long)f->run_ns, (unsigned long long)f->wall_ns, (unsigned)f->too_short);
    cprof__buf_double(b, f->min_judged_avg_ns);
    cprof__buf_puts(b, ", \"min_judged_calls\": ");
    cprof__buf_double(b, f->min_judged_calls);
    cprof__buf_puts(b, ", \"too_short_functions\": ");
    cprof__buf_json_string(b, f->too_short_functions);
    cprof__buf_puts(b, ",\n  \"findings\": [");
    for (size_t i = 0; i < f->count; i++) {
        cprof__buf_puts(b, i ? ",\n" : "\n");
        cprof__json_finding(b, &f->items[i]);
    }
    cprof__buf_puts(b, f->count ? "\n  ],\n  \"not_checked\": {" : "],\n  \"not_checked\": {");
    int first = 1;
    for (int c = 0; c < CPROF_CATEGORY_COUNT; c++) {
        if (!f->not_checked[c]) continue;
        cprof__buf_printf(b, "%s\"%s\": ", first ? "" : ", ", cprof_category_name(c));
        cprof__buf_json_string(b, f->not_checked[c]);
        first = 0;
    }
    cprof__buf_puts(b, "},\n  \"notes\": ");
    cprof__buf_json_string(b, f->notes);
    cprof__buf_puts(b, "\n}\n");
}

int cprof_analysis_json_write(const cprof_findings *f, FILE *out) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!f || !out) return -1;
    cprof__analysis_json_build(&b, f);
    return cprof__buf_to_file(&b, out);
}

/* CPROF_OUT: prefix.txt is the report, then the analysis with the default options. */
static void cprof__report_and_analysis_build(cprof__buf *b, const cprof_profile *p) {
    cprof__report_build(b, p, NULL);
    cprof_findings *f = cprof_analyze(p, NULL);
    if (!f) {
        cprof__buf_puts(b, "\nPerformance Analysis: out of memory\n");
        return;
    }
    cprof__buf_puts(b, "\n");
    cprof__analysis_build(b, f);
    cprof_findings_free(f);
}

/* ==================================================================================================
   >>output: CPROF_OUT files at exit, each written to a temporary name and renamed
   ================================================================================================== */
/* "BASE.anything.tmp.PID" of a process that no longer exists: left by a run killed while it wrote
   (SIGKILL, a crash), so nobody else will remove it. A live PID, even a reused one, is left alone. */
static int cprof__is_stale_temporary(const char *name, const char *base, size_t base_length) {
    const char *tmp = strstr(name, ".tmp."), *next;
    while (tmp && (next = strstr(tmp + 1, ".tmp.")) != NULL) tmp = next; /* the last one */
    if (strncmp(name, base, base_length) != 0 || name[base_length] != '.' || !tmp || tmp < name + base_length)
        return 0;
    uint64_t pid = 0;
    const char *digits = tmp + 5;
    if (!cprof__parse_decimal(digits, strlen(digits), INT32_MAX, &pid) || pid == 0 || (long)pid == cprof__process_id())
        return 0;
    return cprof__process_gone((long)pid);
}

/* Removes the stale temporaries of CPROF_OUT's `prefix` in its directory. */
#if !defined(CPROF__WINDOWS)
static void cprof__remove_stale_temporaries(const char *prefix) {
    char directory[4200], path[8400];
    const char *slash = strrchr(prefix, '/'), *base = slash ? slash + 1 : prefix;
    cprof__snprintf(directory, sizeof directory, "%.*s", slash ? (int)(slash - prefix) + 1 : 2, slash ? prefix : "./");
    DIR *dir = *base ? opendir(directory) : NULL;
    if (!dir) return;
    for (struct dirent *entry = readdir(dir); entry; entry = readdir(dir)) {
        if (!cprof__is_stale_temporary(entry->d_name, base, strlen(base))) continue;
        cprof__snprintf(path, sizeof path, "%s%s", directory, entry->d_name);
        remove(path);
    }
    closedir(dir);
}
#else
static void cprof__remove_stale_temporaries(const char *prefix) {
    char directory[4200], path[8400];
    WIN32_FIND_DATAA entry;
    const char *slash = strrchr(prefix, '/'), *backslash = strrchr(prefix, '\\');
    if (backslash > slash) slash = backslash;
    const char *base = slash ? slash + 1 : prefix;
    cprof__snprintf(directory, sizeof directory, "%.*s", slash ? (int)(slash - prefix) + 1 : 0, prefix);
    cprof__snprintf(path, sizeof path, "%s*", directory);
    HANDLE find = *base ? FindFirstFileA(path, &entry) : INVALID_HANDLE_VALUE;
    if (find == INVALID_HANDLE_VALUE) return;
    do {
        if (!cprof__is_stale_temporary(entry.cFileName, base, strlen(base))) continue;
        cprof__snprintf(path, sizeof path, "%s%s", directory, entry.cFileName);
        remove(path);
    } while (FindNextFileA(find, &entry));
    FindClose(find);
}
#endif

int cprof_save(const cprof_profile *p, const char *path) {
    cprof__buf b;
    memset(&b, 0, sizeof b);
    if (!p || !path) return -1;
    cprof__json_build(&b, p);
    int result = cprof__write_file_atomic(path, &b);
    cprof__buf_free(&b);
    return result;
}

static void cprof__folded_build_default(cprof__buf *b, const cprof_profile *p) { cprof__folded_build(b, p, NULL); }

/* CPROF_OUT's files, in the order they are written. */
static const struct cprof__output_file {
    const char *suffix;
    void (*build)(cprof__buf *, const cprof_profile *);
} cprof__output_files[] = {
    {".txt", cprof__report_and_analysis_build},
    {".json", cprof__json_build},
    {".folded", cprof__folded_build_default},
    {".svg", cprof__flamegraph_build_default},
};
#define CPROF__OUTPUT_FILES (sizeof cprof__output_files / sizeof cprof__output_files[0])

/* The path of file k of the set with `prefix` (CPROF_OUT's, or a snapshot's), and its temporary name. */
static void cprof__output_names(const char *prefix, size_t k, char path[4200], char temporary[4200]) {
    cprof__snprintf(path, 4200, "%s%s", prefix, cprof__output_files[k].suffix);
    cprof__temporary_name(temporary, 4200, path);
}

/* The set stays consistent: every file goes to its temporary first (one built at a time, so only one
   is in memory); only when all four are written are they renamed, one after another. A failure (a
   full disk, a size limit) removes the temporaries and replaces nothing: the previous run's set stays
   whole. A run killed while writing leaves temporaries, removed by the next run with the same prefix.
   `prefix`: CPROF_OUT's, or a snapshot's (>>dump). */
CPROF__UNUSED static void cprof__write_outputs(const char *prefix) {
    char path[4200], temporary[4200];
    size_t written = 0;
    cprof__leak_roots roots; /* the exit report tells lost blocks from those still reachable */
    memset(&roots, 0, sizeof roots);
    roots.at_exit = 1;
    cprof_profile *p = cprof__capture_with(&roots);
    if (!p) {
        fprintf(stderr, "cprof: out of memory capturing the profile for CPROF_OUT\n");
        return;
    }
    cprof__remove_stale_temporaries(prefix);
    for (int failed = 0; written < CPROF__OUTPUT_FILES && !failed; written += !failed) {
        cprof__buf b;
        memset(&b, 0, sizeof b);
        cprof__output_files[written].build(&b, p);
        cprof__output_names(prefix, written, path, temporary);
        failed = cprof__write_temporary(temporary, path, &b);
        cprof__buf_free(&b);
    }
    cprof_profile_free(p);
    if (written < CPROF__OUTPUT_FILES) {
        fprintf(stderr, "cprof: %s; no CPROF_OUT file was replaced\n", cprof_error());
        for (size_t k = 0; k < written; k++) cprof__output_names(prefix, k, path, temporary), remove(temporary);
        return;
    }
    for (size_t k = 0; k < CPROF__OUTPUT_FILES; k++) {
        cprof__output_names(prefix, k, path, temporary);
        if (cprof__replace_file(temporary, path) != 0) fprintf(stderr, "cprof: %s: cannot write: %s\n", path, strerror(errno)), remove(temporary);
    }
}

/* CPROF_OUT's set, now: at exit, or on SIGINT/SIGTERM from >>dump's thread; one writer at a time. */
static cprof__mutex cprof__output_lock = CPROF__MUTEX_INIT;
CPROF__UNUSED static void cprof__write_outputs_at_exit(void) {
    cprof__mutex_lock(&cprof__output_lock);
    cprof__write_outputs(cprof__g.out_prefix);
    cprof__mutex_unlock(&cprof__output_lock);
}

#ifndef CPROF_MAIN
/* CPROF_OUT at exit, from a destructor of the lowest priority a program may give (101): it runs after
   the atexit handlers, C++ static objects' destructors and the program's own destructors (of no or
   a higher priority), so that blocks they free are not leaks. On exit() or return from main only. */
__attribute__((destructor(101))) static void cprof__write_outputs_last(void) {
    if (cprof__g.out_prefix[0]) cprof__write_outputs_at_exit();
}
#endif

/* ==================================================================================================
   >>dump: long-running processes: a snapshot set on CPROF_DUMP_SIGNAL or every CPROF_INTERVAL, and
   CPROF_OUT written on SIGINT and SIGTERM before the previous action runs. A handler only counts the
   request and writes one byte to a pipe (both async-signal-safe); the files are written by a thread of
   cprof's own that waits in poll(), with every signal blocked (so no handler ever runs on it). It
   starts only when one of the three is on. A fork() child has no such thread: there the handlers pass
   every signal on as if cprof were not there (its CPROF_OUT files are still written at normal exit).
   ================================================================================================== */
#if !defined(CPROF_MAIN) && (!defined(SA_SIGINFO) || defined(CPROF__WINDOWS))
/* No sigaction: Windows, or a file whose feature macros hide POSIX (strict -std=c99 without
   _DEFAULT_SOURCE or _POSIX_C_SOURCE before its first include): the signal features are off, said once
   when they were asked for; CPROF_OUT is still written at normal exit. */
static void cprof__dump_start(void) {
    const char *signal_text = getenv("CPROF_DUMP_SIGNAL"), *interval_text = getenv("CPROF_INTERVAL");
    if ((signal_text && *signal_text) || (interval_text && *interval_text))
        fprintf(stderr, "cprof: CPROF_DUMP_SIGNAL and CPROF_INTERVAL need sigaction, which this build does not have "
                        "(Windows, or the file with CPROF_IMPLEMENTATION hides POSIX: define _DEFAULT_SOURCE there)\n");
}
#elif !defined(CPROF_MAIN)
#include <poll.h>

/* How long a SIGINT or SIGTERM handler waits for CPROF_OUT to be written before the previous action
   runs anyway (a capture blocked by a lock the interrupted thread holds would otherwise never end). */
enum { CPROF__DUMP_WAIT_MS = 10000, CPROF__DUMP_HANDLED = 3 };

static struct cprof__dump_state {
    int wake[2];            /* the pipe the handlers write a byte to: read end, write end (non-blocking) */
    pid_t pid;              /* the process the thread runs in; a fork child's handlers only pass signals on */
    int signal;             /* CPROF_DUMP_SIGNAL's signal; 0 when off */
    uint64_t interval_ns;   /* CPROF_INTERVAL; 0 when off */
    uint32_t requested;     /* snapshots requested by the signal (atomic: handlers add, the thread reads) */
    uint32_t final_requested, final_done; /* CPROF_OUT on SIGINT/SIGTERM: asked, written (atomic counts) */
    uint32_t written;       /* snapshot sets written (the thread's: the next one's number - 1) */
    int signals[CPROF__DUMP_HANDLED];                  /* the dump signal, SIGINT, SIGTERM (0: not handled) */
    struct sigaction previous[CPROF__DUMP_HANDLED];    /* what each did before cprof's handler */
} cprof__dump; /* zero: off; the handlers are installed only after the pipe exists */

/* The action the signal had before cprof: its handler called, or the default action (the signal raised
   again with it restored: delivered when this handler returns, since the signal is blocked meanwhile). */
static void cprof__dump_pass_on(int k, int signal, siginfo_t *info, void *context) {
    const struct sigaction *old = &cprof__dump.previous[k];
    if (old->sa_flags & SA_SIGINFO) {
        old->sa_sigaction(signal, info, context);
    } else if (old->sa_handler == SIG_DFL) {
        sigaction(signal, old, NULL);
        raise(signal);
    } else if (old->sa_handler != SIG_IGN) {
        old->sa_handler(signal);
    }
}

static void cprof__dump_handler(int signal, siginfo_t *info, void *context) {
    int saved_errno = errno, k = 0;
    while (k < CPROF__DUMP_HANDLED - 1 && cprof__dump.signals[k] != signal) k++;
    char byte = 1;
    if (getpid() != cprof__dump.pid) { /* a fork() child: no thread to write */
        cprof__dump_pass_on(k, signal, info, context);
    } else if (k == 0 && signal == cprof__dump.signal) {
        CPROF__ADD_FETCH(cprof__dump.requested, 1u);
        if (write(cprof__dump.wake[1], &byte, 1) < 0) { /* full: the thread is awake and will see the count */ }
    } else {
        uint32_t asked = CPROF__ADD_FETCH(cprof__dump.final_requested, 1u); /* a set written after this moment */
        if (write(cprof__dump.wake[1], &byte, 1) < 0) { /* as above */ }
        struct timespec step = {0, 10 * 1000 * 1000};
        for (int waited = 0; waited < CPROF__DUMP_WAIT_MS && (int32_t)(CPROF__LOAD_ACQUIRE(cprof__dump.final_done) - asked) < 0;
             waited += 10)
            nanosleep(&step, NULL);
        cprof__dump_pass_on(k, signal, info, context);
    }
    errno = saved_errno;
}

/* One snapshot set: CPROF_OUT's files with ".snapshot-N" after the prefix (N from 1, in the order
   written, whether the signal or the interval asked). */
static void cprof__dump_snapshot(void) {
    char prefix[4200];
    cprof__snprintf(prefix, sizeof prefix, "%s.snapshot-%u", cprof__g.out_prefix, (unsigned)++cprof__dump.written);
    cprof__mutex_lock(&cprof__output_lock);
    cprof__write_outputs(prefix);
    cprof__mutex_unlock(&cprof__output_lock);
}

/* Milliseconds until `deadline_ns` (monotonic) for poll(): -1 (no deadline) when 0. */
static int cprof__dump_timeout_ms(uint64_t deadline_ns) {
    if (!deadline_ns) return -1;
    uint64_t now = cprof__monotonic_ns();
    if (now >= deadline_ns) return 0;
    uint64_t ms = (deadline_ns - now + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* The writer: asleep in poll() until a handler writes to the pipe or the interval ends. Each request
   of the signal gets its own set (one arriving during a write is served right after it); SIGINT or
   SIGTERM first gets CPROF_OUT, then final_done releases the waiting handler. */
static void *cprof__dump_thread(void *unused) {
    uint32_t served = 0;
    uint64_t deadline = cprof__dump.interval_ns ? cprof__monotonic_ns() + cprof__dump.interval_ns : 0;
    (void)unused;
    for (;;) {
        struct pollfd wake = {cprof__dump.wake[0], POLLIN, 0};
        char bytes[64];
        if (poll(&wake, 1, cprof__dump_timeout_ms(deadline)) > 0)
            while (read(cprof__dump.wake[0], bytes, sizeof bytes) > 0) {}
        uint32_t final_asked = CPROF__LOAD(cprof__dump.final_requested);
        if (final_asked != CPROF__LOAD(cprof__dump.final_done)) { /* one set serves every request before it */
            cprof__write_outputs_at_exit();
            CPROF__STORE_RELEASE(cprof__dump.final_done, final_asked);
        }
        for (uint32_t asked = CPROF__LOAD(cprof__dump.requested); served != asked; served++) cprof__dump_snapshot();
        if (deadline && cprof__monotonic_ns() >= deadline) {
            cprof__dump_snapshot();
            deadline = cprof__monotonic_ns() + cprof__dump.interval_ns;
        }
    }
    return NULL;
}

/* CPROF_DUMP_SIGNAL: USR1 (also "1", SIGUSR1 or its number), USR2 or HUP; "0" or empty: off. */
static int cprof__env_dump_signal(const char *value) {
    static const struct { const char *name; int signal; } names[] = {
        {"1", SIGUSR1}, {"USR1", SIGUSR1}, {"SIGUSR1", SIGUSR1}, {"USR2", SIGUSR2}, {"SIGUSR2", SIGUSR2},
        {"HUP", SIGHUP}, {"SIGHUP", SIGHUP}};
    if (!value || !*value || strcmp(value, "0") == 0) return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(value, names[i].name) == 0) return names[i].signal;
    uint64_t number = 0;
    if (cprof__parse_decimal(value, strlen(value), 64, &number) &&
        ((int)number == SIGUSR1 || (int)number == SIGUSR2 || (int)number == SIGHUP))
        return (int)number;
    cprof__env_warn("CPROF_DUMP_SIGNAL", value, "not understood (USR1, USR2 or HUP); no snapshots on a signal");
    return 0;
}

/* CPROF_INTERVAL: a duration with its unit (ms, s, m, h), at least 10 ms; "0" or empty: off. */
static uint64_t cprof__env_interval(const char *value) {
    static const struct { const char *unit; double ns; } units[] = {{"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    double number;
    char *end;
    if (!value || !*value || strcmp(value, "0") == 0) return 0;
    size_t u = 0;
    int ok = cprof__read_double(value, &number, &end);
    while (ok && u < sizeof units / sizeof units[0] && strcmp(end, units[u].unit) != 0) u++;
    if (ok && u < sizeof units / sizeof units[0] && number * units[u].ns >= 1e7 && number * units[u].ns <= 1e15)
        return (uint64_t)(number * units[u].ns);
    cprof__env_warn("CPROF_INTERVAL", value, "not a duration of 10ms to 11 days (60s, 500ms, 5m, 1h); no periodic snapshots");
    return 0;
}

/* cprof's handler for signals[k], unless the signal is ignored (nohup, a shell's background job):
   then it stays ignored. The previous action is kept for the handler to pass the signal on. */
static void cprof__dump_install(int k, int signal) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = cprof__dump_handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(signal, NULL, &cprof__dump.previous[k]) != 0) return;
    if (!(cprof__dump.previous[k].sa_flags & SA_SIGINFO) && cprof__dump.previous[k].sa_handler == SIG_IGN) return;
    cprof__dump.signals[k] = signal;
    sigaction(signal, &action, NULL);
}

/* At start-up (>>scopes), after CPROF_OUT: the pipe and the thread when CPROF_OUT is set (SIGINT and
   SIGTERM write it) and more so with CPROF_DUMP_SIGNAL or CPROF_INTERVAL; then the handlers. The
   thread starts with every signal blocked (the mask it inherits), so no handler ever runs on it. */
static void cprof__dump_start(void) {
    const char *signal_text = getenv("CPROF_DUMP_SIGNAL"), *interval_text = getenv("CPROF_INTERVAL");
    if (!cprof__g.out_prefix[0]) {
        if ((signal_text && *signal_text) || (interval_text && *interval_text))
            fprintf(stderr, "cprof: CPROF_DUMP_SIGNAL and CPROF_INTERVAL write CPROF_OUT's files: set CPROF_OUT=prefix\n");
        return;
    }
    cprof__dump.signal = cprof__env_dump_signal(signal_text);
    cprof__dump.interval_ns = cprof__env_interval(interval_text);
    cprof__dump.pid = getpid();
    if (pipe(cprof__dump.wake) != 0) return;
    for (int end = 0; end < 2; end++) {
        fcntl(cprof__dump.wake[end], F_SETFL, fcntl(cprof__dump.wake[end], F_GETFL) | O_NONBLOCK);
        fcntl(cprof__dump.wake[end], F_SETFD, FD_CLOEXEC);
    }
    sigset_t all, before;
    pthread_t thread;
    pthread_attr_t attributes;
    sigfillset(&all);
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &before);
    cprof__starting_own_thread = 1;
    int error = pthread_create(&thread, &attributes, cprof__dump_thread, NULL);
    cprof__starting_own_thread = 0;
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    pthread_attr_destroy(&attributes);
    if (error) {
        fprintf(stderr, "cprof: cannot start the thread that writes on signals: %s\n", strerror(error));
        return;
    }
    if (cprof__dump.signal) cprof__dump_install(0, cprof__dump.signal);
    cprof__dump_install(1, SIGINT);
    cprof__dump_install(2, SIGTERM);
}
#endif /* CPROF_MAIN, sigaction */

/* ==================================================================================================
   >>testing: the private functions cprof's own tests reach (CPROF_TESTING; declared at the end of
   >>declarations). Not part of the API; each only calls through.
   ================================================================================================== */
#ifdef CPROF_TESTING
cprof_profile *cprof__test_profile_new(void) { return cprof__profile_new(); }

size_t cprof__test_timeline_bytes(uint32_t capacity, size_t *event_bytes) {
    *event_bytes = sizeof(cprof__timeline_event);
    return sizeof(cprof__timeline) + (size_t)capacity * sizeof(cprof__timeline_event);
}

void cprof__test_timeline_counts(uint64_t written, uint64_t lap_start) {
    cprof__recorder *r = cprof__recorder_get();
    if (!r || !r->timeline) return;
    CPROF__STORE(r->timeline->lap_start, lap_start);
    CPROF__STORE(r->timeline->written, written);
}

void cprof__test_env_timeline(const char *value, uint32_t out[2]) { cprof__env_timeline(value, &out[0], &out[1]); }

/* The capacity of the array `array` (the address of one of the profile's array fields) is found by
   which field it is. */
int cprof__test_grow(cprof_profile *p, void *array, size_t needed, size_t element_size) {
    cprof__arrays *cap = cprof__capacities(p);
    size_t *capacity = array == (void *)&p->threads ? &cap->threads
                     : array == (void *)&p->sites ? &cap->sites
                     : array == (void *)&p->counters ? &cap->counters
                     : array == (void *)&p->node_counters ? &cap->node_counters
                     : array == (void *)&p->function_counters ? &cap->function_counters
                     : array == (void *)&p->alloc_sites ? &cap->alloc_sites
                     : array == (void *)&p->events ? &cap->events : NULL;
    return capacity ? cprof__grow(array, capacity, needed, element_size) : -1;
}

cprof_node *cprof__test_add_node(cprof_profile *p) { return cprof__add_node(p); }
const char *cprof__test_string(cprof_profile *p, const char *text) { return cprof__string(p, text); }
int cprof__test_format(char *buffer, size_t size, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int length = cprof__format_v(buffer, size, format, args);
    va_end(args);
    return length;
}
double cprof__test_strtod_c(const char *text, char **end) { return cprof__strtod_c(text, end); }
int cprof__test_derive(cprof_profile *p) { return cprof__profile_derive(p); }
uint32_t cprof__test_crc32(const void *data, size_t length) { return cprof__crc32(0, (const unsigned char *)data, length); }
void *cprof__test_alloc(size_t bytes) { return cprof__alloc(bytes); }
cprof_benchmark *cprof__test_bench_append(cprof_profile *p, const char *name) { return cprof__bench_append(p, name); }

void cprof__test_sample_of(double n, double sum, double sum_sq, double sample[3]) {
    double mean = n > 0 ? sum / n : 0.0, variance = n > 1 ? (sum_sq - n * mean * mean) / (n - 1.0) : 0.0;
    sample[0] = n, sample[1] = mean, sample[2] = variance < 0.0 ? 0.0 : variance;
}

double cprof__test_welch_p(const double x[3], const double y[3]) {
    cprof__sample a = {x[0], x[1], x[2]}, b = {y[0], y[1], y[2]};
    return cprof__welch_p(a, b);
}

int cprof__test_moderation_prior(const double *variances, size_t count, double df, double prior[2]) {
    return cprof__moderation_prior(variances, count, df, &prior[0], &prior[1]);
}

double cprof__test_moderated_p(double difference, double variance, double df, size_t n1, size_t n2,
                               const double prior[2], double df_cap) {
    return cprof__moderated_p(difference, variance, df, n1, n2, prior[0], prior[1], df_cap);
}

void cprof__test_benjamini_hochberg(double *p_values, size_t count) {
    double *refs_array[64], **refs = count <= 64 ? refs_array : (double **)cprof__alloc(count * sizeof *refs);
    if (!refs) return;
    for (size_t i = 0; i < count; i++) refs[i] = &p_values[i];
    cprof__benjamini_hochberg(refs, count);
    if (refs != refs_array) cprof__release(refs, count * sizeof *refs);
}

int cprof__test_json_valid(const char *text, size_t length) {
    cprof__json j;
    int valid = cprof__json_parse(&j, text, length, "test") != 0 && !j.failed;
    cprof__json_free(&j, length);
    return valid;
}

int cprof__test_thread_counting(void) {
    cprof__recorder *r = cprof__this_thread;
    if (!r) return 0;
    return (r->counters != NULL) + 2 * (r->root.first_child && r->root.first_child->counter_values != NULL);
}

/* As the capture adds a node's figures, the profile's running ratio started afresh. */
void cprof__test_counters_add_scaled(cprof_profile *p, uint32_t node, const uint64_t *raw, uint32_t depth) {
    cprof__counter_time[0] = cprof__counter_time[1] = 0;
    cprof__counters_add_scaled(p, node, raw, depth);
}

const char *cprof__test_counter_reason(char *out, size_t size, int error, int in_kernel) {
    return cprof__counter_reason(out, size, error < 0 ? CPROF__NOT_LINUX : error, in_kernel);
}

#if defined(CPROF__LINUX)
void cprof__test_mmap_page_decode(const void *page, uint64_t pmc, uint64_t tsc, uint64_t out[3]) {
    cprof__mmap_page_decode((const struct perf_event_mmap_page *)page, pmc, tsc, out);
}
#endif

void cprof__test_flame_color(const char *name, int rgb[3]) { cprof__flame_color(name, rgb); }

const char *cprof__test_duration(char out[24], uint64_t ns) { return cprof__duration(out, ns); }
const char *cprof__test_count(char out[32], uint64_t value) { return cprof__count(out, value); }
size_t cprof__test_display_width(const char *text) { return cprof__display_width(text); }
size_t cprof__test_text_width(const char *text, size_t length) { return cprof__text_width(text, length); }
uint64_t cprof__test_u64_rounded(double value) { return cprof__u64_rounded(value); }
void cprof__test_write_outputs_at_exit(void) { cprof__write_outputs_at_exit(); }
size_t cprof__test_recorder_bytes(void) { return sizeof(cprof__recorder) + 64 * sizeof(cprof__rnode); }

int cprof__test_compensate_kinds(cprof_profile *p, const double figures[5]) {
    cprof__own_cost cost = {figures[0], figures[1], figures[2], figures[3], figures[4]};
    cprof__counted_totals(p);
    if (cprof__compensate(p, &cost)) return -1;
    return cprof__profile_derive(p);
}

int cprof__test_compensate(cprof_profile *p, double inside_ns, double outside_ns) {
    const double figures[5] = {inside_ns, outside_ns, 0, 0, 0};
    return cprof__test_compensate_kinds(p, figures);
}

int cprof__test_sample_count(const uintptr_t *pcs, uint32_t frames, uint64_t periods) {
#if defined(CPROF__SAMPLING)
    cprof__recorder *r = cprof__recorder_get();
    if (!r || frames == 0 || frames > CPROF__SAMPLE_FRAMES) return -1;
    if (!r->samples) {
        cprof__sample_thread *s = cprof__sample_table_new();
        if (!s) return -1;
        CPROF__STORE_RELEASE(r->samples, s);
    }
    cprof__sample_count(r->samples, r->stack[r->depth].node, pcs, frames, periods);
    return 0;
#else
    (void)pcs, (void)frames, (void)periods;
    return -1;
#endif
}

size_t cprof__test_children(uint32_t depth, size_t *table_slots) {
    const cprof__rnode *node = cprof__this_thread->stack[depth].node;
    *table_slots = node->child_index ? node->child_index->capacity : 0;
    return node->child_count;
}

size_t cprof__test_textf(char *out, size_t size, const char *format, ...) {
    cprof__buf b;
    va_list args;
    memset(&b, 0, sizeof b);
    va_start(args, format);
    cprof__buf_vtextf(&b, format, &args);
    va_end(args);
    return cprof__buf_to_buffer(&b, out, size);
}
#endif /* CPROF_TESTING */

/* ==================================================================================================
   >>tool: the cprof command-line tool, compiled from this header with -DCPROF_IMPLEMENTATION -DCPROF_MAIN
   ================================================================================================== */
#ifdef CPROF_MAIN
#if defined(CPROF__SAMPLING)
#include <sys/wait.h> /* record: waitpid */
#endif
static const char cprof__tool_help[] =
    "usage: cprof COMMAND [OPTIONS] PROFILE.json\n"
    "\n"
    "  report [--min-pct=X] [--max-functions=N] P.json\n"
    "                      the text report; call-tree nodes below X% of the run hidden (default 0.5)\n"
    "  stats P.json        one tab-separated row per function, with a header line\n"
    "  folded [--threads] [--metric=time|calls|alloc-bytes|alloc-count|COUNTER] [-o FILE] P.json\n"
    "                      collapsed stacks (flamegraph.pl, speedscope): each call path's own value,\n"
    "                      by default its self time in ns (calls: calls, alloc-*: bytes or allocations,\n"
    "                      a counter: its events); --threads starts each stack with \"[thread NAME]\"\n"
    "  pprof [-o FILE] P.json\n"
    "                      profile.proto for go tool pprof, Pyroscope, Parca (gzip when FILE ends in .gz)\n"
    "  callgrind [-o FILE] P.json\n"
    "                      callgrind's format for callgrind_annotate and KCachegrind\n"
    "  speedscope [-o FILE] P.json\n"
    "                      speedscope's JSON: a profile per thread and metric\n"
    "  flamegraph [--metric=time|calls|alloc-bytes|alloc-count|COUNTER] [--inverted] [--min-width=PCT] [--width=PX] [--title=TEXT] P.json\n"
    "                      an interactive SVG flame graph (one file, open it in a browser);\n"
    "                      alloc-bytes and alloc-count: the allocations made in each scope (CPROF_WRAP_MALLOC)\n"
    "  leaks P.json        blocks still allocated at capture, by allocation site, the largest first\n"
    "  diff [OPTIONS] BEFORE.json AFTER.json   (several runs a side: B1.json ... -- A1.json ...)\n"
    "                      what got faster or slower: beyond --threshold (default 5%), at least --min-share\n"
    "                      of the run (0.5%) and beyond the noise; a time by its share of the run (the\n"
    "                      load cancels). Several runs a side: a t-test on the runs (times: moderated, on the\n"
    "                      logs of their shares), Benjamini-Hochberg;\n"
    "                      one run a side: a share's factor beyond --single-run-threshold (default 50%) in a\n"
    "                      function of at least --single-run-min-share (10%). Exit 1 on a regression of the\n"
    "                      --fail-on kind, for CI gates; benchmarks too. `cprof help diff`: every option\n"
    "  diff --noise A1.json A2.json ...\n"
    "                      several runs of one build: each function's largest factor of its share of the\n"
    "                      run between two runs, and the --single-run-threshold that none of them passed\n"
    "  analyze [--json] P.json\n"
    "                      the bottleneck and the problems found, ranked, each with a recommendation;\n"
    "                      thresholds from CPROF_ANALYZE=key=value,..., budgets from CPROF_BUDGET=name=100ms,...\n"
    "  bench P.json        the benchmarks: statistics, implementations compared, scaling\n"
    "  trace P.json        the timeline (CPROF_TIMELINE=N) as Chrome trace events: open it in\n"
    "                      Perfetto UI (ui.perfetto.dev) or chrome://tracing\n"
    "  merge [--threads=name|apart] A.json B.json ...\n"
    "                      one profile of many runs, processes or hosts: counts and times summed per call\n"
    "                      path, threads with the same name merged (apart: kept); a profile every verb reads\n"
    "  record [-F HZ] [-o PREFIX] -- PROGRAM ARGS...\n"
    "                      run an unmodified program with CPU sampling (default 1000 Hz) preloaded\n"
    "                      (libcprof-sample.so next to cprof or in ../lib); PREFIX.txt .json .folded .svg at its exit\n"
    "  help [COMMAND]      this text, or a command's options\n"
    "  --version           the version\n"
    "\n"
    "Every command: -o FILE (or --output=FILE) writes to FILE instead of stdout; a profile named - is read\n"
    "from stdin; options are --name=value or --name value, before or after the profiles; -- ends them.\n"
    "Output goes to stdout, errors to stderr. Exit status: 0 ok, 1 bad input, 2 bad usage.\n";

/* A message on stderr (the tool's errors), its %s arguments shown as by cprof__buf_textf: an option or
   a file name typed by the user, a name from a profile. */
static void cprof__stderr_textf(const char *format, ...) {
    cprof__buf b;
    va_list args;
    memset(&b, 0, sizeof b);
    va_start(args, format);
    cprof__buf_vtextf(&b, format, &args);
    va_end(args);
    if (b.data) fputs(b.data, stderr);
    cprof__buf_free(&b);
}

static int cprof__tool_usage(const char *format, const char *detail) {
    fprintf(stderr, "cprof: ");
    cprof__stderr_textf(format, detail);
    fprintf(stderr, "\nrun 'cprof help' for usage\n");
    return 2;
}

/* "time, calls": the metrics --metric accepts. */
static void cprof__flame_metric_names(cprof__buf *b) {
    for (size_t i = 0; i < CPROF__METRIC_COUNT; i++)
        cprof__buf_printf(b, "%s%s", i ? ", " : "", cprof__metrics[i].name);
}

static int cprof__unknown_metric(const char *verb, const char *name) {
    cprof__buf names;
    memset(&names, 0, sizeof names);
    cprof__flame_metric_names(&names);
    cprof__stderr_textf("cprof: %s: unknown metric \"%s\" (available: %s, or a counter such as page-faults)\n",
            verb, name, names.data ? names.data : "");
    cprof__buf_free(&names);
    return -1;
}

/* The command line, the same for every verb (a new verb only lists its options in cprof__tool_verbs):
   options before or after the operands, as --name=value or --name value; "--" ends the options;
   "-" is standard input (once); -o FILE (or --output=FILE) writes to FILE instead of standard output,
   through a temporary renamed at the end, so that a failed run leaves no half file. */
typedef struct cprof__tool_option {
    const char *name;  /* "--min-pct" */
    const char *value; /* the value's placeholder ("PCT"); NULL: a flag, without a value */
    const char *help;  /* for `cprof help VERB` */
} cprof__tool_option;

enum { CPROF__TOOL_MAX_OPTIONS = 8 };

typedef struct cprof__tool_args {
    const char *values[CPROF__TOOL_MAX_OPTIONS]; /* per option of the verb: its value, "" for a flag given,
                                                    NULL when absent */
    char **files;       /* the operands, gathered in place in argv */
    int file_count;
    int split;          /* operands before a "--" that follows one (diff's before runs); -1 when none */
    const char *output; /* -o FILE; NULL: standard output */
    FILE *out;          /* opened by cprof__tool_out when the verb starts writing */
    int complete;       /* set by the verb when everything was written: -o FILE is then renamed into place */
    char temporary[4200];
} cprof__tool_args;

typedef struct cprof__tool_verb {
    const char *name;
    int (*run)(cprof__tool_args *a);
    const char *operands;     /* "P.json" (usage) */
    int min_files, max_files; /* max_files 0: any number */
    int runs;                 /* 1: a "--" after an operand separates the before runs from the after runs */
    const char *summary;      /* what it does, for `cprof help VERB` */
    const cprof__tool_option *options;
} cprof__tool_verb;

static size_t cprof__tool_option_count(const cprof__tool_verb *verb) {
    size_t count = 0;
    while (verb->options && verb->options[count].name) count++;
    return count;
}

/* The option named by arg (up to '=' when there is one), or -1. */
static int cprof__tool_find_option(const cprof__tool_verb *verb, const char *arg, size_t length) {
    for (size_t k = 0; k < cprof__tool_option_count(verb); k++)
        if (strlen(verb->options[k].name) == length && strncmp(verb->options[k].name, arg, length) == 0) return (int)k;
    return -1;
}

/* The option at argv[*i] (taking its value from the next argument when it has no '='); 0, or 2 after
   a usage message. */
static int cprof__tool_option_at(const cprof__tool_verb *verb, cprof__tool_args *a, int argc, char **argv, int *i) {
    const char *arg = argv[*i];
    size_t length = strcspn(arg, "=");
    int is_output = strcmp(arg, "-o") == 0 || (length == 8 && strncmp(arg, "--output", 8) == 0);
    int k = is_output ? -1 : cprof__tool_find_option(verb, arg, length);
    if (!is_output && k < 0) return cprof__tool_usage("unknown option '%s'", arg);
    const char *name = is_output ? "-o" : verb->options[k].name;
    const char *value = arg[length] == '=' ? arg + length + 1 : NULL;
    if (!is_output && !verb->options[k].value) {
        if (value) return cprof__tool_usage("option '%s' takes no value", name);
        a->values[k] = "";
        return 0;
    }
    if (!value && *i + 1 < argc) value = argv[++*i];
    if (!value) return cprof__tool_usage("option '%s' needs a value: --name=value or --name value", name);
    if (is_output && (!*value || strlen(value) > 4000)) /* room for ".tmp.PID" in cprof__tool_args */
        return cprof__tool_usage("%s", "-o needs a file name of at most 4000 bytes");
    if (is_output) a->output = strcmp(value, "-") == 0 ? NULL : value; /* -o -: standard output */
    else a->values[k] = value;
    return 0;
}

/* Fills a from the arguments after the verb's name; 0, or 2 after a usage message. */
static int cprof__tool_parse(const cprof__tool_verb *verb, cprof__tool_args *a, int argc, char **argv) {
    int options_ended = 0, stdin_used = 0;
    memset(a, 0, sizeof *a);
    a->split = -1;
    a->files = argv;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        int dashes = strcmp(arg, "--") == 0;
        if (dashes && !options_ended && !(verb->runs && a->file_count)) {
            options_ended = 1;
        } else if (dashes && verb->runs) {
            if (a->split >= 0) return cprof__tool_usage("%s", "one '--' between the before and the after runs");
            a->split = a->file_count;
        } else if (!options_ended && arg[0] == '-' && arg[1]) {
            if (cprof__tool_option_at(verb, a, argc, argv, &i)) return 2;
        } else {
            if (strcmp(arg, "-") == 0 && stdin_used++) return cprof__tool_usage("%s", "standard input ('-') given twice");
            argv[a->file_count++] = argv[i];
        }
    }
    if (a->file_count < verb->min_files) {
        char usage[200];
        cprof__snprintf(usage, sizeof usage, "usage: cprof %s [OPTIONS] %s", verb->name, verb->operands);
        return cprof__tool_usage("%s", verb->min_files == 1 && !a->file_count ? "no profile given" : usage);
    }
    if (verb->max_files && a->file_count > verb->max_files)
        return cprof__tool_usage("one profile expected, got a second: '%s'", a->files[1]);
    return 0;
}

/* A profile from a file, or from standard input for "-". 0, or 1 after the loader's message. */
static int cprof__tool_load(const char *path, cprof_profile **p) {
    int failed;
    if (strcmp(path, "-") == 0) {
        size_t length, capacity;
        char *text = cprof__read_stream(stdin, "(stdin)", &length, &capacity);
        failed = !text || cprof_load_string(text, length, "(stdin)", p) != 0;
        cprof__release(text, capacity);
    } else {
        failed = cprof_load(path, p) != 0;
    }
    if (failed) fprintf(stderr, "cprof: %s\n", cprof_error());
    return failed;
}

/* Where the verb writes: standard output, or -o FILE's temporary (opened at the first call). NULL
   after a message when the temporary cannot be created. */
static FILE *cprof__tool_out(cprof__tool_args *a) {
    if (a->out || !a->output) return a->out ? a->out : stdout;
    cprof__temporary_name(a->temporary, sizeof a->temporary, a->output);
    a->out = fopen(a->temporary, "wb");
    if (!a->out) cprof__stderr_textf("cprof: %s: cannot write: %s\n", a->output, strerror(errno));
    return a->out;
}

/* After the verb: -o FILE's temporary renamed to FILE when the output is whole (a->complete: also
   with diff's exit status 1 for a regression), else removed. Returns the exit status. */
static int cprof__tool_close(cprof__tool_args *a, int status) {
    if (!a->out) return status;
    int failed = fclose(a->out) != 0 || !a->complete;
    if (!failed && cprof__replace_file(a->temporary, a->output) == 0) return status;
    if (!failed) cprof__stderr_textf("cprof: %s: cannot write: %s\n", a->output, strerror(errno));
    remove(a->temporary);
    return status ? status : 1;
}

static int cprof__tool_finish(cprof__tool_args *a, int written, cprof_profile *p) {
    cprof_profile_free(p);
    FILE *out = cprof__tool_out(a);
    if (written == 0 && out && fflush(out) == 0) return a->complete = 1, 0;
    if (out) fprintf(stderr, "cprof: cannot write the output: %s\n", strerror(errno));
    return 1;
}

static int cprof__tool_number(const char *text, double *out) {
    char *end;
    *out = cprof__strtod_c(text, &end);
    return *text && !*end && isfinite(*out) && *out >= 0;
}

/* Loads the verb's one profile; 0, or 1 after a message (the load's, or the output's). */
static int cprof__tool_load_one(cprof__tool_args *a, cprof_profile **p) {
    if (cprof__tool_load(a->files[0], p)) return 1;
    if (cprof__tool_out(a)) return 0;
    cprof_profile_free(*p);
    return 1;
}

static int cprof__tool_report(cprof__tool_args *a) {
    cprof_profile *p;
    cprof_report_options o = cprof_report_defaults();
    double number;
    if (a->values[0]) {
        if (!cprof__tool_number(a->values[0], &number) || number > 100)
            return cprof__tool_usage("--min-pct takes a percentage from 0 to 100, not '%s'", a->values[0]);
        o.tree_min_pct = number;
    }
    if (a->values[1]) {
        if (!cprof__tool_number(a->values[1], &number) || number != (double)(uint32_t)number)
            return cprof__tool_usage("--max-functions takes a whole number, not '%s'", a->values[1]);
        o.max_functions = (uint32_t)number;
    }
    if (cprof__tool_load_one(a, &p)) return 1;
    return cprof__tool_finish(a, cprof_report_write(p, cprof__tool_out(a), &o), p);
}

static int cprof__tool_stats(cprof__tool_args *a) {
    cprof_profile *p;
    if (cprof__tool_load_one(a, &p)) return 1;
    return cprof__tool_finish(a, cprof_stats_write(p, cprof__tool_out(a)), p);
}

static int cprof__tool_folded(cprof__tool_args *a) {
    cprof_profile *p;
    cprof_folded_options o = cprof_folded_defaults();
    o.thread_frames = a->values[0] != NULL;
    o.metric = a->values[1];
    if (o.metric && !cprof__metric_find(o.metric) && cprof__event_find(o.metric, strlen(o.metric)) == CPROF_NONE)
        return cprof__unknown_metric("folded", o.metric), 2;
    if (cprof__tool_load(a->files[0], &p)) return 1;
    cprof__profile_metric metric;
    if (cprof__profile_metric_find(p, o.metric, &metric)) {
        cprof__stderr_textf("cprof: %s: the profile has no counted \"%s\" (record with CPROF_COUNTERS=%s)\n", a->files[0],
                            o.metric, o.metric);
        return cprof_profile_free(p), 1;
    }
    if (!cprof__tool_out(a)) return cprof_profile_free(p), 1;
    return cprof__tool_finish(a, cprof_folded_write(p, cprof__tool_out(a), &o), p);
}

/* `cprof pprof [-o FILE] P.json`: gzip when FILE ends in .gz. */
static int cprof__tool_pprof(cprof__tool_args *a) {
    cprof_profile *p;
    size_t length = a->output ? strlen(a->output) : 0;
    int gzipped = length > 3 && strcmp(a->output + length - 3, ".gz") == 0;
    if (cprof__tool_load_one(a, &p)) return 1;
    return cprof__tool_finish(a, cprof_pprof_write(p, cprof__tool_out(a), gzipped), p);
}

static int cprof__tool_callgrind(cprof__tool_args *a) {
    cprof_profile *p;
    if (cprof__tool_load_one(a, &p)) return 1;
    return cprof__tool_finish(a, cprof_callgrind_write(p, cprof__tool_out(a)), p);
}

static int cprof__tool_speedscope(cprof__tool_args *a) {
    cprof_profile *p;
    if (cprof__tool_load_one(a, &p)) return 1;
    return cprof__tool_finish(a, cprof_speedscope_write(p, cprof__tool_out(a)), p);
}

static int cprof__tool_trace(cprof__tool_args *a) {
    cprof_profile *p;
    if (cprof__tool_load(a->files[0], &p)) return 1;
    if (!p->timeline_capacity) {
        cprof__stderr_textf("cprof: %s: no timeline in this profile (record it with CPROF_TIMELINE=N)\n", a->files[0]);
        cprof_profile_free(p);
        return 1;
    }
    if (!cprof__tool_out(a)) return cprof_profile_free(p), 1;
    return cprof__tool_finish(a, cprof_trace_write(p, cprof__tool_out(a)), p);
}

/* `cprof flamegraph`'s options (--metric, --inverted, --min-width, --width, --title) into o; 0, or 2
   after a message. */
static int cprof__flame_options(const cprof__tool_args *a, cprof_flamegraph_options *o) {
    char *end = NULL;
    *o = cprof_flamegraph_defaults();
    if (a->values[0]) {
        o->metric = a->values[0];
        if (!cprof__metric_find(o->metric) && cprof__event_find(o->metric, strlen(o->metric)) == CPROF_NONE)
            return cprof__unknown_metric("flamegraph", o->metric), 2;
    }
    o->inverted = a->values[1] != NULL;
    if (a->values[2]) {
        o->min_width_pct = cprof__strtod_c(a->values[2], &end);
        if (end == a->values[2] || *end || !(o->min_width_pct >= 0.0 && o->min_width_pct <= 100.0))
            return cprof__tool_usage("--min-width takes a percentage from 0 to 100, not '%s'", a->values[2]);
    }
    if (a->values[3]) {
        unsigned long width = strtoul(a->values[3], &end, 10);
        if (end == a->values[3] || *end || width < 200 || width > 100000)
            return cprof__tool_usage("--width takes 200 to 100000 pixels, not '%s'", a->values[3]);
        o->width = (uint32_t)width;
    }
    if (a->values[4]) o->title = a->values[4];
    return 0;
}

static int cprof__tool_flamegraph(cprof__tool_args *a) {
    cprof_flamegraph_options o;
    cprof_profile *p;
    if (cprof__flame_options(a, &o)) return 2;
    if (cprof__tool_load(a->files[0], &p)) return 1;
    uint32_t k = o.metric && !cprof__metric_find(o.metric) ? cprof_counter_find(p, o.metric) : 0;
    if (k == CPROF_NONE || (o.metric && !cprof__metric_find(o.metric) && !p->counters[k].available)) {
        cprof__stderr_textf("cprof: %s: the profile has no counted \"%s\" (record with CPROF_COUNTERS=%s)\n", a->files[0],
                o.metric, o.metric);
        cprof_profile_free(p);
        return 1;
    }
    if (!cprof__tool_out(a)) return cprof_profile_free(p), 1;
    return cprof__tool_finish(a, cprof_flamegraph_write(p, cprof__tool_out(a), &o), p);
}

static int cprof__tool_memory(cprof__tool_args *a) {
    cprof_profile *p;
    if (cprof__tool_load(a->files[0], &p)) return 1;
    if (!p->memory_point_count) {
        cprof__stderr_textf("cprof: %s: no memory series in this profile (allocations tracked with CPROF_WRAP_MALLOC, "
                            "profile format 1.2)\n", a->files[0]);
        cprof_profile_free(p);
        return 1;
    }
    if (!cprof__tool_out(a)) return cprof_profile_free(p), 1;
    return cprof__tool_finish(a, cprof_memory_chart_write(p, cprof__tool_out(a)), p);
}

static int cprof__tool_analyze(cprof__tool_args *a) {
    cprof_profile *p;
    if (cprof__tool_load_one(a, &p)) return 1;
    cprof_findings *f = cprof_analyze(p, NULL);
    if (!f) {
        cprof_profile_free(p);
        fprintf(stderr, "cprof: analyze: out of memory\n");
        return 1;
    }
    FILE *out = cprof__tool_out(a);
    int written = a->values[0] ? cprof_analysis_json_write(f, out) : cprof_analysis_write(f, out);
    cprof_findings_free(f);
    return cprof__tool_finish(a, written, p);
}

static int cprof__tool_leaks(cprof__tool_args *a) {
    cprof_profile *p;
    if (cprof__tool_load_one(a, &p)) return 1;
    return cprof__tool_finish(a, cprof_leaks_write(p, cprof__tool_out(a)), p);
}

static int cprof__tool_bench(cprof__tool_args *a) {
    cprof_profile *p;
    if (cprof__tool_load_one(a, &p)) return 1;
    return cprof__tool_finish(a, cprof_bench_write(p, cprof__tool_out(a)), p);
}

/* `cprof diff`: its options and the profiles of each side. */
typedef struct cprof__diff_arguments {
    cprof_compare_options options;
    int fail_on;
    const char *svg;   /* --svg: the differential flame graph's file; NULL: none */
    int before_widths;
    int noise;         /* --noise: the files are runs of one build; print their noise */
    char **files;      /* the before runs, then the after runs */
    int count, before; /* files, and how many of them are before runs */
    FILE *out;
} cprof__diff_arguments;

static int cprof__diff_fail_on(const char *text) {
    static const char *const names[] = {"none", "time", "alloc", "any"}; /* in CPROF_FAIL_* order */
    for (int i = 0; i < 4; i++)
        if (strcmp(text, names[i]) == 0) return i;
    return -1;
}

/* BEFORE.json AFTER.json, or BEFORE... -- AFTER... (several runs a side); 0, or 2 after a message. */
static int cprof__diff_parse(cprof__diff_arguments *d, const cprof__tool_args *a) {
    double number;
    memset(d, 0, sizeof *d);
    d->options = cprof_compare_defaults();
    d->fail_on = CPROF_FAIL_ANY;
    if (a->values[0]) {
        if (!cprof__tool_number(a->values[0], &number)) return cprof__tool_usage("--threshold takes a percentage, not '%s'", a->values[0]);
        d->options.threshold_pct = number;
    }
    if (a->values[1] && (d->fail_on = cprof__diff_fail_on(a->values[1])) < 0)
        return cprof__tool_usage("--fail-on takes none, time, alloc or any, not '%s'", a->values[1]);
    d->svg = a->values[2];
    d->before_widths = a->values[3] != NULL;
    if (a->values[4]) {
        if (!cprof__tool_number(a->values[4], &number) || number > 100)
            return cprof__tool_usage("--min-share takes a percentage of the run, not '%s'", a->values[4]);
        d->options.min_share_pct = number;
    }
    if (a->values[5]) {
        if (!cprof__tool_number(a->values[5], &number))
            return cprof__tool_usage("--single-run-threshold takes a percentage, not '%s'", a->values[5]);
        d->options.single_run_threshold_pct = d->options.bench_single_run_threshold_pct = number;
        d->options.bench_group_single_run_threshold_pct = number;
    }
    d->noise = a->values[6] != NULL;
    if (a->values[7]) {
        if (!cprof__tool_number(a->values[7], &number) || number > 100)
            return cprof__tool_usage("--single-run-min-share takes a percentage of the run, not '%s'", a->values[7]);
        d->options.single_run_min_share_pct = number;
    }
    d->files = a->files;
    d->count = a->file_count;
    if (d->noise) {
        if (a->split >= 0 || d->count < 2)
            return cprof__tool_usage("%s", "usage: cprof diff --noise A1.json A2.json ... (two or more runs of one build, no '--')");
        d->before = d->count;
        return 0;
    }
    d->before = a->split >= 0 ? a->split : a->file_count == 2 ? 1 : -1;
    if (d->before < 1 || d->count - d->before < 1)
        return cprof__tool_usage("%s", "usage: cprof diff [OPTIONS] BEFORE.json AFTER.json, or B1.json B2.json... -- A1.json A2.json...");
    return 0;
}

static int cprof__diff_svg(const cprof__diff_arguments *a, const cprof_profile *before, const cprof_profile *after) {
    FILE *f = fopen(a->svg, "wb");
    int failed = !f || cprof_diff_flamegraph_write(before, after, f, NULL, a->before_widths) != 0;
    if (f) failed |= fclose(f) != 0;
    if (failed) cprof__stderr_textf("cprof: diff: cannot write %s: %s\n", a->svg, strerror(errno));
    return failed;
}

/* >>bench: the runs' benchmarks compared, when there are any; 1 when one regressed and time gates. */
static int cprof__diff_benchmarks(const cprof__diff_arguments *a, cprof_profile **runs) {
    int any = 0;
    for (int i = 0; i < a->count; i++) any |= runs[i]->benchmark_count > 0;
    if (!any) return 0;
    fputc('\n', a->out);
    int regressed = cprof_bench_compare_runs_write((const cprof_profile *const *)runs, (size_t)a->before,
                                                   (const cprof_profile *const *)runs + a->before,
                                                   (size_t)(a->count - a->before), a->out, &a->options);
    if (regressed < 0) fprintf(stderr, "cprof: diff: benchmarks: out of memory or a write error\n");
    return regressed < 0 || (regressed > 0 && (a->fail_on == CPROF_FAIL_TIME || a->fail_on == CPROF_FAIL_ANY));
}

/* --noise: exit 0, or 1 on a write error or without memory. */
static int cprof__diff_noise(cprof__tool_args *args, const cprof__diff_arguments *a, cprof_profile **runs) {
    FILE *out = cprof__tool_out(args);
    int failed = !out || cprof_noise_write((const cprof_profile *const *)runs, (size_t)a->count, out, &a->options, 20);
    if (failed && out) fprintf(stderr, "cprof: diff --noise: out of memory or a write error\n");
    args->complete = !failed && fflush(out) == 0;
    return failed;
}

/* Exit status: 0 no significant regression, 1 one (of the --fail-on kind) or bad input, 2 bad usage. */
static int cprof__tool_diff(cprof__tool_args *args) {
    cprof__diff_arguments a;
    if (cprof__diff_parse(&a, args)) return 2;
    size_t bytes = (size_t)a.count * sizeof(cprof_profile *);
    cprof_profile **runs = (cprof_profile **)cprof__alloc(bytes);
    int status = runs ? 0 : 1, loaded = 0;
    while (!status && loaded < a.count && !(status = cprof__tool_load(a.files[loaded], &runs[loaded]))) loaded++;
    if (a.noise) {
        status = status ? status : cprof__diff_noise(args, &a, runs);
        for (int i = 0; i < loaded; i++) cprof_profile_free(runs[i]);
        cprof__release(runs, bytes);
        return status;
    }
    char labels[2][600]; /* "b1.json", or "b1.json and 4 more runs" */
    for (int s = 0; s < 2; s++) {
        int first = s ? a.before : 0, runs_of_side = s ? a.count - a.before : a.before;
        if (runs_of_side == 1) cprof__snprintf(labels[s], sizeof labels[s], "%s", a.files[first]);
        else cprof__snprintf(labels[s], sizeof labels[s], "%s and %d more run%s", a.files[first], runs_of_side - 1,
                             runs_of_side == 2 ? "" : "s");
    }
    a.options.before_label = labels[0];
    a.options.after_label = labels[1];
    a.out = status ? NULL : cprof__tool_out(args);
    status |= !a.out;
    cprof_comparison *c = status ? NULL : cprof_compare_runs((const cprof_profile *const *)runs, (size_t)a.before,
                                                             (const cprof_profile *const *)runs + a.before,
                                                             (size_t)(a.count - a.before), &a.options);
    if (!status && (!c || cprof_comparison_write(c, a.out) || fflush(a.out))) {
        fprintf(stderr, "cprof: diff: %s\n", c ? "cannot write the report" : "out of memory");
        status = 1;
    }
    if (!status && a.svg) status = cprof__diff_svg(&a, runs[0], runs[a.before]);
    int bench_regressed = status ? 0 : cprof__diff_benchmarks(&a, runs);
    args->complete = !status && fflush(a.out) == 0;
    if (!status) status = cprof_comparison_failed(c, a.fail_on) || bench_regressed;
    cprof_comparison_free(c);
    for (int i = 0; i < loaded; i++) cprof_profile_free(runs[i]);
    cprof__release(runs, bytes);
    return status;
}

/* `cprof merge A.json B.json ... [-o all.json]`: one profile of them all (see cprof_merge). */
static int cprof__tool_merge(cprof__tool_args *a) {
    cprof_merge_options o = cprof_merge_defaults();
    if (a->values[0] && strcmp(a->values[0], "name") != 0 && strcmp(a->values[0], "apart") != 0)
        return cprof__tool_usage("--threads takes name or apart, not '%s'", a->values[0]);
    o.threads_apart = a->values[0] && strcmp(a->values[0], "apart") == 0;
    size_t bytes = (size_t)a->file_count * sizeof(cprof_profile *);
    cprof_profile **inputs = (cprof_profile **)cprof__alloc(bytes);
    int status = inputs ? 0 : 1, loaded = 0;
    while (!status && loaded < a->file_count && !(status = cprof__tool_load(a->files[loaded], &inputs[loaded]))) loaded++;
    cprof_profile *merged = status ? NULL : cprof_merge((const cprof_profile *const *)inputs, (size_t)loaded, &o);
    if (!status && !merged) fprintf(stderr, "cprof: merge: out of memory\n");
    for (int i = 0; i < loaded; i++) cprof_profile_free(inputs[i]);
    cprof__release(inputs, bytes);
    if (!merged || !cprof__tool_out(a)) return cprof_profile_free(merged), 1;
    return cprof__tool_finish(a, cprof_json_write(merged, cprof__tool_out(a)), merged);
}

static const cprof__tool_option cprof__report_options[] = {
    {"--min-pct", "PCT", "hide call-tree nodes below PCT% of the run (default 0.5; 0 shows all)"},
    {"--max-functions", "N", "show the N functions with the most self time (default 0: all)"},
    {NULL, NULL, NULL}};
static const cprof__tool_option cprof__folded_options[] = {
    {"--threads", NULL, "start each stack with \"[thread NAME]\""},
    {"--metric", "NAME", "each call path's own value: time in ns (default), calls, alloc-bytes, alloc-count or a counter"},
    {NULL, NULL, NULL}};
static const cprof__tool_option cprof__flamegraph_options[] = {
    {"--metric", "NAME", "a frame's width: time (default), calls, alloc-bytes, alloc-count or a counter"},
    {"--inverted", NULL, "an icicle graph: the root on top"},
    {"--min-width", "PCT", "frames narrower than PCT% of the whole are not drawn (default 0.1)"},
    {"--width", "PX", "the image's width, 200 to 100000 pixels (default 1200)"},
    {"--title", "TEXT", "the title (default: \"Flame graph: \" and the program)"},
    {NULL, NULL, NULL}};
static const cprof__tool_option cprof__analyze_options[] = {
    {"--json", NULL, "the findings as JSON"}, {NULL, NULL, NULL}};
static const cprof__tool_option cprof__diff_options[] = {
    {"--threshold", "PCT", "a change smaller than PCT% is unchanged (default 5)"},
    {"--fail-on", "KIND", "exit 1 on a significant regression of: none, time, alloc or any (default)"},
    {"--svg", "OUT.svg", "also write the differential flame graph to OUT.svg"},
    {"--before-widths", NULL, "the differential flame graph's widths from the before profile"},
    {"--min-share", "PCT", "a change counts only when it is at least PCT% of the run (default 0.5)"},
    {"--single-run-threshold", "PCT", "one run a side: times and counters count only beyond this factor either way "
                                      "(100: 2x; a self time's share of the run; default 50; 0: never); also benchmarks' "
                                      "(default: never when timed alone, 50 in a group)"},
    {"--noise", NULL, "the profiles are runs of one build: each function's noise and a threshold to use"},
    {"--single-run-min-share", "PCT", "one run a side: a time counts only in a function holding at least PCT% of "
                                      "the run on both sides (default 10)"},
    {NULL, NULL, NULL}};
static const cprof__tool_option cprof__merge_options[] = {
    {"--threads", "HOW", "name (default): threads with the same name summed; apart: each input's threads kept, "
                         "named \"NAME (run K)\""},
    {NULL, NULL, NULL}};

#if defined(CPROF__SAMPLING) /* record: Linux, and a tool built with _DEFAULT_SOURCE (the Makefile's) */
/* The sampling library next to the tool (the build directory) or in ../lib (an installed PREFIX/bin). */
static int cprof__record_library(char *path, size_t size) {
    char self[4096];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0) return -1;
    self[length] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash) return -1;
    *slash = '\0';
    const char *places[2] = {"%s/libcprof-sample.so", "%s/../lib/libcprof-sample.so"};
    for (int i = 0; i < 2; i++) {
        cprof__snprintf(path, size, places[i], self);
        if (access(path, R_OK) == 0) return 0;
    }
    return -1;
}

/* record: the program runs with the sampling library preloaded, CPROF_SAMPLE and CPROF_OUT set; the
   library puts LD_PRELOAD back as it was (CPROF_RECORD_LD_PRELOAD) so that programs it runs in turn
   are not recorded over its files. Exit status: the program's (128 + N when a signal ended it). */
static const char cprof__record_help[] =
    "usage: cprof record [-F HZ] [-o PREFIX] -- PROGRAM ARGS...\n"
    "  runs an unmodified program with CPU sampling preloaded (libcprof-sample.so next to cprof or in ../lib)\n"
    "  and writes PREFIX.txt .json .folded .svg at its exit; the exit status is the program's\n"
    "  -F HZ      samples per second of each thread's CPU time, 1 to 100000 (default 1000)\n"
    "  -o PREFIX  the files' prefix (default cprof); a fork() child writes PREFIX.PID.*\n"
    "  Programs built without frame pointers give flat samples: build with -fno-omit-frame-pointer.\n";

static int cprof__tool_record(int argc, char **argv) {
    const char *hz = "1000", *prefix = "cprof";
    int i = 0;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return fputs(cprof__record_help, stdout), 0;
        if (!strcmp(argv[i], "-F") && i + 1 < argc) hz = argv[++i];
        else if (!strcmp(argv[i], "-o") && i + 1 < argc) prefix = argv[++i];
        else return cprof__tool_usage("record: unknown option '%s' (cprof record [-F HZ] [-o PREFIX] -- PROGRAM ARGS)", argv[i]);
    }
    if (i + 1 >= argc) return cprof__tool_usage("record: %s", "no program after --");
    char *end = NULL;
    long rate = strtol(hz, &end, 10);
    if (*end || rate < 1 || rate > 100000) return cprof__tool_usage("record: -F %s: not a rate from 1 to 100000", hz);
    char library[4200];
    if (cprof__record_library(library, sizeof library)) {
        fprintf(stderr, "cprof: record: libcprof-sample.so is neither next to cprof nor in ../lib (make builds it)\n");
        return 1;
    }
    const char *before = getenv("LD_PRELOAD");
    size_t bytes = strlen(library) + (before ? strlen(before) : 0) + 2;
    char *preload = (char *)malloc(bytes);
    if (!preload) return 1;
    cprof__snprintf(preload, bytes, before && *before ? "%s:%s" : "%s", library, before ? before : "");
    if (before) setenv("CPROF_RECORD_LD_PRELOAD", before, 1);
    setenv("CPROF_RECORD", "1", 1);
    setenv("LD_PRELOAD", preload, 1);
    setenv("CPROF_SAMPLE", hz, 1);
    setenv("CPROF_OUT", prefix, 1);
    free(preload);
    char json[4200];
    struct stat before_run, after_run;
    cprof__snprintf(json, sizeof json, "%s.json", prefix);
    int existed = stat(json, &before_run) == 0;
    int exec_failed[2]; /* the child's errno when exec fails; closed by a successful exec */
    if (pipe(exec_failed) != 0 || fcntl(exec_failed[1], F_SETFD, FD_CLOEXEC) != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
        close(exec_failed[0]);
        execvp(argv[i + 1], argv + i + 1);
        int error = errno;
        ssize_t written = write(exec_failed[1], &error, sizeof error);
        _exit(written == (ssize_t)sizeof error ? 127 : 126);
    }
    close(exec_failed[1]);
    int error = 0;
    ssize_t got = child < 0 ? 0 : read(exec_failed[0], &error, sizeof error);
    close(exec_failed[0]);
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child) return 1;
    if (got == (ssize_t)sizeof error) {
        fprintf(stderr, "cprof: record: cannot run %s: %s\n", argv[i + 1], strerror(error));
        return 127;
    }
    /* The files are renamed into place: a new profile is a new inode. */
    if (stat(json, &after_run) == 0 && (!existed || after_run.st_ino != before_run.st_ino))
        fprintf(stderr, "cprof: record: %s.txt %s.json %s.folded %s.svg\n", prefix, prefix, prefix, prefix);
    else
        fprintf(stderr, "cprof: record: %s wrote no profile: it ended without exit (_exit, or a signal other than SIGINT and SIGTERM), or it exec'd "
                "another program (an exec'd program is not recorded: record it directly), or it is linked "
                "statically (nothing can be preloaded)\n", argv[i + 1]);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif /* CPROF__SAMPLING */

static const cprof__tool_verb cprof__tool_verbs[] = {
    {"report", cprof__tool_report, "P.json", 1, 1, 0, "the text report: functions by self time, the call tree, "
     "counters, allocations", cprof__report_options},
    {"stats", cprof__tool_stats, "P.json", 1, 1, 0, "one tab-separated row per function, with a header line", NULL},
    {"folded", cprof__tool_folded, "P.json", 1, 1, 0, "collapsed stacks with self time in ns (flamegraph.pl, "
     "speedscope)", cprof__folded_options},
    {"pprof", cprof__tool_pprof, "P.json", 1, 1, 0, "profile.proto for go tool pprof, Pyroscope, Parca (gzip when "
     "-o FILE ends in .gz)", NULL},
    {"callgrind", cprof__tool_callgrind, "P.json", 1, 1, 0, "callgrind's format for callgrind_annotate and "
     "KCachegrind", NULL},
    {"speedscope", cprof__tool_speedscope, "P.json", 1, 1, 0, "speedscope's JSON: a profile per thread and metric",
     NULL},
    {"flamegraph", cprof__tool_flamegraph, "P.json", 1, 1, 0, "an interactive SVG flame graph (one file, open it "
     "in a browser)", cprof__flamegraph_options},
    {"memory", cprof__tool_memory, "P.json", 1, 1, 0, "the live heap over time as an SVG (heaptrack's consumed "
     "chart): the largest sites stacked, the peak marked", NULL},
    {"leaks", cprof__tool_leaks, "P.json", 1, 1, 0, "blocks still allocated at capture, by allocation site, the "
     "largest first", NULL},
    {"diff", cprof__tool_diff, "BEFORE.json AFTER.json  (or B1.json B2.json ... -- A1.json A2.json ...)", 2, 0, 1,
     "what got faster or slower, beyond the threshold and the noise; exit status 1 on a significant regression",
     cprof__diff_options},
    {"analyze", cprof__tool_analyze, "P.json", 1, 1, 0, "the bottleneck and the problems found, ranked, each with "
     "a recommendation", cprof__analyze_options},
    {"bench", cprof__tool_bench, "P.json", 1, 1, 0, "the benchmarks: statistics, implementations compared, "
     "scaling", NULL},
    {"trace", cprof__tool_trace, "P.json", 1, 1, 0, "the timeline (CPROF_TIMELINE=N) as Chrome trace events: open "
     "it in Perfetto UI (ui.perfetto.dev) or chrome://tracing", NULL},
    {"merge", cprof__tool_merge, "A.json B.json ...", 1, 0, 0, "one profile of many runs, processes or hosts: "
     "counts and times summed per call path", cprof__merge_options},
};
enum { CPROF__TOOL_VERB_COUNT = sizeof cprof__tool_verbs / sizeof cprof__tool_verbs[0] };

static const cprof__tool_verb *cprof__tool_verb_find(const char *name) {
    for (size_t i = 0; i < CPROF__TOOL_VERB_COUNT; i++)
        if (strcmp(name, cprof__tool_verbs[i].name) == 0) return &cprof__tool_verbs[i];
    return NULL;
}

/* `cprof help VERB`: its usage, what it does, its options and the ones every verb has. */
static void cprof__tool_verb_help(const cprof__tool_verb *verb) {
    printf("usage: cprof %s [OPTIONS] %s\n  %s\n\noptions:\n", verb->name, verb->operands, verb->summary);
    for (size_t k = 0; k < cprof__tool_option_count(verb); k++) {
        char spelt[64];
        const cprof__tool_option *o = &verb->options[k];
        cprof__snprintf(spelt, sizeof spelt, "%s%s%s", o->name, o->value ? "=" : "", o->value ? o->value : "");
        printf("  %-22s %s\n", spelt, o->help);
    }
    printf("  %-22s %s\n", "-o FILE, --output=FILE", "write to FILE instead of standard output (through a temporary "
           "renamed when complete)");
    if (verb->runs)
        printf("\nA value follows its option after '=' or as the next argument; a \"--\" before the first profile "
               "ends the options,\na later one separates the before runs from the after runs (options may follow "
               "it); a profile named \"-\"\nis read from standard input.\n");
    else
        printf("\nA value follows its option after '=' or as the next argument; \"--\" ends the options; a profile "
               "named \"-\"\nis read from standard input.\n");
}

static int cprof__tool_help_command(int argc, char **argv) {
    if (argc < 1) {
        fputs(cprof__tool_help, stdout);
        return 0;
    }
#if defined(CPROF__SAMPLING)
    if (!strcmp(argv[0], "record")) return fputs(cprof__record_help, stdout), 0;
#endif
    const cprof__tool_verb *verb = cprof__tool_verb_find(argv[0]);
    if (!verb) return cprof__tool_usage("no command '%s'", argv[0]);
    cprof__tool_verb_help(verb);
    return 0;
}

/* A verb's arguments parsed and checked by one parser, then the verb; -o FILE closed after it. */
static int cprof__tool_run(const cprof__tool_verb *verb, int argc, char **argv) {
    cprof__tool_args a;
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return cprof__tool_verb_help(verb), 0;
    if (cprof__tool_parse(verb, &a, argc, argv)) return 2;
    return cprof__tool_close(&a, verb->run(&a));
}

int main(int argc, char **argv) {
    const char *command = argc > 1 ? argv[1] : "";
#if defined(CPROF__WINDOWS) /* the same bytes as on Linux: "\n", never "\r\n" */
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
#endif
    if (!strcmp(command, "help") || !strcmp(command, "--help") || !strcmp(command, "-h"))
        return cprof__tool_help_command(argc - 2, argv + 2);
    if (!strcmp(command, "--version") || !strcmp(command, "version")) {
        printf("cprof %s (profile format %d.%d)\n", CPROF_VERSION, CPROF__FORMAT_MAJOR, CPROF__FORMAT_MINOR);
        return 0;
    }
#if defined(CPROF__SAMPLING)
    if (!strcmp(command, "record")) return cprof__tool_record(argc - 2, argv + 2); /* its own arguments: -- PROGRAM */
#endif
    const cprof__tool_verb *verb = cprof__tool_verb_find(command);
    if (verb) return cprof__tool_run(verb, argc - 2, argv + 2);
    if (!*command) {
        fputs(cprof__tool_help, stderr);
        return 2;
    }
    return cprof__tool_usage("unknown command '%s'", command);
}
#endif /* CPROF_MAIN */

/* The implementation's private macros end here: none of them reaches the rest of the user's file
   (CPROF__IMPLEMENTATION_DONE stays: it makes a second inclusion skip the implementation). */

#undef CPROF__AARCH64
#undef CPROF__ACQUIRE_FENCE
#undef CPROF__ADD
#undef CPROF__ADD_FETCH
#undef CPROF__ANALYZE_KEY_COUNT
#undef CPROF__AUTO_STACK
#undef CPROF__BUDGET_NAME_BYTES
#undef CPROF__BUSY_BEGIN
#undef CPROF__BUSY_END
#undef CPROF__CHART_AXIS
#undef CPROF__CHART_BOTTOM
#undef CPROF__CHART_HEIGHT
#undef CPROF__CHART_LEFT
#undef CPROF__CHART_RIGHT
#undef CPROF__CHART_ROW
#undef CPROF__CHART_SITES
#undef CPROF__CHART_TOP
#undef CPROF__CHART_WIDTH
#undef CPROF__CHILD_INDEX_FROM
#undef CPROF__CLOCK_MONOTONIC
#undef CPROF__CLOCK_NAME
#undef CPROF__CLOCK_REALTIME
#undef CPROF__COLD
#undef CPROF__COUNTER_NAME
#undef CPROF__COUNTER_NAME_BYTES
#undef CPROF__COUNTER_STATED_HZ
#undef CPROF__DEFAULT_COUNTERS
#undef CPROF__DEFINED_LEAN_AND_MEAN
#undef CPROF__DERIVED_COUNT
#undef CPROF__EACH_ALLOC_THREAD
#undef CPROF__ELF
#undef CPROF__ELF_BIND
#undef CPROF__ELF_CLASS
#undef CPROF__ELF_TYPE
#undef CPROF__EVENT_CACHE
#undef CPROF__EVENT_COUNT
#undef CPROF__EVENT_HW
#undef CPROF__EVENT_SW
#undef CPROF__EXITED_KEPT
#undef CPROF__FENCE_ACQUIRE
#undef CPROF__FENCE_RELEASE
#undef CPROF__FIRST_BLOCK_NODES
#undef CPROF__FLAME_BOTTOM
#undef CPROF__FLAME_CHAR
#undef CPROF__FLAME_LEGEND
#undef CPROF__FLAME_MATCH
#undef CPROF__FLAME_MAX_LEVELS
#undef CPROF__FLAME_PAD
#undef CPROF__FLAME_ROW
#undef CPROF__FLAME_TOP
#undef CPROF__FORMAT_MAJOR
#undef CPROF__FORMAT_MINOR
#undef CPROF__FREED_REMEMBERED
#undef CPROF__F_OWNER_TID
#undef CPROF__F_SETOWN_EX
#undef CPROF__F_SETSIG
#undef CPROF__HAS_RDPMC
#undef CPROF__INLINE
#undef CPROF__JSON_HERE
#undef CPROF__JSON_MAX_DEPTH
#undef CPROF__KEY
#undef CPROF__LEAK_SCAN
#undef CPROF__LIBC
#undef CPROF__LIKELY
#undef CPROF__LINUX
#undef CPROF__LIVE_STEP
#undef CPROF__LOAD
#undef CPROF__LOAD_ACQUIRE
#undef CPROF__LOAD_DOUBLE
#undef CPROF__MALLINFO2
#undef CPROF__MAP_ANONYMOUS
#undef CPROF__MAX_BLOCKS
#undef CPROF__MAX_BUDGETS
#undef CPROF__MAX_COUNTERS
#undef CPROF__MAX_DEPTH
#undef CPROF__MAX_FILE_BYTES
#undef CPROF__MAX_MESSAGES
#undef CPROF__MAX_TREE_DEPTH
#undef CPROF__METRIC_COUNT
#undef CPROF__MUTEX_INIT
#undef CPROF__NAME_BYTES
#undef CPROF__NOT_LINUX
#undef CPROF__NO_INSTRUMENT
#undef CPROF__ONCE_INIT
#undef CPROF__ORPHANS
#undef CPROF__OUTPUT_FILES
#undef CPROF__O_ASYNC
#undef CPROF__O_CLOEXEC
#undef CPROF__PACKED_SITE_LIMIT
#undef CPROF__PACKED_SIZE_BITS
#undef CPROF__POLL_HUP
#undef CPROF__QUARANTINE_BYTES
#undef CPROF__RECORDED
#undef CPROF__REPORT_MAX_INDENT
#undef CPROF__SAMPLE_FRAMES
#undef CPROF__SAMPLE_SLOTS
#undef CPROF__SAMPLING
#undef CPROF__SWITCH_OUT_PREEMPT
#undef CPROF__F_DUPFD_CLOEXEC
#undef CPROF__SCAN_RAW
#undef CPROF__SERIES_POINTS
#undef CPROF__SERIES_STEP_BYTES
#undef CPROF__SERIES_STEP_MS
#undef CPROF__SERIES_TIME_CHECK
#undef CPROF__SIGNAL_FENCE
#undef CPROF__STB_SPRINTF
#undef CPROF__STORAGE_CHUNK_BYTES
#undef CPROF__STORE
#undef CPROF__STORE_DOUBLE
#undef CPROF__STORE_RELEASE
#undef CPROF__STRING
#undef CPROF__STRING2
#undef CPROF__THREAD_LOCAL
#undef CPROF__TIMELINE_MAX
#undef CPROF__UNKNOWN_EVENT
#undef CPROF__UNLIKELY
#undef CPROF__UNTIMED
#undef CPROF__UNUSED
#undef CPROF__USABLE_SIZE
#undef CPROF__WINDOWS
#undef CPROF__X86_64
#undef CPROF__YOUNG_SLOTS
#undef CPROF__YOUNG_WAYS
#undef cprof__clock_gettime
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif /* CPROF_IMPLEMENTATION */

/* ==================================================================================================
   >>wrap: CPROF_WRAP_MALLOC's macros. They come last, after every system header this file includes
   (and after the implementation, which calls the C library as (malloc)(...)), so that nothing of the
   C library is rewritten, only the calls in the user's code that follows. Function-like macros: a name
   followed by "(" is rewritten, wherever it is, including a member call obj->free(p), which then
   fails to compile; (obj->free)(p) and (free)(p) are left alone (the latter is not tracked).
   ================================================================================================== */
#if defined(CPROF_WRAP_MALLOC) && !defined(CPROF_DISABLE) && !defined(CPROF__WRAPPED)
#define CPROF__WRAPPED
#undef malloc
#undef calloc
#undef realloc
#undef reallocarray
#undef free
#undef strdup
#undef strndup
#undef aligned_alloc
#undef posix_memalign
#define malloc(size) cprof__malloc(size, __FILE__, __LINE__, __func__)
#define calloc(count, size) cprof__calloc(count, size, __FILE__, __LINE__, __func__)
#define realloc(block, size) cprof__realloc(block, size, __FILE__, __LINE__, __func__)
#define reallocarray(block, count, size) cprof__reallocarray(block, count, size, __FILE__, __LINE__, __func__)
#define free(block) cprof__free(block, __FILE__, __LINE__, __func__)
#define strdup(text) cprof__strdup(text, __FILE__, __LINE__, __func__)
#define strndup(text, size) cprof__strndup(text, size, __FILE__, __LINE__, __func__)
#if !defined(_WIN32) /* not in the Windows C library (see cprof__aligned_alloc) */
#define aligned_alloc(alignment, size) cprof__aligned_alloc(alignment, size, __FILE__, __LINE__, __func__)
#define posix_memalign(out, alignment, size) cprof__posix_memalign(out, alignment, size, __FILE__, __LINE__, __func__)
#endif
#endif

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
