/*
 * Building an enclave through the /dev/sgx_enclave ioctls (linux-driver.md
 * §1.4): CREATE, ADD_PAGES, INIT, PROVISION and the dispatcher, with the
 * exact errno and `count` of every validation rule, what each leaves behind
 * (EPC frames, EPCM entries, kernel page records, VA pages), and release.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "common/emu_fixture.h"
#include "driver/driver.h"
#include "sgx2emu/emu.h"

#define T_FRAMES 1024u
#define T_SIZE 0x100000ull          /* 1 MiB ELRANGE unless a test says otherwise */
#define T_ATTRS (SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG)
#define REG_RW FX_REG_RW
#define REG_RX FX_REG_RX
#define TCS_FLAGS FX_TCS_FLAGS
#define SRC_PAGES 8

struct t {
	struct efx *fx;              /* machine + process */
	int fd;
	struct drv_encl *encl;
	uint8_t *resv;               /* host reservation ELRANGE is carved from */
	size_t resv_len;
	uint64_t base, size, attributes;
	struct sgx_measurement mr;
	uint8_t *src;                /* SRC_PAGES of ambient host memory for page contents */
};

static struct t *t_new(bool sgx1_only)
{
	struct t *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->fx = efx_new_epc(T_FRAMES, sgx1_only);
	t->fd = efx_open_dev(t->fx);
	struct drv_file *file = proc_file(t->fx->proc, t->fd);
	assert_non_null(file);
	t->encl = file->encl;
	t->src = aligned_alloc(SGX_PAGE_SIZE, SRC_PAGES * SGX_PAGE_SIZE);
	assert_non_null(t->src);
	memset(t->src, 0, SRC_PAGES * SGX_PAGE_SIZE);
	return t;
}

static void t_reserve(struct t *t, uint64_t size)
{
	t->resv_len = 2 * size;
	t->resv = mmap(NULL, t->resv_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(t->resv != MAP_FAILED);
	t->base = ((uint64_t)(uintptr_t)t->resv + size - 1) & ~(size - 1);
	t->size = size;
}

static void t_free(struct t *t)
{
	if (t->mr.ctx)
		EVP_MD_CTX_free(t->mr.ctx);
	efx_free(t->fx);
	if (t->resv)
		munmap(t->resv, t->resv_len);
	free(t->src);
	free(t);
}

static int setup(void **state)
{
	*state = t_new(false);
	return 0;
}

static int teardown(void **state)
{
	t_free(*state);
	return 0;
}

/* errno of an ioctl, 0 on success (which must return exactly 0) */
static int ioc(struct t *t, unsigned long cmd, void *arg)
{
	return efx_ioc(t->fx, t->fd, cmd, arg);
}

static struct sgx_secs *secs_page(struct t *t, uint64_t size, uint64_t attrs)
{
	static struct sgx_secs secs;
	memset(&secs, 0, sizeof(secs));
	secs.size = size;
	secs.base = t->base;
	secs.ssa_frame_size = 1;
	secs.attributes.flags = attrs;
	secs.attributes.xfrm = 3;
	return &secs;
}

static int create_with(struct t *t, const struct sgx_secs *secs)
{
	struct sgx_enclave_create c = { .src = (uint64_t)(uintptr_t)secs };
	int e = ioc(t, SGX_IOC_ENCLAVE_CREATE, &c);
	if (!e) {
		t->attributes = secs->attributes.flags;
		assert_int_equal(sgx_measure_init(&t->mr, secs->ssa_frame_size, secs->size), 0);
	}
	return e;
}

static int create(struct t *t, uint64_t size, uint64_t attrs)
{
	if (!t->resv)
		t_reserve(t, size);
	return create_with(t, secs_page(t, size, attrs));
}

/* ADD_PAGES of len bytes from src at offset; *count gets the output field
 * (which starts at a sentinel so an untouched field shows). */
static int add_from(struct t *t, uint64_t offset, uint64_t src, uint64_t len, uint64_t flags, bool measure,
		    uint64_t *count)
{
	static struct sgx_secinfo secinfo;
	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = flags;
	struct sgx_enclave_add_pages a = {
		.src = src, .offset = offset, .length = len,
		.secinfo = (uint64_t)(uintptr_t)&secinfo,
		.flags = measure ? SGX_PAGE_MEASURE : 0,
		.count = 0xdead,
	};
	int e = ioc(t, SGX_IOC_ENCLAVE_ADD_PAGES, &a);
	if (count)
		*count = a.count;
	if (a.count != 0xdead)
		for (uint64_t c = 0; c < a.count; c += SGX_PAGE_SIZE)
			sgx_measure_page(&t->mr, offset + c, flags, (const uint8_t *)(uintptr_t)(src + c), measure);
	return e;
}

static int add(struct t *t, uint64_t offset, uint64_t len, uint64_t flags, bool measure, uint64_t *count)
{
	return add_from(t, offset, (uint64_t)(uintptr_t)t->src, len, flags, measure, count);
}

static void fill_tcs(uint8_t *page, uint64_t ossa)
{
	struct sgx_tcs *tcs = (struct sgx_tcs *)page;
	memset(page, 0, SGX_PAGE_SIZE);
	tcs->ossa = ossa;
	tcs->nssa = 2;
	tcs->oentry = 0x3000;
}

static void sigstruct_for(struct t *t, struct sgx_sigstruct *ss, uint32_t vendor)
{
	uint8_t mrenclave[32];
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	assert_non_null(copy);
	EVP_MD_CTX_copy_ex(copy, t->mr.ctx);
	struct sgx_measurement tmp = { copy };
	sgx_measure_final(&tmp, mrenclave);
	memset(ss, 0, sizeof(*ss));
	ss->header.vendor = vendor;
	ss->header.date = 0x20261122;
	ss->body.misc_mask = 0xffffffff;
	ss->body.attributes.flags = t->attributes;
	ss->body.attributes.xfrm = 3;
	ss->body.attributes_mask.flags = ~0ull;
	ss->body.attributes_mask.xfrm = ~0ull;
	memcpy(ss->body.mrenclave, mrenclave, 32);
	ss->body.isvprodid = 0x42;
	ss->body.isvsvn = 1;
	assert_int_equal(sgx_sign_sigstruct(fx_key(), ss), 0);
}

static int init_with(struct t *t, const struct sgx_sigstruct *ss)
{
	struct sgx_enclave_init i = { .sigstruct = (uint64_t)(uintptr_t)ss };
	return ioc(t, SGX_IOC_ENCLAVE_INIT, &i);
}

static int init(struct t *t)
{
	static struct sgx_sigstruct ss;
	sigstruct_for(t, &ss, 0);
	return init_with(t, &ss);
}

/* A small enclave: TCS at 0, SSA at 0x1000-0x2000, code at 0x3000. */
static void build_small(struct t *t)
{
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
	fill_tcs(t->src, 0x1000);
	assert_int_equal(add(t, 0, SGX_PAGE_SIZE, TCS_FLAGS, true, NULL), 0);
	memset(t->src, 0, 2 * SGX_PAGE_SIZE);
	assert_int_equal(add(t, 0x1000, 2 * SGX_PAGE_SIZE, REG_RW, true, NULL), 0);
	memset(t->src, 0xc3, SGX_PAGE_SIZE);
	assert_int_equal(add(t, 0x3000, SGX_PAGE_SIZE, REG_RX, true, NULL), 0);
}

static struct hw_epcm_entry epcm_at(struct t *t, uint64_t addr)
{
	struct drv_page *page = xa_load(&t->encl->pages, addr >> 12);
	assert_non_null(page);
	assert_int_not_equal(page->epc_frame, HW_NO_FRAME);
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(t->fx->emu->m, page->epc_frame, &e));
	return e;
}

