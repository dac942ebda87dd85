/*
 * The reclaimer (src/driver/reclaim.c, linux-driver.md §5): watermarks and
 * batches, aging by the PTE accessed bit, EBLOCK/ETRACK/EWB with VA slots and
 * the backing store, SGX_NOT_TRACKED → ETRACK → IPI → EWB, SECS last, ELDU on
 * fault, in debug access and in the SGX2 ioctls, and enclaves larger than the
 * EPC built and read back through enclave accesses.
 *
 * Enclaves are built through the system-call API.  Layout (offsets):
 *   0x0000  TCS (OSSA 0x1000, NSSA 2, OENTRY 0x3000)         VMA RW
 *   0x1000  SSA frame 0, 0x2000 SSA frame 1    REG RW         VMA RW
 *   0x3000  code                               REG R-X        VMA R-X
 *   0x4000  scratch (SECINFO for EACCEPT)      REG RW         VMA RW
 *   0x5000  data pages, word j of the page at off = pat(off, j)
 *   after the data: holes (EAUG on fault)                     VMA RW
 * In the LRU, pages are in the order they were added.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/fixture.h"
#include "driver/driver.h"
#include "sgx2emu/emu.h"
#include "sgx2emu/enclave.h"
#include "sgx2emu/sign.h"

#define PG SGX_PAGE_SIZE
#define O_TCS     0x0000ull
#define O_SSA     0x1000ull
#define O_CODE    0x3000ull
#define O_SCRATCH 0x4000ull
#define O_DATA    0x5000ull
#define N_FIXED   5u            /* TCS, 2 SSA, code, scratch */
#define RW (PROT_READ | PROT_WRITE)
#define SI_REG(p) (SGX_SECINFO_PT(SGX_PT_REG) | (p))
#define SI_RW (SGX_SECINFO_R | SGX_SECINFO_W)

static uint64_t pat(uint64_t off, unsigned j)
{
	return (off << 20) ^ ((uint64_t)j * 0x9e3779b97f4a7c15ull) ^ 0x5a5a5a5aull;
}

/* ---- enclave code (model mode) ---- */

enum op {
	OP_CHECK = 1,   /* compare the data pages [RSI, RDX) with pat; mismatches → r_bad */
	OP_READ,        /* the 8 bytes at RSI → r_value */
	OP_SPIN,        /* read RSI, r_inside = 1, read RSI until r_go */
	OP_EACCEPT,     /* EACCEPT(SECINFO flags RDX) on RSI; RAX → r_rax */
};

static atomic_ulong r_bad, r_value, r_rax;
static atomic_int r_inside, r_go;

static void r_code(struct encl_ctx *ctx)
{
	struct hw_regs *regs = encl_regs(ctx);
	uint64_t base = encl_base(ctx), a = regs->rsi, b = regs->rdx;
	static _Thread_local uint64_t buf[PG / 8];

	switch (regs->rdi) {
	case OP_CHECK:
		for (uint64_t off = a; off < b; off += PG) {
			encl_read(ctx, base + off, buf, PG);
			for (unsigned j = 0; j < PG / 8; j++)
				if (buf[j] != pat(off, j))
					atomic_fetch_add(&r_bad, 1);
		}
		break;
	case OP_READ:
		atomic_store(&r_value, encl_read64(ctx, base + a));
		break;
	case OP_SPIN:
		(void)encl_read64(ctx, base + a);
		atomic_store(&r_inside, 1);
		while (!atomic_load(&r_go))
			(void)encl_read64(ctx, base + a);
		break;
	case OP_EACCEPT: {
		struct sgx_secinfo si = { .flags = b };
		encl_write(ctx, base + O_SCRATCH, &si, sizeof(si));
		atomic_store(&r_rax, encl_enclu(ctx, SGX_EACCEPT, base + O_SCRATCH, base + a, 0));
		break;
	}
	}
}

/* ---- fixture ---- */

struct r {
	struct emu *emu;
	struct emu_proc *proc;
	struct drv_mm *mm;
	struct drv_encl *encl;
	int fd;
	uint64_t base, size;
	void *resv;
	struct sgx_measurement mr;
	struct sgx_secs secs;
	unsigned nd;                 /* data pages */
};

static struct emu_config cfg_of(uint32_t frames, unsigned batch, unsigned low, unsigned high)
{
	struct emu_config c;
	emu_config_defaults(&c);
	c.hw.epc_bytes = (uint64_t)frames * PG;
	c.hw.nr_lps = 4;
	c.reclaim_batch = batch;
	c.low_watermark = low;
	c.high_watermark = high;
	return c;
}

static struct emu_reclaim_stats stats(struct r *r)
{
	struct emu_reclaim_stats s;
	emu_reclaim_stats(r->emu, &s);
	return s;
}

static void r_map(struct r *r, uint64_t off, uint64_t len, int prot)
{
	void *want = (void *)(uintptr_t)(r->base + off);
	assert_ptr_equal(emu_mmap(r->proc, want, len, prot, MAP_SHARED | MAP_FIXED, r->fd, 0), want);
}

/* A machine, a process and a CREATEd enclave of `size` bytes, mapped. */
static struct r *r_new(const struct emu_config *cfg, uint64_t size)
{
	struct r *r = aligned_alloc(_Alignof(struct r), sizeof(*r));   /* the SECS is 4K-aligned */
	assert_non_null(r);
	memset(r, 0, sizeof(*r));
	r->emu = emu_create(cfg);
	assert_non_null(r->emu);
	r->proc = emu_proc_create(r->emu);
	assert_non_null(r->proc);
	r->mm = r->proc->mm;
	r->fd = emu_open(r->proc, "/dev/sgx_enclave", O_RDWR);
	assert_true(r->fd >= 0);
	r->encl = proc_file(r->proc, r->fd)->encl;
	r->size = size;
	r->resv = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(r->resv != MAP_FAILED);
	r->base = ((uint64_t)(uintptr_t)r->resv + size - 1) & ~(size - 1);

