/*
 * ERESUME (ENCLU 3) — RBX: TCS, RCX: AEP.  isa.md §4.15.
 * Outside enclave mode only (else #GP, checked by the dispatcher).  Checks:
 * entry_checks (entry.c) with resume = true: CSSA = 0 → #GP, the frame is
 * CSSA-1, and its saved RIP and FS/GS bases must be canonical (#GP); no
 * CSSA < NSSA check (a TCS with every frame used can still resume).
 * Effects: enclave mode on, TCS active, AEP saved in the TCS; GPRs, RIP,
 * FS/GS bases and the restorable RFLAGS bits from GPRSGX of frame CSSA-1;
 * CSSA -= 1; LP registered in the current tracking epoch; TLB flushed.
 * URSP/URBP are not touched: the next AEX returns to the stack EENTER saved.
 *
 * RFLAGS (SDM ERESUME): CF PF AF ZF SF DF OF NT AC ID RF come from the frame,
 * VM is cleared, IF comes from the frame only when IOPL = 3, the rest stays.
 * The model has no single-step, so TF is left alone.  There is no XSAVE
 * state either, so the XRSTOR failure case (#GP, TCS left inactive) cannot
 * arise.
 */
#include "entry.h"

#define RFLAGS_RESTORED (HW_RFLAGS_CF | HW_RFLAGS_PF | HW_RFLAGS_AF | HW_RFLAGS_ZF | HW_RFLAGS_SF | \
			 0x400ull /* DF */ | HW_RFLAGS_OF | 0x4000ull /* NT */ | 0x10000ull /* RF */ | \
			 0x40000ull /* AC */ | 0x200000ull /* ID */)
#define RFLAGS_IF 0x200ull
#define RFLAGS_VM 0x20000ull

static uint64_t resumed_rflags(uint64_t now, uint64_t saved)
{
	uint64_t mask = RFLAGS_RESTORED | (((now >> 12) & 3) == 3 ? RFLAGS_IF : 0);
	return ((now & ~mask) | (saved & mask)) & ~RFLAGS_VM;
}

LEAF(enclu_eresume)
{
	(void)rdx;
	struct entry_ctx ctx;
	struct sgx_result r = entry_checks(lp, rbx, rcx, true, &ctx);
	if (r.vector != SGX_VEC_NONE)
		return r;

	const struct sgx_gprsgx *g = ctx.gpr;
	entry_commit(lp, rbx, rcx, &ctx);
	struct hw_regs *regs = &lp->regs;
	regs->rax = g->rax; regs->rcx = g->rcx; regs->rdx = g->rdx; regs->rbx = g->rbx;
	regs->rsp = g->rsp; regs->rbp = g->rbp; regs->rsi = g->rsi; regs->rdi = g->rdi;
	regs->r8 = g->r8; regs->r9 = g->r9; regs->r10 = g->r10; regs->r11 = g->r11;
	regs->r12 = g->r12; regs->r13 = g->r13; regs->r14 = g->r14; regs->r15 = g->r15;
	regs->rflags = resumed_rflags(regs->rflags, g->rflags);
	regs->rip = g->rip;
	regs->fsbase = g->fsbase;
	regs->gsbase = g->gsbase;
	ctx.tcs->cssa--;
	return OK;
}
