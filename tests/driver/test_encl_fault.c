/*
 * The enclave half of the driver at run time: the EPC allocator and LRU,
 * sgx_encl_may_map, the enclave VMA fault handler (EAUG on fault with the
 * 2024 race fixes, the VMA ⊆ vetted-maximum rule, busy pages), page loading,
 * debug access and release (linux-driver.md §2, §3, §7).
 *
 * Standard enclave (1 MiB): TCS +0, SSA +0x1000 +0x2000 (RW), data +0x3000
 * (RW), code +0x4000 (RX); from +0x10000 on, holes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "common/emu_fixture.h"
#include "driver/driver.h"
#include "sgx2emu/emu.h"

#define T_FRAMES 256u
#define T_SIZE 0x100000ull
#define O_TCS  0x0000ull
#define O_SSA  0x1000ull
#define O_DATA 0x3000ull
#define O_CODE 0x4000ull
#define O_HEAP 0x10000ull
#define PF_U  SGX_PFEC_U
#define PF_W  (SGX_PFEC_U | SGX_PFEC_W)
#define PF_I  (SGX_PFEC_U | SGX_PFEC_I)
#define RW    (PROT_READ | PROT_WRITE)
#define RX    (PROT_READ | PROT_EXEC)
#define RWX   (PROT_READ | PROT_WRITE | PROT_EXEC)

struct t {
	struct efx *fx;                 /* machine + process */
	int fd;
	struct drv_encl *encl;
	uint8_t *resv;
	size_t resv_len;
	uint64_t base;
	uint64_t attributes;
	struct sgx_measurement mr;
	uint8_t *src;
};

static struct t *t_new(bool sgx1_only)
{
	struct t *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->fx = efx_new_epc(T_FRAMES, sgx1_only);
	t->fd = efx_open_dev(t->fx);
	t->encl = proc_file(t->fx->proc, t->fd)->encl;
	t->src = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	assert_non_null(t->src);
	/* ELRANGE with a size of room on either side */
	t->resv_len = 4 * T_SIZE;
	t->resv = mmap(NULL, t->resv_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(t->resv != MAP_FAILED);
	t->base = ((uint64_t)(uintptr_t)t->resv + 2 * T_SIZE - 1) & ~(T_SIZE - 1);
	return t;
}

static void t_free(struct t *t)
{
	if (t->mr.ctx)
		EVP_MD_CTX_free(t->mr.ctx);
	efx_free(t->fx);                /* a NULL proc (exited by the test) is skipped */
	munmap(t->resv, t->resv_len);
	free(t->src);
	free(t);
}

static int ioc(struct t *t, unsigned long cmd, void *arg)
{
	return efx_ioc(t->fx, t->fd, cmd, arg);
}

static void t_create(struct t *t, uint64_t attrs)
{
	static struct sgx_secs secs;
	memset(&secs, 0, sizeof(secs));
	secs.size = T_SIZE;
	secs.base = t->base;
	secs.ssa_frame_size = 1;
	secs.attributes.flags = attrs;
	secs.attributes.xfrm = 3;
	struct sgx_enclave_create c = { .src = (uint64_t)(uintptr_t)&secs };
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_CREATE, &c), 0);
	t->attributes = attrs;
	assert_int_equal(sgx_measure_init(&t->mr, 1, T_SIZE), 0);
}

static void t_add(struct t *t, uint64_t offset, uint64_t flags)
{
	static struct sgx_secinfo secinfo;
	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = flags;
	struct sgx_enclave_add_pages a = {
		.src = (uint64_t)(uintptr_t)t->src, .offset = offset, .length = SGX_PAGE_SIZE,
		.secinfo = (uint64_t)(uintptr_t)&secinfo, .flags = SGX_PAGE_MEASURE,
	};
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_ADD_PAGES, &a), 0);
	assert_int_equal(a.count, SGX_PAGE_SIZE);
	sgx_measure_page(&t->mr, offset, flags, t->src, 1);
}

static void t_add_standard(struct t *t)
{
	struct sgx_tcs *tcs = (struct sgx_tcs *)t->src;
	memset(t->src, 0, SGX_PAGE_SIZE);
	tcs->ossa = O_SSA;
	tcs->nssa = 2;
	tcs->oentry = O_CODE;
	t_add(t, O_TCS, FX_TCS_FLAGS);
	memset(t->src, 0, SGX_PAGE_SIZE);
	t_add(t, O_SSA, FX_REG_RW);
	t_add(t, O_SSA + SGX_PAGE_SIZE, FX_REG_RW);
	for (unsigned i = 0; i < SGX_PAGE_SIZE; i++)
		t->src[i] = (uint8_t)(i * 7 + 1);
	t_add(t, O_DATA, FX_REG_RW);
	memset(t->src, 0xc3, SGX_PAGE_SIZE);
	t_add(t, O_CODE, FX_REG_RX);
}

static void t_init(struct t *t)
{
	static struct sgx_sigstruct ss;
	uint8_t mrenclave[32];
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	EVP_MD_CTX_copy_ex(copy, t->mr.ctx);
	struct sgx_measurement tmp = { copy };
	sgx_measure_final(&tmp, mrenclave);
	memset(&ss, 0, sizeof(ss));
	ss.header.date = 0x20261122;
	ss.body.misc_mask = 0xffffffff;
	ss.body.attributes.flags = t->attributes;
	ss.body.attributes.xfrm = 3;
	ss.body.attributes_mask.flags = ~0ull;
	ss.body.attributes_mask.xfrm = ~0ull;
	memcpy(ss.body.mrenclave, mrenclave, 32);
	assert_int_equal(sgx_sign_sigstruct(fx_key(), &ss), 0);
	struct sgx_enclave_init i = { .sigstruct = (uint64_t)(uintptr_t)&ss };
	assert_int_equal(ioc(t, SGX_IOC_ENCLAVE_INIT, &i), 0);
}

