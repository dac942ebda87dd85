/*
 * emu_enter_enclave / emu_vdso_sgx_enter_enclave against the contract of
 * __vdso_sgx_enter_enclave (linux-driver.md §1.6, kernel-selftests.md §5.1),
 * on the selftests' enclave built by the conformance loader through the
 * driver: -EINVAL cases, EEXIT, exceptions on the ENCLU itself and inside the
 * enclave (PTE and EPCM faults), what the kernel handles invisibly (the first
 * touch of the TCS/SSA/op pages, EAUG on fault, interrupts), ERESUME retrying
 * the access, the user handler and its return value, determinism.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>

#include "common/fixture.h"
#include "sgx2emu/selftest.h"
#include "driver/driver.h"
#include "exec/exec.h"

#define MAGIC  0x1122334455667788ull
#define MAGIC2 0x8877665544332211ull

struct vf {
	struct emu *emu;
	struct emu_proc *proc;
	struct emu_thread *t;
	struct encl encl;
	struct sgx_enclave_run run;
	uint64_t data_start;
};

static struct vf *V;

static struct vf *vf_new(size_t epc_pages)
{
	struct vf *v = calloc(1, sizeof(*v));
	assert_non_null(v);
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	cfg.hw.epc_bytes = epc_pages * SGX_PAGE_SIZE;
	v->emu = emu_create(&cfg);
	assert_non_null(v->emu);
	v->proc = emu_proc_create(v->emu);
	assert_non_null(v->proc);
	v->t = emu_thread_create(v->proc);
	assert_non_null(v->t);
	emu_thread_bind(v->t);
	assert_true(setup_test_encl(v->proc, ENCL_HEAP_SIZE_DEFAULT, &v->encl));
	v->run.tcs = v->encl.encl_base;
	v->data_start = v->encl.encl_base + encl_get_data_offset(&v->encl) + 4096;
	return v;
}

static void vf_free(struct vf *v)
{
	encl_delete(&v->encl);
	emu_thread_bind(NULL);
	emu_thread_destroy(v->t);
	emu_proc_exit(v->proc);
	emu_destroy(v->emu);
	free(v);
}

static int setup(void **state)
{
	*state = V = vf_new(256);
	return 0;
}

static int teardown(void **state)
{
	vf_free(*state);
	V = NULL;
	return 0;
}

static int call(struct vf *v, void *op, unsigned function)
{
	return emu_enter_enclave(v->t, (uintptr_t)op, 0, 0, function, 0, 0, &v->run);
}

static void clear_exception(struct vf *v)
{
	v->run.exception_vector = 0;
	v->run.exception_error_code = 0;
	v->run.exception_addr = 0;
}

#define assert_eexit(v) do { \
		assert_int_equal((v)->run.function, SGX_EEXIT); \
		assert_int_equal((v)->run.exception_vector, 0); \
		assert_int_equal((v)->run.exception_error_code, 0); \
		assert_int_equal((v)->run.exception_addr, 0); \
	} while (0)
#define assert_exception(v, fn, vec, ec, addr) do { \
		assert_int_equal((v)->run.function, (fn)); \
		assert_int_equal((v)->run.exception_vector, (vec)); \
		assert_int_equal((v)->run.exception_error_code, (ec)); \
		assert_int_equal((v)->run.exception_addr, (addr)); \
	} while (0)

static void put_addr(struct vf *v, uint64_t addr, uint64_t value, unsigned function)
{
	struct encl_op_put_to_addr op = { { ENCL_OP_PUT_TO_ADDRESS }, value, addr };
	assert_int_equal(call(v, &op, function), 0);
}

static uint64_t get_addr(struct vf *v, uint64_t addr)
{
	struct encl_op_get_from_addr op = { { ENCL_OP_GET_FROM_ADDRESS }, 0, addr };
	assert_int_equal(call(v, &op, SGX_EENTER), 0);
	assert_eexit(v);
	return op.value;
}

static uint64_t eaccept(struct vf *v, uint64_t addr, uint64_t flags)
{
	struct encl_op_eaccept op = { { ENCL_OP_EACCEPT }, addr, flags, 0 };
	assert_int_equal(call(v, &op, SGX_EENTER), 0);
	assert_eexit(v);
	return op.ret;
}

static uint32_t tcs_cssa(struct vf *v, uint64_t tcs)
{
	void *host;
	unsigned prot;
	assert_true(hw_pt_lookup(v->proc->mm->pt, tcs, &host, &prot));
	return ((const struct sgx_tcs *)host)->cssa;
}

/* ---- EEXIT ---- */

