/*
 * emu_enter_enclave: __vdso_sgx_enter_enclave (linux-driver.md §1.6,
 * kernel-selftests.md §5.1) together with the kernel's share of an enclave
 * call, on the thread's LP.
 *
 *   function not EENTER/ERESUME, or a reserved byte of run non-zero → -EINVAL
 *   (checked again before every leaf a user handler asks for, as the vDSO's
 *   loop does).  Otherwise ENCLU is attempted and the result is 0 (or the
 *   handler's):
 *   - EEXIT: run->function = EAX after the exit (EEXIT = 4); the exception
 *     fields are left alone.
 *   - An exception on the ENCLU itself, or inside the enclave (AEX), that the
 *     kernel does not fix: run->function = EAX at the fault (the leaf for a
 *     faulting EENTER/ERESUME, ERESUME = 3 after an AEX), exception_vector,
 *     exception_error_code, exception_addr = CR2 (page-masked after an AEX,
 *     0 for exceptions other than #PF).
 *   - What the kernel handles is invisible: an interrupt's AEX returns to the
 *     AEP, which ERESUMEs; a #PF without the SGX bit goes to the fault handler
 *     (drv_handle_fault, do_user_addr_fault) and, when it fixes it (NOPAGE:
 *     PTE installed, page loaded, EAUG), the faulting ENCLU or the enclave's
 *     access is retried.  SIGSEGV/SIGBUS/OOM outcomes are what the vDSO
 *     fixup reports (decision: OOM too, instead of retrying forever).
 *   - Then user_handler, if set, with the registers as the exit left them:
 *     ≤ 0 is returned, > 0 is the next leaf.  For that next leaf RDI, RSI,
 *     RDX, R8 and R9 are what the exit left (decision: a C handler clobbers
 *     them on hardware; the model keeps them, so the outcome is determined).
 *
 * Model-only outcomes: -EINVAL for a NULL thread or run, -ENOMEM when no
 * coroutine can be allocated before an EENTER; emu_vdso_sgx_enter_enclave on
 * a host thread with no bound emu_thread returns -ESRCH.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

static bool reserved_zero(const struct sgx_enclave_run *run)
{
	for (size_t i = 0; i < sizeof(run->reserved); i++)
		if (run->reserved[i])
			return false;
	return true;
}

/* The kernel's side of an exception: true if it was handled (retry). */
static bool kernel_handles(struct emu_thread *t, struct sgx_result r)
{
	if (r.aex && r.vector == SGX_VEC_NONE)
		return true;   /* interrupt: back to the AEP, which is ERESUME */
	if (r.vector != SGX_VEC_PF)
		return false;  /* #GP, #UD, ...: the vDSO fixup reports them */
	return drv_handle_fault(t->proc->mm, r.address, r.error_code) == DRV_FAULT_NOPAGE;
}

static void report_exception(struct sgx_enclave_run *run, const struct hw_regs *regs, struct sgx_result r)
{
	run->function = (uint32_t)regs->rax;
	run->exception_vector = r.vector;
	run->exception_error_code = (uint16_t)r.error_code;
	run->exception_addr = r.address;
}

static _Noreturn void out_of_memory(void)
{
	fprintf(stderr, "sgx2emu: out of memory with an LP in enclave mode\n");
	abort();
}

static uint64_t elrange_base(struct emu_thread *t)
{
	uint32_t secs = hw_lp_secs_frame(t->lp);
	return ((const struct sgx_secs *)hw_epc_page(t->proc->emu->m, secs))->base;
}

/* ERESUME continues the highest suspended level (frame CSSA-1). */
static struct encl_ctx *resumed_ctx(struct exec_tcs *xt)
{
	for (unsigned i = xt->nr_slots; i-- > 0;)
		if (xt->slots[i])
			return xt->slots[i];
	return NULL;
}

/* A context that starts at the current RIP on its first switch-in. */
static void start_ctx(struct emu_thread *t, struct exec_proc *xp, struct exec_tcs *xt, struct encl_ctx *ctx)
{
	ctx->proc = t->proc;
	ctx->m = t->proc->emu->m;
	ctx->tcs = hw_lp_tcs(t->lp);
	ctx->base = elrange_base(t);
	co_init(ctx);
	struct encl_ctx **slot = exec_tcs_slot(xt, ctx->level);
	if (!slot)
		out_of_memory();
	if (*slot)   /* stale: EENTER at its level means its SSA frame was given up */
		exec_ctx_free(xp, *slot);
	*slot = ctx;
}

/*
 * The LP is in enclave mode on the TCS after a successful leaf.  Run the code
 * until it leaves: true for EEXIT, false for an AEX (in *aex).  fresh: the
 * context allocated before EENTER (NULL for ERESUME).
 */