/* Standard enclave, initialized or not. */
static struct t *t_standard(bool sgx1_only, bool initialize)
{
	struct t *t = t_new(sgx1_only);
	t_create(t, SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG);
	t_add_standard(t);
	if (initialize)
		t_init(t);
	return t;
}

/* cmocka wrappers: a fresh machine with no enclave yet (the EPC tests), a
 * standard enclave initialized (most fault tests) */
static int setup(void **state)
{
	*state = t_new(false);
	return 0;
}

static int setup_init(void **state)
{
	*state = t_standard(false, true);
	return 0;
}

static int teardown(void **state)
{
	t_free(*state);
	return 0;
}

/* mmap of the enclave: 0 or errno */
static int map(struct t *t, uint64_t offset, uint64_t len, int prot)
{
	void *want = (void *)(uintptr_t)(t->base + offset);
	errno = 0;
	void *got = emu_mmap(t->fx->proc, want, len, prot, MAP_SHARED | MAP_FIXED, t->fd, 0);
	if (got == MAP_FAILED)
		return errno;
	assert_ptr_equal(got, want);
	return 0;
}

static enum drv_fault fault(struct t *t, uint64_t offset, uint32_t error_code)
{
	return drv_handle_fault(t->fx->proc->mm, t->base + offset, error_code);
}

static struct drv_page *page_at(struct t *t, uint64_t offset)
{
	return xa_load(&t->encl->pages, (t->base + offset) >> 12);
}

static struct hw_epcm_entry epcm_of_frame(struct t *t, uint32_t frame)
{
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(t->fx->emu->m, frame, &e));
	return e;
}

/* PTE of base+offset: its protection, or -1 when not present */
static int pte(struct t *t, uint64_t offset, void **host)
{
	unsigned prot;
	void *h = NULL;
	if (!hw_pt_lookup(t->fx->proc->mm->pt, t->base + offset, &h, &prot))
		return -1;
	if (host)
		*host = h;
	return (int)prot;
}

static void *frame_addr(struct t *t, struct drv_page *p)
{
	return (void *)(uintptr_t)epc_kaddr(t->fx->emu, p->epc_frame);
}

/* ---- epc.c ---- */

static void test_epc_alloc_free(void **state)
{
	struct t *t = *state;
	struct emu *emu = t->fx->emu;
	int err = 1;
	assert_int_equal(epc_nr_free(emu), T_FRAMES);
	/* ascending frames, owner recorded */
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(epc_alloc(emu, t, false, &err), i);
		assert_int_equal(err, 0);
		assert_ptr_equal(emu->epc_pages[i].owner, t);
		assert_int_equal(emu->epc_pages[i].flags, 0);
	}
	assert_int_equal(epc_nr_free(emu), T_FRAMES - 3);
	assert_int_equal(epc_kaddr(emu, 2), (uint64_t)(uintptr_t)hw_epc_page(emu->m, 2));
	epc_free(emu, 1);
	assert_int_equal(emu->epc_pages[1].flags, DRV_EPC_FREE);
	assert_null(emu->epc_pages[1].owner);
	epc_free(emu, 1);   /* twice: ignored */
	assert_int_equal(epc_nr_free(emu), T_FRAMES - 2);
	/* the frame freed last is handed out first */
	assert_int_equal(epc_alloc(emu, NULL, false, &err), 1);
	for (uint32_t i = 0; i < 3; i++)
		epc_free(emu, i);
	assert_int_equal(epc_nr_free(emu), T_FRAMES);
}

static void test_epc_lru(void **state)
{
	struct t *t = *state;
	struct emu *emu = t->fx->emu;
	int err;
	uint32_t f[4];
	for (unsigned i = 0; i < 4; i++)
		f[i] = epc_alloc(emu, NULL, false, &err);
	for (unsigned i = 0; i < 4; i++)
		epc_mark_reclaimable(emu, f[i]);
	assert_int_equal(epc_nr_reclaimable(emu), 4);
	assert_int_equal(emu->lru_head, f[0]);
	assert_int_equal(emu->lru_tail, f[3]);
	assert_true(emu->epc_pages[f[2]].flags & DRV_EPC_RECLAIMABLE);
	/* unmark from the middle, head and tail */
	assert_int_equal(epc_unmark_reclaimable(emu, f[1]), 0);
	assert_false(emu->epc_pages[f[1]].flags & DRV_EPC_RECLAIMABLE);
	assert_int_equal(emu->epc_pages[f[0]].lru_next, f[2]);
	assert_int_equal(emu->epc_pages[f[2]].lru_prev, f[0]);
	assert_int_equal(epc_unmark_reclaimable(emu, f[1]), 0);   /* not tracked: nothing to do */
	/* marking again moves a page to the tail */
	epc_mark_reclaimable(emu, f[0]);
	assert_int_equal(emu->lru_head, f[2]);
	assert_int_equal(emu->lru_tail, f[0]);
	assert_int_equal(epc_nr_reclaimable(emu), 3);
	/* freeing a tracked page takes it off the LRU */
	epc_free(emu, f[3]);
	assert_int_equal(epc_nr_reclaimable(emu), 2);
	assert_int_equal(emu->lru_head, f[2]);
	assert_int_equal(emu->epc_pages[f[2]].lru_next, f[0]);
	assert_int_equal(epc_unmark_reclaimable(emu, f[2]), 0);
	assert_int_equal(epc_unmark_reclaimable(emu, f[0]), 0);
	assert_int_equal(emu->lru_head, HW_NO_FRAME);
	assert_int_equal(emu->lru_tail, HW_NO_FRAME);
}