static void test_eexit(void **state)
{
	struct vf *v = *state;
	uint64_t tcs = v->encl.encl_base;
	/* Nothing of the enclave is in the page table yet: EENTER's #PF on the
	 * TCS, the SSA frame, the op page are fixed by the kernel invisibly. */
	void *host;
	unsigned prot;
	assert_false(hw_pt_lookup(v->proc->mm->pt, tcs, &host, &prot));
	v->run.user_data = 0x77;
	v->run.exception_vector = 0x55;   /* EEXIT leaves these alone */
	v->run.exception_addr = 0x66;
	struct encl_op_put_to_buf put = { { ENCL_OP_PUT_TO_BUFFER }, MAGIC };
	assert_int_equal(emu_enter_enclave(v->t, (uintptr_t)&put, 0x5, 0x6, SGX_EENTER, 0x8, 0x9, &v->run), 0);
	assert_int_equal(v->run.function, SGX_EEXIT);
	assert_int_equal(v->run.exception_vector, 0x55);
	assert_int_equal(v->run.exception_addr, 0x66);
	assert_int_equal(v->run.user_data, 0x77);
	assert_int_equal(v->run.tcs, tcs);
	assert_true(hw_pt_lookup(v->proc->mm->pt, tcs, &host, &prot));
	/* Registers after EEXIT: RAX = EEXIT, RBX = the target (the return
	 * address RCX held at EENTER), RCX = AEP; the rest pass through. */
	struct hw_regs *r = hw_lp_regs(emu_thread_lp(v->t));
	assert_int_equal(r->rax, SGX_EEXIT);
	assert_int_equal(r->rbx, EXEC_EXIT_IP);
	assert_int_equal(r->rcx, EXEC_AEP);
	assert_int_equal(r->rip, EXEC_EXIT_IP);
	assert_int_equal(r->rdi, (uintptr_t)&put);
	assert_int_equal(r->rsi, 0x5);
	assert_int_equal(r->rdx, 0x6);
	assert_int_equal(r->r8, 0x8);
	assert_int_equal(r->r9, 0x9);
	assert_false(hw_lp_in_enclave(emu_thread_lp(v->t)));

	clear_exception(v);
	struct encl_op_get_from_buf get = { { ENCL_OP_GET_FROM_BUFFER }, 0 };
	assert_int_equal(call(v, &get, SGX_EENTER), 0);
	assert_eexit(v);
	assert_int_equal(get.value, MAGIC);
	/* TCS #2 runs on the other stack */
	v->run.tcs = tcs + 4096;
	struct encl_op_header nop = { ENCL_OP_NOP };
	assert_int_equal(call(v, &nop, SGX_EENTER), 0);
	assert_eexit(v);
}

static void test_vdso_uses_bound_thread(void **state)
{
	struct vf *v = *state;
	struct encl_op_put_to_buf put = { { ENCL_OP_PUT_TO_BUFFER }, MAGIC2 };
	assert_int_equal(emu_vdso_sgx_enter_enclave((uintptr_t)&put, 0, 0, SGX_EENTER, 0, 0, &v->run), 0);
	assert_eexit(v);
	emu_thread_bind(NULL);
	assert_int_equal(emu_vdso_sgx_enter_enclave((uintptr_t)&put, 0, 0, SGX_EENTER, 0, 0, &v->run), -ESRCH);
	emu_thread_bind(v->t);
	struct encl_op_get_from_buf get = { { ENCL_OP_GET_FROM_BUFFER }, 0 };
	assert_int_equal(call(v, &get, SGX_EENTER), 0);
	assert_int_equal(get.value, MAGIC2);
}

