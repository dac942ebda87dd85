/*
 * Asynchronous enclave exit (isa.md §3.3).
 *
 * 1. Save GPRs, RFLAGS, RIP, FS/GS base into GPRSGX of SSA frame[CSSA]; write
 *    EXITINFO for reportable exceptions and EXINFO (MADDR, ERRCD) for #PF/#GP
 *    when SECS.MISCSELECT.EXINFO is set.  The model has no x87/SSE state, so
 *    the XSAVE area of the frame is left as it is.
 * 2. Load the synthetic state: RAX = ERESUME, RBX = TCS, RCX = RIP = AEP,
 *    RSP/RBP = URSP/URBP, other GPRs 0, arithmetic flags cleared, outside
 *    FS/GS restored.
 * 3. CSSA += 1, TCS inactive, leave enclave mode, flush the TLB.
 * The OS then sees the exception at the AEP with CR2 page-masked.
 */
#include <string.h>

#include "enclu/entry.h"

/*
 * EXITINFO (isa.md §2.6): valid for the exceptions the SDM reports to the
 * enclave — #DE, #DB, #BR, #UD, #MF, #AC, #XM, #CP as hardware exceptions,
 * #BP as a software exception — and for #PF and #GP only when
 * SECS.MISCSELECT.EXINFO is set.  Interrupts and the rest (#NM, ...) leave
 * it 0.
 */
static uint32_t exitinfo_for(const struct sgx_secs *secs, struct sgx_result exc)
{
	uint32_t type = SGX_EXITINFO_TYPE_HW;
	switch (exc.vector) {
	case 0: case 1: case 5: case 6: case 16: case 17: case 19: case 21:
		break;
	case 3:
		type = SGX_EXITINFO_TYPE_SW;
		break;
	case SGX_VEC_PF:
	case SGX_VEC_GP:
		if (secs->miscselect & SGX_MISC_EXINFO)
			break;
		return 0;
	default:
		return 0;
	}
	return SGX_EXITINFO_VALID | (type << SGX_EXITINFO_TYPE_SHIFT) | exc.vector;
}

struct sgx_result hw_aex(struct hw_lp *lp, struct sgx_result exc)
{
	struct hw_machine *m = lp->m;
	const struct sgx_secs *secs = secs_page(m, lp->encl);
	struct sgx_tcs *tcs = (struct sgx_tcs *)epc_page_ptr(m, lp->tcs_frame);
	struct sgx_gprsgx *gpr = (struct sgx_gprsgx *)(lp->ssa_last_page + SGX_PAGE_SIZE - sizeof(*gpr));
	struct hw_regs *r = &lp->regs;

	gpr->rax = r->rax; gpr->rcx = r->rcx; gpr->rdx = r->rdx; gpr->rbx = r->rbx;
	gpr->rsp = r->rsp; gpr->rbp = r->rbp; gpr->rsi = r->rsi; gpr->rdi = r->rdi;
	gpr->r8 = r->r8; gpr->r9 = r->r9; gpr->r10 = r->r10; gpr->r11 = r->r11;
	gpr->r12 = r->r12; gpr->r13 = r->r13; gpr->r14 = r->r14; gpr->r15 = r->r15;
	gpr->rflags = r->rflags;
	gpr->rip = r->rip;
	gpr->fsbase = r->fsbase;
	gpr->gsbase = r->gsbase;
	gpr->exitinfo = exitinfo_for(secs, exc);
	if ((secs->miscselect & SGX_MISC_EXINFO) &&
	    (exc.vector == SGX_VEC_PF || exc.vector == SGX_VEC_GP)) {
		struct sgx_exinfo *exinfo = (struct sgx_exinfo *)((uint8_t *)gpr - sizeof(struct sgx_exinfo));
		exinfo->maddr = exc.vector == SGX_VEC_PF ? exc.address : 0;
		exinfo->errcd = exc.vector == SGX_VEC_PF ? exc.error_code : 0;
		exinfo->reserved = 0;
	}

	uint64_t ursp = gpr->ursp, urbp = gpr->urbp;
	memset(r, 0, sizeof(*r));
	r->rax = SGX_ERESUME;
	r->rbx = lp->tcs_la;
	r->rcx = tcs->aep;
	r->rip = tcs->aep;
	r->rsp = ursp;
	r->rbp = urbp;
	r->rflags = gpr->rflags & ~(HW_RFLAGS_CF | HW_RFLAGS_PF | HW_RFLAGS_AF | HW_RFLAGS_ZF | HW_RFLAGS_SF |
				    HW_RFLAGS_OF | (1ull << 16) /* RF */);
	tcs->cssa++;
	exit_enclave_mode(lp, tcs);
	lp->stats.aex++;

	exc.aex = true;
	if (exc.vector == SGX_VEC_PF)
		exc.address &= SGX_PAGE_MASK;
	return exc;
}

/*
 * An exception raised by the code the LP runs, for software above the model
 * whose "instructions" the model does not execute (model-mode enclave code:
 * #UD where no code is registered).  A pending interrupt is taken first, as at
 * any instruction boundary.  In enclave mode the exception is an AEX.
 */
struct sgx_result hw_lp_exception(struct hw_lp *lp, uint8_t vector, uint32_t error_code, uint64_t address)
{
	hw_lock(lp->m);
	struct sgx_result r = lp_service(lp);
	if (!r.aex) {
		r = (struct sgx_result){ .vector = vector, .error_code = error_code, .address = address };
		lp->why = (struct hw_why){ .what = "exception" };
		leaf_note(lp, __FILE__, __LINE__, "code raised the exception");
		if (lp->in_enclave)
			r = hw_aex(lp, r);
	}
	hw_unlock(lp->m);
	return r;
}