	r->secs.base = r->base;
	r->secs.size = size;
	r->secs.ssa_frame_size = 1;
	r->secs.miscselect = SGX_MISC_EXINFO;
	r->secs.attributes.flags = SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG;
	r->secs.attributes.xfrm = 3;
	struct sgx_enclave_create cr = { .src = (uint64_t)(uintptr_t)&r->secs };
	assert_int_equal(emu_ioctl(r->proc, r->fd, SGX_IOC_ENCLAVE_CREATE, &cr), 0);
	assert_int_equal(sgx_measure_init(&r->mr, 1, size), 0);
	r_map(r, 0, O_CODE, RW);
	r_map(r, O_CODE, PG, PROT_READ | PROT_EXEC);
	r_map(r, O_SCRATCH, size - O_SCRATCH, RW);
	assert_int_equal(emu_register_entry(r->proc, r->base + O_CODE, r_code), 0);
	return r;
}

static int r_add(struct r *r, uint64_t off, uint64_t flags, const uint8_t *src)
{
	static struct sgx_secinfo si;
	memset(&si, 0, sizeof(si));
	si.flags = flags;
	struct sgx_enclave_add_pages ap = {
		.src = (uint64_t)(uintptr_t)src, .offset = off, .length = PG,
		.secinfo = (uint64_t)(uintptr_t)&si, .flags = SGX_PAGE_MEASURE,
	};
	int ret = emu_ioctl(r->proc, r->fd, SGX_IOC_ENCLAVE_ADD_PAGES, &ap);
	if (ret == 0) {
		assert_int_equal(ap.count, PG);
		sgx_measure_page(&r->mr, off, flags, src, 1);
	}
	return ret;
}

/* The fixed pages and nd data pages, in that order. */
static void r_build(struct r *r, unsigned nd)
{
	static uint64_t page[PG / 8] __attribute__((aligned(4096)));
	struct sgx_tcs *tcs = (struct sgx_tcs *)page;

	memset(page, 0, PG);
	tcs->ossa = O_SSA;
	tcs->nssa = 2;
	tcs->oentry = O_CODE;
	assert_int_equal(r_add(r, O_TCS, SGX_SECINFO_PT(SGX_PT_TCS), (uint8_t *)page), 0);
	memset(page, 0, PG);
	assert_int_equal(r_add(r, O_SSA, SI_REG(SI_RW), (uint8_t *)page), 0);
	assert_int_equal(r_add(r, O_SSA + PG, SI_REG(SI_RW), (uint8_t *)page), 0);
	memset(page, 0xc3, PG);
	assert_int_equal(r_add(r, O_CODE, SI_REG(SGX_SECINFO_R | SGX_SECINFO_X), (uint8_t *)page), 0);
	memset(page, 0, PG);
	assert_int_equal(r_add(r, O_SCRATCH, SI_REG(SI_RW), (uint8_t *)page), 0);
	for (unsigned i = 0; i < nd; i++) {
		uint64_t off = O_DATA + (uint64_t)i * PG;
		for (unsigned j = 0; j < PG / 8; j++)
			page[j] = pat(off, j);
		assert_int_equal(r_add(r, off, SI_REG(SI_RW), (uint8_t *)page), 0);
	}
	r->nd = nd;
}

static void r_init(struct r *r)
{
	static struct sgx_sigstruct ss __attribute__((aligned(4096)));
	memset(&ss, 0, sizeof(ss));
	sgx_measure_final(&r->mr, ss.body.mrenclave);
	r->mr.ctx = NULL;
	ss.header.date = 0x20260101;
	ss.body.miscselect = r->secs.miscselect;
	ss.body.misc_mask = 0xffffffff;
	ss.body.attributes = r->secs.attributes;
	ss.body.attributes_mask.flags = ~0ull;
	ss.body.attributes_mask.xfrm = ~0ull;
	assert_int_equal(sgx_sign_sigstruct(fx_key(), &ss), 0);
	struct sgx_enclave_init in = { .sigstruct = (uint64_t)(uintptr_t)&ss };
	assert_int_equal(emu_ioctl(r->proc, r->fd, SGX_IOC_ENCLAVE_INIT, &in), 0);
}

static void r_free(struct r *r)
{
	if (r->mr.ctx)
		EVP_MD_CTX_free(r->mr.ctx);
	emu_proc_exit(r->proc);
	emu_destroy(r->emu);
	munmap(r->resv, 2 * r->size);
	free(r);
}

static struct drv_page *r_page(struct r *r, uint64_t off)
{
	return xa_load(&r->encl->pages, (r->base + off) >> 12);
}

static bool resident(struct r *r, uint64_t off)
{
	struct drv_page *p = r_page(r, off);
	assert_non_null(p);
	return p->epc_frame != HW_NO_FRAME;
}

static bool secs_resident(struct r *r)
{
	return r->encl->secs.epc_frame != HW_NO_FRAME;
}

static unsigned nr_backing(struct r *r)
{
	unsigned n = 0;
	uint64_t i = 0;
	while (xa_find(&r->encl->backing, &i, UINT64_MAX)) {
		n++;
		i++;
	}
	return n;
}

/* Pages of the enclave that are evicted now, the SECS included. */
static unsigned nr_evicted(struct r *r)
{
	unsigned n = secs_resident(r) ? 0 : 1;
	uint64_t i = 0;
	struct drv_page *p;
	while ((p = xa_find(&r->encl->pages, &i, UINT64_MAX))) {
		n += p->epc_frame == HW_NO_FRAME;
		i++;
	}
	return n;
}

static unsigned slots_used(struct r *r)
{
	pthread_mutex_lock(&r->encl->lock);
	unsigned n = encl_va_slots_used(r->encl);
	pthread_mutex_unlock(&r->encl->lock);
	return n;
}

/* Every evicted page has exactly one backing entry and one VA slot, and
 * every EWB was matched by an ELDU or is still evicted. */
