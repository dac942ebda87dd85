/*
 * The driver's permission policies and switches (src/driver/policy.c,
 * ioctl_ext.c; ../shared/spec/policies.md): seed 000's worked example under
 * v2 and its contrast under upstream, seed 001's claims under v1, seed 002's
 * rule under every policy, which ioctls each policy has, reset and
 * mprotect-emodpr end to end, SET_POLICY, and each switch (AUGMENT_PAGES,
 * MAP_POPULATE, one ETRACK per call, fault-around).
 *
 * Enclaves come from sgx2_fx.h (built through the system-call API, layout
 * there); the enclave side runs as model-mode code (px_code), one operation
 * per EENTER.  A faulting operation runs on TCS #1 and stays suspended there
 * until the test ERESUMEs it; every other operation runs on TCS #2.
 */
#include "common/emu_fixture.h"
#include "driver/sgx2_fx.h"
#include "sgx2emu/policy.h"

#define PAGE SGX_PAGE_SIZE
#define REG_PT SGX_SECINFO_PT(SGX_PT_REG)
#define R_ SGX_SECINFO_R
#define W_ SGX_SECINFO_W
#define X_ SGX_SECINFO_X
#define RW_ (R_ | W_)
#define PROT_RW (PROT_READ | PROT_WRITE)
#define PROT_RWX (PROT_READ | PROT_WRITE | PROT_EXEC)
#define PF_P SGX_PFEC_P
#define PF_W SGX_PFEC_W
#define PF_U SGX_PFEC_U
#define PF_I SGX_PFEC_I
#define PF_SGX SGX_PFEC_SGX

enum px_op {
	PX_EACCEPT = 1,   /* EACCEPT(SECINFO flags RDX) on RSI → sx_rax */
	PX_EMODPE,        /* EMODPE(SECINFO flags RDX) on RSI; sx_rax = 0 */
	PX_READ,          /* 8 bytes at RSI → sx_value */
	PX_WRITE,         /* RDX → 8 bytes at RSI */
	PX_FETCH,         /* an instruction fetch at RSI */
};

static void px_code(struct encl_ctx *ctx)
{
	struct hw_regs *r = encl_regs(ctx);
	uint64_t base = encl_base(ctx), la = r->rsi, arg = r->rdx;
	struct sgx_secinfo si = { .flags = arg };

	switch (r->rdi) {
	case PX_EACCEPT:
		encl_write(ctx, base + SX_SCRATCH, &si, sizeof(si));
		atomic_store(&sx_rax, encl_enclu(ctx, SGX_EACCEPT, base + SX_SCRATCH, la, 0));
		break;
	case PX_EMODPE:   /* no return code: 0 once it completed */
		encl_write(ctx, base + SX_SCRATCH, &si, sizeof(si));
		(void)encl_enclu(ctx, SGX_EMODPE, base + SX_SCRATCH, la, 0);
		atomic_store(&sx_rax, 0);
		break;
	case PX_READ:
		atomic_store(&sx_value, encl_read64(ctx, la));
		break;
	case PX_WRITE:
		encl_write64(ctx, la, arg);
		break;
	case PX_FETCH:
		encl_fetch(ctx, la);
		break;
	}
}

static struct emu_config px_cfg(enum emu_policy policy)
{
	struct emu_config c;
	emu_config_defaults(&c);
	c.hw.epc_bytes = 1024 * PAGE;
	c.hw.nr_lps = 8;
	c.policy = policy;
	return c;
}

static struct sx *px_new_cfg(const struct emu_config *c)
{
	struct sx *s = sx_new_with(c, true);
	assert_int_equal(emu_register_entry(s->proc, s->base + SX_CODE, px_code), 0);
	return s;
}

static struct sx *px_new(enum emu_policy policy)
{
	struct emu_config c = px_cfg(policy);
	return px_new_cfg(&c);
}

/* One EENTER (or ERESUME) of px_code on a thread of its own. */
static void px_enter(struct sx *s, uint64_t tcs, unsigned function, enum px_op op, uint64_t la, uint64_t arg,
		     struct sgx_enclave_run *run)
{
	struct emu_thread *t = emu_thread_create(s->proc);
	assert_non_null(t);
	*run = (struct sgx_enclave_run){ .tcs = sx_addr(s, tcs) };
	assert_int_equal(emu_enter_enclave(t, op, la, arg, function, 0, 0, run), 0);
	emu_thread_destroy(t);
}

/* An operation that must complete (TCS #2); returns RAX of EACCEPT/EMODPE. */
static uint64_t px_op(struct sx *s, enum px_op op, uint64_t off, uint64_t arg)
{
	struct sgx_enclave_run run;
	atomic_store(&sx_rax, UINT64_MAX);
	px_enter(s, SX_TCS2, SGX_EENTER, op, sx_addr(s, off), arg, &run);
	assert_int_equal(run.function, SGX_EEXIT);
	assert_int_equal(run.exception_vector, 0);
	return atomic_load(&sx_rax);
}

static uint64_t px_read(struct sx *s, uint64_t off)
{
	px_op(s, PX_READ, off, 0);
	return atomic_load(&sx_value);
}

#define assert_pf_run(run, ec, addr) do { \
		assert_int_equal((run).function, SGX_ERESUME); \
		assert_int_equal((run).exception_vector, SGX_VEC_PF); \
		assert_int_equal((run).exception_error_code, (ec)); \
		assert_int_equal((run).exception_addr, (addr)); \
	} while (0)

/* An operation on TCS #1 that must be reported as a #PF with this error code
 * at off; it stays suspended on TCS #1. */
static void px_faulting(struct sx *s, enum px_op op, uint64_t off, uint64_t arg, uint32_t ec)
{
	struct sgx_enclave_run run;
	px_enter(s, SX_TCS, SGX_EENTER, op, sx_addr(s, off), arg, &run);
	assert_pf_run(run, ec, sx_addr(s, off));
}

/* ERESUME TCS #1: the suspended access is retried and must now complete. */
static void px_resume_ok(struct sx *s)
{
	struct sgx_enclave_run run;
	px_enter(s, SX_TCS, SGX_ERESUME, 0, 0, 0, &run);
	assert_int_equal(run.function, SGX_EEXIT);
	assert_int_equal(run.exception_vector, 0);
}

static void *px_map(struct sx *s, uint64_t off, uint64_t len, int prot, int extra)
{
	return emu_mmap(s->proc, (void *)(uintptr_t)sx_addr(s, off), len, prot, MAP_SHARED | MAP_FIXED | extra, s->fd,
			0);
}

static int px_mprotect(struct sx *s, uint64_t off, uint64_t len, int prot)
{
	return emu_mprotect(s->proc, (void *)(uintptr_t)sx_addr(s, off), len, prot);
}

#define assert_map_ok(s, off, len, prot) \
	assert_ptr_equal(px_map((s), (off), (len), (prot), 0), (void *)(uintptr_t)sx_addr((s), (off)))
#define assert_map_fails(s, off, len, prot, err) do { \
		errno = 0; \
		assert_ptr_equal(px_map((s), (off), (len), (prot), 0), MAP_FAILED); \
		assert_int_equal(errno, (err)); \
	} while (0)
#define assert_mprotect_fails(s, off, len, prot, err) do { \
		errno = 0; \
		assert_int_equal(px_mprotect((s), (off), (len), (prot)), -1); \
		assert_int_equal(errno, (err)); \
	} while (0)

/* PTE protection of off in the process's page table, -1 when not present. */
static int px_pte(struct sx *s, uint64_t off)
{
	unsigned prot;
	return sx_pte(s->mm, sx_addr(s, off), &prot) ? (int)prot : -1;
}

static unsigned epcm_rights(struct hw_epcm_entry e)
{
	return (e.r ? R_ : 0) | (e.w ? W_ : 0) | (e.x ? X_ : 0);
}

/* ioctl wrappers: -errno or 0 */
static int px_relax(struct sx *s, uint64_t off, uint64_t len, uint64_t perm, struct sgx2emu_relax_permissions *p)
{
	*p = (struct sgx2emu_relax_permissions){ .offset = off, .length = len, .permissions = perm };
	return sx_ioctl(s, SGX2EMU_IOC_RELAX_PERMISSIONS, p);
}

static int px_modify(struct sx *s, uint64_t off, uint64_t len, uint64_t perm, struct sgx2emu_modify_permissions *p)
{
	*p = (struct sgx2emu_modify_permissions){ .offset = off, .length = len, .permissions = perm };
	return sx_ioctl(s, SGX2EMU_IOC_MODIFY_PERMISSIONS, p);
}

static int px_reset(struct sx *s, uint64_t off, uint64_t len, struct sgx2emu_reset_permissions *p)
{
	*p = (struct sgx2emu_reset_permissions){ .offset = off, .length = len };
	return sx_ioctl(s, SGX2EMU_IOC_RESET_PERMISSIONS, p);
}

