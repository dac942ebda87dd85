/*
 * EENTER (ENCLU 2) — RBX: TCS, RCX: AEP.  isa.md §4.14.
 * Outside enclave mode only (else #GP, checked by the dispatcher).  Checks:
 * entry_checks (entry.c) with the frame CSSA.  Effects: enclave mode on, TCS
 * active, AEP saved in the TCS, FS/GS bases from OFSBASE/OGSBASE (outside
 * ones saved), RCX ← the address after ENCLU (the caller's RIP), RAX ← CSSA,
 * URSP/URBP of SSA[CSSA] ← RSP/RBP, RIP ← BASE + OENTRY, LP registered in the
 * current tracking epoch, TLB flushed.  No return codes, no flags.
 */
#include "entry.h"

LEAF(enclu_eenter)
{
	(void)rdx;
	struct entry_ctx ctx;
	struct sgx_result r = entry_checks(lp, rbx, rcx, false, &ctx);
	if (r.vector != SGX_VEC_NONE)
		return r;

	ctx.gpr->ursp = lp->regs.rsp;
	ctx.gpr->urbp = lp->regs.rbp;
	entry_commit(lp, rbx, rcx, &ctx);
	lp->regs.rcx = lp->regs.rip;
	lp->regs.rax = ctx.tcs->cssa;
	lp->regs.rip = ctx.secs->base + ctx.tcs->oentry;
	return OK;
}