static void assert_consistent(struct r *r)
{
	struct emu_reclaim_stats s = stats(r);
	unsigned ev = nr_evicted(r);
	assert_int_equal(nr_backing(r), ev);
	assert_int_equal(slots_used(r), ev);
	assert_int_equal(s.ewb, s.eldu + ev);
	assert_int_equal(s.ewb_failed, 0);
}

static void enter(struct r *r, struct emu_thread *t, enum op op, uint64_t a, uint64_t b)
{
	struct sgx_enclave_run run = { .tcs = r->base + O_TCS };
	assert_int_equal(emu_enter_enclave(t, op, a, b, SGX_EENTER, 0, 0, &run), 0);
	assert_int_equal(run.function, SGX_EEXIT);
	assert_int_equal(run.exception_vector, 0);
}

static void run_op(struct r *r, enum op op, uint64_t a, uint64_t b)
{
	struct emu_thread *t = emu_thread_create(r->proc);
	assert_non_null(t);
	enter(r, t, op, a, b);
	emu_thread_destroy(t);
}

static enum drv_fault fault(struct r *r, uint64_t off, uint32_t ec)
{
	return drv_handle_fault(r->mm, r->base + off, ec | SGX_PFEC_U);
}

/* ---- the page table's accessed bit (hw) ---- */

static void test_accessed_bit(void **state)
{
	(void)state;
	struct hw_config hc;
	hw_config_defaults(&hc);
	hc.epc_bytes = 16 * PG;
	struct hw_machine *m = hw_machine_create(&hc);
	assert_non_null(m);
	struct hw_pagetable *pt = hw_pt_create();
	assert_non_null(pt);
	struct hw_lp *lp = hw_lp_get(m, 0);
	hw_lp_set_pagetable(lp, pt);
	uint8_t *host = aligned_alloc(PG, 2 * PG);
	assert_non_null(host);
	memset(host, 7, 2 * PG);
	uint64_t la = 0x40000000ull;
	uint8_t v;

	assert_int_equal(hw_pt_map(pt, la, host, HW_PROT_R | HW_PROT_W), 0);
	assert_false(hw_pt_young(pt, la));                 /* a new entry is old */
	assert_false(hw_pt_test_and_clear_young(pt, la));
	assert_success(hw_lp_read(lp, la + 5, &v, 1));     /* the walk sets it */
	assert_int_equal(v, 7);
	assert_true(hw_pt_young(pt, la));
	assert_false(hw_pt_young(pt, la + PG));             /* not mapped */
	assert_true(hw_pt_test_and_clear_young(pt, la));
	assert_false(hw_pt_young(pt, la));
	assert_false(hw_pt_test_and_clear_young(pt, la));
	assert_success(hw_lp_read(lp, la, &v, 1));          /* a TLB hit does not walk */
	assert_false(hw_pt_young(pt, la));
	hw_lp_flush_tlb(lp);
	assert_success(hw_lp_write(lp, la, &v, 1));
	assert_true(hw_pt_young(pt, la));
	assert_int_equal(hw_pt_protect(pt, la, HW_PROT_R), 0);   /* kept by mprotect */
	assert_true(hw_pt_young(pt, la));
	assert_int_equal(hw_pt_protect(pt, la, 0), 0);           /* PROT_NONE: not present */
	assert_false(hw_pt_young(pt, la));
	assert_false(hw_pt_test_and_clear_young(pt, la));
	assert_int_equal(hw_pt_map(pt, la, host + PG, HW_PROT_R), 0);   /* mapped anew: old */
	assert_false(hw_pt_young(pt, la));
	/* a walk that faults (write to a read-only entry) does not set it */
	hw_lp_flush_tlb(lp);
	assert_pf(hw_lp_write(lp, la, &v, 1), la, SGX_PFEC_P | SGX_PFEC_W | SGX_PFEC_U);
	assert_false(hw_pt_young(pt, la));
	assert_false(hw_pt_test_and_clear_young(pt, 1ull << 50));   /* non-canonical: nothing */

	hw_pt_destroy(pt);
	hw_machine_destroy(m);
	free(host);
}

/* ---- building an enclave larger than the EPC ---- */

/*
 * 64 frames: the VA page and the SECS, then 62 pages.  Each further ADD_PAGES
 * finds no free frame and reclaims one batch of 16 (the oldest pages, never
 * mapped, so none is young): 200 pages need ceil(138 / 16) = 9 batches, 144
 * EWBs, 6 frames left.  Each batch blocks its pages in one epoch: the first
 * EWB is SGX_NOT_TRACKED, one ETRACK covers the batch; no LP is inside, so no
 * IPI.  The SECS of an uninitialized enclave stays.
 */
static struct r *build_200(void)
{
	struct emu_config c = cfg_of(64, 16, 8, 16);
	struct r *r = r_new(&c, 0x400000);
	r_build(r, 200 - N_FIXED);
	return r;
}

static void test_build_larger_than_epc(void **state)
{
	(void)state;
	struct r *r = build_200();
	struct emu_reclaim_stats s = stats(r);

	assert_int_equal(s.scanned, 144);
	assert_int_equal(s.young, 0);
	assert_int_equal(s.eblock, 144);
	assert_int_equal(s.ewb, 144);
	assert_int_equal(s.ewb_secs, 0);
	assert_int_equal(s.not_tracked, 9);
	assert_int_equal(s.etrack, 9);
	assert_int_equal(s.ipis, 0);
	assert_int_equal(s.eldu, 0);
	assert_int_equal(epc_nr_free(r->emu), 6);
	assert_int_equal(epc_nr_reclaimable(r->emu), 56);
	assert_int_equal(r->encl->secs_child_cnt, 56);
	assert_true(secs_resident(r));
	/* the oldest 144 pages are out, the rest in */
	for (unsigned i = 0; i < 200; i++) {
		uint64_t off = (uint64_t)i * PG;
		struct drv_page *p = r_page(r, off);
		assert_non_null(p);
		assert_int_equal(p->epc_frame == HW_NO_FRAME, i < 144);
		assert_int_equal(p->va_page != NULL, i < 144);
		assert_int_equal(xa_load(&r->encl->backing, i) != NULL, i < 144);
	}
	assert_int_equal(slots_used(r), 144);
	assert_int_equal(r->encl->page_cnt, 201);
	assert_consistent(r);

	/* EINIT does not need the children resident */
	r_init(r);
	assert_int_equal(stats(r).eldu, 0);
	r_free(r);
}

