/*
 * Test fixture for the driver layer: a machine + kernel (struct emu) with one
 * process, and enclaves built only through the system-call API, as a loader
 * does it: open /dev/sgx_enclave, reserve twice the size with an anonymous
 * PROT_NONE emu_mmap, SGX_IOC_ENCLAVE_CREATE at the naturally aligned base,
 * ADD_PAGES (measured alongside in software), INIT with a SIGSTRUCT signed
 * by the shared test key, MAP_SHARED|MAP_FIXED mappings of the device.
 *
 * Helpers return what the calls return (0 / -1 with errno) where a test may
 * want to check a failure, and assert where a failure only means a broken
 * fixture.  Nothing here depends on the layout of a particular test.
 */
#ifndef SGX2EMU_TEST_EMU_FIXTURE_H
#define SGX2EMU_TEST_EMU_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "fixture.h"
#include "sgx2emu/emu.h"
#include "sgx2emu/sign.h"

struct efx {
	struct emu *emu;
	struct emu_proc *proc;
};

/* cfg NULL: 1024 EPC frames, 4 LPs, everything else emu_config_defaults. */
struct efx *efx_new(const struct emu_config *cfg);
void efx_free(struct efx *f);           /* exits the process, destroys the machine */
/* A machine of frames EPC frames, SGX1 only when sgx1_only, everything else
 * emu_config_defaults, with one process. */
struct efx *efx_new_epc(unsigned frames, bool sgx1_only);
/* /dev/sgx_enclave opened O_RDWR in f's process: the descriptor (asserted). */
int efx_open_dev(struct efx *f);
/* emu_ioctl(fd, cmd, arg) in f's process: 0 on success (which must return
 * exactly 0), else the errno of the -1 it must return. */
int efx_ioc(struct efx *f, int fd, unsigned long cmd, void *arg);
int efx_setup(void **state);            /* cmocka wrappers */
int efx_teardown(void **state);

struct efx_encl {
	int fd;
	uint64_t base, size;
	uint64_t attributes;             /* SECS attributes.flags */
	uint64_t reservation;            /* 2 * size, an anonymous PROT_NONE emu mapping */
	struct sgx_measurement mr;
};

/* Open the device (O_RDWR), reserve, CREATE with SSAFRAMESIZE 1, MISCSELECT
 * EXINFO, XFRM 3 and these attributes.  0, or -1 with errno from CREATE. */
int efx_encl_create(struct efx *f, struct efx_encl *e, uint64_t size, uint64_t attributes);
/* ADD_PAGES of len bytes at offset from src (zero pages if NULL) with this
 * SECINFO flags value; measured in software as well when measure.  Returns
 * what emu_ioctl returns. */
int efx_encl_add(struct efx *f, struct efx_encl *e, uint64_t offset, uint64_t len, uint64_t secinfo_flags,
		 const void *src, bool measure);
/* A SIGSTRUCT for what was added, signed with fx_key(); INIT.  Returns what
 * emu_ioctl returns. */
int efx_encl_init(struct efx *f, struct efx_encl *e);
/* emu_mmap(base + offset, len, prot, MAP_SHARED | MAP_FIXED, fd): the result. */
void *efx_encl_map(struct efx *f, struct efx_encl *e, uint64_t offset, uint64_t len, int prot);
/* Unmap the whole reservation and close the fd. */
void efx_encl_destroy(struct efx *f, struct efx_encl *e);

static inline void *efx_ptr(uint64_t a)
{
	return (void *)(uintptr_t)a;
}

/* errno of a call that must fail with -1 / MAP_FAILED */
#define assert_errno(call, err) do { \
		errno = 0; \
		assert_int_equal((call), -1); \
		assert_int_equal(errno, (err)); \
	} while (0)
#define assert_map_errno(call, err) do { \
		errno = 0; \
		assert_ptr_equal((call), MAP_FAILED); \
		assert_int_equal(errno, (err)); \
	} while (0)

#endif