static unsigned nr_va_pages(struct drv_encl *encl)
{
	unsigned n = 0;
	for (struct drv_va_page *va = encl->va_pages; va; va = va->next)
		n++;
	return n;
}

/* ---- CREATE ---- */

static void test_create(void **state)
{
	struct t *t = *state;
	uint32_t free0 = epc_nr_free(t->fx->emu);
	assert_int_equal(free0, T_FRAMES);
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);

	unsigned flags = atomic_load(&t->encl->flags);
	assert_true(flags & DRV_ENCL_CREATED);
	assert_true(flags & DRV_ENCL_DEBUG);
	assert_false(flags & DRV_ENCL_INITIALIZED);
	assert_false(flags & DRV_ENCL_IOCTL);
	assert_int_equal(t->encl->base, t->base);
	assert_int_equal(t->encl->size, T_SIZE);
	assert_int_equal(t->encl->attributes, T_ATTRS);
	assert_int_equal(t->encl->attributes_mask,
			 SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | SGX_ATTR_KSS | SGX_ATTR_AEXNOTIFY);
	/* SECS + one VA page (page_cnt counts the SECS) */
	assert_int_equal(epc_nr_free(t->fx->emu), free0 - 2);
	assert_int_equal(t->encl->page_cnt, 1);
	assert_int_equal(nr_va_pages(t->encl), 1);
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(t->fx->emu->m, t->encl->secs.epc_frame, &e));
	assert_true(e.valid);
	assert_int_equal(e.pt, SGX_PT_SECS);
	assert_true(hw_epcm_read(t->fx->emu->m, t->encl->va_pages->epc_frame, &e));
	assert_true(e.valid);
	assert_int_equal(e.pt, SGX_PT_VA);
	/* neither the SECS nor VA pages are reclaimable */
	assert_int_equal(epc_nr_reclaimable(t->fx->emu), 0);
}

static void test_create_not_debug(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, T_SIZE, SGX_ATTR_MODE64BIT), 0);
	assert_false(atomic_load(&t->encl->flags) & DRV_ENCL_DEBUG);
}

static void test_create_twice(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
	uint32_t nr = epc_nr_free(t->fx->emu);
	assert_int_equal(create(t, T_SIZE, T_ATTRS), EINVAL);
	/* even with a bad pointer: the state check comes first */
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_CREATE, NULL), EINVAL);
	assert_int_equal(epc_nr_free(t->fx->emu), nr);
}

static void test_create_size_not_power_of_2(void **state)
{
	struct t *t = *state;
	t_reserve(t, T_SIZE);
	assert_int_equal(create_with(t, secs_page(t, 3 * SGX_PAGE_SIZE, T_ATTRS)), EINVAL);
	assert_int_equal(create_with(t, secs_page(t, 0, T_ATTRS)), EINVAL);
	assert_int_equal(create_with(t, secs_page(t, T_SIZE + SGX_PAGE_SIZE, T_ATTRS)), EINVAL);
	/* nothing allocated, not CREATED: a good CREATE still works */
	assert_int_equal(epc_nr_free(t->fx->emu), T_FRAMES);
	assert_int_equal(t->encl->page_cnt, 0);
	assert_false(atomic_load(&t->encl->flags) & DRV_ENCL_CREATED);
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
}

