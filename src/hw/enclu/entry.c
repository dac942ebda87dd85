/*
 * The part of EENTER and ERESUME that is the same (isa.md §4.14, §4.15), in
 * the SDM's order:
 *   RBX not 4K-aligned → #GP; RBX not mapped → ordinary #PF; RBX not EPC
 *   → #PF; AEP (RCX) non-canonical → #GP; EPCM(RBX) not a valid, unblocked,
 *   accepted TCS at this address → #PF; OSSA, OFSBASE, OGSBASE not
 *   4K-aligned → #GP; (EENTER) BASE+OFSBASE / BASE+OGSBASE non-canonical →
 *   #GP; TCS.FLAGS reserved bits → #GP; enclave not initialized → #GP; not a
 *   64-bit enclave → #GP; EENTER: CSSA ≥ NSSA → #GP, ERESUME: CSSA = 0 → #GP;
 *   every page of the SSA frame (CSSA, or CSSA-1 for ERESUME) mapped
 *   (ordinary #PF) and a readable, writable REG page of the same enclave
 *   (#PF); target non-canonical → #GP (EENTER: BASE+OENTRY; ERESUME: the
 *   saved RIP, then the saved FS/GS bases); TCS.STATE active → #GP.
 *
 * Decisions:
 * - The model's LPs run in 64-bit mode only, so a 32-bit enclave (MODE64BIT
 *   = 0) cannot be entered (#GP), as on hardware in 64-bit mode.  XCR0 is
 *   CPUID's XFRM mask and CR4.OSFXSR is 1, so the XFRM checks always pass.
 * - The TCS is accessed for writing (the SDM lists "enclave read/write
 *   access"): a TCS mapped read-only or not at all gives an ordinary #PF
 *   with W|U in its error code.
 * - EPCM #PF error code: P|SGX|U (PF_ENCLU) — ENCLU is CPL 3 even though the
 *   LP is not in enclave mode yet.
 * - All SSAFRAMESIZE pages of the frame are checked (the SDM checks the
 *   XSAVE pages and the GPR page; with no XSAVE state in the model, checking
 *   the whole frame is the safe superset).
 */
#include "entry.h"

static struct sgx_gprsgx *gpr_of(uint8_t *ssa_last_page)
{
	return (struct sgx_gprsgx *)(ssa_last_page + SGX_PAGE_SIZE - sizeof(struct sgx_gprsgx));
}

struct sgx_result entry_checks(struct hw_lp *lp, uint64_t tcs_la, uint64_t aep, bool resume,
			       struct entry_ctx *ctx)
{
	struct hw_machine *m = lp->m;
	REQUIRE(aligned(tcs_la, SGX_PAGE_SIZE), GP0);
	ENCLAVE_OPERAND(tcs_host, tcs_frame, tcs_la, HW_WRITE);
	REQUIRE(tcs_frame != HW_NO_FRAME, PF_ENCLU(tcs_la));
	REQUIRE(canonical(aep), GP0);
	const struct hw_epcm_entry *ep = epcm_of(m, tcs_frame);
	REQUIRE(ep->valid, PF_ENCLU(tcs_la));
	REQUIRE(!ep->blocked, PF_ENCLU(tcs_la));
	REQUIRE(ep->enclave_address == tcs_la && ep->pt == SGX_PT_TCS, PF_ENCLU(tcs_la));
	REQUIRE(!ep->pending && !ep->modified, PF_ENCLU(tcs_la));
	struct sgx_tcs *tcs = (struct sgx_tcs *)tcs_host;
	struct hw_enclave *e = enclave_of_secs(m, ep->secs);
	struct sgx_secs *secs = secs_page(m, e);
	REQUIRE(aligned(tcs->ossa, SGX_PAGE_SIZE), GP0);
	REQUIRE(aligned(tcs->ofsbase, SGX_PAGE_SIZE) && aligned(tcs->ogsbase, SGX_PAGE_SIZE), GP0);
	if (!resume) /* ERESUME takes FS/GS from the SSA frame in 64-bit mode */
		REQUIRE(canonical(secs->base + tcs->ofsbase) && canonical(secs->base + tcs->ogsbase), GP0);
	REQUIRE(!(tcs->flags & ~SGX_TCS_DBGOPTIN), GP0);
	REQUIRE(e->initialized, GP0);
	REQUIRE(secs->attributes.flags & SGX_ATTR_MODE64BIT, GP0);
	if (resume)
		REQUIRE(tcs->cssa > 0, GP0);
	else
		REQUIRE(tcs->cssa < tcs->nssa, GP0);
	uint32_t frame_index = resume ? tcs->cssa - 1 : tcs->cssa;

	uint64_t frame_la = secs->base + tcs->ossa + (uint64_t)frame_index * secs->ssa_frame_size * SGX_PAGE_SIZE;
	uint8_t *last = NULL;
	for (uint32_t i = 0; i < secs->ssa_frame_size; i++) {
		uint64_t la = frame_la + i * SGX_PAGE_SIZE;
		ENCLAVE_OPERAND(host, frame, la, HW_WRITE);
		lp->encl = e; /* epcm_usable_reg compares with the enclave being entered */
		bool usable = epcm_usable_reg(lp, frame, la, true, true);
		lp->encl = NULL;
		REQUIRE(usable, PF_ENCLU(la));
		last = host;
	}
	if (resume) {
		const struct sgx_gprsgx *gpr = gpr_of(last);
		REQUIRE(canonical(gpr->rip), GP0);
		REQUIRE(canonical(gpr->fsbase) && canonical(gpr->gsbase), GP0);
	} else {
		REQUIRE(canonical(secs->base + tcs->oentry), GP0);
	}
	REQUIRE(tcs->state == 0, GP0);

	*ctx = (struct entry_ctx){ .tcs = tcs, .tcs_frame = tcs_frame, .encl = e, .secs = secs, .ssa_last_page = last,
				   .gpr = gpr_of(last) };
	return OK;
}

/*
 * Enclave mode on.  ctx->ssa_last_page becomes the frame the next AEX saves
 * into: frame CSSA for EENTER, and for ERESUME frame CSSA-1, which is frame
 * CSSA once ERESUME has popped the SSA stack.
 */
void entry_commit(struct hw_lp *lp, uint64_t tcs_la, uint64_t aep, const struct entry_ctx *ctx)
{
	ctx->tcs->state = 1;
	ctx->tcs->aep = aep;
	lp->in_enclave = true;
	lp->encl = ctx->encl;
	lp->tcs_la = tcs_la;
	lp->tcs_frame = ctx->tcs_frame;
	lp->ssa_last_page = ctx->ssa_last_page;
	lp->entry_epoch = ctx->encl->epoch;
	lp->outside_fsbase = lp->regs.fsbase;
	lp->outside_gsbase = lp->regs.gsbase;
	lp->regs.fsbase = ctx->secs->base + ctx->tcs->ofsbase;
	lp->regs.gsbase = ctx->secs->base + ctx->tcs->ogsbase;
	lp_tlb_flush(lp);
}

void exit_enclave_mode(struct hw_lp *lp, struct sgx_tcs *tcs)
{
	lp->regs.fsbase = lp->outside_fsbase;
	lp->regs.gsbase = lp->outside_gsbase;
	tcs->state = 0;
	lp->in_enclave = false;
	lp->encl = NULL;
	lp->tcs_frame = HW_NO_FRAME;
	lp->ssa_last_page = NULL;
	lp_tlb_flush(lp);
}
