# SPDX-License-Identifier: GPL-2.0-only
#
# make            build build/contrace (BPF objects, skeleton, user program)
# make deps       install the Debian packages the build, tests and demo need
# make demo       deps + build + trace the bundled example program
# make test       deps + build + unit tests (ASan/UBSan) + end-to-end tests
# make unit       the unit tests (ASan/UBSan), then their line coverage of the
#                 report model: fails below COV_MIN percent (70) in any file
# make coverage   the same (the coverage table is the point)
# make bench      deps + build + contrace against peer tools: overhead, accuracy,
#                 start-up (tools/bench/peers.py, BENCH_ARGS=--quick)
#                 then contrace serve soaked (tools/bench/soak.py, SOAK_SECONDS=600)
# make bench-costs  contrace's own costs in detail (tools/bench/bench.py)
# make format     clang-format the C sources in place
# V=1 shows the full commands.

VERSION := 0.1.0
OUT ?= build

CC ?= cc
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PYTEST ?= /usr/bin/python3 -m pytest
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

COMMON_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
	-MMD -MP -I$(OUT) -iquote bpf -iquote user -DCONTRACE_VERSION='"$(VERSION)"'
CFLAGS ?= -O2 -g
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS := -lbpf -ldw -lelf -lz -ljson-c -lm -lstdc++
BPF_CFLAGS := -g -O2 -mcpu=v3 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -MMD -MP -I$(OUT) -Ibpf

