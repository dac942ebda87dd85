/*
 * The freestanding test enclave's ELF file, linked into the test support
 * archive (encl_blob.S): no path needed at run time.
 */
#ifndef TESTS_NATIVE_ENCL_BLOB_H
#define TESTS_NATIVE_ENCL_BLOB_H

#include <stddef.h>
#include <stdint.h>

extern const uint8_t test_encl_elf_start[];
extern const uint8_t test_encl_elf_end[];

static inline size_t test_encl_elf_size(void)
{
	return (size_t)(test_encl_elf_end - test_encl_elf_start);
}

#endif
