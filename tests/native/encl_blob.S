/*
 * The freestanding test enclave (tests/native/encl, built by mk/encl.mk)
 * embedded as bytes: test_encl_elf_start .. test_encl_elf_end is the ELF
 * file, page-aligned (see encl_blob.h).
 */
	.section .rodata.test_encl_elf, "a"
	.balign 4096
	.global test_encl_elf_start
	.type test_encl_elf_start, @object
test_encl_elf_start:
	.incbin TEST_ENCL_ELF
	.global test_encl_elf_end
test_encl_elf_end:
	.size test_encl_elf_start, test_encl_elf_end - test_encl_elf_start

	.section .note.GNU-stack, "", @progbits