static void test_epc_isolate(void **state)
{
	struct t *t = *state;
	struct emu *emu = t->fx->emu;
	struct drv_encl *encl = encl_create(emu);
	struct drv_page pages[3] = { { .encl = encl }, { .encl = encl }, { .encl = encl } };
	int err;
	uint32_t f[3], got[4];
	for (unsigned i = 0; i < 3; i++) {
		f[i] = epc_alloc(emu, &pages[i], false, &err);
		epc_mark_reclaimable(emu, f[i]);
	}
	assert_int_equal(epc_isolate(emu, got, 2), 2);
	assert_int_equal(got[0], f[0]);
	assert_int_equal(got[1], f[1]);
	assert_int_equal(atomic_load(&encl->refcount), 3);
	/* being reclaimed: off the list, still tracked */
	assert_int_equal(epc_nr_reclaimable(emu), 1);
	assert_true(emu->epc_pages[f[0]].flags & DRV_EPC_RECLAIMABLE);
	assert_int_equal(epc_unmark_reclaimable(emu, f[0]), -EBUSY);
	/* second chance: back at the tail */
	epc_putback(emu, f[0]);
	assert_int_equal(emu->lru_tail, f[0]);
	assert_int_equal(epc_unmark_reclaimable(emu, f[0]), 0);
	/* reclaimed: freed without going back */
	epc_free(emu, f[1]);
	assert_int_equal(epc_nr_reclaimable(emu), 1);
	encl_put(encl);
	encl_put(encl);
	/* an enclave being released: its page is dropped from the LRU, not isolated */
	atomic_store(&encl->refcount, 0);
	assert_int_equal(epc_isolate(emu, got, 4), 0);
	assert_int_equal(atomic_load(&encl->refcount), 0);
	assert_false(emu->epc_pages[f[2]].flags & DRV_EPC_RECLAIMABLE);
	assert_int_equal(epc_unmark_reclaimable(emu, f[2]), 0);
	assert_int_equal(epc_nr_reclaimable(emu), 0);
	atomic_store(&encl->refcount, 1);
	epc_free(emu, f[0]);
	epc_free(emu, f[2]);
	encl_put(encl);
	assert_int_equal(epc_nr_free(emu), T_FRAMES);
}

static void test_epc_exhausted(void **state)
{
	struct t *t = *state;
	struct emu *emu = t->fx->emu;
	int err;
	for (uint32_t i = 0; i < T_FRAMES; i++)
		assert_int_equal(epc_alloc(emu, NULL, false, &err), i);
	/* nothing free, nothing reclaimable */
	assert_int_equal(epc_alloc(emu, NULL, false, &err), HW_NO_FRAME);
	assert_int_equal(err, -ENOMEM);
	/* something reclaimable, but the caller may not reclaim */
	epc_mark_reclaimable(emu, 7);
	assert_int_equal(epc_alloc(emu, NULL, false, &err), HW_NO_FRAME);
	assert_int_equal(err, -EBUSY);
	epc_free(emu, 7);
	assert_int_equal(epc_alloc(emu, NULL, true, &err), 7);
	assert_int_equal(err, 0);
}

/* ---- sgx_encl_may_map ---- */

