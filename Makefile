# sgx2emu — plain Makefile.  Targets:
#   make            library (static + shared) and the sgx2emu command
#   make check      build and run every test (cmocka); fails if any fails.
#                   Last line: "N passed, N failed" (tests summed over binaries)
#   make bench      run the benchmarks, results in $(BUILD)/bench/results.json
#                   (BENCH_QUICK=1: few iterations, to check the code still runs)
#   make install    PREFIX=/usr/local DESTDIR= : library, headers, command, pkg-config
#   make SAN=1 ...  the same under ASan + UBSan (build directory build-san)
#   make SAN=thread ...  under TSan (build-tsan); `make tsan-check` does that for check
#   make WERROR=1   warnings are errors (CI)
#   BUILD=dir       build directory (default build, build-san, build-tsan); parallel
#                   builds with different BUILD directories do not collide

PREFIX ?= /usr/local
CC ?= cc
VERSION := 0.1.0

ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT := -O1 -g
else ifeq ($(SAN),thread)
BUILD ?= build-tsan
SANFLAGS := -fsanitize=thread
OPT := -O1 -g
else
BUILD ?= build
SANFLAGS :=
OPT := -O2 -g
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN += -Werror
endif
CFLAGS ?= $(OPT)
ALL_CFLAGS := -std=gnu11 $(WARN) -Iinclude -fPIC -pthread $(SANFLAGS) $(CFLAGS)
LDLIBS := -lcrypto -pthread
TEST_LDLIBS := -lcmocka

# Layers, bottom up.  Each directory only includes headers from below it.
LIB_DIRS := src/hw src/hw/encls src/hw/enclu src/sign src/driver src/exec src/native src/runtime
LIB_SRC := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_ASM := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.S))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_ASM:%.S=$(BUILD)/%.o)
TOOL_SRC := $(wildcard src/tools/*.c)
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/%.o)
TEST_COMMON := $(wildcard tests/common/*.c)
TEST_COMMON_OBJ := $(TEST_COMMON:%.c=$(BUILD)/%.o)
# Support code of a test directory (its .c files not named test_*): one
# archive, so a test binary links only what it uses.
TEST_SUPPORT_SRC := $(filter-out tests/common/%,$(foreach f,$(wildcard tests/*/*.c),$(if $(filter test_%,$(notdir $(f))),,$(f))))
TEST_SUPPORT_OBJ := $(TEST_SUPPORT_SRC:%.c=$(BUILD)/%.o)
TEST_SUPPORT_LIB := $(BUILD)/tests/libtestsupport.a
TEST_SRC := $(wildcard tests/*/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

STATIC_LIB := $(BUILD)/libsgx2emu.a
SHARED_LIB := $(BUILD)/libsgx2emu.so
CMD := $(BUILD)/sgx2emu

.PHONY: all check tsan-check bench install clean tests
.SECONDARY:
all: $(STATIC_LIB) $(SHARED_LIB) $(CMD)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"; $(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"; $(CC) $(ALL_CFLAGS) -DBUILD_DIR=\"$(BUILD)\" -MMD -MP -c $< -o $@

# Parts with build steps of their own (the vDSO image, the freestanding test
# enclave, the preload library): one fragment each.
include $(sort $(wildcard mk/*.mk))

$(STATIC_LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"; rm -f $@ && ar rcs $@ $^

# -z defs: a symbol the library uses but nobody defines fails here, not in a
# user's link (the static tests pull in only the objects they need).  Not under
# sanitizers, whose runtime the library leaves to the executable.
SHARED_LDFLAGS := $(if $(SAN),,-Wl,-z,defs)
$(SHARED_LIB): $(LIB_OBJ)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -shared -Wl,-soname,libsgx2emu.so.0 $(SHARED_LDFLAGS) -o $@ $^ $(LDLIBS)

$(CMD): $(TOOL_OBJ) $(STATIC_LIB)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -o $@ $(TOOL_OBJ) $(STATIC_LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_COMMON_OBJ) $(TEST_SUPPORT_LIB) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -Itests -Isrc -MMD -MP -o $@ $< $(TEST_COMMON_OBJ) $(TEST_SUPPORT_LIB) \
		$(STATIC_LIB) $(TEST_LDLIBS) $(LDLIBS)

# The command's tests (tests/tools) also link its objects, all but main.o.
TOOL_LIB_OBJ := $(filter-out $(BUILD)/src/tools/main.o,$(TOOL_OBJ))
$(BUILD)/tests/tools/%: tests/tools/%.c $(TEST_COMMON_OBJ) $(TEST_SUPPORT_LIB) $(TOOL_LIB_OBJ) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -Itests -Isrc -MMD -MP -o $@ $< $(TEST_COMMON_OBJ) $(TEST_SUPPORT_LIB) \
		$(TOOL_LIB_OBJ) $(STATIC_LIB) $(TEST_LDLIBS) $(LDLIBS)

$(BUILD)/tests/common/%.o: tests/common/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"; $(CC) $(ALL_CFLAGS) -Itests -Isrc -MMD -MP -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"; $(CC) $(ALL_CFLAGS) -Itests -Isrc -MMD -MP -c $< -o $@

$(TEST_SUPPORT_LIB): $(TEST_SUPPORT_OBJ)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"; rm -f $@ && ar rcs $@ $^

tests: $(TEST_BIN)

# Runs every test binary; scripts/run-tests.sh prints each cmocka summary and
# closes with "N passed, N failed".  Leaks found by LeakSanitizer fail a run.
check: all $(TEST_BIN)
	@ASAN_OPTIONS=$${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1} \
		bash scripts/run-tests.sh $(TEST_BIN)

# ThreadSanitizer build and run, for threaded code (LPs driven from host
# threads): build-tsan, or $(BUILD)-tsan when BUILD is set.
tsan-check:
	$(MAKE) SAN=thread BUILD=$(if $(filter build,$(BUILD)),build-tsan,$(BUILD)-tsan) check

# Benchmarks reuse the test fixture (tests/common) to build enclaves.
$(BUILD)/bench/%: bench/%.c $(TEST_COMMON_OBJ) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -Itests -MMD -MP -o $@ $< $(TEST_COMMON_OBJ) $(STATIC_LIB) \
		$(TEST_LDLIBS) $(LDLIBS)

# Each benchmark prints one JSON object per line on stdout (a table on
# stderr); the lines of all of them become one JSON array.
bench: $(BENCH_BIN)
	@mkdir -p $(BUILD)/bench
	@set -e; : > $(BUILD)/bench/results.jsonl; \
	for b in $(BENCH_BIN); do $$b >> $(BUILD)/bench/results.jsonl; done; \
	{ echo '['; sed '$$!s/$$/,/' $(BUILD)/bench/results.jsonl; echo ']'; } > $(BUILD)/bench/results.json; \
	echo "benchmark results: $(BUILD)/bench/results.json"

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/sgx2emu $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(PREFIX)/lib/libsgx2emu.so.0
	ln -sf libsgx2emu.so.0 $(DESTDIR)$(PREFIX)/lib/libsgx2emu.so
	$(if $(filter thread,$(SAN)),,install -m 755 $(PRELOAD_LIB) $(DESTDIR)$(PREFIX)/lib/)
	install -m 644 include/sgx2emu/*.h $(DESTDIR)$(PREFIX)/include/sgx2emu/
	install -m 755 $(CMD) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' sgx2emu.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/sgx2emu.pc

clean:
	rm -rf $(BUILD) build build-san build-tsan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