/* ---- -EINVAL: nothing attempted ---- */

static void test_einval(void **state)
{
	struct vf *v = *state;
	struct encl_op_put_to_buf put = { { ENCL_OP_PUT_TO_BUFFER }, MAGIC };
	static const unsigned bad[] = { 0, 1, SGX_EEXIT, 5, 6, 7, 0x80000002u, ~0u };
	uint64_t aex = hw_lp_stats(emu_thread_lp(v->t))->aex;
	uint64_t flushes = hw_lp_stats(emu_thread_lp(v->t))->tlb_flushes;
	struct sgx_enclave_run before = v->run;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(call(v, &put, bad[i]), -EINVAL);
		assert_memory_equal(&v->run, &before, sizeof(before));
	}
	v->run.reserved[0] = 1;
	assert_int_equal(call(v, &put, SGX_EENTER), -EINVAL);
	v->run.reserved[0] = 0;
	v->run.reserved[sizeof(v->run.reserved) - 1] = 0x80;
	assert_int_equal(call(v, &put, SGX_ERESUME), -EINVAL);
	v->run.reserved[sizeof(v->run.reserved) - 1] = 0;
	/* No ENCLU ran: no entry flushed the TLB, the buffer kept its {1}. */
	assert_int_equal(hw_lp_stats(emu_thread_lp(v->t))->tlb_flushes, flushes);
	assert_int_equal(hw_lp_stats(emu_thread_lp(v->t))->aex, aex);
	struct encl_op_get_from_buf get = { { ENCL_OP_GET_FROM_BUFFER }, 0 };
	assert_int_equal(call(v, &get, SGX_EENTER), 0);
	assert_int_equal(get.value, 1);
	assert_int_equal(emu_enter_enclave(v->t, 0, 0, 0, SGX_EENTER, 0, 0, NULL), -EINVAL);
	assert_int_equal(emu_enter_enclave(NULL, 0, 0, 0, SGX_EENTER, 0, 0, &v->run), -EINVAL);
}

/* ---- Exceptions on the ENCLU itself: EAX = the leaf ---- */

static void test_enclu_exceptions(void **state)
{
	struct vf *v = *state;
	struct encl_op_header nop = { ENCL_OP_NOP };
	uint64_t base = v->encl.encl_base;
	/* ERESUME with CSSA = 0: #GP, no address */
	assert_int_equal(call(v, &nop, SGX_ERESUME), 0);
	assert_exception(v, SGX_ERESUME, SGX_VEC_GP, 0, 0);
	/* EENTER on a REG page: EPCM #PF (P|U|SGX) at the page */
	clear_exception(v);
	v->run.tcs = v->data_start;
	assert_int_equal(call(v, &nop, SGX_EENTER), 0);
	assert_exception(v, SGX_EENTER, SGX_VEC_PF, 0x8005, v->data_start);
	/* EENTER on memory no mapping covers: #PF W|U the kernel cannot fix */
	clear_exception(v);
	v->run.tcs = base + v->encl.encl_size - 4096;   /* in ELRANGE, never mapped */
	assert_int_equal(call(v, &nop, SGX_EENTER), 0);
	assert_exception(v, SGX_EENTER, SGX_VEC_PF, SGX_PFEC_W | SGX_PFEC_U, base + v->encl.encl_size - 4096);
	/* Misaligned TCS: #GP */
	clear_exception(v);
	v->run.tcs = base + 8;
	assert_int_equal(call(v, &nop, SGX_EENTER), 0);
	assert_exception(v, SGX_EENTER, SGX_VEC_GP, 0, 0);
	/* Still enterable normally afterwards */
	clear_exception(v);
	v->run.tcs = base;
	assert_int_equal(call(v, &nop, SGX_EENTER), 0);
	assert_eexit(v);
}

