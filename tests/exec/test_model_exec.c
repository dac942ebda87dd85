/*
 * Model-mode enclave execution (src/exec) on the hardware fixture's standard
 * enclave (tests/common/fixture.h): coroutines, the encl_* API, AEX and
 * ERESUME retrying the faulting access, nested entry at CSSA = 1, #UD where
 * no code is registered, the first fetch, page-crossing accesses, a TCS
 * resumed by another thread.  The process, mm and threads are built by hand
 * around the fixture's machine and page table (the driver is not involved
 * except drv_handle_fault, which sees an mm with no VMAs: only ambient memory
 * faults in), so every EPCM and PTE state comes from raw leaves.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "common/fixture.h"
#include "driver/driver.h"
#include "exec/exec.h"
#include "sgx2emu/enclave.h"

struct xf {
	struct fx *f;
	struct emu emu;
	struct drv_mm mm;
	struct emu_proc proc;
	struct emu_thread t[2];
	struct sgx_enclave_run run;
};

static struct xf *X;   /* for the enclave functions */

static int setup(void **state)
{
	struct xf *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	x->f = fx_new(NULL);
	fx_build_standard(x->f, true);
	/* The driver's EPC allocator believes every frame free (the fixture
	 * hands frames out itself), so the fault path never reclaims. */
	emu_config_defaults(&x->emu.cfg);
	x->emu.m = x->f->m;
	assert_int_equal(epc_init(&x->emu), 0);
	x->mm.emu = &x->emu;
	x->mm.pt = x->f->pt;
	pthread_rwlock_init(&x->mm.lock, NULL);
	pthread_mutex_init(&x->mm.notif_lock, NULL);
	atomic_init(&x->mm.users, 1);
	atomic_init(&x->mm.count, 1);
	x->proc.emu = &x->emu;
	x->proc.mm = &x->mm;
	for (unsigned i = 0; i < 2; i++) {
		x->t[i].proc = &x->proc;
		x->t[i].lp = hw_lp_get(x->f->m, i);
		x->t[i].lp_index = i;
	}
	x->run.tcs = FX_TCS;
	X = x;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct xf *x = *state;
	exec_proc_release(&x->proc);
	pthread_rwlock_destroy(&x->mm.lock);
	pthread_mutex_destroy(&x->mm.notif_lock);
	epc_destroy(&x->emu);
	fx_free(x->f);
	free(x);
	X = NULL;
	return 0;
}

static int enter(struct xf *x, unsigned t, uint64_t tcs, unsigned function, unsigned long rdi)
{
	x->run.tcs = tcs;
	return emu_enter_enclave(&x->t[t], rdi, 0, 0, function, 0, 0, &x->run);
}

static void clear_exception(struct xf *x)
{
	x->run.exception_vector = 0;
	x->run.exception_error_code = 0;
	x->run.exception_addr = 0;
}

#define assert_eexit(x) do { \
		assert_int_equal((x)->run.function, SGX_EEXIT); \
		assert_int_equal((x)->run.exception_vector, 0); \
		assert_int_equal((x)->run.exception_error_code, 0); \
		assert_int_equal((x)->run.exception_addr, 0); \
	} while (0)
#define assert_exception(x, fn, vec, ec, addr) do { \
		assert_int_equal((x)->run.function, (fn)); \
		assert_int_equal((x)->run.exception_vector, (vec)); \
		assert_int_equal((x)->run.exception_error_code, (ec)); \
		assert_int_equal((x)->run.exception_addr, (addr)); \
	} while (0)

static void reg(struct xf *x, encl_entry_fn fn)
{
	assert_int_equal(emu_register_entry(&x->proc, FX_CODE, fn), 0);
}

/* Make la's PTE RWX so only the EPCM decides (the fixture maps EPCM rights). */
static void pte_rwx(struct xf *x, uint64_t la)
{
	assert_int_equal(hw_pt_protect(x->f->pt, la, HW_PROT_R | HW_PROT_W | HW_PROT_X), 0);
}

static uint32_t cssa_of(struct xf *x, uint64_t tcs)
{
	const struct sgx_tcs *p = (const void *)hw_epc_page(x->f->m, fx_frame_of_la(x->f, tcs));
	return p->cssa;
}

/* ---- EEXIT: registers, run fields ---- */

static unsigned long calls;
static uint64_t seen_rax, seen_rbx, seen_rcx, seen_rdi, seen_base, seen_tcs;

