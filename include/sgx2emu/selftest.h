/*
 * The runtimes layer's first runtime: the kernel selftests' test enclave and
 * its host loader, in model mode (src/runtime/selftest_{encl,loader}.c).
 *
 * The enclave (kernel-selftests.md §2): the op protocol is the same bytes in
 * untrusted memory, the enclave code is C run by src/exec through
 * encl_read/encl_write/encl_enclu, and the "ELF" is an image of three
 * loadable segments (TCS, text, data) built with the §2.3 layout.
 *
 * The loader (kernel-selftests.md §3, load.c and the setup part of main.c),
 * for a simulated process: every step goes through the system API (emu_open,
 * emu_ioctl, emu_mmap, emu_munmap, emu_close) with the same arguments the
 * selftest passes to the real system calls, and treats the image as load.c
 * treats test_encl.elf.
 *
 * Used by the conformance suite, the exec tests and `sgx2emu run` scenarios.
 */
#ifndef SGX2EMU_SELFTEST_H
#define SGX2EMU_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sgx2emu/emu.h"
#include "sgx2emu/enclave.h"
#include "sgx2emu/sign.h"

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

/*
 * An image from an ELF file of the test enclave's kind (a real one, e.g. the
 * freestanding enclave of the native selftests): linked at 0, its PT_LOADs,
 * in file order, become phdrs (offset = p_offset, filesz, flags), its
 * .symtab's defined symbols become syms (value = st_value, an enclave
 * offset; fn = NULL: the code is the ELF's own).  The file's bytes are copied
 * (bin is 4 KiB-aligned; the tail of the last page zero), so elf need not
 * outlive the image.  Rejected, with a message on stderr and NULL + errno
 * EINVAL: not a little-endian x86-64 ELF64 executable or shared object,
 * headers or sections outside the file, no PT_LOAD, a PT_LOAD whose offset or
 * address is not page-aligned, whose address is not its offset's distance
 * from the first one's (the first at address 0), whose memory size exceeds
 * its file size's pages, or which overlaps the one before.  NULL + ENOMEM
 * when out of memory.  Free with test_encl_image_free.
 */
const struct test_encl_image *test_encl_image_from_elf(const void *elf, size_t size);
void test_encl_image_free(const struct test_encl_image *img);

/* ---- the loader ---- */

#define ENCL_HEAP_SIZE_DEFAULT 4096

struct encl_segment {
	void *src;
	off_t offset;
	size_t size;
	int prot;
	uint64_t flags;     /* SECINFO flags */
	bool measure;
};

struct encl {
	struct emu_proc *proc;
	int fd;
	const struct test_encl_image *image;
	const uint8_t *src;
	size_t src_size;
	size_t encl_size;
	uint64_t encl_base;
	unsigned nr_segments;
	struct encl_segment *segment_tbl;
	void *heap;                      /* source of the heap pages (anonymous, zero) */
	size_t heap_size;
	struct sgx_secs *secs;           /* 4 KiB-aligned */
	struct sgx_sigstruct sigstruct;
};

/* load.c's steps; each prints what failed on stderr and returns false. */
bool encl_load(struct emu_proc *proc, struct encl *encl, size_t heap_size);
bool encl_measure(struct encl *encl);
bool encl_build(struct encl *encl);
void encl_delete(struct encl *encl);
/* Enclave offset of a symbol of the image, 0 if there is none. */
uint64_t encl_get_entry(struct encl *encl, const char *symbol);

/* main.c's setup_test_encl: load, measure, build, mmap every segment at
 * base + offset (its prot, MAP_SHARED | MAP_FIXED, the enclave fd, offset 0);
 * then, standing in for finding the vDSO, register the image's code with
 * emu_register_entry.  On failure the segments are printed and the enclave
 * deleted. */
bool setup_test_encl(struct emu_proc *proc, size_t heap_size, struct encl *encl);
/* The same with another image (test_encl_image_from_elf's): only syms with
 * an fn are registered as model entries.  setup_test_encl is this with
 * test_encl_image().  The image must outlive the enclave. */
bool setup_test_encl_image(struct emu_proc *proc, const struct test_encl_image *img, size_t heap_size,
			   struct encl *encl);

/* The offsets main.c computes from the segment table. */
uint64_t encl_get_tcs_offset(const struct encl *encl);
uint64_t encl_get_data_offset(const struct encl *encl);

/* The RSA-3072 (e = 3) signing key of this process (generated once). */
EVP_PKEY *encl_sign_key(void);

#endif