/* ---- A PTE write fault inside (selftest pte_permissions) ---- */

static void test_pte_fault_and_eresume(void **state)
{
	struct vf *v = *state;
	put_addr(v, v->data_start, MAGIC, SGX_EENTER);
	assert_eexit(v);
	assert_int_equal(get_addr(v, v->data_start), MAGIC);
	assert_int_equal(emu_mprotect(v->proc, (void *)(uintptr_t)v->data_start, 4096, PROT_READ), 0);
	put_addr(v, v->data_start, MAGIC2, SGX_EENTER);
	assert_exception(v, SGX_ERESUME, SGX_VEC_PF, SGX_PFEC_P | SGX_PFEC_W | SGX_PFEC_U, v->data_start);
	assert_int_equal(tcs_cssa(v, v->encl.encl_base), 1);
	/* The AEX's synthetic state: RAX = ERESUME, RBX = TCS, RCX = AEP, the
	 * untrusted RSP back, the other GPRs cleared. */
	struct hw_regs *r = hw_lp_regs(emu_thread_lp(v->t));
	assert_int_equal(r->rax, SGX_ERESUME);
	assert_int_equal(r->rbx, v->encl.encl_base);
	assert_int_equal(r->rcx, EXEC_AEP);
	assert_int_equal(r->rip, EXEC_AEP);
	assert_int_equal(r->rdi, 0);
	assert_int_not_equal(r->rsp, 0);
	/* NSSA = 1: TCS #1 cannot be entered again while suspended */
	clear_exception(v);
	struct encl_op_header nop = { ENCL_OP_NOP };
	assert_int_equal(call(v, &nop, SGX_EENTER), 0);
	assert_exception(v, SGX_EENTER, SGX_VEC_GP, 0, 0);
	clear_exception(v);
	assert_int_equal(emu_mprotect(v->proc, (void *)(uintptr_t)v->data_start, 4096, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(call(v, &nop, SGX_ERESUME), 0);   /* RDI ignored: the store is retried */
	assert_eexit(v);
	assert_int_equal(tcs_cssa(v, v->encl.encl_base), 0);
	assert_int_equal(get_addr(v, v->data_start), MAGIC2);
}

/* ---- EPCM write fault; EMODPE from TCS #2; ERESUME (epcm_permissions) ---- */

static void test_epcm_fault_emodpe_eresume(void **state)
{
	struct vf *v = *state;
	uint64_t base = v->encl.encl_base;
	put_addr(v, v->data_start, MAGIC, SGX_EENTER);
	assert_eexit(v);
	struct sgx_enclave_restrict_permissions rp = {
		.offset = v->data_start - base, .length = 4096, .permissions = SGX_SECINFO_R,
	};
	assert_int_equal(emu_ioctl(v->proc, v->encl.fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &rp), 0);
	assert_int_equal(rp.count, 4096);
	assert_int_equal(eaccept(v, v->data_start, SGX_SECINFO_R | SGX_SECINFO_PT(SGX_PT_REG) | SGX_SECINFO_PR), 0);
	put_addr(v, v->data_start, MAGIC2, SGX_EENTER);
	assert_exception(v, SGX_ERESUME, SGX_VEC_PF, 0x8007, v->data_start);
	clear_exception(v);
	v->run.tcs = base + 4096;
	struct encl_op_emodpe emodpe = { { ENCL_OP_EMODPE }, v->data_start, SGX_SECINFO_R | SGX_SECINFO_W };
	assert_int_equal(call(v, &emodpe, SGX_EENTER), 0);
	assert_eexit(v);
	v->run.tcs = base;
	struct encl_op_header nop = { ENCL_OP_NOP };
	assert_int_equal(call(v, &nop, SGX_ERESUME), 0);
	assert_eexit(v);
	assert_int_equal(get_addr(v, v->data_start), MAGIC2);
}

/* ---- EAUG on fault: invisible to EACCEPT, a PENDING #PF for a store ---- */

static uint64_t map_after_image(struct vf *v, unsigned pages)
{
	uint64_t addr = v->encl.encl_base + v->encl.src_size;
	void *p = emu_mmap(v->proc, (void *)(uintptr_t)addr, pages * 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			   MAP_SHARED | MAP_FIXED, v->encl.fd, 0);
	assert_int_equal((uintptr_t)p, addr);
	return addr;
}

static void test_eaug_on_fault(void **state)
{
	struct vf *v = *state;
	uint64_t addr = map_after_image(v, 2);
	/* EACCEPT: the kernel EAUGs on its #PF and EACCEPT is retried */
	assert_int_equal(eaccept(v, addr, SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_PT(SGX_PT_REG) |
					     SGX_SECINFO_PENDING), 0);
	put_addr(v, addr, MAGIC, SGX_EENTER);
	assert_eexit(v);
	assert_int_equal(get_addr(v, addr), MAGIC);
	/* A store first: EAUG, then the retried store meets PENDING */
	put_addr(v, addr + 4096, MAGIC2, SGX_EENTER);
	assert_exception(v, SGX_ERESUME, SGX_VEC_PF, 0x8007, addr + 4096);
	clear_exception(v);
	v->run.tcs = v->encl.encl_base + 4096;
	assert_int_equal(eaccept(v, addr + 4096, SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_PT(SGX_PT_REG) |
						     SGX_SECINFO_PENDING), 0);
	v->run.tcs = v->encl.encl_base;
	struct encl_op_header nop = { ENCL_OP_NOP };
	assert_int_equal(call(v, &nop, SGX_ERESUME), 0);
	assert_eexit(v);
	assert_int_equal(get_addr(v, addr + 4096), MAGIC2);
}

/* ---- user_handler ---- */

static int handler_calls;
static long h_rdi, h_rsi, h_rdx, h_rsp, h_r8, h_r9;
static int handler_ret;

static int record_handler(long rdi, long rsi, long rdx, long rsp, long r8, long r9, struct sgx_enclave_run *run)
{
	handler_calls++;
	h_rdi = rdi, h_rsi = rsi, h_rdx = rdx, h_rsp = rsp, h_r8 = r8, h_r9 = r9;
	run->user_data = 0;
	return handler_ret;
}

static void test_handler_on_eexit(void **state)
{
	struct vf *v = *state;
	v->run.user_handler = (uintptr_t)record_handler;
	v->run.user_data = 0xdeadbeef;
	handler_calls = 0;
	handler_ret = 0;
	struct encl_op_put_to_buf put = { { ENCL_OP_PUT_TO_BUFFER }, MAGIC };
	assert_int_equal(emu_enter_enclave(v->t, (uintptr_t)&put, 11, 12, SGX_EENTER, 18, 19, &v->run), 0);
	assert_eexit(v);
	assert_int_equal(handler_calls, 1);
	assert_int_equal(v->run.user_data, 0);
	assert_int_equal(h_rdi, (long)(uintptr_t)&put);
	assert_int_equal(h_rsi, 11);
	assert_int_equal(h_rdx, 12);
	assert_int_equal(h_r8, 18);
	assert_int_equal(h_r9, 19);
	/* RSP at the exit: the untrusted stack the bootstrap restored */
	assert_int_equal(h_rsp, (long)hw_lp_regs(emu_thread_lp(v->t))->rsp);
	/* ≤ 0 is returned as is */
	handler_ret = -1234;
	assert_int_equal(call(v, &put, SGX_EENTER), -1234);
	assert_int_equal(handler_calls, 2);
	/* > 0: the next leaf; an invalid one gives -EINVAL after the handler */
	handler_ret = SGX_EEXIT;
	assert_int_equal(call(v, &put, SGX_EENTER), -EINVAL);
	assert_int_equal(handler_calls, 3);
	/* Also after an exception on the ENCLU itself (ERESUME, CSSA = 0) */
	handler_ret = -7;
	assert_int_equal(call(v, &put, SGX_ERESUME), -7);
	assert_int_equal(handler_calls, 4);
	assert_exception(v, SGX_ERESUME, SGX_VEC_GP, 0, 0);
	/* but not when the arguments are refused */
	assert_int_equal(call(v, &put, 0), -EINVAL);
	assert_int_equal(handler_calls, 4);
}

/* Fixes the PTE fault and asks for ERESUME; then 0 on the EEXIT. */
static int fixing_handler(long rdi, long rsi, long rdx, long rsp, long r8, long r9, struct sgx_enclave_run *run)
{
	(void)rdi, (void)rsi, (void)rdx, (void)rsp, (void)r8, (void)r9;
	handler_calls++;
	if (run->function == SGX_EEXIT)
		return 0;
	assert_int_equal(run->exception_vector, SGX_VEC_PF);
	assert_int_equal(run->function, SGX_ERESUME);
	assert_int_equal(rdi, 0);   /* the synthetic state of the AEX */
	assert_int_equal(emu_mprotect(V->proc, (void *)(uintptr_t)run->exception_addr, 4096, PROT_READ | PROT_WRITE),
			 0);
	run->exception_vector = 0;
	run->exception_error_code = 0;
	run->exception_addr = 0;
	return SGX_ERESUME;
}

static void test_handler_on_exception_resumes(void **state)
{
	struct vf *v = *state;
	assert_int_equal(emu_mprotect(v->proc, (void *)(uintptr_t)v->data_start, 4096, PROT_READ), 0);
	v->run.user_handler = (uintptr_t)fixing_handler;
	handler_calls = 0;
	put_addr(v, v->data_start, MAGIC2, SGX_EENTER);
	assert_eexit(v);
	assert_int_equal(handler_calls, 2);
	v->run.user_handler = 0;
	assert_int_equal(get_addr(v, v->data_start), MAGIC2);
}

static int reenter_handler(long rdi, long rsi, long rdx, long rsp, long r8, long r9, struct sgx_enclave_run *run)
{
	(void)rdi, (void)rsi, (void)rdx, (void)rsp, (void)r8, (void)r9, (void)run;
	return ++handler_calls < 3 ? SGX_EENTER : 0;
}

static void test_handler_reenters(void **state)
{
	struct vf *v = *state;
	v->run.user_handler = (uintptr_t)reenter_handler;
	handler_calls = 0;
	/* the re-entries reuse the registers of the exit: RDI still points at the op */
	struct encl_op_header nop = { ENCL_OP_NOP };
	uint64_t flushes = hw_lp_stats(emu_thread_lp(v->t))->tlb_flushes;
	assert_int_equal(call(v, &nop, SGX_EENTER), 0);
	assert_eexit(v);
	assert_int_equal(handler_calls, 3);
	/* three EENTER + three EEXIT, each flushing the TLB */
	assert_true(hw_lp_stats(emu_thread_lp(v->t))->tlb_flushes >= flushes + 6);
}

/* ---- Interrupts from another thread: invisible ---- */

struct storm {
	struct hw_lp *lp;
	atomic_bool stop;
	unsigned long sent;
};

static void *ipi_storm(void *arg)
{
	struct storm *s = arg;
	while (!atomic_load(&s->stop)) {
		hw_lp_send_ipi(s->lp);
		s->sent++;
		sched_yield();
	}
	return NULL;
}

static void test_interrupts_are_invisible(void **state)
{
	struct vf *v = *state;
	struct storm s = { .lp = emu_thread_lp(v->t) };
	atomic_init(&s.stop, false);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, ipi_storm, &s), 0);
	for (uint64_t i = 0; i < 300; i++) {
		put_addr(v, v->data_start + 8 * (i % 512), MAGIC ^ i, SGX_EENTER);
		assert_eexit(v);
		assert_int_equal(get_addr(v, v->data_start + 8 * (i % 512)), MAGIC ^ i);
	}
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(tcs_cssa(v, v->encl.encl_base), 0);
}