static void test_create_ecreate_fails(void **state)
{
	struct t *t = *state;
	t_reserve(t, T_SIZE);
	/* base not aligned to size: a power of two, but ECREATE #GPs → EIO */
	struct sgx_secs *secs = secs_page(t, T_SIZE, T_ATTRS);
	secs->base += SGX_PAGE_SIZE;
	assert_int_equal(create_with(t, secs), EIO);
	/* INIT attribute set by software: ECREATE #GP */
	assert_int_equal(create_with(t, secs_page(t, T_SIZE, T_ATTRS | SGX_ATTR_INIT)), EIO);
	/* SECS frame and VA page given back */
	assert_int_equal(epc_nr_free(t->fx->emu), T_FRAMES);
	assert_int_equal(t->encl->page_cnt, 0);
	assert_null(t->encl->va_pages);
	assert_int_equal(t->encl->secs.epc_frame, HW_NO_FRAME);
	assert_false(atomic_load(&t->encl->flags) & (DRV_ENCL_CREATED | DRV_ENCL_DEBUG));
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
}

static void test_create_efault(void **state)
{
	struct t *t = *state;
	t_reserve(t, T_SIZE);
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_CREATE, NULL), EFAULT);
	/* SECS source partly in a hole of the host address space */
	uint8_t *m = mmap(NULL, 2 * SGX_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(munmap(m + SGX_PAGE_SIZE, SGX_PAGE_SIZE), 0);
	struct sgx_enclave_create c = { .src = (uint64_t)(uintptr_t)(m + 8) };
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_CREATE, &c), EFAULT);
	munmap(m, SGX_PAGE_SIZE);
	c.src = 0;
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_CREATE, &c), EFAULT);
	assert_int_equal(epc_nr_free(t->fx->emu), T_FRAMES);
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
}

/* ---- ADD_PAGES ---- */

static void test_add_pages(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
	uint32_t free0 = epc_nr_free(t->fx->emu);
	uint64_t count;

	fill_tcs(t->src, 0x1000);
	assert_int_equal(add(t, 0, SGX_PAGE_SIZE, TCS_FLAGS, true, &count), 0);
	assert_int_equal(count, SGX_PAGE_SIZE);
	for (unsigned i = 0; i < 3; i++)
		memset(t->src + i * SGX_PAGE_SIZE, 0x10 + i, SGX_PAGE_SIZE);
	assert_int_equal(add(t, 0x1000, 3 * SGX_PAGE_SIZE, REG_RW, false, &count), 0);
	assert_int_equal(count, 3 * SGX_PAGE_SIZE);
	assert_int_equal(add(t, 0x8000, SGX_PAGE_SIZE, REG_RX, true, &count), 0);
	assert_int_equal(count, SGX_PAGE_SIZE);
	assert_int_equal(add(t, 0x9000, SGX_PAGE_SIZE, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R, true, &count), 0);

	assert_int_equal(epc_nr_free(t->fx->emu), free0 - 6);
	assert_int_equal(t->encl->page_cnt, 7);
	assert_int_equal(t->encl->secs_child_cnt, 6);
	assert_int_equal(epc_nr_reclaimable(t->fx->emu), 6);

	struct hw_epcm_entry e = epcm_at(t, t->base);
	assert_int_equal(e.pt, SGX_PT_TCS);
	assert_false(e.r || e.w || e.x);
	e = epcm_at(t, t->base + 0x2000);
	assert_int_equal(e.pt, SGX_PT_REG);
	assert_true(e.r && e.w && !e.x && !e.pending);
	assert_int_equal(e.enclave_address, t->base + 0x2000);
	e = epcm_at(t, t->base + 0x8000);
	assert_true(e.r && !e.w && e.x);

	/* the kernel's records: type, vetted maximum (a TCS is RW) */
	struct drv_page *p = xa_load(&t->encl->pages, t->base >> 12);
	assert_int_equal(p->type, SGX_PT_TCS);
	assert_int_equal(p->vm_max_prot_bits, DRV_VM_READ | DRV_VM_WRITE);
	assert_int_equal(p->addr, t->base);
	assert_ptr_equal(p->encl, t->encl);
	p = xa_load(&t->encl->pages, (t->base + 0x3000) >> 12);
	assert_int_equal(p->type, SGX_PT_REG);
	assert_int_equal(p->vm_max_prot_bits, DRV_VM_READ | DRV_VM_WRITE);
	assert_memory_equal(hw_epc_page(t->fx->emu->m, p->epc_frame), t->src + 2 * SGX_PAGE_SIZE, 16);
	p = xa_load(&t->encl->pages, (t->base + 0x8000) >> 12);
	assert_int_equal(p->vm_max_prot_bits, DRV_VM_READ | DRV_VM_EXEC);
	p = xa_load(&t->encl->pages, (t->base + 0x9000) >> 12);
	assert_int_equal(p->vm_max_prot_bits, DRV_VM_READ);
	assert_null(xa_load(&t->encl->pages, (t->base + 0x4000) >> 12));

	/* measured or not, the model's MRENCLAVE follows the test's: INIT works */
	assert_int_equal(init(t), 0);
}

static void test_add_before_create(void **state)
{
	struct t *t = *state;
	t_reserve(t, T_SIZE);
	uint64_t count;
	assert_int_equal(add(t, 0, SGX_PAGE_SIZE, REG_RW, true, &count), EINVAL);
	assert_int_equal(count, 0xdead);
}

static void test_add_after_init(void **state)
{
	struct t *t = *state;
	build_small(t);
	assert_int_equal(init(t), 0);
	uint64_t count;
	assert_int_equal(add(t, 0x5000, SGX_PAGE_SIZE, REG_RW, true, &count), EINVAL);
	assert_int_equal(count, 0xdead);
}

