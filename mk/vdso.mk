# The native vDSO image (src/native/vdso/): a small ELF shared object laid out
# like Linux's vDSO (one R+X PT_LOAD, DT_HASH and DT_GNU_HASH, soname
# linux-vdso.so.1, version LINUX_2.6), whose bytes src/native/vdso_image.S
# embeds into the library.  Freestanding: plain flags, never $(SANFLAGS).

VDSO_SRC := $(wildcard src/native/vdso/*.S)
VDSO_LDS := src/native/vdso/vdso.lds
VDSO_SO := $(BUILD)/native/vdso.so
VDSO_FLAGS := -nostdlib -shared -fPIC -Wl,-soname,linux-vdso.so.1 -Wl,--hash-style=both \
	-Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-z,noseparate-code -Wl,-z,norelro \
	-Wl,--eh-frame-hdr -Wl,-Bsymbolic -Wl,--no-undefined -Wl,-T,$(VDSO_LDS)

$(VDSO_SO): $(VDSO_SRC) $(VDSO_LDS) mk/vdso.mk
	@mkdir -p $(dir $@)
	@echo "  VDSO    $@"; $(CC) $(VDSO_FLAGS) -o $@ $(VDSO_SRC)

# .incbin is not seen by -MMD.
$(BUILD)/src/native/vdso_image.o: $(VDSO_SO)