/* An interrupt taken inside the enclave is one AEX and one ERESUME. */
static encl_entry_fn real_entry;

static void interrupted_entry(struct encl_ctx *ctx)
{
	hw_lp_post_interrupt(emu_thread_lp(V->t));
	real_entry(ctx);
}

static void test_interrupt_inside(void **state)
{
	struct vf *v = *state;
	real_entry = v->encl.image->syms[0].fn;
	assert_string_equal(v->encl.image->syms[0].name, "encl_entry");
	put_addr(v, v->data_start, MAGIC, SGX_EENTER);   /* fault everything in first */
	assert_eexit(v);
	assert_int_equal(emu_register_entry(v->proc, v->encl.encl_base + TEST_ENCL_ENTRY, interrupted_entry), 0);
	const struct hw_lp_stats *st = hw_lp_stats(emu_thread_lp(v->t));
	uint64_t aex = st->aex, irq = st->interrupts;
	put_addr(v, v->data_start, MAGIC2, SGX_EENTER);
	assert_eexit(v);
	assert_int_equal(st->aex, aex + 1);
	assert_int_equal(st->interrupts, irq + 1);
	assert_int_equal(get_addr(v, v->data_start), MAGIC2);
}

/* ---- Threads: two TCSs at once; one TCS raced for ---- */