static void test_may_map(void **state)
{
	(void)state;
	struct t *t = t_standard(false, false);
	struct drv_encl *e = t->encl;
	struct drv_mm *mm = t->fx->proc->mm;
	uint64_t b = t->base;

	/* before INIT, a range may reach beyond ELRANGE */
	assert_int_equal(encl_may_map(e, b - 0x2000, b + T_SIZE + 0x2000, PROT_READ, mm), 0);
	/* existing pages: the request must be within the vetted maximum */
	assert_int_equal(encl_may_map(e, b + O_CODE, b + O_CODE + 0x1000, RX, mm), 0);
	assert_int_equal(encl_may_map(e, b + O_CODE, b + O_CODE + 0x1000, PROT_READ, mm), 0);
	assert_int_equal(encl_may_map(e, b + O_CODE, b + O_CODE + 0x1000, PROT_NONE, mm), 0);
	assert_int_equal(encl_may_map(e, b + O_CODE, b + O_CODE + 0x1000, RW, mm), -EACCES);
	assert_int_equal(encl_may_map(e, b + O_CODE, b + O_CODE + 0x1000, PROT_WRITE, mm), -EACCES);
	assert_int_equal(encl_may_map(e, b + O_DATA, b + O_DATA + 0x1000, RW, mm), 0);
	assert_int_equal(encl_may_map(e, b + O_DATA, b + O_DATA + 0x1000, RWX, mm), -EACCES);
	assert_int_equal(encl_may_map(e, b + O_DATA, b + O_DATA + 0x1000, PROT_EXEC, mm), -EACCES);
	/* a TCS is RW for the kernel */
	assert_int_equal(encl_may_map(e, b + O_TCS, b + O_TCS + 0x1000, RW, mm), 0);
	assert_int_equal(encl_may_map(e, b + O_TCS, b + O_TCS + 0x1000, RX, mm), -EACCES);
	/* holes are not checked */
	assert_int_equal(encl_may_map(e, b + O_HEAP, b + T_SIZE, RWX, mm), 0);
	assert_int_equal(encl_may_map(e, b + O_CODE + 0x1000, b + O_HEAP, RWX, mm), 0);
	/* one page of a range is enough to refuse; the page just past the end is not looked at */
	assert_int_equal(encl_may_map(e, b + O_DATA, b + O_HEAP, RW, mm), -EACCES);
	assert_int_equal(encl_may_map(e, b + O_SSA, b + O_CODE, RW, mm), 0);
	assert_int_equal(encl_may_map(e, b + O_CODE + 0x1000, b + T_SIZE + 0x1000, RWX, mm), 0);

	t_init(t);
	/* after INIT, nothing outside ELRANGE */
	assert_int_equal(encl_may_map(e, b, b + T_SIZE, PROT_READ, mm), 0);
	assert_int_equal(encl_may_map(e, b - 0x1000, b + 0x1000, PROT_NONE, mm), -EACCES);
	assert_int_equal(encl_may_map(e, b + T_SIZE - 0x1000, b + T_SIZE + 0x1000, PROT_READ, mm), -EACCES);
	assert_int_equal(encl_may_map(e, b + O_HEAP, b + T_SIZE, RWX, mm), 0);

	/* READ_IMPLIES_EXEC personalities: never, not even over holes */
	mm->personality_read_implies_exec = true;
	assert_int_equal(encl_may_map(e, b + O_HEAP, b + O_HEAP + 0x1000, PROT_READ, mm), -EACCES);
	assert_int_equal(encl_may_map(e, b + O_DATA, b + O_DATA + 0x1000, PROT_NONE, mm), -EACCES);
	mm->personality_read_implies_exec = false;

	/* the same rules through mmap */
	assert_int_equal(map(t, O_CODE, 0x1000, RW), EACCES);
	assert_int_equal(map(t, O_DATA, 0x2000, RX), EACCES);
	assert_int_equal(map(t, O_CODE, 0x1000, RX), 0);
	assert_int_equal(map(t, O_HEAP, 0x10000, RWX), 0);
	t_free(t);
}

/* ---- the fault handler ---- */

static void test_eaug_on_fault(void **state)
{
	struct t *t = *state;
	assert_int_equal(map(t, O_HEAP, T_SIZE - O_HEAP, RW), 0);
	uint32_t nr_free = epc_nr_free(t->fx->emu);
	uint64_t cnt = t->encl->page_cnt, children = t->encl->secs_child_cnt;
	uint32_t lru = epc_nr_reclaimable(t->fx->emu);

	assert_int_equal(fault(t, O_HEAP + 0x123, PF_W), DRV_FAULT_NOPAGE);
	struct drv_page *p = page_at(t, O_HEAP);
	assert_non_null(p);
	assert_int_equal(p->addr, t->base + O_HEAP);
	assert_int_equal(p->type, SGX_PT_REG);
	assert_int_equal(p->vm_max_prot_bits, DRV_VM_PROT);
	assert_int_equal(p->flags, 0);
	assert_ptr_equal(p->encl, t->encl);
	struct hw_epcm_entry e = epcm_of_frame(t, p->epc_frame);
	assert_true(e.valid && e.pending && e.r && e.w && !e.x && !e.modified);
	assert_int_equal(e.pt, SGX_PT_REG);
	assert_int_equal(e.enclave_address, t->base + O_HEAP);
	assert_int_equal(e.secs, t->encl->secs.epc_frame);
	/* PTE = the VMA's protection, to the frame */
	void *host;
	assert_int_equal(pte(t, O_HEAP, &host), HW_PROT_R | HW_PROT_W);
	assert_ptr_equal(host, frame_addr(t, p));
	assert_int_equal(epc_nr_free(t->fx->emu), nr_free - 1);
	assert_int_equal(t->encl->page_cnt, cnt + 1);
	assert_int_equal(t->encl->secs_child_cnt, children + 1);
	assert_int_equal(epc_nr_reclaimable(t->fx->emu), lru + 1);
	/* a page only: the neighbours stay holes */
	assert_null(page_at(t, O_HEAP + 0x1000));
	assert_int_equal(pte(t, O_HEAP + 0x1000, NULL), -1);
	/* a read fault EAUGs as well */
	assert_int_equal(fault(t, O_HEAP + 0x5000, PF_U), DRV_FAULT_NOPAGE);
	assert_non_null(page_at(t, O_HEAP + 0x5000));
	assert_int_equal(pte(t, O_HEAP + 0x5000, NULL), HW_PROT_R | HW_PROT_W);
}

static void test_eaug_pte_follows_vma(void **state)
{
	struct t *t = *state;
	assert_int_equal(map(t, O_HEAP, 0x1000, PROT_READ), 0);
	assert_int_equal(map(t, O_HEAP + 0x1000, 0x1000, RX), 0);
	assert_int_equal(map(t, O_HEAP + 0x2000, 0x1000, RWX), 0);
	assert_int_equal(fault(t, O_HEAP, PF_U), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_HEAP, NULL), HW_PROT_R);
	assert_int_equal(fault(t, O_HEAP + 0x1000, PF_I), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_HEAP + 0x1000, NULL), HW_PROT_R | HW_PROT_X);
	assert_int_equal(fault(t, O_HEAP + 0x2000, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_HEAP + 0x2000, NULL), HW_PROT_R | HW_PROT_W | HW_PROT_X);
	/* the EPCM is RW- and PENDING whatever the VMA */
	struct hw_epcm_entry e = epcm_of_frame(t, page_at(t, O_HEAP + 0x1000)->epc_frame);
	assert_true(e.pending && e.r && e.w && !e.x);
}

