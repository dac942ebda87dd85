# sgx2emu — plain Makefile.  Targets:
#   make            library (static + shared) and the sgx2emu command
#   make check      build and run every test (cmocka); fails if any fails
#   make bench      run the benchmarks, results in build/bench/results.json
#   make install    PREFIX=/usr/local DESTDIR= : library, headers, command, pkg-config
#   make SAN=1 ...  the same under ASan + UBSan (separate build directory)
#   make WERROR=1   warnings are errors (CI)

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
LIB_DIRS := src/hw src/hw/encls src/hw/enclu src/sign
LIB_SRC := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TOOL_SRC := $(wildcard src/tools/*.c)
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/%.o)
TEST_COMMON := $(wildcard tests/common/*.c)
TEST_COMMON_OBJ := $(TEST_COMMON:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/*/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

STATIC_LIB := $(BUILD)/libsgx2emu.a
SHARED_LIB := $(BUILD)/libsgx2emu.so
CMD := $(BUILD)/sgx2emu

.PHONY: all check bench install clean tests
.SECONDARY:
all: $(STATIC_LIB) $(SHARED_LIB) $(CMD)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"; $(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(STATIC_LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"; rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJ)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -shared -Wl,-soname,libsgx2emu.so.0 -o $@ $^ $(LDLIBS)

$(CMD): $(TOOL_OBJ) $(STATIC_LIB)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -o $@ $(TOOL_OBJ) $(STATIC_LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_COMMON_OBJ) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -Itests -Isrc -MMD -MP -o $@ $< $(TEST_COMMON_OBJ) $(STATIC_LIB) $(TEST_LDLIBS) $(LDLIBS)

$(BUILD)/tests/common/%.o: tests/common/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"; $(CC) $(ALL_CFLAGS) -Itests -Isrc -MMD -MP -c $< -o $@

tests: $(TEST_BIN)

# Runs every test binary, prints each cmocka summary, then one closing line.
check: all $(TEST_BIN)
	@pass=0; fail=0; failed=""; \
	for t in $(TEST_BIN); do \
		echo "== $$t"; \
		if $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); failed="$$failed $$t"; fi; \
	done; \
	echo "test binaries: $$pass passed, $$fail failed"; \
	if [ $$fail -ne 0 ]; then echo "FAILED:$$failed"; exit 1; fi

$(BUILD)/bench/%: bench/%.c $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(STATIC_LIB) $(LDLIBS)

bench: $(BENCH_BIN)
	@mkdir -p $(BUILD)/bench
	@echo '[' > $(BUILD)/bench/results.json.tmp; first=1; \
	for b in $(BENCH_BIN); do \
		out=$$($$b) || exit 1; echo "$$out" | sed 's/^/  /' >&2; \
		echo "$$out" | grep '^{' | while read -r l; do \
			if [ -s $(BUILD)/bench/.sep ]; then echo ",$$l"; else echo "$$l"; : > $(BUILD)/bench/.sep; echo x > $(BUILD)/bench/.sep; fi; \
		done >> $(BUILD)/bench/results.json.tmp; \
	done; rm -f $(BUILD)/bench/.sep; echo ']' >> $(BUILD)/bench/results.json.tmp; \
	mv $(BUILD)/bench/results.json.tmp $(BUILD)/bench/results.json; \
	echo "benchmark results: $(BUILD)/bench/results.json"

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/sgx2emu $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(PREFIX)/lib/libsgx2emu.so.0
	ln -sf libsgx2emu.so.0 $(DESTDIR)$(PREFIX)/lib/libsgx2emu.so
	install -m 644 include/sgx2emu/*.h $(DESTDIR)$(PREFIX)/include/sgx2emu/
	install -m 755 $(CMD) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' sgx2emu.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/sgx2emu.pc

clean:
	rm -rf build build-san build-tsan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
