/*
 * EACCEPT (ENCLU 5, SGX2) — RBX: SECINFO (enclave memory), RCX: page.
 * isa.md §4.11.  The enclave's consent to a change the OS made: EAUG
 * (PENDING), EMODPR (PR) or EMODT (MODIFIED).  The SECINFO must describe the
 * page exactly as the EPCM has it now (PR is not compared).
 *
 * Flow, first failing check wins (operands are translated through the LP's
 * page tables: an unmapped operand is an ordinary #PF, which is how Linux's
 * EAUG-on-fault starts — error code U = 0x4; EPCM refusals are #PF 0x8005):
 *   RBX not 64-byte aligned, outside ELRANGE            #GP(0)
 *   RBX not mapped / not EPC                            #PF(RBX)
 *   SECINFO page not a readable, accepted, unblocked REG
 *   page of this enclave at RBX                         #PF(RBX)
 *   SECINFO reserved bits or bytes set                  #GP(0)
 *   RCX not 4K aligned, outside ELRANGE                 #GP(0)
 *   RCX not mapped / not EPC                            #PF(RCX)
 *   SECINFO not REG with (PR or PENDING) and not MODIFIED,
 *   nor TCS/TRIM with MODIFIED only                     #GP(0)
 *   target not VALID, BLOCKED, type ∉ {REG, TCS, TRIM},
 *   or another enclave's                                #PF(RCX)
 *   address, PENDING, MODIFIED, R, W, X or PT differ    RC 19 SGX_PAGE_ATTRIBUTES_MISMATCH
 *   EMODPR/EMODT (PR or MODIFIED) not closed by a
 *   completed ETRACK cycle                              RC 11 SGX_NOT_TRACKED
 *   accepting a TCS: reserved bytes, DBGOPTIN, CSSA ≥ NSSA,
 *   AEP ≠ 0, STATE ≠ 0, 32-bit FS/GS limits             #GP(0)
 *   else PENDING, MODIFIED, PR ← 0                      RAX 0, ZF 0
 * A freshly EAUG'd page (PENDING only) needs no tracking: nothing can have
 * mapped it.  A fault inside the enclave becomes an AEX (dispatcher).
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

static bool limits_ok(const struct sgx_secs *secs, const struct sgx_tcs *tcs)
{
	return (secs->attributes.flags & SGX_ATTR_MODE64BIT) ||
	       ((tcs->fslimit & 0xfff) == 0xfff && (tcs->gslimit & 0xfff) == 0xfff);
}

LEAF(enclu_eaccept)
{
	(void)rdx;
	const struct sgx_secs *secs = current_secs(lp);
	REQUIRE(aligned(rbx, 64), GP0);
	REQUIRE(in_elrange(secs, rbx), GP0);
	ENCLAVE_OPERAND(secinfo_host, secinfo_frame, rbx, HW_READ);
	REQUIRE(secinfo_frame != HW_NO_FRAME, PF(rbx));
	REQUIRE(epcm_usable_reg(lp, secinfo_frame, rbx, true, false), PF(rbx));
	struct sgx_secinfo secinfo;
	memcpy(&secinfo, secinfo_host, sizeof(secinfo));
	REQUIRE(!(secinfo.flags & SGX_SECINFO_RESERVED), GP0);
	REQUIRE(reserved_zero(secinfo.reserved, sizeof(secinfo.reserved)), GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	REQUIRE(in_elrange(secs, rcx), GP0);
	ENCLAVE_OPERAND(page_host, page_frame, rcx, HW_READ);
	REQUIRE(page_frame != HW_NO_FRAME, PF(rcx));
	REQUIRE(secinfo_legal(secinfo.flags), GP0);

	struct hw_epcm_entry *ep = epcm_of(lp->m, page_frame);
	REQUIRE(ep->valid, PF(rcx));
	REQUIRE(!ep->blocked, PF(rcx));
	REQUIRE(ep->pt == SGX_PT_REG || ep->pt == SGX_PT_TCS || ep->pt == SGX_PT_TRIM, PF(rcx));
	REQUIRE(ep->secs == lp->encl->secs_frame, PF(rcx));
	if (!matches(ep, secinfo.flags, rcx))
		return RC(SGX_PAGE_ATTRIBUTES_MISMATCH);
	if ((ep->pr || ep->modified) && !tracking_done_since(lp->m, lp->encl, ep->bepoch))
		return RC(SGX_NOT_TRACKED);
	if (ep->pt == SGX_PT_TCS) {
		/* As the SDM: DBGOPTIN only; other FLAGS bits are EENTER's to refuse. */
		const struct sgx_tcs *tcs = (const struct sgx_tcs *)page_host;
		REQUIRE(reserved_zero(tcs->reserved, sizeof(tcs->reserved)), GP0);
		REQUIRE(!(tcs->flags & SGX_TCS_DBGOPTIN), GP0);
		REQUIRE(tcs->cssa < tcs->nssa, GP0);
		REQUIRE(tcs->aep == 0, GP0);
		REQUIRE(tcs->state == 0, GP0);
		REQUIRE(limits_ok(secs, tcs), GP0);
	}

	ep->pending = false;
	ep->modified = false;
	ep->pr = false;
	return OK;
}