static void test_fault_existing_page(void **state)
{
	struct t *t = *state;
	assert_int_equal(map(t, O_DATA, 0x1000, PROT_READ), 0);
	assert_int_equal(map(t, O_CODE, 0x1000, RX), 0);
	assert_int_equal(map(t, O_TCS, 0x1000, RW), 0);
	uint32_t nr_free = epc_nr_free(t->fx->emu);
	void *host;
	/* the PTE gets the VMA's rights, not the page's maximum */
	assert_int_equal(fault(t, O_DATA + 8, PF_U), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_DATA, &host), HW_PROT_R);
	assert_ptr_equal(host, frame_addr(t, page_at(t, O_DATA)));
	assert_int_equal(fault(t, O_CODE, PF_I), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_CODE, NULL), HW_PROT_R | HW_PROT_X);
	assert_int_equal(fault(t, O_TCS, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_TCS, NULL), HW_PROT_R | HW_PROT_W);
	assert_int_equal(epc_nr_free(t->fx->emu), nr_free);
	/* a VMA the page forbids: the write faults in core mm, not here */
	assert_int_equal(fault(t, O_DATA, PF_W), DRV_FAULT_SIGSEGV);
}

static void test_fault_not_initialized(void **state)
{
	(void)state;
	struct t *t = t_standard(false, false);
	assert_int_equal(map(t, 0, T_SIZE, PROT_READ), 0);
	uint32_t nr_free = epc_nr_free(t->fx->emu);
	uint64_t cnt = t->encl->page_cnt;
	/* touching a hole before INIT is fatal, without trying EAUG */
	assert_int_equal(fault(t, O_HEAP, PF_U), DRV_FAULT_SIGBUS);
	assert_string_equal(hw_lp_why(emu_kernel_lp(t->fx->emu))->what, "EEXTEND");
	assert_null(page_at(t, O_HEAP));
	assert_int_equal(pte(t, O_HEAP, NULL), -1);
	assert_int_equal(epc_nr_free(t->fx->emu), nr_free);
	assert_int_equal(t->encl->page_cnt, cnt);
	/* an added page maps before INIT */
	assert_int_equal(fault(t, O_DATA, PF_U), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_DATA, NULL), HW_PROT_R);
	t_free(t);
}

static void test_fault_sgx1(void **state)
{
	(void)state;
	struct t *t = t_standard(true, true);
	assert_int_equal(map(t, O_DATA, 0x1000, RW), 0);
	assert_int_equal(map(t, O_HEAP, 0x10000, RW), 0);
	uint32_t nr_free = epc_nr_free(t->fx->emu);
	/* no EAUG without SGX2: a hole is SIGBUS (EAUG is not even tried) */
	assert_int_equal(fault(t, O_HEAP, PF_W), DRV_FAULT_SIGBUS);
	assert_string_equal(hw_lp_why(emu_kernel_lp(t->fx->emu))->what, "EINIT");
	assert_null(page_at(t, O_HEAP));
	assert_int_equal(epc_nr_free(t->fx->emu), nr_free);
	assert_int_equal(fault(t, O_DATA, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_DATA, NULL), HW_PROT_R | HW_PROT_W);
	t_free(t);
}

/* A VMA laxer than a page's vetted maximum: SIGBUS for an EADDed page (the
 * VMA was made before the page existed), none for EAUGed ones (max RWX). */
static void test_fault_vma_exceeds_max(void **state)
{
	(void)state;
	struct t *t = t_new(false);
	t_create(t, SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG);
	assert_int_equal(map(t, 0, T_SIZE, RWX), 0);
	t_add_standard(t);
	t_init(t);
	assert_int_equal(fault(t, O_DATA, PF_U), DRV_FAULT_SIGBUS);
	assert_int_equal(fault(t, O_CODE, PF_I), DRV_FAULT_SIGBUS);
	/* a TCS is RW: RWX is too much for it as well */
	assert_int_equal(fault(t, O_TCS, PF_W), DRV_FAULT_SIGBUS);
	assert_int_equal(pte(t, O_DATA, NULL), -1);
	assert_int_equal(pte(t, O_CODE, NULL), -1);
	assert_int_equal(fault(t, O_HEAP, PF_I), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_HEAP, NULL), HW_PROT_R | HW_PROT_W | HW_PROT_X);
	/* and again, now through the ordinary path */
	hw_pt_unmap(t->fx->proc->mm->pt, t->base + O_HEAP);
	assert_int_equal(fault(t, O_HEAP, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_HEAP, NULL), HW_PROT_R | HW_PROT_W | HW_PROT_X);
	t_free(t);
}

/* The 2024 race: the second fault on the same hole must not SIGBUS, and the
 * hole is EAUGed exactly once. */