static void test_add_bad_range(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
	uint64_t src = (uint64_t)(uintptr_t)t->src, count;
	uint32_t nr = epc_nr_free(t->fx->emu);

	assert_int_equal(add_from(t, 0, src + 8, SGX_PAGE_SIZE, REG_RW, true, &count), EINVAL);
	assert_int_equal(count, 0xdead);
	assert_int_equal(add_from(t, 0, src + 0x800, SGX_PAGE_SIZE, REG_RW, true, &count), EINVAL);
	assert_int_equal(add(t, 0x800, SGX_PAGE_SIZE, REG_RW, true, &count), EINVAL);
	assert_int_equal(add(t, 1, SGX_PAGE_SIZE, REG_RW, true, &count), EINVAL);
	assert_int_equal(add(t, 0, 0, REG_RW, true, &count), EINVAL);
	assert_int_equal(add(t, 0, 0x800, REG_RW, true, &count), EINVAL);
	assert_int_equal(add(t, 0, SGX_PAGE_SIZE + 8, REG_RW, true, &count), EINVAL);
	/* last page must be inside ELRANGE */
	assert_int_equal(add(t, T_SIZE, SGX_PAGE_SIZE, REG_RW, true, &count), EINVAL);
	assert_int_equal(add(t, T_SIZE - SGX_PAGE_SIZE, 2 * SGX_PAGE_SIZE, REG_RW, true, &count), EINVAL);
	/* offset + length wraps around */
	assert_int_equal(add(t, -0x2000ull, 0x3000, REG_RW, true, &count), EINVAL);
	assert_int_equal(add(t, 0x1000, -0x1000ull, REG_RW, true, &count), EINVAL);
	assert_int_equal(count, 0xdead);
	assert_int_equal(epc_nr_free(t->fx->emu), nr);
	/* the very last page is fine */
	assert_int_equal(add(t, T_SIZE - SGX_PAGE_SIZE, SGX_PAGE_SIZE, REG_RW, true, &count), 0);
	assert_int_equal(count, SGX_PAGE_SIZE);
}

static void test_add_bad_secinfo(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
	uint32_t nr = epc_nr_free(t->fx->emu);
	uint64_t count;
	static const uint64_t bad[] = {
		SGX_SECINFO_PT(SGX_PT_SECS) | SGX_SECINFO_R,
		SGX_SECINFO_PT(SGX_PT_VA) | SGX_SECINFO_R,
		SGX_SECINFO_PT(SGX_PT_TRIM) | SGX_SECINFO_R,
		SGX_SECINFO_PT(SGX_PT_SS_FIRST),
		SGX_SECINFO_PT(0xff) | SGX_SECINFO_R,
		/* W without R */
		SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_W,
		SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_W | SGX_SECINFO_X,
		/* a TCS with any right */
		TCS_FLAGS | SGX_SECINFO_R,
		TCS_FLAGS | SGX_SECINFO_R | SGX_SECINFO_W,
		TCS_FLAGS | SGX_SECINFO_X,
		/* reserved flag bits, the EACCEPT-only ones included */
		REG_RW | SGX_SECINFO_PENDING,
		REG_RW | SGX_SECINFO_MODIFIED,
		REG_RW | SGX_SECINFO_PR,
		REG_RW | 0x40,
		REG_RW | 0x80,
		REG_RW | (1ull << 16),
		REG_RW | (1ull << 63),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(add(t, 0x1000, SGX_PAGE_SIZE, bad[i], true, &count), EINVAL);
		assert_int_equal(count, 0xdead);
	}
	/* a reserved byte */
	static struct sgx_secinfo secinfo;
	for (size_t byte = 0; byte < sizeof(secinfo.reserved); byte += 11) {
		memset(&secinfo, 0, sizeof(secinfo));
		secinfo.flags = REG_RW;
		secinfo.reserved[byte] = 1;
		struct sgx_enclave_add_pages a = {
			.src = (uint64_t)(uintptr_t)t->src, .offset = 0x1000, .length = SGX_PAGE_SIZE,
			.secinfo = (uint64_t)(uintptr_t)&secinfo, .flags = SGX_PAGE_MEASURE, .count = 7,
		};
		assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_ADD_PAGES, &a), EINVAL);
		assert_int_equal(a.count, 7);
	}
	/* the SECINFO pointer itself */
	struct sgx_enclave_add_pages a = {
		.src = (uint64_t)(uintptr_t)t->src, .offset = 0x1000, .length = SGX_PAGE_SIZE,
		.secinfo = 0, .count = 7,
	};
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_ADD_PAGES, &a), EFAULT);
	assert_int_equal(a.count, 7);
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_ADD_PAGES, NULL), EFAULT);
	assert_int_equal(epc_nr_free(t->fx->emu), nr);
	assert_int_equal(t->encl->page_cnt, 1);
	/* R-only, RX and RWX REG pages are all valid */
	assert_int_equal(add(t, 0x1000, SGX_PAGE_SIZE, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_RWX, true, &count), 0);
	assert_int_equal(add(t, 0x2000, SGX_PAGE_SIZE, SGX_SECINFO_PT(SGX_PT_REG), true, &count), 0);
	assert_int_equal(count, SGX_PAGE_SIZE);
}

static void test_add_page_exists(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
	uint64_t count;
	assert_int_equal(add(t, 0x2000, SGX_PAGE_SIZE, REG_RW, true, &count), 0);
	uint32_t nr = epc_nr_free(t->fx->emu);
	uint64_t cnt = t->encl->page_cnt;
	/* pages 0x1000 ok, 0x2000 exists: count covers the first only */
	assert_int_equal(add(t, 0x1000, 3 * SGX_PAGE_SIZE, REG_RW, true, &count), EBUSY);
	assert_int_equal(count, SGX_PAGE_SIZE);
	assert_int_equal(epc_nr_free(t->fx->emu), nr - 1);
	assert_int_equal(t->encl->page_cnt, cnt + 1);
	assert_null(xa_load(&t->encl->pages, (t->base + 0x3000) >> 12));
	assert_int_equal(add(t, 0x2000, SGX_PAGE_SIZE, REG_RW, true, &count), EBUSY);
	assert_int_equal(count, 0);
	assert_int_equal(init(t), 0);
}

