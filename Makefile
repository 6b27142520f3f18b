# cprof - every entry point. On a fresh Debian machine `make demo` and `make test` are all you need:
# both install what is missing (libstb-dev, clang, valgrind, xmllint, chromium, node, the cross compilers,
# qemu-user, wine) with apt-get first.
#
#   make demo      build and run the example, print its profile and its analysis and name the files written
#                  (build/demo: the flame graph, the profile); then the same example instrumented
#                  automatically (-finstrument-functions, CPROF_AUTO), its CPROF_SCOPEs compiled out
#   make test      every test with gcc and clang, as C99, C11 and C++11, then under ASan+UBSan, TSan and
#                  valgrind, plus the build checks; ends with "N passed, N failed"
#   make bench     the overhead benchmarks (medians and ratios against a baseline of the same run)
#   make fuzz      the loader under libFuzzer for FUZZ_SECONDS (600); seeds in tests/corpus
#   make fuzz-writers  the same target with a dictionary of hostile strings (tests/hostile.dict): every
#                  writer on each loaded profile; stops on a crash or a broken escape (a control
#                  character in a text output, a foreign script in the SVG, JSON that does not save again)
#   make install   PREFIX=/usr/local: the header into PREFIX/include, the tool into PREFIX/bin, cprof.pc
#                  into PREFIX/lib/pkgconfig, the CMake package into PREFIX/lib/cmake/cprof
#   make clean

PREFIX ?= /usr/local
BUILD := build
HEADER := cprof.h
LIBS := -lpthread -lm
WARNINGS := -Wall -Wextra -Wpedantic -Werror -Wshadow
JOBS := $(shell nproc 2>/dev/null || echo 2)

# --- the test matrix: one compiler line per configuration -------------------------------------------
CONFIGS := gcc-c99 gcc-c11 gcc-c++11 clang-c99 clang-c11 clang-c++11 asan-ubsan tsan valgrind
cc.gcc-c99     := gcc -std=c99 -O2 -g
cc.gcc-c11     := gcc -std=c11 -O2 -g
cc.gcc-c++11   := g++ -x c++ -std=c++11 -O2 -g
cc.clang-c99   := clang -std=c99 -O2 -g
cc.clang-c11   := clang -std=c11 -O2 -g
cc.clang-c++11 := clang++ -x c++ -std=c++11 -O2 -g
cc.asan-ubsan  := clang -std=c11 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
cc.tsan        := clang -std=c11 -O1 -g -fsanitize=thread
cc.valgrind    := gcc -std=c11 -O1 -g
run.valgrind   := env CHECK_UNDER_VALGRIND=1 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --suppressions=tests/sample.supp
# C++-only tests, with both C++ compilers and a newer standard
CPP_CONFIGS := g++-c++11 clang++-c++17
cc.g++-c++11   := g++ -std=c++11 -O2 -g
cc.clang++-c++17 := clang++ -std=c++17 -O2 -g

# The implementation is compiled once per configuration, with CPROF_TESTING (the private functions the
# tests reach, cprof.h's >>testing), into build/obj/CONFIG/cprof.o; each test is compiled without
# CPROF_IMPLEMENTATION and linked against it. _DEFAULT_SOURCE, for the tests and the implementation: as
# most programs, POSIX under -std=c99 too (the signal snapshots and CPU sampling need it; a file without
# any feature macro is check-dialects' business). One test compiles its own implementation:
#   twice         what it tests: the header included twice in each of two files, one of them the implementation
# CPROF_WRAP_MALLOC is per file (only macros after the include), so the allocation tests share the object.
# CPROF_DISABLE must be defined in every file of a program or in none, but the implementation does not
# look at it: compiled with it, the object would be the same (check-disable-same-implementation proves
# it), so test_disable (CPROF_DISABLE) links against the shared object too.
TEST_FLAGS := -DCPROF_TESTING -D_DEFAULT_SOURCE
OWN_IMPLEMENTATION := twice
# A test's own flags: test_sample and test_sample_stress walk frame pointers (gcc and clang at -O2 omit
# them by default).
flags.test_sample := -fno-omit-frame-pointer
flags.test_sample_stress := -fno-omit-frame-pointer
obj.g++-c++11 := gcc-c++11
test_object = $(if $(filter $2,$(OWN_IMPLEMENTATION)),,$(BUILD)/obj/$(or $(obj.$1),$1)/cprof.o)
TEST_OBJECT := $(BUILD)/obj/gcc-c11/cprof.o

UNIT_TESTS := $(sort $(basename $(notdir $(wildcard tests/test_*.c)))) twice
CPP_TESTS := $(sort $(basename $(notdir $(wildcard tests/test_*.cc))))
CHECKS := tool zero-cost-gcc zero-cost-clang disable-same-implementation implementation-twice strict-header example readme-quickstart bench-builds \
          flamegraph-xml flamegraph-browser bench-diff example-bench \
          auto-c-gcc auto-c-clang auto-c-asan auto-c-tsan auto-c-valgrind auto-cpp-gcc auto-cpp-clang \
          auto-callgrind auto-hot-path example-auto example-minivm record diff-tool alloc-valgrind analyze-tool golden hygiene fortify \
          export-pprof export-callgrind export-speedscope platform-arm64 platform-windows trace trace-browser memory-browser \
          dialects locale install
RESULTS := $(foreach c,$(CONFIGS),$(foreach t,$(UNIT_TESTS),$(BUILD)/results/$(c)/$(t))) \
           $(foreach c,$(CPP_CONFIGS),$(foreach t,$(CPP_TESTS),$(BUILD)/results/$(c)/$(t))) \
           $(foreach k,$(CHECKS),$(BUILD)/results/check/$(k))
