#include <stdlib.h>

#include "emu_fixture.h"

struct efx *efx_new(const struct emu_config *cfg)
{
	struct emu_config c;
	if (cfg) {
		c = *cfg;
	} else {
		emu_config_defaults(&c);
		c.hw.epc_bytes = 1024 * SGX_PAGE_SIZE;
	}
	struct efx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->emu = emu_create(&c);
	assert_non_null(f->emu);
	f->proc = emu_proc_create(f->emu);
	assert_non_null(f->proc);
	return f;
}

/* Flow: defaults, then the two knobs the driver tests vary; efx_new asserts. */
struct efx *efx_new_epc(unsigned frames, bool sgx1_only)
{
	struct emu_config c;
	emu_config_defaults(&c);
	c.hw.epc_bytes = (uint64_t)frames * SGX_PAGE_SIZE;
	c.hw.sgx1_only = sgx1_only;
	return efx_new(&c);
}

/* The device a loader opens; a failure only means a broken fixture. */
int efx_open_dev(struct efx *f)
{
	int fd = emu_open(f->proc, "/dev/sgx_enclave", O_RDWR);
	assert_true(fd >= 0);
	return fd;
}

/* Flow: clear errno, call; a failure must be exactly -1 (asserted). */
int efx_ioc(struct efx *f, int fd, unsigned long cmd, void *arg)
{
	errno = 0;
	int r = emu_ioctl(f->proc, fd, cmd, arg);
	if (r == 0)
		return 0;
	assert_int_equal(r, -1);
	return errno;
}

void efx_free(struct efx *f)
{
	if (!f)
		return;
	emu_proc_exit(f->proc);
	emu_destroy(f->emu);
	free(f);
}

int efx_setup(void **state)
{
	*state = efx_new(NULL);
	return 0;
}

int efx_teardown(void **state)
{
	efx_free(*state);
	return 0;
}

int efx_encl_create(struct efx *f, struct efx_encl *e, uint64_t size, uint64_t attributes)
{
	memset(e, 0, sizeof(*e));
	e->fd = efx_open_dev(f);
	void *r = emu_mmap(f->proc, NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(r != MAP_FAILED);
	e->reservation = (uint64_t)(uintptr_t)r;
	e->base = (e->reservation + size - 1) & ~(size - 1);
	e->size = size;
	e->attributes = attributes;

	struct sgx_secs *secs = aligned_alloc(SGX_PAGE_SIZE, sizeof(*secs));
	assert_non_null(secs);
	memset(secs, 0, sizeof(*secs));
	secs->base = e->base;
	secs->size = size;
	secs->ssa_frame_size = 1;
	secs->miscselect = SGX_MISC_EXINFO;
	secs->attributes.flags = attributes;
	secs->attributes.xfrm = 3;
	struct sgx_enclave_create cr = { .src = (uint64_t)(uintptr_t)secs };
	int ret = emu_ioctl(f->proc, e->fd, SGX_IOC_ENCLAVE_CREATE, &cr);
	int err = errno;
	free(secs);
	if (ret == 0)
		assert_int_equal(sgx_measure_init(&e->mr, 1, size), 0);
	errno = err;
	return ret;
}

int efx_encl_add(struct efx *f, struct efx_encl *e, uint64_t offset, uint64_t len, uint64_t secinfo_flags,
		 const void *src, bool measure)
{
	uint8_t *buf = aligned_alloc(SGX_PAGE_SIZE, len ? (len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK : SGX_PAGE_SIZE);
	struct sgx_secinfo *si = aligned_alloc(64, sizeof(*si));
	assert_non_null(buf);
	assert_non_null(si);
	if (src)
		memcpy(buf, src, len);
	else
		memset(buf, 0, len);
	memset(si, 0, sizeof(*si));
	si->flags = secinfo_flags;
	struct sgx_enclave_add_pages ap = {
		.src = (uint64_t)(uintptr_t)buf, .offset = offset, .length = len,
		.secinfo = (uint64_t)(uintptr_t)si, .flags = measure ? SGX_PAGE_MEASURE : 0,
	};
	int ret = emu_ioctl(f->proc, e->fd, SGX_IOC_ENCLAVE_ADD_PAGES, &ap);
	int err = errno;
	for (uint64_t done = 0; done < ap.count; done += SGX_PAGE_SIZE)
		sgx_measure_page(&e->mr, offset + done, secinfo_flags, buf + done, measure);
	free(si);
	free(buf);
	errno = err;
	return ret;
}

int efx_encl_init(struct efx *f, struct efx_encl *e)
{
	/* aligned_alloc wants a size that is a multiple of the alignment */
	struct sgx_sigstruct *ss = aligned_alloc(SGX_PAGE_SIZE, (sizeof(*ss) + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK);
	assert_non_null(ss);
	memset(ss, 0, sizeof(*ss));
	sgx_measure_final(&e->mr, ss->body.mrenclave);
	e->mr.ctx = NULL;
	ss->header.date = 0x20261122;
	ss->body.miscselect = SGX_MISC_EXINFO;
	ss->body.misc_mask = 0xffffffff;
	ss->body.attributes.flags = e->attributes;
	ss->body.attributes.xfrm = 3;
	ss->body.attributes_mask.flags = ~0ull;
	ss->body.attributes_mask.xfrm = ~0ull;
	assert_int_equal(sgx_sign_sigstruct(fx_key(), ss), 0);
	struct sgx_enclave_init in = { .sigstruct = (uint64_t)(uintptr_t)ss };
	int ret = emu_ioctl(f->proc, e->fd, SGX_IOC_ENCLAVE_INIT, &in);
	int err = errno;
	free(ss);
	errno = err;
	return ret;
}

void *efx_encl_map(struct efx *f, struct efx_encl *e, uint64_t offset, uint64_t len, int prot)
{
	return emu_mmap(f->proc, efx_ptr(e->base + offset), len, prot, MAP_SHARED | MAP_FIXED, e->fd, 0);
}

void efx_encl_destroy(struct efx *f, struct efx_encl *e)
{
	if (e->mr.ctx)
		EVP_MD_CTX_free(e->mr.ctx);
	e->mr.ctx = NULL;
	assert_int_equal(emu_munmap(f->proc, efx_ptr(e->reservation), 2 * e->size), 0);
	assert_int_equal(emu_close(f->proc, e->fd), 0);
}
