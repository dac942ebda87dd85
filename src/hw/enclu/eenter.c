/*
 * EENTER (ENCLU 2) — RBX: TCS, RCX: AEP.  isa.md §4.14.
 * Outside enclave mode only (else #GP, checked by the dispatcher).  After the
 * shared entry checks: AEP saved in the TCS, RCX ← the address after ENCLU
 * (the caller's RIP), RAX ← CSSA, URSP/URBP of SSA[CSSA] ← RSP/RBP,
 * RIP ← BASE + OENTRY, LP registered in the current tracking epoch.
 */
#include "entry.h"

LEAF(enclu_eenter)
{
	(void)rdx;
	struct entry_ctx ctx;
	struct sgx_result r = entry_checks(lp, rbx, rcx, false, &ctx);
	if (r.vector != SGX_VEC_NONE)
		return r;

	struct sgx_gprsgx *gpr = (struct sgx_gprsgx *)(ctx.ssa_last_page + SGX_PAGE_SIZE - sizeof(*gpr));
	gpr->ursp = lp->regs.rsp;
	gpr->urbp = lp->regs.rbp;
	ctx.tcs->aep = rcx;
	entry_commit(lp, rbx, &ctx);
	lp->regs.rcx = lp->regs.rip;
	lp->regs.rax = ctx.tcs->cssa;
	lp->regs.rip = ctx.secs->base + ctx.tcs->oentry;
	return OK;
}