static pthread_barrier_t start;

struct worker {
	struct emu_thread *t;
	uint64_t tcs, addr;
	unsigned rounds, eexits, busy, bad;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct sgx_enclave_run run;
	pthread_barrier_wait(&start);
	for (unsigned i = 0; i < w->rounds; i++) {
		struct encl_op_put_to_addr put = { { ENCL_OP_PUT_TO_ADDRESS }, w->addr ^ i, w->addr };
		struct encl_op_get_from_addr get = { { ENCL_OP_GET_FROM_ADDRESS }, 0, w->addr };
		memset(&run, 0, sizeof(run));
		run.tcs = w->tcs;
		if (emu_enter_enclave(w->t, (uintptr_t)&put, 0, 0, SGX_EENTER, 0, 0, &run)) {
			w->bad++;
			continue;
		}
		if (run.function != SGX_EEXIT) {
			/* only a TCS another thread is in: EENTER's #GP */
			if (run.function == SGX_EENTER && run.exception_vector == SGX_VEC_GP)
				w->busy++;
			else
				w->bad++;
			continue;
		}
		w->eexits++;
		memset(&run, 0, sizeof(run));
		run.tcs = w->tcs;
		if (emu_enter_enclave(w->t, (uintptr_t)&get, 0, 0, SGX_EENTER, 0, 0, &run) == 0 &&
		    run.function == SGX_EENTER && run.exception_vector == SGX_VEC_GP)
			w->busy++;
		else if (run.function != SGX_EEXIT || get.value != (w->addr ^ i))
			w->bad++;
	}
	return NULL;
}