static void test_eaug_twice_same_hole(void **state)
{
	struct t *t = *state;
	assert_int_equal(map(t, O_HEAP, 0x1000, RW), 0);
	uint32_t nr_free = epc_nr_free(t->fx->emu);
	struct drv_mm *mm = t->fx->proc->mm;
	pthread_rwlock_rdlock(&mm->lock);
	struct drv_vma *vma = mm_find_vma(mm, t->base + O_HEAP);
	assert_non_null(vma);
	assert_int_equal(encl_vma_fault(mm, vma, t->base + O_HEAP + 0x10), DRV_FAULT_NOPAGE);
	struct drv_page *p = page_at(t, O_HEAP);
	assert_non_null(p);
	uint32_t frame = p->epc_frame;
	assert_int_equal(encl_vma_fault(mm, vma, t->base + O_HEAP + 0x20), DRV_FAULT_NOPAGE);
	pthread_rwlock_unlock(&mm->lock);
	assert_ptr_equal(page_at(t, O_HEAP), p);
	assert_int_equal(p->epc_frame, frame);
	assert_int_equal(epc_nr_free(t->fx->emu), nr_free - 1);
	assert_true(epcm_of_frame(t, frame).pending);
	void *host;
	assert_int_equal(pte(t, O_HEAP, &host), HW_PROT_R | HW_PROT_W);
	assert_ptr_equal(host, frame_addr(t, p));
}

#define RACE_THREADS 6
#define RACE_HOLES 24

struct race {
	struct t *t;
	pthread_barrier_t *barrier;
	enum drv_fault results[RACE_HOLES];
};

static void *race_thread(void *arg)
{
	struct race *r = arg;
	for (unsigned h = 0; h < RACE_HOLES; h++) {
		pthread_barrier_wait(r->barrier);
		r->results[h] = fault(r->t, O_HEAP + h * SGX_PAGE_SIZE, PF_W);
	}
	return NULL;
}

