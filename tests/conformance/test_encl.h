/*
 * The kernel selftests' test enclave (kernel-selftests.md §2), ported to
 * model mode: the op protocol is the same bytes in untrusted memory, the
 * enclave code is C run by src/exec through encl_read/encl_write/encl_enclu,
 * and the "ELF" is an image of three loadable segments (TCS, text, data) built
 * here with the §2.3 layout.  The loader (loader.h) treats it as load.c treats
 * test_encl.elf.
 */
#ifndef SGX2EMU_TEST_ENCL_H
#define SGX2EMU_TEST_ENCL_H

#include <stddef.h>
#include <stdint.h>

#include "sgx2emu/enclave.h"

/* Ops (all fields little-endian u64; RDI points at one) */
enum encl_op_type {
	ENCL_OP_PUT_TO_BUFFER,
	ENCL_OP_GET_FROM_BUFFER,
	ENCL_OP_PUT_TO_ADDRESS,
	ENCL_OP_GET_FROM_ADDRESS,
	ENCL_OP_NOP,
	ENCL_OP_EACCEPT,
	ENCL_OP_EMODPE,
	ENCL_OP_INIT_TCS_PAGE,
	ENCL_OP_MAX,
};

struct encl_op_header {
	uint64_t type;
};

struct encl_op_put_to_buf {
	struct encl_op_header header;
	uint64_t value;
};

struct encl_op_get_from_buf {
	struct encl_op_header header;
	uint64_t value;
};

struct encl_op_put_to_addr {
	struct encl_op_header header;
	uint64_t value;
	uint64_t addr;
};

struct encl_op_get_from_addr {
	struct encl_op_header header;
	uint64_t value;
	uint64_t addr;
};

struct encl_op_eaccept {
	struct encl_op_header header;
	uint64_t epc_addr;
	uint64_t flags;
	uint64_t ret;
};

struct encl_op_emodpe {
	struct encl_op_header header;
	uint64_t epc_addr;
	uint64_t flags;
};

struct encl_op_init_tcs_page {
	struct encl_op_header header;
	uint64_t tcs_page;
	uint64_t ssa;      /* enclave offset */
	uint64_t entry;    /* enclave offset */
};

/* Image layout (enclave offsets, §2.3) */
#define TEST_ENCL_TCS1        0x0000ull
#define TEST_ENCL_TCS2        0x1000ull
#define TEST_ENCL_TEXT        0x2000ull
#define TEST_ENCL_ENTRY       (TEST_ENCL_TEXT + 0x000)   /* encl_entry */
#define TEST_ENCL_DYN_ENTRY   (TEST_ENCL_TEXT + 0x040)   /* encl_dyn_entry */
#define TEST_ENCL_BODY        (TEST_ENCL_TEXT + 0x080)   /* encl_body: return address of its call */
#define TEST_ENCL_DATA        0x3000ull
#define TEST_ENCL_BUFFER      TEST_ENCL_DATA             /* encl_buffer, 8192 bytes */
#define TEST_ENCL_BUFFER_SIZE 8192u
#define TEST_ENCL_SSA1        0x5000ull
#define TEST_ENCL_SSA2        0x6000ull
#define TEST_ENCL_STACK       0x8000ull                  /* encl_stack: top of TCS #1's stack */
#define TEST_ENCL_IMAGE_SIZE  0x9000ull

/* One loadable segment of the image (a PT_LOAD: p_offset, p_filesz, p_flags). */
struct test_encl_phdr {
	uint64_t offset;
	uint64_t filesz;
	uint32_t flags;    /* PF_R | PF_W | PF_X */
};

/* A symbol of the image; fn is the code at that offset (NULL for data). */
struct test_encl_sym {
	const char *name;
	uint64_t value;
	encl_entry_fn fn;
};

struct test_encl_image {
	const uint8_t *bin;          /* 4 KiB-aligned, bin_size bytes */
	size_t bin_size;
	const struct test_encl_phdr *phdrs;
	unsigned nr_phdrs;
	const struct test_encl_sym *syms;
	unsigned nr_syms;
};

/* The image (built once; the same bytes every time). */
const struct test_encl_image *test_encl_image(void);

#endif