static void run_workers(struct vf *v, uint64_t tcs0, uint64_t tcs1, struct worker w[2])
{
	pthread_t th[2];
	for (unsigned i = 0; i < 2; i++) {
		w[i] = (struct worker){ .t = i ? emu_thread_create(v->proc) : v->t, .tcs = i ? tcs1 : tcs0,
					.addr = v->data_start + 64 * i, .rounds = 300 };
		assert_non_null(w[i].t);
	}
	pthread_barrier_init(&start, NULL, 2);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	emu_thread_destroy(w[1].t);
}

static void test_two_tcs_two_threads(void **state)
{
	struct vf *v = *state;
	struct worker w[2];
	run_workers(v, v->encl.encl_base, v->encl.encl_base + 4096, w);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(w[i].bad, 0);
		assert_int_equal(w[i].busy, 0);
		assert_int_equal(w[i].eexits, 300);
	}
}

static void test_one_tcs_two_threads(void **state)
{
	struct vf *v = *state;
	struct worker w[2];
	/* Both on TCS #1: every call either runs to EEXIT or finds the TCS
	 * active (#GP on EENTER); nothing else, and no bookkeeping is lost. */
	run_workers(v, v->encl.encl_base, v->encl.encl_base, w);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(w[i].bad, 0);
	assert_true(w[0].eexits + w[1].eexits > 0);
	assert_int_equal(tcs_cssa(v, v->encl.encl_base), 0);
	struct encl_op_header nop = { ENCL_OP_NOP };
	assert_int_equal(call(v, &nop, SGX_EENTER), 0);
	assert_eexit(v);
}