static void fn_regs(struct encl_ctx *ctx)
{
	struct hw_regs *r = encl_regs(ctx);
	calls++;
	seen_rax = r->rax;
	seen_rbx = r->rbx;
	seen_rcx = r->rcx;
	seen_rdi = r->rdi;
	seen_base = encl_base(ctx);
	seen_tcs = encl_tcs(ctx);
	encl_write64(ctx, FX_DATA, r->rdi + 1);
	r->rdi = encl_read64(ctx, FX_DATA) * 2;
	r->rsi = 0x5151;
}

static void test_eexit_registers(void **state)
{
	struct xf *x = *state;
	reg(x, fn_regs);
	calls = 0;
	x->run.exception_vector = 0x77;  /* left alone by EEXIT */
	x->run.exception_addr = 0x1234;
	assert_int_equal(emu_enter_enclave(&x->t[0], 20, 0x22, 0x33, SGX_EENTER, 0x88, 0x99, &x->run), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(x->run.function, SGX_EEXIT);
	assert_int_equal(x->run.exception_vector, 0x77);
	assert_int_equal(x->run.exception_addr, 0x1234);
	assert_int_equal(seen_rax, 0);            /* CSSA */
	assert_int_equal(seen_rbx, FX_TCS);
	assert_int_equal(seen_rcx, EXEC_EXIT_IP);
	assert_int_equal(seen_rdi, 20);
	assert_int_equal(seen_base, FX_BASE);
	assert_int_equal(seen_tcs, FX_TCS);
	struct hw_regs *r = hw_lp_regs(x->t[0].lp);
	assert_false(hw_lp_in_enclave(x->t[0].lp));
	assert_int_equal(r->rax, SGX_EEXIT);
	assert_int_equal(r->rbx, EXEC_EXIT_IP);   /* EEXIT target */
	assert_int_equal(r->rcx, EXEC_AEP);       /* EEXIT: RCX = AEP */
	assert_int_equal(r->rip, EXEC_EXIT_IP);
	assert_int_equal(r->rdi, 42);
	assert_int_equal(r->rsi, 0x5151);
	assert_int_equal(r->rdx, 0x33);
	assert_int_equal(r->r8, 0x88);
	assert_int_equal(r->r9, 0x99);
	assert_int_equal(cssa_of(x, FX_TCS), 0);
}

/* ---- AEX on an EPCM write fault, reported; ERESUME retries the store ---- */

static void fn_store(struct encl_ctx *ctx)
{
	calls++;
	encl_write64(ctx, FX_CODE + 8, encl_regs(ctx)->rdi);
	calls += 100;
}

static void test_epcm_fault_reported_and_retried(void **state)
{
	struct xf *x = *state;
	reg(x, fn_store);
	pte_rwx(x, FX_CODE);
	calls = 0;
	assert_int_equal(enter(x, 0, FX_TCS, SGX_EENTER, 0xabc), 0);
	assert_exception(x, SGX_ERESUME, SGX_VEC_PF, 0x8007, FX_CODE);
	assert_int_equal(calls, 1);
	assert_int_equal(cssa_of(x, FX_TCS), 1);
	/* Still read-only: the same fault again, the code has not moved on. */
	clear_exception(x);
	assert_int_equal(enter(x, 0, FX_TCS, SGX_ERESUME, 0), 0);
	assert_exception(x, SGX_ERESUME, SGX_VEC_PF, 0x8007, FX_CODE);
	assert_int_equal(calls, 1);
	assert_int_equal(cssa_of(x, FX_TCS), 1);
}

/* ---- EMODPE from the second TCS, then ERESUME of the first ---- */

static void fn_by_tcs(struct encl_ctx *ctx)
{
	calls++;
	if (encl_tcs(ctx) == FX_TCS2) {
		/* SECINFO on "the stack" of TCS #2 (its data page), 64-aligned */
		uint64_t si = FX_DATA + 0x1000;
		struct sgx_secinfo s;
		memset(&s, 0, sizeof(s));
		s.flags = SGX_SECINFO_R | SGX_SECINFO_W;
		encl_write(ctx, si, &s, sizeof(s));
		encl_regs(ctx)->rdi = encl_enclu(ctx, SGX_EMODPE, si, FX_DATA + 0x2000, 0);
		return;
	}
	encl_write64(ctx, FX_DATA + 0x2000, 0x1122334455667788ull);
	encl_regs(ctx)->rdi = encl_read64(ctx, FX_DATA + 0x2000);
}

/* EMODPR(R) + ETRACK from the kernel side and EACCEPT(R|PR) from TCS #1's
 * code: the page becomes read-only in the EPCM. */
static void restrict_to_r(struct xf *x, uint64_t la)
{
	static struct sgx_secinfo si __attribute__((aligned(64)));
	si = (struct sgx_secinfo){ .flags = SGX_SECINFO_R };
	uint8_t *host = hw_epc_page(x->f->m, fx_frame_of_la(x->f, la));
	assert_true(sgx_ok(hw_encls(x->f->lp, SGX_EMODPR, fx_addr(&si), fx_addr(host), 0)));
	assert_true(sgx_ok(hw_encls(x->f->lp, SGX_ETRACK, 0, fx_addr(x->f->secs), 0)));
	assert_true(sgx_ok(fx_enter(x->f, x->f->lp, FX_TCS)));
	assert_true(sgx_ok(fx_eaccept(x->f, x->f->lp, la, SGX_SECINFO_R | SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_PR)));
	assert_true(sgx_ok(fx_exit(x->f, x->f->lp)));
	pte_rwx(x, la);
}

/*
 * The common start of the tests below: FX_DATA + 0x2000 becomes read-only
 * (restrict_to_r), fn is registered and calls reset, and TCS #1 is entered
 * on thread 0 with rdi, rsi.  fn's store to that page must end the entry
 * with the #PF (EPCM write fault 0x8007) reported for ERESUME.  Asserts
 * every step; returns nothing.
 */
static void enter_until_write_fault(struct xf *x, encl_entry_fn fn, unsigned long rdi, unsigned long rsi)
{
	restrict_to_r(x, FX_DATA + 0x2000);
	reg(x, fn);
	calls = 0;
	x->run.tcs = FX_TCS;
	assert_int_equal(emu_enter_enclave(&x->t[0], rdi, rsi, 0, SGX_EENTER, 0, 0, &x->run), 0);
	assert_exception(x, SGX_ERESUME, SGX_VEC_PF, 0x8007, FX_DATA + 0x2000);
}

static void test_eresume_after_emodpe_from_other_tcs(void **state)
{
	struct xf *x = *state;
	enter_until_write_fault(x, fn_by_tcs, 0, 0);
	clear_exception(x);
	assert_int_equal(enter(x, 0, FX_TCS2, SGX_EENTER, 0), 0);
	assert_eexit(x);
	assert_int_equal(hw_lp_regs(x->t[0].lp)->rdi, SGX_EMODPE);   /* RAX after EMODPE: the leaf */
	assert_true(fx_epcm(x->f, FX_DATA + 0x2000).w);
	assert_int_equal(enter(x, 0, FX_TCS, SGX_ERESUME, 0), 0);
	assert_eexit(x);
	assert_int_equal(hw_lp_regs(x->t[0].lp)->rdi, 0x1122334455667788ull);
	assert_int_equal(calls, 2);
	assert_int_equal(cssa_of(x, FX_TCS), 0);
}

/* ---- Nested entry: the exception handler runs at CSSA = 1 ---- */

static uint64_t handler_exitinfo, handler_maddr, handler_errcd;

static void fn_nested(struct encl_ctx *ctx)
{
	struct hw_regs *r = encl_regs(ctx);
	calls++;
	if (r->rax == 1) {
		/* SSA frame 0 of TCS #1 is FX_SSA; GPRSGX at its end, EXINFO before. */
		uint64_t gpr = FX_SSA + SGX_PAGE_SIZE - sizeof(struct sgx_gprsgx);
		struct sgx_gprsgx g;
		struct sgx_exinfo e;
		encl_read(ctx, gpr, &g, sizeof(g));
		encl_read(ctx, gpr - sizeof(e), &e, sizeof(e));
		handler_exitinfo = g.exitinfo;
		handler_maddr = e.maddr;
		handler_errcd = e.errcd;
		struct sgx_secinfo s;
		memset(&s, 0, sizeof(s));
		s.flags = SGX_SECINFO_R | SGX_SECINFO_W;
		encl_write(ctx, FX_DATA + 0x1000, &s, sizeof(s));
		encl_enclu(ctx, SGX_EMODPE, FX_DATA + 0x1000, FX_DATA + 0x2000, 0);
		return;
	}
	encl_write64(ctx, FX_DATA + 0x2008, 0xfeed);
	r = encl_regs(ctx);
	r->rdi = encl_read64(ctx, FX_DATA + 0x2008);
}

static void test_nested_entry_cssa1(void **state)
{
	struct xf *x = *state;
	enter_until_write_fault(x, fn_nested, 0, 0);
	assert_int_equal(cssa_of(x, FX_TCS), 1);
	clear_exception(x);
	assert_int_equal(enter(x, 0, FX_TCS, SGX_EENTER, 0), 0);
	assert_eexit(x);
	assert_int_equal(calls, 2);
	assert_int_equal(handler_exitinfo, SGX_EXITINFO_VALID | (SGX_EXITINFO_TYPE_HW << SGX_EXITINFO_TYPE_SHIFT) | 14);
	assert_int_equal(handler_maddr, FX_DATA + 0x2008);   /* EXINFO keeps the full address */
	assert_int_equal(handler_errcd, 0x8007);
	assert_int_equal(cssa_of(x, FX_TCS), 1);   /* EEXIT of the handler leaves CSSA */
	assert_int_equal(enter(x, 0, FX_TCS, SGX_ERESUME, 0), 0);
	assert_eexit(x);
	assert_int_equal(hw_lp_regs(x->t[0].lp)->rdi, 0xfeed);
	assert_int_equal(cssa_of(x, FX_TCS), 0);
	assert_int_equal(calls, 2);
}

/* ---- Interrupts: transparent ---- */

static void fn_interrupted(struct encl_ctx *ctx)
{
	calls++;
	encl_write64(ctx, FX_DATA, 1);
	hw_lp_post_interrupt(X->t[0].lp);   /* an IPI arrives */
	encl_write64(ctx, FX_DATA + 8, 2);  /* taken before this store: AEX, ERESUME, store */
	encl_regs(ctx)->rdi = encl_read64(ctx, FX_DATA) + encl_read64(ctx, FX_DATA + 8);
}

static void test_interrupt_is_transparent(void **state)
{
	struct xf *x = *state;
	reg(x, fn_interrupted);
	calls = 0;
	uint64_t aex0 = hw_lp_stats(x->t[0].lp)->aex;
	assert_int_equal(enter(x, 0, FX_TCS, SGX_EENTER, 0), 0);
	assert_eexit(x);
	assert_int_equal(calls, 1);
	assert_int_equal(hw_lp_regs(x->t[0].lp)->rdi, 3);
	assert_int_equal(hw_lp_stats(x->t[0].lp)->aex, aex0 + 1);
	assert_int_equal(cssa_of(x, FX_TCS), 0);
}

/* ---- Ambient memory: the kernel maps it on the first fault ---- */

static void fn_ambient(struct encl_ctx *ctx)
{
	uint64_t op = encl_regs(ctx)->rdi;
	uint64_t v = encl_read64(ctx, op);
	encl_write64(ctx, op + 8, v * 3);
}

static void test_ambient_pointer_fault_is_transparent(void **state)
{
	struct xf *x = *state;
	reg(x, fn_ambient);
	uint64_t op[2] = { 14, 0 };
	assert_int_equal(enter(x, 0, FX_TCS, SGX_EENTER, (uintptr_t)op), 0);
	assert_eexit(x);
	assert_int_equal(op[1], 42);
}

/* ---- No code registered: #UD ---- */

static void test_unregistered_entry_is_ud(void **state)
{
	struct xf *x = *state;
	assert_int_equal(enter(x, 0, FX_TCS, SGX_EENTER, 0), 0);
	assert_exception(x, SGX_ERESUME, SGX_VEC_UD, 0, 0);
	assert_int_equal(cssa_of(x, FX_TCS), 1);
	assert_int_equal(enter(x, 0, FX_TCS, SGX_ERESUME, 0), 0);
	assert_exception(x, SGX_ERESUME, SGX_VEC_UD, 0, 0);
	assert_int_equal(cssa_of(x, FX_TCS), 1);
}

/* ---- The first instruction is fetched ---- */

static void fn_count(struct encl_ctx *ctx)
{
	(void)ctx;
	calls++;
}

static void test_entry_fetch_fault(void **state)
{
	struct xf *x = *state;
	reg(x, fn_count);
	calls = 0;
	assert_int_equal(hw_pt_protect(x->f->pt, FX_CODE, HW_PROT_R), 0);   /* NX PTE */
	assert_int_equal(enter(x, 0, FX_TCS, SGX_EENTER, 0), 0);
	assert_exception(x, SGX_ERESUME, SGX_VEC_PF, SGX_PFEC_P | SGX_PFEC_U | SGX_PFEC_I, FX_CODE);
	assert_int_equal(calls, 0);
	assert_int_equal(hw_pt_protect(x->f->pt, FX_CODE, HW_PROT_R | HW_PROT_X), 0);
	assert_int_equal(enter(x, 0, FX_TCS, SGX_ERESUME, 0), 0);
	assert_int_equal(x->run.function, SGX_EEXIT);
	assert_int_equal(calls, 1);
}

/* ---- Accesses that cross a page ---- */

static void fn_cross(struct encl_ctx *ctx)
{
	uint64_t la = encl_regs(ctx)->rdi;
	uint8_t buf[40];
	memset(buf, 0xab, sizeof(buf));
	size_t len = encl_regs(ctx)->rsi;
	encl_write(ctx, la, buf, len);
}

static uint8_t epc_byte(struct xf *x, uint64_t la)
{
	return hw_epc_page(x->f->m, fx_frame_of_la(x->f, la))[la & 0xfff];
}

static void test_short_access_across_pages_is_atomic(void **state)
{
	struct xf *x = *state;
	/* 8 bytes from 4 below the read-only page: nothing is written */
	enter_until_write_fault(x, fn_cross, FX_DATA + 0x2000 - 4, 8);
	assert_int_not_equal(epc_byte(x, FX_DATA + 0x2000 - 4), 0xab);
}

static void test_long_access_progresses_by_page(void **state)
{
	struct xf *x = *state;
	enter_until_write_fault(x, fn_cross, FX_DATA + 0x2000 - 4, 40);
	assert_int_equal(epc_byte(x, FX_DATA + 0x2000 - 4), 0xab);   /* first page done */
	assert_int_not_equal(epc_byte(x, FX_DATA + 0x2000), 0xab);
}

/* ---- ENCLU results ---- */

static void fn_eaccept_rc(struct encl_ctx *ctx)
{
	struct sgx_secinfo s;
	memset(&s, 0, sizeof(s));
	s.flags = SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_PENDING;
	encl_write(ctx, FX_DATA + 0x1000, &s, sizeof(s));
	/* an added page is not pending: SGX_PAGE_ATTRIBUTES_MISMATCH, ZF */
	encl_regs(ctx)->rdi = encl_enclu(ctx, SGX_EACCEPT, FX_DATA + 0x1000, FX_DATA, 0);
	encl_regs(ctx)->rsi = encl_regs(ctx)->rflags & HW_RFLAGS_ZF;
}

static void test_enclu_returns_rax(void **state)
{
	struct xf *x = *state;
	reg(x, fn_eaccept_rc);
	assert_int_equal(enter(x, 0, FX_TCS, SGX_EENTER, 0), 0);
	assert_eexit(x);
	assert_int_equal(hw_lp_regs(x->t[0].lp)->rdi, SGX_PAGE_ATTRIBUTES_MISMATCH);
	assert_int_equal(hw_lp_regs(x->t[0].lp)->rsi, HW_RFLAGS_ZF);
}

/* ---- encl_eexit ---- */

static void fn_eexit_early(struct encl_ctx *ctx)
{
	calls++;
	encl_regs(ctx)->rdi = 7;
	encl_eexit(ctx, 0x600000);
}

static void fn_eexit_noncanonical(struct encl_ctx *ctx)
{
	calls++;
	encl_eexit(ctx, 0x8000000000000000ull);
}

static void test_encl_eexit(void **state)
{
	struct xf *x = *state;
	reg(x, fn_eexit_early);
	calls = 0;
	assert_int_equal(enter(x, 0, FX_TCS, SGX_EENTER, 0), 0);
	assert_int_equal(x->run.function, SGX_EEXIT);
	assert_int_equal(calls, 1);
	assert_int_equal(hw_lp_regs(x->t[0].lp)->rip, 0x600000);
	assert_int_equal(hw_lp_regs(x->t[0].lp)->rdi, 7);
	/* EEXIT to a non-canonical target: #GP inside the enclave */
	reg(x, fn_eexit_noncanonical);
	assert_int_equal(enter(x, 0, FX_TCS, SGX_EENTER, 0), 0);
	assert_exception(x, SGX_ERESUME, SGX_VEC_GP, 0, 0);
	assert_int_equal(cssa_of(x, FX_TCS), 1);
}

/* ---- Many entries: stacks are reused and freed ---- */

static void test_many_entries(void **state)
{
	struct xf *x = *state;
	reg(x, fn_count);
	calls = 0;
	for (unsigned i = 0; i < 2000; i++) {
		assert_int_equal(enter(x, i & 1, i & 2 ? FX_TCS2 : FX_TCS, SGX_EENTER, 0), 0);
		assert_int_equal(x->run.function, SGX_EEXIT);
	}
	assert_int_equal(calls, 2000);
	struct exec_proc *xp = atomic_load(&x->proc.exec);
	assert_true(xp->nr_stacks >= 1 && xp->nr_stacks <= EXEC_STACK_CACHE);
}

/* ---- A TCS suspended on one thread, resumed on another ---- */

static void fn_migrate(struct encl_ctx *ctx)
{
	calls++;
	encl_write64(ctx, FX_DATA + 0x2000, 5);
	encl_regs(ctx)->rdi = hw_lp_id(ctx->lp);
}

struct resumer {
	struct xf *x;
	int ret;
};

static void *resume_thread(void *arg)
{
	struct resumer *r = arg;
	emu_thread_bind(&r->x->t[1]);
	r->ret = emu_vdso_sgx_enter_enclave(0, 0, 0, SGX_ERESUME, 0, 0, &r->x->run);
	return NULL;
}

static void test_resume_on_another_thread(void **state)
{
	struct xf *x = *state;
	enter_until_write_fault(x, fn_migrate, 0, 0);
	/* the kernel gives write access back (EMODPE needs the enclave; use TCS #2) */
	reg(x, fn_by_tcs);
	assert_int_equal(enter(x, 0, FX_TCS2, SGX_EENTER, 0), 0);
	assert_int_equal(x->run.function, SGX_EEXIT);
	reg(x, fn_migrate);
	clear_exception(x);
	calls = 0;
	x->run.tcs = FX_TCS;
	struct resumer r = { .x = x, .ret = -1 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, resume_thread, &r), 0);
	pthread_join(th, NULL);
	assert_int_equal(r.ret, 0);
	assert_eexit(x);
	assert_int_equal(hw_lp_regs(x->t[1].lp)->rdi, 1);   /* finished on LP 1 */
	assert_int_equal(calls, 0);   /* continued, not restarted */
}