static bool run_code(struct emu_thread *t, struct exec_proc *xp, uint64_t tcs, struct encl_ctx *fresh,
		     struct sgx_result *aex)
{
	struct hw_regs *regs = hw_lp_regs(t->lp);
	struct encl_ctx *ctx = fresh;
	/* Looked up only now, so failed entries on bogus TCS addresses leave
	 * nothing behind. */
	struct exec_tcs *xt = exec_tcs_get(xp, tcs);
	if (!xt)
		out_of_memory();
	pthread_mutex_lock(&xt->busy);
	if (ctx) {
		ctx->level = (unsigned)regs->rax;   /* EENTER: RAX = CSSA */
		ctx->fn = exec_lookup_entry(xp, regs->rip);
		ctx->exit_target = regs->rcx;
		start_ctx(t, xp, xt, ctx);
	} else if (!(ctx = resumed_ctx(xt))) {
		/* ERESUME of a frame no coroutine here saved (an AEX taken outside
		 * this layer, or a forked child's TCS): nothing known runs at the
		 * restored RIP, so it is code without a function (#UD). */
		ctx = calloc(1, sizeof(*ctx));
		if (!ctx || !(ctx->stack = exec_stack_get(xp)))
			out_of_memory();
		while (ctx->level < xt->nr_slots && xt->slots[ctx->level])
			ctx->level++;
		ctx->exit_target = EXEC_EXIT_IP;
		start_ctx(t, xp, xt, ctx);
	}
	ctx->lp = t->lp;
	ctx->state = CO_RUNNING;
	co_switch_in(ctx);

	bool exited = ctx->state == CO_EXITED;
	if (exited) {
		xt->slots[ctx->level] = NULL;
		exec_ctx_free(xp, ctx);
	} else {
		*aex = ctx->aex;
	}
	pthread_mutex_unlock(&xt->busy);
	return exited;
}

/* One leaf asked for by the caller or a user handler, to its end. */
static int run_leaf(struct emu_thread *t, struct exec_proc *xp, uint32_t leaf, struct sgx_enclave_run *run)
{
	struct hw_lp *lp = t->lp;
	struct hw_regs *regs = hw_lp_regs(lp);
	uint64_t tcs = run->tcs;
	for (;;) {
		struct encl_ctx *fresh = NULL;
		if (leaf == SGX_EENTER) {
			fresh = calloc(1, sizeof(*fresh));
			if (!fresh || !(fresh->stack = exec_stack_get(xp))) {
				free(fresh);
				return -ENOMEM;
			}
		}
		hw_lp_set_pagetable(lp, t->proc->mm->pt);
		regs->rip = EXEC_EXIT_IP;
		struct sgx_result r = hw_enclu(lp, leaf, tcs, EXEC_AEP, regs->rdx);
		if (r.vector != SGX_VEC_NONE) {
			if (fresh)
				exec_ctx_free(xp, fresh);
			if (kernel_handles(t, r))
				continue;   /* e.g. the TCS or SSA PTE faulted in: same leaf again */
			report_exception(run, regs, r);
			return 0;
		}
		EMU_COUNT(t->proc->emu, enclave_entries);
		struct sgx_result aex;
		if (run_code(t, xp, tcs, fresh, &aex)) {
			EMU_COUNT(t->proc->emu, enclave_exits);
			run->function = (uint32_t)regs->rax;
			return 0;
		}
		EMU_COUNT(t->proc->emu, aexs);
		if (!kernel_handles(t, aex)) {
			report_exception(run, regs, aex);
			return 0;
		}
		leaf = SGX_ERESUME;
	}
}

int emu_enter_enclave(struct emu_thread *t, unsigned long rdi, unsigned long rsi, unsigned long rdx,
		      unsigned int function, unsigned long r8, unsigned long r9, struct sgx_enclave_run *run)
{
	if (!t || !run)
		return -EINVAL;
	struct exec_proc *xp = exec_proc_get(t->proc);
	if (!xp)
		return -ENOMEM;
	struct hw_regs *regs = hw_lp_regs(t->lp);
	regs->rdi = rdi;
	regs->rsi = rsi;
	regs->rdx = rdx;
	regs->r8 = r8;
	regs->r9 = r9;
	/* The untrusted stack: EENTER saves it as URSP/URBP, an AEX restores it. */
	regs->rsp = regs->rbp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	for (;;) {
		if (function != SGX_EENTER && function != SGX_ERESUME)
			return -EINVAL;
		if (!reserved_zero(run))
			return -EINVAL;
		int err = run_leaf(t, xp, function, run);
		if (err)
			return err;
		if (!run->user_handler)
			return 0;
		sgx_enclave_user_handler_t handler = (sgx_enclave_user_handler_t)(uintptr_t)run->user_handler;
		int ret = handler((long)regs->rdi, (long)regs->rsi, (long)regs->rdx, (long)regs->rsp, (long)regs->r8,
				  (long)regs->r9, run);
		if (ret <= 0)
			return ret;
		function = (unsigned)ret;
	}
}

int emu_vdso_sgx_enter_enclave(unsigned long rdi, unsigned long rsi, unsigned long rdx, unsigned int function,
			       unsigned long r8, unsigned long r9, struct sgx_enclave_run *run)
{
	struct emu_thread *t = emu_current_thread();
	if (!t)
		return -ESRCH;
	return emu_enter_enclave(t, rdi, rsi, rdx, function, r8, r9, run);
}
