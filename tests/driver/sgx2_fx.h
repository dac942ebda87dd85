/*
 * Fixture of the SGX2 ioctl and tracking tests (test_ioctl_sgx2.c,
 * test_track.c): an emulated machine with one process and an enclave built
 * through the system-call API exactly as a loader does (open, CREATE, mmap,
 * ADD_PAGES, INIT), plus model-mode enclave code that runs one operation per
 * EENTER (EACCEPT, read, write, spin until told to go on).
 *
 * Layout (offsets from the base; ELRANGE 1 MiB):
 *   0x0000      TCS #1 (OSSA 0x1000, NSSA 2, OENTRY 0x8000)   VMA RW
 *   0x1000-2000 SSA #1                            REG RW      VMA RW
 *   0x3000-6000 data                              REG RW      VMA RW
 *   0x7000      the code's scratch (SECINFO)      REG RW      VMA RW
 *   0x8000      code                              REG R-X     VMA R-X
 *   0x9000      read-only page                    REG R--     VMA R
 *   0xA000      TCS #2 (OSSA 0xB000)                          VMA RW
 *   0xB000-C000 SSA #2                            REG RW      VMA RW
 *   0x10000-    holes (EAUG on fault)                          VMA RW
 * Header-only (static inline) so each test binary takes what it uses.
 */
#ifndef SGX2EMU_TEST_SGX2_FX_H
#define SGX2EMU_TEST_SGX2_FX_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/fixture.h"
#include "driver/driver.h"
#include "sgx2emu/enclave.h"

#define SX_SIZE    0x100000ull
#define SX_TCS     0x0000ull
#define SX_SSA     0x1000ull
#define SX_DATA    0x3000ull
#define SX_SCRATCH 0x7000ull
#define SX_CODE    0x8000ull
#define SX_RO      0x9000ull
#define SX_TCS2    0xA000ull
#define SX_SSA2    0xB000ull
#define SX_HOLES   0x10000ull

#define SX_RW  (SGX_SECINFO_R | SGX_SECINFO_W)
#define SX_PF_USER SGX_PFEC_U

/* What the enclave code does on one EENTER (RDI), on RSI / RDX. */
enum sx_op {
	SX_OP_EACCEPT = 1,     /* EACCEPT(SECINFO flags RDX) on RSI; RAX → sx_rax */
	SX_OP_READ,            /* 8 bytes at RSI → sx_value */
	SX_OP_WRITE,           /* sx_value → 8 bytes at RSI */
	SX_OP_SPIN_EACCEPT,    /* sx_inside = 1; read RSI until sx_go; then SX_OP_EACCEPT */
	SX_OP_WRITE_TCS,       /* a TCS image (OSSA RDX, NSSA 2, OENTRY 0x8000) at RSI */
};

struct sx {
	struct emu *emu;
	struct emu_proc *proc;
	struct drv_mm *mm;
	struct drv_encl *encl;
	int fd;
	uint64_t base;
	void *reservation;
	struct sgx_measurement mr;
};

/* Results of the enclave code, read by the host side after EEXIT. */
static _Atomic uint64_t sx_rax, sx_value;
static atomic_int sx_inside, sx_go;
static atomic_int sx_spin_delay_us;   /* host time between two accesses of the spin */

static inline void sx_code(struct encl_ctx *ctx)
{
	struct hw_regs *r = encl_regs(ctx);
	uint64_t base = encl_base(ctx), op = r->rdi, la = r->rsi, arg = r->rdx;

	switch (op) {
	case SX_OP_SPIN_EACCEPT:
		atomic_store(&sx_inside, 1);
		while (!atomic_load(&sx_go)) {
			(void)encl_read64(ctx, la);
			if (atomic_load(&sx_spin_delay_us))
				usleep((useconds_t)atomic_load(&sx_spin_delay_us));
		}
		/* fall through */
	case SX_OP_EACCEPT: {
		struct sgx_secinfo si = { .flags = arg };
		encl_write(ctx, base + SX_SCRATCH, &si, sizeof(si));
		atomic_store(&sx_rax, encl_enclu(ctx, SGX_EACCEPT, base + SX_SCRATCH, la, 0));
		break;
	}
	case SX_OP_READ:
		atomic_store(&sx_value, encl_read64(ctx, la));
		break;
	case SX_OP_WRITE:
		encl_write64(ctx, la, atomic_load(&sx_value));
		break;
	case SX_OP_WRITE_TCS: {
		static struct sgx_tcs tcs;
		memset(&tcs, 0, sizeof(tcs));
		tcs.ossa = arg;
		tcs.nssa = 2;
		tcs.oentry = SX_CODE;
		encl_write(ctx, la, &tcs, sizeof(tcs));
		break;
	}
	}
}

