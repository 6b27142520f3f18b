# cprof - every entry point. On a fresh Debian machine `make demo` and `make test` are all you need:
# both install what is missing (libstb-dev, clang, valgrind, xmllint, chromium, node) with apt-get first.
#
#   make demo      build and run the example, print its profile
#   make test      every test with gcc and clang, as C99, C11 and C++11, then under ASan+UBSan, TSan and
#                  valgrind, plus the build checks; ends with "N passed, N failed"
#   make bench     the overhead benchmarks (medians and ratios against a baseline of the same run)
#   make install   PREFIX=/usr/local: the header into PREFIX/include
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
run.valgrind   := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
# C++-only tests, with both C++ compilers and a newer standard
CPP_CONFIGS := g++-c++11 clang++-c++17
cc.g++-c++11   := g++ -std=c++11 -O2 -g
cc.clang++-c++17 := clang++ -std=c++17 -O2 -g

UNIT_TESTS := $(sort $(basename $(notdir $(wildcard tests/test_*.c)))) twice
CPP_TESTS := $(sort $(basename $(notdir $(wildcard tests/test_*.cc))))
CHECKS := zero-cost-gcc zero-cost-clang implementation-twice strict-header example readme-quickstart bench-builds \
          flamegraph-xml flamegraph-browser analyze-tool
RESULTS := $(foreach c,$(CONFIGS),$(foreach t,$(UNIT_TESTS),$(BUILD)/results/$(c)/$(t))) \
           $(foreach c,$(CPP_CONFIGS),$(foreach t,$(CPP_TESTS),$(BUILD)/results/$(c)/$(t))) \
           $(foreach k,$(CHECKS),$(BUILD)/results/check/$(k))
