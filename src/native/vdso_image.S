/*
 * The bytes of the native vDSO image ($(BUILD)/native/vdso.so, mk/vdso.mk)
 * between native_vdso_image_start and native_vdso_image_end, for
 * native_vdso_load.  Page-aligned so that the image is also a well-formed
 * ELF file in place (emu_elf_lookup wants its headers within one page).
 */
/* gas drops the quotes of a macro argument: BUILD_DIR is "build". */
.macro	incbin_vdso dir
	.incbin	"\dir/native/vdso.so"
.endm

	.section .rodata, "a"
	.balign	4096
	.globl	native_vdso_image_start
	.hidden	native_vdso_image_start
	.type	native_vdso_image_start, @object
native_vdso_image_start:
	incbin_vdso BUILD_DIR
	.globl	native_vdso_image_end
	.hidden	native_vdso_image_end
native_vdso_image_end:
	.size	native_vdso_image_start, native_vdso_image_end - native_vdso_image_start

	.section .note.GNU-stack, "", @progbits
