/*
 * EMODT (ENCLS 0x0F, SGX2) — RBX: SECINFO (kernel memory), RCX: EPC page.
 * isa.md §4.10.  The OS changes the type of a page of an initialized
 * enclave: REG → TCS, REG → TRIM or TCS → TRIM.  The page becomes
 * MODIFIED with no rights, so nothing can touch it until the enclave
 * EACCEPTs the new type — after an ETRACK cycle has closed the epoch
 * recorded in EPCM.BEPOCH (a stale TLB entry could still reach the old page).
 *
 * Flow, first failing check wins:
 *   RBX not 64-byte aligned, RCX not 4K aligned        #GP(0)
 *   RCX not in the EPC                                  #PF(RCX)
 *   SECINFO reserved bits or bytes set                  #GP(0)
 *   SECINFO.PT ∉ {PT_TCS, PT_TRIM}                      #GP(0)
 *   EPCM(RCX).VALID = 0                                 #PF(RCX)
 *   transition not REG→TCS, REG→TRIM, TCS→TRIM         #PF(RCX)
 *   EPCM(RCX).PENDING = 1 or MODIFIED = 1               RC 20 SGX_PAGE_NOT_MODIFIABLE
 *   owning enclave not initialized                      #GP(0)
 *   else PR ← 0, MODIFIED ← 1, RWX ← 0, PT ← SECINFO.PT,
 *        BEPOCH ← epoch                                 RAX 0, ZF 0
 * Unlike EMODPR the type check comes before RC 20: EMODT(TCS) of a TRIM page
 * is #PF whether or not its trim was accepted.
 * SGX_EPC_PAGE_CONFLICT (7) cannot arise: leaves are serialized.
 *
 * Decision: SECINFO.R/W/X, PENDING, MODIFIED and PR are defined fields, not
 * reserved ones; EMODT reads only the type and ignores the rest (SDM 2018).
 * The model has no CET shadow-stack pages, so SS → TRIM does not arise.
 */
#include "../leaf.h"

static bool transition_allowed(uint8_t from, uint64_t to)
{
	return from == SGX_PT_REG || (from == SGX_PT_TCS && to == SGX_PT_TRIM);
}

LEAF(encls_emodt)
{
	(void)rdx;
	REQUIRE(aligned(rbx, 64), GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(page, rcx);
	KERNEL_OPERAND(const struct sgx_secinfo, secinfo_src, rbx);
	struct sgx_secinfo secinfo = *secinfo_src;
	uint64_t pt = secinfo_pt(secinfo.flags);
	REQUIRE(!(secinfo.flags & SGX_SECINFO_RESERVED), GP0);
	REQUIRE(reserved_zero(secinfo.reserved, sizeof(secinfo.reserved)), GP0);
	REQUIRE(pt == SGX_PT_TCS || pt == SGX_PT_TRIM, GP0);

	struct hw_epcm_entry *ep = epcm_of(lp->m, page);
	REQUIRE(ep->valid, PF(rcx));
	REQUIRE(transition_allowed(ep->pt, pt), PF(rcx));
	if (ep->pending || ep->modified)
		return RC(SGX_PAGE_NOT_MODIFIABLE);
	struct hw_enclave *e = enclave_of_secs(lp->m, ep->secs);
	REQUIRE(e->initialized, GP0);

	ep->pr = false;
	ep->modified = true;
	ep->r = ep->w = ep->x = false;
	ep->pt = (uint8_t)pt;
	ep->bepoch = e->epoch;
	return OK;
}
