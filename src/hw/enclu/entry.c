/*
 * The part of EENTER and ERESUME that is the same (isa.md §4.14): the TCS
 * must be an accepted TCS page of an initialized 64-bit enclave, its offsets
 * page-aligned, CSSA within NSSA, and every page of the SSA frame a writable
 * REG page of the same enclave.  The model's LPs run in 64-bit mode only, so
 * a 32-bit enclave (MODE64BIT = 0) cannot be entered (#GP), as on hardware in
 * 64-bit mode.  XCR0 is taken to be CPUID's XFRM mask, so XFRM ⊆ XCR0 holds.
 */
#include "entry.h"

struct sgx_result entry_checks(struct hw_lp *lp, uint64_t tcs_la, uint64_t aep, bool resume,
			       struct entry_ctx *ctx)
{
	struct hw_machine *m = lp->m;
	REQUIRE(aligned(tcs_la, SGX_PAGE_SIZE), GP0);
	ENCLAVE_OPERAND(tcs_host, tcs_frame, tcs_la, HW_READ);
	REQUIRE(tcs_frame != HW_NO_FRAME, PF(tcs_la));
	REQUIRE(canonical(aep), GP0);
	const struct hw_epcm_entry *ep = epcm_of(m, tcs_frame);
	REQUIRE(ep->valid && !ep->blocked && ep->enclave_address == tcs_la && ep->pt == SGX_PT_TCS &&
			!ep->pending && !ep->modified,
		PF(tcs_la));
	struct sgx_tcs *tcs = (struct sgx_tcs *)tcs_host;
	struct hw_enclave *e = enclave_of_secs(m, ep->secs);
	struct sgx_secs *secs = secs_page(m, e);
	REQUIRE(aligned(tcs->ossa, SGX_PAGE_SIZE) && aligned(tcs->ofsbase, SGX_PAGE_SIZE) &&
			aligned(tcs->ogsbase, SGX_PAGE_SIZE),
		GP0);
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
		REQUIRE(usable, PF(la));
		last = host;
	}
	REQUIRE(canonical(secs->base + tcs->oentry), GP0);
	REQUIRE(tcs->state == 0, GP0);

	*ctx = (struct entry_ctx){ .tcs = tcs, .tcs_frame = tcs_frame, .encl = e, .secs = secs, .ssa_last_page = last };
	return OK;
}

void entry_commit(struct hw_lp *lp, uint64_t tcs_la, const struct entry_ctx *ctx)
{
	ctx->tcs->state = 1;
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