static void test_add_source_noexec(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
	uint8_t *m = emu_mmap(t->fx->proc, NULL, 2 * SGX_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	/* a noexec mount: VM_MAYEXEC clear on the second page's VMA (read-only,
	 * so that it does not merge with the first) */
	uint8_t *second = m + SGX_PAGE_SIZE;
	assert_int_equal(emu_munmap(t->fx->proc, second, SGX_PAGE_SIZE), 0);
	assert_true(emu_mmap(t->fx->proc, second, SGX_PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
		    second);
	pthread_rwlock_wrlock(&t->fx->proc->mm->lock);
	struct drv_vma *vma = mm_find_vma(t->fx->proc->mm, (uint64_t)(uintptr_t)second);
	assert_non_null(vma);
	assert_int_equal(vma->start, (uint64_t)(uintptr_t)second);
	assert_int_equal(vma->end, (uint64_t)(uintptr_t)second + SGX_PAGE_SIZE);
	vma->flags &= ~DRV_VMA_MAYEXEC;
	pthread_rwlock_unlock(&t->fx->proc->mm->lock);

	uint32_t nr = epc_nr_free(t->fx->emu);
	uint64_t count;
	assert_int_equal(add_from(t, 0, (uint64_t)(uintptr_t)second, SGX_PAGE_SIZE, REG_RW, true, &count), EACCES);
	assert_int_equal(count, 0);
	assert_int_equal(epc_nr_free(t->fx->emu), nr);
	assert_null(xa_load(&t->encl->pages, t->base >> 12));
	assert_int_equal(add_from(t, 0, (uint64_t)(uintptr_t)m, 2 * SGX_PAGE_SIZE, REG_RW, true, &count), EACCES);
	assert_int_equal(count, SGX_PAGE_SIZE);
	/* page exists beats a bad source */
	assert_int_equal(add_from(t, 0, (uint64_t)(uintptr_t)second, SGX_PAGE_SIZE, REG_RW, true, &count), EBUSY);
	assert_int_equal(count, 0);
	assert_int_equal(init(t), 0);
}

static void test_add_source_efault(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
	uint32_t nr = epc_nr_free(t->fx->emu);
	uint64_t count;
	/* a hole of the host address space (no VMA, not mapped) */
	uint8_t *gap = mmap(NULL, 3 * SGX_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(gap != MAP_FAILED);
	assert_int_equal(munmap(gap + SGX_PAGE_SIZE, SGX_PAGE_SIZE), 0);
	assert_int_equal(add_from(t, 0, (uint64_t)(uintptr_t)gap + SGX_PAGE_SIZE, SGX_PAGE_SIZE, REG_RW, true, &count),
			 EFAULT);
	assert_int_equal(count, 0);
	assert_int_equal(add_from(t, 0, (uint64_t)(uintptr_t)gap, 2 * SGX_PAGE_SIZE, REG_RW, true, &count), EFAULT);
	assert_int_equal(count, SGX_PAGE_SIZE);
	/* an emu VMA without read permission cannot be pinned */
	uint8_t *none = emu_mmap(t->fx->proc, NULL, SGX_PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(none != MAP_FAILED);
	assert_int_equal(add_from(t, 0x1000, (uint64_t)(uintptr_t)none, SGX_PAGE_SIZE, REG_RW, true, &count), EFAULT);
	assert_int_equal(count, 0);
	/* nor can an enclave mapping (VM_PFNMAP) */
	assert_true(emu_mmap(t->fx->proc, (void *)(uintptr_t)t->base, T_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			     t->fd, 0) == (void *)(uintptr_t)t->base);
	assert_int_equal(add_from(t, 0x1000, t->base + 0x4000, SGX_PAGE_SIZE, REG_RW, true, &count), EFAULT);
	assert_int_equal(count, 0);
	assert_int_equal(epc_nr_free(t->fx->emu), nr - 1);
	munmap(gap, 3 * SGX_PAGE_SIZE);
}

static void test_add_eadd_fails(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
	uint64_t count;
	/* page 2 is a TCS with a reserved byte set: EADD #GP → EIO after one page */
	fill_tcs(t->src, 0x1000);
	fill_tcs(t->src + SGX_PAGE_SIZE, 0x1000);
	t->src[SGX_PAGE_SIZE + 100] = 1;
	uint32_t nr = epc_nr_free(t->fx->emu);
	assert_int_equal(add(t, 0, 2 * SGX_PAGE_SIZE, TCS_FLAGS, true, &count), EIO);
	assert_int_equal(count, SGX_PAGE_SIZE);
	assert_int_equal(epc_nr_free(t->fx->emu), nr - 1);
	assert_null(xa_load(&t->encl->pages, (t->base + SGX_PAGE_SIZE) >> 12));
	assert_int_equal(t->encl->page_cnt, 2);
	assert_int_equal(t->encl->secs_child_cnt, 1);
	/* the slot is free again */
	fill_tcs(t->src, 0x1000);
	assert_int_equal(add(t, SGX_PAGE_SIZE, SGX_PAGE_SIZE, TCS_FLAGS, true, &count), 0);
	assert_int_equal(init(t), 0);
}

/* One VA page per 512 pages, eagerly: ceil((N+1)/512) for N pages. */
static void test_va_accounting(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, 4 * T_SIZE, T_ATTRS), 0);
	assert_int_equal(nr_va_pages(t->encl), 1);
	uint64_t count;
	for (uint64_t off = 0; off < 511 * SGX_PAGE_SIZE; off += SRC_PAGES * SGX_PAGE_SIZE) {
		uint64_t len = 511 * SGX_PAGE_SIZE - off;
		if (len > SRC_PAGES * SGX_PAGE_SIZE)
			len = SRC_PAGES * SGX_PAGE_SIZE;
		assert_int_equal(add(t, off, len, REG_RW, false, &count), 0);
	}
	assert_int_equal(t->encl->page_cnt, 512);
	assert_int_equal(nr_va_pages(t->encl), 1);
	assert_int_equal(epc_nr_free(t->fx->emu), T_FRAMES - 513);
	assert_int_equal(add(t, 511 * SGX_PAGE_SIZE, SGX_PAGE_SIZE, REG_RW, false, &count), 0);
	assert_int_equal(t->encl->page_cnt, 513);
	assert_int_equal(nr_va_pages(t->encl), 2);
	assert_int_equal(epc_nr_free(t->fx->emu), T_FRAMES - 515);
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(t->fx->emu->m, t->encl->va_pages->epc_frame, &e));
	assert_true(e.valid);
	assert_int_equal(e.pt, SGX_PT_VA);
	/* a failed add at the boundary gives its fresh VA page back */
	assert_int_equal(add(t, 0, SGX_PAGE_SIZE, REG_RW, false, &count), EBUSY);
	assert_int_equal(nr_va_pages(t->encl), 2);
	assert_int_equal(t->encl->page_cnt, 513);
}

static void test_va_ungrow_at_boundary(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, 4 * T_SIZE, T_ATTRS), 0);
	uint64_t count;
	for (uint64_t off = 0; off < 511 * SGX_PAGE_SIZE; off += SRC_PAGES * SGX_PAGE_SIZE) {
		uint64_t len = 511 * SGX_PAGE_SIZE - off;
		if (len > SRC_PAGES * SGX_PAGE_SIZE)
			len = SRC_PAGES * SGX_PAGE_SIZE;
		assert_int_equal(add(t, off, len, REG_RW, false, &count), 0);
	}
	uint32_t nr = epc_nr_free(t->fx->emu);
	/* the 513th page would need a second VA page; EBUSY gives it back */
	assert_int_equal(add(t, 0, SGX_PAGE_SIZE, REG_RW, false, &count), EBUSY);
	assert_int_equal(nr_va_pages(t->encl), 1);
	assert_int_equal(t->encl->page_cnt, 512);
	assert_int_equal(epc_nr_free(t->fx->emu), nr);
}