TEST_SOURCES := $(HEADER) $(wildcard tests/*.c tests/*.cc tests/*.h tests/*.cjs)
# The flame graph's browser test: the system's Chromium, driven by playwright-core from npm (installed
# into build/npm by the test when absent; 1.55 still runs on Debian 12's Node 18).
CHROMIUM ?= /usr/bin/chromium
PLAYWRIGHT_VERSION := 1.55.0
PLAYWRIGHT := $(BUILD)/npm/node_modules/playwright-core/package.json

.PHONY: all demo test bench install clean deps

all: deps $(BUILD)/wordfreq

# --- what a fresh Debian machine lacks ----------------------------------------------------------------
deps:
	@missing=""; \
	[ -f /usr/include/stb/stb_sprintf.h ] || missing="$$missing libstb-dev"; \
	command -v clang >/dev/null 2>&1 || missing="$$missing clang"; \
	command -v valgrind >/dev/null 2>&1 || missing="$$missing valgrind"; \
	command -v objdump >/dev/null 2>&1 || missing="$$missing binutils"; \
	command -v xmllint >/dev/null 2>&1 || missing="$$missing libxml2-utils"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

# --- the example ------------------------------------------------------------------------------------
$(BUILD)/wordfreq: examples/wordfreq.c $(HEADER)
	@mkdir -p $(@D)
	gcc -std=c99 -O2 $(WARNINGS) $< -o $@ $(LIBS)

demo: deps $(BUILD)/wordfreq
	./$(BUILD)/wordfreq

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

# config/test: compile with the configuration's line, run (under valgrind for that one), record.
$(BUILD)/results/%: $(TEST_SOURCES)
	@mkdir -p $(@D) $(BUILD)/bin/$(*D)
	@cfg=$(*D); t=$(*F); bin=$(BUILD)/bin/$*; \
	case $$t in twice) src="tests/twice_a.c tests/twice_b.c";; *) src=$$(ls tests/$$t.c tests/$$t.cc 2>/dev/null);; esac; \
	if $(cc.$(*D)) $(WARNINGS) $$src -o $$bin $(LIBS) > $@.log 2>&1 && \
	   timeout 600 $(run.$(*D)) ./$$bin >> $@.log 2>&1; then echo PASS > $@; else echo FAIL > $@; fi

# Build checks, each a small script; same PASS/FAIL protocol, plus SKIP when a check prints a line
# starting with SKIP (something it needs is not installed) and succeeds.
$(BUILD)/results/check/%: $(TEST_SOURCES) examples/wordfreq.c README.md $(wildcard bench/*.c bench/*.h)
	@mkdir -p $(@D) $(BUILD)/check
	@if $(MAKE) --no-print-directory -s check-$* > $@.log 2>&1; then \
	  if grep -q '^SKIP' $@.log; then echo SKIP > $@; else echo PASS > $@; fi; else echo FAIL > $@; fi

.PHONY: check-zero-cost-gcc check-zero-cost-clang check-implementation-twice check-strict-header \
        check-example check-readme-quickstart check-bench-builds check-flamegraph-xml check-flamegraph-browser \
        check-analyze-tool

# CPROF_DISABLE costs nothing: a function with a scope compiles to the same code as without it.
check-zero-cost-%:
	$* -O2 -c tests/zero_cost.c -o $(BUILD)/check/zc-$*-without.o
	$* -O2 -c -DWITH_SCOPE tests/zero_cost.c -o $(BUILD)/check/zc-$*-with.o
	objdump -d --no-show-raw-insn $(BUILD)/check/zc-$*-without.o | tail -n +4 > $(BUILD)/check/zc-$*-without.txt
	objdump -d --no-show-raw-insn $(BUILD)/check/zc-$*-with.o | tail -n +4 > $(BUILD)/check/zc-$*-with.txt
	cmp $(BUILD)/check/zc-$*-without.txt $(BUILD)/check/zc-$*-with.txt

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
	done

# The example runs and its profile names the deliberate bottleneck first.
check-example: $(BUILD)/wordfreq
	./$(BUILD)/wordfreq > $(BUILD)/check/wordfreq.out
	grep -q '^1360 distinct words' $(BUILD)/check/wordfreq.out
	grep -A2 '^Functions, by self time' $(BUILD)/check/wordfreq.out | tail -1 | grep -q ' find_word  (examples/wordfreq.c:'

# The README's quick start compiles and runs as printed.
check-readme-quickstart:
	awk '/^<!-- quickstart -->/{f=1;next} f&&/^```c/{g=1;next} g&&/^```/{exit} g' README.md > $(BUILD)/check/quickstart.c
	test -s $(BUILD)/check/quickstart.c
	gcc -std=c99 $(WARNINGS) -I. $(BUILD)/check/quickstart.c -o $(BUILD)/check/quickstart $(LIBS)
	./$(BUILD)/check/quickstart | grep -q 'parse'

check-bench-builds:
	for b in bench/*.c; do gcc -std=c11 -O2 $(WARNINGS) $$b -o $(BUILD)/check/$$(basename $$b .c) $(LIBS) || exit 1; done

# Every flame graph the tests write (known trees, hostile names, a live capture, 100,000 nodes, empty)
# is well-formed XML.
check-flamegraph-xml:
	rm -rf $(BUILD)/check/svg-xml && mkdir -p $(BUILD)/check/svg-xml
	gcc -std=c11 -O1 -g $(WARNINGS) tests/test_flamegraph.c -o $(BUILD)/check/svg-xml/samples $(LIBS)
	./$(BUILD)/check/svg-xml/samples --samples $(BUILD)/check/svg-xml
	test $$(ls $(BUILD)/check/svg-xml/*.svg | wc -l) = 7
	for f in $(BUILD)/check/svg-xml/*.svg; do echo "xmllint $$f"; xmllint --noout $$f || exit 1; done

# The same SVGs in headless Chromium: hover, zoom, search, reset, a view reopened from its URL,
# screenshots in build/check/svg-browser. Skipped, saying so, when Chromium or Node is missing.
check-flamegraph-browser:
	@if [ ! -x $(CHROMIUM) ] || ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  echo "SKIP: the flame graph's browser test needs $(CHROMIUM), node and npm (.ci/run installs them)"; exit 0; fi; \
	rm -rf $(BUILD)/check/svg-browser && mkdir -p $(BUILD)/check/svg-browser && \
	$(MAKE) --no-print-directory $(PLAYWRIGHT) && \
	gcc -std=c11 -O1 -g $(WARNINGS) tests/test_flamegraph.c -o $(BUILD)/check/svg-browser/samples $(LIBS) && \
	./$(BUILD)/check/svg-browser/samples --samples $(BUILD)/check/svg-browser && \
	CHROMIUM=$(CHROMIUM) NODE_PATH=$(BUILD)/npm/node_modules timeout 300 node tests/flamegraph_browser.cjs $(BUILD)/check/svg-browser

export ANALYSIS_JSON_CHECK := const a = JSON.parse(require("fs").readFileSync(process.argv[1])); \
  if (a.findings[0].function !== "find_word" || a.findings[0].category !== "SlowFunction" || a.issues_found !== a.findings.length) process.exit(1);

# The analysis of the example: CPROF_OUT puts it after the report in prefix.txt, naming find_word as the
# bottleneck; 'cprof analyze' on the saved profile prints the same text; --json is valid JSON with the
# same findings; bad usage and a missing file exit 2 and 1.
check-analyze-tool: $(BUILD)/wordfreq
	rm -rf $(BUILD)/check/analyze && mkdir -p $(BUILD)/check/analyze
	gcc -std=c99 -O2 $(WARNINGS) -DCPROF_IMPLEMENTATION -DCPROF_MAIN -x c $(HEADER) -o $(BUILD)/check/analyze/cprof $(LIBS)
	CPROF_OUT=$(BUILD)/check/analyze/demo ./$(BUILD)/wordfreq > /dev/null
	sed -n '/^Performance Analysis/,$$p' $(BUILD)/check/analyze/demo.txt > $(BUILD)/check/analyze/from-out.txt
	head -1 $(BUILD)/check/analyze/from-out.txt | grep -q '^Performance Analysis: bottleneck find_word (examples/wordfreq.c:[0-9]*), .*heaviest path: main > count_words > count_word > find_word$$'
	grep -q '^Issues Found: [1-9]' $(BUILD)/check/analyze/from-out.txt
	grep -q '^  1. SlowFunction: find_word ' $(BUILD)/check/analyze/from-out.txt
	test $$(grep -n '^Functions, by self time' $(BUILD)/check/analyze/demo.txt | cut -d: -f1) -lt $$(grep -n '^Performance Analysis' $(BUILD)/check/analyze/demo.txt | cut -d: -f1)
	./$(BUILD)/check/analyze/cprof analyze $(BUILD)/check/analyze/demo.json > $(BUILD)/check/analyze/from-tool.txt
	cmp $(BUILD)/check/analyze/from-out.txt $(BUILD)/check/analyze/from-tool.txt
	./$(BUILD)/check/analyze/cprof analyze --json $(BUILD)/check/analyze/demo.json > $(BUILD)/check/analyze/analysis.json
	node -e "$$ANALYSIS_JSON_CHECK" $(BUILD)/check/analyze/analysis.json
	./$(BUILD)/check/analyze/cprof analyze --bogus $(BUILD)/check/analyze/demo.json 2>/dev/null; test $$? = 2
	./$(BUILD)/check/analyze/cprof analyze $(BUILD)/check/analyze/missing.json 2>/dev/null; test $$? = 1
	./$(BUILD)/check/analyze/cprof help | grep -q '^  analyze \[--json\] P.json'

$(PLAYWRIGHT):
	mkdir -p $(BUILD)/npm
	npm install --prefix $(BUILD)/npm --no-audit --no-fund --loglevel=error playwright-core@$(PLAYWRIGHT_VERSION)

# --- benchmarks -------------------------------------------------------------------------------------
BENCHES := $(basename $(notdir $(wildcard bench/*.c)))

bench: deps $(addprefix $(BUILD)/bench/,$(BENCHES))
	@for b in $(BENCHES); do ./$(BUILD)/bench/$$b || exit 1; echo; done

$(BUILD)/bench/%: bench/%.c bench/bench.h $(HEADER)
	@mkdir -p $(@D)
	gcc -std=c11 -O2 $(WARNINGS) $< -o $@ $(LIBS)

# --- install ----------------------------------------------------------------------------------------
install:
	install -d $(DESTDIR)$(PREFIX)/include
	install -m 644 $(HEADER) $(DESTDIR)$(PREFIX)/include/cprof.h

clean:
	rm -rf $(BUILD)
