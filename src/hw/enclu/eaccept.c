/*
 * EACCEPT (ENCLU 5, SGX2) — RBX: SECINFO (enclave memory), RCX: page.
 * isa.md §4.11.  The enclave's consent to a change the OS made: EAUG
 * (PENDING), EMODPR (PR) or EMODT (MODIFIED).
 *
 * #GP for alignment, operands outside ELRANGE, reserved or illegal SECINFO;
 * ordinary #PF when an operand is not mapped (how Linux's EAUG-on-fault
 * starts: error code U = 0x4); EPCM #PF for a SECINFO page or target in the
 * wrong state; RC 19 (SGX_PAGE_ATTRIBUTES_MISMATCH) when the SECINFO does not
 * describe the page exactly — PR is not compared; RC 11 (SGX_NOT_TRACKED) when
 * an EMODPR/EMODT has not been closed by a completed ETRACK cycle.
 */
#include "../leaf.h"

static bool secinfo_legal(uint64_t flags)
{
	uint64_t pt = secinfo_pt(flags);
	bool pr = flags & SGX_SECINFO_PR, pending = flags & SGX_SECINFO_PENDING, modified = flags & SGX_SECINFO_MODIFIED;
	if (pt == SGX_PT_REG)
		return (pr || pending) && !modified;
	if (pt == SGX_PT_TCS || pt == SGX_PT_TRIM)
		return !pr && !pending && modified;
	return false;
}

static bool matches(const struct hw_epcm_entry *ep, uint64_t flags, uint64_t la)
{
	return ep->enclave_address == la && ep->pending == !!(flags & SGX_SECINFO_PENDING) &&
	       ep->modified == !!(flags & SGX_SECINFO_MODIFIED) && ep->r == !!(flags & SGX_SECINFO_R) &&
	       ep->w == !!(flags & SGX_SECINFO_W) && ep->x == !!(flags & SGX_SECINFO_X) && ep->pt == secinfo_pt(flags);
}

/* A TCS accepted after EMODT must be as clean as one EADD would accept. */
static bool tcs_acceptable(const struct sgx_tcs *tcs)
{
	return reserved_zero(tcs->reserved, sizeof(tcs->reserved)) && tcs->flags == 0 && tcs->cssa < tcs->nssa &&
	       tcs->aep == 0 && tcs->state == 0;
}

LEAF(enclu_eaccept)
{
	(void)rdx;
	struct sgx_secs *secs = current_secs(lp);
	REQUIRE(aligned(rbx, 64), GP0);
	REQUIRE(in_elrange(secs, rbx), GP0);
	ENCLAVE_OPERAND(secinfo_host, secinfo_frame, rbx, HW_READ);
	REQUIRE(secinfo_frame != HW_NO_FRAME, PF(rbx));
	REQUIRE(epcm_usable_reg(lp, secinfo_frame, rbx, true, false), PF(rbx));
	struct sgx_secinfo secinfo;
	memcpy(&secinfo, secinfo_host, sizeof(secinfo));
	REQUIRE(!(secinfo.flags & SGX_SECINFO_RESERVED) && reserved_zero(secinfo.reserved, sizeof(secinfo.reserved)),
		GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	REQUIRE(in_elrange(secs, rcx), GP0);
	ENCLAVE_OPERAND(page_host, page_frame, rcx, HW_READ);
	REQUIRE(page_frame != HW_NO_FRAME, PF(rcx));
	REQUIRE(secinfo_legal(secinfo.flags), GP0);

	struct hw_epcm_entry *ep = epcm_of(lp->m, page_frame);
	REQUIRE(ep->valid && !ep->blocked && ep->secs == lp->encl->secs_frame &&
			(ep->pt == SGX_PT_REG || ep->pt == SGX_PT_TCS || ep->pt == SGX_PT_TRIM),
		PF(rcx));
	if (!matches(ep, secinfo.flags, rcx))
		return RC(SGX_PAGE_ATTRIBUTES_MISMATCH);
	if ((ep->pr || ep->modified) && !tracking_done_since(lp->m, lp->encl, ep->bepoch))
		return RC(SGX_NOT_TRACKED);
	if (ep->pt == SGX_PT_TCS)
		REQUIRE(tcs_acceptable((const struct sgx_tcs *)page_host), GP0);

	ep->pending = false;
	ep->modified = false;
	ep->pr = false;
	return OK;
}
