/*
 * EMODPR (ENCLS 0x0E, SGX2) — RBX: SECINFO (kernel memory), RCX: EPC page.
 * isa.md §4.9.  The OS restricts the rights of an accepted REG page of an
 * initialized enclave: R/W/X &= SECINFO.R/W/X, PR ← 1.  The change is not
 * safe until every LP that may hold a TLB entry with the old rights has left
 * the enclave, so the epoch it happened in is recorded in EPCM.BEPOCH and
 * EACCEPT answers SGX_NOT_TRACKED until an ETRACK cycle has closed it.
 *
 * Flow, first failing check wins:
 *   RBX not 64-byte aligned, RCX not 4K aligned        #GP(0)
 *   RCX not in the EPC                                  #PF(RCX)
 *   SECINFO reserved bits or bytes set, W without R     #GP(0)
 *   EPCM(RCX).VALID = 0                                 #PF(RCX)
 *   EPCM(RCX).PENDING = 1 or MODIFIED = 1               RC 20 SGX_PAGE_NOT_MODIFIABLE
 *   EPCM(RCX).PT ≠ PT_REG                               #PF(RCX)
 *   owning enclave not initialized                      #GP(0)
 *   else PR ← 1, rights restricted, BEPOCH ← epoch      RAX 0, ZF 0
 * RC 20 comes before the type check: a TRIM page whose EACCEPT is still
 * outstanding (MODIFIED) answers 20, an accepted one #PF — Linux's
 * SGX_IOC_ENCLAVE_REMOVE_PAGES relies on this to see the enclave accepted.
 * Rights not currently set stay clear (only restricts); repeating is fine.
 * SGX_EPC_PAGE_CONFLICT (7) cannot arise: leaves are serialized.
 *
 * Decision: SECINFO.PT, PENDING, MODIFIED and PR are defined fields, not
 * reserved ones; EMODPR reads only R/W/X and ignores the rest (SDM 2018).
 */
#include "../leaf.h"

LEAF(encls_emodpr)
{
	(void)rdx;
	REQUIRE(aligned(rbx, 64), GP0);
	REQUIRE(aligned(rcx, SGX_PAGE_SIZE), GP0);
	EPC_OPERAND(page, rcx);
	KERNEL_OPERAND(const struct sgx_secinfo, secinfo_src, rbx);
	struct sgx_secinfo secinfo = *secinfo_src;
	REQUIRE(!(secinfo.flags & SGX_SECINFO_RESERVED), GP0);
	REQUIRE(reserved_zero(secinfo.reserved, sizeof(secinfo.reserved)), GP0);
	REQUIRE(!(!(secinfo.flags & SGX_SECINFO_R) && (secinfo.flags & SGX_SECINFO_W)), GP0);

	struct hw_epcm_entry *ep = epcm_of(lp->m, page);
	REQUIRE(ep->valid, PF(rcx));
	if (ep->pending || ep->modified)
		return RC(SGX_PAGE_NOT_MODIFIABLE);
	REQUIRE(ep->pt == SGX_PT_REG, PF(rcx));
	struct hw_enclave *e = enclave_of_secs(lp->m, ep->secs);
	REQUIRE(e->initialized, GP0);

	ep->pr = true;
	ep->r = ep->r && (secinfo.flags & SGX_SECINFO_R);
	ep->w = ep->w && (secinfo.flags & SGX_SECINFO_W);
	ep->x = ep->x && (secinfo.flags & SGX_SECINFO_X);
	ep->bepoch = e->epoch;
	return OK;
}