static inline uint64_t sx_addr(const struct sx *s, uint64_t off)
{
	return s->base + off;
}

static inline void sx_fill_tcs(uint8_t *page, uint64_t ossa)
{
	struct sgx_tcs *tcs = (struct sgx_tcs *)page;
	memset(page, 0, SGX_PAGE_SIZE);
	tcs->ossa = ossa;
	tcs->nssa = 2;
	tcs->oentry = SX_CODE;
}

static inline void sx_add(struct sx *s, uint64_t off, uint64_t flags, const uint8_t *src)
{
	static struct sgx_secinfo si;
	memset(&si, 0, sizeof(si));
	si.flags = flags;
	struct sgx_enclave_add_pages ap = {
		.src = (uint64_t)(uintptr_t)src, .offset = off, .length = SGX_PAGE_SIZE,
		.secinfo = (uint64_t)(uintptr_t)&si, .flags = SGX_PAGE_MEASURE,
	};
	assert_int_equal(emu_ioctl(s->proc, s->fd, SGX_IOC_ENCLAVE_ADD_PAGES, &ap), 0);
	assert_int_equal(ap.count, SGX_PAGE_SIZE);
	sgx_measure_page(&s->mr, off, flags, src, 1);
}

static inline void sx_map(struct sx *s, uint64_t off, uint64_t len, int prot)
{
	void *p = emu_mmap(s->proc, (void *)(uintptr_t)(s->base + off), len, prot, MAP_SHARED | MAP_FIXED, s->fd, 0);
	assert_ptr_equal(p, (void *)(uintptr_t)(s->base + off));
}