/* Read back through enclave accesses: each evicted page faults, is loaded
 * (ksgxd keeps frames free at the start of each fault) and has its contents. */
static void test_read_back_through_enclave(void **state)
{
	(void)state;
	struct r *r = build_200();
	r_init(r);
	atomic_store(&r_bad, 0);
	run_op(r, OP_CHECK, O_DATA, O_DATA + (uint64_t)r->nd * PG);
	assert_int_equal(atomic_load(&r_bad), 0);

	struct emu_reclaim_stats s = stats(r);
	/* every data page evicted at the start came back once at least, and so
	 * did the TCS, SSA frame 0 and the code page (fetched at EENTER); SSA
	 * frame 1 and the scratch page are never touched */
	assert_true(s.eldu - s.eldu_secs >= 144 - 2);
	assert_true(s.ewb > 144);
	assert_int_equal(s.ipis, 0);          /* EWB never met the LP inside */
	assert_true(epc_nr_free(r->emu) >= 8 - 2);
	assert_consistent(r);

	/* and again, now that the pages have been shuffled around */
	run_op(r, OP_CHECK, O_DATA, O_DATA + (uint64_t)r->nd * PG);
	assert_int_equal(atomic_load(&r_bad), 0);
	assert_consistent(r);
	r_free(r);
}

/* Debug reads (ptrace) wait for a frame with ksgxd too. */
static void test_read_back_debug(void **state)
{
	(void)state;
	struct r *r = build_200();
	r_init(r);
	uint64_t w[2];
	for (unsigned i = 0; i < r->nd; i++) {
		uint64_t off = O_DATA + (uint64_t)i * PG;
		assert_int_equal(encl_access(r->encl, r->base + off + 8, w, sizeof(w), false), (int)sizeof(w));
		assert_int_equal(w[0], pat(off, 1));
		assert_int_equal(w[1], pat(off, 2));
	}
	/* pages 0..143 were evicted: each read brought one back */
	assert_true(stats(r).eldu >= 144 - N_FIXED);
	assert_consistent(r);
	r_free(r);
}

/* ---- watermarks and batches ---- */

/*
 * 64 frames, batches of 4, watermarks 8 / 16.  100 pages: 62 fit, the other
 * 38 need 10 batches (40 EWBs), 2 frames left.  reclaim_direct reclaims one
 * batch while below the low watermark; ksgxd (the start of a fault) reclaims
 * from below the low watermark until the high one is reached.
 */
static void test_watermarks(void **state)
{
	(void)state;
	struct emu_config c = cfg_of(64, 4, 8, 16);
	struct r *r = r_new(&c, 0x400000);
	r_build(r, 100 - N_FIXED);
	assert_int_equal(stats(r).ewb, 40);
	assert_int_equal(stats(r).not_tracked, 10);
	assert_int_equal(epc_nr_free(r->emu), 2);

	reclaim_direct(r->emu);
	assert_int_equal(epc_nr_free(r->emu), 6);
	reclaim_direct(r->emu);
	assert_int_equal(epc_nr_free(r->emu), 10);
	reclaim_direct(r->emu);                        /* at or above the low watermark */
	ksgxd_run(r->emu);
	assert_int_equal(epc_nr_free(r->emu), 10);
	assert_int_equal(stats(r).ewb, 48);
	assert_int_equal(emu_reclaim_to_high_watermark(r->emu), 8);
	assert_int_equal(epc_nr_free(r->emu), 18);     /* two batches of 4: 10 → 14 → 18 */
	assert_int_equal(emu_reclaim_to_high_watermark(r->emu), 0);
	assert_int_equal(stats(r).ewb, 56);

	/* faults on evicted pages 0..10 (TCS .. data 5): the first starts at 18
	 * free frames, the eleventh at 8, not below the low watermark: no ksgxd,
	 * one ELDU each, 18 → 7 */
	for (unsigned i = 0; i < 11; i++)
		assert_int_equal(fault(r, (uint64_t)i * PG, 0), DRV_FAULT_NOPAGE);
	assert_int_equal(stats(r).eldu, 11);
	assert_int_equal(stats(r).ewb, 56);
	assert_int_equal(epc_nr_free(r->emu), 7);
	/* the next fault first runs ksgxd: 7 → 11 → 15 → 19, then ELDU → 18 */
	assert_int_equal(fault(r, 11 * PG, 0), DRV_FAULT_NOPAGE);
	assert_int_equal(stats(r).ewb, 68);
	assert_int_equal(stats(r).eldu, 12);
	assert_int_equal(epc_nr_free(r->emu), 18);
	/* ksgxd took the oldest pages (56..67), not the ones just loaded */
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(resident(r, (uint64_t)i * PG), i < 12 || i >= 68);
	assert_consistent(r);
	r_free(r);
}

/*
 * Watermarks below what one fault may need count as 3 (an evicted SECS, the
 * page, a VA page): with both set to 0, ksgxd still runs below 3 free frames
 * and reclaims (one batch) up to 3.  100 pages on 64 frames: 62 fit, 38 more
 * take 3 batches of 16 (48 EWBs), 10 frames left.
 */