/* ---- Frames this layer did not save ---- */

static void test_foreign_frame_is_ud_and_stale_slot_replaced(void **state)
{
	struct xf *x = *state;
	struct hw_lp *lp = x->t[0].lp;
	reg(x, fn_count);
	calls = 0;
	/* An AEX taken by raw leaves, outside src/exec: CSSA = 1, no coroutine. */
	assert_true(sgx_ok(fx_enter(x->f, lp, FX_TCS)));
	struct sgx_result r = hw_lp_interrupt(lp);
	assert_true(r.aex);
	assert_int_equal(cssa_of(x, FX_TCS), 1);
	/* ERESUME restores RIP = BASE+OENTRY, but no suspended code is known
	 * there: #UD, not a fresh start of the registered function. */
	assert_int_equal(enter(x, 0, FX_TCS, SGX_ERESUME, 0), 0);
	assert_exception(x, SGX_ERESUME, SGX_VEC_UD, 0, 0);
	assert_int_equal(calls, 0);
	assert_int_equal(cssa_of(x, FX_TCS), 1);
	/* Raw ERESUME + EEXIT give frame 0 up behind exec's back: its slot is
	 * stale, and the next EENTER at level 0 replaces it. */
	hw_lp_regs(lp)->rip = FX_RETURN;
	assert_true(sgx_ok(hw_enclu(lp, SGX_ERESUME, FX_TCS, FX_AEP, 0)));
	assert_true(sgx_ok(fx_exit(x->f, lp)));
	assert_int_equal(cssa_of(x, FX_TCS), 0);
	clear_exception(x);
	assert_int_equal(enter(x, 0, FX_TCS, SGX_EENTER, 0), 0);
	assert_eexit(x);
	assert_int_equal(calls, 1);
	struct exec_proc *xp = atomic_load(&x->proc.exec);
	struct exec_tcs *xt = exec_tcs_get(xp, FX_TCS);
	for (unsigned i = 0; i < xt->nr_slots; i++)
		assert_null(xt->slots[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_eexit_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epcm_fault_reported_and_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eresume_after_emodpe_from_other_tcs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_entry_cssa1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_is_transparent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ambient_pointer_fault_is_transparent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregistered_entry_is_ud, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_fetch_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_access_across_pages_is_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_access_progresses_by_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enclu_returns_rax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encl_eexit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_on_another_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_frame_is_ud_and_stale_slot_replaced, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