# Linked into one object in this order: libbpf 1.1's linker needs a map's
# definition before any `extern` use of it (task.bpf.c defines the shared ones;
# task.bpf.c reaches futex.bpf.c's maps through its global functions).
BPF_MODULES := task stacks futex holds gil syscalls gilsample sched
BPF_OBJS := $(patsubst %,$(OUT)/bpf/%.bpf.o,$(BPF_MODULES))
USER_SRCS := $(wildcard user/*/*.c)
LIB_SRCS := $(filter-out user/cli/main.c,$(USER_SRCS))
USER_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(USER_SRCS))
ASAN_LIB_OBJS := $(patsubst user/%.c,$(OUT)/asan/user/%.o,$(LIB_SRCS))
ASAN_MAIN_OBJ := $(OUT)/asan/user/cli/main.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/asan/tests/%,$(UNIT_SRCS))
# The report model (user/model/ and the snapshot it reads, user/snap/): the
# unit tests link a copy built with line coverage (gcov) as well as ASan, and
# `make unit` checks its floor. Only theirs: build/asan/contrace, which the
# end-to-end tests run as other users and in other mount namespaces, would
# write (or fail to write, on stderr) .gcda files at every exit.
COV_MODEL := $(wildcard user/model/*.c user/snap/*.c)
COV := $(OUT)/asan/cov
COV_OBJS := $(patsubst user/%.c,$(COV)/user/%.o,$(COV_MODEL))
UNIT_LIB_OBJS := $(filter-out $(patsubst user/%.c,$(OUT)/asan/user/%.o,$(COV_MODEL)), \
	$(ASAN_LIB_OBJS)) $(COV_OBJS)
WORKLOAD_SRCS := $(wildcard tools/workloads/*.c)
WORKLOAD_CXX_SRCS := $(wildcard tools/workloads/*.cpp)
WORKLOADS := $(patsubst tools/workloads/%.c,$(OUT)/workloads/%,$(WORKLOAD_SRCS)) \
	     $(patsubst tools/workloads/%.cpp,$(OUT)/workloads/%,$(WORKLOAD_CXX_SRCS)) \
	     $(OUT)/workloads/locks-static $(OUT)/workloads/stackwork-nofp
SKEL := $(OUT)/contrace.skel.h

# Debian packages: build, tests, demo. `make deps` installs only what is missing.
DEB_PKGS := make gcc clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool libjson-c-dev \
	libcmocka-dev python3 python3-pytest python3-jsonschema strace procps util-linux \
	libclang-rt-14-dev libstdc++-12-dev g++ python3.11-dbg protobuf-compiler prometheus \
	libdw-dev libc6-dbg golang-go memcached libmemcached-tools redis-server chromium
BENCH_PKGS := linux-perf bpftrace strace apache2-utils
SOAK_SECONDS ?= 600

.PHONY: bench-costs all deps bench-deps demo test unit e2e fuzz bench format check-format clean \
	coverage
.DELETE_ON_ERROR:

all: $(OUT)/contrace $(WORKLOADS)

deps:
	$(Q)missing=$$(for p in $(DEB_PKGS) $(EXTRA_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "  APT      $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null; \
	fi

bench-deps:
	$(Q)$(MAKE) --no-print-directory deps EXTRA_PKGS="$(BENCH_PKGS)"

$(OUT)/vmlinux.h:
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)test -r $(VMLINUX_BTF) || { echo "error: no kernel BTF at $(VMLINUX_BTF) (CONFIG_DEBUG_INFO_BTF)" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(OUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/contrace.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^
	$(Q)$(LLVM_STRIP) -g $@

$(SKEL): $(OUT)/contrace.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name contrace_bpf > $@.tmp && mv $@.tmp $@

$(OUT)/user/%.o: user/%.c $(SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(COMMON_CFLAGS) $(CFLAGS) -c $< -o $@

$(OUT)/contrace: $(USER_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/asan/user/%.o: user/%.c $(SKEL)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(COMMON_CFLAGS) $(ASAN_FLAGS) -c $< -o $@

$(OUT)/asan/contrace: $(ASAN_LIB_OBJS) $(ASAN_MAIN_OBJ)
	$(call msg,LD-ASAN,$@)
	$(Q)$(CC) $(ASAN_FLAGS) $^ $(LDLIBS) -o $@

# Unit-test fixtures (symbols): real ELF files for tests/unit/test_symbols.c.
# Defined before any rule that names them: make expands a rule's
# prerequisites as it reads the rule (after, $(FIXTURE_BINS) is empty there).
FIXTURES := $(OUT)/fixtures
FIXTURE_SRC := tests/unit/fixtures
FIXTURE_BINS := $(FIXTURES)/libsymfix.so.1 $(FIXTURES)/symprog $(FIXTURES)/symprog_nopie \
	$(FIXTURES)/symprog_stripped $(FIXTURES)/symprog_rdyn
FIXTURE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -I$(FIXTURE_SRC)
FIXTURE_LIB := -L$(FIXTURES) -l:libsymfix.so.1 -Wl,-rpath,'$$ORIGIN' -Wl,--build-id

$(FIXTURES)/libsymfix.so.1: $(FIXTURE_SRC)/symlib.c $(FIXTURE_SRC)/symlib.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FIXTURE_CFLAGS) -shared -fPIC -Wl,-soname,libsymfix.so.1 -Wl,--build-id $< -o $@

$(FIXTURES)/symprog: $(FIXTURE_SRC)/symprog.c $(FIXTURE_SRC)/symlib.h $(FIXTURES)/libsymfix.so.1
	$(call msg,CC,$@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) -fPIE -pie $< $(FIXTURE_LIB) -o $@

$(FIXTURES)/symprog_nopie: $(FIXTURE_SRC)/symprog.c $(FIXTURE_SRC)/symlib.h $(FIXTURES)/libsymfix.so.1
	$(call msg,CC,$@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) -fno-pie -no-pie $< $(FIXTURE_LIB) -o $@

# Stripped of .symtab: the symbols the test names are exported into .dynsym.
$(FIXTURES)/symprog_rdyn: $(FIXTURE_SRC)/symprog.c $(FIXTURE_SRC)/symlib.h $(FIXTURES)/libsymfix.so.1
	$(call msg,CC,$@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) -fPIE -pie -rdynamic $< $(FIXTURE_LIB) -o $@

# The same file stripped: the same build-id, fewer symbols.
$(FIXTURES)/symprog_stripped: $(FIXTURES)/symprog_rdyn
	$(call msg,STRIP,$@)
	$(Q)strip --strip-all $< -o $@

$(OUT)/asan/tests/test_symbols $(OUT)/asan/tests/test_holds: | $(FIXTURE_BINS)

$(OUT)/asan/tests/%.o: tests/unit/%.c $(SKEL)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(COMMON_CFLAGS) $(ASAN_FLAGS) -c $< -o $@

# test_enomem makes each allocation of the code under test fail in turn.
UNIT_LDFLAGS_test_enomem := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

$(COV)/user/%.o: user/%.c $(SKEL)
	$(call msg,CC-COV,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(COMMON_CFLAGS) $(ASAN_FLAGS) --coverage -c $< -o $@

$(OUT)/asan/tests/%: $(OUT)/asan/tests/%.o $(UNIT_LIB_OBJS)
	$(call msg,LD-ASAN,$@)
	$(Q)$(CC) $(ASAN_FLAGS) --coverage $(UNIT_LDFLAGS_$*) $^ $(LDLIBS) -lcmocka -o $@
# Named by the pattern rule above only: kept, not deleted as intermediate files.
.SECONDARY: $(COV_OBJS)

# The recording reader's fuzz target (libFuzzer, clang, with a mutator that
# knows the format), and its run: FUZZ_SECONDS from the corpus in
# tools/fuzz/corpus (a crash it finds is saved in $(OUT)/fuzz; copy it to the
# corpus once fixed: a regression test). For a long run by hand:
# `make fuzz FUZZ_SECONDS=1800`.
FUZZ_SECONDS ?= 30
# FUZZ_SAN=0: the same targets without ASan/UBSan, in $(OUT)/fuzz-nosan
# (libFuzzer's own checks only: 3 to 7 times the executions a second).
FUZZ_SAN ?= 1
ifeq ($(FUZZ_SAN),0)
FUZZ_DIR := $(OUT)/fuzz-nosan
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer -fno-omit-frame-pointer
else
FUZZ_DIR := $(OUT)/fuzz
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
endif
# The fuzz targets link the reading side only, without libbpf: the layers
# below probe/ and cli/ do not need it (tools/check-layers.py).
NOBPF_SRCS := $(wildcard user/util/*.c user/snap/*.c user/model/*.c user/out/*.c user/store/*.c)
NOBPF_LDLIBS := $(filter-out -lbpf -ldw -lelf,$(LDLIBS))
FUZZ_OBJS := $(patsubst user/%.c,$(FUZZ_DIR)/user/%.o,$(NOBPF_SRCS))

$(FUZZ_DIR)/user/%.o: user/%.c $(SKEL)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(COMMON_CFLAGS) $(subst -fsanitize=fuzzer,-fsanitize=fuzzer-no-link,$(FUZZ_FLAGS)) \
		-c $< -o $@

$(FUZZ_DIR)/fuzz_record: tools/fuzz/fuzz_record.c tools/fuzz/recedit.h $(FUZZ_OBJS)
	$(call msg,LD-FUZZ,$@)
	$(Q)$(CLANG) $(COMMON_CFLAGS) $(FUZZ_FLAGS) $(filter %.c %.o,$^) $(NOBPF_LDLIBS) -o $@

# diff's input (tools/fuzz/fuzz_diff.c): two JSON documents split at a NUL, seeds
# in tools/fuzz/corpus-diff (tools/fuzz/gen-corpus-diff.sh), new inputs in $(OUT)/fuzz/new-diff.
$(FUZZ_DIR)/fuzz_diff: tools/fuzz/fuzz_diff.c $(FUZZ_OBJS)
	$(call msg,LD-FUZZ,$@)
	$(Q)$(CLANG) $(COMMON_CFLAGS) $(FUZZ_FLAGS) $^ $(NOBPF_LDLIBS) -o $@

fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_DIR)/fuzz_record
	$(Q)mkdir -p $(FUZZ_DIR)/new
	$(Q)echo "  FUZZ     record reader, $(FUZZ_SECONDS) s"
	$(Q)cd $(FUZZ_DIR) && ./fuzz_record -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		new $(CURDIR)/tools/fuzz/corpus 2>fuzz.log || { tail -40 fuzz.log; exit 1; }
	$(Q)grep -E "stat::number_of_executed_units|stat::peak_rss" $(FUZZ_DIR)/fuzz.log
	$(Q)$(MAKE) --no-print-directory $(FUZZ_DIR)/fuzz_diff && mkdir -p $(FUZZ_DIR)/new-diff && echo "  FUZZ     diff's input, $(FUZZ_SECONDS) s" && cd $(FUZZ_DIR) && ./fuzz_diff -max_total_time=$(FUZZ_SECONDS) -dict=$(CURDIR)/tools/fuzz/diff.dict -max_len=131072 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 new-diff $(CURDIR)/tools/fuzz/corpus-diff 2>fuzz-diff.log && grep -E "stat::number_of_executed_units|stat::peak_rss" fuzz-diff.log || { tail -40 fuzz-diff.log; exit 1; }

# A recording of a given size made through the writer, for measuring
# `contrace report` on large files (docs/performance.md).
$(OUT)/tools/gen-recording: tools/gen-recording.c $(filter-out $(OUT)/user/cli/main.o,$(USER_OBJS))
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(COMMON_CFLAGS) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/workloads/%: tools/workloads/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror \
		-MMD -MP -pthread $< -o $@

$(OUT)/workloads/%: tools/workloads/%.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -std=gnu++17 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror \
		-MMD -MP -pthread $< -o $@

# Without frame pointers, as distributions build (--stacks must unwind by .eh_frame).
$(OUT)/workloads/%-nofp: tools/workloads/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g -fomit-frame-pointer -Wall -Wextra -Werror \
		-MMD -MP -pthread $< -o $@

$(OUT)/workloads/stackwork_cxx: tools/workloads/stackwork_cxx.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -std=gnu++17 -O2 -g -fomit-frame-pointer -Wall -Wextra -Werror \
		-MMD -MP -pthread $< -o $@

# The same, statically linked: no C library to probe (--holds must say so).
$(OUT)/workloads/%-static: tools/workloads/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -static -pthread $< -o $@

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(OUT)/contrace -- $(OUT)/workloads/demo

# The unit tests, then the lines of the report model they ran, per file
# (tools/coverage.py, from gcov's counts of this run only): below COV_MIN
# percent in any file fails. What reads BPF maps, /proc or a process's memory,
# or places probes, is in user/probe/ and tested end to end; a model function
# only those tests can reach would be named in COV_PROBE_SIDE (not counted).
COV_MIN ?= 70
COV_PROBE_SIDE :=
GCOV ?= gcov

unit: $(UNIT_BINS) $(FIXTURE_BINS)
	$(Q)echo "  LAYERS   user/: includes, links, design.md's picture (tools/check-layers.py)"
	$(Q)/usr/bin/python3 tools/check-layers.py --objects $(UNIT_LIB_OBJS)
	$(Q)rm -f $(COV)/user/*/*.gcda
	$(Q)for t in $(UNIT_BINS); do echo "  UNIT     $$t"; CONTRACE_FIXTURES=$(FIXTURES) $$t || exit 1; done
	$(Q)echo "  COVERAGE user/model user/snap, by the unit tests (floor $(COV_MIN)%)"
	$(Q)/usr/bin/python3 tools/coverage.py --gcov $(GCOV) --objdir $(COV)/user --min $(COV_MIN) \
		--probe-side "$(COV_PROBE_SIDE)" $(COV_MODEL)

coverage: unit

e2e: $(OUT)/contrace $(OUT)/asan/contrace $(WORKLOADS)
	$(Q)CONTRACE=$(OUT)/asan/contrace WORKLOADS=$(OUT)/workloads $(PYTEST) -q -rs --durations=25 tests/e2e

# The fuzzers for 15 s each here (their corpora replayed, then new inputs): the
# suite stays within CI's limit; `make fuzz FUZZ_SECONDS=1800` to search. Its
# builds (four of the sources: plain, ASan, coverage, fuzzing) one job per
# CPU: about two minutes serial on 2 CPUs, one in parallel; the tests
# themselves still run one at a time.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 1)

test: deps
	$(Q)$(MAKE) --no-print-directory -j$(TEST_JOBS) unit
	$(Q)$(MAKE) --no-print-directory -j$(TEST_JOBS) e2e
	$(Q)$(MAKE) --no-print-directory -j$(TEST_JOBS) fuzz FUZZ_SECONDS=15

bench: bench-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/bench/peers.py $(BENCH_ARGS)
	$(Q)tools/bench/soak.py --seconds $(SOAK_SECONDS)

bench-costs: bench-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/bench/bench.py $(BENCH_ARGS)

C_SOURCES = $(wildcard bpf/*.c bpf/*.h user/*/*.c user/*/*.h tests/unit/*.c tests/unit/*.h \
	tools/*.c tools/workloads/*.c tools/fuzz/*.c tools/fuzz/*.h)

format:
	$(Q)clang-format -i $(C_SOURCES)

check-format:
	$(Q)clang-format --dry-run --Werror $(C_SOURCES)

clean:
	$(Q)rm -rf $(OUT)

-include $(wildcard $(OUT)/bpf/*.d $(OUT)/user/*/*.d $(OUT)/asan/user/*/*.d $(OUT)/asan/tests/*.d \
	$(COV)/user/*/*.d $(OUT)/workloads/*.d)