static void test_watermark_floor(void **state)
{
	(void)state;
	struct emu_config c = cfg_of(64, 16, 0, 0);
	struct r *r = r_new(&c, 0x400000);
	r_build(r, 100 - N_FIXED);
	assert_int_equal(stats(r).ewb, 48);
	assert_int_equal(epc_nr_free(r->emu), 10);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(fault(r, (uint64_t)i * PG, 0), DRV_FAULT_NOPAGE);
	assert_int_equal(epc_nr_free(r->emu), 2);
	assert_int_equal(stats(r).ewb, 48);
	assert_int_equal(fault(r, 8 * PG, 0), DRV_FAULT_NOPAGE);
	assert_int_equal(stats(r).ewb, 64);
	assert_int_equal(stats(r).eldu, 9);
	assert_int_equal(epc_nr_free(r->emu), 17);
	assert_consistent(r);
	r_free(r);
}

/* §7.2: the VA page an EAUG fault needs (every 512th page) cannot be
 * allocated without reclaim: -EBUSY (the fault returns NOPAGE), the count
 * unchanged; with a frame free it is EPA'd at the head of the list, and the
 * error path's encl_ungrow gives an unused one back. */
static void test_va_page_busy(void **state)
{
	(void)state;
	struct emu_config c = cfg_of(64, 16, 8, 16);
	struct r *r = r_new(&c, 0x400000);
	r_build(r, 511 - N_FIXED);
	static uint32_t held[64];
	unsigned n = 0;
	int err = 0;

	pthread_mutex_lock(&r->encl->lock);
	assert_int_equal(r->encl->page_cnt, 512);
	struct drv_va_page *va0 = r->encl->va_pages;
	assert_null(va0->next);
	while ((held[n] = epc_alloc(r->emu, NULL, false, &err)) != HW_NO_FRAME)
		n++;
	assert_int_equal(err, -EBUSY);
	assert_int_equal(encl_grow(r->encl, false), -EBUSY);
	assert_int_equal(r->encl->page_cnt, 512);
	assert_ptr_equal(r->encl->va_pages, va0);
	assert_null(va0->next);
	for (unsigned i = 0; i < n; i++)
		epc_free(r->emu, held[i]);
	uint32_t free_before = epc_nr_free(r->emu);
	assert_int_equal(encl_grow(r->encl, false), 0);
	assert_int_equal(r->encl->page_cnt, 513);
	assert_ptr_not_equal(r->encl->va_pages, va0);
	assert_ptr_equal(r->encl->va_pages->next, va0);
	assert_int_equal(epc_nr_free(r->emu), free_before - 1);
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(r->emu->m, r->encl->va_pages->epc_frame, &e));
	assert_true(e.valid);
	assert_int_equal(e.pt, SGX_PT_VA);
	encl_ungrow(r->encl);
	assert_int_equal(r->encl->page_cnt, 512);
	assert_ptr_equal(r->encl->va_pages, va0);
	assert_int_equal(epc_nr_free(r->emu), free_before);
	pthread_mutex_unlock(&r->encl->lock);
	assert_consistent(r);
	r_free(r);
}

/* ---- aging ---- */

static void test_young_pages_get_a_second_chance(void **state)
{
	(void)state;
	struct emu_config c = cfg_of(256, 16, 32, 64);
	struct r *r = r_new(&c, 0x400000);
	r_build(r, 2);
	r_init(r);
	run_op(r, OP_READ, O_DATA, 0);
	assert_int_equal(atomic_load(&r_value), pat(O_DATA, 0));
	/* EENTER walked the TCS and SSA frame 0, the first fetch the code page,
	 * the read data 0 */
	static const bool young[7] = { true, true, false, true, false, true, false };
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(hw_pt_young(r->mm->pt, r->base + i * PG), young[i]);

	/* LRU: TCS, SSA0, SSA1, code, scratch, data0, data1 */
	assert_int_equal(reclaim_pages(r->emu, 7), 3);
	struct emu_reclaim_stats s = stats(r);
	assert_int_equal(s.scanned, 7);
	assert_int_equal(s.young, 4);
	assert_int_equal(s.ewb, 3);
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(resident(r, i * PG), young[i]);
	/* the scan cleared the bits; the PTEs of the survivors stay */
	for (unsigned i = 0; i < 7; i++)
		assert_false(hw_pt_young(r->mm->pt, r->base + i * PG));
	assert_true(hw_pt_lookup(r->mm->pt, r->base + O_DATA, NULL, NULL));
	assert_int_equal(epc_nr_reclaimable(r->emu), 4);

	/* second scan: out they go, and the SECS after the last child */
	assert_int_equal(reclaim_pages(r->emu, 16), 5);
	s = stats(r);
	assert_int_equal(s.scanned, 11);
	assert_int_equal(s.young, 4);
	assert_int_equal(s.ewb, 8);
	assert_int_equal(s.ewb_secs, 1);
	assert_false(secs_resident(r));
	assert_false(hw_pt_lookup(r->mm->pt, r->base + O_DATA, NULL, NULL));   /* zapped */
	assert_int_equal(epc_nr_reclaimable(r->emu), 0);
	assert_int_equal(reclaim_pages(r->emu, 16), 0);
	assert_consistent(r);

	/* everything comes back on use */
	run_op(r, OP_READ, O_DATA + PG, 0);
	assert_int_equal(atomic_load(&r_value), pat(O_DATA + PG, 0));
	assert_consistent(r);
	r_free(r);
}

/* ---- SECS last, reloaded first ---- */

static struct r *small_enclave(uint32_t frames, bool initialize)
{
	struct emu_config c = cfg_of(frames, 16, 32, frames);
	struct r *r = r_new(&c, 0x100000);
	r_build(r, 3);      /* 8 pages */
	if (initialize)
		r_init(r);
	return r;
}