/* ---- INIT ---- */

static void test_init(void **state)
{
	struct t *t = *state;
	build_small(t);
	assert_int_equal(init(t), 0);
	assert_true(atomic_load(&t->encl->flags) & DRV_ENCL_INITIALIZED);
	bool initialized = false;
	assert_true(hw_secs_info(t->fx->emu->m, t->encl->secs.epc_frame, NULL, &initialized, NULL, NULL));
	assert_true(initialized);
	const struct sgx_secs *secs = (const void *)hw_epc_page(t->fx->emu->m, t->encl->secs.epc_frame);
	assert_int_equal(secs->isv_prod_id, 0x42);
	uint8_t mrsigner[32];
	static struct sgx_sigstruct ss;
	sigstruct_for(t, &ss, 0);
	sgx_sigstruct_mrsigner(&ss, mrsigner);
	assert_memory_equal(secs->mrsigner, mrsigner, 32);
	/* twice */
	assert_int_equal(init(t), EINVAL);
}

static void test_init_before_create(void **state)
{
	struct t *t = *state;
	static struct sgx_sigstruct ss;
	memset(&ss, 0, sizeof(ss));
	assert_int_equal(init_with(t, &ss), EINVAL);
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_INIT, NULL), EINVAL);
}

static void test_init_efault(void **state)
{
	struct t *t = *state;
	build_small(t);
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_INIT, NULL), EFAULT);
	struct sgx_enclave_init i = { .sigstruct = 0 };
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_INIT, &i), EFAULT);
	/* SIGSTRUCT running into unmapped memory */
	uint8_t *m = mmap(NULL, 2 * SGX_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(munmap(m + SGX_PAGE_SIZE, SGX_PAGE_SIZE), 0);
	i.sigstruct = (uint64_t)(uintptr_t)(m + SGX_PAGE_SIZE - 1000);
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_INIT, &i), EFAULT);
	munmap(m, SGX_PAGE_SIZE);
	assert_int_equal(init(t), 0);
}

static void test_init_bad_signature(void **state)
{
	struct t *t = *state;
	build_small(t);
	static struct sgx_sigstruct ss;
	sigstruct_for(t, &ss, 0);
	ss.signature[17] ^= 1;
	assert_int_equal(init_with(t, &ss), EPERM);
	assert_false(atomic_load(&t->encl->flags) & DRV_ENCL_INITIALIZED);
	/* wrong measurement, properly signed */
	sigstruct_for(t, &ss, 0);
	ss.body.mrenclave[0] ^= 1;
	assert_int_equal(sgx_sign_sigstruct(fx_key(), &ss), 0);
	assert_int_equal(init_with(t, &ss), EPERM);
	/* attributes differing from the SECS under the mask */
	sigstruct_for(t, &ss, 0);
	ss.body.attributes.flags &= ~SGX_ATTR_DEBUG;
	assert_int_equal(sgx_sign_sigstruct(fx_key(), &ss), 0);
	assert_int_equal(init_with(t, &ss), EPERM);
	/* a failed EINIT changes nothing */
	assert_int_equal(init(t), 0);
}

static void test_init_vendor(void **state)
{
	struct t *t = *state;
	build_small(t);
	static struct sgx_sigstruct ss;
	sigstruct_for(t, &ss, 0x1234);
	assert_int_equal(init_with(t, &ss), EINVAL);
	sigstruct_for(t, &ss, 0x8087);
	assert_int_equal(init_with(t, &ss), EINVAL);
	sigstruct_for(t, &ss, 0x8086);
	assert_int_equal(init_with(t, &ss), 0);
}