/* The enclave of the layout above; initialized unless told otherwise. */
static inline struct sx *sx_new_with(const struct emu_config *cfg, bool initialize)
{
	static uint8_t page[SGX_PAGE_SIZE] __attribute__((aligned(4096)));
	static struct sgx_secs secs;
	struct sx *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	struct emu_config c;
	if (cfg) {
		c = *cfg;
	} else {
		emu_config_defaults(&c);
		c.hw.epc_bytes = 1024 * SGX_PAGE_SIZE;
		c.hw.nr_lps = 8;
	}
	s->emu = emu_create(&c);
	assert_non_null(s->emu);
	s->proc = emu_proc_create(s->emu);
	assert_non_null(s->proc);
	s->mm = s->proc->mm;
	s->fd = emu_open(s->proc, "/dev/sgx_enclave", O_RDWR);
	assert_true(s->fd >= 0);
	s->encl = proc_file(s->proc, s->fd)->encl;

	/* a naturally aligned base inside a reservation of twice the size */
	s->reservation = mmap(NULL, 2 * SX_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(s->reservation != MAP_FAILED);
	s->base = ((uint64_t)(uintptr_t)s->reservation + SX_SIZE - 1) & ~(SX_SIZE - 1);

	memset(&secs, 0, sizeof(secs));
	secs.base = s->base;
	secs.size = SX_SIZE;
	secs.ssa_frame_size = 1;
	secs.miscselect = SGX_MISC_EXINFO;
	secs.attributes.flags = SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG;
	secs.attributes.xfrm = 3;
	struct sgx_enclave_create cr = { .src = (uint64_t)(uintptr_t)&secs };
	assert_int_equal(emu_ioctl(s->proc, s->fd, SGX_IOC_ENCLAVE_CREATE, &cr), 0);
	assert_int_equal(sgx_measure_init(&s->mr, 1, SX_SIZE), 0);

	sx_map(s, 0, SX_CODE, PROT_READ | PROT_WRITE);
	sx_map(s, SX_CODE, SGX_PAGE_SIZE, PROT_READ | PROT_EXEC);
	sx_map(s, SX_RO, SGX_PAGE_SIZE, PROT_READ);
	sx_map(s, SX_TCS2, SX_HOLES - SX_TCS2, PROT_READ | PROT_WRITE);
	sx_map(s, SX_HOLES, SX_SIZE - SX_HOLES, PROT_READ | PROT_WRITE);

	sx_fill_tcs(page, SX_SSA);
	sx_add(s, SX_TCS, SGX_SECINFO_PT(SGX_PT_TCS), page);
	for (uint64_t off = SX_SSA; off < SX_CODE; off += SGX_PAGE_SIZE) {
		memset(page, 0, sizeof(page));
		snprintf((char *)page, sizeof(page), "page at %#llx", (unsigned long long)off);
		sx_add(s, off, SGX_SECINFO_PT(SGX_PT_REG) | SX_RW, page);
	}
	memset(page, 0xc3, sizeof(page));
	sx_add(s, SX_CODE, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R | SGX_SECINFO_X, page);
	memset(page, 0x5a, sizeof(page));
	sx_add(s, SX_RO, SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_R, page);
	sx_fill_tcs(page, SX_SSA2);
	sx_add(s, SX_TCS2, SGX_SECINFO_PT(SGX_PT_TCS), page);
	memset(page, 0, sizeof(page));
	for (uint64_t off = SX_SSA2; off < SX_SSA2 + 2 * SGX_PAGE_SIZE; off += SGX_PAGE_SIZE)
		sx_add(s, off, SGX_SECINFO_PT(SGX_PT_REG) | SX_RW, page);

	assert_int_equal(emu_register_entry(s->proc, s->base + SX_CODE, sx_code), 0);
	if (!initialize)
		return s;

	static struct sgx_sigstruct ss __attribute__((aligned(4096)));
	memset(&ss, 0, sizeof(ss));
	sgx_measure_final(&s->mr, ss.body.mrenclave);
	s->mr.ctx = NULL;
	ss.header.date = 0x20261122;
	ss.body.miscselect = secs.miscselect;
	ss.body.misc_mask = 0xffffffff;
	ss.body.attributes = secs.attributes;
	ss.body.attributes_mask.flags = ~0ull;
	ss.body.attributes_mask.xfrm = ~0ull;
	assert_int_equal(sgx_sign_sigstruct(fx_key(), &ss), 0);
	struct sgx_enclave_init in = { .sigstruct = (uint64_t)(uintptr_t)&ss };
	assert_int_equal(emu_ioctl(s->proc, s->fd, SGX_IOC_ENCLAVE_INIT, &in), 0);
	return s;
}

static inline struct sx *sx_new(void)
{
	return sx_new_with(NULL, true);
}

static inline void sx_free(struct sx *s)
{
	if (s->mr.ctx)
		EVP_MD_CTX_free(s->mr.ctx);
	emu_proc_exit(s->proc);
	emu_destroy(s->emu);
	munmap(s->reservation, 2 * SX_SIZE);
	free(s);
}

/* Run one operation of the enclave code on thread t (TCS #1 unless tcs). */
static inline void sx_run_on(struct sx *s, struct emu_thread *t, uint64_t tcs, enum sx_op op, uint64_t la,
			     uint64_t arg)
{
	struct sgx_enclave_run run = { .tcs = tcs };
	assert_true(tcs >= s->base && tcs < s->base + SX_SIZE);
	assert_int_equal(emu_enter_enclave(t, op, la, arg, SGX_EENTER, 0, 0, &run), 0);
	assert_int_equal(run.function, SGX_EEXIT);
	assert_int_equal(run.exception_vector, 0);
}

/* EACCEPT from inside on a new thread; returns the leaf's RAX. */
static inline uint64_t sx_eaccept(struct sx *s, uint64_t off, uint64_t flags)
{
	struct emu_thread *t = emu_thread_create(s->proc);
	assert_non_null(t);
	atomic_store(&sx_rax, UINT64_MAX);
	sx_run_on(s, t, sx_addr(s, SX_TCS), SX_OP_EACCEPT, sx_addr(s, off), flags);
	emu_thread_destroy(t);
	return atomic_load(&sx_rax);
}

/* A user fault at off (the kernel's answer). */
static inline enum drv_fault sx_fault(struct sx *s, uint64_t off, uint32_t ec)
{
	return drv_handle_fault(s->mm, sx_addr(s, off), ec | SX_PF_USER);
}

static inline struct drv_page *sx_page(struct sx *s, uint64_t off)
{
	return xa_load(&s->encl->pages, sx_addr(s, off) >> 12);
}

/* The enclave's current tracking epoch (ETRACK advances it by one). */
static inline uint64_t sx_epoch(struct sx *s)
{
	uint64_t eid, epoch, tracked;
	bool init;
	assert_true(hw_secs_info(s->emu->m, s->encl->secs.epc_frame, &eid, &init, &epoch, &tracked));
	return epoch;
}

static inline struct hw_epcm_entry sx_epcm(struct sx *s, uint64_t off)
{
	struct hw_epcm_entry e = { 0 };
	struct drv_page *p = sx_page(s, off);
	assert_non_null(p);
	assert_true(hw_epcm_read(s->emu->m, p->epc_frame, &e));
	return e;
}

/* The PTE of off in mm: true and *prot if present. */
static inline bool sx_pte(struct drv_mm *mm, uint64_t la, unsigned *prot)
{
	void *host;
	unsigned p = 0;
	bool present = hw_pt_lookup(mm->pt, la, &host, &p);
	if (prot)
		*prot = p;
	return present;
}

/* An EAUG'd page at off (by a fault), accepted unless told otherwise. */
static inline void sx_augment(struct sx *s, uint64_t off, bool accept)
{
	assert_int_equal(sx_fault(s, off, SGX_PFEC_W), DRV_FAULT_NOPAGE);
	struct hw_epcm_entry e = sx_epcm(s, off);
	assert_true(e.valid && e.pending);
	if (accept)
		assert_int_equal(sx_eaccept(s, off, SGX_SECINFO_PT(SGX_PT_REG) | SX_RW | SGX_SECINFO_PENDING), 0);
}

/* ioctl wrappers: return -errno (0 on success) */
static inline int sx_ioctl(struct sx *s, unsigned long cmd, void *arg)
{
	errno = 0;
	int ret = emu_ioctl(s->proc, s->fd, cmd, arg);
	if (ret == 0)
		return 0;
	assert_int_equal(ret, -1);
	return -errno;
}

static inline int sx_restrict(struct sx *s, uint64_t off, uint64_t len, uint64_t perm,
			      struct sgx_enclave_restrict_permissions *out)
{
	*out = (struct sgx_enclave_restrict_permissions){ .offset = off, .length = len, .permissions = perm };
	return sx_ioctl(s, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, out);
}

static inline int sx_modt(struct sx *s, uint64_t off, uint64_t len, uint64_t type, struct sgx_enclave_modify_types *out)
{
	*out = (struct sgx_enclave_modify_types){ .offset = off, .length = len, .page_type = type };
	return sx_ioctl(s, SGX_IOC_ENCLAVE_MODIFY_TYPES, out);
}

static inline int sx_remove(struct sx *s, uint64_t off, uint64_t len, struct sgx_enclave_remove_pages *out)
{
	*out = (struct sgx_enclave_remove_pages){ .offset = off, .length = len };
	return sx_ioctl(s, SGX_IOC_ENCLAVE_REMOVE_PAGES, out);
}

#endif