/* ---- fork: the child has the enclave mapped and the same code registered ---- */

static void test_fork_child_enters(void **state)
{
	struct vf *v = *state;
	struct emu_proc *child = emu_fork(v->proc);
	assert_non_null(child);
	struct emu_thread *ct = emu_thread_create(child);
	assert_non_null(ct);
	struct sgx_enclave_run run = { .tcs = v->encl.encl_base + 4096 };
	struct encl_op_put_to_buf put = { { ENCL_OP_PUT_TO_BUFFER }, MAGIC2 };
	assert_int_equal(emu_enter_enclave(ct, (uintptr_t)&put, 0, 0, SGX_EENTER, 0, 0, &run), 0);
	assert_int_equal(run.function, SGX_EEXIT);
	emu_thread_destroy(ct);
	emu_proc_exit(child);
	/* the same enclave: the parent reads what the child stored */
	struct encl_op_get_from_buf get = { { ENCL_OP_GET_FROM_BUFFER }, 0 };
	assert_int_equal(call(v, &get, SGX_EENTER), 0);
	assert_eexit(v);
	assert_int_equal(get.value, MAGIC2);
}

/* ---- Determinism: same inputs, same sequence ---- */

static void run_script(struct vf *v)
{
	put_addr(v, v->data_start, MAGIC, SGX_EENTER);
	assert_int_equal(emu_mprotect(v->proc, (void *)(uintptr_t)v->data_start, 4096, PROT_READ), 0);
	put_addr(v, v->data_start, MAGIC2, SGX_EENTER);
	assert_exception(v, SGX_ERESUME, SGX_VEC_PF, SGX_PFEC_P | SGX_PFEC_W | SGX_PFEC_U, v->data_start);
	clear_exception(v);
	assert_int_equal(emu_mprotect(v->proc, (void *)(uintptr_t)v->data_start, 4096, PROT_READ | PROT_WRITE), 0);
	struct encl_op_header nop = { ENCL_OP_NOP };
	assert_int_equal(call(v, &nop, SGX_ERESUME), 0);
	assert_eexit(v);
	uint64_t addr = map_after_image(v, 1);
	assert_int_equal(eaccept(v, addr, SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_PT(SGX_PT_REG) |
					     SGX_SECINFO_PENDING), 0);
}

static void test_deterministic(void **state)
{
	(void)state;
	struct hw_lp_stats st[2];
	for (unsigned i = 0; i < 2; i++) {
		struct vf *v = vf_new(256);
		run_script(v);
		st[i] = *hw_lp_stats(emu_thread_lp(v->t));
		vf_free(v);
	}
	assert_int_equal(st[0].aex, st[1].aex);
	assert_int_equal(st[0].tlb_misses, st[1].tlb_misses);
	assert_int_equal(st[0].tlb_hits, st[1].tlb_hits);
	assert_int_equal(st[0].tlb_flushes, st[1].tlb_flushes);
	/* At least: first fetch, first push, first op read (ambient), first
	 * store to data_start, the read-only store, EACCEPT's EAUG fault.  More
	 * if the ops of the later calls sit on other host stack pages. */
	assert_true(st[0].aex >= 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_eexit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vdso_uses_bound_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enclu_exceptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pte_fault_and_eresume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epcm_fault_emodpe_eresume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eaug_on_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_on_eexit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_on_exception_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_reenters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupts_are_invisible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_tcs_two_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_tcs_two_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_child_enters, setup, teardown),
		cmocka_unit_test(test_deterministic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
