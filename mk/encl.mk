# The freestanding test enclave of the native selftests (tests/native/encl,
# docs/native-test-enclave.md): a static-pie ELF linked at 0, never built
# with the sanitizer flags (nothing of the host's runtime exists inside an
# enclave), and embedded into the test support archive (encl_blob.S), so a
# test binary needs no file at run time.
#
# -mgeneral-regs-only: the enclave never touches vector state, so nothing of
# it depends on how the emulation saves XSAVE state at an AEX.
# -fvisibility=hidden: every symbol binds locally, so -fPIE code reaches it
# RIP-relative and no GOT appears.
# The image must need no relocation processing (nothing runs before
# encl_entry to apply it): a non-empty .rela.dyn fails the build.

ENCL_DIR := tests/native/encl
ENCL_ELF := $(BUILD)/native/test_encl.elf
ENCL_OBJ := $(BUILD)/native/encl/entry.o $(BUILD)/native/encl/encl.o
ENCL_CFLAGS := -std=gnu11 $(WARN) -static-pie -nostdlib -ffreestanding -fPIE -fno-stack-protector \
	-mno-red-zone -fno-asynchronous-unwind-tables -O2 -mgeneral-regs-only -fvisibility=hidden
ENCL_LDFLAGS := -Wl,-T,$(ENCL_DIR)/encl.lds -Wl,--build-id=none -Wl,-z,max-page-size=4096 \
	-Wl,-z,noexecstack -Wl,--no-dynamic-linker

$(BUILD)/native/encl/%.o: $(ENCL_DIR)/%.c mk/encl.mk
	@mkdir -p $(dir $@)
	@echo "  CC      $< (enclave)"; $(CC) $(ENCL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/native/encl/%.o: $(ENCL_DIR)/%.S mk/encl.mk
	@mkdir -p $(dir $@)
	@echo "  AS      $< (enclave)"; $(CC) $(ENCL_CFLAGS) -MMD -MP -c $< -o $@

$(ENCL_ELF): $(ENCL_OBJ) $(ENCL_DIR)/encl.lds
	@echo "  LD      $@"; $(CC) $(ENCL_CFLAGS) $(ENCL_LDFLAGS) -o $@.tmp $(ENCL_OBJ)
	@if LC_ALL=C readelf -rW $@.tmp | grep -q '^Relocation section'; then \
		echo "$@: the enclave has dynamic relocations (it must be RIP-relative only):" >&2; \
		LC_ALL=C readelf -rW $@.tmp >&2; rm -f $@.tmp; exit 1; fi
	@mv $@.tmp $@

# The blob: the ELF's bytes between test_encl_elf_start and test_encl_elf_end.
ENCL_BLOB_OBJ := $(BUILD)/tests/native/encl_blob.o
$(ENCL_BLOB_OBJ): tests/native/encl_blob.S $(ENCL_ELF)
	@mkdir -p $(dir $@)
	@echo "  AS      $<"; $(CC) -c -DTEST_ENCL_ELF='"$(ENCL_ELF)"' -o $@ $<
TEST_SUPPORT_OBJ += $(ENCL_BLOB_OBJ)