static void test_secs_evicted_last_and_reloaded_first(void **state)
{
	(void)state;
	struct r *r = small_enclave(256, false);
	uint64_t secs_index = r->size >> 12;

	/* uninitialized: the children go, the SECS stays */
	assert_int_equal(emu_reclaim_to_high_watermark(r->emu), 8);
	assert_int_equal(stats(r).ewb, 8);
	assert_int_equal(stats(r).ewb_secs, 0);
	assert_true(secs_resident(r));
	assert_int_equal(r->encl->secs_child_cnt, 0);
	assert_null(xa_load(&r->encl->backing, secs_index));
	r_init(r);
	/* nothing on the LRU: the SECS is only ever evicted after a child */
	assert_int_equal(emu_reclaim_to_high_watermark(r->emu), 0);
	assert_true(secs_resident(r));

	/* a child comes in, goes out again, and takes the SECS with it */
	assert_int_equal(fault(r, O_DATA, 0), DRV_FAULT_NOPAGE);
	assert_int_equal(stats(r).eldu, 1);
	assert_int_equal(emu_reclaim_to_high_watermark(r->emu), 2);
	struct emu_reclaim_stats s = stats(r);
	assert_int_equal(s.ewb, 10);
	assert_int_equal(s.ewb_secs, 1);
	assert_false(secs_resident(r));
	assert_non_null(xa_load(&r->encl->backing, secs_index));
	assert_int_equal(slots_used(r), 9);
	assert_int_equal(epc_nr_free(r->emu), 256 - 1);   /* only the VA page */
	assert_consistent(r);

	/* the next fault loads the SECS, then the page */
	assert_int_equal(fault(r, O_DATA + PG, 0), DRV_FAULT_NOPAGE);
	s = stats(r);
	assert_int_equal(s.eldu, 3);
	assert_int_equal(s.eldu_secs, 1);
	assert_true(secs_resident(r));
	assert_true(resident(r, O_DATA + PG));
	assert_int_equal(r->encl->secs_child_cnt, 1);
	assert_null(xa_load(&r->encl->backing, secs_index));
	assert_int_equal(slots_used(r), 7);
	bool initialized = false;
	assert_true(hw_secs_info(r->emu->m, r->encl->secs.epc_frame, NULL, &initialized, NULL, NULL));
	assert_true(initialized);
	assert_true(hw_pt_lookup(r->mm->pt, r->base + O_DATA + PG, NULL, NULL));
	assert_consistent(r);

	/* and the enclave works: the data is what was added */
	atomic_store(&r_bad, 0);
	run_op(r, OP_CHECK, O_DATA, O_DATA + 3 * PG);
	assert_int_equal(atomic_load(&r_bad), 0);
	assert_consistent(r);
	r_free(r);
}

/* Releasing an enclave whose SECS is evicted drops the SECS blob, and the
 * model's hidden state for it goes too (no leak per discarded enclave). */
static void test_release_with_secs_evicted(void **state)
{
	(void)state;
	struct r *r = small_enclave(256, true);
	struct hw_machine *m = r->emu->m;
	assert_int_equal(hw_nr_enclaves(m), 1);
	emu_reclaim_to_high_watermark(r->emu);
	assert_false(secs_resident(r));
	assert_int_equal(hw_nr_enclaves(m), 1);   /* kept by EID while evicted */
	assert_int_equal(emu_close(r->proc, r->fd), 0);
	assert_int_equal(emu_munmap(r->proc, (void *)(uintptr_t)r->base, r->size), 0);
	assert_int_equal(hw_nr_enclaves(m), 0);
	r_free(r);
}

/* §7.1: EAUG on fault in an enclave whose SECS is evicted reloads it first. */
static void test_eaug_with_secs_evicted(void **state)
{
	(void)state;
	struct r *r = small_enclave(256, true);
	uint64_t hole = O_DATA + 16 * PG;

	assert_int_equal(emu_reclaim_to_high_watermark(r->emu), 9);
	assert_false(secs_resident(r));
	assert_int_equal(fault(r, hole, SGX_PFEC_W), DRV_FAULT_NOPAGE);
	struct emu_reclaim_stats s = stats(r);
	assert_int_equal(s.eldu, 1);
	assert_int_equal(s.eldu_secs, 1);
	assert_true(secs_resident(r));
	assert_true(resident(r, hole));
	assert_int_equal(r->encl->secs_child_cnt, 1);
	struct hw_epcm_entry e;
	assert_true(hw_epcm_read(r->emu->m, r_page(r, hole)->epc_frame, &e));
	assert_true(e.valid && e.pending && e.r && e.w && !e.x);
	assert_int_equal(e.pt, SGX_PT_REG);
	assert_int_equal(e.enclave_address, r->base + hole);

	/* the enclave accepts it (its TCS and SSA come back on the way in) */
	atomic_store(&r_rax, UINT64_MAX);
	run_op(r, OP_EACCEPT, hole, SI_REG(SI_RW | SGX_SECINFO_PENDING));
	assert_int_equal(atomic_load(&r_rax), 0);
	assert_int_equal(stats(r).eldu, 5);   /* + TCS, SSA0, code, scratch */
	assert_consistent(r);
	r_free(r);
}