static void test_init_reserved_bits(void **state)
{
	struct t *t = *state;
	build_small(t);
	static struct sgx_sigstruct ss;
	/* attribute bits under the mask that are reserved (3, 6, 8, 9, 11..63)
	 * or that this CPU does not report in CPUID.12H.1 (AEXNOTIFY) */
	static const uint64_t attr_bits[] = { 1ull << 3, 1ull << 6, 1ull << 8, 1ull << 9, 1ull << 11, 1ull << 63,
					      SGX_ATTR_AEXNOTIFY };
	for (size_t i = 0; i < sizeof(attr_bits) / sizeof(attr_bits[0]); i++) {
		sigstruct_for(t, &ss, 0);
		ss.body.attributes.flags |= attr_bits[i];
		assert_int_equal(init_with(t, &ss), EINVAL);
	}
	/* miscselect beyond CPUID.12H.0:EBX (EXINFO only) */
	sigstruct_for(t, &ss, 0);
	ss.body.miscselect = 2;
	assert_int_equal(init_with(t, &ss), EINVAL);
	/* XFRM beyond CPUID.12H.1:ECX..EDX (x87|SSE): AVX */
	sigstruct_for(t, &ss, 0);
	ss.body.attributes.xfrm |= 4;
	assert_int_equal(init_with(t, &ss), EINVAL);
	/* a reserved bit the SIGSTRUCT does not enforce is no reason to refuse:
	 * EINIT then runs (and the signature is over the body: EPERM) */
	sigstruct_for(t, &ss, 0);
	ss.body.attributes.xfrm |= 4;
	ss.body.attributes_mask.xfrm &= ~4ull;
	assert_int_equal(init_with(t, &ss), EPERM);
	ss.body.miscselect = 2;
	ss.body.misc_mask = ~2u;
	assert_int_equal(sgx_sign_sigstruct(fx_key(), &ss), 0);
	assert_int_equal(init_with(t, &ss), 0);
}

static void test_init_interrupted(void **state)
{
	struct t *t = *state;
	build_small(t);
	struct hw_lp *lp = emu_kernel_lp(t->fx->emu);
	uint64_t before = hw_lp_stats(lp)->interrupts;
	hw_lp_post_interrupt(lp);
	assert_int_equal(init(t), 0);
	assert_int_equal(hw_lp_stats(lp)->interrupts, before + 1);
}

static void test_init_provisionkey(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, T_SIZE, T_ATTRS | SGX_ATTR_PROVISIONKEY), 0);
	fill_tcs(t->src, 0x1000);
	assert_int_equal(add(t, 0, SGX_PAGE_SIZE, TCS_FLAGS, true, NULL), 0);
	assert_int_equal(init(t), EACCES);
	assert_false(atomic_load(&t->encl->flags) & DRV_ENCL_INITIALIZED);

	int pfd = emu_open(t->fx->proc, "/dev/sgx_provision", O_RDWR);
	assert_true(pfd >= 0);
	struct sgx_enclave_provision p = { .fd = (uint64_t)pfd };
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_PROVISION, &p), 0);
	assert_int_equal(t->encl->attributes_mask,
			 SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | SGX_ATTR_KSS | SGX_ATTR_AEXNOTIFY | SGX_ATTR_PROVISIONKEY);
	assert_int_equal(init(t), 0);
	assert_int_equal(emu_close(t->fx->proc, pfd), 0);
}

static void test_init_einittokenkey_refused(void **state)
{
	struct t *t = *state;
	assert_int_equal(create(t, T_SIZE, T_ATTRS | SGX_ATTR_EINITTOKENKEY), 0);
	assert_int_equal(init(t), EACCES);
	int pfd = emu_open(t->fx->proc, "/dev/sgx_provision", O_RDWR);
	struct sgx_enclave_provision p = { .fd = (uint64_t)pfd };
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_PROVISION, &p), 0);
	assert_int_equal(init(t), EACCES);
}

/* ---- PROVISION ---- */

static void test_provision_bad_fd(void **state)
{
	struct t *t = *state;
	struct sgx_enclave_provision p = { .fd = (uint64_t)t->fd };
	/* an enclave fd, a closed fd, a negative one */
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_PROVISION, &p), EINVAL);
	p.fd = 200;
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_PROVISION, &p), EINVAL);
	p.fd = (uint64_t)-1;
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_PROVISION, &p), EINVAL);
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_PROVISION, NULL), EFAULT);
	/* a provision fd of another process: the number means our own file */
	struct emu_proc *other = emu_proc_create(t->fx->emu);
	int ofd = emu_open(other, "/dev/sgx_provision", O_RDWR);
	assert_int_equal(ofd, t->fd);
	p.fd = (uint64_t)ofd;
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_PROVISION, &p), EINVAL);
	emu_proc_exit(other);
	assert_int_equal(t->encl->attributes_mask & SGX_ATTR_PROVISIONKEY, 0);
	/* Linux takes the fd as an unsigned int: the high half is ignored
	 * (decision: kept, it is what the u64 → unsigned int conversion does) */
	int pfd = emu_open(t->fx->proc, "/dev/sgx_provision", O_RDWR);
	p.fd = (1ull << 32) | (uint64_t)pfd;
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_PROVISION, &p), 0);
	assert_true(t->encl->attributes_mask & SGX_ATTR_PROVISIONKEY);
	/* no CREATED requirement, and it may be repeated */
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_PROVISION, &p), 0);
}

/* ---- dispatch ---- */

