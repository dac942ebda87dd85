/*
 * The selftests' host loader (kernel-selftests.md §3, load.c and the setup
 * part of main.c), for a simulated process: every step goes through the
 * system API (emu_open, emu_ioctl, emu_mmap, emu_munmap, emu_close) with the
 * same arguments the selftest passes to the real system calls.  The image is
 * the model-mode test enclave (test_encl.h) instead of test_encl.elf.
 */
#ifndef SGX2EMU_CONFORMANCE_LOADER_H
#define SGX2EMU_CONFORMANCE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sgx2emu/emu.h"
#include "sgx2emu/sign.h"
#include "conformance/test_encl.h"

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

/* The offsets main.c computes from the segment table. */
uint64_t encl_get_tcs_offset(const struct encl *encl);
uint64_t encl_get_data_offset(const struct encl *encl);

/* The RSA-3072 (e = 3) signing key of this process (generated once). */
EVP_PKEY *encl_sign_key(void);

#endif