TEST_SOURCES := $(HEADER) $(wildcard tests/*.c tests/*.cc tests/*.h tests/*.cjs)
# The flame graph's browser test: the system's Chromium, driven by playwright-core from npm (installed
# into build/npm by the test when absent; 1.55 still runs on Debian 12's Node 18).
CHROMIUM ?= /usr/bin/chromium
PLAYWRIGHT_VERSION := 1.55.0
PLAYWRIGHT := $(BUILD)/npm/node_modules/playwright-core/package.json
# The speedscope export's check: speedscope's own file-format schema (in its npm package), a JSON
# schema validator and playwright-core (speedscope itself opened in Chromium), from npm into
# build/npm-speedscope, a prefix of its own: two npm installs into one prefix at once under make -j race.
SPEEDSCOPE_VERSION := 1.25.0
AJV_VERSION := 8.20.0
SPEEDSCOPE_NPM := $(BUILD)/npm-speedscope/node_modules/speedscope/package.json

.PHONY: all demo test bench install clean deps fuzz fuzz-writers golden

all: deps $(BUILD)/wordfreq $(BUILD)/cprof $(BUILD)/libcprof-sample.so $(BUILD)/wordfreq-auto

# --- what a fresh Debian machine lacks ----------------------------------------------------------------
deps:
	@missing=""; \
	[ -f /usr/include/stb/stb_sprintf.h ] || missing="$$missing libstb-dev"; \
	command -v clang >/dev/null 2>&1 || missing="$$missing clang"; \
	command -v valgrind >/dev/null 2>&1 || missing="$$missing valgrind"; \
	command -v go >/dev/null 2>&1 || missing="$$missing golang-go"; \
	command -v objdump >/dev/null 2>&1 || missing="$$missing binutils"; \
	command -v xmllint >/dev/null 2>&1 || missing="$$missing libxml2-utils"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v python3 >/dev/null 2>&1 || missing="$$missing python3"; \
	command -v localedef >/dev/null 2>&1 || missing="$$missing locales"; \
	command -v cmake >/dev/null 2>&1 || missing="$$missing cmake"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	command -v qemu-aarch64 >/dev/null 2>&1 || missing="$$missing qemu-user"; \
	command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing="$$missing gcc-aarch64-linux-gnu"; \
	command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing="$$missing gcc-mingw-w64-x86-64"; \
	command -v wine >/dev/null 2>&1 || missing="$$missing wine"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

# --- the cprof tool: the header itself, with its main() ---------------------------------------------
# _DEFAULT_SOURCE: POSIX and the registers' names, which cprof record and the sampler need (a user's
# file gets every other feature without it).
$(BUILD)/cprof: $(HEADER)
	@mkdir -p $(@D)
	gcc -std=c99 -O2 $(WARNINGS) -D_DEFAULT_SOURCE -DCPROF_IMPLEMENTATION -DCPROF_MAIN -x c $(HEADER) -o $@ $(LIBS)

# The sampling library that `cprof record` preloads into an unmodified program (CPROF_SAMPLE, CPROF_OUT);
# CPROF_RECORD_LIBRARY wraps pthread_create, so that every thread the program starts is sampled (-ldl:
# dlsym before glibc 2.34).
$(BUILD)/libcprof-sample.so: $(HEADER)
	@mkdir -p $(@D)
	gcc -std=c99 -O2 -fPIC -shared $(WARNINGS) -D_DEFAULT_SOURCE -DCPROF_IMPLEMENTATION -DCPROF_RECORD_LIBRARY -x c $(HEADER) -o $@ $(LIBS) -ldl

# --- the example ------------------------------------------------------------------------------------
$(BUILD)/wordfreq: examples/wordfreq.c $(HEADER)
	@mkdir -p $(@D)
	gcc -std=c99 -O2 $(WARNINGS) $< -o $@ $(LIBS)

# The same source instrumented by the compiler: CPROF_NO_MANUAL_SCOPES compiles its CPROF_SCOPEs out,
# CPROF_AUTO defines the hooks, gcc's exclude list keeps the hook calls out of cprof's own code.
AUTO_FLAGS := -finstrument-functions -finstrument-functions-exclude-file-list=cprof.h,stb_sprintf.h -DCPROF_AUTO
AUTO_DEMO_FLAGS := $(AUTO_FLAGS) -DCPROF_NO_MANUAL_SCOPES
$(BUILD)/wordfreq-auto: examples/wordfreq.c $(HEADER)
	@mkdir -p $(@D)
	gcc -std=c99 -O2 $(WARNINGS) $(AUTO_DEMO_FLAGS) $< -o $@ $(LIBS)

# The interpreter-shaped example (a bytecode VM, several hundred small functions): plain, with cprof
# compiled out, and every function instrumented automatically. bench/truth.sh measures both.
$(BUILD)/frames: examples/frames.c $(HEADER)
	@mkdir -p $(@D)
	gcc -std=c99 -O2 $(WARNINGS) $< -o $@ $(LIBS)

# The memory chart's example: a heap that grows and shrinks in phases, its allocations tracked.
$(BUILD)/heap_phases: examples/heap_phases.c $(HEADER)
	@mkdir -p $(@D)
	gcc -std=c99 -O2 $(WARNINGS) $< -o $@ $(LIBS)

$(BUILD)/minivm: examples/minivm.c $(HEADER)
	@mkdir -p $(@D)
	gcc -std=c99 -O2 $(WARNINGS) -DCPROF_DISABLE $< -o $@ $(LIBS)

$(BUILD)/minivm-auto: examples/minivm.c $(HEADER)
	@mkdir -p $(@D)
	gcc -std=c99 -O2 $(WARNINGS) $(AUTO_FLAGS) $< -o $@ $(LIBS)

# Each run writes its files under build/demo (CPROF_OUT); prefix.txt is the report, a blank line, the analysis.
DEMO_FILES = echo "Flame graph: $(1).svg (open it in a browser); profile: $(1).json (cprof analyze, cprof diff); report and analysis: $(1).txt; folded stacks: $(1).folded"
demo: deps $(BUILD)/wordfreq $(BUILD)/wordfreq-auto $(BUILD)/sum_bench $(BUILD)/cprof # the tool the last lines name
	@mkdir -p $(BUILD)/demo
	CPROF_OUT=$(BUILD)/demo/wordfreq ./$(BUILD)/wordfreq
	@echo; cat $(BUILD)/demo/wordfreq.txt; echo; $(call DEMO_FILES,$(BUILD)/demo/wordfreq)
	@echo; echo "--- the same program, every function instrumented by the compiler (no CPROF_SCOPE) ---"
	CPROF_OUT=$(BUILD)/demo/wordfreq-auto ./$(BUILD)/wordfreq-auto
	@echo; cat $(BUILD)/demo/wordfreq-auto.txt; echo; $(call DEMO_FILES,$(BUILD)/demo/wordfreq-auto)
	@echo; echo "--- benchmarks: three ways to sum an array, two ways to sort one ---"
	./$(BUILD)/sum_bench $(BUILD)/sum_bench.json

# The benchmark API's example.
$(BUILD)/sum_bench: examples/sum_bench.c $(HEADER)
	@mkdir -p $(@D)
	gcc -std=c99 -O2 $(WARNINGS) $< -o $@ $(LIBS)

# --- tests ------------------------------------------------------------------------------------------
# Each result file holds PASS or FAIL; its log is beside it. A target never fails, so that one broken
# configuration does not hide the others; the summary counts and prints the failures' logs.
test: deps
	@rm -rf $(BUILD)/results
	@$(MAKE) --no-print-directory -k -j$(JOBS) $(RESULTS)
	@pass=0; fail=0; skip=0; \
	for r in $(RESULTS); do \
	  if [ "$$(cat $$r 2>/dev/null)" = PASS ]; then pass=$$((pass+1)); echo "PASS $${r#$(BUILD)/results/}"; \
	  elif [ "$$(cat $$r 2>/dev/null)" = SKIP ]; then skip=$$((skip+1)); echo "SKIP $${r#$(BUILD)/results/}: $$(grep -h '^SKIP' $$r.log | head -1)"; \
	  else fail=$$((fail+1)); echo "FAIL $${r#$(BUILD)/results/}"; sed 's/^/    /' $$r.log 2>/dev/null | tail -40; fi; \
	done; \
	[ $$skip = 0 ] || echo "$$skip skipped (see SKIP above)"; \
	echo "$$pass passed, $$fail failed"; [ $$fail = 0 ]

# The implementation of a configuration. A failure leaves no object and its log, which every test of the
# configuration then reports.
$(BUILD)/obj/%/cprof.o: $(HEADER)
	@mkdir -p $(@D)
	@$(cc.$*) $(WARNINGS) -DCPROF_IMPLEMENTATION $(TEST_FLAGS) -x $(if $(filter %++,$(firstword $(cc.$*))),c++,c) \
	  -c $(HEADER) -o $@ > $@.log 2>&1 || rm -f $@

.PRECIOUS: $(BUILD)/obj/%/cprof.o

# config/test: compile with the configuration's line, link, run (under valgrind for that one), record.
.SECONDEXPANSION:
$(BUILD)/results/%: $(TEST_SOURCES) $$(call test_object,$$(*D),$$(*F))
	@mkdir -p $(@D) $(BUILD)/bin/$(*D)
	@cfg=$(*D); t=$(*F); bin=$(BUILD)/bin/$*; obj=$(call test_object,$(*D),$(*F)); \
	case $$t in twice) src="tests/twice_a.c tests/twice_b.c";; *) src=$$(ls tests/$$t.c tests/$$t.cc 2>/dev/null);; esac; \
	if [ -n "$$obj" ] && [ ! -f "$$obj" ]; then \
	  { echo "the implementation did not compile ($$obj):"; cat $$obj.log; } > $@.log; echo FAIL > $@; \
	elif $(cc.$(*D)) $(WARNINGS) $(TEST_FLAGS) $(flags.$(*F)) $$src -x none $$obj -o $$bin $(LIBS) > $@.log 2>&1 && \
	   timeout 600 $(run.$(*D)) ./$$bin >> $@.log 2>&1; then echo PASS > $@; else echo FAIL > $@; fi

# Build checks, each a small script; same PASS/FAIL protocol, plus SKIP when a check prints a line
# starting with SKIP (something it needs is not installed) and succeeds. What several checks use is
# built once before them (check-shared), not by each check's own make at the same time.
$(BUILD)/results/check/%: $(TEST_SOURCES) examples/wordfreq.c examples/sum_bench.c examples/minivm.c examples/frames.c examples/heap_phases.c $(wildcard tests/*.py) README.md $(wildcard tests/*.sh tests/corpus/* tests/golden/*) $(wildcard bench/*.c bench/*.h tests/*.awk) $(BUILD)/check-shared
	@mkdir -p $(@D) $(BUILD)/check
	@if $(MAKE) --no-print-directory -s check-$* > $@.log 2>&1; then \
	  if grep -q '^SKIP' $@.log; then echo SKIP > $@; else echo PASS > $@; fi; else echo FAIL > $@; fi

# A failure here is left for the checks that need the file to report (each make tries it again).
CHECK_SHARED := $(BUILD)/cprof $(BUILD)/wordfreq $(BUILD)/wordfreq-auto $(BUILD)/sum_bench $(TEST_OBJECT)
$(BUILD)/check-shared: $(HEADER) examples/wordfreq.c examples/sum_bench.c
	@-$(MAKE) --no-print-directory -s -k $(CHECK_SHARED) > /dev/null 2>&1
	@touch $@

# (Pattern targets such as check-zero-cost-% must not be listed: make never applies a pattern rule to a
# .PHONY target, and the check silently did nothing while they were.)
.PHONY: check-trace check-trace-browser check-tool check-disable-same-implementation check-implementation-twice check-strict-header \
        check-example check-readme-quickstart check-bench-builds check-bench-diff check-example-bench check-flamegraph-xml check-flamegraph-browser \
        check-diff-tool check-alloc-valgrind check-golden check-hygiene check-memory-browser \
        check-auto-callgrind check-auto-hot-path check-example-auto check-example-minivm check-record check-analyze-tool check-fortify \
        check-export-pprof check-export-callgrind check-export-speedscope check-dialects check-locale check-install

# Other platforms, emulated: ARM64 Linux (aarch64-linux-gnu-gcc, qemu-aarch64) and Windows (MinGW-w64, Wine).
# A subset of the tests, the tool against tests/golden, and a profile each writes read by the Linux tool
# (report, folded, flame graph, diff against a Linux run); see tests/check_platform.sh.
check-platform-%: $(BUILD)/cprof
	tests/check_platform.sh $* $(BUILD) $(BUILD)/cprof

# Every verb on every profile of tests/corpus equals, to the byte, the output kept in tests/golden.
# After a deliberate change of output: make golden, and the commit shows what changed.
check-golden: $(BUILD)/cprof
	tests/check_golden.sh $(BUILD)/cprof

golden: $(BUILD)/cprof
	tests/check_golden.sh $(BUILD)/cprof --update

# The exports against the programs that read them, totals equal to cprof's (tests/check_exports.sh):
# go tool pprof (-raw, -top), callgrind_annotate, speedscope's file-format schema.
check-export-pprof check-export-callgrind: check-export-%: $(BUILD)/cprof
	tests/check_exports.sh $(BUILD) $*

check-export-speedscope: $(BUILD)/cprof
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  echo "SKIP: the speedscope schema check needs node and npm (make deps installs them)"; exit 0; fi; \
	$(MAKE) --no-print-directory $(SPEEDSCOPE_NPM) && \
	NODE_PATH=$(BUILD)/npm-speedscope/node_modules tests/check_exports.sh $(BUILD) speedscope && \
	if [ ! -x $(CHROMIUM) ]; then echo "SKIP: speedscope in the browser needs $(CHROMIUM)"; exit 0; fi && \
	CHROMIUM=$(CHROMIUM) NODE_PATH=$(BUILD)/npm-speedscope/node_modules timeout 120 node tests/speedscope_browser.cjs \
	  $(BUILD)/check/exports-speedscope/threads.speedscope.json $(BUILD)/check/exports-speedscope/threads.png

# Under a lock: the export's and the trace's browser legs may both install it at once (make -j).
$(SPEEDSCOPE_NPM):
	mkdir -p $(BUILD)/npm-speedscope
	flock $(BUILD)/npm-speedscope/.lock npm install --prefix $(BUILD)/npm-speedscope --no-audit --no-fund --loglevel=error \
	  speedscope@$(SPEEDSCOPE_VERSION) ajv@$(AJV_VERSION) playwright-core@$(PLAYWRIGHT_VERSION)

# The tool on a real profile: outputs, exit statuses, error format, make install.
check-tool: $(BUILD)/cprof $(BUILD)/wordfreq
	tests/check_tool.sh $(BUILD)

# CPROF_DISABLE costs nothing: a function with a scope compiles to the same code as without it.
check-zero-cost-%:
	$* -O2 -c tests/zero_cost.c -o $(BUILD)/check/zc-$*-without.o
	$* -O2 -c -DWITH_SCOPE tests/zero_cost.c -o $(BUILD)/check/zc-$*-with.o
	objdump -d --no-show-raw-insn $(BUILD)/check/zc-$*-without.o | tail -n +4 > $(BUILD)/check/zc-$*-without.txt
	objdump -d --no-show-raw-insn $(BUILD)/check/zc-$*-with.o | tail -n +4 > $(BUILD)/check/zc-$*-with.txt
	cmp $(BUILD)/check/zc-$*-without.txt $(BUILD)/check/zc-$*-with.txt

# Header hygiene: stb_sprintf with its implementation after cprof.h in the implementation file; no private
# macro (cprof's or stb_sprintf's) outlives the implementation but those the public macros expand to; the
# same public macros with and without CPROF_DISABLE.
HYGIENE_MACROS := sed -n 's/^\#define \(CPROF_*[A-Z][A-Za-z0-9_]*\|STB_SPRINTF_[A-Z_]*\|STBSP__[A-Za-z0-9_]*\|stbsp__[a-z0-9_]*\|cprof__[a-z0-9_]*\).*/\1/p' | sort
check-hygiene:
	for cc in "gcc -std=c99" "clang -std=c11" "g++ -x c++ -std=c++11"; do \
	  $$cc $(WARNINGS) tests/stb_after.c -o $(BUILD)/check/stb_after $(LIBS) && ./$(BUILD)/check/stb_after || exit 1; done
	printf '#define CPROF_IMPLEMENTATION\n#define CPROF_AUTO\n#define CPROF_MAIN\n#include "cprof.h"\n' > $(BUILD)/check/macros.c
	gcc -E -dM -I. $(BUILD)/check/macros.c | $(HYGIENE_MACROS) | grep -v '^CPROF_[A-Z]' > $(BUILD)/check/private-macros.txt
	printf '%s\n' CPROF__CAT CPROF__CAT2 CPROF__IMPLEMENTATION_DONE CPROF__SCOPE_AT CPROF__SCOPE_AT2 CPROF__SITE \
	  CPROF__TRACK_ALLOCS CPROF__UNIQUE | diff - $(BUILD)/check/private-macros.txt
	printf '#include "cprof.h"\n' > $(BUILD)/check/public.c
	gcc -E -dM -I. $(BUILD)/check/public.c | $(HYGIENE_MACROS) | grep '^CPROF_[A-Z]' > $(BUILD)/check/enabled-macros.txt
	gcc -E -dM -I. -DCPROF_DISABLE $(BUILD)/check/public.c | $(HYGIENE_MACROS) | grep '^CPROF_[A-Z]' | grep -vx CPROF_DISABLE \
	  > $(BUILD)/check/disabled-macros.txt
	diff $(BUILD)/check/enabled-macros.txt $(BUILD)/check/disabled-macros.txt
	grep -qx CPROF_TRACK_ALLOCS $(BUILD)/check/disabled-macros.txt
# The implementation compiles to the same object with and without CPROF_DISABLE (as C and as C++), so
# that test_disable may link against the object compiled without it.
check-disable-same-implementation:
	for cc in "gcc -std=c99 -x c" "g++ -std=c++11 -x c++"; do \
	  $$cc -O0 -c -DCPROF_IMPLEMENTATION -DCPROF_TESTING $(HEADER) -o $(BUILD)/check/impl-enabled.o || exit 1; \
	  $$cc -O0 -c -DCPROF_IMPLEMENTATION -DCPROF_TESTING -DCPROF_DISABLE $(HEADER) -o $(BUILD)/check/impl-disabled.o || exit 1; \
	  cmp $(BUILD)/check/impl-enabled.o $(BUILD)/check/impl-disabled.o || exit 1; \
	done

# Two files defining CPROF_IMPLEMENTATION: the link fails and the error names the mistake.
check-implementation-twice:
	printf '#define CPROF_IMPLEMENTATION\n#include "cprof.h"\n' > $(BUILD)/check/impl1.c
	printf '#define CPROF_IMPLEMENTATION\n#include "cprof.h"\nint main(void){return 0;}\n' > $(BUILD)/check/impl2.c
	! gcc -I. $(BUILD)/check/impl1.c $(BUILD)/check/impl2.c -o $(BUILD)/check/impl $(LIBS) 2> $(BUILD)/check/impl.err
	grep -q cprof_IMPLEMENTATION_is_defined_in_more_than_one_file $(BUILD)/check/impl.err

# The header alone, every standard from C99 to C23 and C++11 to C++20, with -Wconversion too.
check-strict-header:
	printf '#define CPROF_IMPLEMENTATION\n#include "cprof.h"\nstatic void f(void){CPROF_SCOPE();}\nint main(void){f();return 0;}\n' > $(BUILD)/check/strict.c
	for cc in "gcc -std=c99" "gcc -std=c11" "gcc -std=c2x" "clang -std=c99" "clang -std=c2x" \
	          "g++ -x c++ -std=c++11" "g++ -x c++ -std=c++20" "clang++ -x c++ -std=c++11" "clang++ -x c++ -std=c++20"; do \
	  echo "$$cc"; $$cc $(WARNINGS) -Wconversion -I. -fsyntax-only $(BUILD)/check/strict.c || exit 1; \
	  $$cc $(WARNINGS) -Wconversion -DCPROF_NO_STB_SPRINTF -I. -fsyntax-only $(BUILD)/check/strict.c || exit 1; \
	  $$cc $(WARNINGS) -Wconversion -DCPROF_AUTO -I. -fsyntax-only $(BUILD)/check/strict.c || exit 1; \
	done

# The implementation in a user's file, whatever it includes or defines first, in every dialect (a
# representative matrix of 40 compiles, -fsyntax-only), and which stb_sprintf each setting picks.
check-dialects:
	tests/check_dialects.sh $(BUILD)

# Every output under a decimal-comma locale, with stb_sprintf and with the built-in formatter, to the byte.
# The locale is compiled into build/locale by localedef (Debian's locales package; no root needed).
LOCALES := $(BUILD)/locale
$(LOCALES)/de_DE.UTF-8:
	mkdir -p $(LOCALES) && localedef -i de_DE -f UTF-8 $@ || test -f $@/LC_NUMERIC

check-locale: $(LOCALES)/de_DE.UTF-8
	tests/check_locale.sh $(BUILD) $(LOCALES)

# The allocation wrappers under glibc's _FORTIFY_SOURCE at -O3, whose bounds checks see through them
# (an unbounded strdup once passed memchr a bound above any object's size), and the test then runs.
check-fortify:
	gcc -O3 -D_FORTIFY_SOURCE=2 -Wall -Wextra -Werror -DCPROF_IMPLEMENTATION -DCPROF_TESTING -x c -c $(HEADER) -o $(BUILD)/check/fortify.o
	gcc -O3 -D_FORTIFY_SOURCE=2 -Wall -Wextra -Werror $(TEST_FLAGS) tests/test_alloc.c $(BUILD)/check/fortify.o -o $(BUILD)/check/fortify $(LIBS)
	./$(BUILD)/check/fortify > $(BUILD)/check/fortify.out 2>&1

# The example runs and its profile names the deliberate bottleneck first.
# The benchmark example runs, compares each task's implementations, fits the sweeps' growth and saves a
# profile that cprof bench reads back.
check-example-bench: $(BUILD)/sum_bench $(BUILD)/cprof
	./$(BUILD)/sum_bench --quick $(BUILD)/check/sum_bench.json > $(BUILD)/check/sum_bench.out
	grep -q '^Benchmarks: 17 ' $(BUILD)/check/sum_bench.out
	grep -q '^Compared: sum, n = 100,000 (fastest first)$$' $(BUILD)/check/sum_bench.out
	grep -q '^Compared: sort, n = 2,000 (fastest first)$$' $(BUILD)/check/sum_bench.out
	grep -q '^  sort/insertion: .*; time grows as n^' $(BUILD)/check/sum_bench.out
	./$(BUILD)/cprof bench $(BUILD)/check/sum_bench.json | grep -q '^Benchmarks: 17 '

check-example: $(BUILD)/wordfreq
	./$(BUILD)/wordfreq > $(BUILD)/check/wordfreq.out
	grep -q '^1360 distinct words' $(BUILD)/check/wordfreq.out
	grep -A2 '^Functions, by self time' $(BUILD)/check/wordfreq.out | tail -1 | grep -q ' find_word  (examples/wordfreq.c:'

# The README's quick start compiles and runs as printed.
check-readme-quickstart:
	awk '/^<!-- quickstart -->/{f=1;next} f&&/^```c/{g=1;next} g&&/^```/{exit} g' README.md > $(BUILD)/check/quickstart.c
	test -s $(BUILD)/check/quickstart.c
	gcc -std=c99 $(WARNINGS) -I. $(BUILD)/check/quickstart.c -o $(BUILD)/check/quickstart $(LIBS)
	./$(BUILD)/check/quickstart > $(BUILD)/check/quickstart.out
	grep -Eq '^ +1,000 .*  parse  \(' $(BUILD)/check/quickstart.out
	grep -Eq '^ +1 .*  load config  \(' $(BUILD)/check/quickstart.out
	! grep -q "own cost was" $(BUILD)/check/quickstart.out # the first example's times are not all cprof's own

# cprof diff on two saved benchmark runs (one benchmark 45% slower): one run a side has no test, so
# within noise and exit 0 by default; with --single-run-threshold=40, exit 1 and REGRESSED; the other way
# round, or gated on allocations only, exit 0; cprof bench prints the table.
check-bench-diff: $(BUILD)/cprof $(TEST_OBJECT)
	rm -rf $(BUILD)/check/bench-diff && mkdir -p $(BUILD)/check/bench-diff
	$(cc.gcc-c11) $(WARNINGS) $(TEST_FLAGS) tests/test_bench.c $(TEST_OBJECT) -o $(BUILD)/check/bench-diff/test_bench $(LIBS)
	./$(BUILD)/check/bench-diff/test_bench $(BUILD)/check/bench-diff
	cd $(BUILD)/check/bench-diff && ../../cprof diff run_a.json run_b.json > single.txt
	grep -q '^  sort/quick  *1,000 .*within noise$$' $(BUILD)/check/bench-diff/single.txt
	cd $(BUILD)/check/bench-diff && { ../../cprof diff --single-run-threshold=40 run_a.json run_b.json > regressed.txt; test $$? = 1; }
	grep -q '^  sort/quick  *1,000 .*REGRESSED$$' $(BUILD)/check/bench-diff/regressed.txt
	grep -q '^1 regressed$$' $(BUILD)/check/bench-diff/regressed.txt
	cd $(BUILD)/check/bench-diff && ../../cprof diff --single-run-threshold=40 run_b.json run_a.json > improved.txt
	grep -q 'improved$$' $(BUILD)/check/bench-diff/improved.txt
	cd $(BUILD)/check/bench-diff && ../../cprof diff --fail-on=alloc run_a.json run_b.json > /dev/null
	cd $(BUILD)/check/bench-diff && { ../../cprof diff run_a.json run_a.json -- run_b.json run_b.json > /dev/null; test $$? = 1; }
	./$(BUILD)/cprof bench $(BUILD)/check/bench-diff/run_a.json | grep -q '^Benchmarks: 4 '

# The benchmarks compile, warnings as errors. At -O0: each includes the whole implementation, and at -O2
# the fifteen took 210 s of the test's CPU time (-O0: 45 s); `make bench` builds them at -O2.
check-bench-builds:
	$(foreach b,$(BENCHES),gcc -std=c11 -O0 $(WARNINGS) $(BENCH_SOURCE) $(bench_flags.$(b)) bench/$(b).c -o $(BUILD)/check/$(b) $(LIBS) &&) true

# --- automatic instrumentation (CPROF_AUTO): programs compiled with -finstrument-functions ----------
# tests/auto_main.c (cprof in the same, instrumented file) loads tests/auto_plugin.c as a shared
# library, a stripped copy of it without its build ID (so no debug file is found for it) and one whose
# debug file is apart (tests/debug_split.sh); -rdynamic exports the hooks to the library.
cc.auto-c-gcc      := gcc -std=c11 -O1 -g
cc.auto-c-clang    := clang -std=c11 -O1 -g
cc.auto-c-asan     := $(cc.asan-ubsan)
cc.auto-c-tsan     := $(cc.tsan)
cc.auto-c-valgrind := $(cc.valgrind)
run.auto-c-valgrind := $(run.valgrind)
check-auto-c-%:
	@mkdir -p $(BUILD)/check/auto-$*
	$(cc.auto-c-$*) $(WARNINGS) -fPIC -shared -finstrument-functions tests/auto_plugin.c -o $(BUILD)/check/auto-$*/auto_plugin.so
	strip --remove-section=.note.gnu.build-id -o $(BUILD)/check/auto-$*/auto_plugin_stripped.so $(BUILD)/check/auto-$*/auto_plugin.so
	tests/debug_split.sh $(BUILD)/check/auto-$*/auto_plugin.so $(BUILD)/check/auto-$*/auto_plugin_debug.so $(BUILD)/check/auto-$*/debug
	$(cc.auto-c-$*) $(WARNINGS) -finstrument-functions -rdynamic tests/auto_main.c -o $(BUILD)/check/auto-$*/auto_main $(LIBS)
	CPROF_AUTO_EXCLUDE='^skipped_' CPROF_DEBUG_DIR=$(BUILD)/check/auto-$*/debug timeout 300 $(run.auto-c-$*) \
	  ./$(BUILD)/check/auto-$*/auto_main $(BUILD)/check/auto-$*/auto_plugin.so $(BUILD)/check/auto-$*/auto_plugin_stripped.so \
	  $(BUILD)/check/auto-$*/auto_plugin_debug.so
	CPROF_AUTO_EXCLUDE='(' timeout 300 $(run.auto-c-$*) ./$(BUILD)/check/auto-$*/auto_main --bad-regex
	$(cc.auto-c-$*) $(WARNINGS) -finstrument-functions tests/auto_counted.c -o $(BUILD)/check/auto-$*/auto_counted $(LIBS)
	CPROF_AUTO_MIN_NS=1000000000 timeout 300 $(run.auto-c-$*) ./$(BUILD)/check/auto-$*/auto_counted counted
	CPROF_AUTO_MIN_NS=0 timeout 300 $(run.auto-c-$*) ./$(BUILD)/check/auto-$*/auto_counted timed
	CPROF=0 timeout 300 $(run.auto-c-$*) ./$(BUILD)/check/auto-$*/auto_counted off
	CPROF_AUTO_MIN_NS=5000 timeout 300 $(run.auto-c-$*) ./$(BUILD)/check/auto-$*/auto_counted capped

# C++: demangled methods and templates, an exception through instrumented functions.
check-auto-cpp-%:
	$(if $(filter gcc,$*),g++ -std=c++11,clang++ -std=c++17) -O1 -g $(WARNINGS) -finstrument-functions \
	  tests/auto_cpp.cc -o $(BUILD)/check/auto_cpp-$* $(LIBS)
	timeout 300 ./$(BUILD)/check/auto_cpp-$*

# Exactness against an independent tool: for every function of tests/auto_calls.c, cprof's call count
# equals callgrind's, in the same run. cprof (tests/auto_counts.c) is not instrumented here.
check-auto-callgrind:
	gcc -std=c11 -O0 -g $(WARNINGS) -finstrument-functions -c tests/auto_calls.c -o $(BUILD)/check/auto_calls.o
	gcc -std=c11 -O2 -g $(WARNINGS) -c tests/auto_counts.c -o $(BUILD)/check/auto_counts.o
	gcc $(BUILD)/check/auto_calls.o $(BUILD)/check/auto_counts.o -o $(BUILD)/check/auto_calls $(LIBS)
	cd $(BUILD)/check && rm -f callgrind.out && AUTO_COUNTS=auto_cprof.tsv timeout 300 valgrind -q --tool=callgrind \
	  --compress-strings=no --compress-pos=no --callgrind-out-file=callgrind.out ./auto_calls
	awk -v file='auto_calls[.]c$$' -f tests/callgrind_calls.awk $(BUILD)/check/callgrind.out | sort -k2 \
	  > $(BUILD)/check/auto_callgrind.tsv
	sort -k2 $(BUILD)/check/auto_cprof.tsv > $(BUILD)/check/auto_cprof_sorted.tsv
	cat $(BUILD)/check/auto_cprof_sorted.tsv
	test $$(wc -l < $(BUILD)/check/auto_callgrind.tsv) -ge 11
	diff $(BUILD)/check/auto_callgrind.tsv $(BUILD)/check/auto_cprof_sorted.tsv

# The profiler's own code never calls the hooks where it matters: under clang no function of the
# implementation does; under gcc not the hooks, cprof__exit nor the hot path of cprof__enter (its only
# hook calls surround the first-use initialisation). x86-64 object code is inspected.
HOOK_CALLERS := objdump -dr --no-show-raw-insn $(BUILD)/check/hooks.o | awk '/^[0-9a-f]+ <.*>:$$/ { f = $$2 } \
  /R_X86_64_PLT32[ \t]+__cyg_profile_func_|call .*<__cyg_profile_func_[a-z]+(\.[a-z0-9.]+)?>/ { print f }' | sort -u
check-auto-hot-path:
	printf '#define CPROF_IMPLEMENTATION\n#define CPROF_AUTO\n#include "cprof.h"\nint user(void);\nint user(void){return 1;}\n' \
	  > $(BUILD)/check/hooks.c
	clang -std=c11 -O2 $(WARNINGS) -finstrument-functions -I. -c $(BUILD)/check/hooks.c -o $(BUILD)/check/hooks.o
	test "$$($(HOOK_CALLERS))" = "<user>:"
	gcc -std=c11 -O2 $(WARNINGS) -finstrument-functions -I. -c $(BUILD)/check/hooks.c -o $(BUILD)/check/hooks.o
	$(HOOK_CALLERS) > $(BUILD)/check/hook_callers.txt; cat $(BUILD)/check/hook_callers.txt
	grep -qx '<user>:' $(BUILD)/check/hook_callers.txt
	! grep -E '^<(__cyg_profile_func_(enter|exit)|cprof__exit|cprof__frame_close|cprof__ticks)>:' $(BUILD)/check/hook_callers.txt
	objdump -d --no-show-raw-insn $(BUILD)/check/hooks.o | awk '/^[0-9a-f]+ <cprof__enter>:$$/ { p = 1; next } \
	  /^[0-9a-f]+ <.*>:$$/ { p = 0 } p && /call/' > $(BUILD)/check/enter_calls.txt; cat $(BUILD)/check/enter_calls.txt
	test $$(grep -c '__cyg_profile_func' $(BUILD)/check/enter_calls.txt) -le 2

# make demo's automatic build: the bottleneck first, the counts of the manual build, plus the
# qsort callback that the manual build never had a scope for; nothing of the profiler's own.
check-example-auto: $(BUILD)/wordfreq-auto
	timeout 300 ./$(BUILD)/wordfreq-auto > $(BUILD)/check/wordfreq-auto.out
	grep -q '^1360 distinct words' $(BUILD)/check/wordfreq-auto.out
	grep -A2 '^Functions, by self time' $(BUILD)/check/wordfreq-auto.out | tail -1 | grep -q ' find_word  (wordfreq-auto)$$'
	grep -Eq '^ +200,000 .*  find_word  \(wordfreq-auto\)$$' $(BUILD)/check/wordfreq-auto.out
	grep -Eq '^ +200,000 .*  count_word  \(wordfreq-auto\)$$' $(BUILD)/check/wordfreq-auto.out
	grep -Eq '  by_count  \(wordfreq-auto\)(  counted, (not timed|time estimated))?$$' $(BUILD)/check/wordfreq-auto.out
	! grep -E '  (cprof_|stbsp__)' $(BUILD)/check/wordfreq-auto.out

# The interpreter instrumented automatically prints the plain build's line to the byte (the same checksum
# of everything its script computed), and its profile has at least 300 functions that were called.
MINIVM_CHECK_SCALE := 3
check-example-minivm: $(BUILD)/minivm $(BUILD)/minivm-auto $(BUILD)/cprof
	./$(BUILD)/minivm $(MINIVM_CHECK_SCALE) > $(BUILD)/check/minivm.out
	CPROF_OUT=$(BUILD)/check/minivm-auto timeout 300 ./$(BUILD)/minivm-auto $(MINIVM_CHECK_SCALE) > $(BUILD)/check/minivm-auto.out
	cat $(BUILD)/check/minivm.out
	grep -q '^minivm: scale $(MINIVM_CHECK_SCALE), checksum [0-9a-f]*, [0-9]* instructions, [0-9]* collections$$' $(BUILD)/check/minivm.out
	cmp $(BUILD)/check/minivm.out $(BUILD)/check/minivm-auto.out
	called=$$(./$(BUILD)/cprof stats $(BUILD)/check/minivm-auto.json | awk -F'\t' 'NR > 1 && $$2 > 0' | wc -l); \
	echo "$$called functions called"; test $$called -ge 300

# cprof record on an unmodified minivm (and against perf record when perf works): tests/check_record.sh.
check-record: $(BUILD)/cprof $(BUILD)/libcprof-sample.so
	tests/check_record.sh $(BUILD)

# Every flame graph the tests write (known trees, hostile names, a live capture, 100,000 nodes, empty)
# is well-formed XML.
check-flamegraph-xml: $(TEST_OBJECT)
	rm -rf $(BUILD)/check/svg-xml && mkdir -p $(BUILD)/check/svg-xml
	$(cc.gcc-c11) $(WARNINGS) $(TEST_FLAGS) tests/test_flamegraph.c $(TEST_OBJECT) -o $(BUILD)/check/svg-xml/samples $(LIBS)
	./$(BUILD)/check/svg-xml/samples --samples $(BUILD)/check/svg-xml
	$(cc.gcc-c11) $(WARNINGS) $(TEST_FLAGS) tests/test_hostile.c $(TEST_OBJECT) -o $(BUILD)/check/svg-xml/hostile $(LIBS)
	./$(BUILD)/check/svg-xml/hostile --samples $(BUILD)/check/svg-xml
	test $$(ls $(BUILD)/check/svg-xml/*.svg | wc -l) = 11
	for f in $(BUILD)/check/svg-xml/*.svg; do echo "xmllint $$f"; xmllint --noout $$f || exit 1; done

# The same SVGs in headless Chromium: hover, zoom, search, reset, a view reopened from its URL,
# screenshots in build/check/svg-browser; in the hostile ones (test_hostile --samples) no element,
# attribute or script of the profile's strings; in differential ones (cprof diff --svg) every frame's
# contrast. Skipped, saying so, when Chromium or Node is missing.
check-flamegraph-browser: $(TEST_OBJECT) $(BUILD)/cprof
	@if [ ! -x $(CHROMIUM) ] || ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  echo "SKIP: the flame graph's browser test needs $(CHROMIUM), node and npm (.ci/run installs them)"; exit 0; fi; \
	rm -rf $(BUILD)/check/svg-browser && mkdir -p $(BUILD)/check/svg-browser && \
	$(MAKE) --no-print-directory $(PLAYWRIGHT) && \
	$(cc.gcc-c11) $(WARNINGS) $(TEST_FLAGS) tests/test_flamegraph.c $(TEST_OBJECT) -o $(BUILD)/check/svg-browser/samples $(LIBS) && \
	./$(BUILD)/check/svg-browser/samples --samples $(BUILD)/check/svg-browser && \
	$(cc.gcc-c11) $(WARNINGS) $(TEST_FLAGS) tests/test_hostile.c $(TEST_OBJECT) -o $(BUILD)/check/svg-browser/hostile $(LIBS) && \
	./$(BUILD)/check/svg-browser/hostile --samples $(BUILD)/check/svg-browser && \
	{ ./$(BUILD)/cprof diff --svg $(BUILD)/check/svg-browser/diff-after.svg tests/corpus/wordfreq.json tests/corpus/wordfreq-counters.json; \
	  ./$(BUILD)/cprof diff --before-widths --svg $(BUILD)/check/svg-browser/diff-before.svg tests/corpus/threads.json tests/corpus/wordfreq.json; \
	  ./$(BUILD)/cprof diff --svg $(BUILD)/check/svg-browser/diff-threads.svg tests/corpus/wordfreq.json tests/corpus/threads.json; } > /dev/null && \
	CHROMIUM=$(CHROMIUM) NODE_PATH=$(BUILD)/npm/node_modules timeout 300 node tests/flamegraph_browser.cjs $(BUILD)/check/svg-browser

# The timeline of a real run (examples/frames.c: frames, two threads) as Chrome trace events: valid by
# the format's rules, nested per thread, one thread_name per thread, a complete event per exit of the
# profile's timeline, every frame mark; the report's frame line. Structure only: no timing is asserted.
check-trace: $(BUILD)/cprof $(BUILD)/frames
	rm -rf $(BUILD)/check/trace && mkdir -p $(BUILD)/check/trace
	CPROF_TIMELINE=65536 CPROF_OUT=$(BUILD)/check/trace/frames ./$(BUILD)/frames > /dev/null
	grep -q '^Frames: 601 marked (CPROF_FRAME) on thread main, 600 timed in the timeline: median ' $(BUILD)/check/trace/frames.txt
	./$(BUILD)/cprof trace $(BUILD)/check/trace/frames.json > $(BUILD)/check/trace/trace.json
	python3 tests/trace_check.py $(BUILD)/check/trace/trace.json --profile $(BUILD)/check/trace/frames.json --frames 601
	./$(BUILD)/cprof trace tests/corpus/wordfreq.json 2> $(BUILD)/check/trace/none.err; test $$? = 1
	grep -q 'no timeline in this profile (record it with CPROF_TIMELINE=N)' $(BUILD)/check/trace/none.err

# The same kind of trace opened by speedscope's own importer in headless Chromium (tests/trace_speedscope.cjs):
# imported without an error, every thread offered as a profile.
check-trace-browser: $(BUILD)/cprof $(BUILD)/frames
	@if [ ! -x $(CHROMIUM) ] || ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  echo "SKIP: the trace's browser test needs $(CHROMIUM), node and npm (.ci/run installs them)"; exit 0; fi; \
	rm -rf $(BUILD)/check/trace-browser && mkdir -p $(BUILD)/check/trace-browser && \
	$(MAKE) --no-print-directory $(SPEEDSCOPE_NPM) && \
	CPROF_TIMELINE=65536 CPROF_OUT=$(BUILD)/check/trace-browser/frames ./$(BUILD)/frames > /dev/null && \
	./$(BUILD)/cprof trace $(BUILD)/check/trace-browser/frames.json > $(BUILD)/check/trace-browser/frames-trace.json && \
	CHROMIUM=$(CHROMIUM) NODE_PATH=$(BUILD)/npm-speedscope/node_modules timeout 300 node tests/trace_speedscope.cjs \
	  $(BUILD)/npm-speedscope/node_modules/speedscope/dist/release/index.html $(BUILD)/check/trace-browser/frames-trace.json main streamer

# The memory chart of a real run (examples/heap_phases.c: a peak of 5,120,000 B in build_index, one block lost):
# the report's peak and leak lines, `cprof memory` well-formed (stdout and -o the same bytes), a profile
# without a series refused; then the chart in headless Chromium (tests/memory_browser.cjs): its columns and
# totals the JSON's, the peak where the program made it, hover, contrast. The browser part is skipped, saying
# so, when Chromium or Node is missing.
check-memory-browser: $(BUILD)/cprof $(BUILD)/heap_phases
	rm -rf $(BUILD)/check/memory && mkdir -p $(BUILD)/check/memory
	CPROF_OUT=$(BUILD)/check/memory/heap ./$(BUILD)/heap_phases > /dev/null
	grep -q '^  live at capture: 1 blocks, 256 B; peak 5,120,000 B in build_index' $(BUILD)/check/memory/heap.txt
	grep -q '^Leaks: 1 blocks, 256 B definitely lost' $(BUILD)/check/memory/heap.txt
	./$(BUILD)/cprof memory $(BUILD)/check/memory/heap.json > $(BUILD)/check/memory/heap.svg
	./$(BUILD)/cprof memory -o $(BUILD)/check/memory/heap-o.svg $(BUILD)/check/memory/heap.json
	cmp $(BUILD)/check/memory/heap.svg $(BUILD)/check/memory/heap-o.svg
	xmllint --noout $(BUILD)/check/memory/heap.svg
	./$(BUILD)/cprof memory tests/corpus/wordfreq.json 2> $(BUILD)/check/memory/none.err; test $$? = 1
	grep -q 'no memory series in this profile' $(BUILD)/check/memory/none.err
	@if [ ! -x $(CHROMIUM) ] || ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  echo "SKIP: the memory chart's browser test needs $(CHROMIUM), node and npm (.ci/run installs them)"; exit 0; fi; \
	$(MAKE) --no-print-directory $(PLAYWRIGHT) && \
	CHROMIUM=$(CHROMIUM) NODE_PATH=$(BUILD)/npm/node_modules timeout 120 node tests/memory_browser.cjs \
	  $(BUILD)/check/memory/heap.svg $(BUILD)/check/memory/heap.json $(BUILD)/check/memory/heap.png

# The leak check cprof makes at exit equals valgrind memcheck's, in each category (definitely, indirectly and
# possibly lost, still reachable), bytes and blocks; cprof's own memory is suppressed on valgrind's side.
check-alloc-valgrind: $(BUILD)/cprof
	gcc -std=c11 -O0 -g $(WARNINGS) tests/alloc_leaks.c -o $(BUILD)/check/alloc_leaks $(LIBS)
	CPROF_OUT=$(BUILD)/check/alloc_leaks valgrind --leak-check=full --suppressions=tests/alloc_leaks.supp \
	  $(BUILD)/check/alloc_leaks 2> $(BUILD)/check/alloc_leaks.valgrind
	$(BUILD)/cprof leaks $(BUILD)/check/alloc_leaks.json > $(BUILD)/check/alloc_leaks.cprof
	cat $(BUILD)/check/alloc_leaks.cprof
	grep -A4 'LEAK SUMMARY' $(BUILD)/check/alloc_leaks.valgrind
	cprof=$$(sed -n -e 's/^Leaks: \([0-9,]*\) blocks, \([0-9,]*\) B definitely lost$$/\2 \1/p' \
	  -e 's/^  \(indirectly lost\|possibly lost\|still reachable\): *\([0-9,]*\) blocks, \([0-9,]*\) B.*/\3 \2/p' \
	  $(BUILD)/check/alloc_leaks.cprof | tr -d , | tr '\n' ' '); \
	valgrind=$$(sed -n 's/.*\(definitely lost\|indirectly lost\|possibly lost\|still reachable\): \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\2 \3/p' \
	  $(BUILD)/check/alloc_leaks.valgrind | tr -d , | tr '\n' ' '); \
	echo "cprof: $$cprof  valgrind: $$valgrind (bytes blocks: definitely, indirectly, possibly lost, reachable)"; \
	test -n "$$cprof" && test "$$cprof" = "$$valgrind" && test "$$cprof" = "2800 8 96 3 120 2 316 3 "

# `cprof diff` as a CI gate: its exit status (0 faster, 1 a significant regression, 0 with --fail-on=none, a
# threshold above the change, no single-run gate or a function too small for it, 2 bad usage, 1 a missing
# file), several runs a side, and a well-formed
# differential flame graph in both widths.
check-diff-tool: $(BUILD)/cprof $(TEST_OBJECT)
	rm -rf $(BUILD)/check/diff && mkdir -p $(BUILD)/check/diff
	$(cc.gcc-c11) $(WARNINGS) $(TEST_FLAGS) tests/test_compare.c $(TEST_OBJECT) -o $(BUILD)/check/diff/samples $(LIBS)
	./$(BUILD)/check/diff/samples --samples $(BUILD)/check/diff
	cd $(BUILD)/check/diff && ../../cprof diff seed-before.json seed-after.json > seed.txt
	grep -q 'speedup 2.00x' $(BUILD)/check/diff/seed.txt
	cd $(BUILD)/check/diff && ../../cprof diff before.json after.json --svg after.svg > mixed.txt; test $$? = 1
	grep -q '^!! slower ' $(BUILD)/check/diff/mixed.txt
	cd $(BUILD)/check/diff && ../../cprof diff --single-run-threshold=0 before.json after.json > mixed.txt; test $$? = 0
	grep -q 'never: one run a side cannot tell a change' $(BUILD)/check/diff/mixed.txt
	cd $(BUILD)/check/diff && ../../cprof diff --single-run-min-share=30 before.json after.json > /dev/null
	cd $(BUILD)/check/diff && ../../cprof diff --single-run-threshold=30 before.json after.json > mixed.txt; test $$? = 1
	grep -q '^!! slower ' $(BUILD)/check/diff/mixed.txt
	cd $(BUILD)/check/diff && ../../cprof diff --fail-on=none before.json after.json > /dev/null
	cd $(BUILD)/check/diff && ../../cprof diff --fail-on=alloc before.json after.json > /dev/null
	cd $(BUILD)/check/diff && ../../cprof diff --single-run-threshold=30 --threshold=150 before.json after.json > /dev/null
	cd $(BUILD)/check/diff && ../../cprof diff --single-run-threshold=30 after.json before.json > /dev/null; test $$? = 1
	cd $(BUILD)/check/diff && ../../cprof diff runs-b1.json runs-b2.json runs-b3.json runs-b4.json runs-b5.json -- \
	  runs-a1.json runs-a2.json runs-a3.json runs-a4.json runs-a5.json > planted.txt; test $$? = 1
	grep -q '^!! one  *self time ' $(BUILD)/check/diff/planted.txt
	cd $(BUILD)/check/diff && ../../cprof diff --min-share=1 runs-b1.json runs-b2.json runs-b3.json runs-b4.json runs-b5.json -- \
	  runs-a1.json runs-a2.json runs-a3.json runs-a4.json runs-a5.json > /dev/null
	cd $(BUILD)/check/diff && ../../cprof diff --noise runs-b1.json runs-b2.json runs-b3.json > noise.txt
	grep -q '^Suggested for one run a side: --single-run-threshold=' $(BUILD)/check/diff/noise.txt
	cd $(BUILD)/check/diff && ../../cprof diff --noise runs-b1.json -- runs-a1.json 2>> usage.txt; test $$? = 2
	cd $(BUILD)/check/diff && ../../cprof diff --min-share=x before.json after.json 2>> usage.txt; test $$? = 2
	cd $(BUILD)/check/diff && ../../cprof diff before.json before.json before.json -- after.json after.json > runs.txt; test $$? = 1
	grep -q 'Runs: 3 before, 2 after' $(BUILD)/check/diff/runs.txt
	cd $(BUILD)/check/diff && ../../cprof diff before.json 2> usage.txt; test $$? = 2
	cd $(BUILD)/check/diff && ../../cprof diff --fail-on=sometimes before.json after.json 2>> usage.txt; test $$? = 2
	cd $(BUILD)/check/diff && ../../cprof diff before.json missing.json 2>> usage.txt; test $$? = 1
	cd $(BUILD)/check/diff && ../../cprof diff --fail-on=none --before-widths --svg before.svg before.json after.json > /dev/null; test $$? = 0
	xmllint --noout $(BUILD)/check/diff/after.svg $(BUILD)/check/diff/before.svg
	grep -q 'new: not in the before profile' $(BUILD)/check/diff/after.svg
	grep -q 'removed: not in the after profile' $(BUILD)/check/diff/before.svg

export ANALYSIS_JSON_CHECK := const a = JSON.parse(require("fs").readFileSync(process.argv[1])); \
  if (a.findings[0].function !== "find_word" || a.findings[0].category !== "SlowFunction" || a.issues_found !== a.findings.length) process.exit(1);

# The analysis of the example: CPROF_OUT puts it after the report in prefix.txt, naming find_word as the
# bottleneck; 'cprof analyze' on the saved profile prints the same text; --json is valid JSON with the
# same findings; bad usage and a missing file exit 2 and 1.
check-analyze-tool: $(BUILD)/cprof $(BUILD)/wordfreq
	rm -rf $(BUILD)/check/analysis && mkdir -p $(BUILD)/check/analysis
	CPROF_OUT=$(BUILD)/check/analysis/demo ./$(BUILD)/wordfreq > /dev/null
	sed -n '/^Performance Analysis/,$$p' $(BUILD)/check/analysis/demo.txt > $(BUILD)/check/analysis/from-out.txt
	head -1 $(BUILD)/check/analysis/from-out.txt | grep -q '^Performance Analysis: bottleneck find_word (examples/wordfreq.c:[0-9]*), .*heaviest path: main > count_words > count_word > find_word$$'
	grep -q '^Issues Found: [1-9]' $(BUILD)/check/analysis/from-out.txt
	grep -q '^  1. SlowFunction: find_word ' $(BUILD)/check/analysis/from-out.txt
	test $$(grep -n '^Functions, by self time' $(BUILD)/check/analysis/demo.txt | cut -d: -f1) -lt $$(grep -n '^Performance Analysis' $(BUILD)/check/analysis/demo.txt | cut -d: -f1)
	./$(BUILD)/cprof analyze $(BUILD)/check/analysis/demo.json > $(BUILD)/check/analysis/from-tool.txt
	cmp $(BUILD)/check/analysis/from-out.txt $(BUILD)/check/analysis/from-tool.txt
	./$(BUILD)/cprof analyze --json $(BUILD)/check/analysis/demo.json > $(BUILD)/check/analysis/analysis.json
	node -e "$$ANALYSIS_JSON_CHECK" $(BUILD)/check/analysis/analysis.json
	./$(BUILD)/cprof analyze --bogus $(BUILD)/check/analysis/demo.json 2>/dev/null; test $$? = 2
	./$(BUILD)/cprof analyze $(BUILD)/check/analysis/missing.json 2>/dev/null; test $$? = 1
	./$(BUILD)/cprof help | grep -q '^  analyze \[--json\] P.json'

$(PLAYWRIGHT):
	mkdir -p $(BUILD)/npm
	flock $(BUILD)/npm/.lock npm install --prefix $(BUILD)/npm --no-audit --no-fund --loglevel=error playwright-core@$(PLAYWRIGHT_VERSION)

# --- benchmarks -------------------------------------------------------------------------------------
BENCHES := $(basename $(notdir $(wildcard bench/*.c)))

bench: deps $(addprefix $(BUILD)/bench/,$(BENCHES))
	@for b in $(BENCHES); do ./$(BUILD)/bench/$$b || exit 1; echo; done

# Extra flags per benchmark; auto_overhead measures the compiler's instrumentation itself. The benchmarks
# use POSIX (setenv, clocks) under -std=c11, as most programs do.
BENCH_SOURCE := -D_DEFAULT_SOURCE
bench_flags.auto_overhead := -finstrument-functions
bench_flags.sample_shares := -fno-omit-frame-pointer
bench_flags.sample_overhead := -fno-omit-frame-pointer

$(BUILD)/bench/%: bench/%.c bench/bench.h $(HEADER)
	@mkdir -p $(@D)
	gcc -std=c11 -O2 $(WARNINGS) $(BENCH_SOURCE) $(bench_flags.$*) $< -o $@ $(LIBS)

# --- fuzzing the loader and the writers: make fuzz / fuzz-writers [FUZZ_SECONDS=600]; crashes go to build/fuzz* 
FUZZ_SECONDS ?= 600
fuzz: deps
	@mkdir -p $(BUILD)/fuzz/corpus
	clang -std=c11 -O1 -g -DCPROF_FUZZING -DCPROF_IMPLEMENTATION -DCPROF_TESTING -D_DEFAULT_SOURCE -fsanitize=fuzzer,address,undefined tests/test_fuzz_corpus.c -o $(BUILD)/fuzz/fuzz_load $(LIBS)
	cd $(BUILD)/fuzz && ./fuzz_load -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=2048 corpus ../../tests/corpus

# The writers: short inputs (a profile's strings are where the dictionary's words land), new ones to build/fuzz-writers.
fuzz-writers: deps
	@mkdir -p $(BUILD)/fuzz-writers/corpus
	clang -std=c11 -O1 -g -DCPROF_FUZZING -DCPROF_IMPLEMENTATION -DCPROF_TESTING -D_DEFAULT_SOURCE -fsanitize=fuzzer,address,undefined tests/test_fuzz_corpus.c -o $(BUILD)/fuzz-writers/fuzz_writers $(LIBS)
	cd $(BUILD)/fuzz-writers && ./fuzz_writers -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
	  -dict=../../tests/hostile.dict corpus ../../tests/corpus

# --- install ----------------------------------------------------------------------------------------
# Also cprof.pc (pkg-config) and the CMake package (find_package(cprof): the target cprof::cprof);
# CMakeLists.txt installs the same files with cmake --install.
VERSION := $(shell sed -n 's/^\#define CPROF_VERSION "\(.*\)"/\1/p' $(HEADER))
install: $(BUILD)/cprof $(BUILD)/libcprof-sample.so
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/lib/cmake/cprof
	install -m 755 $(BUILD)/cprof $(DESTDIR)$(PREFIX)/bin/cprof
	install -m 644 $(BUILD)/libcprof-sample.so $(DESTDIR)$(PREFIX)/lib/libcprof-sample.so
	install -m 644 $(HEADER) $(DESTDIR)$(PREFIX)/include/cprof.h
	sed 's|@PREFIX@|$(PREFIX)|; s|@CPROF_VERSION@|$(VERSION)|' cmake/cprof.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/cprof.pc
	install -m 644 cmake/cprofConfig.cmake $(DESTDIR)$(PREFIX)/lib/cmake/cprof/cprofConfig.cmake
	sed 's|@CPROF_VERSION@|$(VERSION)|; s|@CPROF_VERSION_MAJOR@|$(firstword $(subst ., ,$(VERSION)))|' \
	  cmake/cprofConfigVersion.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/cprof/cprofConfigVersion.cmake

clean:
	rm -rf $(BUILD)