static void test_ioctl_busy(void **state)
{
	struct t *t = *state;
	t_reserve(t, T_SIZE);
	/* another ioctl of this enclave is in progress */
	atomic_fetch_or(&t->encl->flags, DRV_ENCL_IOCTL);
	assert_int_equal(create(t, T_SIZE, T_ATTRS), EBUSY);
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_CREATE, NULL), EBUSY);
	assert_int_equal(ioc(t, 0xdeadbeef, NULL), EBUSY);
	/* the loser must not clear the winner's flag */
	assert_true(atomic_load(&t->encl->flags) & DRV_ENCL_IOCTL);
	atomic_fetch_and(&t->encl->flags, ~(unsigned)DRV_ENCL_IOCTL);
	assert_int_equal(create(t, T_SIZE, T_ATTRS), 0);
	assert_false(atomic_load(&t->encl->flags) & DRV_ENCL_IOCTL);
	/* an ioctl on another enclave is not affected */
	int fd2 = emu_open(t->fx->proc, "/dev/sgx_enclave", O_RDWR);
	atomic_fetch_or(&t->encl->flags, DRV_ENCL_IOCTL);
	struct sgx_enclave_provision p = { .fd = (uint64_t)t->fd };
	errno = 0;
	assert_int_equal(emu_ioctl(t->fx->proc, fd2, SGX_IOC_ENCLAVE_PROVISION, &p), -1);
	assert_int_equal(errno, EINVAL);
	atomic_fetch_and(&t->encl->flags, ~(unsigned)DRV_ENCL_IOCTL);
}

static void test_ioctl_unknown(void **state)
{
	struct t *t = *state;
	assert_int_equal(ioc(t, SGX_IOC_VEPC_REMOVE_ALL, NULL), ENOTTY);
	assert_int_equal(ioc(t, _IOW(SGX_MAGIC, 0x08, struct sgx_enclave_create), NULL), ENOTTY);
	/* right number, wrong size or direction: a different command */
	assert_int_equal(ioc(t, _IOR(SGX_MAGIC, 0x00, struct sgx_enclave_create), NULL), ENOTTY);
	assert_int_equal(ioc(t, _IOW(SGX_MAGIC, 0x02, struct sgx_enclave_add_pages), NULL), ENOTTY);
	assert_false(atomic_load(&t->encl->flags) & DRV_ENCL_IOCTL);
}

static void test_sgx2_ioctls_dispatched(void **state)
{
	struct t *t = *state;
	build_small(t);
	/* reached, and refused for a not-yet-initialized enclave */
	struct sgx_enclave_restrict_permissions r = { .offset = 0x1000, .length = SGX_PAGE_SIZE };
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &r), EINVAL);
	struct sgx_enclave_modify_types m = { .offset = 0x1000, .length = SGX_PAGE_SIZE, .page_type = SGX_PT_TRIM };
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_MODIFY_TYPES, &m), EINVAL);
	struct sgx_enclave_remove_pages rm = { .offset = 0x1000, .length = SGX_PAGE_SIZE };
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rm), EINVAL);
	assert_int_equal(init(t), 0);
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &r), 0);
	assert_int_equal(r.count, SGX_PAGE_SIZE);
	assert_false(atomic_load(&t->encl->flags) & DRV_ENCL_IOCTL);
}

static void test_sgx2_ioctls_enodev(void **state)
{
	(void)state;
	struct t *t = t_new(true);
	build_small(t);
	assert_int_equal(init(t), 0);
	struct sgx_enclave_restrict_permissions r = { .offset = 0x1000, .length = SGX_PAGE_SIZE };
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &r), ENODEV);
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_MODIFY_TYPES, NULL), ENODEV);
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_REMOVE_PAGES, NULL), ENODEV);
	t_free(t);
}

/* ---- release ---- */

static void test_release_frees_everything(void **state)
{
	struct t *t = *state;
	build_small(t);
	assert_int_equal(init(t), 0);
	assert_int_not_equal(epc_nr_free(t->fx->emu), T_FRAMES);
	assert_int_equal(emu_close(t->fx->proc, t->fd), 0);
	assert_int_equal(epc_nr_free(t->fx->emu), T_FRAMES);
	assert_int_equal(epc_nr_reclaimable(t->fx->emu), 0);
	for (uint32_t f = 0; f < 16; f++) {
		struct hw_epcm_entry e;
		assert_true(hw_epcm_read(t->fx->emu->m, f, &e));
		assert_false(e.valid);
	}
}

static void test_release_uninitialized(void **state)
{
	struct t *t = *state;
	build_small(t);
	assert_int_equal(emu_close(t->fx->proc, t->fd), 0);
	assert_int_equal(epc_nr_free(t->fx->emu), T_FRAMES);
}

/* The mapping keeps the enclave alive after close, until the process exits. */
static void test_release_after_unmap(void **state)
{
	struct t *t = *state;
	build_small(t);
	assert_int_equal(init(t), 0);
	assert_true(emu_mmap(t->fx->proc, (void *)(uintptr_t)t->base, T_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, t->fd, 0) ==
		    (void *)(uintptr_t)t->base);
	assert_int_equal(emu_close(t->fx->proc, t->fd), 0);
	assert_int_not_equal(epc_nr_free(t->fx->emu), T_FRAMES);
	struct emu *emu = t->fx->emu;
	emu_proc_exit(t->fx->proc);
	assert_int_equal(epc_nr_free(emu), T_FRAMES);
	t->fx->proc = emu_proc_create(emu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_not_debug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_size_not_power_of_2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_ecreate_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_efault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_before_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_after_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_bad_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_bad_secinfo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_page_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_source_noexec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_source_efault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_eadd_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_va_accounting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_va_ungrow_at_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_before_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_efault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_bad_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_vendor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_reserved_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_interrupted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_provisionkey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_einittokenkey_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provision_bad_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioctl_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioctl_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sgx2_ioctls_dispatched, setup, teardown),
		cmocka_unit_test(test_sgx2_ioctls_enodev),
		cmocka_unit_test_setup_teardown(test_release_frees_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_uninitialized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_after_unmap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