/* REMOVE_PAGES of an evicted page loads it (and its SECS) first. */
static void test_remove_evicted_page(void **state)
{
	(void)state;
	struct r *r = small_enclave(256, true);
	uint64_t hole = O_DATA + 16 * PG;

	assert_int_equal(fault(r, hole, SGX_PFEC_W), DRV_FAULT_NOPAGE);
	atomic_store(&r_rax, UINT64_MAX);
	run_op(r, OP_EACCEPT, hole, SI_REG(SI_RW | SGX_SECINFO_PENDING));
	assert_int_equal(atomic_load(&r_rax), 0);
	struct sgx_enclave_modify_types mt = { .offset = hole, .length = PG, .page_type = SGX_PT_TRIM };
	assert_int_equal(emu_ioctl(r->proc, r->fd, SGX_IOC_ENCLAVE_MODIFY_TYPES, &mt), 0);
	assert_int_equal(mt.count, PG);
	atomic_store(&r_rax, UINT64_MAX);
	run_op(r, OP_EACCEPT, hole, SGX_SECINFO_PT(SGX_PT_TRIM) | SGX_SECINFO_MODIFIED);
	assert_int_equal(atomic_load(&r_rax), 0);

	/* two passes: the pages the enclave just used are young in the first */
	emu_reclaim_to_high_watermark(r->emu);
	emu_reclaim_to_high_watermark(r->emu);
	assert_false(resident(r, hole));
	assert_false(secs_resident(r));
	assert_int_equal(slots_used(r), 10);
	struct emu_reclaim_stats before = stats(r);

	struct sgx_enclave_remove_pages rm = { .offset = hole, .length = PG };
	assert_int_equal(emu_ioctl(r->proc, r->fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rm), 0);
	assert_int_equal(rm.count, PG);
	struct emu_reclaim_stats s = stats(r);
	assert_int_equal(s.eldu - before.eldu, 2);
	assert_int_equal(s.eldu_secs - before.eldu_secs, 1);
	assert_null(r_page(r, hole));
	assert_null(xa_load(&r->encl->backing, hole >> 12));
	assert_int_equal(slots_used(r), 8);
	assert_int_equal(r->encl->secs_child_cnt, 0);
	assert_true(secs_resident(r));   /* only the reclaimer evicts a SECS */
	assert_consistent(r);
	r_free(r);
}

/* The SGX2 ioctls load evicted pages too (and count them). */
static void test_ioctl_loads_evicted_pages(void **state)
{
	(void)state;
	struct r *r = small_enclave(256, true);
	emu_reclaim_to_high_watermark(r->emu);
	assert_false(secs_resident(r));
	struct sgx_enclave_restrict_permissions rp = { .offset = O_DATA, .length = 3 * PG,
						       .permissions = SGX_SECINFO_R };
	assert_int_equal(emu_ioctl(r->proc, r->fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &rp), 0);
	assert_int_equal(rp.count, 3 * PG);
	assert_int_equal(rp.result, 0);
	assert_int_equal(stats(r).eldu, 4);
	for (unsigned i = 0; i < 3; i++) {
		struct hw_epcm_entry e;
		assert_true(hw_epcm_read(r->emu->m, r_page(r, O_DATA + i * PG)->epc_frame, &e));
		assert_true(e.valid && e.r && !e.w && e.pr);
	}
	assert_consistent(r);
	r_free(r);
}

/* ---- VA pages ---- */

/*
 * 600 pages + the SECS: two VA pages from the start.  Evicting all 600 takes
 * 512 slots of one (which then moves to the tail) and 88 of the other;
 * loading them back frees every slot.
 */
static void test_va_slots(void **state)
{
	(void)state;
	struct emu_config c = cfg_of(1024, 16, 32, 1024);
	struct r *r = r_new(&c, 0x400000);
	r_build(r, 600 - N_FIXED);
	assert_int_equal(r->encl->page_cnt, 601);
	struct drv_va_page *va1 = r->encl->va_pages, *va0 = va1->next;
	assert_non_null(va0);
	assert_null(va0->next);
	assert_int_equal(slots_used(r), 0);
	assert_int_equal(epc_nr_free(r->emu), 1024 - 600 - 3);

	assert_int_equal(emu_reclaim_to_high_watermark(r->emu), 600);
	assert_int_equal(slots_used(r), 600);
	assert_int_equal(nr_backing(r), 600);
	assert_ptr_equal(r->encl->va_pages, va0);        /* va1 filled up, went to the tail */
	assert_ptr_equal(va0->next, va1);
	assert_null(va1->next);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(va1->used[i], ~0ull);
	assert_int_equal(__builtin_popcountll(va0->used[0]) + __builtin_popcountll(va0->used[1]), 88);
	assert_true(secs_resident(r));                     /* not initialized */
	/* the slot a page records is one EWB wrote: the same slot never twice */
	struct drv_page *p0 = r_page(r, 0), *p1 = r_page(r, PG);
	assert_ptr_equal(p0->va_page, va1);
	assert_int_equal(p0->va_slot, 0);
	assert_int_equal(p1->va_slot, 1);

	r_init(r);
	uint64_t w;
	for (unsigned i = 0; i < 600 - N_FIXED; i++) {
		uint64_t off = O_DATA + (uint64_t)i * PG;
		assert_int_equal(encl_access(r->encl, r->base + off, &w, 8, false), 8);
		assert_int_equal(w, pat(off, 0));
	}
	assert_int_equal(slots_used(r), N_FIXED);
	assert_int_equal(stats(r).eldu, 600 - N_FIXED);
	assert_consistent(r);
	r_free(r);
}

/* ---- EWB with an LP inside the enclave: ETRACK, then IPI ---- */

struct spinner {
	struct r *r;
	struct emu_thread *t;
	uint64_t off;
};

static void *spin_thread(void *arg)
{
	struct spinner *sp = arg;
	emu_thread_bind(sp->t);
	enter(sp->r, sp->t, OP_SPIN, sp->off, 0);
	return NULL;
}

/*
 * A thread spins inside the enclave reading data 0.  Its EENTER walked the
 * TCS and SSA frame 0, its first fetch the code page and its reads data 0,
 * so a batch of 16 from the LRU head (TCS, SSA0, SSA1, code, scratch, data
 * 0..10) keeps those 4 and evicts 12, none of them mapped (no PTE zap, no IPI
 * there).  They are blocked in the epoch the thread entered in: EWB →
 * SGX_NOT_TRACKED, ETRACK, EWB → still SGX_NOT_TRACKED (the thread is inside
 * since before the block), IPI: the thread takes an AEX and ERESUMEs in the
 * new epoch, EWB succeeds; the other 11 are tracked by then.
 */