static int px_augment(struct sx *s, uint64_t off, uint64_t len, struct sgx2emu_augment_pages *p)
{
	*p = (struct sgx2emu_augment_pages){ .offset = off, .length = len };
	return sx_ioctl(s, SGX2EMU_IOC_AUGMENT_PAGES, p);
}

#define P_DATA SX_DATA   /* the page of seed 000's example: ADD_PAGES RW, VMA RW */

/* ---- seed 000's worked example (policies.md), policy v2 ---- */

static void test_seed000_v2(void **state)
{
	(void)state;
	struct sx *s = px_new(EMU_POLICY_V2);
	struct sgx_enclave_restrict_permissions rp;
	struct sgx2emu_relax_permissions rl;

	/* (1) ADD_PAGES RW: max = run = RW; an RW mmap is allowed and the PTE
	 * grants write at once */
	assert_int_equal(sx_page(s, P_DATA)->vm_max_prot_bits, RW_);
	assert_int_equal(sx_page(s, P_DATA)->vm_run_prot_bits, RW_);
	assert_map_ok(s, P_DATA, PAGE, PROT_RW);
	assert_int_equal(px_op(s, PX_WRITE, P_DATA, 0x1111), UINT64_MAX);
	assert_int_equal(px_pte(s, P_DATA), PROT_RW);
	assert_int_equal(px_read(s, P_DATA), 0x1111);

	/* (2) RESTRICT to R: run ← R, PTE zapped, EMODPR, ETRACK; EACCEPT R|PR */
	uint64_t epoch = sx_epoch(s);
	assert_int_equal(sx_restrict(s, P_DATA, PAGE, R_, &rp), 0);
	assert_int_equal(rp.count, PAGE);
	assert_int_equal(rp.result, 0);
	assert_int_equal(sx_epoch(s), epoch + 1);
	assert_int_equal(sx_page(s, P_DATA)->vm_max_prot_bits, RW_);
	assert_int_equal(sx_page(s, P_DATA)->vm_run_prot_bits, R_);
	assert_int_equal(px_pte(s, P_DATA), -1);
	struct hw_epcm_entry e = sx_epcm(s, P_DATA);
	assert_int_equal(epcm_rights(e), R_);
	assert_true(e.pr);
	assert_int_equal(px_op(s, PX_EACCEPT, P_DATA, REG_PT | R_ | SGX_SECINFO_PR), SGX_SUCCESS);
	/* a write through the old RW VMA: the refault maps VMA ∩ run = R, and
	 * the write is then an ordinary #PF (0x7, pfn_mkwrite SIGBUS), not an
	 * EPCM one */
	px_faulting(s, PX_WRITE, P_DATA, 0x2222, PF_P | PF_W | PF_U);
	assert_int_equal(px_pte(s, P_DATA), PROT_READ);
	assert_int_equal(sx_fault(s, P_DATA, PF_P | PF_W), DRV_FAULT_SIGBUS);
	assert_int_equal(px_read(s, P_DATA), 0x1111);
	/* new RW mappings are refused, a new R one works */
	assert_map_fails(s, P_DATA, PAGE, PROT_RW, EACCES);
	assert_mprotect_fails(s, P_DATA, PAGE, PROT_RW, EACCES);
	assert_map_ok(s, P_DATA, PAGE, PROT_READ);
	assert_int_equal(px_pte(s, P_DATA), -1);   /* the new mapping starts empty */
	assert_int_equal(px_read(s, P_DATA), 0x1111);
	assert_int_equal(px_pte(s, P_DATA), PROT_READ);

	/* (3) RELAX to RX: X ∉ max → EPERM; nothing changes */
	assert_int_equal(px_relax(s, P_DATA, PAGE, R_ | X_, &rl), -EPERM);
	assert_int_equal(rl.count, 0);
	assert_int_equal(sx_page(s, P_DATA)->vm_max_prot_bits, RW_);
	assert_int_equal(sx_page(s, P_DATA)->vm_run_prot_bits, R_);
	assert_int_equal(px_pte(s, P_DATA), PROT_READ);

	/* (4) the enclave EMODPEs W, RELAX to RW: run = RW, no leaf, PTEs zapped;
	 * RW VMAs and writable PTEs work again: the suspended write completes */
	assert_int_equal(px_op(s, PX_EMODPE, P_DATA, RW_), 0);
	assert_int_equal(epcm_rights(sx_epcm(s, P_DATA)), RW_);
	epoch = sx_epoch(s);
	assert_int_equal(px_relax(s, P_DATA, PAGE, RW_, &rl), 0);
	assert_int_equal(rl.count, PAGE);
	assert_int_equal(sx_epoch(s), epoch);
	assert_int_equal(sx_page(s, P_DATA)->vm_run_prot_bits, RW_);
	assert_false(sx_epcm(s, P_DATA).pr);   /* no EMODPR: nothing to accept */
	assert_int_equal(px_pte(s, P_DATA), -1);
	assert_map_ok(s, P_DATA, PAGE, PROT_RW);
	px_resume_ok(s);
	assert_int_equal(px_pte(s, P_DATA), PROT_RW);
	assert_int_equal(px_read(s, P_DATA), 0x2222);
	sx_free(s);
}

/* The same steps under upstream differ visibly: RESTRICT leaves the PTE
 * writable (the write is an EPCM #PF, bit 15) and the kernel tracks nothing,
 * so a new RW mapping is still allowed; there is no RELAX: EMODPE alone
 * brings W back, and X beyond max is refused by mprotect instead. */
