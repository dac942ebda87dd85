# libsgx2emu-preload.so (src/preload, docs/preload.md): the interposers plus
# the library's objects, in one shared object for LD_PRELOAD.
#
# --wrap=NAME for each interposed NAME: the library objects' own calls of
# NAME become __wrap_NAME (src/preload/real.c, libc's), so the emulator's own
# host mappings and signal handlers never go through the interposers.  Only
# the interposers and sgx2emu_cpuid are exported (exports.map).
#
# Sanitizer builds (SAN=1) build it with the sanitizer flags like everything
# else; the ASan runtime must then be loaded before it, which `sgx2emu exec`
# does (SGX2EMU_SAN_PRELOAD: the runtime's path, prepended to LD_PRELOAD).
# Under SAN=thread the preload is not built or tested: TSan cannot be
# preloaded into an uninstrumented program, and its interceptors of mmap and
# sigaction would stand between the program and the emulator's own.
#
# The unmodified-style host program (tests/native/host/sgx_host.c) is plain
# libc + libcrypto: it never links libsgx2emu.

PRELOAD_LIB := $(BUILD)/libsgx2emu-preload.so
PRELOAD_SRC := $(wildcard src/preload/*.c)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(BUILD)/%.o)
PRELOAD_WRAP := open open64 openat openat64 close ioctl mmap mmap64 munmap mprotect getauxval sigaction signal
SGX_HOST := $(BUILD)/native/sgx_host
preload_comma := ,

ifneq ($(SAN),thread)
all: $(PRELOAD_LIB)

$(PRELOAD_LIB): $(PRELOAD_OBJ) $(LIB_OBJ) src/preload/exports.map
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -shared -Wl,-soname,libsgx2emu-preload.so \
		-Wl,--version-script=src/preload/exports.map $(addprefix -Wl$(preload_comma)--wrap=,$(PRELOAD_WRAP)) \
		-o $@ $(PRELOAD_OBJ) $(LIB_OBJ) $(LDLIBS) -ldl

$(SGX_HOST): tests/native/host/sgx_host.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< -lcrypto

# The test runs `sgx2emu exec -- sgx_host test_encl.elf ...`: all of them
# are found next to the test binary's build directory.
$(BUILD)/tests/native/test_preload: $(BUILD)/sgx2emu $(PRELOAD_LIB) $(SGX_HOST) $(BUILD)/native/test_encl.elf
else
$(BUILD)/tests/native/test_preload: ALL_CFLAGS += -DPRELOAD_NOT_BUILT
endif

ifeq ($(SAN),1)
$(BUILD)/src/tools/exec.o: ALL_CFLAGS += -DSGX2EMU_SAN_PRELOAD='"$(shell $(CC) -print-file-name=libasan.so)"'
endif