static void test_ewb_etrack_ipi_with_lp_inside(void **state)
{
	(void)state;
	struct emu_config c = cfg_of(256, 16, 32, 64);
	struct r *r = r_new(&c, 0x400000);
	r_build(r, 20);
	r_init(r);
	atomic_store(&r_inside, 0);
	atomic_store(&r_go, 0);
	struct spinner sp = { .r = r, .off = O_DATA };
	sp.t = emu_thread_create(r->proc);
	assert_non_null(sp.t);
	uint64_t aex_before = hw_lp_stats(emu_thread_lp(sp.t))->aex;
	uint64_t intr_before = hw_lp_stats(emu_thread_lp(sp.t))->interrupts;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, spin_thread, &sp), 0);
	while (!atomic_load(&r_inside))
		sched_yield();

	assert_int_equal(reclaim_pages(r->emu, 16), 12);
	struct emu_reclaim_stats s = stats(r);
	assert_int_equal(s.young, 4);
	assert_int_equal(s.eblock, 12);
	assert_int_equal(s.ewb, 12);
	assert_int_equal(s.not_tracked, 2);
	assert_int_equal(s.etrack, 1);
	assert_int_equal(s.ipis, 1);

	atomic_store(&r_go, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	/* the LP took exactly one interrupt, the IPI, as an AEX (its own
	 * statistics, read once it is idle): besides it, only the #PFs of the
	 * first fetch of the code page and the first read of data 0 */
	const struct hw_lp_stats *ls = hw_lp_stats(emu_thread_lp(sp.t));
	assert_int_equal(ls->interrupts - intr_before, 1);
	assert_int_equal(ls->aex - aex_before, 3);
	emu_thread_destroy(sp.t);
	assert_consistent(r);
	r_free(r);
}

/* Without anyone inside, a batch costs one ETRACK and no IPI. */
static void test_ewb_without_lp_inside(void **state)
{
	(void)state;
	struct r *r = small_enclave(256, true);
	assert_int_equal(reclaim_pages(r->emu, 16), 9);
	struct emu_reclaim_stats s = stats(r);
	assert_int_equal(s.not_tracked, 1);
	assert_int_equal(s.etrack, 1);
	assert_int_equal(s.ipis, 0);
	assert_int_equal(s.ewb, 9);
	assert_int_equal(s.ewb_secs, 1);
	r_free(r);
}

/* ---- nothing reclaimable ---- */

/*
 * 4 frames: enclave A (VA page + SECS, initialized with no pages) and
 * enclave B (VA page + SECS, uninitialized).  Neither VA pages nor SECS are
 * on the LRU: the EAUG fault on A gets SIGBUS, ADD_PAGES and CREATE ENOMEM.
 */
static void test_nothing_reclaimable(void **state)
{
	(void)state;
	struct emu_config c = cfg_of(4, 16, 32, 64);
	struct r *a = r_new(&c, 0x100000);
	r_init(a);
	assert_int_equal(epc_nr_free(a->emu), 2);

	int fd = emu_open(a->proc, "/dev/sgx_enclave", O_RDWR);
	assert_true(fd >= 0);
	void *resv = mmap(NULL, 0x200000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(resv != MAP_FAILED);
	static struct sgx_secs secs;
	secs = a->secs;
	secs.base = ((uint64_t)(uintptr_t)resv + 0xfffff) & ~0xfffffull;
	struct sgx_enclave_create cr = { .src = (uint64_t)(uintptr_t)&secs };
	assert_int_equal(emu_ioctl(a->proc, fd, SGX_IOC_ENCLAVE_CREATE, &cr), 0);
	assert_int_equal(epc_nr_free(a->emu), 0);
	assert_int_equal(epc_nr_reclaimable(a->emu), 0);

	assert_int_equal(fault(a, O_DATA, SGX_PFEC_W), DRV_FAULT_SIGBUS);
	assert_null(r_page(a, O_DATA));

	static uint8_t page[PG] __attribute__((aligned(4096)));
	static struct sgx_secinfo si = { .flags = SI_REG(SI_RW) };
	struct sgx_enclave_add_pages ap = {
		.src = (uint64_t)(uintptr_t)page, .offset = 0, .length = 2 * PG,
		.secinfo = (uint64_t)(uintptr_t)&si,
	};
	errno = 0;
	assert_int_equal(emu_ioctl(a->proc, fd, SGX_IOC_ENCLAVE_ADD_PAGES, &ap), -1);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(ap.count, 0);

	int fd2 = emu_open(a->proc, "/dev/sgx_enclave", O_RDWR);
	assert_true(fd2 >= 0);
	errno = 0;
	assert_int_equal(emu_ioctl(a->proc, fd2, SGX_IOC_ENCLAVE_CREATE, &cr), -1);
	assert_int_equal(errno, ENOMEM);

	assert_int_equal(emu_reclaim_to_high_watermark(a->emu), 0);
	assert_int_equal(stats(a).scanned, 0);
	assert_int_equal(epc_nr_free(a->emu), 0);
	assert_int_equal(emu_close(a->proc, fd2), 0);
	assert_int_equal(emu_close(a->proc, fd), 0);
	munmap(resv, 0x200000);
	r_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accessed_bit),
		cmocka_unit_test(test_build_larger_than_epc),
		cmocka_unit_test(test_read_back_through_enclave),
		cmocka_unit_test(test_read_back_debug),
		cmocka_unit_test(test_watermarks),
		cmocka_unit_test(test_watermark_floor),
		cmocka_unit_test(test_va_page_busy),
		cmocka_unit_test(test_young_pages_get_a_second_chance),
		cmocka_unit_test(test_secs_evicted_last_and_reloaded_first),
		cmocka_unit_test(test_eaug_with_secs_evicted),
		cmocka_unit_test(test_remove_evicted_page),
		cmocka_unit_test(test_ioctl_loads_evicted_pages),
		cmocka_unit_test(test_va_slots),
		cmocka_unit_test(test_ewb_etrack_ipi_with_lp_inside),
		cmocka_unit_test(test_ewb_without_lp_inside),
		cmocka_unit_test(test_nothing_reclaimable),
		cmocka_unit_test(test_release_with_secs_evicted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