static void test_eaug_race_threads(void **state)
{
	(void)state;
	struct t *t = t_standard(false, true);
	assert_int_equal(map(t, O_HEAP, RACE_HOLES * SGX_PAGE_SIZE, RW), 0);
	uint32_t nr_free = epc_nr_free(t->fx->emu);
	pthread_barrier_t barrier;
	pthread_barrier_init(&barrier, NULL, RACE_THREADS);
	struct race r[RACE_THREADS];
	pthread_t th[RACE_THREADS];
	for (unsigned i = 0; i < RACE_THREADS; i++) {
		r[i] = (struct race){ .t = t, .barrier = &barrier };
		assert_int_equal(pthread_create(&th[i], NULL, race_thread, &r[i]), 0);
	}
	for (unsigned i = 0; i < RACE_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (unsigned i = 0; i < RACE_THREADS; i++)
		for (unsigned h = 0; h < RACE_HOLES; h++)
			assert_int_equal(r[i].results[h], DRV_FAULT_NOPAGE);
	/* one EAUG per hole */
	assert_int_equal(epc_nr_free(t->fx->emu), nr_free - RACE_HOLES);
	for (unsigned h = 0; h < RACE_HOLES; h++) {
		struct drv_page *p = page_at(t, O_HEAP + h * SGX_PAGE_SIZE);
		assert_non_null(p);
		assert_true(epcm_of_frame(t, p->epc_frame).pending);
	}
	t_free(t);
}

/* With flag set on the page at offset, a write fault backs off (NOPAGE)
 * without mapping it and encl_load_page says -EBUSY; the flag is cleared
 * again afterwards. */
static void expect_busy_backs_off(struct t *t, uint64_t offset, unsigned flag)
{
	struct drv_page *p = page_at(t, offset);
	int err;
	p->flags |= flag;
	assert_int_equal(fault(t, offset, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, offset, NULL), -1);
	pthread_mutex_lock(&t->encl->lock);
	assert_null(encl_load_page(t->encl, t->base + offset, &err));
	assert_int_equal(err, -EBUSY);
	pthread_mutex_unlock(&t->encl->lock);
	p->flags &= ~flag;
}

/* A page under removal / TCS conversion, or being reclaimed, is not mapped:
 * the fault backs off (NOPAGE) and the access simply retries. */
static void test_fault_busy_page(void **state)
{
	struct t *t = *state;
	assert_int_equal(map(t, O_DATA, 0x1000, RW), 0);
	assert_int_equal(map(t, O_HEAP, 0x1000, RW), 0);
	assert_int_equal(fault(t, O_HEAP, PF_W), DRV_FAULT_NOPAGE);
	hw_pt_unmap(t->fx->proc->mm->pt, t->base + O_HEAP);

	expect_busy_backs_off(t, O_DATA, DRV_PAGE_BUSY);
	expect_busy_backs_off(t, O_DATA, DRV_PAGE_BEING_RECLAIMED);

	/* an EAUGed page under removal: no EAUG again either */
	struct drv_page *h = page_at(t, O_HEAP);
	uint32_t nr_free = epc_nr_free(t->fx->emu);
	h->flags |= DRV_PAGE_BUSY;
	assert_int_equal(fault(t, O_HEAP, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_HEAP, NULL), -1);
	assert_ptr_equal(page_at(t, O_HEAP), h);
	assert_int_equal(epc_nr_free(t->fx->emu), nr_free);
	h->flags &= ~DRV_PAGE_BUSY;

	assert_int_equal(fault(t, O_DATA, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_DATA, NULL), HW_PROT_R | HW_PROT_W);
	assert_int_equal(fault(t, O_HEAP, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(pte(t, O_HEAP, NULL), HW_PROT_R | HW_PROT_W);
}

static void test_fault_no_enclave(void **state)
{
	struct t *t = *state;
	assert_int_equal(map(t, O_DATA, 0x1000, RW), 0);
	struct drv_mm *mm = t->fx->proc->mm;
	pthread_rwlock_rdlock(&mm->lock);
	struct drv_vma *vma = mm_find_vma(mm, t->base + O_DATA);
	struct drv_vma copy = *vma;
	copy.encl = NULL;   /* vma_open failed to register the mm after a fork */
	assert_int_equal(encl_vma_fault(mm, &copy, t->base + O_DATA), DRV_FAULT_SIGBUS);
	pthread_rwlock_unlock(&mm->lock);
	assert_int_equal(pte(t, O_DATA, NULL), -1);
}

/* sgx_vma_fault on its own, mm lock held as the fault path holds it (no
 * background reclaim before it, unlike drv_handle_fault). */
static enum drv_fault vma_fault(struct t *t, uint64_t offset)
{
	struct drv_mm *mm = t->fx->proc->mm;
	pthread_rwlock_rdlock(&mm->lock);
	struct drv_vma *vma = mm_find_vma(mm, t->base + offset);
	assert_non_null(vma);
	assert_true(vma->start <= t->base + offset);
	enum drv_fault r = encl_vma_fault(mm, vma, t->base + offset);
	pthread_rwlock_unlock(&mm->lock);
	return r;
}

/* EAUG takes no frame by reclaiming (mmap lock held): with reclaimable
 * pages it is a retry (NOPAGE), with none a SIGBUS. */
static void test_eaug_no_free_frame(void **state)
{
	struct t *t = *state;
	struct emu *emu = t->fx->emu;
	assert_int_equal(map(t, O_HEAP, 0x1000, RW), 0);
	uint32_t fillers[T_FRAMES];
	unsigned nf = 0;
	int err;
	for (uint32_t f; (f = epc_alloc(emu, NULL, false, &err)) != HW_NO_FRAME;)
		fillers[nf++] = f;
	uint64_t cnt = t->encl->page_cnt;
	assert_int_equal(vma_fault(t, O_HEAP), DRV_FAULT_NOPAGE);
	assert_null(page_at(t, O_HEAP));
	assert_int_equal(t->encl->page_cnt, cnt);

	/* nothing on the LRU: no hope */
	uint32_t lru[8];
	unsigned nl = 0;
	while (emu->lru_head != HW_NO_FRAME) {
		lru[nl] = emu->lru_head;
		assert_int_equal(epc_unmark_reclaimable(emu, lru[nl]), 0);
		nl++;
	}
	assert_int_equal(nl, 5);
	assert_int_equal(vma_fault(t, O_HEAP), DRV_FAULT_SIGBUS);
	assert_null(page_at(t, O_HEAP));
	for (unsigned i = 0; i < nl; i++)
		epc_mark_reclaimable(emu, lru[i]);
	epc_free(emu, fillers[--nf]);
	assert_int_equal(vma_fault(t, O_HEAP), DRV_FAULT_NOPAGE);
	assert_non_null(page_at(t, O_HEAP));
	assert_int_equal(epc_nr_free(emu), 0);
	while (nf)
		epc_free(emu, fillers[--nf]);
}

/* A VMA made before INIT may reach beyond ELRANGE; EAUG refuses the address
 * there (#GP) and the fault is SIGBUS, leaving nothing behind. */
static void test_eaug_outside_elrange(void **state)
{
	(void)state;
	struct t *t = t_new(false);
	t_create(t, SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG);
	assert_int_equal(map(t, T_SIZE - 0x1000, 0x3000, RW), 0);
	t_add_standard(t);
	t_init(t);
	uint32_t nr_free = epc_nr_free(t->fx->emu);
	uint64_t cnt = t->encl->page_cnt;
	assert_int_equal(fault(t, T_SIZE + 0x1000, PF_W), DRV_FAULT_SIGBUS);
	assert_null(page_at(t, T_SIZE + 0x1000));
	assert_int_equal(pte(t, T_SIZE + 0x1000, NULL), -1);
	assert_int_equal(epc_nr_free(t->fx->emu), nr_free);
	assert_int_equal(t->encl->page_cnt, cnt);
	assert_int_equal(fault(t, T_SIZE - 0x1000, PF_W), DRV_FAULT_NOPAGE);
	assert_non_null(page_at(t, T_SIZE - 0x1000));
	t_free(t);
}

static void test_load_page(void **state)
{
	struct t *t = *state;
	int err = 1;
	pthread_mutex_lock(&t->encl->lock);
	struct drv_page *p = encl_load_page(t->encl, t->base + O_CODE, &err);
	assert_non_null(p);
	assert_int_equal(err, 0);
	assert_int_equal(p->addr, t->base + O_CODE);
	/* no VMA check, no EAUG */
	assert_null(encl_load_page(t->encl, t->base + O_HEAP, &err));
	assert_int_equal(err, -EFAULT);
	pthread_mutex_unlock(&t->encl->lock);
	assert_null(page_at(t, O_HEAP));
}

/* ---- debug access (ptrace, /proc/pid/mem) ---- */

static void test_access_read_write(void **state)
{
	struct t *t = *state;
	uint8_t buf[64], want[64];
	const uint8_t *data = frame_addr(t, page_at(t, O_DATA));
	const uint8_t *code = frame_addr(t, page_at(t, O_CODE));

	/* unaligned, across words */
	assert_int_equal(encl_access(t->encl, t->base + O_DATA + 5, buf, 19, false), 19);
	assert_memory_equal(buf, data + 5, 19);
	/* across pages: data's end into code */
	assert_int_equal(encl_access(t->encl, t->base + O_CODE - 7, buf, 12, false), 12);
	assert_memory_equal(buf, data + SGX_PAGE_SIZE - 7, 7);
	assert_memory_equal(buf + 7, code, 5);
	/* write: only the bytes asked for change, whatever the EPCM rights */
	uint8_t before[32];
	memcpy(before, data, 32);
	memset(want, 0xab, sizeof(want));
	assert_int_equal(encl_access(t->encl, t->base + O_DATA + 3, want, 11, true), 11);
	assert_memory_equal(data, before, 3);
	assert_memory_equal(data + 3, want, 11);
	assert_memory_equal(data + 14, before + 14, 18);
	assert_int_equal(encl_access(t->encl, t->base + O_CODE + 8, want, 8, true), 8);
	assert_memory_equal(code + 8, want, 8);
	/* a TCS: FLAGS is readable and writable, beyond its fields nothing */
	assert_int_equal(encl_access(t->encl, t->base + O_TCS + 8, buf, 8, false), 8);
	uint64_t dbgoptin = SGX_TCS_DBGOPTIN;
	assert_int_equal(encl_access(t->encl, t->base + O_TCS + 8, &dbgoptin, 8, true), 8);
	assert_int_equal(((const struct sgx_tcs *)frame_addr(t, page_at(t, O_TCS)))->flags, SGX_TCS_DBGOPTIN);
	assert_int_equal(encl_access(t->encl, t->base + O_TCS + 16, buf, 8, true), -EIO);
	assert_int_equal(encl_access(t->encl, t->base + O_TCS + 0x100, buf, 8, false), -EIO);
}

static void test_access_refused(void **state)
{
	(void)state;
	struct t *t = t_standard(false, true);
	uint8_t buf[16];
	/* a hole is not EAUGed: EFAULT, even after bytes went through */
	assert_int_equal(encl_access(t->encl, t->base + O_HEAP, buf, 8, false), -EFAULT);
	assert_int_equal(encl_access(t->encl, t->base + O_HEAP - 4, buf, 8, false), -EFAULT);
	assert_null(page_at(t, O_HEAP));
	/* a PENDING page cannot be debugged (RC 21) */
	assert_int_equal(map(t, O_HEAP, 0x1000, RW), 0);
	assert_int_equal(fault(t, O_HEAP, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(encl_access(t->encl, t->base + O_HEAP, buf, 8, false), -EIO);
	assert_int_equal(encl_access(t->encl, t->base + O_HEAP, buf, 8, true), -EIO);
	assert_int_equal(encl_access(t->encl, t->base + O_DATA, buf, 0, false), 0);
	t_free(t);

	/* a production enclave: nothing */
	t = t_new(false);
	t_create(t, SGX_ATTR_MODE64BIT);
	t_add_standard(t);
	t_init(t);
	assert_int_equal(encl_access(t->encl, t->base + O_DATA, buf, 8, false), -EFAULT);
	assert_int_equal(encl_access(t->encl, t->base + O_DATA, buf, 8, true), -EFAULT);
	t_free(t);
}

/* ---- release ---- */

static void test_release_with_eaug_pages(void **state)
{
	struct t *t = *state;
	assert_int_equal(map(t, O_HEAP, 0x10000, RW), 0);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(fault(t, O_HEAP + i * SGX_PAGE_SIZE, PF_W), DRV_FAULT_NOPAGE);
	struct emu *emu = t->fx->emu;
	assert_int_equal(epc_nr_free(emu), T_FRAMES - 2 - 5 - 16);
	assert_int_equal(emu_close(t->fx->proc, t->fd), 0);
	/* still mapped: still alive */
	assert_int_equal(epc_nr_free(emu), T_FRAMES - 2 - 5 - 16);
	emu_proc_exit(t->fx->proc);
	t->fx->proc = NULL;
	assert_int_equal(epc_nr_free(emu), T_FRAMES);
	assert_int_equal(epc_nr_reclaimable(emu), 0);
	for (uint32_t f = 0; f < T_FRAMES; f++)
		assert_false(epcm_of_frame(t, f).valid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_epc_alloc_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epc_lru, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epc_isolate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epc_exhausted, setup, teardown),
		cmocka_unit_test(test_may_map),
		cmocka_unit_test_setup_teardown(test_eaug_on_fault, setup_init, teardown),
		cmocka_unit_test_setup_teardown(test_eaug_pte_follows_vma, setup_init, teardown),
		cmocka_unit_test_setup_teardown(test_fault_existing_page, setup_init, teardown),
		cmocka_unit_test(test_fault_not_initialized),
		cmocka_unit_test(test_fault_sgx1),
		cmocka_unit_test(test_fault_vma_exceeds_max),
		cmocka_unit_test_setup_teardown(test_eaug_twice_same_hole, setup_init, teardown),
		cmocka_unit_test(test_eaug_race_threads),
		cmocka_unit_test_setup_teardown(test_fault_busy_page, setup_init, teardown),
		cmocka_unit_test_setup_teardown(test_fault_no_enclave, setup_init, teardown),
		cmocka_unit_test_setup_teardown(test_eaug_no_free_frame, setup_init, teardown),
		cmocka_unit_test(test_eaug_outside_elrange),
		cmocka_unit_test_setup_teardown(test_load_page, setup_init, teardown),
		cmocka_unit_test_setup_teardown(test_access_read_write, setup_init, teardown),
		cmocka_unit_test(test_access_refused),
		cmocka_unit_test_setup_teardown(test_release_with_eaug_pages, setup_init, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