static void test_seed000_upstream(void **state)
{
	(void)state;
	struct sx *s = px_new(EMU_POLICY_UPSTREAM);
	struct sgx_enclave_restrict_permissions rp;
	struct sgx2emu_relax_permissions rl;

	assert_map_ok(s, P_DATA, PAGE, PROT_RW);
	assert_int_equal(px_op(s, PX_WRITE, P_DATA, 0x1111), UINT64_MAX);
	assert_int_equal(px_pte(s, P_DATA), PROT_RW);

	assert_int_equal(sx_restrict(s, P_DATA, PAGE, R_, &rp), 0);
	assert_int_equal(rp.count, PAGE);
	assert_int_equal(sx_page(s, P_DATA)->vm_run_prot_bits, RW_);   /* not tracked */
	assert_int_equal(px_pte(s, P_DATA), PROT_RW);                  /* not zapped */
	assert_int_equal(px_op(s, PX_EACCEPT, P_DATA, REG_PT | R_ | SGX_SECINFO_PR), SGX_SUCCESS);
	px_faulting(s, PX_WRITE, P_DATA, 0x2222, PF_P | PF_W | PF_U | PF_SGX);
	assert_int_equal(px_pte(s, P_DATA), PROT_RW);
	/* no pfn_mkwrite handler: a write fault on a present PTE just makes it
	 * writable (wp_page_reuse) */
	assert_int_equal(sx_fault(s, P_DATA, PF_P | PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(px_pte(s, P_DATA), PROT_RW);
	assert_map_ok(s, P_DATA, PAGE, PROT_RW);   /* VMA ⊆ max: allowed */

	assert_int_equal(px_relax(s, P_DATA, PAGE, RW_, &rl), -ENOTTY);
	assert_mprotect_fails(s, P_DATA, PAGE, PROT_READ | PROT_EXEC, EACCES);

	assert_int_equal(px_op(s, PX_EMODPE, P_DATA, RW_), 0);
	px_resume_ok(s);
	assert_int_equal(px_read(s, P_DATA), 0x2222);
	sx_free(s);
}

/* ---- seed 001's claims, policy v1 ---- */

static void test_seed001_v1(void **state)
{
	(void)state;
	struct sx *s = px_new(EMU_POLICY_V1);
	struct sgx2emu_modify_permissions mp;
	const uint64_t p2 = P_DATA + PAGE;   /* never touched before the restriction */

	assert_int_equal(px_op(s, PX_WRITE, P_DATA, 0x1111), UINT64_MAX);
	assert_int_equal(px_pte(s, P_DATA), PROT_RW);

	/* MODIFY to R: EMODPR + ETRACK, nothing zapped (PTE = VMA ∩ max) */
	uint64_t epoch = sx_epoch(s);
	assert_int_equal(px_modify(s, P_DATA, 2 * PAGE, R_, &mp), 0);
	assert_int_equal(mp.count, 2 * PAGE);
	assert_int_equal(mp.result, 0);
	assert_int_equal(sx_epoch(s), epoch + 2);
	assert_int_equal(sx_page(s, P_DATA)->vm_max_prot_bits, RW_);
	assert_int_equal(px_pte(s, P_DATA), PROT_RW);
	assert_int_equal(epcm_rights(sx_epcm(s, P_DATA)), R_);

	/* the VMA made while the EPCM allowed RW stays usable: the fault
	 * handler never SIGBUSes, reads work, writes fault (EPCM) */
	assert_int_equal(px_pte(s, p2), -1);
	assert_int_equal(sx_fault(s, p2, 0), DRV_FAULT_NOPAGE);
	assert_int_equal(px_pte(s, p2), PROT_RW);
	assert_int_equal(px_op(s, PX_EACCEPT, P_DATA, REG_PT | R_ | SGX_SECINFO_PR), SGX_SUCCESS);
	assert_int_equal(px_op(s, PX_EACCEPT, p2, REG_PT | R_ | SGX_SECINFO_PR), SGX_SUCCESS);
	assert_int_equal(px_read(s, P_DATA), 0x1111);
	px_faulting(s, PX_WRITE, P_DATA, 0x2222, PF_P | PF_W | PF_U | PF_SGX);
	struct emu_proc *child = emu_fork(s->proc);
	assert_non_null(child);
	assert_int_equal(drv_handle_fault(child->mm, sx_addr(s, P_DATA), PF_U), DRV_FAULT_NOPAGE);
	unsigned prot;
	assert_true(sx_pte(child->mm, sx_addr(s, P_DATA), &prot));
	assert_int_equal(prot, PROT_RW);
	emu_proc_exit(child);

	/* a new mmap/mprotect beyond max still fails */
	assert_map_fails(s, P_DATA, PAGE, PROT_RWX, EACCES);
	assert_mprotect_fails(s, P_DATA, PAGE, PROT_RWX, EACCES);
	assert_map_ok(s, P_DATA, PAGE, PROT_RW);   /* within max: allowed */

	/* relaxing goes through EMODPR too: EMODPE(W), MODIFY(RW) sets PR, EACCEPT */
	assert_int_equal(px_op(s, PX_EMODPE, P_DATA, RW_), 0);
	assert_int_equal(px_modify(s, P_DATA, PAGE, RW_, &mp), 0);
	struct hw_epcm_entry e = sx_epcm(s, P_DATA);
	assert_int_equal(epcm_rights(e), RW_);
	assert_true(e.pr);
	assert_int_equal(px_op(s, PX_EACCEPT, P_DATA, REG_PT | RW_ | SGX_SECINFO_PR), SGX_SUCCESS);
	px_resume_ok(s);
	assert_int_equal(px_read(s, P_DATA), 0x2222);

	/* decision: MODIFY beyond max is EPERM (V1's MODP), before any leaf */
	epoch = sx_epoch(s);
	assert_int_equal(px_modify(s, P_DATA, PAGE, R_ | X_, &mp), -EPERM);
	assert_int_equal(mp.count, 0);
	assert_int_equal(mp.result, 0);
	assert_int_equal(sx_epoch(s), epoch);
	assert_false(sx_epcm(s, P_DATA).pr);
	sx_free(s);
}

/* EAUG'd pages: max RW under v1 and v2 (PTE = VMA ∩ RW even in an RWX VMA,
 * a fetch is an ordinary #PF), RWX elsewhere (PTE = VMA). */
static void test_eaug_max_per_policy(void **state)
{
	(void)state;
	static const struct {
		enum emu_policy p;
		unsigned max, pte;
	} c[] = {
		{ EMU_POLICY_UPSTREAM, R_ | W_ | X_, PROT_RWX },
		{ EMU_POLICY_V1, RW_, PROT_RW },
		{ EMU_POLICY_V2, RW_, PROT_RW },
		{ EMU_POLICY_RESET, R_ | W_ | X_, PROT_RWX },
		{ EMU_POLICY_MPROTECT_EMODPR, R_ | W_ | X_, PROT_RWX },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sx *s = px_new(c[i].p);
		/* holes are not checked: an RWX VMA over them is allowed */
		assert_int_equal(px_mprotect(s, SX_HOLES, 4 * PAGE, PROT_RWX), 0);
		assert_int_equal(sx_fault(s, SX_HOLES, PF_W), DRV_FAULT_NOPAGE);
		assert_int_equal(sx_page(s, SX_HOLES)->vm_max_prot_bits, c[i].max);
		assert_int_equal(sx_page(s, SX_HOLES)->vm_run_prot_bits, c[i].max);
		assert_int_equal(px_pte(s, SX_HOLES), (int)c[i].pte);
		assert_int_equal(px_op(s, PX_EACCEPT, SX_HOLES, REG_PT | RW_ | SGX_SECINFO_PENDING), SGX_SUCCESS);
		if (c[i].p == EMU_POLICY_V1 || c[i].p == EMU_POLICY_V2) {
			/* the existing RWX VMA stays (no VMA check on fault); the
			 * PTE has no X: an ordinary #PF, P|U|I */
			px_faulting(s, PX_FETCH, SX_HOLES, 0, PF_P | PF_U | PF_I);
			assert_int_equal(sx_fault(s, SX_HOLES, PF_P | PF_I), DRV_FAULT_SIGSEGV);
			assert_mprotect_fails(s, SX_HOLES, PAGE, PROT_RWX, EACCES);
		} else {
			/* PTE X, EPCM RW: the EPCM refuses the fetch (bit 15) */
			px_faulting(s, PX_FETCH, SX_HOLES, 0, PF_P | PF_U | PF_I | PF_SGX);
		}
		sx_free(s);
	}
}

/* ---- seed 002's rule, under every policy ---- */

static void test_seed002_every_policy(void **state)
{
	(void)state;
	static uint8_t src[PAGE] __attribute__((aligned(4096)));
	for (enum emu_policy p = 0; p < EMU_POLICY_COUNT; p++) {
		/* declared rights are checked against the source mapping: an X
		 * page from a mapping that may not be executable is refused */
		struct emu_config c = px_cfg(p);
		struct sx *s = sx_new_with(&c, false);
		void *m = emu_mmap(s->proc, NULL, PAGE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_ptr_not_equal(m, MAP_FAILED);
		memset(m, 0xc3, PAGE);
		pthread_rwlock_wrlock(&s->mm->lock);
		mm_find_vma(s->mm, (uint64_t)(uintptr_t)m)->flags &= ~DRV_VMA_MAYEXEC;
		pthread_rwlock_unlock(&s->mm->lock);
		struct sgx_secinfo si = { .flags = REG_PT | R_ | X_ };
		struct sgx_enclave_add_pages ap = {
			.src = (uint64_t)(uintptr_t)m, .offset = SX_HOLES, .length = PAGE,
			.secinfo = (uint64_t)(uintptr_t)&si, .flags = SGX_PAGE_MEASURE,
		};
		assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_ADD_PAGES, &ap), -EACCES);
		assert_int_equal(ap.count, 0);
		assert_null(sx_page(s, SX_HOLES));
		/* the same page from an executable source is added, max = RX */
		memset(src, 0xc3, sizeof(src));
		ap.src = (uint64_t)(uintptr_t)src;
		ap.count = 0;
		assert_int_equal(sx_ioctl(s, SGX_IOC_ENCLAVE_ADD_PAGES, &ap), 0);
		assert_int_equal(sx_page(s, SX_HOLES)->vm_max_prot_bits, R_ | X_);
		/* ... and every later mmap/mprotect is checked against it */
		assert_map_fails(s, SX_HOLES, PAGE, PROT_RWX, EACCES);
		assert_map_ok(s, SX_HOLES, PAGE, PROT_READ | PROT_EXEC);
		assert_mprotect_fails(s, SX_HOLES, PAGE, PROT_RW, EACCES);
		sx_free(s);

		s = px_new(p);
		assert_map_fails(s, SX_RO, PAGE, PROT_RW, EACCES);
		assert_map_fails(s, SX_RO, PAGE, PROT_READ | PROT_EXEC, EACCES);
		assert_mprotect_fails(s, SX_RO, PAGE, PROT_RW, EACCES);
		assert_mprotect_fails(s, SX_CODE, PAGE, PROT_RWX, EACCES);
		assert_mprotect_fails(s, SX_DATA, PAGE, PROT_RWX, EACCES);
		assert_int_equal(px_mprotect(s, SX_CODE, PAGE, PROT_READ), 0);
		assert_int_equal(px_mprotect(s, SX_CODE, PAGE, PROT_READ | PROT_EXEC), 0);
		sx_free(s);
	}
}

/* ---- which ioctls each policy has ---- */

enum { I_RESTRICT, I_MODT, I_REMOVE, I_RELAX, I_MODIFY, I_RESET, I_AUGMENT, I_COUNT };

/* Each ioctl with a misaligned offset: EINVAL where it exists, ENOTTY where
 * the policy lacks it, ENODEV for an SGX2 ioctl under sgx1. */
static int try_ioctl(struct sx *s, int which)
{
	union {
		struct sgx_enclave_restrict_permissions rp;
		struct sgx_enclave_modify_types mt;
		struct sgx_enclave_remove_pages rm;
		struct sgx2emu_relax_permissions rl;
		struct sgx2emu_modify_permissions mp;
		struct sgx2emu_reset_permissions rs;
		struct sgx2emu_augment_pages au;
	} a;
	static const unsigned long cmd[I_COUNT] = {
		SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, SGX_IOC_ENCLAVE_MODIFY_TYPES, SGX_IOC_ENCLAVE_REMOVE_PAGES,
		SGX2EMU_IOC_RELAX_PERMISSIONS, SGX2EMU_IOC_MODIFY_PERMISSIONS, SGX2EMU_IOC_RESET_PERMISSIONS,
		SGX2EMU_IOC_AUGMENT_PAGES,
	};
	memset(&a, 0, sizeof(a));
	a.rp.offset = 1;   /* offset is the first field of each */
	a.rp.length = PAGE;
	return sx_ioctl(s, cmd[which], &a);
}

static void test_ioctl_availability(void **state)
{
	(void)state;
	static const int expect[EMU_POLICY_COUNT][I_COUNT] = {
		/*                              RESTRICT MODT REMOVE RELAX MODIFY RESET AUGMENT */
		[EMU_POLICY_UPSTREAM] = { -EINVAL, -EINVAL, -EINVAL, -ENOTTY, -ENOTTY, -ENOTTY, -ENOTTY },
		[EMU_POLICY_SGX1] = { -ENODEV, -ENODEV, -ENODEV, -ENOTTY, -ENOTTY, -ENOTTY, -ENOTTY },
		[EMU_POLICY_V1] = { -ENOTTY, -EINVAL, -EINVAL, -ENOTTY, -EINVAL, -ENOTTY, -ENOTTY },
		[EMU_POLICY_V2] = { -EINVAL, -EINVAL, -EINVAL, -EINVAL, -ENOTTY, -ENOTTY, -ENOTTY },
		[EMU_POLICY_RESET] = { -ENOTTY, -EINVAL, -EINVAL, -ENOTTY, -ENOTTY, -EINVAL, -ENOTTY },
		[EMU_POLICY_MPROTECT_EMODPR] = { -ENOTTY, -EINVAL, -EINVAL, -ENOTTY, -ENOTTY, -ENOTTY, -ENOTTY },
	};
	for (enum emu_policy p = 0; p < EMU_POLICY_COUNT; p++) {
		struct emu_config c = px_cfg(p);
		struct sx *s = px_new_cfg(&c);
		for (int i = 0; i < I_COUNT; i++) {
			int got = try_ioctl(s, i);
			if (got != expect[p][i])
				fail_msg("policy %s ioctl %d: %d, expected %d", emu_policy_name(p), i, got, expect[p][i]);
		}
		/* an ioctl the policy lacks is exactly an unknown one */
		assert_int_equal(sx_ioctl(s, _IOWR(SGX_MAGIC, 0x85, struct sgx2emu_augment_pages), NULL), -ENOTTY);
		assert_int_equal(sx_ioctl(s, _IOWR(SGX_MAGIC, 0x7f, struct sgx2emu_augment_pages), NULL), -ENOTTY);
		sx_free(s);

		/* AUGMENT exists with its switch: EINVAL, or ENODEV under sgx1 */
		c.switches.augment = true;
		s = px_new_cfg(&c);
		assert_int_equal(try_ioctl(s, I_AUGMENT), p == EMU_POLICY_SGX1 ? -ENODEV : -EINVAL);
		sx_free(s);

		/* an SGX1 CPU: every SGX2 ioctl the policy has is ENODEV */
		c.hw.sgx1_only = true;
		s = px_new_cfg(&c);
		for (int i = 0; i < I_COUNT; i++) {
			int want = expect[p][i] == -ENOTTY ? -ENOTTY : -ENODEV;
			if (i == I_AUGMENT)
				want = -ENODEV;
			if (try_ioctl(s, i) != want)
				fail_msg("SGX1 CPU, policy %s ioctl %d: %d", emu_policy_name(p), i, try_ioctl(s, i));
		}
		sx_free(s);
	}
}

/* sgx1 on an SGX2 CPU: holes SIGBUS, nothing is EAUGed. */
static void test_sgx1_no_eaug(void **state)
{
	(void)state;
	struct sx *s = px_new(EMU_POLICY_SGX1);
	uint32_t nr = epc_nr_free(s->emu);
	assert_int_equal(sx_fault(s, SX_HOLES, PF_W), DRV_FAULT_SIGBUS);
	assert_int_equal(sx_fault(s, SX_HOLES, 0), DRV_FAULT_SIGBUS);
	assert_null(sx_page(s, SX_HOLES));
	assert_int_equal(epc_nr_free(s->emu), nr);
	/* an enclave access to a hole is reported, not fixed */
	struct sgx_enclave_run run;
	px_enter(s, SX_TCS2, SGX_EENTER, PX_READ, sx_addr(s, SX_HOLES), 0, &run);
	assert_int_equal(run.function, SGX_ERESUME);
	assert_int_equal(run.exception_vector, SGX_VEC_PF);
	assert_int_equal(run.exception_error_code, PF_U);
	/* pages that exist work as under upstream */
	assert_int_equal(px_read(s, SX_RO) & 0xff, 0x5a);
	sx_free(s);
}

/* ---- SET_POLICY and the run's defaults ---- */

static void test_set_policy(void **state)
{
	(void)state;
	static struct sgx_secs secs;
	struct emu_config c = px_cfg(EMU_POLICY_UPSTREAM);
	struct emu *emu = emu_create(&c);
	assert_non_null(emu);
	struct emu_proc *proc = emu_proc_create(emu);
	int fd = emu_open(proc, "/dev/sgx_enclave", O_RDWR);
	int other = emu_open(proc, "/dev/sgx_enclave", O_RDWR);
	assert_true(fd >= 0 && other >= 0);
	struct drv_encl *encl = proc_file(proc, fd)->encl;
	assert_int_equal(encl->policy, EMU_POLICY_UPSTREAM);

	struct sgx2emu_set_policy sp = {
		.policy = EMU_POLICY_V2,
		.switches = SGX2EMU_SW_AUGMENT | SGX2EMU_SW_ETRACK_PER_IOCTL,
		.fault_around = 8,
	};
	assert_int_equal(emu_ioctl(proc, fd, SGX2EMU_IOC_SET_POLICY, &sp), 0);
	assert_int_equal(encl->policy, EMU_POLICY_V2);
	assert_true(encl->sw.augment);
	assert_false(encl->sw.populate_on_mmap);
	assert_true(encl->sw.etrack_per_ioctl);
	assert_int_equal(encl->sw.fault_around, 8);
	/* again before CREATE: replaced */
	sp = (struct sgx2emu_set_policy){ .policy = EMU_POLICY_RESET, .switches = SGX2EMU_SW_POPULATE,
					  .fault_around = POLICY_MAX_FAULT_AROUND };
	assert_int_equal(emu_ioctl(proc, fd, SGX2EMU_IOC_SET_POLICY, &sp), 0);
	assert_int_equal(encl->policy, EMU_POLICY_RESET);
	assert_false(encl->sw.augment);
	assert_true(encl->sw.populate_on_mmap);
	assert_false(encl->sw.etrack_per_ioctl);
	assert_int_equal(encl->sw.fault_around, POLICY_MAX_FAULT_AROUND);

	/* EINVAL: unknown policy, unknown switch, fault-around too large; EFAULT */
	sp = (struct sgx2emu_set_policy){ .policy = EMU_POLICY_COUNT };
	assert_errno(emu_ioctl(proc, fd, SGX2EMU_IOC_SET_POLICY, &sp), EINVAL);
	sp = (struct sgx2emu_set_policy){ .policy = EMU_POLICY_V1, .switches = 0x8 };
	assert_errno(emu_ioctl(proc, fd, SGX2EMU_IOC_SET_POLICY, &sp), EINVAL);
	sp = (struct sgx2emu_set_policy){ .policy = EMU_POLICY_V1, .fault_around = POLICY_MAX_FAULT_AROUND + 1 };
	assert_errno(emu_ioctl(proc, fd, SGX2EMU_IOC_SET_POLICY, &sp), EINVAL);
	assert_errno(emu_ioctl(proc, fd, SGX2EMU_IOC_SET_POLICY, (void *)(uintptr_t)0x10), EFAULT);
	assert_int_equal(encl->policy, EMU_POLICY_RESET);   /* failures change nothing */
	assert_true(encl->sw.populate_on_mmap);

	/* CREATE, then SET_POLICY is EINVAL; the policy is in force: RESET
	 * exists (EINVAL before INIT), RESTRICT does not */
	void *res = mmap(NULL, 2 * SX_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(res != MAP_FAILED);
	memset(&secs, 0, sizeof(secs));
	secs.base = ((uint64_t)(uintptr_t)res + SX_SIZE - 1) & ~(SX_SIZE - 1);
	secs.size = SX_SIZE;
	secs.ssa_frame_size = 1;
	secs.miscselect = SGX_MISC_EXINFO;
	secs.attributes.flags = SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG;
	secs.attributes.xfrm = 3;
	struct sgx_enclave_create cr = { .src = (uint64_t)(uintptr_t)&secs };
	assert_int_equal(emu_ioctl(proc, fd, SGX_IOC_ENCLAVE_CREATE, &cr), 0);
	sp = (struct sgx2emu_set_policy){ .policy = EMU_POLICY_V2 };
	assert_errno(emu_ioctl(proc, fd, SGX2EMU_IOC_SET_POLICY, &sp), EINVAL);
	assert_int_equal(encl->policy, EMU_POLICY_RESET);
	struct sgx2emu_reset_permissions rs = { .offset = 0, .length = PAGE };
	assert_errno(emu_ioctl(proc, fd, SGX2EMU_IOC_RESET_PERMISSIONS, &rs), EINVAL);
	struct sgx_enclave_restrict_permissions rp = { .offset = 0, .length = PAGE };
	assert_errno(emu_ioctl(proc, fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &rp), ENOTTY);
	/* the other enclave keeps the run's default */
	struct drv_encl *e2 = proc_file(proc, other)->encl;
	assert_int_equal(e2->policy, EMU_POLICY_UPSTREAM);
	assert_errno(emu_ioctl(proc, other, SGX2EMU_IOC_RESET_PERMISSIONS, &rs), ENOTTY);

	emu_proc_exit(proc);
	emu_destroy(emu);
	munmap(res, 2 * SX_SIZE);

	/* run defaults: every policy is taken from emu_config; bad ones refused */
	for (enum emu_policy p = 0; p < EMU_POLICY_COUNT; p++) {
		c = px_cfg(p);
		c.switches.fault_around = 3;
		emu = emu_create(&c);
		assert_non_null(emu);
		proc = emu_proc_create(emu);
		fd = emu_open(proc, "/dev/sgx_enclave", O_RDWR);
		assert_int_equal(proc_file(proc, fd)->encl->policy, p);
		assert_int_equal(proc_file(proc, fd)->encl->sw.fault_around, 3);
		emu_proc_exit(proc);
		emu_destroy(emu);
	}
	c = px_cfg(EMU_POLICY_COUNT);
	errno = 0;
	assert_null(emu_create(&c));
	assert_int_equal(errno, EINVAL);
	c = px_cfg(EMU_POLICY_V1);
	c.switches.fault_around = POLICY_MAX_FAULT_AROUND + 1;
	errno = 0;
	assert_null(emu_create(&c));
	assert_int_equal(errno, EINVAL);
}

static void test_policy_names(void **state)
{
	(void)state;
	static const char *const want[EMU_POLICY_COUNT] = {
		[EMU_POLICY_UPSTREAM] = "upstream", [EMU_POLICY_SGX1] = "sgx1", [EMU_POLICY_V1] = "v1",
		[EMU_POLICY_V2] = "v2", [EMU_POLICY_RESET] = "reset", [EMU_POLICY_MPROTECT_EMODPR] = "mprotect-emodpr",
	};
	for (enum emu_policy p = 0; p < EMU_POLICY_COUNT; p++) {
		enum emu_policy got = EMU_POLICY_COUNT;
		assert_string_equal(emu_policy_name(p), want[p]);
		assert_int_equal(emu_policy_from_name(want[p], &got), 0);
		assert_int_equal(got, p);
	}
	enum emu_policy got = EMU_POLICY_V1;
	assert_int_equal(emu_policy_from_name("V2", &got), -1);
	assert_int_equal(emu_policy_from_name("", &got), -1);
	assert_int_equal(emu_policy_from_name(NULL, &got), -1);
	assert_int_equal(emu_policy_from_name("mprotect", &got), -1);
	assert_int_equal(got, EMU_POLICY_V1);
	assert_string_equal(emu_policy_name(EMU_POLICY_COUNT), "unknown");
	assert_string_equal(emu_policy_name((enum emu_policy)-1), "unknown");
}

/* ---- v2: RESTRICT and RELAX in detail ---- */

static void test_v2_restrict_relax_rules(void **state)
{
	(void)state;
	struct sx *s = px_new(EMU_POLICY_V2);
	struct sgx_enclave_restrict_permissions rp;
	struct sgx2emu_relax_permissions rl;

	/* an EMODPR that fails (PENDING page: RC 20) leaves run as it was */
	assert_int_equal(sx_fault(s, SX_HOLES, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(sx_restrict(s, SX_HOLES, PAGE, R_, &rp), -EFAULT);
	assert_int_equal(rp.result, SGX_PAGE_NOT_MODIFIABLE);
	assert_int_equal(rp.count, 0);
	assert_int_equal(sx_page(s, SX_HOLES)->vm_run_prot_bits, RW_);
	/* decision: run ← run ∩ new, never more than EMODPR leaves */
	assert_int_equal(sx_restrict(s, SX_RO, PAGE, RW_, &rp), 0);
	assert_int_equal(sx_page(s, SX_RO)->vm_run_prot_bits, R_);
	assert_int_equal(epcm_rights(sx_epcm(s, SX_RO)), R_);
	/* RELAX may lower run too (bookkeeping only, no leaf): no new X */
	assert_int_equal(px_relax(s, SX_CODE, PAGE, R_, &rl), 0);
	assert_int_equal(sx_page(s, SX_CODE)->vm_run_prot_bits, R_);
	assert_int_equal(sx_page(s, SX_CODE)->vm_max_prot_bits, R_ | X_);
	assert_int_equal(epcm_rights(sx_epcm(s, SX_CODE)), R_ | X_);
	assert_mprotect_fails(s, SX_CODE, PAGE, PROT_READ | PROT_EXEC, EACCES);

	/* RELAX validation, in order: range, rights, count */
	assert_int_equal(px_relax(s, 1, PAGE, R_, &rl), -EINVAL);
	assert_int_equal(px_relax(s, 0, 0, R_, &rl), -EINVAL);
	assert_int_equal(px_relax(s, SX_SIZE, PAGE, R_, &rl), -EINVAL);
	assert_int_equal(px_relax(s, P_DATA, PAGE, W_, &rl), -EINVAL);
	assert_int_equal(px_relax(s, P_DATA, PAGE, 0x8, &rl), -EINVAL);
	rl = (struct sgx2emu_relax_permissions){ .offset = P_DATA, .length = PAGE, .permissions = R_, .count = 1 };
	assert_int_equal(sx_ioctl(s, SGX2EMU_IOC_RELAX_PERMISSIONS, &rl), -EINVAL);
	assert_int_equal(sx_ioctl(s, SGX2EMU_IOC_RELAX_PERMISSIONS, (void *)(uintptr_t)0x10), -EFAULT);
	/* per page: a hole EFAULT, a TCS EINVAL, beyond max EPERM; count = done */
	assert_int_equal(px_relax(s, SX_HOLES + PAGE, PAGE, R_, &rl), -EFAULT);
	assert_int_equal(rl.count, 0);
	assert_int_equal(px_relax(s, SX_SSA2 + PAGE, 3 * PAGE, RW_, &rl), -EFAULT);
	assert_int_equal(rl.count, PAGE);
	assert_int_equal(px_relax(s, SX_RO, 2 * PAGE, R_, &rl), -EINVAL);
	assert_int_equal(rl.count, PAGE);
	assert_int_equal(px_relax(s, SX_CODE, 2 * PAGE, R_ | X_, &rl), -EPERM);
	assert_int_equal(rl.count, PAGE);
	assert_int_equal(sx_page(s, SX_CODE)->vm_run_prot_bits, R_ | X_);
	/* a lowered run narrows the next PTE; the EPCM keeps its rights */
	assert_int_equal(px_read(s, P_DATA + PAGE) & 0xff, 'p');
	assert_int_equal(px_pte(s, P_DATA + PAGE), PROT_RW);
	assert_int_equal(px_relax(s, P_DATA + PAGE, PAGE, R_, &rl), 0);
	assert_int_equal(px_pte(s, P_DATA + PAGE), -1);
	assert_int_equal(epcm_rights(sx_epcm(s, P_DATA + PAGE)), RW_);
	assert_int_equal(sx_fault(s, P_DATA + PAGE, 0), DRV_FAULT_NOPAGE);
	assert_int_equal(px_pte(s, P_DATA + PAGE), PROT_READ);
	sx_free(s);
}

/* ---- reset (seed 004) ---- */

static void test_reset_policy(void **state)
{
	(void)state;
	struct sx *s = px_new(EMU_POLICY_RESET);
	struct sgx2emu_reset_permissions rs;

	assert_int_equal(px_op(s, PX_WRITE, P_DATA, 0x1111), UINT64_MAX);
	/* RESET = EMODPR to no rights + ETRACK + IPI, PTEs left = VMA */
	uint64_t epoch = sx_epoch(s);
	assert_int_equal(px_reset(s, P_DATA, 2 * PAGE, &rs), 0);
	assert_int_equal(rs.count, 2 * PAGE);
	assert_int_equal(rs.result, 0);
	assert_int_equal(sx_epoch(s), epoch + 2);
	struct hw_epcm_entry e = sx_epcm(s, P_DATA);
	assert_int_equal(epcm_rights(e), 0);
	assert_true(e.pr);
	assert_int_equal(px_pte(s, P_DATA), PROT_RW);
	/* the page is inaccessible until the enclave EACCEPTs and EMODPEs the
	 * exact rights it wants */
	px_faulting(s, PX_READ, P_DATA, 0, PF_P | PF_U | PF_SGX);
	assert_int_equal(px_op(s, PX_EACCEPT, P_DATA, REG_PT | SGX_SECINFO_PR), SGX_SUCCESS);
	assert_int_equal(px_op(s, PX_EMODPE, P_DATA, R_), 0);
	px_resume_ok(s);
	assert_int_equal(atomic_load(&sx_value), 0x1111);
	assert_int_equal(epcm_rights(sx_epcm(s, P_DATA)), R_);
	assert_false(sx_epcm(s, P_DATA).pr);

	/* validation and per-page errors, as the SGX2 ioctls */
	assert_int_equal(px_reset(s, 1, PAGE, &rs), -EINVAL);
	rs = (struct sgx2emu_reset_permissions){ .offset = P_DATA, .length = PAGE, .result = 1 };
	assert_int_equal(sx_ioctl(s, SGX2EMU_IOC_RESET_PERMISSIONS, &rs), -EINVAL);
	rs = (struct sgx2emu_reset_permissions){ .offset = P_DATA, .length = PAGE, .count = 1 };
	assert_int_equal(sx_ioctl(s, SGX2EMU_IOC_RESET_PERMISSIONS, &rs), -EINVAL);
	assert_int_equal(px_reset(s, SX_RO, 2 * PAGE, &rs), -EINVAL);   /* TCS #2 after it */
	assert_int_equal(rs.count, PAGE);
	assert_int_equal(px_reset(s, SX_HOLES, PAGE, &rs), -EFAULT);
	assert_int_equal(rs.count, 0);
	assert_int_equal(sx_fault(s, SX_HOLES, PF_W), DRV_FAULT_NOPAGE);   /* EAUG: max RWX */
	assert_int_equal(sx_page(s, SX_HOLES)->vm_max_prot_bits, R_ | W_ | X_);
	assert_int_equal(px_reset(s, SX_HOLES, PAGE, &rs), -EFAULT);
	assert_int_equal(rs.result, SGX_PAGE_NOT_MODIFIABLE);
	assert_int_equal(rs.count, 0);
	sx_free(s);
}

/* ---- mprotect-emodpr (seed 003/004) ---- */

static void test_mprotect_emodpr(void **state)
{
	(void)state;
	struct sx *s = px_new(EMU_POLICY_MPROTECT_EMODPR);

	assert_int_equal(px_op(s, PX_WRITE, P_DATA, 0x1111), UINT64_MAX);
	/* mprotect(R): EMODPR(R) + ETRACK on each page, VMA and PTE = R */
	uint64_t epoch = sx_epoch(s);
	assert_int_equal(px_mprotect(s, P_DATA, 2 * PAGE, PROT_READ), 0);
	assert_int_equal(sx_epoch(s), epoch + 2);
	for (uint64_t off = P_DATA; off < P_DATA + 2 * PAGE; off += PAGE) {
		struct hw_epcm_entry e = sx_epcm(s, off);
		assert_int_equal(epcm_rights(e), R_);
		assert_true(e.pr);
		assert_int_equal(px_op(s, PX_EACCEPT, off, REG_PT | R_ | SGX_SECINFO_PR), SGX_SUCCESS);
	}
	assert_int_equal(px_pte(s, P_DATA), PROT_READ);
	/* relaxing runs EMODPR too: rights stay R, PR set: EACCEPT, EMODPE */
	assert_int_equal(px_mprotect(s, P_DATA, PAGE, PROT_RW), 0);
	struct hw_epcm_entry e = sx_epcm(s, P_DATA);
	assert_int_equal(epcm_rights(e), R_);
	assert_true(e.pr);
	assert_int_equal(px_op(s, PX_EACCEPT, P_DATA, REG_PT | R_ | SGX_SECINFO_PR), SGX_SUCCESS);
	assert_int_equal(px_op(s, PX_EMODPE, P_DATA, RW_), 0);
	assert_int_equal(px_op(s, PX_WRITE, P_DATA, 0x2222), UINT64_MAX);
	/* PROT_WRITE alone means RW (x86): EMODPR(RW), not a #GP */
	epoch = sx_epoch(s);
	assert_int_equal(px_mprotect(s, P_DATA + 3 * PAGE, PAGE, PROT_WRITE), 0);
	assert_int_equal(sx_epoch(s), epoch + 1);
	e = sx_epcm(s, P_DATA + 3 * PAGE);
	assert_int_equal(epcm_rights(e), RW_);
	assert_true(e.pr);
	/* TCS pages and holes are skipped */
	epoch = sx_epoch(s);
	assert_int_equal(px_mprotect(s, SX_RO, 2 * PAGE, PROT_READ), 0);   /* the R page and TCS #2 */
	assert_int_equal(sx_epoch(s), epoch + 1);
	assert_true(sx_epcm(s, SX_RO).pr);
	assert_int_equal(sx_epcm(s, SX_TCS2).pt, SGX_PT_TCS);
	assert_int_equal(px_mprotect(s, SX_TCS2, PAGE, PROT_RW), 0);
	assert_int_equal(px_mprotect(s, SX_SSA2 + 2 * PAGE, 3 * PAGE, PROT_READ), 0);   /* holes */
	assert_int_equal(sx_epoch(s), epoch + 1);
	assert_null(sx_page(s, SX_SSA2 + 2 * PAGE));
	assert_int_equal(px_op(s, PX_EACCEPT, SX_RO, REG_PT | R_ | SGX_SECINFO_PR), SGX_SUCCESS);
	assert_int_equal(sx_epoch(s), epoch + 1);
	/* one errno for a range: a PENDING page after a good one: EFAULT; the
	 * first page is restricted, the VMA is unchanged */
	assert_int_equal(px_mprotect(s, SX_HOLES + 2 * PAGE, 2 * PAGE, PROT_RW), 0);
	assert_int_equal(sx_fault(s, SX_HOLES + 3 * PAGE, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(px_mprotect(s, SX_SCRATCH - PAGE, PAGE, PROT_RW), 0);
	epoch = sx_epoch(s);
	assert_int_equal(px_mprotect(s, P_DATA + PAGE, 2 * PAGE, PROT_READ), 0);   /* control: fine */
	assert_int_equal(sx_epoch(s), epoch + 2);
	assert_int_equal(px_op(s, PX_EACCEPT, P_DATA + PAGE, REG_PT | R_ | SGX_SECINFO_PR), SGX_SUCCESS);
	assert_int_equal(px_op(s, PX_EACCEPT, P_DATA + 2 * PAGE, REG_PT | R_ | SGX_SECINFO_PR), SGX_SUCCESS);
	assert_int_equal(sx_fault(s, SX_HOLES + 2 * PAGE, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(px_op(s, PX_EACCEPT, SX_HOLES + 2 * PAGE, REG_PT | RW_ | SGX_SECINFO_PENDING), 0);
	epoch = sx_epoch(s);
	errno = 0;
	assert_int_equal(px_mprotect(s, SX_HOLES + 2 * PAGE, 2 * PAGE, PROT_READ), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(sx_epoch(s), epoch + 1);
	e = sx_epcm(s, SX_HOLES + 2 * PAGE);
	assert_int_equal(epcm_rights(e), R_);
	assert_true(e.pr);
	assert_true(sx_epcm(s, SX_HOLES + 3 * PAGE).pending);
	pthread_rwlock_rdlock(&s->mm->lock);
	struct drv_vma *v = mm_find_vma(s->mm, sx_addr(s, SX_HOLES + 2 * PAGE));
	assert_int_equal(v->prot, PROT_RW);
	pthread_rwlock_unlock(&s->mm->lock);
	/* no permission ioctl */
	struct sgx_enclave_restrict_permissions rp;
	assert_int_equal(sx_restrict(s, P_DATA, PAGE, R_, &rp), -ENOTTY);
	sx_free(s);

	/* before INIT the loader's mprotects run no leaf */
	struct emu_config c = px_cfg(EMU_POLICY_MPROTECT_EMODPR);
	s = sx_new_with(&c, false);
	assert_int_equal(px_mprotect(s, P_DATA, PAGE, PROT_READ), 0);
	assert_int_equal(epcm_rights(sx_epcm(s, P_DATA)), RW_);
	assert_false(sx_epcm(s, P_DATA).pr);
	sx_free(s);
}

/* ---- switches ---- */

static void test_switch_augment(void **state)
{
	(void)state;
	struct emu_config c = px_cfg(EMU_POLICY_UPSTREAM);
	c.switches.augment = true;
	struct sx *s = px_new_cfg(&c);
	struct sgx2emu_augment_pages au;

	uint32_t nr = epc_nr_free(s->emu);
	assert_int_equal(px_augment(s, SX_HOLES, 4 * PAGE, &au), 0);
	assert_int_equal(au.count, 4 * PAGE);
	assert_int_equal(epc_nr_free(s->emu), nr - 4);
	for (uint64_t off = SX_HOLES; off < SX_HOLES + 4 * PAGE; off += PAGE) {
		struct hw_epcm_entry e = sx_epcm(s, off);
		assert_true(e.valid && e.pending);
		assert_int_equal(e.pt, SGX_PT_REG);
		assert_int_equal(epcm_rights(e), RW_);
		assert_int_equal(sx_page(s, off)->vm_max_prot_bits, R_ | W_ | X_);
		assert_int_equal(px_pte(s, off), -1);   /* no PTE: the EACCEPT maps it */
	}
	assert_null(sx_page(s, SX_HOLES + 4 * PAGE));
	/* the enclave accepts without an EAUG fault */
	assert_int_equal(px_op(s, PX_EACCEPT, SX_HOLES, REG_PT | RW_ | SGX_SECINFO_PENDING), SGX_SUCCESS);
	assert_int_equal(epc_nr_free(s->emu), nr - 4);
	/* pages that exist are skipped and count as done */
	nr = epc_nr_free(s->emu);
	assert_int_equal(px_augment(s, SX_HOLES + 2 * PAGE, 4 * PAGE, &au), 0);
	assert_int_equal(au.count, 4 * PAGE);
	assert_int_equal(epc_nr_free(s->emu), nr - 2);
	assert_int_equal(px_augment(s, P_DATA, PAGE, &au), 0);
	assert_int_equal(epc_nr_free(s->emu), nr - 2);
	/* validation */
	assert_int_equal(px_augment(s, 1, PAGE, &au), -EINVAL);
	assert_int_equal(px_augment(s, SX_HOLES, 0, &au), -EINVAL);
	assert_int_equal(px_augment(s, SX_SIZE - PAGE, 2 * PAGE, &au), -EINVAL);
	au = (struct sgx2emu_augment_pages){ .offset = SX_HOLES, .length = PAGE, .count = 1 };
	assert_int_equal(sx_ioctl(s, SGX2EMU_IOC_AUGMENT_PAGES, &au), -EINVAL);
	assert_int_equal(sx_ioctl(s, SGX2EMU_IOC_AUGMENT_PAGES, (void *)(uintptr_t)0x10), -EFAULT);
	sx_free(s);

	/* not initialized: EINVAL */
	s = sx_new_with(&c, false);
	assert_int_equal(px_augment(s, SX_HOLES, PAGE, &au), -EINVAL);
	sx_free(s);

	/* more pages than free frames: the reclaimer makes room page by page */
	c.hw.epc_bytes = 64 * PAGE;
	c.low_watermark = 4;
	c.high_watermark = 8;
	s = px_new_cfg(&c);
	assert_int_equal(px_augment(s, SX_HOLES, 100 * PAGE, &au), 0);
	assert_int_equal(au.count, 100 * PAGE);
	struct emu_reclaim_stats rs;
	emu_reclaim_stats(s->emu, &rs);
	assert_true(rs.ewb > 0);
	for (uint64_t off = SX_HOLES; off < SX_HOLES + 100 * PAGE; off += PAGE)
		assert_non_null(sx_page(s, off));
	sx_free(s);

	/* v1/v2: EAUG'd max RW as on a fault */
	c = px_cfg(EMU_POLICY_V2);
	c.switches.augment = true;
	s = px_new_cfg(&c);
	assert_int_equal(px_augment(s, SX_HOLES, PAGE, &au), 0);
	assert_int_equal(sx_page(s, SX_HOLES)->vm_max_prot_bits, RW_);
	assert_int_equal(sx_page(s, SX_HOLES)->vm_run_prot_bits, RW_);
	sx_free(s);
}

static void test_switch_populate(void **state)
{
	(void)state;
	struct emu_config c = px_cfg(EMU_POLICY_UPSTREAM);
	c.switches.populate_on_mmap = true;
	struct sx *s = px_new_cfg(&c);

	uint32_t nr = epc_nr_free(s->emu);
	assert_ptr_equal(px_map(s, SX_HOLES, 8 * PAGE, PROT_RW, MAP_POPULATE),
			 (void *)(uintptr_t)sx_addr(s, SX_HOLES));
	assert_int_equal(epc_nr_free(s->emu), nr - 8);
	for (uint64_t off = SX_HOLES; off < SX_HOLES + 8 * PAGE; off += PAGE) {
		assert_true(sx_epcm(s, off).pending);
		assert_int_equal(px_pte(s, off), PROT_RW);
	}
	assert_null(sx_page(s, SX_HOLES + 8 * PAGE));
	/* EACCEPT needs no fault at all */
	assert_int_equal(px_op(s, PX_EACCEPT, SX_HOLES, REG_PT | RW_ | SGX_SECINFO_PENDING), SGX_SUCCESS);
	/* without MAP_POPULATE, or PROT_NONE: nothing; existing pages: no PTE */
	nr = epc_nr_free(s->emu);
	assert_ptr_not_equal(px_map(s, SX_HOLES + 8 * PAGE, 2 * PAGE, PROT_RW, 0), MAP_FAILED);
	assert_ptr_not_equal(px_map(s, SX_HOLES + 10 * PAGE, 2 * PAGE, PROT_NONE, MAP_POPULATE), MAP_FAILED);
	assert_ptr_not_equal(px_map(s, P_DATA, PAGE, PROT_RW, MAP_POPULATE), MAP_FAILED);
	assert_int_equal(epc_nr_free(s->emu), nr);
	assert_int_equal(px_pte(s, P_DATA), -1);
	sx_free(s);

	/* before INIT, without the switch, under sgx1: MAP_POPULATE does nothing */
	s = sx_new_with(&c, false);
	nr = epc_nr_free(s->emu);
	assert_ptr_not_equal(px_map(s, SX_HOLES, 2 * PAGE, PROT_RW, MAP_POPULATE), MAP_FAILED);
	assert_int_equal(epc_nr_free(s->emu), nr);
	sx_free(s);
	for (int i = 0; i < 2; i++) {
		c = px_cfg(i ? EMU_POLICY_SGX1 : EMU_POLICY_UPSTREAM);
		c.switches.populate_on_mmap = i;
		s = px_new_cfg(&c);
		nr = epc_nr_free(s->emu);
		assert_ptr_not_equal(px_map(s, SX_HOLES, 2 * PAGE, PROT_RW, MAP_POPULATE), MAP_FAILED);
		assert_int_equal(epc_nr_free(s->emu), nr);
		assert_null(sx_page(s, SX_HOLES));
		sx_free(s);
	}

	/* v2: the populated PTEs are VMA ∩ run */
	c = px_cfg(EMU_POLICY_V2);
	c.switches.populate_on_mmap = true;
	s = px_new_cfg(&c);
	assert_ptr_not_equal(px_map(s, SX_HOLES, PAGE, PROT_RWX, MAP_POPULATE), MAP_FAILED);
	assert_int_equal(px_pte(s, SX_HOLES), PROT_RW);
	sx_free(s);
}

/* ETRACK rounds (the SECS's epoch) per call, per page and with the switch. */
static void test_switch_etrack_per_ioctl(void **state)
{
	(void)state;
	for (int sw = 0; sw < 2; sw++) {
		const uint64_t per = sw ? 1 : 4;
		struct emu_config c = px_cfg(EMU_POLICY_UPSTREAM);
		c.switches.etrack_per_ioctl = sw;
		struct sx *s = px_new_cfg(&c);
		struct sgx_enclave_restrict_permissions rp;
		struct sgx_enclave_modify_types mt;

		/* a thread of the process on an LP of its own: each round IPIs it */
		struct emu_thread *t = emu_thread_create(s->proc);
		assert_non_null(t);
		struct emu_counters c0, c1;
		emu_counters_read(s->emu, &c0);
		uint64_t epoch = sx_epoch(s);
		assert_int_equal(sx_restrict(s, P_DATA, 4 * PAGE, R_, &rp), 0);
		assert_int_equal(rp.count, 4 * PAGE);
		assert_int_equal(sx_epoch(s), epoch + per);
		emu_counters_read(s->emu, &c1);
		assert_int_equal(c1.etracks - c0.etracks, per);
		assert_int_equal(c1.ipis - c0.ipis, per);
		assert_int_equal(c1.ipi_targets - c0.ipi_targets, per);
		assert_int_equal(c1.encls[SGX_EMODPR] - c0.encls[SGX_EMODPR], 4);
		emu_thread_destroy(t);
		for (uint64_t off = P_DATA; off < P_DATA + 4 * PAGE; off += PAGE)
			assert_int_equal(px_op(s, PX_EACCEPT, off, REG_PT | R_ | SGX_SECINFO_PR), SGX_SUCCESS);
		/* an error mid-way (a hole): the pages done are still tracked */
		sx_augment(s, SX_HOLES, true);
		sx_augment(s, SX_HOLES + PAGE, true);
		epoch = sx_epoch(s);
		assert_int_equal(sx_restrict(s, SX_HOLES, 3 * PAGE, R_, &rp), -EFAULT);
		assert_int_equal(rp.count, 2 * PAGE);
		assert_int_equal(sx_epoch(s), epoch + (sw ? 1 : 2));
		assert_int_equal(px_op(s, PX_EACCEPT, SX_HOLES, REG_PT | R_ | SGX_SECINFO_PR), SGX_SUCCESS);
		assert_int_equal(px_op(s, PX_EACCEPT, SX_HOLES + PAGE, REG_PT | R_ | SGX_SECINFO_PR), SGX_SUCCESS);
		/* a failure on the first page: nothing to track */
		epoch = sx_epoch(s);
		assert_int_equal(sx_restrict(s, SX_TCS2, PAGE, R_, &rp), -EINVAL);
		assert_int_equal(sx_epoch(s), epoch);
		/* MODIFY_TYPES too */
		epoch = sx_epoch(s);
		assert_int_equal(sx_modt(s, P_DATA, 4 * PAGE, SGX_PT_TRIM, &mt), 0);
		assert_int_equal(mt.count, 4 * PAGE);
		assert_int_equal(sx_epoch(s), epoch + per);
		assert_int_equal(sx_page(s, P_DATA + 3 * PAGE)->type, SGX_PT_TRIM);
		assert_int_equal(px_op(s, PX_EACCEPT, P_DATA, SGX_SECINFO_PT(SGX_PT_TRIM) | SGX_SECINFO_MODIFIED),
				 SGX_SUCCESS);
		sx_free(s);

		/* v1's MODIFY, reset's RESET, mprotect-emodpr's mprotect */
		static const enum emu_policy ps[] = { EMU_POLICY_V1, EMU_POLICY_RESET, EMU_POLICY_MPROTECT_EMODPR };
		for (size_t i = 0; i < 3; i++) {
			c = px_cfg(ps[i]);
			c.switches.etrack_per_ioctl = sw;
			s = px_new_cfg(&c);
			struct sgx2emu_modify_permissions mp;
			struct sgx2emu_reset_permissions rs;
			epoch = sx_epoch(s);
			if (ps[i] == EMU_POLICY_V1)
				assert_int_equal(px_modify(s, P_DATA, 4 * PAGE, R_, &mp), 0);
			else if (ps[i] == EMU_POLICY_RESET)
				assert_int_equal(px_reset(s, P_DATA, 4 * PAGE, &rs), 0);
			else
				assert_int_equal(px_mprotect(s, P_DATA, 4 * PAGE, PROT_READ), 0);
			assert_int_equal(sx_epoch(s), epoch + per);
			uint64_t rights = ps[i] == EMU_POLICY_RESET ? 0 : R_;
			for (uint64_t off = P_DATA; off < P_DATA + 4 * PAGE; off += PAGE)
				assert_int_equal(px_op(s, PX_EACCEPT, off, REG_PT | rights | SGX_SECINFO_PR), SGX_SUCCESS);
			sx_free(s);
		}
	}
}

static void test_switch_fault_around(void **state)
{
	(void)state;
	struct emu_config c = px_cfg(EMU_POLICY_UPSTREAM);
	c.switches.fault_around = 4;
	struct sx *s = px_new_cfg(&c);
	const uint64_t h = SX_HOLES;

	/* one fault, four pages EAUGed and mapped */
	uint32_t nr = epc_nr_free(s->emu);
	assert_int_equal(sx_fault(s, h, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(epc_nr_free(s->emu), nr - 4);
	for (uint64_t off = h; off < h + 4 * PAGE; off += PAGE) {
		assert_true(sx_epcm(s, off).pending);
		assert_int_equal(px_pte(s, off), PROT_RW);
	}
	assert_null(sx_page(s, h + 4 * PAGE));
	/* pages that exist in the window are skipped */
	assert_int_equal(sx_fault(s, h + 7 * PAGE, PF_W), DRV_FAULT_NOPAGE);   /* 7..10 */
	nr = epc_nr_free(s->emu);
	assert_int_equal(sx_fault(s, h + 5 * PAGE, 0), DRV_FAULT_NOPAGE);       /* 5, 6 */
	assert_int_equal(epc_nr_free(s->emu), nr - 2);
	assert_null(sx_page(s, h + 4 * PAGE));
	assert_null(sx_page(s, h + 11 * PAGE));
	/* never beyond the VMA ... */
	assert_int_equal(px_mprotect(s, h + 0x20 * PAGE, PAGE, PROT_READ), 0);
	nr = epc_nr_free(s->emu);
	assert_int_equal(sx_fault(s, h + 0x1e * PAGE, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(epc_nr_free(s->emu), nr - 2);
	assert_null(sx_page(s, h + 0x20 * PAGE));
	/* ... nor the enclave */
	nr = epc_nr_free(s->emu);
	assert_int_equal(sx_fault(s, SX_SIZE - 2 * PAGE, PF_W), DRV_FAULT_NOPAGE);
	assert_int_equal(epc_nr_free(s->emu), nr - 2);
	/* a page fault from inside: the enclave sees one EAUG fault for four */
	assert_int_equal(px_op(s, PX_EACCEPT, h + 0x40 * PAGE, REG_PT | RW_ | SGX_SECINFO_PENDING), SGX_SUCCESS);
	assert_non_null(sx_page(s, h + 0x43 * PAGE));
	assert_null(sx_page(s, h + 0x44 * PAGE));
	sx_free(s);

	/* 0 and 1 mean one page; v2's PTEs are VMA ∩ run; sgx1 EAUGs nothing */
	static const struct {
		enum emu_policy p;
		unsigned fa;
		uint32_t pages;
		int pte;
	} k[] = {
		{ EMU_POLICY_UPSTREAM, 0, 1, PROT_RWX },
		{ EMU_POLICY_UPSTREAM, 1, 1, PROT_RWX },
		{ EMU_POLICY_V2, 3, 3, PROT_RW },
		{ EMU_POLICY_SGX1, 3, 0, -1 },
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		c = px_cfg(k[i].p);
		c.switches.fault_around = k[i].fa;
		s = px_new_cfg(&c);
		assert_int_equal(px_mprotect(s, h, 8 * PAGE, PROT_RWX), 0);
		nr = epc_nr_free(s->emu);
		assert_int_equal(sx_fault(s, h, PF_W), k[i].pages ? DRV_FAULT_NOPAGE : DRV_FAULT_SIGBUS);
		assert_int_equal(epc_nr_free(s->emu), nr - k[i].pages);
		assert_int_equal(px_pte(s, h), k[i].pte);
		if (k[i].pages)
			assert_int_equal(px_pte(s, h + (k[i].pages - 1) * PAGE), k[i].pte);
		assert_null(sx_page(s, h + k[i].pages * PAGE));
		sx_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed000_v2),
		cmocka_unit_test(test_seed000_upstream),
		cmocka_unit_test(test_seed001_v1),
		cmocka_unit_test(test_eaug_max_per_policy),
		cmocka_unit_test(test_seed002_every_policy),
		cmocka_unit_test(test_ioctl_availability),
		cmocka_unit_test(test_sgx1_no_eaug),
		cmocka_unit_test(test_set_policy),
		cmocka_unit_test(test_policy_names),
		cmocka_unit_test(test_v2_restrict_relax_rules),
		cmocka_unit_test(test_reset_policy),
		cmocka_unit_test(test_mprotect_emodpr),
		cmocka_unit_test(test_switch_augment),
		cmocka_unit_test(test_switch_populate),
		cmocka_unit_test(test_switch_etrack_per_ioctl),
		cmocka_unit_test(test_switch_fault_around),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
